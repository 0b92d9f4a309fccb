package evals

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The HTML report is one page with everything inline: CSS in a <style>
// element, charts as SVG drawn here, no script, font, image or link to
// another host, so it opens offline and can be attached to a ticket.
// Every value of the report goes through html/template: labels, values
// and quotes come from untrusted PDFs.
//
// The page is built in two steps: htmlView turns the report into a view
// (strings formatted, rows sorted, chart geometry computed), and the
// template lays the view out. Maps are read through sorted keys, so the
// same report gives the same bytes.

//go:embed report.html.tmpl
var reportHTML string

var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"f1": func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) },
	"n":  count,
}).Parse(reportHTML))

// count says how many of a thing: "1 document", "2 documents".
func count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return strconv.Itoa(n) + " " + thing + "s"
}

// WriteHTML writes the report as a self-contained HTML page.
func (r Report) WriteHTML(w io.Writer) error {
	var buf bytes.Buffer
	if err := reportTemplate.Execute(&buf, htmlView(r)); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// --- the view ---------------------------------------------------------------

type htmlPage struct {
	Version   int
	Title     string
	Created   string
	Datasets  []string
	Runs      []string
	Versions  []keyValue
	Repeats   int
	Documents int
	Groups    int
	Scored    int // document scores (all repeats)
	Excluded  []Excluded
	Gate      *gateView
	Cards     []card
	Variance  *varianceView
	Fields    fieldsView
	Errors    errorsView
	Curve     curveView
	Docs      []docView
	Problems  int
	Compare   *compareView
	Retrieval *retrievalView
}

type keyValue struct{ Key, Value string }

type gateView struct {
	Path       string
	Passed     bool
	Violations []Violation
	Limits     []keyValue
}

// card is one business metric: its value, the 95% interval, a note and
// the change from the baseline.
type card struct {
	Label    string
	Value    string
	Interval string
	Note     string
	Delta    *deltaView
}

// deltaView is a change from the baseline; Class is "better", "worse" or
// "same" (the colour).
type deltaView struct {
	Text  string
	Class string
	Title string
}

type varianceView struct {
	Repeats         int
	StraightThrough string
	FieldAccuracy   string
}

type fieldsView struct {
	Rows    []fieldRow
	Chart   barChart
	Overall fieldRow
	Items   string
	Delta   bool // a baseline column
	Agree   bool // an agreement column (repeats)
}

type fieldRow struct {
	Field     string
	Macro     string
	Micro     string
	N         int
	Rows      int
	Groups    int
	Class     string
	Delta     *deltaView
	Agreement string
}

// barChart is a horizontal bar chart: one bar per row, labels on the
// left, the value at the end of the bar.
type barChart struct {
	Width, Height float64
	LabelW        float64 // where the bars start
	PlotW         float64
	Bars          []bar
	Ticks         []tick
	AxisY         float64
}

type bar struct {
	Label string // shown (maybe shortened)
	Title string // the tooltip
	Y     float64
	W     float64
	TextX float64
	Value string
	Class string
}

type tick struct {
	Pos   float64
	Label string
}

type errorsView struct {
	Wrong      int // field results that do not match
	Values     int // field results
	Reasons    barChart
	Exceptions barChart
	ExcDocs    int // documents with an exception
	HasReasons bool
}

// curveView is the automation/accuracy curve over thresholds.
type curveView struct {
	Empty                bool
	Width, Height        float64
	X0, X1, Y0, Y1       float64 // the plot area
	TickY                float64
	XTicks, YTicks       []tick
	Automation, Accuracy string // SVG path data
	Points               []curvePoint
	ThresholdX           float64
	ThresholdLabel       string
	TargetY              float64
	TargetLabel          string
	TargetLabelX         float64
	TargetLabelAnchor    string
	Target               *curvePoint
	TargetText           string
	Table                []curveRow
}

// curveRow is the automation and accuracy at one threshold.
type curveRow struct {
	Threshold, Automation, Accuracy string
	Documents                       int
	Note                            string
}

type curvePoint struct {
	X, Y  float64
	Class string
	Title string
}

type docView struct {
	ID, Group         string
	Repeat            int
	ShowRepeat        bool
	Status            string
	Failed            bool
	FailedStep, Error string
	Straight          bool
	Confidence        string
	Wrong, Values     int
	Cost              string
	Latency           string
	Cached            bool
	CacheHits         int
	TraceID           string
	DocumentID        string
	RunID             string
	File              string
	Exceptions        []string
	Issues            []issueView
	Items             string
	Tokens            string
	WrongFields       []wrongField
	Problem           bool
	Class             string
}

type issueView struct{ Field, Code, Severity, Message string }

type wrongField struct {
	Path, Expected, Got, Reason string
	Page                        string
	Quote                       string
	Grounded                    bool
	HasEvidence                 bool
	Confidence                  string
}

type compareView struct {
	Path     string
	Created  string
	Runs     []string
	Versions []versionChange
	Metrics  []deltaRow
	Fields   []deltaRow
	Changed  []changeRow
	NowRight int
	NowWrong int
	Added    []string
	Removed  []string
}

type versionChange struct{ Key, Before, Now string }

type deltaRow struct {
	Name, Baseline, Current string
	Delta                   deltaView
}

type changeRow struct {
	ID, Path, Expected, Before, After, TraceID string
	Verdict, Class                             string
}

type retrievalView struct {
	Embedder  string
	Documents int
	Ks        []string
	Scores    []retrievalRow
	ByKind    []retrievalKind
	Modes     []string
	Missed    []missedQuestion
	Questions int
}

type retrievalRow struct {
	Mode      string
	Questions int
	Recall    []string
	MRR       string
}

type retrievalKind struct {
	Kind string
	Rows []retrievalRow
}

type missedQuestion struct {
	ID, Question, Kind, Where string
	Ranks                     []string
}

// --- formatting -------------------------------------------------------------

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// pct formats a share as a percentage with one decimal.
func pct(v float64) string {
	if !finite(v) {
		return "–"
	}
	return strconv.FormatFloat(100*v, 'f', 1, 64) + "%"
}

func interval(e Estimate) string {
	return "95% CI [" + pct(e.Low) + ", " + pct(e.High) + "]"
}

// usd formats a cost: 6 decimals below a cent, 4 above.
func usd(v float64) string {
	if !finite(v) {
		return "–"
	}
	if math.Abs(v) >= 0.01 {
		return "$" + strconv.FormatFloat(v, 'f', 4, 64)
	}
	return "$" + strconv.FormatFloat(v, 'f', 6, 64)
}

// ms formats a duration given in milliseconds.
func ms(v float64) string {
	switch {
	case !finite(v):
		return "–"
	case v >= 1000:
		return strconv.FormatFloat(v/1000, 'f', 2, 64) + " s"
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 0, 64) + " ms"
	default:
		return strconv.FormatFloat(v, 'f', 1, 64) + " ms"
	}
}

