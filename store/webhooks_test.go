package store

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestWebhookSubscriptions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := testStore(t)
	for _, bad := range []struct {
		url    string
		events []string
	}{
		{"ftp://example.com/hook", []string{"job.completed"}},
		{"/relative", []string{"job.completed"}},
		{"https://user:pass@example.com/", []string{"job.completed"}},
		{"https://example.com/", nil},
		{"https://example.com/" + strings.Repeat("a", 2000), []string{"job.completed"}},
	} {
		if _, err := s.CreateWebhook(ctx, bad.url, bad.events, "", "k1"); !errors.Is(err, ErrInvalid) {
			t.Errorf("%.40s %v: %v", bad.url, bad.events, err)
		}
	}
	w, err := s.CreateWebhook(ctx, "https://erp.example.com/hooks/extractor", []string{"job.completed", "document.approved", "job.completed"}, "ERP", "k1")
	if err != nil {
		t.Fatal(err)
	}
	if w.ID == 0 || !strings.HasPrefix(w.Secret, "whsec_") || len(w.Secret) != 70 || len(w.Events) != 2 || w.Events[0] != "document.approved" {
		t.Errorf("webhook %+v", w)
	}
	if b, _ := json.Marshal(w); strings.Contains(string(b), w.Secret) {
		t.Error("a webhook's JSON shows its secret")
	}
	list, err := s.Webhooks(ctx)
	if err != nil || len(list) != 1 || list[0].Secret != w.Secret {
		t.Errorf("list %+v %v", list, err)
	}
	if err := s.DeleteWebhook(ctx, w.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteWebhook(ctx, w.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted twice: %v", err)
	}
	if list, _ := s.Webhooks(ctx); len(list) != 0 {
		t.Errorf("a deleted webhook is listed: %+v", list)
	}
	if got, err := s.Webhook(ctx, w.ID); err != nil || got.Deleted == nil {
		t.Errorf("a deleted webhook is kept: %+v %v", got, err)
	}
	if _, err := s.Deliveries(ctx, 999, 10); !errors.Is(err, ErrNotFound) {
		t.Errorf("deliveries of no webhook: %v", err)
	}
}

// Deliveries are retried with backoff until one succeeds, and every
// attempt is recorded; a webhook deleted meanwhile gets nothing more.
func TestWebhookDeliveries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := testStore(t)
	var mu sync.Mutex
	var got []string
	fails := map[int64]int{} // webhook id -> attempts to fail
	q, err := NewQueue(s.Pool(), QueueConfig{Workers: 1, PollInterval: 50 * time.Millisecond, WebhookAttempts: 3, WebhookRetryBase: 20 * time.Millisecond,
		Deliver: func(ctx context.Context, w Webhook, e Event, attempt int) (int, error) {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, w.URL+" "+e.Type+" "+string(e.Data))
			if attempt <= fails[w.ID] {
				return 503, errors.New("HTTP 503")
			}
			return 204, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	flaky, _ := s.CreateWebhook(ctx, "http://flaky.example/", []string{"job.completed"}, "", "k")
	down, _ := s.CreateWebhook(ctx, "http://down.example/", []string{"job.completed"}, "", "k")
	other, _ := s.CreateWebhook(ctx, "http://other.example/", []string{"document.approved"}, "", "k")
	gone, _ := s.CreateWebhook(ctx, "http://gone.example/", []string{"job.completed"}, "", "k")
	fails[flaky.ID], fails[down.ID] = 2, 99

	if id, err := q.Notify(ctx, "document.rejected", map[string]any{"x": 1}); err != nil || id != 0 {
		t.Errorf("an event nobody subscribes to: %d %v", id, err)
	}
	id, err := q.Notify(ctx, "job.completed", map[string]any{"job_id": 7, "state": "succeeded"})
	if err != nil || id == 0 {
		t.Fatal(id, err)
	}
	if err := s.DeleteWebhook(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer q.Stop(ctx)
	deadline := time.Now().Add(2 * time.Minute) // a hang guard
	for {
		var open int
		if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM river_job WHERE kind = 'webhook' AND finalized_at IS NULL").Scan(&open); err != nil {
			t.Fatal(err)
		}
		if open == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d deliveries still open", open)
		}
		time.Sleep(20 * time.Millisecond)
	}
	check := func(w Webhook, want []bool) {
		t.Helper()
		ds, err := s.Deliveries(ctx, w.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != len(want) {
			t.Fatalf("%s: %d deliveries, want %d: %+v", w.URL, len(ds), len(want), ds)
		}
		for i, d := range ds { // newest first
			n := len(ds) - i
			if d.Attempt != n || d.Delivered != want[n-1] || d.EventID != id || d.EventType != "job.completed" || d.JobID == 0 {
				t.Errorf("%s delivery %d: %+v", w.URL, n, d)
			}
			if d.Delivered != (d.StatusCode == 204) || (d.Error == "") != d.Delivered {
				t.Errorf("%s delivery %d: %+v", w.URL, n, d)
			}
		}
	}
	check(flaky, []bool{false, false, true})
	check(down, []bool{false, false, false})
	check(other, nil)
	check(gone, nil)
	var states []string
	rows, _ := s.pool.Query(ctx, "SELECT state::text FROM river_job WHERE kind = 'webhook' ORDER BY (args->>'webhook')::bigint")
	for rows.Next() {
		var st string
		rows.Scan(&st)
		states = append(states, st)
	}
	if strings.Join(states, ",") != "completed,discarded,cancelled" {
		t.Errorf("delivery jobs %v (flaky, down, gone)", states)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, g := range got {
		if !strings.HasSuffix(g, `job.completed {"state": "succeeded", "job_id": 7}`) {
			t.Errorf("delivered %q", g)
		}
	}
}
