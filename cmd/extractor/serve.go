package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/extractor-dev/extractor/extract"
	"github.com/extractor-dev/extractor/extract/einvoice"
	"github.com/extractor-dev/extractor/extract/ocr"
	"github.com/extractor-dev/extractor/extract/pdf"
	"github.com/extractor-dev/extractor/pageimage"
	"github.com/extractor-dev/extractor/pipeline"
	"github.com/extractor-dev/extractor/server"
	"github.com/extractor-dev/extractor/store"
	"github.com/extractor-dev/extractor/tracing"
	"github.com/extractor-dev/extractor/webhook"
)

// serverConfig is the config file's server: section.
type serverConfig struct {
	Addr           string        `yaml:"addr"`
	MaxBodyBytes   int64         `yaml:"max_body_bytes"`
	MaxPages       int           `yaml:"max_pages"`
	RequestTimeout time.Duration `yaml:"request_timeout"`
	RatePerSecond  float64       `yaml:"rate_per_second"`
	Burst          int           `yaml:"burst"`
	Workers        int           `yaml:"workers"`
	MaxAttempts    int           `yaml:"max_attempts"`
	// JobTimeout bounds one attempt at a job (default: the document's
	// budget, see jobTimeout).
	JobTimeout time.Duration `yaml:"job_timeout"`
	// EvalReport is the HTML eval report the web pages show.
	EvalReport string `yaml:"eval_report"`
	// Webhooks tunes the deliveries of webhook events.
	Webhooks webhooksConfig `yaml:"webhooks"`
	// RunFolders are the folders (and those below them) whose PDFs
	// POST /v1/runs may queue by name (issue 17, queue.go).
	RunFolders []string `yaml:"run_folders"`
}

// webhooksConfig is the config file's server.webhooks: section.
type webhooksConfig struct {
	// MaxAttempts per delivery (default 8), RetryBase the first retry's
	// delay, doubled at each retry up to an hour (default 30s), Timeout
	// an attempt's bound (default 30s).
	MaxAttempts int           `yaml:"max_attempts"`
	RetryBase   time.Duration `yaml:"retry_base"`
	Timeout     time.Duration `yaml:"timeout"`
}

// service is the pipeline, the store and the job queue behind the HTTP
// API and the workers: it implements the server's interfaces.
type service struct {
	m        *Main
	base     settings
	st       *store.Store
	queue    *store.Queue
	tp       *tracing.Provider
	tracer   trace.Tracer
	embedder pipeline.Embedder
	parser   *documentParser
	maxPages int
	metrics  *server.Metrics
	logger   *slog.Logger

	mu         sync.Mutex
	extractors map[string][2]pipeline.Extractor
	runs       queuedRuns // issue 17: the queued runs' pipelines (queue.go)
	runFolders []string
}

type serveFlags struct {
	configPath string
	addr       string
	workers    int
	noWorkers  bool
}

