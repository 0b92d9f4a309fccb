package main

// Runs on the job queue: 'extractor run DIR --queue' records a run and
// queues its documents; 'extractor worker' and 'serve' processes on any
// machine do them (service.runWork); 'runs watch', 'runs cancel' and
// 'export' follow them from the database.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"go.opentelemetry.io/otel/trace"

	"github.com/extractor-dev/extractor/extract"
	"github.com/extractor-dev/extractor/extract/pdf"
	"github.com/extractor-dev/extractor/history"
	"github.com/extractor-dev/extractor/pipeline"
	"github.com/extractor-dev/extractor/server"
	"github.com/extractor-dev/extractor/store"
)

// enqueueChunk is how many inputs go into the queue per transaction: one
// COPY of jobs, one statement each for the uploads, inputs and documents.
const enqueueChunk = 500

// queuedPipeline is what a queued run's documents go through, built from
// the run's settings; the same on the submitter (for the manifest's
// versions) and on every worker (which checks that its versions match).
type queuedPipeline struct {
	settings settings
	schema   pipeline.Schema
	parser   pipeline.Parser
	ex       pipeline.Extractor
	second   pipeline.Extractor
	embedder pipeline.Embedder
	versions map[string]string
}

// runner returns a runner of the run's documents.
func (qp *queuedPipeline) runner(runID string, st *store.Store, tracer trace.Tracer) *pipeline.Runner {
	r := &pipeline.Runner{RunID: runID, Parser: qp.parser, Extractor: qp.ex, Second: qp.second, Validator: extract.Checks{},
		Schema: qp.schema, Embedder: qp.embedder, Store: st, Recorder: st, Tracer: tracer}
	if !qp.settings.NoCache {
		r.Cache = st.Cache()
	}
	return r
}

// limitName names a provider limit: one per endpoint host and model.
func limitName(lc llmConfig) string {
	host := lc.BaseURL
	if u, err := url.Parse(lc.BaseURL); err == nil && u.Host != "" {
		host = u.Host
	}
	return "llm:" + host + "/" + lc.Model
}

// sharedLimiter is the limiter of the settings' model shared through the
// database by every process (nil without a model). With no limits set it
// still spreads a provider's Retry-After to every worker.
func sharedLimiter(st *store.Store, s settings) (extract.Limiter, error) {
	if s.LLM.BaseURL == "" || s.LLM.Model == "" {
		return nil, nil
	}
	l, err := st.Limiter(store.RateLimit{Name: limitName(s.LLM), RequestsPerMinute: s.LLM.RequestsPerMinute, TokensPerMinute: s.LLM.TokensPerMinute})
	if err != nil {
		return nil, usageError{err}
	}
	return l, nil
}

// withLimiter gives c the shared limiter l, which replaces the
// in-process limits.
func withLimiter(l extract.Limiter, c extract.LLMConfig) extract.LLMConfig {
	if l != nil {
		c.Limiter, c.RequestsPerMinute, c.TokensPerMinute = l, 0, 0
	}
	return c
}

// queuedPipeline builds the pipeline of a queued run's settings.
func (m *Main) queuedPipeline(s settings, st *store.Store, tp trace.TracerProvider) (*queuedPipeline, error) {
	schema, err := extract.LoadSchema(s.Schema)
	if err != nil {
		return nil, usageError{err}
	}
	if s.limiter, err = sharedLimiter(st, s); err != nil {
		return nil, err
	}
	parser, err := m.documentParser(s, pdf.Options{Timeout: s.ParseTimeout, Password: m.Getenv("EXTRACTOR_PDF_PASSWORD")}, s.Isolate, 1)
	if err != nil {
		return nil, err
	}
	qp := &queuedPipeline{settings: s, schema: schema, parser: parser}
	if qp.ex, qp.second, _, err = m.extractors(s, schema, tp); err != nil {
		return nil, err
	}
	if qp.embedder, err = m.embedder(s.Embedding, tp); err != nil {
		return nil, err
	}
	qp.versions = qp.runner("", st, nil).Versions()
	return qp, nil
}

