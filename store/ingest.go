package store

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"regexp"

	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"

	"github.com/extractor-dev/extractor/pipeline"
)

// Document statuses, from what the parser could read of the pages.
const (
	DocumentOK      = "ok"      // every page has text (or no text by nature)
	DocumentPartial = "partial" // some pages could not be read
	DocumentNoText  = "no_text" // no page has a text layer: a candidate for OCR
	DocumentFailed  = "failed"  // nothing could be read
)

// VersionSchema is the key of pipeline.StoredDocument.Versions under which
// a caller may give the schema's content hash (pipeline.Schema.Hash).
// Without it, the schema's name and version stand for its content.
const VersionSchema = "schema"

var docIDPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// SaveDocument stores a document with its pages, chunks, embeddings and
// extraction, in one transaction. It is idempotent: saving the same
// StoredDocument again changes no row count (the document's last_seen
// moves). Saving it again after a change replaces what the document
// was (pages and chunks no longer there are deleted, with their
// embeddings; embeddings of a chunk whose text changed are dropped unless
// given anew) and adds an extraction row only when the versions that made
// the extraction differ (see the extractions table). A nil Extraction
// (extraction failed) still stores the document and its chunks.
//
// Chunks and embeddings are bulk rows: they are copied (COPY, binary
// vectors) into the session's staging table, then upserted with
// INSERT ... SELECT ... ON CONFLICT. Rows equal to the stored ones are not
// rewritten, so a re-save creates no dead tuples and no HNSW index work.
// Saves of one document are serialized by its row lock; saves of
// different documents run in parallel. A failed save leaves nothing
// behind, and SafeToRetry says when trying again may succeed.
func (s *Store) SaveDocument(ctx context.Context, d pipeline.StoredDocument) error {
	in, err := prepareDocument(d)
	if err != nil {
		return err
	}
	conn, err := s.acquire(ctx, true)
	if err != nil {
		return err
	}
	defer conn.Release()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)

	b := &pgx.Batch{}
	// JIT compiling pays off for long analytic queries, not for these:
	// the per-row subqueries make their estimated cost high enough to
	// trigger it, and compiling took longer than running (0.2 s a
	// statement for 20 000 rows).
	b.Queue("SET LOCAL jit = off")
	b.Queue(upsertDocument, in.doc.ID, in.doc.Source, in.doc.Size, in.doc.Parser, len(in.doc.Pages), in.textPages,
		in.status, in.meta, in.warnings, d.RunID)
	b.Queue(upsertPages, in.doc.ID, in.pages)
	b.Queue(deleteStalePages, in.doc.ID, in.pageNumbers)
	// The document row is locked now (by the upsert) until commit, so
	// saves of one document are serialized and what this says holds.
	var stored bool
	b.Queue("SELECT EXISTS (SELECT 1 FROM chunks WHERE document_id = $1)", in.doc.ID).QueryRow(func(r pgx.Row) error {
		return r.Scan(&stored)
	})
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("store: saving document %s: %w", short(in.doc.ID), err)
	}

	if len(in.chunks) > 0 {
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"pg_temp", "extractor_stage"},
			[]string{"chunk_id", "document_id", "page", "first_line", "last_line", "text", "tokens"},
			pgx.CopyFromSlice(len(in.chunks), func(i int) ([]any, error) {
				c := &in.chunks[i]
				return []any{c.ID, in.doc.ID, c.Page, c.FirstLine, c.LastLine, c.Text, c.Tokens}, nil
			}))
		if err != nil {
			return fmt.Errorf("store: copying chunks of %s: %w", short(in.doc.ID), err)
		}
	}
	if len(in.embeddings) > 0 {
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"pg_temp", "extractor_stage"},
			[]string{"chunk_id", "model", "dims", "vec"},
			pgx.CopyFromSlice(len(in.embeddings), func(i int) ([]any, error) {
				e := &in.embeddings[i]
				return []any{e.ChunkID, e.Model, len(e.Vector), pgvector.NewVector(e.Vector)}, nil
			}))
		if err != nil {
			return fmt.Errorf("store: copying embeddings of %s: %w", short(in.doc.ID), err)
		}
	}

	b = &pgx.Batch{}
	if stored {
		// Saved before: compare with what is there.
		if len(in.chunks) > 0 {
			b.Queue(deleteChangedEmbeddings, in.doc.ID)
			b.Queue(upsertChunks)
		}
		b.Queue(deleteStaleChunks, in.doc.ID)
		if len(in.embeddings) > 0 {
			b.Queue(upsertEmbeddings)
		}
	} else {
		// A document without chunks yet: nothing to compare or delete.
		if len(in.chunks) > 0 {
			b.Queue(insertChunks)
		}
		if len(in.embeddings) > 0 {
			b.Queue(insertEmbeddings)
		}
	}
	if x := in.extraction; x != nil {
		b.Queue(insertExtraction, in.doc.ID, d.RunID, x.schemaName, x.schemaVersion, x.schemaHash, x.kind, x.model,
			x.prompt, x.extractor, x.validator, x.second, x.failed, x.json, in.versions)
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("store: saving chunks of %s: %w", short(in.doc.ID), err)
	}
	return tx.Commit(ctx)
}

