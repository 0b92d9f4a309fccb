package tracing

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"

	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// ErrExporterShutdown is returned by an export after Shutdown.
var ErrExporterShutdown = errors.New("tracing: exporter is shut down")

// JSONLExporter writes each span as one JSON object per line (see
// Span.MarshalJSON for the shape). Every batch is flushed as a whole, so
// a killed process loses at most the line being written, which ReadSpans
// skips. It is safe for concurrent use.
type JSONLExporter struct {
	mu     sync.Mutex
	w      *bufio.Writer
	c      io.Closer // closed on Shutdown; nil when the writer is not ours
	buf    []byte
	closed bool
	// The resource is the same for every span of a provider: it is
	// encoded once.
	res     *resource.Resource
	resJSON []byte
}

var _ sdktrace.SpanExporter = (*JSONLExporter)(nil)

// NewJSONLExporter writes spans to w, which Shutdown flushes but does not
// close.
func NewJSONLExporter(w io.Writer) *JSONLExporter {
	return &JSONLExporter{w: bufio.NewWriterSize(w, 64<<10)}
}

// OpenJSONLFile appends spans to the file at path, creating it and its
// directory if needed; Shutdown closes it.
func OpenJSONLFile(path string) (*JSONLExporter, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	e := NewJSONLExporter(f)
	e.c = f
	return e, nil
}

// ExportSpans writes spans, one line each, and flushes them.
func (e *JSONLExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrExporterShutdown
	}
	for _, ro := range spans {
		s := spanFrom(ro)
		if r := ro.Resource(); r != e.res {
			e.res, e.resJSON = r, nil
			if r != nil && r.Len() > 0 {
				e.resJSON = appendAttrs(nil, r.Attributes())
			}
		}
		e.buf = append(appendSpanResource(e.buf[:0], &s, e.resJSON), '\n')
		if _, err := e.w.Write(e.buf); err != nil {
			return err
		}
	}
	return e.w.Flush()
}

// Shutdown flushes what is buffered and closes the file if the exporter
// opened it. Later exports fail with ErrExporterShutdown.
func (e *JSONLExporter) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	err := e.w.Flush()
	if e.c != nil {
		err = errors.Join(err, e.c.Close())
	}
	return err
}
