package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/extractor-dev/extractor/internal/llmtest"
	"github.com/extractor-dev/extractor/pipeline"
)

// runMain runs the CLI with a Main the test has set up.
func runMain(t *testing.T, m *Main, env map[string]string, args ...string) result {
	t.Helper()
	exe, _ := os.Executable()
	var stdout, stderr bytes.Buffer
	m.Stdin, m.Stdout, m.Stderr = strings.NewReader(""), &stdout, &stderr
	m.Getenv = func(k string) string { return env[k] }
	m.ChildCommand = []string{exe, childArg}
	code := m.Run(context.Background(), args)
	return result{code, stdout.String(), stderr.String()}
}

var runIDRe = regexp.MustCompile(`run (\d{8}T\d{6}Z-[0-9a-f]{6})`)

func runID(t *testing.T, stderr string) string {
	t.Helper()
	m := runIDRe.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no run id in %q", stderr)
	}
	return m[1]
}

// goodInvoiceArgs are tool arguments whose values are on synth-0001's page.
var goodInvoiceArgs = invoiceArgs(map[string][3]any{
	"invoice_number": {"RE-20221127/3", 1, "Rechnungsnr. RE-20221127/3"},
	"issue_date":     {"27.11.2022", 1, "Rechnungsdatum 27.11.2022"},
})

// The whole span tree of a document through the fake LLM server, with a
// re-ask, as an in-memory exporter receives it.
func TestSpanTree(t *testing.T) {
	const key = "sk-SECRET-for-span-test"
	srv := llmtest.NewServer(t)
	srv.ChatSequence(
		llmtest.ToolCall("record_invoice", "{broken").Usage(900, 40),
		llmtest.ToolCall("record_invoice", goodInvoiceArgs).Usage(1000, 60),
	)
	mem := &keepExporter{}
	m := &Main{SpanExporters: []sdktrace.SpanExporter{mem}}
	env := map[string]string{"EXTRACTOR_STATE": t.TempDir(), "EXTRACTOR_LLM_API_KEY": key}
	r := runMain(t, m, env, "run", "--llm-base-url", srv.URL+"/v1", "--llm-model", "gpt-4o-mini", "--isolate=false", sample(t, "synth-0001.pdf"))
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	spans := mem.spans
	byID := map[string]tracetest.SpanStub{}
	children := map[string][]tracetest.SpanStub{}
	var run, doc tracetest.SpanStub
	for _, s := range spans {
		byID[s.SpanContext.SpanID().String()] = s
		children[s.Parent.SpanID().String()] = append(children[s.Parent.SpanID().String()], s)
		switch s.Name {
		case "run":
			run = s
		case "document":
			doc = s
		}
		for _, a := range s.Attributes {
			if strings.Contains(a.Value.String(), key) {
				t.Errorf("span %s attribute %s carries the API key", s.Name, a.Key)
			}
		}
	}
	attrs := func(s tracetest.SpanStub) map[string]string {
		out := map[string]string{}
		for _, a := range s.Attributes {
			out[string(a.Key)] = a.Value.String()
		}
		return out
	}
	names := func(ss []tracetest.SpanStub) string {
		var out []string
		for _, s := range ss {
			out = append(out, s.Name)
		}
		return strings.Join(out, ",")
	}
	if run.Name == "" || doc.Name == "" || doc.Parent.IsValid() || doc.SpanContext.TraceID() == run.SpanContext.TraceID() {
		t.Fatalf("want a run root and a document root in its own trace; got %s", names(spans))
	}
	if len(doc.Links) != 1 || doc.Links[0].SpanContext.SpanID() != run.SpanContext.SpanID() {
		t.Errorf("the document trace must link to the run span")
	}
	da := attrs(doc)
	if da["extractor.status"] != "ok" || da["gen_ai.usage.input_tokens"] != "1900" || da["gen_ai.usage.output_tokens"] != "100" || da["extractor.document.id"] == "" || da["extractor.run.id"] == "" {
		t.Errorf("document attributes = %v", da)
	}
	steps := children[doc.SpanContext.SpanID().String()]
	if got := names(steps); got != "parse,chunk,extract,extract_second,validate" {
		t.Errorf("steps under the document: %s", got)
	}
	for _, s := range steps {
		a := attrs(s)
		if a["extractor.step.version"] == "" || a["extractor.input.hash"] == "" || a["extractor.cache.hit"] != "false" {
			t.Errorf("step %s attributes = %v", s.Name, a)
		}
	}
	var extract tracetest.SpanStub
	for _, s := range steps {
		if s.Name == "extract" {
			extract = s
		}
	}
	if a := attrs(extract); !strings.Contains(a["extractor.step.version"], "prompt=") || !strings.Contains(a["extractor.step.version"], "model=gpt-4o-mini") {
		t.Errorf("the extract step must name the prompt and model versions: %v", a)
	}
	calls := children[extract.SpanContext.SpanID().String()]
	if got := names(calls); got != "chat gpt-4o-mini,chat gpt-4o-mini" {
		t.Fatalf("model calls under extract: %s", got)
	}
	for i, c := range calls {
		a := attrs(c)
		want := map[string]string{
			"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini",
			"gen_ai.request.seed": "7", "extractor.attempt": []string{"1", "2"}[i], "gen_ai.response.model": "gpt-4o-mini",
			"gen_ai.usage.input_tokens": []string{"900", "1000"}[i], "gen_ai.response.finish_reasons": `["tool_calls"]`,
		}
		for k, v := range want {
			if a[k] != v {
				t.Errorf("call %d: %s = %q, want %q", i+1, k, a[k], v)
			}
		}
		if a["gen_ai.response.id"] == "" || a["extractor.cost_usd"] == "" || a["gen_ai.request.temperature"] != "0" {
			t.Errorf("call %d attributes = %v", i+1, a)
		}
		if _, ok := a["gen_ai.input.messages"]; ok {
			t.Errorf("prompt content recorded without --capture-content")
		}
		if c.SpanKind.String() != "client" {
			t.Errorf("call %d kind = %s", i+1, c.SpanKind)
		}
		http := children[c.SpanContext.SpanID().String()]
		if len(http) != 1 || !strings.HasPrefix(http[0].Name, "HTTP POST") {
			t.Errorf("call %d: HTTP spans %s", i+1, names(http))
		}
	}
	if calls[0].Status.Code.String() != "Error" || calls[1].Status.Code.String() == "Error" {
		t.Errorf("the rejected attempt must be an error span, the accepted one not: %v / %v", calls[0].Status, calls[1].Status)
	}
}