// openService connects to the database, starts tracing (spans to the
// database and OTLP) and builds the pipeline for uploads. workers > 0
// makes the queue work jobs in this process.
func (m *Main) openService(ctx context.Context, f serveFlags, workers int) (*service, serverConfig, error) {
	cfg, err := loadConfig(f.configPath)
	if err != nil {
		return nil, serverConfig{}, usageError{err}
	}
	sc := cfg.Server
	dsn := m.databaseURL(cfg)
	if dsn == "" {
		return nil, sc, errNoDatabase
	}
	var fl runFlags
	fl.extractor, fl.isolate, fl.timeout = "auto", true, pdf.DefaultTimeout
	s := &service{m: m, base: m.settings(fl, cfg), extractors: map[string][2]pipeline.Extractor{}, maxPages: sc.MaxPages,
		logger: slog.New(slog.NewTextHandler(m.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	if s.base.LLM.Budget <= 0 {
		s.base.LLM.Budget = defaultLLMBudget
	}
	if sc.JobTimeout <= 0 {
		sc.JobTimeout = jobTimeout(s.base)
	}
	if s.maxPages <= 0 {
		s.maxPages = 200
	}
	s.runFolders = sc.RunFolders
	if s.st, s.tp, err = m.openTraced(ctx, dsn, cfg.Search, ""); err != nil {
		return nil, sc, err
	}
	s.tracer = s.tp.Tracer("github.com/extractor-dev/extractor/server")
	s.base.pageBytes = func(ctx context.Context, doc pipeline.Document) ([]byte, error) {
		_, data, err := s.st.Upload(ctx, doc.ID) // an upload's page images for llm.vision
		return data, err
	}
	if s.embedder, err = m.embedder(cfg.Embedding, s.tp); err != nil {
		s.close(context.Background())
		return nil, sc, err
	}
	if s.parser, err = m.documentParser(s.base, pdf.Options{Timeout: pdf.DefaultTimeout, MaxPages: s.maxPages}, true, max(workers, 1)); err != nil {
		s.close(context.Background())
		return nil, sc, err
	}
	s.queue, err = store.NewQueue(s.st.Pool(), store.QueueConfig{Workers: workers, Work: s.work, RunWork: s.runWork, MaxAttempts: sc.MaxAttempts, JobTimeout: sc.JobTimeout,
		Deliver: deliver(nil), WebhookAttempts: sc.Webhooks.MaxAttempts, WebhookRetryBase: sc.Webhooks.RetryBase, WebhookTimeout: sc.Webhooks.Timeout,
		Logger: slog.New(slog.NewTextHandler(m.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).With("component", "queue")})
	if err != nil {
		s.close(context.Background())
		return nil, sc, err
	}
	return s, sc, nil
}

// defaultLLMBudget bounds a model's work on one document in the service
// (llm.budget): all attempts, retries and rate-limit waits.
const defaultLLMBudget = 2 * time.Minute

// ocrBudget is the time a job keeps for OCR when it is on: about 60 pages
// on two cores (2 to 3 s of CPU a page at 300 dpi). Longer scans belong
// in 'extractor run', which has no job deadline.
const ocrBudget = 3 * time.Minute

// storeMargin is the time a job keeps for embedding and storing.
const storeMargin = 30 * time.Second

// jobTimeout is what one document may take in the service: the parse
// deadline, the model's budget when a model may be called, and the time to
// embed and store. A job past it has failed; a job whose worker died is
// rescued soon after it (see store.QueueConfig).
func jobTimeout(s settings) time.Duration {
	d := s.ParseTimeout + storeMargin
	if s.OCR.Mode != string(ocr.ModeOff) {
		d += ocrBudget
	}
	if s.LLM.BaseURL != "" && s.LLM.Model != "" {
		d += s.LLM.Budget
	}
	return d
}

// reviews is the review loop on the service's store and queue.
func (s *service) reviews() reviewLoop {
	return reviewLoop{st: s.st, queue: s.queue, schemas: schemaLookup(s.base.Schema)}
}

func (s *service) close(ctx context.Context) {
	// Tracing first: its last batch of spans goes to the database.
	if s.tp != nil {
		s.tp.Shutdown(ctx)
	}
	if s.st != nil {
		s.st.Pool().Close()
	}
}

// extractorsFor builds (once) the extractor and second opinion of a
// schema and kind.
func (s *service) extractorsFor(schema pipeline.Schema, kind string) (pipeline.Extractor, pipeline.Extractor, error) {
	k := schema.Name + "/" + kind
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.extractors[k]; ok {
		return p[0], p[1], nil
	}
	set := s.base
	set.Extractor = kind
	ex, second, _, err := s.m.extractors(set, schema, s.tp)
	if err != nil {
		return nil, nil, err
	}
	s.extractors[k] = [2]pipeline.Extractor{ex, second}
	return ex, second, nil
}

// process runs the pipeline on an uploaded file in a run of its own,
// stores the run and its result, and returns the result line.
func (s *service) process(ctx context.Context, via string, data []byte, name string, o server.Options) (pipeline.Result, pipeline.ResultLine, error) {
	schema, err := extract.LoadSchema(firstNonEmpty(o.Schema, s.base.Schema, "invoice"))
	if err != nil {
		return pipeline.Result{}, pipeline.ResultLine{}, fmt.Errorf("%w: %v", server.ErrUnprocessable, err)
	}
	ex, second, err := s.extractorsFor(schema, firstNonEmpty(o.Extractor, "auto"))
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			return pipeline.Result{}, pipeline.ResultLine{}, fmt.Errorf("%w: %v", server.ErrUnprocessable, ue.error)
		}
		return pipeline.Result{}, pipeline.ResultLine{}, err
	}
	// An upload is a batch of one, in a run of its own, through the same
	// pipeline.Batch as 'extractor run'.
	source := "upload:" + name
	run := pipeline.Run{ID: pipeline.NewRunID(time.Now()), Started: time.Now().UTC(), Status: "running", Inputs: []string{source}}
	runner := &pipeline.Runner{RunID: run.ID, Parser: s.parser, Extractor: ex, Second: second, Validator: extract.Checks{},
		Schema: schema, Embedder: s.embedder, Store: s.st, Cache: s.st.Cache(), Recorder: s.st, Tracer: s.tracer,
		JoinTrace: true}
	run.Versions = runner.Versions()
	run.Versions["code"] = codeVersion()
	sctx := context.WithoutCancel(ctx)
	b := &pipeline.Batch{Runner: runner, Log: storeLog{s.st, sctx}, Schema: schema, Limit: 1, Reason: reason}
	var res pipeline.Result
	var line pipeline.ResultLine
	// The upload is parsed from memory (by the isolated child, through its
	// stdin): nothing of it is written to this machine's disk. It is kept
	// in the database, as a job's upload is, for the page images of the
	// review pages.
	sum := sha256.Sum256(data)
	if err := s.st.SaveUpload(sctx, hex.EncodeToString(sum[:]), name, data); err != nil {
		s.logger.Warn("the upload was not kept: its pages will have no image", "error", err)
	}
	err = b.Process(ctx, []pipeline.Input{{Name: source, Data: data}}, func(_ int, r pipeline.Result, l pipeline.ResultLine) error {
		res, line = r, l
		return nil
	})
	if err != nil {
		return res, line, err
	}
	now := time.Now().UTC()
	run.Finished, run.Status, run.Counts, run.Spent = &now, "finished", b.Counts, b.Spent
	if err := s.st.SaveRun(sctx, run); err != nil {
		s.logger.Warn("the run was not saved", "run_id", run.ID, "error", err)
	}
	if s.metrics != nil {
		u := pipeline.Usage{}
		if res.Extraction != nil {
			u = res.Extraction.Usage
		}
		s.metrics.Extraction(via, res.Status(), u.InputTokens, u.OutputTokens, u.CostUSD)
	}
	return res, line, nil
}

// storeLog keeps an upload's result line in the database, even when the
// request that made it has gone.
type storeLog struct {
	st  *store.Store
	ctx context.Context
}

func (l storeLog) AddResult(_ context.Context, line pipeline.ResultLine) error {
	if err := l.st.SaveResult(l.ctx, line); err != nil {
		return fmt.Errorf("%w: saving the result: %v", pipeline.ErrUnavailable, err)
	}
	return nil
}

// Extract is the synchronous path (server.Extractor).
func (s *service) Extract(ctx context.Context, u server.Upload, o server.Options) (pipeline.ResultLine, error) {
	res, line, err := s.process(ctx, "sync", u.Data, u.Name, o)
	if err != nil {
		return line, err
	}
	if res.Interrupted || ctx.Err() != nil {
		return line, fmt.Errorf("%w: the extraction did not finish", server.ErrTimeout)
	}
	return line, nil
}

// work is a job (store.QueueConfig.Work): the upload from the database,
// the pipeline in the submitting request's trace. A document that cannot
// be read, or whose extraction fails validation, is a result; a step that
// failed for another reason (the model or the database unreachable) is an
// error, and the job is tried again.
func (s *service) work(ctx context.Context, args store.ExtractArgs, attempt int) (json.RawMessage, error) {
	ctx = propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier{"traceparent": args.TraceParent})
	ctx, span := s.tracer.Start(ctx, "job", trace.WithAttributes(attribute.Int("extractor.job.attempt", attempt),
		attribute.String("extractor.upload", args.Upload)))
	defer span.End()
	_, data, err := s.st.Upload(ctx, args.Upload)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		return nil, err
	}
	res, line, err := s.process(ctx, "job", data, args.Name, server.Options{Schema: args.Schema, Extractor: args.Extractor})
	if err == nil && res.Err != nil && !res.Interrupted && pipeline.Retryable(res.Err) {
		// A transient failure (a provider or the database): the attempt
		// fails, and the job is tried again later. Other failures are the
		// job's result.
		err = res.Err
	}
	if err == nil && res.Interrupted {
		err = errors.New("interrupted: the worker is stopping")
	}
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		if s.metrics != nil {
			s.metrics.Job("failed_attempt")
		}
	} else if s.metrics != nil {
		s.metrics.Job("succeeded")
	}
	s.jobCompleted(ctx, line, err)
	if line.Status == "" {
		return nil, err // nothing to keep with the job
	}
	out, merr := json.Marshal(line)
	return out, errors.Join(err, merr)
}

