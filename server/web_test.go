package server

import (
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/extractor-dev/extractor/evals"
	"github.com/extractor-dev/extractor/pipeline"
	"github.com/extractor-dev/extractor/tracing"
)

// reviewFake is the Review the pages read, in memory.
type reviewFake struct {
	docs    map[string]DocumentView
	runs    []pipeline.Run
	results map[string][]ResultRow
	spans   map[string][]tracing.Span
	report  *evals.Report
}

func (f *reviewFake) Runs(_ context.Context, limit int) ([]pipeline.Run, error) {
	return f.runs[:min(limit, len(f.runs))], nil
}

func (f *reviewFake) RunResults(_ context.Context, id string) (pipeline.Run, []ResultRow, error) {
	for _, r := range f.runs {
		if r.ID == id {
			return r, f.results[id], nil
		}
	}
	return pipeline.Run{}, nil, fmt.Errorf("%w: run %s", ErrNotFound, id)
}

func (f *reviewFake) DocumentView(_ context.Context, id string) (DocumentView, error) {
	d, ok := f.docs[id]
	if !ok {
		return d, fmt.Errorf("%w: document %s", ErrNotFound, id)
	}
	return d, nil
}

func (f *reviewFake) Spans(_ context.Context, id string) ([]tracing.Span, error) {
	s, ok := f.spans[id]
	if !ok {
		return nil, fmt.Errorf("%w: trace %s", ErrNotFound, id)
	}
	return s, nil
}

func (f *reviewFake) EvalReport(context.Context) (evals.Report, error) {
	if f.report == nil {
		return evals.Report{}, fmt.Errorf("%w: no eval report configured", ErrNotFound)
	}
	return *f.report, nil
}

const traceHex = "4bf92f3577b34da6a3ce929d0e0e4736"

