package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/extractor-dev/extractor/internal/llmtest"
	"github.com/extractor-dev/extractor/internal/synth"
	"github.com/extractor-dev/extractor/internal/testenv"
	"github.com/extractor-dev/extractor/store"
)

// Measures of queued runs (README, "Runs on the queue"). They take minutes
// and run only when asked:
//
//	go test ./cmd/extractor -run '^TestMeasureQueue$' -queue-measure limit -v -timeout 2h
//	    4 worker processes (4 documents each at once) against a fake provider
//	    answering in 1 s under a limit of 600 requests a minute
//	go test ./cmd/extractor -run '^TestMeasureQueue$' -queue-measure scale -queue-docs 10000 -queue-procs 4 -v -timeout 4h
//	    N documents, P worker processes, a fake provider answering in 50 ms
//	    with no limit: documents/s, CPU per document per process, rows and
//	    bytes per document, queue latency
var (
	queueMeasure = flag.String("queue-measure", "", "run a queue measure: limit or scale")
	queueDocs    = flag.Int("queue-docs", 0, "documents of the measure (default: limit 1800, scale 1000)")
	queueProcs   = flag.Int("queue-procs", 4, "worker processes")
	queueSlots   = flag.Int("queue-slots", 4, "documents each worker process does at once")
	queueFiles   = flag.String("queue-files", "", "folder of synthetic invoices to use (default: made in a temp folder)")
	queueKill    = flag.Bool("queue-kill", false, "kill -9 one worker a third of the way and start another")
	queueRestart = flag.Bool("queue-db-restart", false, "restart the database half way (scripts/pg.sh stop, start)")
)

// fakeProvider answers chat requests after a delay, counting arrivals and
// refusing (429, Retry-After) what passes its limit in the trailing
// minute, as a provider would.
type fakeProvider struct {
	mu       sync.Mutex
	arrivals []time.Time
	refused  int
	limit    int
	latency  time.Duration
}

func (f *fakeProvider) chat(req llmtest.ChatRequest) llmtest.Reply {
	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.limit > 0 {
		n := 0
		for i := len(f.arrivals) - 1; i >= 0 && now.Sub(f.arrivals[i]) < time.Minute; i-- {
			n++
		}
		if n >= f.limit {
			f.refused++
			return llmtest.Status(429, "rate limit").RetryAfter(2)
		}
	}
	f.arrivals = append(f.arrivals, now)
	return llmtest.ToolCall("record_invoice", invoiceArgs(map[string][3]any{"total_amount": {"1.00", 1, "1.00"}})).
		Usage(1500, 300).Delay(f.latency)
}

