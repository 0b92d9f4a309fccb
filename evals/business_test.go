package evals

import (
	"bytes"
	"encoding/csv"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/extractor-dev/extractor/pipeline"
)

var invoiceRequired = []string{"vendor_name", "invoice_number", "issue_date", "total_amount"}

func invRow(id, group string) Row {
	return Row{ID: id, Group: group, Schema: SchemaInvoice, LabelQuality: "verified", Expected: Label{
		"vendor_name": "ACME GmbH", "invoice_number": "INV-1", "issue_date": "2024-03-05", "total_amount": "25.50", "due_date": "2024-04-04"}}
}

// field is an extracted, grounded value with a confidence.
func field(v string, conf float64) pipeline.Field {
	return pipeline.Field{Value: v, Raw: v, Evidence: pipeline.Evidence{Page: 1, Quote: v}, Grounded: true, Confidence: conf}
}

// extraction returns the right values with confidence conf; change edits
// them.
func extraction(conf float64, change func(map[string]pipeline.Field)) pipeline.Extraction {
	fs := map[string]pipeline.Field{"vendor_name": field("ACME GmbH", conf), "invoice_number": field("INV-1", conf),
		"issue_date": field("2024-03-05", conf), "total_amount": field("25.50", conf), "due_date": field("2024-04-04", conf)}
	if change != nil {
		change(fs)
	}
	return pipeline.Extraction{Fields: fs, Usage: pipeline.Usage{InputTokens: 1000, OutputTokens: 100, Attempts: 1, CostUSD: 0.001, Prices: "p1"}}
}

func outcome(x pipeline.Extraction, latency time.Duration) Outcome {
	return Outcome{DocumentID: "doc", TraceID: "trace", Extraction: x, Required: invoiceRequired, Latency: latency}
}

func TestScoreDocument(t *testing.T) {
	failIssue := pipeline.Issue{Field: "total_amount", Code: pipeline.IssueArithmetic, Severity: pipeline.SeverityFail}
	tests := []struct {
		name string
		o    Outcome
		// want
		correct, requiredCorrect, stp, failing, reqUngrounded bool
		conf                                                  float64
		extracted, ungrounded                                 int
		exceptions                                            string // at threshold 0.8
	}{
		{name: "all right", o: outcome(extraction(0.9, nil), time.Second),
			correct: true, requiredCorrect: true, stp: true, conf: 0.9, extracted: 5, exceptions: ""},
		{name: "optional field wrong", o: outcome(extraction(0.9, func(f map[string]pipeline.Field) { f["due_date"] = field("2024-04-05", 0.9) }), 0),
			requiredCorrect: true, stp: true, conf: 0.9, extracted: 5},
		{name: "required field wrong, low confidence", o: outcome(extraction(0.9, func(f map[string]pipeline.Field) { f["total_amount"] = field("25.05", 0.4) }), 0),
			conf: 0.4, extracted: 5, exceptions: ExceptionConfidence},
		{name: "required field missing", o: outcome(extraction(0.9, func(f map[string]pipeline.Field) { delete(f, "vendor_name") }), 0),
			conf: 0, extracted: 4, exceptions: ExceptionConfidence},
		{name: "failing issue", o: func() Outcome {
			x := extraction(0.9, nil)
			x.Issues = []pipeline.Issue{failIssue}
			return outcome(x, 0)
		}(), correct: true, requiredCorrect: true, failing: true, conf: 0.9, extracted: 5, exceptions: ExceptionValidation},
		{name: "ungrounded required value", o: outcome(extraction(0.9, func(f map[string]pipeline.Field) {
			v := field("INV-1", 0.9)
			v.Grounded = false
			f["invoice_number"] = v
		}), 0), correct: true, requiredCorrect: true, stp: true, reqUngrounded: true, conf: 0.9, extracted: 5, ungrounded: 1, exceptions: ExceptionUngrounded},
		{name: "parse failure", o: Outcome{Failed: true, FailedStep: pipeline.StepParse, Error: "malformed", Required: invoiceRequired},
			exceptions: ExceptionParse},
		{name: "extraction failure keeps its usage", o: Outcome{Failed: true, FailedStep: pipeline.StepExtract, Error: "no valid tool call",
			Extraction: extraction(0.9, nil), Required: invoiceRequired}, exceptions: ExceptionExtraction},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := ScoreDocument(invRow("r", "g"), tt.o)
			if d.Correct != tt.correct || d.RequiredCorrect != tt.requiredCorrect || d.StraightThrough != tt.stp ||
				d.FailingIssues != tt.failing || d.RequiredUngrounded != tt.reqUngrounded {
				t.Errorf("correct %v required %v stp %v failing %v ungrounded-required %v", d.Correct, d.RequiredCorrect,
					d.StraightThrough, d.FailingIssues, d.RequiredUngrounded)
			}
			if math.Abs(d.Confidence-tt.conf) > 1e-9 || d.Extracted != tt.extracted || d.Ungrounded != tt.ungrounded {
				t.Errorf("confidence %v extracted %d ungrounded %d", d.Confidence, d.Extracted, d.Ungrounded)
			}
			docs := []DocScore{d}
			BusinessMetrics(docs, BusinessOptions{Threshold: 0.8})
			if got := strings.Join(docs[0].Exceptions, ","); got != tt.exceptions {
				t.Errorf("exceptions %q, want %q", got, tt.exceptions)
			}
			if tt.o.Failed {
				if d.Status != "failed" || d.FailedStep != tt.o.FailedStep || d.Error != tt.o.Error || d.Usage != tt.o.Extraction.Usage {
					t.Errorf("failed document: %+v", d)
				}
				for _, f := range d.Fields {
					if f.Match || f.Got != "" {
						t.Errorf("a failed document scored %+v", f)
					}
				}
			}
		})
	}
}

