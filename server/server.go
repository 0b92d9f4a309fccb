// Package server is the HTTP face of extractor: the JSON API (synchronous
// extractions, asynchronous jobs, documents, search, runs), its operations
// endpoints (/openapi.json, /livez, /readyz, /metrics) and the web pages
// for reviewing results, traces and eval reports.
//
// It owns HTTP: routing, authentication, limits, idempotency headers,
// problem details, metrics and server spans. It does not parse, extract,
// store or queue: it calls the interfaces below, which cmd/extractor wires
// to the pipeline, the store and the job queue. It reads no environment.
package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/time/rate"

	"github.com/extractor-dev/extractor/pipeline"
)

// Options are what a request may choose about its extraction.
type Options struct {
	// Schema is a built-in schema's name ("invoice", "nda"); "" for the
	// server's default.
	Schema string `json:"schema,omitempty"`
	// Extractor is "auto", "llm" or "rules"; "" for "auto".
	Extractor string `json:"extractor,omitempty"`
}

// Upload is an uploaded PDF.
type Upload struct {
	Name   string
	SHA256 string
	Data   []byte
	Pages  int
}

// Principal is who a request authenticated as.
type Principal struct {
	KeyID string
	Name  string
}

// Authenticator checks bearer tokens; it fails with ErrUnauthorized.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (Principal, error)
}

// Extractor runs the pipeline on an upload now and returns the result as
// one line of 'extractor run' (a JSON object).
type Extractor interface {
	Extract(ctx context.Context, u Upload, o Options) (pipeline.ResultLine, error)
}

// Job is an asynchronous extraction.
type Job struct {
	ID int64 `json:"id"`
	// State is "queued", "running", "succeeded" or "failed" (failed: every
	// attempt failed; the errors say why).
	State       string          `json:"state"`
	Attempt     int             `json:"attempt"`
	MaxAttempts int             `json:"max_attempts"`
	Errors      []string        `json:"errors,omitempty"`
	Result      json.RawMessage `json:"result,omitempty"`
	Created     time.Time       `json:"created"`
	Finished    *time.Time      `json:"finished,omitempty"`
	// Owner is the id of the key that submitted it (not shown).
	Owner string `json:"-"`
}

// Jobs queues extractions. Submit fails with ErrConflict when the
// idempotency key was used with another request; existed reports a
// replayed submission.
type Jobs interface {
	Submit(ctx context.Context, p Principal, idempotencyKey string, u Upload, o Options) (job Job, existed bool, err error)
	Job(ctx context.Context, id int64) (Job, error)
}

// SearchRequest is a search over the stored chunks.
type SearchRequest struct {
	Query string `json:"query"`
	K     int    `json:"k,omitempty"`
	// Mode is "hybrid" (default), "vector" or "text".
	Mode string `json:"mode,omitempty"`
	// Filters as the CLI's --filter: "vendor_name~acme", "total_amount>=100".
	Filters []string `json:"filters,omitempty"`
}

// Catalog reads what the pipeline stored; each returns ErrNotFound for an
// unknown id.
type Catalog interface {
	Document(ctx context.Context, id string) (Document, error)
	Run(ctx context.Context, id string) (RunView, error)
	Search(ctx context.Context, req SearchRequest) (SearchResults, error)
}

// Document is a stored document with its extractions, newest first
// (GET /v1/documents/{id}).
type Document struct {
	ID          string               `json:"id"`
	Source      string               `json:"source"`
	Size        int64                `json:"size"`
	Parser      string               `json:"parser"`
	Pages       int                  `json:"pages"`
	TextPages   int                  `json:"text_pages"`
	Status      string               `json:"status"`
	Meta        map[string]string    `json:"meta"`
	Warnings    []string             `json:"warnings"`
	LastRunID   string               `json:"last_run_id"`
	FirstSeen   time.Time            `json:"first_seen"`
	LastSeen    time.Time            `json:"last_seen"`
	Chunks      int                  `json:"chunks"`
	Extractions []DocumentExtraction `json:"extractions"`
}

// DocumentExtraction is one stored extraction of a document.
type DocumentExtraction struct {
	ID               int64               `json:"id"`
	RunID            string              `json:"run_id"`
	Schema           string              `json:"schema"`
	SchemaVersion    string              `json:"schema_version"`
	ExtractorVersion string              `json:"extractor_version"`
	Created          time.Time           `json:"created"`
	Extraction       pipeline.Extraction `json:"extraction"`
}

// RunView is a stored run with its step records and result lines
// (GET /v1/runs/{id}).
type RunView struct {
	Run     pipeline.Run          `json:"run"`
	Steps   []pipeline.StepRecord `json:"steps"`
	Results []pipeline.ResultLine `json:"results"`
	// Progress is a queued run's (POST /v1/runs, 'extractor run --queue').
	Progress *RunProgress `json:"progress,omitempty"`
}

