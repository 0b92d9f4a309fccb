package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/extractor-dev/extractor/pipeline"
)

// apiFakes implements the server's interfaces in memory.
type apiFakes struct {
	mu        sync.Mutex
	jobs      map[int64]Job
	idem      map[string]int64
	idemHash  map[string]string
	extract   func(ctx context.Context, u Upload, o Options) (pipeline.ResultLine, error)
	pages     int
	pagesErr  error
	notReady  error
	submitted []Options
	runs      []RunRequest // POST /v1/runs, as the server read them
	*reviewFakes
}

func newAPIFakes() *apiFakes {
	return &apiFakes{jobs: map[int64]Job{}, idem: map[string]int64{}, idemHash: map[string]string{}, pages: 1, reviewFakes: newReviewFakes()}
}

const goodKey = "exk_abcdefgh_secret"

func (f *apiFakes) Authenticate(_ context.Context, token string) (Principal, error) {
	switch token {
	case goodKey:
		return Principal{KeyID: "abcdefgh", Name: "test"}, nil
	case "other-key":
		return Principal{KeyID: "otherkey"}, nil
	case "db-down":
		return Principal{}, fmt.Errorf("%w: connection refused", ErrUnavailable)
	}
	return Principal{}, ErrUnauthorized
}

func (f *apiFakes) Extract(ctx context.Context, u Upload, o Options) (pipeline.ResultLine, error) {
	if f.extract != nil {
		return f.extract(ctx, u, o)
	}
	return mustLine(fmt.Sprintf(`{"run_id":"r1","document_id":%q,"file":"upload:%s","status":"ok","usage":{"input_tokens":10,"output_tokens":2,"cost_usd":0.001}}`, u.SHA256, u.Name)), nil
}

func (f *apiFakes) Submit(_ context.Context, p Principal, key string, u Upload, o Options) (Job, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := RequestHash(u, o)
	if key != "" {
		if id, ok := f.idem[p.KeyID+key]; ok {
			if f.idemHash[p.KeyID+key] != h {
				return Job{}, false, ErrConflict
			}
			return f.jobs[id], true, nil
		}
	}
	id := int64(len(f.jobs) + 1)
	j := Job{ID: id, State: "queued", MaxAttempts: 3, Created: time.Unix(1700000000, 0).UTC(), Owner: p.KeyID}
	f.jobs[id] = j
	f.submitted = append(f.submitted, o)
	if key != "" {
		f.idem[p.KeyID+key], f.idemHash[p.KeyID+key] = id, h
	}
	return j, false, nil
}

// runFolder is the one folder the fakes' configuration allows.
const runFolder = "/srv/inbox"

func (f *apiFakes) SubmitRun(_ context.Context, _ Principal, req RunRequest) (QueuedRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if req.Folder != "" && req.Folder != runFolder {
		return QueuedRun{}, fmt.Errorf("%w: folder %q", ErrNotFound, req.Folder)
	}
	f.runs = append(f.runs, req)
	n := len(req.Uploads)
	if req.Folder != "" {
		n = 3
	}
	docs := map[string]bool{}
	for _, u := range req.Uploads {
		docs[u.SHA256] = true
	}
	return QueuedRun{RunID: fmt.Sprintf("20260115T093000Z-%06d", len(f.runs)), Inputs: n, Documents: max(len(docs), n-len(req.Uploads)),
		Status: "running"}, nil
}

func (f *apiFakes) Job(_ context.Context, id int64) (Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j, ok := f.jobs[id]
	if !ok {
		return Job{}, fmt.Errorf("%w: job %d", ErrNotFound, id)
	}
	return j, nil
}

func (f *apiFakes) Document(_ context.Context, id string) (Document, error) {
	if id == "known" {
		return Document{ID: id}, nil
	}
	return Document{}, fmt.Errorf("%w: document %s", ErrNotFound, id)
}

func (f *apiFakes) Run(_ context.Context, id string) (RunView, error) {
	if id == "broken" {
		return RunView{}, errors.New("pq: secret internal detail")
	}
	return RunView{}, fmt.Errorf("%w: run %s", ErrNotFound, id)
}