// jobCompleted queues the job.completed webhook event of a job that
// finished: it succeeded, or this attempt, its last, failed. Not being
// able to queue it does not fail the job.
func (s *service) jobCompleted(ctx context.Context, line pipeline.ResultLine, err error) {
	job, ok := store.JobOf(ctx)
	if !ok || (err != nil && !job.Last()) {
		return
	}
	ev := jobEvent{JobID: job.ID, State: store.JobSucceeded, Attempt: job.Attempt, DocumentID: line.DocumentID, Status: line.Status,
		NeedsReview: line.NeedsReview, RunID: line.RunID, TraceID: line.TraceID, Error: line.Error}
	if err != nil {
		ev.State, ev.Error = store.JobFailed, firstNonEmpty(line.Error, err.Error())
	}
	if _, nerr := s.queue.Notify(context.WithoutCancel(ctx), webhook.JobCompleted, ev); nerr != nil {
		s.logger.Warn("the job.completed event was not queued", "job", job.ID, "error", nerr)
	}
}

// Authenticate checks an API key (server.Authenticator).
func (s *service) Authenticate(ctx context.Context, token string) (server.Principal, error) {
	k, err := s.st.Authenticate(ctx, token)
	if errors.Is(err, store.ErrUnauthorized) {
		return server.Principal{}, server.ErrUnauthorized
	}
	if err != nil {
		return server.Principal{}, fmt.Errorf("%w: %v", server.ErrUnavailable, err)
	}
	return server.Principal{KeyID: k.ID, Name: k.Name}, nil
}