// Runs queues batch runs whose documents workers do (POST /v1/runs).
type Runs interface {
	SubmitRun(ctx context.Context, p Principal, req RunRequest) (QueuedRun, error)
}

// RunRequest is a batch to run on the queue: uploaded files, or a folder
// on the server's side that its configuration allows.
type RunRequest struct {
	Uploads []Upload
	Folder  string
	Options Options
}

// QueuedRun is what POST /v1/runs answers: the run's id and what it
// queued.
type QueuedRun struct {
	RunID string `json:"run_id"`
	// Inputs files were listed; Documents distinct documents queued (a
	// file holding another's bytes is one document); Unreadable files
	// could not be read and were not queued.
	Inputs     int    `json:"inputs"`
	Documents  int    `json:"documents"`
	Unreadable int    `json:"unreadable,omitempty"`
	Status     string `json:"status"`
}

// RunProgress is how a queued run goes.
type RunProgress struct {
	State     string         `json:"state"`
	Total     int            `json:"total"`
	Done      int            `json:"done"`
	OK        int            `json:"ok"`
	Failed    int            `json:"failed"`
	Review    int            `json:"review"`
	Spent     pipeline.Usage `json:"spent"`
	PerSecond float64        `json:"documents_per_second"`
}

// SearchResults are the hits of a search (POST /v1/search).
type SearchResults struct {
	Hits []SearchHit `json:"hits"`
}

// SearchHit is one chunk found, with where it is and how it scored.
type SearchHit struct {
	Rank       int     `json:"rank"`
	ChunkID    string  `json:"chunk_id"`
	DocumentID string  `json:"document_id"`
	Source     string  `json:"source"`
	Page       int     `json:"page"`
	FirstLine  int     `json:"first_line"`
	LastLine   int     `json:"last_line"`
	Score      float64 `json:"score"`
	// The score breakdown: rank (0: not in the list) and raw score in
	// each list.
	VectorRank     int     `json:"vector_rank"`
	VectorDistance float64 `json:"vector_distance"`
	TextRank       int     `json:"text_rank"`
	TextScore      float64 `json:"text_score"`
	Text           string  `json:"text"`
}

// Readiness says whether the server can serve (database reachable,
// migrations applied); it never calls the LLM.
type Readiness interface {
	Ready(ctx context.Context) error
}

// Inspector looks at an upload before any work is accepted for it: is it
// a document the pipeline reads, and how many pages has it. It must not
// parse untrusted bytes in the server's own process (a hostile file can
// kill the process that reads it: see extract/pdf.Isolation).
type Inspector interface {
	// Inspect returns the page count (0 when it could not count: the
	// pipeline will say why), or an error wrapping ErrUnsupportedMedia
	// (not a document the pipeline reads) or ErrUnprocessable (over a
	// limit).
	Inspect(ctx context.Context, data []byte) (pages int, err error)
}

// Config configures a Server. Auth, Extractor, Jobs, Catalog and Ready are
// required.
type Config struct {
	Auth      Authenticator
	Extractor Extractor
	Jobs      Jobs
	// Runs, when set, queues batch runs (POST /v1/runs).
	Runs    Runs
	Catalog Catalog
	Ready   Readiness
	// Inspect checks uploads; without it every upload is accepted and
	// left to the pipeline.
	Inspect Inspector
	// Review, when set, serves the web pages (under /ui/, and / redirects
	// there).
	Review Review
	// The review loop's API, each served when set: the queue, corrections
	// and decisions, history, exports and metrics, webhooks.
	Queue       ReviewQueue
	Corrections Corrections
	Records     ReviewRecords
	Webhooks    Webhooks
	// PageImages, when set, shows each page's image on the document page
	// with the evidence boxes drawn over it.
	PageImages PageImages
	// History, when set, serves the diff of two runs and the lineage of a
	// value (linked from every field).
	History History

	// MaxBodyBytes bounds a request body (default 20 MiB).
	MaxBodyBytes int64
	// MaxPages bounds an uploaded document (default 200).
	MaxPages int
	// RequestTimeout bounds a synchronous extraction (default 2 minutes);
	// other requests get 30 seconds.
	RequestTimeout time.Duration
	// RatePerSecond and Burst limit each key's requests (default 10/s,
	// burst 20; negative: no limit). The limit is per process.
	RatePerSecond float64
	Burst         int
	// JobRetryAfter is the Retry-After of a queued job (default 2s).
	JobRetryAfter time.Duration

	TracerProvider trace.TracerProvider
	// Registry receives the server's metrics and is served on /metrics
	// (default: a new registry).
	Registry *prometheus.Registry
	Logger   *slog.Logger
}

