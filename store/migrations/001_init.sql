-- 001: the first schema of the store: documents, their pages and chunks,
-- chunk embeddings (several models side by side), extractions, and the
-- lineage of runs (manifests, step records, spans) with the step cache.
--
-- Applied by store.Migrate (jackc/tern) in one transaction. Tables are
-- created unqualified, in the first schema of the connection's search_path.

-- pgvector. Usually created already (by a superuser, in public); creating
-- it needs the right to do so.
CREATE EXTENSION IF NOT EXISTS vector;

-- A document is a file, identified by the SHA-256 of its bytes: the same
-- bytes under another name are the same document (source is the latest
-- name it was seen under).
CREATE TABLE documents (
    id          text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{64}$'),
    source      text        NOT NULL DEFAULT '',
    size        bigint      NOT NULL CHECK (size >= 0),
    -- parser is the parser's version ("pdf/1"): what made pages and chunks.
    parser      text        NOT NULL,
    pages       integer     NOT NULL CHECK (pages >= 0),
    text_pages  integer     NOT NULL CHECK (text_pages >= 0),
    -- ok: every page has text; partial: some pages failed; no_text: no
    -- page has a text layer (OCR candidate); failed: nothing was read.
    status      text        NOT NULL CHECK (status IN ('ok', 'partial', 'no_text', 'failed')),
    meta        jsonb       NOT NULL DEFAULT '{}',
    warnings    jsonb       NOT NULL DEFAULT '[]',
    last_run_id text        NOT NULL DEFAULT '',
    -- What the last save wrote, to skip what has not changed: a hash of
    -- the pages and chunks (content_hash), and per embedding model a hash
    -- of its vectors of those chunks (embedding_hashes: model -> hash).
    content_hash     text  NOT NULL DEFAULT '',
    embedding_hashes jsonb NOT NULL DEFAULT '{}',
    first_seen  timestamptz NOT NULL DEFAULT now(),
    last_seen   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE pages (
    document_id text    NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    number      integer NOT NULL CHECK (number >= 1),
    status      text    NOT NULL CHECK (status IN ('text', 'no_text', 'error')),
    width       double precision NOT NULL DEFAULT 0,
    height      double precision NOT NULL DEFAULT 0,
    error       text    NOT NULL DEFAULT '',
    text        text    NOT NULL DEFAULT '',
    -- lines with their boxes, as pipeline.Line: to show evidence in place.
    lines       jsonb   NOT NULL DEFAULT '[]',
    PRIMARY KEY (document_id, number)
);

-- The full-text configuration of chunks: 'simple' (lower-case, no
-- stemming) minus the stop words of English, German and French. Invoices
-- come in many languages (often several in one document) and are full of
-- names, numbers and ids that a language's stemmer would mangle ("GmbH",
-- "INV-2024-0042"); one language's rules would be wrong for all the
-- others, and a per-row language would need detection we do not have. But
-- their function words ("the", "der", "de") match nearly every chunk and,
-- as ts_rank has no notion of how rare a word is, would outweigh the words
-- that matter in a question. Each stop word dictionary drops its stop
-- words and passes every other word on (ACCEPT = false) to 'simple'.
CREATE TEXT SEARCH DICTIONARY extractor_stop_en (TEMPLATE = pg_catalog.simple, STOPWORDS = english, ACCEPT = false);
CREATE TEXT SEARCH DICTIONARY extractor_stop_de (TEMPLATE = pg_catalog.simple, STOPWORDS = german, ACCEPT = false);
CREATE TEXT SEARCH DICTIONARY extractor_stop_fr (TEMPLATE = pg_catalog.simple, STOPWORDS = french, ACCEPT = false);
CREATE TEXT SEARCH CONFIGURATION extractor_text (COPY = pg_catalog.simple);
ALTER TEXT SEARCH CONFIGURATION extractor_text
    ALTER MAPPING FOR asciiword, word, asciihword, hword, hword_asciipart, hword_part
    WITH extractor_stop_en, extractor_stop_de, extractor_stop_fr, pg_catalog.simple;

