-- 002: what the HTTP service keeps: API keys, idempotency keys and the
-- uploaded files its jobs work on (the job queue's own tables are river's,
-- migrated by the server package).

-- API keys. A key is "exk_<id>_<secret>"; only the SHA-256 of the whole key
-- is kept, and it is compared in constant time. Revoked keys stay, for the
-- record.
CREATE TABLE api_keys (
    id           text        PRIMARY KEY CHECK (id ~ '^[a-z0-9]{8,32}$'),
    name         text        NOT NULL DEFAULT '',
    hash         text        NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    last_used_at timestamptz
);

-- Idempotency keys of job submissions: the same key (per API key) with the
-- same request returns the job it made; with another request, a conflict.
CREATE TABLE idempotency_keys (
    api_key_id   text        NOT NULL REFERENCES api_keys (id),
    key          text        NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_hash text        NOT NULL,
    job_id       bigint      NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (api_key_id, key)
);

-- Uploaded files waiting for (or worked by) a job, by the SHA-256 of their
-- bytes: any worker on any machine reads them from here.
CREATE TABLE uploads (
    sha256     text        PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    name       text        NOT NULL DEFAULT '',
    size       bigint      NOT NULL CHECK (size >= 0),
    content    bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

---- create above / drop below ----

DROP TABLE uploads;
DROP TABLE idempotency_keys;
DROP TABLE api_keys;
