package server

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/extractor-dev/extractor/pipeline"
	"github.com/extractor-dev/extractor/tracing"
)

// --- upload -----------------------------------------------------------------

// uploadChoice is one choice of schema and extractor. The form sends it as
// the upload's JSON "options" part, as an API client does, so that the
// page needs no script to build the JSON.
type uploadChoice struct {
	Value, Label string
	Selected     bool
}

type uploadView struct {
	Choices  []uploadChoice
	MaxBytes string
	MaxPages int
	Error    *errorView
}

func (s *Server) uploadView(o Options) uploadView {
	schema, extractor := cmp.Or(o.Schema, "invoice"), cmp.Or(o.Extractor, "auto")
	v := uploadView{MaxBytes: formatBytes(s.cfg.MaxBodyBytes), MaxPages: s.cfg.MaxPages}
	for _, sc := range []struct{ name, label string }{{"invoice", "Invoice"}, {"nda", "NDA"}} {
		for _, ex := range []struct{ name, label string }{
			{"auto", "auto (the LLM when one is configured, else rules)"},
			{"rules", "rules (no LLM)"},
			{"llm", "LLM"},
		} {
			b, _ := json.Marshal(Options{Schema: sc.name, Extractor: ex.name})
			v.Choices = append(v.Choices, uploadChoice{Value: string(b), Label: sc.label + " · " + ex.label,
				Selected: sc.name == schema && ex.name == extractor})
		}
	}
	return v
}

func (s *Server) getUpload(w http.ResponseWriter, r *http.Request, p Principal) error {
	return s.render(w, r, http.StatusOK, "upload", layout{Title: "Upload", Active: "upload", User: p.display(), Data: s.uploadView(Options{})})
}

func (s *Server) postUpload(w http.ResponseWriter, r *http.Request, p Principal) error {
	u, o, err := s.readUpload(w, r)
	if err == nil {
		var line pipeline.ResultLine
		if line, err = s.cfg.Extractor.Extract(r.Context(), u, o); err == nil {
			return s.uploaded(w, r, p, line)
		}
		err = deadlineError(r.Context(), s.cfg.RequestTimeout, err)
	}
	// The form again, with what went wrong, under the status the API
	// would give.
	ev := s.viewError(r, err)
	v := s.uploadView(o)
	v.Error = &ev
	return s.render(w, r, ev.Status, "upload", layout{Title: "Upload", Active: "upload", User: p.display(), Data: v})
}

// uploaded goes to the document page of an extraction's result, or says
// why there is none.
func (s *Server) uploaded(w http.ResponseWriter, r *http.Request, p Principal, head pipeline.ResultLine) error {
	if head.DocumentID != "" {
		found := head.Status == "ok"
		if !found {
			_, err := s.cfg.Review.DocumentView(r.Context(), head.DocumentID)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			found = err == nil
		}
		if found {
			http.Redirect(w, r, "/ui/documents/"+url.PathEscape(head.DocumentID), http.StatusSeeOther)
			return nil
		}
	}
	return s.render(w, r, http.StatusUnprocessableEntity, "failed", layout{Title: "Extraction failed", Active: "upload", User: p.display(), Data: head})
}

// --- document ---------------------------------------------------------------

type issueView struct {
	Field, Code, Severity, Message string
}

type fieldRow struct {
	ID              string // the row's anchor
	Name            string
	Value, Raw      string
	Currency        string
	Found           bool
	Page            int
	Quote           string
	Line            string // anchor of the first highlighted line; "" when the quote was not found
	Where           string // "p. 1, l. 12"
	Moved           bool   // the quote is on another page than the one cited
	Confidence      string
	LowConfidence   bool
	Grounded        bool
	Issues          []issueView
	Fail, Warn, Bad bool
	Box             string // id of the evidence box on the page image; "" when none
	Corrected       bool   // a person set the value
	NotPrinted      bool   // read from the e-invoice, which carries it; the page does not print it
}

type itemCell struct {
	Path       string // the cell's field path, "line_items[0].amount"
	Value, Raw string
	Found      bool
	Grounded   bool
	Bad        bool
}

type itemRow struct {
	ID       string
	Path     string // "line_items[0]"
	N        int
	Cells    []itemCell
	Line     string
	Where    string
	Grounded bool
	Issues   []issueView
	Bad      bool
}

type listView struct {
	Name     string
	Editable bool
	Columns  []string
	Rows     []itemRow
}

type lineMark struct {
	Label, Href string
	Bad         bool
}

type lineView struct {
	ID    string
	N     int
	Text  string
	Marks []lineMark
	Pick  string // in edit mode, the link that takes this line as the value's evidence
}

