package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/extractor-dev/extractor/pipeline"
)

// A queued run is a batch run whose documents are River jobs: the
// submitter records the run and its inputs and returns at once; workers on
// any machine take its documents through the same pipeline, writing the
// same records (step records, results, spans) under the run's id, and the
// last one to finish a document completes the run's manifest.

// RunQueueName is the River queue of queued runs' documents: apart from
// the HTTP jobs, so that a run of a million documents does not hold back
// an upload someone is waiting for.
const RunQueueName = "runs"

// RunDocumentArgs are the arguments of the job that takes one document of
// a queued run through the pipeline.
type RunDocumentArgs struct {
	RunID string `json:"run_id"`
	// Document is the SHA-256 of its bytes: its id, and its row in
	// uploads.
	Document string `json:"document"`
	// Name is what the run calls it (its first input's name).
	Name string `json:"name"`
}

// Kind names the job kind for River.
func (RunDocumentArgs) Kind() string { return "run_document" }

// Queued run states.
const (
	RunQueued    = "queued" // inputs are still being added
	RunRunning   = "running"
	RunFinished  = "finished"
	RunCancelled = "cancelled"
)

// ErrRunCancelled: the queued run was cancelled; its documents are not to
// be done.
var ErrRunCancelled = errors.New("store: the run was cancelled")

// QueuedInput is one input of a queued run: its name and its bytes.
type QueuedInput struct {
	Name    string
	SHA256  string
	Content []byte
}

// QueuedRun is a queued run's settings and progress.
type QueuedRun struct {
	RunID    string          `json:"run_id"`
	State    string          `json:"state"`
	Settings json.RawMessage `json:"settings"`
	// Inputs listed; Total distinct documents queued.
	Inputs int `json:"inputs"`
	Total  int `json:"total"`
	// Done = OK + Failed; Review of the OK ones.
	Done      int            `json:"done"`
	OK        int            `json:"ok"`
	Failed    int            `json:"failed"`
	Review    int            `json:"review"`
	CacheHits int            `json:"cache_hits"`
	Spent     pipeline.Usage `json:"spent"`
	Created   time.Time      `json:"created"`
	FirstDone *time.Time     `json:"first_done,omitempty"`
	LastDone  *time.Time     `json:"last_done,omitempty"`
	Finished  *time.Time     `json:"finished,omitempty"`
	// LastMinute counts the documents done in the minute before the read.
	LastMinute int `json:"last_minute"`
}