const upsertDocument = `
INSERT INTO documents AS d (id, source, size, parser, pages, text_pages, status, meta, warnings, last_run_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (id) DO UPDATE SET
    source = coalesce(nullif(excluded.source, ''), d.source),
    size = excluded.size, parser = excluded.parser, pages = excluded.pages,
    text_pages = excluded.text_pages, status = excluded.status, meta = excluded.meta,
    warnings = excluded.warnings,
    last_run_id = coalesce(nullif(excluded.last_run_id, ''), d.last_run_id),
    last_seen = now()`

// Pages are few per document: one JSON array, no staging.
const upsertPages = `
INSERT INTO pages AS p (document_id, number, status, width, height, error, text, lines)
SELECT $1, r.number, r.status, r.width, r.height, r.error, r.text, r.lines
FROM jsonb_to_recordset($2::jsonb) AS r(number integer, status text, width double precision,
    height double precision, error text, text text, lines jsonb)
ON CONFLICT (document_id, number) DO UPDATE SET
    status = excluded.status, width = excluded.width, height = excluded.height,
    error = excluded.error, text = excluded.text, lines = excluded.lines
WHERE (p.status, p.width, p.height, p.error, p.text, p.lines)
    IS DISTINCT FROM (excluded.status, excluded.width, excluded.height, excluded.error, excluded.text, excluded.lines)`

const deleteStalePages = `DELETE FROM pages WHERE document_id = $1 AND NOT (number = ANY($2::integer[]))`

// An embedding describes its chunk's text: when the text changes (a new
// parser read the same lines differently), the old vectors go. The query
// starts from the document's chunks (an index scan), never from a join of
// whole tables: the staging table has no statistics to plan by.
const deleteChangedEmbeddings = `
DELETE FROM embeddings e
USING chunks c
WHERE c.document_id = $1 AND e.chunk_id = c.id
  AND EXISTS (SELECT 1 FROM pg_temp.extractor_stage s
              WHERE s.model IS NULL AND s.chunk_id = c.id AND s.text IS DISTINCT FROM c.text)`

// The upserts of chunks and embeddings. For a document saved before, rows
// equal to the stored ones are left out first: ON CONFLICT DO UPDATE locks
// (and so writes) a conflicting row even when its WHERE finds nothing to
// change. That comparison is a scalar subquery run per staged row through
// the primary key: as a NOT EXISTS the planner, with no statistics on the
// staging table, may hash the whole target table instead. A document
// saved for the first time skips it (there is nothing to compare with);
// its ON CONFLICT then never fires, as chunk ids hash the document id.
const (
	chunkColumns = `
INSERT INTO chunks AS c (id, document_id, page, first_line, last_line, text, tokens)
SELECT s.chunk_id, s.document_id, s.page, s.first_line, s.last_line, s.text, s.tokens
FROM pg_temp.extractor_stage s
WHERE s.model IS NULL`
	chunkUnchanged = `
  AND NOT coalesce((SELECT (o.document_id, o.page, o.first_line, o.last_line, o.text, o.tokens)
          IS NOT DISTINCT FROM (s.document_id, s.page, s.first_line, s.last_line, s.text, s.tokens)
      FROM chunks o WHERE o.id = s.chunk_id), false)`
	chunkConflict = `
ON CONFLICT (id) DO UPDATE SET
    document_id = excluded.document_id, page = excluded.page, first_line = excluded.first_line,
    last_line = excluded.last_line, text = excluded.text, tokens = excluded.tokens
WHERE (c.document_id, c.page, c.first_line, c.last_line, c.text, c.tokens)
    IS DISTINCT FROM (excluded.document_id, excluded.page, excluded.first_line, excluded.last_line, excluded.text, excluded.tokens)`

	insertChunks = chunkColumns + chunkConflict
	upsertChunks = chunkColumns + chunkUnchanged + chunkConflict

	embeddingColumns = `
INSERT INTO embeddings AS e (chunk_id, model, dims, vec)
SELECT s.chunk_id, s.model, s.dims, s.vec
FROM pg_temp.extractor_stage s
WHERE s.model IS NOT NULL`
	embeddingUnchanged = `
  AND NOT coalesce((SELECT o.dims = s.dims AND o.vec = s.vec
      FROM embeddings o WHERE o.chunk_id = s.chunk_id AND o.model = s.model), false)`
	embeddingConflict = `
ON CONFLICT (chunk_id, model) DO UPDATE SET dims = excluded.dims, vec = excluded.vec, created_at = now()
WHERE (e.dims, e.vec) IS DISTINCT FROM (excluded.dims, excluded.vec)`

	insertEmbeddings = embeddingColumns + embeddingConflict
	upsertEmbeddings = embeddingColumns + embeddingUnchanged + embeddingConflict
)

