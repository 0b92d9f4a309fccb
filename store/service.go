package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/extractor-dev/extractor/pipeline"
	"github.com/extractor-dev/extractor/tracing"
)

// ErrNotFound: no such key, document, run or upload.
var ErrNotFound = pipeline.Kind("store: not found", pipeline.ErrNotFound)

// ErrUnauthorized: the API key is malformed, unknown or revoked. The error
// never says which.
var ErrUnauthorized = pipeline.Kind("store: invalid API key", pipeline.ErrUnauthorized)

// APIKey is an API key as stored: never its secret.
type APIKey struct {
	ID       string     `json:"id"`
	Name     string     `json:"name"`
	Created  time.Time  `json:"created"`
	Revoked  *time.Time `json:"revoked,omitempty"`
	LastUsed *time.Time `json:"last_used,omitempty"`
}

const keyPrefix = "exk_"

var keyPattern = regexp.MustCompile(`^exk_([a-z0-9]{8,32})_([A-Za-z0-9]{43})$`)

func keyHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// CreateKey makes an API key: the token is shown once, to be given to its
// user; only its hash is stored.
func (s *Store) CreateKey(ctx context.Context, name string) (token string, key APIKey, err error) {
	if len(name) > 200 {
		return "", key, invalid("a key name of %d bytes (at most 200)", len(name))
	}
	var b [40]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", key, err
	}
	const alnum = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	id := make([]byte, 8)
	for i := range id {
		id[i] = alnum[int(b[i])%36] // lower-case letters and digits
	}
	secret := make([]byte, 43)
	var r [43]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", key, err
	}
	for i := range secret {
		secret[i] = alnum[int(r[i])%len(alnum)]
	}
	token = keyPrefix + string(id) + "_" + string(secret)
	key = APIKey{ID: string(id), Name: name}
	err = s.pool.QueryRow(ctx, "INSERT INTO api_keys (id, name, hash) VALUES ($1, $2, $3) RETURNING created_at",
		key.ID, name, keyHash(token)).Scan(&key.Created)
	if err != nil {
		return "", key, fmt.Errorf("store: creating a key: %w", err)
	}
	return token, key, nil
}

// ListKeys lists the keys, newest first.
func (s *Store) ListKeys(ctx context.Context) ([]APIKey, error) {
	rows, err := s.pool.Query(ctx, "SELECT id, name, created_at, revoked_at, last_used_at FROM api_keys ORDER BY created_at DESC, id")
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (APIKey, error) {
		var k APIKey
		err := r.Scan(&k.ID, &k.Name, &k.Created, &k.Revoked, &k.LastUsed)
		return k, err
	})
}

// RevokeKey revokes a key (by id, or the whole token): it authenticates no
// more. Revoking a revoked key is not an error.
func (s *Store) RevokeKey(ctx context.Context, id string) error {
	if m := keyPattern.FindStringSubmatch(id); m != nil {
		id = m[1]
	}
	tag, err := s.pool.Exec(ctx, "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1", id)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("key %q: %w", id, ErrNotFound)
	}
	return nil
}

// Authenticate returns the key a bearer token is, comparing hashes in
// constant time. Its last use is recorded at most once a minute.
func (s *Store) Authenticate(ctx context.Context, token string) (APIKey, error) {
	m := keyPattern.FindStringSubmatch(token)
	if m == nil {
		return APIKey{}, ErrUnauthorized
	}
	var k APIKey
	var hash string
	err := s.pool.QueryRow(ctx, "SELECT id, name, hash, created_at, revoked_at, last_used_at FROM api_keys WHERE id = $1", m[1]).
		Scan(&k.ID, &k.Name, &hash, &k.Created, &k.Revoked, &k.LastUsed)
	if errors.Is(err, pgx.ErrNoRows) {
		// Hash anyway, so an unknown id takes as long as a wrong secret.
		subtle.ConstantTimeCompare([]byte(keyHash(token)), []byte(strings.Repeat("0", 64)))
		return APIKey{}, ErrUnauthorized
	}
	if err != nil {
		return APIKey{}, err
	}
	if subtle.ConstantTimeCompare([]byte(keyHash(token)), []byte(hash)) != 1 || k.Revoked != nil {
		return APIKey{}, ErrUnauthorized
	}
	if k.LastUsed == nil || time.Since(*k.LastUsed) > time.Minute {
		_, _ = s.pool.Exec(ctx, "UPDATE api_keys SET last_used_at = now() WHERE id = $1", k.ID)
	}
	return k, nil
}

