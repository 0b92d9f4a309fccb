package evals

import (
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/extractor-dev/extractor/pipeline"
)

// Outcome is what the pipeline did with one document, as an eval sees it.
type Outcome struct {
	File       string
	DocumentID string
	TraceID    string
	RunID      string
	// Repeat numbers the run of the document when the eval runs each
	// document several times (1 for the first).
	Repeat int
	// Failed: a step failed (FailedStep names it, Error says why); the
	// extraction then scores as all missed.
	Failed     bool
	FailedStep string
	Error      string
	Extraction pipeline.Extraction
	// Required are the schema's required fields.
	Required []string
	// Latency is the document's wall time in this run; CacheHits counts
	// its steps served from the cache (a cached document's latency is not
	// what producing it took).
	Latency   time.Duration
	CacheHits int
}

// Exception reasons: why a document cannot go through untouched. A
// document may have several.
const (
	ExceptionParse      = "parse_failure"      // the file could not be read
	ExceptionExtraction = "extraction_failure" // a later step failed (no valid tool call, ...)
	ExceptionValidation = "validation_failure" // a failing issue (missing required field, arithmetic, ...)
	ExceptionUngrounded = "ungrounded"         // a required value is not found on its page
	ExceptionConfidence = "low_confidence"     // the document's confidence is below the threshold
)

// ExceptionReasons lists the reasons in the order reports show them.
var ExceptionReasons = []string{ExceptionParse, ExceptionExtraction, ExceptionValidation, ExceptionUngrounded, ExceptionConfidence}

// DocScore is one document's scores: its field results and what the
// business metrics need.
type DocScore struct {
	RowScore
	File       string `json:"file"`
	DocumentID string `json:"document_id"`
	TraceID    string `json:"trace_id"`
	RunID      string `json:"run_id"`
	Repeat     int    `json:"repeat"`
	// Status is "ok" or "failed" (FailedStep and Error say where and why).
	Status     string           `json:"status"`
	FailedStep string           `json:"failed_step,omitempty"`
	Error      string           `json:"error,omitempty"`
	Issues     []pipeline.Issue `json:"issues"`
	// Confidence is the lowest confidence of the required fields (0 when
	// one is missing; of all extracted fields when none is required).
	Confidence float64 `json:"confidence"`
	// Correct: every labelled value matches. RequiredCorrect: every
	// labelled value of a required field matches.
	Correct         bool `json:"correct"`
	RequiredCorrect bool `json:"required_correct"`
	// FailingIssues: the pipeline raised an issue of severity "fail".
	FailingIssues bool `json:"failing_issues"`
	// StraightThrough: processed with no human touch and right: nothing
	// failed, every required field is correct, no failing issue.
	StraightThrough bool `json:"straight_through"`
	// Extracted counts the values the extractor returned (scalar fields
	// and list items); Ungrounded those not found on their page.
	Extracted  int `json:"extracted"`
	Ungrounded int `json:"ungrounded"`
	// RequiredUngrounded: a required value was returned but not grounded.
	RequiredUngrounded bool `json:"required_ungrounded"`
	// Exceptions are the reasons a person must look at the document, at
	// the report's confidence threshold.
	Exceptions []string       `json:"exceptions"`
	Usage      pipeline.Usage `json:"usage"`
	LatencyMS  float64        `json:"latency_ms"`
	CacheHits  int            `json:"cache_hits"`
	// Source is "einvoice" when the values were read from the e-invoice
	// the document carries, else "text".
	Source string `json:"source"`
}

