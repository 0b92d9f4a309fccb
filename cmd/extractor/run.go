package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/sashabaranov/go-openai"
	"github.com/spf13/cobra"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/extractor-dev/extractor/extract"
	"github.com/extractor-dev/extractor/extract/ocr"
	"github.com/extractor-dev/extractor/extract/pdf"
	"github.com/extractor-dev/extractor/extract/rules"
	"github.com/extractor-dev/extractor/pageimage"
	"github.com/extractor-dev/extractor/pipeline"
	"github.com/extractor-dev/extractor/store"
	"github.com/extractor-dev/extractor/tracing"
)

type runFlags struct {
	configPath     string
	schema         string
	out            string
	format         string
	extractor      string
	baseURL        string
	model          string
	prices         string
	concurrency    int
	timeout        time.Duration
	isolate        bool
	state          string
	resume         string
	noCache        bool
	noStore        bool
	captureContent bool
	rpm, tpm       int
	explain        bool
	einvoice       string
	ocr            string
	ocrLang        string
	ocrDPI         int
	queue          bool // issue 17: the run's documents go to the job queue (queue.go)
}

func (m *Main) addPipelineFlags(cmd *cobra.Command, f *runFlags) {
	fl := cmd.Flags()
	fl.StringVar(&f.configPath, "config", "", "YAML config file (llm: base_url, model, ...; flags override it)")
	fl.StringVar(&f.schema, "schema", "", `schema: "invoice", "nda" or a YAML file (default invoice)`)
	fl.StringVar(&f.extractor, "extractor", "auto", "llm, rules, or auto (llm when one is configured)")
	fl.StringVar(&f.baseURL, "llm-base-url", "", "OpenAI-compatible API base URL (env EXTRACTOR_LLM_BASE_URL)")
	fl.StringVar(&f.model, "llm-model", "", "model name (env EXTRACTOR_LLM_MODEL)")
	fl.IntVar(&f.rpm, "llm-rpm", 0, "requests per minute to the model, shared by all workers (0: no limit)")
	fl.IntVar(&f.tpm, "llm-tpm", 0, "tokens per minute to the model, shared by all workers (0: no limit)")
	fl.StringVar(&f.prices, "prices", "", "price table JSON file (default: the built-in one)")
	fl.IntVar(&f.concurrency, "concurrency", runtime.NumCPU(), "documents processed at once")
	fl.DurationVar(&f.timeout, "parse-timeout", pdf.DefaultTimeout, "time limit for parsing one file")
	fl.BoolVar(&f.isolate, "isolate", true, "parse each file in a child process")
	fl.StringVar(&f.einvoice, "einvoice", "", `e-invoices a document carries (Factur-X, ZUGFeRD, XRechnung, UBL): "prefer" reads them instead of the text (no model call), "off" reads the text only, "only" fails documents without one (config einvoice:, default prefer)`)
	fl.StringVar(&f.ocr, "ocr", "", `OCR: "auto" recognises pages without a text layer and image files, "force" every page, "off" none (config ocr.mode, default auto)`)
	fl.StringVar(&f.ocrLang, "ocr-lang", "", "OCR languages, tesseract codes joined by + (config ocr.languages, default eng+deu+fra)")
	fl.IntVar(&f.ocrDPI, "ocr-dpi", 0, "resolution PDF pages are rendered at for OCR (config ocr.dpi, default 300)")
	fl.StringVar(&f.state, "state", "", "state directory: step cache and run records (default .extractor, env EXTRACTOR_STATE)")
	fl.BoolVar(&f.noCache, "no-cache", false, "neither read nor write the step cache")
	fl.BoolVar(&f.noStore, "no-store", false, "do not store in the database even when one is configured")
	fl.BoolVar(&f.captureContent, "capture-content", false, "record prompts and answers on spans (they carry the documents' data)")
}