type pageView struct {
	Number int
	Status string
	Error  string
	Lines  []lineView
	// Image is the page image's URL ("" without one); W and H the page
	// size in points, the coordinates of Boxes and Picks.
	Image string
	W, H  float64
	Boxes []boxView
	Picks []boxView
}

// boxView is a rectangle over the page image: a field's evidence, or (in
// edit mode) a line to pick.
type boxView struct {
	ID         string
	X, Y, W, H float64
	Label      string
	Href       string
	Bad        bool
	Word       bool // a word of an OCR line, not the whole line
}

type documentView struct {
	ID, Source, Status string
	Schema, Extractor  string
	EInvoice           string // the e-invoice the values were read from: syntax, profile, attachment, rules
	RunID, TraceID     string
	HasExtraction      bool
	Fields             []fieldRow
	Lists              []listView
	DocIssues          []issueView
	Fails, Warns       int
	Ungrounded         int
	Usage              string
	Pages              []pageView
}

func buildDocument(d DocumentView) documentView {
	v := documentView{ID: d.ID, Source: d.Source, Status: d.Status, RunID: d.RunID, TraceID: d.TraceID}
	v.Pages = make([]pageView, len(d.Pages))
	for i, pg := range d.Pages {
		pv := pageView{Number: pg.Number, Status: string(pg.Status), Error: pg.Error, Lines: make([]lineView, len(pg.Lines))}
		for j, l := range pg.Lines {
			pv.Lines[j] = lineView{ID: lineID(pg.Number, j+1), N: j + 1, Text: l.Text}
		}
		v.Pages[i] = pv
	}
	x := d.Extraction
	if x == nil {
		return v
	}
	v.HasExtraction = true
	v.Schema = x.Schema.Name
	if x.Schema.Version != "" {
		v.Schema += " " + x.Schema.Version
	}
	v.Extractor = cmp.Or(x.Extractor.Kind, "?")
	if x.Extractor.Model != "" {
		v.Extractor += " · " + x.Extractor.Model
	}
	v.Usage = usageText(x.Usage)
	v.EInvoice = einvoiceText(x.Source)

	// Issues by the field they concern.
	byField := map[string][]issueView{}
	for _, is := range x.Issues {
		iv := issueView{Field: is.Field, Code: is.Code, Severity: string(is.Severity), Message: is.Message}
		switch is.Severity {
		case pipeline.SeverityFail:
			v.Fails++
		default:
			v.Warns++
		}
		byField[is.Field] = append(byField[is.Field], iv)
	}
	claimed := map[string]bool{}
	take := func(path string) []issueView {
		claimed[path] = true
		return byField[path]
	}

	names := slices.Sorted(maps.Keys(x.Fields))
	for i, name := range names {
		f := x.Fields[name]
		row := fieldRow{ID: "f" + strconv.Itoa(i+1), Name: name, Value: f.Value, Raw: f.Raw, Currency: f.Currency, Found: f.Found(),
			Page: f.Page, Quote: f.Quote, Grounded: f.Grounded, Confidence: strconv.FormatFloat(f.Confidence, 'f', 2, 64),
			LowConfidence: f.Confidence < 0.5, Issues: take(name), NotPrinted: f.Found() && f.NotPrinted()}
		for _, is := range row.Issues {
			if is.Severity == string(pipeline.SeverityFail) {
				row.Fail = true
			} else {
				row.Warn = true
			}
		}
		if row.Found && !row.Grounded && !row.NotPrinted {
			v.Ungrounded++
		}
		row.Bad = row.Fail || (row.Found && !row.Grounded && !row.NotPrinted)
		if pi, first, last, ok := locate(d.Pages, f.Page, f.Quote); ok {
			row.Line, row.Where = v.mark(pi, first, last, lineMark{Label: name, Href: "#" + row.ID, Bad: row.Bad})
			row.Moved = f.Page != 0 && d.Pages[pi].Number != f.Page
			row.Box = v.box(d.Pages[pi], pi, first, last, row.ID, name, row.Bad)
		}
		v.Fields = append(v.Fields, row)
	}

	for li, name := range slices.Sorted(maps.Keys(x.Lists)) {
		items := x.Lists[name]
		cols := map[string]bool{}
		for _, it := range items {
			for k := range it.Fields {
				cols[k] = true
			}
		}
		lv := listView{Name: name, Columns: slices.Sorted(maps.Keys(cols))}
		for i, it := range items {
			path := fmt.Sprintf("%s[%d]", name, i)
			row := itemRow{ID: fmt.Sprintf("l%d-%d", li+1, i+1), Path: path, N: i + 1, Grounded: it.Grounded, Issues: take(path)}
			for _, c := range lv.Columns {
				f, ok := it.Fields[c]
				cell := itemCell{Path: path + "." + c, Value: f.Value, Raw: f.Raw, Found: ok && f.Found(), Grounded: f.Grounded}
				if is := take(path + "." + c); len(is) > 0 {
					row.Issues = append(row.Issues, is...)
					cell.Bad = true
				}
				if cell.Found && !cell.Grounded {
					cell.Bad = true
				}
				row.Cells = append(row.Cells, cell)
			}
			row.Bad = !row.Grounded || len(row.Issues) > 0
			for _, c := range row.Cells {
				row.Bad = row.Bad || c.Bad
			}
			if pi, first, last, ok := locate(d.Pages, it.Page, it.Quote); ok {
				label := fmt.Sprintf("%s #%d", name, i+1)
				row.Line, row.Where = v.mark(pi, first, last, lineMark{Label: label, Href: "#" + row.ID, Bad: row.Bad})
				v.box(d.Pages[pi], pi, first, last, row.ID, label, row.Bad)
			}
			lv.Rows = append(lv.Rows, row)
		}
		v.Lists = append(v.Lists, lv)
	}

	// Issues of the document as a whole, and of paths no row shows.
	for _, path := range slices.Sorted(maps.Keys(byField)) {
		if !claimed[path] {
			v.DocIssues = append(v.DocIssues, byField[path]...)
		}
	}
	return v
}

