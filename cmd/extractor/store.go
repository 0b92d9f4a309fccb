package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5/pgxpool"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/extractor-dev/extractor/embed"
	"github.com/extractor-dev/extractor/pipeline"
	"github.com/extractor-dev/extractor/store"
	"github.com/extractor-dev/extractor/tracing"
)

// databaseURL is the configured database, from the config file or
// EXTRACTOR_DATABASE_URL; "" when none is.
func (m *Main) databaseURL(cfg config) string {
	return firstNonEmpty(cfg.DatabaseURL, m.Getenv("EXTRACTOR_DATABASE_URL"))
}

// errNoDatabase is returned by commands that need a database when none
// is configured.
var errNoDatabase = usageError{errors.New("no database configured: set EXTRACTOR_DATABASE_URL (or database_url in the --config file); 'make db-start' starts the project's own")}

// openStore connects to the database and checks that it has every
// migration this code needs. With tp, every statement run under a span
// gets a span of its own (otelpgx; statements, never their parameters).
func openStore(ctx context.Context, dsn string, sc searchConfig, tp trace.TracerProvider) (*store.Store, error) {
	cfg, err := store.PoolConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	if tp != nil {
		cfg.ConnConfig.Tracer = otelpgx.NewTracer(otelpgx.WithTracerProvider(tp), otelpgx.WithDisableAcquireTracer())
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	if err := store.CheckMigrations(ctx, pool); err != nil {
		pool.Close()
		if errors.Is(err, store.ErrSchemaBehind) {
			return nil, fmt.Errorf("%w ('extractor db migrate')", err)
		}
		return nil, fmt.Errorf("database: %w", err)
	}
	return store.New(pool, store.Config{EfSearch: sc.EfSearch, RRFK: sc.RRFK, Candidates: sc.Candidates}), nil
}

// openTraced starts tracing (into spanFile when set, OTLP when configured,
// and the database's spans table when dsn is set) and opens the store with
// its statements traced: the sequence every command that traces into the
// database shares. A database that is not ready fails it before anything
// is written. Without a dsn the store is nil.
func (m *Main) openTraced(ctx context.Context, dsn string, sc searchConfig, spanFile string) (*store.Store, *tracing.Provider, error) {
	exporters := slices.Clip(m.SpanExporters)
	dbSpans := &laterExporter{}
	if dsn != "" {
		st, err := openStore(ctx, dsn, sc, nil)
		if err != nil {
			return nil, nil, err
		}
		st.Pool().Close()
		exporters = append(exporters, dbSpans)
	}
	tp, err := tracing.Setup(ctx, tracing.Config{SpanFile: spanFile, OTLP: m.otlpProtocol(), ServiceName: "extractor",
		ServiceVersion: codeVersion(), Exporters: exporters})
	if err != nil {
		return nil, nil, fmt.Errorf("tracing: %w", err)
	}
	if dsn == "" {
		return nil, tp, nil
	}
	st, err := openStore(ctx, dsn, sc, tp)
	if err != nil {
		tp.Shutdown(context.Background())
		return nil, nil, err
	}
	dbSpans.set(st.SpanExporter())
	return st, tp, nil
}

// laterExporter hands spans to an exporter set after the tracer provider
// is made: the database's, whose pool traces its statements with that
// provider. Spans ended before it is set are dropped (there are none: it
// is set right after).
type laterExporter struct {
	mu sync.RWMutex
	e  sdktrace.SpanExporter
}

func (l *laterExporter) set(e sdktrace.SpanExporter) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.e = e
}

func (l *laterExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.e == nil {
		return nil
	}
	return l.e.ExportSpans(ctx, spans)
}

func (l *laterExporter) Shutdown(ctx context.Context) error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.e == nil {
		return nil
	}
	return l.e.Shutdown(ctx)
}

// embedder builds the configured embedder: an OpenAI-compatible endpoint
// when the config names one, else the offline hashing embedder.
func (m *Main) embedder(ec embeddingConfig, tp trace.TracerProvider) (pipeline.Embedder, error) {
	if ec.BaseURL == "" && ec.Model == "" {
		h, err := embed.NewHashing(embed.HashingConfig{Dimensions: ec.Dimensions})
		if err != nil {
			return nil, usageError{fmt.Errorf("embedding: %w", err)}
		}
		return h, nil
	}
	if ec.BaseURL == "" || ec.Model == "" {
		return nil, usageError{errors.New("embedding: give both base_url and model (or neither, for the offline hashing embedder)")}
	}
	o, err := embed.NewOpenAI(embed.OpenAIConfig{
		BaseURL: ec.BaseURL, Model: ec.Model, Dimensions: ec.Dimensions, OmitDimensions: ec.OmitDimensions,
		APIKey:    firstNonEmpty(m.Getenv("EXTRACTOR_EMBEDDING_API_KEY"), m.Getenv("OPENAI_API_KEY")),
		BatchSize: ec.BatchSize, BatchTokens: ec.BatchTokens, Base64: ec.Base64, RequestTimeout: ec.Timeout,
		Retry: embed.RetryPolicy{MaxRetries: ec.MaxRetries}, Provider: ec.Provider, TracerProvider: tp,
	})
	if err != nil {
		return nil, usageError{fmt.Errorf("embedding: %w", err)}
	}
	return o, nil
}

// recorders sends step records to the run directory and the database. A
// record the database refuses does not fail the document (the run
// directory has it); the failures are counted and the first is kept, to be
// reported when the run ends.
type recorders struct {
	dir    *pipeline.RunDir
	db     *store.Store
	failed atomic.Int64
	once   sync.Once
	first  error
}

func (r *recorders) Record(rec pipeline.StepRecord) error {
	err := r.dir.Record(rec)
	if dbErr := r.db.Record(rec); dbErr != nil {
		r.fail(dbErr)
		err = errors.Join(err, dbErr)
	}
	return err
}

// AddResult keeps a result line in the run directory and the database; the
// database refusing it does not stop the run (its lines are in the run
// directory all the same).
func (r *recorders) AddResult(ctx context.Context, line pipeline.ResultLine) error {
	if err := r.dir.AddResult(ctx, line); err != nil {
		return err
	}
	if err := r.db.SaveResult(ctx, line); err != nil {
		r.fail(err)
	}
	return nil
}

// RecordCall keeps a call record in the run directory (the database needs
// none: the run's totals are summed from the directory).
func (r *recorders) RecordCall(c pipeline.CallRecord) error {
	return r.dir.RecordCall(c)
}

// fail counts a record (step record or result line) the database refused.
func (r *recorders) fail(err error) {
	r.failed.Add(1)
	r.once.Do(func() { r.first = err })
}

// problem describes the records the database refused, or is nil.
func (r *recorders) problem() error {
	if n := r.failed.Load(); n > 0 {
		return fmt.Errorf("%d records were not written to the database (they are in the run directory); the first: %w", n, r.first)
	}
	return nil
}
