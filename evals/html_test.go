package evals

import (
	"bytes"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/extractor-dev/extractor/pipeline"
)

// Hostile values, as a PDF could carry them.
const (
	xssScript = `<script>alert(1)</script>`
	xssAttr   = `"'><img src=x onerror=alert(1)>`
	remoteURL = `https://evil.example/x.png`
)

func fptr(v float64) *float64 { return &v }

// htmlReport is a small report with every section filled: a failed
// document, a document with wrong values, a clean one, a baseline, a
// failed gate, excluded rows and a retrieval eval.
func htmlReport() Report {
	est := func(v, lo, hi float64) Estimate { return Estimate{Value: v, Low: lo, High: hi} }
	r := Report{
		Version:  ReportVersion,
		Created:  time.Date(2026, 11, 21, 17, 24, 21, 0, time.UTC),
		Datasets: []string{"corpus/public"},
		Runs:     []string{"run-1"},
		Versions: map[string]string{"parser": "pdf/1", "extractor": "llm/1", "model": "gpt-x", "prompt": "invoice#abc", "schema": "invoice@1"},
		Repeats:  1,
		Metrics: Metrics{Rows: 4, Scored: 3, Skipped: 1, Groups: 3, Values: 9,
			Fields: []Accuracy{
				{Field: "vendor_name", Groups: 3, Rows: 3, N: 3, Correct: 2.7, Macro: 0.9, Micro: 0.9},
				{Field: "total_amount", Groups: 3, Rows: 3, N: 3, Correct: 0.6, Macro: 0.2, Micro: 0.25},
				{Field: "due_date", Groups: 3, Rows: 3, N: 3, Correct: 1.5, Macro: 0.5, Micro: 0.5},
				{Field: "currency", Groups: 3, Rows: 3, N: 3, Correct: 0.6, Macro: 0.2, Micro: 0.2},
			},
			Overall: Accuracy{Field: "all", Groups: 3, Rows: 3, N: 12, Macro: 0.45, Micro: 0.46},
			Items:   ItemAccuracy{Groups: 1, Rows: 1, Expected: 2, Predicted: 1, Matched: 1, Precision: 1, Recall: 0.5, F1: 0.667, MacroF1: 0.667},
		},
		Business: Business{Documents: 3, Groups: 3,
			StraightThrough:   est(0.68, 0.53, 0.84),
			DocumentAccuracy:  est(0.33, 0, 0.66),
			FieldAccuracy:     est(0.45, 0.4, 0.5),
			HallucinationRate: est(0.07, 0, 0.2),
			Threshold:         0.8,
			Automation:        est(0.66, 0.33, 1),
			AutomatedAccuracy: est(0.5, 0, 1),
			TargetAccuracy:    0.95,
			ExceptionRate:     est(0.66, 0.33, 1),
			Exceptions:        map[string]float64{ExceptionExtraction: 0.33, ExceptionConfidence: 0.33, ExceptionParse: 0, ExceptionUngrounded: 0, ExceptionValidation: 0},
			CostPerDocument:   0.0012345,
			CostKnown:         true,
			LatencyP50MS:      812, LatencyP95MS: 2345,
			InputTokensPerDoc: 2000, OutputTokensPerDoc: 150, AttemptsPerDoc: 1.33,
			FromCache: 1,
			Curve: []ThresholdPoint{
				{Threshold: 0, Automation: 1, Accuracy: 0.33, Documents: 3},
				{Threshold: 0.85, Automation: 0.66, Accuracy: 0.5, Documents: 2},
				{Threshold: 0.97, Automation: 0.33, Accuracy: 1, Documents: 1},
			},
		},
		Documents: []DocScore{
			{RowScore: RowScore{ID: "doc-clean", Group: "g:clean", Schema: SchemaInvoice,
				Fields: []FieldResult{{Field: "total_amount", Path: "total_amount", Expected: "10.00", Got: "10.00", Match: true, Score: 1, Page: 1, Quote: "Total 10.00", Grounded: true, Confidence: 0.97}}},
				TraceID: "trace-clean", DocumentID: "d1", RunID: "run-1", Repeat: 1, Status: "ok", Confidence: 0.97,
				Correct: true, RequiredCorrect: true, StraightThrough: true, Extracted: 1, Exceptions: []string{},
				Usage: pipeline.Usage{InputTokens: 2000, OutputTokens: 150, Attempts: 1, CostUSD: 0.0011, Prices: "p1"}, LatencyMS: 812},
			{RowScore: RowScore{ID: "doc-wrong", Group: "g:wrong", Schema: SchemaInvoice,
				Fields: []FieldResult{
					{Field: "total_amount", Path: "total_amount", Expected: "99.00", Got: "9.90", Score: 0, Reason: ReasonDifferent,
						Page: 2, Quote: "Total   9.90\n  EUR", Grounded: true, Confidence: 0.85},
					{Field: "due_date", Path: "due_date", Expected: "2026-01-31", Reason: ReasonMissing},
					{Field: "vendor_name", Path: "vendor_name", Expected: "ACME", Got: "ACME", Match: true, Score: 1},
				}},
				TraceID: "trace-wrong", DocumentID: "d2", RunID: "run-1", Repeat: 1, Status: "ok", Confidence: 0.85,
				Extracted: 2, Ungrounded: 0, Exceptions: []string{},
				Usage: pipeline.Usage{InputTokens: 2000, OutputTokens: 150, Attempts: 1, CostUSD: 0.0012, Prices: "p1"}, LatencyMS: 2345, CacheHits: 3},
			{RowScore: RowScore{ID: "doc-failed", Group: "g:failed", Schema: SchemaInvoice,
				Fields: []FieldResult{{Field: "total_amount", Path: "total_amount", Expected: "5.00", Reason: ReasonMissing}}},
				TraceID: "trace-failed", DocumentID: "d3", RunID: "run-1", Repeat: 1, Status: "failed", FailedStep: "extract",
				Error: "no valid tool call", Exceptions: []string{ExceptionExtraction},
				Issues: []pipeline.Issue{{Field: "total_amount", Code: pipeline.IssueMissing, Severity: pipeline.SeverityFail, Message: "required field not found"}},
				Usage:  pipeline.Usage{InputTokens: 2000, OutputTokens: 150, Attempts: 2, CostUSD: 0.0014, Prices: "p1"}, LatencyMS: 400},
		},
		Excluded: []Excluded{{ID: "doc-hostile", Group: "g:hostile", Reason: "hostile row"}},
		Retrieval: &RetrievalReport{Embedder: "hash/1", Documents: 3,
			Scores: []RetrievalScore{{Mode: "hybrid", Questions: 2, Recall: map[int]float64{10: 1, 1: 0.5, 5: 1}, MRR: 0.75}},
			ByKind: map[string][]RetrievalScore{"total": {{Mode: "hybrid", Questions: 1, Recall: map[int]float64{1: 1, 5: 1, 10: 1}, MRR: 1}}},
			Questions: []RetrievalOutcome{{Question: Question{ID: "q1", Question: "What is the total?", DocumentID: "d2", Pages: []int{1}, Kind: "total"},
				Ranks: map[string]int{"hybrid": 0, "vector": 2}}}},
	}
	r.Baseline = &Comparison{Path: "baseline.json", Created: r.Created.Add(-24 * time.Hour), Runs: []string{"run-0"},
		Versions: map[string]string{"parser": "pdf/1", "extractor": "llm/1", "model": "gpt-w", "prompt": "invoice#abc", "schema": "invoice@1"},
		Metrics: []Delta{
			{Name: "straight_through", Baseline: 0.63, Current: 0.68, Delta: 0.05, HigherIsBetter: true},
			{Name: "hallucination_rate", Baseline: 0.05, Current: 0.07, Delta: 0.02},
			{Name: "cost_per_document", Baseline: 0.0022345, Current: 0.0012345, Delta: -0.001},
			{Name: "field_accuracy", Baseline: 0.45, Current: 0.45, Delta: 0, HigherIsBetter: true},
		},
		Fields: []Delta{
			{Name: "total_amount", Baseline: 0.3, Current: 0.2, Delta: -0.1, HigherIsBetter: true},
			{Name: "vendor_name", Baseline: 0.8, Current: 0.9, Delta: 0.1, HigherIsBetter: true},
		},
		Changed: []Change{
			{ID: "doc-clean", TraceID: "trace-clean", Path: "total_amount", Expected: "10.00", Before: "1.00", After: "10.00", IsCorrect: true},
			{ID: "doc-wrong", TraceID: "trace-wrong", Path: "total_amount", Expected: "99.00", Before: "99.00", After: "9.90", WasCorrect: true},
		},
		Added: []string{"doc-new"}, Removed: []string{"doc-gone"}}
	r.Gate = &GateVerdict{Path: "gate.yaml", Gate: Gate{MinStraightThrough: fptr(0.7), MaxFieldDrop: fptr(0)}, Violations: []Violation{
		{Limit: "min_straight_through", Allowed: 0.7, Actual: 0.68, Message: "straight_through is 0.6800, below the minimum 0.7000"},
		{Limit: "field_drop.total_amount", Allowed: 0, Actual: 0.1, Message: "total_amount accuracy dropped from 0.3000 to 0.2000 (allowed drop 0.0000)"},
	}}
	return r
}

