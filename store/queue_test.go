package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

func TestQueue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := testStore(t)
	var calls atomic.Int64
	q, err := NewQueue(s.Pool(), QueueConfig{Workers: 2, MaxAttempts: 2, RetryBase: 10 * time.Millisecond, PollInterval: 50 * time.Millisecond,
		Work: func(ctx context.Context, args ExtractArgs, attempt int) (json.RawMessage, error) {
			calls.Add(1)
			if j, ok := JobOf(ctx); !ok || j.ID == 0 || j.Attempt != attempt || j.MaxAttempts != 2 || j.Last() != (attempt == 2) {
				t.Errorf("JobOf = %+v, %v at attempt %d", j, ok, attempt)
			}
			switch {
			case args.Name == "broken":
				return nil, errors.New("the model is down")
			case args.Name == "flaky" && attempt == 1:
				return nil, errors.New("a blip")
			}
			return json.RawMessage(fmt.Sprintf(`{"file": %q, "attempt": %d}`, args.Name, attempt)), nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer q.Stop(ctx)

	_, key, _ := s.CreateKey(ctx, "k")
	var ids []int64
	for _, name := range []string{"a", "b", "flaky", "broken"} {
		info, existed, err := q.Submit(ctx, ExtractArgs{Upload: docID(name), Name: name, APIKey: key.ID}, "h-"+name)
		if err != nil || existed || info.State != JobQueued || info.Args.Name != name {
			t.Fatalf("submit %s: %+v %v %v", name, info, existed, err)
		}
		ids = append(ids, info.ID)
	}
	// Idempotency: the same key and request give the same job.
	first, existed, err := q.Submit(ctx, ExtractArgs{Upload: docID("a"), Name: "a", APIKey: key.ID, IdempotencyKey: "k1"}, "same")
	if err != nil || existed {
		t.Fatal(err, existed)
	}
	again, existed, err := q.Submit(ctx, ExtractArgs{Upload: docID("a"), Name: "a", APIKey: key.ID, IdempotencyKey: "k1"}, "same")
	if err != nil || !existed || again.ID != first.ID {
		t.Errorf("resubmitted: %+v existed %v %v", again, existed, err)
	}
	if _, _, err := q.Submit(ctx, ExtractArgs{Upload: docID("b"), Name: "b", APIKey: key.ID, IdempotencyKey: "k1"}, "other"); !errors.Is(err, ErrIdempotencyConflict) {
		t.Errorf("another request with the key: %v", err)
	}
	ids = append(ids, first.ID)

	deadline := time.Now().Add(5 * time.Minute) // a hang guard
	final := map[int64]JobInfo{}
	for len(final) < len(ids) && time.Now().Before(deadline) {
		for _, id := range ids {
			info, err := q.Job(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if info.State == JobSucceeded || info.State == JobFailed {
				final[id] = info
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(final) != len(ids) {
		t.Fatalf("only %d of %d jobs finished", len(final), len(ids))
	}
	for i, name := range []string{"a", "b", "flaky", "broken", "a"} {
		info := final[ids[i]]
		switch name {
		case "broken":
			if info.State != JobFailed || info.QueueState != "discarded" || info.Attempt != 2 || len(info.Errors) != 2 {
				t.Errorf("broken: %+v", info)
			}
		case "flaky":
			var out struct{ Attempt int }
			json.Unmarshal(info.Output, &out)
			if info.State != JobSucceeded || out.Attempt != 2 || len(info.Errors) != 1 {
				t.Errorf("flaky: %+v", info)
			}
		default:
			if info.State != JobSucceeded || len(info.Output) == 0 || info.Finalized == nil {
				t.Errorf("%s: %+v", name, info)
			}
		}
	}
	if n := calls.Load(); n != 7 { // a, b, a (idempotent: once), flaky twice, broken twice
		t.Errorf("%d attempts, want 7", n)
	}
	if _, err := q.Job(ctx, 999999); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown job: %v", err)
	}
	// A finished job does not stop the same request from being queued
	// again.
	if info, existed, err := q.Submit(ctx, ExtractArgs{Upload: docID("b"), Name: "b", APIKey: key.ID}, "h-b"); err != nil || existed || info.ID == ids[1] {
		t.Errorf("b again after it finished: %+v existed %v %v", info, existed, err)
	}
}

// Unique jobs: the same unfinished request is queued once, whatever its
// trace context; another choice, key or Idempotency-Key is another job.
func TestQueueUniqueJobs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := testStore(t)
	q, err := NewQueue(s.Pool(), QueueConfig{}) // no workers: the jobs stay queued
	if err != nil {
		t.Fatal(err)
	}
	_, k1, _ := s.CreateKey(ctx, "k1")
	_, k2, _ := s.CreateKey(ctx, "k2")
	base := ExtractArgs{Upload: docID("x"), Name: "x.pdf", APIKey: k1.ID, TraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
	first, existed, err := q.Submit(ctx, base, "h")
	if err != nil || existed {
		t.Fatal(err, existed)
	}
	same := base
	same.Name, same.TraceParent = "renamed.pdf", ""
	if info, existed, err := q.Submit(ctx, same, "h"); err != nil || !existed || info.ID != first.ID {
		t.Errorf("the same request again: %+v existed %v %v", info, existed, err)
	}
	for name, edit := range map[string]func(*ExtractArgs){
		"another extractor":       func(a *ExtractArgs) { a.Extractor = "rules" },
		"another schema":          func(a *ExtractArgs) { a.Schema = "nda" },
		"another key":             func(a *ExtractArgs) { a.APIKey = k2.ID },
		"another file":            func(a *ExtractArgs) { a.Upload = docID("y") },
		"with an Idempotency-Key": func(a *ExtractArgs) { a.IdempotencyKey = "batch-1" },
	} {
		args := base
		edit(&args)
		if info, existed, err := q.Submit(ctx, args, "h-"+name); err != nil || existed || info.ID == first.ID {
			t.Errorf("%s: %+v existed %v %v", name, info, existed, err)
		}
	}
}
