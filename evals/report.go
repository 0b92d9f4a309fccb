package evals

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
)

// ReportVersion is the version of the report's JSON layout: it changes
// when a key is renamed or removed or its meaning changes (keys may be
// added without a change).
const ReportVersion = 1

// Report is an eval's results: what was run, the field accuracies, the
// business metrics, every document's scores, the comparison with a
// baseline and the gate's verdict. Its JSON is the stable interface of
// evals (see the keys' tags; ReportVersion).
type Report struct {
	Version  int       `json:"version"`
	Created  time.Time `json:"created"`
	Datasets []string  `json:"datasets"`
	// Runs are the pipeline runs the eval made (one per schema and
	// repeat); Versions the versions of what made the outputs (parser,
	// extractor, prompt, model, schema...), from the first run.
	Runs     []string          `json:"runs"`
	Versions map[string]string `json:"versions"`
	Repeats  int               `json:"repeats"`
	// Metrics are the field accuracies; Business the business metrics.
	Metrics  Metrics  `json:"metrics"`
	Business Business `json:"business"`
	// Variance says how much repeated runs of the same documents differ
	// (nil with one repeat).
	Variance *Variance `json:"variance,omitempty"`
	// Documents are the scored documents (every repeat); Excluded the
	// rows left out of accuracy, with why.
	Documents []DocScore   `json:"documents"`
	Excluded  []Excluded   `json:"excluded"`
	Baseline  *Comparison  `json:"baseline,omitempty"`
	Gate      *GateVerdict `json:"gate,omitempty"`
	// Retrieval is the retrieval eval, when run.
	Retrieval *RetrievalReport `json:"retrieval,omitempty"`
	// Redacted: labels, values, quotes and issue messages were left out
	// (see Redact).
	Redacted bool `json:"redacted,omitempty"`
}

// valueHash is the short hash that stands for a value in a redacted
// report.
func valueHash(v string) string {
	if v == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:8])
}

// Redact returns the report without what the documents say: labelled and
// extracted values (extracted ones are replaced by a hash, so a later
// report can still tell which changed), quotes, issue messages, file paths
// (their base names stay) and the retrieval questions. What remains —
// metrics, every value's verdict, ids, versions — can be committed as a
// baseline even when the documents and labels are third-party data that
// must not be.
func (r Report) Redact() Report {
	out := r
	out.Redacted = true
	out.Retrieval = nil
	out.Documents = make([]DocScore, len(r.Documents))
	for i, d := range r.Documents {
		d.File = filepath.Base(d.File)
		d.Fields = slices.Clone(d.Fields)
		for j, f := range d.Fields {
			f.GotHash = valueHash(f.Got)
			f.Expected, f.Got, f.Quote = "", "", ""
			d.Fields[j] = f
		}
		d.Issues = slices.Clone(d.Issues)
		for j := range d.Issues {
			d.Issues[j].Message = ""
		}
		out.Documents[i] = d
	}
	if r.Baseline != nil {
		c := *r.Baseline
		c.Changed = slices.Clone(c.Changed)
		for i := range c.Changed {
			c.Changed[i].Expected, c.Changed[i].Before, c.Changed[i].After = "", "", ""
		}
		out.Baseline = &c
	}
	return out
}

// Excluded is a row left out of the scores.
type Excluded struct {
	ID     string `json:"id"`
	Group  string `json:"group"`
	Reason string `json:"reason"`
}

// NewReport builds a report from document scores: field metrics over
// every scored document (all repeats), business metrics, the variance
// across repeats and the excluded rows.
func NewReport(docs []DocScore, opts BusinessOptions) Report {
	r := Report{Version: ReportVersion, Created: time.Now().UTC(), Versions: map[string]string{}, Excluded: []Excluded{}}
	var rows []RowScore
	for _, d := range docs {
		if !d.Scored() {
			if d.Repeat <= 1 {
				r.Excluded = append(r.Excluded, Excluded{ID: d.ID, Group: d.Group, Reason: d.Skip})
			}
			continue
		}
		r.Documents = append(r.Documents, d)
		rows = append(rows, d.RowScore)
		r.Repeats = max(r.Repeats, d.Repeat)
	}
	r.Metrics = Aggregate(rows)
	r.Business = BusinessMetrics(r.Documents, opts)
	if r.Repeats > 1 {
		v := variance(r.Documents, opts)
		r.Variance = &v
	}
	return r
}