func renderHTML(t *testing.T, r Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := r.WriteHTML(&b); err != nil {
		t.Fatalf("WriteHTML: %v", err)
	}
	return b.String()
}

// section returns the part of the page inside <section id="id">.
func section(t *testing.T, page, id string) string {
	t.Helper()
	start := strings.Index(page, `<section id="`+id+`">`)
	if start < 0 {
		t.Fatalf("no section %q", id)
	}
	end := strings.Index(page[start:], "</section>")
	if end < 0 {
		t.Fatalf("section %q is not closed", id)
	}
	return page[start : start+end]
}

func TestWriteHTMLSectionsInOrder(t *testing.T) {
	page := renderHTML(t, htmlReport())
	ids := []string{`<header id="summary">`, `id="gate"`, `<section id="metrics">`, `<section id="fields">`, `<section id="errors">`,
		`<section id="curve">`, `<section id="documents">`, `<section id="comparison">`, `<section id="excluded">`, `<section id="retrieval">`}
	last := -1
	for _, id := range ids {
		i := strings.Index(page, id)
		if i < 0 {
			t.Fatalf("%s missing", id)
		}
		if i < last {
			t.Errorf("%s comes before the previous section", id)
		}
		last = i
	}
	for _, want := range []string{
		"<!DOCTYPE html>", "corpus/public", "run-1", "2026-11-21 17:24:21 UTC",
		"<b>model</b> gpt-x", "<b>prompt</b> invoice#abc", // versions
		"Straight-through rate", "68.0%", "95% CI [53.0%, 84.0%]", // a rate and its interval
		"Automation at confidence ≥ 0.80", "Accuracy of automated", "Threshold for 95.0% accuracy",
		"Cost per document", "$0.001234", "per correct document", "Latency p50 / p95", "812 ms / 2.35 s",
		"1 of 3 documents came from the cache", "2000 in / 150 out", "1.33 attempts per document",
		"different value", "missing", // error reasons
		"extraction_failure", "low_confidence", // exception reasons
		"threshold 0.80", "target 95.0%", // curve markers
		"extractor traces show trace-wrong", "Total   9.90\n  EUR", // the quote, verbatim
		"no valid tool call", "required field not found",
		"hostile row", "recall@1", "recall@5", "recall@10", "What is the total?",
		"doc-new", "doc-gone", "now right", "now wrong", "<code>model</code>: gpt-w → gpt-x",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// Balanced containers (Chromium's parser is the real check: see
	// scripts/report-screenshot.sh).
	for _, tag := range []string{"section", "details", "table", "svg", "div", "summary", "tr", "dl"} {
		if o, c := strings.Count(page, "<"+tag+">")+strings.Count(page, "<"+tag+" "), strings.Count(page, "</"+tag+">"); o != c {
			t.Errorf("<%s>: %d opened, %d closed", tag, o, c)
		}
	}
}

func TestWriteHTMLFieldsWorstFirst(t *testing.T) {
	sec := section(t, renderHTML(t, htmlReport()), "fields")
	got := regexp.MustCompile(`data-field="([^"]+)"`).FindAllStringSubmatch(sec, -1)
	var order []string
	for _, m := range got {
		order = append(order, m[1])
	}
	// 0.2 (ties by name), 0.5, 0.9.
	want := []string{"currency", "total_amount", "due_date", "vendor_name"}
	if !slices.Equal(order, want) {
		t.Errorf("table order %v, want %v", order, want)
	}
	// The chart lists its bars in the same order.
	var bars []string
	for _, m := range regexp.MustCompile(`text-anchor="end">([a-z_.]+)</text>`).FindAllStringSubmatch(sec, -1) {
		bars = append(bars, m[1])
	}
	if !slices.Equal(bars, want) {
		t.Errorf("chart order %v, want %v", bars, want)
	}
	// The baseline delta is shown per field, with its colour.
	if !strings.Contains(sec, `<span class="delta worse" title="baseline 30.0% → now 20.0%">−10.0 pp</span>`) {
		t.Error("total_amount's drop is not shown as worse")
	}
	if !strings.Contains(sec, `<span class="delta better" title="baseline 80.0% → now 90.0%">&#43;10.0 pp</span>`) {
		t.Error("vendor_name's gain is not shown as better")
	}
}

func TestWriteHTMLEscapesValues(t *testing.T) {
	r := htmlReport()
	for _, bad := range []string{xssScript, xssAttr} {
		r.Datasets = append(r.Datasets, bad)
		r.Runs = append(r.Runs, bad)
		r.Versions["x"+bad] = bad
		d := &r.Documents[1]
		d.ID += bad
		d.Group += bad
		d.TraceID += bad
		d.Error = bad
		d.Fields = append(d.Fields, FieldResult{Field: "vendor_name" + bad, Path: "vendor_name" + bad, Expected: bad, Got: bad,
			Reason: ReasonDifferent + ": " + bad, Quote: bad, Page: 1})
		d.Issues = append(d.Issues, pipeline.Issue{Field: bad, Code: bad, Severity: pipeline.SeverityWarn, Message: bad})
		d.Exceptions = append(d.Exceptions, bad)
		r.Business.Exceptions[bad] = 0.5
		r.Metrics.Fields = append(r.Metrics.Fields, Accuracy{Field: bad, N: 1, Macro: 0.1})
		r.Excluded = append(r.Excluded, Excluded{ID: bad, Group: bad, Reason: bad})
		r.Gate.Path += bad
		r.Gate.Violations = append(r.Gate.Violations, Violation{Message: bad})
		r.Baseline.Path += bad
		r.Baseline.Changed = append(r.Baseline.Changed, Change{ID: bad, Path: bad, Expected: bad, Before: bad, After: bad, TraceID: bad})
		r.Baseline.Added = append(r.Baseline.Added, bad)
		r.Retrieval.Embedder += bad
		r.Retrieval.Questions[0].Question.Question += bad
	}
	page := renderHTML(t, r)
	for _, raw := range []string{"<script", "<img", "onerror=alert(1)>", `"'>`} {
		if strings.Contains(page, raw) {
			i := strings.Index(page, raw)
			t.Errorf("page contains %q unescaped: ...%s...", raw, page[max(i-80, 0):min(i+80, len(page))])
		}
	}
	for _, escaped := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "&#34;&#39;&gt;&lt;img src=x onerror=alert(1)&gt;"} {
		if n := strings.Count(page, escaped); n < 10 {
			t.Errorf("%q appears %d times, want it escaped everywhere (at least 10 places)", escaped, n)
		}
	}
}

