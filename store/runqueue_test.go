package store

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/extractor-dev/extractor/pipeline"
)

func queuedInputs(names ...string) []QueuedInput {
	out := make([]QueuedInput, len(names))
	for i, n := range names {
		content := "pdf of " + n
		if len(n) > 4 && n[:4] == "dup-" { // dup-X holds the same bytes as X
			content = "pdf of " + n[4:]
		}
		out[i] = QueuedInput{Name: n, SHA256: docID(content), Content: []byte(content)}
	}
	return out
}

// A queued run: inputs go in by chunks, each distinct document gets one
// job (a repeated chunk and a file holding another's bytes add none), the
// workers' results are counted once each, the last one completes the
// manifest, and the export lists every input in order.
func TestQueuedRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := testStore(t)
	var mu sync.Mutex
	worked := map[string]int{}
	var q *Queue
	var completed atomic.Int64
	work := func(ctx context.Context, a RunDocumentArgs, attempt, maxAttempts int) error {
		mu.Lock()
		worked[a.Name]++
		mu.Unlock()
		if a.Name == "flaky" && attempt == 1 {
			return errors.New("a blip")
		}
		status := "ok"
		if a.Name == "broken" {
			status = "failed"
		}
		line := pipeline.ResultLine{RunID: a.RunID, DocumentID: a.Document, File: a.Name, Status: status, Version: 1,
			Spent: pipeline.Usage{InputTokens: 100, OutputTokens: 10, Attempts: 1}}
		last, err := s.FinishDocument(ctx, a.Document, line)
		if err != nil {
			return err
		}
		// The same document finished again (a job run twice) counts once.
		if again, err := s.FinishDocument(ctx, a.Document, line); err != nil || again {
			t.Errorf("finishing %s again: %v %v", a.Name, again, err)
		}
		if last {
			if ok, err := s.CompleteRun(ctx, a.RunID); err != nil || !ok {
				t.Errorf("completing the run: %v %v", ok, err)
			}
			completed.Add(1)
		}
		return nil
	}
	q, err := NewQueue(s.Pool(), QueueConfig{Workers: 3, MaxAttempts: 2, RetryBase: 10 * time.Millisecond, PollInterval: 50 * time.Millisecond, RunWork: work})
	if err != nil {
		t.Fatal(err)
	}
	run := pipeline.Run{ID: "20261207T000000Z-queued", Started: time.Now().UTC(), Inputs: []string{"a", "b", "dup-a", "flaky", "broken"}}
	if err := s.CreateQueuedRun(ctx, run, json.RawMessage(`{"schema":"invoice"}`)); err != nil {
		t.Fatal(err)
	}
	in := queuedInputs(run.Inputs...)
	for _, chunk := range []struct {
		first int
		in    []QueuedInput
		want  int
	}{
		{0, in[:3], 2}, // a, b (dup-a holds a's bytes)
		{0, in[:3], 0}, // the same chunk again (a submitter that started over)
		{3, in[3:], 2},
	} {
		n, err := q.EnqueueRun(ctx, run.ID, chunk.first, chunk.in)
		if err != nil || n != chunk.want {
			t.Fatalf("enqueue from %d: %d jobs, %v; want %d", chunk.first, n, err, chunk.want)
		}
	}
	if r, err := s.QueuedRun(ctx, run.ID); err != nil || r.Inputs != 5 || r.Total != 4 || r.State != RunQueued {
		t.Fatalf("queued: %+v %v", r, err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer q.Stop(ctx)
	if done, err := s.SealRun(ctx, run.ID); err != nil {
		t.Fatal(err)
	} else if done {
		s.CompleteRun(ctx, run.ID)
		completed.Add(1)
	}
	deadline := time.Now().Add(2 * time.Minute) // a hang guard
	var r QueuedRun
	for time.Now().Before(deadline) {
		if r, err = s.QueuedRun(ctx, run.ID); err != nil {
			t.Fatal(err)
		}
		if r.Finished != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r.State != RunFinished || r.Done != 4 || r.OK != 3 || r.Failed != 1 || r.Spent.InputTokens != 400 {
		t.Fatalf("progress: %+v", r)
	}
	if completed.Load() != 1 {
		t.Errorf("completed %d times", completed.Load())
	}
	mu.Lock()
	if worked["a"] != 1 || worked["dup-a"] != 0 || worked["flaky"] != 2 || worked["broken"] != 1 {
		t.Errorf("worked: %v", worked)
	}
	mu.Unlock()
	got, _, err := s.Run(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != RunFinished || got.Counts.Documents != 4 || got.Counts.OK != 3 || got.Counts.Failed != 1 || got.Finished == nil {
		t.Errorf("manifest: %+v", got)
	}
	var names []string
	err = s.QueuedExport(ctx, run.ID, func(seq int, name string, line *pipeline.ResultLine) error {
		if line == nil || line.File != name || seq != len(names) {
			t.Errorf("export %d %s: %+v", seq, name, line)
		}
		names = append(names, name)
		return nil
	})
	if err != nil || len(names) != 5 || names[2] != "dup-a" || names[4] != "broken" {
		t.Errorf("export: %v %v", names, err)
	}
}

// Cancelling a queued run deletes its waiting jobs and completes it as
// cancelled, with the documents not done counted as such; it cannot be
// cancelled twice, and no more inputs go in.
func TestCancelQueuedRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := testStore(t)
	q, err := NewQueue(s.Pool(), QueueConfig{}) // no workers
	if err != nil {
		t.Fatal(err)
	}
	run := pipeline.Run{ID: "20261207T000000Z-cancel", Started: time.Now().UTC()}
	if err := s.CreateQueuedRun(ctx, run, nil); err != nil {
		t.Fatal(err)
	}
	if n, err := q.EnqueueRun(ctx, run.ID, 0, queuedInputs("a", "b", "c")); err != nil || n != 3 {
		t.Fatal(n, err)
	}
	if _, err := s.FinishDocument(ctx, docID("pdf of a"), pipeline.ResultLine{RunID: run.ID, DocumentID: docID("pdf of a"), File: "a", Status: "ok"}); err != nil {
		t.Fatal(err)
	}
	deleted, err := q.CancelRun(ctx, s, run.ID)
	if err != nil || deleted != 3 { // a's job was never worked here: it is deleted too
		t.Fatalf("cancel: %d %v", deleted, err)
	}
	got, _, err := s.Run(ctx, run.ID)
	if err != nil || got.Status != RunCancelled || got.Counts.Documents != 3 || got.Counts.OK != 1 || got.Counts.Interrupted != 2 {
		t.Errorf("manifest: %+v %v", got, err)
	}
	if _, err := q.CancelRun(ctx, s, run.ID); !errors.Is(err, ErrInvalid) {
		t.Errorf("cancelling again: %v", err)
	}
	if _, err := q.EnqueueRun(ctx, run.ID, 3, queuedInputs("d")); !errors.Is(err, ErrRunCancelled) {
		t.Errorf("enqueue after cancel: %v", err)
	}
	if _, err := s.QueuedRun(ctx, "no-such-run"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown run: %v", err)
	}
}

// The spend of a queued run counts the step records, and the calls of a
// step that never wrote its record (a worker killed mid-step), once.
func TestQueuedRunSpend(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := testStore(t)
	run := pipeline.Run{ID: "20261207T000000Z-spend", Started: time.Now().UTC()}
	if err := s.CreateQueuedRun(ctx, run, nil); err != nil {
		t.Fatal(err)
	}
	doc := docID("d")
	u := pipeline.Usage{InputTokens: 100, OutputTokens: 10, Attempts: 1, CostUSD: 0.5, Prices: "p1"}
	// The killed attempt: a call answered, its step never recorded.
	if err := s.RecordCall(pipeline.CallRecord{RunID: run.ID, DocumentID: doc, Step: "extract", SpanID: "killed", At: time.Now(), Spent: u}); err != nil {
		t.Fatal(err)
	}
	// The attempt that finished: its call and its step record.
	if err := s.RecordCall(pipeline.CallRecord{RunID: run.ID, DocumentID: doc, Step: "extract", SpanID: "done", At: time.Now(), Spent: u}); err != nil {
		t.Fatal(err)
	}
	if err := s.Record(pipeline.StepRecord{RunID: run.ID, DocumentID: doc, Step: "extract", StepVersion: "v", Key: "k", InputHash: "i",
		Start: time.Now(), SpanID: "done", Spent: &u}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, "UPDATE queued_runs SET state = 'cancelled' WHERE run_id = $1", run.ID); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.CompleteRun(ctx, run.ID); err != nil || !ok {
		t.Fatal(ok, err)
	}
	got, _, err := s.Run(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if sp := got.Spent; sp.InputTokens != 200 || sp.Attempts != 2 || sp.CostUSD != 1 || sp.Prices != "p1" {
		t.Errorf("spent: %+v", sp)
	}
	if ok, err := s.CompleteRun(ctx, run.ID); err != nil || ok {
		t.Errorf("completed twice: %v %v", ok, err)
	}
}
