package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/extractor-dev/extractor/extract"
	"github.com/extractor-dev/extractor/pipeline"
	rev "github.com/extractor-dev/extractor/review"
	"github.com/extractor-dev/extractor/server"
	"github.com/extractor-dev/extractor/store"
	"github.com/extractor-dev/extractor/webhook"
)

// reviewLoop is the review loop behind the API (server.ReviewQueue,
// Corrections, ReviewRecords, Webhooks): the store keeps the records, the
// review package checks and applies corrections, the queue delivers the
// webhooks.
type reviewLoop struct {
	st      *store.Store
	queue   *store.Queue // nil: no webhook events
	schemas rev.Schemas
}

// schemaLookup finds a schema by name: a built-in one, or one of the
// configured schema files.
func schemaLookup(configured ...string) rev.Schemas {
	return func(name string) (pipeline.Schema, bool) {
		if s, err := extract.Builtin(name); err == nil {
			return s, true
		}
		for _, c := range configured {
			if c == "" || !strings.ContainsAny(c, "/.") {
				continue
			}
			if s, err := extract.LoadSchema(c); err == nil && s.Name == name {
				return s, true
			}
		}
		return pipeline.Schema{}, false
	}
}

// notFound says that a document has no review state in the server's
// terms.
func reviewNotFound(err error, id string) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: document %s has no finished result to review", server.ErrNotFound, pipeline.Printable(id, 80))
	}
	return err
}

// state reads a document's review state and its current values: kept, or
// replayed on a newer extraction (and kept for the next reader).
func (r reviewLoop) state(ctx context.Context, id string) (store.ReviewState, pipeline.Extraction, error) {
	st, err := r.st.ReviewState(ctx, id)
	if err != nil {
		return st, pipeline.Extraction{}, reviewNotFound(err, id)
	}
	if st.Current != nil {
		return st, *st.Current, nil
	}
	cs, err := r.st.Corrections(ctx, id)
	if err != nil {
		return st, pipeline.Extraction{}, err
	}
	schema, _ := r.schemas(st.Schema)
	cur, _ := rev.Replay(schema, st.Extraction, cs)
	if err := r.st.SetCurrent(ctx, id, st.Version, cur); err != nil {
		return st, cur, err
	}
	return st, cur, nil
}

// view is a document's review state as the API shows it.
func (r reviewLoop) view(ctx context.Context, st store.ReviewState, cur pipeline.Extraction) (server.ReviewDocument, error) {
	d := server.ReviewDocument{DocumentID: st.DocumentID, Schema: st.Schema, RunID: st.RunID, File: st.File, Status: st.Status, Error: st.Error,
		TraceID: st.TraceID, State: st.State, Version: st.Version, Reasons: st.Reasons, Confidence: st.Confidence, Values: cur,
		Corrections: st.Corrections, QueuedAt: st.QueuedAt, ResultAt: st.ResultAt, DecidedAt: st.DecidedAt}
	if d.Values.Fields == nil {
		d.Values.Fields = map[string]pipeline.Field{}
	}
	if st.DecidedAt != nil {
		ds, err := r.st.Decisions(ctx, st.DocumentID)
		if err != nil {
			return d, err
		}
		if len(ds) > 0 {
			d.Decision = &ds[len(ds)-1]
		}
	}
	return d, nil
}

// Queue is the review queue (server.ReviewQueue).
func (r reviewLoop) Queue(ctx context.Context, q pipeline.QueueQuery) (pipeline.QueuePage, error) {
	return r.st.ReviewQueue(ctx, q)
}

// Values are a document's current values (server.Corrections).
func (r reviewLoop) Values(ctx context.Context, id string) (server.ReviewDocument, error) {
	st, cur, err := r.state(ctx, id)
	if err != nil {
		return server.ReviewDocument{}, err
	}
	return r.view(ctx, st, cur)
}

// stale turns the store's lost race into the API's 412.
func stale(err error) error {
	if errors.Is(err, store.ErrStale) {
		return fmt.Errorf("%w: %v", server.ErrPreconditionFailed, err)
	}
	return err
}