// Variance is how repeated runs differ: the spread of the main metrics
// over repeats, and per field the share of documents whose value was the
// same in every repeat.
type Variance struct {
	Repeats         int                `json:"repeats"`
	StraightThrough Spread             `json:"straight_through"`
	FieldAccuracy   Spread             `json:"field_accuracy"`
	Agreement       map[string]float64 `json:"agreement"`
}

// Spread is a metric's mean, standard deviation, minimum and maximum over
// repeats.
type Spread struct {
	Mean float64 `json:"mean"`
	SD   float64 `json:"sd"`
	Min  float64 `json:"min"`
	Max  float64 `json:"max"`
}

func spread(vs []float64) Spread {
	s := Spread{Mean: mean(vs), Min: slices.Min(vs), Max: slices.Max(vs)}
	if len(vs) > 1 {
		for _, v := range vs {
			s.SD += (v - s.Mean) * (v - s.Mean)
		}
		s.SD = math.Sqrt(s.SD / float64(len(vs)-1))
	}
	return s
}

func variance(docs []DocScore, opts BusinessOptions) Variance {
	byRepeat := map[int][]DocScore{}
	for _, d := range docs {
		byRepeat[d.Repeat] = append(byRepeat[d.Repeat], d)
	}
	v := Variance{Repeats: len(byRepeat), Agreement: map[string]float64{}}
	var stp, acc []float64
	for _, k := range slices.Sorted(maps.Keys(byRepeat)) {
		o := opts
		o.Resamples = 1
		b := BusinessMetrics(slices.Clone(byRepeat[k]), o)
		stp = append(stp, b.StraightThrough.Value)
		acc = append(acc, b.FieldAccuracy.Value)
	}
	v.StraightThrough, v.FieldAccuracy = spread(stp), spread(acc)
	// Per field: documents (by id) whose value at each path is the same in
	// every repeat.
	values := map[string]map[string][]string{} // field -> doc/path -> values
	for _, d := range docs {
		for _, r := range d.Fields {
			if values[r.Field] == nil {
				values[r.Field] = map[string][]string{}
			}
			k := d.ID + "\x00" + r.Path
			values[r.Field][k] = append(values[r.Field][k], r.Got)
		}
	}
	for f, byPath := range values {
		same, n := 0, 0
		for _, vs := range byPath {
			n++
			if len(slices.Compact(slices.Sorted(slices.Values(vs)))) == 1 {
				same++
			}
		}
		v.Agreement[f] = float64(same) / float64(n)
	}
	return v
}

// ReadReport reads a report's JSON (a baseline).
func ReadReport(path string) (Report, error) {
	var r Report
	b, err := os.ReadFile(path)
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("%s: %w", path, err)
	}
	if r.Version != ReportVersion {
		return r, fmt.Errorf("%s: report version %d, this program reads version %d", path, r.Version, ReportVersion)
	}
	return r, nil
}

// WriteJSON writes the report as indented JSON.
func (r Report) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// Delta is a metric in the baseline and now.
type Delta struct {
	Name     string  `json:"name"`
	Baseline float64 `json:"baseline"`
	Current  float64 `json:"current"`
	Delta    float64 `json:"delta"`
	// HigherIsBetter says which way is an improvement.
	HigherIsBetter bool `json:"higher_is_better"`
}

// Worse reports whether the change is a regression of more than tol.
func (d Delta) Worse(tol float64) bool {
	if d.HigherIsBetter {
		return d.Delta < -tol-1e-12
	}
	return d.Delta > tol+1e-12
}

// Change is one labelled value that an extractor read differently from
// the baseline.
type Change struct {
	ID         string `json:"id"`
	DocumentID string `json:"document_id"`
	TraceID    string `json:"trace_id"`
	Path       string `json:"path"`
	Expected   string `json:"expected"`
	Before     string `json:"before"`
	After      string `json:"after"`
	WasCorrect bool   `json:"was_correct"`
	IsCorrect  bool   `json:"is_correct"`
}