func (m *Main) runCommand() *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run FILE|DIR...",
		Short: "Extract a schema's fields from PDFs, with evidence, checks, lineage and traces",
		Long: `Take PDFs through the pipeline's steps — parse, chunk, extract, validate — and
write one JSON line per document: every field's value, raw text, page, quote,
grounding and confidence, the issues found, and what it cost.

The extractor is an LLM reached through any OpenAI-compatible API (--llm-base-url,
--llm-model, or the config file; the key from OPENAI_API_KEY or
EXTRACTOR_LLM_API_KEY), or, with no LLM configured, the offline rules extractor
(invoice schema only). Every step is cached by the content hash of its inputs and
versions in the state directory, so re-running an unchanged batch makes no model
calls, and every run is recorded there (manifest, step records, results, spans)
for 'extractor traces', 'lineage' and 'diff'.

A document that fails gets status "failed" and its reason; the run goes on. Ctrl-C
stops starting documents and lets those in flight finish (a second Ctrl-C
interrupts them); 'extractor run --resume RUN_ID' continues without redoing
finished documents. The exit code is 1 when any document failed.`,
		Args: usageArgs(cobra.ArbitraryArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.resume == "" && len(args) == 0 {
				return usageError{errors.New("give files or folders to run on, or --resume RUN_ID")}
			}
			if f.resume != "" && len(args) > 0 {
				return usageError{errors.New("--resume takes the files of the run it resumes; give no files")}
			}
			return m.runRun(cmd.Context(), args, f)
		},
	}
	m.addPipelineFlags(cmd, &f)
	fl := cmd.Flags()
	fl.StringVarP(&f.out, "out", "o", "", "write the results to this file instead of stdout (one line or row per input document, also after --resume)")
	fl.StringVar(&f.format, "format", "jsonl", "jsonl, csv, or table (documents x key fields)")
	fl.StringVar(&f.resume, "resume", "", "continue the run with this id")
	fl.BoolVar(&f.queue, "queue", false, "record the run and queue its documents for 'extractor worker' processes on any machine (needs the database); prints the run id and returns")
	fl.BoolVar(&f.explain, "explain", false, "print to stderr how the rules extractor reads each document: every field's candidates, their features and scores, and why the winner won")
	return cmd
}

// settings are what a run was started with, minus secrets: recorded in the
// manifest so --resume continues the run the same way.
type settings struct {
	Schema    string    `json:"schema"`
	Extractor string    `json:"extractor"`
	LLM       llmConfig `json:"llm"`
	Prices    string    `json:"prices,omitempty"`
	Isolate   bool      `json:"isolate"`
	// EInvoice is prefer, off or only (extract.EInvoiceMode).
	EInvoice     string        `json:"einvoice"`
	OCR          ocrConfig     `json:"ocr"`
	ParseTimeout time.Duration `json:"parse_timeout"`
	NoCache      bool          `json:"no_cache"`
	Capture      bool          `json:"capture_content"`
	// Store: documents, chunks, embeddings and extractions go to the
	// database (whose address is a secret, never recorded here).
	Store     bool            `json:"store"`
	Embedding embeddingConfig `json:"embedding"`
	Index     indexConfig     `json:"index"`
	Search    searchConfig    `json:"search"`
	// limiter, when set, holds the model's requests to limits shared
	// through the database (queue.go); never recorded.
	limiter extract.Limiter
	// pageBytes, when set, gives a document's bytes for page images (the
	// service's uploads); never recorded.
	pageBytes func(ctx context.Context, doc pipeline.Document) ([]byte, error)
}

