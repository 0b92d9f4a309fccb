-- 005: runs on the job queue, and the provider limits every worker shares.
--
-- A queued run ('extractor run DIR --queue', POST /v1/runs) is a run like
-- any other (runs, step_records, results, spans); these tables add what
-- spreading it over workers needs: its inputs in order, each distinct
-- document once (the table that deduplicates before jobs are inserted),
-- and one row of counters that workers update as documents finish.

-- The run's settings and counters: one row per queued run.
CREATE TABLE queued_runs (
    run_id        text        PRIMARY KEY,
    -- queued (inputs still being added), running, finished, cancelled
    state         text        NOT NULL DEFAULT 'queued',
    -- What the submitter chose (never a secret): workers build the
    -- pipeline from it.
    settings      jsonb       NOT NULL DEFAULT '{}',
    -- Inputs listed so far, and distinct documents queued so far.
    inputs        integer     NOT NULL DEFAULT 0,
    total         integer     NOT NULL DEFAULT 0,
    done          integer     NOT NULL DEFAULT 0,
    ok            integer     NOT NULL DEFAULT 0,
    failed        integer     NOT NULL DEFAULT 0,
    review        integer     NOT NULL DEFAULT 0,
    cache_hits    integer     NOT NULL DEFAULT 0,
    input_tokens  bigint      NOT NULL DEFAULT 0,
    output_tokens bigint      NOT NULL DEFAULT 0,
    attempts      bigint      NOT NULL DEFAULT 0,
    cost_usd      double precision NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    first_done    timestamptz,
    last_done     timestamptz,
    finished_at   timestamptz
);

-- Every input of a queued run, in input order (two inputs may hold the
-- same bytes: they share a document).
CREATE TABLE queued_inputs (
    run_id      text    NOT NULL,
    seq         integer NOT NULL,
    name        text    NOT NULL,
    document_id text    NOT NULL,
    PRIMARY KEY (run_id, seq)
);

-- Each distinct document of a queued run, once: inserted before its job,
-- ON CONFLICT DO NOTHING, so a job is made only for a document that has
-- none (River's fast bulk insert fails a whole chunk on a unique
-- conflict, so uniqueness is decided here).
CREATE TABLE queued_documents (
    run_id      text        NOT NULL,
    document_id text        NOT NULL,
    name        text        NOT NULL,
    -- queued, done
    state       text        NOT NULL DEFAULT 'queued',
    status      text        NOT NULL DEFAULT '',
    finished_at timestamptz,
    PRIMARY KEY (run_id, document_id)
);
CREATE INDEX queued_documents_finished_idx ON queued_documents (run_id, finished_at) WHERE finished_at IS NOT NULL;

-- Answered calls to paid services, as they arrive (pipeline.CallRecord):
-- a worker killed in the middle of a step never writes its step record,
-- and the run's spend must still count what was billed.
CREATE TABLE calls (
    id          bigserial   PRIMARY KEY,
    run_id      text        NOT NULL,
    document_id text        NOT NULL,
    step        text        NOT NULL,
    span_id     text        NOT NULL,
    at          timestamptz NOT NULL,
    spent       jsonb       NOT NULL
);
CREATE INDEX calls_run_idx ON calls (run_id);

-- Provider limits shared by every process: a generic cell-rate (GCRA)
-- schedule per limit name, for requests and for tokens, and a pause every
-- sender honours (a provider's Retry-After).
CREATE TABLE rate_limits (
    name         text        PRIMARY KEY,
    -- The theoretical arrival time of the next request and token.
    request_tat  timestamptz NOT NULL DEFAULT to_timestamp(0),
    token_tat    timestamptz NOT NULL DEFAULT to_timestamp(0),
    paused_until timestamptz NOT NULL DEFAULT to_timestamp(0),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- extractor_rate_reserve reserves the next send time of one request of
-- p_tokens tokens under the limit p_name and returns how many seconds
-- from now it is (0: at once). Requests are spaced p_req_interval seconds
-- apart with a tolerance of p_req_tolerance seconds (a burst), tokens
-- p_tok_interval seconds apart each with a burst of p_tok_burst tokens;
-- nothing is sent before paused_until. One statement, one row lock: any
-- number of processes on any number of machines share the schedule, and
-- each request waits its own turn (no herd of retries).
CREATE FUNCTION extractor_rate_reserve(p_name text, p_req_interval double precision, p_req_tolerance double precision,
    p_tok_interval double precision, p_tok_burst double precision, p_tokens double precision)
RETURNS double precision LANGUAGE plpgsql AS $$
DECLARE
    r    rate_limits%ROWTYPE;
    t    timestamptz;
    send timestamptz;
BEGIN
    INSERT INTO rate_limits (name) VALUES (p_name) ON CONFLICT (name) DO NOTHING;
    SELECT * INTO r FROM rate_limits WHERE name = p_name FOR UPDATE;
    t := clock_timestamp();
    send := greatest(t, r.paused_until,
        r.request_tat - make_interval(secs => p_req_tolerance),
        r.token_tat + make_interval(secs => p_tokens * p_tok_interval - greatest(p_tok_burst, p_tokens) * p_tok_interval));
    UPDATE rate_limits SET
        request_tat = greatest(request_tat, send) + make_interval(secs => p_req_interval),
        token_tat = greatest(token_tat, send) + make_interval(secs => p_tokens * p_tok_interval),
        updated_at = t
    WHERE name = p_name;
    RETURN extract(epoch FROM send - t);
END
$$;

---- create above / drop below ----

DROP FUNCTION extractor_rate_reserve;
DROP TABLE rate_limits;
DROP TABLE calls;
DROP TABLE queued_documents;
DROP TABLE queued_inputs;
DROP TABLE queued_runs;
