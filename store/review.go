package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/extractor-dev/extractor/pipeline"
)

// The review loop's records: each document's review state (kept from its
// latest result by SaveResult), corrections (appended, never changed),
// decisions, the review queue and what exports and metrics read. Checking
// and applying corrections is the review package's job: this file keeps
// what it made, under optimistic concurrency (every write names the
// version it read, and fails with ErrStale when it moved).

// ErrStale: the document changed since the version the caller read (the
// API's 412).
var ErrStale = pipeline.Kind("store: the document changed since it was read", pipeline.ErrConflict)

// Review states.
const (
	ReviewPending  = "pending"
	ReviewApproved = pipeline.DecisionApproved
	ReviewRejected = pipeline.DecisionRejected
)

// ReviewState is a document's review state.
type ReviewState struct {
	DocumentID string `json:"document_id"`
	Schema     string `json:"schema"`
	// RunID, File, Status ("ok" or "failed"), Error and TraceID are the
	// latest result's.
	RunID      string   `json:"run_id"`
	File       string   `json:"file"`
	Status     string   `json:"status"`
	Error      string   `json:"error,omitempty"`
	TraceID    string   `json:"trace_id"`
	Reasons    []string `json:"reasons"`
	Confidence float64  `json:"confidence"`
	Vendor     string   `json:"vendor"`
	// Extraction is the latest result's; Current the values with the
	// corrections applied, nil when a newer extraction came after them
	// (replay them on it: review.Replay, then SetCurrent).
	Extraction  pipeline.Extraction  `json:"extraction"`
	Current     *pipeline.Extraction `json:"current"`
	Corrections int                  `json:"corrections"`
	// State is pending, approved or rejected.
	State   string `json:"state"`
	Version int    `json:"version"`
	// QueuedAt is when it entered the review queue (nil: never needed
	// review).
	QueuedAt  *time.Time `json:"queued_at"`
	FirstSeen time.Time  `json:"first_seen"`
	ResultAt  time.Time  `json:"result_at"`
	DecidedAt *time.Time `json:"decided_at"`
}

// queueReviewState queues, in the batch that saves a finished result
// line, the update of its document's review state: the latest run, file,
// status, reasons and extraction. The version moves only when the
// extraction (or the status) changed: a run that read the document the
// same way does not break the edit of a person who is looking at it. A
// changed extraction replaces the current values when there were no
// corrections; after corrections they are left to be replayed on it.
func queueReviewState(b *pgx.Batch, l pipeline.ResultLine) error {
	x := l.Extraction()
	if x.Fields == nil {
		x.Fields = map[string]pipeline.Field{}
	}
	xj, err := json.Marshal(x)
	if err != nil {
		return invalid("result line's extraction: %v", err)
	}
	b.Queue(`INSERT INTO review_documents AS r (document_id, schema_name, run_id, file, status, error, trace_id, reasons,
    confidence, vendor, extraction, current, queued_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, CASE WHEN cardinality($8::text[]) > 0 THEN now() END)
ON CONFLICT (document_id) DO UPDATE SET
    schema_name = excluded.schema_name, run_id = excluded.run_id, file = excluded.file, status = excluded.status,
    error = excluded.error, trace_id = excluded.trace_id, reasons = excluded.reasons, confidence = excluded.confidence,
    extraction = excluded.extraction,
    current = CASE WHEN r.extraction = excluded.extraction THEN r.current WHEN r.corrections = 0 THEN excluded.extraction END,
    vendor = CASE WHEN r.corrections = 0 THEN excluded.vendor ELSE r.vendor END,
    queued_at = coalesce(r.queued_at, excluded.queued_at),
    result_at = now(),
    version = r.version + CASE WHEN r.extraction = excluded.extraction AND r.status = excluded.status THEN 0 ELSE 1 END,
    updated_at = now()`,
		l.Key(), l.Schema.Name, l.RunID, l.File, l.Status, l.Error, l.TraceID, l.ReviewReasons(), l.Confidence,
		x.Fields["vendor_name"].Value, xj)
	return nil
}

const reviewColumns = `document_id, schema_name, run_id, file, status, error, trace_id, reasons, confidence, vendor,
    extraction, current, corrections, state, version, queued_at, first_seen, result_at, decided_at`

func scanReviewState(r pgx.Row) (ReviewState, error) {
	var s ReviewState
	var x, cur []byte
	err := r.Scan(&s.DocumentID, &s.Schema, &s.RunID, &s.File, &s.Status, &s.Error, &s.TraceID, &s.Reasons, &s.Confidence,
		&s.Vendor, &x, &cur, &s.Corrections, &s.State, &s.Version, &s.QueuedAt, &s.FirstSeen, &s.ResultAt, &s.DecidedAt)
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(x, &s.Extraction); err != nil {
		return s, err
	}
	if cur != nil {
		s.Current = &pipeline.Extraction{}
		if err := json.Unmarshal(cur, s.Current); err != nil {
			return s, err
		}
	}
	return s, nil
}