// sameVersions reports whether two runs' versions agree on everything that
// shapes outputs (the build may differ).
func sameVersions(a, b map[string]string) (bool, string) {
	for k, v := range a {
		if k != "code" && b[k] != v {
			return false, fmt.Sprintf("%s %q, the run's %q", k, v, b[k])
		}
	}
	for k, v := range b {
		if _, ok := a[k]; !ok && k != "code" {
			return false, fmt.Sprintf("no %s, the run's %q", k, v)
		}
	}
	return true, ""
}

// runQueued is 'extractor run --queue': record the run, queue its
// documents in chunks and print its id.
func (m *Main) runQueued(ctx context.Context, args []string, f runFlags) error {
	if f.resume != "" {
		return usageError{errors.New("--queue does not resume: a queued run goes on by itself while workers run ('extractor runs watch')")}
	}
	cfg, err := loadConfig(f.configPath)
	if err != nil {
		return usageError{err}
	}
	dsn := m.databaseURL(cfg)
	if dsn == "" || f.noStore {
		return errNoDatabase
	}
	s := m.settings(f, cfg)
	s.Store = true
	files, err := documentFiles(args)
	if err != nil {
		return usageError{err}
	}
	for i, p := range files {
		if abs, err := filepath.Abs(p); err == nil {
			files[i] = abs
		}
	}
	st, err := openStore(ctx, dsn, s.Search, nil)
	if err != nil {
		return err
	}
	defer st.Pool().Close()
	qp, err := m.queuedPipeline(s, st, nil)
	if err != nil {
		return err
	}
	q, err := store.NewQueue(st.Pool(), store.QueueConfig{MaxAttempts: cfg.Server.MaxAttempts})
	if err != nil {
		return err
	}
	sources := make([]queuedSource, len(files))
	for i, p := range files {
		sources[i] = queuedSource{name: p, path: p}
	}
	fmt.Fprintf(m.Stderr, "extractor: queueing %d files\n", len(files))
	start := time.Now()
	res, err := m.queueRun(ctx, st, q, s, qp, sources, func(name string, err error) {
		fmt.Fprintf(m.Stderr, "extractor: %s: %s (not queued)\n", name, reason(err))
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stderr, "extractor: run %s: %d documents queued (%d files, %d held the same bytes as another, %d unreadable) in %.1fs; workers: 'extractor worker'; progress: 'extractor runs watch %s'\n",
		res.RunID, res.Documents, res.Inputs, res.Inputs-res.Unreadable-res.Documents, res.Unreadable, time.Since(start).Seconds(), res.RunID)
	fmt.Fprintln(m.Stdout, res.RunID)
	if res.Unreadable > 0 {
		return errSomeFailed
	}
	return nil
}

// queuedSource is an input of a queued run: a file, or bytes uploaded.
type queuedSource struct {
	name, path string
	data       []byte
}

// queueRun records a queued run of sources with settings s and queues its
// documents in chunks; unreadable is told of each file that cannot be
// read (it is not queued).
func (m *Main) queueRun(ctx context.Context, st *store.Store, q *store.Queue, s settings, qp *queuedPipeline, sources []queuedSource, unreadable func(string, error)) (server.QueuedRun, error) {
	var res server.QueuedRun
	sj, err := json.Marshal(s)
	if err != nil {
		return res, err
	}
	// The inputs are in queued_inputs (a million paths do not belong in a
	// manifest read whole).
	run := pipeline.Run{ID: pipeline.NewRunID(time.Now()), Started: time.Now().UTC(), Status: store.RunQueued, Config: sj,
		Versions: cloneMap(qp.versions)}
	run.Versions["code"] = codeVersion()
	if err := st.CreateQueuedRun(ctx, run, sj); err != nil {
		return res, err
	}
	res.RunID, res.Inputs = run.ID, len(sources)
	maxBytes := int64(pdf.DefaultMaxBytes)
	for first := 0; first < len(sources); first += enqueueChunk {
		chunk := sources[first:min(first+enqueueChunk, len(sources))]
		in := make([]store.QueuedInput, 0, len(chunk))
		for _, src := range chunk {
			data := src.data
			if src.path != "" {
				if data, err = readInput(src.path, maxBytes); err != nil {
					// Not queued: it cannot be read here, so no worker could.
					unreadable(src.name, err)
					res.Unreadable++
					continue
				}
			}
			sum := sha256.Sum256(data)
			in = append(in, store.QueuedInput{Name: src.name, SHA256: hex.EncodeToString(sum[:]), Content: data})
		}
		n, err := q.EnqueueRun(ctx, run.ID, first, in)
		if err != nil {
			return res, fmt.Errorf("run %s: queueing inputs %d to %d: %w", run.ID, first+1, first+len(chunk), err)
		}
		res.Documents += n
	}
	done, err := st.SealRun(ctx, run.ID)
	if err != nil {
		return res, err
	}
	res.Status = store.RunRunning
	if done {
		if _, err := st.CompleteRun(ctx, run.ID); err != nil {
			return res, err
		}
		res.Status = store.RunFinished
	}
	return res, nil
}

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// readInput reads a file of at most limit bytes.
func readInput(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", pdf.ErrTooLarge, st.Size(), limit)
	}
	return io.ReadAll(f)
}

