// Package store keeps what the pipeline makes in PostgreSQL with pgvector,
// through pgx: documents, their pages and chunks, chunk embeddings of any
// number of models, extractions, and the lineage of runs (manifests, step
// records, spans) with a step cache. It owns the schema (embedded,
// versioned migrations applied with jackc/tern), idempotent ingest (COPY
// straight into the tables of only what changed, one transaction per
// document), the
// per-model HNSW indexes and hybrid retrieval (vector and full-text in one
// statement, fused with Reciprocal Rank Fusion).
//
// It does not parse, chunk, embed or extract: it stores what the pipeline
// gives it (it implements pipeline.Store, pipeline.Recorder and
// pipeline.Cache, and an OpenTelemetry span exporter). It reads no
// environment: callers pass a pool and a Config.
//
// Pools must register pgvector's types on every connection: build them
// with Connect or PoolConfig (or call RegisterTypes from your own
// AfterConnect). A connection without them is registered on first use, at
// the cost of one round trip. The store keeps session state (the span
// exporter's temporary staging table, created once per connection, and
// transactions spanning several round trips), so it needs session
// pooling: not a transaction-pooling proxy such as PgBouncer in
// transaction mode.
package store

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	pgxvec "github.com/pgvector/pgvector-go/pgx"

	"github.com/extractor-dev/extractor/pipeline"
)

// Errors callers branch on. Errors that carry more wrap these.
var (
	// ErrInvalid: the input cannot be stored or run as given (a bad
	// document id, a vector with NaN, a model name outside the allowed
	// pattern, an unknown filter field...). Retrying will not help.
	ErrInvalid = pipeline.Kind("store: invalid input", pipeline.ErrInvalid)
	// ErrSchemaBehind: the database has not had every migration this code
	// needs (run the migrations).
	ErrSchemaBehind = errors.New("store: database schema is behind")
	// ErrSchemaAhead: the database was migrated by newer code.
	ErrSchemaAhead = errors.New("store: database schema is newer than this code")
	// ErrNoVector: the database has no vector type (the pgvector extension
	// is not installed in it, or not on the search_path).
	ErrNoVector = errors.New("store: the database has no vector type (pgvector)")
	// ErrClosed: the span exporter was shut down.
	ErrClosed = errors.New("store: exporter is shut down")
)

// invalid wraps ErrInvalid with what is wrong.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// SafeToRetry reports whether err is a transient failure after which the
// same call may succeed (a serialization failure, a deadlock, a
// connection lost before anything was sent). Ingest is idempotent, so a
// retried SaveDocument never duplicates rows.
func SafeToRetry(err error) bool {
	if err == nil || errors.Is(err, ErrInvalid) {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "40001", "40P01", "55P03", "57P01", "53300":
			// serialization_failure, deadlock_detected, lock_not_available,
			// admin_shutdown, too_many_connections
			return true
		}
		return false
	}
	return pgconn.SafeToRetry(err)
}

// Config tunes a Store. The zero value is usable.
type Config struct {
	// RecordTimeout bounds each Record call, whose interface
	// (pipeline.Recorder) carries no context (default 5s).
	RecordTimeout time.Duration
	// RRFK is the k of Reciprocal Rank Fusion: a hit's score is the sum
	// over the lists it is in of 1/(RRFK + rank). Larger values flatten
	// the advantage of top ranks (default 60, as in the RRF paper).
	RRFK int
	// Candidates is how deep each list of a hybrid search goes before
	// fusion (default 100; never less than the query's K).
	Candidates int
	// EfSearch is the HNSW search breadth of queries that do not set
	// their own (default 100). pgvector's default of 40 has been seen to
	// give only about 0.80 recall@10 on real embeddings; on this package's
	// embedding-like benchmark data (100 000 vectors, 384 dimensions) 40
	// gave 0.90 to 0.95 and 100 gave 0.95 to 0.99 over five index builds,
	// with a p95 latency under 5 ms (see bench_test.go).
	EfSearch int
}

func (c Config) withDefaults() Config {
	if c.RecordTimeout <= 0 {
		c.RecordTimeout = 5 * time.Second
	}
	if c.RRFK <= 0 {
		c.RRFK = 60
	}
	if c.Candidates <= 0 {
		c.Candidates = 100
	}
	if c.EfSearch <= 0 {
		c.EfSearch = 100
	}
	return c
}

// Store is the database of documents, chunks, embeddings, extractions and
// runs. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	cfg  Config
}

var (
	_ pipeline.Store    = (*Store)(nil)
	_ pipeline.Recorder = (*Store)(nil)
)

// New returns a Store on pool, which should come from Connect or
// PoolConfig. It does not touch the database: call CheckMigrations (or
// Migrate) first to fail early on a database that is not ready.
func New(pool *pgxpool.Pool, cfg Config) *Store {
	return &Store{pool: pool, cfg: cfg.withDefaults()}
}