func (m *Main) settings(f runFlags, cfg config) settings {
	s := settings{Schema: firstNonEmpty(f.schema, cfg.Schema, "invoice"), Extractor: f.extractor, LLM: cfg.LLM,
		Prices: firstNonEmpty(f.prices, cfg.Prices), Isolate: f.isolate, ParseTimeout: f.timeout, NoCache: f.noCache, Capture: f.captureContent,
		Store: !f.noStore && m.databaseURL(cfg) != "", Embedding: cfg.Embedding, Index: cfg.Index, Search: cfg.Search}
	s.LLM.BaseURL = firstNonEmpty(f.baseURL, cfg.LLM.BaseURL, m.Getenv("EXTRACTOR_LLM_BASE_URL"))
	s.LLM.Model = firstNonEmpty(f.model, cfg.LLM.Model, m.Getenv("EXTRACTOR_LLM_MODEL"))
	s.EInvoice = firstNonEmpty(f.einvoice, cfg.EInvoice, string(extract.EInvoicePrefer))
	s.OCR = cfg.OCR
	s.OCR.Mode = firstNonEmpty(f.ocr, cfg.OCR.Mode, string(ocr.ModeAuto))
	s.OCR.Languages = firstNonEmpty(f.ocrLang, cfg.OCR.Languages, ocr.DefaultLanguages)
	if f.ocrDPI > 0 {
		s.OCR.DPI = f.ocrDPI
	}
	if s.OCR.DPI <= 0 {
		s.OCR.DPI = ocr.DefaultDPI
	}
	if f.rpm > 0 {
		s.LLM.RequestsPerMinute = f.rpm
	}
	if f.tpm > 0 {
		s.LLM.TokensPerMinute = f.tpm
	}
	return s
}

// extractors builds the configured extractor and its second reading;
// note is a line for stderr when the choice is worth saying.
//
// With e-invoices on (prefer, the default, or only) and a schema that maps
// fields to EN 16931 terms, the extractor reads a document's e-invoice when
// it carries a readable one (no model call) and the text otherwise; the
// rules then read the page of e-invoice documents as the cross-check the
// validator compares the data with. With an LLM, the rules are also its
// second opinion on every other document.
func (m *Main) extractors(s settings, schema pipeline.Schema, tp trace.TracerProvider) (ex, second pipeline.Extractor, note string, err error) {
	mode, err := extract.ParseEInvoiceMode(s.EInvoice)
	if err != nil {
		return nil, nil, "", usageError{err}
	}
	if !readsEInvoices(schema) {
		if mode == extract.EInvoiceOnly {
			return nil, nil, "", usageError{fmt.Errorf("--einvoice only: schema %q maps no field to an e-invoice term (einvoice: BT-...)", schema.Name)}
		}
		mode = extract.EInvoiceOff
	}
	var text pipeline.Extractor
	if mode != extract.EInvoiceOnly {
		if text, note, err = m.textExtractor(s, schema, tp); err != nil {
			return nil, nil, "", err
		}
	}
	_, llm := text.(*extract.LLM)
	var check pipeline.Extractor
	if rules.Readable(schema) {
		check = rules.New(rules.Config{})
	}
	switch {
	case mode == extract.EInvoiceOff && llm && check != nil:
		return text, check, note, nil // a second opinion for confidence
	case mode == extract.EInvoiceOff:
		return text, nil, note, nil
	case check != nil:
		return extract.EInvoiceFirst{Text: text, Mode: mode}, extract.TextCheck{Text: check, Always: llm}, note, nil
	}
	return extract.EInvoiceFirst{Text: text, Mode: mode}, nil, note, nil
}

// readsEInvoices reports whether a schema maps any field to an e-invoice
// term.
func readsEInvoices(schema pipeline.Schema) bool {
	for _, f := range schema.Fields {
		if f.EInvoice != "" {
			return true
		}
	}
	return false
}