// queuedRuns caches the pipelines of the queued runs a worker works on.
type queuedRuns struct {
	mu    sync.Mutex
	runs  map[string]*queuedRun
	order []string
}

// queuedRun is a queued run as a worker knows it.
type queuedRun struct {
	qp  *queuedPipeline
	err error // the run cannot be worked here: every job of it fails
}

// maxCachedRuns bounds the pipelines a worker keeps.
const maxCachedRuns = 8

// queuedRun returns the pipeline of a queued run, built from its settings
// once per worker.
func (s *service) queuedRun(ctx context.Context, runID string, settingsJSON json.RawMessage) (*queuedRun, error) {
	s.runs.mu.Lock()
	defer s.runs.mu.Unlock()
	if r, ok := s.runs.runs[runID]; ok {
		return r, nil
	}
	manifest, err := s.st.Manifest(ctx, runID)
	if err != nil {
		return nil, err
	}
	var set settings
	if err := json.Unmarshal(settingsJSON, &set); err != nil {
		return nil, fmt.Errorf("run %s: settings: %w", runID, err)
	}
	r := &queuedRun{}
	if r.qp, r.err = s.m.queuedPipeline(set, s.st, s.tp); r.err == nil {
		if same, diff := sameVersions(r.qp.versions, manifest.Versions); !same {
			r.err = fmt.Errorf("this worker's pipeline differs from run %s's: %s (run the same build and config as the submitter)", runID, diff)
		}
	}
	if s.runs.runs == nil {
		s.runs.runs = map[string]*queuedRun{}
	}
	if len(s.runs.order) >= maxCachedRuns {
		delete(s.runs.runs, s.runs.order[0])
		s.runs.order = s.runs.order[1:]
	}
	s.runs.runs[runID] = r
	s.runs.order = append(s.runs.order, runID)
	return r, nil
}