func TestBusinessMetrics(t *testing.T) {
	wrongTotal := func(f map[string]pipeline.Field) { f["total_amount"] = field("99.00", 0.5) }
	docs := []DocScore{
		// Group a: four renderings, three right; group b: one, wrong;
		// group c: one, right.
		ScoreDocument(invRow("a1", "a"), outcome(extraction(0.9, nil), 100*time.Millisecond)),
		ScoreDocument(invRow("a2", "a"), outcome(extraction(0.95, nil), 200*time.Millisecond)),
		ScoreDocument(invRow("a3", "a"), outcome(extraction(0.85, nil), 300*time.Millisecond)),
		ScoreDocument(invRow("a4", "a"), outcome(extraction(0.9, wrongTotal), 400*time.Millisecond)),
		ScoreDocument(invRow("b1", "b"), outcome(extraction(0.9, wrongTotal), 500*time.Millisecond)),
		ScoreDocument(invRow("c1", "c"), outcome(extraction(0.7, nil), 600*time.Millisecond)),
		ScoreDocument(Row{ID: "x", Group: "x", Schema: SchemaInvoice, LabelQuality: "mismatch"}, Outcome{}),
	}
	b := BusinessMetrics(docs, BusinessOptions{Threshold: 0.8, TargetAccuracy: 0.9})
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if b.Documents != 6 || b.Groups != 3 {
		t.Fatalf("%d documents, %d groups", b.Documents, b.Groups)
	}
	// Macro per group: (3/4 + 0 + 1) / 3.
	near("straight through", b.StraightThrough.Value, (0.75+0+1)/3)
	near("document accuracy", b.DocumentAccuracy.Value, (0.75+0+1)/3)
	if b.StraightThrough.Low > b.StraightThrough.Value || b.StraightThrough.High < b.StraightThrough.Value || b.StraightThrough.Low >= b.StraightThrough.High {
		t.Errorf("interval %+v", b.StraightThrough)
	}
	if again := BusinessMetrics(docs, BusinessOptions{Threshold: 0.8, TargetAccuracy: 0.9}); again.StraightThrough != b.StraightThrough {
		t.Errorf("the bootstrap is not deterministic: %+v then %+v", b.StraightThrough, again.StraightThrough)
	}
	// At 0.8: a4 and b1 are below (their total's confidence is 0.5), c1 too
	// (0.7): a automates 3 of 4, b none, c none.
	near("automation", b.Automation.Value, (0.75+0+0)/3)
	near("automated accuracy", b.AutomatedAccuracy.Value, 1) // only group a has automated documents, all right
	if b.ThresholdForTarget == nil || *b.ThresholdForTarget != 0.7 {
		t.Errorf("threshold for 90%%: %v", b.ThresholdForTarget)
	} else {
		near("automation at target", b.AutomationAtTarget, (0.75+0+1)/3)
	}
	near("exception rate", b.ExceptionRate.Value, (0.25+1+1)/3)
	near("low confidence", b.Exceptions[ExceptionConfidence], (0.25+1+1)/3)
	near("cost per document", b.CostPerDocument, 0.001)
	if b.CostPerCorrectDocument == nil || math.Abs(*b.CostPerCorrectDocument-0.006/4) > 1e-12 || !b.CostKnown {
		t.Errorf("cost per correct document %v, known %v", b.CostPerCorrectDocument, b.CostKnown)
	}
	near("p50", b.LatencyP50MS, 350)
	near("p95", b.LatencyP95MS, 575)
	near("tokens", b.InputTokensPerDoc, 1000)
	if len(b.Curve) == 0 || b.Curve[0].Threshold != 0 || b.Curve[0].Documents != 6 {
		t.Errorf("curve %+v", b.Curve)
	}

	// No correct document: no cost per correct document. Tokens without a
	// price: the cost is unknown.
	x := extraction(0.9, wrongTotal)
	x.Usage.Prices = ""
	b = BusinessMetrics([]DocScore{ScoreDocument(invRow("z", "z"), outcome(x, 0))}, BusinessOptions{})
	if b.CostPerCorrectDocument != nil || b.CostKnown || b.ThresholdForTarget != nil {
		t.Errorf("no correct document: %+v", b)
	}
	if b := BusinessMetrics(nil, BusinessOptions{}); b.Documents != 0 || b.StraightThrough.Value != 0 {
		t.Errorf("empty: %+v", b)
	}
}

