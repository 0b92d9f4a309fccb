package store_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/extractor-dev/extractor/pipeline"
	"github.com/extractor-dev/extractor/store"
)

// How cmd/extractor wires the store (compiled, not run: it needs a
// database).
func Example() {
	ctx := context.Background()
	pool, err := store.Connect(ctx, "postgres://postgres@127.0.0.1:54329/extractor_test?sslmode=disable")
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	if err := store.CheckMigrations(ctx, pool); errors.Is(err, store.ErrSchemaBehind) {
		log.Fatalf("%v (run: extractor db migrate)", err)
	} else if err != nil {
		log.Fatal(err)
	}
	s := store.New(pool, store.Config{})

	// The runner's store, recorder and cache; the tracer provider's exporter.
	runner := &pipeline.Runner{Store: s, Recorder: s, Cache: s.Cache()}
	_ = runner
	_ = s.SpanExporter() // sdktrace.WithBatcher(s.SpanExporter())

	// After a bulk load: one HNSW index per embedding model.
	if _, err := store.EnsureIndex(ctx, pool, "text-embedding-3-small", 1536, store.IndexOptions{}); err != nil {
		log.Fatal(err)
	}

	hits, err := s.Search(ctx, store.Query{
		Text:   "late payment fee",
		Vector: make([]float32, 1536), // the query's embedding by the same model
		Model:  "text-embedding-3-small",
		Filter: store.Filter{Schema: "invoice", Fields: []store.FieldFilter{
			{Name: "vendor_name", Op: store.Contains, Value: "acme"},
			{Name: "issue_date", Op: store.Between, From: "2024-01-01", To: "2024-12-31"},
			{Name: "total_amount", Op: store.GreaterOrEqual, Value: "1000"},
		}},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, h := range hits {
		fmt.Printf("%.4f (vector #%d, text #%d) %s p%d: %s\n", h.Score, h.VectorRank, h.TextRank, h.Source, h.Page, h.Text)
	}
}
