package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.opentelemetry.io/otel/trace"

	"github.com/extractor-dev/extractor/history"
	"github.com/extractor-dev/extractor/pipeline"
	"github.com/extractor-dev/extractor/tracing"
)

// The review commands (runs, traces, lineage, diff) read what runs left in
// the state directory: manifests, step records, result lines, spans and
// the step cache. They never run a step and never need the network.

// history reads the runs of a state directory, their step outputs from
// its cache and their files from the disk.
func (m *Main) history(state string) history.History {
	st := m.stateDir(state)
	h := history.History{Records: pipeline.LocalRecords{State: st}, Outputs: pipeline.DirCache{Dir: filepath.Join(st, "cache")},
		FileHash: pipeline.FileHash}
	if dsn := m.Getenv("EXTRACTOR_DATABASE_URL"); dsn != "" { // runs made elsewhere: queued runs, uploads (records.go)
		h.Records = layeredRecords{local: pipeline.LocalRecords{State: st}, dsn: dsn}
		h.Outputs = layeredOutputs{local: pipeline.DirCache{Dir: filepath.Join(st, "cache")}, dsn: dsn}
	}
	return h
}

// latestRun opens the run given (any unique part of its id), or the
// latest one.
func latestRun(ctx context.Context, h history.History, runPart string) (*history.Run, error) {
	if runPart != "" {
		return h.Open(ctx, runPart)
	}
	runs, err := h.Runs(ctx)
	if err != nil {
		return nil, err
	}
	if len(runs) == 0 {
		return nil, usageError{errors.New("no runs yet (start one with 'extractor run', or give --state)")}
	}
	return h.Open(ctx, runs[len(runs)-1].ID)
}

func shortDoc(id string) string {
	if id == "" {
		return "-"
	}
	return id[:min(12, len(id))]
}

func shortHash(h string) string {
	if h == "" {
		return "-"
	}
	return h[:min(12, len(h))]
}

// formatMS prints a duration in milliseconds the way spans print theirs.
func formatMS(ms float64) string {
	d := time.Duration(ms * float64(time.Millisecond))
	switch {
	case d < time.Second:
		return strconv.FormatFloat(ms, 'f', 1, 64) + "ms"
	case d < time.Minute:
		return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + "s"
	}
	return d.Round(100 * time.Millisecond).String()
}

// formatCost prints a cost: "?" when tokens were spent on a model not in
// the price table.
func formatCost(u pipeline.Usage) string {
	if u.Prices == "" && (u.InputTokens > 0 || u.OutputTokens > 0) {
		return "?"
	}
	return "$" + strconv.FormatFloat(u.CostUSD, 'f', 6, 64)
}

func writeJSONLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// ---------------------------------------------------------------- runs

func (m *Main) runsCommand() *cobra.Command {
	var state string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List the recorded runs, oldest first",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			st := m.stateDir(state)
			runs, err := m.history(state).Runs(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				for _, r := range runs {
					if err := writeJSONLine(m.Stdout, r); err != nil {
						return err
					}
				}
				return nil
			}
			if len(runs) == 0 {
				fmt.Fprintf(m.Stdout, "no runs in %s\n", pipeline.RunsDir(st))
				return nil
			}
			tw := tabwriter.NewWriter(m.Stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "RUN\tSTATUS\tDOCS\tOK\tFAILED\tREVIEW\tCACHED\tTOKENS\tSPENT\tEXTRACTOR\tSTARTED")
			for _, r := range runs {
				c := r.Counts
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d/%d\t%s\t%s\t%s\n", r.ID, r.Status, c.Documents, c.OK, c.Failed+c.Interrupted,
					c.Review, c.CacheHits, r.Spent.InputTokens, r.Spent.OutputTokens, formatCost(r.Spent),
					truncate(firstNonEmpty(r.Versions["extractor"], "-"), 40), r.Started.Local().Format("2006-01-02 15:04:05"))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&state, "state", "", "state directory (default .extractor, env EXTRACTOR_STATE)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print each run's manifest as a JSON line")
	cmd.AddCommand(m.runsWatchCommand(), m.runsCancelCommand())
	return cmd
}

// ---------------------------------------------------------------- traces

func (m *Main) tracesCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "traces",
		Short: "List and show the document traces of a run",
		Long: `Every document a run processes gets a trace: a "document" span with one span
per step (parse, chunk, extract, extract_second, validate, and with a database
embed and store) and under them one per model call and, with a database, one
per SQL statement. 'traces list' lists them; 'traces show' prints one as a tree
(or the trace of a 'search' or 'ask', by the trace id they print).`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(m.tracesListCommand(), m.tracesShowCommand())
	return cmd
}