func TestReportCompareAndGate(t *testing.T) {
	base := NewReport([]DocScore{
		ScoreDocument(invRow("a1", "a"), outcome(extraction(0.9, nil), 0)),
		ScoreDocument(invRow("b1", "b"), outcome(extraction(0.9, nil), 0)),
		ScoreDocument(invRow("gone", "g"), outcome(extraction(0.9, nil), 0)),
	}, BusinessOptions{})
	worse := NewReport([]DocScore{
		ScoreDocument(invRow("a1", "a"), outcome(extraction(0.9, nil), 0)),
		ScoreDocument(invRow("b1", "b"), outcome(extraction(0.9, func(f map[string]pipeline.Field) { f["total_amount"] = field("25.05", 0.9) }), 0)),
		ScoreDocument(invRow("new", "n"), outcome(extraction(0.9, nil), 0)),
	}, BusinessOptions{})

	// Through JSON, as a committed baseline would be.
	path := filepath.Join(t.TempDir(), "base.json")
	var buf bytes.Buffer
	if err := base.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(path, buf.Bytes(), 0o644)
	back, err := ReadReport(path)
	if err != nil {
		t.Fatal(err)
	}
	worse.Compare(path, back)
	c := worse.Baseline
	if len(c.Changed) != 1 || c.Changed[0].ID != "b1" || c.Changed[0].Path != "total_amount" || c.Changed[0].Before != "25.50" ||
		c.Changed[0].After != "25.05" || !c.Changed[0].WasCorrect || c.Changed[0].IsCorrect {
		t.Errorf("changed: %+v", c.Changed)
	}
	if strings.Join(c.Added, ",") != "new" || strings.Join(c.Removed, ",") != "gone" {
		t.Errorf("added %v removed %v", c.Added, c.Removed)
	}
	var total Delta
	for _, d := range c.Fields {
		if d.Name == "total_amount" {
			total = d
		}
	}
	if !total.Worse(0) || total.Worse(0.5) || math.Abs(total.Delta-(-1.0/3)) > 1e-9 {
		t.Errorf("total_amount delta %+v", total)
	}

	gatePath := filepath.Join(t.TempDir(), "gate.yaml")
	write := func(s string) {
		if err := os.WriteFile(gatePath, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	check := func(r Report, yaml string) *GateVerdict {
		t.Helper()
		write(yaml)
		g, err := ReadGate(gatePath)
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Check(gatePath, &r); err != nil {
			t.Fatal(err)
		}
		return r.Gate
	}
	if v := check(worse, "max_field_drop: 0.0\n"); v.Passed || len(v.Violations) != 1 || v.Violations[0].Limit != "field_drop.total_amount" {
		t.Errorf("field drop: %+v", v)
	}
	if v := check(worse, "max_field_drop: 0.0\nfield_drop: {total_amount: 0.5}\n"); !v.Passed {
		t.Errorf("per-field tolerance: %+v", v)
	}
	if v := check(worse, "max_metric_drop: {straight_through: 0.1}\n"); v.Passed || v.Violations[0].Limit != "max_metric_drop.straight_through" {
		t.Errorf("metric drop: %+v", v)
	}
	if v := check(worse, "min_straight_through: 0.9\nmax_cost_per_document: 0.0001\nmax_hallucination_rate: 0.5\n"); v.Passed || len(v.Violations) != 2 {
		t.Errorf("floors and ceilings: %+v", v)
	}
	if v := check(base, "min_straight_through: 1\nmax_cost_per_document: 0.001\n"); !v.Passed {
		t.Errorf("a report at its limits passes: %+v", v)
	}
	// Drops need a baseline; unknown keys and metrics are errors.
	write("max_field_drop: 0.01\n")
	g, _ := ReadGate(gatePath)
	if err := g.Check(gatePath, &base); !errors.Is(err, ErrGateNeedsBaseline) {
		t.Errorf("no baseline: %v", err)
	}
	for _, bad := range []string{"min_stp: 0.5\n", "max_metric_drop: {speed: 0.1}\n", "max_metric_drop: {straight_through: -1}\n", "min_straight_through: high\n"} {
		write(bad)
		if _, err := ReadGate(gatePath); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}

	// The CSV has one line per labelled value.
	var csvBuf bytes.Buffer
	if err := worse.WriteFieldsCSV(&csvBuf); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&csvBuf).ReadAll()
	if err != nil || len(recs) != 1+3*5 || recs[0][0] != "id" || recs[1][4] != "trace" {
		t.Errorf("csv: %d records %v, %v", len(recs), recs[:min(2, len(recs))], err)
	}
	// A report of another version is refused.
	os.WriteFile(path, []byte(`{"version": 99}`), 0o644)
	if _, err := ReadReport(path); err == nil {
		t.Error("version 99 read")
	}
	if s := worse.Summary(); !strings.Contains(s, "straight-through rate") || !strings.Contains(s, "compared with") {
		t.Errorf("summary:\n%s", s)
	}
}

func TestVarianceOverRepeats(t *testing.T) {
	var docs []DocScore
	for rep := 1; rep <= 3; rep++ {
		total := "25.50"
		if rep == 2 {
			total = "25.05"
		}
		o := outcome(extraction(0.9, func(f map[string]pipeline.Field) { f["total_amount"] = field(total, 0.9) }), 0)
		o.Repeat = rep
		docs = append(docs, ScoreDocument(invRow("a1", "a"), o))
		o2 := outcome(extraction(0.9, nil), 0)
		o2.Repeat = rep
		docs = append(docs, ScoreDocument(invRow("b1", "b"), o2))
	}
	r := NewReport(docs, BusinessOptions{})
	if r.Repeats != 3 || r.Variance == nil {
		t.Fatalf("repeats %d variance %v", r.Repeats, r.Variance)
	}
	v := r.Variance
	if v.Agreement["total_amount"] != 0.5 || v.Agreement["vendor_name"] != 1 {
		t.Errorf("agreement %v", v.Agreement)
	}
	if v.StraightThrough.Min != 0.5 || v.StraightThrough.Max != 1 || v.StraightThrough.SD <= 0 {
		t.Errorf("spread %+v", v.StraightThrough)
	}
	// Pooled over repeats: group a is right 2 times of 3.
	if math.Abs(r.Business.StraightThrough.Value-(2.0/3+1)/2) > 1e-9 {
		t.Errorf("pooled straight-through %v", r.Business.StraightThrough.Value)
	}
}

// A redacted report keeps no value from the documents, yet a comparison
// with it still finds the values read differently.
func TestRedactedBaseline(t *testing.T) {
	x := extraction(0.9, nil)
	x.Issues = []pipeline.Issue{{Field: "total_amount", Code: pipeline.IssueArithmetic, Severity: pipeline.SeverityWarn, Message: "25.50 != 20.00 + 5.00"}}
	o := outcome(x, 0)
	o.File = "/secret/place/acme.pdf"
	base := NewReport([]DocScore{ScoreDocument(invRow("a1", "a"), o), ScoreDocument(invRow("b1", "b"), outcome(extraction(0.9, nil), 0))}, BusinessOptions{})
	var buf bytes.Buffer
	if err := base.Redact().WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"ACME", "INV-1", "25.50", "2024-03-05", "/secret/place", "!="} {
		if strings.Contains(buf.String(), secret) {
			t.Errorf("the redacted report holds %q", secret)
		}
	}
	path := filepath.Join(t.TempDir(), "b.json")
	os.WriteFile(path, buf.Bytes(), 0o644)
	back, err := ReadReport(path)
	if err != nil || !back.Redacted {
		t.Fatal(err, back.Redacted)
	}
	if back.Business.StraightThrough != base.Business.StraightThrough {
		t.Errorf("metrics changed by redaction")
	}
	now := NewReport([]DocScore{
		ScoreDocument(invRow("a1", "a"), outcome(extraction(0.9, nil), 0)),
		ScoreDocument(invRow("b1", "b"), outcome(extraction(0.9, func(f map[string]pipeline.Field) { f["due_date"] = field("2024-04-05", 0.9) }), 0)),
	}, BusinessOptions{})
	now.Compare(path, back)
	if c := now.Baseline; !c.BaselineRedacted || len(c.Changed) != 1 || c.Changed[0].ID != "b1" || c.Changed[0].Path != "due_date" ||
		c.Changed[0].Before != "" || c.Changed[0].After != "2024-04-05" || !c.Changed[0].WasCorrect || c.Changed[0].IsCorrect {
		t.Errorf("changes against a redacted baseline: %+v", c.Changed)
	}
}
