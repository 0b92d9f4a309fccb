package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/extractor-dev/extractor/evals"
	"github.com/extractor-dev/extractor/extract"
	"github.com/extractor-dev/extractor/extract/pdf"
	"github.com/extractor-dev/extractor/extract/rules"
	"github.com/extractor-dev/extractor/pipeline"
)

// fit-rules fits the rules extractor's weights and its confidence
// calibration, and measures both for generalisation: leave one family out
// (every family of dataset groups is held out in turn, the weights and the
// calibration are fitted on the others and the held-out family is scored),
// next to in-sample (fitted on everything). It is a tool for developers,
// hidden from help: the fitted values are committed as
// extract/rules/weights.json and extract/calibration.json (--write).

type fitFlags struct {
	datasets []string
	write    string
	report   string
	sweeps   int
	maxPer   int
	verbose  bool
}

func (m *Main) fitCommand() *cobra.Command {
	var f fitFlags
	cmd := &cobra.Command{
		Use:    "fit-rules --dataset DIR [--dataset DIR ...]",
		Short:  "Fit and cross-validate the rules extractor's weights and confidence calibration (developers)",
		Hidden: true,
		Args:   usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(f.datasets) == 0 {
				return usageError{errors.New("--dataset is required")}
			}
			return m.runFit(cmd.Context(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.datasets, "dataset", nil, "dataset folder (repeatable)")
	fl.StringVar(&f.write, "write", "", "write the weights and calibration fitted on everything into this repository root")
	fl.StringVar(&f.report, "out", "", "write the report as JSON here")
	fl.IntVar(&f.sweeps, "sweeps", 2, "coordinate-ascent sweeps over the weights (0: keep the current weights)")
	fl.IntVar(&f.maxPer, "max-per-group", 0, "use at most this many rows per group (0: all)")
	fl.BoolVar(&f.verbose, "verbose", false, "list every held-out public document's confidence and wrong required fields (on stderr: it names corpus rows)")
	return cmd
}

// fitDoc is one labelled document prepared for fitting.
type fitDoc struct {
	row    evals.Row
	family string
	doc    pipeline.Document
	schema pipeline.Schema
	prep   *rules.Prepared
	// right caches, per field and raw value, whether the value matches
	// the label.
	right map[string]map[string]bool
	// fields are the labelled scalar fields the rules read.
	fields []string
}

func (d *fitDoc) correct(field, raw string) bool {
	m := d.right[field]
	if m == nil {
		m = map[string]bool{}
		d.right[field] = m
	}
	if v, ok := m[raw]; ok {
		return v
	}
	ok := false
	if spec, found := d.schema.Field(field); found {
		if value, _, err := extract.Normalize(spec, raw); err == nil {
			ok = evals.Equal(d.row.Schema, field, fmt.Sprint(d.row.Expected[field]), value)
		}
	}
	m[raw] = ok
	return ok
}

// FitReport is what fit-rules measured.
type FitReport struct {
	Families []FamilyScore         `json:"families"`
	Public   Generalisation        `json:"public"`
	Synth    Generalisation        `json:"synthetic"`
	Fields   []FieldGeneralisation `json:"fields"`
	// Calibration of the held-out predictions (each family's fields
	// predicted by a model fitted on the other families).
	Reliability []evals.Bin `json:"reliability"`
	ECE         float64     `json:"ece"`
	// PublicReliability and PublicECE: the public corpus's fields only.
	PublicReliability []evals.Bin `json:"public_reliability"`
	PublicECE         float64     `json:"public_ece"`
	// DocumentReliability and DocumentECE: held-out public documents'
	// confidence against "every required field right".
	DocumentReliability []evals.Bin `json:"document_reliability"`
	DocumentECE         float64     `json:"document_ece"`
	// Automation of the public documents with held-out document
	// confidences.
	Automation     []evals.AutomationPoint `json:"automation"`
	TargetAccuracy float64                 `json:"target_accuracy"`
	// Threshold is the lowest document confidence whose automated
	// documents reach TargetAccuracy (-1: none does).
	Threshold      float64       `json:"threshold"`
	AutomationRate float64       `json:"automation_rate"`
	AutomatedRight float64       `json:"automated_accuracy"`
	Weights        rules.Weights `json:"weights"`
}

// FamilyScore is one family's accuracy in-sample and held out.
type FamilyScore struct {
	Family   string  `json:"family"`
	Groups   int     `json:"groups"`
	Rows     int     `json:"rows"`
	InSample float64 `json:"in_sample"`
	LOFO     float64 `json:"lofo"`
	// Scalar: the scalar fields only (what the weights choose).
	InSampleScalar float64 `json:"in_sample_scalar"`
	LOFOScalar     float64 `json:"lofo_scalar"`
}

// Generalisation summarises a set of families: macro over groups.
type Generalisation struct {
	InSample float64 `json:"in_sample"`
	LOFO     float64 `json:"lofo"`
	Groups   int     `json:"groups"`
}

// FieldGeneralisation is one field's macro accuracy over the public
// groups, in-sample and held out.
type FieldGeneralisation struct {
	Field    string  `json:"field"`
	InSample float64 `json:"in_sample"`
	LOFO     float64 `json:"lofo"`
}

func (m *Main) runFit(ctx context.Context, f fitFlags) error {
	var docs []*fitDoc
	perGroup := map[string]int{}
	for _, dir := range f.datasets {
		ds, err := evals.Load(dir)
		if ds == nil {
			return usageError{err}
		}
		for _, r := range ds.Rows {
			if s := evals.ScoreRow(r, pipeline.Extraction{}); !s.Scored() || r.Schema != "invoice" {
				continue
			}
			if f.maxPer > 0 && perGroup[r.Group] >= f.maxPer {
				continue
			}
			perGroup[r.Group]++
			schema, err := extract.Builtin(r.Schema)
			if err != nil {
				return err
			}
			doc, err := pdf.ParseFile(ctx, ds.Path(r), pdf.Options{})
			if err != nil {
				fmt.Fprintf(m.Stderr, "fit: %s: %v (skipped)\n", r.ID, err)
				continue
			}
			d := &fitDoc{row: r, family: evals.Family(r.Group), doc: doc, schema: schema, prep: rules.Prepare(doc, schema), right: map[string]map[string]bool{}}
			for _, spec := range schema.Fields {
				if _, ok := r.Expected[spec.Name]; ok && spec.Type != pipeline.TypeArray {
					d.fields = append(d.fields, spec.Name)
				}
			}
			docs = append(docs, d)
		}
	}
	var families []string
	for _, d := range docs {
		if !slices.Contains(families, d.family) {
			families = append(families, d.family)
		}
	}
	slices.Sort(families)
	fmt.Fprintf(m.Stderr, "fit: %d documents, %d families\n", len(docs), len(families))

	// Every fit starts from the hand-set weights, never from the committed
	// fitted ones, which have seen every family.
	w0 := rules.StartWeights
	fitOn := func(train []*fitDoc) rules.Weights {
		if f.sweeps == 0 {
			return rules.DefaultWeights
		}
		names, x0 := w0.Vector()
		steps := make([]float64, len(x0))
		for i, x := range x0 {
			steps[i] = max(0.5, 0.3*math.Abs(x))
			if names[i] == "threshold" {
				steps[i] = 0.5
			}
		}
		x, _ := evals.CoordinateAscent(x0, steps, func(x []float64) float64 {
			w, _ := rules.WeightsFromVector(x)
			return scalarAccuracy(train, w)
		}, f.sweeps, 1e-9)
		w, _ := rules.WeightsFromVector(x)
		return w
	}
	required := []string{}
	for _, spec := range docs[0].schema.Fields {
		if spec.Required {
			required = append(required, spec.Name)
		}
	}

	rep := FitReport{TargetAccuracy: 0.95}
	lofoScores := map[string]evals.RowScore{}
	lofoDocs := map[string]evals.DocScore{}
	var heldP []float64
	var heldRight []bool
	var heldPublic []bool
	for _, fam := range families {
		if err := ctx.Err(); err != nil {
			return err
		}
		var train, test []*fitDoc
		for _, d := range docs {
			if d.family == fam {
				test = append(test, d)
			} else {
				train = append(train, d)
			}
		}
		w := fitOn(train)
		xs := extractAll(docs, w)
		cal := fitCalibration(train, xs, required)
		for _, d := range test {
			x := calibrate(cal, xs[d], d.schema, required)
			s := evals.ScoreRow(d.row, x)
			lofoScores[d.row.ID] = s
			lofoDocs[d.row.ID] = evals.ScoreDocument(d.row, evals.Outcome{Extraction: x, Required: required})
			for _, fr := range s.Fields {
				fx, ok := x.Fields[fr.Field]
				if !ok || !fx.Found() || strings.Contains(fr.Field, ".") {
					continue
				}
				heldP = append(heldP, fx.Confidence)
				heldRight = append(heldRight, fr.Score == 1)
				heldPublic = append(heldPublic, !strings.HasPrefix(d.family, "synth"))
			}
		}
		fmt.Fprintf(m.Stderr, "fit: held out %s (%d documents)\n", fam, len(test))
	}
	// in-sample: fitted on everything; this is what --write commits
	wAll := fitOn(docs)
	rep.Weights = wAll
	xsAll := extractAll(docs, wAll)
	calAll := fitCalibration(docs, xsAll, required)
	inScores := map[string]evals.RowScore{}
	for _, d := range docs {
		inScores[d.row.ID] = evals.ScoreRow(d.row, calibrate(calAll, xsAll[d], d.schema, required))
	}

	// accuracy per family, public and synthetic, and per field
	collect := func(scores map[string]evals.RowScore, keep func(*fitDoc) bool) evals.Metrics {
		var ss []evals.RowScore
		for _, d := range docs {
			if keep(d) {
				ss = append(ss, scores[d.row.ID])
			}
		}
		return evals.Aggregate(ss)
	}
	scalarOnly := func(s evals.RowScore) evals.RowScore {
		var fs []evals.FieldResult
		for _, fr := range s.Fields {
			if !strings.Contains(fr.Field, ".") {
				fs = append(fs, fr)
			}
		}
		s.Fields, s.Items = fs, evals.ItemScore{}
		return s
	}
	scalar := func(scores map[string]evals.RowScore) map[string]evals.RowScore {
		out := map[string]evals.RowScore{}
		for k, s := range scores {
			out[k] = scalarOnly(s)
		}
		return out
	}
	for _, fam := range families {
		in := collect(inScores, func(d *fitDoc) bool { return d.family == fam })
		lo := collect(lofoScores, func(d *fitDoc) bool { return d.family == fam })
		ins := collect(scalar(inScores), func(d *fitDoc) bool { return d.family == fam })
		los := collect(scalar(lofoScores), func(d *fitDoc) bool { return d.family == fam })
		rep.Families = append(rep.Families, FamilyScore{Family: fam, Groups: in.Groups, Rows: in.Scored, InSample: in.Overall.Macro, LOFO: lo.Overall.Macro,
			InSampleScalar: ins.Overall.Macro, LOFOScalar: los.Overall.Macro})
	}
	public := func(d *fitDoc) bool { return !strings.HasPrefix(d.family, "synth") }
	synth := func(d *fitDoc) bool { return strings.HasPrefix(d.family, "synth") }
	pin, plo := collect(inScores, public), collect(lofoScores, public)
	sin, slo := collect(inScores, synth), collect(lofoScores, synth)
	rep.Public = Generalisation{InSample: pin.Overall.Macro, LOFO: plo.Overall.Macro, Groups: pin.Groups}
	rep.Synth = Generalisation{InSample: sin.Overall.Macro, LOFO: slo.Overall.Macro, Groups: sin.Groups}
	loField := map[string]float64{}
	for _, a := range plo.Fields {
		loField[a.Field] = a.Macro
	}
	for _, a := range pin.Fields {
		rep.Fields = append(rep.Fields, FieldGeneralisation{Field: a.Field, InSample: a.Macro, LOFO: loField[a.Field]})
	}
	rep.Fields = append(rep.Fields, FieldGeneralisation{Field: "line_items (item F1)", InSample: pin.Items.MacroF1, LOFO: plo.Items.MacroF1})

	// calibration of held-out predictions
	rep.Reliability = evals.Reliability(heldP, heldRight, 10)
	rep.ECE = evals.ECE(rep.Reliability)
	var pp []float64
	var pr []bool
	for i := range heldP {
		if heldPublic[i] {
			pp = append(pp, heldP[i])
			pr = append(pr, heldRight[i])
		}
	}
	rep.PublicReliability = evals.Reliability(pp, pr, 10)
	rep.PublicECE = evals.ECE(rep.PublicReliability)
	// automation of public documents at held-out document confidences
	var conf []float64
	var right []bool
	var groups []string
	for _, d := range docs {
		if !public(d) {
			continue
		}
		ds := lofoDocs[d.row.ID]
		c := ds.Confidence
		if ds.FailingIssues {
			c = 0 // a failing issue sends the document to review whatever its confidence
		}
		conf = append(conf, c)
		right = append(right, ds.RequiredCorrect)
		groups = append(groups, d.row.Group)
		if f.verbose {
			var wrong []string
			for _, fr := range ds.Fields {
				if fr.Score < 1 && slices.Contains(required, fr.Field) {
					wrong = append(wrong, fr.Field)
				}
			}
			var ps []string
			for _, fr := range ds.Fields {
				if slices.Contains(required, fr.Field) {
					ps = append(ps, fmt.Sprintf("%s=%.2f", fr.Field, fr.Confidence))
				}
			}
			fmt.Fprintf(m.Stderr, "fit: held-out %-50s confidence %.2f right %v %v %s\n", d.row.ID, c, ds.RequiredCorrect, wrong, strings.Join(ps, " "))
		}
	}
	rep.Automation = evals.AutomationCurve(conf, right, groups)
	rep.DocumentReliability = evals.Reliability(conf, right, 10)
	rep.DocumentECE = evals.ECE(rep.DocumentReliability)
	rep.Threshold = -1
	for _, p := range rep.Automation {
		if p.Threshold > 0 && p.Accuracy >= rep.TargetAccuracy {
			rep.Threshold, rep.AutomationRate, rep.AutomatedRight = p.Threshold, p.Automation, p.Accuracy
			break
		}
	}
	writeFitReport(m.Stdout, rep)
	names, before := rules.DefaultWeights.Vector()
	_, after := wAll.Vector()
	var changed []string
	for i := range names {
		if before[i] != after[i] {
			changed = append(changed, fmt.Sprintf("%s %g→%g", names[i], before[i], after[i]))
		}
	}
	fmt.Fprintf(m.Stdout, "\nweights fitted on everything, changed from the current ones: %s\n", strings.Join(append(changed, "(none)")[:max(1, len(changed))], ", "))
	if f.report != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(f.report, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	if f.write != "" {
		wb, _ := json.MarshalIndent(wAll, "", "  ")
		if err := os.WriteFile(filepath.Join(f.write, "extract", "rules", "weights.json"), append(wb, '\n'), 0o644); err != nil {
			return err
		}
		calAll.Fitted = fmt.Sprintf("fitted by extractor fit-rules on %d documents of %d families (%s)", len(docs), len(families), strings.Join(families, ", "))
		cb, _ := json.MarshalIndent(calAll, "", "  ")
		if err := os.WriteFile(filepath.Join(f.write, "extract", "calibration.json"), append(cb, '\n'), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(m.Stderr, "fit: wrote extract/rules/weights.json and extract/calibration.json under %s\n", f.write)
	}
	return nil
}

// scalarAccuracy is the objective the weights are fitted to: the share of
// labelled scalar values chosen right, per row, macro-averaged over
// groups (as the eval averages).
func scalarAccuracy(docs []*fitDoc, w rules.Weights) float64 {
	per := make([]float64, len(docs))
	var wg sync.WaitGroup
	var mu sync.Mutex // the correctness caches
	work := make(chan int)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				d := docs[i]
				ch := d.prep.Choose(w)
				if len(d.fields) == 0 {
					per[i] = -1
					continue
				}
				right := 0
				mu.Lock()
				for _, f := range d.fields {
					if c, ok := ch[f]; ok && d.correct(f, c.Raw) {
						right++
					}
				}
				mu.Unlock()
				per[i] = float64(right) / float64(len(d.fields))
			}
		}()
	}
	for i := range docs {
		work <- i
	}
	close(work)
	wg.Wait()
	groups := map[string][]float64{}
	var order []string
	for i, d := range docs {
		if per[i] < 0 {
			continue
		}
		if _, ok := groups[d.row.Group]; !ok {
			order = append(order, d.row.Group)
		}
		groups[d.row.Group] = append(groups[d.row.Group], per[i])
	}
	sort.Strings(order)
	sum := 0.0
	for _, g := range order {
		s := 0.0
		for _, v := range groups[g] {
			s += v
		}
		sum += s / float64(len(groups[g]))
	}
	if len(order) == 0 {
		return 0
	}
	return sum / float64(len(order))
}

// extractAll extracts every document with w and runs the checks, without
// calibration (its signals are what calibration is fitted on).
func extractAll(docs []*fitDoc, w rules.Weights) map[*fitDoc]pipeline.Extraction {
	out := map[*fitDoc]pipeline.Extraction{}
	for _, d := range docs {
		x := d.prep.Extraction(w)
		out[d] = extract.Checks{}.Validate(d.doc, d.schema, x, nil)
	}
	return out
}

// fitCalibration fits the field model on the documents' checked fields
// (signals and whether each was right), then the document model on their
// required fields' estimates.
func fitCalibration(docs []*fitDoc, xs map[*fitDoc]pipeline.Extraction, required []string) extract.Calibration {
	cal := extract.Calibration{Version: "calibration/1", Extractor: "rules", Signals: pipeline.SignalNames, Bias: map[string]float64{}}
	for _, name := range cal.Signals {
		scale := 1.0
		if name == "score" || name == "margin" {
			scale = 0.1
		}
		cal.Scale = append(cal.Scale, scale)
	}
	var fields []string
	for _, spec := range docs[0].schema.Fields {
		if spec.Type != pipeline.TypeArray {
			fields = append(fields, spec.Name)
		}
	}
	var samples []evals.Sample
	for _, d := range docs {
		x := xs[d]
		s := evals.ScoreRow(d.row, x)
		for _, fr := range s.Fields {
			fx, ok := x.Fields[fr.Field]
			if !ok || !fx.Found() || strings.Contains(fr.Field, ".") {
				continue
			}
			samples = append(samples, evals.Sample{X: calFeatures(cal, fields, fr.Field, fx.Signals), Correct: fr.Score == 1, Group: d.row.Group})
		}
	}
	w, b := evals.FitLogistic(samples, 0.01)
	n := len(cal.Signals)
	cal.Weights = w[:n]
	// A signal that never varies in the training documents (every value
	// grounded, no second extractor, no plausibility issue) cannot be
	// fitted; it gets a prior weight, stated here, and the bias keeps the
	// training predictions unchanged.
	priors := map[string]float64{"grounded": 3, "valid": 2, "agree": 1, "implausible": -3}
	for i, name := range cal.Signals {
		prior, ok := priors[name]
		if !ok || len(samples) == 0 {
			continue
		}
		c := samples[0].X[i]
		constant := true
		for _, sm := range samples {
			if sm.X[i] != c {
				constant = false
				break
			}
		}
		if constant {
			b -= (prior - cal.Weights[i]) * c
			cal.Weights[i] = prior
		}
	}
	cal.DefaultBias = b
	for i, f := range fields {
		cal.Bias[f] = b + w[n+i]
	}
	// the document's estimate is the product of its required fields'
	// (σ(0 + 1·Σ log p)): fitting a slope on documents that are nearly all
	// right either overfits them or, regularised, flattens every document
	// to one number; the product keeps the fields' evidence and is
	// checked on held-out documents (the report's document reliability).
	cal.Document.A, cal.Document.B = 0, 1
	return cal
}

// calFeatures are a field's model inputs: its signals, then one indicator
// per field (the field's own bias).
func calFeatures(cal extract.Calibration, fields []string, field string, s pipeline.Signals) []float64 {
	x := make([]float64, 0, len(cal.Signals)+len(fields))
	for i, name := range cal.Signals {
		x = append(x, cal.Scale[i]*s.Get(name))
	}
	for _, f := range fields {
		v := 0.0
		if f == field {
			v = 1
		}
		x = append(x, v)
	}
	return x
}

// calibrate sets the fields' confidences (and, with required, the
// document's) from a calibration, as Finalize does with the committed one.
func calibrate(cal extract.Calibration, x pipeline.Extraction, s pipeline.Schema, required []string) pipeline.Extraction {
	fields := make(map[string]pipeline.Field, len(x.Fields))
	for name, f := range x.Fields {
		if f.Found() {
			f.Confidence = math.Round(cal.Field(name, f.Signals)*100) / 100
		}
		fields[name] = f
	}
	x.Fields = fields
	if required != nil {
		var ps []float64
		for _, r := range required {
			ps = append(ps, fields[r].Confidence)
		}
		x.Confidence = math.Round(cal.DocumentConfidence(ps)*100) / 100
	}
	return x
}

func writeFitReport(w io.Writer, r FitReport) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "family\tgroups\trows\tin-sample\tLOFO\tscalar in\tscalar LOFO\t")
	for _, f := range r.Families {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.3f\t%.3f\t%.3f\t%.3f\t\n", f.Family, f.Groups, f.Rows, f.InSample, f.LOFO, f.InSampleScalar, f.LOFOScalar)
	}
	tw.Flush()
	fmt.Fprintf(w, "\npublic (macro over %d groups): all fields in-sample %.3f, LOFO %.3f\n", r.Public.Groups, r.Public.InSample, r.Public.LOFO)
	fmt.Fprintf(w, "synthetic (macro over %d groups): all fields in-sample %.3f, LOFO %.3f\n\n", r.Synth.Groups, r.Synth.InSample, r.Synth.LOFO)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "public field\tin-sample\tLOFO\t")
	for _, f := range r.Fields {
		fmt.Fprintf(tw, "%s\t%.3f\t%.3f\t\n", f.Field, f.InSample, f.LOFO)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nreliability of held-out field confidences (all; public only)\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "bin\tn\tpredicted\tobserved\tpublic n\tpredicted\tobserved\t")
	for i, b := range r.Reliability {
		p := r.PublicReliability[i]
		fmt.Fprintf(tw, "%.1f-%.1f\t%d\t%.3f\t%.3f\t%d\t%.3f\t%.3f\t\n", b.Low, b.High, b.N, b.Predicted, b.Observed, p.N, p.Predicted, p.Observed)
	}
	tw.Flush()
	fmt.Fprintf(w, "ECE %.3f (public only %.3f)\n\n", r.ECE, r.PublicECE)
	fmt.Fprintf(w, "reliability of held-out public document confidences (every required field right)\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "bin\tn\tpredicted\tobserved\t")
	for _, b := range r.DocumentReliability {
		fmt.Fprintf(tw, "%.1f-%.1f\t%d\t%.3f\t%.3f\t\n", b.Low, b.High, b.N, b.Predicted, b.Observed)
	}
	tw.Flush()
	fmt.Fprintf(w, "document ECE %.3f\n\n", r.DocumentECE)
	fmt.Fprintf(w, "automation of public documents at held-out document confidence (macro per group)\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "threshold\tautomated\tfully right\tdocuments\t")
	for _, p := range r.Automation {
		fmt.Fprintf(tw, "%.2f\t%.3f\t%.3f\t%d\t\n", p.Threshold, p.Automation, p.Accuracy, p.N)
	}
	tw.Flush()
	if r.Threshold < 0 {
		fmt.Fprintf(w, "no threshold reaches %.0f%% fully right\n", 100*r.TargetAccuracy)
	} else {
		fmt.Fprintf(w, "lowest threshold reaching %.0f%% fully right: %.2f, automating %.3f of public documents (%.3f of them fully right)\n",
			100*r.TargetAccuracy, r.Threshold, r.AutomationRate, r.AutomatedRight)
	}
}
