package tracing

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
)

// TreeOption changes what WriteTree prints.
type TreeOption func(*treeConfig)

type treeConfig struct {
	extra    []attribute.Key
	maxDepth int // 0: no limit
}

// WithAttributes also prints the given attributes, as key=value, after
// the built-in ones.
func WithAttributes(keys ...attribute.Key) TreeOption {
	return func(c *treeConfig) { c.extra = append(c.extra, keys...) }
}

// WithMaxDepth prints depth levels of the tree (1: the given node alone);
// what lies deeper is summed up as "… k more spans".
func WithMaxDepth(depth int) TreeOption {
	return func(c *treeConfig) { c.maxDepth = depth }
}

// WriteTree prints n and its descendants as an indented tree, one span a
// line, for `extractor traces show`:
//
//	document  1.52s  status=ok tokens=1830/212 cost=$0.000402
//	├─ Document  41.3ms  cache=miss
//	└─ Extraction  1.47s  cache=miss
//	   └─ chat gpt-4o-mini  1.46s  attempt=2 tokens=1830/212 cost=$0.000402 finish=tool_calls
//
// Each line holds the span name, its duration and, when present: step
// (when it differs from the name), extractor status, cache hit or miss,
// attempt, retries, tokens in/out, cost, finish reasons, the attributes
// asked for with WithAttributes, and last the error of a failed span.
// The output depends only on the spans, so it can be compared with a
// golden string.
func WriteTree(w io.Writer, n *Node, opts ...TreeOption) error {
	var c treeConfig
	for _, o := range opts {
		o(&c)
	}
	bw := bufio.NewWriter(w)
	writeNode(bw, &c, n, "", "", 1)
	return bw.Flush()
}

func writeNode(w *bufio.Writer, c *treeConfig, n *Node, first, rest string, depth int) {
	w.WriteString(first)
	w.WriteString(spanLine(c, &n.Span))
	w.WriteByte('\n')
	if c.maxDepth > 0 && depth >= c.maxDepth {
		if k := countSpans(n.Children); k > 0 {
			fmt.Fprintf(w, "%s└─ … %d more %s\n", rest, k, plural(k, "span", "spans"))
		}
		return
	}
	for i, ch := range n.Children {
		if i == len(n.Children)-1 {
			writeNode(w, c, ch, rest+"└─ ", rest+"   ", depth+1)
		} else {
			writeNode(w, c, ch, rest+"├─ ", rest+"│  ", depth+1)
		}
	}
}

func countSpans(ns []*Node) int {
	k := len(ns)
	for _, n := range ns {
		k += countSpans(n.Children)
	}
	return k
}

func plural(k int, one, many string) string {
	if k == 1 {
		return one
	}
	return many
}

func spanLine(c *treeConfig, s *Span) string {
	var b strings.Builder
	b.WriteString(s.Name)
	b.WriteString("  ")
	b.WriteString(FormatDuration(s.Duration))
	var parts []string
	add := func(p string) { parts = append(parts, p) }
	if v, ok := s.Attr(StepName); ok && v.AsString() != s.Name {
		add("step=" + formatValue(v))
	}
	if v, ok := s.Attr(Status); ok {
		add("status=" + formatValue(v))
	}
	if v, ok := s.Attr(CacheHit); ok && v.Type() == attribute.BOOL {
		if v.AsBool() {
			add("cache=hit")
		} else {
			add("cache=miss")
		}
	}
	if v, ok := s.Attr(Attempt); ok {
		add("attempt=" + formatValue(v))
	}
	if v, ok := s.Attr(Retries); ok {
		add("retries=" + formatValue(v))
	}
	in, okIn := s.Attr(UsageInputTokens)
	out, okOut := s.Attr(UsageOutputTokens)
	if okIn || okOut {
		t := "tokens="
		if okIn {
			t += formatValue(in)
		} else {
			t += "-"
		}
		t += "/"
		if okOut {
			t += formatValue(out)
		} else {
			t += "-"
		}
		add(t)
	}
	if v, ok := s.Attr(CostUSD); ok {
		if v.Type() == attribute.FLOAT64 {
			add("cost=$" + strconv.FormatFloat(v.AsFloat64(), 'f', 6, 64))
		} else {
			add("cost=" + formatValue(v))
		}
	}
	if v, ok := s.Attr(ResponseFinishReasons); ok {
		if v.Type() == attribute.STRINGSLICE {
			add("finish=" + strings.Join(v.AsStringSlice(), ","))
		} else {
			add("finish=" + formatValue(v))
		}
	}
	for _, k := range c.extra {
		if v, ok := s.Attr(k); ok {
			add(string(k) + "=" + formatValue(v))
		}
	}
	if s.Status.Code == codes.Error {
		if s.Status.Message != "" {
			add("error=" + strconv.Quote(s.Status.Message))
		} else {
			add("error")
		}
	}
	if len(parts) > 0 {
		b.WriteString("  ")
		b.WriteString(strings.Join(parts, " "))
	}
	return b.String()
}

// formatValue prints a value bare, quoting strings that would not read
// as one token.
func formatValue(v attribute.Value) string {
	if v.Type() == attribute.STRING {
		s := v.AsString()
		if s == "" || strings.ContainsAny(s, " \"=") || strings.IndexFunc(s, notPrint) >= 0 {
			return strconv.Quote(s)
		}
		return s
	}
	return v.String()
}

func notPrint(r rune) bool { return !strconv.IsPrint(r) }

// FormatDuration prints a duration for people, to about four significant
// digits: 812ns, 4.2µs, 41.3ms, 1.52s, 2m3.4s. The trace tree and the web
// pages print spans with it.
func FormatDuration(d time.Duration) string {
	switch {
	case d < time.Microsecond:
		return strconv.FormatInt(int64(d), 10) + "ns"
	case d < time.Millisecond:
		return strconv.FormatFloat(float64(d)/float64(time.Microsecond), 'f', 1, 64) + "µs"
	case d < time.Second:
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + "ms"
	case d < time.Minute:
		return strconv.FormatFloat(float64(d)/float64(time.Second), 'f', 2, 64) + "s"
	}
	return d.Round(100 * time.Millisecond).String()
}