// keepExporter records spans and keeps them after shutdown (the SDK's
// in-memory exporter forgets them then, and the run shuts its provider down).
type keepExporter struct {
	mu    sync.Mutex
	spans tracetest.SpanStubs
}

func (e *keepExporter) ExportSpans(_ context.Context, ss []sdktrace.ReadOnlySpan) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.spans = append(e.spans, tracetest.SpanStubsFromReadOnlySpans(ss)...)
	return nil
}

func (e *keepExporter) Shutdown(context.Context) error { return nil }

// An unchanged re-run makes no model call: every step comes from the cache.
func TestRerunMakesNoModelCalls(t *testing.T) {
	srv := llmtest.NewServer(t)
	srv.Chat(func(llmtest.ChatRequest) llmtest.Reply {
		return llmtest.ToolCall("record_invoice", goodInvoiceArgs).Delay(50 * time.Millisecond)
	})
	env := map[string]string{"EXTRACTOR_STATE": t.TempDir()}
	args := []string{"run", "--llm-base-url", srv.URL + "/v1", "--llm-model", "gpt-4o-mini", "--out", filepath.Join(t.TempDir(), "r.jsonl"),
		sample(t, "synth-0001.pdf"), sample(t, "synth-0002.pdf"), sample(t, "synth-0003.pdf")}
	t0 := time.Now()
	first := run(t, env, args...)
	d1 := time.Since(t0)
	calls := len(srv.Requests())
	t1 := time.Now()
	again := run(t, env, args...)
	d2 := time.Since(t1)
	if first.code != 0 || again.code != 0 {
		t.Fatalf("exit %d/%d: %s %s", first.code, again.code, first.stderr, again.stderr)
	}
	if calls != 3 || len(srv.Requests()) != calls {
		t.Errorf("model calls: %d on the first run, %d more on the re-run (want 3 and 0)", calls, len(srv.Requests())-calls)
	}
	if !strings.Contains(again.stderr, "3 from the cache") || strings.Contains(again.stderr, "model calls") {
		t.Errorf("re-run summary: %s", again.stderr)
	}
	t.Logf("first run %v, unchanged re-run %v (ratio %.2f)", d1, d2, d2.Seconds()/d1.Seconds())
}

