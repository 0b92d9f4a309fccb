package main

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/extractor-dev/extractor/evals"
	"github.com/extractor-dev/extractor/server"
	"github.com/extractor-dev/extractor/webhook"
)

// receiver is an integration's webhook endpoint: it verifies each
// delivery's signature and answers 503 to the first delivery of the
// event types it is told to refuse once.
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	secret  string
	refuse  map[string]bool
	got     []webhook.Body
	invalid []error
}

func newReceiver(t *testing.T, refuseOnce ...string) *receiver {
	r := &receiver{refuse: map[string]bool{}}
	for _, e := range refuseOnce {
		r.refuse[e] = true
	}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if err := webhook.Verify(r.secret, req.Header.Get(webhook.SignatureHeader), body, time.Now(), 5*time.Minute); err != nil {
			r.invalid = append(r.invalid, err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var b webhook.Body
		if err := json.Unmarshal(body, &b); err != nil || req.Header.Get(webhook.EventHeader) != b.Type || req.Header.Get(webhook.DeliveryHeader) != b.ID {
			r.invalid = append(r.invalid, fmt.Errorf("body %s, headers %v: %v", body, req.Header, err))
		}
		if r.refuse[b.Type] {
			r.refuse[b.Type] = false
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		r.got = append(r.got, b)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.Close)
	return r
}

// wait returns the first delivered event of a type.
func (r *receiver) wait(t *testing.T, typ string) webhook.Body {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute) // a hang guard
	for time.Now().Before(deadline) {
		r.mu.Lock()
		for _, b := range r.got {
			if b.Type == typ {
				r.mu.Unlock()
				return b
			}
		}
		r.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no %s event delivered", typ)
	return webhook.Body{}
}

func decodeJSON[T any](t *testing.T, what string, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v: %s", what, err, b)
	}
	return v
}

// The review loop end to end: a job's completion is posted to a webhook,
// a person corrects two values (a stale edit is refused), approves, the
// approval is posted (after a retry), and the corrected values are in the
// history, the exports, a labelled dataset that eval scores against, and
// the metrics.
func TestReviewLoop(t *testing.T) {
	env := storedEnv(t)
	key := createKey(t, env)
	cfgPath := filepath.Join(t.TempDir(), "serve.yaml")
	if err := os.WriteFile(cfgPath, []byte("server:\n  rate_per_second: 1000\n  burst: 1000\n  webhooks:\n    retry_base: 100ms\n    max_attempts: 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startCommand(t, env, "serve", "--addr", "127.0.0.1:0", "--config", cfgPath)
	recv := newReceiver(t, webhook.DocumentApproved)
	api := func(method, path, body string, header map[string]string) (*http.Response, []byte) {
		t.Helper()
		var r io.Reader
		ctype := ""
		if body != "" {
			r, ctype = strings.NewReader(body), "application/json"
		}
		return request(t, method, srv.url+path, key, r, ctype, header)
	}

	resp, b := api("POST", "/v1/webhooks", fmt.Sprintf(`{"url": %q, "events": ["job.completed", "document.approved"], "description": "ERP"}`, recv.URL), nil)
	if resp.StatusCode != 201 {
		t.Fatalf("webhook: %d %s", resp.StatusCode, b)
	}
	hook := decodeJSON[server.Webhook](t, "webhook", b)
	recv.mu.Lock()
	recv.secret = hook.Secret
	recv.mu.Unlock()

	// A job: its completion is posted.
	pdf, err := os.ReadFile(sample(t, "synth-0001.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	body, ct := multipartBody(t, pdf, "synth-0001.pdf", `{"extractor": "rules"}`)
	resp, b = request(t, "POST", srv.url+"/v1/jobs", key, body, ct, nil)
	if resp.StatusCode != 202 {
		t.Fatalf("job: %d %s", resp.StatusCode, b)
	}
	job := decodeJSON[struct{ ID int64 }](t, "job", b)
	done := waitJob(t, srv.url, key, job.ID)
	docID := done["result"].(map[string]any)["document_id"].(string)
	completed := recv.wait(t, webhook.JobCompleted)
	data := decodeJSON[map[string]any](t, "job.completed", completed.Data)
	if data["job_id"] != float64(job.ID) || data["state"] != "succeeded" || data["document_id"] != docID || data["status"] != "ok" {
		t.Errorf("job.completed %s", completed.Data)
	}

	// The values, with their ETag.
	resp, b = api("GET", "/v1/documents/"+docID+"/fields", "", nil)
	if resp.StatusCode != 200 || resp.Header.Get("ETag") == "" {
		t.Fatalf("fields: %d %v %s", resp.StatusCode, resp.Header, b)
	}
	first := decodeJSON[server.ReviewDocument](t, "fields", b)
	etag := resp.Header.Get("ETag")
	net := first.Values.Fields["net_amount"]
	if net.Value == "" || net.Quote == "" || first.Values.Fields["vendor_name"].Value == "" {
		t.Fatalf("values %+v", first.Values.Fields)
	}
	vendor := first.Values.Fields["vendor_name"].Value + " (corrected)"
	changes := fmt.Sprintf(`{"reason": "checked against the PDF", "changes": [
		{"op": "set", "field": "vendor_name", "value": %q},
		{"op": "set", "field": "total_amount", "value": %q, "evidence": {"page": %d, "quote": %q, "box": {"x0": 1, "y0": 2, "x1": 3, "y1": 4}}}]}`,
		vendor, net.Value, net.Page, net.Quote)
	if resp, b := api("PATCH", "/v1/documents/"+docID+"/fields", changes, nil); resp.StatusCode != 428 {
		t.Errorf("without If-Match: %d %s", resp.StatusCode, b)
	}
	if resp, b := api("PATCH", "/v1/documents/"+docID+"/fields", `{"changes": [{"op": "set", "field": "issue_date", "value": "the 45th"}]}`, map[string]string{"If-Match": etag}); resp.StatusCode != 422 ||
		!strings.Contains(string(b), `"pointer":"/changes/0/value"`) {
		t.Errorf("an invalid date: %d %s", resp.StatusCode, b)
	}
	resp, b = api("PATCH", "/v1/documents/"+docID+"/fields", changes, map[string]string{"If-Match": etag})
	if resp.StatusCode != 200 {
		t.Fatalf("correct: %d %s", resp.StatusCode, b)
	}
	corrected := decodeJSON[server.ReviewDocument](t, "corrected", b)
	if corrected.Values.Fields["vendor_name"].Value != vendor || corrected.Values.Fields["total_amount"].Value != net.Value ||
		!corrected.Values.Fields["total_amount"].Grounded || corrected.Corrections != 2 || resp.Header.Get("ETag") == etag {
		t.Errorf("corrected %+v (ETag %s)", corrected, resp.Header.Get("ETag"))
	}
	arithmetic := false
	for _, is := range corrected.Values.Issues {
		arithmetic = arithmetic || is.Field == "total_amount" && is.Code == "arithmetic"
	}
	if !arithmetic {
		t.Errorf("a total equal to the net is not checked again: %+v", corrected.Values.Issues)
	}
	// A second reviewer who read the first version is refused, and loses
	// nothing: the first's corrections stand.
	if resp, b := api("PATCH", "/v1/documents/"+docID+"/fields", `{"changes": [{"op": "set", "field": "vendor_name", "value": "Someone Else"}]}`, map[string]string{"If-Match": etag}); resp.StatusCode != 412 {
		t.Errorf("a stale edit: %d %s", resp.StatusCode, b)
	}
	etag = resp.Header.Get("ETag")

	// Approve: posted to the webhook after a first attempt it refused.
	resp, b = api("POST", "/v1/documents/"+docID+"/approve", `{"reason": "matches the PO"}`, map[string]string{"If-Match": etag})
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"state":"approved"`) {
		t.Fatalf("approve: %d %s", resp.StatusCode, b)
	}
	approved := recv.wait(t, webhook.DocumentApproved)
	ad := decodeJSON[map[string]any](t, "document.approved", approved.Data)
	if vals, _ := ad["values"].(map[string]any); ad["document_id"] != docID || ad["by"] != "test" || vals["vendor_name"] != vendor {
		t.Errorf("document.approved %s", approved.Data)
	}
	resp, b = api("GET", fmt.Sprintf("/v1/webhooks/%d/deliveries", hook.ID), "", nil)
	deliveries := decodeJSON[struct{ Deliveries []server.WebhookDelivery }](t, "deliveries", b).Deliveries
	var approvals []server.WebhookDelivery
	for _, d := range deliveries {
		if d.EventType == webhook.DocumentApproved {
			approvals = append(approvals, d)
		}
	}
	if len(approvals) != 2 || approvals[1].Attempt != 1 || approvals[1].StatusCode != 503 || approvals[1].Delivered ||
		approvals[0].Attempt != 2 || !approvals[0].Delivered || approvals[0].StatusCode != 204 {
		t.Errorf("deliveries of the approval: %+v", approvals)
	}
	recv.mu.Lock()
	if len(recv.invalid) > 0 {
		t.Errorf("deliveries that did not verify: %v", recv.invalid)
	}
	recv.mu.Unlock()

	// The history.
	resp, b = api("GET", "/v1/documents/"+docID+"/history", "", nil)
	h := decodeJSON[server.ReviewHistory](t, "history", b)
	if len(h.Corrections) != 2 || h.Corrections[0].Field != "vendor_name" || h.Corrections[0].By != "test" || h.Corrections[0].Reason != "checked against the PDF" ||
		h.Corrections[1].Box == nil || h.Corrections[1].Before == nil || len(h.Decisions) != 1 || h.Decisions[0].Reason != "matches the PO" ||
		h.Decisions[0].Corrections != 2 {
		t.Errorf("history %s", b)
	}

	// Exports: the API's and the CLI's.
	resp, b = api("GET", "/v1/exports/approved?format=csv", "", nil)
	rows, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
	if resp.StatusCode != 200 || err != nil || len(rows) != 2 || !strings.Contains(strings.Join(rows[1], ","), vendor) {
		t.Errorf("CSV export: %d %v %s", resp.StatusCode, err, b)
	}
	out := stdoutOK(t, env, "export", "--approved", "-o", "csv")
	if !strings.Contains(out, vendor) || strings.Count(out, "\n") != 2 {
		t.Errorf("export --approved -o csv:\n%s", out)
	}
	out = stdoutOK(t, env, "export", "--approved", "-o", "jsonl", "--since", time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), "--schema", "invoice")
	if line := decodeJSON[map[string]any](t, "jsonl", []byte(out)); line["document_id"] != docID || line["values"].(map[string]any)["vendor_name"] != vendor {
		t.Errorf("export -o jsonl: %s", out)
	}
	if out := stdoutOK(t, env, "export", "--approved", "--since", time.Now().Add(48*time.Hour).Format(time.DateOnly)); strings.Count(out, "\n") != 1 {
		t.Errorf("export of nothing: %q", out)
	}
	if r := run(t, env, "export"); r.code != 2 {
		t.Errorf("export without --approved: exit %d", r.code)
	}

	// A labelled dataset of the approved values, which eval scores against.
	dir := t.TempDir()
	_, r := runOK(t, env, "dataset", "export", "--reviewed", "--out", dir)
	mustContain(t, "dataset export", r.stderr, "1 approved documents written")
	d, err := evals.Load(dir)
	if err != nil || len(d.Rows) != 1 {
		t.Fatalf("dataset: %+v %v", d, err)
	}
	row := d.Rows[0]
	if row.Expected["vendor_name"] != vendor || row.Expected["total_amount"] != net.Value || row.LabelQuality != "verified" || row.Schema != "invoice" {
		t.Errorf("row %+v", row)
	}
	file, _ := os.ReadFile(d.Path(row))
	if sum := sha256.Sum256(file); hex.EncodeToString(sum[:]) != docID {
		t.Errorf("the row's file is not the document's bytes")
	}
	report := filepath.Join(dir, "report.json")
	runOK(t, env, "eval", "--dataset", dir, "--extractor", "rules", "--out", report)
	rep, err := evals.ReadReport(report)
	if err != nil || len(rep.Documents) != 1 {
		t.Fatalf("report: %v", err)
	}
	scored := map[string]bool{}
	for _, f := range rep.Documents[0].Fields {
		if f.Field == "vendor_name" || f.Field == "total_amount" {
			scored[f.Field] = true
			if f.Match {
				t.Errorf("%s: the extractor's %q scores right against the corrected label %q", f.Field, f.Got, f.Expected)
			}
		}
	}
	if !scored["vendor_name"] || !scored["total_amount"] {
		t.Errorf("fields scored: %v", scored)
	}

	// The metrics.
	mt := decodeJSON[server.ReviewMetrics](t, "metrics", []byte(stdoutOK(t, env, "metrics", "--json")))
	rates := map[string]int{}
	for _, f := range mt.Fields {
		rates[f.Field] = f.Corrected
	}
	if mt.Approved != 1 || mt.Touchless != 0 || rates["vendor_name"] != 1 || rates["total_amount"] != 1 || mt.TimeToReview.N != 1 || len(mt.Weeks) != 1 {
		t.Errorf("metrics %+v", mt)
	}
	mustContain(t, "metrics", stdoutOK(t, env, "metrics"), "touchless: 0 of 1 approved (0.0%)", "vendor_name", "per week:")
	if resp, b := api("GET", "/v1/review/metrics", "", nil); resp.StatusCode != 200 || !strings.Contains(string(b), `"approved":1`) {
		t.Errorf("metrics API: %d %s", resp.StatusCode, b)
	}
	if resp, b := api("GET", "/v1/review/queue?limit=5", "", nil); resp.StatusCode != 200 || !strings.Contains(string(b), `"counts"`) {
		t.Errorf("queue: %d %s", resp.StatusCode, b)
	}
}