func (f *apiFakes) Search(_ context.Context, req SearchRequest) (SearchResults, error) {
	return SearchResults{Hits: []SearchHit{}}, nil
}

func (f *apiFakes) Ready(context.Context) error { return f.notReady }

func (f *apiFakes) Inspect(_ context.Context, data []byte) (int, error) {
	if !bytes.HasPrefix(data, []byte("%PDF-")) {
		return 0, fmt.Errorf("%w: the file is not a PDF", ErrUnsupportedMedia)
	}
	return f.pages, f.pagesErr
}

func newAPIServer(t *testing.T, f *apiFakes, edit func(*Config)) (*Server, *sdktrace.TracerProvider) {
	t.Helper()
	tp := sdktrace.NewTracerProvider()
	cfg := Config{Auth: f, Extractor: f, Jobs: f, Runs: f, Catalog: f, Ready: f, Inspect: f, TracerProvider: tp, Registry: prometheus.NewRegistry(),
		MaxBodyBytes: 1 << 20, MaxPages: 10, Queue: f, Corrections: f, Records: f, Webhooks: f}
	if edit != nil {
		edit(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, tp
}

const samplePDF = "%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"

// upload builds a multipart body.
func upload(t *testing.T, file []byte, name, options string) (io.Reader, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	if options != "" {
		w, _ := mw.CreateFormField("options")
		io.WriteString(w, options)
	}
	if file != nil {
		w, _ := mw.CreateFormFile("file", name)
		w.Write(file)
	}
	mw.Close()
	return &b, mw.FormDataContentType()
}

type call struct {
	method, path string
	key          string
	body         io.Reader
	ctype        string
	header       map[string]string
}

func do(t *testing.T, s *Server, c call) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(c.method, c.path, c.body)
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	if c.ctype != "" {
		req.Header.Set("Content-Type", c.ctype)
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	return rec
}

func problemOf(t *testing.T, rec *httptest.ResponseRecorder) Problem {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("status %d content type %q: %s", rec.Code, ct, rec.Body)
	}
	var p Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	if p.Status != rec.Code || !strings.HasPrefix(p.Type, ProblemType) || p.Title == "" || len(p.TraceID) != 32 || p.Instance == "" {
		t.Errorf("problem %+v (status %d)", p, rec.Code)
	}
	return p
}

func TestErrorStatuses(t *testing.T) {
	pdf := []byte(samplePDF)
	tests := []struct {
		name   string
		fakes  func(*apiFakes)
		config func(*Config)
		call   func(t *testing.T) call
		status int
		slug   string
		header map[string]string
		detail string
	}{
		{name: "no key", call: func(t *testing.T) call { return call{method: "GET", path: "/v1/jobs/1"} },
			status: 401, slug: "unauthorized", header: map[string]string{"WWW-Authenticate": `Bearer realm="extractor"`}},
		{name: "not a bearer token", call: func(t *testing.T) call {
			return call{method: "GET", path: "/v1/jobs/1", header: map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}}
		}, status: 401, slug: "unauthorized"},
		{name: "unknown key", call: func(t *testing.T) call { return call{method: "GET", path: "/v1/jobs/1", key: "exk_nope"} },
			status: 401, slug: "unauthorized"},
		{name: "database down while authenticating", call: func(t *testing.T) call { return call{method: "GET", path: "/v1/jobs/1", key: "db-down"} },
			status: 503, slug: "unavailable"},
		{name: "not multipart", call: func(t *testing.T) call {
			return call{method: "POST", path: "/v1/extractions", key: goodKey, body: strings.NewReader("{}"), ctype: "application/json"}
		}, status: 400, slug: "invalid-request"},
		{name: "no file part", call: func(t *testing.T) call {
			b, ct := upload(t, nil, "", `{}`)
			return call{method: "POST", path: "/v1/extractions", key: goodKey, body: b, ctype: ct}
		}, status: 400, slug: "invalid-request", detail: `no "file" part`},
		{name: "options not JSON", call: func(t *testing.T) call {
			b, ct := upload(t, pdf, "a.pdf", `{schema:`)
			return call{method: "POST", path: "/v1/extractions", key: goodKey, body: b, ctype: ct}
		}, status: 400, slug: "invalid-request"},
		{name: "options against their schema", call: func(t *testing.T) call {
			b, ct := upload(t, pdf, "a.pdf", `{"schema": "passport", "extractor": "rules", "speed": 9}`)
			return call{method: "POST", path: "/v1/extractions", key: goodKey, body: b, ctype: ct}
		}, status: 422, slug: "unprocessable"},
		{name: "body too large", call: func(t *testing.T) call {
			b, ct := upload(t, append(pdf, bytes.Repeat([]byte("x"), 2<<20)...), "big.pdf", "")
			return call{method: "POST", path: "/v1/extractions", key: goodKey, body: b, ctype: ct}
		}, status: 413, slug: "too-large"},
		{name: "not a PDF", call: func(t *testing.T) call {
			b, ct := upload(t, []byte("PK\x03\x04 a zip file"), "a.pdf", "")
			return call{method: "POST", path: "/v1/jobs", key: goodKey, body: b, ctype: ct}
		}, status: 415, slug: "unsupported-media-type"},
		{name: "too many pages", fakes: func(f *apiFakes) { f.pages = 11 }, call: func(t *testing.T) call {
			b, ct := upload(t, pdf, "long.pdf", "")
			return call{method: "POST", path: "/v1/extractions", key: goodKey, body: b, ctype: ct}
		}, status: 422, slug: "unprocessable", detail: "11 pages, the limit is 10"},
		{name: "page counter refuses", fakes: func(f *apiFakes) { f.pagesErr = fmt.Errorf("%w: more than 10 pages", ErrUnprocessable) }, call: func(t *testing.T) call {
			b, ct := upload(t, pdf, "long.pdf", "")
			return call{method: "POST", path: "/v1/jobs", key: goodKey, body: b, ctype: ct}
		}, status: 422, slug: "unprocessable"},
		{name: "bad idempotency key", call: func(t *testing.T) call {
			b, ct := upload(t, pdf, "a.pdf", "")
			return call{method: "POST", path: "/v1/jobs", key: goodKey, body: b, ctype: ct, header: map[string]string{"Idempotency-Key": "has space"}}
		}, status: 400, slug: "invalid-request"},
		{name: "unknown job", call: func(t *testing.T) call { return call{method: "GET", path: "/v1/jobs/99", key: goodKey} },
			status: 404, slug: "not-found"},
		{name: "job id not a number", call: func(t *testing.T) call { return call{method: "GET", path: "/v1/jobs/abc", key: goodKey} },
			status: 404, slug: "not-found"},
		{name: "unknown document", call: func(t *testing.T) call { return call{method: "GET", path: "/v1/documents/nope", key: goodKey} },
			status: 404, slug: "not-found"},
		{name: "unknown route", call: func(t *testing.T) call { return call{method: "GET", path: "/v2/anything"} },
			status: 404, slug: "not-found"},
		{name: "wrong method", call: func(t *testing.T) call { return call{method: "DELETE", path: "/v1/jobs/7", key: goodKey} },
			status: 405, slug: "method-not-allowed", header: map[string]string{"Allow": "GET, HEAD"}},
		{name: "wrong method on a POST route", call: func(t *testing.T) call { return call{method: "GET", path: "/v1/extractions"} },
			status: 405, slug: "method-not-allowed", header: map[string]string{"Allow": "POST"}},
		{name: "search body not JSON", call: func(t *testing.T) call {
			return call{method: "POST", path: "/v1/search", key: goodKey, body: strings.NewReader("query=x"), ctype: "application/json"}
		}, status: 400, slug: "invalid-request"},
		{name: "search without a query", call: func(t *testing.T) call {
			return call{method: "POST", path: "/v1/search", key: goodKey, body: strings.NewReader(`{"query": " ", "k": 5}`)}
		}, status: 422, slug: "unprocessable"},
		{name: "internal error keeps its detail", call: func(t *testing.T) call { return call{method: "GET", path: "/v1/runs/broken", key: goodKey} },
			status: 500, slug: "internal"},
		{name: "not ready", fakes: func(f *apiFakes) { f.notReady = errors.New("migrations behind") }, call: func(t *testing.T) call {
			return call{method: "GET", path: "/readyz"}
		}, status: 503, slug: "unavailable"},
		{name: "deadline", fakes: func(f *apiFakes) {
			f.extract = func(ctx context.Context, u Upload, o Options) (pipeline.ResultLine, error) {
				<-ctx.Done()
				return pipeline.ResultLine{}, ctx.Err()
			}
		}, config: func(c *Config) { c.RequestTimeout = 50 * time.Millisecond }, call: func(t *testing.T) call {
			b, ct := upload(t, pdf, "slow.pdf", "")
			return call{method: "POST", path: "/v1/extractions", key: goodKey, body: b, ctype: ct}
		}, status: 504, slug: "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newAPIFakes()
			if tt.fakes != nil {
				tt.fakes(f)
			}
			s, _ := newAPIServer(t, f, tt.config)
			rec := do(t, s, tt.call(t))
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			p := problemOf(t, rec)
			if p.Type != ProblemType+tt.slug {
				t.Errorf("type %q, want %q", p.Type, ProblemType+tt.slug)
			}
			for k, v := range tt.header {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if tt.detail != "" && !strings.Contains(p.Detail, tt.detail) {
				t.Errorf("detail %q lacks %q", p.Detail, tt.detail)
			}
			if strings.Contains(rec.Body.String(), "secret internal detail") {
				t.Error("a 500 shows the internal error")
			}
			if rec.Header().Get("X-Trace-Id") != p.TraceID {
				t.Errorf("X-Trace-Id %q, problem trace %q", rec.Header().Get("X-Trace-Id"), p.TraceID)
			}
		})
	}
}

