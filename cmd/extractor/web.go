package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/extractor-dev/extractor/evals"
	"github.com/extractor-dev/extractor/pipeline"
	"github.com/extractor-dev/extractor/server"
	"github.com/extractor-dev/extractor/store"
	"github.com/extractor-dev/extractor/tracing"
)

// review is what the web pages read (server.Review), from the store and
// the eval report file (config server.eval_report: a report's JSON).
type review struct {
	s          *service
	evalReport string
}

func notFound(err error, what string) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %s", server.ErrNotFound, what)
	}
	return err
}

func (r review) Runs(ctx context.Context, limit int) ([]pipeline.Run, error) {
	return r.s.st.Runs(ctx, limit)
}

func (r review) RunResults(ctx context.Context, runID string) (pipeline.Run, []server.ResultRow, error) {
	run, _, err := r.s.st.Run(ctx, runID)
	if err != nil {
		return run, nil, notFound(err, "run "+runID+" is not in the database. A run made without one (no EXTRACTOR_DATABASE_URL, or --no-store) "+
			"is kept only in its state directory, where 'extractor runs' and 'extractor traces' read it; "+
			"to see runs here, run with EXTRACTOR_DATABASE_URL set to this service's database")
	}
	rows, err := r.s.st.Results(ctx, runID)
	if err != nil {
		return run, nil, err
	}
	out := make([]server.ResultRow, len(rows))
	for i, x := range rows {
		out[i] = server.ResultRow{DocumentID: x.DocumentID, File: x.File, Status: x.Status, DurationMS: x.DurationMS,
			CostUSD: x.CostUSD, TraceID: x.TraceID, Line: x.Result}
	}
	return run, out, nil
}

func (r review) DocumentView(ctx context.Context, id string) (server.DocumentView, error) {
	d, err := r.s.st.Document(ctx, id)
	if err != nil {
		return server.DocumentView{}, notFound(err, "document "+id)
	}
	pages, err := r.s.st.Pages(ctx, id)
	if err != nil {
		return server.DocumentView{}, err
	}
	v := server.DocumentView{ID: d.ID, Source: d.Source, Status: d.Status, Pages: pages, RunID: d.LastRunID}
	if len(d.Extractions) > 0 {
		x := d.Extractions[0].Extraction
		v.Extraction, v.RunID = &x, d.Extractions[0].RunID
	}
	if v.RunID != "" {
		// A run from before results were kept has none: no trace link.
		if row, err := r.s.st.Result(ctx, v.RunID, id); err == nil {
			v.TraceID = row.TraceID
		}
	}
	return v, nil
}

func (r review) Spans(ctx context.Context, traceID string) ([]tracing.Span, error) {
	spans, err := r.s.st.Spans(ctx, traceID)
	if err == nil && len(spans) == 0 {
		return nil, fmt.Errorf("%w: trace %s", server.ErrNotFound, traceID)
	}
	return spans, err
}

func (r review) EvalReport(ctx context.Context) (evals.Report, error) {
	if r.evalReport == "" {
		return evals.Report{}, fmt.Errorf("%w: no eval report configured (server.eval_report: the JSON of 'extractor eval --out')", server.ErrNotFound)
	}
	rep, err := evals.ReadReport(r.evalReport)
	if errors.Is(err, os.ErrNotExist) {
		return rep, fmt.Errorf("%w: %s does not exist yet", server.ErrNotFound, r.evalReport)
	}
	return rep, err
}