// textExtractor builds the extractor that reads a document's text: the
// LLM, or the offline rules.
func (m *Main) textExtractor(s settings, schema pipeline.Schema, tp trace.TracerProvider) (pipeline.Extractor, string, error) {
	lc := s.LLM
	llmConfigured := lc.BaseURL != "" && lc.Model != ""
	kind := s.Extractor
	switch kind {
	case "auto":
		kind = "rules"
		if llmConfigured {
			kind = "llm"
		}
	case "llm":
		if !llmConfigured {
			return nil, "", usageError{errors.New("--extractor llm needs --llm-base-url and --llm-model (or the config file, or EXTRACTOR_LLM_BASE_URL and EXTRACTOR_LLM_MODEL)")}
		}
	case "rules":
	default:
		return nil, "", usageError{fmt.Errorf("--extractor %q: want llm, rules or auto", s.Extractor)}
	}
	if kind == "rules" {
		if !rules.Readable(schema) {
			return nil, "", usageError{fmt.Errorf("the rules extractor reads the invoice schema and fields that declare labels or a pattern; schema %q needs an LLM (--llm-base-url, --llm-model)", schema.Name)}
		}
		note := ""
		if s.Extractor == "auto" {
			note = "no LLM configured: using the offline rules extractor"
		}
		return rules.New(rules.Config{}), note, nil
	}
	l, err := m.newLLM(s, tp)
	if err != nil {
		return nil, "", err
	}
	return l, "", nil
}

