package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// IndexOptions tune an HNSW index build.
type IndexOptions struct {
	// M is the number of links per node (default 16, pgvector's).
	M int
	// EfConstruction is the candidate list size while building (default
	// 64, pgvector's). Larger builds slower and gives better recall.
	EfConstruction int
	// MaintenanceWorkMemMB is maintenance_work_mem for the build, in MB
	// (default 1024). An HNSW build whose graph outgrows it goes on
	// building on disk, much more slowly: a 1 GB build was measured 3.4×
	// faster than one at the server's 64 MB default, and 2.8× faster for
	// 100 000 384-dimension vectors on 2 cores (19.6 s against 54.0 s; see
	// BenchmarkSearch with EXTRACTOR_BENCH_COMPARE_MWM). It is set with SET
	// LOCAL for the build's transaction only, never above the server's
	// maximum for the setting, and the default never lowers a larger
	// setting already in force. The build only uses what the graph needs
	// (about 2 kB a 384-dimension vector with M 16: 200 MB for 100 000).
	MaintenanceWorkMemMB int
	// ParallelWorkers sets max_parallel_maintenance_workers for the build
	// (0: the server's setting, by default 2; negative: none). Parallel
	// builds share the graph in dynamic shared memory of
	// maintenance_work_mem's size (/dev/shm must hold it).
	ParallelWorkers int
}

func (o IndexOptions) withDefaults() IndexOptions {
	if o.M <= 0 {
		o.M = 16
	}
	if o.EfConstruction <= 0 {
		o.EfConstruction = 64
	}
	return o
}

// Index describes an HNSW index of one model's embeddings.
type Index struct {
	Name  string
	Model string
	Dims  int
	// Created is false when the index existed already (it is not rebuilt,
	// even with other options).
	Created bool
	// MaintenanceWorkMem is the setting the build ran with ("1GB").
	MaintenanceWorkMem string
	// Duration of the build.
	Duration time.Duration
}

// IndexName is the name of the HNSW index of model's dims-dimension
// embeddings: derived from a hash of both, so that any model name gives
// a short, valid identifier.
func IndexName(model string, dims int) string {
	sum := sha256.Sum256([]byte(model + "\x00" + strconv.Itoa(dims)))
	return "embeddings_hnsw_" + hex.EncodeToString(sum[:8])
}

// maxHNSWDims is the most dimensions pgvector's HNSW indexes on vector.
const maxHNSWDims = 2000

// EnsureIndex creates, unless it exists, the HNSW index (cosine distance)
// of model's embeddings of dims dimensions. pgvector indexes vectors of
// one dimension only, and embeddings of all models share one untyped
// column, so the index is a partial expression index:
//
//	CREATE INDEX embeddings_hnsw_<hash> ON embeddings
//	    USING hnsw ((vec::vector(384)) vector_cosine_ops) WITH (m = 16, ef_construction = 64)
//	    WHERE model = 'the-model' AND dims = 384
//
// Search uses it when it asks for the same model and dimensions. The
// model name must match the store's model pattern; it is quoted by the
// server's format(%L) all the same. The build holds a lock that blocks
// writes to embeddings (not reads) until it is done; build it after bulk
// loads, which it also makes faster.
func EnsureIndex(ctx context.Context, pool *pgxpool.Pool, model string, dims int, opts IndexOptions) (Index, error) {
	idx := Index{Name: IndexName(model, dims), Model: model, Dims: dims}
	if err := checkModel(model); err != nil {
		return idx, err
	}
	if dims < 1 || dims > maxHNSWDims {
		return idx, invalid("an HNSW index takes 1 to %d dimensions, not %d", maxHNSWDims, dims)
	}
	opts = opts.withDefaults()
	if opts.M < 2 || opts.M > 100 || opts.EfConstruction < 4 || opts.EfConstruction > 1000 || opts.EfConstruction < 2*opts.M {
		return idx, invalid("HNSW options m=%d ef_construction=%d (m 2-100, ef_construction 4-1000 and at least 2m)", opts.M, opts.EfConstruction)
	}

	tx, err := pool.Begin(ctx)
	if err != nil {
		return idx, err
	}
	defer tx.Rollback(ctx)

	var exists bool
	if err := tx.QueryRow(ctx, "SELECT to_regclass(format('%I.%I', current_schema(), $1::text)) IS NOT NULL", idx.Name).Scan(&exists); err != nil {
		return idx, err
	}
	if exists {
		return idx, nil
	}

	// maintenance_work_mem, in kB as pg_settings has it.
	var currentKB, maxKB int64
	if err := tx.QueryRow(ctx, "SELECT setting::bigint, max_val::bigint FROM pg_settings WHERE name = 'maintenance_work_mem'").Scan(&currentKB, &maxKB); err != nil {
		return idx, err
	}
	wantKB := int64(1024) * 1024
	if opts.MaintenanceWorkMemMB > 0 {
		wantKB = int64(opts.MaintenanceWorkMemMB) * 1024
	} else if currentKB > wantKB {
		wantKB = currentKB
	}
	wantKB = min(wantKB, maxKB)
	settings := fmt.Sprintf("SET LOCAL maintenance_work_mem = '%dkB'", wantKB)
	switch {
	case opts.ParallelWorkers > 0:
		settings += fmt.Sprintf("; SET LOCAL max_parallel_maintenance_workers = %d", opts.ParallelWorkers)
	case opts.ParallelWorkers < 0:
		settings += "; SET LOCAL max_parallel_maintenance_workers = 0"
	}
	if _, err := tx.Exec(ctx, settings); err != nil {
		return idx, err
	}
	if err := tx.QueryRow(ctx, "SHOW maintenance_work_mem").Scan(&idx.MaintenanceWorkMem); err != nil {
		return idx, err
	}

	// The statement is made by the server's format(): %I quotes the name,
	// %L the model, and the numbers are integers.
	var ddl string
	err = tx.QueryRow(ctx, `SELECT format(
    'CREATE INDEX IF NOT EXISTS %I ON embeddings USING hnsw ((vec::vector(%s)) vector_cosine_ops) '
    'WITH (m = %s, ef_construction = %s) WHERE model = %L AND dims = %s',
    $1::text, $2::integer, $3::integer, $4::integer, $5::text, $2::integer)`,
		idx.Name, dims, opts.M, opts.EfConstruction, model).Scan(&ddl)
	if err != nil {
		return idx, err
	}
	start := time.Now()
	if _, err := tx.Exec(ctx, ddl); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && (pgErr.Code == "42P07" || pgErr.Code == "23505") {
			// Built meanwhile by a concurrent EnsureIndex (IF NOT EXISTS
			// does not cover a race between two creations).
			return idx, nil
		}
		return idx, fmt.Errorf("store: building index %s for %s/%d: %w", idx.Name, model, dims, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return idx, err
	}
	idx.Duration = time.Since(start)
	idx.Created = true
	return idx, nil
}
