package server

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/extractor-dev/extractor/pipeline"
)

// pageImagesFake renders every page of openAPIDocID as a tiny PNG.
type pageImagesFake struct{ calls int }

func (f *pageImagesFake) PageImage(_ context.Context, id string, page int) (PageImage, error) {
	f.calls++
	if id != openAPIDocID || page != 1 {
		return PageImage{}, fmt.Errorf("%w: page %d of %s", ErrNotFound, page, id)
	}
	return PageImage{ContentType: "image/png", Data: []byte("\x89PNG\r\n\x1a\nfake")}, nil
}

// reviewWeb is a web server with the whole review loop wired to fakes,
// and the document openAPIDocID whose lines have boxes.
func reviewWeb(t *testing.T) (*browser, *reviewFakes, *pageImagesFake) {
	rv := sampleReview()
	box := func(y float64) pipeline.Box { return pipeline.Box{X0: 50, Y0: y, X1: 300, Y1: y + 12} }
	rv.docs[openAPIDocID] = DocumentView{ID: openAPIDocID, Source: "upload:inv.pdf", Status: "ok", RunID: openAPIRunID,
		Pages: []pipeline.Page{{Number: 1, Width: 595, Height: 842, Status: pipeline.PageText, Lines: []pipeline.Line{
			{Text: "ACME GmbH, Berlin", Box: box(40)},
			{Text: "Invoice date: 2026-01-12", Box: box(60)},
			{Text: "Widgets 10 x 10,00 100,00", Box: box(100)},
			{Text: "Total 119,00 €", Box: box(140), Words: []pipeline.Word{
				{Text: "Total", Box: pipeline.Box{X0: 50, Y0: 140, X1: 80, Y1: 152}, Confidence: 0.9},
				{Text: "119,00", Box: pipeline.Box{X0: 250, Y0: 140, X1: 285, Y1: 152}, Confidence: 0.6},
				{Text: "€", Box: pipeline.Box{X0: 290, Y0: 140, X1: 300, Y1: 152}, Confidence: 0.9}}},
		}}}}
	rf, img := newReviewFakes(), &pageImagesFake{}
	s, _ := newWebServer(t, rv, func(c *Config) {
		c.Queue, c.Corrections, c.Records, c.PageImages = rf, rf, rf, img
	})
	return loggedIn(t, s), rf, img
}

func contains(t *testing.T, what, page string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(page, w) {
			t.Errorf("%s lacks %s", what, w)
		}
	}
}

func TestDocumentPageImage(t *testing.T) {
	b, _, img := reviewWeb(t)
	rec := b.do("GET", "/ui/documents/"+openAPIDocID, "", nil)
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	contains(t, "the document page", rec.Body.String(),
		// The page image, in page points, with the evidence boxes over it.
		`<svg viewBox="0 0 595 842"`,
		`<image href="/ui/documents/`+openAPIDocID+`/pages/1/image" x="0" y="0" width="595" height="842"/>`,
		`<a href="#f3" class="box" aria-label="vendor_name"><rect id="bx-f3" x="48" y="38" width="254" height="16">`,
		// The field's name shows its box.
		`<a href="#bx-f3" title="show its evidence on the page image">vendor_name</a>`,
		// The review: needs review (not "All checks passed"), the decision forms.
		`✗ Needs review:</strong> failed check.`,
		`<input type="hidden" name="version" value="3"><input type="hidden" name="decision" value="approved">`,
		`href="/ui/documents/`+openAPIDocID+`?edit=total_amount#edit"`,
	)
	if strings.Contains(rec.Body.String(), "All checks passed") {
		t.Error("a document that needs review says all checks passed")
	}
	rec = b.do("GET", "/ui/documents/"+openAPIDocID+"/pages/1/image", "", nil)
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "image/png" || !strings.HasPrefix(rec.Body.String(), "\x89PNG") ||
		!strings.HasPrefix(rec.Header().Get("Cache-Control"), "private") {
		t.Errorf("page image: %d %v", rec.Code, rec.Header())
	}
	if rec := b.do("GET", "/ui/documents/"+openAPIDocID+"/pages/2/image", "", nil); rec.Code != 404 {
		t.Errorf("missing page: %d", rec.Code)
	}
	// Without the login, no image.
	anon := &browser{t: t, s: b.s}
	if rec := anon.do("GET", "/ui/documents/"+openAPIDocID+"/pages/1/image", "", nil); rec.Code != http.StatusSeeOther || img.calls != 2 {
		t.Errorf("image without login: %d (%d renderings)", rec.Code, img.calls)
	}
}