func num(v float64, prec int) string {
	if !finite(v) {
		return "–"
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

// signed formats a change with its sign; 0 comes out as "±0".
func signed(v float64, format func(float64) string) string {
	if v == 0 {
		return "±0"
	}
	if v > 0 {
		return "+" + format(v)
	}
	return "−" + format(-v)
}

// deltaOf describes a metric's change from the baseline. The metric name
// says the unit (businessDeltas' names; anything else is a share).
func deltaOf(d Delta) deltaView {
	var f func(float64) string
	var show func(float64) string
	switch d.Name {
	case "cost_per_document":
		f, show = usd, usd
	case "latency_p95_ms":
		f, show = ms, ms
	default:
		f = func(v float64) string { return strconv.FormatFloat(100*v, 'f', 1, 64) + " pp" }
		show = pct
	}
	v := deltaView{Text: signed(d.Delta, f), Class: "same",
		Title: "baseline " + show(d.Baseline) + " → now " + show(d.Current)}
	switch {
	case d.Delta == 0:
	case d.Worse(0):
		v.Class = "worse"
	case (d.HigherIsBetter && d.Delta > 0) || (!d.HigherIsBetter && d.Delta < 0):
		v.Class = "better"
	}
	return v
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// shorten cuts s to n runes with an ellipsis.
func shorten(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// reasonKey is a result's reason without its details ("partial: 1 of 2
// matched" is "partial").
func reasonKey(r FieldResult) string {
	s := r.Reason
	if i := strings.IndexByte(s, ':'); i >= 0 {
		s = s[:i]
	}
	if s = strings.TrimSpace(s); s == "" {
		return "other"
	}
	return s
}

func wrong(r FieldResult) bool { return !r.Match || r.Score < 1 }

// --- building the view --------------------------------------------------------

func htmlView(r Report) htmlPage {
	b := r.Business
	p := htmlPage{
		Version:   r.Version,
		Title:     "Eval report",
		Created:   timeText(r.Created),
		Datasets:  r.Datasets,
		Runs:      r.Runs,
		Repeats:   max(r.Repeats, 1),
		Documents: b.Documents,
		Groups:    b.Groups,
		Scored:    len(r.Documents),
		Excluded:  r.Excluded,
	}
	if len(r.Datasets) > 0 {
		p.Title = "Eval report: " + strings.Join(r.Datasets, ", ")
	}
	for _, k := range slices.Sorted(maps.Keys(r.Versions)) {
		p.Versions = append(p.Versions, keyValue{k, r.Versions[k]})
	}
	if g := r.Gate; g != nil {
		p.Gate = &gateView{Path: g.Path, Passed: g.Passed, Violations: g.Violations, Limits: gateLimits(g.Gate)}
	}
	deltas := map[string]Delta{}
	if r.Baseline != nil {
		for _, d := range r.Baseline.Metrics {
			deltas[d.Name] = d
		}
	}
	p.Cards = cards(b, deltas, len(r.Excluded))
	if v := r.Variance; v != nil {
		p.Variance = &varianceView{Repeats: v.Repeats,
			StraightThrough: fmt.Sprintf("%s (sd %s, %s–%s)", pct(v.StraightThrough.Mean), pct(v.StraightThrough.SD), pct(v.StraightThrough.Min), pct(v.StraightThrough.Max)),
			FieldAccuracy:   fmt.Sprintf("%s (sd %s, %s–%s)", pct(v.FieldAccuracy.Mean), pct(v.FieldAccuracy.SD), pct(v.FieldAccuracy.Min), pct(v.FieldAccuracy.Max))}
	}
	p.Fields = fieldsOf(r)
	p.Errors = errorsOf(r)
	p.Curve = curveOf(b)
	p.Docs = docsOf(r)
	for _, d := range p.Docs {
		if d.Problem {
			p.Problems++
		}
	}
	if c := r.Baseline; c != nil {
		p.Compare = compareOf(r, c)
	}
	if rr := r.Retrieval; rr != nil {
		p.Retrieval = retrievalOf(rr)
	}
	return p
}

func gateLimits(g Gate) []keyValue {
	var out []keyValue
	add := func(name string, v *float64) {
		if v != nil {
			out = append(out, keyValue{name, strconv.FormatFloat(*v, 'f', -1, 64)})
		}
	}
	add("min_straight_through", g.MinStraightThrough)
	add("min_field_accuracy", g.MinFieldAccuracy)
	add("min_document_accuracy", g.MinDocumentAccuracy)
	add("max_hallucination_rate", g.MaxHallucinationRate)
	add("max_cost_per_document", g.MaxCostPerDocument)
	add("max_latency_p95_ms", g.MaxLatencyP95MS)
	add("max_field_drop", g.MaxFieldDrop)
	for _, k := range slices.Sorted(maps.Keys(g.FieldDrop)) {
		out = append(out, keyValue{"field_drop." + k, strconv.FormatFloat(g.FieldDrop[k], 'f', -1, 64)})
	}
	for _, k := range slices.Sorted(maps.Keys(g.MaxMetricDrop)) {
		out = append(out, keyValue{"max_metric_drop." + k, strconv.FormatFloat(g.MaxMetricDrop[k], 'f', -1, 64)})
	}
	return out
}

func cards(b Business, deltas map[string]Delta, excluded int) []card {
	delta := func(name string) *deltaView {
		if d, ok := deltas[name]; ok {
			v := deltaOf(d)
			return &v
		}
		return nil
	}
	est := func(label string, e Estimate, name, note string) card {
		return card{Label: label, Value: pct(e.Value), Interval: interval(e), Note: note, Delta: delta(name)}
	}
	var cs []card
	cs = append(cs,
		est("Straight-through rate", b.StraightThrough, "straight_through", "every required field right, no failing issue"),
		est("Field accuracy", b.FieldAccuracy, "field_accuracy", "macro over fields, documents, groups"),
		est("Document accuracy", b.DocumentAccuracy, "document_accuracy", "every labelled value right"),
		est("Hallucination rate", b.HallucinationRate, "hallucination_rate", "returned values not found on their page"),
		est("Automation at confidence ≥ "+num(b.Threshold, 2), b.Automation, "automation", "documents let through without a look"),
		est("Accuracy of automated", b.AutomatedAccuracy, "automated_accuracy", "automated documents with every required field right"),
	)
	target := card{Label: "Threshold for " + pct(b.TargetAccuracy) + " accuracy"}
	if t := b.ThresholdForTarget; t != nil {
		target.Value = num(*t, 2)
		target.Note = "automation there: " + pct(b.AutomationAtTarget)
	} else {
		target.Value = "none"
		target.Note = "no threshold reaches the target accuracy"
	}
	cs = append(cs, target)

	var reasons []string
	for _, k := range exceptionKeys(b.Exceptions) {
		if v := b.Exceptions[k]; v > 0 {
			reasons = append(reasons, k+" "+pct(v))
		}
	}
	note := "no exceptions"
	if len(reasons) > 0 {
		note = strings.Join(reasons, ", ")
	}
	cs = append(cs, est("Exception rate", b.ExceptionRate, "exception_rate", note))

	cost := card{Label: "Cost per document", Value: usd(b.CostPerDocument), Delta: delta("cost_per_document")}
	switch {
	case !b.CostKnown:
		cost.Value = "unknown"
		cost.Note = "a model's price is unknown; per correct document: unknown"
		cost.Delta = nil
	case b.CostPerCorrectDocument != nil:
		cost.Note = "per correct document: " + usd(*b.CostPerCorrectDocument)
	default:
		cost.Note = "per correct document: – (no correct document)"
	}
	cs = append(cs, cost)

	lat := card{Label: "Latency p50 / p95", Value: ms(b.LatencyP50MS) + " / " + ms(b.LatencyP95MS), Delta: delta("latency_p95_ms")}
	switch {
	case b.FromCache == 0:
		lat.Note = "per document, no document from the cache"
	case b.FromCache == b.Documents:
		lat.Note = fmt.Sprintf("all %d documents came from the cache: not what producing them takes", b.FromCache)
	default:
		lat.Note = fmt.Sprintf("%d of %d documents came from the cache (their latency is not what producing them takes)", b.FromCache, b.Documents)
	}
	if lat.Delta != nil {
		lat.Delta.Text = "p95 " + lat.Delta.Text
	}
	cs = append(cs, lat)
	cs = append(cs, card{Label: "Documents", Value: strconv.Itoa(b.Documents),
		Note: fmt.Sprintf("in %d groups; %d rows excluded", b.Groups, excluded)})
	cs = append(cs, card{Label: "Tokens per document", Value: num(b.InputTokensPerDoc, 0) + " in / " + num(b.OutputTokensPerDoc, 0) + " out",
		Note: num(b.AttemptsPerDoc, 2) + " attempts per document"})
	if b.EInvoice > 0 {
		cs = append(cs, card{Label: "Read from e-invoices", Value: strconv.Itoa(b.EInvoice),
			Note: fmt.Sprintf("of %d documents: their data, no model call", b.Documents)})
	}
	return cs
}

// exceptionKeys lists exception reasons in report order, then any other
// key sorted.
func exceptionKeys(m map[string]float64) []string {
	keys := slices.Clone(ExceptionReasons)
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys
}

func accuracyClass(v float64) string {
	switch {
	case v >= 0.9:
		return "good"
	case v >= 0.6:
		return "mid"
	default:
		return "bad"
	}
}

func fieldsOf(r Report) fieldsView {
	fs := slices.Clone(r.Metrics.Fields)
	// Worst first; ties by name.
	slices.SortStableFunc(fs, func(a, b Accuracy) int {
		if a.Macro != b.Macro {
			if a.Macro < b.Macro {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Field, b.Field)
	})
	deltas := map[string]Delta{}
	if r.Baseline != nil {
		for _, d := range r.Baseline.Fields {
			deltas[d.Name] = d
		}
	}
	v := fieldsView{Delta: r.Baseline != nil, Agree: r.Variance != nil}
	row := func(a Accuracy) fieldRow {
		fr := fieldRow{Field: a.Field, Macro: pct(a.Macro), Micro: pct(a.Micro), N: a.N, Rows: a.Rows, Groups: a.Groups,
			Class: accuracyClass(a.Macro)}
		if d, ok := deltas[a.Field]; ok {
			dv := deltaOf(d)
			fr.Delta = &dv
		}
		if r.Variance != nil {
			if ag, ok := r.Variance.Agreement[a.Field]; ok {
				fr.Agreement = pct(ag)
			}
		}
		return fr
	}
	var items []barItem
	for _, a := range fs {
		v.Rows = append(v.Rows, row(a))
		items = append(items, barItem{Label: a.Field, Value: a.Macro, Text: pct(a.Macro),
			Title: fmt.Sprintf("%s: macro %s, micro %s, n=%d", a.Field, pct(a.Macro), pct(a.Micro), a.N), Class: accuracyClass(a.Macro)})
	}
	v.Chart = hbar(items, 1, 460, percentTicks)
	v.Overall = row(r.Metrics.Overall)
	v.Overall.Field = "all fields"
	if it := r.Metrics.Items; it.Rows > 0 {
		v.Items = fmt.Sprintf("line items (as a whole): precision %s, recall %s, F1 %s (micro over %d labelled and %d extracted lines of %d documents; macro F1 %s)",
			pct(it.Precision), pct(it.Recall), pct(it.F1), it.Expected, it.Predicted, it.Rows, pct(it.MacroF1))
	}
	return v
}

type barItem struct {
	Label, Title, Text, Class string
	Value                     float64
}

const (
	barRow   = 24.0
	barThick = 16.0
)

// hbar lays out a horizontal bar chart of width w whose scale runs from
// 0 to top; ticks gives the axis ticks for top.
func hbar(items []barItem, top, w float64, ticks func(top float64) []tick) barChart {
	longest := 0
	for _, it := range items {
		longest = max(longest, len([]rune(shorten(it.Label, 30))))
	}
	c := barChart{Width: w, LabelW: min(8+7*float64(longest), w/2)}
	c.PlotW = w - c.LabelW - 70 // room for the value text
	if top <= 0 || !finite(top) {
		top = 1
	}
	for i, it := range items {
		v := it.Value
		if !finite(v) || v < 0 {
			v = 0
		}
		bw := c.PlotW * min(v/top, 1)
		c.Bars = append(c.Bars, bar{Label: shorten(it.Label, 30), Title: it.Title, Y: 8 + float64(i)*barRow,
			W: bw, TextX: c.LabelW + bw + 6, Value: it.Text, Class: it.Class})
	}
	c.AxisY = 8 + float64(len(items))*barRow + 2
	c.Height = c.AxisY + 22
	for _, t := range ticks(top) {
		c.Ticks = append(c.Ticks, tick{Pos: c.LabelW + c.PlotW*t.Pos/top, Label: t.Label})
	}
	return c
}

func percentTicks(top float64) []tick {
	var ts []tick
	for i := 0; i <= 4; i++ {
		v := top * float64(i) / 4
		ts = append(ts, tick{Pos: v, Label: strconv.FormatFloat(math.Round(1000*v)/10, 'f', -1, 64) + "%"})
	}
	return ts
}

// shareTop is the end of an axis of shares whose largest is v.
func shareTop(v float64) float64 {
	for _, t := range []float64{0.1, 0.2, 0.4, 0.6, 0.8} {
		if v <= t {
			return t
		}
	}
	return 1
}

// countTicks are ticks at a round step for counts up to top.
func countTicks(top float64) []tick {
	step := 1.0
	for top/step > 5 {
		switch {
		case step*2 >= top/5:
			step *= 2
		case step*5 >= top/5:
			step *= 5
		default:
			step *= 10
		}
	}
	var ts []tick
	for v := 0.0; v <= top+1e-9; v += step {
		ts = append(ts, tick{Pos: v, Label: strconv.FormatFloat(v, 'f', 0, 64)})
	}
	return ts
}

func errorsOf(r Report) errorsView {
	var v errorsView
	counts := map[string]int{}
	for _, d := range r.Documents {
		for _, f := range d.Fields {
			v.Values++
			if wrong(f) {
				v.Wrong++
				counts[reasonKey(f)]++
			}
		}
	}
	keys := slices.Sorted(maps.Keys(counts))
	slices.SortStableFunc(keys, func(a, b string) int { return counts[b] - counts[a] })
	var items []barItem
	top := 0
	topShare := 0.0
	for _, k := range keys {
		top = max(top, counts[k])
		items = append(items, barItem{Label: k, Value: float64(counts[k]),
			Text:  fmt.Sprintf("%d (%s)", counts[k], pct(float64(counts[k])/float64(v.Values))),
			Title: fmt.Sprintf("%s: %d of %d labelled values", k, counts[k], v.Values), Class: "bad"})
	}
	v.HasReasons = len(items) > 0
	v.Reasons = hbar(items, niceTop(float64(top)), 560, countTicks)

	docs := map[string]int{}
	for _, d := range r.Documents {
		if len(d.Exceptions) > 0 {
			v.ExcDocs++
		}
		for _, e := range d.Exceptions {
			docs[e]++
		}
	}
	items = nil
	for _, k := range exceptionKeys(r.Business.Exceptions) {
		rate := r.Business.Exceptions[k]
		topShare = max(topShare, rate)
		items = append(items, barItem{Label: k, Value: rate, Text: fmt.Sprintf("%s (%d docs)", pct(rate), docs[k]),
			Title: fmt.Sprintf("%s: %s of documents (macro per group), %d documents", k, pct(rate), docs[k]), Class: "exc"})
	}
	v.Exceptions = hbar(items, shareTop(topShare), 560, percentTicks)
	return v
}

// niceTop rounds a count up to the axis' end.
func niceTop(v float64) float64 {
	if v <= 0 {
		return 1
	}
	for _, t := range countTicks(v) {
		if t.Pos >= v {
			return t.Pos
		}
	}
	ts := countTicks(v)
	step := 1.0
	if len(ts) > 1 {
		step = ts[1].Pos - ts[0].Pos
	}
	return math.Ceil(v/step) * step
}

func curveOf(b Business) curveView {
	c := curveView{Width: 600, Height: 300, X0: 48, X1: 584, Y0: 24, Y1: 256, TickY: 261}
	if len(b.Curve) == 0 {
		c.Empty = true
		return c
	}
	clamp := func(v float64) float64 {
		if !finite(v) {
			return 0
		}
		return min(max(v, 0), 1)
	}
	x := func(t float64) float64 { return c.X0 + (c.X1-c.X0)*clamp(t) }
	y := func(v float64) float64 { return c.Y1 - (c.Y1-c.Y0)*clamp(v) }
	for i := 0; i <= 5; i++ {
		v := float64(i) / 5
		c.XTicks = append(c.XTicks, tick{Pos: x(v), Label: num(v, 1)})
		c.YTicks = append(c.YTicks, tick{Pos: y(v), Label: strconv.Itoa(20*i) + "%"})
	}
	pts := slices.Clone(b.Curve)
	slices.SortStableFunc(pts, func(a, b ThresholdPoint) int {
		switch {
		case a.Threshold < b.Threshold:
			return -1
		case a.Threshold > b.Threshold:
			return 1
		}
		return 0
	})
	// Both rates are steps: the value at a point's threshold holds for
	// thresholds above the previous point's, up to its own. Above the
	// last point nothing is automated.
	var auto, acc strings.Builder
	pt := func(sb *strings.Builder, cmd byte, tx, v float64) {
		fmt.Fprintf(sb, "%c%.1f %.1f ", cmd, x(tx), y(v))
	}
	accOpen := false
	for i, p := range pts {
		if i == 0 {
			pt(&auto, 'M', p.Threshold, p.Automation)
		} else {
			pt(&auto, 'L', pts[i-1].Threshold, p.Automation)
			pt(&auto, 'L', p.Threshold, p.Automation)
		}
		if p.Documents > 0 {
			switch {
			case !accOpen && i == 0:
				pt(&acc, 'M', p.Threshold, p.Accuracy)
			case !accOpen:
				pt(&acc, 'M', pts[i-1].Threshold, p.Accuracy)
				pt(&acc, 'L', p.Threshold, p.Accuracy)
			default:
				pt(&acc, 'L', pts[i-1].Threshold, p.Accuracy)
				pt(&acc, 'L', p.Threshold, p.Accuracy)
			}
			accOpen = true
			c.Points = append(c.Points, curvePoint{X: x(p.Threshold), Y: y(p.Accuracy), Class: "acc",
				Title: fmt.Sprintf("threshold %s: accuracy of automated %s (%d documents)", num(p.Threshold, 3), pct(p.Accuracy), p.Documents)})
		} else {
			accOpen = false
		}
		c.Points = append(c.Points, curvePoint{X: x(p.Threshold), Y: y(p.Automation), Class: "auto",
			Title: fmt.Sprintf("threshold %s: automation %s (%d documents)", num(p.Threshold, 3), pct(p.Automation), p.Documents)})
	}
	if last := pts[len(pts)-1]; last.Threshold < 1 {
		pt(&auto, 'L', last.Threshold, 0)
		pt(&auto, 'L', 1, 0)
	}
	c.Automation = strings.TrimSpace(auto.String())
	c.Accuracy = strings.TrimSpace(acc.String())
	c.ThresholdX = x(b.Threshold)
	c.ThresholdLabel = "threshold " + num(b.Threshold, 2)
	c.TargetY = y(b.TargetAccuracy)
	c.TargetLabel = "target " + pct(b.TargetAccuracy)
	// The label goes under the left end of the target line, or under its
	// middle when the target's marker is near the left.
	c.TargetLabelX = c.X0 + 8
	if t := b.ThresholdForTarget; t != nil && x(*t) < c.X0+110 {
		c.TargetLabelX = x(0.4)
	}
	if t := b.ThresholdForTarget; t != nil {
		c.Target = &curvePoint{X: x(*t), Y: y(b.TargetAccuracy), Class: "target",
			Title: fmt.Sprintf("lowest threshold reaching %s accuracy: %s (automation %s)", pct(b.TargetAccuracy), num(*t, 3), pct(b.AutomationAtTarget))}
		c.TargetText = fmt.Sprintf("The lowest threshold whose automated documents reach %s accuracy is %s, automating %s of documents.",
			pct(b.TargetAccuracy), num(*t, 3), pct(b.AutomationAtTarget))
	} else {
		c.TargetText = fmt.Sprintf("No threshold makes the automated documents reach %s accuracy.", pct(b.TargetAccuracy))
	}
	c.Table = curveTable(b, pts)
	return c
}

// curveTable reads the curve at round thresholds, the configured one and
// the one for the target accuracy. The value at a threshold is that of
// the first point at or above it (nothing is automated above the last).
func curveTable(b Business, pts []ThresholdPoint) []curveRow {
	notes := map[float64]string{}
	ts := []float64{0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99}
	ts = append(ts, b.Threshold)
	notes[b.Threshold] = "configured"
	if t := b.ThresholdForTarget; t != nil {
		ts = append(ts, *t)
		if notes[*t] != "" {
			notes[*t] += ", "
		}
		notes[*t] += "reaches target"
	}
	slices.Sort(ts)
	ts = slices.Compact(ts)
	var out []curveRow
	for _, t := range ts {
		row := curveRow{Threshold: num(t, 3), Automation: pct(0), Accuracy: "–", Note: notes[t]}
		for _, p := range pts {
			if p.Threshold >= t {
				row.Automation, row.Documents = pct(p.Automation), p.Documents
				if p.Documents > 0 {
					row.Accuracy = pct(p.Accuracy)
				}
				break
			}
		}
		out = append(out, row)
	}
	return out
}

func docCost(d DocScore) string {
	if d.Usage.Prices == "" && (d.Usage.InputTokens > 0 || d.Usage.OutputTokens > 0) {
		return "unknown"
	}
	return usd(d.Usage.CostUSD)
}

func docsOf(r Report) []docView {
	repeats := r.Repeats > 1
	var out []docView
	for _, d := range r.Documents {
		v := docView{ID: d.ID, Group: d.Group, Repeat: d.Repeat, ShowRepeat: repeats,
			Status: d.Status, Failed: d.Status == "failed", FailedStep: d.FailedStep, Error: d.Error,
			Straight: d.StraightThrough, Confidence: num(d.Confidence, 2),
			Values: len(d.Fields), Cost: docCost(d), Latency: ms(d.LatencyMS), Cached: d.CacheHits > 0, CacheHits: d.CacheHits,
			TraceID: d.TraceID, DocumentID: d.DocumentID, RunID: d.RunID, File: d.File, Exceptions: d.Exceptions,
			Tokens: fmt.Sprintf("%d in, %d out, %d attempts", d.Usage.InputTokens, d.Usage.OutputTokens, d.Usage.Attempts)}
		if v.Status == "" {
			v.Status = "ok"
		}
		for _, is := range d.Issues {
			v.Issues = append(v.Issues, issueView{Field: is.Field, Code: is.Code, Severity: string(is.Severity), Message: is.Message})
		}
		if it := d.Items; it.Labelled {
			v.Items = fmt.Sprintf("%d labelled, %d extracted, %d matched (F1 %s)", it.Expected, it.Predicted, it.Matched, pct(it.F1))
		}
		for _, f := range d.Fields {
			if !wrong(f) {
				continue
			}
			v.Wrong++
			wf := wrongField{Path: f.Path, Expected: f.Expected, Got: f.Got, Reason: f.Reason, Quote: f.Quote,
				Grounded: f.Grounded, Confidence: num(f.Confidence, 2)}
			if f.Page > 0 {
				wf.Page = strconv.Itoa(f.Page)
			}
			wf.HasEvidence = f.Page > 0 || f.Quote != "" || f.Got != ""
			v.WrongFields = append(v.WrongFields, wf)
		}
		v.Problem = v.Failed || !v.Straight || v.Wrong > 0 || len(v.Exceptions) > 0
		switch {
		case v.Failed:
			v.Class = "failed"
		case !v.Straight:
			v.Class = "problem"
		case v.Problem:
			v.Class = "warn"
		default:
			v.Class = "clean"
		}
		out = append(out, v)
	}
	rank := func(v docView) int {
		switch v.Class {
		case "failed":
			return 0
		case "problem":
			return 1
		case "warn":
			return 2
		}
		return 3
	}
	// Problems first: failed, not straight-through, other problems, clean;
	// then most wrong values, most exceptions, id, repeat.
	slices.SortStableFunc(out, func(a, b docView) int {
		if x, y := rank(a), rank(b); x != y {
			return x - y
		}
		if a.Wrong != b.Wrong {
			return b.Wrong - a.Wrong
		}
		if len(a.Exceptions) != len(b.Exceptions) {
			return len(b.Exceptions) - len(a.Exceptions)
		}
		if c := strings.Compare(a.ID, b.ID); c != 0 {
			return c
		}
		return a.Repeat - b.Repeat
	})
	return out
}

// metricLabels are the business metrics' names as the page shows them.
var metricLabels = map[string]string{
	"straight_through":   "straight-through rate",
	"field_accuracy":     "field accuracy",
	"document_accuracy":  "document accuracy",
	"automation":         "automation",
	"automated_accuracy": "accuracy of automated",
	"hallucination_rate": "hallucination rate",
	"exception_rate":     "exception rate",
	"cost_per_document":  "cost per document",
	"latency_p95_ms":     "latency p95",
}

func deltaRowOf(d Delta, label string) deltaRow {
	show := pct
	switch d.Name {
	case "cost_per_document":
		show = usd
	case "latency_p95_ms":
		show = ms
	}
	return deltaRow{Name: label, Baseline: show(d.Baseline), Current: show(d.Current), Delta: deltaOf(d)}
}

func compareOf(r Report, c *Comparison) *compareView {
	v := &compareView{Path: c.Path, Created: timeText(c.Created), Runs: c.Runs, Added: c.Added, Removed: c.Removed}
	keys := slices.Sorted(maps.Keys(r.Versions))
	for _, k := range slices.Sorted(maps.Keys(c.Versions)) {
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		b, okb := c.Versions[k]
		n, okn := r.Versions[k]
		if b != n || okb != okn {
			if !okb {
				b = "–"
			}
			if !okn {
				n = "–"
			}
			v.Versions = append(v.Versions, versionChange{k, b, n})
		}
	}
	for _, d := range c.Metrics {
		label := metricLabels[d.Name]
		if label == "" {
			label = d.Name
		}
		v.Metrics = append(v.Metrics, deltaRowOf(d, label))
	}
	// Fields: changed ones first, worst change first; then by name.
	fs := slices.Clone(c.Fields)
	slices.SortStableFunc(fs, func(a, b Delta) int {
		if a.Delta != b.Delta {
			if a.Delta < b.Delta {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	for _, d := range fs {
		v.Fields = append(v.Fields, deltaRowOf(d, d.Name))
	}
	// Fields that did not change go last.
	slices.SortStableFunc(v.Fields, func(a, b deltaRow) int {
		return boolInt(a.Delta.Text == "±0") - boolInt(b.Delta.Text == "±0")
	})
	for _, ch := range c.Changed {
		row := changeRow{ID: ch.ID, Path: ch.Path, Expected: ch.Expected, Before: ch.Before, After: ch.After, TraceID: ch.TraceID}
		switch {
		case ch.IsCorrect && !ch.WasCorrect:
			row.Verdict, row.Class = "now right", "better"
			v.NowRight++
		case ch.WasCorrect && !ch.IsCorrect:
			row.Verdict, row.Class = "now wrong", "worse"
			v.NowWrong++
		case ch.IsCorrect:
			row.Verdict, row.Class = "still right", "same"
		default:
			row.Verdict, row.Class = "still wrong", "same"
		}
		v.Changed = append(v.Changed, row)
	}
	order := map[string]int{"worse": 0, "better": 1, "same": 2}
	slices.SortStableFunc(v.Changed, func(a, b changeRow) int { return order[a.Class] - order[b.Class] })
	return v
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func retrievalOf(rr *RetrievalReport) *retrievalView {
	v := &retrievalView{Embedder: rr.Embedder, Documents: rr.Documents, Questions: len(rr.Questions)}
	for _, s := range rr.Scores {
		v.Questions = max(v.Questions, s.Questions)
	}
	ks := map[int]bool{}
	collect := func(ss []RetrievalScore) {
		for _, s := range ss {
			for k := range s.Recall {
				ks[k] = true
			}
		}
	}
	collect(rr.Scores)
	for _, ss := range rr.ByKind {
		collect(ss)
	}
	kk := slices.Sorted(maps.Keys(ks))
	for _, k := range kk {
		v.Ks = append(v.Ks, strconv.Itoa(k))
	}
	rows := func(ss []RetrievalScore) []retrievalRow {
		var out []retrievalRow
		for _, s := range ss {
			row := retrievalRow{Mode: s.Mode, Questions: s.Questions, MRR: num(s.MRR, 3)}
			for _, k := range kk {
				if x, ok := s.Recall[k]; ok {
					row.Recall = append(row.Recall, pct(x))
				} else {
					row.Recall = append(row.Recall, "–")
				}
			}
			out = append(out, row)
		}
		return out
	}
	v.Scores = rows(rr.Scores)
	for _, k := range slices.Sorted(maps.Keys(rr.ByKind)) {
		v.ByKind = append(v.ByKind, retrievalKind{Kind: k, Rows: rows(rr.ByKind[k])})
	}
	modes := map[string]bool{}
	for _, q := range rr.Questions {
		for m := range q.Ranks {
			modes[m] = true
		}
	}
	v.Modes = slices.Sorted(maps.Keys(modes))
	for _, q := range rr.Questions {
		missed := false
		var ranks []string
		for _, m := range v.Modes {
			rk, ok := q.Ranks[m]
			switch {
			case !ok:
				ranks = append(ranks, "–")
			case rk == 0:
				missed = true
				ranks = append(ranks, "missed")
			default:
				ranks = append(ranks, strconv.Itoa(rk))
			}
		}
		if !missed {
			continue
		}
		pages := make([]string, len(q.Pages))
		for i, pg := range q.Pages {
			pages[i] = strconv.Itoa(pg)
		}
		v.Missed = append(v.Missed, missedQuestion{ID: q.ID, Question: q.Question.Question, Kind: q.Kind,
			Where: shorten(q.DocumentID, 16) + " p. " + strings.Join(pages, ", "), Ranks: ranks})
	}
	return v
}