// Correct checks and applies changes (server.Corrections).
func (r reviewLoop) Correct(ctx context.Context, p server.Principal, id string, pre server.Precondition, req server.CorrectionRequest) (server.ReviewDocument, error) {
	st, cur, err := r.state(ctx, id)
	if err != nil {
		return server.ReviewDocument{}, err
	}
	if !pre.Holds(st.Version) {
		return server.ReviewDocument{}, fmt.Errorf("%w: the values are at %s", server.ErrPreconditionFailed, server.ETag(st.Version))
	}
	schema, ok := r.schemas(st.Schema)
	if !ok {
		return server.ReviewDocument{}, fmt.Errorf("%w: the document's schema %q is not one this server knows (built in, or the configured schema file)",
			server.ErrUnprocessable, st.Schema)
	}
	doc := pipeline.Document{ID: st.DocumentID}
	changes := make([]pipeline.Change, len(req.Changes))
	for i, c := range req.Changes {
		if c.Reason == "" {
			c.Reason = req.Reason
		}
		changes[i] = c
		if c.Evidence != nil && doc.Pages == nil {
			if doc.Pages, err = r.st.Pages(ctx, st.DocumentID); err != nil {
				return server.ReviewDocument{}, err
			}
		}
	}
	x, cs, err := rev.Apply(doc, schema, cur, changes)
	var re *rev.Error
	if errors.As(err, &re) {
		ve := &server.ValidationError{Part: "body"}
		for _, pr := range re.Problems {
			ve.Errors = append(ve.Errors, server.FieldError{Pointer: pr.Pointer, Detail: pr.Detail})
		}
		return server.ReviewDocument{}, ve
	}
	if err != nil {
		return server.ReviewDocument{}, err
	}
	if len(cs) == 0 { // nothing changes: the values as they are
		return r.view(ctx, st, cur)
	}
	for i := range cs {
		cs[i].By, cs[i].KeyID = p.Name, p.KeyID
	}
	if _, err := r.st.SaveCorrections(ctx, id, st.Version, cs, x); err != nil {
		return server.ReviewDocument{}, stale(err)
	}
	return r.Values(ctx, id)
}

// Decide approves or rejects (server.Corrections); the webhooks of the
// decision are queued in its transaction.
func (r reviewLoop) Decide(ctx context.Context, p server.Principal, id string, pre server.Precondition, req server.DecisionRequest) (server.ReviewDocument, error) {
	st, cur, err := r.state(ctx, id)
	if err != nil {
		return server.ReviewDocument{}, err
	}
	if !pre.Holds(st.Version) {
		return server.ReviewDocument{}, fmt.Errorf("%w: the values are at %s", server.ErrPreconditionFailed, server.ETag(st.Version))
	}
	var hook store.DecisionHook
	if r.queue != nil {
		schema, known := r.schemas(st.Schema)
		hook = func(ctx context.Context, tx pgx.Tx, d pipeline.Decision) error {
			_, err := r.queue.NotifyTx(ctx, tx, "document."+d.Decision, decisionEvent{DocumentID: d.DocumentID, Decision: d.Decision, Reason: d.Reason,
				Version: d.Version, Schema: d.Schema, File: st.File, By: d.By, At: d.At, Values: rev.Values(schema, known, cur)})
			return err
		}
	}
	_, err = r.st.Decide(ctx, id, st.Version, pipeline.Decision{Decision: req.Decision, Reason: req.Reason, By: p.Name, KeyID: p.KeyID}, cur, hook)
	if err != nil {
		return server.ReviewDocument{}, stale(err)
	}
	return r.Values(ctx, id)
}

// decisionEvent is the data of document.approved and document.rejected.
type decisionEvent struct {
	DocumentID string         `json:"document_id"`
	Decision   string         `json:"decision"`
	Reason     string         `json:"reason,omitempty"`
	Version    int            `json:"version"`
	Schema     string         `json:"schema"`
	File       string         `json:"file"`
	By         string         `json:"by"`
	At         time.Time      `json:"at"`
	Values     map[string]any `json:"values"`
}

