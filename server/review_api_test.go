package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/extractor-dev/extractor/pipeline"
)

// reviewFakes implements the review loop's interfaces in memory, for one
// document (openAPIDocID), as cmd/extractor's service answers.
type reviewFakes struct {
	mu          sync.Mutex
	version     int
	state       string
	values      pipeline.Extraction
	corrections []pipeline.Correction
	decisions   []pipeline.Decision
	hooks       []Webhook
	lastQueue   pipeline.QueueQuery
	lastExport  ExportQuery
	lastChanges []pipeline.Change
	exportErr   error
}

func newReviewFakes() *reviewFakes {
	return &reviewFakes{version: 3, state: "pending", values: openAPIExtraction(openAPIDocID)}
}

func (f *reviewFakes) doc() ReviewDocument {
	queued := openAPITime.Add(time.Minute)
	d := ReviewDocument{DocumentID: openAPIDocID, Schema: "invoice", RunID: openAPIRunID, File: "upload:inv.pdf", Status: "ok",
		TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", State: f.state, Version: f.version, Reasons: []string{pipeline.ReasonFailedCheck},
		Confidence: 0.62, Values: f.values, Corrections: len(f.corrections), QueuedAt: &queued, ResultAt: openAPITime}
	if n := len(f.decisions); n > 0 {
		last := f.decisions[n-1]
		d.Decision, d.DecidedAt = &last, &last.At
	}
	return d
}

func (f *reviewFakes) Queue(_ context.Context, q pipeline.QueueQuery) (pipeline.QueuePage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastQueue = q
	if q.After == "bad" {
		return pipeline.QueuePage{}, fmt.Errorf("%w: cursor %q is not one this server gave", pipeline.ErrInvalid, q.After)
	}
	queued := openAPITime.Add(time.Minute)
	return pipeline.QueuePage{Items: []pipeline.QueueItem{{DocumentID: openAPIDocID, File: "upload:inv.pdf", Schema: "invoice", RunID: openAPIRunID, Status: "ok",
		Vendor: "ACME GmbH", Reasons: []string{pipeline.ReasonFailedCheck, pipeline.ReasonLowConfidence}, Confidence: 0.62, Version: f.version,
		QueuedAt: &queued, ResultAt: openAPITime, Values: map[string]string{"vendor_name": "ACME GmbH", "total_amount": "119.00"}}},
		Total: 1, Counts: map[string]int{"failed_check": 1, "ungrounded": 0, "low_confidence": 1, "einvoice_mismatch": 0, "parse_failure": 0},
		Next: "MTcwMDAwMDAwMDAwMDAwMHxhYmM"}, nil
}

func (f *reviewFakes) Values(_ context.Context, id string) (ReviewDocument, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id != openAPIDocID {
		return ReviewDocument{}, fmt.Errorf("%w: document %s", ErrNotFound, id)
	}
	return f.doc(), nil
}

func (f *reviewFakes) Correct(_ context.Context, p Principal, id string, pre Precondition, req CorrectionRequest) (ReviewDocument, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id != openAPIDocID {
		return ReviewDocument{}, fmt.Errorf("%w: document %s", ErrNotFound, id)
	}
	if !pre.Holds(f.version) {
		return ReviewDocument{}, fmt.Errorf("%w: the document is at version %d", ErrPreconditionFailed, f.version)
	}
	f.lastChanges = req.Changes
	var fe []FieldError
	for i, c := range req.Changes {
		if c.Field == "colour" {
			fe = append(fe, FieldError{Pointer: fmt.Sprintf("/changes/%d/field", i), Detail: `"colour" is not a field of the invoice schema`})
		}
	}
	if len(fe) > 0 {
		return ReviewDocument{}, &ValidationError{Part: "body", Errors: fe}
	}
	f.version++
	for _, c := range req.Changes {
		before := f.values.Fields[c.Field]
		after := pipeline.Field{Value: c.Value, Raw: c.Value, Evidence: pipeline.Evidence{Origin: pipeline.OriginReview}, Confidence: 1}
		f.values.Fields[c.Field] = after
		f.corrections = append(f.corrections, pipeline.Correction{ID: int64(len(f.corrections) + 1), DocumentID: id, Seq: len(f.corrections) + 1,
			Version: f.version, Op: c.Op, Field: c.Field, Before: &before, After: &after, Reason: req.Reason, By: p.Name, KeyID: p.KeyID,
			At: openAPITime.Add(2 * time.Minute)})
	}
	f.state = "pending"
	return f.doc(), nil
}

