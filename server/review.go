package server

import (
	"context"

	"github.com/extractor-dev/extractor/evals"
	"github.com/extractor-dev/extractor/pipeline"
	"github.com/extractor-dev/extractor/tracing"
)

// Review is what the web pages read: runs and their results, documents
// with their pages and extractions, traces, and the latest eval report.
// Each fails with ErrNotFound for what does not exist.
type Review interface {
	Runs(ctx context.Context, limit int) ([]pipeline.Run, error)
	RunResults(ctx context.Context, runID string) (pipeline.Run, []ResultRow, error)
	DocumentView(ctx context.Context, id string) (DocumentView, error)
	Spans(ctx context.Context, traceID string) ([]tracing.Span, error)
	// EvalReport is the latest eval report (ErrNotFound when there is none).
	EvalReport(ctx context.Context) (evals.Report, error)
}

// ResultRow is one document's result in a run: the line 'extractor run'
// wrote for it, and its main facts.
type ResultRow struct {
	DocumentID string              `json:"document_id"`
	File       string              `json:"file"`
	Status     string              `json:"status"`
	DurationMS int64               `json:"duration_ms"`
	CostUSD    float64             `json:"cost_usd"`
	TraceID    string              `json:"trace_id"`
	Line       pipeline.ResultLine `json:"line"`
}

// DocumentView is a stored document with its pages (lines with their
// boxes) and its latest extraction.
type DocumentView struct {
	ID     string          `json:"id"`
	Source string          `json:"source"`
	Status string          `json:"status"`
	Pages  []pipeline.Page `json:"pages"`
	// Extraction is the latest extraction (nil when there is none); RunID
	// the run that made it.
	Extraction *pipeline.Extraction `json:"extraction,omitempty"`
	RunID      string               `json:"run_id"`
	// TraceID is the trace of the latest result of the document, when
	// known.
	TraceID string `json:"trace_id"`
}
