package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"time"
	"unsafe"

	"github.com/cespare/xxhash/v2"

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
// was, and adds an extraction row only when the versions that made the
// extraction differ (see the extractions table). A nil Extraction
// (extraction failed) still stores the document and its chunks.
//
// Bulk rows go in by COPY (binary vectors) straight into their tables,
// with no staging table and no upsert, because nothing is ever written
// over: the document's row lock serializes saves of one document (saves
// of different documents run in parallel, and chunk ids hash the document
// id, so they never collide), and the document row keeps a hash of what
// the last save wrote:
//
//   - a new document: its pages, chunks and vectors are copied in;
//   - the same pages and chunks as last time (content_hash): none of them
//     is touched, and of the vectors only those of a model whose vectors
//     differ from the stored ones (embedding_hashes) are replaced, or
//     those of a model the document has no vectors of yet are added;
//   - other pages or chunks (a new parser or chunker read it otherwise):
//     the document's pages, chunks and every model's vectors are deleted
//     and this save's copied in.
//
// So a re-save of an unchanged document writes one row (the document's)
// and, for a new extraction version, one extraction row; no dead tuples,
// no HNSW index work. A failed save leaves nothing behind, and
// SafeToRetry says when trying again may succeed.
func (s *Store) SaveDocument(ctx context.Context, d pipeline.StoredDocument) error {
	in, err := prepareDocument(d)
	if err != nil {
		return err
	}
	conn, err := s.acquire(ctx, false)
	if err != nil {
		return err
	}
	defer conn.Release()
	// The transaction is opened by the first batch and committed by the
	// last (two round trips fewer than Begin and Commit calls of their
	// own); until it is committed, a return rolls it back.
	tx := conn.Conn()
	committed := false
	defer rollbackUnlessCommitted(ctx, tx, &committed)
	id := in.doc.ID

	// Create the document row or lock the existing one. When another save
	// of the same new document is in flight, the INSERT waits for it and
	// then does nothing, and the SELECT reads what it committed.
	var inserted bool
	var storedContent string
	stored := map[string]string{}
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	// JIT compiling pays off for long analytic queries, not for these.
	b.Queue("SET LOCAL jit = off")
	b.Queue(`INSERT INTO documents (id, parser, size, pages, text_pages, status) VALUES ($1, '', 0, 0, 0, 'failed')
ON CONFLICT (id) DO NOTHING RETURNING true`, id).QueryRow(func(r pgx.Row) error {
		err := r.Scan(&inserted)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	})
	b.Queue("SELECT content_hash, embedding_hashes FROM documents WHERE id = $1 FOR UPDATE", id).QueryRow(func(r pgx.Row) error {
		return r.Scan(&storedContent, &stored)
	})
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("store: saving document %s: %w", short(id), err)
	}

	// What to write: chunks (all of a new document's; the new and changed
	// ones of a changed document) and vectors (of the models whose vectors
	// are new or differ from the stored ones).
	hashes := map[string]string{}
	for m, h := range stored {
		hashes[m] = h
	}
	var newChunks []pipeline.Chunk
	if inserted {
		newChunks = in.chunks
	}
	b = &pgx.Batch{}
	changed := !inserted && storedContent != in.contentHash
	if changed {
		keep, stale, err := keptChunks(ctx, tx, in)
		if err != nil {
			return err
		}
		for _, c := range in.chunks {
			if !keep[c.ID] {
				newChunks = append(newChunks, c)
			}
		}
		// Vectors first: they have no foreign key to cascade from.
		b.Queue("DELETE FROM embeddings WHERE chunk_id = ANY($1::text[])", stale)
		b.Queue("DELETE FROM chunks WHERE id = ANY($1::text[])", stale)
		b.Queue("DELETE FROM pages WHERE document_id = $1", id)
		// The kept chunks' vectors of models this save does not have stay,
		// but their hashes no longer describe the document's chunks.
		for m := range stored {
			hashes[m] = ""
		}
	}
	if inserted || changed {
		b.Queue(insertPages, id, in.pages)
	}
	var vecs []pipeline.Embedding
	for _, m := range in.models {
		h, had := stored[m.name]
		if !inserted && !changed && had && h == m.hash {
			continue // unchanged
		}
		if had {
			b.Queue("DELETE FROM embeddings WHERE model = $2 AND chunk_id IN (SELECT id FROM chunks WHERE document_id = $1)", id, m.name)
		}
		vecs = append(vecs, in.embeddings[m.first:m.first+m.n]...)
		hashes[m.name] = m.hash
	}
	if b.Len() > 0 {
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("store: saving document %s: %w", short(id), err)
		}
	}
	if len(newChunks) > 0 {
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"chunks"},
			[]string{"id", "document_id", "page", "first_line", "last_line", "text", "tokens"},
			pgx.CopyFromSlice(len(newChunks), func(i int) ([]any, error) {
				c := &newChunks[i]
				return []any{c.ID, id, c.Page, c.FirstLine, c.LastLine, c.Text, c.Tokens}, nil
			}))
		if err != nil {
			return fmt.Errorf("store: copying chunks of %s: %w", short(id), err)
		}
	}
	if len(vecs) > 0 {
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"embeddings"}, []string{"chunk_id", "model", "dims", "vec"},
			pgx.CopyFromSlice(len(vecs), func(i int) ([]any, error) {
				e := &vecs[i]
				return []any{e.ChunkID, e.Model, len(e.Vector), pgvector.NewVector(e.Vector)}, nil
			}))
		if err != nil {
			return fmt.Errorf("store: copying embeddings of %s: %w", short(id), err)
		}
	}

	hj, err := json.Marshal(hashes)
	if err != nil {
		return err
	}
	b = &pgx.Batch{}
	b.Queue(updateDocument, id, in.doc.Source, in.doc.Size, in.doc.Parser, len(in.doc.Pages), in.textPages,
		in.status, in.meta, in.warnings, d.RunID, in.contentHash, hj)
	if x := in.extraction; x != nil {
		b.Queue(insertExtraction, id, d.RunID, x.schemaName, x.schemaVersion, x.schemaHash, x.kind, x.model,
			x.prompt, x.extractor, x.validator, x.second, x.failed, x.json, in.versions)
	}
	b.Queue("COMMIT")
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("store: saving document %s: %w", short(id), err)
	}
	if tx.PgConn().TxStatus() != 'I' {
		return fmt.Errorf("store: saving document %s: the transaction did not commit", short(id))
	}
	committed = true
	return nil
}