// newLLM builds the configured LLM client (s.LLM must name a base URL and
// a model).
func (m *Main) newLLM(s settings, tp trace.TracerProvider) (*extract.LLM, error) {
	lc := s.LLM
	prices := tracing.DefaultPrices()
	if s.Prices != "" {
		var err error
		if prices, err = tracing.LoadPrices(s.Prices); err != nil {
			return nil, usageError{err}
		}
	}
	strict := true
	if lc.Strict != nil {
		strict = *lc.Strict
	}
	vision, err := extract.ParseVision(string(lc.Vision))
	if err != nil {
		return nil, usageError{fmt.Errorf("llm.vision: %w", err)}
	}
	detail := openai.ImageURLDetail(lc.ImageDetail)
	switch detail {
	case "", openai.ImageURLDetailAuto, openai.ImageURLDetailLow, openai.ImageURLDetailHigh:
	default:
		return nil, usageError{fmt.Errorf("llm.image_detail %q: want auto, low or high", lc.ImageDetail)}
	}
	var images extract.PageImages
	if vision != extract.VisionOff {
		images = visionImages{r: pageimage.New(pageimage.Config{}), load: s.pageBytes}
	}
	l, err := extract.NewLLM(withLimiter(s.limiter, extract.LLMConfig{
		BaseURL: lc.BaseURL, APIKey: firstNonEmpty(m.Getenv("EXTRACTOR_LLM_API_KEY"), m.Getenv("OPENAI_API_KEY")),
		Model: lc.Model, Azure: lc.Azure, APIVersion: lc.APIVersion,
		Temperature: lc.Temperature, Seed: lc.Seed, Strict: strict, Bounded: lc.Bounded, ToolChoice: lc.ToolChoice,
		MaxAttempts: lc.MaxAttempts, MaxOutputTokens: lc.MaxOutputTokens, LegacyMaxTokens: lc.LegacyMaxTokens,
		ContextTokens: lc.ContextTokens, RequestTimeout: lc.Timeout, Budget: lc.Budget, Retry: extract.RetryPolicy{MaxRetries: lc.MaxRetries},
		Prices: &prices, RequestsPerMinute: lc.RequestsPerMinute, TokensPerMinute: lc.TokensPerMinute,
		TracerProvider: tp, CaptureContent: s.Capture,
		Vision: vision, Images: images, MaxImages: lc.MaxImages, ImageDetail: detail,
	}))
	if err != nil {
		return nil, usageError{err}
	}
	return l, nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// pipelineSetup is everything a run or an eval needs to process documents.
type pipelineSetup struct {
	runner   *pipeline.Runner
	rd       *pipeline.RunDir
	run      pipeline.Run
	tp       *tracing.Provider
	runSpan  trace.Span
	schema   pipeline.Schema
	note     string
	stateDir string
	// store, embedder and recs are set when the run stores in the database.
	store    *store.Store
	embedder pipeline.Embedder
	recs     *recorders
	index    indexConfig
	// llm: the text extractor is an LLM (documents read from their
	// e-invoice save its calls).
	llm bool
	// lines are the run's result lines as finish read them (writeOut's
	// after it need not read them again).
	lines []pipeline.ResultLine
}

// setupPipeline creates (or, with resumeID, reopens) a run in the state
// directory, starts tracing into it, and builds the runner.
//
// With s.Store it connects to dsn, and the runner embeds and stores every
// document there, with its step records, cache and spans.
//
// workers is how many documents are processed at once (OCR shares the
// cores between them).
func (m *Main) setupPipeline(ctx context.Context, s settings, inputs []string, resume *pipeline.Run, stateDir, dsn string, workers int) (*pipelineSetup, error) {
	schema, err := extract.LoadSchema(s.Schema)
	if err != nil {
		return nil, usageError{err}
	}
	ps := &pipelineSetup{schema: schema, stateDir: stateDir, index: s.Index}
	if s.Store {
		// Fail on a database that is not ready before making a run.
		if dsn == "" {
			return nil, errNoDatabase
		}
		st, err := openStore(ctx, dsn, s.Search, nil)
		if err != nil {
			return nil, err
		}
		st.Pool().Close()
	}
	ok := false
	defer func() {
		if !ok && ps.store != nil {
			ps.store.Pool().Close()
		}
	}()
	if resume != nil {
		ps.rd, ps.run, err = pipeline.OpenRun(stateDir, resume.ID)
		if err != nil {
			return nil, err
		}
		ps.run.Status = "running"
		ps.run.Finished = nil
	} else {
		cfg, _ := json.Marshal(s)
		ps.run = pipeline.Run{ID: pipeline.NewRunID(time.Now()), Started: time.Now().UTC(), Status: "running", Inputs: inputs, Config: cfg}
		if ps.rd, err = pipeline.CreateRun(stateDir, ps.run); err != nil {
			return nil, fmt.Errorf("creating the run in %s: %w", stateDir, err)
		}
	}
	if !s.Store {
		dsn = ""
	}
	if ps.store, ps.tp, err = m.openTraced(ctx, dsn, s.Search, ps.rd.SpanFile()); err != nil {
		return nil, err
	}
	if ps.store != nil { // issue 17: the model's limits are shared with every worker (queue.go)
		if s.limiter, err = sharedLimiter(ps.store, s); err != nil {
			ps.close(context.Background())
			return nil, err
		}
	}
	ex, second, note, err := m.extractors(s, schema, ps.tp)
	if err != nil {
		ps.close(context.Background())
		return nil, err
	}
	ps.note = note
	_, ps.llm = ex.(*extract.LLM)
	if e, ok := ex.(extract.EInvoiceFirst); ok {
		_, ps.llm = e.Text.(*extract.LLM)
	}
	parser, err := m.documentParser(s, pdf.Options{Timeout: s.ParseTimeout, Password: m.Getenv("EXTRACTOR_PDF_PASSWORD")}, s.Isolate, workers)
	if err != nil {
		ps.close(context.Background())
		return nil, err
	}
	var cache pipeline.Cache
	if !s.NoCache {
		cache = pipeline.DirCache{Dir: filepath.Join(stateDir, "cache")}
	}
	ps.runner = &pipeline.Runner{
		RunID: ps.run.ID, Parser: parser, Extractor: ex, Second: second, Validator: extract.Checks{}, Schema: schema,
		Cache: cache, Recorder: ps.rd, Tracer: ps.tp.Tracer("github.com/extractor-dev/extractor/pipeline"),
	}
	if ps.store != nil {
		if ps.embedder, err = m.embedder(s.Embedding, ps.tp); err != nil {
			ps.close(context.Background())
			return nil, err
		}
		ps.recs = &recorders{dir: ps.rd, db: ps.store}
		ps.runner.Embedder, ps.runner.Store, ps.runner.Recorder = ps.embedder, ps.store, ps.recs
		if !s.NoCache {
			ps.runner.Cache = ps.store.Cache() // shared by every process using the database
		}
	}
	ps.run.Versions = ps.runner.Versions()
	ps.run.Versions["code"] = codeVersion()
	if err := ps.rd.WriteManifest(ps.run); err != nil {
		ps.close(context.Background())
		return nil, err
	}
	if ps.store != nil {
		if err := ps.store.SaveRun(ctx, ps.run); err != nil {
			ps.close(context.Background())
			return nil, err
		}
	}
	ok = true
	_, ps.runSpan = ps.runner.Tracer.Start(ctx, "run", trace.WithNewRoot(), trace.WithAttributes(
		tracing.RunID.String(ps.run.ID), attribute.Int("extractor.run.documents", len(inputs))))
	ps.runner.RunSpan = ps.runSpan.SpanContext()
	return ps, nil
}

// finish ends the run span, flushes the spans and writes the manifest,
// whose counts and spend are the run's totals over all its sessions, from
// its records (see pipeline.Totals).
func (ps *pipelineSetup) finish(status string) error {
	lines, terr := pipeline.ReadResults(ps.stateDir, ps.run.ID)
	var counts pipeline.RunCounts
	var spent pipeline.Usage
	if terr == nil {
		ps.lines = lines
		counts, spent, terr = pipeline.TotalsOf(lines, ps.stateDir, ps.run)
	}
	if terr == nil {
		ps.run.Counts, ps.run.Spent = counts, spent
	}
	ps.runSpan.SetAttributes(tracing.Status.String(status), tracing.UsageInputTokens.Int(ps.run.Spent.InputTokens),
		tracing.UsageOutputTokens.Int(ps.run.Spent.OutputTokens))
	if ps.run.Spent.Prices != "" || ps.run.Spent.Attempts == 0 {
		ps.runSpan.SetAttributes(tracing.CostUSD.Float64(ps.run.Spent.CostUSD))
	}
	ps.runSpan.End()
	flushCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := ps.close(flushCtx)
	st := ps.tp.Stats()
	ps.run.Spans = map[string]int64{"ended": st.Ended, "exported": st.Exported, "dropped": st.Dropped}
	now := time.Now().UTC()
	ps.run.Finished, ps.run.Status = &now, status
	err = errors.Join(err, terr, ps.rd.WriteManifest(ps.run), ps.rd.Close())
	if ps.store != nil {
		err = errors.Join(err, ps.recs.problem(), ps.store.SaveRun(flushCtx, ps.run))
		ps.store.Pool().Close()
	}
	return err
}

// ensureIndex builds the HNSW index of the run's embedding model unless it
// exists: after the documents are in, which makes the first build faster.
// It says on w when it built one; a failure is reported there too, as
// the documents are stored all the same (search then scans).
func (ps *pipelineSetup) ensureIndex(ctx context.Context, w io.Writer) {
	if ps.store == nil || ctx.Err() != nil {
		return
	}
	ctx, span := ps.runner.Tracer.Start(trace.ContextWithSpan(ctx, ps.runSpan), "index")
	defer span.End()
	idx, err := store.EnsureIndex(ctx, ps.store.Pool(), ps.embedder.Model(), ps.embedder.Dimensions(), store.IndexOptions{
		M: ps.index.M, EfConstruction: ps.index.EfConstruction, MaintenanceWorkMemMB: ps.index.MaintenanceWorkMemMB})
	span.SetAttributes(attribute.String("extractor.index.name", idx.Name), attribute.Bool("extractor.index.created", idx.Created))
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		fmt.Fprintf(w, "extractor: building the vector index of %s: %v\n", ps.embedder.Model(), err)
		return
	}
	if idx.Created {
		fmt.Fprintf(w, "extractor: built vector index %s (%s, %d dimensions) in %s\n", idx.Name, idx.Model, idx.Dims, idx.Duration.Round(time.Millisecond))
	}
}

