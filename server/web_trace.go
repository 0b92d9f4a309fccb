package server

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/extractor-dev/extractor/tracing"
)

// The trace page draws a trace as the CLI's 'traces show' prints it (a
// tree of spans, with the same key attributes), plus a waterfall: each
// span's bar on a timeline shared by the whole trace. Bars are inline SVG
// (no style attributes, which the pages' Content-Security-Policy forbids);
// each span's attributes and events fold out of a <details>.

type badge struct {
	Text  string
	Class string // "good", "bad", "llm", ""
}

type spanEvent struct {
	Name   string
	At     string // offset from the span's start
	Attrs  []keyValue
	Failed bool
}

type spanRow struct {
	ID          string
	Prefix      string // tree drawing: "│  ├─ "
	Name        string
	Duration    string
	X, W        string // the bar, in a 0..1000 viewBox
	Class       string // "err", "llm", "hit", ""
	Badges      []badge
	Error       string
	Kind        string
	SpanID      string
	Parent      string
	Scope       string
	Attrs       []keyValue
	Events      []spanEvent
	Resource    []keyValue
	Dropped     string
	Depth       int
	OrphanChild bool // its parent is not in the trace
}

type traceView struct {
	TraceID string
	Spans   int
	Errors  int
	Start   string
	Total   string
	Ticks   []string
	Rows    []spanRow
	Orphans bool
}

func (s *Server) getTracePage(w http.ResponseWriter, r *http.Request, p Principal) error {
	id := strings.ToLower(r.PathValue("id"))
	if _, err := trace.TraceIDFromHex(id); err != nil {
		return fmt.Errorf("%w: %q is not a trace id", ErrNotFound, r.PathValue("id"))
	}
	spans, err := s.cfg.Review.Spans(r.Context(), id)
	if err != nil {
		return err
	}
	v := buildTrace(id, spans)
	return s.render(w, r, http.StatusOK, "trace", layout{Title: "Trace " + id[:8], Active: "runs", User: p.display(), Data: v})
}

func buildTrace(id string, spans []tracing.Span) traceView {
	v := traceView{TraceID: id, Spans: len(spans)}
	if len(spans) == 0 {
		return v
	}
	start, end := spans[0].Start, spans[0].End
	for _, sp := range spans {
		if sp.Start.Before(start) {
			start = sp.Start
		}
		if sp.End.After(end) {
			end = sp.End
		}
	}
	total := end.Sub(start)
	v.Start, v.Total = formatTime(start), tracing.FormatDuration(total)
	if total <= 0 {
		total = 1
	}
	for i := 0; i <= 4; i++ {
		v.Ticks = append(v.Ticks, tracing.FormatDuration(total*time.Duration(i)/4))
	}
	var walk func(n *tracing.Node, first, rest string, depth int)
	walk = func(n *tracing.Node, first, rest string, depth int) {
		row := spanRowOf(&n.Span, start, total)
		row.ID = "s" + strconv.Itoa(len(v.Rows)+1)
		row.Prefix, row.Depth = first, depth
		if depth == 0 && n.Span.ParentSpanID.IsValid() {
			row.OrphanChild = true
			v.Orphans = true
		}
		if n.Span.Status.Code == codes.Error {
			v.Errors++
		}
		v.Rows = append(v.Rows, row)
		for i, ch := range n.Children {
			if i == len(n.Children)-1 {
				walk(ch, rest+"└─ ", rest+"   ", depth+1)
			} else {
				walk(ch, rest+"├─ ", rest+"│  ", depth+1)
			}
		}
	}
	for _, root := range tracing.Trees(spans) {
		walk(root, "", "", 0)
	}
	return v
}