func TestOptionsErrorsHavePointers(t *testing.T) {
	s, _ := newAPIServer(t, newAPIFakes(), nil)
	b, ct := upload(t, []byte(samplePDF), "a.pdf", `{"schema": "passport", "speed": 9}`)
	p := problemOf(t, do(t, s, call{method: "POST", path: "/v1/extractions", key: goodKey, body: b, ctype: ct}))
	ptrs := map[string]bool{}
	for _, e := range p.Errors {
		ptrs[e.Pointer] = true
	}
	if !ptrs["/schema"] || !ptrs[""] || len(p.Errors) != 2 {
		t.Errorf("errors %+v", p.Errors)
	}
}

func TestRateLimit(t *testing.T) {
	s, _ := newAPIServer(t, newAPIFakes(), func(c *Config) { c.RatePerSecond, c.Burst = 1, 2 })
	codes := []int{}
	var last *httptest.ResponseRecorder
	for range 3 {
		last = do(t, s, call{method: "GET", path: "/v1/documents/known", key: goodKey})
		codes = append(codes, last.Code)
	}
	if fmt.Sprint(codes) != "[200 200 429]" {
		t.Fatalf("codes %v", codes)
	}
	if ra := last.Header().Get("Retry-After"); ra != "1" {
		t.Errorf("Retry-After %q", ra)
	}
	problemOf(t, last)
	// Another key has its own budget.
	if rec := do(t, s, call{method: "GET", path: "/v1/documents/known", key: "other-key"}); rec.Code != 200 {
		t.Errorf("another key: %d", rec.Code)
	}
}