type traceRow struct {
	DocumentID   string  `json:"document_id"`
	File         string  `json:"file"`
	Status       string  `json:"status"`
	Error        string  `json:"error,omitempty"`
	DurationMS   int64   `json:"duration_ms"`
	CacheHits    int     `json:"cache_hits"`
	Steps        int     `json:"steps"`
	InputTokens  int     `json:"input_tokens"`
	OutputTokens int     `json:"output_tokens"`
	CostUSD      float64 `json:"cost_usd"`
	CostKnown    bool    `json:"cost_known"`
	Attempts     int     `json:"attempts"`
	NeedsReview  bool    `json:"needs_review"`
	TraceID      string  `json:"trace_id"`
}

func (m *Main) tracesListCommand() *cobra.Command {
	var state, runID string
	var failed, asJSON bool
	var slow time.Duration
	cmd := &cobra.Command{
		Use:   "list",
		Short: "One line per document trace of a run (default: the latest run)",
		Long: `One line per document of a run: its id, file, status, duration, how many steps
came from the cache, the tokens and cost this run spent on it (cache hits spend
nothing), model attempts and trace id. Without --run, the latest run.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if slow < 0 {
				return usageError{errors.New("--slow wants a positive duration, such as 2s")}
			}
			rr, err := latestRun(cmd.Context(), m.history(state), runID)
			if err != nil {
				return err
			}
			var rows []traceRow
			for _, r := range rr.Results {
				if failed && r.Status == "ok" {
					continue
				}
				if slow > 0 && time.Duration(r.DurationMS)*time.Millisecond <= slow {
					continue
				}
				steps := rr.StepsOf(r)
				cached := 0
				for _, s := range steps {
					if s.CacheHit {
						cached++
					}
				}
				rows = append(rows, traceRow{DocumentID: r.DocumentID, File: r.File, Status: r.Status, Error: r.Error,
					DurationMS: r.DurationMS, CacheHits: cached, Steps: len(steps),
					InputTokens: r.Spent.InputTokens, OutputTokens: r.Spent.OutputTokens, CostUSD: r.Spent.CostUSD,
					CostKnown: formatCost(r.Spent) != "?", Attempts: r.Spent.Attempts, NeedsReview: r.NeedsReview, TraceID: r.TraceID})
			}
			if asJSON {
				for _, row := range rows {
					if err := writeJSONLine(m.Stdout, row); err != nil {
						return err
					}
				}
				return nil
			}
			which := "run " + rr.ID
			if runID == "" {
				which += " (the latest; choose another with --run, see 'extractor runs')"
			}
			fmt.Fprintf(m.Stdout, "%s: %s, %d documents, started %s\n", which, rr.Status, len(rr.Results),
				rr.Started.Local().Format("2006-01-02 15:04:05"))
			if len(rows) == 0 {
				fmt.Fprintln(m.Stdout, "no document traces match")
				return nil
			}
			tw := tabwriter.NewWriter(m.Stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "DOCUMENT\tFILE\tSTATUS\tDURATION\tCACHED\tTOKENS\tCOST\tATTEMPTS\tTRACE")
			for _, row := range rows {
				status := row.Status
				if row.NeedsReview {
					status += " (review)"
				}
				cost := "$" + strconv.FormatFloat(row.CostUSD, 'f', 6, 64)
				if !row.CostKnown {
					cost = "?"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d/%d\t%d/%d\t%s\t%d\t%s\n", shortDoc(row.DocumentID), filepath.Base(row.File), status,
					formatMS(float64(row.DurationMS)), row.CacheHits, row.Steps, row.InputTokens, row.OutputTokens, cost, row.Attempts,
					firstNonEmpty(row.TraceID, "-"))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(m.Stdout, "%d of %d documents\n", len(rows), len(rr.Results))
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&state, "state", "", "state directory (default .extractor, env EXTRACTOR_STATE)")
	fl.StringVar(&runID, "run", "", "run id or any unique part of it (default: the latest run)")
	fl.BoolVar(&failed, "failed", false, "only failed or interrupted documents")
	fl.DurationVar(&slow, "slow", 0, "only documents that took longer than this (e.g. 2s)")
	fl.BoolVar(&asJSON, "json", false, "one JSON object per document")
	return cmd
}

func (m *Main) tracesShowCommand() *cobra.Command {
	var state, runID string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show DOC_OR_TRACE_ID",
		Short: "Print a document's trace as a tree of spans",
		Long: `Print the trace of one document as a tree: each step's duration, cache hit or
miss, tokens, cost, model attempts, finish reasons and errors. The document is
given by its id (or a unique prefix of at least 6 characters), its trace id or
its file name; it is looked up in --run, or else in the latest run that has it.
The trace id printed by 'search' and 'ask' shows their trace.
--json prints the trace's spans, one JSON object per line, as the span file
holds them.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			st := m.stateDir(state)
			rr, r, err := m.history(state).Find(cmd.Context(), runID, args[0])
			if err != nil {
				if spans := querySpans(st, runID, args[0]); len(spans) > 0 {
					return m.writeSpans(spans, asJSON)
				}
				return err
			}
			spans, serr := readRunSpans(st, rr.ID, r.TraceID)
			if asJSON {
				if serr != nil {
					return serr
				}
				return m.writeSpans(spans, true)
			}
			fmt.Fprintf(m.Stdout, "%s (document %s), run %s, trace %s\n", filepath.Base(r.File), shortDoc(r.DocumentID), rr.ID,
				firstNonEmpty(r.TraceID, "-"))
			if serr != nil || len(spans) == 0 {
				if serr == nil {
					serr = errors.New("its spans are not in the span file (dropped, or the run was killed before they were written)")
				}
				fmt.Fprintf(m.Stdout, "no spans: %v\nstep records:\n", serr)
				return writeStepTable(m.Stdout, rr.StepsOf(r))
			}
			return m.writeSpans(spans, false)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&state, "state", "", "state directory (default .extractor, env EXTRACTOR_STATE)")
	fl.StringVar(&runID, "run", "", "run id or any unique part of it (default: the latest run that has the document)")
	fl.BoolVar(&asJSON, "json", false, "print the trace's spans as JSON lines")
	return cmd
}