// runWork takes one document of a queued run through the pipeline
// (store.QueueConfig.RunWork): its bytes from the database, the run's
// pipeline, its records under the run's id. A document already done (a
// job run again after its worker died) is not done again; a transient
// failure (the provider, the database) is retried until the last
// attempt, which records the failure.
func (s *service) runWork(ctx context.Context, args store.RunDocumentArgs, attempt, maxAttempts int) error {
	qr, err := s.st.QueuedRun(ctx, args.RunID)
	if err != nil {
		return err
	}
	if qr.State == store.RunCancelled {
		return store.ErrRunCancelled
	}
	if done, err := s.st.DocumentDone(ctx, args.RunID, args.Document); err != nil || done {
		return err
	}
	r, err := s.queuedRun(ctx, args.RunID, qr.Settings)
	if err != nil {
		return err
	}
	final := attempt >= maxAttempts
	if r.err != nil && !final {
		return r.err
	}
	var line pipeline.ResultLine
	if r.err != nil {
		line = pipeline.ResultLine{RunID: args.RunID, DocumentID: args.Document, File: args.Name, Status: "failed",
			Error: reason(r.err), Fields: map[string]pipeline.Field{}, Version: pipeline.ResultLineVersion}
	} else {
		_, data, err := s.st.Upload(ctx, args.Document)
		if err != nil {
			return err
		}
		b := &pipeline.Batch{Runner: r.qp.runner(args.RunID, s.st, s.tracer), Schema: r.qp.schema, Limit: 1, Reason: reason}
		var res pipeline.Result
		err = b.Process(ctx, []pipeline.Input{{Name: args.Name, Data: data}}, func(_ int, rr pipeline.Result, l pipeline.ResultLine) error {
			res, line = rr, l
			return nil
		})
		switch {
		case err != nil:
			return err
		case res.Interrupted:
			return fmt.Errorf("interrupted: %w", context.Cause(ctx))
		case res.Err != nil && pipeline.Retryable(res.Err) && !final:
			return res.Err // the provider or the database: try again later
		}
	}
	last, err := s.st.FinishDocument(context.WithoutCancel(ctx), args.Document, line)
	if err != nil {
		return err
	}
	if last {
		s.completeRun(context.WithoutCancel(ctx), args.RunID, r)
	}
	return nil
}

// completeRun writes a finished run's manifest and builds its embedding
// model's vector index when it has none.
func (s *service) completeRun(ctx context.Context, runID string, r *queuedRun) {
	ok, err := s.st.CompleteRun(ctx, runID)
	if err != nil {
		s.logger.Warn("completing a queued run", "run_id", runID, "error", err)
		return
	}
	if !ok || r.qp == nil {
		return
	}
	ix := r.qp.settings.Index
	idx, err := store.EnsureIndex(ctx, s.st.Pool(), r.qp.embedder.Model(), r.qp.embedder.Dimensions(), store.IndexOptions{
		M: ix.M, EfConstruction: ix.EfConstruction, MaintenanceWorkMemMB: ix.MaintenanceWorkMemMB})
	if err != nil {
		s.logger.Warn("building the vector index", "run_id", runID, "error", err)
	} else if idx.Created {
		s.logger.Info("built the vector index", "index", idx.Name, "duration", idx.Duration)
	}
	s.logger.Info("queued run finished", "run_id", runID)
}

// ---------------------------------------------------------------- watch, cancel, export

func (m *Main) runsWatchCommand() *cobra.Command {
	var configPath string
	var interval time.Duration
	var once bool
	cmd := &cobra.Command{
		Use:   "watch RUN_ID",
		Short: "Follow a queued run from the database: done, failed, review, tokens, cost, rate, ETA",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.withStore(cmd.Context(), configPath, func(ctx context.Context, st *store.Store) error {
				id, err := st.ResolveRun(ctx, args[0])
				if err != nil {
					return err
				}
				return m.watchRun(ctx, st, id, interval, once)
			})
		},
	}
	cmd.Flags().StringVar(&configPath, "config", "", "YAML config file (database_url)")
	cmd.Flags().DurationVar(&interval, "interval", 2*time.Second, "how often to read the progress")
	cmd.Flags().BoolVar(&once, "once", false, "print the progress once and return")
	return cmd
}

// progressLine says how a queued run is going.
func progressLine(r store.QueuedRun, now time.Time) string {
	total := max(r.Total, 1)
	msg := fmt.Sprintf("%s: %d/%d done (%.1f%%): %d ok, %d need review, %d failed", r.State, r.Done, r.Total,
		100*float64(r.Done)/float64(total), r.OK, r.Review, r.Failed)
	if r.Spent.Attempts > 0 {
		msg += fmt.Sprintf("; %d model calls, %d tokens, $%.4f", r.Spent.Attempts, r.Spent.InputTokens+r.Spent.OutputTokens, r.Spent.CostUSD)
	}
	if rate := runRate(r, now); rate > 0 {
		msg += fmt.Sprintf("; %.2f documents/s", rate)
		if left := r.Total - r.Done; left > 0 && r.Finished == nil {
			msg += fmt.Sprintf(", ETA %s", (time.Duration(float64(left)/rate) * time.Second).Round(time.Second))
		}
	}
	return msg
}

