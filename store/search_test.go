package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/extractor-dev/extractor/pipeline"
)

// searchSet is a small hand-made set: two invoices and an NDA, one chunk
// per line, with 3-dimension vectors placed by hand.
type searchSet struct {
	s                       *Store
	d1, d2, d3              string
	c1a, c1b, c2a, c2b, c3a string
	vec                     map[string][]float32
}

func newSearchSet(t *testing.T) *searchSet {
	t.Helper()
	ctx := context.Background()
	set := &searchSet{s: testStore(t), vec: map[string][]float32{}}
	type line struct {
		text string
		vec  []float32
	}
	save := func(name, schema string, fields map[string]string, lines ...line) (string, []string) {
		texts := make([]string, len(lines))
		for i, l := range lines {
			texts[i] = l.text
		}
		doc := testDoc(name, texts)
		sd := pipeline.StoredDocument{RunID: "run-s", Document: doc,
			Versions: map[string]string{pipeline.StepExtract: "rules/1", pipeline.StepValidate: "checks/1"}}
		var ids []string
		for i, l := range lines {
			c := pipeline.Chunk{ID: pipeline.ChunkID(doc.ID, 1, i, i), DocumentID: doc.ID, Page: 1, FirstLine: i, LastLine: i, Text: l.text, Tokens: 5}
			sd.Chunks = append(sd.Chunks, c)
			sd.Embeddings = append(sd.Embeddings, pipeline.Embedding{ChunkID: c.ID, Model: "tiny", Vector: l.vec})
			set.vec[c.ID] = l.vec
			ids = append(ids, c.ID)
		}
		sd.Extraction = testExtraction(doc.ID, schema, fields)
		if err := set.s.SaveDocument(ctx, sd); err != nil {
			t.Fatal(err)
		}
		return doc.ID, ids
	}
	var ids []string
	set.d1, ids = save("acme", "invoice", map[string]string{"vendor_name": "ACME GmbH", "total_amount": "1250.00", "issue_date": "2024-03-05"},
		line{"ACME GmbH invoice for consulting services", []float32{1, 0, 0}},
		line{"Payment by bank transfer IBAN DE89", []float32{0, 1, 0}})
	set.c1a, set.c1b = ids[0], ids[1]
	set.d2, ids = save("mueller", "invoice", map[string]string{"vendor_name": "Müller Bau AG", "total_amount": "999.50", "issue_date": "2024-01-15"},
		line{"Rechnung consulting Beratung consulting", []float32{0.9, 0.1, 0}},
		line{"Bauarbeiten und Material", []float32{0, 0, 1}})
	set.c2a, set.c2b = ids[0], ids[1]
	set.d3, ids = save("nda", "nda", map[string]string{"effective_date": "2023-06-01"},
		line{"Non-disclosure agreement on consulting", []float32{0.5, 0.5, 0.5}})
	set.c3a = ids[0]
	return set
}

var queryVec = []float32{1, 0.05, 0}

func cosineDistance(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	return 1 - dot/math.Sqrt(na*nb)
}

func ids(hits []Hit) []string {
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.ChunkID
	}
	return out
}

// checkScores checks each hit's score against its ranks, and the order.
func checkScores(t *testing.T, hits []Hit) {
	t.Helper()
	for i, h := range hits {
		want := 0.0
		if h.VectorRank > 0 {
			want += 1 / float64(60+h.VectorRank)
		}
		if h.TextRank > 0 {
			want += 1 / float64(60+h.TextRank)
		}
		if math.Abs(h.Score-want) > 1e-12 || want == 0 {
			t.Errorf("hit %s: score %v, want %v from ranks %d and %d", h.ChunkID, h.Score, want, h.VectorRank, h.TextRank)
		}
		if i > 0 && hits[i-1].Score < h.Score {
			t.Errorf("hits out of order at %d", i)
		}
	}
}