// mark highlights lines first..last of page pi for a field, and returns
// the anchor of the first and where it is.
func (v *documentView) mark(pi, first, last int, m lineMark) (anchor, where string) {
	pv := &v.Pages[pi]
	for j := first; j <= last; j++ {
		pv.Lines[j].Marks = append(pv.Lines[j].Marks, m)
	}
	where = fmt.Sprintf("p. %d, l. %d", pv.Number, first+1)
	if last > first {
		where += fmt.Sprintf("–%d", last+1)
	}
	return pv.Lines[first].ID, where
}

// box draws the evidence of a field (lines first..last of page pi) on
// the page image and returns the box's id ("" when the lines have no
// boxes).
func (v *documentView) box(pg pipeline.Page, pi, first, last int, rowID, label string, bad bool) string {
	var u pipeline.Box
	for j := first; j <= last && j < len(pg.Lines); j++ {
		b := pg.Lines[j].Box
		if b.X1 <= b.X0 || b.Y1 <= b.Y0 {
			continue
		}
		if u.X1 <= u.X0 {
			u = b
			continue
		}
		u = pipeline.Box{X0: min(u.X0, b.X0), Y0: min(u.Y0, b.Y0), X1: max(u.X1, b.X1), Y1: max(u.Y1, b.Y1)}
	}
	if u.X1 <= u.X0 {
		return ""
	}
	id := "bx-" + rowID
	pv := &v.Pages[pi]
	pv.Boxes = append(pv.Boxes, boxView{ID: id, X: u.X0 - 2, Y: u.Y0 - 2, W: u.X1 - u.X0 + 4, H: u.Y1 - u.Y0 + 4,
		Label: label, Href: "#" + rowID, Bad: bad})
	return id
}

func lineID(page, line int) string { return fmt.Sprintf("p%d-l%d", page, line) }

// locate finds a quote in the pages: on the cited page first, then on the
// others. It returns the page's index and the first and last lines the
// quote spans. Whitespace runs count as one space, and case is ignored
// when the exact text is not there.
func locate(pages []pipeline.Page, page int, quote string) (pi, first, last int, ok bool) {
	if strings.TrimSpace(quote) == "" {
		return 0, 0, 0, false
	}
	for i, pg := range pages {
		if pg.Number == page {
			if first, last, ok := findQuote(pg.Lines, quote); ok {
				return i, first, last, true
			}
		}
	}
	for i, pg := range pages {
		if pg.Number != page {
			if first, last, ok := findQuote(pg.Lines, quote); ok {
				return i, first, last, true
			}
		}
	}
	return 0, 0, 0, false
}

func findQuote(lines []pipeline.Line, quote string) (first, last int, ok bool) {
	q := collapseSpace(quote)
	if q == "" {
		return 0, 0, false
	}
	for _, fold := range []bool{false, true} {
		var b strings.Builder
		var starts, idx []int // where each non-empty line starts in b, and its index
		for i, l := range lines {
			t := collapseSpace(l.Text)
			if t == "" {
				continue
			}
			if fold {
				t = strings.ToLower(t)
			}
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			starts, idx = append(starts, b.Len()), append(idx, i)
			b.WriteString(t)
		}
		qq := q
		if fold {
			qq = strings.ToLower(q)
		}
		at := strings.Index(b.String(), qq)
		if at < 0 {
			continue
		}
		end := at + len(qq)
		for k, st := range starts {
			if st <= at {
				first = idx[k]
			}
			if st < end {
				last = idx[k]
			}
		}
		return first, last, true
	}
	return 0, 0, false
}

func collapseSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

// --- runs -------------------------------------------------------------------

type runView struct {
	ID                                   string
	Started, Finished, Took              string
	Status                               string
	Documents, OK, Failed, Review, Cache int
	Interrupted                          int
	Tokens, Cost                         string
	Inputs                               string
	Versions                             []keyValue
}

type keyValue struct{ Key, Value string }

func runOf(run pipeline.Run) runView {
	v := runView{ID: run.ID, Started: formatTime(run.Started), Status: run.Status, Documents: run.Counts.Documents,
		OK: run.Counts.OK, Failed: run.Counts.Failed, Review: run.Counts.Review, Cache: run.Counts.CacheHits,
		Interrupted: run.Counts.Interrupted, Tokens: tokensText(run.Spent.InputTokens, run.Spent.OutputTokens), Cost: costText(run.Spent)}
	if run.Finished != nil {
		v.Finished = formatTime(*run.Finished)
		v.Took = tracing.FormatDuration(run.Finished.Sub(run.Started))
	}
	v.Inputs = strings.Join(run.Inputs, ", ")
	if len(v.Inputs) > 120 {
		v.Inputs = v.Inputs[:strings.LastIndex(v.Inputs[:117], ",")+1] + " …"
	}
	for _, k := range slices.Sorted(maps.Keys(run.Versions)) {
		v.Versions = append(v.Versions, keyValue{k, run.Versions[k]})
	}
	return v
}

func (s *Server) getRunsPage(w http.ResponseWriter, r *http.Request, p Principal) error {
	runs, err := s.cfg.Review.Runs(r.Context(), 100)
	if err != nil {
		return err
	}
	out := make([]runView, len(runs))
	for i, run := range runs {
		out[i] = runOf(run)
	}
	return s.render(w, r, http.StatusOK, "runs", layout{Title: "Runs", Active: "runs", User: p.display(), Data: out})
}

type resultView struct {
	DocumentID, File, Status string
	Error                    string
	NeedsReview              bool
	Latency                  string
	Slow                     bool
	Cost                     string
	Tokens                   string
	TraceID                  string
	CacheHits                int
}

type runPage struct {
	Run           runView
	Rows          []resultView
	Total         int
	Failed        bool
	Slow          string
	ByLatency     bool
	Filtered      bool
	Base          string
	LatencyHref   string
	FileOrderHref string
}

// resultLine is what the run page reads of a result line.