// process takes files through the runner, at most limit at a time, and
// for each result, in input order: adds it to the summary and the run's
// spend, appends its line to the run's results, then calls emit. After
// stop, documents not started are recorded as interrupted.
// batch is the run's pipeline.Batch over the given files: each result
// line goes to the run directory (and the database, when storing).
func (ps *pipelineSetup) batch(limit int, stop <-chan struct{}) *pipeline.Batch {
	var log pipeline.ResultLog = ps.rd
	if ps.recs != nil {
		log = ps.recs
	}
	return &pipeline.Batch{Runner: ps.runner, Log: log, Schema: ps.schema, Limit: limit, Stop: stop, Reason: reason}
}

func (ps *pipelineSetup) close(ctx context.Context) error {
	if ps.tp == nil {
		return nil
	}
	return ps.tp.Shutdown(ctx)
}

// writeOut rewrites path (atomically) with each input's last result line
// from the run's records, in input order; onlyDone leaves out documents
// not finished yet (before a resume appends them).
func writeOut(path, format string, ps *pipelineSetup, inputs []string, onlyDone bool) error {
	lines := ps.lines
	if lines == nil || onlyDone { // before finish: read them now
		var err error
		if lines, err = pipeline.ReadResults(ps.stateDir, ps.run.ID); err != nil {
			return err
		}
	}
	return writeFile(path, func(out io.Writer) error {
		w := newResultWriter(format, out, ps.schema)
		for _, l := range pipeline.Latest(lines, inputs) {
			if onlyDone && !l.Done() {
				continue
			}
			if err := w.write(l); err != nil {
				return err
			}
		}
		return w.flush()
	})
}