// Chunks of the document that this save does not have (the staging table
// holds all of this save's chunks, and only them).
const deleteStaleChunks = `
DELETE FROM chunks c
WHERE c.document_id = $1
  AND NOT EXISTS (SELECT 1 FROM pg_temp.extractor_stage s WHERE s.model IS NULL AND s.chunk_id = c.id)`

const insertExtraction = `
INSERT INTO extractions (document_id, run_id, schema_name, schema_version, schema_hash, extractor_kind,
    extractor_model, prompt_version, extractor_version, validator_version, second_version, failed,
    extraction, versions)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
ON CONFLICT ON CONSTRAINT extractions_version_key DO NOTHING`

// docInput is a StoredDocument checked and encoded for the statements.
type docInput struct {
	doc         pipeline.Document
	status      string
	textPages   int
	meta        []byte
	warnings    []byte
	pages       []byte
	pageNumbers []int32
	chunks      []pipeline.Chunk
	embeddings  []pipeline.Embedding
	extraction  *extractionRow
	versions    []byte
}

type extractionRow struct {
	schemaName, schemaVersion, schemaHash string
	kind, model, prompt                   string
	extractor, validator, second          string
	failed                                bool
	json                                  []byte
}

// pageRow is a page as upsertPages reads it.
type pageRow struct {
	Number int             `json:"number"`
	Status string          `json:"status"`
	Width  float64         `json:"width"`
	Height float64         `json:"height"`
	Error  string          `json:"error"`
	Text   string          `json:"text"`
	Lines  []pipeline.Line `json:"lines"`
}