// sampleReview has one document (an invoice with a grounded total, an
// ungrounded VAT id and a failing check), one run with an ok and a failed
// document, and the document's trace.
func sampleReview() *reviewFake {
	lines := func(ts ...string) []pipeline.Line {
		out := make([]pipeline.Line, len(ts))
		for i, t := range ts {
			out[i] = pipeline.Line{Text: t}
		}
		return out
	}
	doc := DocumentView{ID: "doc1", Source: "upload:inv-<1>.pdf", Status: "ok", RunID: "run1", TraceID: traceHex,
		Pages: []pipeline.Page{
			{Number: 1, Status: pipeline.PageText, Lines: lines("ACME GmbH", "Invoice no. RE-42", "<script>alert(1)</script>")},
			{Number: 2, Status: pipeline.PageText, Lines: lines("Net 100.00", "Total due", "EUR 119.00", "Thank you")},
		},
		Extraction: &pipeline.Extraction{
			Schema:    pipeline.SchemaRef{Name: "invoice", Version: "1"},
			Extractor: pipeline.ExtractorRef{Kind: "llm", Model: "gpt-4o-mini"},
			Fields: map[string]pipeline.Field{
				"invoice_number": {Value: "RE-42", Raw: "RE-42", Evidence: pipeline.Evidence{Page: 1, Quote: "Invoice no. RE-42"}, Grounded: true, Confidence: 0.95},
				// The quote spans two lines and is cited on the wrong page.
				"total_amount":  {Value: "119.00", Raw: "EUR 119.00", Currency: "EUR", Evidence: pipeline.Evidence{Page: 1, Quote: "total due eur 119.00"}, Grounded: true, Confidence: 0.9},
				"vendor_vat_id": {Value: "DE999", Raw: "DE999", Evidence: pipeline.Evidence{Page: 1, Quote: "VAT DE999"}, Grounded: false, Confidence: 0.3},
				"due_date":      {},
			},
			Lists: map[string][]pipeline.Item{"line_items": {{Fields: map[string]pipeline.Field{"amount": {Value: "100.00", Raw: "100.00", Grounded: true}},
				Evidence: pipeline.Evidence{Page: 2, Quote: "Net 100.00"}, Grounded: true}}},
			Issues: []pipeline.Issue{
				{Field: "vendor_vat_id", Code: pipeline.IssueUngrounded, Severity: pipeline.SeverityFail, Message: "the quote is not on page 1"},
				{Code: pipeline.IssueArithmetic, Severity: pipeline.SeverityWarn, Message: "net + tax != total"},
			},
			Usage: pipeline.Usage{InputTokens: 1500, OutputTokens: 300, Attempts: 1, CostUSD: 0.0004, Prices: "2026-01"},
		}}
	start := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	fin := start.Add(3 * time.Second)
	run := pipeline.Run{ID: "run1", Started: start, Finished: &fin, Status: "finished", Inputs: []string{"upload:inv-<1>.pdf"},
		Counts: pipeline.RunCounts{Documents: 2, OK: 1, Failed: 1}, Spent: pipeline.Usage{InputTokens: 1500, OutputTokens: 300, Attempts: 1, CostUSD: 0.0004, Prices: "2026-01"}}
	tid, _ := trace.TraceIDFromHex(traceHex)
	sid := func(b byte) trace.SpanID { return trace.SpanID{0, 0, 0, 0, 0, 0, 0, b} }
	span := func(id, parent byte, name string, from, to time.Duration, attrs ...attribute.KeyValue) tracing.Span {
		return tracing.Span{TraceID: tid, SpanID: sid(id), ParentSpanID: func() trace.SpanID {
			if parent == 0 {
				return trace.SpanID{}
			}
			return sid(parent)
		}(), Name: name, Start: start.Add(from), End: start.Add(to), Duration: to - from, Attributes: attrs}
	}
	spans := []tracing.Span{
		span(1, 0, "POST /v1/extractions", 0, 2*time.Second),
		span(2, 1, "document", 10*time.Millisecond, 1900*time.Millisecond, tracing.Status.String("ok")),
		span(3, 2, "parse", 10*time.Millisecond, 100*time.Millisecond, tracing.CacheHit.Bool(true)),
		span(4, 2, "chat gpt-4o-mini", 100*time.Millisecond, 1800*time.Millisecond, tracing.OperationName.String("chat"),
			tracing.UsageInputTokens.Int(1500), tracing.UsageOutputTokens.Int(300), tracing.CostUSD.Float64(0.0004), tracing.Attempt.Int(2)),
	}
	failedCall := span(5, 2, "chat gpt-4o-mini", 100*time.Millisecond, 900*time.Millisecond, tracing.OperationName.String("chat"))
	failedCall.Status = tracing.SpanStatus{Code: codes.Error, Message: "429 <rate limited>"}
	failedCall.Events = []tracing.Event{{Name: "exception", Time: start.Add(900 * time.Millisecond), Attributes: []attribute.KeyValue{attribute.String("exception.message", "429")}}}
	spans = append(spans, failedCall)
	return &reviewFake{
		docs: map[string]DocumentView{"doc1": doc},
		runs: []pipeline.Run{run},
		results: map[string][]ResultRow{"run1": {
			{DocumentID: "doc1", File: "inv-<1>.pdf", Status: "ok", DurationMS: 1900, CostUSD: 0.0004, TraceID: traceHex,
				Line: mustLine(`{"needs_review":true,"spent":{"input_tokens":1500,"output_tokens":300,"attempts":1,"cost_usd":0.0004,"prices":"2026-01"}}`)},
			{DocumentID: "doc2", File: "broken.pdf", Status: "failed", DurationMS: 40, Line: mustLine(`{"error":"parse: not a PDF (no %PDF header)"}`)},
		}},
		spans: map[string][]tracing.Span{traceHex: spans},
	}
}

// browser keeps cookies and sends the headers a browser sends with a
// same-origin form.
type browser struct {
	t      *testing.T
	s      *Server
	cookie *http.Cookie
}

