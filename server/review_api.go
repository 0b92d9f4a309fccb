package server

// The review loop's API: the queue of documents waiting for a person, a
// document's current values with corrections under optimistic
// concurrency (ETag and If-Match), approve and reject, a document's
// history, exports of approved documents, the production metrics, and
// the webhooks that tell other systems. The server owns HTTP (routes,
// preconditions, bodies, problems); what a correction means is the
// implementation's (cmd/extractor wires the review package and the
// store behind these interfaces).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/extractor-dev/extractor/pipeline"
)

// ReviewQueue lists the documents waiting for a person.
type ReviewQueue interface {
	// Queue fails with ErrInvalid for a cursor it did not give.
	Queue(ctx context.Context, q pipeline.QueueQuery) (pipeline.QueuePage, error)
}

// Precondition is what an If-Match header asks: any version (*), or one
// of the versions listed.
type Precondition struct {
	Any      bool
	Versions []int
}

// Holds reports whether the precondition holds at version.
func (p Precondition) Holds(version int) bool {
	if p.Any {
		return true
	}
	for _, v := range p.Versions {
		if v == version {
			return true
		}
	}
	return false
}

// ETag is the entity tag of a document's review version.
func ETag(version int) string { return `"` + strconv.Itoa(version) + `"` }

// etagRe is one entity tag this server gives (strong comparison: a weak
// tag never matches).
var etagRe = regexp.MustCompile(`^"([1-9][0-9]{0,9})"$`)

// parseIfMatch reads an If-Match header: 428 without one. Tags this
// server did not give match nothing (412 later), as RFC 9110 says.
func parseIfMatch(r *http.Request) (Precondition, error) {
	h := strings.TrimSpace(strings.Join(r.Header.Values("If-Match"), ","))
	if h == "" {
		return Precondition{}, fmt.Errorf("%w: send If-Match with the ETag of the document's values you read (GET /v1/documents/{id}/fields)", ErrPreconditionRequired)
	}
	if h == "*" {
		return Precondition{Any: true}, nil
	}
	var p Precondition
	for _, tag := range strings.Split(h, ",") {
		if m := etagRe.FindStringSubmatch(strings.TrimSpace(tag)); m != nil {
			v, _ := strconv.Atoi(m[1])
			p.Versions = append(p.Versions, v)
		}
	}
	return p, nil
}

// Corrections reads and changes a document's current values. Each fails
// with ErrNotFound for a document without a review state (no finished
// result); Correct and Decide with ErrPreconditionFailed when the
// precondition does not hold at the document's version, or the version
// moved while they worked (nothing is then changed), and Correct with a
// *ValidationError (422) listing every change that does not check.
type Corrections interface {
	Values(ctx context.Context, id string) (ReviewDocument, error)
	Correct(ctx context.Context, p Principal, id string, pre Precondition, req CorrectionRequest) (ReviewDocument, error)
	Decide(ctx context.Context, p Principal, id string, pre Precondition, req DecisionRequest) (ReviewDocument, error)
}

// CorrectionRequest is the body of PATCH /v1/documents/{id}/fields: the
// changes, applied in order, and a reason for those that give none.
type CorrectionRequest struct {
	Changes []pipeline.Change `json:"changes"`
	Reason  string            `json:"reason,omitempty"`
}

// DecisionRequest is a decision on a document's values (the body of POST
// .../approve and .../reject holds the reason).
type DecisionRequest struct {
	// Decision is pipeline.DecisionApproved or pipeline.DecisionRejected
	// (from the route).
	Decision string `json:"-"`
	Reason   string `json:"reason,omitempty"`
}