// ScoreDocument scores a row against what the pipeline did with its file.
// Rows that cannot be scored come back with Skip set, as from ScoreRow.
func ScoreDocument(row Row, o Outcome) DocScore {
	x := o.Extraction
	if o.Failed {
		// A failed document scores as all missed, whatever partial
		// extraction it carries.
		x = pipeline.Extraction{Usage: o.Extraction.Usage}
	}
	d := DocScore{RowScore: ScoreRow(row, x), File: o.File, DocumentID: o.DocumentID, TraceID: o.TraceID,
		RunID: o.RunID, Repeat: max(o.Repeat, 1), Status: "ok", Issues: o.Extraction.Issues,
		Usage: o.Extraction.Usage, LatencyMS: float64(o.Latency) / float64(time.Millisecond), CacheHits: o.CacheHits}
	if d.Issues == nil {
		d.Issues = []pipeline.Issue{}
	}
	if o.Failed {
		d.Status, d.FailedStep, d.Error = "failed", o.FailedStep, o.Error
	}
	d.FailingIssues = o.Extraction.Failed()
	d.Source = "text"
	if o.Extraction.Extractor.Kind == "einvoice" {
		d.Source = "einvoice"
	}

	required := map[string]bool{}
	for _, f := range o.Required {
		required[f] = true
	}
	for _, name := range slices.Sorted(maps.Keys(x.Fields)) {
		f := x.Fields[name]
		if f.Found() {
			d.Extracted++
			// A value the e-invoice carries and the page does not print
			// is the data's, not a guess.
			if !f.Grounded && !f.NotPrinted() {
				d.Ungrounded++
				d.RequiredUngrounded = d.RequiredUngrounded || required[name]
			}
		}
	}
	for _, items := range x.Lists {
		for _, it := range items {
			d.Extracted++
			if !it.Grounded {
				d.Ungrounded++
			}
		}
	}
	d.Confidence = confidence(x, o.Required)
	if o.Failed {
		d.Confidence = 0
	}

	d.Correct, d.RequiredCorrect = d.Scored() && !o.Failed, d.Scored() && !o.Failed
	n := 0
	for _, r := range d.Fields {
		n++
		if r.Score < 1 {
			d.Correct = false
			if required[baseField(r.Field)] {
				d.RequiredCorrect = false
			}
		}
	}
	if n == 0 {
		d.Correct = false
	}
	d.StraightThrough = d.RequiredCorrect && !d.FailingIssues
	return d
}

// confidence is a document's confidence: the validator's estimate that
// every required field is right (Extraction.Confidence) when it made one;
// otherwise the lowest of its required fields' (0 when one is missing; a
// required list counts as present with one item), or of all its returned
// fields when none is required (0 when it returned none).
func confidence(x pipeline.Extraction, required []string) float64 {
	if x.Confidence > 0 {
		return x.Confidence
	}
	c := math.Inf(1)
	for _, name := range required {
		if items, ok := x.Lists[name]; ok {
			if len(items) == 0 {
				c = 0
			}
			continue
		}
		f, ok := x.Fields[name]
		if !ok || !f.Found() {
			return 0
		}
		c = min(c, f.Confidence)
	}
	if len(required) == 0 {
		for _, f := range x.Fields {
			if f.Found() {
				c = min(c, f.Confidence)
			}
		}
	}
	if math.IsInf(c, 1) {
		return 0
	}
	return c
}

// baseField is the schema field of a result's field ("line_items" for
// "line_items.amount").
func baseField(f string) string {
	for i := range f {
		if f[i] == '.' {
			return f[:i]
		}
	}
	return f
}

// automated reports whether the pipeline would let a document through
// unseen at a confidence threshold: nothing failed, no failing issue, no
// ungrounded required value, and its confidence is at least the threshold.
func (d DocScore) automated(threshold float64) bool {
	return d.Status == "ok" && !d.FailingIssues && !d.RequiredUngrounded && d.Confidence >= threshold
}

// exceptions lists why a person must look at the document at a threshold.
func (d DocScore) exceptions(threshold float64) []string {
	out := []string{}
	switch {
	case d.Status == "failed" && d.FailedStep == pipeline.StepParse:
		out = append(out, ExceptionParse)
	case d.Status == "failed":
		out = append(out, ExceptionExtraction)
	}
	if d.FailingIssues {
		out = append(out, ExceptionValidation)
	}
	if d.RequiredUngrounded {
		out = append(out, ExceptionUngrounded)
	}
	if d.Status == "ok" && d.Confidence < threshold {
		out = append(out, ExceptionConfidence)
	}
	return out
}