// Comparison is a report next to its baseline.
type Comparison struct {
	Path     string            `json:"path"`
	Created  time.Time         `json:"created"`
	Runs     []string          `json:"runs"`
	Versions map[string]string `json:"versions"`
	// Metrics are the business metrics; Fields each field's macro
	// accuracy (fields in only one of the two are left out).
	Metrics []Delta `json:"metrics"`
	Fields  []Delta `json:"fields"`
	// Changed lists the values read differently (first repeat of each
	// document); Added and Removed the documents in only one report.
	// With a redacted baseline, Before is empty (the value was not kept).
	Changed []Change `json:"changed"`
	// BaselineRedacted: the baseline keeps no values (Report.Redact).
	BaselineRedacted bool     `json:"baseline_redacted"`
	Added            []string `json:"added"`
	Removed          []string `json:"removed"`
}

// businessDeltas are the business metrics compared with a baseline.
func businessDeltas(base, cur Business) []Delta {
	d := func(name string, b, c float64, up bool) Delta {
		return Delta{Name: name, Baseline: b, Current: c, Delta: c - b, HigherIsBetter: up}
	}
	return []Delta{
		d("straight_through", base.StraightThrough.Value, cur.StraightThrough.Value, true),
		d("field_accuracy", base.FieldAccuracy.Value, cur.FieldAccuracy.Value, true),
		d("document_accuracy", base.DocumentAccuracy.Value, cur.DocumentAccuracy.Value, true),
		d("automation", base.Automation.Value, cur.Automation.Value, true),
		d("automated_accuracy", base.AutomatedAccuracy.Value, cur.AutomatedAccuracy.Value, true),
		d("hallucination_rate", base.HallucinationRate.Value, cur.HallucinationRate.Value, false),
		d("exception_rate", base.ExceptionRate.Value, cur.ExceptionRate.Value, false),
		d("cost_per_document", base.CostPerDocument, cur.CostPerDocument, false),
		d("latency_p95_ms", base.LatencyP95MS, cur.LatencyP95MS, false),
	}
}

// Compare sets r.Baseline: r's metrics and documents next to base's.
func (r *Report) Compare(path string, base Report) {
	c := &Comparison{Path: path, Created: base.Created, Runs: base.Runs, Versions: base.Versions, BaselineRedacted: base.Redacted,
		Metrics: businessDeltas(base.Business, r.Business), Changed: []Change{}, Added: []string{}, Removed: []string{}}
	baseFields := map[string]Accuracy{}
	for _, a := range base.Metrics.Fields {
		baseFields[a.Field] = a
	}
	for _, a := range r.Metrics.Fields {
		if b, ok := baseFields[a.Field]; ok {
			c.Fields = append(c.Fields, Delta{Name: a.Field, Baseline: b.Macro, Current: a.Macro, Delta: a.Macro - b.Macro, HigherIsBetter: true})
		}
	}
	first := func(docs []DocScore) map[string]DocScore {
		m := map[string]DocScore{}
		for _, d := range docs {
			if _, ok := m[d.ID]; !ok || d.Repeat < m[d.ID].Repeat {
				m[d.ID] = d
			}
		}
		return m
	}
	was, now := first(base.Documents), first(r.Documents)
	for _, id := range slices.Sorted(maps.Keys(now)) {
		d := now[id]
		b, ok := was[id]
		if !ok {
			c.Added = append(c.Added, id)
			continue
		}
		before := map[string]FieldResult{}
		for _, f := range b.Fields {
			before[f.Path] = f
		}
		for _, f := range d.Fields {
			o, ok := before[f.Path]
			same := o.Got == f.Got
			if o.GotHash != "" || (ok && o.Got == "" && base.Redacted) {
				same = o.GotHash == valueHash(f.Got)
			}
			if ok && same && o.Match == f.Match {
				continue
			}
			c.Changed = append(c.Changed, Change{ID: id, DocumentID: d.DocumentID, TraceID: d.TraceID, Path: f.Path,
				Expected: f.Expected, Before: o.Got, After: f.Got, WasCorrect: o.Match, IsCorrect: f.Match})
		}
	}
	for _, id := range slices.Sorted(maps.Keys(was)) {
		if _, ok := now[id]; !ok {
			c.Removed = append(c.Removed, id)
		}
	}
	r.Baseline = c
}