CREATE TABLE chunks (
    -- the stable chunk id (pipeline.ChunkID): a hash of the document id,
    -- page and line span.
    id          text    PRIMARY KEY,
    document_id text    NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    page        integer NOT NULL CHECK (page >= 1),
    first_line  integer NOT NULL CHECK (first_line >= 0),
    last_line   integer NOT NULL CHECK (last_line >= first_line),
    text        text    NOT NULL,
    tokens      integer NOT NULL DEFAULT 0,
    -- extractor_text (above) lower-cases and splits words and drops
    -- English, German and French stop words, but does not stem. Queries
    -- use it too, so both sides agree.
    tsv         tsvector GENERATED ALWAYS AS (to_tsvector('extractor_text', text)) STORED
);
CREATE INDEX chunks_document_id_idx ON chunks (document_id);
CREATE INDEX chunks_tsv_idx ON chunks USING gin (tsv);

-- One vector per chunk and model. vec is an untyped vector so that models
-- of different dimensions live side by side; dims says which, and HNSW
-- indexes are per model and dimension: partial expression indexes on
-- (vec::vector(dims)) WHERE model = ... AND dims = ..., made by
-- store.EnsureIndex (pgvector indexes only vectors of one dimension).
--
-- chunk_id has no foreign key to chunks: its per-row check (a lookup and
-- a row lock on the chunk) was measured to double the cost of inserting
-- vectors, the bulk of all ingest. SaveDocument writes a document's
-- vectors only for chunks it writes or holds in the same transaction,
-- under the document's row lock, and deletes a chunk's vectors before
-- the chunk; the trigger below does the same for chunks deleted any other
-- way (a document deleted, cascading to its chunks), one statement at a
-- time. Search joins chunks, so an orphan vector could never be returned.
CREATE TABLE embeddings (
    chunk_id   text        NOT NULL,
    model      text        NOT NULL,
    dims       integer     NOT NULL CHECK (dims BETWEEN 1 AND 16000),
    vec        vector      NOT NULL CHECK (vector_dims(vec) = dims),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (chunk_id, model)
);

-- SET search_path FROM CURRENT: the function finds the embeddings table
-- of the schema it was created in, whatever the deleting session's path.
CREATE FUNCTION extractor_delete_chunk_embeddings() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    DELETE FROM embeddings e USING gone_chunks g WHERE e.chunk_id = g.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER chunks_delete_embeddings
    AFTER DELETE ON chunks
    REFERENCING OLD TABLE AS gone_chunks
    FOR EACH STATEMENT EXECUTE FUNCTION extractor_delete_chunk_embeddings();