// runRate is documents a second: over the last minute while the run has
// gone on that long, else since its first document.
func runRate(r store.QueuedRun, now time.Time) float64 {
	if r.FirstDone == nil || r.LastDone == nil {
		return 0
	}
	if r.Finished == nil && now.Sub(*r.FirstDone) >= time.Minute && r.LastMinute > 0 {
		return float64(r.LastMinute) / 60
	}
	d := r.LastDone.Sub(*r.FirstDone).Seconds()
	if d <= 0 || r.Done < 2 {
		return 0
	}
	return float64(r.Done-1) / d
}

func (m *Main) watchRun(ctx context.Context, st *store.Store, id string, interval time.Duration, once bool) error {
	stop, cancel := m.stopContext(ctx)
	defer cancel()
	t := time.NewTicker(max(interval, 100*time.Millisecond))
	defer t.Stop()
	var last string
	for {
		r, err := st.QueuedRun(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return usageError{fmt.Errorf("run %s is not a queued run (see 'extractor runs')", id)}
		}
		if err != nil {
			return err
		}
		line := progressLine(r, time.Now())
		switch {
		case m.Terminal:
			fmt.Fprintf(m.Stderr, "\r\033[K%s %s", id, progressBar(r.Done, r.Total, 30)+" "+line)
		case line != last:
			fmt.Fprintf(m.Stderr, "extractor: run %s %s\n", id, line)
		}
		last = line
		if r.Finished != nil || once {
			if m.Terminal {
				fmt.Fprintln(m.Stderr)
			}
			if r.Finished != nil {
				fmt.Fprintf(m.Stdout, "run %s %s in %s\n", id, r.State, r.Finished.Sub(r.Created).Round(time.Second))
			}
			return nil
		}
		select {
		case <-stop.Done():
			if m.Terminal {
				fmt.Fprintln(m.Stderr)
			}
			return nil // the run goes on
		case <-t.C:
		}
	}
}

// progressBar draws done of total in width cells.
func progressBar(done, total, width int) string {
	n := 0
	if total > 0 {
		n = min(width, done*width/total)
	}
	return "[" + strings.Repeat("=", n) + strings.Repeat(" ", width-n) + "]"
}

func (m *Main) runsCancelCommand() *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:   "cancel RUN_ID",
		Short: "Cancel a queued run: no more of its documents start; those in flight finish",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.withStore(cmd.Context(), configPath, func(ctx context.Context, st *store.Store) error {
				id, err := st.ResolveRun(ctx, args[0])
				if err != nil {
					return err
				}
				q, err := store.NewQueue(st.Pool(), store.QueueConfig{})
				if err != nil {
					return err
				}
				n, err := q.CancelRun(ctx, st, id)
				if errors.Is(err, store.ErrNotFound) {
					return usageError{fmt.Errorf("run %s is not a queued run", id)}
				}
				if err != nil {
					return err
				}
				r, err := st.QueuedRun(ctx, id)
				if err != nil {
					return err
				}
				fmt.Fprintf(m.Stderr, "extractor: run %s cancelled: %d waiting documents dropped; %d of %d done\n", id, n, r.Done, r.Total)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&configPath, "config", "", "YAML config file (database_url)")
	return cmd
}

