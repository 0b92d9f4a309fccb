package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/extractor-dev/extractor/pipeline"
)

// storedRows is what the store holds of its documents, without the
// columns that say when or in which order rows were written.
func storedRows(t *testing.T, s *Store) map[string]string {
	t.Helper()
	out := map[string]string{}
	for table, q := range map[string]string{
		"documents":   "SELECT to_jsonb(t) - 'first_seen' - 'last_seen' FROM documents t ORDER BY id",
		"pages":       "SELECT to_jsonb(t) FROM pages t ORDER BY document_id, number",
		"chunks":      "SELECT to_jsonb(t) FROM chunks t ORDER BY id",
		"embeddings":  "SELECT to_jsonb(t) - 'created_at' FROM embeddings t ORDER BY chunk_id, model",
		"extractions": "SELECT to_jsonb(t) - 'id' - 'created_at' FROM extractions t ORDER BY document_id, extractor_version",
	} {
		rows, err := s.pool.Query(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			b.WriteString(v + "\n")
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		out[table] = b.String()
	}
	return out
}

// SaveDocuments leaves the rows a loop of SaveDocument leaves: for new
// documents (written together), documents saved again unchanged, changed
// ones, a document twice in a batch, and documents without chunks or an
// extraction.
func TestSaveDocumentsAsSaveDocument(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	one, many := testStore(t), testStore(t)
	doc := func(name string, fields bool) pipeline.StoredDocument {
		var f map[string]string
		if fields {
			f = map[string]string{"vendor_name": "ACME " + name, "total_amount": "25.50"}
		}
		return testStored(testDoc(name, invoiceLines, []string{"Page two of " + name, "Payment within 30 days"}), "model-a", 8, f)
	}
	var first []pipeline.StoredDocument
	for i := range 12 {
		first = append(first, doc(fmt.Sprintf("doc-%02d", i), i%3 != 0))
	}
	empty := pipeline.StoredDocument{RunID: "run-1", Document: testDoc("empty", nil)}
	first = append(first, empty)

	changed := doc("doc-03", true)
	changed.Document.Pages[1].Lines[0].Text = "Page two, reprinted"
	changed.Chunks = pipeline.Chunks(changed.Document, wordCount)
	changed.Embeddings = nil
	for _, c := range changed.Chunks {
		changed.Embeddings = append(changed.Embeddings, pipeline.Embedding{ChunkID: c.ID, Model: "model-a", Vector: seededVector("x"+c.ID, 8)})
	}
	secondModel := doc("doc-04", true)
	for _, c := range secondModel.Chunks {
		secondModel.Embeddings = append(secondModel.Embeddings, pipeline.Embedding{ChunkID: c.ID, Model: "model-b", Vector: seededVector("b"+c.ID, 5)})
	}
	second := []pipeline.StoredDocument{doc("doc-01", true), changed, doc("doc-new", true), secondModel, doc("doc-new", false), doc("doc-05", true)}

	for i, batch := range [][]pipeline.StoredDocument{first, second, second} {
		for _, d := range batch {
			if err := one.SaveDocument(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
		if err := many.SaveDocuments(ctx, batch); err != nil {
			t.Fatal(err)
		}
		a, b := storedRows(t, one), storedRows(t, many)
		for table := range a {
			if a[table] != b[table] {
				t.Errorf("batch %d: %s differ:\nSaveDocument:\n%.3000s\nSaveDocuments:\n%.3000s", i+1, table, a[table], b[table])
			}
		}
		if !strings.Contains(b["chunks"], "Payment within 30 days") || !strings.Contains(b["extractions"], "ACME doc-01") {
			t.Fatalf("batch %d: the rows compared are not the documents'", i+1)
		}
		if ca, cb := counts(t, one), counts(t, many); !maps.Equal(ca, cb) {
			t.Errorf("batch %d: row counts %v, %v", i+1, ca, cb)
		}
	}
	if c := counts(t, many); c["documents"] != 14 || c["extractions"] < 10 {
		t.Errorf("counts %v", c)
	}
}

// An invalid document fails the batch before anything is written; a
// failure inside the transaction leaves none of the new documents.
func TestSaveDocumentsAllOrNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := testStore(t)
	good := testStored(testDoc("good", invoiceLines), "model-a", 8, nil)
	bad := testStored(testDoc("bad", invoiceLines), "model-a", 8, nil)
	bad.Document.ID = "not-a-hash"
	err := s.SaveDocuments(ctx, []pipeline.StoredDocument{good, bad})
	if !errors.Is(err, pipeline.ErrInvalid) {
		t.Fatalf("error %v, want ErrInvalid", err)
	}
	// A chunk the database refuses (a NUL byte in text): the batch's
	// transaction fails after the documents' rows were created.
	broken := testStored(testDoc("broken", invoiceLines), "model-a", 8, nil)
	broken.Chunks[0].Text = "a\x00b"
	if err := s.SaveDocuments(ctx, []pipeline.StoredDocument{good, broken}); err == nil {
		t.Fatal("a chunk with a NUL byte was saved")
	}
	if c := counts(t, s); c["documents"] != 0 || c["chunks"] != 0 || c["pages"] != 0 {
		t.Errorf("a failed batch left rows: %v", c)
	}
	var n int
	if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM documents WHERE id = $1", docID("bad")).Scan(&n); err != nil || n != 0 {
		t.Errorf("the invalid document was written: %d %v", n, err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	other := testStored(testDoc("other", invoiceLines), "model-a", 8, nil)
	if err := s.SaveDocuments(cancelled, []pipeline.StoredDocument{other}); err == nil {
		t.Error("a cancelled save succeeded")
	}
	if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM documents WHERE id = $1", docID("other")).Scan(&n); err != nil || n != 0 {
		t.Errorf("a cancelled save left its document: %d %v", n, err)
	}
}

// Batches sharing documents, given in opposite orders, and single saves of
// the same documents, all at once: no deadlock, no error, each document
// once.
func TestSaveDocumentsConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := testStore(t)
	var docs []pipeline.StoredDocument
	for i := range 10 {
		docs = append(docs, testStored(testDoc(fmt.Sprint("shared-", i), invoiceLines), "m", 8, map[string]string{"vendor_name": "ACME"}))
	}
	reversed := slices.Clone(docs)
	slices.Reverse(reversed)
	errs := make(chan error, 8)
	for i := range 4 {
		batch := docs
		if i%2 == 1 {
			batch = reversed
		}
		go func() { errs <- s.SaveDocuments(ctx, batch) }()
		go func() { errs <- s.SaveDocument(ctx, docs[3*i]) }()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	got := counts(t, s)
	if got["documents"] != 10 || got["extractions"] != 10 || got["chunks"] != 10*len(docs[0].Chunks) || got["embeddings"] != 10*len(docs[0].Chunks) {
		t.Errorf("after concurrent saves: %v", got)
	}
}