// jobEvent is the data of job.completed.
type jobEvent struct {
	JobID       int64  `json:"job_id"`
	State       string `json:"state"`
	Attempt     int    `json:"attempt"`
	DocumentID  string `json:"document_id,omitempty"`
	Status      string `json:"status,omitempty"`
	NeedsReview bool   `json:"needs_review"`
	RunID       string `json:"run_id,omitempty"`
	TraceID     string `json:"trace_id,omitempty"`
	Error       string `json:"error,omitempty"`
}

// History is what people did to a document (server.ReviewRecords).
func (r reviewLoop) History(ctx context.Context, id string) (server.ReviewHistory, error) {
	if _, err := r.st.ReviewState(ctx, id); err != nil {
		return server.ReviewHistory{}, reviewNotFound(err, id)
	}
	cs, err := r.st.Corrections(ctx, id)
	if err != nil {
		return server.ReviewHistory{}, err
	}
	ds, err := r.st.Decisions(ctx, id)
	if err != nil {
		return server.ReviewHistory{}, err
	}
	if cs == nil {
		cs = []pipeline.Correction{}
	}
	if ds == nil {
		ds = []pipeline.Decision{}
	}
	return server.ReviewHistory{DocumentID: id, Corrections: cs, Decisions: ds}, nil
}

// Export writes the approved documents (server.ReviewRecords).
func (r reviewLoop) Export(ctx context.Context, q server.ExportQuery, w io.Writer) error {
	_, err := exportApproved(ctx, r.st, r.schemas, q.Format, q.Since, q.Schema, w)
	return err
}

// exportApproved writes the approved documents as CSV or JSON lines: what
// 'extractor export --approved' and GET /v1/exports/approved write, and
// how many. It reads them all before writing.
func exportApproved(ctx context.Context, st *store.Store, schemas rev.Schemas, format string, since time.Time, schema string, w io.Writer) (int, error) {
	rows, err := st.ApprovedDocuments(ctx, since, schema)
	if err != nil {
		return 0, err
	}
	docs := make([]rev.Approved, len(rows))
	for i, a := range rows {
		docs[i] = rev.Approved(a)
	}
	if format == "csv" {
		return len(docs), rev.WriteCSV(w, schemas, docs)
	}
	return len(docs), rev.WriteJSONL(w, schemas, docs)
}

// Metrics measures the review loop (server.ReviewRecords).
func (r reviewLoop) Metrics(ctx context.Context, q server.MetricsQuery) (server.ReviewMetrics, error) {
	m, pending, err := measure(ctx, r.st, r.schemas, q.Since, q.Schema)
	if err != nil {
		return server.ReviewMetrics{}, err
	}
	out := server.ReviewMetrics{Decided: m.Decided, Approved: m.Approved, Rejected: m.Rejected, Touchless: m.Touchless, TouchlessRate: m.TouchlessRate,
		Fields: make([]server.FieldRate, len(m.Fields)), TimeToReview: server.ReviewDurations(m.TimeToReview), Weeks: make([]server.ReviewWeek, len(m.Weeks)),
		Pending: pending.Total, PendingByReason: pending.Counts}
	for i, f := range m.Fields {
		out.Fields[i] = server.FieldRate(f)
	}
	for i, w := range m.Weeks {
		out.Weeks[i] = server.ReviewWeek{Week: w.Week, Start: w.Start, Decided: w.Decided, Approved: w.Approved, Rejected: w.Rejected,
			Touchless: w.Touchless, TouchlessRate: w.TouchlessRate, Corrections: w.Corrections, TimeToReview: server.ReviewDurations(w.TimeToReview)}
	}
	return out, nil
}