// prepareDocument checks a StoredDocument and encodes what goes in JSON:
// invalid input fails here, before any round trip.
func prepareDocument(d pipeline.StoredDocument) (*docInput, error) {
	doc := d.Document
	if !docIDPattern.MatchString(doc.ID) {
		return nil, invalid("document id %q: want the lowercase hex SHA-256 of the file", doc.ID)
	}
	if doc.Size < 0 {
		return nil, invalid("document %s: negative size", short(doc.ID))
	}
	in := &docInput{doc: doc, status: documentStatus(doc)}
	var err error
	meta := doc.Meta
	if meta == nil {
		meta = map[string]string{}
	}
	if in.meta, err = json.Marshal(meta); err != nil {
		return nil, err
	}
	warnings := doc.Warnings
	if warnings == nil {
		warnings = []string{}
	}
	if in.warnings, err = json.Marshal(warnings); err != nil {
		return nil, err
	}

	rows := make([]pageRow, 0, len(doc.Pages))
	seenPage := map[int]bool{}
	for i, p := range doc.Pages {
		if p.Number < 1 || seenPage[p.Number] {
			return nil, invalid("document %s: page %d (at %d) is not a new page number >= 1", short(doc.ID), p.Number, i)
		}
		seenPage[p.Number] = true
		st := p.Status
		switch st {
		case pipeline.PageText, pipeline.PageNoText, pipeline.PageError:
		case "":
			st = pipeline.PageNoText
			if len(p.Lines) > 0 {
				st = pipeline.PageText
			}
		default:
			return nil, invalid("document %s: page %d has status %q", short(doc.ID), p.Number, p.Status)
		}
		lines := p.Lines
		if lines == nil {
			lines = []pipeline.Line{}
		}
		rows = append(rows, pageRow{Number: p.Number, Status: string(st), Width: p.Width, Height: p.Height,
			Error: p.Error, Text: p.Text(), Lines: lines})
		in.pageNumbers = append(in.pageNumbers, int32(p.Number))
		if st == pipeline.PageText {
			in.textPages++
		}
	}
	if in.pages, err = json.Marshal(rows); err != nil {
		return nil, invalid("document %s: pages: %v", short(doc.ID), err)
	}
	if in.pageNumbers == nil {
		in.pageNumbers = []int32{}
	}

	// Chunks: a later duplicate id replaces an earlier one (one row each).
	chunkAt := make(map[string]int, len(d.Chunks))
	for _, c := range d.Chunks {
		if c.ID == "" {
			return nil, invalid("document %s: a chunk has no id", short(doc.ID))
		}
		if c.DocumentID != "" && c.DocumentID != doc.ID {
			return nil, invalid("chunk %s belongs to document %s, not %s", c.ID, short(c.DocumentID), short(doc.ID))
		}
		if c.Page < 1 || c.FirstLine < 0 || c.LastLine < c.FirstLine {
			return nil, invalid("chunk %s: page %d lines %d-%d", c.ID, c.Page, c.FirstLine, c.LastLine)
		}
		c.DocumentID = doc.ID
		if i, ok := chunkAt[c.ID]; ok {
			in.chunks[i] = c
			continue
		}
		chunkAt[c.ID] = len(in.chunks)
		in.chunks = append(in.chunks, c)
	}

	// Embeddings: of this document's chunks only; one per chunk and model.
	embAt := make(map[[2]string]int, len(d.Embeddings))
	checked := map[string]bool{}
	for _, e := range d.Embeddings {
		if _, ok := chunkAt[e.ChunkID]; !ok {
			return nil, invalid("document %s: embedding of chunk %q, which is not among its chunks", short(doc.ID), e.ChunkID)
		}
		if !checked[e.Model] {
			if err := checkModel(e.Model); err != nil {
				return nil, err
			}
			checked[e.Model] = true
		}
		if err := checkVector(e.Vector); err != nil {
			return nil, fmt.Errorf("embedding of chunk %s by %s: %w", e.ChunkID, e.Model, err)
		}
		k := [2]string{e.ChunkID, e.Model}
		if i, ok := embAt[k]; ok {
			in.embeddings[i] = e
			continue
		}
		embAt[k] = len(in.embeddings)
		in.embeddings = append(in.embeddings, e)
	}

	versions := d.Versions
	if versions == nil {
		versions = map[string]string{}
	}
	if in.versions, err = json.Marshal(versions); err != nil {
		return nil, err
	}
	if x := d.Extraction; x != nil {
		if x.DocumentID != "" && x.DocumentID != doc.ID {
			return nil, invalid("extraction of document %s saved with document %s", short(x.DocumentID), short(doc.ID))
		}
		row := &extractionRow{
			schemaName: x.Schema.Name, schemaVersion: x.Schema.Version, schemaHash: versions[VersionSchema],
			kind: x.Extractor.Kind, model: x.Extractor.Model, prompt: x.Extractor.PromptVersion,
			extractor: versions[pipeline.StepExtract], validator: versions[pipeline.StepValidate],
			second: versions[pipeline.StepSecond], failed: x.Failed(),
		}
		if row.schemaName == "" {
			return nil, invalid("document %s: the extraction names no schema", short(doc.ID))
		}
		if row.schemaHash == "" {
			row.schemaHash = pipeline.Hash(x.Schema.Name, x.Schema.Version)
		}
		if row.extractor == "" {
			// Not made by the runner: the extractor's own description.
			row.extractor = fmt.Sprintf("%s/%s model=%s prompt=%s", x.Extractor.Kind, x.Extractor.Version,
				x.Extractor.Model, x.Extractor.PromptVersion)
		}
		if x.DocumentID == "" {
			cp := *x
			cp.DocumentID = doc.ID
			x = &cp
		}
		if row.json, err = json.Marshal(x); err != nil {
			return nil, invalid("document %s: extraction: %v", short(doc.ID), err)
		}
		in.extraction = row
	}
	return in, nil
}

// checkVector refuses what pgvector would refuse, with a clearer error.
func checkVector(v []float32) error {
	if len(v) == 0 || len(v) > 16000 {
		return invalid("a vector has %d dimensions (1 to 16000)", len(v))
	}
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return invalid("a vector has %v at %d", x, i)
		}
	}
	return nil
}

// documentStatus sums up what the parser read.
func documentStatus(doc pipeline.Document) string {
	if len(doc.Pages) == 0 {
		return DocumentFailed
	}
	text, errs := 0, 0
	for _, p := range doc.Pages {
		switch {
		case p.Status == pipeline.PageError:
			errs++
		case p.Status == pipeline.PageText || (p.Status == "" && len(p.Lines) > 0):
			text++
		}
	}
	switch {
	case errs == len(doc.Pages):
		return DocumentFailed
	case text == 0:
		return DocumentNoText
	case errs > 0:
		return DocumentPartial
	}
	return DocumentOK
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