// Estimate is a metric with its 95% bootstrap confidence interval over
// groups (Low = High = Value when there are too few groups to resample).
type Estimate struct {
	Value float64 `json:"value"`
	Low   float64 `json:"low"`
	High  float64 `json:"high"`
}

// ThresholdPoint is the automation rate and the accuracy of the automated
// documents at one confidence threshold.
type ThresholdPoint struct {
	Threshold  float64 `json:"threshold"`
	Automation float64 `json:"automation"`
	Accuracy   float64 `json:"accuracy"`
	// Documents automated (all groups together).
	Documents int `json:"documents"`
}

// Business is what the eval means for the team that gets the documents.
// Rates are macro-averaged per group (within each group over its
// documents, then over groups), like the field accuracies, so repeated
// renderings of one document count once.
type Business struct {
	Documents int `json:"documents"`
	Groups    int `json:"groups"`
	// StraightThrough: share of documents with every required field
	// correct and no failing issue.
	StraightThrough Estimate `json:"straight_through"`
	// DocumentAccuracy: share of documents with every labelled value
	// correct. FieldAccuracy: the overall macro field accuracy.
	DocumentAccuracy Estimate `json:"document_accuracy"`
	FieldAccuracy    Estimate `json:"field_accuracy"`
	// HallucinationRate: share of returned values not found on their page.
	HallucinationRate Estimate `json:"hallucination_rate"`
	// Threshold is the confidence threshold of Automation and Exceptions.
	Threshold float64 `json:"threshold"`
	// Automation: share of documents the pipeline would let through at
	// Threshold (nothing failed, no failing issue, no ungrounded required
	// value, confidence at least Threshold); AutomatedAccuracy: the share
	// of those with every required field correct — what would be posted
	// without a look, and right.
	Automation        Estimate `json:"automation"`
	AutomatedAccuracy Estimate `json:"automated_accuracy"`
	// TargetAccuracy, and the lowest threshold whose automated documents
	// reach it (nil when none does) with the automation rate there.
	TargetAccuracy     float64  `json:"target_accuracy"`
	ThresholdForTarget *float64 `json:"threshold_for_target"`
	AutomationAtTarget float64  `json:"automation_at_target"`
	// ExceptionRate: share of documents with any exception; Exceptions by
	// reason (a document may have several).
	ExceptionRate Estimate           `json:"exception_rate"`
	Exceptions    map[string]float64 `json:"exceptions"`
	// Cost per document (what producing the extraction cost, cached or
	// not) and per correct document; CostKnown is false when a model's
	// price was unknown for some document.
	CostPerDocument        float64  `json:"cost_per_document"`
	CostPerCorrectDocument *float64 `json:"cost_per_correct_document"`
	CostKnown              bool     `json:"cost_known"`
	LatencyP50MS           float64  `json:"latency_p50_ms"`
	LatencyP95MS           float64  `json:"latency_p95_ms"`
	InputTokensPerDoc      float64  `json:"input_tokens_per_document"`
	OutputTokensPerDoc     float64  `json:"output_tokens_per_document"`
	AttemptsPerDoc         float64  `json:"attempts_per_document"`
	// FromCache counts documents whose extraction came from the step
	// cache: their latency is not what producing them took.
	FromCache int `json:"from_cache"`
	// EInvoice counts documents read from the e-invoice they carry: no
	// model was called for them.
	EInvoice int `json:"einvoice"`
	// Curve is the automation/accuracy trade-off over thresholds.
	Curve []ThresholdPoint `json:"curve"`
}

// BusinessOptions set the thresholds of the business metrics.
type BusinessOptions struct {
	// Threshold is the confidence threshold for automation (default 0.8).
	Threshold float64
	// TargetAccuracy is the accuracy the automated documents should reach
	// (default 0.95).
	TargetAccuracy float64
	// Resamples for the bootstrap (default 1000; the seed is fixed, so
	// the same scores give the same intervals).
	Resamples int
}

