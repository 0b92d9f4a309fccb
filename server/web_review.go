package server

// The review loop in the pages: the document page with its page images,
// evidence boxes and correction forms; corrections, approvals and
// rejections sent as plain forms (POST, then a redirect: no script
// needed); and the page images themselves.
//
// The forms go through the same Corrections interface as the API's PATCH
// and POST, with the version the page was read at as the precondition, so
// a second reviewer who changed the document in between is detected and
// shown, never overwritten.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/extractor-dev/extractor/pipeline"
)

// PageImages renders a stored document's pages as images. PageImage fails
// with ErrNotFound for an unknown document or page.
type PageImages interface {
	PageImage(ctx context.Context, documentID string, page int) (PageImage, error)
}

// PageImage is one page as an image.
type PageImage struct {
	ContentType string
	Data        []byte
}

// reviewState is what the document page shows of the review: the state,
// the version the forms send back, why it needs review, the history.
type reviewState struct {
	On       bool // the review loop is wired and the document has a state
	State    string
	Version  int
	Reasons  []string
	Decision *pipeline.Decision
	History  []historyRow
	// Edit is the correction form of the field being edited (nil for
	// none); Notice says what was just done, Problem why a form was
	// refused.
	Edit    *editForm
	Notice  string
	Problem *problemView
}

// editForm is the correction form of one field.
type editForm struct {
	Field, Value, Reason string
	Page                 int
	Quote                string
	// Box is the picked line's box ("x0,y0,x1,y1" in page points), kept
	// with the correction for the record.
	Box    string
	Cancel string
}

// problemView is what went wrong with a form, and for a conflict what the
// other session did.
type problemView struct {
	Title    string
	Detail   []string
	Conflict bool
}

type historyRow struct {
	At, By, What, Before, After, Reason, Evidence string
	Decision                                      string
}

type documentPage struct {
	documentView
	Review reviewState
	// Next is the queue page to go back to.
	Queue string
	// Lineage: the fields link to their lineage.
	Lineage bool
}

func (s *Server) getDocumentPage(w http.ResponseWriter, r *http.Request, p Principal) error {
	q := r.URL.Query()
	var st reviewState
	switch q.Get("done") {
	case "corrected":
		st.Notice = "Saved. The correction is kept in the history below."
	case pipeline.DecisionApproved:
		st.Notice = "Approved."
	case pipeline.DecisionRejected:
		st.Notice = "Rejected."
	}
	if edit := q.Get("edit"); edit != "" {
		st.Edit = &editForm{Field: pipeline.Printable(edit, 200)}
	}
	pick := q.Get("line")
	if w := q.Get("word"); w != "" {
		pick += "-w" + w
	}
	return s.documentPage(w, r, p, http.StatusOK, st, pick)
}

// documentPage renders the document page with the review state st (its
// edit form, notice or problem filled in by the caller); pick is a line
// ("p1-l5") or a word of an OCR line ("p1-l5-w3") picked as the edited
// field's evidence.
func (s *Server) documentPage(w http.ResponseWriter, r *http.Request, p Principal, status int, st reviewState, pick string) error {
	id := r.PathValue("id")
	d, err := s.cfg.Review.DocumentView(r.Context(), id)
	if err != nil {
		return err
	}
	if s.cfg.Corrections != nil {
		rd, err := s.cfg.Corrections.Values(r.Context(), id)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return err
		default:
			x := rd.Values
			d.Extraction = &x
			st.On, st.State, st.Version, st.Reasons, st.Decision = true, rd.State, rd.Version, rd.Reasons, rd.Decision
		}
	}
	v := documentPage{documentView: buildDocument(d), Queue: "/ui/review", Lineage: s.cfg.History != nil}
	corrected := map[string]bool{}
	if st.On && s.cfg.Records != nil {
		h, err := s.cfg.Records.History(r.Context(), id)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		st.History = historyRows(h)
		for _, c := range h.Corrections {
			corrected[c.Field] = true
		}
	}
	for i := range v.Fields {
		v.Fields[i].Corrected = corrected[v.Fields[i].Name]
	}
	for i := range v.Lists {
		v.Lists[i].Editable = st.On
	}
	if s.cfg.PageImages != nil {
		for i := range v.Pages {
			pg := d.Pages[i]
			if pg.Width > 0 && pg.Height > 0 && pg.Status != pipeline.PageError {
				v.Pages[i].Image = fmt.Sprintf("/ui/documents/%s/pages/%d/image", url.PathEscape(d.ID), pg.Number)
				v.Pages[i].W, v.Pages[i].H = pg.Width, pg.Height
			}
		}
	}
	if st.On && st.Edit != nil {
		s.prepareEdit(&v, d, st.Edit, pick)
	}
	v.Review = st
	return s.render(w, r, status, "document", layout{Title: cmp.Or(baseName(d.Source), d.ID), Active: "review", User: p.display(), Data: v})
}

