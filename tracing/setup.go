package tracing

import (
	"context"
	"fmt"
	"sort"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
)

// Config says where spans go. cmd fills it from flags and the environment;
// Setup reads no environment variable itself (the OTLP exporters and the
// SDK's batch limits read their standard OTEL_* variables).
type Config struct {
	// SpanFile, when set, receives every span as one JSON object per line
	// (the offline default: cmd passes runs/<id>/spans.jsonl).
	SpanFile string
	// OTLP, when "http" or "grpc", also exports over OTLP; the exporter
	// reads the standard OTEL_EXPORTER_OTLP_* variables itself.
	OTLP string
	// ServiceName and ServiceVersion go into the resource of every span.
	// ServiceName defaults to "extractor".
	ServiceName, ServiceVersion string
	// ResourceAttributes are added to the resource (e.g. what cmd parsed
	// from OTEL_RESOURCE_ATTRIBUTES).
	ResourceAttributes []attribute.KeyValue
	// Sampler decides which spans are recorded. Default: every span that
	// has no parent, and children as their parent was decided
	// (ParentBased(AlwaysSample)); a run is small.
	Sampler sdktrace.Sampler
	// Exporters are more exporters, each behind its own batch processor
	// and counted in Stats like the built-in ones (an in-memory exporter
	// for the server, a test's exporter).
	Exporters []sdktrace.SpanExporter
	// MaxQueueSize bounds the spans waiting for each exporter; when it is
	// full, spans are dropped (and counted). 0 means the SDK default (2048).
	MaxQueueSize int
	// BatchTimeout is the longest a span waits before it is exported.
	// 0 means the SDK default (5s).
	BatchTimeout time.Duration
}

// Provider is the TracerProvider of a process: the SDK's, plus counts of
// spans ended, exported and dropped. Pass it to otel.SetTracerProvider to
// make it the global one.
type Provider struct {
	embedded.TracerProvider

	sdk       *sdktrace.TracerProvider
	ended     *endCounter
	exporters []*countingExporter
}

var _ trace.TracerProvider = (*Provider)(nil)

// Setup builds the provider cfg describes. Call Shutdown when done, or
// spans still queued are lost.
func Setup(ctx context.Context, cfg Config) (*Provider, error) {
	if cfg.OTLP != "" && cfg.OTLP != "http" && cfg.OTLP != "grpc" {
		return nil, fmt.Errorf("tracing: OTLP protocol %q: want \"http\" or \"grpc\"", cfg.OTLP)
	}
	name := cfg.ServiceName
	if name == "" {
		name = "extractor"
	}
	attrs := []attribute.KeyValue{semconv.ServiceName(name)}
	if cfg.ServiceVersion != "" {
		attrs = append(attrs, semconv.ServiceVersion(cfg.ServiceVersion))
	}
	attrs = append(attrs, cfg.ResourceAttributes...)
	res, err := resource.New(ctx,
		resource.WithSchemaURL(semconv.SchemaURL),
		resource.WithTelemetrySDK(),
		resource.WithAttributes(attrs...))
	if err != nil {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}

	p := &Provider{ended: &endCounter{}}
	var made []sdktrace.SpanExporter // ours, shut down if a later one fails
	fail := func(err error) (*Provider, error) {
		for _, e := range made {
			_ = e.Shutdown(ctx)
		}
		return nil, err
	}
	if cfg.SpanFile != "" {
		e, err := OpenJSONLFile(cfg.SpanFile)
		if err != nil {
			return fail(fmt.Errorf("tracing: span file: %w", err))
		}
		made = append(made, e)
		p.exporters = append(p.exporters, &countingExporter{SpanExporter: e, name: "jsonl"})
	}
	switch cfg.OTLP {
	case "http":
		e, err := otlptracehttp.New(ctx)
		if err != nil {
			return fail(fmt.Errorf("tracing: OTLP/HTTP exporter: %w", err))
		}
		made = append(made, e)
		p.exporters = append(p.exporters, &countingExporter{SpanExporter: e, name: "otlp-http"})
	case "grpc":
		// grpc.NewClient connects lazily: nothing is dialled here.
		e, err := otlptracegrpc.New(ctx)
		if err != nil {
			return fail(fmt.Errorf("tracing: OTLP/gRPC exporter: %w", err))
		}
		made = append(made, e)
		p.exporters = append(p.exporters, &countingExporter{SpanExporter: e, name: "otlp-grpc"})
	}
	for i, e := range cfg.Exporters {
		p.exporters = append(p.exporters, &countingExporter{SpanExporter: e, name: fmt.Sprintf("%d:%T", i, e)})
	}

	sampler := cfg.Sampler
	if sampler == nil {
		sampler = sdktrace.ParentBased(sdktrace.AlwaysSample())
	}
	var bspOpts []sdktrace.BatchSpanProcessorOption
	if cfg.MaxQueueSize > 0 {
		bspOpts = append(bspOpts, sdktrace.WithMaxQueueSize(cfg.MaxQueueSize),
			sdktrace.WithMaxExportBatchSize(min(sdktrace.DefaultMaxExportBatchSize, cfg.MaxQueueSize)))
	}
	if cfg.BatchTimeout > 0 {
		bspOpts = append(bspOpts, sdktrace.WithBatchTimeout(cfg.BatchTimeout))
	}
	// The counter comes first so a span is counted as ended before any
	// batch processor can drop it.
	opts := []sdktrace.TracerProviderOption{
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sampler),
		sdktrace.WithSpanProcessor(p.ended),
	}
	for _, e := range p.exporters {
		opts = append(opts, sdktrace.WithSpanProcessor(sdktrace.NewBatchSpanProcessor(e, bspOpts...)))
	}
	p.sdk = sdktrace.NewTracerProvider(opts...)
	return p, nil
}