// rollbackUnlessCommitted rolls back the transaction a save opened on tx
// (in its first batch) when the save returns without committing it. A
// connection that cannot even roll back is closed by the pool on release
// (it is not idle).
func rollbackUnlessCommitted(ctx context.Context, tx *pgx.Conn, committed *bool) {
	if *committed || tx.PgConn().TxStatus() == 'I' {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_, _ = tx.Exec(rctx, "ROLLBACK")
}

// keptChunks sorts the stored chunks of a changed document: those this
// save has unchanged (same id, hence same page and lines, same text and
// tokens) stay, with their vectors; the others are stale.
func keptChunks(ctx context.Context, tx *pgx.Conn, in *docInput) (keep map[string]bool, stale []string, err error) {
	rows, err := tx.Query(ctx, "SELECT id, text, tokens FROM chunks WHERE document_id = $1", in.doc.ID)
	if err != nil {
		return nil, nil, err
	}
	type chunk struct {
		text   string
		tokens int
	}
	storedChunks := map[string]chunk{}
	var cid string
	var c chunk
	if _, err := pgx.ForEachRow(rows, []any{&cid, &c.text, &c.tokens}, func() error {
		storedChunks[cid] = c
		return nil
	}); err != nil {
		return nil, nil, fmt.Errorf("store: reading the chunks of %s: %w", short(in.doc.ID), err)
	}
	keep = map[string]bool{}
	for _, c := range in.chunks {
		if o, ok := storedChunks[c.ID]; ok && o.text == c.Text && o.tokens == c.Tokens {
			keep[c.ID] = true
		}
	}
	for cid := range storedChunks {
		if !keep[cid] {
			stale = append(stale, cid)
		}
	}
	return keep, stale, nil
}

const updateDocument = `
UPDATE documents SET
    source = coalesce(nullif($2, ''), source),
    size = $3, parser = $4, pages = $5, text_pages = $6, status = $7, meta = $8, warnings = $9,
    last_run_id = coalesce(nullif($10, ''), last_run_id),
    content_hash = $11, embedding_hashes = $12, last_seen = now()
WHERE id = $1`

// Pages are few per document: one JSON array.
const insertPages = `
INSERT INTO pages (document_id, number, status, width, height, error, text, lines, ocr)
SELECT $1, r.number, r.status, r.width, r.height, r.error, r.text, r.lines, r.ocr
FROM jsonb_to_recordset($2::jsonb) AS r(number integer, status text, width double precision,
    height double precision, error text, text text, lines jsonb, ocr jsonb)`

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
	// contentHash hashes the pages and chunks.
	contentHash string
	// embeddings are grouped by model, in the order models first appear.
	embeddings []pipeline.Embedding
	models     []modelVectors
	extraction *extractionRow
	versions   []byte
}