// otlpProtocol is the OTLP exporter the environment asks for: "" (none),
// "http" or "grpc", by the standard OTEL_EXPORTER_OTLP_* variables.
func (m *Main) otlpProtocol() string {
	if m.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && m.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		return ""
	}
	if p := firstNonEmpty(m.Getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"), m.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")); p == "grpc" {
		return "grpc"
	}
	return "http"
}

func (m *Main) stateDir(flag string) string {
	return firstNonEmpty(flag, m.Getenv("EXTRACTOR_STATE"), ".extractor")
}

func (m *Main) runRun(ctx context.Context, args []string, f runFlags) error {
	if f.queue {
		return m.runQueued(ctx, args, f)
	}
	stateDir := m.stateDir(f.state)
	var s settings
	var files []string
	var resume *pipeline.Run
	done := map[string]string{}
	cfg, err := loadConfig(f.configPath)
	if err != nil {
		return usageError{err}
	}
	dsn := m.databaseURL(cfg) // never in the manifest: it may hold a password
	if f.resume != "" {
		id, err := m.history(f.state).Resolve(ctx, f.resume)
		if err != nil {
			return err
		}
		run, err := pipeline.ReadManifest(stateDir, id)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(run.Config, &s); err != nil {
			return fmt.Errorf("run %s: settings: %w", run.ID, err)
		}
		if done, err = pipeline.Finished(stateDir, run.ID); err != nil {
			return err
		}
		resume, files = &run, run.Inputs
	} else {
		s = m.settings(f, cfg)
		if files, err = documentFiles(args); err != nil {
			return usageError{err}
		}
		for i, p := range files {
			if abs, err := filepath.Abs(p); err == nil {
				files[i] = abs
			}
		}
	}
	switch f.format {
	case "jsonl", "csv", "table":
	default:
		return usageError{fmt.Errorf("--format %q: want jsonl, csv or table", f.format)}
	}
	ps, err := m.setupPipeline(ctx, s, files, resume, stateDir, dsn, f.concurrency)
	if err != nil {
		return err
	}
	if ps.note != "" {
		fmt.Fprintln(m.Stderr, "extractor:", ps.note)
	}
	var todo []string
	for _, p := range files {
		if _, ok := done[p]; !ok {
			todo = append(todo, p)
		}
	}
	if resume != nil {
		fmt.Fprintf(m.Stderr, "extractor: resuming run %s: %d of %d documents left\n", ps.run.ID, len(todo), len(files))
	} else {
		fmt.Fprintf(m.Stderr, "extractor: run %s (records in %s)\n", ps.run.ID, ps.rd.Dir)
	}

	if len(ps.rd.Repaired) > 0 {
		for _, r := range ps.rd.Repaired {
			fmt.Fprintf(m.Stderr, "extractor: run %s: %s\n", ps.run.ID, r)
		}
	}
	// With --out, the file ends as one line per input document, in input
	// order, from the run's own records, whatever crashes and resumes came
	// before; JSON lines are also appended as documents finish.
	out := m.Stdout
	if f.out != "" {
		if resume != nil && f.format == "jsonl" {
			if err := writeOut(f.out, f.format, ps, files, true); err != nil {
				ps.finish("failed")
				return err
			}
		}
		out = io.Discard
		if f.format == "jsonl" {
			flag := os.O_CREATE | os.O_WRONLY | os.O_APPEND
			if resume == nil {
				flag |= os.O_TRUNC
			}
			file, err := os.OpenFile(f.out, flag, 0o644)
			if err != nil {
				ps.finish("failed")
				return err
			}
			defer file.Close()
			out = file
		}
	}
	w := newResultWriter(f.format, out, ps.schema)
	w.runID = ps.run.ID
	prog := m.newProgress(len(todo))
	start := time.Now()
	b := ps.batch(f.concurrency, m.Stop)
	err = b.Process(ctx, inputsOf(todo), func(_ int, r pipeline.Result, line pipeline.ResultLine) error {
		prog.done(r, b.Counts, b.Spent)
		if r.Err != nil && !r.Interrupted {
			prog.log(fmt.Sprintf("extractor: %s: %s", r.File, reason(r.Err)))
		}
		if f.explain && len(r.Document.Pages) > 0 && rules.Readable(ps.schema) {
			fmt.Fprintf(m.Stderr, "\n%s\n", r.File)
			rules.New(rules.Config{}).Explain(r.Document, ps.schema).WriteText(m.Stderr)
		}
		return w.write(line)
	})
	prog.finish()
	ps.ensureIndex(ctx, m.Stderr)
	if ferr := w.flush(); err == nil {
		err = ferr
	}
	status := "finished"
	if b.Counts.Interrupted > 0 {
		status = "interrupted"
	}
	if ferr := ps.finish(status); err == nil {
		err = ferr
	}
	if f.out != "" {
		if werr := writeOut(f.out, f.format, ps, files, false); err == nil {
			err = werr
		}
	}
	fmt.Fprintln(m.Stderr, summary(b.Counts, b.Spent, time.Since(start), ps.run, ps.llm))
	if resume != nil {
		c := ps.run.Counts
		fmt.Fprintf(m.Stderr, "extractor: run %s in all: %d documents: %d ok (%d need review), %d failed, %d not done; %s\n",
			ps.run.ID, c.Documents, c.OK, c.Review, c.Failed, c.Interrupted, spendSummary(ps.run.Spent))
	}
	if n := b.Counts.Interrupted; n > 0 {
		fmt.Fprintf(m.Stderr, "extractor: %d documents not done; continue with: extractor run --resume %s\n", n, ps.run.ID)
	}
	if err != nil {
		return err
	}
	if b.Counts.Failed > 0 || b.Counts.Interrupted > 0 {
		return errSomeFailed
	}
	return nil
}

// inputsOf names files as the pipeline's inputs.
func inputsOf(files []string) []pipeline.Input {
	out := make([]pipeline.Input, len(files))
	for i, f := range files {
		out[i] = pipeline.FileInput(f)
	}
	return out
}