func (f *reviewFakes) Decide(_ context.Context, p Principal, id string, pre Precondition, req DecisionRequest) (ReviewDocument, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id != openAPIDocID {
		return ReviewDocument{}, fmt.Errorf("%w: document %s", ErrNotFound, id)
	}
	if !pre.Holds(f.version) {
		return ReviewDocument{}, fmt.Errorf("%w: the document is at version %d", ErrPreconditionFailed, f.version)
	}
	f.version++
	f.state = req.Decision
	f.decisions = append(f.decisions, pipeline.Decision{ID: int64(len(f.decisions) + 1), DocumentID: id, Version: f.version, Decision: req.Decision,
		Schema: "invoice", Reason: req.Reason, By: p.Name, KeyID: p.KeyID, At: openAPITime.Add(3 * time.Minute), QueuedAt: openAPITime.Add(time.Minute),
		Corrections: len(f.corrections), CorrectedFields: []string{"total_amount"}})
	return f.doc(), nil
}

func (f *reviewFakes) History(_ context.Context, id string) (ReviewHistory, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id != openAPIDocID {
		return ReviewHistory{}, fmt.Errorf("%w: document %s", ErrNotFound, id)
	}
	h := ReviewHistory{DocumentID: id, Corrections: append([]pipeline.Correction{}, f.corrections...), Decisions: append([]pipeline.Decision{}, f.decisions...)}
	if len(h.Corrections) == 0 { // a history to show: a set with its evidence and box, an add, a remove
		before := f.values.Fields["total_amount"]
		after := pipeline.Field{Value: "119.00", Raw: "119,00", Evidence: pipeline.Evidence{Page: 1, Quote: "Total 119,00 €"}, Grounded: true, Confidence: 1}
		item := pipeline.Item{Fields: map[string]pipeline.Field{"amount": {Value: "5.00", Raw: "5,00", Evidence: pipeline.Evidence{Origin: pipeline.OriginReview}, Confidence: 1}}}
		at := openAPITime.Add(2 * time.Minute)
		h.Corrections = []pipeline.Correction{
			{ID: 1, DocumentID: id, Seq: 1, Version: 2, Op: "set", Field: "total_amount", Before: &before, After: &after,
				Box: &pipeline.Box{X0: 402, Y0: 688, X1: 521, Y1: 700}, Reason: "misread", By: "alice", KeyID: "abcdefgh", At: at},
			{ID: 2, DocumentID: id, Seq: 2, Version: 2, Op: "add", Field: "line_items", Item: &item, By: "alice", KeyID: "abcdefgh", At: at},
			{ID: 3, DocumentID: id, Seq: 3, Version: 3, Op: "remove", Field: "line_items[0]", Item: &item, Reason: "a duplicate", By: "bob", KeyID: "otherkey", At: at},
		}
	}
	return h, nil
}

func (f *reviewFakes) Export(_ context.Context, q ExportQuery, w io.Writer) error {
	f.mu.Lock()
	f.lastExport = q
	err := f.exportErr
	f.mu.Unlock()
	if err != nil {
		return err
	}
	if q.Format == "csv" {
		_, err := io.WriteString(w, "document_id,file,schema,version,approved_at,approved_by,vendor_name,total_amount\n"+
			openAPIDocID+",upload:inv.pdf,invoice,4,2026-01-15T09:33:00Z,alice,ACME GmbH,119.00\n")
		return err
	}
	_, err = io.WriteString(w, `{"document_id":"`+openAPIDocID+`","file":"upload:inv.pdf","schema":"invoice","version":4,"approved_at":"2026-01-15T09:33:00Z","approved_by":"alice","values":{"total_amount":"119.00","vendor_name":"ACME GmbH"}}`+"\n")
	return err
}

