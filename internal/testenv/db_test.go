package testenv

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"
)

// TestDatabaseHasPgvector proves that the database `make test` provides
// (scripts/pg.sh, or EXTRACTOR_DATABASE_URL) works with pgx and has the
// vector extension: vectors round-trip and the distance operators compute.
func TestDatabaseHasPgvector(t *testing.T) {
	dsn := DatabaseURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a hang guard
	defer cancel()

	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.Background())

	var extversion string
	err = conn.QueryRow(ctx, "SELECT extversion FROM pg_extension WHERE extname = 'vector'").Scan(&extversion)
	if errors.Is(err, pgx.ErrNoRows) {
		t.Fatal("the vector extension is not created in this database (CREATE EXTENSION vector; scripts/pg.sh start does it)")
	}
	if err != nil {
		t.Fatalf("query pg_extension: %v", err)
	}
	var server string
	if err := conn.QueryRow(ctx, "SHOW server_version").Scan(&server); err != nil {
		t.Fatalf("server_version: %v", err)
	}
	t.Logf("PostgreSQL %s, pgvector %s", server, extversion)

	// pgvector.Vector goes through pgx as text (driver.Valuer, sql.Scanner).
	// The binary codec, github.com/pgvector/pgvector-go/pgx, needs
	// github.com/x448/float16 in go.sum.

	if _, err := conn.Exec(ctx, "CREATE TEMP TABLE testenv_items (id int PRIMARY KEY, embedding vector(3) NOT NULL)"); err != nil {
		t.Fatalf("create temp table: %v", err)
	}
	items := map[int][]float32{
		1: {1, 0, 0},
		2: {0, 1, 0},
		3: {1, 1, 0},
		4: {3, 4, 0},
	}
	for id, v := range items {
		if _, err := conn.Exec(ctx, "INSERT INTO testenv_items (id, embedding) VALUES ($1, $2)", id, pgvector.NewVector(v)); err != nil {
			t.Fatalf("insert %d: %v", id, err)
		}
	}

	// Round trip.
	var got pgvector.Vector
	if err := conn.QueryRow(ctx, "SELECT embedding FROM testenv_items WHERE id = 4").Scan(&got); err != nil {
		t.Fatalf("select: %v", err)
	}
	if s := got.Slice(); len(s) != 3 || s[0] != 3 || s[1] != 4 || s[2] != 0 {
		t.Fatalf("round trip: got %v, want [3 4 0]", s)
	}

	// Distances to q = [1,0,0]: <-> is L2, <=> is cosine distance (1 - cos).
	q := pgvector.NewVector([]float32{1, 0, 0})
	want := map[int]struct{ l2, cos float64 }{
		1: {0, 0},
		2: {math.Sqrt2, 1},
		3: {1, 1 - 1/math.Sqrt2},
		4: {math.Sqrt(20), 1 - 3.0/5},
	}
	rows, err := conn.Query(ctx,
		"SELECT id, embedding <-> $1, embedding <=> $1 FROM testenv_items ORDER BY embedding <-> $1, id", q)
	if err != nil {
		t.Fatalf("distance query: %v", err)
	}
	var order []int
	for rows.Next() {
		var id int
		var l2, cos float64
		if err := rows.Scan(&id, &l2, &cos); err != nil {
			t.Fatalf("scan: %v", err)
		}
		order = append(order, id)
		w, ok := want[id]
		if !ok {
			t.Fatalf("unexpected id %d", id)
		}
		if math.Abs(l2-w.l2) > 1e-6 {
			t.Errorf("id %d: L2 distance %v, want %v", id, l2, w.l2)
		}
		if math.Abs(cos-w.cos) > 1e-6 {
			t.Errorf("id %d: cosine distance %v, want %v", id, cos, w.cos)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("rows: %v", err)
	}
	// Nearest first by L2: 1 (0), 3 (1), 2 (1.414), 4 (4.47).
	if wantOrder := []int{1, 3, 2, 4}; !slices.Equal(order, wantOrder) {
		t.Errorf("order by L2 distance: got %v, want %v", order, wantOrder)
	}
}