// Gate is what an eval must reach to pass: absolute floors and ceilings,
// and the drops allowed against a baseline. Unset limits are not checked.
// It is read from YAML:
//
//	min_straight_through: 0.30      # share, 0-1
//	min_field_accuracy: 0.65
//	min_document_accuracy: 0.10
//	max_hallucination_rate: 0.20
//	max_cost_per_document: 0.002    # USD
//	max_latency_p95_ms: 5000
//	max_field_drop: 0.0             # any field's macro accuracy vs the baseline
//	field_drop: {total_amount: 0.0} # per field, overrides max_field_drop
//	max_metric_drop: {straight_through: 0.0, hallucination_rate: 0.01}
type Gate struct {
	MinStraightThrough   *float64           `yaml:"min_straight_through" json:"min_straight_through,omitempty"`
	MinFieldAccuracy     *float64           `yaml:"min_field_accuracy" json:"min_field_accuracy,omitempty"`
	MinDocumentAccuracy  *float64           `yaml:"min_document_accuracy" json:"min_document_accuracy,omitempty"`
	MaxHallucinationRate *float64           `yaml:"max_hallucination_rate" json:"max_hallucination_rate,omitempty"`
	MaxCostPerDocument   *float64           `yaml:"max_cost_per_document" json:"max_cost_per_document,omitempty"`
	MaxLatencyP95MS      *float64           `yaml:"max_latency_p95_ms" json:"max_latency_p95_ms,omitempty"`
	MaxFieldDrop         *float64           `yaml:"max_field_drop" json:"max_field_drop,omitempty"`
	FieldDrop            map[string]float64 `yaml:"field_drop" json:"field_drop,omitempty"`
	MaxMetricDrop        map[string]float64 `yaml:"max_metric_drop" json:"max_metric_drop,omitempty"`
}

// ReadGate reads a gate file; unknown keys are errors (file:line).
func ReadGate(path string) (Gate, error) {
	var g Gate
	b, err := os.ReadFile(path)
	if err != nil {
		return g, err
	}
	if err := yaml.UnmarshalWithOptions(b, &g, yaml.Strict()); err != nil {
		return g, fmt.Errorf("%s: %s", path, yaml.FormatError(err, false, false))
	}
	for name, v := range g.MaxMetricDrop {
		if !slices.ContainsFunc(businessDeltas(Business{}, Business{}), func(d Delta) bool { return d.Name == name }) {
			return g, fmt.Errorf("%s: max_metric_drop: unknown metric %q", path, name)
		}
		if v < 0 {
			return g, fmt.Errorf("%s: max_metric_drop: %s: a drop is not negative", path, name)
		}
	}
	return g, nil
}

// NeedsBaseline reports whether the gate compares with a baseline.
func (g Gate) NeedsBaseline() bool {
	return g.MaxFieldDrop != nil || len(g.FieldDrop) > 0 || len(g.MaxMetricDrop) > 0
}

// Violation is a limit the eval did not keep.
type Violation struct {
	Limit   string  `json:"limit"`
	Allowed float64 `json:"allowed"`
	Actual  float64 `json:"actual"`
	Message string  `json:"message"`
}

// GateVerdict is the gate's decision.
type GateVerdict struct {
	Path       string      `json:"path"`
	Gate       Gate        `json:"gate"`
	Passed     bool        `json:"passed"`
	Violations []Violation `json:"violations"`
}

// ErrGateNeedsBaseline: the gate limits drops but there is no baseline.
var ErrGateNeedsBaseline = errors.New("the gate limits drops against a baseline: give --baseline")