// ReviewDocument is a document's review state and current values: its
// latest extraction with its corrections applied in order.
type ReviewDocument struct {
	DocumentID string `json:"document_id"`
	Schema     string `json:"schema"`
	// RunID, File, Status, Error and TraceID are the latest result's.
	RunID   string `json:"run_id"`
	File    string `json:"file"`
	Status  string `json:"status"`
	Error   string `json:"error,omitempty"`
	TraceID string `json:"trace_id"`
	// State is pending, approved or rejected; Version the version of the
	// values (ETag is its entity tag, also in the ETag header).
	State   string `json:"state"`
	Version int    `json:"version"`
	ETag    string `json:"etag"`
	// Reasons say why the document needs review (none: it does not).
	Reasons    []string `json:"reasons"`
	Confidence float64  `json:"confidence"`
	// Values are the current values.
	Values      pipeline.Extraction `json:"values"`
	Corrections int                 `json:"corrections"`
	QueuedAt    *time.Time          `json:"queued_at"`
	ResultAt    time.Time           `json:"result_at"`
	DecidedAt   *time.Time          `json:"decided_at"`
	// Decision is the latest decision, if any.
	Decision *pipeline.Decision `json:"decision,omitempty"`
}

// ReviewRecords reads what people did. History fails with ErrNotFound
// for a document without a review state.
type ReviewRecords interface {
	History(ctx context.Context, id string) (ReviewHistory, error)
	// Export writes the approved documents in q's format. It must not
	// write before it knows it can answer: until the first byte, an error
	// is a problem response.
	Export(ctx context.Context, q ExportQuery, w io.Writer) error
	Metrics(ctx context.Context, q MetricsQuery) (ReviewMetrics, error)
}

// ReviewHistory is what happened to a document's values: its corrections
// and decisions, in order.
type ReviewHistory struct {
	DocumentID  string                `json:"document_id"`
	Corrections []pipeline.Correction `json:"corrections"`
	Decisions   []pipeline.Decision   `json:"decisions"`
}

// ExportQuery selects approved documents (GET /v1/exports/approved).
type ExportQuery struct {
	// Format is "csv" or "jsonl".
	Format string
	// Since: approved at or after (zero: any time).
	Since  time.Time
	Schema string
}

// MetricsQuery selects the decisions measured (GET /v1/review/metrics).
type MetricsQuery struct {
	Since  time.Time
	Schema string
}

// ReviewMetrics are the review loop's business measures from production
// (review.Metrics).
type ReviewMetrics struct {
	Decided       int             `json:"decided"`
	Approved      int             `json:"approved"`
	Rejected      int             `json:"rejected"`
	Touchless     int             `json:"touchless"`
	TouchlessRate float64         `json:"touchless_rate"`
	Fields        []FieldRate     `json:"fields"`
	TimeToReview  ReviewDurations `json:"time_to_review"`
	Weeks         []ReviewWeek    `json:"weeks"`
	// Pending counts the documents in the review queue, PendingByReason
	// per reason.
	Pending         int            `json:"pending"`
	PendingByReason map[string]int `json:"pending_by_reason"`
}

// FieldRate is how often people corrected a field in approved documents.
type FieldRate struct {
	Field     string  `json:"field"`
	Corrected int     `json:"corrected"`
	Approved  int     `json:"approved"`
	Rate      float64 `json:"rate"`
}

// ReviewDurations summarize durations, in seconds.
type ReviewDurations struct {
	N    int     `json:"n"`
	P50  float64 `json:"p50_seconds"`
	P90  float64 `json:"p90_seconds"`
	Mean float64 `json:"mean_seconds"`
}

// ReviewWeek is one ISO week's measures.
type ReviewWeek struct {
	Week          string          `json:"week"`
	Start         string          `json:"start"`
	Decided       int             `json:"decided"`
	Approved      int             `json:"approved"`
	Rejected      int             `json:"rejected"`
	Touchless     int             `json:"touchless"`
	TouchlessRate float64         `json:"touchless_rate"`
	Corrections   int             `json:"corrections"`
	TimeToReview  ReviewDurations `json:"time_to_review"`
}

// Webhooks are the subscriptions of integrations. CreateWebhook fails
// with a *ValidationError for a bad URL or event; DeleteWebhook and
// Deliveries with ErrNotFound for an unknown webhook.
type Webhooks interface {
	CreateWebhook(ctx context.Context, p Principal, req WebhookRequest) (Webhook, error)
	Webhooks(ctx context.Context) ([]Webhook, error)
	DeleteWebhook(ctx context.Context, id int64) error
	Deliveries(ctx context.Context, id int64, limit int) ([]WebhookDelivery, error)
}

