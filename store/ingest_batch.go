package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"

	"github.com/extractor-dev/extractor/pipeline"
)

// SaveDocuments stores several documents as SaveDocument stores each, and
// leaves the same rows. The documents new to the store, the common case of
// a batch, are written together: one transaction, one statement creating
// their rows, one COPY of all their chunks and one of all their vectors
// (SaveDocument pays a transaction and its round trips per document,
// which dominates for small documents). Documents already stored go
// through SaveDocument afterwards, one by one, as their rows must be
// compared with what they were.
//
// The new documents' rows are created in id order, so two batches that
// share documents lock them in the same order and never deadlock; a
// document a concurrent save creates first counts as already stored. An
// error leaves none of the new documents written; documents saved one by
// one before the error stay saved.
func (s *Store) SaveDocuments(ctx context.Context, docs []pipeline.StoredDocument) error {
	ins := make([]*docInput, 0, len(docs))
	var later []pipeline.StoredDocument // saved one by one
	seen := make(map[string]bool, len(docs))
	for _, d := range docs {
		in, err := prepareDocument(d)
		if err != nil {
			return err
		}
		if seen[in.doc.ID] {
			// Twice in the batch: the later save is SaveDocument's, as
			// it would be in a loop.
			later = append(later, d)
			continue
		}
		seen[in.doc.ID] = true
		ins = append(ins, in)
	}
	slices.SortFunc(ins, func(a, b *docInput) int {
		switch {
		case a.doc.ID < b.doc.ID:
			return -1
		case a.doc.ID > b.doc.ID:
			return 1
		}
		return 0
	})
	byID := make(map[string]pipeline.StoredDocument, len(docs))
	for _, d := range docs {
		if _, ok := byID[d.Document.ID]; !ok {
			byID[d.Document.ID] = d
		}
	}
	stored, err := s.saveNew(ctx, ins, byID)
	if err != nil {
		return err
	}
	for _, in := range ins {
		if stored[in.doc.ID] {
			if err := s.SaveDocument(ctx, byID[in.doc.ID]); err != nil {
				return err
			}
		}
	}
	for _, d := range later {
		if err := s.SaveDocument(ctx, d); err != nil {
			return err
		}
	}
	return nil
}

// saveNew writes, in one transaction, the documents of ins that are not
// stored yet, and returns the ids of those that were (left to the caller).
func (s *Store) saveNew(ctx context.Context, ins []*docInput, byID map[string]pipeline.StoredDocument) (stored map[string]bool, err error) {
	if len(ins) == 0 {
		return nil, nil
	}
	conn, err := s.acquire(ctx, false)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	tx := conn.Conn()
	committed := false
	defer rollbackUnlessCommitted(ctx, tx, &committed)
	ids := make([]string, len(ins))
	for i, in := range ins {
		ids[i] = in.doc.ID
	}
	created := map[string]bool{}
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue("SET LOCAL jit = off")
	// WITH ORDINALITY and ORDER BY: the rows are created (and locked) in
	// id order.
	b.Queue(`INSERT INTO documents (id, parser, size, pages, text_pages, status)
SELECT id, '', 0, 0, 0, 'failed' FROM unnest($1::text[]) WITH ORDINALITY AS u(id, n) ORDER BY n
ON CONFLICT (id) DO NOTHING RETURNING id`, ids).Query(func(rows pgx.Rows) error {
		var id string
		_, err := pgx.ForEachRow(rows, []any{&id}, func() error {
			created[id] = true
			return nil
		})
		return err
	})
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("store: saving %d documents: %w", len(ins), err)
	}
	stored = map[string]bool{}
	var news []*docInput
	for _, in := range ins {
		if created[in.doc.ID] {
			news = append(news, in)
		} else {
			stored[in.doc.ID] = true
		}
	}
	if len(news) == 0 {
		if _, err := tx.Exec(ctx, "COMMIT"); err != nil {
			return nil, err
		}
		committed = true
		return stored, nil
	}

	b = &pgx.Batch{}
	var chunks, vecs int
	for _, in := range news {
		b.Queue(insertPages, in.doc.ID, in.pages)
		chunks += len(in.chunks)
		vecs += len(in.embeddings)
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("store: saving the pages of %d documents: %w", len(news), err)
	}
	if chunks > 0 {
		rows := make([][]any, 0, chunks)
		for _, in := range news {
			for i := range in.chunks {
				c := &in.chunks[i]
				rows = append(rows, []any{c.ID, in.doc.ID, c.Page, c.FirstLine, c.LastLine, c.Text, c.Tokens})
			}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"chunks"},
			[]string{"id", "document_id", "page", "first_line", "last_line", "text", "tokens"}, pgx.CopyFromRows(rows)); err != nil {
			return nil, fmt.Errorf("store: copying the chunks of %d documents: %w", len(news), err)
		}
	}
	if vecs > 0 {
		rows := make([][]any, 0, vecs)
		for _, in := range news {
			for i := range in.embeddings {
				e := &in.embeddings[i]
				rows = append(rows, []any{e.ChunkID, e.Model, len(e.Vector), pgvector.NewVector(e.Vector)})
			}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"embeddings"}, []string{"chunk_id", "model", "dims", "vec"}, pgx.CopyFromRows(rows)); err != nil {
			return nil, fmt.Errorf("store: copying the embeddings of %d documents: %w", len(news), err)
		}
	}

	b = &pgx.Batch{}
	for _, in := range news {
		hashes := make(map[string]string, len(in.models))
		for _, m := range in.models {
			hashes[m.name] = m.hash
		}
		hj, err := json.Marshal(hashes)
		if err != nil {
			return nil, err
		}
		d := byID[in.doc.ID]
		b.Queue(updateDocument, in.doc.ID, in.doc.Source, in.doc.Size, in.doc.Parser, len(in.doc.Pages), in.textPages,
			in.status, in.meta, in.warnings, d.RunID, in.contentHash, hj)
		if x := in.extraction; x != nil {
			b.Queue(insertExtraction, in.doc.ID, d.RunID, x.schemaName, x.schemaVersion, x.schemaHash, x.kind, x.model,
				x.prompt, x.extractor, x.validator, x.second, x.failed, x.json, in.versions)
		}
	}
	b.Queue("COMMIT")
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("store: saving %d documents: %w", len(news), err)
	}
	if tx.PgConn().TxStatus() != 'I' {
		return nil, errors.New("store: saving documents: the transaction did not commit")
	}
	committed = true
	return stored, nil
}
