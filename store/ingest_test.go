package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"

	"github.com/extractor-dev/extractor/pipeline"
)

var invoiceLines = []string{
	"ACME GmbH  Hauptstrasse 1  Berlin",
	"Invoice INV-2024-0042",
	"Date 2024-03-05",
	"Widget A   2 x 10.00   20.00",
	"Widget B   1 x 5.50    5.50",
	"Total 25.50 EUR",
	"IBAN DE89 3704 0044 0532 0130 00",
}

func TestSaveDocumentIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := testStore(t)

	doc := testDoc("one", invoiceLines, []string{"Page two: terms and conditions", "Payment within 30 days"}, nil)
	sd := testStored(doc, "model-a", 8, map[string]string{"vendor_name": "ACME GmbH", "total_amount": "25.50"})
	// A second model of other dimensions, side by side.
	for _, c := range sd.Chunks {
		sd.Embeddings = append(sd.Embeddings, pipeline.Embedding{ChunkID: c.ID, Model: "model-b", Vector: seededVector("b"+c.ID, 5)})
	}
	if len(sd.Chunks) < 3 {
		t.Fatalf("only %d chunks: the test wants several", len(sd.Chunks))
	}
	if err := s.SaveDocument(ctx, sd); err != nil {
		t.Fatal(err)
	}
	first := counts(t, s)
	want := map[string]int{"documents": 1, "pages": 3, "chunks": len(sd.Chunks), "embeddings": 2 * len(sd.Chunks),
		"extractions": 1, "runs": 0, "step_records": 0, "spans": 0, "step_cache": 0, "api_keys": 0, "idempotency_keys": 0, "uploads": 0, "results": 0,
		"review_documents": 0, "corrections": 0, "review_decisions": 0, "webhooks": 0, "webhook_events": 0, "webhook_deliveries": 0,
		"queued_runs": 0, "queued_inputs": 0, "queued_documents": 0, "calls": 0, "rate_limits": 0}
	if !maps.Equal(first, want) {
		t.Fatalf("after one save: %v, want %v", first, want)
	}
	xmins := func() string {
		var x string
		err := s.pool.QueryRow(ctx, `SELECT string_agg(t, ',' ORDER BY t) FROM (
			SELECT 'c' || xmin::text AS t FROM chunks UNION ALL SELECT 'e' || xmin::text FROM embeddings
			UNION ALL SELECT 'p' || xmin::text FROM pages UNION ALL SELECT 'x' || xmin::text FROM extractions) a`).Scan(&x)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	before := xmins()

	// The same document again: no row count changes, and no bulk row is
	// even rewritten (no dead tuples, no index work).
	if err := s.SaveDocument(ctx, sd); err != nil {
		t.Fatal(err)
	}
	if got := counts(t, s); !maps.Equal(got, first) {
		t.Errorf("after a second save: %v, want %v", got, first)
	}
	if after := xmins(); after != before {
		t.Errorf("a second save rewrote rows")
	}

	// A whole batch, twice.
	var batch []pipeline.StoredDocument
	for i := range 5 {
		d := testDoc(fmt.Sprint("batch-", i), append([]string{fmt.Sprint("Batch document ", i)}, invoiceLines...))
		batch = append(batch, testStored(d, "model-a", 8, map[string]string{"vendor_name": fmt.Sprint("Vendor ", i)}))
	}
	for range 2 {
		for _, d := range batch {
			if err := s.SaveDocument(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
	}
	afterBatch := counts(t, s)
	if afterBatch["documents"] != 6 || afterBatch["extractions"] != 6 {
		t.Fatalf("after the batch: %v", afterBatch)
	}
	for _, d := range batch {
		if err := s.SaveDocument(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if got := counts(t, s); !maps.Equal(got, afterBatch) {
		t.Errorf("after the batch again: %v, want %v", got, afterBatch)
	}

	// A new prompt version changes the extractor's version string: one
	// more extraction row, next to the old one.
	sd2 := sd
	sd2.Versions = maps.Clone(sd.Versions)
	sd2.Versions[pipeline.StepExtract] = "llm/1 model=m prompt=p2"
	x2 := *sd.Extraction
	x2.Extractor.PromptVersion = "p2"
	sd2.Extraction = &x2
	for range 2 {
		if err := s.SaveDocument(ctx, sd2); err != nil {
			t.Fatal(err)
		}
	}
	got := counts(t, s)
	if got["extractions"] != afterBatch["extractions"]+1 {
		t.Errorf("extractions after a new prompt version: %d, want %d", got["extractions"], afterBatch["extractions"]+1)
	}
	var prompts []string
	rows, _ := s.pool.Query(ctx, "SELECT prompt_version FROM extractions WHERE document_id = $1 ORDER BY id", doc.ID)
	for rows.Next() {
		var p string
		rows.Scan(&p)
		prompts = append(prompts, p)
	}
	if rows.Err() != nil || fmt.Sprint(prompts) != "[p1 p2]" {
		t.Errorf("prompt versions of the document's extractions: %v (%v)", prompts, rows.Err())
	}
	delete(got, "extractions")
	delete(afterBatch, "extractions")
	if !maps.Equal(got, afterBatch) {
		t.Errorf("a new extractor version changed other tables: %v, want %v", got, afterBatch)
	}

	// The stored extraction is the whole pipeline.Extraction.
	var raw []byte
	if err := s.pool.QueryRow(ctx, "SELECT extraction FROM extractions WHERE document_id = $1 AND prompt_version = 'p1'", doc.ID).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	var back pipeline.Extraction
	if err := json.Unmarshal(raw, &back); err != nil || back.Fields["vendor_name"].Quote != "ACME GmbH" || len(back.Issues) != 1 || back.DocumentID != doc.ID {
		t.Errorf("stored extraction: %+v (%v)", back, err)
	}
}

func TestSaveDocumentFailedExtraction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := testStore(t)
	doc := testDoc("failing", invoiceLines)
	sd := testStored(doc, "model-a", 4, nil) // extraction failed: nil
	if err := s.SaveDocument(ctx, sd); err != nil {
		t.Fatal(err)
	}
	got := counts(t, s)
	if got["documents"] != 1 || got["chunks"] != len(sd.Chunks) || got["embeddings"] != len(sd.Chunks) || got["extractions"] != 0 {
		t.Errorf("a document whose extraction failed: %v", got)
	}
	var status string
	var pages, textPages int
	if err := s.pool.QueryRow(ctx, "SELECT status, pages, text_pages FROM documents WHERE id = $1", doc.ID).Scan(&status, &pages, &textPages); err != nil || status != DocumentOK || pages != 1 || textPages != 1 {
		t.Errorf("document row: %s %d %d %v", status, pages, textPages, err)
	}

	// A scan without text: stored, no chunks, status no_text.
	scan := testDoc("scan", nil, nil)
	if err := s.SaveDocument(ctx, pipeline.StoredDocument{Document: scan}); err != nil {
		t.Fatal(err)
	}
	if err := s.pool.QueryRow(ctx, "SELECT status FROM documents WHERE id = $1", scan.ID).Scan(&status); err != nil || status != DocumentNoText {
		t.Errorf("scan status %q %v", status, err)
	}
}

// Saving a document again after it changed (a new parser) replaces its
// pages and chunks; embeddings of changed or gone chunks go with them.
func TestSaveDocumentReplaces(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := testStore(t)
	doc := testDoc("changing", invoiceLines, []string{"second page"})
	sd := testStored(doc, "m", 4, nil)
	if err := s.SaveDocument(ctx, sd); err != nil {
		t.Fatal(err)
	}
	// The new parser reads one page, and its first line differently.
	doc2 := testDoc("changing", append([]string{"ACME GmbH, Hauptstraße 1, Berlin"}, invoiceLines[1:]...))
	doc2.Parser = "pdf/2"
	sd2 := testStored(doc2, "m", 4, nil)
	sd2.Embeddings = nil // not embedded yet
	if err := s.SaveDocument(ctx, sd2); err != nil {
		t.Fatal(err)
	}
	got := counts(t, s)
	if got["pages"] != 1 || got["chunks"] != len(sd2.Chunks) {
		t.Errorf("after a re-parse: %v, want 1 page and %d chunks", got, len(sd2.Chunks))
	}
	// Chunks whose text is unchanged keep their embeddings; the changed
	// first chunk lost its own.
	var n int
	if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM embeddings WHERE chunk_id = $1", sd2.Chunks[0].ID).Scan(&n); err != nil || n != 0 {
		t.Errorf("the changed chunk kept %d embeddings (%v)", n, err)
	}
	if got["embeddings"] != len(sd2.Chunks)-1 {
		t.Errorf("embeddings: %d, want %d", got["embeddings"], len(sd2.Chunks)-1)
	}
	var parser string
	if err := s.pool.QueryRow(ctx, "SELECT parser FROM documents WHERE id = $1", doc.ID).Scan(&parser); err != nil || parser != "pdf/2" {
		t.Errorf("parser %q %v", parser, err)
	}
}

func TestSaveDocumentInvalid(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := testStore(t)
	good := testStored(testDoc("good", invoiceLines), "m", 4, map[string]string{"vendor_name": "x"})
	cases := map[string]func(sd *pipeline.StoredDocument){
		"no id":        func(sd *pipeline.StoredDocument) { sd.Document.ID = "" },
		"upper id":     func(sd *pipeline.StoredDocument) { sd.Document.ID = "AB" + sd.Document.ID[2:] },
		"NaN":          func(sd *pipeline.StoredDocument) { sd.Embeddings[0].Vector[1] = float32(math.NaN()) },
		"empty vector": func(sd *pipeline.StoredDocument) { sd.Embeddings[0].Vector = nil },
		"bad model":    func(sd *pipeline.StoredDocument) { sd.Embeddings[0].Model = "m'; DROP TABLE chunks; --" },
		"stray embedding": func(sd *pipeline.StoredDocument) {
			sd.Embeddings = append(sd.Embeddings, pipeline.Embedding{ChunkID: "nope", Model: "m", Vector: []float32{1, 2, 3, 4}})
		},
		"other document's chunk": func(sd *pipeline.StoredDocument) { sd.Chunks[0].DocumentID = docID("other") },
		"other document's extraction": func(sd *pipeline.StoredDocument) {
			x := *sd.Extraction
			x.DocumentID = docID("other")
			sd.Extraction = &x
		},
		"bad page status": func(sd *pipeline.StoredDocument) { sd.Document.Pages[0].Status = "weird" },
	}
	for name, mutate := range cases {
		sd := good
		sd.Document.Pages = append([]pipeline.Page(nil), good.Document.Pages...)
		sd.Chunks = append([]pipeline.Chunk(nil), good.Chunks...)
		sd.Embeddings = nil
		for _, e := range good.Embeddings {
			e.Vector = append([]float32(nil), e.Vector...)
			sd.Embeddings = append(sd.Embeddings, e)
		}
		mutate(&sd)
		if err := s.SaveDocument(ctx, sd); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if got := counts(t, s); got["documents"] != 0 {
		t.Errorf("invalid documents were stored: %v", got)
	}
	if err := s.SaveDocument(ctx, good); err != nil {
		t.Errorf("the valid document: %v", err)
	}
}

func TestDocumentStatus(t *testing.T) {
	p := func(st pipeline.PageStatus) pipeline.Page { return pipeline.Page{Number: 1, Status: st} }
	for _, c := range []struct {
		pages []pipeline.Page
		want  string
	}{
		{nil, DocumentFailed},
		{[]pipeline.Page{p(pipeline.PageText)}, DocumentOK},
		{[]pipeline.Page{p(pipeline.PageText), p(pipeline.PageNoText)}, DocumentOK},
		{[]pipeline.Page{p(pipeline.PageText), p(pipeline.PageError)}, DocumentPartial},
		{[]pipeline.Page{p(pipeline.PageNoText), p(pipeline.PageError)}, DocumentNoText},
		{[]pipeline.Page{p(pipeline.PageError)}, DocumentFailed},
	} {
		if got := documentStatus(pipeline.Document{Pages: c.pages}); got != c.want {
			t.Errorf("%v: %s, want %s", c.pages, got, c.want)
		}
	}
}

// Saves of one document at once serialize on its row: no error, no
// duplicate; saves of different documents run side by side.
func TestSaveDocumentConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := testStore(t)
	same := testStored(testDoc("same", invoiceLines), "m", 8, map[string]string{"vendor_name": "ACME GmbH"})
	var docs []pipeline.StoredDocument
	for i := range 8 {
		docs = append(docs, same, testStored(testDoc(fmt.Sprint("other-", i), invoiceLines), "m", 8, nil))
	}
	errs := make(chan error, len(docs))
	for _, d := range docs {
		go func() { errs <- s.SaveDocument(ctx, d) }()
	}
	for range docs {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	got := counts(t, s)
	if got["documents"] != 9 || got["extractions"] != 1 || got["chunks"] != 9*len(same.Chunks) || got["embeddings"] != 9*len(same.Chunks) {
		t.Errorf("after concurrent saves: %v", got)
	}
}

// Vectors by model on an unchanged document: a new model's are added, a
// model whose vectors changed has them replaced, the others stay as they
// are; after the chunks change, a model the save did not have is
// rewritten on its next save.
func TestSaveDocumentVectors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := testStore(t)
	doc := testDoc("vectors", invoiceLines)
	a := testStored(doc, "model-a", 8, nil)
	if err := s.SaveDocument(ctx, a); err != nil {
		t.Fatal(err)
	}
	n := len(a.Chunks)
	vectorsOf := func(model string) map[string][]float32 {
		rows, err := s.pool.Query(ctx, "SELECT chunk_id, vec FROM embeddings WHERE model = $1", model)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]float32{}
		var id string
		var v pgvector.Vector
		if _, err := pgx.ForEachRow(rows, []any{&id, &v}, func() error { out[id] = v.Slice(); return nil }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	xminsOf := func(model string) string {
		var x string
		if err := s.pool.QueryRow(ctx, "SELECT string_agg(xmin::text, ',' ORDER BY chunk_id) FROM embeddings WHERE model = $1", model).Scan(&x); err != nil {
			t.Fatal(err)
		}
		return x
	}
	aXmins := xminsOf("model-a")

	// model-b's vectors only: added next to model-a's, which stay untouched.
	b := a
	b.Embeddings = nil
	for _, c := range a.Chunks {
		b.Embeddings = append(b.Embeddings, pipeline.Embedding{ChunkID: c.ID, Model: "model-b", Vector: seededVector("b"+c.ID, 3)})
	}
	if err := s.SaveDocument(ctx, b); err != nil {
		t.Fatal(err)
	}
	if got := counts(t, s); got["embeddings"] != 2*n || got["chunks"] != n {
		t.Fatalf("after adding model-b: %v", got)
	}
	if xminsOf("model-a") != aXmins {
		t.Error("adding model-b rewrote model-a's vectors")
	}

	// model-b's vectors changed (a new version of the model): replaced.
	b2 := b
	b2.Embeddings = nil
	for _, c := range a.Chunks {
		b2.Embeddings = append(b2.Embeddings, pipeline.Embedding{ChunkID: c.ID, Model: "model-b", Vector: seededVector("b2"+c.ID, 3)})
	}
	if err := s.SaveDocument(ctx, b2); err != nil {
		t.Fatal(err)
	}
	got := vectorsOf("model-b")
	if len(got) != n || counts(t, s)["embeddings"] != 2*n {
		t.Fatalf("after replacing model-b: %d vectors, counts %v", len(got), counts(t, s))
	}
	for _, e := range b2.Embeddings {
		if !slices.Equal(got[e.ChunkID], e.Vector) {
			t.Errorf("chunk %s model-b: %v, want %v", e.ChunkID, got[e.ChunkID], e.Vector)
		}
	}
	if xminsOf("model-a") != aXmins {
		t.Error("replacing model-b rewrote model-a's vectors")
	}

	// The document's first line is read differently: the changed chunk
	// loses both models' vectors, the unchanged ones keep them, and
	// model-a (not in this save) is rewritten whole on its next save.
	doc2 := testDoc("vectors", append([]string{"ACME GmbH, Hauptstraße 1, Berlin"}, invoiceLines[1:]...))
	c := testStored(doc2, "model-b", 3, nil)
	if err := s.SaveDocument(ctx, c); err != nil {
		t.Fatal(err)
	}
	if got := vectorsOf("model-b"); len(got) != len(c.Chunks) {
		t.Errorf("model-b after the change: %d vectors, want %d", len(got), len(c.Chunks))
	}
	a2 := testStored(doc2, "model-a", 8, nil)
	if err := s.SaveDocument(ctx, a2); err != nil {
		t.Fatal(err)
	}
	if got := counts(t, s); got["embeddings"] != 2*len(c.Chunks) || got["chunks"] != len(c.Chunks) {
		t.Errorf("after re-saving model-a: %v, want %d chunks with 2 vectors each", got, len(c.Chunks))
	}

	// Deleting the document takes its chunks and, by the trigger, their
	// vectors.
	if _, err := s.pool.Exec(ctx, "DELETE FROM documents WHERE id = $1", doc.ID); err != nil {
		t.Fatal(err)
	}
	if got := counts(t, s); got["chunks"] != 0 || got["embeddings"] != 0 || got["pages"] != 0 {
		t.Errorf("after deleting the document: %v", got)
	}
}

// BenchmarkPrepareDocument is the client-side cost of a save of 1000
// chunks: checks and hashes (no database).
func BenchmarkPrepareDocument(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	sp := newEmbeddingSpace(rng, 384)
	docs := benchDocs(rng, sp, "m", "p", 1000, 1000)
	b.ResetTimer()
	for range b.N {
		if _, err := prepareDocument(docs[0]); err != nil {
			b.Fatal(err)
		}
	}
}

func TestCheckVector(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	for _, c := range []struct {
		v  []float32
		ok bool
	}{
		{[]float32{1}, true},
		{[]float32{0, -0, math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32, 1e-40}, true},
		{[]float32{1, 2, 3}, true},
		{nil, false},
		{make([]float32, 16001), false},
		{[]float32{nan}, false},
		{[]float32{1, nan}, false},
		{[]float32{nan, 1}, false},
		{[]float32{1, 2, -inf}, false},
		{[]float32{inf, 2, 3}, false},
		{[]float32{1, 2, 3, 4, 5, 6, 7, float32(math.Copysign(math.NaN(), -1))}, false},
	} {
		err := checkVector(c.v)
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrInvalid)) {
			t.Errorf("%v: %v", c.v, err)
		}
	}
}
