package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Tables are the store's tables, in the order Stats lists them.
var Tables = []string{"documents", "pages", "chunks", "embeddings", "extractions", "runs", "step_records", "spans", "step_cache", "api_keys", "idempotency_keys", "uploads", "results", "queued_runs", "queued_inputs", "queued_documents", "calls", "rate_limits",
	"review_documents", "corrections", "review_decisions", "webhooks", "webhook_events", "webhook_deliveries"}

// ModelStats counts one embedding model's vectors and says whether its
// HNSW index exists.
type ModelStats struct {
	Model   string `json:"model"`
	Dims    int    `json:"dims"`
	Vectors int64  `json:"vectors"`
	Index   string `json:"index,omitempty"`
}

// Stats is what the database holds.
type Stats struct {
	// Rows counts every table's rows (exactly: count(*)).
	Rows   map[string]int64 `json:"rows"`
	Models []ModelStats     `json:"models"`
}

// Stats counts the rows of every table and the vectors of every model.
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	st := Stats{Rows: map[string]int64{}}
	batch := &pgx.Batch{}
	for _, t := range Tables {
		batch.Queue("SELECT count(*) FROM " + pgx.Identifier{t}.Sanitize()).QueryRow(func(row pgx.Row) error {
			var n int64
			if err := row.Scan(&n); err != nil {
				return fmt.Errorf("store: counting %s: %w", t, err)
			}
			st.Rows[t] = n
			return nil
		})
	}
	if err := s.pool.SendBatch(ctx, batch).Close(); err != nil {
		return st, err
	}
	rows, err := s.pool.Query(ctx, "SELECT model, dims, count(*) FROM embeddings GROUP BY model, dims ORDER BY model, dims")
	if err != nil {
		return st, err
	}
	st.Models, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (ModelStats, error) {
		var m ModelStats
		err := r.Scan(&m.Model, &m.Dims, &m.Vectors)
		return m, err
	})
	if err != nil {
		return st, err
	}
	for i, m := range st.Models {
		name := IndexName(m.Model, m.Dims)
		var exists bool
		if err := s.pool.QueryRow(ctx, "SELECT to_regclass(format('%I.%I', current_schema(), $1::text)) IS NOT NULL", name).Scan(&exists); err != nil {
			return st, err
		}
		if exists {
			st.Models[i].Index = name
		}
	}
	return st, nil
}
