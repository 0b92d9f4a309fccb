package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.opentelemetry.io/otel/trace"

	"github.com/extractor-dev/extractor/pipeline"
	"github.com/extractor-dev/extractor/tracing"
)

// The review commands (runs, traces, lineage, diff) read what runs left in
// the state directory: manifests, step records, result lines, spans and
// the step cache. They never run a step and never need the network.

// recordedResult is one result line of a run.
type recordedResult = pipeline.ResultLine

// recordedRun is a run as its directory holds it.
type recordedRun struct {
	state string
	run   pipeline.Run
	// results has one line per document, the last written (a resumed run
	// may have redone an interrupted one), in the order first written.
	results []recordedResult
	steps   []pipeline.StepRecord
}

// openRecordedRun reads a run's manifest, results and step records.
func openRecordedRun(state, id string) (*recordedRun, error) {
	run, err := pipeline.ReadManifest(state, id)
	if err != nil {
		if errors.Is(err, pipeline.ErrNoRun) {
			return nil, usageError{err}
		}
		return nil, err
	}
	rr := &recordedRun{state: state, run: run}
	lines, err := pipeline.ReadResults(state, run.ID)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", run.ID, err)
	}
	at := map[string]int{}
	for _, r := range lines {
		k := r.File
		if k == "" {
			k = r.Key()
		}
		if i, ok := at[k]; ok {
			rr.results[i] = r
			continue
		}
		at[k] = len(rr.results)
		rr.results = append(rr.results, r)
	}
	if rr.steps, err = pipeline.ReadSteps(state, run.ID); err != nil {
		return nil, fmt.Errorf("run %s: %w", run.ID, err)
	}
	return rr, nil
}

// stepsOf returns the step records of one document's trace (or, with no
// trace id, of the document), the last record of each step, in step
// order.
func (rr *recordedRun) stepsOf(r recordedResult) []pipeline.StepRecord {
	by := map[string]pipeline.StepRecord{}
	for _, s := range rr.steps {
		if r.TraceID != "" && s.TraceID != "" {
			if s.TraceID != r.TraceID {
				continue
			}
		} else if r.DocumentID == "" || s.DocumentID != r.DocumentID {
			continue
		}
		by[s.Step] = s
	}
	var out []pipeline.StepRecord
	for _, name := range stepOrder {
		if s, ok := by[name]; ok {
			out = append(out, s)
		}
	}
	return out
}

var stepOrder = []string{pipeline.StepParse, pipeline.StepChunk, pipeline.StepExtract, pipeline.StepSecond, pipeline.StepValidate}

// stepOf returns the record of one step of a document.
func stepOf(steps []pipeline.StepRecord, name string) (pipeline.StepRecord, bool) {
	for _, s := range steps {
		if s.Step == name {
			return s, true
		}
	}
	return pipeline.StepRecord{}, false
}

// resolveRunID turns a run id or a unique prefix of one into the run's id.
func resolveRunID(state, id string) (string, error) {
	runs, err := pipeline.ListRuns(state)
	if err != nil {
		return "", err
	}
	var found []string
	for _, r := range runs {
		if r.ID == id {
			return id, nil
		}
		if strings.HasPrefix(r.ID, id) {
			found = append(found, r.ID)
		}
	}
	switch {
	case id == "" || len(found) == 0:
		return "", usageError{fmt.Errorf("%w: %q (in %s; see 'extractor runs')", pipeline.ErrNoRun, id, pipeline.RunsDir(state))}
	case len(found) > 1:
		return "", usageError{fmt.Errorf("run %q is ambiguous: %s", id, strings.Join(found, ", "))}
	}
	return found[0], nil
}