// CreateQueuedRun records a queued run: its manifest (status "queued")
// and its settings, which workers build the pipeline from (never secrets).
func (s *Store) CreateQueuedRun(ctx context.Context, run pipeline.Run, settings json.RawMessage) error {
	if run.ID == "" {
		return invalid("run without an id")
	}
	if len(settings) == 0 {
		settings = json.RawMessage("{}")
	}
	run.Status = RunQueued
	if err := s.SaveRun(ctx, run); err != nil {
		return err
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO queued_runs (run_id, settings) VALUES ($1, $2) ON CONFLICT (run_id) DO NOTHING`, run.ID, settings)
	if err != nil {
		return fmt.Errorf("store: queued run %s: %w", run.ID, err)
	}
	return nil
}

// EnqueueRun adds inputs to a queued run, the first of them being input
// number first (0-based; inputs keep their order for exports). In one
// transaction it keeps their bytes (uploads, once per content), lists
// them, records each distinct document once (queued_documents, ON
// CONFLICT DO NOTHING) and inserts a job for each document new to the
// run with River's COPY-based InsertManyFast: calling it again with the
// same inputs (a submitter that crashed and starts again) adds nothing.
// It returns how many jobs it inserted.
func (q *Queue) EnqueueRun(ctx context.Context, runID string, first int, inputs []QueuedInput) (int, error) {
	if len(inputs) == 0 {
		return 0, nil
	}
	shas := make([]string, len(inputs))
	names := make([]string, len(inputs))
	sizes := make([]int64, len(inputs))
	contents := make([][]byte, len(inputs))
	seqs := make([]int32, len(inputs))
	for i, in := range inputs {
		if !docIDPattern.MatchString(in.SHA256) {
			return 0, invalid("input %q: document id %q", in.Name, in.SHA256)
		}
		shas[i], names[i], sizes[i], contents[i], seqs[i] = in.SHA256, in.Name, int64(len(in.Content)), in.Content, int32(first+i)
	}
	tx, err := q.pool.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(ctx)
	var state string
	if err := tx.QueryRow(ctx, "SELECT state FROM queued_runs WHERE run_id = $1 FOR UPDATE", runID).Scan(&state); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return 0, fmt.Errorf("queued run %s: %w", runID, ErrNotFound)
		}
		return 0, err
	}
	if state == RunCancelled {
		return 0, fmt.Errorf("run %s: %w", runID, ErrRunCancelled)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO uploads (sha256, name, size, content)
SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bytea[]) ON CONFLICT (sha256) DO NOTHING`,
		shas, names, sizes, contents); err != nil {
		return 0, fmt.Errorf("store: keeping the inputs: %w", err)
	}
	tag, err := tx.Exec(ctx, `INSERT INTO queued_inputs (run_id, seq, name, document_id)
SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[]) ON CONFLICT (run_id, seq) DO NOTHING`, runID, seqs, names, shas)
	if err != nil {
		return 0, fmt.Errorf("store: listing the inputs: %w", err)
	}
	listed := tag.RowsAffected()
	rows, err := tx.Query(ctx, `INSERT INTO queued_documents (run_id, document_id, name)
SELECT DISTINCT ON (d) $1, d, n FROM unnest($2::text[], $3::text[], $4::int[]) AS u (d, n, seq) ORDER BY d, seq
ON CONFLICT (run_id, document_id) DO NOTHING RETURNING document_id, name`, runID, shas, names, seqs)
	if err != nil {
		return 0, fmt.Errorf("store: recording the documents: %w", err)
	}
	var params []river.InsertManyParams
	for rows.Next() {
		var a RunDocumentArgs
		if err := rows.Scan(&a.Document, &a.Name); err != nil {
			rows.Close()
			return 0, err
		}
		a.RunID = runID
		params = append(params, river.InsertManyParams{Args: a, InsertOpts: &river.InsertOpts{Queue: RunQueueName, MaxAttempts: q.cfg.MaxAttempts}})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	n := 0
	if len(params) > 0 {
		if n, err = q.client.InsertManyFastTx(ctx, tx, params); err != nil {
			return 0, fmt.Errorf("store: inserting the jobs: %w", err)
		}
	}
	if _, err := tx.Exec(ctx, "UPDATE queued_runs SET inputs = inputs + $2, total = total + $3 WHERE run_id = $1", runID, listed, n); err != nil {
		return 0, err
	}
	return n, tx.Commit(ctx)
}

// SealRun says every input of a queued run was added: the run is running,
// and completes when its documents are done. complete is true when they
// already are (the caller then completes it: CompleteRun).
func (s *Store) SealRun(ctx context.Context, runID string) (complete bool, err error) {
	err = s.pool.QueryRow(ctx, `UPDATE queued_runs SET state = 'running' WHERE run_id = $1 AND state = 'queued'
RETURNING done >= total`, runID).Scan(&complete)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, fmt.Errorf("queued run %s is not being queued: %w", runID, ErrNotFound)
	}
	return complete, err
}

// QueuedRun returns a queued run's settings and progress.
func (s *Store) QueuedRun(ctx context.Context, runID string) (QueuedRun, error) {
	var r QueuedRun
	err := s.pool.QueryRow(ctx, `SELECT run_id, state, settings, inputs, total, done, ok, failed, review, cache_hits,
    input_tokens, output_tokens, attempts, cost_usd, created_at, first_done, last_done, finished_at,
    (SELECT count(*) FROM queued_documents d WHERE d.run_id = q.run_id AND d.finished_at > clock_timestamp() - interval '1 minute')
FROM queued_runs q WHERE run_id = $1`, runID).Scan(&r.RunID, &r.State, &r.Settings, &r.Inputs, &r.Total, &r.Done, &r.OK, &r.Failed,
		&r.Review, &r.CacheHits, &r.Spent.InputTokens, &r.Spent.OutputTokens, &r.Spent.Attempts, &r.Spent.CostUSD, &r.Created,
		&r.FirstDone, &r.LastDone, &r.Finished, &r.LastMinute)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, fmt.Errorf("queued run %s: %w", runID, ErrNotFound)
	}
	return r, err
}