func TestSearch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	set := newSearchSet(t)
	s := set.s

	t.Run("vector", func(t *testing.T) {
		hits, err := s.Search(ctx, Query{Vector: queryVec, Model: "tiny", K: 3, Mode: Vector})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := ids(hits), []string{set.c1a, set.c2a, set.c3a}; !slices.Equal(got, want) {
			t.Fatalf("vector hits %v, want %v", got, want)
		}
		for i, h := range hits {
			if h.VectorRank != i+1 || h.TextRank != 0 || h.TextScore != 0 {
				t.Errorf("hit %d ranks: %+v", i, h)
			}
			if d := cosineDistance(queryVec, set.vec[h.ChunkID]); math.Abs(h.VectorDistance-d) > 1e-6 {
				t.Errorf("hit %d distance %v, want %v", i, h.VectorDistance, d)
			}
		}
		if h := hits[0]; h.DocumentID != set.d1 || h.Source != "/in/acme.pdf" || h.Page != 1 || h.FirstLine != 0 || h.LastLine != 0 || !strings.HasPrefix(h.Text, "ACME GmbH") {
			t.Errorf("first hit: %+v", h)
		}
		checkScores(t, hits)

		exact, err := s.ExactSearch(ctx, "tiny", queryVec, 3)
		if err != nil || !slices.Equal(exact, ids(hits)) {
			t.Errorf("ExactSearch = %v, %v; want %v", exact, err, ids(hits))
		}
		// Another model's vectors are never compared.
		if hits, err := s.Search(ctx, Query{Vector: queryVec, Model: "other", Mode: Vector}); err != nil || len(hits) != 0 {
			t.Errorf("search of a model without vectors: %v %v", hits, err)
		}
	})

	t.Run("text", func(t *testing.T) {
		hits, err := s.Search(ctx, Query{Text: "consulting", Mode: Text})
		if err != nil {
			t.Fatal(err)
		}
		got := ids(hits)
		// c2a says it twice: first; the other two tie, by chunk id.
		tied := []string{set.c1a, set.c3a}
		slices.Sort(tied)
		if want := append([]string{set.c2a}, tied...); !slices.Equal(got, want) {
			t.Fatalf("text hits %v, want %v", got, want)
		}
		for i, h := range hits {
			if h.TextRank != i+1 || h.VectorRank != 0 || h.TextScore <= 0 || h.VectorDistance != 0 {
				t.Errorf("hit %d: %+v", i, h)
			}
		}
		if hits[0].TextScore <= hits[1].TextScore {
			t.Errorf("text scores %v %v", hits[0].TextScore, hits[1].TextScore)
		}
		checkScores(t, hits)
		// MatchAll takes websearch syntax: exclusion, and words of any case.
		hits, err = s.Search(ctx, Query{Text: "CONSULTING -rechnung", Mode: Text, Match: MatchAll})
		if err != nil || slices.Contains(ids(hits), set.c2a) || len(hits) != 2 {
			t.Errorf("consulting -rechnung: %v %v", ids(hits), err)
		}
		hits, err = s.Search(ctx, Query{Text: "consulting invoice", Mode: Text, Match: MatchAll})
		if err != nil || !slices.Equal(ids(hits), []string{set.c1a}) {
			t.Errorf("all of consulting invoice: %v %v", ids(hits), err)
		}
		// MatchAny: a question's words, any of them; the chunk with more of
		// them first. Stop words ("what", "is", "the", "und") match nothing.
		hits, err = s.Search(ctx, Query{Text: "What is the invoice for the transfer?", Mode: Text})
		if err != nil || !slices.Equal(ids(hits), []string{set.c1a, set.c1b}) && !slices.Equal(ids(hits), []string{set.c1b, set.c1a}) {
			t.Errorf("any of invoice transfer: %v %v", ids(hits), err)
		}
		hits, err = s.Search(ctx, Query{Text: "Rechnung für consulting", Mode: Text})
		if err != nil || len(hits) != 3 || hits[0].ChunkID != set.c2a {
			t.Errorf("any of rechnung consulting: %v %v", ids(hits), err)
		}
		for _, q := range []string{"und", "the", "de la", "'\\ ' ''"} {
			hits, err = s.Search(ctx, Query{Text: q, Mode: Text})
			if err != nil || len(hits) != 0 {
				t.Errorf("%q: %v %v", q, ids(hits), err)
			}
		}
	})

	t.Run("hybrid", func(t *testing.T) {
		hits, err := s.Search(ctx, Query{Text: "consulting", Vector: queryVec, Model: "tiny"})
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) != 5 {
			t.Fatalf("hybrid hits: %d, want all 5 chunks", len(hits))
		}
		checkScores(t, hits)
		byID := map[string]Hit{}
		for _, h := range hits {
			byID[h.ChunkID] = h
		}
		// c2a is second by vector and first by text; c1a first by vector
		// and second or third by text: both lists outrank one list.
		if a, b := byID[set.c2a], byID[set.c1a]; a.VectorRank != 2 || a.TextRank != 1 || b.VectorRank != 1 || b.TextRank < 2 {
			t.Errorf("breakdown: %+v %+v", a, b)
		}
		if top := ids(hits[:2]); !slices.Contains(top, set.c1a) || !slices.Contains(top, set.c2a) {
			t.Errorf("top two %v, want c1a and c2a", top)
		}
		// Chunks in one list only have the other rank 0.
		if h := byID[set.c1b]; h.TextRank != 0 || h.VectorRank == 0 {
			t.Errorf("c1b: %+v", h)
		}
		// Only a text: the text list alone.
		hits, err = s.Search(ctx, Query{Text: "consulting"})
		if err != nil || len(hits) != 3 || hits[0].ChunkID != set.c2a {
			t.Errorf("hybrid with text only: %v %v", ids(hits), err)
		}
		// K.
		hits, err = s.Search(ctx, Query{Text: "consulting", Vector: queryVec, Model: "tiny", K: 2})
		if err != nil || len(hits) != 2 {
			t.Errorf("K 2: %v %v", ids(hits), err)
		}
	})

	t.Run("rrf k", func(t *testing.T) {
		s2 := New(s.pool, Config{RRFK: 1})
		hits, err := s2.Search(ctx, Query{Text: "consulting", Vector: queryVec, Model: "tiny", K: 1})
		if err != nil || len(hits) != 1 {
			t.Fatal(hits, err)
		}
		h := hits[0]
		if want := 1/float64(1+h.VectorRank) + 1/float64(1+h.TextRank); math.Abs(h.Score-want) > 1e-12 {
			t.Errorf("score with k=1: %v, want %v", h.Score, want)
		}
	})

	t.Run("invalid", func(t *testing.T) {
		for name, q := range map[string]Query{
			"nothing":          {},
			"vector no vector": {Mode: Vector, Text: "x"},
			"text no text":     {Mode: Text, Vector: queryVec, Model: "tiny"},
			"no model":         {Vector: queryVec},
			"bad model":        {Vector: queryVec, Model: "tiny' OR '1'='1"},
			"mode":             {Text: "x", Mode: Mode(9)},
			"K":                {Text: "x", K: 5000},
			"NaN":              {Vector: []float32{float32(math.NaN()), 0, 0}, Model: "tiny"},
		} {
			if _, err := s.Search(ctx, q); !errors.Is(err, ErrInvalid) {
				t.Errorf("%s: %v, want ErrInvalid", name, err)
			}
		}
	})
}

