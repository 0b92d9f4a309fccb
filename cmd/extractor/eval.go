package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/extractor-dev/extractor/evals"
	"github.com/extractor-dev/extractor/pipeline"
)

type evalFlags struct {
	runFlags
	datasets  []string
	report    string
	retrieval bool
}

func (m *Main) evalCommand() *cobra.Command {
	var f evalFlags
	cmd := &cobra.Command{
		Use:   "eval --dataset DIR [--dataset DIR ...]",
		Short: "Run the pipeline over labelled datasets and report field accuracy",
		Long: `Run the pipeline over datasets in the shared corpus format (dataset.jsonl and
files/) and score every labelled field with typed comparison (money as decimals,
dates as dates, identifiers normalized, names fuzzily). Accuracy is reported per
field, macro-averaged per group (repeated renderings of one document count once)
and micro-averaged. Rows labelled "mismatch" or "unlabelled" and hostile rows
are not scored; malformed rows are reported and skipped. Each eval is recorded
as a run (one per schema), cached and traced like 'extractor run'.

--retrieval also scores search: from each labelled invoice it asks what a clerk
would ask (its total, due date, IBAN and first line item, in the invoice's
language, naming the invoice number and vendor), knowing the pages the answer is
printed on. Each question is searched among the dataset's documents in vector,
full-text and hybrid mode; a hit is a chunk of an answer page of the right
document. Reported: recall@1, @5, @10 and the mean reciprocal rank.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(f.datasets) == 0 {
				return usageError{errors.New("--dataset is required")}
			}
			return m.runEval(cmd.Context(), f)
		},
	}
	m.addPipelineFlags(cmd, &f.runFlags)
	fl := cmd.Flags()
	fl.StringArrayVar(&f.datasets, "dataset", nil, "dataset folder (repeatable)")
	fl.StringVar(&f.report, "out", "", "write the metrics and per-row scores as JSON here")
	fl.BoolVar(&f.retrieval, "retrieval", false, "also score retrieval (needs the database): questions on the invoices' facts, recall@k and MRR of vector, full-text and hybrid search")
	return cmd
}

type evalReport struct {
	Datasets  []string         `json:"datasets"`
	Runs      []string         `json:"runs"`
	Metrics   evals.Metrics    `json:"metrics"`
	Rows      []evals.RowScore `json:"rows"`
	Retrieval *retrievalReport `json:"retrieval,omitempty"`
}

func (m *Main) runEval(ctx context.Context, f evalFlags) error {
	cfg, err := loadConfig(f.configPath)
	if err != nil {
		return usageError{err}
	}
	if f.retrieval && (f.noStore || m.databaseURL(cfg) == "") {
		return errNoDatabase
	}
	type job struct {
		ds  *evals.Dataset
		row evals.Row
	}
	bySchema := map[string][]job{}
	var order []string
	for _, dir := range f.datasets {
		ds, err := evals.Load(dir)
		if ds == nil {
			return usageError{err}
		}
		if err != nil {
			fmt.Fprintf(m.Stderr, "extractor: %s: rows rejected:\n%v\n", dir, err)
		}
		for _, r := range ds.Rows {
			if r.Hostile() || r.Schema == "" {
				continue
			}
			name := firstNonEmpty(f.schema, r.Schema)
			if _, ok := bySchema[name]; !ok {
				order = append(order, name)
			}
			bySchema[name] = append(bySchema[name], job{ds, r})
		}
	}
	var scores []evals.RowScore
	var runs []string
	failed := 0
	var rows []evals.Row
	docs := map[string]pipeline.Document{}
	for _, name := range order {
		jobs := bySchema[name]
		s := m.settings(f.runFlags, cfg)
		s.Schema = name
		files := make([]string, len(jobs))
		for i, j := range jobs {
			files[i], _ = filepath.Abs(j.ds.Path(j.row))
		}
		ps, err := m.setupPipeline(ctx, s, files, nil, m.stateDir(f.state), m.databaseURL(cfg))
		if err != nil {
			return err
		}
		if ps.note != "" {
			fmt.Fprintln(m.Stderr, "extractor:", ps.note)
		}
		runs = append(runs, ps.run.ID)
		part := make([]evals.RowScore, len(jobs))
		var sum runSummary
		err = ps.process(ctx, files, f.concurrency, m.Stop, &sum, func(i int, r pipeline.Result) error {
			if r.Err != nil {
				failed++
				fmt.Fprintf(m.Stderr, "extractor: %s: %s\n", jobs[i].row.ID, reason(r.Err))
			}
			x := pipeline.Extraction{}
			if r.Extraction != nil && r.Err == nil {
				x = *r.Extraction
			}
			part[i] = evals.ScoreRow(jobs[i].row, x) // a failed document scores as all missed
			rows = append(rows, jobs[i].row)
			if r.Document.ID != "" {
				docs[jobs[i].row.ID] = r.Document
			}
			return nil
		})
		ps.ensureIndex(ctx, m.Stderr)
		ps.run.Counts = sum.counts(ps.run.Counts, false)
		status := "finished"
		if sum.interrupted > 0 {
			status = "interrupted"
		}
		if ferr := ps.finish(status); err == nil {
			err = ferr
		}
		if err != nil {
			return err
		}
		scores = append(scores, part...)
	}
	metrics := evals.Aggregate(scores)
	if err := metrics.WriteTable(m.Stdout); err != nil {
		return err
	}
	if failed > 0 {
		fmt.Fprintf(m.Stdout, "%d documents failed to extract (scored as missed)\n", failed)
	}
	fmt.Fprintf(m.Stdout, "runs: %s\n", strings.Join(runs, " "))
	report := evalReport{Datasets: f.datasets, Runs: runs, Metrics: metrics, Rows: scores}
	if f.retrieval {
		if report.Retrieval, err = m.evalRetrieval(ctx, f, rows, docs); err != nil {
			return err
		}
	}
	if f.report != "" {
		b, err := json.MarshalIndent(report, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(f.report, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}
