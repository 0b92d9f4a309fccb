package store

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/extractor-dev/extractor/pipeline"
	"github.com/extractor-dev/extractor/tracing"
)

// SaveRun stores a run's manifest, replacing what an earlier save of the
// same run said (a run is saved when it starts and again when it ends).
func (s *Store) SaveRun(ctx context.Context, run pipeline.Run) error {
	return saveRun(ctx, s.pool, run)
}

// execer runs a statement: a pool or a transaction.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func saveRun(ctx context.Context, db execer, run pipeline.Run) error {
	if run.ID == "" {
		return invalid("run without an id")
	}
	manifest, err := json.Marshal(run)
	if err != nil {
		return invalid("run %s: %v", run.ID, err)
	}
	versions := run.Versions
	if versions == nil {
		versions = map[string]string{}
	}
	vj, err := json.Marshal(versions)
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `
INSERT INTO runs (id, started, finished, status, documents, ok, failed, input_tokens, output_tokens, cost_usd, versions, manifest)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (id) DO UPDATE SET
    started = excluded.started, finished = excluded.finished, status = excluded.status,
    documents = excluded.documents, ok = excluded.ok, failed = excluded.failed,
    input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens,
    cost_usd = excluded.cost_usd, versions = excluded.versions, manifest = excluded.manifest,
    updated_at = now()`,
		run.ID, run.Started, run.Finished, run.Status, run.Counts.Documents, run.Counts.OK, run.Counts.Failed,
		run.Spent.InputTokens, run.Spent.OutputTokens, run.Spent.CostUSD, vj, manifest)
	if err != nil {
		return fmt.Errorf("store: saving run %s: %w", run.ID, err)
	}
	return nil
}

// Record stores a step record (pipeline.Recorder). Recording the same
// run, document and step again replaces the record. The interface carries
// no context, so each call is bounded by Config.RecordTimeout.
func (s *Store) Record(rec pipeline.StepRecord) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.RecordTimeout)
	defer cancel()
	return s.RecordContext(ctx, rec)
}

// RecordContext is Record with a caller's context.
func (s *Store) RecordContext(ctx context.Context, rec pipeline.StepRecord) error {
	if rec.RunID == "" || rec.Step == "" {
		return invalid("step record without run id or step")
	}
	_, err := s.pool.Exec(ctx, `
INSERT INTO step_records (run_id, document_id, step, file, step_version, key, input_hash, output_hash,
    started, duration_ms, error, cache_hit, trace_id, span_id, inputs, spent)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
ON CONFLICT (run_id, document_id, step) DO UPDATE SET
    file = excluded.file, step_version = excluded.step_version, key = excluded.key,
    input_hash = excluded.input_hash, output_hash = excluded.output_hash, started = excluded.started,
    duration_ms = excluded.duration_ms, error = excluded.error, cache_hit = excluded.cache_hit,
    trace_id = excluded.trace_id, span_id = excluded.span_id, inputs = excluded.inputs, spent = excluded.spent`,
		rec.RunID, rec.DocumentID, rec.Step, rec.File, rec.StepVersion, rec.Key, rec.InputHash, rec.OutputHash,
		rec.Start, rec.DurationMS, rec.Error, rec.CacheHit, rec.TraceID, rec.SpanID, rec.Inputs, rec.Spent)
	if err != nil {
		return fmt.Errorf("store: recording step %s of %s: %w", rec.Step, short(rec.DocumentID), err)
	}
	return nil
}

// StepRecords returns a run's step records, ordered by start time.
func (s *Store) StepRecords(ctx context.Context, runID string) ([]pipeline.StepRecord, error) {
	rows, err := s.pool.Query(ctx, `
SELECT run_id, document_id, file, step, step_version, input_hash, key, output_hash, started,
    duration_ms, error, cache_hit, trace_id, span_id, inputs, spent
FROM step_records WHERE run_id = $1 ORDER BY started, document_id, step`, runID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (pipeline.StepRecord, error) {
		var x pipeline.StepRecord
		err := r.Scan(&x.RunID, &x.DocumentID, &x.File, &x.Step, &x.StepVersion, &x.InputHash, &x.Key,
			&x.OutputHash, &x.Start, &x.DurationMS, &x.Error, &x.CacheHit, &x.TraceID, &x.SpanID, &x.Inputs, &x.Spent)
		return x, err
	})
}

// Cache is the step cache in the database (pipeline.Cache): shared by
// every process that uses the database.
type Cache struct {
	pool *pgxpool.Pool
}

var _ pipeline.Cache = Cache{}

// Cache returns the store's step cache.
func (s *Store) Cache() Cache { return Cache{pool: s.pool} }

// Get returns the value stored under key, byte for byte as it was put.
func (c Cache) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if key == "" {
		return nil, false, invalid("empty cache key")
	}
	var v []byte
	err := c.pool.QueryRow(ctx, "SELECT value FROM step_cache WHERE key = $1", key).Scan(&v)
	if err == pgx.ErrNoRows {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return v, true, nil
}