func (b *browser) do(method, path string, body string, header map[string]string) *httptest.ResponseRecorder {
	b.t.Helper()
	req := httptest.NewRequest(method, "http://example.test"+path, strings.NewReader(body))
	req.Header.Set("Accept", "text/html")
	if method == http.MethodPost {
		req.Header.Set("Origin", "http://example.test")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		if body != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	if b.cookie != nil {
		req.AddCookie(b.cookie)
	}
	rec := httptest.NewRecorder()
	b.s.Handler().ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.Name == sessionCookie {
			if c.MaxAge < 0 {
				b.cookie = nil
			} else {
				b.cookie = c
			}
		}
	}
	return rec
}

func newWebServer(t *testing.T, rv *reviewFake, edit func(*Config)) (*Server, *apiFakes) {
	f := newAPIFakes()
	s, _ := newAPIServer(t, f, func(c *Config) {
		c.Review = rv
		if edit != nil {
			edit(c)
		}
	})
	return s, f
}

func loggedIn(t *testing.T, s *Server) *browser {
	b := &browser{t: t, s: s}
	rec := b.do("POST", "/ui/login", url.Values{"key": {goodKey}, "next": {"/ui/runs"}}.Encode(), nil)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/ui/runs" || b.cookie == nil {
		t.Fatalf("login: %d %v", rec.Code, rec.Header())
	}
	return b
}

func TestLogin(t *testing.T) {
	s, _ := newWebServer(t, sampleReview(), nil)
	b := &browser{t: t, s: s}

	// A page without a session goes to the login form, remembering where.
	rec := b.do("GET", "/ui/documents/doc1", "", nil)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/ui/login?next=%2Fui%2Fdocuments%2Fdoc1" {
		t.Fatalf("no session: %d %v", rec.Code, rec.Header())
	}
	rec = b.do("GET", "/ui/login?next=%2Fui%2Fdocuments%2Fdoc1", "", nil)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `name="next" value="/ui/documents/doc1"`) {
		t.Fatalf("login form: %d %s", rec.Code, rec.Body)
	}

	for _, c := range []struct{ key, want string }{
		{"", "Enter an API key."},
		{"exk_wrong", "That key is unknown or revoked."},
		{"a key; with=junk", "That is not an API key."},
	} {
		rec := b.do("POST", "/ui/login", url.Values{"key": {c.key}}.Encode(), nil)
		if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), c.want) || b.cookie != nil {
			t.Errorf("key %q: %d cookie %v, want 401 %q", c.key, rec.Code, b.cookie, c.want)
		}
	}

	rec = b.do("POST", "/ui/login", url.Values{"key": {goodKey}, "next": {"/ui/documents/doc1"}}.Encode(), nil)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/ui/documents/doc1" {
		t.Fatalf("login: %d %v", rec.Code, rec.Header())
	}
	c := b.cookie
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.MaxAge <= 0 {
		t.Fatalf("session cookie: %+v", c)
	}
	if rec := b.do("GET", "/ui/documents/doc1", "", nil); rec.Code != 200 || !strings.Contains(rec.Body.String(), "key: test") {
		t.Errorf("logged in: %d", rec.Code)
	}
	// Logged in, the login page goes on.
	if rec := b.do("GET", "/ui/login?next=/ui/eval", "", nil); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/ui/eval" {
		t.Errorf("login when logged in: %d %v", rec.Code, rec.Header())
	}
	if rec := b.do("POST", "/ui/logout", "", nil); rec.Code != http.StatusSeeOther || b.cookie != nil {
		t.Errorf("logout: %d cookie %v", rec.Code, b.cookie)
	}
	if rec := b.do("GET", "/ui/runs", "", nil); rec.Code != http.StatusSeeOther {
		t.Errorf("after logout: %d", rec.Code)
	}

	// A revoked key's cookie is a session no more, and is cleared.
	b.cookie = &http.Cookie{Name: sessionCookie, Value: "exk_revoked"}
	if rec := b.do("GET", "/ui/runs", "", nil); rec.Code != http.StatusSeeOther || b.cookie != nil {
		t.Errorf("revoked key: %d cookie %v", rec.Code, b.cookie)
	}
	// The database down is not "logged out".
	b.cookie = &http.Cookie{Name: sessionCookie, Value: "db-down"}
	if rec := b.do("GET", "/ui/runs", "", nil); rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "unavailable") {
		t.Errorf("database down: %d %s", rec.Code, rec.Body)
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"":                        "/ui/",
		"/ui/runs?failed=1":       "/ui/runs?failed=1",
		"/ui/documents/a%2Fb":     "/ui/documents/a%2Fb",
		"https://evil.example/ui": "/ui/",
		"//evil.example/ui/":      "/ui/",
		"/\\evil.example":         "/ui/",
		"/ui/\\..\\x":             "/ui/",
		"/metrics":                "/ui/",
		"/ui/login?next=/ui/":     "/ui/",
		"javascript:alert(1)":     "/ui/",
		"%zz":                     "/ui/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCrossOrigin: a form another site makes the browser send is refused,
// even with the session cookie.
func TestCrossOrigin(t *testing.T) {
	s, f := newWebServer(t, sampleReview(), nil)
	b := loggedIn(t, s)
	body, ct := upload(t, []byte(samplePDF), "x.pdf", "")
	raw, _ := readAll(body)
	for name, h := range map[string]map[string]string{
		"Origin of another site":   {"Origin": "https://evil.example", "Sec-Fetch-Site": ""},
		"Sec-Fetch-Site":           {"Sec-Fetch-Site": "cross-site", "Origin": ""},
		"Referer of another site":  {"Origin": "", "Sec-Fetch-Site": "", "Referer": "https://evil.example/page"},
		"Origin null (a sandbox)":  {"Origin": "null", "Sec-Fetch-Site": ""},
		"another port of the host": {"Origin": "http://example.test:8081", "Sec-Fetch-Site": ""},
	} {
		h["Content-Type"] = ct
		rec := b.do("POST", "/ui/extract", raw, h)
		if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "not sent from this site") {
			t.Errorf("%s: %d", name, rec.Code)
		}
		if rec := b.do("POST", "/ui/logout", "", h); rec.Code != http.StatusForbidden || b.cookie == nil {
			t.Errorf("%s: logout %d", name, rec.Code)
		}
	}
	if len(f.jobs) != 0 {
		t.Error("a refused form did something")
	}
}