// Check applies the gate to r (r.Baseline must be set when the gate
// limits drops) and sets r.Gate.
func (g Gate) Check(path string, r *Report) error {
	if g.NeedsBaseline() && r.Baseline == nil {
		return ErrGateNeedsBaseline
	}
	v := &GateVerdict{Path: path, Gate: g, Violations: []Violation{}}
	floor := func(limit string, min *float64, actual float64) {
		if min != nil && actual < *min-1e-12 {
			v.Violations = append(v.Violations, Violation{limit, *min, actual,
				fmt.Sprintf("%s is %.4f, below the minimum %.4f", strings.TrimPrefix(limit, "min_"), actual, *min)})
		}
	}
	ceiling := func(limit string, max *float64, actual float64) {
		if max != nil && actual > *max+1e-12 {
			v.Violations = append(v.Violations, Violation{limit, *max, actual,
				fmt.Sprintf("%s is %.4f, above the maximum %.4f", strings.TrimPrefix(limit, "max_"), actual, *max)})
		}
	}
	b := r.Business
	floor("min_straight_through", g.MinStraightThrough, b.StraightThrough.Value)
	floor("min_field_accuracy", g.MinFieldAccuracy, b.FieldAccuracy.Value)
	floor("min_document_accuracy", g.MinDocumentAccuracy, b.DocumentAccuracy.Value)
	ceiling("max_hallucination_rate", g.MaxHallucinationRate, b.HallucinationRate.Value)
	ceiling("max_cost_per_document", g.MaxCostPerDocument, b.CostPerDocument)
	ceiling("max_latency_p95_ms", g.MaxLatencyP95MS, b.LatencyP95MS)
	if c := r.Baseline; c != nil {
		for _, d := range c.Fields {
			tol, ok := g.FieldDrop[d.Name]
			if !ok {
				if g.MaxFieldDrop == nil {
					continue
				}
				tol = *g.MaxFieldDrop
			}
			if d.Worse(tol) {
				v.Violations = append(v.Violations, Violation{"field_drop." + d.Name, tol, -d.Delta,
					fmt.Sprintf("%s accuracy dropped from %.4f to %.4f (allowed drop %.4f)", d.Name, d.Baseline, d.Current, tol)})
			}
		}
		for _, d := range c.Metrics {
			tol, ok := g.MaxMetricDrop[d.Name]
			if ok && d.Worse(tol) {
				v.Violations = append(v.Violations, Violation{"max_metric_drop." + d.Name, tol, math.Abs(d.Delta),
					fmt.Sprintf("%s went from %.4f to %.4f (allowed change %.4f)", d.Name, d.Baseline, d.Current, tol)})
			}
		}
	}
	v.Passed = len(v.Violations) == 0
	r.Gate = v
	return nil
}

