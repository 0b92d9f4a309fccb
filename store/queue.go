package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
)

// The job queue is River's (riverqueue/river), in the same database: jobs
// survive restarts, are retried with backoff, are unique per idempotency
// key, and end discarded (the dead letters) after their last attempt.
// Workers may run in any number of processes on any machine: a job carries
// everything it needs (the upload is in the uploads table).

// ErrIdempotencyConflict: an idempotency key was used before with another
// request.
var ErrIdempotencyConflict = errors.New("store: idempotency key reused with another request")

// ExtractArgs are an extraction job's arguments.
type ExtractArgs struct {
	// Upload is the SHA-256 of the uploaded file (uploads table); Name its
	// file name.
	//
	// The fields marked unique make a job unique while it is not finished
	// (River's unique jobs): the same file with the same choices from the
	// same key (and Idempotency-Key, when one was sent) is queued once.
	Upload string `json:"upload" river:"unique"`
	Name   string `json:"name"`
	// Schema and Extractor as the request chose them ("" for defaults).
	Schema    string `json:"schema,omitempty" river:"unique"`
	Extractor string `json:"extractor,omitempty" river:"unique"`
	// APIKey is the id of the key that submitted the job; IdempotencyKey
	// its Idempotency-Key.
	APIKey         string `json:"api_key,omitempty" river:"unique"`
	IdempotencyKey string `json:"idempotency_key,omitempty" river:"unique"`
	// TraceParent is the W3C traceparent of the submitting request: the
	// job's spans join its trace.
	TraceParent string `json:"traceparent,omitempty"`
}

// Kind names the job kind for River.
func (ExtractArgs) Kind() string { return "extract" }

// Job states, as the API reports them.
const (
	JobQueued    = "queued"
	JobRunning   = "running"
	JobSucceeded = "succeeded"
	JobFailed    = "failed"
)

// JobInfo is a job as the API shows it.
type JobInfo struct {
	ID          int64           `json:"id"`
	State       string          `json:"state"`
	QueueState  string          `json:"queue_state"`
	Attempt     int             `json:"attempt"`
	MaxAttempts int             `json:"max_attempts"`
	Errors      []string        `json:"errors,omitempty"`
	Output      json.RawMessage `json:"output,omitempty"`
	Args        ExtractArgs     `json:"args"`
	Created     time.Time       `json:"created"`
	Finalized   *time.Time      `json:"finalized,omitempty"`
}

func jobInfo(j *rivertype.JobRow) (JobInfo, error) {
	info := JobInfo{ID: j.ID, QueueState: string(j.State), Attempt: j.Attempt, MaxAttempts: j.MaxAttempts,
		Created: j.CreatedAt, Finalized: j.FinalizedAt}
	switch j.State {
	case rivertype.JobStateRunning:
		info.State = JobRunning
	case rivertype.JobStateCompleted:
		info.State = JobSucceeded
	case rivertype.JobStateDiscarded, rivertype.JobStateCancelled:
		info.State = JobFailed
	default: // available, scheduled, retryable, pending
		info.State = JobQueued
	}
	for _, e := range j.Errors {
		info.Errors = append(info.Errors, e.Error)
	}
	if out := j.Output(); len(out) > 0 {
		info.Output = json.RawMessage(out)
	}
	if err := json.Unmarshal(j.EncodedArgs, &info.Args); err != nil {
		return info, err
	}
	return info, nil
}