// Server is the HTTP API.
type Server struct {
	cfg     Config
	handler http.Handler
	metrics *Metrics

	// crossOrigin refuses the pages' POSTs that other sites make
	// browsers send.
	crossOrigin *http.CrossOriginProtection

	mu       sync.Mutex
	limiters map[string]*rate.Limiter
}

// New returns a server.
func New(cfg Config) (*Server, error) {
	if cfg.Auth == nil || cfg.Extractor == nil || cfg.Jobs == nil || cfg.Catalog == nil || cfg.Ready == nil {
		return nil, errors.New("server: Auth, Extractor, Jobs, Catalog and Ready are required")
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 20 << 20
	}
	if cfg.MaxPages <= 0 {
		cfg.MaxPages = 200
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 2 * time.Minute
	}
	if cfg.RatePerSecond == 0 {
		cfg.RatePerSecond = 10
	}
	if cfg.Burst <= 0 {
		cfg.Burst = 20
	}
	if cfg.JobRetryAfter <= 0 {
		cfg.JobRetryAfter = 2 * time.Second
	}
	if cfg.TracerProvider == nil {
		cfg.TracerProvider = otel.GetTracerProvider()
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, limiters: map[string]*rate.Limiter{}, crossOrigin: http.NewCrossOriginProtection()}
	var err error
	if s.metrics, err = newMetrics(cfg.Registry); err != nil {
		return nil, err
	}
	s.handler = s.routes()
	return s, nil
}

// Handler is the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Metrics returns the hooks through which the workers of this process
// report the jobs they finish.
func (s *Server) Metrics() *Metrics { return s.metrics }

// route is one API route: its pattern (for the mux, the metrics and the
// OpenAPI check), whether it needs a key, and its handler.
type route struct {
	pattern string
	auth    bool
	timeout time.Duration
	handle  func(w http.ResponseWriter, r *http.Request, p Principal) error
}

func (s *Server) apiRoutes() []route {
	short := 30 * time.Second
	return []route{
		{"POST /v1/extractions", true, s.cfg.RequestTimeout, s.postExtraction},
		{"POST /v1/jobs", true, short, s.postJob},
		{"GET /v1/jobs/{id}", true, short, s.getJob},
		{"GET /v1/documents/{id}", true, short, s.getDocument},
		{"POST /v1/search", true, short, s.postSearch},
		{"GET /v1/runs/{id}", true, short, s.getRun},
		{"GET /openapi.json", false, short, s.getOpenAPI},
		{"GET /livez", false, short, s.getLivez},
		{"GET /readyz", false, short, s.getReadyz},
	}
}

// runRoutes are the batch runs' routes, when wired. Queueing a folder of
// many thousand files reads them all: its deadline is long.
func (s *Server) runRoutes() []route {
	if s.cfg.Runs == nil {
		return nil
	}
	return []route{{"POST /v1/runs", true, 10 * time.Minute, s.postRun}}
}

// allRoutes are the API's routes and the batch runs' and review loop's that are wired.
func (s *Server) allRoutes() []route {
	return append(append(s.apiRoutes(), s.runRoutes()...), s.reviewRoutes()...)
}

// Routes lists the API's routes ("METHOD /path"), for the OpenAPI check.
func (s *Server) Routes() []string {
	var out []string
	for _, rt := range s.allRoutes() {
		out = append(out, rt.pattern)
	}
	return append(out, "GET /metrics")
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.allRoutes() {
		mux.Handle(rt.pattern, s.wrap(rt))
	}
	mux.Handle("GET /metrics", s.instrument("GET /metrics", promHandler(s.cfg.Registry)))
	if s.cfg.Review != nil {
		s.webRoutes(mux)
	} else {
		mux.Handle("/", s.wrap(route{"/", false, 30 * time.Second, func(w http.ResponseWriter, r *http.Request, _ Principal) error {
			return unmatched(mux, w, r)
		}}))
	}
	// Server spans for every request, named by route; the trace id goes
	// back in a header before anything is written.
	return otelhttp.NewHandler(withTraceHeader(mux), "http",
		otelhttp.WithTracerProvider(s.cfg.TracerProvider),
		otelhttp.WithPropagators(propagation.TraceContext{}),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			if r.Pattern != "" {
				return r.Pattern
			}
			return r.Method
		}))
}

// unmatched is the error for a request no route takes: 405, with the
// methods the path does have in Allow, or 404. (The catch-all routes that
// answer 404 match every method, so the mux's own 405 never happens.)
func unmatched(mux *http.ServeMux, w http.ResponseWriter, r *http.Request) error {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/" && pattern != "/ui/" {
			allow = append(allow, m)
		}
	}
	if len(allow) == 0 {
		return fmt.Errorf("%w: %s %s", ErrNotFound, r.Method, pipeline.Printable(r.URL.Path, 200))
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	return fmt.Errorf("%w: %s %s (allowed: %s)", ErrMethodNotAllowed, r.Method, pipeline.Printable(r.URL.Path, 200), strings.Join(allow, ", "))
}