func TestCorrectByPicking(t *testing.T) {
	b, rf, _ := reviewWeb(t)
	doc := "/ui/documents/" + openAPIDocID
	// Edit mode: every line picks; the picked line fills the form.
	rec := b.do("GET", doc+"?edit=issue_date&line=p1-l2", "", nil)
	page := rec.Body.String()
	contains(t, "the edit form", page,
		`<form method="post" action="/ui/documents/`+openAPIDocID+`/fields" class="edit card" id="edit">`,
		`<input type="hidden" name="field" value="issue_date">`,
		`name="value" id="edit-value" value="2026-01-12"`,
		`<input type="hidden" name="page" value="1"><input type="hidden" name="quote" value="Invoice date: 2026-01-12"><input type="hidden" name="box" value="50,60,300,72">`,
		`<a href="/ui/documents/`+openAPIDocID+`?edit=issue_date&amp;line=p1-l4#edit" class="pick"`,
		`<a class="pick-line" href="/ui/documents/`+openAPIDocID+`?edit=issue_date&amp;line=p1-l3#edit"`,
	)
	// A word of an OCR line: the word is the value, the line the quote.
	page = b.do("GET", doc+"?edit=total_amount&line=p1-l4&word=2", "", nil).Body.String()
	contains(t, "a picked word", page, `name="value" id="edit-value" value="119,00"`,
		`<input type="hidden" name="quote" value="Total 119,00 €"><input type="hidden" name="box" value="250,140,285,152">`,
		`class="pick word" aria-label="Take the word “119,00” for total_amount"`)
	form := url.Values{"version": {"3"}, "op": {"set"}, "field": {"issue_date"}, "value": {"2026-01-12"}, "page": {"1"},
		"quote": {"Invoice date: 2026-01-12"}, "box": {"50,60,300,72"}, "reason": {"was wrong"}}
	rec = b.do("POST", doc+"/fields", form.Encode(), nil)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != doc+"?done=corrected#fields" {
		t.Fatalf("correct: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	if len(rf.corrections) != 1 || rf.corrections[0].Field != "issue_date" || rf.corrections[0].By != "test" {
		t.Fatalf("corrections: %+v", rf.corrections)
	}
	if ev := rf.lastChanges[0].Evidence; ev == nil || ev.Page != 1 || ev.Box == nil || *ev.Box != (pipeline.Box{X0: 50, Y0: 60, X1: 300, Y1: 72}) {
		t.Errorf("the change's evidence: %+v", rf.lastChanges[0].Evidence)
	}
	page = b.do("GET", doc+"?done=corrected", "", nil).Body.String()
	contains(t, "the page after the correction", page, "Saved.", `<h2 id="history">History</h2>`, "set issue_date", "was wrong",
		`<input type="hidden" name="version" value="4">`)

	// A second session still at version 3: the conflict is shown, nothing
	// is overwritten.
	form.Set("value", "2026-01-13")
	rec = b.do("POST", doc+"/fields", form.Encode(), nil)
	if rec.Code != http.StatusPreconditionFailed || len(rf.corrections) != 1 {
		t.Fatalf("stale correction: %d, %d corrections", rec.Code, len(rf.corrections))
	}
	contains(t, "the conflict", rec.Body.String(), "⚠ Conflict: ", "Someone else changed this document",
		"You read version 3; your change (set issue_date to “2026-01-13”) was not saved.", `value="2026-01-13"`)

	// A value that does not check is shown on the form.
	rec = b.do("POST", doc+"/fields", url.Values{"version": {"4"}, "field": {"colour"}, "value": {"red"}}.Encode(), nil)
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("invalid: %d", rec.Code)
	}
	contains(t, "the refused value", rec.Body.String(), "not a field of the invoice schema")

	// Line items: remove and add.
	for _, f := range []url.Values{
		{"version": {"4"}, "op": {"add"}, "field": {"line_items"}, "item.description": {"Bolts"}},
		{"version": {"5"}, "op": {"remove"}, "field": {"line_items[0]"}},
	} {
		if rec := b.do("POST", doc+"/fields", f.Encode(), nil); rec.Code != http.StatusSeeOther {
			t.Fatalf("%v: %d %s", f, rec.Code, rec.Body)
		}
	}

	// Reject needs a reason; approve goes back where it was asked.
	rec = b.do("POST", doc+"/decision", url.Values{"version": {"6"}, "decision": {"rejected"}}.Encode(), nil)
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "a rejection needs a reason") {
		t.Errorf("reject without reason: %d", rec.Code)
	}
	rec = b.do("POST", doc+"/decision", url.Values{"version": {"6"}, "decision": {"approved"}, "next": {"/ui/review?reason=ungrounded"}}.Encode(), nil)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/ui/review?reason=ungrounded" || rf.state != "approved" {
		t.Errorf("approve: %d %v %s", rec.Code, rec.Header(), rf.state)
	}
	contains(t, "the approved document", b.do("GET", doc, "", nil).Body.String(), "✓ Approved</strong> by test: these values are the ones exported.")
	// A form from another site is refused.
	rec = b.do("POST", doc+"/decision", url.Values{"version": {"7"}, "decision": {"rejected"}, "reason": {"x"}}.Encode(),
		map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
	if rec.Code != http.StatusForbidden || rf.state != "approved" {
		t.Errorf("cross-site decision: %d %s", rec.Code, rf.state)
	}
}