-- Runs: the pipeline.Run manifest, its main facts as columns and the whole
-- of it as manifest.
CREATE TABLE runs (
    id            text        PRIMARY KEY,
    started       timestamptz NOT NULL,
    finished      timestamptz,
    status        text        NOT NULL,
    documents     integer     NOT NULL DEFAULT 0,
    ok            integer     NOT NULL DEFAULT 0,
    failed        integer     NOT NULL DEFAULT 0,
    input_tokens  bigint      NOT NULL DEFAULT 0,
    output_tokens bigint      NOT NULL DEFAULT 0,
    cost_usd      double precision NOT NULL DEFAULT 0,
    versions      jsonb       NOT NULL DEFAULT '{}',
    manifest      jsonb       NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- An extraction is kept per document, schema and versions of what made it:
-- re-running the same batch adds nothing, while a new prompt (which changes
-- the extractor version string), validator or second extractor adds a row
-- next to the old ones, so results can be compared across versions.
-- run_id is the run that first produced it (runs may be saved later, or
-- never: no foreign key).
CREATE TABLE extractions (
    id                bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    document_id       text        NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    run_id            text        NOT NULL DEFAULT '',
    schema_name       text        NOT NULL,
    schema_version    text        NOT NULL,
    schema_hash       text        NOT NULL,
    extractor_kind    text        NOT NULL DEFAULT '',
    extractor_model   text        NOT NULL DEFAULT '',
    prompt_version    text        NOT NULL DEFAULT '',
    extractor_version text        NOT NULL,
    validator_version text        NOT NULL DEFAULT '',
    second_version    text        NOT NULL DEFAULT '',
    failed            boolean     NOT NULL DEFAULT false,
    -- the whole pipeline.Extraction: fields with values, evidence and
    -- confidence, lists, issues, usage and attempts.
    extraction        jsonb       NOT NULL,
    -- every step version that made it (pipeline.StoredDocument.Versions).
    versions          jsonb       NOT NULL DEFAULT '{}',
    created_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT extractions_version_key UNIQUE (document_id, schema_hash, extractor_version, validator_version, second_version)
);
-- the latest extraction of a document (search filters).
CREATE INDEX extractions_latest_idx ON extractions (document_id, created_at DESC, id DESC);
CREATE INDEX extractions_schema_idx ON extractions (schema_name, document_id);
CREATE INDEX extractions_run_idx ON extractions (run_id);

-- What each step did for each document in each run. Recording the same
-- step again (a resumed run) replaces the record.
CREATE TABLE step_records (
    run_id       text        NOT NULL,
    document_id  text        NOT NULL,
    step         text        NOT NULL,
    file         text        NOT NULL DEFAULT '',
    step_version text        NOT NULL,
    key          text        NOT NULL,
    input_hash   text        NOT NULL,
    output_hash  text        NOT NULL DEFAULT '',
    started      timestamptz NOT NULL,
    duration_ms  double precision NOT NULL,
    error        text        NOT NULL DEFAULT '',
    cache_hit    boolean     NOT NULL DEFAULT false,
    trace_id     text        NOT NULL DEFAULT '',
    span_id      text        NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, document_id, step)
);
CREATE INDEX step_records_document_idx ON step_records (document_id);
CREATE INDEX step_records_key_idx ON step_records (key);

-- Finished spans. A span id is unique within its trace (W3C trace
-- context), so the key is both. attributes is a plain JSON object (key ->
-- value) for queries; record is the span in the lossless typed form of
-- the tracing package's JSONL files (tracing.Span's JSON).
CREATE TABLE spans (
    trace_id       text        NOT NULL,
    span_id        text        NOT NULL,
    parent_span_id text        NOT NULL DEFAULT '',
    name           text        NOT NULL,
    kind           text        NOT NULL,
    start_time     timestamptz NOT NULL,
    end_time       timestamptz NOT NULL,
    duration_ns    bigint      NOT NULL,
    status_code    text        NOT NULL,
    status_message text        NOT NULL DEFAULT '',
    run_id         text        NOT NULL DEFAULT '',
    document_id    text        NOT NULL DEFAULT '',
    attributes     jsonb       NOT NULL DEFAULT '{}',
    record         jsonb       NOT NULL,
    PRIMARY KEY (trace_id, span_id)
);
CREATE INDEX spans_run_idx ON spans (run_id) WHERE run_id <> '';
CREATE INDEX spans_document_idx ON spans (document_id) WHERE document_id <> '';

-- The step cache (pipeline.Cache). Values are bytea, not jsonb: the
-- pipeline hashes the bytes it gets back, and jsonb would reformat them.
CREATE TABLE step_cache (
    key        text        PRIMARY KEY CHECK (key <> ''),
    value      bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

---- create above / drop below ----

DROP TABLE step_cache;
DROP TABLE spans;
DROP TABLE step_records;
DROP TABLE extractions;
DROP TABLE runs;
DROP TABLE embeddings;
DROP TRIGGER chunks_delete_embeddings ON chunks;
DROP FUNCTION extractor_delete_chunk_embeddings();
DROP TABLE chunks;
DROP TEXT SEARCH CONFIGURATION extractor_text;
DROP TEXT SEARCH DICTIONARY extractor_stop_fr;
DROP TEXT SEARCH DICTIONARY extractor_stop_de;
DROP TEXT SEARCH DICTIONARY extractor_stop_en;
DROP TABLE pages;
DROP TABLE documents;