func (f *reviewFakes) Metrics(_ context.Context, q MetricsQuery) (ReviewMetrics, error) {
	d := ReviewDurations{N: 3, P50: 180, P90: 600, Mean: 252}
	return ReviewMetrics{Decided: 4, Approved: 3, Rejected: 1, Touchless: 2, TouchlessRate: 0.6667,
		Fields:       []FieldRate{{Field: "total_amount", Corrected: 1, Approved: 3, Rate: 0.3333}, {Field: "vendor_name", Approved: 3}},
		TimeToReview: d, Weeks: []ReviewWeek{{Week: "2026-W03", Start: "2026-01-12", Decided: 4, Approved: 3, Rejected: 1, Touchless: 2,
			TouchlessRate: 0.6667, Corrections: 1, TimeToReview: d}},
		Pending: 12, PendingByReason: map[string]int{"failed_check": 7, "ungrounded": 3, "low_confidence": 5, "einvoice_mismatch": 0, "parse_failure": 1}}, nil
}

func (f *reviewFakes) CreateWebhook(_ context.Context, p Principal, req WebhookRequest) (Webhook, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !strings.HasPrefix(req.URL, "https://") && !strings.HasPrefix(req.URL, "http://") {
		return Webhook{}, &ValidationError{Part: "body", Errors: []FieldError{{Pointer: "/url", Detail: "an http or https URL"}}}
	}
	w := Webhook{ID: int64(len(f.hooks) + 1), URL: req.URL, Events: req.Events, Description: req.Description, Created: openAPITime}
	f.hooks = append(f.hooks, w)
	w.Secret = "whsec_" + strings.Repeat("ab", 32)
	return w, nil
}

func (f *reviewFakes) Webhooks(context.Context) ([]Webhook, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Webhook{}, f.hooks...), nil
}

func (f *reviewFakes) DeleteWebhook(_ context.Context, id int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, h := range f.hooks {
		if h.ID == id {
			f.hooks = append(f.hooks[:i], f.hooks[i+1:]...)
			return nil
		}
	}
	return fmt.Errorf("%w: webhook %d", ErrNotFound, id)
}

func (f *reviewFakes) Deliveries(_ context.Context, id int64, limit int) ([]WebhookDelivery, error) {
	if id > 100 {
		return nil, fmt.Errorf("%w: webhook %d", ErrNotFound, id)
	}
	return []WebhookDelivery{
		{ID: 2, EventID: 9, EventType: "document.approved", Attempt: 2, StatusCode: 204, Delivered: true, DurationMS: 12.5, At: openAPITime.Add(time.Minute)},
		{ID: 1, EventID: 9, EventType: "document.approved", Attempt: 1, StatusCode: 503, Error: "webhook: the receiver answered 503 Service Unavailable",
			DurationMS: 30.1, At: openAPITime},
	}[:min(limit, 2)], nil
}

func jsonBody(s string) io.Reader { return strings.NewReader(s) }