// remoteRef matches a URL that loads or links something elsewhere.
var remoteRef = regexp.MustCompile(`(?i)^\s*(https?:|//|ftp:|data:|javascript:)`)

func TestWriteHTMLNoRemoteResources(t *testing.T) {
	r := htmlReport()
	// Values may mention URLs; they are text, never references.
	r.Documents[1].Fields[0].Quote = `<link rel="stylesheet" href="` + remoteURL + `"> @import url(` + remoteURL + `) ` + remoteURL
	r.Documents[1].Fields[0].Got = `<img src="` + remoteURL + `">`
	r.Versions["model"] = remoteURL
	page := renderHTML(t, r)

	// No element that loads or links something (the values above are
	// escaped, so their "<link" is "&lt;link").
	for _, bad := range []string{"<link", "<img", "<iframe", "<object", "<embed", "<script", "<base", "<meta http-equiv", "<audio", "<video", "<source"} {
		if strings.Contains(strings.ToLower(page), bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	// The style sheet imports nothing and loads no url().
	styles := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindAllStringSubmatch(page, -1)
	if len(styles) != 1 {
		t.Fatalf("%d style elements, want 1", len(styles))
	}
	for _, bad := range []string{"@import", "url(", "http:", "https:", "@font-face"} {
		if strings.Contains(strings.ToLower(styles[0][1]), bad) {
			t.Errorf("the style sheet contains %q", bad)
		}
	}
	tags := regexp.MustCompile(`<[a-zA-Z][^<>]*>`).FindAllString(page, -1)
	attr := regexp.MustCompile(`([a-zA-Z:-]+)\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)`)
	checked := 0
	for _, tag := range tags {
		for _, m := range attr.FindAllStringSubmatch(tag, -1) {
			name, value := strings.ToLower(m[1]), strings.Trim(m[2], `"'`)
			switch name {
			case "src", "srcset", "action", "formaction", "poster", "data", "xlink:href", "background", "cite", "ping", "manifest":
				t.Errorf("%s: a %s attribute", tag, name)
			case "href":
				checked++
				if !strings.HasPrefix(value, "#") {
					t.Errorf("%s: href %q is not an anchor on the page", tag, value)
				}
			case "style":
				if strings.Contains(value, "url") || remoteRef.MatchString(value) {
					t.Errorf("%s: style refers to a resource", tag)
				}
			}
			if remoteRef.MatchString(value) || strings.Contains(value, "://") {
				t.Errorf("%s: attribute %s=%q is a URL", tag, name, value)
			}
		}
	}
	if checked == 0 {
		t.Error("no href checked: the tag scan is broken")
	}
	// The inline SVG needs no namespace URL either.
	if strings.Contains(page, "xmlns") {
		t.Error("page declares an xmlns (a URL)")
	}
}

func TestWriteHTMLGate(t *testing.T) {
	failed := htmlReport()
	passed := htmlReport()
	passed.Gate = &GateVerdict{Path: "gate.yaml", Passed: true, Violations: []Violation{}}
	none := htmlReport()
	none.Gate = nil
	for _, tc := range []struct {
		name      string
		r         Report
		want, not []string
	}{
		{"failed", failed,
			[]string{`<div class="gate failed" id="gate">`, "Gate FAILED", "straight_through is 0.6800, below the minimum 0.7000",
				"total_amount accuracy dropped from 0.3000 to 0.2000", "min_straight_through 0.7", "max_field_drop 0"},
			[]string{"Gate passed"}},
		{"passed", passed, []string{`<div class="gate passed" id="gate">`, "Gate passed"}, []string{"Gate FAILED"}},
		{"none", none, nil, []string{`id="gate"`, "Gate passed", "Gate FAILED"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page := renderHTML(t, tc.r)
			for _, s := range tc.want {
				if !strings.Contains(page, s) {
					t.Errorf("lacks %q", s)
				}
			}
			for _, s := range tc.not {
				if strings.Contains(page, s) {
					t.Errorf("has %q", s)
				}
			}
		})
	}
	// The banner is above the metrics.
	page := renderHTML(t, failed)
	if strings.Index(page, "Gate FAILED") > strings.Index(page, `<section id="metrics">`) {
		t.Error("the gate verdict is not at the top")
	}
}

func TestDeltaOf(t *testing.T) {
	for _, tc := range []struct {
		d           Delta
		text, class string
	}{
		{Delta{Name: "straight_through", Baseline: 0.6, Current: 0.65, Delta: 0.05, HigherIsBetter: true}, "+5.0 pp", "better"},
		{Delta{Name: "straight_through", Baseline: 0.6, Current: 0.55, Delta: -0.05, HigherIsBetter: true}, "−5.0 pp", "worse"},
		{Delta{Name: "hallucination_rate", Baseline: 0.05, Current: 0.07, Delta: 0.02}, "+2.0 pp", "worse"},
		{Delta{Name: "exception_rate", Baseline: 0.2, Current: 0.1, Delta: -0.1}, "−10.0 pp", "better"},
		{Delta{Name: "cost_per_document", Baseline: 0.003, Current: 0.002, Delta: -0.001}, "−$0.001000", "better"},
		{Delta{Name: "cost_per_document", Baseline: 0.01, Current: 0.03, Delta: 0.02}, "+$0.0200", "worse"},
		{Delta{Name: "latency_p95_ms", Baseline: 1000, Current: 2500, Delta: 1500}, "+1.50 s", "worse"},
		{Delta{Name: "latency_p95_ms", Baseline: 100, Current: 60, Delta: -40}, "−40 ms", "better"},
		{Delta{Name: "field_accuracy", Baseline: 0.5, Current: 0.5, Delta: 0, HigherIsBetter: true}, "±0", "same"},
		{Delta{Name: "total_amount", Baseline: 0.5, Current: 0.4, Delta: -0.1, HigherIsBetter: true}, "−10.0 pp", "worse"},
	} {
		got := deltaOf(tc.d)
		if got.Text != tc.text || got.Class != tc.class {
			t.Errorf("%s %+g: %q %q, want %q %q", tc.d.Name, tc.d.Delta, got.Text, got.Class, tc.text, tc.class)
		}
	}
}

func TestWriteHTMLBaselineDeltas(t *testing.T) {
	page := renderHTML(t, htmlReport())
	metrics := section(t, page, "metrics")
	for _, want := range []string{
		`<span class="delta better" title="baseline 63.0% → now 68.0%">&#43;5.0 pp</span>`,        // straight-through up: better
		`<span class="delta worse" title="baseline 5.0% → now 7.0%">&#43;2.0 pp</span>`,           // hallucination up: worse
		`<span class="delta better" title="baseline $0.002234 → now $0.001234">−$0.001000</span>`, // cost down: better
		`<span class="delta same" title="baseline 45.0% → now 45.0%">±0</span>`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metric cards lack %s", want)
		}
	}
	cmp := section(t, page, "comparison")
	for _, want := range []string{
		`<td>straight-through rate</td><td class="num">63.0%</td><td class="num">68.0%</td><td class="num"><span class="delta better">&#43;5.0 pp</span></td>`,
		`<td>hallucination rate</td><td class="num">5.0%</td><td class="num">7.0%</td><td class="num"><span class="delta worse">&#43;2.0 pp</span></td>`,
		`<td><code>total_amount</code></td><td class="num">30.0%</td><td class="num">20.0%</td><td class="num"><span class="delta worse">−10.0 pp</span></td>`,
		`<span class="delta better">now right</span>`, `<span class="delta worse">now wrong</span>`,
		"(2: 1 now right, 1 now wrong)",
	} {
		if !strings.Contains(cmp, want) {
			t.Errorf("comparison lacks %s", want)
		}
	}
	// Now-wrong values come first.
	if strings.Index(cmp, "now wrong</span>") > strings.Index(cmp, "now right</span>") {
		t.Error("values now wrong are not listed first")
	}
	// Without a baseline: no deltas, no comparison.
	r := htmlReport()
	r.Baseline = nil
	page = renderHTML(t, r)
	if strings.Contains(page, `class="delta`) || strings.Contains(page, `id="comparison"`) {
		t.Error("deltas or a comparison without a baseline")
	}
}

func TestWriteHTMLCost(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(b *Business)
		want string
	}{
		{"no correct document", func(b *Business) { b.CostPerCorrectDocument = nil }, "per correct document: – (no correct document)"},
		{"per correct document", func(b *Business) { b.CostPerCorrectDocument = fptr(0.0037) }, "per correct document: $0.003700"},
		{"above a cent", func(b *Business) { b.CostPerDocument = 0.12345 }, "$0.1235"},
		{"unknown", func(b *Business) { b.CostKnown = false; b.CostPerCorrectDocument = nil }, `<div class="value">unknown</div>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := htmlReport()
			tc.edit(&r.Business)
			metrics := section(t, renderHTML(t, r), "metrics")
			if !strings.Contains(metrics, tc.want) {
				t.Errorf("lacks %q", tc.want)
			}
		})
	}
}

func TestWriteHTMLDocuments(t *testing.T) {
	sec := section(t, renderHTML(t, htmlReport()), "documents")
	// Problems first: failed, then wrong values, then clean.
	var order []string
	for _, m := range regexp.MustCompile(`<details class="doc [a-z]+" id="doc-([^"]+)">`).FindAllStringSubmatch(sec, -1) {
		order = append(order, m[1])
	}
	if want := []string{"doc-failed", "doc-wrong", "doc-clean"}; !slices.Equal(order, want) {
		t.Errorf("documents in order %v, want %v", order, want)
	}
	for _, want := range []string{
		`<details class="doc failed" id="doc-doc-failed">`,
		`<td class="val exp">99.00</td><td class="val got">9.90</td>`,   // expected vs got
		`<td class="reason">different value</td><td class="num">2</td>`, // and the page
		`<span class="quote">Total   9.90` + "\n" + `  EUR</span>`,
		`<code class="cmd">extractor traces show trace-wrong</code>`,
		`<span class="none">nothing</span>`, // the missing due_date
		"2/3", "All 1 labelled values are right.", "Failed at extract:",
	} {
		if !strings.Contains(sec, want) {
			t.Errorf("documents lack %q", want)
		}
	}
	// Right values are not listed as wrong.
	if strings.Contains(sec, `<td class="path"><code>vendor_name</code>`) {
		t.Error("a right value is listed among the wrong ones")
	}
}