// WebhookRequest subscribes a URL to events (POST /v1/webhooks).
type WebhookRequest struct {
	URL         string   `json:"url"`
	Events      []string `json:"events"`
	Description string   `json:"description,omitempty"`
}

// Webhook is a subscription. Its secret is in the answer to its creation
// only.
type Webhook struct {
	ID          int64     `json:"id"`
	URL         string    `json:"url"`
	Events      []string  `json:"events"`
	Description string    `json:"description"`
	Created     time.Time `json:"created"`
	Secret      string    `json:"secret,omitempty"`
}

// WebhookDelivery is one attempt at delivering an event.
type WebhookDelivery struct {
	ID         int64     `json:"id"`
	EventID    int64     `json:"event_id"`
	EventType  string    `json:"event_type"`
	Attempt    int       `json:"attempt"`
	StatusCode int       `json:"status_code"`
	Error      string    `json:"error,omitempty"`
	Delivered  bool      `json:"delivered"`
	DurationMS float64   `json:"duration_ms"`
	At         time.Time `json:"at"`
}

// reviewRoutes are the review loop's routes, for what the config wires.
func (s *Server) reviewRoutes() []route {
	short := 30 * time.Second
	var out []route
	if s.cfg.Queue != nil {
		out = append(out, route{"GET /v1/review/queue", true, short, s.getQueue})
	}
	if s.cfg.Corrections != nil {
		out = append(out,
			route{"GET /v1/documents/{id}/fields", true, short, s.getFields},
			route{"PATCH /v1/documents/{id}/fields", true, short, s.patchFields},
			route{"POST /v1/documents/{id}/approve", true, short, s.postDecision(pipeline.DecisionApproved)},
			route{"POST /v1/documents/{id}/reject", true, short, s.postDecision(pipeline.DecisionRejected)})
	}
	if s.cfg.Records != nil {
		out = append(out,
			route{"GET /v1/documents/{id}/history", true, short, s.getHistory},
			route{"GET /v1/exports/approved", true, 5 * time.Minute, s.getExport},
			route{"GET /v1/review/metrics", true, short, s.getMetrics})
	}
	if s.cfg.Webhooks != nil {
		out = append(out,
			route{"GET /v1/webhooks", true, short, s.getWebhooks},
			route{"POST /v1/webhooks", true, short, s.postWebhook},
			route{"DELETE /v1/webhooks/{id}", true, short, s.deleteWebhook},
			route{"GET /v1/webhooks/{id}/deliveries", true, short, s.getDeliveries})
	}
	return out
}

// queryParams reads the query string: only the named parameters, each
// at most once.
func queryParams(r *http.Request, names ...string) (map[string]string, error) {
	q := r.URL.Query()
	out := map[string]string{}
	for k, vs := range q {
		known := false
		for _, n := range names {
			known = known || n == k
		}
		if !known {
			return nil, fmt.Errorf("%w: unknown query parameter %q (known: %s)", ErrInvalid, pipeline.Printable(k, 40), strings.Join(names, ", "))
		}
		if len(vs) > 1 {
			return nil, fmt.Errorf("%w: query parameter %q given %d times", ErrInvalid, k, len(vs))
		}
		out[k] = vs[0]
	}
	return out, nil
}

// parseSince reads a time: RFC 3339, or a date (midnight UTC).
func parseSince(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%w: since %q: want a date (2026-01-31) or an RFC 3339 time (2026-01-31T08:00:00Z)", ErrInvalid, pipeline.Printable(s, 40))
}