func TestReviewAPI(t *testing.T) {
	f := newAPIFakes()
	s, _ := newAPIServer(t, f, func(c *Config) { c.RatePerSecond = -1 })
	patch := func(ifMatch, body string) *call {
		c := &call{method: "PATCH", path: "/v1/documents/" + openAPIDocID + "/fields", key: goodKey, body: jsonBody(body), ctype: "application/json"}
		if ifMatch != "" {
			c.header = map[string]string{"If-Match": ifMatch}
		}
		return c
	}
	decide := func(what, ifMatch, body string) *call {
		c := &call{method: "POST", path: "/v1/documents/" + openAPIDocID + "/" + what, key: goodKey, body: jsonBody(body), ctype: "application/json"}
		if ifMatch != "" {
			c.header = map[string]string{"If-Match": ifMatch}
		}
		return c
	}
	get := func(path string) *call { return &call{method: "GET", path: path, key: goodKey} }
	tests := []struct {
		name   string
		call   *call
		status int
		slug   string // of a problem
		check  func(t *testing.T, rec *http.Response, body string)
	}{
		{"the values with their ETag", get("/v1/documents/" + openAPIDocID + "/fields"), 200, "", func(t *testing.T, r *http.Response, b string) {
			if r.Header.Get("ETag") != `"3"` || !strings.Contains(b, `"etag":"\"3\""`) || !strings.Contains(b, `"version":3`) {
				t.Errorf("ETag %q body %.300s", r.Header.Get("ETag"), b)
			}
		}},
		{"values of an unknown document", get("/v1/documents/" + strings.Repeat("0", 64) + "/fields"), 404, "not-found", nil},
		{"a change without If-Match", patch("", `{"changes": [{"op": "set", "field": "total_amount", "value": "119,00"}]}`), 428, "precondition-required", nil},
		{"a change of a stale version", patch(`"2"`, `{"changes": [{"op": "set", "field": "total_amount", "value": "119,00"}]}`), 412, "precondition-failed", nil},
		{"a weak ETag never matches", patch(`W/"3"`, `{"changes": [{"op": "set", "field": "total_amount", "value": "119,00"}]}`), 412, "precondition-failed", nil},
		{"not JSON", patch(`"3"`, `op=set`), 400, "invalid-request", nil},
		{"an unknown member", patch(`"3"`, `{"changes": [{"op": "set", "field": "total_amount", "val": "1"}]}`), 400, "invalid-request", nil},
		{"no changes", patch(`"3"`, `{"changes": []}`), 422, "unprocessable", nil},
		{"a bad op", patch(`"3"`, `{"changes": [{"op": "replace", "field": "total_amount"}]}`), 422, "unprocessable", func(t *testing.T, r *http.Response, b string) {
			if !strings.Contains(b, `"pointer":"/changes/0/op"`) {
				t.Errorf("%s", b)
			}
		}},
		{"a change that does not check", patch(`"3"`, `{"changes": [{"op": "set", "field": "colour", "value": "red"}]}`), 422, "unprocessable", func(t *testing.T, r *http.Response, b string) {
			if !strings.Contains(b, `"pointer":"/changes/0/field"`) {
				t.Errorf("%s", b)
			}
		}},
		{"too large", patch(`"3"`, `{"changes": [{"op": "set", "field": "x", "value": "`+strings.Repeat("a", 1<<20)+`"}]}`), 413, "too-large", nil},
		{"a correction", patch(`"1", "3"`, `{"changes": [{"op": "set", "field": "total_amount", "value": "119,00"}], "reason": "misread"}`), 200, "",
			func(t *testing.T, r *http.Response, b string) {
				if r.Header.Get("ETag") != `"4"` || !strings.Contains(b, `"corrections":1`) {
					t.Errorf("ETag %q body %.300s", r.Header.Get("ETag"), b)
				}
			}},
		{"the same ETag again is stale", patch(`"3"`, `{"changes": [{"op": "set", "field": "total_amount", "value": "119,00"}]}`), 412, "precondition-failed", nil},
		{"approve without If-Match", decide("approve", "", ``), 428, "precondition-required", nil},
		{"reject without a reason", decide("reject", `"4"`, `{}`), 422, "unprocessable", nil},
		{"approve a stale version", decide("approve", `"3"`, ``), 412, "precondition-failed", nil},
		{"approve, any version", decide("approve", `*`, `{"reason": "checked"}`), 200, "", func(t *testing.T, r *http.Response, b string) {
			if r.Header.Get("ETag") != `"5"` || !strings.Contains(b, `"state":"approved"`) || !strings.Contains(b, `"reason":"checked"`) {
				t.Errorf("ETag %q body %.400s", r.Header.Get("ETag"), b)
			}
		}},
		{"reject", decide("reject", `"5"`, `{"reason": "a duplicate"}`), 200, "", func(t *testing.T, r *http.Response, b string) {
			if !strings.Contains(b, `"state":"rejected"`) {
				t.Errorf("%.300s", b)
			}
		}},
		{"history", get("/v1/documents/" + openAPIDocID + "/history"), 200, "", func(t *testing.T, r *http.Response, b string) {
			var h ReviewHistory
			if err := json.Unmarshal([]byte(b), &h); err != nil || len(h.Corrections) != 1 || len(h.Decisions) != 2 || h.Corrections[0].By != "test" {
				t.Errorf("history %+v %v", h, err)
			}
		}},
		{"history of an unknown document", get("/v1/documents/nope/history"), 404, "not-found", nil},
		{"the queue", get("/v1/review/queue?reason=ungrounded&schema=invoice&vendor=acme&run=r1&limit=20&after=abc"), 200, "", func(t *testing.T, r *http.Response, b string) {
			if q := f.lastQueue; q != (pipeline.QueueQuery{Reason: "ungrounded", Schema: "invoice", Vendor: "acme", Run: "r1", Limit: 20, After: "abc"}) {
				t.Errorf("query %+v", q)
			}
		}},
		{"the queue, an unknown reason", get("/v1/review/queue?reason=ocr"), 400, "invalid-request", nil},
		{"the queue, a limit out of range", get("/v1/review/queue?limit=501"), 400, "invalid-request", nil},
		{"the queue, an unknown parameter", get("/v1/review/queue?page=2"), 400, "invalid-request", nil},
		{"the queue, a parameter twice", get("/v1/review/queue?reason=ungrounded&reason=low_confidence"), 400, "invalid-request", nil},
		{"the queue, a cursor it did not give", get("/v1/review/queue?after=bad"), 422, "unprocessable", nil},
		{"export as CSV", get("/v1/exports/approved?format=csv&since=2026-01-01&schema=invoice"), 200, "", func(t *testing.T, r *http.Response, b string) {
			if r.Header.Get("Content-Type") != "text/csv; charset=utf-8" || !strings.HasPrefix(b, "document_id,") ||
				r.Header.Get("Content-Disposition") != `attachment; filename="approved.csv"` ||
				!f.lastExport.Since.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) || f.lastExport.Schema != "invoice" {
				t.Errorf("%v %s %+v", r.Header, b, f.lastExport)
			}
		}},
		{"export as JSON lines by default", get("/v1/exports/approved?since=2026-01-01T08:00:00%2B01:00"), 200, "", func(t *testing.T, r *http.Response, b string) {
			if r.Header.Get("Content-Type") != "application/jsonl" || f.lastExport.Format != "jsonl" || !f.lastExport.Since.Equal(time.Date(2026, 1, 1, 7, 0, 0, 0, time.UTC)) {
				t.Errorf("%v %+v", r.Header, f.lastExport)
			}
		}},
		{"export, a bad format", get("/v1/exports/approved?format=xlsx"), 400, "invalid-request", nil},
		{"export, a bad since", get("/v1/exports/approved?since=yesterday"), 400, "invalid-request", nil},
		{"metrics", get("/v1/review/metrics?since=2026-01-01"), 200, "", func(t *testing.T, r *http.Response, b string) {
			if !strings.Contains(b, `"touchless_rate":0.6667`) {
				t.Errorf("%s", b)
			}
		}},
		{"a webhook", &call{method: "POST", path: "/v1/webhooks", key: goodKey, body: jsonBody(`{"url": "https://erp.example/hook", "events": ["document.approved"]}`)}, 201, "",
			func(t *testing.T, r *http.Response, b string) {
				if r.Header.Get("Location") != "/v1/webhooks/1" || !strings.Contains(b, `"secret":"whsec_`) {
					t.Errorf("%v %s", r.Header, b)
				}
			}},
		{"a webhook with a bad URL", &call{method: "POST", path: "/v1/webhooks", key: goodKey, body: jsonBody(`{"url": "erp", "events": ["document.approved"]}`)}, 422, "unprocessable", nil},
		{"webhooks, without their secrets", get("/v1/webhooks"), 200, "", func(t *testing.T, r *http.Response, b string) {
			if !strings.Contains(b, `"url":"https://erp.example/hook"`) || strings.Contains(b, "secret") {
				t.Errorf("%s", b)
			}
		}},
		{"deliveries", get("/v1/webhooks/1/deliveries?limit=1"), 200, "", func(t *testing.T, r *http.Response, b string) {
			if strings.Count(b, `"event_id"`) != 1 {
				t.Errorf("%s", b)
			}
		}},
		{"deliveries of no webhook", get("/v1/webhooks/abc/deliveries"), 404, "not-found", nil},
		{"delete a webhook", &call{method: "DELETE", path: "/v1/webhooks/1", key: goodKey}, 204, "", nil},
		{"delete it again", &call{method: "DELETE", path: "/v1/webhooks/1", key: goodKey}, 404, "not-found", nil},
		{"a key is needed", &call{method: "GET", path: "/v1/review/queue"}, 401, "unauthorized", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(t, s, *tt.call)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %.500s", rec.Code, tt.status, rec.Body)
			}
			if tt.slug != "" {
				if p := problemOf(t, rec); p.Type != ProblemType+tt.slug {
					t.Errorf("problem %+v, want %s", p, tt.slug)
				}
			}
			if tt.check != nil {
				tt.check(t, rec.Result(), rec.Body.String())
			}
		})
	}

	// An export that fails before writing is a problem, not a broken file.
	f.exportErr = fmt.Errorf("%w: the database is down", ErrUnavailable)
	if rec := do(t, s, *get("/v1/exports/approved?format=csv")); rec.Code != 503 || problemOf(t, rec).Type != ProblemType+"unavailable" {
		t.Errorf("export failing: %d %s", rec.Code, rec.Body)
	}
}