// Submit queues a job (server.Jobs).
func (s *service) Submit(ctx context.Context, p server.Principal, key string, u server.Upload, o server.Options) (server.Job, bool, error) {
	if err := s.st.SaveUpload(ctx, u.SHA256, u.Name, u.Data); err != nil {
		return server.Job{}, false, err
	}
	carrier := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, carrier)
	info, existed, err := s.queue.Submit(ctx, store.ExtractArgs{Upload: u.SHA256, Name: u.Name, Schema: o.Schema, Extractor: o.Extractor,
		APIKey: p.KeyID, IdempotencyKey: key, TraceParent: carrier["traceparent"]}, server.RequestHash(u, o))
	if errors.Is(err, store.ErrIdempotencyConflict) {
		return server.Job{}, false, fmt.Errorf("%w: Idempotency-Key %q", server.ErrConflict, key)
	}
	if err != nil {
		return server.Job{}, false, err
	}
	return serverJob(info), existed, nil
}

// Job returns a job (server.Jobs).
func (s *service) Job(ctx context.Context, id int64) (server.Job, error) {
	info, err := s.queue.Job(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return server.Job{}, fmt.Errorf("%w: job %d", server.ErrNotFound, id)
	}
	if err != nil {
		return server.Job{}, err
	}
	return serverJob(info), nil
}

func serverJob(info store.JobInfo) server.Job {
	return server.Job{ID: info.ID, State: info.State, Attempt: info.Attempt, MaxAttempts: info.MaxAttempts, Errors: info.Errors,
		Result: info.Output, Created: info.Created, Finished: info.Finalized, Owner: info.Args.APIKey}
}

