package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/extractor-dev/extractor/evals"
	"github.com/extractor-dev/extractor/extract"
	"github.com/extractor-dev/extractor/extract/pdf"
	"github.com/extractor-dev/extractor/pipeline"
)

type evalFlags struct {
	runFlags
	datasets []string
	report   string
}

func (m *Main) evalCommand() *cobra.Command {
	var f evalFlags
	cmd := &cobra.Command{
		Use:   "eval --dataset DIR [--dataset DIR ...]",
		Short: "Run the extractor over labelled datasets and report field accuracy",
		Long: `Run the extractor over datasets in the shared corpus format (dataset.jsonl and
files/) and score every labelled field with typed comparison (money as decimals,
dates as dates, identifiers normalized, names fuzzily). Accuracy is reported per
field, macro-averaged per group (repeated renderings of one document count once)
and micro-averaged. Rows labelled "mismatch" or "unlabelled" and hostile rows
are not scored; malformed rows are reported and skipped.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(f.datasets) == 0 {
				return usageError{errors.New("--dataset is required")}
			}
			return m.runEval(cmd.Context(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.datasets, "dataset", nil, "dataset folder (repeatable)")
	fl.StringVar(&f.report, "out", "", "write the metrics and per-row scores as JSON here")
	fl.StringVar(&f.configPath, "config", "", "YAML config file (as for run)")
	fl.StringVar(&f.schema, "schema", "", `schema (default: the dataset rows' own, "invoice" or "nda")`)
	fl.StringVar(&f.extractor, "extractor", "auto", "llm, rules, or auto")
	fl.StringVar(&f.baseURL, "llm-base-url", "", "OpenAI-compatible API base URL")
	fl.StringVar(&f.model, "llm-model", "", "model name")
	fl.StringVar(&f.prices, "prices", "", "price table JSON file")
	fl.IntVar(&f.concurrency, "concurrency", 2, "documents processed at once")
	fl.DurationVar(&f.timeout, "parse-timeout", pdf.DefaultTimeout, "time limit for parsing one file")
	fl.BoolVar(&f.isolate, "isolate", true, "parse each file in a child process")
	return cmd
}

type evalReport struct {
	Datasets []string         `json:"datasets"`
	Metrics  evals.Metrics    `json:"metrics"`
	Rows     []evals.RowScore `json:"rows"`
}

func (m *Main) runEval(ctx context.Context, f evalFlags) error {
	cfg, err := loadConfig(f.configPath)
	if err != nil {
		return usageError{err}
	}
	type job struct {
		ds  *evals.Dataset
		row evals.Row
	}
	var jobs []job
	for _, dir := range f.datasets {
		ds, err := evals.Load(dir)
		if ds == nil {
			return usageError{err}
		}
		if err != nil {
			fmt.Fprintf(m.Stderr, "extractor: %s: rows rejected:\n%v\n", dir, err)
		}
		for _, r := range ds.Rows {
			if !r.Hostile() && r.Schema != "" {
				jobs = append(jobs, job{ds, r})
			}
		}
	}
	schemas := map[string]pipeline.Schema{}
	extractors := map[string]pipeline.Extractor{}
	for _, j := range jobs {
		name := firstNonEmpty(f.schema, j.row.Schema)
		if _, ok := schemas[name]; ok {
			continue
		}
		s, err := extract.LoadSchema(name)
		if err != nil {
			return usageError{err}
		}
		ex, note, err := m.extractorFor(f.runFlags, cfg, s)
		if err != nil {
			return err
		}
		if note != "" {
			fmt.Fprintln(m.Stderr, "extractor:", note)
		}
		schemas[name], extractors[name] = s, ex
	}
	parse := m.parser(pdf.Options{Timeout: f.timeout}, f.isolate)

	scores := make([]evals.RowScore, len(jobs))
	failed := 0
	err = ordered(ctx, len(jobs), f.concurrency, func(ctx context.Context, i int) error {
		j := jobs[i]
		name := firstNonEmpty(f.schema, j.row.Schema)
		var x pipeline.Extraction
		doc, err := parse(ctx, j.ds.Path(j.row))
		if err == nil {
			x, err = extractors[name].Extract(ctx, doc, schemas[name])
		}
		scores[i] = evals.ScoreRow(j.row, x) // a failed document scores as all missed
		return err
	}, func(i int, err error) error {
		if err != nil {
			failed++
			fmt.Fprintf(m.Stderr, "extractor: %s: %s\n", jobs[i].row.ID, reason(err))
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	metrics := evals.Aggregate(scores)
	if err := metrics.WriteTable(m.Stdout); err != nil {
		return err
	}
	if failed > 0 {
		fmt.Fprintf(m.Stdout, "%d documents failed to extract (scored as missed)\n", failed)
	}
	if f.report != "" {
		b, err := json.MarshalIndent(evalReport{Datasets: f.datasets, Metrics: metrics, Rows: scores}, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(f.report, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}