// withTraceHeader puts the request's trace id in X-Trace-Id and a W3C
// traceresponse header.
func withTraceHeader(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sc := trace.SpanContextFromContext(r.Context()); sc.IsValid() {
			w.Header().Set("X-Trace-Id", sc.TraceID().String())
			w.Header().Set("traceresponse", fmt.Sprintf("00-%s-%s-%s", sc.TraceID(), sc.SpanID(), sc.TraceFlags()))
		}
		next.ServeHTTP(w, r)
	})
}

// statusWriter records the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// instrument counts requests and their durations by route and status.
func (s *Server) instrument(name string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		s.metrics.request(name, r.Method, sw.status, time.Since(start))
	})
}

// wrap runs an API route: metrics, the deadline, authentication, the
// key's rate limit, and errors as problem details.
func (s *Server) wrap(rt route) http.Handler {
	return s.instrument(rt.pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := withDeadline(w, r, rt.timeout)
		defer cancel()
		r = r.WithContext(ctx)
		var p Principal
		if rt.auth {
			var err error
			if p, err = s.authenticate(r); err != nil {
				s.writeProblem(w, r, err)
				return
			}
			if err := s.allow(p); err != nil {
				s.writeProblem(w, r, err)
				return
			}
		}
		if err := rt.handle(w, r, p); err != nil {
			if sw, ok := w.(*statusWriter); ok && sw.status != 0 {
				// The response had begun (writing its body failed, most
				// likely because the client went away): a problem now
				// would be appended to it.
				s.cfg.Logger.Warn("response cut short", "method", r.Method, "path", r.URL.Path, "status", sw.status, "error", err)
				return
			}
			s.writeProblem(w, r, deadlineError(ctx, rt.timeout, err))
		}
	}))
}

// withDeadline is the route's deadline, on the request's context and on
// reading its body: a client that sends its body slowly cannot hold a
// handler past the route's time (the context alone does not stop a read
// that is waiting for bytes).
func withDeadline(w http.ResponseWriter, r *http.Request, timeout time.Duration) (context.Context, context.CancelFunc) {
	deadline := time.Now().Add(timeout)
	_ = http.NewResponseController(w).SetReadDeadline(deadline) // not every writer supports it (tests' recorders)
	return context.WithDeadline(r.Context(), deadline)
}

// deadlineError is err as an ErrTimeout when it came of ctx's deadline
// (timeout), so that it maps to 504 rather than to whatever failed.
func deadlineError(ctx context.Context, timeout time.Duration, err error) error {
	if ctx.Err() == context.DeadlineExceeded && !errors.Is(err, ErrTimeout) {
		return fmt.Errorf("%w: after %s (%v)", ErrTimeout, timeout, err)
	}
	return err
}

// authenticate reads the bearer token.
func (s *Server) authenticate(r *http.Request) (Principal, error) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return Principal{}, fmt.Errorf("%w: send Authorization: Bearer <key>", ErrUnauthorized)
	}
	p, err := s.cfg.Auth.Authenticate(r.Context(), strings.TrimSpace(token))
	if err != nil {
		if errors.Is(err, ErrUnauthorized) {
			return Principal{}, ErrUnauthorized
		}
		return Principal{}, err
	}
	return p, nil
}

// allow applies the key's rate limit.
func (s *Server) allow(p Principal) error {
	if s.cfg.RatePerSecond < 0 {
		return nil
	}
	s.mu.Lock()
	l, ok := s.limiters[p.KeyID]
	if !ok {
		l = rate.NewLimiter(rate.Limit(s.cfg.RatePerSecond), s.cfg.Burst)
		s.limiters[p.KeyID] = l
	}
	s.mu.Unlock()
	res := l.Reserve()
	if d := res.Delay(); d > 0 {
		res.Cancel()
		return retryAfter{fmt.Errorf("%w: %.0f requests per second, burst %d", ErrRateLimited, s.cfg.RatePerSecond, s.cfg.Burst), d}
	}
	return nil
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// RequestHash identifies a job submission for idempotency: the file and
// the options.
func RequestHash(u Upload, o Options) string {
	b, _ := json.Marshal(o)
	sum := sha256.Sum256(append([]byte(u.SHA256+"\x00"), b...))
	return hex.EncodeToString(sum[:])
}

// Serve serves on ln until ctx ends, then shuts down gracefully: no new
// connections, requests in flight finish (until shutdownTimeout).
func (s *Server) Serve(ctx context.Context, ln net.Listener, shutdownTimeout time.Duration) error {
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