// Document returns a stored document (server.Catalog).
func (s *service) Document(ctx context.Context, id string) (server.Document, error) {
	d, err := s.st.Document(ctx, id)
	if err != nil {
		return server.Document{}, err
	}
	v := server.Document{ID: d.ID, Source: d.Source, Size: d.Size, Parser: d.Parser, Pages: d.Pages, TextPages: d.TextPages,
		Status: d.Status, Meta: d.Meta, Warnings: d.Warnings, LastRunID: d.LastRunID, FirstSeen: d.FirstSeen, LastSeen: d.LastSeen,
		Chunks: d.Chunks, Extractions: make([]server.DocumentExtraction, len(d.Extractions))}
	for i, x := range d.Extractions {
		v.Extractions[i] = server.DocumentExtraction{ID: x.ID, RunID: x.RunID, Schema: x.Schema, SchemaVersion: x.SchemaVersion,
			ExtractorVersion: x.ExtractorVersion, Created: x.Created, Extraction: x.Extraction}
	}
	return v, nil
}

// Run returns a stored run with its step records and results
// (server.Catalog).
func (s *service) Run(ctx context.Context, id string) (server.RunView, error) {
	run, steps, err := s.st.Run(ctx, id)
	if err != nil {
		return server.RunView{}, err
	}
	lines, err := s.st.ResultLines(ctx, id)
	if err != nil {
		return server.RunView{}, err
	}
	if steps == nil {
		steps = []pipeline.StepRecord{}
	}
	if lines == nil {
		lines = []pipeline.ResultLine{}
	}
	return server.RunView{Run: run, Steps: steps, Results: lines, Progress: s.runProgress(ctx, id)}, nil
}

// Search searches the stored chunks (server.Catalog).
func (s *service) Search(ctx context.Context, req server.SearchRequest) (server.SearchResults, error) {
	f := queryFlags{k: cmp.Or(req.K, 10), mode: cmp.Or(req.Mode, "hybrid"), match: "any", output: "json"}
	mode, _, err := f.check()
	if err != nil {
		return server.SearchResults{}, err
	}
	filter, err := store.ParseFilters(req.Filters)
	if err == nil {
		err = filter.CheckFields(filterFields(filter.Schema))
	}
	if err != nil {
		return server.SearchResults{}, &server.ValidationError{Part: "body", Errors: []server.FieldError{{Pointer: "/filters", Detail: err.Error()}}}
	}
	q := &querySetup{store: s.st, embedder: s.embedder, tracer: s.tracer}
	hits, _, err := q.retrieve(ctx, req.Query, f, mode, filter)
	if err != nil {
		return server.SearchResults{}, err
	}
	out := server.SearchResults{Hits: make([]server.SearchHit, len(hits))}
	for i, h := range hits {
		out.Hits[i] = hitJSON(i+1, h)
	}
	return out, nil
}

// Ready checks the database and its migrations (server.Readiness).
func (s *service) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := store.CheckMigrations(ctx, s.st.Pool()); err != nil {
		return fmt.Errorf("%w: %v", server.ErrUnavailable, err)
	}
	return nil
}

// Inspect checks an upload (server.Inspector): a PDF, whose pages are
// counted in an isolated child process, never in the server's own: one
// hostile upload must not take the service down.
func (s *service) Inspect(ctx context.Context, data []byte) (int, error) {
	switch mediaOf(data) {
	case mediaPDF:
	case mediaXML:
		if _, err := einvoice.Document(data, ""); err != nil {
			return 0, fmt.Errorf("%w: %v", server.ErrUnprocessable, err)
		}
		return 0, nil
	case mediaImage:
		if s.parser.ocrMode == ocr.ModeOff {
			return 0, fmt.Errorf("%w: an image needs OCR, which is off on this server (ocr.mode)", server.ErrUnsupportedMedia)
		}
		return 0, nil // its headers are checked before OCR decodes a pixel
	default:
		return 0, fmt.Errorf("%w: the file is not a PDF, an e-invoice XML (CII, UBL) or an image (PNG, JPEG, TIFF)", server.ErrUnsupportedMedia)
	}
	n, err := s.m.parsers().PageCount(ctx, data, pdf.Options{MaxPages: s.maxPages, Timeout: 10 * time.Second})
	switch {
	case errors.Is(err, pdf.ErrTooLarge), errors.Is(err, pdf.ErrMalformed), errors.Is(err, pdf.ErrEncrypted):
		// The parse would fail the same way: say so now, queue nothing.
		return 0, fmt.Errorf("%w: %v", server.ErrUnprocessable, err)
	case err != nil:
		return 0, nil // a slow count: let the parse, with its own deadline, decide
	}
	return n, nil
}

