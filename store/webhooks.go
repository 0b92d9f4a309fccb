package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
)

// Webhooks: where to post which events. An event (a job's completion, a
// document's approval) is recorded once and a delivery job queued per
// webhook that subscribes to it, in the transaction of what caused it;
// River retries each delivery with backoff and every attempt is
// recorded. Signing and posting are the caller's (QueueConfig.Deliver).

// Webhook is a subscription: its secret is shown when it is made, never
// listed.
type Webhook struct {
	ID          int64      `json:"id"`
	URL         string     `json:"url"`
	Events      []string   `json:"events"`
	Description string     `json:"description"`
	KeyID       string     `json:"key_id"`
	Created     time.Time  `json:"created"`
	Deleted     *time.Time `json:"deleted,omitempty"`
	// Secret signs the bodies (not in JSON: returned once, on creation).
	Secret string `json:"-"`
}

// Event is something that happened, to be delivered.
type Event struct {
	ID      int64           `json:"id"`
	Type    string          `json:"type"`
	Created time.Time       `json:"created"`
	Data    json.RawMessage `json:"data"`
}

// Delivery is one attempt at delivering an event to a webhook.
type Delivery struct {
	ID         int64     `json:"id"`
	WebhookID  int64     `json:"webhook_id"`
	EventID    int64     `json:"event_id"`
	EventType  string    `json:"event_type"`
	JobID      int64     `json:"job_id"`
	Attempt    int       `json:"attempt"`
	StatusCode int       `json:"status_code"`
	Error      string    `json:"error,omitempty"`
	Delivered  bool      `json:"delivered"`
	DurationMS float64   `json:"duration_ms"`
	At         time.Time `json:"at"`
}

// CreateWebhook subscribes url to events (names the caller checks) and
// returns the webhook with its new secret ("whsec_" and 64 hex digits).
func (s *Store) CreateWebhook(ctx context.Context, rawURL string, events []string, description, keyID string) (Webhook, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return Webhook{}, invalid("webhook url %q: want an absolute http or https URL without credentials", rawURL)
	}
	if len(rawURL) > 2000 || len(description) > 500 {
		return Webhook{}, invalid("webhook url or description too long")
	}
	if len(events) == 0 {
		return Webhook{}, invalid("a webhook needs at least one event")
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return Webhook{}, err
	}
	w := Webhook{URL: rawURL, Events: slices.Compact(slices.Sorted(slices.Values(events))), Description: description, KeyID: keyID,
		Secret: "whsec_" + hex.EncodeToString(b[:])}
	err = s.pool.QueryRow(ctx, `INSERT INTO webhooks (url, events, secret, description, api_key_id) VALUES ($1, $2, $3, $4, $5)
RETURNING id, created_at`, w.URL, w.Events, w.Secret, w.Description, w.KeyID).Scan(&w.ID, &w.Created)
	if err != nil {
		return Webhook{}, fmt.Errorf("store: creating a webhook: %w", err)
	}
	return w, nil
}

const webhookColumns = "id, url, events, description, api_key_id, created_at, deleted_at, secret"

func scanWebhook(r pgx.CollectableRow) (Webhook, error) {
	var w Webhook
	err := r.Scan(&w.ID, &w.URL, &w.Events, &w.Description, &w.KeyID, &w.Created, &w.Deleted, &w.Secret)
	return w, err
}

// Webhooks lists the webhooks not deleted, oldest first.
func (s *Store) Webhooks(ctx context.Context) ([]Webhook, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+webhookColumns+" FROM webhooks WHERE deleted_at IS NULL ORDER BY id")
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanWebhook)
}

// Webhook returns a webhook, deleted or not, with its secret.
func (s *Store) Webhook(ctx context.Context, id int64) (Webhook, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+webhookColumns+" FROM webhooks WHERE id = $1", id)
	if err != nil {
		return Webhook{}, err
	}
	w, err := pgx.CollectExactlyOneRow(rows, scanWebhook)
	if errors.Is(err, pgx.ErrNoRows) {
		return w, fmt.Errorf("webhook %d: %w", id, ErrNotFound)
	}
	return w, err
}

