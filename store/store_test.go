package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/extractor-dev/extractor/internal/testenv"
	"github.com/extractor-dev/extractor/pipeline"
)

// Every test gets a schema of its own (tables, indexes, version table),
// dropped at the end, so tests run in parallel against one database.

// testPool returns a pool whose search_path starts with a new, empty
// schema (pgvector stays in public).
func testPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	dsn := testenv.SchemaURL(t, "store_test_")
	cfg, err := PoolConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close) // runs before the schema is dropped
	return pool
}

// testStore returns a store on a migrated schema of its own.
func testStore(t testing.TB) *Store {
	t.Helper()
	pool := testPool(t)
	if err := Migrate(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
	return New(pool, Config{})
}

func counts(t testing.TB, s *Store) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, tb := range Tables {
		var n int
		if err := s.pool.QueryRow(context.Background(), "SELECT count(*) FROM "+tb).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[tb] = n
	}
	return out
}

func docID(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:])
}

// testDoc makes a document of pages of lines, chunked line by line groups.
func testDoc(name string, pages ...[]string) pipeline.Document {
	d := pipeline.Document{ID: docID(name), Source: "/in/" + name + ".pdf", Size: 1000, Parser: "pdf/1",
		Meta: map[string]string{"Producer": "test"}}
	for i, lines := range pages {
		p := pipeline.Page{Number: i + 1, Width: 595, Height: 842, Status: pipeline.PageText}
		if len(lines) == 0 {
			p.Status = pipeline.PageNoText
		}
		for j, l := range lines {
			p.Lines = append(p.Lines, pipeline.Line{Text: l, Box: pipeline.Box{X0: 10, Y0: float64(20 * j), X1: 300, Y1: float64(20*j + 12)}})
		}
		d.Pages = append(d.Pages, p)
	}
	return d
}

var wordCount = pipeline.ChunkOptions{MaxTokens: 12, Overlap: -1, Count: func(s string) int { return len(strings.Fields(s)) }}

// testStored makes a StoredDocument with chunks, embeddings of model (a
// deterministic vector per chunk) and, with fields, an extraction.
func testStored(doc pipeline.Document, model string, dims int, fields map[string]string) pipeline.StoredDocument {
	chunks := pipeline.Chunks(doc, wordCount)
	sd := pipeline.StoredDocument{RunID: "run-1", Document: doc, Chunks: chunks,
		Versions: map[string]string{pipeline.StepParse: "pdf/1", pipeline.StepExtract: "llm/1 model=m prompt=p1", pipeline.StepValidate: "checks/1"}}
	for _, c := range chunks {
		sd.Embeddings = append(sd.Embeddings, pipeline.Embedding{ChunkID: c.ID, Model: model, Vector: seededVector(c.ID, dims)})
	}
	if fields != nil {
		sd.Extraction = testExtraction(doc.ID, "invoice", fields)
	}
	return sd
}

func testExtraction(docID, schema string, fields map[string]string) *pipeline.Extraction {
	x := &pipeline.Extraction{DocumentID: docID, Schema: pipeline.SchemaRef{Name: schema, Version: "1"},
		Extractor: pipeline.ExtractorRef{Kind: "llm", Model: "m", PromptVersion: "p1", Version: "1"},
		Fields:    map[string]pipeline.Field{},
		Issues:    []pipeline.Issue{{Field: "due_date", Code: pipeline.IssueMissing, Severity: pipeline.SeverityWarn, Message: "no due date"}}}
	for k, v := range fields {
		x.Fields[k] = pipeline.Field{Value: v, Raw: v, Evidence: pipeline.Evidence{Page: 1, Quote: v}, Grounded: true, Confidence: 0.9}
	}
	return x
}

// seededVector is a deterministic unit-free vector from a seed string.
func seededVector(seed string, dims int) []float32 {
	v := make([]float32, dims)
	h := sha256.Sum256([]byte(seed))
	for i := range v {
		if i%32 == 0 && i > 0 {
			h = sha256.Sum256(h[:])
		}
		v[i] = float32(int(h[i%32])-128) / 128
	}
	v[0] += 0.001 // never all zero
	return v
}

func TestConfigDefaults(t *testing.T) {
	c := Config{}.withDefaults()
	if c.RRFK != 60 || c.EfSearch != 100 || c.Candidates != 100 || c.RecordTimeout != 5*time.Second {
		t.Errorf("defaults: %+v", c)
	}
}

func TestQuoteLiteral(t *testing.T) {
	for in, want := range map[string]string{"abc": "'abc'", "a'b": "'a''b'", "": "''"} {
		if got, err := quoteLiteral(in); err != nil || got != want {
			t.Errorf("quoteLiteral(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{`a\'b`, "a\x00b"} {
		if _, err := quoteLiteral(in); !errors.Is(err, ErrInvalid) {
			t.Errorf("quoteLiteral(%q): %v, want ErrInvalid", in, err)
		}
	}
}

func TestModelPattern(t *testing.T) {
	for _, ok := range []string{"text-embedding-3-small", "BAAI/bge-small-en-v1.5", "nomic-embed-text:latest", "m@2", "all-MiniLM-L6-v2"} {
		if err := checkModel(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a'b", "x' OR '1'='1", "a b", "-x", "a\\b", "a;b", strings.Repeat("a", 201), "ä"} {
		if err := checkModel(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestIndexName(t *testing.T) {
	a, b := IndexName("m", 384), IndexName("m", 512)
	if a == b || a != IndexName("m", 384) || len(a) > 63 || !plainIdent.MatchString(a) {
		t.Errorf("index names %q %q", a, b)
	}
	if IndexName("x' OR 1=1 --", 3) == "" || !plainIdent.MatchString(IndexName("x' OR 1=1 --", 3)) {
		t.Error("index name of a strange model is not a plain identifier")
	}
}

func TestSafeToRetry(t *testing.T) {
	if SafeToRetry(nil) || SafeToRetry(ErrInvalid) || SafeToRetry(fmt.Errorf("x: %w", ErrInvalid)) {
		t.Error("SafeToRetry of nil or invalid input")
	}
}

func TestStats(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := testStore(t)
	sd := testStored(testDoc("stats", invoiceLines), "stats-model", 4, map[string]string{"vendor_name": "x"})
	if err := s.SaveDocument(ctx, sd); err != nil {
		t.Fatal(err)
	}
	if _, err := EnsureIndex(ctx, s.pool, "stats-model", 4, IndexOptions{MaintenanceWorkMemMB: 64}); err != nil {
		t.Fatal(err)
	}
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Rows) != len(Tables) || st.Rows["documents"] != 1 || st.Rows["chunks"] != int64(len(sd.Chunks)) || st.Rows["extractions"] != 1 {
		t.Errorf("rows: %v", st.Rows)
	}
	if len(st.Models) != 1 || st.Models[0] != (ModelStats{Model: "stats-model", Dims: 4, Vectors: int64(len(sd.Chunks)), Index: IndexName("stats-model", 4)}) {
		t.Errorf("models: %+v", st.Models)
	}
}