// measure computes the review metrics of the decisions since, of a
// schema, and the queue as it is.
func measure(ctx context.Context, st *store.Store, schemas rev.Schemas, since time.Time, schema string) (rev.Metrics, pipeline.QueuePage, error) {
	ds, err := st.LatestDecisions(ctx, since, schema)
	if err != nil {
		return rev.Metrics{}, pipeline.QueuePage{}, err
	}
	var fields []string
	if s, ok := schemas(schema); ok && schema != "" {
		for _, f := range s.Fields {
			fields = append(fields, f.Name)
		}
	}
	pending, err := st.ReviewQueue(ctx, pipeline.QueueQuery{Schema: schema, Limit: 1})
	if err != nil {
		return rev.Metrics{}, pending, err
	}
	return rev.Measure(ds, fields), pending, nil
}

// CreateWebhook subscribes a URL (server.Webhooks).
func (r reviewLoop) CreateWebhook(ctx context.Context, p server.Principal, req server.WebhookRequest) (server.Webhook, error) {
	var fe []server.FieldError
	if len(req.Events) == 0 {
		fe = append(fe, server.FieldError{Pointer: "/events", Detail: "at least one of " + strings.Join(webhook.Events, ", ")})
	}
	for i, e := range req.Events {
		if !webhook.IsEvent(e) {
			fe = append(fe, server.FieldError{Pointer: fmt.Sprintf("/events/%d", i), Detail: fmt.Sprintf("%q: want one of %s", e, strings.Join(webhook.Events, ", "))})
		}
	}
	if len(fe) > 0 {
		return server.Webhook{}, &server.ValidationError{Part: "body", Errors: fe}
	}
	w, err := r.st.CreateWebhook(ctx, req.URL, req.Events, req.Description, p.KeyID)
	if errors.Is(err, store.ErrInvalid) {
		return server.Webhook{}, &server.ValidationError{Part: "body", Errors: []server.FieldError{{Pointer: "/url", Detail: err.Error()}}}
	}
	if err != nil {
		return server.Webhook{}, err
	}
	out := serverWebhook(w)
	out.Secret = w.Secret
	return out, nil
}

func serverWebhook(w store.Webhook) server.Webhook {
	return server.Webhook{ID: w.ID, URL: w.URL, Events: w.Events, Description: w.Description, Created: w.Created}
}

// Webhooks lists the webhooks (server.Webhooks).
func (r reviewLoop) Webhooks(ctx context.Context) ([]server.Webhook, error) {
	ws, err := r.st.Webhooks(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]server.Webhook, len(ws))
	for i, w := range ws {
		out[i] = serverWebhook(w)
	}
	return out, nil
}

// DeleteWebhook stops a webhook (server.Webhooks).
func (r reviewLoop) DeleteWebhook(ctx context.Context, id int64) error {
	if err := r.st.DeleteWebhook(ctx, id); err != nil {
		return notFound(err, fmt.Sprintf("webhook %d", id))
	}
	return nil
}

// Deliveries lists a webhook's delivery attempts (server.Webhooks).
func (r reviewLoop) Deliveries(ctx context.Context, id int64, limit int) ([]server.WebhookDelivery, error) {
	ds, err := r.st.Deliveries(ctx, id, limit)
	if err != nil {
		return nil, notFound(err, fmt.Sprintf("webhook %d", id))
	}
	out := make([]server.WebhookDelivery, len(ds))
	for i, d := range ds {
		out[i] = server.WebhookDelivery{ID: d.ID, EventID: d.EventID, EventType: d.EventType, Attempt: d.Attempt, StatusCode: d.StatusCode,
			Error: d.Error, Delivered: d.Delivered, DurationMS: d.DurationMS, At: d.At}
	}
	return out, nil
}

// deliver posts an event to a webhook, signed (store.QueueConfig.Deliver).
func deliver(client *http.Client) func(ctx context.Context, w store.Webhook, e store.Event, attempt int) (int, error) {
	sender := webhook.Sender{Client: client}
	return func(ctx context.Context, w store.Webhook, e store.Event, attempt int) (int, error) {
		body, err := webhook.NewBody(e.ID, e.Type, e.Created, e.Data)
		if err != nil {
			return 0, err
		}
		return sender.Send(ctx, w.URL, w.Secret, body, e.Type, fmt.Sprintf("evt_%d", e.ID))
	}
}