func TestReviewRoutesNeedTheirInterfaces(t *testing.T) {
	s, _ := newAPIServer(t, newAPIFakes(), func(c *Config) { c.Queue, c.Corrections, c.Records, c.Webhooks = nil, nil, nil, nil })
	for _, r := range s.Routes() {
		if strings.Contains(r, "/review/") || strings.Contains(r, "/webhooks") || strings.Contains(r, "/fields") {
			t.Errorf("%s served without its interface", r)
		}
	}
	if rec := do(t, s, call{method: "GET", path: "/v1/review/queue", key: goodKey}); rec.Code != 404 {
		t.Errorf("queue without one: %d", rec.Code)
	}
}

func TestParseIfMatch(t *testing.T) {
	for _, tt := range []struct {
		header string
		want   Precondition
		err    bool
	}{
		{``, Precondition{}, true},
		{`*`, Precondition{Any: true}, false},
		{`"7"`, Precondition{Versions: []int{7}}, false},
		{`"7", "9" ,W/"8"`, Precondition{Versions: []int{7, 9}}, false},
		{`"0"`, Precondition{}, false},
		{`7`, Precondition{}, false},
		{`"abc"`, Precondition{}, false},
	} {
		r, _ := http.NewRequest("PATCH", "/", nil)
		if tt.header != "" {
			r.Header.Set("If-Match", tt.header)
		}
		got, err := parseIfMatch(r)
		if (err != nil) != tt.err || fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("If-Match %s: %+v %v", tt.header, got, err)
		}
	}
	if (Precondition{Versions: []int{7, 9}}).Holds(8) || !(Precondition{Versions: []int{7, 9}}).Holds(9) || !(Precondition{Any: true}).Holds(1) || (Precondition{}).Holds(1) {
		t.Error("Holds")
	}
}
