package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/extractor-dev/extractor/pipeline"
	"github.com/extractor-dev/extractor/store"
)

// loadLine is a stored invoice result for the load test: realistic
// fields and line items, and, for most, a reason for review.
func loadLine(i int) pipeline.ResultLine {
	ev := func(q string) pipeline.Evidence { return pipeline.Evidence{Page: 1, Quote: q} }
	f := func(v string) pipeline.Field {
		return pipeline.Field{Value: v, Raw: v, Evidence: ev("... " + v + " ..."), Grounded: true, Confidence: 0.9}
	}
	total := fmt.Sprintf("%d.%02d", 100+i%9000, i%100)
	l := pipeline.ResultLine{RunID: fmt.Sprintf("load-run-%d", i%5), DocumentID: docKey(i), File: fmt.Sprintf("load-%05d.pdf", i), Status: "ok",
		Schema: pipeline.SchemaRef{Name: "invoice", Version: "1"}, Extractor: pipeline.ExtractorRef{Kind: "rules", Version: "rules/9"},
		Fields: map[string]pipeline.Field{
			"vendor_name": f(fmt.Sprintf("Vendor %02d GmbH", i%50)), "invoice_number": f(fmt.Sprintf("INV-%05d", i)),
			"issue_date": f("2026-01-15"), "due_date": f("2026-02-14"), "currency": f("EUR"),
			"net_amount": f(total), "tax_amount": f("0.00"), "total_amount": f(total), "vendor_vat_id": f("DE123456789"),
		},
		Lists: map[string][]pipeline.Item{"line_items": {
			{Fields: map[string]pipeline.Field{"description": f("Widgets"), "amount": f(total)}, Evidence: ev("Widgets " + total), Grounded: true},
		}},
		Confidence: 0.9, Version: 1}
	switch i % 6 {
	case 0:
		l.Issues = []pipeline.Issue{{Field: "total_amount", Code: pipeline.IssueArithmetic, Severity: pipeline.SeverityFail, Message: "does not add up"}}
	case 1:
		l.Issues = []pipeline.Issue{{Field: "vendor_name", Code: pipeline.IssueUngrounded, Severity: pipeline.SeverityFail, Message: "not on the page"}}
	case 2:
		l.Confidence = 0.55
	case 3:
		l.Issues = []pipeline.Issue{{Field: "iban", Code: pipeline.IssueEInvoiceMismatch, Severity: pipeline.SeverityWarn, Message: "the page differs"}}
	case 4:
		l.Status, l.Error, l.Fields, l.Lists = "failed", "parse: encrypted, needs password", nil, nil
	case 5: // clean: not in the queue
	}
	return l
}

func docKey(i int) string { return fmt.Sprintf("%064x", 0xa11ce000000+i) }

// loadClient is an HTTP client for many workers: no t.Fatal off the test's
// goroutine, and enough idle connections to reuse them.
type loadClient struct {
	base string
	http *http.Client
}

func (c loadClient) do(method, path, key, body string, header map[string]string) (int, http.Header, []byte, time.Duration, error) {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		return 0, nil, nil, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	t0 := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b, time.Since(t0), err
}