func readAll(r interface{ Read([]byte) (int, error) }) (string, error) {
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			return sb.String(), nil
		}
	}
}

func TestUploadPage(t *testing.T) {
	s, f := newWebServer(t, sampleReview(), nil)
	var got Options
	f.extract = func(_ context.Context, u Upload, o Options) (pipeline.ResultLine, error) {
		got = o
		if u.Name == "fails.pdf" {
			return mustLine(`{"run_id":"run1","document_id":"gone","file":"upload:fails.pdf","status":"failed","error":"parse: broken xref","trace_id":"` + traceHex + `"}`), nil
		}
		return mustLine(`{"run_id":"run1","document_id":"doc1","status":"ok"}`), nil
	}
	b := loggedIn(t, s)
	rec := b.do("GET", "/ui/", "", nil)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `enctype="multipart/form-data"`) || !strings.Contains(rec.Body.String(), "At most 1 MiB and 10 pages") {
		t.Fatalf("upload form: %d %s", rec.Code, rec.Body)
	}
	post := func(file []byte, name, options string) *httptest.ResponseRecorder {
		body, ct := upload(t, file, name, options)
		raw, _ := readAll(body)
		return b.do("POST", "/ui/extract", raw, map[string]string{"Content-Type": ct})
	}
	rec = post([]byte(samplePDF), "inv.pdf", `{"schema":"invoice","extractor":"rules"}`)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/ui/documents/doc1" || got.Extractor != "rules" {
		t.Errorf("upload: %d %v %+v", rec.Code, rec.Header(), got)
	}
	// Errors come back as the form, with the API's status and why.
	for _, c := range []struct {
		file    []byte
		name    string
		options string
		status  int
		want    string
	}{
		{[]byte("hello"), "a.txt", "", http.StatusUnsupportedMediaType, "That file is not a PDF"},
		{nil, "", "", http.StatusBadRequest, "file"},
		{[]byte(samplePDF), "a.pdf", `{"schema":"nope"}`, http.StatusUnprocessableEntity, "options: 1 error: /schema "},
		{[]byte(strings.Repeat("%PDF", 1<<19)), "big.pdf", "", http.StatusRequestEntityTooLarge, "The file is too large"},
	} {
		rec := post(c.file, c.name, c.options)
		if rec.Code != c.status || !strings.Contains(rec.Body.String(), c.want) || !strings.Contains(rec.Body.String(), `action="/ui/extract"`) {
			t.Errorf("%s: %d, want %d with %q:\n%s", c.name, rec.Code, c.status, c.want, rec.Body)
		}
	}
	// A document the pipeline could not read: why, and its trace.
	rec = post([]byte(samplePDF), "fails.pdf", "")
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "parse: broken xref") || !strings.Contains(rec.Body.String(), "/ui/traces/"+traceHex) {
		t.Errorf("failed extraction: %d %s", rec.Code, rec.Body)
	}
}