// DeleteWebhook stops a webhook: no more events are queued for it and
// its queued deliveries are dropped. It stays, with its deliveries.
func (s *Store) DeleteWebhook(ctx context.Context, id int64) error {
	tag, err := s.pool.Exec(ctx, "UPDATE webhooks SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL", id)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("webhook %d: %w", id, ErrNotFound)
	}
	return nil
}

// Deliveries returns a webhook's latest delivery attempts, newest first.
func (s *Store) Deliveries(ctx context.Context, webhookID int64, limit int) ([]Delivery, error) {
	if _, err := s.Webhook(ctx, webhookID); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT d.id, d.webhook_id, d.event_id, e.type, d.job_id, d.attempt, d.status_code, d.error,
    d.delivered, d.duration_ms, d.created_at
FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id
WHERE d.webhook_id = $1 ORDER BY d.id DESC LIMIT $2`, webhookID, max(1, min(limit, 1000)))
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Delivery, error) {
		var d Delivery
		err := r.Scan(&d.ID, &d.WebhookID, &d.EventID, &d.EventType, &d.JobID, &d.Attempt, &d.StatusCode, &d.Error,
			&d.Delivered, &d.DurationMS, &d.At)
		return d, err
	})
}

// event returns a recorded event.
func (s *Store) event(ctx context.Context, id int64) (Event, error) {
	var e Event
	err := s.pool.QueryRow(ctx, "SELECT id, type, created_at, data FROM webhook_events WHERE id = $1", id).
		Scan(&e.ID, &e.Type, &e.Created, &e.Data)
	if errors.Is(err, pgx.ErrNoRows) {
		return e, fmt.Errorf("event %d: %w", id, ErrNotFound)
	}
	return e, err
}

func (s *Store) recordDelivery(ctx context.Context, d Delivery) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO webhook_deliveries (webhook_id, event_id, job_id, attempt, status_code, error, delivered, duration_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, d.WebhookID, d.EventID, d.JobID, d.Attempt, d.StatusCode, d.Error, d.Delivered, d.DurationMS)
	return err
}

// WebhookArgs are a delivery job's arguments.
type WebhookArgs struct {
	Webhook int64 `json:"webhook"`
	Event   int64 `json:"event"`
}

// Kind names the job kind for River.
func (WebhookArgs) Kind() string { return "webhook" }

// NotifyTx records an event (data is its JSON) and queues a delivery to
// every webhook subscribed to its type, in tx: the event is delivered if
// and only if what caused it is committed. It returns the event's id (0
// when no webhook subscribes: nothing is recorded).
func (q *Queue) NotifyTx(ctx context.Context, tx pgx.Tx, typ string, data any) (int64, error) {
	rows, err := tx.Query(ctx, "SELECT id FROM webhooks WHERE deleted_at IS NULL AND $1 = ANY (events) ORDER BY id", typ)
	if err != nil {
		return 0, err
	}
	hooks, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil || len(hooks) == 0 {
		return 0, err
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return 0, invalid("event data: %v", err)
	}
	var id int64
	if err := tx.QueryRow(ctx, "INSERT INTO webhook_events (type, data) VALUES ($1, $2) RETURNING id", typ, raw).Scan(&id); err != nil {
		return 0, err
	}
	params := make([]river.InsertManyParams, len(hooks))
	for i, h := range hooks {
		params[i] = river.InsertManyParams{Args: WebhookArgs{Webhook: h, Event: id},
			InsertOpts: &river.InsertOpts{Queue: webhookQueue, MaxAttempts: q.cfg.WebhookAttempts}}
	}
	if _, err := q.client.InsertManyTx(ctx, tx, params); err != nil {
		return 0, fmt.Errorf("store: queueing webhook deliveries: %w", err)
	}
	return id, nil
}

// Notify is NotifyTx in a transaction of its own.
func (q *Queue) Notify(ctx context.Context, typ string, data any) (id int64, err error) {
	err = pgx.BeginFunc(ctx, q.pool, func(tx pgx.Tx) error {
		id, err = q.NotifyTx(ctx, tx, typ, data)
		return err
	})
	return id, err
}