func TestSearchFilters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	set := newSearchSet(t)
	s := set.s
	docsOf := func(t *testing.T, q Query) []string {
		t.Helper()
		hits, err := s.Search(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, h := range hits {
			if !slices.Contains(out, h.DocumentID) {
				out = append(out, h.DocumentID)
			}
		}
		slices.Sort(out)
		return out
	}
	sorted := func(ids ...string) []string {
		ids = slices.Clone(ids)
		slices.Sort(ids)
		return ids
	}
	all := func(f Filter) Query { // every chunk is near enough: all lists
		return Query{Text: "consulting", Vector: queryVec, Model: "tiny", K: 20, Filter: f}
	}

	for _, c := range []struct {
		name   string
		filter Filter
		want   []string
	}{
		{"none", Filter{}, sorted(set.d1, set.d2, set.d3)},
		{"document ids", Filter{DocumentIDs: []string{set.d2}}, sorted(set.d2)},
		{"schema", Filter{Schema: "nda"}, sorted(set.d3)},
		{"schema invoice", Filter{Schema: "invoice"}, sorted(set.d1, set.d2)},
		{"equals, any case", Filter{Fields: []FieldFilter{{Name: "vendor_name", Op: Equals, Value: "acme gmbh"}}}, sorted(set.d1)},
		{"equals is whole", Filter{Fields: []FieldFilter{{Name: "vendor_name", Op: Equals, Value: "acme"}}}, nil},
		{"contains", Filter{Fields: []FieldFilter{{Name: "vendor_name", Op: Contains, Value: "BAU ag"}}}, sorted(set.d2)},
		{"contains is not LIKE", Filter{Fields: []FieldFilter{{Name: "vendor_name", Op: Contains, Value: "%"}}}, nil},
		{"between", Filter{Fields: []FieldFilter{{Name: "issue_date", Op: Between, From: "2024-02-01", To: "2024-12-31"}}}, sorted(set.d1)},
		{"between open end", Filter{Fields: []FieldFilter{{Name: "issue_date", Op: Between, From: "2024-01-01"}}}, sorted(set.d1, set.d2)},
		{"between open start", Filter{Fields: []FieldFilter{{Name: "issue_date", Op: Between, To: "2024-01-31"}}}, sorted(set.d2)},
		// As text "999.50" >= "1000": numbers compare as numbers.
		{"greater or equal", Filter{Fields: []FieldFilter{{Name: "total_amount", Op: GreaterOrEqual, Value: "1000"}}}, sorted(set.d1)},
		{"less or equal", Filter{Fields: []FieldFilter{{Name: "total_amount", Op: LessOrEqual, Value: "999.50"}}}, sorted(set.d2)},
		{"missing field", Filter{Fields: []FieldFilter{{Name: "iban", Op: Contains, Value: "DE"}}}, nil},
		{"combined", Filter{Schema: "invoice", DocumentIDs: []string{set.d1, set.d3}, Fields: []FieldFilter{{Name: "total_amount", Op: GreaterOrEqual, Value: "10"}}}, sorted(set.d1)},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := docsOf(t, all(c.filter)); !slices.Equal(got, c.want) {
				t.Errorf("documents %v, want %v", got, c.want)
			}
		})
	}

	t.Run("vector under a filter", func(t *testing.T) {
		hits, err := s.Search(ctx, Query{Vector: queryVec, Model: "tiny", Mode: Vector, Filter: Filter{DocumentIDs: []string{set.d2}}})
		if err != nil || !slices.Equal(ids(hits), []string{set.c2a, set.c2b}) {
			t.Errorf("hits %v, %v", ids(hits), err)
		}
		if len(hits) == 2 && (hits[0].VectorRank != 1 || hits[1].VectorRank != 2) {
			t.Errorf("ranks under a filter: %+v", hits)
		}
	})

	t.Run("latest extraction", func(t *testing.T) {
		// A newer extraction of d1 (a new prompt) reads another vendor:
		// field filters look at the latest one only.
		doc := testDoc("acme", []string{"ACME GmbH invoice for consulting services", "Payment by bank transfer IBAN DE89"})
		sd := pipeline.StoredDocument{Document: doc, Versions: map[string]string{pipeline.StepExtract: "rules/2"},
			Extraction: testExtraction(doc.ID, "invoice", map[string]string{"vendor_name": "ACME Corporation"})}
		for i := range 2 {
			sd.Chunks = append(sd.Chunks, pipeline.Chunk{ID: pipeline.ChunkID(doc.ID, 1, i, i), Page: 1, FirstLine: i, LastLine: i, Text: doc.Pages[0].Lines[i].Text})
		}
		if err := s.SaveDocument(ctx, sd); err != nil {
			t.Fatal(err)
		}
		if got := docsOf(t, all(Filter{Fields: []FieldFilter{{Name: "vendor_name", Value: "ACME GmbH"}}})); got != nil {
			t.Errorf("the older extraction still matched: %v", got)
		}
		if got := docsOf(t, all(Filter{Fields: []FieldFilter{{Name: "vendor_name", Value: "acme corporation"}}})); !slices.Equal(got, []string{set.d1}) {
			t.Errorf("the latest extraction did not match: %v", got)
		}
	})

	t.Run("injection", func(t *testing.T) {
		for _, name := range []string{"vendor_name'--", "vendor_name') OR true --", "Vendor", "a b", "", "x;DROP TABLE chunks"} {
			_, err := s.Search(ctx, all(Filter{Fields: []FieldFilter{{Name: name, Value: "x"}}}))
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("field name %q: %v, want ErrInvalid", name, err)
			}
		}
		for _, v := range []string{"x' OR '1'='1", "'; DROP TABLE chunks; --", `\'); DELETE FROM documents; --`} {
			for _, op := range []Op{Equals, Contains} {
				if got := docsOf(t, all(Filter{Fields: []FieldFilter{{Name: "vendor_name", Op: op, Value: v}}})); got != nil {
					t.Errorf("value %q matched %v", v, got)
				}
			}
			if got := docsOf(t, all(Filter{Fields: []FieldFilter{{Name: "issue_date", Op: Between, From: v, To: v}}})); got != nil {
				t.Errorf("between %q matched %v", v, got)
			}
			if got := docsOf(t, all(Filter{Schema: v, DocumentIDs: []string{v}})); got != nil {
				t.Errorf("schema and id %q matched %v", v, got)
			}
			if _, err := s.Search(ctx, Query{Text: v}); err != nil {
				t.Errorf("text %q: %v", v, err)
			}
		}
		for _, v := range []string{"1; DROP TABLE chunks", "1e3", "abc", ""} {
			if _, err := s.Search(ctx, all(Filter{Fields: []FieldFilter{{Name: "total_amount", Op: GreaterOrEqual, Value: v}}})); !errors.Is(err, ErrInvalid) {
				t.Errorf("numeric value %q: %v, want ErrInvalid", v, err)
			}
		}
		if _, err := s.Search(ctx, all(Filter{Fields: []FieldFilter{{Name: "total_amount", Op: Op(42), Value: "1"}}})); !errors.Is(err, ErrInvalid) {
			t.Errorf("unknown op: %v", err)
		}
		if _, err := s.Search(ctx, all(Filter{Fields: []FieldFilter{{Name: "issue_date", Op: Between}}})); !errors.Is(err, ErrInvalid) {
			t.Errorf("between without bounds: %v", err)
		}
		// Everything is still there.
		if got := counts(t, s); got["documents"] != 3 || got["chunks"] != 5 {
			t.Errorf("after the injection attempts: %v", got)
		}
	})
}

