-- 003: result lines: what each run reported of each document (one line of
-- 'extractor run', as the API answers it), for the run pages and the API.

CREATE TABLE results (
    run_id      text        NOT NULL,
    -- The document's id, or for a document that never got one (its file
    -- could not be read) the hash of its file name.
    document_id text        NOT NULL,
    file        text        NOT NULL DEFAULT '',
    status      text        NOT NULL,
    duration_ms bigint      NOT NULL DEFAULT 0,
    cost_usd    double precision NOT NULL DEFAULT 0,
    trace_id    text        NOT NULL DEFAULT '',
    line        jsonb       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, document_id)
);
CREATE INDEX results_document_idx ON results (document_id);

---- create above / drop below ----

DROP TABLE results;