func TestDocumentPage(t *testing.T) {
	s, _ := newWebServer(t, sampleReview(), nil)
	b := loggedIn(t, s)
	rec := b.do("GET", "/ui/documents/doc1", "", nil)
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	page := rec.Body.String()
	for _, want := range []string{
		// The fields, each beside where its quote is.
		`<a href="#p1-l2" title="quote: Invoice no. RE-42">p. 1, l. 2</a>`,
		// A two-line quote found on another page than cited, ignoring case.
		`<a href="#p2-l2" title="quote: total due eur 119.00">p. 2, l. 2–3</a> <span class="warn-text">(cited p. 1)</span>`,
		// The quote highlighted in the text, tagged with its field.
		`<div class="line marked" id="p2-l3"><span class="ln">3</span><mark>EUR 119.00</mark><a class="ftag" href="#f3">total_amount</a></div>`,
		`<div class="line marked" id="p2-l1"><span class="ln">1</span><mark>Net 100.00</mark><a class="ftag" href="#l1-1">line_items #1</a></div>`,
		// An ungrounded value, its quote nowhere in the text, its issue.
		`<tr id="f4" class="bad">`,
		`p. 1, quote not in text`,
		`<span class="bad-mark">✗ no</span>`,
		`<span class="sev fail">✗ fail</span> <code>ungrounded</code>`,
		`0.30 <span class="tag-low">low</span>`,
		// A field not found.
		`— not found`,
		// The document's own issue, and the verdict.
		`<code>arithmetic</code>`,
		`✗ Needs review:</strong> 1 failing check, 1 warning, 1 ungrounded value`,
		`1 model call, 1,500 in / 300 out tokens, $0.000400`,
		`href="/ui/traces/` + traceHex + `"`,
		`href="/ui/runs/run1"`,
		// Untrusted text is escaped.
		`&lt;script&gt;alert(1)&lt;/script&gt;`,
		`upload:inv-&lt;1&gt;.pdf`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if n := strings.Count(page, "<script"); n != 1 || !strings.Contains(page, `<script src="/ui/static/keys.js?v=`+assetVersion+`" defer></script>`) {
		t.Errorf("the page has %d scripts, or an inline one", n)
	}
	h := rec.Header()
	if !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") || h.Get("X-Frame-Options") != "DENY" || h.Get("Cache-Control") != "no-store" || len(h.Get("X-Trace-Id")) != 32 {
		t.Errorf("headers: %v", h)
	}
	if rec := b.do("GET", "/ui/documents/nope", "", nil); rec.Code != 404 || !strings.Contains(rec.Body.String(), "Not found") {
		t.Errorf("unknown document: %d", rec.Code)
	}
}