// Pool returns the store's pool.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// PoolConfig parses a DSN into a pool configuration whose connections
// register pgvector's types (AfterConnect). Adjust it (pool size,
// RuntimeParams such as search_path) before pgxpool.NewWithConfig.
func PoolConfig(dsn string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	prev := cfg.AfterConnect
	cfg.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
		if prev != nil {
			if err := prev(ctx, conn); err != nil {
				return err
			}
		}
		return AfterConnect(ctx, conn)
	}
	return cfg, nil
}

// Connect opens a pool on dsn with PoolConfig's settings.
func Connect(ctx context.Context, dsn string) (*pgxpool.Pool, error) {
	cfg, err := PoolConfig(dsn)
	if err != nil {
		return nil, err
	}
	return pgxpool.NewWithConfig(ctx, cfg)
}

// AfterConnect registers pgvector's types on a new connection when the
// database has them; on a database without the extension yet (before the
// first migration) it does nothing, so that Migrate can run: the store
// registers the types on first use of such a connection.
func AfterConnect(ctx context.Context, conn *pgx.Conn) error {
	var oid *uint32
	if err := conn.QueryRow(ctx, "SELECT to_regtype('vector')::oid").Scan(&oid); err != nil {
		return err
	}
	if oid == nil {
		return nil
	}
	return pgxvec.RegisterTypes(ctx, conn)
}

// RegisterTypes registers pgvector's types on conn (vector, halfvec,
// sparsevec), so that vectors travel in binary; ErrNoVector when the
// database has no vector type.
func RegisterTypes(ctx context.Context, conn *pgx.Conn) error {
	var oid *uint32
	if err := conn.QueryRow(ctx, "SELECT to_regtype('vector')::oid").Scan(&oid); err != nil {
		return err
	}
	if oid == nil {
		return ErrNoVector
	}
	return pgxvec.RegisterTypes(ctx, conn)
}

// connState is what the store sets up once per connection, kept in the
// connection's own CustomData (never in package state).
const (
	stateTypes   = "extractor/store.types"
	stateStaging = "extractor/store.staging"
)

// prepare makes conn ready for the store: pgvector types registered and,
// with staging, the session's staging tables created. It runs outside any
// transaction, so what it creates survives a rolled back transaction.
func prepare(ctx context.Context, conn *pgx.Conn, staging bool) error {
	data := conn.PgConn().CustomData()
	if data[stateTypes] == nil {
		if _, ok := conn.TypeMap().TypeForName("vector"); !ok {
			if err := RegisterTypes(ctx, conn); err != nil {
				return err
			}
		}
		data[stateTypes] = true
	}
	if staging && data[stateStaging] == nil {
		if _, err := conn.Exec(ctx, stagingDDL); err != nil {
			return fmt.Errorf("store: creating staging tables: %w", err)
		}
		data[stateStaging] = true
	}
	return nil
}

// stagingDDL creates the session's staging table of spans, into which
// the span exporter copies a batch before inserting it with ON CONFLICT
// DO NOTHING. It is temporary (in pg_temp: no WAL, local buffers,
// invisible to other sessions) and lives as long as the pooled
// connection, so no export pays for creating and dropping catalog
// entries; the exporter empties it in its own transaction.
const stagingDDL = `
CREATE TEMP TABLE IF NOT EXISTS extractor_stage_spans (
    trace_id text, span_id text, parent_span_id text, name text, kind text,
    start_time timestamptz, end_time timestamptz, duration_ns bigint,
    status_code text, status_message text, run_id text, document_id text,
    attributes jsonb, record jsonb
);`

// acquire takes a connection from the pool and prepares it.
func (s *Store) acquire(ctx context.Context, staging bool) (*pgxpool.Conn, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	if err := prepare(ctx, conn.Conn(), staging); err != nil {
		conn.Release()
		return nil, err
	}
	return conn, nil
}

// modelPattern is what an embedding model name may look like: model
// names end up as literals in index predicates and queries (quoted, but
// an allow-list first), and in index names (hashed).
var modelPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/@+=-]{0,199}$`)

func checkModel(model string) error {
	if !modelPattern.MatchString(model) {
		return invalid("model name %q: must match %s", model, modelPattern)
	}
	return nil
}

// quoteLiteral quotes s as an SQL string literal. The store only quotes
// values that already passed an allow-list (model names), so this is a
// second line of defence: with standard_conforming_strings on (the
// default since PostgreSQL 9.1), doubling quotes is all a literal needs;
// a backslash or NUL makes it refuse.
func quoteLiteral(s string) (string, error) {
	if strings.ContainsAny(s, "\\\x00") {
		return "", invalid("cannot quote %q", s)
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'", nil
}
