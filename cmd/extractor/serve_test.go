package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/extractor-dev/extractor/internal/llmtest"
	"github.com/extractor-dev/extractor/internal/synth"
	"github.com/extractor-dev/extractor/internal/testenv"
	"github.com/extractor-dev/extractor/store"
)

// liveServer is 'extractor serve' (or 'worker') running in process.
type liveServer struct {
	url    string
	stop   chan struct{}
	done   chan int
	stderr *syncBuffer
	once   sync.Once
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startCommand runs a long-running command ('serve' or 'worker') until
// the test ends or shutdown is called.
func startCommand(t *testing.T, env map[string]string, args ...string) *liveServer {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ls := &liveServer{stop: make(chan struct{}), done: make(chan int, 1), stderr: &syncBuffer{}}
	addrc := make(chan net.Addr, 1)
	m := &Main{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: ls.stderr, Getenv: func(k string) string { return env[k] },
		ChildCommand: []string{exe, childArg}, Stop: ls.stop, Listening: func(a net.Addr) { addrc <- a }}
	go func() { ls.done <- m.Run(context.Background(), args) }()
	if args[0] == "serve" {
		select {
		case a := <-addrc:
			ls.url = "http://" + a.String()
		case code := <-ls.done:
			t.Fatalf("%v exited %d: %s", args, code, ls.stderr)
		case <-time.After(3 * time.Minute): // a hang guard
			t.Fatalf("%v did not start: %s", args, ls.stderr)
		}
	}
	t.Cleanup(func() { ls.shutdown(t) })
	return ls
}

// shutdown stops the command as a first Ctrl-C would and waits for it.
func (ls *liveServer) shutdown(t *testing.T) int {
	code := -1
	ls.once.Do(func() {
		close(ls.stop)
		select {
		case code = <-ls.done:
		case <-time.After(5 * time.Minute): // a hang guard
			t.Errorf("did not stop: %s", ls.stderr)
		}
	})
	return code
}

// multipartBody builds an upload.
func multipartBody(t *testing.T, pdf []byte, name, options string) (io.Reader, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	if options != "" {
		w, _ := mw.CreateFormField("options")
		io.WriteString(w, options)
	}
	w, _ := mw.CreateFormFile("file", name)
	w.Write(pdf)
	mw.Close()
	return &b, mw.FormDataContentType()
}

func request(t *testing.T, method, url, key string, body io.Reader, ctype string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func createKey(t *testing.T, env map[string]string) string {
	t.Helper()
	_, r := runOK(t, env, "keys", "create", "--name", "test")
	return strings.TrimSpace(r.stdout)
}

// waitJob polls a job until it is finished.
func waitJob(t *testing.T, url, key string, id int64) map[string]any {
	t.Helper()
	deadline := time.Now().Add(5 * time.Minute) // a hang guard
	for time.Now().Before(deadline) {
		resp, body := request(t, "GET", fmt.Sprintf("%s/v1/jobs/%d", url, id), key, nil, "", nil)
		if resp.StatusCode == http.StatusTooManyRequests { // the key's rate limit: wait as told
			time.Sleep(time.Second)
			continue
		}
		if resp.StatusCode != 200 {
			t.Fatalf("job %d: %d %s", id, resp.StatusCode, body)
		}
		var job map[string]any
		json.Unmarshal(body, &job)
		if job["state"] == "succeeded" || job["state"] == "failed" {
			return job
		}
		time.Sleep(150 * time.Millisecond) // under the default limit of 10 requests/s
	}
	t.Fatalf("job %d did not finish", id)
	return nil
}

func TestServe(t *testing.T) {
	env := storedEnv(t)
	key := createKey(t, env)
	srv := startCommand(t, env, "serve", "--addr", "127.0.0.1:0")
	pdf, err := os.ReadFile(sample(t, "synth-0001.pdf"))
	if err != nil {
		t.Fatal(err)
	}

	// Synchronous: the result line, with its trace id.
	body, ct := multipartBody(t, pdf, "synth-0001.pdf", `{"schema": "invoice", "extractor": "rules"}`)
	resp, b := request(t, "POST", srv.url+"/v1/extractions", key, body, ct, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("extraction: %d %s", resp.StatusCode, b)
	}
	var line runLine
	if err := json.Unmarshal(b, &line); err != nil {
		t.Fatal(err)
	}
	if line.Status != "ok" || line.Fields["invoice_number"].Value != "RE-20221127/3" || line.File != "upload:synth-0001.pdf" || !line.Fields["total_amount"].Grounded {
		t.Errorf("line: %s", b)
	}
	var head struct {
		TraceID string `json:"trace_id"`
		RunID   string `json:"run_id"`
	}
	json.Unmarshal(b, &head)
	if head.TraceID != resp.Header.Get("X-Trace-Id") {
		t.Errorf("the document's trace %s is not the request's %s", head.TraceID, resp.Header.Get("X-Trace-Id"))
	}
	// What it stored: the document, the run, and the chunks for search.
	if resp, b := request(t, "GET", srv.url+"/v1/documents/"+line.DocumentID, key, nil, "", nil); resp.StatusCode != 200 || !strings.Contains(string(b), `"RE-20221127/3"`) {
		t.Errorf("document: %d %s", resp.StatusCode, b)
	}
	if resp, b := request(t, "GET", srv.url+"/v1/runs/"+head.RunID, key, nil, "", nil); resp.StatusCode != 200 || !strings.Contains(string(b), `"results"`) {
		t.Errorf("run: %d %s", resp.StatusCode, b)
	}
	resp, b = request(t, "POST", srv.url+"/v1/search", key, strings.NewReader(`{"query": "Rechnungsbetrag Richter", "k": 2, "filters": ["vendor_name~richter"]}`), "application/json", nil)
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"source":"upload:synth-0001.pdf"`) {
		t.Errorf("search: %d %s", resp.StatusCode, b)
	}
	if resp, b := request(t, "POST", srv.url+"/v1/search", key, strings.NewReader(`{"query": "x", "filters": ["Vendor=x"]}`), "application/json", nil); resp.StatusCode != 422 {
		t.Errorf("bad filter: %d %s", resp.StatusCode, b)
	}

	// A job, with an idempotency key; its spans join the request's trace.
	pdf4, _ := os.ReadFile(sample(t, "synth-0004.pdf"))
	body, ct = multipartBody(t, pdf4, "synth-0004.pdf", "")
	resp, b = request(t, "POST", srv.url+"/v1/jobs", key, body, ct, map[string]string{"Idempotency-Key": "batch-7/4"})
	if resp.StatusCode != 202 || !strings.HasPrefix(resp.Header.Get("Location"), "/v1/jobs/") {
		t.Fatalf("job: %d %v %s", resp.StatusCode, resp.Header, b)
	}
	submitTrace := resp.Header.Get("X-Trace-Id")
	var job struct{ ID int64 }
	json.Unmarshal(b, &job)
	done := waitJob(t, srv.url, key, job.ID)
	result, _ := done["result"].(map[string]any)
	if done["state"] != "succeeded" || result["status"] != "ok" || result["trace_id"] != submitTrace {
		t.Errorf("job done: %v (submitted in trace %s)", done, submitTrace)
	}
	body, ct = multipartBody(t, pdf4, "synth-0004.pdf", "")
	resp, b = request(t, "POST", srv.url+"/v1/jobs", key, body, ct, map[string]string{"Idempotency-Key": "batch-7/4"})
	if resp.StatusCode != 202 || resp.Header.Get("Idempotent-Replayed") != "true" || !strings.Contains(string(b), fmt.Sprintf(`"id":%d`, job.ID)) {
		t.Errorf("replay: %d %v %s", resp.StatusCode, resp.Header, b)
	}
	body, ct = multipartBody(t, pdf, "synth-0001.pdf", "")
	if resp, b := request(t, "POST", srv.url+"/v1/jobs", key, body, ct, map[string]string{"Idempotency-Key": "batch-7/4"}); resp.StatusCode != 422 {
		t.Errorf("reused key: %d %s", resp.StatusCode, b)
	}
	// Operations endpoints, and a revoked key.
	for _, path := range []string{"/livez", "/readyz", "/openapi.json", "/metrics"} {
		if resp, b := request(t, "GET", srv.url+path, "", nil, "", nil); resp.StatusCode != 200 {
			t.Errorf("%s: %d %s", path, resp.StatusCode, b)
		}
	}
	runOK(t, env, "keys", "revoke", key)
	if resp, _ := request(t, "GET", srv.url+"/v1/documents/"+line.DocumentID, key, nil, "", nil); resp.StatusCode != 401 {
		t.Errorf("a revoked key: %d", resp.StatusCode)
	}
	if code := srv.shutdown(t); code != 0 {
		t.Errorf("serve exited %d: %s", code, srv.stderr)
	}
	// The job's trace (flushed at shutdown at the latest): request span,
	// job span, document and its steps.
	spans, err := func() (int, error) {
		pool, err := store.Connect(context.Background(), env["EXTRACTOR_DATABASE_URL"])
		if err != nil {
			return 0, err
		}
		defer pool.Close()
		var n int
		err = pool.QueryRow(context.Background(), "SELECT count(*) FROM spans WHERE trace_id = $1 AND name IN ('POST /v1/jobs', 'job', 'document', 'parse', 'extract', 'store')", submitTrace).Scan(&n)
		return n, err
	}()
	if err != nil || spans < 6 {
		t.Errorf("%d spans of the job's trace (%v)", spans, err)
	}
}

// Jobs survive the server: queued by a server without workers, they are
// done by a worker started later.
func TestJobsSurviveRestart(t *testing.T) {
	env := storedEnv(t)
	key := createKey(t, env)
	srv := startCommand(t, env, "serve", "--addr", "127.0.0.1:0", "--no-workers")
	var ids []int64
	for _, name := range []string{"synth-0002.pdf", "synth-0003.pdf"} {
		pdf, _ := os.ReadFile(sample(t, name))
		body, ct := multipartBody(t, pdf, name, `{"extractor": "rules"}`)
		resp, b := request(t, "POST", srv.url+"/v1/jobs", key, body, ct, nil)
		if resp.StatusCode != 202 {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
		var j struct{ ID int64 }
		json.Unmarshal(b, &j)
		ids = append(ids, j.ID)
	}
	srv.shutdown(t)
	// Nothing worked them.
	pool, err := store.Connect(context.Background(), env["EXTRACTOR_DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	q, err := store.NewQueue(pool, store.QueueConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if info, err := q.Job(context.Background(), id); err != nil || info.State != store.JobQueued {
			t.Fatalf("job %d after the server stopped: %+v %v", id, info, err)
		}
	}
	worker := startCommand(t, env, "worker", "--workers", "2")
	deadline := time.Now().Add(5 * time.Minute) // a hang guard
	for _, id := range ids {
		for {
			info, err := q.Job(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if info.State == store.JobSucceeded {
				break
			}
			if info.State == store.JobFailed || time.Now().After(deadline) {
				t.Fatalf("job %d: %+v\n%s", id, info, worker.stderr)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if code := worker.shutdown(t); code != 0 {
		t.Errorf("worker exited %d: %s", code, worker.stderr)
	}
}

// A request in flight when the server is told to stop finishes.
func TestServeGracefulShutdown(t *testing.T) {
	llm := llmtest.NewServer(t)
	started := make(chan struct{}, 1)
	llm.Chat(func(req llmtest.ChatRequest) llmtest.Reply {
		started <- struct{}{}
		return llmtest.ToolCall("record_invoice", invoiceArgs(map[string][3]any{"invoice_number": {"RE-20221127/3", 1, "RE-20221127/3"}})).
			Delay(800 * time.Millisecond)
	})
	env := storedEnv(t)
	env["EXTRACTOR_LLM_BASE_URL"], env["EXTRACTOR_LLM_MODEL"] = llm.URL+"/v1", "gpt-4o-mini"
	key := createKey(t, env)
	srv := startCommand(t, env, "serve", "--addr", "127.0.0.1:0")
	pdf, _ := os.ReadFile(sample(t, "synth-0001.pdf"))
	type answer struct {
		status int
		body   []byte
	}
	res := make(chan answer, 1)
	go func() {
		body, ct := multipartBody(t, pdf, "slow.pdf", "")
		resp, b := request(t, "POST", srv.url+"/v1/extractions", key, body, ct, nil)
		res <- answer{resp.StatusCode, b}
	}()
	<-started
	code := srv.shutdown(t) // returns after the request finished
	a := <-res
	if a.status != 200 || !strings.Contains(string(a.body), `"RE-20221127/3"`) || code != 0 {
		t.Errorf("in flight at shutdown: %d %s; exit %d %s", a.status, a.body, code, srv.stderr)
	}
	if _, err := http.Get(srv.url + "/livez"); err == nil {
		t.Error("the server still answers after shutdown")
	}
}

// TestServeLoad uploads 200 distinct invoices as jobs, 16 at a time,
// through the fake LLM, and checks that every job is done exactly once.
func TestServeLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("the load test takes a while")
	}
	llm := llmtest.NewServer(t)
	llm.Chat(func(req llmtest.ChatRequest) llmtest.Reply {
		return llmtest.ToolCall("record_invoice", invoiceArgs(map[string][3]any{"total_amount": {"1.00", 1, "1.00"}})).Usage(1500, 300)
	})
	env := storedEnv(t)
	env["EXTRACTOR_LLM_BASE_URL"], env["EXTRACTOR_LLM_MODEL"] = llm.URL+"/v1", "gpt-4o-mini"
	key := createKey(t, env)
	// The per-key rate limit (10/s by default) is raised: this measures
	// the service, not the limiter.
	cfgPath := filepath.Join(t.TempDir(), "load.yaml")
	if err := os.WriteFile(cfgPath, []byte("server:\n  rate_per_second: 10000\n  burst: 1000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startCommand(t, env, "serve", "--addr", "127.0.0.1:0", "--workers", "4", "--config", cfgPath)
	const n, concurrency = 200, 16
	pdfs := make([][]byte, n)
	for i := range pdfs {
		var err error
		if pdfs[i], _, err = synth.Invoice(synth.Options{Seed: 7, Count: n}, i); err != nil {
			t.Fatal(err)
		}
	}
	type sub struct {
		id      int64
		latency time.Duration
		at      time.Time
	}
	subs := make([]sub, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, concurrency)
	start := time.Now()
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			body, ct := multipartBody(t, pdfs[i], fmt.Sprintf("load-%03d.pdf", i), "")
			t0 := time.Now()
			resp, b := request(t, "POST", srv.url+"/v1/jobs", key, body, ct, map[string]string{"Idempotency-Key": fmt.Sprintf("load-%d", i)})
			if resp.StatusCode != 202 {
				t.Errorf("upload %d: %d %s", i, resp.StatusCode, b)
				return
			}
			var j struct{ ID int64 }
			json.Unmarshal(b, &j)
			subs[i] = sub{j.ID, time.Since(t0), t0}
		})
	}
	wg.Wait()
	submitted := time.Since(start)
	ids := map[int64]bool{}
	for _, s := range subs {
		ids[s.id] = true
	}
	if len(ids) != n {
		t.Fatalf("%d distinct jobs for %d uploads", len(ids), n)
	}
	// Wait for all, recording when each finished.
	pool, err := store.Connect(context.Background(), env["EXTRACTOR_DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	deadline := time.Now().Add(10 * time.Minute)
	var finished int
	for time.Now().Before(deadline) {
		if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM river_job WHERE state IN ('completed', 'discarded')").Scan(&finished); err != nil {
			t.Fatal(err)
		}
		if finished == n {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	total := time.Since(start)
	var completed, attempts, results, llmCalls int
	pool.QueryRow(context.Background(), "SELECT count(*) FILTER (WHERE state = 'completed'), coalesce(sum(attempt), 0) FROM river_job").Scan(&completed, &attempts)
	pool.QueryRow(context.Background(), "SELECT count(DISTINCT document_id) FROM results").Scan(&results)
	llmCalls = len(llm.Requests())
	if finished != n || completed != n || attempts != n || results != n || llmCalls != n {
		t.Errorf("%d jobs finished, %d completed, %d attempts, %d documents with a result, %d model calls; want %d each", finished, completed, attempts, results, llmCalls, n)
	}
	// End-to-end latency: from submission to the job's finalization.
	rows, err := pool.Query(context.Background(), "SELECT id, finalized_at FROM river_job")
	if err != nil {
		t.Fatal(err)
	}
	fin := map[int64]time.Time{}
	for rows.Next() {
		var id int64
		var at time.Time
		rows.Scan(&id, &at)
		fin[id] = at
	}
	var submitLat, e2e []time.Duration
	for _, s := range subs {
		submitLat = append(submitLat, s.latency)
		e2e = append(e2e, fin[s.id].Sub(s.at))
	}
	pct := func(ds []time.Duration, q float64) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		return s[int(q*float64(len(s)-1))]
	}
	t.Logf("jobs: %d uploads at concurrency %d: submitted in %s, all done in %s (%.1f jobs/s); submit p50 %s p95 %s p99 %s; submit-to-done p50 %s p95 %s",
		n, concurrency, submitted.Round(time.Millisecond), total.Round(time.Millisecond), float64(n)/total.Seconds(),
		pct(submitLat, 0.5).Round(time.Millisecond), pct(submitLat, 0.95).Round(time.Millisecond), pct(submitLat, 0.99).Round(time.Millisecond),
		pct(e2e, 0.5).Round(time.Millisecond), pct(e2e, 0.95).Round(time.Millisecond))

	// Synchronous extractions of other invoices, 16 at a time: each answer
	// is its own document's line.
	var mu sync.Mutex
	var syncLat []time.Duration
	docs := map[string]bool{}
	start = time.Now()
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			pdf, _, err := synth.Invoice(synth.Options{Seed: 8, Count: n}, i)
			if err != nil {
				t.Error(err)
				return
			}
			body, ct := multipartBody(t, pdf, fmt.Sprintf("sync-%03d.pdf", i), "")
			t0 := time.Now()
			resp, b := request(t, "POST", srv.url+"/v1/extractions", key, body, ct, nil)
			lat := time.Since(t0)
			var line struct {
				DocumentID string `json:"document_id"`
				Status     string `json:"status"`
				File       string `json:"file"`
			}
			json.Unmarshal(b, &line)
			if resp.StatusCode != 200 || line.Status != "ok" || line.File != fmt.Sprintf("upload:sync-%03d.pdf", i) {
				t.Errorf("sync %d: %d %.300s", i, resp.StatusCode, b)
				return
			}
			mu.Lock()
			syncLat, docs[line.DocumentID] = append(syncLat, lat), true
			mu.Unlock()
		})
	}
	wg.Wait()
	syncTotal := time.Since(start)
	if len(docs) != n {
		t.Fatalf("%d documents from %d synchronous extractions", len(docs), n)
	}
	t.Logf("sync: %d extractions at concurrency %d in %s (%.1f/s); latency p50 %s p95 %s p99 %s max %s",
		n, concurrency, syncTotal.Round(time.Millisecond), float64(n)/syncTotal.Seconds(),
		pct(syncLat, 0.5).Round(time.Millisecond), pct(syncLat, 0.95).Round(time.Millisecond), pct(syncLat, 0.99).Round(time.Millisecond),
		pct(syncLat, 1).Round(time.Millisecond))
	if calls := len(llm.Requests()); calls != 2*n {
		t.Errorf("%d model calls for %d documents", calls, 2*n)
	}
}

// A worker told to stop lets its running job finish; told twice (its
// context cancelled), it gives the job back to the queue, and the next
// worker does it.
func TestWorkerStop(t *testing.T) {
	llm := llmtest.NewServer(t)
	started := make(chan struct{}, 4)
	llm.Chat(func(req llmtest.ChatRequest) llmtest.Reply {
		started <- struct{}{}
		return llmtest.ToolCall("record_invoice", goodInvoiceArgs).Delay(1500 * time.Millisecond)
	})
	env := storedEnv(t)
	env["EXTRACTOR_LLM_BASE_URL"], env["EXTRACTOR_LLM_MODEL"] = llm.URL+"/v1", "gpt-4o-mini"
	key := createKey(t, env)
	srv := startCommand(t, env, "serve", "--addr", "127.0.0.1:0", "--no-workers")
	submit := func(name string) int64 {
		pdf, _ := os.ReadFile(sample(t, name))
		body, ct := multipartBody(t, pdf, name, "")
		resp, b := request(t, "POST", srv.url+"/v1/jobs", key, body, ct, nil)
		if resp.StatusCode != 202 {
			t.Fatalf("job: %d %s", resp.StatusCode, b)
		}
		var j struct{ ID int64 }
		json.Unmarshal(b, &j)
		return j.ID
	}
	state := func(id int64) map[string]any {
		resp, b := request(t, "GET", fmt.Sprintf("%s/v1/jobs/%d", srv.url, id), key, nil, "", nil)
		if resp.StatusCode != 200 {
			t.Fatalf("job %d: %d %s", id, resp.StatusCode, b)
		}
		var j map[string]any
		json.Unmarshal(b, &j)
		return j
	}

	// A first signal: the running job finishes before the worker exits.
	a := submit("synth-0001.pdf")
	w1 := startCommand(t, env, "worker", "--workers", "1")
	<-started
	if code := w1.shutdown(t); code != 0 {
		t.Errorf("worker exited %d: %s", code, w1.stderr)
	}
	if j := state(a); j["state"] != "succeeded" {
		t.Errorf("the job running at a graceful stop: %v", j)
	}

	// A second signal: the job is cancelled and goes back to the queue.
	b := submit("synth-0004.pdf")
	exe, _ := os.Executable()
	ctx, cancel := context.WithCancel(context.Background())
	stop := make(chan struct{})
	stderr := &syncBuffer{}
	m := &Main{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: stderr, Getenv: func(k string) string { return env[k] },
		ChildCommand: []string{exe, childArg}, Stop: stop}
	done := make(chan int, 1)
	go func() { done <- m.Run(ctx, []string{"worker", "--workers", "1"}) }()
	<-started
	close(stop)
	cancel()
	select {
	case <-done:
	case <-time.After(3 * time.Minute): // a hang guard
		t.Fatalf("the worker did not stop: %s", stderr)
	}
	if j := state(b); j["state"] != "queued" {
		t.Errorf("the job cancelled at a hard stop: %v\n%s", j, stderr)
	}
	w3 := startCommand(t, env, "worker", "--workers", "1")
	if j := waitJob(t, srv.url, key, b); j["state"] != "succeeded" {
		t.Errorf("the job given back: %v\n%s", j, w3.stderr)
	}
	if n := len(llm.Requests()); n != 3 {
		t.Errorf("%d model calls, want 3 (one job once, the other twice)", n)
	}
}

// A hostile upload is looked at only in isolated child processes: the
// regression file whose /Size makes the PDF library ask for 64 GiB gets a
// 422 problem, sync and as a job, and the service (running in this very
// test process) stays up and keeps serving.
func TestServeSurvivesHostileUploads(t *testing.T) {
	env := storedEnv(t)
	key := createKey(t, env)
	srv := startCommand(t, env, "serve", "--addr", "127.0.0.1:0")
	hostile, err := os.ReadFile(testenv.Testdata(t, "regressions", "xref-stream-size-2147483647.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/v1/extractions", "/v1/jobs"} {
		for i := 0; i < 3; i++ { // again and again
			body, ct := multipartBody(t, hostile, "hostile.pdf", `{"extractor": "rules"}`)
			resp, b := request(t, "POST", srv.url+path, key, body, ct, nil)
			if resp.StatusCode != 422 || resp.Header.Get("Content-Type") != "application/problem+json" || !strings.Contains(string(b), "malformed") {
				t.Fatalf("%s: %d %s %s", path, resp.StatusCode, resp.Header.Get("Content-Type"), b)
			}
		}
	}
	good, _ := os.ReadFile(sample(t, "synth-0001.pdf"))
	body, ct := multipartBody(t, good, "synth-0001.pdf", `{"extractor": "rules"}`)
	if resp, b := request(t, "POST", srv.url+"/v1/extractions", key, body, ct, nil); resp.StatusCode != 200 {
		t.Fatalf("after the hostile uploads: %d %s", resp.StatusCode, b)
	}
	if code := srv.shutdown(t); code != 0 {
		t.Errorf("serve exited %d: %s", code, srv.stderr)
	}
}

// A job's time is the document's budget, so a crashed worker's job is
// rescued minutes, not a quarter of an hour, later.
func TestJobTimeoutIsTheDocumentsBudget(t *testing.T) {
	rules := settings{ParseTimeout: time.Minute, OCR: ocrConfig{Mode: "off"}}
	llm := rules
	llm.LLM.BaseURL, llm.LLM.Model, llm.LLM.Budget = "http://x/v1", "m", 2*time.Minute
	scans := llm
	scans.OCR.Mode = "auto"
	for _, tt := range []struct {
		s    settings
		want time.Duration
	}{{rules, 90 * time.Second}, {llm, 210 * time.Second}, {scans, 390 * time.Second}} {
		if got := jobTimeout(tt.s); got != tt.want {
			t.Errorf("jobTimeout(%+v) = %v, want %v", tt.s, got, tt.want)
		}
	}
}

// kill -9 of a worker in the middle of a job: the job is rescued once its
// attempt's deadline has passed and done by another worker, with one more
// model call and nothing lost. The job timeout here is 5 s, so the rescue
// comes within about a minute (timeout + store.RescueMargin + River's
// 30-second rescuer round + the first retry's 10 s delay + a leader
// election when the dead worker led); the measured time is logged.
func TestKilledWorkersJobIsRescued(t *testing.T) {
	env := storedEnv(t)
	key := createKey(t, env)
	llm := llmtest.NewServer(t)
	first := make(chan struct{})
	var once sync.Once
	llm.Chat(func(req llmtest.ChatRequest) llmtest.Reply {
		if req.Index == 1 {
			once.Do(func() { close(first) })
			return llmtest.Hang() // the worker that gets this dies before an answer
		}
		return llmtest.ToolCall("record_invoice", goodInvoiceArgs)
	})
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("llm:\n  base_url: %s/v1\n  model: gpt-4o-mini\nserver:\n  job_timeout: 5s\n", llm.URL)), 0o644)
	srv := startCommand(t, env, "serve", "--addr", "127.0.0.1:0", "--no-workers", "--config", cfg)
	pdf, _ := os.ReadFile(sample(t, "synth-0001.pdf"))
	body, ct := multipartBody(t, pdf, "synth-0001.pdf", `{"extractor": "llm"}`)
	resp, b := request(t, "POST", srv.url+"/v1/jobs", key, body, ct, nil)
	if resp.StatusCode != 202 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	var job struct{ ID int64 }
	json.Unmarshal(b, &job)

	exe, _ := os.Executable()
	a := exec.Command(exe, "worker", "--workers", "1", "--config", cfg)
	a.Env = append(os.Environ(), asCLIEnv+"=1")
	for k, v := range env {
		a.Env = append(a.Env, k+"="+v)
	}
	aErr := &syncBuffer{}
	a.Stderr = aErr
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-first:
	case <-time.After(2 * time.Minute):
		a.Process.Kill()
		_, body := request(t, "GET", fmt.Sprintf("%s/v1/jobs/%d", srv.url, job.ID), key, nil, "", nil)
		t.Fatalf("worker A never called the model: %s\njob: %s", aErr, body)
	}
	a.Process.Kill() // SIGKILL: no graceful stop, the job stays "running"
	a.Wait()
	killed := time.Now()
	b2 := startCommand(t, env, "worker", "--workers", "1", "--config", cfg)
	var state map[string]any
	for deadline := time.Now().Add(5 * time.Minute); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		_, body := request(t, "GET", fmt.Sprintf("%s/v1/jobs/%d", srv.url, job.ID), key, nil, "", nil)
		json.Unmarshal(body, &state)
		if state["state"] == "succeeded" || state["state"] == "failed" {
			break
		}
	}
	t.Logf("job done %v after its worker was killed (job timeout 5s)", time.Since(killed).Round(time.Second))
	if state["state"] != "succeeded" || state["attempt"] != float64(2) || len(llm.Requests()) != 2 {
		t.Errorf("job %v; %d model calls, want 2\n%s", state, len(llm.Requests()), b2.stderr)
	}
}