func (o BusinessOptions) withDefaults() BusinessOptions {
	if o.Threshold == 0 {
		o.Threshold = 0.8
	}
	if o.TargetAccuracy == 0 {
		o.TargetAccuracy = 0.95
	}
	if o.Resamples == 0 {
		o.Resamples = 1000
	}
	return o
}

// byGroup is documents gathered by group, groups in sorted order.
type byGroup struct {
	names []string
	docs  [][]*DocScore
}

func groupDocs(docs []DocScore) byGroup {
	idx := map[string]int{}
	var g byGroup
	for i := range docs {
		d := &docs[i]
		if !d.Scored() {
			continue
		}
		k, ok := idx[d.Group]
		if !ok {
			k = len(g.names)
			idx[d.Group] = k
			g.names = append(g.names, d.Group)
			g.docs = append(g.docs, nil)
		}
		g.docs[k] = append(g.docs[k], d)
	}
	order := make([]int, len(g.names))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return g.names[order[a]] < g.names[order[b]] })
	out := byGroup{}
	for _, i := range order {
		out.names = append(out.names, g.names[i])
		out.docs = append(out.docs, g.docs[i])
	}
	return out
}

// rate is a per-document value: ok is false for documents it does not
// apply to (they are left out of their group's mean).
type rate func(d *DocScore) (v float64, ok bool)