// prepareEdit fills the edit form (from the field's current value, or
// from a picked line) and turns every line into a link that picks it.
func (s *Server) prepareEdit(v *documentPage, d DocumentView, e *editForm, pick string) {
	base := "/ui/documents/" + url.PathEscape(d.ID)
	e.Cancel = base + "#fields"
	if e.Value == "" && e.Quote == "" {
		for _, f := range v.Fields {
			if f.Name == e.Field {
				e.Value = cmp.Or(f.Raw, f.Value)
			}
		}
		for _, l := range v.Lists {
			for _, row := range l.Rows {
				for _, c := range row.Cells {
					if c.Path == e.Field {
						e.Value = cmp.Or(c.Raw, c.Value)
					}
				}
			}
		}
	}
	for pi, pg := range d.Pages {
		for j, l := range pg.Lines {
			lid := lineID(pg.Number, j+1)
			href := base + "?" + url.Values{"edit": {e.Field}, "line": {lid}}.Encode() + "#edit"
			v.Pages[pi].Lines[j].Pick = href
			if b := l.Box; b.X1 > b.X0 && b.Y1 > b.Y0 {
				v.Pages[pi].Picks = append(v.Pages[pi].Picks, boxView{X: b.X0 - 1, Y: b.Y0 - 1, W: b.X1 - b.X0 + 2, H: b.Y1 - b.Y0 + 2,
					Label: "Take “" + strings.TrimSpace(l.Text) + "” for " + e.Field, Href: href})
			}
			if lid == pick {
				e.Page, e.Quote = pg.Number, strings.TrimSpace(l.Text)
				e.Value = valueOf(l.Text)
				if b := l.Box; b.X1 > b.X0 && b.Y1 > b.Y0 {
					e.Box = fmt.Sprintf("%g,%g,%g,%g", b.X0, b.Y0, b.X1, b.Y1)
				}
			}
			// The words of an OCR line can be picked one by one on the
			// image (the text column still picks the whole line): the word
			// is the value, the line its quote.
			for k, wd := range l.Words {
				b := wd.Box
				if b.X1 <= b.X0 || b.Y1 <= b.Y0 || strings.TrimSpace(wd.Text) == "" {
					continue
				}
				wid := lid + "-w" + strconv.Itoa(k+1)
				whref := base + "?" + url.Values{"edit": {e.Field}, "line": {lid}, "word": {strconv.Itoa(k + 1)}}.Encode() + "#edit"
				v.Pages[pi].Picks = append(v.Pages[pi].Picks, boxView{X: b.X0, Y: b.Y0, W: b.X1 - b.X0, H: b.Y1 - b.Y0,
					Label: "Take the word “" + wd.Text + "” for " + e.Field, Href: whref, Word: true})
				if wid == pick {
					e.Page, e.Quote, e.Value = pg.Number, strings.TrimSpace(l.Text), wd.Text
					e.Box = fmt.Sprintf("%g,%g,%g,%g", b.X0, b.Y0, b.X1, b.Y1)
				}
			}
		}
	}
}

// valueOf guesses the value a picked line prints: what follows a label
// ("Total: 1.234,56 EUR", "Rechnungsdatum 27.11.2022"), or the last
// column; the reviewer can still edit it before saving.
func valueOf(line string) string {
	t := strings.TrimSpace(line)
	if i := strings.LastIndex(t, ": "); i >= 0 && i+2 < len(t) {
		return strings.TrimSpace(t[i+2:])
	}
	if cols := columnGap.Split(t, -1); len(cols) > 1 {
		return strings.TrimSpace(cols[len(cols)-1])
	}
	words := strings.Fields(t)
	for i, w := range words {
		if i > 0 && strings.ContainsAny(w, "0123456789") {
			return strings.Join(words[i:], " ")
		}
	}
	return t
}

var columnGap = regexp.MustCompile(`\s{2,}`)