// WriteFieldsCSV writes one line per labelled value of every scored
// document: where it comes from, what was expected and read, the verdict,
// and the evidence.
func (r Report) WriteFieldsCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"id", "group", "repeat", "document_id", "trace_id", "status", "field", "path", "expected", "got",
		"match", "score", "reason", "page", "quote", "grounded", "confidence"}); err != nil {
		return err
	}
	for _, d := range r.Documents {
		for _, f := range d.Fields {
			page := ""
			if f.Page > 0 {
				page = strconv.Itoa(f.Page)
			}
			if err := cw.Write([]string{d.ID, d.Group, strconv.Itoa(d.Repeat), d.DocumentID, d.TraceID, d.Status, f.Field, f.Path,
				f.Expected, f.Got, strconv.FormatBool(f.Match), strconv.FormatFloat(f.Score, 'f', -1, 64), f.Reason, page, f.Quote,
				strconv.FormatBool(f.Grounded), strconv.FormatFloat(f.Confidence, 'f', 3, 64)}); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// Summary is the terminal summary: the business metrics with their
// intervals, the field table, the comparison and the gate.
func (r Report) Summary() string {
	var sb strings.Builder
	b := r.Business
	est := func(name string, e Estimate) {
		fmt.Fprintf(&sb, "%-28s %6.3f  [%.3f, %.3f]\n", name, e.Value, e.Low, e.High)
	}
	fmt.Fprintf(&sb, "%d documents in %d groups", b.Documents, b.Groups)
	if r.Repeats > 1 {
		fmt.Fprintf(&sb, ", %d repeats", r.Repeats)
	}
	fmt.Fprintf(&sb, "; %d rows excluded; macro per group, 95%% bootstrap interval over groups\n", len(r.Excluded))
	est("straight-through rate", b.StraightThrough)
	est("field accuracy", b.FieldAccuracy)
	est("document accuracy", b.DocumentAccuracy)
	est("hallucination rate", b.HallucinationRate)
	est(fmt.Sprintf("automation at conf >= %.2f", b.Threshold), b.Automation)
	est("  accuracy of automated", b.AutomatedAccuracy)
	if b.ThresholdForTarget != nil {
		fmt.Fprintf(&sb, "%-28s %6.3f  (automation %.3f)\n", fmt.Sprintf("threshold for %.0f%% accuracy", 100*b.TargetAccuracy),
			*b.ThresholdForTarget, b.AutomationAtTarget)
	} else {
		fmt.Fprintf(&sb, "%-28s %6s  (no threshold reaches it)\n", fmt.Sprintf("threshold for %.0f%% accuracy", 100*b.TargetAccuracy), "-")
	}
	est("exception rate", b.ExceptionRate)
	for _, reason := range ExceptionReasons {
		if v := b.Exceptions[reason]; v > 0 {
			fmt.Fprintf(&sb, "  %-26s %6.3f\n", reason, v)
		}
	}
	cost := fmt.Sprintf("$%.6f", b.CostPerDocument)
	perCorrect := "-"
	if b.CostPerCorrectDocument != nil {
		perCorrect = fmt.Sprintf("$%.6f", *b.CostPerCorrectDocument)
	}
	if !b.CostKnown {
		cost, perCorrect = "? (a model's price is unknown)", "?"
	}
	fmt.Fprintf(&sb, "%-28s %s (per correct document %s)\n", "cost per document", cost, perCorrect)
	fmt.Fprintf(&sb, "%-28s p50 %.0f ms, p95 %.0f ms", "latency per document", b.LatencyP50MS, b.LatencyP95MS)
	if b.FromCache > 0 {
		fmt.Fprintf(&sb, " (%d documents from the cache)", b.FromCache)
	}
	sb.WriteString("\n")
	fmt.Fprintf(&sb, "%-28s %.0f in, %.0f out, %.2f attempts\n", "tokens per document", b.InputTokensPerDoc, b.OutputTokensPerDoc, b.AttemptsPerDoc)
	if b.EInvoice > 0 {
		fmt.Fprintf(&sb, "%-28s %d of %d documents (no model call for them)\n", "read from their e-invoice", b.EInvoice, b.Documents)
	}
	if v := r.Variance; v != nil {
		fmt.Fprintf(&sb, "%-28s straight-through sd %.3f (%.3f-%.3f), field accuracy sd %.3f (%.3f-%.3f)\n", fmt.Sprintf("over %d repeats", v.Repeats),
			v.StraightThrough.SD, v.StraightThrough.Min, v.StraightThrough.Max, v.FieldAccuracy.SD, v.FieldAccuracy.Min, v.FieldAccuracy.Max)
	}
	sb.WriteString("\n")
	sb.WriteString(r.Metrics.Table())
	if c := r.Baseline; c != nil {
		fmt.Fprintf(&sb, "\ncompared with %s (%s):\n", c.Path, c.Created.Format(time.DateOnly))
		for _, d := range c.Metrics {
			if d.Delta != 0 {
				fmt.Fprintf(&sb, "  %-26s %8.4f -> %8.4f  (%+.4f)\n", d.Name, d.Baseline, d.Current, d.Delta)
			}
		}
		for _, d := range c.Fields {
			if d.Delta != 0 {
				fmt.Fprintf(&sb, "  %-26s %8.4f -> %8.4f  (%+.4f)\n", d.Name, d.Baseline, d.Current, d.Delta)
			}
		}
		better, worse := 0, 0
		for _, ch := range c.Changed {
			switch {
			case ch.IsCorrect && !ch.WasCorrect:
				better++
			case ch.WasCorrect && !ch.IsCorrect:
				worse++
			}
		}
		fmt.Fprintf(&sb, "  %d values read differently (%d now right, %d now wrong); %d documents added, %d removed\n",
			len(c.Changed), better, worse, len(c.Added), len(c.Removed))
	}
	if g := r.Gate; g != nil {
		if g.Passed {
			fmt.Fprintf(&sb, "\ngate %s: passed\n", g.Path)
		} else {
			fmt.Fprintf(&sb, "\ngate %s: FAILED\n", g.Path)
			for _, v := range g.Violations {
				fmt.Fprintf(&sb, "  %s\n", v.Message)
			}
		}
	}
	return sb.String()
}