func TestWriteHTMLErrorReasons(t *testing.T) {
	r := htmlReport()
	r.Documents[1].Fields = append(r.Documents[1].Fields,
		FieldResult{Field: "parties", Path: "parties", Expected: "A; B", Got: "A", Score: 0.67, Reason: ReasonPartial + ": 1 of 2 matched, 0 extra"},
		FieldResult{Field: "issue_date", Path: "issue_date", Expected: "2026-01-01", Got: "01.01.2026", Reason: ReasonInvalid})
	sec := section(t, renderHTML(t, r), "errors")
	for _, want := range []string{">missing</text>", ">partial</text>", ">invalid</text>", ">different value</text>", "5 of 7 labelled values are wrong"} {
		if !strings.Contains(sec, want) {
			t.Errorf("errors lack %q", want)
		}
	}
	// missing (2) is the longest bar, first.
	if strings.Index(sec, ">missing</text>") > strings.Index(sec, ">invalid</text>") {
		t.Error("reasons are not sorted by count")
	}
}

func TestWriteHTMLEmpty(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    Report
	}{
		{"zero", Report{}},
		{"no documents", NewReport(nil, BusinessOptions{})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page := renderHTML(t, tc.r)
			for _, want := range []string{"No documents were scored.", "No labelled values were scored.", "No rows were left out.", "</html>"} {
				if !strings.Contains(page, want) {
					t.Errorf("lacks %q", want)
				}
			}
		})
	}
}