// SaveUpload keeps an uploaded file for the workers, by its SHA-256 (the
// same bytes are kept once).
func (s *Store) SaveUpload(ctx context.Context, sha, name string, content []byte) error {
	if !docIDPattern.MatchString(sha) {
		return invalid("upload id %q", sha)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO uploads (sha256, name, size, content) VALUES ($1, $2, $3, $4)
ON CONFLICT (sha256) DO NOTHING`, sha, name, len(content), content)
	if err != nil {
		return fmt.Errorf("store: saving upload %s: %w", short(sha), err)
	}
	return nil
}

// Upload returns an uploaded file.
func (s *Store) Upload(ctx context.Context, sha string) (name string, content []byte, err error) {
	err = s.pool.QueryRow(ctx, "SELECT name, content FROM uploads WHERE sha256 = $1", sha).Scan(&name, &content)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil, fmt.Errorf("upload %s: %w", short(sha), ErrNotFound)
	}
	return name, content, err
}

// ClaimIdempotencyKey claims an idempotency key of an API key inside tx.
// When the key is new, it is held (other claims of it wait for tx) and
// claimed is true: record the job with SetIdempotentJob. When it was used,
// jobID is its job and sameRequest says whether its request hash matches.
func ClaimIdempotencyKey(ctx context.Context, tx pgx.Tx, apiKeyID, key, requestHash string) (claimed bool, jobID int64, sameRequest bool, err error) {
	err = tx.QueryRow(ctx, `INSERT INTO idempotency_keys (api_key_id, key, request_hash, job_id) VALUES ($1, $2, $3, 0)
ON CONFLICT (api_key_id, key) DO NOTHING RETURNING true`, apiKeyID, key, requestHash).Scan(&claimed)
	if err == nil {
		return true, 0, true, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return false, 0, false, err
	}
	var hash string
	if err := tx.QueryRow(ctx, "SELECT request_hash, job_id FROM idempotency_keys WHERE api_key_id = $1 AND key = $2",
		apiKeyID, key).Scan(&hash, &jobID); err != nil {
		return false, 0, false, err
	}
	return false, jobID, hash == requestHash, nil
}

// SetIdempotentJob records the job a claimed idempotency key made.
func SetIdempotentJob(ctx context.Context, tx pgx.Tx, apiKeyID, key string, jobID int64) error {
	_, err := tx.Exec(ctx, "UPDATE idempotency_keys SET job_id = $3 WHERE api_key_id = $1 AND key = $2", apiKeyID, key, jobID)
	return err
}

// DocumentInfo is a stored document with its extractions.
type DocumentInfo struct {
	ID          string            `json:"id"`
	Source      string            `json:"source"`
	Size        int64             `json:"size"`
	Parser      string            `json:"parser"`
	Pages       int               `json:"pages"`
	TextPages   int               `json:"text_pages"`
	Status      string            `json:"status"`
	Meta        map[string]string `json:"meta"`
	Warnings    []string          `json:"warnings"`
	LastRunID   string            `json:"last_run_id"`
	FirstSeen   time.Time         `json:"first_seen"`
	LastSeen    time.Time         `json:"last_seen"`
	Chunks      int               `json:"chunks"`
	Extractions []ExtractionInfo  `json:"extractions"`
}

// ExtractionInfo is one stored extraction of a document (newest first).
type ExtractionInfo struct {
	ID               int64               `json:"id"`
	RunID            string              `json:"run_id"`
	Schema           string              `json:"schema"`
	SchemaVersion    string              `json:"schema_version"`
	ExtractorVersion string              `json:"extractor_version"`
	Created          time.Time           `json:"created"`
	Extraction       pipeline.Extraction `json:"extraction"`
}

// Document returns a stored document and its extractions, newest first.
func (s *Store) Document(ctx context.Context, id string) (DocumentInfo, error) {
	var d DocumentInfo
	if !docIDPattern.MatchString(id) {
		return d, fmt.Errorf("document %q: %w", id, ErrNotFound)
	}
	err := s.pool.QueryRow(ctx, `SELECT id, source, size, parser, pages, text_pages, status, meta, warnings, last_run_id,
    first_seen, last_seen, (SELECT count(*) FROM chunks WHERE document_id = d.id)
FROM documents d WHERE id = $1`, id).Scan(&d.ID, &d.Source, &d.Size, &d.Parser, &d.Pages, &d.TextPages, &d.Status,
		&d.Meta, &d.Warnings, &d.LastRunID, &d.FirstSeen, &d.LastSeen, &d.Chunks)
	if errors.Is(err, pgx.ErrNoRows) {
		return d, fmt.Errorf("document %s: %w", short(id), ErrNotFound)
	}
	if err != nil {
		return d, err
	}
	rows, err := s.pool.Query(ctx, `SELECT id, run_id, schema_name, schema_version, extractor_version, created_at, extraction
FROM extractions WHERE document_id = $1 ORDER BY created_at DESC, id DESC`, id)
	if err != nil {
		return d, err
	}
	d.Extractions, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (ExtractionInfo, error) {
		var x ExtractionInfo
		var raw []byte
		if err := r.Scan(&x.ID, &x.RunID, &x.Schema, &x.SchemaVersion, &x.ExtractorVersion, &x.Created, &raw); err != nil {
			return x, err
		}
		return x, json.Unmarshal(raw, &x.Extraction)
	})
	return d, err
}

// Pages returns a stored document's pages with their lines.
func (s *Store) Pages(ctx context.Context, id string) ([]pipeline.Page, error) {
	rows, err := s.pool.Query(ctx, "SELECT number, status, width, height, error, lines, ocr FROM pages WHERE document_id = $1 ORDER BY number", id)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (pipeline.Page, error) {
		var p pipeline.Page
		var status string
		var lines, ocr []byte
		if err := r.Scan(&p.Number, &status, &p.Width, &p.Height, &p.Error, &lines, &ocr); err != nil {
			return p, err
		}
		p.Status = pipeline.PageStatus(status)
		if ocr != nil {
			if err := json.Unmarshal(ocr, &p.OCR); err != nil {
				return p, err
			}
		}
		return p, json.Unmarshal(lines, &p.Lines)
	})
}

// Run returns a stored run and its step records.
func (s *Store) Run(ctx context.Context, id string) (pipeline.Run, []pipeline.StepRecord, error) {
	var run pipeline.Run
	var manifest []byte
	err := s.pool.QueryRow(ctx, "SELECT manifest FROM runs WHERE id = $1", id).Scan(&manifest)
	if errors.Is(err, pgx.ErrNoRows) {
		return run, nil, fmt.Errorf("run %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return run, nil, err
	}
	if err := json.Unmarshal(manifest, &run); err != nil {
		return run, nil, err
	}
	steps, err := s.StepRecords(ctx, id)
	return run, steps, err
}

// RunManifests returns every stored run's manifest (history.Records).
func (s *Store) RunManifests(ctx context.Context) ([]pipeline.Run, error) {
	return queryJSON[pipeline.Run](ctx, s.pool, "SELECT manifest FROM runs ORDER BY started, id")
}

// ResultLines returns a run's result lines (history.Records), in the
// order they were first written.
func (s *Store) ResultLines(ctx context.Context, runID string) ([]pipeline.ResultLine, error) {
	return queryJSON[pipeline.ResultLine](ctx, s.pool, "SELECT line FROM results WHERE run_id = $1 ORDER BY created_at, file, document_id", runID)
}

// Runs lists the newest runs.
func (s *Store) Runs(ctx context.Context, limit int) ([]pipeline.Run, error) {
	return queryJSON[pipeline.Run](ctx, s.pool, "SELECT manifest FROM runs ORDER BY started DESC, id DESC LIMIT $1", max(1, min(limit, 1000)))
}

// Spans returns the stored spans of a trace, in start order.
func (s *Store) Spans(ctx context.Context, traceID string) ([]tracing.Span, error) {
	return queryJSON[tracing.Span](ctx, s.pool, "SELECT record FROM spans WHERE trace_id = $1 ORDER BY start_time, span_id", traceID)
}

// ResultRow is one document's result line in a run.
type ResultRow struct {
	RunID      string              `json:"run_id"`
	DocumentID string              `json:"document_id"`
	File       string              `json:"file"`
	Status     string              `json:"status"`
	DurationMS int64               `json:"duration_ms"`
	CostUSD    float64             `json:"cost_usd"`
	TraceID    string              `json:"trace_id"`
	Result     pipeline.ResultLine `json:"line"`
}

// SaveResult keeps a result line (one line of 'extractor run'): saving the
// same run's document again replaces it. A finished line (ok or failed)
// also becomes the document's review state in the same transaction (see
// saveReviewState): its reasons for review, its latest extraction, and a
// new version when the extraction changed.
func (s *Store) SaveResult(ctx context.Context, head pipeline.ResultLine) error {
	if head.RunID == "" || head.Status == "" {
		return invalid("result line without run_id or status")
	}
	line, err := json.Marshal(head)
	if err != nil {
		return invalid("result line: %v", err)
	}
	doc := head.Key()
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO results (run_id, document_id, file, status, duration_ms, cost_usd, trace_id, line)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (run_id, document_id) DO UPDATE SET file = excluded.file, status = excluded.status,
    duration_ms = excluded.duration_ms, cost_usd = excluded.cost_usd, trace_id = excluded.trace_id, line = excluded.line`,
		head.RunID, doc, head.File, head.Status, head.DurationMS, head.Usage.CostUSD, head.TraceID, line)
	if head.Done() {
		if err := queueReviewState(b, head); err != nil {
			return err
		}
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return tx.SendBatch(ctx, b).Close() })
	if err != nil {
		return fmt.Errorf("store: saving the result of %s: %w", short(doc), err)
	}
	return nil
}

