package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/extractor-dev/extractor/evals"
	"github.com/extractor-dev/extractor/pipeline"
)

type evalFlags struct {
	runFlags
	datasets       []string
	report         string
	html           string
	csv            string
	baseline       string
	gate           string
	repeat         int
	threshold      float64
	targetAccuracy float64
	retrieval      bool
	redact         bool
}

func (m *Main) evalCommand() *cobra.Command {
	var f evalFlags
	cmd := &cobra.Command{
		Use:   "eval --dataset DIR [--dataset DIR ...]",
		Short: "Run the pipeline over labelled datasets and report field accuracy and business metrics",
		Long: `Run the pipeline over datasets in the shared corpus format (dataset.jsonl and
files/) and score every labelled field with typed comparison (money as decimals,
dates as dates, identifiers normalized, names fuzzily, line items matched one to
one, nda parties as a set). A value extracted for a field the label does not have
is not counted. Rows labelled "mismatch" or "unlabelled" and hostile rows are not
run, and are listed as excluded; malformed rows are reported and skipped.

Besides field accuracy it reports what matters to the business, macro-averaged
per group (repeated renderings of one document count once) with 95% bootstrap
intervals over groups: the straight-through rate (every required field correct,
no failing issue), document accuracy, the hallucination rate (values not found
on their page), the automation rate at a confidence threshold and the accuracy
of the automated documents, the threshold that reaches a target accuracy, the
exception rate by reason, cost per document and per correct document, latency
p50/p95, tokens and attempts per document. --repeat runs every document N times
without the cache and reports how much the results vary.

--baseline compares with an earlier report (the JSON of --out): deltas per
metric and field, and every value read differently. --gate applies a YAML gate
(minimums, maximums, allowed drops against the baseline). Exit codes: 0 passed,
3 the gate failed, 1 a runtime error, 2 a usage error.

Reports: a summary on stdout, --out JSON (stable keys, see README; --redact
leaves out labels, values and quotes, for a baseline to commit), --csv one line
per labelled value, --html a self-contained page (no remote resources).
Every document's score carries its trace id; each eval is recorded as runs
(one per schema and repeat), cached and traced like 'extractor run'.

--retrieval also scores search (needs the database): from each labelled invoice
it asks what a clerk would ask (its total, due date, IBAN and first line item,
in the invoice's language, naming the invoice number and vendor), knowing the
pages the answer is printed on, in vector, full-text and hybrid mode, and
reports recall@1, @5, @10 and the mean reciprocal rank.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(f.datasets) == 0 {
				return usageError{errors.New("--dataset is required")}
			}
			if f.repeat < 1 {
				return usageError{fmt.Errorf("--repeat %d: want 1 or more", f.repeat)}
			}
			if f.threshold < 0 || f.threshold > 1 || f.targetAccuracy <= 0 || f.targetAccuracy > 1 {
				return usageError{errors.New("--threshold and --target-accuracy are shares between 0 and 1")}
			}
			return m.runEval(cmd.Context(), f)
		},
	}
	m.addPipelineFlags(cmd, &f.runFlags)
	fl := cmd.Flags()
	fl.StringArrayVar(&f.datasets, "dataset", nil, "dataset folder (repeatable)")
	fl.StringVar(&f.report, "out", "", "write the report as JSON here")
	fl.BoolVar(&f.redact, "redact", false, "write --out without labels, values, quotes and issue messages: a baseline that can be committed when the documents must not be")
	fl.StringVar(&f.html, "html", "", "write the report as a self-contained HTML page here")
	fl.StringVar(&f.csv, "csv", "", "write every labelled value's outcome as CSV here")
	fl.StringVar(&f.baseline, "baseline", "", "compare with this earlier report (JSON of --out)")
	fl.StringVar(&f.gate, "gate", "", "YAML gate: exit 3 when the results do not reach it")
	fl.IntVar(&f.repeat, "repeat", 1, "run every document this many times (without the cache) to see the model's variance")
	fl.Float64Var(&f.threshold, "threshold", 0.8, "confidence threshold for the automation rate")
	fl.Float64Var(&f.targetAccuracy, "target-accuracy", 0.95, "accuracy the automated documents should reach")
	fl.BoolVar(&f.retrieval, "retrieval", false, "also score retrieval (needs the database): recall@k and MRR of vector, full-text and hybrid search")
	return cmd
}

// errGateFailed: the eval ran, and the gate failed (exit 3).
var errGateFailed = errors.New("the gate failed")

func (m *Main) runEval(ctx context.Context, f evalFlags) error {
	cfg, err := loadConfig(f.configPath)
	if err != nil {
		return usageError{err}
	}
	if f.retrieval && (f.noStore || m.databaseURL(cfg) == "") {
		return errNoDatabase
	}
	var gate *evals.Gate
	if f.gate != "" {
		g, err := evals.ReadGate(f.gate)
		if err != nil {
			return usageError{err}
		}
		if g.NeedsBaseline() && f.baseline == "" {
			return usageError{fmt.Errorf("%s: %w", f.gate, evals.ErrGateNeedsBaseline)}
		}
		gate = &g
	}
	var base *evals.Report
	if f.baseline != "" {
		b, err := evals.ReadReport(f.baseline)
		if err != nil {
			return usageError{fmt.Errorf("--baseline: %w", err)}
		}
		base = &b
	}

	type job struct {
		ds  *evals.Dataset
		row evals.Row
	}
	bySchema := map[string][]job{}
	var order []string
	var docs []evals.DocScore
	for _, dir := range f.datasets {
		ds, err := evals.Load(dir)
		if ds == nil {
			return usageError{err}
		}
		if err != nil {
			fmt.Fprintf(m.Stderr, "extractor: %s: rows rejected:\n%v\n", dir, err)
		}
		for _, r := range ds.Rows {
			// Rows that cannot be scored are not run: they are listed.
			if s := evals.ScoreRow(r, pipeline.Extraction{}); !s.Scored() {
				docs = append(docs, evals.DocScore{RowScore: s, Repeat: 1})
				continue
			}
			name := firstNonEmpty(f.schema, r.Schema)
			if _, ok := bySchema[name]; !ok {
				order = append(order, name)
			}
			bySchema[name] = append(bySchema[name], job{ds, r})
		}
	}
	var runs []string
	versions := map[string]string{}
	var rows []evals.Row
	parsed := map[string]pipeline.Document{}
	failed := 0
	for rep := 1; rep <= f.repeat; rep++ {
		for _, name := range order {
			jobs := bySchema[name]
			s := m.settings(f.runFlags, cfg)
			s.Schema = name
			if f.repeat > 1 {
				s.NoCache = true // each repeat asks the model again
			}
			files := make([]string, len(jobs))
			for i, j := range jobs {
				files[i], _ = filepath.Abs(j.ds.Path(j.row))
			}
			ps, err := m.setupPipeline(ctx, s, files, nil, m.stateDir(f.state), m.databaseURL(cfg), f.concurrency)
			if err != nil {
				return err
			}
			if ps.note != "" && rep == 1 {
				fmt.Fprintln(m.Stderr, "extractor:", ps.note)
			}
			runs = append(runs, ps.run.ID)
			if len(versions) == 0 {
				for k, v := range ps.run.Versions {
					versions[k] = v
				}
			}
			var required []string
			for _, fs := range ps.schema.Fields {
				if fs.Required {
					required = append(required, fs.Name)
				}
			}
			prog := m.newProgress(len(files))
			b := ps.batch(f.concurrency, m.Stop)
			err = b.Process(ctx, inputsOf(files), func(i int, r pipeline.Result, _ pipeline.ResultLine) error {
				prog.done(r, b.Counts, b.Spent)
				o := evals.Outcome{File: r.File, DocumentID: r.Document.ID, TraceID: r.TraceID, RunID: ps.run.ID, Repeat: rep,
					Required: required, Latency: r.Duration, CacheHits: r.CacheHits()}
				if r.Extraction != nil {
					o.Extraction = *r.Extraction
				}
				if r.Err != nil {
					failed++
					o.Failed, o.Error = true, reason(r.Err)
					var se *pipeline.StepError
					if errors.As(r.Err, &se) {
						o.FailedStep = se.Step
					}
					prog.log(fmt.Sprintf("extractor: %s: %s", jobs[i].row.ID, o.Error))
				}
				docs = append(docs, evals.ScoreDocument(jobs[i].row, o))
				if rep == 1 {
					rows = append(rows, jobs[i].row)
					if r.Document.ID != "" {
						parsed[jobs[i].row.ID] = r.Document
					}
				}
				return nil
			})
			prog.finish()
			ps.ensureIndex(ctx, m.Stderr)
			status := "finished"
			if b.Counts.Interrupted > 0 {
				status = "interrupted"
			}
			if ferr := ps.finish(status); err == nil {
				err = ferr
			}
			if err != nil {
				return err
			}
			if n := b.Counts.Interrupted; n > 0 {
				return fmt.Errorf("the eval was interrupted: %d documents not done", n)
			}
		}
	}

	report := evals.NewReport(docs, evals.BusinessOptions{Threshold: f.threshold, TargetAccuracy: f.targetAccuracy})
	report.Datasets, report.Runs, report.Versions = f.datasets, runs, versions
	if base != nil {
		report.Compare(f.baseline, *base)
	}
	if gate != nil {
		if err := gate.Check(f.gate, &report); err != nil {
			return usageError{err}
		}
	}
	if f.retrieval {
		if report.Retrieval, err = m.evalRetrieval(ctx, f, rows, parsed); err != nil {
			return err
		}
	}
	if _, err := io.WriteString(m.Stdout, report.Summary()); err != nil {
		return err
	}
	if failed > 0 {
		fmt.Fprintf(m.Stdout, "%d documents failed (scored as missed)\n", failed)
	}
	fmt.Fprintf(m.Stdout, "runs: %v\n", runs)
	jsonReport := report
	if f.redact {
		jsonReport = report.Redact()
	}
	for _, out := range []struct {
		path  string
		write func(io.Writer) error
	}{{f.report, jsonReport.WriteJSON}, {f.csv, report.WriteFieldsCSV}, {f.html, report.WriteHTML}} {
		if out.path == "" {
			continue
		}
		if err := writeFile(out.path, out.write); err != nil {
			return err
		}
	}
	if report.Gate != nil && !report.Gate.Passed {
		return errGateFailed
	}
	return nil
}

// writeFile writes a file through w, whole or not at all: through a
// temporary file renamed over path. A path that is not a regular file
// (/dev/null, /dev/stdout, a named pipe) is written to as it is, never
// replaced.
func writeFile(path string, write func(io.Writer) error) error {
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		if fi.IsDir() {
			return fmt.Errorf("%s is a directory", path)
		}
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		return errors.Join(write(f), f.Close())
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