func (m *Main) exportCommand() *cobra.Command {
	var configPath, format, state, since, schema, out string
	var approved bool
	cmd := &cobra.Command{
		Use:   "export RUN_ID | export --approved",
		Short: "Write a run's results in input order, or the approved documents' values (jsonl or csv)",
		Long: `export RUN_ID writes a run's result lines, one per input in input order, as JSON
lines or CSV: a queued run's from the database; any other run's from the state
directory, or from the database when the run is not there.

export --approved writes every approved document (each by its latest decision)
as one row, with the values it was approved with: its latest extraction and the
corrections people made, in order, for an ERP import. CSV has the columns
document_id, file, schema, version, approved_at, approved_by and then every
field of the schema (a list, such as line_items, is one cell of JSON); JSON
lines have the same keys, the fields under "values". The same as
GET /v1/exports/approved.`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if approved {
				if len(args) > 0 {
					return usageError{errors.New("--approved exports across runs: give no RUN_ID")}
				}
				return m.runExportApproved(cmd.Context(), configPath, since, schema, format, out)
			}
			if len(args) != 1 {
				return usageError{errors.New("give a RUN_ID, or --approved")}
			}
			if since != "" || schema != "" || out != "" {
				return usageError{errors.New("--since, --schema and --out go with --approved")}
			}
			if format == "" {
				format = "jsonl"
			}
			if format != "jsonl" && format != "csv" {
				return usageError{fmt.Errorf("-o %q: want jsonl or csv", format)}
			}
			return m.export(cmd.Context(), configPath, state, args[0], format)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&format, "output", "o", "", "jsonl or csv (default jsonl for a run, csv with --approved)")
	fl.StringVar(&configPath, "config", "", "YAML config file (database_url, schema)")
	fl.StringVar(&state, "state", "", "state directory (default .extractor, env EXTRACTOR_STATE)")
	fl.BoolVar(&approved, "approved", false, "export the approved documents, across runs")
	fl.StringVar(&since, "since", "", "with --approved: only documents approved at or after this date or time")
	fl.StringVar(&schema, "schema", "", "with --approved: only documents of this schema")
	fl.StringVar(&out, "out", "", "with --approved: write to this file (default: stdout)")
	return cmd
}

func (m *Main) export(ctx context.Context, configPath, state, part, format string) error {
	cfg, err := loadConfig(configPath)
	if err != nil {
		return usageError{err}
	}
	// A run of the state directory first.
	h := history.History{Records: pipeline.LocalRecords{State: m.stateDir(state)}}
	if id, err := h.Resolve(ctx, part); err == nil {
		run, err := pipeline.ReadManifest(m.stateDir(state), id)
		if err != nil {
			return err
		}
		lines, err := pipeline.ReadResults(m.stateDir(state), id)
		if err != nil {
			return err
		}
		return m.writeExport(run, pipeline.Latest(lines, run.Inputs), format)
	}
	dsn := m.databaseURL(cfg)
	if dsn == "" {
		return usageError{fmt.Errorf("no run %q in %s, and no database configured", part, pipeline.RunsDir(m.stateDir(state)))}
	}
	st, err := openStore(ctx, dsn, cfg.Search, nil)
	if err != nil {
		return err
	}
	defer st.Pool().Close()
	id, err := st.ResolveRun(ctx, part)
	if err != nil {
		return err
	}
	run, err := st.Manifest(ctx, id)
	if err != nil {
		return err
	}
	schema, err := runSchema(run)
	if err != nil {
		return err
	}
	w := newResultWriter(format, m.Stdout, schema)
	missing := 0
	_, qerr := st.QueuedRun(ctx, id)
	switch {
	case qerr == nil:
		err = st.QueuedExport(ctx, id, func(_ int, _ string, line *pipeline.ResultLine) error {
			if line == nil {
				missing++
				return nil
			}
			return w.write(*line)
		})
	case errors.Is(qerr, store.ErrNotFound):
		var lines []pipeline.ResultLine
		if lines, err = st.ResultLines(ctx, id); err == nil {
			for _, l := range pipeline.Latest(lines, run.Inputs) {
				if err = w.write(l); err != nil {
					break
				}
			}
		}
	default:
		err = qerr
	}
	if err != nil {
		return err
	}
	if missing > 0 {
		fmt.Fprintf(m.Stderr, "extractor: run %s: %d inputs not done yet are left out\n", id, missing)
	}
	return w.flush()
}