func spanRowOf(sp *tracing.Span, start time.Time, total time.Duration) spanRow {
	row := spanRow{Name: sp.Name, Duration: tracing.FormatDuration(sp.Duration), Kind: sp.Kind.String(),
		SpanID: sp.SpanID.String(), Scope: sp.Scope.Name}
	if sp.ParentSpanID.IsValid() {
		row.Parent = sp.ParentSpanID.String()
	}
	x := float64(sp.Start.Sub(start)) / float64(total) * 1000
	w := float64(sp.Duration) / float64(total) * 1000
	x = min(max(x, 0), 999)
	w = min(max(w, 2), 1000-x)
	row.X, row.W = strconv.FormatFloat(x, 'f', 1, 64), strconv.FormatFloat(w, 'f', 1, 64)

	add := func(text, class string) { row.Badges = append(row.Badges, badge{text, class}) }
	if v, ok := sp.Attr(tracing.StepName); ok && v.AsString() != sp.Name {
		add("step "+v.AsString(), "")
	}
	if v, ok := sp.Attr(tracing.Status); ok {
		class := ""
		switch v.AsString() {
		case "ok":
			class = "good"
		case "failed", "error":
			class = "bad"
		}
		add("status "+attrText(v), class)
	}
	if v, ok := sp.Attr(tracing.CacheHit); ok && v.Type() == attribute.BOOL {
		if v.AsBool() {
			add("cache hit", "good")
			row.Class = "hit"
		} else {
			add("cache miss", "")
		}
	}
	if v, ok := sp.Attr(tracing.Attempt); ok {
		add("attempt "+attrText(v), "")
	}
	if v, ok := sp.Attr(tracing.Retries); ok {
		class := ""
		if v.Type() == attribute.INT64 && v.AsInt64() > 0 {
			class = "warn"
		}
		add("retries "+attrText(v), class)
	}
	in, okIn := sp.Attr(tracing.UsageInputTokens)
	out, okOut := sp.Attr(tracing.UsageOutputTokens)
	if okIn || okOut {
		t := "tokens "
		if okIn {
			t += attrText(in)
		} else {
			t += "-"
		}
		t += " in / "
		if okOut {
			t += attrText(out)
		} else {
			t += "-"
		}
		add(t+" out", "llm")
	}
	if v, ok := sp.Attr(tracing.CostUSD); ok {
		if v.Type() == attribute.FLOAT64 {
			add("$"+strconv.FormatFloat(v.AsFloat64(), 'f', 6, 64), "llm")
		} else {
			add("cost "+attrText(v), "llm")
		}
	}
	if v, ok := sp.Attr(tracing.ResponseFinishReasons); ok {
		add("finish "+attrText(v), "")
	}
	if _, ok := sp.Attr(tracing.OperationName); ok && row.Class == "" {
		row.Class = "llm"
	}
	if sp.Status.Code == codes.Error {
		row.Class = "err"
		row.Error = sp.Status.Message
		if row.Error == "" {
			row.Error = "error"
		}
	}
	row.Attrs = keyValues(sp.Attributes)
	row.Resource = keyValues(sp.Resource)
	for _, e := range sp.Events {
		row.Events = append(row.Events, spanEvent{Name: e.Name, At: "+" + tracing.FormatDuration(e.Time.Sub(sp.Start)),
			Attrs: keyValues(e.Attributes), Failed: e.Name == "exception"})
	}
	if n := sp.DroppedAttributes + sp.DroppedEvents + sp.DroppedLinks; n > 0 {
		row.Dropped = fmt.Sprintf("dropped by the span limits: %d attributes, %d events, %d links",
			sp.DroppedAttributes, sp.DroppedEvents, sp.DroppedLinks)
	}
	return row
}

func keyValues(kvs []attribute.KeyValue) []keyValue {
	out := make([]keyValue, len(kvs))
	for i, kv := range kvs {
		out[i] = keyValue{string(kv.Key), attrText(kv.Value)}
	}
	return out
}

// attrText prints an attribute value for a person: strings bare, slices
// as lists.
func attrText(v attribute.Value) string {
	switch v.Type() {
	case attribute.STRING:
		return v.AsString()
	case attribute.STRINGSLICE:
		return strings.Join(v.AsStringSlice(), ", ")
	case attribute.FLOAT64:
		return strconv.FormatFloat(v.AsFloat64(), 'g', -1, 64)
	}
	return v.String()
}