func (m *Main) serveCommand() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the HTTP API and the web pages (and work jobs)",
		Long: `Serve the extraction API on --addr (default 127.0.0.1:8080):

  POST /v1/extractions   multipart "file" (a PDF, an e-invoice XML or a PNG/JPEG/TIFF image) and "options" ({"schema", "extractor"}): the
                         result now, as one line of 'extractor run'
  POST /v1/jobs          the same, queued: 202 with Location and Retry-After (Idempotency-Key honoured)
  GET  /v1/jobs/{id}     queued, running, succeeded or failed, with the result
  GET  /v1/documents/{id}, POST /v1/search, GET /v1/runs/{id}
  GET  /openapi.json, /livez, /readyz, /metrics, and the web pages under /

Requests need an API key (Authorization: Bearer ...; 'extractor keys create'). The
database (EXTRACTOR_DATABASE_URL) holds keys, uploads, jobs and results, so any
number of 'extractor serve' and 'extractor worker' processes can share it. By
default serve also works jobs (--workers N; --no-workers to only accept them).
SIGINT or SIGTERM shuts down gracefully: requests in flight finish, running
jobs finish or go back to the queue.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error { return m.runServe(cmd.Context(), f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.configPath, "config", "", "YAML config file (server:, llm:, embedding:, database_url)")
	fl.StringVar(&f.addr, "addr", "", "address to listen on (default 127.0.0.1:8080, or server.addr)")
	fl.IntVar(&f.workers, "workers", 0, "jobs worked at once in this process (default 2, or server.workers)")
	fl.BoolVar(&f.noWorkers, "no-workers", false, "accept jobs but leave them to 'extractor worker' processes")
	return cmd
}

func (m *Main) workerCommand() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Work queued extraction jobs (no HTTP)",
		Long: `Work the jobs that 'extractor serve' queues, from the shared database: run as many