// DocumentDone reports whether a queued run's document is done (a job
// run again after its worker died finds it so, and does nothing).
func (s *Store) DocumentDone(ctx context.Context, runID, documentID string) (bool, error) {
	var state string
	err := s.pool.QueryRow(ctx, "SELECT state FROM queued_documents WHERE run_id = $1 AND document_id = $2", runID, documentID).Scan(&state)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, fmt.Errorf("document %s of run %s: %w", short(documentID), runID, ErrNotFound)
	}
	return state == "done", err
}

// FinishDocument records a queued run's document as done with its result
// line, in one transaction: the line (results), the document's state and
// the run's counters, each document counted once however often its job
// ran. last is true when it was the run's last document (the caller then
// completes the run: CompleteRun).
func (s *Store) FinishDocument(ctx context.Context, documentID string, line pipeline.ResultLine) (last bool, err error) {
	if !line.Done() {
		return false, invalid("document %s: only a finished document is recorded, not %q", short(documentID), line.Status)
	}
	b, err := json.Marshal(line)
	if err != nil {
		return false, invalid("result line: %v", err)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback(ctx)
	var changed bool
	err = tx.QueryRow(ctx, `UPDATE queued_documents SET state = 'done', status = $3, finished_at = clock_timestamp()
WHERE run_id = $1 AND document_id = $2 AND state <> 'done' RETURNING true`, line.RunID, documentID, line.Status).Scan(&changed)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil // done before: counted then
	}
	if err != nil {
		return false, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO results (run_id, document_id, file, status, duration_ms, cost_usd, trace_id, line)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (run_id, document_id) DO UPDATE SET file = excluded.file, status = excluded.status,
    duration_ms = excluded.duration_ms, cost_usd = excluded.cost_usd, trace_id = excluded.trace_id, line = excluded.line`,
		line.RunID, documentID, line.File, line.Status, line.DurationMS, line.Usage.CostUSD, line.TraceID, b); err != nil {
		return false, fmt.Errorf("store: saving the result of %s: %w", short(documentID), err)
	}
	ok, failed, review, cached := 0, 0, 0, 0
	if line.Status == "ok" {
		ok = 1
		if line.NeedsReview {
			review = 1
		}
	} else {
		failed = 1
	}
	if line.CacheHits > 0 {
		cached = 1
	}
	sp := line.Spent
	err = tx.QueryRow(ctx, `UPDATE queued_runs SET done = done + 1, ok = ok + $2, failed = failed + $3, review = review + $4,
    cache_hits = cache_hits + $5, input_tokens = input_tokens + $6, output_tokens = output_tokens + $7, attempts = attempts + $8,
    cost_usd = cost_usd + $9, first_done = coalesce(first_done, clock_timestamp()), last_done = clock_timestamp()
WHERE run_id = $1 RETURNING state = 'running' AND done >= total`, line.RunID, ok, failed, review, cached,
		sp.InputTokens, sp.OutputTokens, sp.Attempts, sp.CostUSD).Scan(&last)
	if err != nil {
		return false, err
	}
	return last, tx.Commit(ctx)
}

// CompleteRun ends a queued run whose documents are all done, or one
// cancelled, writing its manifest's totals: the counts from its
// documents, the spend summed from its step records and the calls of
// steps that never finished (a worker killed mid-step), as for a local
// run. Of concurrent callers one completes it (true); the others find it
// done.
func (s *Store) CompleteRun(ctx context.Context, runID string) (bool, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback(ctx)
	var state string
	var finished *time.Time
	var c pipeline.RunCounts
	err = tx.QueryRow(ctx, `SELECT state, finished_at, total, ok, failed, review, cache_hits FROM queued_runs WHERE run_id = $1 FOR UPDATE`, runID).
		Scan(&state, &finished, &c.Documents, &c.OK, &c.Failed, &c.Review, &c.CacheHits)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, fmt.Errorf("queued run %s: %w", runID, ErrNotFound)
	}
	if err != nil {
		return false, err
	}
	if finished != nil {
		return false, nil
	}
	c.Interrupted = c.Documents - c.OK - c.Failed
	if state != RunCancelled {
		if c.Interrupted > 0 {
			return false, nil // not done yet
		}
		state = RunFinished
	}
	spent, err := runSpent(ctx, tx, runID)
	if err != nil {
		return false, err
	}
	var manifest []byte
	if err := tx.QueryRow(ctx, "SELECT manifest FROM runs WHERE id = $1", runID).Scan(&manifest); err != nil {
		return false, fmt.Errorf("store: run %s: %w", runID, err)
	}
	var run pipeline.Run
	if err := json.Unmarshal(manifest, &run); err != nil {
		return false, err
	}
	now := time.Now().UTC()
	run.Status, run.Finished, run.Counts, run.Spent = state, &now, c, spent
	if _, err := tx.Exec(ctx, "UPDATE queued_runs SET state = $2, finished_at = $3 WHERE run_id = $1", runID, state, now); err != nil {
		return false, err
	}
	if err := saveRun(ctx, tx, run); err != nil {
		return false, err
	}
	return true, tx.Commit(ctx)
}

// runSpent sums a run's spend: its step records, and the calls of steps
// that never wrote one.
func runSpent(ctx context.Context, q pgx.Tx, runID string) (pipeline.Usage, error) {
	var u pipeline.Usage
	var prices *string
	err := q.QueryRow(ctx, `
SELECT coalesce(sum((spent->>'input_tokens')::bigint), 0), coalesce(sum((spent->>'output_tokens')::bigint), 0),
    coalesce(sum((spent->>'attempts')::bigint), 0), coalesce(sum((spent->>'cost_usd')::double precision), 0),
    max(spent->>'prices')
FROM (
    SELECT spent FROM step_records WHERE run_id = $1 AND spent IS NOT NULL
    UNION ALL
    SELECT c.spent FROM calls c WHERE c.run_id = $1 AND NOT EXISTS (
        SELECT 1 FROM step_records r WHERE r.run_id = c.run_id AND r.document_id = c.document_id AND r.span_id = c.span_id)
) x`, runID).Scan(&u.InputTokens, &u.OutputTokens, &u.Attempts, &u.CostUSD, &prices)
	if prices != nil {
		u.Prices = *prices
	}
	return u, err
}

// RecordCall keeps an answered call to a paid service as it arrives
// (pipeline.CallRecorder).
func (s *Store) RecordCall(c pipeline.CallRecord) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.RecordTimeout)
	defer cancel()
	spent, err := json.Marshal(c.Spent)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, "INSERT INTO calls (run_id, document_id, step, span_id, at, spent) VALUES ($1, $2, $3, $4, $5, $6)",
		c.RunID, c.DocumentID, c.Step, c.SpanID, c.At, spent)
	if err != nil {
		return fmt.Errorf("store: recording a call of %s: %w", short(c.DocumentID), err)
	}
	return nil
}

var _ pipeline.CallRecorder = (*Store)(nil)

// CancelRun cancels a queued run: no document of it starts any more (its
// waiting jobs are deleted; a job already fetched finds the run cancelled
// and ends), documents in flight finish, and the run is completed as
// cancelled. It returns how many waiting jobs it deleted.
func (q *Queue) CancelRun(ctx context.Context, st *Store, runID string) (int, error) {
	tag, err := q.pool.Exec(ctx, "UPDATE queued_runs SET state = 'cancelled' WHERE run_id = $1 AND state IN ('queued', 'running')", runID)
	if err != nil {
		return 0, err
	}
	if tag.RowsAffected() == 0 {
		r, err := st.QueuedRun(ctx, runID)
		if err != nil {
			return 0, err
		}
		return 0, fmt.Errorf("%w: run %s is %s already", ErrInvalid, runID, r.State)
	}
	deleted := 0
	for {
		res, err := q.client.JobDeleteMany(ctx, river.NewJobDeleteManyParams().Kinds(RunDocumentArgs{}.Kind()).
			States(rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStateRetryable, rivertype.JobStatePending).
			Where("args->>'run_id' = @run_id", river.NamedArgs{"run_id": runID}).First(10000))
		if err != nil {
			return deleted, fmt.Errorf("store: deleting the run's jobs: %w", err)
		}
		deleted += len(res.Jobs)
		if len(res.Jobs) == 0 {
			break
		}
	}
	_, err = st.CompleteRun(ctx, runID)
	return deleted, err
}

// QueuedExport calls fn for each input of a queued run in input order,
// with its result line (nil when its document is not done). A line of a
// document that two inputs hold carries the name of the input it is
// given for.
func (s *Store) QueuedExport(ctx context.Context, runID string, fn func(seq int, name string, line *pipeline.ResultLine) error) error {
	rows, err := s.pool.Query(ctx, `SELECT i.seq, i.name, r.line FROM queued_inputs i
LEFT JOIN results r ON r.run_id = i.run_id AND r.document_id = i.document_id
WHERE i.run_id = $1 ORDER BY i.seq`, runID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var seq int
		var name string
		var raw []byte
		if err := rows.Scan(&seq, &name, &raw); err != nil {
			return err
		}
		var line *pipeline.ResultLine
		if raw != nil {
			line = new(pipeline.ResultLine)
			if err := json.Unmarshal(raw, line); err != nil {
				return err
			}
			line.File = name
		}
		if err := fn(seq, name, line); err != nil {
			return err
		}
	}
	return rows.Err()
}

// runDocumentWorker works the documents of queued runs.
type runDocumentWorker struct {
	river.WorkerDefaults[RunDocumentArgs]
	q *Queue
}

func (w *runDocumentWorker) Timeout(*river.Job[RunDocumentArgs]) time.Duration {
	return w.q.cfg.JobTimeout
}

func (w *runDocumentWorker) Work(ctx context.Context, job *river.Job[RunDocumentArgs]) error {
	if w.q.cfg.RunWork == nil {
		return errors.New("this process has no work function for runs")
	}
	err := w.q.cfg.RunWork(ctx, job.Args, job.Attempt, job.MaxAttempts)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrRunCancelled):
		return river.JobCancel(err)
	case errors.Is(ctx.Err(), context.Canceled) && !errors.Is(context.Cause(ctx), river.ErrJobCancelledRemotely):
		return river.JobSnooze(0) // the worker is stopping hard: back to the queue
	}
	return err
}

// Manifest returns a stored run's manifest.
func (s *Store) Manifest(ctx context.Context, runID string) (pipeline.Run, error) {
	var run pipeline.Run
	var manifest []byte
	err := s.pool.QueryRow(ctx, "SELECT manifest FROM runs WHERE id = $1", runID).Scan(&manifest)
	if errors.Is(err, pgx.ErrNoRows) {
		return run, fmt.Errorf("run %q: %w", runID, ErrNotFound)
	}
	if err != nil {
		return run, err
	}
	return run, json.Unmarshal(manifest, &run)
}

// ResolveRun turns any unique part of a stored run's id into the id
// (without reading every manifest, as history.Resolve does).
func (s *Store) ResolveRun(ctx context.Context, part string) (string, error) {
	if part == "" {
		return "", invalid("give a run id")
	}
	rows, err := s.pool.Query(ctx, "SELECT id FROM runs WHERE strpos(id, $1) > 0 ORDER BY id LIMIT 6", part)
	if err != nil {
		return "", err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "", err
	}
	for _, id := range ids {
		if id == part {
			return id, nil
		}
	}
	switch len(ids) {
	case 0:
		return "", fmt.Errorf("run %q: %w", part, ErrNotFound)
	case 1:
		return ids[0], nil
	}
	return "", invalid("run %q is ambiguous: it is part of %s...", part, strings.Join(ids, ", "))
}