// QueueConfig configures a Queue.
type QueueConfig struct {
	// Workers is how many jobs this process works at once; 0 makes a queue
	// that only inserts.
	Workers int
	// Work does a job and returns its output (kept with the job). An error
	// is a failed attempt: the job is retried until MaxAttempts, then
	// discarded. A job whose document cannot be read is not an error: its
	// output says so.
	Work func(ctx context.Context, args ExtractArgs, attempt int) (json.RawMessage, error)
	// RunWork takes one document of a queued run through the pipeline
	// (RunDocumentArgs; see EnqueueRun). A document that cannot be read
	// is not an error: its result line says so, and the job succeeds. An
	// error is a failed attempt, retried until maxAttempts; ErrRunCancelled
	// ends the job for good.
	RunWork func(ctx context.Context, args RunDocumentArgs, attempt, maxAttempts int) error
	// MaxAttempts per job (default 3).
	MaxAttempts int
	// JobTimeout bounds one attempt (default 10 minutes): size it from
	// the document's budget. A job whose worker died (kill -9, a lost
	// machine) is rescued RescueMargin after it, and retried.
	JobTimeout time.Duration
	// RetryBase is the first retry's delay, doubled at each retry, at most
	// 10 minutes (default 10s).
	RetryBase time.Duration
	// PollInterval is how often workers look for jobs when no notification
	// came (default 1s).
	PollInterval time.Duration
	Logger       *slog.Logger

	// Deliver posts an event to a webhook (signed); an error is a failed
	// attempt, retried with backoff until WebhookAttempts. The queue
	// records every attempt (Deliveries). statusCode is the receiver's
	// answer (0 for none).
	Deliver func(ctx context.Context, w Webhook, e Event, attempt int) (statusCode int, err error)
	// WebhookAttempts bounds a delivery's attempts (default 8);
	// WebhookRetryBase is the first retry's delay, doubled at each retry,
	// at most an hour (default 30s: the eighth attempt comes about an hour
	// after the first); WebhookTimeout bounds an attempt (default 30s);
	// WebhookWorkers is how many deliveries this process makes at once
	// (default 2), in a queue of their own so they never wait behind
	// extractions.
	WebhookAttempts  int
	WebhookRetryBase time.Duration
	WebhookTimeout   time.Duration
	WebhookWorkers   int
}

// webhookQueue is the River queue of webhook deliveries.
const webhookQueue = "webhooks"

// RescueMargin is how long after its attempt's deadline a job still
// running is taken for one whose worker died. River's rescuer looks every
// 30 seconds, and a rescued job waits its retry delay (RetryBase for a
// first attempt): the worst case from a worker's death to another worker
// starting its job is JobTimeout + RescueMargin + 30s + RetryBase.
const RescueMargin = 15 * time.Second

// Queue is the extraction job queue.
type Queue struct {
	pool   *pgxpool.Pool
	client *river.Client[pgx.Tx]
	cfg    QueueConfig
}

type backoff struct{ base time.Duration }

func (b backoff) NextRetry(job *rivertype.JobRow) time.Time {
	d := time.Duration(float64(b.base) * math.Pow(2, float64(max(job.Attempt-1, 0))))
	return time.Now().Add(min(d, 10*time.Minute))
}

type extractWorker struct {
	river.WorkerDefaults[ExtractArgs]
	q *Queue
}

func (w *extractWorker) Timeout(*river.Job[ExtractArgs]) time.Duration { return w.q.cfg.JobTimeout }

type webhookWorker struct {
	river.WorkerDefaults[WebhookArgs]
	q *Queue
}

func (w *webhookWorker) Timeout(*river.Job[WebhookArgs]) time.Duration {
	return w.q.cfg.WebhookTimeout + 5*time.Second
}

func (w *webhookWorker) NextRetry(job *river.Job[WebhookArgs]) time.Time {
	d := time.Duration(float64(w.q.cfg.WebhookRetryBase) * math.Pow(2, float64(max(job.Attempt-1, 0))))
	return time.Now().Add(min(d, time.Hour))
}