// 50 reviewers work the queue at once on 5,000 stored documents: each
// reads a page of the queue (a reason filter now and then), opens one of
// its first documents, corrects its total under If-Match and approves it.
// Reviewers on the same document collide: the loser gets a 412 and moves
// on. Logged: the p50/p95/p99 of each call. Checked in the database:
// every correction answered 200 is stored once, none other is; every
// approval answered 200 is stored once; each document's current total is
// its last correction's.
func TestReviewLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("the load test takes a while")
	}
	env := storedEnv(t)
	ctx := context.Background()
	pool, err := store.Connect(ctx, env["EXTRACTOR_DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	st := store.New(pool, store.Config{})
	const docs, reviewers, perReviewer, keys = 5000, 50, 20, 10
	t0 := time.Now()
	var wg sync.WaitGroup
	work := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range work {
				if err := st.SaveResult(ctx, loadLine(i)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	for i := range docs {
		work <- i
	}
	close(work)
	wg.Wait()
	t.Logf("seeded %d documents' results and review states in %s", docs, time.Since(t0).Round(time.Millisecond))

	var tokens []string
	for k := range keys {
		_, r := runOK(t, env, "keys", "create", "--name", fmt.Sprintf("reviewer-%d", k))
		tokens = append(tokens, strings.TrimSpace(r.stdout))
	}
	cfgPath := filepath.Join(t.TempDir(), "load.yaml")
	if err := os.WriteFile(cfgPath, []byte("server:\n  rate_per_second: 100000\n  burst: 10000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startCommand(t, env, "serve", "--addr", "127.0.0.1:0", "--no-workers", "--config", cfgPath)
	c := loadClient{base: srv.url, http: &http.Client{Timeout: 2 * time.Minute, // a hang guard
		Transport: &http.Transport{MaxIdleConns: 2 * reviewers, MaxIdleConnsPerHost: 2 * reviewers}}}

	type outcome struct {
		calls     map[string][]time.Duration
		corrected map[string][]string // document -> values answered 200, in order
		approved  int
		stale     map[string]int
		failures  []string
	}
	outs := make([]outcome, reviewers)
	start := time.Now()
	for r := range reviewers {
		wg.Go(func() {
			o := outcome{calls: map[string][]time.Duration{}, corrected: map[string][]string{}, stale: map[string]int{}}
			defer func() { outs[r] = o }()
			key := tokens[r%keys]
			rng := rand.New(rand.NewPCG(uint64(r), 7))
			call := func(name, method, path, body string, header map[string]string) (int, http.Header, []byte, bool) {
				code, h, b, d, err := c.do(method, path, key, body, header)
				if err != nil {
					o.failures = append(o.failures, fmt.Sprintf("%s: %v", name, err))
					return 0, nil, nil, false
				}
				o.calls[name] = append(o.calls[name], d)
				return code, h, b, true
			}
			for i := range perReviewer {
				path := "/v1/review/queue?limit=20"
				if i%4 == 3 {
					path += "&reason=" + pipeline.ReviewReasons[rng.IntN(len(pipeline.ReviewReasons))]
				}
				code, _, b, ok := call("queue", "GET", path, "", nil)
				if !ok || code != 200 {
					o.failures = append(o.failures, fmt.Sprintf("queue: %d %.200s", code, b))
					continue
				}
				var page pipeline.QueuePage
				if err := json.Unmarshal(b, &page); err != nil || len(page.Items) == 0 {
					o.failures = append(o.failures, fmt.Sprintf("queue page: %v (%d items)", err, len(page.Items)))
					continue
				}
				id := page.Items[rng.IntN(min(5, len(page.Items)))].DocumentID
				code, h, b, ok := call("values", "GET", "/v1/documents/"+id+"/fields", "", nil)
				if !ok || code != 200 {
					o.failures = append(o.failures, fmt.Sprintf("values: %d %.200s", code, b))
					continue
				}
				value := fmt.Sprintf("9%02d%03d.00", r, i) // never a value the document had
				change := fmt.Sprintf(`{"changes": [{"op": "set", "field": "total_amount", "value": %q}], "reason": "load"}`, value)
				code, h, b, ok = call("correct", "PATCH", "/v1/documents/"+id+"/fields", change, map[string]string{"If-Match": h.Get("ETag")})
				switch {
				case !ok:
					continue
				case code == http.StatusPreconditionFailed:
					o.stale["correct"]++
					continue
				case code != 200:
					o.failures = append(o.failures, fmt.Sprintf("correct: %d %.200s", code, b))
					continue
				}
				o.corrected[id] = append(o.corrected[id], value)
				code, _, b, ok = call("approve", "POST", "/v1/documents/"+id+"/approve", "", map[string]string{"If-Match": h.Get("ETag")})
				switch {
				case !ok:
				case code == http.StatusPreconditionFailed:
					o.stale["approve"]++
				case code != 200:
					o.failures = append(o.failures, fmt.Sprintf("approve: %d %.200s", code, b))
				default:
					o.approved++
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)

	calls := map[string][]time.Duration{}
	corrected := map[string][]string{}
	var approved, correctStale, approveStale, requests int
	for _, o := range outs {
		for _, f := range o.failures {
			t.Error(f)
		}
		for k, ds := range o.calls {
			calls[k] = append(calls[k], ds...)
			requests += len(ds)
		}
		for id, vs := range o.corrected {
			corrected[id] = append(corrected[id], vs...)
		}
		approved += o.approved
		correctStale += o.stale["correct"]
		approveStale += o.stale["approve"]
	}
	pct := func(ds []time.Duration, q float64) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		return s[int(q*float64(len(s)-1))].Round(100 * time.Microsecond)
	}
	var madeCorrections int
	for _, vs := range corrected {
		madeCorrections += len(vs)
	}
	t.Logf("%d reviewers on %d documents: %d requests in %s (%.0f/s); %d corrections and %d approvals answered 200; %d corrections and %d approvals refused as stale (412)",
		reviewers, docs, requests, elapsed.Round(time.Millisecond), float64(requests)/elapsed.Seconds(), madeCorrections, approved, correctStale, approveStale)
	for _, name := range []string{"queue", "values", "correct", "approve"} {
		if ds := calls[name]; len(ds) > 0 {
			t.Logf("%-8s n=%4d  p50 %8s  p95 %8s  p99 %8s  max %8s", name, len(ds), pct(ds, 0.5), pct(ds, 0.95), pct(ds, 0.99), pct(ds, 1))
		}
	}

	// In the database: every correction answered 200 once, and no other;
	// every approval once; each document's current total its last
	// correction's (the order of one document's corrections is the order
	// the server accepted them: one reviewer's 200 comes before the next
	// one's read of the new version).
	rows, err := pool.Query(ctx, "SELECT document_id, after ->> 'value' FROM corrections ORDER BY document_id, seq")
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string][]string{}
	n := 0
	for rows.Next() {
		var id, v string
		if err := rows.Scan(&id, &v); err != nil {
			t.Fatal(err)
		}
		stored[id] = append(stored[id], v)
		n++
	}
	if n != madeCorrections || len(stored) != len(corrected) {
		t.Errorf("%d corrections stored on %d documents; %d answered 200 on %d documents", n, len(stored), madeCorrections, len(corrected))
	}
	for id, want := range corrected {
		got := stored[id]
		if !sameSet(got, want) {
			t.Errorf("document %s: stored %v, answered %v", id[:12], got, want)
		}
	}
	var decisions, sumCorrections, mismatched int
	pool.QueryRow(ctx, "SELECT count(*) FROM review_decisions").Scan(&decisions)
	pool.QueryRow(ctx, "SELECT coalesce(sum(corrections), 0) FROM review_documents").Scan(&sumCorrections)
	pool.QueryRow(ctx, `SELECT count(*) FROM review_documents r WHERE r.corrections > 0 AND r.current #>> '{fields,total_amount,value}' IS DISTINCT FROM
    (SELECT c.after ->> 'value' FROM corrections c WHERE c.document_id = r.document_id ORDER BY c.seq DESC LIMIT 1)`).Scan(&mismatched)
	if decisions != approved || sumCorrections != madeCorrections || mismatched != 0 {
		t.Errorf("%d decisions stored for %d approvals answered 200; the documents count %d corrections for %d; %d documents' total is not their last correction",
			decisions, approved, sumCorrections, madeCorrections, mismatched)
	}
}

// sameSet reports whether a and b hold the same strings as often.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
