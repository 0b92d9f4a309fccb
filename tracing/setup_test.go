package tracing

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// quietOTel silences the OTel error handler, which failing exporters
// report to, for the duration of a test.
func quietOTel(t *testing.T) {
	prev := otel.GetErrorHandler()
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(error) {}))
	t.Cleanup(func() { otel.SetErrorHandler(prev) })
}

func TestSetupSpanFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "runs", "r1", "spans.jsonl")
	mem := tracetest.NewInMemoryExporter()
	p, err := Setup(ctx, Config{SpanFile: path, ServiceName: "extractor", ServiceVersion: "v1.2.3", Exporters: []sdktrace.SpanExporter{mem}})
	if err != nil {
		t.Fatal(err)
	}
	tr := p.Tracer("github.com/extractor-dev/extractor/pipeline")
	ctx, run := tr.Start(ctx, "run", trace.WithAttributes(RunID.String("r1")))
	for _, step := range []string{"Document", "Chunks"} {
		_, s := tr.Start(ctx, step, trace.WithAttributes(StepName.String(step), CacheHit.Bool(false)))
		s.End()
	}
	run.End()
	// An unsampled span is neither exported nor counted.
	_, unsampled := p.Tracer("x").Start(trace.ContextWithSpanContext(context.Background(),
		trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}, Remote: true})), "unsampled")
	unsampled.End()

	if err := p.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := len(mem.GetSpans()); got != 3 {
		t.Errorf("in-memory exporter got %d spans, want 3", got)
	}
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Shutdown(ctx); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
	spans, err := ReadSpanFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(spans) != 3 {
		t.Fatalf("file has %d spans, want 3", len(spans))
	}
	for _, s := range spans {
		if v, _ := lookup(s.Resource, "service.name"); v.AsString() != "extractor" {
			t.Errorf("service.name = %q", v.AsString())
		}
		if v, _ := lookup(s.Resource, "service.version"); v.AsString() != "v1.2.3" {
			t.Errorf("service.version = %q", v.AsString())
		}
		if _, ok := lookup(s.Resource, "telemetry.sdk.version"); !ok {
			t.Error("no telemetry.sdk.version")
		}
	}
	st := p.Stats()
	want := Stats{Ended: 3, Exported: 3, Dropped: 0, Exporters: []ExporterStats{
		{Name: "0:*tracetest.InMemoryExporter", Exported: 3},
		{Name: "jsonl", Exported: 3},
	}}
	if !statsEqual(st, want) {
		t.Errorf("Stats = %+v, want %+v", st, want)
	}
}

func statsEqual(a, b Stats) bool {
	if a.Ended != b.Ended || a.Exported != b.Exported || a.Dropped != b.Dropped || len(a.Exporters) != len(b.Exporters) {
		return false
	}
	for i := range a.Exporters {
		if a.Exporters[i] != b.Exporters[i] {
			return false
		}
	}
	return true
}

type failingExporter struct{}