func TestFindQuote(t *testing.T) {
	lines := []pipeline.Line{{Text: "Invoice   RE-42"}, {Text: ""}, {Text: "Total"}, {Text: "EUR 1.00"}, {Text: "Thanks"}}
	for _, c := range []struct {
		quote       string
		first, last int
		ok          bool
	}{
		{"Invoice RE-42", 0, 0, true},
		{"RE-42 Total EUR", 0, 3, true}, // across an empty line
		{"total eur 1.00", 2, 3, true},  // case folded
		{"EUR", 3, 3, true},
		{"Thanks", 4, 4, true},
		{"Thanks!", 0, 0, false},
		{"   ", 0, 0, false},
	} {
		first, last, ok := findQuote(lines, c.quote)
		if ok != c.ok || ok && (first != c.first || last != c.last) {
			t.Errorf("%q: %d-%d %v, want %d-%d %v", c.quote, first, last, ok, c.first, c.last, c.ok)
		}
	}
}

func TestRunPages(t *testing.T) {
	s, _ := newWebServer(t, sampleReview(), nil)
	b := loggedIn(t, s)
	rec := b.do("GET", "/ui/runs", "", nil)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `<a href="/ui/runs/run1">run1</a>`) || !strings.Contains(rec.Body.String(), "3.00s") {
		t.Errorf("runs: %d %s", rec.Code, rec.Body)
	}
	rows := regexp.MustCompile(`<tr(?: class="(?:bad|warn)")?>\s*<td class="wrap">([^<]*)`)
	files := func(body string) []string {
		var out []string
		for _, m := range rows.FindAllStringSubmatch(body, -1) {
			out = append(out, m[1])
		}
		return out
	}
	for _, c := range []struct {
		query  string
		status int
		files  string
		want   string
	}{
		{"", 200, "inv-&lt;1&gt;.pdf broken.pdf", "2 of 2 documents"},
		{"?failed=1", 200, "broken.pdf", "parse: not a PDF (no %PDF header)"},
		{"?slow=1s", 200, "inv-&lt;1&gt;.pdf", "1 of 2 documents"},
		{"?sort=latency", 200, "inv-&lt;1&gt;.pdf broken.pdf", "Latency ↓"},
		{"?failed=1&slow=1s", 200, "", "No document of this run matches the filters."},
		{"?slow=fast", 400, "", "slow=&#34;fast&#34; is not a duration"},
	} {
		rec := b.do("GET", "/ui/runs/run1"+c.query, "", nil)
		body := rec.Body.String()
		if rec.Code != c.status || strings.Join(files(body), " ") != c.files || !strings.Contains(body, c.want) {
			t.Errorf("%q: %d %q, want %d %q with %q", c.query, rec.Code, files(body), c.status, c.files, c.want)
		}
	}
	rec = b.do("GET", "/ui/runs/run1", "", nil)
	for _, want := range []string{"⚠ needs review", "1,500 in / 300 out", "$0.000400", "1.90s", `href="/ui/traces/` + traceHex + `"`, `href="/ui/documents/doc1"`} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("run page lacks %s", want)
		}
	}
	if rec := b.do("GET", "/ui/runs/nope", "", nil); rec.Code != 404 {
		t.Errorf("unknown run: %d", rec.Code)
	}
}

