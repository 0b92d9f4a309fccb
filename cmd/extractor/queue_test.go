package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/extractor-dev/extractor/pipeline"
)

// waitQueued polls 'runs watch --once' until the run is finished or
// cancelled, and returns its last progress.
func waitQueued(t *testing.T, env map[string]string, id string) string {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) { // a hang guard
		_, r := runOK(t, env, "runs", "watch", "--once", id)
		if strings.Contains(r.stdout, " finished in ") || strings.Contains(r.stdout, " cancelled in ") {
			return r.stderr + r.stdout
		}
	}
	t.Fatalf("run %s did not finish", id)
	return ""
}

// A folder run on the queue: the submitter records it and returns its id;
// a worker does the documents; the run is a run like a local one of the
// same folder: the same results (export, in input order), its records in
// the database for 'diff' and 'lineage'. A file holding another's bytes is
// one document (one job), and both inputs are exported.
func TestQueuedRunCLI(t *testing.T) {
	env := storedEnv(t)
	dir := t.TempDir()
	src := testdataDir(t)
	var names []string
	filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".pdf") && len(names) < 6 {
			b, _ := os.ReadFile(p)
			names = append(names, filepath.Base(p))
			os.WriteFile(filepath.Join(dir, filepath.Base(p)), b, 0o644)
		}
		return nil
	})
	b, _ := os.ReadFile(filepath.Join(dir, names[0]))
	os.WriteFile(filepath.Join(dir, "zz-copy.pdf"), b, 0o644) // the same bytes as the first
	names = append(names, "zz-copy.pdf")

	_, r := runOK(t, env, "run", dir, "--queue")
	id := strings.TrimSpace(r.stdout)
	mustContain(t, "run --queue", r.stderr, "6 documents queued (7 files, 1 held the same bytes as another, 0 unreadable)", "extractor runs watch "+id)
	if _, q := runOK(t, env, "runs", "watch", "--once", id); !strings.Contains(q.stderr, "running: 0/6 done") {
		t.Errorf("before any worker: %s", q.stderr)
	}
	w := startCommand(t, env, "worker", "--workers", "2")
	progress := waitQueued(t, env, id)
	mustContain(t, "runs watch", progress, "finished: 6/6 done (100.0%): 6 ok")

	_, ex := runOK(t, env, "export", id, "-o", "jsonl")
	var got []pipeline.ResultLine
	for _, l := range strings.Split(strings.TrimSpace(ex.stdout), "\n") {
		var line pipeline.ResultLine
		if err := json.Unmarshal([]byte(l), &line); err != nil {
			t.Fatalf("export: %v: %s", err, l)
		}
		got = append(got, line)
	}
	if len(got) != len(names) {
		t.Fatalf("export: %d lines for %d inputs", len(got), len(names))
	}
	for i, l := range got {
		if filepath.Base(l.File) != names[i] || l.Status != "ok" || l.RunID != id {
			t.Errorf("export line %d: %s %s %s, want %s", i, l.File, l.Status, l.RunID, names[i])
		}
	}
	if got[0].DocumentID != got[len(got)-1].DocumentID || got[0].Fields["invoice_number"].Value != got[len(got)-1].Fields["invoice_number"].Value {
		t.Errorf("the copy's line differs from its original's")
	}
	_, csv := runOK(t, env, "export", id[len(id)-6:], "-o", "csv")
	if n := strings.Count(csv.stdout, "\n"); n != len(names)+1 {
		t.Errorf("csv: %d lines:\n%s", n, csv.stdout)
	}

	// A local run of the same folder reads the same: diff finds nothing
	// changed, and lineage follows a value of the queued run.
	_, local := runOK(t, env, "run", dir, "--out", filepath.Join(t.TempDir(), "out.jsonl"))
	localID := ""
	for _, f := range strings.Fields(local.stderr) {
		if strings.Count(f, "-") == 1 && strings.HasPrefix(f, "20") && len(f) > 20 {
			localID = strings.TrimRight(f, ")")
		}
	}
	_, d := runOK(t, env, "diff", localID, id)
	mustContain(t, "diff", d.stdout, "nothing changed")
	_, lin := runOK(t, env, "lineage", "--run", id, got[1].DocumentID[:12], "invoice_number")
	mustContain(t, "lineage", lin.stdout, got[1].Fields["invoice_number"].Value, "run "+id)
	if code := w.shutdown(t); code != 0 {
		t.Errorf("worker exited %d: %s", code, w.stderr)
	}
	// The run's manifest in the database has its totals.
	_, runs := runOK(t, env, "runs", "--json")
	var found bool
	for _, l := range strings.Split(strings.TrimSpace(runs.stdout), "\n") {
		var run pipeline.Run
		json.Unmarshal([]byte(l), &run)
		if run.ID == id {
			found = true
			if run.Status != "finished" || run.Counts.Documents != 6 || run.Counts.OK != 6 || run.Finished == nil || run.Versions["parser"] == "" {
				t.Errorf("manifest: %+v", run)
			}
		}
	}
	if !found {
		t.Errorf("'runs' does not list the queued run:\n%s", runs.stdout)
	}
}

// A queued run cancelled before any worker took it: nothing is done, the
// export is empty, and it cannot be cancelled again.
func TestQueuedRunCancel(t *testing.T) {
	env := storedEnv(t)
	_, r := runOK(t, env, "run", testdataDir(t), "--queue")
	id := strings.TrimSpace(r.stdout)
	_, c := runOK(t, env, "runs", "cancel", id)
	mustContain(t, "runs cancel", c.stderr, "cancelled: 20 waiting documents dropped; 0 of 20 done")
	mustContain(t, "watch", waitQueued(t, env, id), "cancelled: 0/20 done")
	_, ex := runOK(t, env, "export", id)
	if ex.stdout != "" || !strings.Contains(ex.stderr, "20 inputs not done yet are left out") {
		t.Errorf("export of a cancelled run: %q %q", ex.stdout, ex.stderr)
	}
	again := run(t, env, "runs", "cancel", id)
	if again.code != 2 || !strings.Contains(again.stderr, "cancelled already") {
		t.Errorf("cancel again: %d %s", again.code, again.stderr)
	}
	if r := run(t, env, "run", testdataDir(t), "--queue", "--no-store"); r.code != 2 {
		t.Errorf("--queue without the database: %d %s", r.code, r.stderr)
	}
}