func TestWriteHTMLFromNewReport(t *testing.T) {
	docs := []DocScore{
		ScoreDocument(Row{ID: "a", Group: "g1", Schema: SchemaInvoice, Expected: map[string]any{"total_amount": "10.00"}},
			Outcome{TraceID: "t1", Required: []string{"total_amount"}, Latency: 3 * time.Millisecond,
				Extraction: pipeline.Extraction{Fields: map[string]pipeline.Field{"total_amount": {Value: "10.00", Confidence: 0.9, Grounded: true}}}}),
		ScoreDocument(Row{ID: "b", Group: "g2", Schema: SchemaInvoice, Expected: map[string]any{"total_amount": "7.00"}},
			Outcome{TraceID: "t2", Required: []string{"total_amount"}, Failed: true, FailedStep: "parse", Error: "encrypted"}),
	}
	r := NewReport(docs, BusinessOptions{Resamples: 10})
	page := renderHTML(t, r)
	for _, want := range []string{"extractor traces show t2", "encrypted", "parse_failure"} {
		if !strings.Contains(page, want) {
			t.Errorf("lacks %q", want)
		}
	}
}

func TestWriteHTMLDeterministic(t *testing.T) {
	r := htmlReport()
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		r.Versions[k] = k
		r.Business.Exceptions["other_"+k] = 0.1
		r.Retrieval.ByKind[k] = r.Retrieval.ByKind["total"]
		r.Retrieval.Questions[0].Ranks[k] = 0
	}
	r.Variance = &Variance{Repeats: 2, Agreement: map[string]float64{"total_amount": 0.5, "due_date": 1, "vendor_name": 0.75}}
	first := renderHTML(t, r)
	for range 10 {
		if renderHTML(t, r) != first {
			t.Fatal("two renderings of the same report differ")
		}
	}
}

func TestHTMLFormats(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{pct(0.6875), "68.8%"},
		{pct(1), "100.0%"},
		{pct(math.NaN()), "–"},
		{usd(0), "$0.000000"},
		{usd(0.0012345), "$0.001234"},
		{usd(0.0561), "$0.0561"},
		{ms(0.79), "0.8 ms"},
		{ms(812.4), "812 ms"},
		{ms(8123), "8.12 s"},
		{count(1, "document"), "1 document"},
		{count(0, "document"), "0 documents"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