// maxWindow is the most arrivals in any window of length w (placed
// anywhere: half-open [t, t+w)).
func maxWindow(ts []time.Time, w time.Duration) int {
	best, j := 0, 0
	for i := range ts {
		for ts[i].Sub(ts[j]) >= w {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

func TestMeasureQueue(t *testing.T) {
	if *queueMeasure == "" {
		t.Skip("a measure: -queue-measure limit|scale")
	}
	ctx := context.Background()
	prov := &fakeProvider{latency: 50 * time.Millisecond}
	n := *queueDocs
	if *queueMeasure == "limit" {
		prov.limit, prov.latency = 600, time.Second
		if n == 0 {
			n = 1800
		}
	} else if n == 0 {
		n = 1000
	}
	llm := llmtest.NewServer(t)
	llm.Chat(prov.chat)
	env := storedEnv(t)
	dsn := env["EXTRACTOR_DATABASE_URL"]
	dir := *queueFiles
	if dir == "" {
		dir = t.TempDir()
		for i := range n {
			b, _, err := synth.Invoice(synth.Options{Seed: int64(1000 + i/5000), Count: 5000}, i%5000)
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(dir, fmt.Sprintf("inv-%05d.pdf", i)), b, 0o644)
		}
	}
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	rpm := ""
	if prov.limit > 0 {
		rpm = fmt.Sprintf("  requests_per_minute: %d\n", prov.limit)
	}
	os.WriteFile(cfg, []byte(fmt.Sprintf("llm:\n  base_url: %s/v1\n  model: gpt-4o-mini\n%sserver:\n  job_timeout: 30s\n", llm.URL, rpm)), 0o644)

	exe, _ := os.Executable()
	type proc struct {
		cmd    *exec.Cmd
		stderr *syncBuffer
	}
	var procs []*proc
	startWorker := func() *proc {
		c := exec.Command(exe, "worker", "--workers", strconv.Itoa(*queueSlots), "--config", cfg)
		c.Env = append(os.Environ(), asCLIEnv+"=1", "EXTRACTOR_DATABASE_URL="+dsn, "EXTRACTOR_STATE="+t.TempDir())
		p := &proc{cmd: c, stderr: &syncBuffer{}}
		c.Stderr = p.stderr
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		procs = append(procs, p)
		return p
	}
	for range *queueProcs {
		startWorker()
	}
	defer func() {
		for _, p := range procs {
			if p.cmd.ProcessState == nil {
				p.cmd.Process.Kill()
				p.cmd.Wait()
			}
		}
	}()

	submitStart := time.Now()
	_, r := runOK(t, env, "run", dir, "--queue", "--config", cfg)
	id := strings.TrimSpace(r.stdout)
	submitted := time.Since(submitStart)
	t.Logf("%s", strings.TrimSpace(r.stderr))

	pool, err := store.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	st := store.New(pool, store.Config{})
	killed, restarted := false, false
	var qr store.QueuedRun
	deadline := time.Now().Add(3 * time.Hour) // a hang guard
	for time.Now().Before(deadline) {
		time.Sleep(time.Second)
		if qr, err = st.QueuedRun(ctx, id); err != nil {
			if *queueRestart && restarted {
				continue // the database is coming back
			}
			t.Fatal(err)
		}
		if qr.Finished != nil {
			break
		}
		if *queueKill && !killed && qr.Done >= qr.Total/3 {
			killed = true
			procs[0].cmd.Process.Kill() // SIGKILL: its jobs stay "running" until rescued
			procs[0].cmd.Wait()
			t.Logf("killed worker 1 (pid %d) at %d/%d done", procs[0].cmd.Process.Pid, qr.Done, qr.Total)
			startWorker()
		}
		if *queueRestart && !restarted && qr.Done >= qr.Total/2 {
			restarted = true
			root := testenv.RepoRoot(t)
			out, err := exec.Command(filepath.Join(root, "scripts", "pg.sh"), "stop").CombinedOutput()
			t.Logf("database stopped at %d/%d done: %s %v", qr.Done, qr.Total, out, err)
			time.Sleep(5 * time.Second)
			out, err = exec.Command(filepath.Join(root, "scripts", "pg.sh"), "start").CombinedOutput()
			t.Logf("database started: %v", err)
			_ = out
		}
	}
	if qr.Finished == nil {
		t.Fatalf("the run did not finish: %+v", qr)
	}
	elapsed := qr.Finished.Sub(qr.Created)
	for _, p := range procs {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Signal(syscall.SIGTERM)
			p.cmd.Wait()
		}
	}
	var cpus []string
	var cpuTotal time.Duration
	for _, p := range procs {
		u := p.cmd.ProcessState.UserTime() + p.cmd.ProcessState.SystemTime()
		cpuTotal += u
		cpus = append(cpus, fmt.Sprintf("%.1f ms", float64(u.Milliseconds())/float64(qr.Done)))
	}
	calls := len(llm.Requests())
	t.Logf("run %s: %d documents (%d ok, %d failed) by %d worker processes x %d in %s: %.2f documents/s; submit took %s",
		id, qr.Done, qr.OK, qr.Failed, len(procs), *queueSlots, elapsed.Round(time.Second), float64(qr.Done)/elapsed.Seconds(), submitted.Round(time.Millisecond))
	t.Logf("worker CPU per document, per process: %s (all workers: %.1f ms per document; their parser children included)",
		strings.Join(cpus, ", "), float64(cpuTotal.Milliseconds())/float64(qr.Done))
	t.Logf("model calls: %d (%d refused with 429) for %d documents", calls, prov.refused, qr.Done)
	if prov.limit > 0 {
		prov.mu.Lock()
		arr := slices.Clone(prov.arrivals)
		prov.mu.Unlock()
		span := arr[len(arr)-1].Sub(arr[0])
		rate := float64(len(arr)-1) / span.Minutes()
		perMinute := map[int]int{}
		for _, a := range arr {
			perMinute[int(a.Sub(arr[0]).Minutes())]++
		}
		var mins []string
		for m := 0; m <= int(span.Minutes()); m++ {
			mins = append(mins, strconv.Itoa(perMinute[m]))
		}
		t.Logf("provider: %.1f requests/minute over %s (%.1f%% of the limit %d); most in any 60 s window: %d; per minute from the first: %s",
			rate, span.Round(time.Second), 100*rate/float64(prov.limit), prov.limit, maxWindow(arr, time.Minute), strings.Join(mins, " "))
		if maxWindow(arr, time.Minute) > prov.limit || prov.refused > 0 {
			t.Errorf("the provider saw more than its limit")
		}
	}
	// Rows and bytes per document, and how long jobs waited.
	var rows, bytes int64
	tables, _ := pgx.CollectRows(mustRows(pool.Query(ctx, `SELECT relname, n_live_tup, pg_total_relation_size(relid) FROM pg_stat_user_tables
WHERE schemaname = current_schema() ORDER BY pg_total_relation_size(relid) DESC`)), func(r pgx.CollectableRow) (string, error) {
		var name string
		var n, size int64
		err := r.Scan(&name, &n, &size)
		rows += n
		bytes += size
		return fmt.Sprintf("%s %d rows %d KiB", name, n, size/1024), err
	})
	t.Logf("database: %.1f rows and %.1f KiB per document; %s", float64(rows)/float64(qr.Done), float64(bytes)/1024/float64(qr.Done), strings.Join(tables[:min(8, len(tables))], "; "))
	var p50, p95, first float64
	pool.QueryRow(ctx, `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY w), percentile_cont(0.95) WITHIN GROUP (ORDER BY w),
    (SELECT extract(epoch FROM attempted_at - created_at) FROM river_job WHERE kind = 'run_document' ORDER BY created_at, id LIMIT 1)
FROM (SELECT extract(epoch FROM attempted_at - created_at) AS w FROM river_job WHERE kind = 'run_document' AND attempted_at IS NOT NULL) x`).Scan(&p50, &p95, &first)
	t.Logf("queue: the first job started %.0f ms after it was queued; waits p50 %.1f s, p95 %.1f s (a backlog of the whole run)", first*1000, p50, p95)
	var dup int
	pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT document_id FROM results WHERE run_id = $1 GROUP BY 1 HAVING count(*) > 1) x`, id).Scan(&dup)
	var attempts int
	pool.QueryRow(ctx, `SELECT coalesce(sum(attempt), 0) FROM river_job WHERE kind = 'run_document'`).Scan(&attempts)
	t.Logf("results: %d documents with more than one result; %d job attempts for %d jobs", dup, attempts, qr.Total)
	if qr.Done != qr.Total || qr.OK+qr.Failed != qr.Total || dup != 0 {
		t.Errorf("not every document once: %+v", qr)
	}
	if extra := calls - qr.Done; extra > 0 {
		t.Logf("%d model calls more than documents (documents whose worker was killed, or retried)", extra)
	}
	for i, p := range procs {
		if s := p.stderr.String(); strings.Contains(s, "level=ERROR") {
			t.Logf("worker %d stderr:\n%s", i+1, s)
		}
	}
}

func mustRows(rows pgx.Rows, err error) pgx.Rows {
	if err != nil {
		panic(err)
	}
	return rows
}