// Work delivers an event to a webhook and records the attempt. A webhook
// deleted since is not delivered to.
func (w *webhookWorker) Work(ctx context.Context, job *river.Job[WebhookArgs]) error {
	st := &Store{pool: w.q.pool, cfg: Config{}.withDefaults()}
	hook, err := st.Webhook(ctx, job.Args.Webhook)
	if errors.Is(err, ErrNotFound) || err == nil && hook.Deleted != nil {
		return river.JobCancel(fmt.Errorf("webhook %d was deleted", job.Args.Webhook))
	}
	if err != nil {
		return err
	}
	ev, err := st.event(ctx, job.Args.Event)
	if errors.Is(err, ErrNotFound) {
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	if w.q.cfg.Deliver == nil {
		return errors.New("this process cannot deliver webhooks")
	}
	dctx, cancel := context.WithTimeout(ctx, w.q.cfg.WebhookTimeout)
	start := time.Now()
	code, derr := w.q.cfg.Deliver(dctx, hook, ev, job.Attempt)
	cancel()
	d := Delivery{WebhookID: hook.ID, EventID: ev.ID, JobID: job.ID, Attempt: job.Attempt, StatusCode: code, Delivered: derr == nil,
		DurationMS: float64(time.Since(start).Microseconds()) / 1000}
	if derr != nil {
		d.Error = derr.Error()
	}
	if err := st.recordDelivery(context.WithoutCancel(ctx), d); err != nil {
		return errors.Join(derr, fmt.Errorf("store: recording a delivery: %w", err))
	}
	return derr
}

func (w *extractWorker) Work(ctx context.Context, job *river.Job[ExtractArgs]) error {
	if w.q.cfg.Work == nil {
		return errors.New("this process has no work function")
	}
	ctx = context.WithValue(ctx, jobKey{}, JobRef{ID: job.ID, Attempt: job.Attempt, MaxAttempts: job.MaxAttempts})
	out, err := w.q.cfg.Work(ctx, job.Args, job.Attempt)
	if err != nil && errors.Is(ctx.Err(), context.Canceled) && !errors.Is(context.Cause(ctx), river.ErrJobCancelledRemotely) {
		// The worker is stopping hard (a second signal): the job did not
		// fail. It goes back to the queue, at once and without using an
		// attempt, for the next worker.
		return river.JobSnooze(0)
	}
	if len(out) > 0 {
		if rerr := river.RecordOutput(ctx, out); rerr != nil {
			return errors.Join(err, rerr)
		}
	}
	return err
}

// JobRef names the job a Work function is doing.
type JobRef struct {
	ID          int64
	Attempt     int
	MaxAttempts int
}

// Last reports whether a failure of this attempt is the job's last.
func (j JobRef) Last() bool { return j.Attempt >= j.MaxAttempts }

type jobKey struct{}

// JobOf returns the job a Work function's context is doing.
func JobOf(ctx context.Context) (JobRef, bool) {
	j, ok := ctx.Value(jobKey{}).(JobRef)
	return j, ok
}

// NewQueue returns the job queue on pool. Start it to work jobs.
func NewQueue(pool *pgxpool.Pool, cfg QueueConfig) (*Queue, error) {
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 3
	}
	if cfg.JobTimeout <= 0 {
		cfg.JobTimeout = 10 * time.Minute
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = 10 * time.Second
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.WebhookAttempts <= 0 {
		cfg.WebhookAttempts = 8
	}
	if cfg.WebhookRetryBase <= 0 {
		cfg.WebhookRetryBase = 30 * time.Second
	}
	if cfg.WebhookTimeout <= 0 {
		cfg.WebhookTimeout = 30 * time.Second
	}
	if cfg.WebhookWorkers <= 0 {
		cfg.WebhookWorkers = 2
	}
	q := &Queue{pool: pool, cfg: cfg}
	workers := river.NewWorkers()
	river.AddWorker(workers, &extractWorker{q: q})
	river.AddWorker(workers, &runDocumentWorker{q: q})
	river.AddWorker(workers, &webhookWorker{q: q})
	// A job whose worker died (no graceful stop) is rescued, back to the
	// queue, once its attempt's deadline has surely passed: a live worker
	// has cancelled it by then and recorded the failure itself.
	rc := &river.Config{Workers: workers, Logger: cfg.Logger, MaxAttempts: cfg.MaxAttempts, JobTimeout: cfg.JobTimeout,
		RescueStuckJobsAfter: cfg.JobTimeout + RescueMargin,
		RetryPolicy:          backoff{cfg.RetryBase}, FetchPollInterval: cfg.PollInterval, FetchCooldown: min(cfg.PollInterval, 100*time.Millisecond)}
	if cfg.Workers > 0 {
		rc.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Workers}, RunQueueName: {MaxWorkers: cfg.Workers},
			webhookQueue: {MaxWorkers: cfg.WebhookWorkers}}
	}
	client, err := river.NewClient(riverpgxv5.New(pool), rc)
	if err != nil {
		return nil, fmt.Errorf("store: job queue: %w", err)
	}
	q.client = client
	return q, nil
}