func (s *Server) getQueue(w http.ResponseWriter, r *http.Request, _ Principal) error {
	qp, err := queryParams(r, "reason", "schema", "vendor", "run", "limit", "after")
	if err != nil {
		return err
	}
	q := pipeline.QueueQuery{Reason: qp["reason"], Schema: qp["schema"], Vendor: qp["vendor"], Run: qp["run"], After: qp["after"]}
	if q.Reason != "" && !pipeline.IsReviewReason(q.Reason) {
		return fmt.Errorf("%w: reason %q: want one of %s", ErrInvalid, pipeline.Printable(q.Reason, 40), strings.Join(pipeline.ReviewReasons, ", "))
	}
	if l, ok := qp["limit"]; ok {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 500 {
			return fmt.Errorf("%w: limit %q: want 1 to 500", ErrInvalid, pipeline.Printable(l, 20))
		}
		q.Limit = n
	}
	if len(q.Vendor) > 200 || len(q.Schema) > 200 || len(q.Run) > 200 || len(q.After) > 500 {
		return fmt.Errorf("%w: a query parameter is too long", ErrInvalid)
	}
	page, err := s.cfg.Queue.Queue(r.Context(), q)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page)
}

// writeReviewDocument answers with a document's values and its ETag.
func writeReviewDocument(w http.ResponseWriter, d ReviewDocument) error {
	d.ETag = ETag(d.Version)
	w.Header().Set("ETag", d.ETag)
	w.Header().Set("Cache-Control", "no-cache")
	return writeJSON(w, http.StatusOK, d)
}

func (s *Server) getFields(w http.ResponseWriter, r *http.Request, _ Principal) error {
	d, err := s.cfg.Corrections.Values(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeReviewDocument(w, d)
}

// maxChanges bounds the changes of one request.
const maxChanges = 100

// readJSON decodes a JSON body of at most 1 MiB into v, refusing unknown
// members; an empty body is allowed when emptyOK.
func readJSON(w http.ResponseWriter, r *http.Request, v any, emptyOK bool, shape string) error {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if errors.Is(err, io.EOF) && emptyOK {
		return nil
	}
	if err == nil && dec.More() {
		err = errors.New("data after the object")
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fmt.Errorf("%w: over %d bytes", ErrTooLarge, mbe.Limit)
		}
		return fmt.Errorf("%w: the body must be a JSON object %s: %v", ErrInvalid, shape, err)
	}
	return nil
}

func (s *Server) patchFields(w http.ResponseWriter, r *http.Request, p Principal) error {
	pre, err := parseIfMatch(r)
	if err != nil {
		return err
	}
	var req CorrectionRequest
	if err := readJSON(w, r, &req, false, "{changes: [{op, field, value, item, evidence, reason}], reason}"); err != nil {
		return err
	}
	var fe []FieldError
	switch {
	case len(req.Changes) == 0:
		fe = append(fe, FieldError{Pointer: "/changes", Detail: "at least one change"})
	case len(req.Changes) > maxChanges:
		fe = append(fe, FieldError{Pointer: "/changes", Detail: fmt.Sprintf("at most %d changes a request", maxChanges)})
	}
	for i, c := range req.Changes {
		if c.Op != pipeline.OpSet && c.Op != pipeline.OpAdd && c.Op != pipeline.OpRemove {
			fe = append(fe, FieldError{Pointer: fmt.Sprintf("/changes/%d/op", i), Detail: "op is set, add or remove"})
		}
		if c.Field == "" {
			fe = append(fe, FieldError{Pointer: fmt.Sprintf("/changes/%d/field", i), Detail: "a field path is required"})
		}
	}
	if len(fe) > 0 {
		return &ValidationError{Part: "body", Errors: fe}
	}
	d, err := s.cfg.Corrections.Correct(r.Context(), p, r.PathValue("id"), pre, req)
	if err != nil {
		return err
	}
	return writeReviewDocument(w, d)
}

func (s *Server) postDecision(decision string) func(w http.ResponseWriter, r *http.Request, p Principal) error {
	return func(w http.ResponseWriter, r *http.Request, p Principal) error {
		pre, err := parseIfMatch(r)
		if err != nil {
			return err
		}
		req := DecisionRequest{}
		if err := readJSON(w, r, &req, true, "{reason}"); err != nil {
			return err
		}
		req.Decision = decision
		req.Reason = strings.TrimSpace(req.Reason)
		if decision == pipeline.DecisionRejected && req.Reason == "" {
			return &ValidationError{Part: "body", Errors: []FieldError{{Pointer: "/reason", Detail: "a rejection needs a reason"}}}
		}
		if len(req.Reason) > 2000 {
			return &ValidationError{Part: "body", Errors: []FieldError{{Pointer: "/reason", Detail: "at most 2000 bytes"}}}
		}
		d, err := s.cfg.Corrections.Decide(r.Context(), p, r.PathValue("id"), pre, req)
		if err != nil {
			return err
		}
		return writeReviewDocument(w, d)
	}
}