// querySpans reads the spans of one trace of 'search' and 'ask' (their
// span file in the state directory): nothing unless id is a trace id and
// no run was asked for.
func querySpans(state, runID, id string) []tracing.Span {
	tid, err := trace.TraceIDFromHex(id)
	if runID != "" || err != nil {
		return nil
	}
	spans, _ := tracing.ReadSpanFile(filepath.Join(state, "queries", "spans.jsonl"))
	return tracing.ByTraceID(spans, tid)
}

// writeSpans prints spans as trees, or as JSON lines in start order.
func (m *Main) writeSpans(spans []tracing.Span, asJSON bool) error {
	if asJSON {
		slices.SortStableFunc(spans, func(a, b tracing.Span) int { return a.Start.Compare(b.Start) })
		for _, s := range spans {
			b, err := s.MarshalJSON()
			if err != nil {
				return err
			}
			if _, err := m.Stdout.Write(append(b, '\n')); err != nil {
				return err
			}
		}
		return nil
	}
	for _, root := range tracing.Trees(spans) {
		if err := tracing.WriteTree(m.Stdout, root, tracing.WithAttributes(tracing.ResponseModel)); err != nil {
			return err
		}
	}
	return nil
}

// readRunSpans reads the spans of one trace from a run's span file.
func readRunSpans(state, runID, traceID string) ([]tracing.Span, error) {
	if traceID == "" {
		return nil, errors.New("the document has no trace id (it was never started)")
	}
	id, err := trace.TraceIDFromHex(traceID)
	if err != nil {
		return nil, fmt.Errorf("bad trace id %q: %w", traceID, err)
	}
	path := filepath.Join(pipeline.RunsDir(state), runID, "spans.jsonl")
	spans, err := tracing.ReadSpanFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("run %s has no span file", runID)
	}
	if err != nil && len(spans) == 0 {
		return nil, err
	}
	return tracing.ByTraceID(spans, id), nil
}

// writeStepTable prints step records, for when spans are missing.
func writeStepTable(w io.Writer, steps []pipeline.StepRecord) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, s := range steps {
		cache := "miss"
		if s.CacheHit {
			cache = "hit"
		}
		line := fmt.Sprintf("  %s\t%s\tcache=%s\t%s", s.Step, formatMS(s.DurationMS), cache, s.StepVersion)
		if s.Error != "" {
			line += "\terror=" + strconv.Quote(s.Error)
		}
		fmt.Fprintln(tw, line)
	}
	return tw.Flush()
}