func TestTracePage(t *testing.T) {
	s, _ := newWebServer(t, sampleReview(), nil)
	b := loggedIn(t, s)
	rec := b.do("GET", "/ui/traces/"+strings.ToUpper(traceHex), "", nil)
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	page := rec.Body.String()
	// The tree, in order, with its drawing.
	names := regexp.MustCompile(`<span class="tree">([^<]*)</span><span class="nm">([^<]*)</span>`).FindAllStringSubmatch(page, -1)
	var tree []string
	for _, m := range names {
		tree = append(tree, m[1]+m[2])
	}
	want := []string{"POST /v1/extractions", "└─ document", "   ├─ parse", "   ├─ chat gpt-4o-mini", "   └─ chat gpt-4o-mini"}
	if strings.Join(tree, "|") != strings.Join(want, "|") {
		t.Errorf("tree %q, want %q", tree, want)
	}
	for _, want := range []string{
		`<dd><span class="bad-mark">✗ 1</span></dd>`, // errors
		`<details class="span err"`,
		`<span class="badge bad">✗ 429 &lt;rate limited&gt;</span>`,
		`<span class="badge llm">tokens 1500 in / 300 out</span>`,
		`<span class="badge llm">$0.000400</span>`,
		`<span class="badge ">attempt 2</span>`,
		`<span class="badge good">cache hit</span>`,
		`<span class="badge good">status ok</span>`,
		// The bars on the trace's timeline: parse starts at 10ms of 2s.
		`<rect x="5.0" y="2" width="45.0" height="10" class="bar hit"/>`,
		`<strong class="bad-text">exception</strong>`,
		"<span>2.00s</span>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the trace page lacks %s", want)
		}
	}
	for path, status := range map[string]int{"/ui/traces/not-hex": 404, "/ui/traces/0af7651916cd43dd8448eb211c80319c": 404} {
		if rec := b.do("GET", path, "", nil); rec.Code != status {
			t.Errorf("%s: %d", path, rec.Code)
		}
	}
}

func TestEvalPage(t *testing.T) {
	rv := sampleReview()
	s, _ := newWebServer(t, rv, nil)
	b := loggedIn(t, s)
	rec := b.do("GET", "/ui/eval", "", nil)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "No eval report.") || strings.Contains(rec.Body.String(), "<iframe") {
		t.Errorf("no report: %d %s", rec.Code, rec.Body)
	}
	if rec := b.do("GET", "/ui/eval/report", "", nil); rec.Code != 404 {
		t.Errorf("no report's HTML: %d", rec.Code)
	}
	rv.report = &evals.Report{Version: 1, Created: time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC), Datasets: []string{"public"}, Runs: []string{"r1"}}
	rec = b.do("GET", "/ui/eval", "", nil)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `<iframe class="report" src="/ui/eval/report"`) || !strings.Contains(rec.Body.String(), "datasets public") {
		t.Errorf("report page: %d %s", rec.Code, rec.Body)
	}
	rec = b.do("GET", "/ui/eval/report", "", nil)
	if rec.Code != 200 || !strings.Contains(rec.Header().Get("Content-Security-Policy"), "sandbox") || !strings.Contains(rec.Body.String(), "<html") {
		t.Errorf("report: %d %v", rec.Code, rec.Header())
	}
}

// TestPagesSelfContained: nothing a page uses comes from another host,
// and the assets are served with their content types.
func TestPagesSelfContained(t *testing.T) {
	err := fs.WalkDir(webFiles, "web", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(webFiles, path)
		if err != nil {
			return err
		}
		for _, m := range regexp.MustCompile(`(?i)(?:src|href|action|url\()\s*=?\s*["']?(https?:|//)`).FindAllString(string(b), -1) {
			if !strings.Contains(m, "www.w3.org/2000/svg") {
				t.Errorf("%s loads from another host: %s", path, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := newWebServer(t, sampleReview(), nil)
	b := &browser{t: t, s: s}
	page := b.do("GET", "/ui/login", "", nil).Body.String()
	css := regexp.MustCompile(`href="(/ui/static/style\.css\?v=[0-9a-f]+)"`).FindStringSubmatch(page)
	if css == nil {
		t.Fatalf("no stylesheet link in %s", page)
	}
	for path, ctype := range map[string]string{css[1]: "text/css", "/ui/static/icon.svg?v=" + assetVersion: "image/svg+xml"} {
		rec := b.do("GET", path, "", nil)
		if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), ctype) || rec.Body.Len() < 100 ||
			!strings.Contains(rec.Header().Get("Cache-Control"), "immutable") {
			t.Errorf("%s: %d %v (%d bytes)", path, rec.Code, rec.Header(), rec.Body.Len())
		}
	}
	for _, path := range []string{"/ui/static/", "/ui/static/nope.css", "/ui/static/../web.go"} {
		if rec := b.do("GET", path, "", nil); rec.Code == 200 {
			t.Errorf("%s: %d", path, rec.Code)
		}
	}
}

// TestNotFound: an unknown address is a page for a browser and a problem
// for an API client.
func TestNotFound(t *testing.T) {
	s, _ := newWebServer(t, sampleReview(), nil)
	b := &browser{t: t, s: s}
	if rec := b.do("GET", "/nope", "", nil); rec.Code != 404 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Errorf("browser: %d %v", rec.Code, rec.Header())
	}
	rec := do(t, s, call{method: "GET", path: "/nope"})
	if rec.Code != 404 {
		t.Errorf("API client: %d", rec.Code)
	}
	problemOf(t, rec)
	if rec := b.do("GET", "/", "", nil); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/ui/" {
		t.Errorf("/: %d %v", rec.Code, rec.Header())
	}
}