func (s *Server) getHistory(w http.ResponseWriter, r *http.Request, _ Principal) error {
	h, err := s.cfg.Records.History(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, h)
}

// exportTypes are the export formats' media types.
var exportTypes = map[string]string{"csv": "text/csv; charset=utf-8", "jsonl": "application/jsonl"}

func (s *Server) getExport(w http.ResponseWriter, r *http.Request, _ Principal) error {
	qp, err := queryParams(r, "format", "since", "schema")
	if err != nil {
		return err
	}
	q := ExportQuery{Format: qp["format"], Schema: qp["schema"]}
	if q.Format == "" {
		q.Format = "jsonl"
	}
	ctype, ok := exportTypes[q.Format]
	if !ok {
		return fmt.Errorf("%w: format %q: want csv or jsonl", ErrInvalid, pipeline.Printable(q.Format, 20))
	}
	if q.Since, err = parseSince(qp["since"]); err != nil {
		return err
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="approved.%s"`, q.Format))
	w.Header().Set("Cache-Control", "no-store")
	return s.cfg.Records.Export(r.Context(), q, w)
}

func (s *Server) getMetrics(w http.ResponseWriter, r *http.Request, _ Principal) error {
	qp, err := queryParams(r, "since", "schema")
	if err != nil {
		return err
	}
	q := MetricsQuery{Schema: qp["schema"]}
	if q.Since, err = parseSince(qp["since"]); err != nil {
		return err
	}
	m, err := s.cfg.Records.Metrics(r.Context(), q)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, m)
}

func (s *Server) getWebhooks(w http.ResponseWriter, r *http.Request, _ Principal) error {
	hooks, err := s.cfg.Webhooks.Webhooks(r.Context())
	if err != nil {
		return err
	}
	if hooks == nil {
		hooks = []Webhook{}
	}
	return writeJSON(w, http.StatusOK, map[string][]Webhook{"webhooks": hooks})
}

func (s *Server) postWebhook(w http.ResponseWriter, r *http.Request, p Principal) error {
	var req WebhookRequest
	if err := readJSON(w, r, &req, false, "{url, events, description}"); err != nil {
		return err
	}
	hook, err := s.cfg.Webhooks.CreateWebhook(r.Context(), p, req)
	if err != nil {
		return err
	}
	w.Header().Set("Location", fmt.Sprintf("/v1/webhooks/%d", hook.ID))
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusCreated, hook)
}

func webhookID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%w: webhook %q", ErrNotFound, pipeline.Printable(r.PathValue("id"), 40))
	}
	return id, nil
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request, _ Principal) error {
	id, err := webhookID(r)
	if err != nil {
		return err
	}
	if err := s.cfg.Webhooks.DeleteWebhook(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) getDeliveries(w http.ResponseWriter, r *http.Request, _ Principal) error {
	id, err := webhookID(r)
	if err != nil {
		return err
	}
	qp, err := queryParams(r, "limit")
	if err != nil {
		return err
	}
	limit := 100
	if l, ok := qp["limit"]; ok {
		if limit, err = strconv.Atoi(l); err != nil || limit < 1 || limit > 1000 {
			return fmt.Errorf("%w: limit %q: want 1 to 1000", ErrInvalid, pipeline.Printable(l, 20))
		}
	}
	ds, err := s.cfg.Webhooks.Deliveries(r.Context(), id, limit)
	if err != nil {
		return err
	}
	if ds == nil {
		ds = []WebhookDelivery{}
	}
	return writeJSON(w, http.StatusOK, map[string][]WebhookDelivery{"deliveries": ds})
}