func historyRows(h ReviewHistory) []historyRow {
	type timed struct {
		at  time.Time
		row historyRow
	}
	var all []timed
	for _, c := range h.Corrections {
		row := historyRow{At: formatTime(c.At), By: c.By, Reason: c.Reason}
		switch c.Op {
		case pipeline.OpSet:
			row.What = "set " + c.Field
			row.Before, row.After = shownField(c.Before), shownField(c.After)
			if c.After != nil && c.After.Quote != "" {
				row.Evidence = fmt.Sprintf("p. %d “%s”", c.After.Page, c.After.Quote)
			}
		case pipeline.OpAdd:
			row.What = "added to " + c.Field
			if c.Item != nil {
				row.After = itemText(*c.Item)
			}
		case pipeline.OpRemove:
			row.What = "removed " + c.Field
			if c.Item != nil {
				row.Before = itemText(*c.Item)
			}
		}
		all = append(all, timed{c.At, row})
	}
	for _, dd := range h.Decisions {
		all = append(all, timed{dd.At, historyRow{At: formatTime(dd.At), By: dd.By, Reason: dd.Reason, Decision: dd.Decision,
			What: fmt.Sprintf("%s (version %d, %d %s)", dd.Decision, dd.Version, dd.Corrections, plural(dd.Corrections, "correction", "corrections"))}})
	}
	slices.SortStableFunc(all, func(a, b timed) int { return a.at.Compare(b.at) })
	out := make([]historyRow, len(all))
	for i, t := range all {
		out[i] = t.row
	}
	return out
}

func shownField(f *pipeline.Field) string {
	if f == nil || !f.Found() {
		return "—"
	}
	v := cmp.Or(f.Value, f.Raw)
	if f.Currency != "" {
		v += " " + f.Currency
	}
	return v
}

func itemText(it pipeline.Item) string {
	var parts []string
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range it.Fields {
			if !yield(k) {
				return
			}
		}
	}) {
		if f := it.Fields[k]; f.Found() {
			parts = append(parts, k+"="+cmp.Or(f.Value, f.Raw))
		}
	}
	return strings.Join(parts, ", ")
}

// --- forms ------------------------------------------------------------------

// formVersion reads the version the page was read at.
func formVersion(r *http.Request) (Precondition, int, error) {
	v, err := strconv.Atoi(r.PostForm.Get("version"))
	if err != nil || v < 1 {
		return Precondition{}, 0, fmt.Errorf("%w: the form has no version: open the document again", ErrInvalid)
	}
	return Precondition{Versions: []int{v}}, v, nil
}

func (s *Server) parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 256<<10)
	if err := r.ParseForm(); err != nil {
		return bodyError(err)
	}
	return nil
}

// postFields takes a correction form: set a field (typed, or picked from
// a line), add a list element, or remove one.
func (s *Server) postFields(w http.ResponseWriter, r *http.Request, p Principal) error {
	if err := s.parseForm(w, r); err != nil {
		return err
	}
	id := r.PathValue("id")
	pre, version, err := formVersion(r)
	if err != nil {
		return err
	}
	f := r.PostForm
	ch := pipeline.Change{Op: cmp.Or(f.Get("op"), pipeline.OpSet), Field: strings.TrimSpace(f.Get("field")), Value: strings.TrimSpace(f.Get("value"))}
	switch ch.Op {
	case pipeline.OpSet:
		if pg, _ := strconv.Atoi(f.Get("page")); pg > 0 && strings.TrimSpace(f.Get("quote")) != "" {
			ch.Evidence = &pipeline.ChangeEvidence{Page: pg, Quote: f.Get("quote"), Box: parseBox(f.Get("box"))}
		}
	case pipeline.OpAdd:
		ch.Item = map[string]string{}
		for k, vs := range f {
			if col, ok := strings.CutPrefix(k, "item."); ok && strings.TrimSpace(vs[0]) != "" {
				ch.Item[col] = strings.TrimSpace(vs[0])
			}
		}
	case pipeline.OpRemove:
	default:
		return fmt.Errorf("%w: op %q", ErrInvalid, pipeline.Printable(ch.Op, 20))
	}
	if ch.Field == "" {
		return fmt.Errorf("%w: the form names no field", ErrInvalid)
	}
	req := CorrectionRequest{Changes: []pipeline.Change{ch}, Reason: strings.TrimSpace(f.Get("reason"))}
	_, err = s.cfg.Corrections.Correct(r.Context(), p, id, pre, req)
	if err == nil {
		http.Redirect(w, r, "/ui/documents/"+url.PathEscape(id)+"?done=corrected#fields", http.StatusSeeOther)
		return nil
	}
	// The page again, with the form as it was sent and what went wrong.
	st := reviewState{Problem: s.formProblem(r, err, version, describeChange(ch))}
	if ch.Op == pipeline.OpSet {
		st.Edit = &editForm{Field: ch.Field, Value: ch.Value, Reason: req.Reason}
		if ch.Evidence != nil {
			st.Edit.Page, st.Edit.Quote = ch.Evidence.Page, ch.Evidence.Quote
			if b := ch.Evidence.Box; b != nil {
				st.Edit.Box = fmt.Sprintf("%g,%g,%g,%g", b.X0, b.Y0, b.X1, b.Y1)
			}
		}
	}
	if st.Problem == nil {
		return err
	}
	return s.documentPage(w, r, p, s.viewError(r, err).Status, st, "")
}