// Results returns a run's result lines, in file order.
func (s *Store) Results(ctx context.Context, runID string) ([]ResultRow, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+resultColumns+` FROM results WHERE run_id = $1 ORDER BY file, document_id`, runID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanResult)
}

// Result is one document's result line in a run (ErrNotFound when there
// is none).
func (s *Store) Result(ctx context.Context, runID, documentID string) (ResultRow, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+resultColumns+` FROM results WHERE run_id = $1 AND document_id = $2`, runID, documentID)
	if err != nil {
		return ResultRow{}, err
	}
	x, err := pgx.CollectExactlyOneRow(rows, scanResult)
	if errors.Is(err, pgx.ErrNoRows) {
		return x, fmt.Errorf("result of %s in run %s: %w", documentID, runID, ErrNotFound)
	}
	return x, err
}

const resultColumns = "run_id, document_id, file, status, duration_ms, cost_usd, trace_id, line"

func scanResult(r pgx.CollectableRow) (ResultRow, error) {
	var x ResultRow
	err := r.Scan(&x.RunID, &x.DocumentID, &x.File, &x.Status, &x.DurationMS, &x.CostUSD, &x.TraceID, &x.Result)
	return x, err
}

// queryJSON runs a query whose rows are one JSON column each and decodes
// every row into a T.
func queryJSON[T any](ctx context.Context, pool *pgxpool.Pool, sql string, args ...any) ([]T, error) {
	rows, err := pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (T, error) {
		var v T
		var raw []byte
		if err := r.Scan(&raw); err != nil {
			return v, err
		}
		return v, json.Unmarshal(raw, &v)
	})
}
