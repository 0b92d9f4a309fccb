package pipeline

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRunDir(t *testing.T) {
	state := t.TempDir()
	run := Run{ID: NewRunID(time.Now()), Status: "running", Inputs: []string{"/a.pdf", "/b.pdf", "/c.pdf"}, Versions: map[string]string{"parser": "pdf/1"}}
	d, err := CreateRun(state, run)
	if err != nil {
		t.Fatal(err)
	}
	d.Record(StepRecord{RunID: run.ID, Step: "parse", DocumentID: "d1"})
	ctx := context.Background()
	d.AddResult(ctx, ResultLine{File: "/a.pdf", Status: "ok"})
	d.AddResult(ctx, ResultLine{File: "/b.pdf", Status: "failed"})
	d.AddResult(ctx, ResultLine{File: "/c.pdf", Status: "interrupted"})
	d.Close()

	// Resume: reopen, see what is finished, append.
	d2, got, err := OpenRun(state, run.ID)
	if err != nil || got.ID != run.ID || got.Versions["parser"] != "pdf/1" {
		t.Fatalf("OpenRun: %v %+v", err, got)
	}
	done, err := Finished(state, run.ID)
	if err != nil || len(done) != 2 || done["/a.pdf"] != "ok" || done["/b.pdf"] != "failed" {
		t.Errorf("finished = %v, %v (interrupted documents are not finished)", done, err)
	}
	d2.AddResult(ctx, ResultLine{File: "/c.pdf", Status: "ok"})
	got.Status = "finished"
	d2.WriteManifest(got)
	d2.Close()
	if done, _ := Finished(state, run.ID); done["/c.pdf"] != "ok" {
		t.Errorf("resumed document not finished: %v", done)
	}
	steps, err := ReadSteps(state, run.ID)
	if err != nil || len(steps) != 1 || steps[0].Step != "parse" {
		t.Errorf("steps = %+v, %v", steps, err)
	}
	runs, _ := ListRuns(state)
	if len(runs) != 1 || runs[0].Status != "finished" {
		t.Errorf("runs = %+v", runs)
	}

	// A run killed mid-write leaves a truncated last line: it is skipped.
	f, _ := os.OpenFile(filepath.Join(d.Dir, "steps.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"run_id":"x","st`)
	f.Close()
	if steps, err := ReadSteps(state, run.ID); err != nil || len(steps) != 1 {
		t.Errorf("truncated line: %d steps, %v", len(steps), err)
	}
	// A broken line in the middle is an error naming it.
	os.WriteFile(filepath.Join(d.Dir, "results.jsonl"), []byte("not json\n{\"file\":\"/a.pdf\",\"status\":\"ok\"}\n"), 0o644)
	if _, err := ReadResults(state, run.ID); err == nil || !strings.Contains(err.Error(), "results.jsonl:1") {
		t.Errorf("err = %v", err)
	}
	for _, bad := range []string{"", "../x", "nope"} {
		if _, err := ReadManifest(state, bad); !errors.Is(err, ErrNoRun) {
			t.Errorf("ReadManifest(%q) = %v", bad, err)
		}
	}
	if a, b := NewRunID(time.Unix(0, 0)), NewRunID(time.Unix(1, 0)); a >= b || !strings.HasPrefix(a, "19700101T000000Z-") {
		t.Errorf("run ids %s %s must sort by time", a, b)
	}
}
