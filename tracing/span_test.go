package tracing

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

var (
	testTraceID = trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	testT0      = time.Date(2025, 3, 4, 5, 6, 7, 123456789, time.UTC)
)

func sid(b byte) trace.SpanID { return trace.SpanID{0, 0, 0, 0, 0, 0, 0, b} }

func sc(t trace.TraceID, s trace.SpanID) trace.SpanContext {
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: t, SpanID: s, TraceFlags: trace.FlagsSampled})
}

// TestSpanLine pins the JSON form of a span: field order, typed values,
// what is omitted when empty.
func TestSpanLine(t *testing.T) {
	stub := tracetest.SpanStub{
		Name:        "chat gpt-4o-mini",
		SpanContext: sc(testTraceID, sid(2)),
		Parent:      sc(testTraceID, sid(1)),
		SpanKind:    trace.SpanKindClient,
		StartTime:   testT0,
		EndTime:     testT0.Add(1500 * time.Millisecond),
		Attributes: []attribute.KeyValue{
			UsageOutputTokens.Int(85),
			OperationName.String(OperationChat),
			RequestTemperature.Float64(0),
			CostUSD.Float64(0.000231),
			ResponseFinishReasons.StringSlice([]string{"tool_calls"}),
			CacheHit.Bool(false),
			UsageInputTokens.Int(1200),
		},
		Events: []sdktrace.Event{{Name: "retry", Time: testT0.Add(time.Second),
			Attributes: []attribute.KeyValue{Attempt.Int(1), attribute.String("error", "HTTP 429")}}},
		Links:                []sdktrace.Link{{SpanContext: sc(trace.TraceID{1}, sid(9)), Attributes: []attribute.KeyValue{attribute.String("why", "cached")}}},
		Status:               sdktrace.Status{Code: codes.Error, Description: "tool call missing"},
		DroppedEvents:        2,
		Resource:             resource.NewSchemaless(attribute.String("service.name", "extractor"), attribute.String("service.version", "v0.3.0")),
		InstrumentationScope: instrumentation.Scope{Name: "github.com/extractor-dev/extractor/extract", Version: "v0.3.0"},
	}
	s := SpanFrom(stub.Snapshot())
	got, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"0000000000000002","parent_span_id":"0000000000000001",` +
		`"name":"chat gpt-4o-mini","kind":"client","start":"2025-03-04T05:06:07.123456789Z","end":"2025-03-04T05:06:08.623456789Z","duration_ns":1500000000,` +
		`"status":{"code":"Error","message":"tool call missing"},` +
		`"attributes":{"extractor.cache.hit":{"type":"bool","value":false},"extractor.cost_usd":{"type":"float","value":0.000231},` +
		`"gen_ai.operation.name":{"type":"string","value":"chat"},"gen_ai.request.temperature":{"type":"float","value":0},` +
		`"gen_ai.response.finish_reasons":{"type":"string[]","value":["tool_calls"]},` +
		`"gen_ai.usage.input_tokens":{"type":"int","value":1200},"gen_ai.usage.output_tokens":{"type":"int","value":85}},` +
		`"events":[{"name":"retry","time":"2025-03-04T05:06:08.123456789Z","attributes":{"error":{"type":"string","value":"HTTP 429"},"extractor.attempt":{"type":"int","value":1}}}],` +
		`"dropped_events":2,` +
		`"links":[{"trace_id":"01000000000000000000000000000000","span_id":"0000000000000009","attributes":{"why":{"type":"string","value":"cached"}}}],` +
		`"resource":{"service.name":{"type":"string","value":"extractor"},"service.version":{"type":"string","value":"v0.3.0"}},` +
		`"scope":{"name":"github.com/extractor-dev/extractor/extract","version":"v0.3.0"}}`
	if string(got) != want {
		t.Errorf("span line:\n got %s\nwant %s", got, want)
	}
	var back Span
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	if d := diffSpan(s, back); d != "" {
		t.Error(d)
	}
}

// allTypes has one attribute of each type, with values JSON makes hard:
// whole floats, NaN and infinities, escapes and invalid-free unicode.
var allTypes = []attribute.KeyValue{
	attribute.Bool("b", true),
	attribute.Int64("i", math.MinInt64),
	attribute.Int("i2", 1<<53+1), // not exact as a float64
	attribute.Float64("f", 2),
	attribute.Float64("f.nan", math.NaN()),
	attribute.Float64("f.inf", math.Inf(-1)),
	attribute.Float64("f.small", 1e-300),
	attribute.String("s", "quote \" backslash \\ newline \n tab \t nul \x00 é 日本 \u2028"),
	attribute.String("s.empty", ""),
	attribute.BoolSlice("bs", []bool{true, false}),
	attribute.IntSlice("is", []int{1, -2, 3}),
	attribute.Int64Slice("is.empty", []int64{}),
	attribute.Float64Slice("fs", []float64{0.5, 1, math.Inf(1)}),
	attribute.StringSlice("ss", []string{"stop", "tool_calls"}),
	attribute.ByteSlice("bytes", []byte{0, 1, 2, 0xff}),
	attribute.Slice("mixed", attribute.StringValue("a"), attribute.IntValue(1), attribute.Float64Value(1)),
	attribute.Map("m", attribute.String("k", "v"), attribute.Int("n", 2)),
}

// TestRoundTrip exports spans of a real SDK provider to JSONL, reads them
// back and compares them field by field with what a SpanRecorder saw.
func TestRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	exp := NewJSONLExporter(&buf)
	rec := tracetest.NewSpanRecorder()
	res := resource.NewSchemaless(attribute.String("service.name", "extractor-test"))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithSpanProcessor(rec), sdktrace.WithResource(res))
	tr := tp.Tracer("tracing-test", trace.WithInstrumentationVersion("v1"),
		trace.WithSchemaURL("https://opentelemetry.io/schemas/1.43.0"),
		trace.WithInstrumentationAttributes(attribute.String("scope.attr", "x")))

	ctx, root := tr.Start(context.Background(), "run", trace.WithAttributes(RunID.String("r1")))
	_, other := tr.Start(context.Background(), "other root")
	other.End()
	_, child := tr.Start(ctx, "chat gpt-4o-mini",
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(allTypes...),
		trace.WithLinks(trace.Link{SpanContext: other.SpanContext(), Attributes: []attribute.KeyValue{attribute.Int("link.n", 1)}}))
	child.AddEvent("retry", trace.WithAttributes(Attempt.Int(2)))
	child.SetStatus(codes.Error, "boom")
	child.End()
	root.SetStatus(codes.Ok, "")
	root.End()
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	got, err := ReadSpans(&buf)
	if err != nil {
		t.Fatal(err)
	}
	want := rec.Ended()
	if len(got) != len(want) {
		t.Fatalf("read %d spans, recorded %d", len(got), len(want))
	}
	for i, ro := range want {
		g := got[i]
		if g.TraceID != ro.SpanContext().TraceID() || g.SpanID != ro.SpanContext().SpanID() ||
			g.ParentSpanID != ro.Parent().SpanID() || g.Name != ro.Name() || g.Kind != ro.SpanKind() {
			t.Errorf("span %d: identity differs: %+v", i, g)
		}
		if !g.Start.Equal(ro.StartTime()) || !g.End.Equal(ro.EndTime()) || g.Duration != ro.EndTime().Sub(ro.StartTime()) {
			t.Errorf("span %q: times differ", g.Name)
		}
		if g.Status.Code != ro.Status().Code || g.Status.Message != ro.Status().Description {
			t.Errorf("span %q: status %+v, want %+v", g.Name, g.Status, ro.Status())
		}
		if d := diffAttrs(g.Attributes, ro.Attributes()); d != "" {
			t.Errorf("span %q: attributes: %s", g.Name, d)
		}
		if len(g.Events) != len(ro.Events()) {
			t.Errorf("span %q: %d events, want %d", g.Name, len(g.Events), len(ro.Events()))
		}
		for j, e := range ro.Events() {
			if j < len(g.Events) && (g.Events[j].Name != e.Name || !g.Events[j].Time.Equal(e.Time) || diffAttrs(g.Events[j].Attributes, e.Attributes) != "") {
				t.Errorf("span %q: event %d: %+v, want %+v", g.Name, j, g.Events[j], e)
			}
		}
		if len(g.Links) != len(ro.Links()) {
			t.Errorf("span %q: %d links, want %d", g.Name, len(g.Links), len(ro.Links()))
		}
		for j, l := range ro.Links() {
			if j < len(g.Links) && (g.Links[j].TraceID != l.SpanContext.TraceID() || g.Links[j].SpanID != l.SpanContext.SpanID() || diffAttrs(g.Links[j].Attributes, l.Attributes) != "") {
				t.Errorf("span %q: link %d: %+v, want %+v", g.Name, j, g.Links[j], l)
			}
		}
		if d := diffAttrs(g.Resource, ro.Resource().Attributes()); d != "" {
			t.Errorf("span %q: resource: %s", g.Name, d)
		}
		if is := ro.InstrumentationScope(); g.Scope.Name != is.Name || g.Scope.Version != is.Version || g.Scope.SchemaURL != is.SchemaURL || diffAttrs(g.Scope.Attributes, is.Attributes.ToSlice()) != "" {
			t.Errorf("span %q: scope %+v, want %+v", g.Name, g.Scope, is)
		}
		if d := diffSpan(SpanFrom(ro), g); d != "" {
			t.Error(d)
		}
	}
	// The types survive: a whole float stays a float, NaN stays NaN.
	child2 := got[1]
	if v, _ := child2.Attr("f"); v.Type() != attribute.FLOAT64 || v.AsFloat64() != 2 {
		t.Errorf("f = %v (%v)", v, v.Type())
	}
	if v, _ := child2.Attr("f.nan"); v.Type() != attribute.FLOAT64 || !math.IsNaN(v.AsFloat64()) {
		t.Errorf("f.nan = %v (%v)", v, v.Type())
	}
	if v, _ := child2.Attr("i2"); v.AsInt64() != 1<<53+1 {
		t.Errorf("i2 = %v", v)
	}
}

// diffAttrs compares attribute lists regardless of order. Values are
// compared by type and JSON form, so NaN equals NaN.
func diffAttrs(got, want []attribute.KeyValue) string {
	m := func(kvs []attribute.KeyValue) map[attribute.Key]string {
		out := map[attribute.Key]string{}
		for _, kv := range kvs {
			out[kv.Key] = kv.Value.Type().String() + " " + string(appendValue(nil, kv.Value))
		}
		return out
	}
	g, w := m(got), m(want)
	if len(got) != len(g) || len(want) != len(w) {
		return "duplicate keys"
	}
	var d []string
	for k, wv := range w {
		if gv, ok := g[k]; !ok {
			d = append(d, "missing "+string(k))
		} else if gv != wv {
			d = append(d, string(k)+": "+gv+", want "+wv)
		}
	}
	for k := range g {
		if _, ok := w[k]; !ok {
			d = append(d, "extra "+string(k))
		}
	}
	return strings.Join(d, "; ")
}

// diffSpan compares whole spans, times by instant.
func diffSpan(want, got Span) string {
	norm := func(s Span) Span {
		s.Start, s.End = s.Start.UTC(), s.End.UTC()
		s.Events = append([]Event(nil), s.Events...)
		for i := range s.Events {
			s.Events[i].Time = s.Events[i].Time.UTC()
		}
		return s
	}
	w, g := norm(want), norm(got)
	a, _ := json.Marshal(w)
	b, _ := json.Marshal(g)
	if !bytes.Equal(a, b) {
		return "span " + want.Name + ":\n got " + string(b) + "\nwant " + string(a)
	}
	if !reflect.DeepEqual(w.Attributes, g.Attributes) && !hasNaN(w.Attributes) {
		return "span " + want.Name + ": attribute values differ in representation"
	}
	return ""
}

func hasNaN(kvs []attribute.KeyValue) bool {
	for _, kv := range kvs {
		if strings.Contains(kv.Value.String(), "NaN") {
			return true
		}
	}
	return false
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", "\"\\/\b\f\n\r\t", "\x00\x1f\x7f", "é日本\u2028\u2029", "bad \xff\xfe utf8 \xe6\x97", "<&>"} {
		checkString(t, s)
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("quote \" and \\ and \n")
	f.Add("bad \xff utf8")
	f.Fuzz(checkString)
}

func checkString(t *testing.T, s string) {
	enc := appendString(nil, s)
	if !json.Valid(enc) {
		t.Fatalf("%q: invalid JSON %s", s, enc)
	}
	var got string
	if err := json.Unmarshal(enc, &got); err != nil {
		t.Fatal(err)
	}
	ref, _ := json.Marshal(s)
	var want string
	_ = json.Unmarshal(ref, &want)
	if got != want {
		t.Fatalf("%q: decoded %q, encoding/json gives %q", s, got, want)
	}
}

func TestJSONLExporterConcurrent(t *testing.T) {
	var buf bytes.Buffer
	exp := NewJSONLExporter(&buf)
	stub := tracetest.SpanStub{Name: "s", SpanContext: sc(testTraceID, sid(1)), StartTime: testT0, EndTime: testT0}
	spans := []sdktrace.ReadOnlySpan{stub.Snapshot(), stub.Snapshot(), stub.Snapshot()}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if err := exp.ExportSpans(context.Background(), spans); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, err := ReadSpans(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 8*50*3 {
		t.Errorf("read %d spans, want %d", len(got), 8*50*3)
	}
	if err := exp.ExportSpans(context.Background(), spans); err != ErrExporterShutdown {
		t.Errorf("export after shutdown: %v", err)
	}
}

func TestReadSpansTruncated(t *testing.T) {
	var buf bytes.Buffer
	exp := NewJSONLExporter(&buf)
	var spans []sdktrace.ReadOnlySpan
	for i := range 3 {
		stub := tracetest.SpanStub{Name: "s", SpanContext: sc(testTraceID, sid(byte(i+1))), StartTime: testT0, EndTime: testT0,
			Attributes: []attribute.KeyValue{StepName.String("Chunks")}}
		spans = append(spans, stub.Snapshot())
	}
	if err := exp.ExportSpans(context.Background(), spans); err != nil {
		t.Fatal(err)
	}
	full := buf.String()
	lastStart := strings.LastIndex(strings.TrimSuffix(full, "\n"), "\n") + 1

	for _, tt := range []struct {
		name  string
		input string
		n     int
		err   string
	}{
		{"whole", full, 3, ""},
		{"no final newline", strings.TrimSuffix(full, "\n"), 3, ""},
		{"cut mid line", full[:lastStart+40], 2, ""},
		{"cut after one byte", full[:lastStart+1], 2, ""},
		{"cut at line end", full[:lastStart], 2, ""},
		{"empty", "", 0, ""},
		{"blank lines", "\n\n" + full + "\n", 3, ""},
		{"bad middle line", full[:lastStart] + "{\"trace_id\":\n" + full[lastStart:], 2, "span line 3"},
		{"bad ids", `{"trace_id":"xyz","span_id":"0000000000000001"}` + "\n", 0, "span line 1: trace_id"},
		{"no ids", `{"name":"x"}` + "\n", 0, "span line 1"},
		{"unknown type", strings.Replace(full, `"type":"string"`, `"type":"decimal"`, 1), 0, "unknown attribute type"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadSpans(strings.NewReader(tt.input))
			if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("err = %v, want %q", err, tt.err)
			}
			if len(got) != tt.n {
				t.Errorf("read %d spans, want %d", len(got), tt.n)
			}
		})
	}
}

func FuzzReadSpans(f *testing.F) {
	stub := tracetest.SpanStub{Name: "s", SpanContext: sc(testTraceID, sid(1)), Parent: sc(testTraceID, sid(2)), StartTime: testT0, EndTime: testT0,
		Attributes: allTypes}
	line, _ := json.Marshal(SpanFrom(stub.Snapshot()))
	f.Add(string(line) + "\n")
	f.Add(string(line[:len(line)/2]))
	f.Fuzz(func(t *testing.T, in string) {
		spans, err := ReadSpans(strings.NewReader(in))
		if err != nil {
			return
		}
		// What reads must write back and read again the same.
		var buf bytes.Buffer
		for _, s := range spans {
			b, _ := json.Marshal(s)
			buf.Write(b)
			buf.WriteByte('\n')
		}
		again, err := ReadSpans(&buf)
		if err != nil || len(again) != len(spans) {
			t.Fatalf("re-read: %d spans, %v; want %d", len(again), err, len(spans))
		}
	})
}

// BenchmarkJSONLExport measures the exporter's side of a span (on the batch
// processor's goroutine): conversion, encoding and buffered writing.
func BenchmarkJSONLExport(b *testing.B) {
	stub := tracetest.SpanStub{Name: "Chunks", SpanContext: sc(testTraceID, sid(2)), Parent: sc(testTraceID, sid(1)),
		StartTime: testT0, EndTime: testT0.Add(time.Millisecond),
		Attributes: []attribute.KeyValue{StepName.String("Chunks"), StepVersion.String("v1"), DocumentID.String("sha256:0123456789abcdef"),
			CacheHit.Bool(false), OutputHash.String("sha256:fedcba9876543210")},
		Resource:             resource.NewSchemaless(attribute.String("service.name", "extractor"), attribute.String("service.version", "v0.3.0"), attribute.String("telemetry.sdk.language", "go"), attribute.String("telemetry.sdk.name", "opentelemetry"), attribute.String("telemetry.sdk.version", "1.47.0")),
		InstrumentationScope: instrumentation.Scope{Name: "github.com/extractor-dev/extractor/pipeline"},
	}
	batch := make([]sdktrace.ReadOnlySpan, 512)
	for i := range batch {
		batch[i] = stub.Snapshot()
	}
	exp := NewJSONLExporter(io.Discard)
	b.ReportAllocs()
	for b.Loop() {
		if err := exp.ExportSpans(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/span")
}
