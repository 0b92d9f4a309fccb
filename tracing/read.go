package tracing

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// ReadSpanFile reads a span file written by the JSONL exporter.
func ReadSpanFile(path string) ([]Span, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	spans, err := ReadSpans(f)
	if err != nil {
		return spans, fmt.Errorf("%s: %w", path, err)
	}
	return spans, nil
}

// ReadSpans reads spans, one JSON object per line, in file order. A last
// line without its newline that does not parse is the mark of a process
// killed mid-write: it is skipped, not an error. Any other bad line is an
// error naming its line number; the spans before it are returned with it.
func ReadSpans(r io.Reader) ([]Span, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var spans []Span
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n') // no length limit: messages can be long
		if err != nil && !errors.Is(err, io.EOF) {
			return spans, err
		}
		complete := err == nil
		if b := bytes.TrimSpace(line); len(b) > 0 {
			var s Span
			if perr := s.UnmarshalJSON(b); perr != nil {
				if !complete {
					return spans, nil // truncated by a kill
				}
				return spans, fmt.Errorf("span line %d: %w", n, perr)
			}
			spans = append(spans, s)
		}
		if !complete {
			return spans, nil
		}
	}
}

// Node is a span in a tree of spans.
type Node struct {
	Span     Span
	Children []*Node // sorted by start time
}

type spanKey struct {
	trace trace.TraceID
	span  trace.SpanID
}

// Trees arranges spans into trees. Roots are the spans whose parent is not
// among spans (a true root, or a span whose parent lives in another file
// or was dropped); they are sorted by start time, as are children. Ties
// are broken by name and then span id, so the order is stable.
func Trees(spans []Span) []*Node {
	nodes := make([]*Node, len(spans))
	byID := make(map[spanKey]*Node, len(spans))
	for i := range spans {
		nodes[i] = &Node{Span: spans[i]}
		k := spanKey{spans[i].TraceID, spans[i].SpanID}
		if _, dup := byID[k]; !dup {
			byID[k] = nodes[i]
		}
	}
	var roots []*Node
	for _, n := range nodes {
		p, ok := byID[spanKey{n.Span.TraceID, n.Span.ParentSpanID}]
		if !n.Span.ParentSpanID.IsValid() || !ok || p == n {
			roots = append(roots, n)
			continue
		}
		p.Children = append(p.Children, n)
	}
	for _, n := range nodes {
		slices.SortFunc(n.Children, compareNodes)
	}
	slices.SortFunc(roots, compareNodes)
	return roots
}

func compareNodes(a, b *Node) int {
	if c := a.Span.Start.Compare(b.Span.Start); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Span.Name, b.Span.Name); c != 0 {
		return c
	}
	if c := bytes.Compare(a.Span.TraceID[:], b.Span.TraceID[:]); c != 0 {
		return c
	}
	return bytes.Compare(a.Span.SpanID[:], b.Span.SpanID[:])
}

// ByTraceID returns the spans of one trace, in their order in spans.
func ByTraceID(spans []Span, id trace.TraceID) []Span {
	var out []Span
	for _, s := range spans {
		if s.TraceID == id {
			out = append(out, s)
		}
	}
	return out
}

// ByAttribute returns the spans whose attribute kv.Key has the value
// kv.Value (same type and value), e.g. every span of a document:
//
//	ByAttribute(spans, DocumentID.String(id))
func ByAttribute(spans []Span, kv attribute.KeyValue) []Span {
	var out []Span
	for _, s := range spans {
		if v, ok := s.Attr(kv.Key); ok && v == kv.Value {
			out = append(out, s)
		}
	}
	return out
}

// FindNodes returns the topmost nodes under roots (the roots included)
// whose span matches, depth first in tree order; the subtree of a match
// is not searched further.
func FindNodes(roots []*Node, match func(*Span) bool) []*Node {
	var out []*Node
	var walk func([]*Node)
	walk = func(ns []*Node) {
		for _, n := range ns {
			if match(&n.Span) {
				out = append(out, n)
				continue
			}
			walk(n.Children)
		}
	}
	walk(roots)
	return out
}
