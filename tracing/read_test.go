package tracing

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// runSpans is a small run as a span file holds it: roughly in end order
// (children before parents, siblings not by start), with one span whose
// parent is not in the file.
func runSpans() []Span {
	tid := testTraceID
	at := func(ms int) time.Time { return testT0.Add(time.Duration(ms) * time.Millisecond) }
	span := func(id, parent byte, name string, start, end int, attrs ...attribute.KeyValue) Span {
		s := Span{TraceID: tid, SpanID: sid(id), Name: name, Start: at(start), End: at(end),
			Duration: at(end).Sub(at(start)), Attributes: sortedAttrs(attrs)}
		if parent != 0 {
			s.ParentSpanID = sid(parent)
		}
		return s
	}
	failed := span(7, 1, "document", 1600, 1650, DocumentID.String("sha256:bbbb"), DocumentFile.String("b scan.pdf"), Status.String("failed"))
	failed.Status = SpanStatus{Code: codes.Error, Message: "pdf: no text layer"}
	retry := span(6, 4, "chat gpt-4o-mini", 60, 1520,
		RequestModel.String("gpt-4o-mini"), UsageInputTokens.Int(1830), UsageOutputTokens.Int(212),
		CostUSD.Float64(0.0004017), Attempt.Int(2), Retries.Int(1),
		ResponseFinishReasons.StringSlice([]string{"tool_calls"}))
	return []Span{
		span(3, 2, "Document", 10, 51, StepName.String("Document"), CacheHit.Bool(true)),
		retry,
		span(4, 2, "step", 55, 1560, StepName.String("Extraction"), CacheHit.Bool(false), PromptVersion.String("p-3f2a")),
		span(5, 2, "Chunks", 52, 53, StepName.String("Chunks"), CacheHit.Bool(false)),
		span(2, 1, "document", 5, 1570, DocumentID.String("sha256:aaaa"), DocumentFile.String("a.pdf"), Status.String("ok"),
			UsageInputTokens.Int(1830), UsageOutputTokens.Int(212), CostUSD.Float64(0.0004017)),
		failed,
		span(1, 0, "run", 0, 1700, RunID.String("r-20250304")),
		// Its parent (0x99) was dropped: it becomes a root of its own.
		span(8, 0x99, "embeddings text-embedding-3-small", 1680, 1690, UsageInputTokens.Int(96)),
	}
}

func TestTrees(t *testing.T) {
	roots := Trees(runSpans())
	var got []string
	var walk func(n *Node, depth int)
	walk = func(n *Node, depth int) {
		got = append(got, strings.Repeat(".", depth)+n.Span.Name)
		for _, c := range n.Children {
			walk(c, depth+1)
		}
	}
	for _, r := range roots {
		walk(r, 0)
	}
	want := []string{"run", ".document", "..Document", "..Chunks", "..step", "...chat gpt-4o-mini", ".document", "embeddings text-embedding-3-small"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("trees:\n got %q\nwant %q", got, want)
	}
	if Trees(nil) != nil {
		t.Error("Trees(nil) is not empty")
	}
}

func TestLookups(t *testing.T) {
	spans := runSpans()
	other := Span{TraceID: trace.TraceID{9}, SpanID: sid(1), Name: "other run", Start: testT0, Attributes: []attribute.KeyValue{DocumentID.String("sha256:aaaa")}}
	spans = append(spans, other)

	if got := ByTraceID(spans, testTraceID); len(got) != 8 {
		t.Errorf("ByTraceID: %d spans, want 8", len(got))
	}
	if got := ByTraceID(spans, trace.TraceID{9}); len(got) != 1 || got[0].Name != "other run" {
		t.Errorf("ByTraceID(other) = %v", got)
	}
	if got := ByAttribute(spans, DocumentID.String("sha256:aaaa")); len(got) != 2 {
		t.Errorf("ByAttribute(document id): %d spans, want 2", len(got))
	}
	if got := ByAttribute(spans, CacheHit.Bool(true)); len(got) != 1 || got[0].Name != "Document" {
		t.Errorf("ByAttribute(cache hit) = %v", got)
	}
	if got := ByAttribute(spans, CacheHit.String("true")); len(got) != 0 {
		t.Errorf("ByAttribute matched a string against a bool: %v", got)
	}
	if got := ByAttribute(spans, ResponseFinishReasons.StringSlice([]string{"tool_calls"})); len(got) != 1 {
		t.Errorf("ByAttribute(finish reasons): %d spans, want 1", len(got))
	}

	roots := Trees(spans)
	docs := FindNodes(roots, func(s *Span) bool { v, ok := s.Attr(DocumentID); return ok && v.AsString() == "sha256:aaaa" })
	// Both roots start at testT0: "other run" sorts first by name.
	if len(docs) != 2 || docs[0].Span.Name != "other run" || docs[1].Span.Name != "document" || len(docs[1].Children) != 3 {
		for _, d := range docs {
			t.Errorf("FindNodes: %s %v", d.Span.Name, d.Span.SpanID)
		}
	}
	errs := FindNodes(roots, func(s *Span) bool { return s.Status.Code == codes.Error })
	if len(errs) != 1 || errs[0].Span.SpanID != sid(7) {
		t.Errorf("FindNodes(errors) = %v", errs)
	}
}

func TestWriteTree(t *testing.T) {
	roots := Trees(runSpans())
	var buf bytes.Buffer
	for _, r := range roots {
		if err := WriteTree(&buf, r); err != nil {
			t.Fatal(err)
		}
	}
	want := `run  1.70s
├─ document  1.56s  status=ok tokens=1830/212 cost=$0.000402
│  ├─ Document  41.0ms  cache=hit
│  ├─ Chunks  1.0ms  cache=miss
│  └─ step  1.50s  step=Extraction cache=miss
│     └─ chat gpt-4o-mini  1.46s  attempt=2 retries=1 tokens=1830/212 cost=$0.000402 finish=tool_calls
└─ document  50.0ms  status=failed error="pdf: no text layer"
embeddings text-embedding-3-small  10.0ms  tokens=96/-
`
	if buf.String() != want {
		t.Errorf("WriteTree:\n%s\nwant:\n%s", buf.String(), want)
	}

	buf.Reset()
	if err := WriteTree(&buf, roots[0], WithMaxDepth(2), WithAttributes(DocumentFile, RunID, PromptVersion)); err != nil {
		t.Fatal(err)
	}
	want = `run  1.70s  extractor.run.id=r-20250304
├─ document  1.56s  status=ok tokens=1830/212 cost=$0.000402 extractor.document.file=a.pdf
│  └─ … 4 more spans
└─ document  50.0ms  status=failed extractor.document.file="b scan.pdf" error="pdf: no text layer"
`
	if buf.String() != want {
		t.Errorf("WriteTree(depth 2):\n%s\nwant:\n%s", buf.String(), want)
	}
}

func TestFormatDuration(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0ns"},
		{812, "812ns"},
		{4250, "4.2µs"},
		{41_349_000, "41.3ms"},
		{1_523_000_000, "1.52s"},
		{123_456_000_000, "2m3.5s"},
	} {
		if got := FormatDuration(tt.d); got != tt.want {
			t.Errorf("FormatDuration(%d) = %q, want %q", tt.d, got, tt.want)
		}
	}
}