worker processes, on as many machines, as the load needs. SIGINT or SIGTERM stops
fetching jobs and lets running ones finish (a second signal cancels them; they
go back to the queue).`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error { return m.runWorker(cmd.Context(), f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.configPath, "config", "", "YAML config file (server:, llm:, embedding:, database_url)")
	fl.IntVar(&f.workers, "workers", 0, "jobs worked at once (default 2, or server.workers)")
	return cmd
}

func workersOf(f serveFlags, sc serverConfig) int {
	switch {
	case f.noWorkers:
		return 0
	case f.workers > 0:
		return f.workers
	case sc.Workers > 0:
		return sc.Workers
	}
	return 2
}

func (m *Main) runServe(ctx context.Context, f serveFlags) error {
	cfg, err := loadConfig(f.configPath)
	if err != nil {
		return usageError{err}
	}
	workers := workersOf(f, cfg.Server)
	s, sc, err := m.openService(ctx, f, workers)
	if err != nil {
		return err
	}
	defer s.close(context.Background())
	reg := prometheus.NewRegistry()
	srv, err := server.New(server.Config{Auth: s, Extractor: s, Jobs: s, Runs: s, Catalog: s, Ready: s, Inspect: s,
		MaxBodyBytes: sc.MaxBodyBytes, MaxPages: s.maxPages, RequestTimeout: sc.RequestTimeout,
		RatePerSecond: sc.RatePerSecond, Burst: sc.Burst, TracerProvider: s.tp, Registry: reg, Logger: s.logger,
		Review: review{s, sc.EvalReport}, Queue: s.reviews(), Corrections: s.reviews(), Records: s.reviews(), Webhooks: s.reviews(),
		PageImages: pageImages{s, pageimage.New(pageimage.Config{CacheDir: filepath.Join(m.stateDir(""), "pages")})},
		History:    webHistory{m.history("")}})
	if err != nil {
		return err
	}
	s.metrics = srv.Metrics()
	addr := firstNonEmpty(f.addr, sc.Addr, "127.0.0.1:8080")
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if err := s.queue.Start(ctx); err != nil {
		ln.Close()
		return err
	}
	fmt.Fprintf(m.Stderr, "extractor: serving on http://%s (workers: %d)\n", ln.Addr(), workers)
	if m.Listening != nil {
		m.Listening(ln.Addr())
	}
	serveCtx, stop := m.stopContext(ctx)
	defer stop()
	err = srv.Serve(serveCtx, ln, 30*time.Second)
	fmt.Fprintln(m.Stderr, "extractor: shutting down")
	qctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	return errors.Join(err, s.queue.Stop(qctx))
}

func (m *Main) runWorker(ctx context.Context, f serveFlags) error {
	cfg, err := loadConfig(f.configPath)
	if err != nil {
		return usageError{err}
	}
	workers := workersOf(f, cfg.Server)
	s, _, err := m.openService(ctx, f, workers)
	if err != nil {
		return err
	}
	defer s.close(context.Background())
	if err := s.queue.Start(ctx); err != nil {
		return err
	}
	fmt.Fprintf(m.Stderr, "extractor: working jobs (%d at once)\n", workers)
	stopCtx, stop := m.stopContext(ctx)
	defer stop()
	<-stopCtx.Done()
	fmt.Fprintln(m.Stderr, "extractor: stopping after the running jobs")
	// Running jobs finish; if ctx ends first (a second signal), they are
	// cancelled and go back to the queue.
	return s.queue.Stop(ctx)
}

// stopContext ends when Stop closes or ctx ends.
func (m *Main) stopContext(ctx context.Context) (context.Context, context.CancelFunc) {
	c, cancel := context.WithCancel(ctx)
	if m.Stop != nil {
		go func() {
			select {
			case <-m.Stop:
				cancel()
			case <-c.Done():
			}
		}()
	}
	return c, cancel
}

func (m *Main) keysCommand() *cobra.Command {
	var configPath, name string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Create, list and revoke the API keys of 'extractor serve'",
		Args:  usageArgs(cobra.NoArgs),
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.PersistentFlags().StringVar(&configPath, "config", "", "YAML config file (database_url)")
	create := &cobra.Command{
		Use:   "create",
		Short: "Make a key and print it (only this once: only its hash is kept)",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.withStore(cmd.Context(), configPath, func(ctx context.Context, st *store.Store) error {
				token, key, err := st.CreateKey(ctx, name)
				if err != nil {
					return err
				}
				fmt.Fprintln(m.Stdout, token)
				fmt.Fprintf(m.Stderr, "extractor: key %s (%s) created; it is shown only now\n", key.ID, firstNonEmpty(key.Name, "no name"))
				return nil
			})
		},
	}
	create.Flags().StringVar(&name, "name", "", "who or what the key is for")
	list := &cobra.Command{
		Use:   "list",
		Short: "List the keys (never their secrets)",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.withStore(cmd.Context(), configPath, func(ctx context.Context, st *store.Store) error {
				keys, err := st.ListKeys(ctx)
				if err != nil {
					return err
				}
				for _, k := range keys {
					if asJSON {
						if err := writeJSONLine(m.Stdout, k); err != nil {
							return err
						}
						continue
					}
					state := "active"
					if k.Revoked != nil {
						state = "revoked " + k.Revoked.Local().Format(time.DateTime)
					}
					used := "never used"
					if k.LastUsed != nil {
						used = "last used " + k.LastUsed.Local().Format(time.DateTime)
					}
					fmt.Fprintf(m.Stdout, "%s  %-24s created %s  %s  %s\n", k.ID, k.Name, k.Created.Local().Format(time.DateTime), state, used)
				}
				return nil
			})
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "one JSON object per key")
	revoke := &cobra.Command{
		Use:   "revoke KEY_ID",
		Short: "Revoke a key: it authenticates no more",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.withStore(cmd.Context(), configPath, func(ctx context.Context, st *store.Store) error {
				if err := st.RevokeKey(ctx, args[0]); err != nil {
					if errors.Is(err, store.ErrNotFound) {
						return usageError{err}
					}
					return err
				}
				fmt.Fprintf(m.Stderr, "extractor: key %s revoked\n", args[0])
				return nil
			})
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}

// withStore runs f with the configured database's store.
func (m *Main) withStore(ctx context.Context, configPath string, f func(ctx context.Context, st *store.Store) error) error {
	return m.withPool(ctx, configPath, func(ctx context.Context, cfg config, dsn string) error {
		st, err := openStore(ctx, dsn, cfg.Search, nil)
		if err != nil {
			return err
		}
		defer st.Pool().Close()
		return f(ctx, st)
	})
}