// macro averages a rate within each group, then over the groups where it
// applies to some document; groups picks the groups (indexes, repeats
// allowed, for the bootstrap).
func macro(g byGroup, groups []int, f rate) float64 {
	sum, n := 0.0, 0
	for _, gi := range groups {
		s, k := 0.0, 0
		for _, d := range g.docs[gi] {
			if v, ok := f(d); ok {
				s += v
				k++
			}
		}
		if k > 0 {
			sum += s / float64(k)
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// estimate is the macro rate with its bootstrap interval over groups.
func estimate(g byGroup, f rate, resamples int) Estimate {
	all := make([]int, len(g.names))
	for i := range all {
		all[i] = i
	}
	e := Estimate{Value: macro(g, all, f)}
	e.Low, e.High = e.Value, e.Value
	if len(all) < 2 {
		return e
	}
	rng := rand.New(rand.NewPCG(1, 2))
	vals := make([]float64, resamples)
	pick := make([]int, len(all))
	for b := range vals {
		for i := range pick {
			pick[i] = rng.IntN(len(all))
		}
		vals[b] = macro(g, pick, f)
	}
	slices.Sort(vals)
	e.Low, e.High = quantile(vals, 0.025), quantile(vals, 0.975)
	return e
}

// quantile of sorted values, linearly interpolated.
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	pos := q * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(sorted)-1)
	return sorted[lo] + (sorted[hi]-sorted[lo])*(pos-float64(lo))
}

func indicator(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// BusinessMetrics computes the business metrics of scored documents and
// sets each document's Exceptions at the threshold.
func BusinessMetrics(docs []DocScore, opts BusinessOptions) Business {
	opts = opts.withDefaults()
	g := groupDocs(docs)
	b := Business{Groups: len(g.names), Threshold: opts.Threshold, TargetAccuracy: opts.TargetAccuracy,
		Exceptions: map[string]float64{}, CostKnown: true}
	var scored []*DocScore
	for _, ds := range g.docs {
		scored = append(scored, ds...)
	}
	b.Documents = len(scored)
	for _, d := range scored {
		d.Exceptions = d.exceptions(opts.Threshold)
	}
	if len(scored) == 0 {
		return b
	}
	n := opts.Resamples
	always := func(f func(d *DocScore) bool) rate {
		return func(d *DocScore) (float64, bool) { return indicator(f(d)), true }
	}
	b.StraightThrough = estimate(g, always(func(d *DocScore) bool { return d.StraightThrough }), n)
	b.DocumentAccuracy = estimate(g, always(func(d *DocScore) bool { return d.Correct }), n)
	b.FieldAccuracy = estimate(g, func(d *DocScore) (float64, bool) {
		// The document's mean over its fields, each field once (as in
		// Metrics.Overall).
		per := map[string][]float64{}
		var order []string
		for _, r := range d.Fields {
			if _, ok := per[r.Field]; !ok {
				order = append(order, r.Field)
			}
			per[r.Field] = append(per[r.Field], r.Score)
		}
		if len(order) == 0 {
			return 0, false
		}
		s := 0.0
		for _, f := range order {
			s += mean(per[f])
		}
		return s / float64(len(order)), true
	}, n)
	b.HallucinationRate = estimate(g, func(d *DocScore) (float64, bool) {
		if d.Extracted == 0 {
			return 0, false
		}
		return float64(d.Ungrounded) / float64(d.Extracted), true
	}, n)
	b.Automation = estimate(g, always(func(d *DocScore) bool { return d.automated(opts.Threshold) }), n)
	b.AutomatedAccuracy = estimate(g, func(d *DocScore) (float64, bool) {
		if !d.automated(opts.Threshold) {
			return 0, false
		}
		return indicator(d.RequiredCorrect), true
	}, n)
	b.ExceptionRate = estimate(g, always(func(d *DocScore) bool { return len(d.Exceptions) > 0 }), n)
	all := make([]int, len(g.names))
	for i := range all {
		all[i] = i
	}
	for _, reason := range ExceptionReasons {
		b.Exceptions[reason] = macro(g, all, func(d *DocScore) (float64, bool) {
			return indicator(slices.Contains(d.Exceptions, reason)), true
		})
	}

	// The threshold curve: every distinct confidence is a threshold.
	var confs []float64
	for _, d := range scored {
		confs = append(confs, d.Confidence)
	}
	confs = append(confs, 0)
	slices.Sort(confs)
	confs = slices.Compact(confs)
	for _, t := range confs {
		p := ThresholdPoint{Threshold: t,
			Automation: macro(g, all, always(func(d *DocScore) bool { return d.automated(t) })),
			Accuracy: macro(g, all, func(d *DocScore) (float64, bool) {
				if !d.automated(t) {
					return 0, false
				}
				return indicator(d.RequiredCorrect), true
			})}
		for _, d := range scored {
			if d.automated(t) {
				p.Documents++
			}
		}
		b.Curve = append(b.Curve, p)
		if b.ThresholdForTarget == nil && p.Documents > 0 && p.Accuracy >= opts.TargetAccuracy {
			t := t
			b.ThresholdForTarget = &t
			b.AutomationAtTarget = p.Automation
		}
	}

	// Cost, tokens, attempts and latency: plain means and percentiles over
	// documents.
	var cost float64
	var lat []float64
	correct := 0
	for _, d := range scored {
		cost += d.Usage.CostUSD
		if d.Usage.Prices == "" && (d.Usage.InputTokens > 0 || d.Usage.OutputTokens > 0) {
			b.CostKnown = false
		}
		b.InputTokensPerDoc += float64(d.Usage.InputTokens)
		b.OutputTokensPerDoc += float64(d.Usage.OutputTokens)
		b.AttemptsPerDoc += float64(d.Usage.Attempts)
		lat = append(lat, d.LatencyMS)
		if d.Correct {
			correct++
		}
		if d.CacheHits > 0 {
			b.FromCache++
		}
		if d.Source == "einvoice" {
			b.EInvoice++
		}
	}
	k := float64(len(scored))
	b.CostPerDocument = cost / k
	if correct > 0 {
		c := cost / float64(correct)
		b.CostPerCorrectDocument = &c
	}
	b.InputTokensPerDoc /= k
	b.OutputTokensPerDoc /= k
	b.AttemptsPerDoc /= k
	slices.Sort(lat)
	b.LatencyP50MS, b.LatencyP95MS = quantile(lat, 0.5), quantile(lat, 0.95)
	return b
}