func TestQueuePage(t *testing.T) {
	b, rf, _ := reviewWeb(t)
	rec := b.do("GET", "/ui/review?reason=failed_check&vendor=acme", "", nil)
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if rf.lastQueue.Reason != "failed_check" || rf.lastQueue.Vendor != "acme" {
		t.Errorf("query: %+v", rf.lastQueue)
	}
	contains(t, "the queue", rec.Body.String(),
		`<a href="/ui/review?reason=failed_check&amp;vendor=acme" aria-current="true">failed check <span class="count">1</span></a>`,
		`<a href="/ui/review?reason=low_confidence&amp;vendor=acme">low confidence <span class="count">1</span></a>`,
		`<tr data-row>`, `<a href="/ui/documents/`+openAPIDocID+`" data-open>inv.pdf</a>`, "ACME GmbH",
		`<input type="hidden" name="next" value="/ui/review?reason=failed_check&amp;vendor=acme">`,
		`rel="next">Next page →</a>`)
	if rec := b.do("GET", "/ui/review?reason=nope", "", nil); rec.Code != 400 {
		t.Errorf("bad reason: %d", rec.Code)
	}
}

func TestMetricsPage(t *testing.T) {
	b, rf, _ := reviewWeb(t)
	rec := b.do("GET", "/ui/metrics", "", nil)
	contains(t, "the metrics page", rec.Body.String(), "66.7%", "3.0 min", "2026-W03", "total_amount", "33.3%",
		`href="/ui/exports/approved?format=csv"`, `href="/ui/exports/approved?format=jsonl"`)
	rec = b.do("GET", "/ui/exports/approved?format=csv", "", nil)
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/csv") || !strings.Contains(rec.Body.String(), "ACME GmbH") ||
		rf.lastExport.Format != "csv" {
		t.Errorf("export: %d %v", rec.Code, rec.Header())
	}
}

func TestSearchPage(t *testing.T) {
	b, _, _ := reviewWeb(t)
	rec := b.do("GET", "/ui/search", "", nil)
	if rec.Code != 200 || strings.Contains(rec.Body.String(), "chunks</h2>") {
		t.Fatalf("empty search: %d", rec.Code)
	}
	rec = b.do("GET", "/ui/search?"+url.Values{"q": {"widgets"}, "filters": {"vendor_name~acme\n"}}.Encode(), "", nil)
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	contains(t, "the results", rec.Body.String(), "0 chunks</h2>", "Nothing found.")
}

func TestValueOf(t *testing.T) {
	for line, want := range map[string]string{
		"Total: 1.234,56 EUR":           "1.234,56 EUR",
		"Rechnungsdatum 27.11.2022":     "27.11.2022",
		"Rechnungsnr. RE-20221127/3":    "RE-20221127/3",
		"Widgets      10    100,00":     "100,00",
		"Richter Gebäudereinigung e.K.": "Richter Gebäudereinigung e.K.",
		"  ":                            "",
	} {
		if got := valueOf(line); got != want {
			t.Errorf("valueOf(%q) = %q, want %q", line, got, want)
		}
	}
}

// historyFake prints a diff and a lineage as the CLI would.
type historyFake struct{}

func (historyFake) Diff(_ context.Context, a, b string) (string, error) {
	if a == "nope" {
		return "", fmt.Errorf("%w: no run %q", ErrNotFound, a)
	}
	return "diff " + a + " → " + b + "\n\n<b>inv.pdf</b>\n  issue_date: \"2026-01-12\" → \"2026-01-13\"\n", nil
}

func (historyFake) Lineage(_ context.Context, doc, field, run string) (string, error) {
	if field == "colour" {
		return "", fmt.Errorf("%w: unknown field %q", pipeline.ErrInvalid, field)
	}
	return "lineage of " + field + " in inv.pdf, run run1\n\nvalue  \"119.00\"\n", nil
}

func TestDiffAndLineagePages(t *testing.T) {
	rv := sampleReview()
	s, _ := newWebServer(t, rv, func(c *Config) { c.History = historyFake{} })
	b := loggedIn(t, s)
	rec := b.do("GET", "/ui/diff?a=run0&b=run1", "", nil)
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	contains(t, "the diff page", rec.Body.String(), `<pre class="report">diff run0 → run1`, "&lt;b&gt;inv.pdf&lt;/b&gt;", `<option value="run1" selected>`)
	rec = b.do("GET", "/ui/diff?a=nope&b=run1", "", nil)
	contains(t, "an unknown run", rec.Body.String(), `<p class="alert bad">`, "no run")

	page := b.do("GET", "/ui/documents/doc1", "", nil).Body.String()
	contains(t, "the document page", page, `<a href="/ui/documents/doc1/lineage?field=total_amount" aria-label="Lineage of total_amount">lineage</a>`)
	rec = b.do("GET", "/ui/documents/doc1/lineage?field=total_amount", "", nil)
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	contains(t, "the lineage page", rec.Body.String(), "lineage of total_amount in inv.pdf", `href="/ui/documents/doc1#fields"`)
	if rec := b.do("GET", "/ui/documents/doc1/lineage?field=colour", "", nil); rec.Code != 422 {
		t.Errorf("bad field: %d", rec.Code)
	}
	if rec := b.do("GET", "/ui/documents/doc1/lineage", "", nil); rec.Code != 422 && rec.Code != 400 {
		t.Errorf("no field: %d", rec.Code)
	}
}