// modelVectors are one model's vectors in docInput.embeddings: n of them
// from first, and a hash of them (with their chunk ids).
type modelVectors struct {
	name     string
	first, n int
	hash     string
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
	// OCR is how an OCR page was recognised (null for the others).
	OCR *pipeline.OCRInfo `json:"ocr"`
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
		case pipeline.PageText, pipeline.PageOCR, pipeline.PageNoText, pipeline.PageError:
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
			Error: p.Error, Text: p.Text(), Lines: lines, OCR: p.OCR})
		in.pageNumbers = append(in.pageNumbers, int32(p.Number))
		if st.HasText() {
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

	in.contentHash = contentHash(in.pages, in.chunks)

	// Embeddings: of this document's chunks only; one per chunk and model
	// (a later one replaces an earlier one), grouped by model. Each vector
	// is checked and hashed at once, while it is in the CPU's cache.
	type modelRows struct {
		rows   []pipeline.Embedding
		hashes []uint64
		at     []int32 // chunk index -> position in rows + 1 (0: none yet)
	}
	byModel := map[string]*modelRows{}
	var order []string
	for _, e := range d.Embeddings {
		ci, ok := chunkAt[e.ChunkID]
		if !ok {
			return nil, invalid("document %s: embedding of chunk %q, which is not among its chunks", short(doc.ID), e.ChunkID)
		}
		mr := byModel[e.Model]
		if mr == nil {
			if err := checkModel(e.Model); err != nil {
				return nil, err
			}
			mr = &modelRows{at: make([]int32, len(in.chunks))}
			byModel[e.Model] = mr
			order = append(order, e.Model)
		}
		if err := checkVector(e.Vector); err != nil {
			return nil, fmt.Errorf("embedding of chunk %s by %s: %w", e.ChunkID, e.Model, err)
		}
		h := vectorHash(e)
		if i := mr.at[ci]; i > 0 {
			mr.rows[i-1], mr.hashes[i-1] = e, h
			continue
		}
		mr.rows = append(mr.rows, e)
		mr.hashes = append(mr.hashes, h)
		mr.at[ci] = int32(len(mr.rows))
	}
	for _, m := range order {
		mr := byModel[m]
		in.models = append(in.models, modelVectors{name: m, first: len(in.embeddings), n: len(mr.rows), hash: hashesHash(mr.hashes)})
		in.embeddings = append(in.embeddings, mr.rows...)
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

// contentHash hashes what a save writes of pages and chunks (xxhash64,
// like vectorsHash).
func contentHash(pages []byte, chunks []pipeline.Chunk) string {
	h := xxhash.New()
	var buf []byte
	buf = binary.AppendUvarint(buf, uint64(len(pages)))
	h.Write(buf)
	h.Write(pages)
	for _, c := range chunks {
		buf = buf[:0]
		for _, s := range []string{c.ID, c.Text} {
			buf = binary.AppendUvarint(buf, uint64(len(s)))
			buf = append(buf, s...)
		}
		for _, n := range []int{c.Page, c.FirstLine, c.LastLine, c.Tokens} {
			buf = binary.AppendVarint(buf, int64(n))
		}
		h.Write(buf)
	}
	return "xxh64:" + strconv.FormatUint(h.Sum64(), 16)
}

// vectorHash hashes a vector with its chunk id: xxhash64 (a change
// detector, not a cryptographic hash) over the vector's bytes in the
// machine's byte order, so that hashing costs a few percent of copying. A
// machine of the other byte order would see the vectors as changed once,
// and write them again. hashesHash combines a model's vector hashes, in
// order, into the hash stored with the document.
func vectorHash(e pipeline.Embedding) uint64 {
	var h xxhash.Digest
	h.Reset()
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(e.ChunkID)))
	h.Write(n[:])
	h.WriteString(e.ChunkID)
	if len(e.Vector) > 0 {
		h.Write(unsafe.Slice((*byte)(unsafe.Pointer(&e.Vector[0])), 4*len(e.Vector)))
	}
	return h.Sum64()
}

func hashesHash(hs []uint64) string {
	b := make([]byte, 0, 8*len(hs))
	for _, h := range hs {
		b = binary.LittleEndian.AppendUint64(b, h)
	}
	return "xxh64:" + strconv.FormatUint(xxhash.Sum64(b), 16)
}

// checkVector refuses what pgvector would refuse, with a clearer error.
func checkVector(v []float32) error {
	if len(v) == 0 || len(v) > 16000 {
		return invalid("a vector has %d dimensions (1 to 16000)", len(v))
	}
	// NaN and ±Inf are the floats whose exponent bits are all ones: adding
	// one to such an exponent carries into bit 31. Branch-free, two floats
	// per 64-bit word (the carry of the low one stops at bit 31), as this
	// runs over every float of every vector.
	words := unsafe.Slice((*uint64)(unsafe.Pointer(&v[0])), len(v)/2)
	var carry64 uint64
	for _, w := range words {
		carry64 |= w&0x7f8000007f800000 + 0x0080000000800000
	}
	carry := uint32(carry64) | uint32(carry64>>32)
	if len(v)%2 == 1 {
		carry |= math.Float32bits(v[len(v)-1])&0x7f800000 + 0x00800000
	}
	if carry&0x80000000 != 0 {
		for i, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return invalid("a vector has %v at %d", x, i)
			}
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
		case p.Status.HasText() || (p.Status == "" && len(p.Lines) > 0):
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