// ReviewState returns a document's review state (ErrNotFound when the
// document has no finished result).
func (s *Store) ReviewState(ctx context.Context, id string) (ReviewState, error) {
	st, err := scanReviewState(s.pool.QueryRow(ctx, "SELECT "+reviewColumns+" FROM review_documents WHERE document_id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return st, fmt.Errorf("document %s: %w", short(id), ErrNotFound)
	}
	return st, err
}

// Corrections returns a document's corrections, in the order they apply.
func (s *Store) Corrections(ctx context.Context, id string) ([]pipeline.Correction, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, document_id, seq, version, op, field, before, after, item, box, reason,
    api_key_id, actor, created_at FROM corrections WHERE document_id = $1 ORDER BY seq`, id)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (pipeline.Correction, error) {
		var c pipeline.Correction
		err := r.Scan(&c.ID, &c.DocumentID, &c.Seq, &c.Version, &c.Op, &c.Field, &c.Before, &c.After, &c.Item, &c.Box,
			&c.Reason, &c.KeyID, &c.By, &c.At)
		return c, err
	})
}

const decisionColumns = `id, document_id, version, decision, schema_name, reason, actor, api_key_id, created_at, queued_at,
    corrections, corrected_fields`

func scanDecision(r pgx.CollectableRow) (pipeline.Decision, error) {
	var d pipeline.Decision
	err := r.Scan(&d.ID, &d.DocumentID, &d.Version, &d.Decision, &d.Schema, &d.Reason, &d.By, &d.KeyID, &d.At, &d.QueuedAt,
		&d.Corrections, &d.CorrectedFields)
	return d, err
}

// Decisions returns a document's decisions, oldest first.
func (s *Store) Decisions(ctx context.Context, id string) ([]pipeline.Decision, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+decisionColumns+" FROM review_decisions WHERE document_id = $1 ORDER BY id", id)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanDecision)
}

// stale tells ErrStale from ErrNotFound after a guarded update changed
// no row.
func stale(ctx context.Context, tx pgx.Tx, id string, version int) error {
	var have int
	err := tx.QueryRow(ctx, "SELECT version FROM review_documents WHERE document_id = $1", id).Scan(&have)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("document %s: %w", short(id), ErrNotFound)
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("document %s is at version %d, not %d: %w", short(id), have, version, ErrStale)
}

// SaveCorrections appends corrections to a document read at version, with
// the values they make (current), in one transaction: the version moves
// by one (the corrections share the new one), they are numbered after the
// document's earlier ones, and a decided document is pending again (its
// decision was about other values). It fails with ErrStale when the
// document is no longer at version, and saves nothing then. It returns
// the corrections as stored.
func (s *Store) SaveCorrections(ctx context.Context, id string, version int, cs []pipeline.Correction, current pipeline.Extraction) ([]pipeline.Correction, error) {
	if len(cs) == 0 {
		return nil, invalid("no corrections to save")
	}
	cur, err := json.Marshal(current)
	if err != nil {
		return nil, invalid("current values: %v", err)
	}
	out := make([]pipeline.Correction, len(cs))
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var newVersion, total int
		err := tx.QueryRow(ctx, `UPDATE review_documents SET version = version + 1, corrections = corrections + $3,
    current = $4, vendor = $5, state = 'pending', updated_at = now()
WHERE document_id = $1 AND version = $2 RETURNING version, corrections`,
			id, version, len(cs), cur, current.Fields["vendor_name"].Value).Scan(&newVersion, &total)
		if errors.Is(err, pgx.ErrNoRows) {
			return stale(ctx, tx, id, version)
		}
		if err != nil {
			return err
		}
		b := &pgx.Batch{}
		for i, c := range cs {
			c.DocumentID, c.Seq, c.Version = id, total-len(cs)+i+1, newVersion
			out[i] = c
			b.Queue(`INSERT INTO corrections (document_id, seq, version, op, field, before, after, item, box, reason, api_key_id, actor)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id, created_at`,
				id, c.Seq, c.Version, c.Op, c.Field, c.Before, c.After, c.Item, c.Box, c.Reason, c.KeyID, c.By).
				QueryRow(func(r pgx.Row) error { return r.Scan(&out[i].ID, &out[i].At) })
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return nil, fmt.Errorf("store: saving corrections of %s: %w", short(id), err)
	}
	return out, nil
}

// SetCurrent keeps the current values replayed on a newer extraction (see
// ReviewState.Current), if the document is still at version and they are
// still missing. It does not move the version: the values follow from
// what is stored.
func (s *Store) SetCurrent(ctx context.Context, id string, version int, current pipeline.Extraction) error {
	cur, err := json.Marshal(current)
	if err != nil {
		return invalid("current values: %v", err)
	}
	_, err = s.pool.Exec(ctx, `UPDATE review_documents SET current = $3, vendor = $4
WHERE document_id = $1 AND version = $2 AND current IS NULL`, id, version, cur, current.Fields["vendor_name"].Value)
	return err
}

// DecisionHook runs in the transaction that keeps a decision, after it:
// what must happen with it or not at all (queueing its webhooks).
type DecisionHook func(ctx context.Context, tx pgx.Tx, d pipeline.Decision) error

// Decide keeps a decision (d's Decision, Reason, By and KeyID) on a
// document read at version, with its values as decided (the current
// values), in one transaction: the version moves by one and the state
// becomes the decision's; the decision records when the document entered
// the queue and its corrections so far (how many, which fields). hook,
// when not nil, runs in the same transaction. It fails with ErrStale when
// the document is no longer at version. It returns the decision as kept.
func (s *Store) Decide(ctx context.Context, id string, version int, d pipeline.Decision, values pipeline.Extraction, hook DecisionHook) (pipeline.Decision, error) {
	if d.Decision != pipeline.DecisionApproved && d.Decision != pipeline.DecisionRejected {
		return d, invalid("decision %q: want approved or rejected", d.Decision)
	}
	vals, err := json.Marshal(values)
	if err != nil {
		return d, invalid("values: %v", err)
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `UPDATE review_documents SET version = version + 1, state = $3, current = coalesce(current, $4),
    updated_at = now()
WHERE document_id = $1 AND version = $2 RETURNING version, schema_name, coalesce(queued_at, first_seen), corrections`,
			id, version, d.Decision, vals).Scan(&d.Version, &d.Schema, &d.QueuedAt, &d.Corrections)
		if errors.Is(err, pgx.ErrNoRows) {
			return stale(ctx, tx, id, version)
		}
		if err != nil {
			return err
		}
		d.DocumentID = id
		err = tx.QueryRow(ctx, `INSERT INTO review_decisions (document_id, version, decision, reason, schema_name, api_key_id, actor,
    queued_at, corrections, corrected_fields, "values")
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,
    (SELECT coalesce(array_agg(DISTINCT substring(field FROM '^[A-Za-z_][A-Za-z0-9_]*') ORDER BY substring(field FROM '^[A-Za-z_][A-Za-z0-9_]*')), '{}')
     FROM corrections WHERE document_id = $1), $10)
RETURNING id, created_at, corrected_fields`,
			id, d.Version, d.Decision, d.Reason, d.Schema, d.KeyID, d.By, d.QueuedAt, d.Corrections, vals).Scan(&d.ID, &d.At, &d.CorrectedFields)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "UPDATE review_documents SET decision_id = $2, decided_at = $3 WHERE document_id = $1", id, d.ID, d.At); err != nil {
			return err
		}
		if hook != nil {
			return hook(ctx, tx, d)
		}
		return nil
	})
	if err != nil {
		return d, fmt.Errorf("store: deciding on %s: %w", short(id), err)
	}
	return d, nil
}

// ReviewQueue returns a page of the review queue. Keyset paging over
// (result time, document id) on a partial index of the pending documents
// with a reason keeps a page cheap however long the queue is.
func (s *Store) ReviewQueue(ctx context.Context, q pipeline.QueueQuery) (pipeline.QueuePage, error) {
	page := pipeline.QueuePage{Items: []pipeline.QueueItem{}, Counts: map[string]int{}}
	if q.Reason != "" && !pipeline.IsReviewReason(q.Reason) {
		return page, invalid("reason %q: want one of %s", q.Reason, strings.Join(pipeline.ReviewReasons, ", "))
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 500)
	var afterAt time.Time
	var afterID string
	if q.After != "" {
		var err error
		if afterAt, afterID, err = parseCursor(q.After); err != nil {
			return page, err
		}
	}
	vendor := ""
	if q.Vendor != "" {
		vendor = "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(q.Vendor) + "%"
	}
	// $1 schema, $2 vendor pattern, $3 run, $4 reason.
	const selected = `FROM review_documents r
WHERE r.state = 'pending' AND r.reasons <> '{}'
    AND ($1 = '' OR r.schema_name = $1)
    AND ($2 = '' OR r.vendor ILIKE $2)
    AND ($3 = '' OR EXISTS (SELECT 1 FROM results x WHERE x.run_id = $3 AND x.document_id = r.document_id))`
	b := &pgx.Batch{}
	b.Queue(`SELECT r.document_id, r.file, r.schema_name, r.run_id, r.status, r.error, r.vendor, r.reasons, r.confidence,
    r.version, r.corrections, r.queued_at, r.result_at,
    (SELECT coalesce(jsonb_object_agg(k, v ->> 'value'), '{}') FROM jsonb_each(CASE WHEN jsonb_typeof(coalesce(r.current, r.extraction) -> 'fields') = 'object'
        THEN coalesce(r.current, r.extraction) -> 'fields' ELSE '{}' END) AS e (k, v))
`+selected+`
    AND ($4 = '' OR $4 = ANY (r.reasons))
    AND ($5::timestamptz IS NULL OR (r.result_at, r.document_id) < ($5, $6))
ORDER BY r.result_at DESC, r.document_id DESC LIMIT $7`,
		q.Schema, vendor, q.Run, q.Reason, nullTime(afterAt), afterID, limit+1).Query(func(rows pgx.Rows) error {
		items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (pipeline.QueueItem, error) {
			var it pipeline.QueueItem
			err := r.Scan(&it.DocumentID, &it.File, &it.Schema, &it.RunID, &it.Status, &it.Error, &it.Vendor, &it.Reasons,
				&it.Confidence, &it.Version, &it.Corrections, &it.QueuedAt, &it.ResultAt, &it.Values)
			return it, err
		})
		if err != nil {
			return err
		}
		if len(items) > limit {
			last := items[limit-1]
			page.Next = cursor(last.ResultAt, last.DocumentID)
			items = items[:limit]
		}
		page.Items = items
		return nil
	})
	b.Queue(`SELECT reason, count(*) FROM (SELECT r.reasons `+selected+`) s CROSS JOIN LATERAL unnest(s.reasons) AS reason GROUP BY reason`,
		q.Schema, vendor, q.Run).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var reason string
			var n int
			if err := rows.Scan(&reason, &n); err != nil {
				return err
			}
			page.Counts[reason] = n
		}
		return rows.Err()
	})
	b.Queue(`SELECT count(*) `+selected+` AND ($4 = '' OR $4 = ANY (r.reasons))`, q.Schema, vendor, q.Run, q.Reason).
		QueryRow(func(r pgx.Row) error { return r.Scan(&page.Total) })
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return page, fmt.Errorf("store: the review queue: %w", err)
	}
	for _, r := range pipeline.ReviewReasons {
		page.Counts[r] += 0
	}
	return page, nil
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// cursor encodes a queue position.
func cursor(at time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at.UnixMicro(), 10) + "|" + id))
}

func parseCursor(s string) (time.Time, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		at, id, ok := strings.Cut(string(b), "|")
		if us, perr := strconv.ParseInt(at, 10, 64); ok && perr == nil && id != "" {
			return time.UnixMicro(us), id, nil
		}
	}
	return time.Time{}, "", invalid("cursor %q is not one this server gave", s)
}

// Approved is an approved document as decided.
type Approved struct {
	DocumentID string
	File       string
	Schema     string
	Version    int
	ApprovedAt time.Time
	ApprovedBy string
	Values     pipeline.Extraction
}

// ApprovedDocuments returns the documents whose latest decision is an
// approval made at or after since, of a schema ("" for any), with the
// values they were approved with, in the order they were approved.
func (s *Store) ApprovedDocuments(ctx context.Context, since time.Time, schema string) ([]Approved, error) {
	rows, err := s.pool.Query(ctx, `SELECT r.document_id, r.file, r.schema_name, d.version, d.created_at, d.actor, d."values"
FROM review_documents r JOIN review_decisions d ON d.id = r.decision_id
WHERE r.state = 'approved' AND d.created_at >= $1 AND ($2 = '' OR r.schema_name = $2)
ORDER BY d.created_at, d.id`, since, schema)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Approved, error) {
		var a Approved
		var vals []byte
		if err := r.Scan(&a.DocumentID, &a.File, &a.Schema, &a.Version, &a.ApprovedAt, &a.ApprovedBy, &vals); err != nil {
			return a, err
		}
		return a, json.Unmarshal(vals, &a.Values)
	})
}

// LatestDecisions returns every decided document's latest decision made
// at or after since, of a schema ("" for any), oldest first: what the
// review metrics measure.
func (s *Store) LatestDecisions(ctx context.Context, since time.Time, schema string) ([]pipeline.Decision, error) {
	rows, err := s.pool.Query(ctx, `SELECT d.id, d.document_id, d.version, d.decision, d.schema_name, d.reason, d.actor, d.api_key_id,
    d.created_at, d.queued_at, d.corrections, d.corrected_fields
FROM review_documents r JOIN review_decisions d ON d.id = r.decision_id
WHERE r.state <> 'pending' AND d.created_at >= $1 AND ($2 = '' OR r.schema_name = $2)
ORDER BY d.created_at, d.id`, since, schema)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanDecision)
}