// unfinished makes a job unique by its unique arguments among the jobs
// not yet finished (a finished job does not stop the same request from
// being queued again).
func unfinished() river.UniqueOpts {
	return river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{rivertype.JobStateAvailable,
		rivertype.JobStatePending, rivertype.JobStateRetryable, rivertype.JobStateRunning, rivertype.JobStateScheduled}}
}

// Start starts working jobs (a queue without workers does nothing).
func (q *Queue) Start(ctx context.Context) error {
	if q.cfg.Workers == 0 {
		return nil
	}
	return q.client.Start(ctx)
}

// Stop stops fetching jobs and waits for the running ones until ctx ends;
// then it cancels them, and they go back to the queue to be retried.
func (q *Queue) Stop(ctx context.Context) error {
	if q.cfg.Workers == 0 {
		return nil
	}
	err := q.client.Stop(ctx)
	if ctx.Err() != nil {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return q.client.StopAndCancel(cctx)
	}
	return err
}

// Submit inserts a job. With an idempotency key, a second submission with
// the same key and requestHash returns the first job (existed is true),
// and one with another requestHash fails with ErrIdempotencyConflict;
// concurrent submissions wait for each other.
func (q *Queue) Submit(ctx context.Context, args ExtractArgs, requestHash string) (info JobInfo, existed bool, err error) {
	tx, err := q.pool.Begin(ctx)
	if err != nil {
		return info, false, err
	}
	defer tx.Rollback(ctx)
	if args.IdempotencyKey != "" {
		claimed, jobID, same, err := ClaimIdempotencyKey(ctx, tx, args.APIKey, args.IdempotencyKey, requestHash)
		if err != nil {
			return info, false, err
		}
		if !claimed {
			if !same {
				return info, false, ErrIdempotencyConflict
			}
			tx.Rollback(ctx)
			info, err := q.Job(ctx, jobID)
			return info, true, err
		}
	}
	res, err := q.client.InsertTx(ctx, tx, args, &river.InsertOpts{MaxAttempts: q.cfg.MaxAttempts, UniqueOpts: unfinished()})
	if err != nil {
		return info, false, fmt.Errorf("store: inserting a job: %w", err)
	}
	// A duplicate (the same job is queued or running) is the answer.
	existed = res.UniqueSkippedAsDuplicate
	if args.IdempotencyKey != "" {
		if err := SetIdempotentJob(ctx, tx, args.APIKey, args.IdempotencyKey, res.Job.ID); err != nil {
			return info, false, err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return info, false, err
	}
	info, err = jobInfo(res.Job)
	return info, existed, err
}

// Job returns a job.
func (q *Queue) Job(ctx context.Context, id int64) (JobInfo, error) {
	j, err := q.client.JobGet(ctx, id)
	if errors.Is(err, river.ErrNotFound) {
		return JobInfo{}, fmt.Errorf("job %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return JobInfo{}, err
	}
	return jobInfo(j)
}

// queueMigrator is River's migrator for the pool's schema.
func queueMigrator(pool *pgxpool.Pool) (*rivermigrate.Migrator[pgx.Tx], error) {
	return rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
}