// TestPagesRateLimited: the pages count against the key's rate limit too.
func TestPagesRateLimited(t *testing.T) {
	s, _ := newWebServer(t, sampleReview(), func(c *Config) { c.RatePerSecond, c.Burst = 0.001, 3 })
	b := loggedIn(t, s)
	var codes []int
	for range 5 {
		rec := b.do("GET", "/ui/runs", "", nil)
		codes = append(codes, rec.Code)
		if rec.Code == 429 && rec.Header().Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
	}
	if fmt.Sprint(codes) != "[200 200 200 429 429]" {
		t.Errorf("statuses %v", codes)
	}
}

// A document read from its e-invoice says so (syntax, profile, attachment,
// rules), and a value the XML carries but the page does not print is
// neither ungrounded nor bad: it is marked as in the XML only.
func TestDocumentFromAnEInvoice(t *testing.T) {
	page := pipeline.Page{Number: 1, Status: pipeline.PageText, Lines: []pipeline.Line{{Text: "Rechnung Nr. R-1"}, {Text: "Gesamtbetrag 119,00 EUR"}}}
	x := pipeline.Extraction{Schema: pipeline.SchemaRef{Name: "invoice"}, Extractor: pipeline.ExtractorRef{Kind: "einvoice"},
		Source: &pipeline.Source{Kind: "einvoice", Attachment: "factur-x.xml", Syntax: "CII", Profile: "EN 16931", RulesChecked: true},
		Fields: map[string]pipeline.Field{
			"invoice_number": {Value: "R-1", Grounded: true, Evidence: pipeline.Evidence{Origin: "einvoice:BT-1", Page: 1, Quote: "Rechnung Nr. R-1"}},
			"iban":           {Value: "DE89370400440532013000", Evidence: pipeline.Evidence{Origin: "einvoice:BT-84"}},
		}}
	v := buildDocument(DocumentView{ID: "d", Pages: []pipeline.Page{page}, Extraction: &x})
	if v.EInvoice != "e-invoice: CII, EN 16931, factur-x.xml; EN 16931 rules of the profile checked" {
		t.Errorf("source %q", v.EInvoice)
	}
	if v.Ungrounded != 0 {
		t.Errorf("%d ungrounded: a value the page does not print is not ungrounded", v.Ungrounded)
	}
	for _, r := range v.Fields {
		if r.Name == "iban" && (!r.NotPrinted || r.Bad) {
			t.Errorf("iban row %+v", r)
		}
	}
	x.Source.Violations = []string{"BR-CO-16"}
	if got := einvoiceText(x.Source); !strings.HasSuffix(got, "EN 16931 rules broken: BR-CO-16") {
		t.Errorf("violations: %q", got)
	}
	if einvoiceText(nil) != "" {
		t.Error("a text extraction has no e-invoice")
	}
}

func TestConfidenceText(t *testing.T) {
	for c, want := range map[float64]string{0: "—", 0.5: "0.50", 0.987: "0.99"} {
		if got := confidenceText(c); got != want {
			t.Errorf("confidenceText(%v) = %q, want %q", c, got, want)
		}
	}
}