func (failingExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error {
	return errors.New("collector unreachable")
}
func (failingExporter) Shutdown(context.Context) error { return nil }

func TestStatsDroppedWhenExporterFails(t *testing.T) {
	quietOTel(t)
	ctx := context.Background()
	p, err := Setup(ctx, Config{SpanFile: filepath.Join(t.TempDir(), "spans.jsonl"), Exporters: []sdktrace.SpanExporter{failingExporter{}}})
	if err != nil {
		t.Fatal(err)
	}
	tr := p.Tracer("t")
	for range 10 {
		_, s := tr.Start(ctx, "s")
		s.End()
	}
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	st := p.Stats()
	want := Stats{Ended: 10, Exported: 0, Dropped: 10, Exporters: []ExporterStats{
		{Name: "0:tracing.failingExporter", Failed: 10, Dropped: 10},
		{Name: "jsonl", Exported: 10},
	}}
	if !statsEqual(st, want) {
		t.Errorf("Stats = %+v, want %+v", st, want)
	}
}

// blockingExporter holds its first export until release is closed.
type blockingExporter struct {
	release  chan struct{}
	exported atomic.Int64
}

func (e *blockingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	select {
	case <-e.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	e.exported.Add(int64(len(spans)))
	return nil
}
func (e *blockingExporter) Shutdown(context.Context) error { return nil }

func TestStatsDroppedWhenQueueIsFull(t *testing.T) {
	ctx := context.Background()
	slow := &blockingExporter{release: make(chan struct{})}
	p, err := Setup(ctx, Config{Exporters: []sdktrace.SpanExporter{slow}, MaxQueueSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	tr := p.Tracer("t")
	const n = 100
	for range n {
		_, s := tr.Start(ctx, "s")
		s.End()
	}
	// The processor holds at most one span in its export and one in its
	// queue: the rest were dropped.
	close(slow.release)
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	st := p.Stats()
	if st.Ended != n || st.Dropped < n-2 || st.Exported+st.Dropped != n || st.Exported != slow.exported.Load() {
		t.Errorf("Stats = %+v; exporter saw %d", st, slow.exported.Load())
	}
}

func TestStatsWithoutExporters(t *testing.T) {
	p, err := Setup(context.Background(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	_, s := p.Tracer("t").Start(context.Background(), "s")
	s.End()
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := p.Stats(); st.Ended != 1 || st.Dropped != 0 || len(st.Exporters) != 0 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestSetupBadOTLP(t *testing.T) {
	if _, err := Setup(context.Background(), Config{OTLP: "udp"}); err == nil {
		t.Error("Setup accepted OTLP \"udp\"")
	}
	if _, err := Setup(context.Background(), Config{SpanFile: filepath.Join(t.TempDir(), "f", "\x00")}); err == nil {
		t.Error("Setup accepted a bad span file name")
	}
}

// clearOTLPEnv points every OTLP variable the exporters read at url (or
// unsets it), so the host's environment cannot send test spans elsewhere.
func clearOTLPEnv(t *testing.T, url string) {
	for _, k := range []string{"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
		"OTEL_EXPORTER_OTLP_CERTIFICATE", "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
		"OTEL_EXPORTER_OTLP_COMPRESSION", "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION"} {
		t.Setenv(k, "")
	}
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", url)
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_INSECURE", "true")
	t.Setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "5000")
}

func TestSetupOTLPHTTP(t *testing.T) {
	var (
		mu    sync.Mutex
		paths []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		paths = append(paths, r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	clearOTLPEnv(t, srv.URL)

	ctx := context.Background()
	p, err := Setup(ctx, Config{OTLP: "http"})
	if err != nil {
		t.Fatal(err)
	}
	_, s := p.Tracer("t").Start(ctx, "s")
	s.End()
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(paths) != 1 || paths[0] != "POST /v1/traces application/x-protobuf" {
		t.Errorf("collector saw %q", paths)
	}
	if st := p.Stats(); st.Exported != 1 || st.Dropped != 0 || st.Exporters[0].Name != "otlp-http" {
		t.Errorf("Stats = %+v", st)
	}
}

func TestSetupOTLPGRPCDoesNotDial(t *testing.T) {
	clearOTLPEnv(t, "http://127.0.0.1:1")                                 // nothing listens there
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang guard
	defer cancel()
	p, err := Setup(ctx, Config{OTLP: "grpc"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Shutdown(ctx); err != nil { // no spans: nothing to send
		t.Fatal(err)
	}
	if st := p.Stats(); len(st.Exporters) != 1 || st.Exporters[0].Name != "otlp-grpc" {
		t.Errorf("Stats = %+v", st)
	}
}

func TestHTTPTransport(t *testing.T) {
	const key = "sk-test-0123456789"
	var gotQuery string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotQuery = r.URL.RawQuery
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"chatcmpl-1","choices":[]}`)
	}))
	defer srv.Close()

	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	client := &http.Client{Transport: HTTPTransport(nil, tp)}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/chat/completions?api-version=2024-10-21&key="+key+"&"+key,
		strings.NewReader(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"`+key+`"}]}`))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("api-key", key)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	if want := "api-version=2024-10-21&key=" + key + "&" + key; gotQuery != want {
		t.Errorf("server got query %q, want %q (the request must not change)", gotQuery, want)
	}
	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	s := spans[0]
	if s.Name() != "HTTP POST /v1/chat/completions" || s.SpanKind() != trace.SpanKindClient {
		t.Errorf("span %q kind %v", s.Name(), s.SpanKind())
	}
	var urlFull string
	for _, kv := range s.Attributes() {
		if strings.Contains(kv.Value.String(), key) || strings.Contains(strings.ToLower(string(kv.Key)), "header") ||
			strings.Contains(string(kv.Key), "body") {
			t.Errorf("span records %s=%s", kv.Key, kv.Value.String())
		}
		if kv.Key == "url.full" {
			urlFull = kv.Value.AsString()
		}
	}
	for _, e := range s.Events() {
		for _, kv := range e.Attributes {
			if strings.Contains(kv.Value.String(), key) {
				t.Errorf("event %s records %s", e.Name, kv.Key)
			}
		}
	}
	if want := srv.URL + "/v1/chat/completions?api-version=REDACTED&key=REDACTED&REDACTED"; urlFull != want {
		t.Errorf("url.full = %q, want %q", urlFull, want)
	}
}

// BenchmarkSpan measures what a step pays per span: start and end with a
// few attributes through the provider Setup builds, writing a span file.
// Export runs on the batch processor's goroutine; spans it cannot keep up
// with are dropped, reported as dropped/op.
func BenchmarkSpan(b *testing.B) {
	ctx := context.Background()
	p, err := Setup(ctx, Config{SpanFile: filepath.Join(b.TempDir(), "spans.jsonl"), ServiceName: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	tr := p.Tracer("github.com/extractor-dev/extractor/pipeline")
	attrs := []attribute.KeyValue{StepName.String("Chunks"), StepVersion.String("v1"), DocumentID.String("sha256:0123456789abcdef"), CacheHit.Bool(false)}
	b.ReportAllocs()
	for b.Loop() {
		_, s := tr.Start(ctx, "Chunks", trace.WithAttributes(attrs...))
		s.SetAttributes(OutputHash.String("sha256:fedcba9876543210"))
		s.End()
	}
	b.StopTimer()
	if err := p.Shutdown(ctx); err != nil {
		b.Fatal(err)
	}
	st := p.Stats()
	b.ReportMetric(float64(st.Dropped)/float64(st.Ended), "dropped/op")
}