func TestExtractionAndJobs(t *testing.T) {
	f := newAPIFakes()
	s, _ := newAPIServer(t, f, nil)
	pdf := []byte(samplePDF)

	b, ct := upload(t, pdf, "inv.pdf", `{"schema": "invoice", "extractor": "rules"}`)
	rec := do(t, s, call{method: "POST", path: "/v1/extractions", key: goodKey, body: b, ctype: ct})
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" || len(rec.Header().Get("X-Trace-Id")) != 32 ||
		!strings.HasPrefix(rec.Header().Get("traceresponse"), "00-"+rec.Header().Get("X-Trace-Id")+"-") {
		t.Fatalf("extraction: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	var line map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &line); err != nil || line["file"] != "upload:inv.pdf" || line["status"] != "ok" {
		t.Errorf("line %v %v", line, err)
	}

	submit := func(key, idem string, file []byte, opts string) *httptest.ResponseRecorder {
		b, ct := upload(t, file, "inv.pdf", opts)
		h := map[string]string{}
		if idem != "" {
			h["Idempotency-Key"] = idem
		}
		return do(t, s, call{method: "POST", path: "/v1/jobs", key: key, body: b, ctype: ct, header: h})
	}
	rec = submit(goodKey, "order-1", pdf, "")
	if rec.Code != 202 || rec.Header().Get("Location") != "/v1/jobs/1" || rec.Header().Get("Retry-After") != "2" {
		t.Fatalf("job: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	var job Job
	json.Unmarshal(rec.Body.Bytes(), &job)
	if job.ID != 1 || job.State != "queued" {
		t.Errorf("job %+v", job)
	}
	// The same key and body: the same job, flagged as a replay.
	rec = submit(goodKey, "order-1", pdf, "")
	if rec.Code != 202 || rec.Header().Get("Location") != "/v1/jobs/1" || rec.Header().Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay: %d %v", rec.Code, rec.Header())
	}
	// The same key, another body: 422.
	rec = submit(goodKey, "order-1", pdf, `{"schema": "nda"}`)
	if rec.Code != 422 || problemOf(t, rec).Type != ProblemType+"idempotency-conflict" {
		t.Errorf("conflict: %d %s", rec.Code, rec.Body)
	}
	if len(f.submitted) != 1 {
		t.Errorf("%d jobs submitted", len(f.submitted))
	}
	rec = do(t, s, call{method: "GET", path: "/v1/jobs/1", key: goodKey})
	if rec.Code != 200 || rec.Header().Get("Retry-After") != "2" {
		t.Errorf("get job: %d %v", rec.Code, rec.Header())
	}
	// Another key does not see it.
	if rec := do(t, s, call{method: "GET", path: "/v1/jobs/1", key: "other-key"}); rec.Code != 404 {
		t.Errorf("another key's job: %d", rec.Code)
	}
	if rec := do(t, s, call{method: "GET", path: "/livez"}); rec.Code != 200 {
		t.Errorf("livez %d", rec.Code)
	}
	if rec := do(t, s, call{method: "GET", path: "/readyz"}); rec.Code != 200 {
		t.Errorf("readyz %d", rec.Code)
	}
	rec = do(t, s, call{method: "GET", path: "/metrics"})
	for _, want := range []string{`extractor_http_requests_total{code="202",method="POST",route="POST /v1/jobs"} 2`,
		`extractor_extractions_total{path="sync",status="ok"} 1`, `extractor_jobs_total{event="submitted"} 1`, "extractor_llm_tokens_total"} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if rec := do(t, s, call{method: "POST", path: "/v1/search", key: goodKey, body: strings.NewReader(`{"query": "total", "k": 3}`)}); rec.Code != 200 {
		t.Errorf("search %d %s", rec.Code, rec.Body)
	}
}

// The server span of a request is the parent of what the handler does.
func TestServerSpans(t *testing.T) {
	f := newAPIFakes()
	var handlerTrace string
	f.extract = func(ctx context.Context, u Upload, o Options) (pipeline.ResultLine, error) {
		handlerTrace = spanTraceID(ctx)
		return mustLine(`{"status":"ok"}`), nil
	}
	s, _ := newAPIServer(t, f, nil)
	b, ct := upload(t, []byte(samplePDF), "a.pdf", "")
	req := httptest.NewRequest("POST", "/v1/extractions", b)
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+goodKey)
	req.Header.Set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != 200 || rec.Header().Get("X-Trace-Id") != "0af7651916cd43dd8448eb211c80319c" || handlerTrace != "0af7651916cd43dd8448eb211c80319c" {
		t.Errorf("status %d, trace header %q, handler's trace %q", rec.Code, rec.Header().Get("X-Trace-Id"), handlerTrace)
	}
}

func FuzzParseOptions(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"schema":"invoice"}`, `{"extractor":"llm","schema":"nda"}`, `{"schema":1}`, `[]`, `null`, `{"a":`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := parseOptions(b)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrUnprocessable) {
				t.Fatalf("error of no kind: %v", err)
			}
			return
		}
		if (o.Schema != "" && o.Schema != "invoice" && o.Schema != "nda") || (o.Extractor != "" && o.Extractor != "auto" && o.Extractor != "llm" && o.Extractor != "rules") {
			t.Fatalf("accepted %+v from %q", o, b)
		}
	})
}

// FuzzUpload sends arbitrary bodies to the upload endpoint: every answer
// is a result or a problem of a known kind, never a 500 or a panic.
func FuzzUpload(f *testing.F) {
	b, ct := upload(&testing.T{}, []byte(samplePDF), "a.pdf", `{"schema":"invoice"}`)
	body, _ := io.ReadAll(b)
	boundary := strings.TrimPrefix(ct, "multipart/form-data; boundary=")
	f.Add(body, boundary)
	f.Add([]byte("--x\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n%PDF-\r\n--x--\r\n"), "x")
	f.Add([]byte{}, "")
	srv, _ := newAPIServer(&testing.T{}, newAPIFakes(), func(c *Config) { c.RatePerSecond = -1; c.MaxBodyBytes = 1 << 16 })
	f.Fuzz(func(t *testing.T, body []byte, boundary string) {
		req := httptest.NewRequest("POST", "/v1/extractions", bytes.NewReader(body))
		req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
		req.Header.Set("Authorization", "Bearer "+goodKey)
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 400, 413, 415, 422:
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	})
}

func spanTraceID(ctx context.Context) string {
	return trace.SpanContextFromContext(ctx).TraceID().String()
}

// A file name is data from the client: kept bounded and printable, never
// a path (a 600-byte name once gave 500 "file name too long").
func TestUploadNamesAreData(t *testing.T) {
	f := newAPIFakes()
	var got string
	f.extract = func(_ context.Context, u Upload, _ Options) (pipeline.ResultLine, error) {
		got = u.Name
		return mustLine(`{"status":"ok"}`), nil
	}
	s, _ := newAPIServer(t, f, nil)
	name := strings.Repeat("ä", 300) + ".pdf"
	b, ct := upload(t, []byte(samplePDF), name, "")
	rec := do(t, s, call{method: "POST", path: "/v1/extractions", key: goodKey, body: b, ctype: ct})
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if n := utf8.RuneCountInString(got); n > maxNameRunes+1 || !strings.HasSuffix(got, "…") {
		t.Errorf("kept name %q (%d runes)", got, n)
	}
	// A right-to-left override would show "fdp.exe" as "exe.pdf".
	b, ct = upload(t, []byte(samplePDF), "x\u202efdp.exe", "")
	do(t, s, call{method: "POST", path: "/v1/extractions", key: goodKey, body: b, ctype: ct})
	if got != `x\u202efdp.exe` {
		t.Errorf("kept name %q", got)
	}
}

// The route's deadline covers reading the body: a client that stops
// sending gets a timeout problem when the deadline passes, instead of
// holding the handler for as long as it likes.
func TestSlowBodyMeetsTheDeadline(t *testing.T) {
	f := newAPIFakes()
	s, _ := newAPIServer(t, f, func(c *Config) { c.RequestTimeout = 300 * time.Millisecond })
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	b, ct := upload(t, []byte(samplePDF), "a.pdf", "")
	body, _ := io.ReadAll(b)
	fmt.Fprintf(conn, "POST /v1/extractions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", goodKey, ct, len(body))
	conn.Write(body[:len(body)/2])                    // and then nothing more
	conn.SetReadDeadline(time.Now().Add(time.Minute)) // a hang guard, not the verdict
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no response while the body is stalled: %v", err)
	}
	if resp.StatusCode != http.StatusGatewayTimeout {
		b, _ := io.ReadAll(resp.Body)
		t.Errorf("status %d: %s", resp.StatusCode, b)
	}
}

// mustLine reads a result line written as JSON.
func mustLine(s string) pipeline.ResultLine {
	var l pipeline.ResultLine
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		panic(err)
	}
	return l
}