// listRuns lists the runs in the order they started: run ids sort by the
// second they started in, then by random bits.
func listRuns(state string) ([]pipeline.Run, error) {
	runs, err := pipeline.ListRuns(state)
	slices.SortStableFunc(runs, func(a, b pipeline.Run) int {
		if c := a.Started.Compare(b.Started); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return runs, err
}

// runsNewestFirst lists the ids of the runs to search: the one asked for,
// or all of them, newest first.
func runsNewestFirst(state, id string) ([]string, error) {
	if id != "" {
		id, err := resolveRunID(state, id)
		if err != nil {
			return nil, err
		}
		return []string{id}, nil
	}
	runs, err := listRuns(state)
	if err != nil {
		return nil, err
	}
	if len(runs) == 0 {
		return nil, usageError{fmt.Errorf("no runs in %s (start one with 'extractor run', or give --state)", pipeline.RunsDir(state))}
	}
	ids := make([]string, len(runs))
	for i, r := range runs {
		ids[len(runs)-1-i] = r.ID
	}
	return ids, nil
}

// findDocument finds a document by id (full, or a unique prefix of at
// least 6 characters), by trace id, or by file name, in the given run or
// else in the newest run that has it.
func findDocument(state, runID, arg string) (*recordedRun, recordedResult, error) {
	ids, err := runsNewestFirst(state, runID)
	if err != nil {
		return nil, recordedResult{}, err
	}
	lower := strings.ToLower(arg)
	isHex := lower != "" && strings.Trim(lower, "0123456789abcdef") == ""
	if len(arg) < 6 && !strings.HasSuffix(strings.ToLower(arg), ".pdf") {
		return nil, recordedResult{}, usageError{fmt.Errorf("document %q: give at least 6 characters of a document or trace id", arg)}
	}
	for _, id := range ids {
		rr, err := openRecordedRun(state, id)
		if err != nil {
			return nil, recordedResult{}, err
		}
		var match []recordedResult
		seen := map[string]bool{}
		for _, r := range rr.results {
			ok := false
			switch {
			case isHex && r.TraceID == lower:
				return rr, r, nil // a trace is one document
			case isHex && r.DocumentID != "" && strings.HasPrefix(r.DocumentID, lower):
				ok = true
			case isHex && len(lower) >= 6 && r.TraceID != "" && strings.HasPrefix(r.TraceID, lower):
				ok = true
			case r.File != "" && (r.File == arg || filepath.Base(r.File) == arg):
				ok = true
			}
			if ok && !seen[r.Key()] {
				seen[r.Key()] = true
				match = append(match, r)
			}
		}
		switch len(match) {
		case 0:
			continue
		case 1:
			return rr, match[0], nil
		}
		var names []string
		for _, r := range match {
			names = append(names, shortDoc(r.DocumentID)+" ("+filepath.Base(r.File)+")")
		}
		return nil, recordedResult{}, usageError{fmt.Errorf("document %q is ambiguous in run %s: %s", arg, id, strings.Join(names, ", "))}
	}
	where := "any run"
	if runID != "" {
		where = "run " + ids[0]
	}
	return nil, recordedResult{}, usageError{fmt.Errorf("no document %q in %s (see 'extractor traces list')", arg, where)}
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
			runs, err := listRuns(st)
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
			st := m.stateDir(state)
			ids, err := runsNewestFirst(st, runID)
			if err != nil {
				return err
			}
			rr, err := openRecordedRun(st, ids[0])
			if err != nil {
				return err
			}
			var rows []traceRow
			for _, r := range rr.results {
				if failed && r.Status == "ok" {
					continue
				}
				if slow > 0 && time.Duration(r.DurationMS)*time.Millisecond <= slow {
					continue
				}
				rows = append(rows, traceRow{DocumentID: r.DocumentID, File: r.File, Status: r.Status, Error: r.Error,
					DurationMS: r.DurationMS, CacheHits: r.CacheHits, Steps: len(rr.stepsOf(r)),
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
			which := "run " + rr.run.ID
			if runID == "" {
				which += " (the latest; choose another with --run, see 'extractor runs')"
			}
			fmt.Fprintf(m.Stdout, "%s: %s, %d documents, started %s\n", which, rr.run.Status, len(rr.results),
				rr.run.Started.Local().Format("2006-01-02 15:04:05"))
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
			fmt.Fprintf(m.Stdout, "%d of %d documents\n", len(rows), len(rr.results))
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&state, "state", "", "state directory (default .extractor, env EXTRACTOR_STATE)")
	fl.StringVar(&runID, "run", "", "run id or a unique prefix (default: the latest run)")
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
			rr, r, err := findDocument(st, runID, args[0])
			if err != nil {
				if spans := querySpans(st, runID, args[0]); len(spans) > 0 {
					return m.writeSpans(spans, asJSON)
				}
				return err
			}
			spans, serr := readRunSpans(st, rr.run.ID, r.TraceID)
			if asJSON {
				if serr != nil {
					return serr
				}
				return m.writeSpans(spans, true)
			}
			fmt.Fprintf(m.Stdout, "%s (document %s), run %s, trace %s\n", filepath.Base(r.File), shortDoc(r.DocumentID), rr.run.ID,
				firstNonEmpty(r.TraceID, "-"))
			if serr != nil || len(spans) == 0 {
				if serr == nil {
					serr = errors.New("its spans are not in the span file (dropped, or the run was killed before they were written)")
				}
				fmt.Fprintf(m.Stdout, "no spans: %v\nstep records:\n", serr)
				return writeStepTable(m.Stdout, rr.stepsOf(r))
			}
			return m.writeSpans(spans, false)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&state, "state", "", "state directory (default .extractor, env EXTRACTOR_STATE)")
	fl.StringVar(&runID, "run", "", "run id or a unique prefix (default: the latest run that has the document)")
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

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