// parseBox reads "x0,y0,x1,y1"; nil when it is not four numbers making a
// box.
func parseBox(s string) *pipeline.Box {
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return nil
	}
	var v [4]float64
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || f < 0 || f > 1e5 {
			return nil
		}
		v[i] = f
	}
	if v[2] <= v[0] || v[3] <= v[1] {
		return nil
	}
	return &pipeline.Box{X0: v[0], Y0: v[1], X1: v[2], Y1: v[3]}
}

func describeChange(ch pipeline.Change) string {
	switch ch.Op {
	case pipeline.OpAdd:
		return "add an element to " + ch.Field
	case pipeline.OpRemove:
		return "remove " + ch.Field
	}
	return fmt.Sprintf("set %s to “%s”", ch.Field, ch.Value)
}

// formProblem explains a refused form; nil for errors that are not the
// form's (they become an error page).
func (s *Server) formProblem(r *http.Request, err error, version int, what string) *problemView {
	var ve *ValidationError
	switch {
	case errors.Is(err, ErrPreconditionFailed):
		pv := &problemView{Conflict: true, Title: "Someone else changed this document while you were working on it",
			Detail: []string{fmt.Sprintf("You read version %d; your change (%s) was not saved.", version, what),
				"The page now shows the current values and their history: check what changed, then apply your change again if it is still needed."}}
		return pv
	case errors.As(err, &ve):
		pv := &problemView{Title: "The change was not saved: it does not check"}
		for _, fe := range ve.Errors {
			pv.Detail = append(pv.Detail, fe.Detail)
		}
		return pv
	case errors.Is(err, ErrInvalid), errors.Is(err, ErrUnprocessable):
		return &problemView{Title: "The change was not saved", Detail: []string{s.viewError(r, err).Detail}}
	}
	return nil
}

// postDecisionForm takes the approve and reject forms.
func (s *Server) postDecisionForm(w http.ResponseWriter, r *http.Request, p Principal) error {
	if err := s.parseForm(w, r); err != nil {
		return err
	}
	id := r.PathValue("id")
	pre, version, err := formVersion(r)
	if err != nil {
		return err
	}
	req := DecisionRequest{Decision: r.PostForm.Get("decision"), Reason: strings.TrimSpace(r.PostForm.Get("reason"))}
	if req.Decision != pipeline.DecisionApproved && req.Decision != pipeline.DecisionRejected {
		return fmt.Errorf("%w: decision %q: approved or rejected", ErrInvalid, pipeline.Printable(req.Decision, 20))
	}
	if len(req.Reason) > 2000 {
		req.Reason = req.Reason[:2000]
	}
	if req.Decision == pipeline.DecisionRejected && req.Reason == "" {
		err = &ValidationError{Part: "form", Errors: []FieldError{{Pointer: "/reason", Detail: "a rejection needs a reason"}}}
	} else {
		_, err = s.cfg.Corrections.Decide(r.Context(), p, id, pre, req)
	}
	if err == nil {
		next := "/ui/documents/" + url.PathEscape(id) + "?done=" + req.Decision
		if n := r.PostForm.Get("next"); n != "" {
			next = safeNext(n)
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
		return nil
	}
	pv := s.formProblem(r, err, version, req.Decision[:len(req.Decision)-1]+" the document")
	if pv == nil {
		return err
	}
	return s.documentPage(w, r, p, s.viewError(r, err).Status, reviewState{Problem: pv}, "")
}

// getPageImage serves a page image.
func (s *Server) getPageImage(w http.ResponseWriter, r *http.Request, _ Principal) error {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 || n > 100000 {
		return fmt.Errorf("%w: page %q", ErrNotFound, pipeline.Printable(r.PathValue("n"), 20))
	}
	img, err := s.cfg.PageImages.PageImage(r.Context(), r.PathValue("id"), n)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", img.ContentType)
	// The image of a content-addressed document's page never changes; it
	// is kept by this browser only (it needs the login).
	h.Set("Cache-Control", "private, max-age=86400")
	h.Set("Content-Length", strconv.Itoa(len(img.Data)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, err = w.Write(img.Data)
	}
	return err
}