func (s *Server) getRunPage(w http.ResponseWriter, r *http.Request, p Principal) error {
	run, rows, err := s.cfg.Review.RunResults(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	v := runPage{Run: runOf(run), Total: len(rows), Failed: q.Get("failed") == "1" || q.Get("failed") == "true" || q.Get("failed") == "on",
		Slow: strings.TrimSpace(q.Get("slow")), ByLatency: q.Get("sort") == "latency"}
	var slow time.Duration
	if v.Slow != "" {
		if slow, err = time.ParseDuration(v.Slow); err != nil || slow < 0 {
			return fmt.Errorf("%w: slow=%q is not a duration (say 2s or 500ms)", ErrInvalid, v.Slow)
		}
	}
	v.Filtered = v.Failed || slow > 0
	for _, row := range rows {
		if v.Failed && row.Status == "ok" {
			continue
		}
		if slow > 0 && time.Duration(row.DurationMS)*time.Millisecond <= slow {
			continue
		}
		line := row.Line
		v.Rows = append(v.Rows, resultView{DocumentID: row.DocumentID, File: row.File, Status: row.Status, Error: line.Error,
			NeedsReview: line.NeedsReview, Latency: tracing.FormatDuration(time.Duration(row.DurationMS) * time.Millisecond),
			Slow: slow > 0, TraceID: row.TraceID, CacheHits: line.CacheHits,
			Cost:   costText(pipeline.Usage{CostUSD: row.CostUSD, Attempts: line.Spent.Attempts, Prices: line.Spent.Prices}),
			Tokens: tokensText(line.Spent.InputTokens, line.Spent.OutputTokens)})
	}
	if v.ByLatency {
		ms := map[string]int64{}
		for _, row := range rows {
			ms[row.DocumentID+"\x00"+row.File] = row.DurationMS
		}
		slices.SortStableFunc(v.Rows, func(a, b resultView) int {
			return cmp.Compare(ms[b.DocumentID+"\x00"+b.File], ms[a.DocumentID+"\x00"+a.File])
		})
	}
	link := func(sortBy string) string {
		q := url.Values{}
		if v.Failed {
			q.Set("failed", "1")
		}
		if v.Slow != "" {
			q.Set("slow", v.Slow)
		}
		if sortBy != "" {
			q.Set("sort", sortBy)
		}
		u := "/ui/runs/" + url.PathEscape(run.ID)
		if len(q) > 0 {
			u += "?" + q.Encode()
		}
		return u
	}
	v.Base, v.LatencyHref, v.FileOrderHref = "/ui/runs/"+url.PathEscape(run.ID), link("latency"), link("")
	return s.render(w, r, http.StatusOK, "run", layout{Title: "Run " + run.ID, Active: "runs", User: p.display(), Data: v})
}

// --- eval -------------------------------------------------------------------

type evalView struct {
	Missing  string // why there is no report
	Created  string
	Datasets string
	Runs     int
}

func (s *Server) getEvalPage(w http.ResponseWriter, r *http.Request, p Principal) error {
	rep, err := s.cfg.Review.EvalReport(r.Context())
	var v evalView
	switch {
	case errors.Is(err, ErrNotFound):
		v.Missing = err.Error()
	case err != nil:
		return err
	default:
		v.Created, v.Datasets, v.Runs = formatTime(rep.Created), strings.Join(rep.Datasets, ", "), len(rep.Runs)
	}
	return s.render(w, r, http.StatusOK, "eval", layout{Title: "Eval report", Active: "eval", User: p.display(), Data: v})
}

// evalCSP lets the report (a page of its own, with its style inline) be
// shown in a frame of ours, sandboxed.
const evalCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; base-uri 'none'; form-action 'none'; sandbox"

// getEvalReport serves the eval report's HTML as it is.
func (s *Server) getEvalReport(w http.ResponseWriter, r *http.Request, _ Principal) error {
	rep, err := s.cfg.Review.EvalReport(r.Context())
	if err != nil {
		return err
	}
	var buf strings.Builder
	if err := rep.WriteHTML(&buf); err != nil {
		return err
	}
	w.Header().Set("Content-Security-Policy", evalCSP)
	w.Header().Set("X-Frame-Options", "SAMEORIGIN")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, err = w.Write([]byte(buf.String()))
	return err
}

// --- formatting -------------------------------------------------------------

func baseName(source string) string {
	source = strings.TrimPrefix(source, "upload:")
	if i := strings.LastIndexAny(source, `/\`); i >= 0 {
		source = source[i+1:]
	}
	return source
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// formatInt groups thousands: 12,345.
func formatInt(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

func tokensText(in, out int) string {
	if in == 0 && out == 0 {
		return "—"
	}
	return formatInt(in) + " in / " + formatInt(out) + " out"
}

// costText is a cost in dollars; "—" when nothing was spent on a model,
// "unknown" when the model is not in the price table.
func costText(u pipeline.Usage) string {
	switch {
	case u.CostUSD > 0:
		return "$" + strconv.FormatFloat(u.CostUSD, 'f', 6, 64)
	case u.Attempts > 0 && u.Prices == "":
		return "unknown"
	case u.Attempts > 0:
		return "$0"
	}
	return "—"
}

func usageText(u pipeline.Usage) string {
	if u.Attempts == 0 && u.InputTokens == 0 && u.OutputTokens == 0 {
		return "no model calls"
	}
	return fmt.Sprintf("%d model %s, %s tokens, %s", u.Attempts, plural(u.Attempts, "call", "calls"),
		tokensText(u.InputTokens, u.OutputTokens), costText(u))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// einvoiceText says which e-invoice a document's values were read from:
// "CII, EN 16931, factur-x.xml; EN 16931 rules checked, broken: BR-CO-16";
// "" for values read from the text.
func einvoiceText(src *pipeline.Source) string {
	if src == nil {
		return ""
	}
	parts := []string{cmp.Or(src.Syntax, "XML")}
	if src.Profile != "" {
		parts = append(parts, src.Profile)
	}
	if src.Attachment != "" {
		parts = append(parts, src.Attachment)
	}
	t := "e-invoice: " + strings.Join(parts, ", ")
	switch {
	case len(src.Violations) > 0:
		t += "; EN 16931 rules broken: " + strings.Join(src.Violations, ", ")
	case src.RulesChecked:
		t += "; EN 16931 rules of the profile checked"
	}
	return t
}