// Put stores value under key; the last write wins, as with
// pipeline.DirCache.
func (c Cache) Put(ctx context.Context, key string, value []byte) error {
	if key == "" {
		return invalid("empty cache key")
	}
	if value == nil {
		value = []byte{}
	}
	_, err := c.pool.Exec(ctx, `
INSERT INTO step_cache (key, value) VALUES ($1, $2)
ON CONFLICT (key) DO UPDATE SET value = excluded.value, created_at = now()
WHERE step_cache.value IS DISTINCT FROM excluded.value`, key, value)
	return err
}

// SpanExporter writes finished spans to the spans table (an
// sdktrace.SpanExporter): each batch is copied into a staging table and
// inserted with ON CONFLICT DO NOTHING, so a batch exported twice (a
// retry) or a span seen twice stores each span once. It is safe for
// concurrent use.
type SpanExporter struct {
	s      *Store
	mu     sync.RWMutex
	closed bool
}

var _ sdktrace.SpanExporter = (*SpanExporter)(nil)

// SpanExporter returns an exporter writing to the store's spans table.
func (s *Store) SpanExporter() *SpanExporter { return &SpanExporter{s: s} }

// ExportSpans stores spans in one transaction.
func (e *SpanExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return ErrClosed
	}
	if len(spans) == 0 {
		return nil
	}
	rows := make([][]any, 0, len(spans))
	for _, ro := range spans {
		sp := tracing.SpanFrom(ro)
		record, err := sp.MarshalJSON()
		if err != nil {
			return err
		}
		attrs, err := json.Marshal(plainAttrs(sp.Attributes))
		if err != nil {
			return err
		}
		parent := ""
		if sp.ParentSpanID.IsValid() {
			parent = sp.ParentSpanID.String()
		}
		runID, _ := sp.Attr(tracing.RunID)
		docID, _ := sp.Attr(tracing.DocumentID)
		rows = append(rows, []any{sp.TraceID.String(), sp.SpanID.String(), parent, sp.Name, sp.Kind.String(),
			sp.Start, sp.End, sp.Duration.Nanoseconds(), sp.Status.Code.String(), sp.Status.Message,
			runID.AsString(), docID.AsString(), attrs, record})
	}
	conn, err := e.s.acquire(ctx, true)
	if err != nil {
		return err
	}
	defer conn.Release()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	// Emptied here, in the transaction, so a failed export leaves it as
	// it was.
	if _, err := tx.Exec(ctx, "TRUNCATE pg_temp.extractor_stage_spans"); err != nil {
		return err
	}
	cols := []string{"trace_id", "span_id", "parent_span_id", "name", "kind", "start_time", "end_time", "duration_ns",
		"status_code", "status_message", "run_id", "document_id", "attributes", "record"}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"pg_temp", "extractor_stage_spans"}, cols, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("store: copying spans: %w", err)
	}
	if _, err := tx.Exec(ctx, `
INSERT INTO spans (trace_id, span_id, parent_span_id, name, kind, start_time, end_time, duration_ns,
    status_code, status_message, run_id, document_id, attributes, record)
SELECT trace_id, span_id, parent_span_id, name, kind, start_time, end_time, duration_ns,
    status_code, status_message, run_id, document_id, attributes, record
FROM pg_temp.extractor_stage_spans
ON CONFLICT (trace_id, span_id) DO NOTHING`); err != nil {
		return fmt.Errorf("store: saving spans: %w", err)
	}
	return tx.Commit(ctx)
}

// Shutdown makes later exports fail with ErrClosed; it waits for exports
// in flight. The pool is the caller's, and stays open.
func (e *SpanExporter) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	return nil
}

// plainAttrs turns attributes into a JSON object of plain values, for
// queries such as attributes->>'gen_ai.request.model'.
func plainAttrs(kvs []attribute.KeyValue) map[string]any {
	out := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		out[string(kv.Key)] = plainValue(kv.Value)
	}
	return out
}

func plainValue(v attribute.Value) any {
	switch v.Type() {
	case attribute.FLOAT64:
		return finite(v.AsFloat64())
	case attribute.FLOAT64SLICE:
		fs := v.AsFloat64Slice()
		out := make([]any, len(fs))
		for i, f := range fs {
			out[i] = finite(f)
		}
		return out
	case attribute.SLICE:
		vs := v.AsSlice()
		out := make([]any, len(vs))
		for i, x := range vs {
			out[i] = plainValue(x)
		}
		return out
	case attribute.MAP:
		return plainAttrs(v.AsMap())
	case attribute.EMPTY:
		return nil
	}
	return v.AsInterface()
}

// finite keeps what JSON can hold; NaN and infinities become strings.
func finite(f float64) any {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Sprint(f)
	}
	return f
}