// Ctrl-C stops starting documents and lets the one in flight finish; the
// run resumes without redoing it.
func TestStopAndResume(t *testing.T) {
	srv := llmtest.NewServer(t)
	stop := make(chan struct{})
	var n atomic.Int32
	srv.Chat(func(req llmtest.ChatRequest) llmtest.Reply {
		if n.Add(1) == 1 {
			close(stop) // "Ctrl-C" while the first document is in flight
		}
		return llmtest.ToolCall("record_invoice", goodInvoiceArgs).Delay(100 * time.Millisecond)
	})
	state := t.TempDir()
	env := map[string]string{"EXTRACTOR_STATE": state}
	files := []string{sample(t, "synth-0001.pdf"), sample(t, "synth-0002.pdf"), sample(t, "synth-0003.pdf"), sample(t, "synth-0004.pdf")}
	r := runMain(t, &Main{Stop: stop}, env, append([]string{"run", "--llm-base-url", srv.URL + "/v1", "--llm-model", "gpt-4o-mini", "--concurrency", "1"}, files...)...)
	id := runID(t, r.stderr)
	if r.code != 1 || !strings.Contains(r.stderr, "1 ok") || !strings.Contains(r.stderr, "3 interrupted") || !strings.Contains(r.stderr, "--resume "+id) {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if got, _ := pipeline.ReadManifest(state, id); got.Status != "interrupted" {
		t.Errorf("manifest status %q", got.Status)
	}
	before := len(srv.Requests())

	r = run(t, env, "run", "--resume", id)
	if r.code != 0 || !strings.Contains(r.stderr, "resuming run "+id+": 3 of 4 documents left") {
		t.Fatalf("resume: exit %d: %s", r.code, r.stderr)
	}
	if got := len(srv.Requests()) - before; got != 3 {
		t.Errorf("the resume made %d model calls, want 3 (the finished document is not redone)", got)
	}
	man, _ := pipeline.ReadManifest(state, id)
	done, _ := pipeline.Finished(state, id)
	if man.Status != "finished" || len(done) != 4 || man.Counts.OK != 4 {
		t.Errorf("after resume: status %s, %d done, counts %+v", man.Status, len(done), man.Counts)
	}
	// The resumed run used its recorded settings: the same model and endpoint.
	var s settings
	json.Unmarshal(man.Config, &s)
	if s.LLM.Model != "gpt-4o-mini" || !strings.HasPrefix(s.LLM.BaseURL, srv.URL) {
		t.Errorf("recorded settings = %+v", s.LLM)
	}
	if r := run(t, env, "run", "--resume", "20200101T000000Z-000000"); r.code != 2 {
		t.Errorf("unknown run: exit %d", r.code)
	}
}

// kill -9 mid-batch, twice, and a crash mid-write of the last result line:
// after the resumes every document is done once, --out holds exactly one
// line per input in input order, and the run's totals are the sum over
// its sessions of what was actually answered (a call in flight at a kill
// -9 never got its answer, and is not counted).
func TestCrashAndResumeIsExact(t *testing.T) {
	const n = 10
	var files []string
	for i := 1; i <= n; i++ {
		files = append(files, sample(t, fmt.Sprintf("synth-%04d.pdf", i)))
	}
	state, outDir := t.TempDir(), t.TempDir()
	out := filepath.Join(outDir, "results.jsonl")
	exe, _ := os.Executable()

	srv := llmtest.NewServer(t)
	var mu sync.Mutex
	var killAt int // kill the CLI when this chat request arrives (0: never)
	var proc *os.Process
	var answered int
	srv.Chat(func(req llmtest.ChatRequest) llmtest.Reply {
		mu.Lock()
		defer mu.Unlock()
		if killAt > 0 && req.Index == killAt && proc != nil {
			proc.Kill() // SIGKILL while this call is in flight
			proc = nil
			return llmtest.ToolCall("record_invoice", goodInvoiceArgs).Usage(100, 10)
		}
		answered++
		return llmtest.ToolCall("record_invoice", goodInvoiceArgs).Usage(100, 10)
	})
	// cli runs the CLI as a process of its own until it exits (or is killed
	// at chat request kill).
	cli := func(kill int, args ...string) (string, error) {
		cmd := exec.Command(exe, args...)
		cmd.Env = append(os.Environ(), asCLIEnv+"=1", "EXTRACTOR_STATE="+state, "EXTRACTOR_DATABASE_URL=")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		mu.Lock()
		killAt = kill
		if err := cmd.Start(); err != nil {
			mu.Unlock()
			t.Fatal(err)
		}
		proc = cmd.Process
		mu.Unlock()
		err := cmd.Wait()
		return stderr.String(), err
	}

	// Session 1 dies during the 5th call: documents 1-4 are done.
	stderr, err := cli(5, append([]string{"run", "--llm-base-url", srv.URL + "/v1", "--llm-model", "gpt-4o-mini",
		"--concurrency", "1", "--out", out}, files...)...)
	if err == nil {
		t.Fatalf("session 1 was not killed: %s", stderr)
	}
	id := runID(t, stderr)
	// Session 2 dies during its 3rd call (the 8th in all).
	if stderr, err := cli(8, "run", "--resume", id, "--out", out); err == nil {
		t.Fatalf("session 2 was not killed: %s", stderr)
	}
	// A crash mid-write tears the last line of the run's results and of
	// --out.
	for _, p := range []string{filepath.Join(pipeline.RunsDir(state), id, "results.jsonl"), out} {
		f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(`{"run_id":"` + id + `","document_id":"9f8e`)
		f.Close()
	}
	// Session 3 finishes.
	stderr, err = cli(0, "run", "--resume", id, "--out", out)
	if err != nil {
		t.Fatalf("session 3: %v: %s", err, stderr)
	}
	if !strings.Contains(stderr, "dropped a partial last line") {
		t.Errorf("the repair is not reported: %s", stderr)
	}

	b, _ := os.ReadFile(out)
	lines := readLines(t, string(b))
	if len(lines) != n {
		t.Fatalf("--out has %d lines for %d inputs:\n%s", len(lines), n, b)
	}
	for i, l := range lines {
		if l.File != files[i] || l.Status != "ok" {
			t.Errorf("--out line %d: %s %s, want %s ok", i+1, l.File, l.Status, files[i])
		}
	}
	man, err := pipeline.ReadManifest(state, id)
	if err != nil {
		t.Fatal(err)
	}
	want := pipeline.RunCounts{Documents: n, OK: n, Review: man.Counts.Review, CacheHits: man.Counts.CacheHits}
	if man.Status != "finished" || man.Counts != want {
		t.Errorf("manifest: status %s, counts %+v, want %+v", man.Status, man.Counts, want)
	}
	mu.Lock()
	calls, got := answered, man.Spent
	mu.Unlock()
	if len(srv.Requests()) != calls+2 {
		t.Errorf("%d requests for %d answered calls and 2 killed in flight", len(srv.Requests()), calls)
	}
	if got.Attempts != calls || got.InputTokens != 100*calls || got.OutputTokens != 10*calls {
		t.Errorf("spent %+v, want %d calls of 100+10 tokens", got, calls)
	}
	if lines, _ := pipeline.ReadResults(state, id); len(pipeline.Latest(lines, files)) != n {
		t.Errorf("results.jsonl: %d documents", len(pipeline.Latest(lines, files)))
	}
	if r := run(t, map[string]string{"EXTRACTOR_STATE": state}, "traces", "list", "--run", id); r.code != 0 {
		t.Errorf("traces list after the crashes: exit %d: %s", r.code, r.stderr)
	}
}
