package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/extractor-dev/extractor/pipeline"
	"github.com/extractor-dev/extractor/tracing"
)

func TestCache(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := testStore(t)
	var c pipeline.Cache = s.Cache()
	key := pipeline.Hash("extract", "v1", "input")
	if v, ok, err := c.Get(ctx, key); err != nil || ok || v != nil {
		t.Fatalf("Get of a missing key: %q %v %v", v, ok, err)
	}
	// Bytes come back exactly, whitespace and all (jsonb would not).
	val := []byte("{\"b\": 1,   \"a\": [1, 2]}\n\x00\xff")
	if err := c.Put(ctx, key, val); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := c.Get(ctx, key); err != nil || !ok || !bytes.Equal(v, val) {
		t.Fatalf("Get = %q %v %v", v, ok, err)
	}
	// The last write wins, and a key is one row.
	if err := c.Put(ctx, key, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if err := c.Put(ctx, key, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := c.Get(ctx, key); err != nil || !ok || string(v) != "{}" {
		t.Fatalf("Get after overwrite = %q %v %v", v, ok, err)
	}
	if n := counts(t, s)["step_cache"]; n != 1 {
		t.Errorf("step_cache rows: %d", n)
	}
	if _, _, err := c.Get(ctx, ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty key: %v", err)
	}
}

func TestRecorderAndRuns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := testStore(t)
	var rec pipeline.Recorder = s
	start := time.Date(2025, 3, 4, 5, 6, 7, 123456000, time.UTC)
	r := pipeline.StepRecord{RunID: "run-1", DocumentID: docID("a"), File: "/in/a.pdf", Step: pipeline.StepExtract,
		StepVersion: "llm/1", Inputs: map[string]string{"parse": "ph", "schema": "sh"}, InputHash: "ih", Key: "k1", OutputHash: "oh",
		Start: start, DurationMS: 12.5, TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "00f067aa0ba902b7",
		Spent: &pipeline.Usage{InputTokens: 900, OutputTokens: 40, Attempts: 1, CostUSD: 0.0002, Prices: "p1"}}
	for range 2 {
		if err := rec.Record(r); err != nil {
			t.Fatal(err)
		}
	}
	r2 := r
	r2.Step = pipeline.StepValidate
	if err := rec.Record(r2); err != nil {
		t.Fatal(err)
	}
	// Re-recording a step (a resumed run) replaces it.
	r.Error, r.CacheHit = "boom", true
	if err := rec.Record(r); err != nil {
		t.Fatal(err)
	}
	got, err := s.StepRecords(ctx, "run-1")
	if err != nil || len(got) != 2 {
		t.Fatalf("StepRecords: %d %v", len(got), err)
	}
	byStep := map[string]pipeline.StepRecord{}
	for _, g := range got {
		byStep[g.Step] = g
	}
	g := byStep[pipeline.StepExtract]
	g.Start = g.Start.UTC()
	if !reflect.DeepEqual(g, r) {
		t.Errorf("record round trip:\n got %+v\nwant %+v", g, r)
	}
	if err := rec.Record(pipeline.StepRecord{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty record: %v", err)
	}

	run := pipeline.Run{ID: "run-1", Started: start, Status: "running", Inputs: []string{"/in/a.pdf"},
		Versions: map[string]string{"parser": "pdf/1"}, Config: json.RawMessage(`{"jobs":2}`)}
	if err := s.SaveRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	fin := start.Add(time.Minute)
	run.Finished, run.Status = &fin, "finished"
	run.Counts = pipeline.RunCounts{Documents: 1, OK: 1}
	run.Spent = pipeline.Usage{InputTokens: 100, OutputTokens: 20, CostUSD: 0.01}
	if err := s.SaveRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	var status string
	var docs, in int
	var finished *time.Time
	var manifest []byte
	err = s.pool.QueryRow(ctx, "SELECT status, documents, input_tokens, finished, manifest FROM runs WHERE id = 'run-1'").Scan(&status, &docs, &in, &finished, &manifest)
	if err != nil || status != "finished" || docs != 1 || in != 100 || finished == nil || !finished.Equal(fin) {
		t.Errorf("run row: %s %d %d %v %v", status, docs, in, finished, err)
	}
	var back pipeline.Run
	if err := json.Unmarshal(manifest, &back); err != nil || back.Versions["parser"] != "pdf/1" || string(back.Config) != `{"jobs": 2}` {
		t.Errorf("manifest: %+v %v", back, err)
	}
	if n := counts(t, s)["runs"]; n != 1 {
		t.Errorf("runs rows: %d", n)
	}
}

func TestSpanExporter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := testStore(t)
	exp := s.SpanExporter()

	// Spans from a real provider, recorded so they can be exported twice.
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	tr := tp.Tracer("test")
	ctx1, root := tr.Start(ctx, "document", trace.WithAttributes(tracing.RunID.String("run-1"), tracing.DocumentID.String(docID("a"))))
	_, child := tr.Start(ctx1, "extract", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.Int("gen_ai.usage.input_tokens", 1200), attribute.Float64("cost", 0.5),
		attribute.StringSlice("tags", []string{"a", "b"}), tracing.DocumentID.String(docID("a"))))
	child.SetStatus(codes.Error, "no tool call")
	child.End()
	root.End()
	spans := sr.Ended()
	if len(spans) != 2 {
		t.Fatal(len(spans))
	}
	for range 2 { // a retried batch
		if err := exp.ExportSpans(ctx, spans); err != nil {
			t.Fatal(err)
		}
	}
	// Duplicates inside one batch too.
	if err := exp.ExportSpans(ctx, append(spans, spans[0])); err != nil {
		t.Fatal(err)
	}
	if n := counts(t, s)["spans"]; n != 2 {
		t.Errorf("spans rows: %d, want 2", n)
	}
	var name, kind, parent, status, msg, runID, docIDCol string
	var tokens int
	var record []byte
	err := s.pool.QueryRow(ctx, `SELECT name, kind, parent_span_id, status_code, status_message, run_id, document_id,
		(attributes->>'gen_ai.usage.input_tokens')::int, record FROM spans WHERE span_id = $1`, child.SpanContext().SpanID().String()).
		Scan(&name, &kind, &parent, &status, &msg, &runID, &docIDCol, &tokens, &record)
	if err != nil {
		t.Fatal(err)
	}
	if name != "extract" || kind != "client" || parent != root.SpanContext().SpanID().String() || status != "Error" ||
		msg != "no tool call" || runID != "" || docIDCol != docID("a") || tokens != 1200 {
		t.Errorf("span row: %s %s %s %s %q %q %s %d", name, kind, parent, status, msg, runID, docIDCol, tokens)
	}
	// The record is the tracing package's lossless form.
	var back tracing.Span
	if err := json.Unmarshal(record, &back); err != nil || back.Name != "extract" || back.SpanID != child.SpanContext().SpanID() {
		t.Errorf("record: %+v %v", back, err)
	}
	if err := s.pool.QueryRow(ctx, "SELECT run_id, parent_span_id FROM spans WHERE span_id = $1", root.SpanContext().SpanID().String()).Scan(&runID, &parent); err != nil || runID != "run-1" || parent != "" {
		t.Errorf("root span: %q %q %v", runID, parent, err)
	}

	// Through a provider's batcher, as the CLI would wire it.
	tp2 := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	_, sp := tp2.Tracer("test").Start(ctx, "third")
	sp.End()
	if n := counts(t, s)["spans"]; n != 3 {
		t.Errorf("spans rows after a provider export: %d, want 3", n)
	}
	if err := tp2.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := exp.ExportSpans(ctx, spans); !errors.Is(err, ErrClosed) {
		t.Errorf("export after shutdown: %v", err)
	}
}