// TestSearchUsesIndex checks with EXPLAIN that the vector list is read
// through the model's HNSW index. The planner picks an index by cost:
// pgvector estimates an HNSW scan to visit about ef_search × m × 2 index
// tuples, so on a table much smaller than that a sequential scan and a
// sort look cheaper (and are). With 20 000 rows the index is the cheaper
// plan on its own merits, so the test needs no enable_seqscan = off, which
// would prove nothing about real queries.
func TestSearchUsesIndex(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an index of 20 000 vectors")
	}
	t.Parallel()
	ctx := context.Background()
	s := testStore(t)
	const n, dims, model = 20000, 16, "explain-model"
	// Two documents of n/2 chunks each.
	var docs []string
	for d := range 2 {
		doc := testDoc(fmt.Sprint("big-", d), []string{"one line"})
		docs = append(docs, doc.ID)
		sd := pipeline.StoredDocument{Document: doc}
		for i := range n / 2 {
			c := pipeline.Chunk{ID: fmt.Sprintf("big-%d-%05d", d, i), Page: 1, FirstLine: i, LastLine: i, Text: fmt.Sprintf("chunk %d of big document %d", i, d)}
			sd.Chunks = append(sd.Chunks, c)
			sd.Embeddings = append(sd.Embeddings, pipeline.Embedding{ChunkID: c.ID, Model: model, Vector: seededVector(c.ID, dims)})
		}
		if err := s.SaveDocument(ctx, sd); err != nil {
			t.Fatal(err)
		}
	}
	// Other models' rows share the table and never disturb the index.
	other := testStored(testDoc("small", invoiceLines), "other-model", 3, nil)
	if err := s.SaveDocument(ctx, other); err != nil {
		t.Fatal(err)
	}
	idx, err := EnsureIndex(ctx, s.pool, model, dims, IndexOptions{MaintenanceWorkMemMB: 128})
	if err != nil {
		t.Fatal(err)
	}
	if !idx.Created || idx.Name != IndexName(model, dims) || idx.MaintenanceWorkMem != "128MB" {
		t.Errorf("index: %+v", idx)
	}
	if again, err := EnsureIndex(ctx, s.pool, model, dims, IndexOptions{}); err != nil || again.Created {
		t.Errorf("EnsureIndex again: %+v %v", again, err)
	}
	if _, err := EnsureIndex(ctx, s.pool, "x'); DROP TABLE embeddings; --", dims, IndexOptions{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("EnsureIndex of a bad model name: %v", err)
	}
	if _, err := s.pool.Exec(ctx, "ANALYZE documents, chunks, embeddings"); err != nil {
		t.Fatal(err)
	}
	var def string
	if err := s.pool.QueryRow(ctx, "SELECT indexdef FROM pg_indexes WHERE indexname = $1", idx.Name).Scan(&def); err != nil {
		t.Fatal(err)
	}
	t.Log(def)
	if !strings.Contains(def, "WHERE ((model = 'explain-model'::text) AND (dims = 16))") || !strings.Contains(def, "m='16'") {
		t.Errorf("index definition: %s", def)
	}

	q := seededVector("query", dims)
	for _, c := range []struct {
		name string
		q    Query
	}{
		{"vector", Query{Vector: q, Model: model, Mode: Vector}},
		{"hybrid", Query{Vector: q, Model: model, Text: "chunk"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			plan := explain(t, s, c.q)
			if !strings.Contains(plan, "Index Scan using "+idx.Name) {
				t.Errorf("the plan does not use %s:\n%s", idx.Name, plan)
			}
		})
	}

	// Through the index, recall against the exact answer is high even on
	// random (hard) vectors.
	hits, err := s.Search(ctx, Query{Vector: q, Model: model, Mode: Vector, K: 10})
	if err != nil {
		t.Fatal(err)
	}
	exact, err := s.ExactSearch(ctx, model, q, 10)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, id := range exact {
		if slices.Contains(ids(hits), id) {
			found++
		}
	}
	if found < 8 {
		t.Errorf("recall@10 %d/10 through the index", found)
	}

	// Under a filter that keeps half of the rows, the index scan goes on
	// (iterative scan) until K rows pass: without it, an ef_search of 50
	// would give about 25.
	fq := Query{Vector: q, Model: model, Mode: Vector, K: 50, EfSearch: 10, Filter: Filter{DocumentIDs: docs[:1]}}
	plan := explain(t, s, fq)
	if !strings.Contains(plan, "Index Scan using "+idx.Name) {
		t.Errorf("the filtered plan does not use %s:\n%s", idx.Name, plan)
	}
	hits, err = s.Search(ctx, fq)
	if err != nil || len(hits) != 50 {
		t.Errorf("filtered: %d hits, %v", len(hits), err)
	}
	for _, h := range hits {
		if h.DocumentID != docs[0] {
			t.Errorf("filtered hit of document %s", h.DocumentID)
		}
	}
	// The same statement without the iterative scan stops short: the
	// setting is what makes filtered searches whole.
	sq, err := s.buildSearch(fq)
	if err != nil {
		t.Fatal(err)
	}
	var short int
	inTx(t, s, "SET LOCAL hnsw.ef_search = 50", func(tx pgx.Tx) {
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM ("+sq.sql+") q", sq.args...).Scan(&short); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("without iterative scan: %d of 50 hits", short)
	if short >= 50 {
		t.Errorf("without iterative scan the filtered search still found %d", short)
	}
}

// explain returns the plan of q's statement, under q's settings.
func explain(t *testing.T, s *Store, q Query) string {
	t.Helper()
	sq, err := s.buildSearch(q)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	inTx(t, s, sq.settings, func(tx pgx.Tx) {
		rows, err := tx.Query(context.Background(), "EXPLAIN "+sq.sql, sq.args...)
		if err != nil {
			t.Fatal(err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(strings.Join(lines, "\n"))
	})
	return b.String()
}

// inTx runs fn in a transaction, after settings, on a prepared connection.
func inTx(t *testing.T, s *Store, settings string, fn func(pgx.Tx)) {
	t.Helper()
	ctx := context.Background()
	conn, err := s.acquire(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if settings != "" {
		if _, err := tx.Exec(ctx, settings); err != nil {
			t.Fatal(err)
		}
	}
	fn(tx)
}