func (m *Main) writeExport(run pipeline.Run, lines []pipeline.ResultLine, format string) error {
	schema, err := runSchema(run)
	if err != nil {
		return err
	}
	w := newResultWriter(format, m.Stdout, schema)
	for _, l := range lines {
		if err := w.write(l); err != nil {
			return err
		}
	}
	return w.flush()
}

// runSchema loads the schema a run was made with (its CSV columns).
func runSchema(run pipeline.Run) (pipeline.Schema, error) {
	var s settings
	if len(run.Config) > 0 {
		if err := json.Unmarshal(run.Config, &s); err != nil {
			return pipeline.Schema{}, fmt.Errorf("run %s: settings: %w", run.ID, err)
		}
	}
	name := firstNonEmpty(s.Schema, "invoice")
	if v := run.Versions["schema"]; s.Schema == "" && v != "" {
		name = strings.SplitN(v, "@", 2)[0]
	}
	schema, err := extract.LoadSchema(name)
	if err != nil {
		return schema, fmt.Errorf("run %s: schema %s: %w", run.ID, name, err)
	}
	return schema, nil
}

// SubmitRun queues a batch run (server.Runs): uploaded files, or the PDFs
// of a folder below one of server.run_folders, with the service's
// settings and the request's schema and extractor.
func (s *service) SubmitRun(ctx context.Context, _ server.Principal, req server.RunRequest) (server.QueuedRun, error) {
	set := s.base
	set.Store = true
	set.Schema = firstNonEmpty(req.Options.Schema, s.base.Schema, "invoice")
	set.Extractor = firstNonEmpty(req.Options.Extractor, "auto")
	qp, err := s.m.queuedPipeline(set, s.st, s.tp)
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			return server.QueuedRun{}, fmt.Errorf("%w: %v", server.ErrUnprocessable, ue.error)
		}
		return server.QueuedRun{}, err
	}
	var sources []queuedSource
	if req.Folder != "" {
		files, err := s.folderFiles(req.Folder)
		if err != nil {
			return server.QueuedRun{}, err
		}
		for _, f := range files {
			sources = append(sources, queuedSource{name: f, path: f})
		}
	}
	for _, u := range req.Uploads {
		sources = append(sources, queuedSource{name: "upload:" + u.Name, data: u.Data})
	}
	return s.m.queueRun(ctx, s.st, s.queue, set, qp, sources, func(name string, err error) {
		s.logger.Warn("a file of a queued run cannot be read", "file", name, "error", reason(err))
	})
}

// folderFiles lists the PDFs of a folder that server.run_folders allows
// (itself or below one of them, symbolic links resolved). What is not
// allowed is not found: the answer says nothing of the server's disk.
func (s *service) folderFiles(folder string) ([]string, error) {
	notFound := fmt.Errorf("%w: folder %q (not one that server.run_folders allows, or empty)", server.ErrNotFound, pipeline.Printable(folder, 200))
	if !filepath.IsAbs(folder) {
		return nil, notFound
	}
	real, err := filepath.EvalSymlinks(filepath.Clean(folder))
	if err != nil {
		return nil, notFound
	}
	for _, root := range s.runFolders {
		r, err := filepath.EvalSymlinks(filepath.Clean(root))
		if err != nil {
			continue
		}
		if real == r || strings.HasPrefix(real, r+string(filepath.Separator)) {
			files, err := documentFiles([]string{real})
			if err != nil || len(files) == 0 {
				return nil, notFound
			}
			return files, nil
		}
	}
	return nil, notFound
}

// runProgress is a queued run's progress for the API (nil for another
// run).
func (s *service) runProgress(ctx context.Context, id string) *server.RunProgress {
	r, err := s.st.QueuedRun(ctx, id)
	if err != nil {
		return nil
	}
	return &server.RunProgress{State: r.State, Total: r.Total, Done: r.Done, OK: r.OK, Failed: r.Failed, Review: r.Review,
		Spent: r.Spent, PerSecond: runRate(r, time.Now())}
}