// Tracer returns the named tracer (by convention the import path of the
// instrumented package).
func (p *Provider) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return p.sdk.Tracer(name, opts...)
}

// ForceFlush exports every span ended so far.
func (p *Provider) ForceFlush(ctx context.Context) error {
	return p.sdk.ForceFlush(ctx)
}

// Shutdown flushes and stops every exporter (closing the span file).
// Spans ended afterwards are neither recorded nor counted. Calling it
// again does nothing.
func (p *Provider) Shutdown(ctx context.Context) error {
	return p.sdk.Shutdown(ctx)
}

// Stats counts the spans of a provider.
type Stats struct {
	// Ended counts the sampled spans that ended.
	Ended int64
	// Exported counts the spans every exporter accepted (the smallest
	// count over exporters).
	Exported int64
	// Dropped counts spans that ended but that some exporter never
	// accepted: the queue was full, the exporter failed, or (before a
	// ForceFlush or Shutdown) the span is still queued. 0 without
	// exporters.
	Dropped int64
	// Exporters details each exporter, sorted by name: "jsonl",
	// "otlp-http", "otlp-grpc", or "<index>:<type>" for Config.Exporters.
	Exporters []ExporterStats
}

// ExporterStats counts the spans of one exporter.
type ExporterStats struct {
	Name     string
	Exported int64 // accepted by the exporter
	Failed   int64 // handed to the exporter, which returned an error
	Dropped  int64 // ended but not accepted (failed, or never handed over)
}

// Stats reports the counts so far; call it after ForceFlush or Shutdown
// for final numbers.
func (p *Provider) Stats() Stats {
	s := Stats{Ended: p.ended.n.Load()}
	for i, e := range p.exporters {
		es := ExporterStats{Name: e.name, Exported: e.exported.Load(), Failed: e.failed.Load()}
		es.Dropped = max(0, s.Ended-es.Exported)
		s.Exporters = append(s.Exporters, es)
		if i == 0 || es.Exported < s.Exported {
			s.Exported = es.Exported
		}
	}
	if len(p.exporters) > 0 {
		s.Dropped = max(0, s.Ended-s.Exported)
	}
	sort.Slice(s.Exporters, func(i, j int) bool { return s.Exporters[i].Name < s.Exporters[j].Name })
	return s
}

// endCounter is a SpanProcessor that counts the spans the batch
// processors will see: the sampled ones.
type endCounter struct{ n atomic.Int64 }

func (c *endCounter) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

func (c *endCounter) OnEnd(s sdktrace.ReadOnlySpan) {
	if s.SpanContext().IsSampled() {
		c.n.Add(1)
	}
}

func (c *endCounter) Shutdown(context.Context) error   { return nil }
func (c *endCounter) ForceFlush(context.Context) error { return nil }

// countingExporter counts what its exporter accepted and refused.
type countingExporter struct {
	sdktrace.SpanExporter
	name             string
	exported, failed atomic.Int64
}

func (e *countingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := e.SpanExporter.ExportSpans(ctx, spans)
	if err != nil {
		e.failed.Add(int64(len(spans)))
		return err
	}
	e.exported.Add(int64(len(spans)))
	return nil
}
