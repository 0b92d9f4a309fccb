//go:build e2e

// End-to-end tests of the web pages in headless Chromium: 'extractor
// serve' on a real database, a batch run through the fake LLM, and a
// person's path through the pages (log in, upload, read the fields beside
// the text, filter a run, open a trace, read the eval report, log out).
//
// Run with scripts/e2e.sh (it installs Chromium when missing and starts
// the database), or:
//
//	go test -tags e2e ./cmd/extractor -run E2E
//
// with EXTRACTOR_DATABASE_URL set. EXTRACTOR_E2E_SHOTS names a directory
// for the screenshots (one PNG per page); CHROMIUM the browser binary.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/extractor-dev/extractor/internal/llmtest"
)

// e2eInvoiceArgs are the model's answer for synth-0001: grounded values,
// and an IBAN whose quote is not in the document (ungrounded).
var e2eInvoiceArgs = invoiceArgs(map[string][3]any{
	"invoice_number": {"RE-20221127/3", 1, "Rechnungsnr. RE-20221127/3"},
	"issue_date":     {"27.11.2022", 1, "Rechnungsdatum 27.11.2022"},
	"vendor_name":    {"Richter Gebäudereinigung e.K.", 1, "Richter Gebäudereinigung e.K."},
	"iban":           {"DE89370400440532013000", 1, "IBAN DE89 3704 0044 0532 0130 00"},
})

func chromiumPath(t *testing.T) string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	// The binary itself: Debian's /usr/bin/chromium is a shell wrapper.
	for _, p := range []string{"/usr/lib/chromium/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Fatal("no Chromium: run scripts/e2e.sh, which installs it, or set CHROMIUM")
	return ""
}

// browserLog is what the browser did that a page should not make it do:
// requests to other hosts, console errors, CSP violations.
type browserLog struct {
	mu       sync.Mutex
	origin   string
	requests []string
	foreign  []string
	problems []string
}

func (b *browserLog) listen(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		u := ev.Request.URL
		b.requests = append(b.requests, u)
		if !strings.HasPrefix(u, b.origin+"/") && !strings.HasPrefix(u, "data:") {
			b.foreign = append(b.foreign, u)
		}
	case *log.EventEntryAdded:
		if ev.Entry.Level == log.EntryLevelError || ev.Entry.Level == log.EntryLevelWarning {
			// A 4xx page the test asks for on purpose is logged as a
			// failed resource load; anything else is a problem.
			if !strings.Contains(ev.Entry.Text, "the server responded with a status of 4") {
				b.problems = append(b.problems, fmt.Sprintf("%s %s: %s (%s)", ev.Entry.Source, ev.Entry.Level, ev.Entry.Text, ev.Entry.URL))
			}
		}
	case *runtime.EventExceptionThrown:
		b.problems = append(b.problems, "exception: "+ev.ExceptionDetails.Text)
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError {
			b.problems = append(b.problems, "console error")
		}
	}
}

func TestE2EPages(t *testing.T) {
	env := storedEnv(t)
	llm := llmtest.NewServer(t)
	llm.Chat(func(req llmtest.ChatRequest) llmtest.Reply {
		if req.Index == 1 {
			// The first answer is broken: the trace shows the re-ask.
			return llmtest.ToolCall("record_invoice", "{broken").Usage(900, 40)
		}
		return llmtest.ToolCall("record_invoice", e2eInvoiceArgs).Usage(1000, 60)
	})
	env["EXTRACTOR_LLM_BASE_URL"], env["EXTRACTOR_LLM_MODEL"] = llm.URL+"/v1", "gpt-4o-mini"

	// A batch: one invoice through the model, one broken file.
	batch := t.TempDir()
	pdf, err := os.ReadFile(sample(t, "synth-0001.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	must(t, os.WriteFile(filepath.Join(batch, "synth-0001.pdf"), pdf, 0o644))
	must(t, os.WriteFile(filepath.Join(batch, "broken.pdf"), []byte("%PDF-1.7\nthis is not a PDF body\n"), 0o644))
	r := run(t, env, "run", "--extractor", "llm", "--concurrency", "1", batch)
	m := runIDRE.FindStringSubmatch(r.stderr)
	if r.code != 1 || m == nil { // 1: a document failed
		t.Fatalf("run: exit %d\n%s", r.code, r.stderr)
	}
	runID := m[1]

	// The server, with the committed eval report.
	report, err := filepath.Abs("../../testdata/eval/public-rules.json")
	must(t, err)
	cfg := filepath.Join(t.TempDir(), "serve.yaml")
	must(t, os.WriteFile(cfg, []byte("server:\n  eval_report: "+report+"\n"), 0o600))
	key := createKey(t, env)
	srv := startCommand(t, env, "serve", "--addr", "127.0.0.1:0", "--config", cfg)

	shots := os.Getenv("EXTRACTOR_E2E_SHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	must(t, os.MkdirAll(shots, 0o755))

	bl := &browserLog{origin: srv.url}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)), chromedp.NoSandbox, chromedp.WindowSize(1440, 1000),
		chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithListener(bl.listen))
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 20*time.Minute) // a hang guard: a busy machine is slow, not wrong
	defer cancelT()

	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v\nserver log:\n%s", name, err, srv.stderr)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	count := func(sel string) int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf("document.querySelectorAll(%q).length", sel)))
		if err != nil {
			t.Fatalf("count %s: %v", sel, err)
		}
		return n
	}
	location := func() string {
		t.Helper()
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimPrefix(loc, srv.url)
	}
	// Every page: screenshots at 1280 and 1920 px, and axe-core.
	axeJS := axeSource(t)
	violations := 0
	shot := func(name string) {
		t.Helper()
		violations += len(checkPage(t, ctx, shots, name, axeJS))
	}

	// Logging in: a wrong key, then the right one, back where we wanted.
	step("open", chromedp.Navigate(srv.url+"/ui/runs"), chromedp.WaitVisible(chromedp.CSS("#key")))
	if loc := location(); loc != "/ui/login?next=%2Fui%2Fruns" {
		t.Errorf("not logged in: at %s", loc)
	}
	shot("01-login")
	step("wrong key", chromedp.SendKeys(chromedp.CSS("#key"), "exk_nope"), chromedp.Submit(chromedp.CSS("#key")),
		chromedp.WaitVisible(chromedp.CSS(".alert.bad")))
	if msg := text(".alert.bad"); !strings.Contains(msg, "unknown or revoked") {
		t.Errorf("wrong key: %q", msg)
	}
	step("log in", chromedp.SendKeys(chromedp.CSS("#key"), key), chromedp.Submit(chromedp.CSS("#key")),
		chromedp.WaitVisible(chromedp.CSS("table.list")))
	if loc := location(); loc != "/ui/runs" {
		t.Errorf("after login: at %s", loc)
	}
	if !strings.Contains(text("table.list"), runID) {
		t.Errorf("the runs page lacks run %s", runID)
	}
	shot("02-runs")

	// Upload a PDF with the rules extractor: its page, fields beside text.
	upload := sample(t, "synth-0004.pdf")
	step("upload", chromedp.Navigate(srv.url+"/ui/"), chromedp.WaitVisible(chromedp.CSS("#file")),
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{upload}),
		chromedp.SetValue(chromedp.CSS("#options"), `{"schema":"invoice","extractor":"rules"}`),
		chromedp.Click(chromedp.CSS("button.primary")),
		chromedp.WaitVisible(chromedp.CSS(".split")))
	if loc := location(); !strings.HasPrefix(loc, "/ui/documents/") {
		t.Fatalf("after the upload: at %s", loc)
	}
	if h := text("h1"); h != "upload:synth-0004.pdf" {
		t.Errorf("document heading %q", h)
	}
	if n := count(".text-col mark"); n < 5 {
		t.Errorf("%d highlighted quotes on the uploaded document's page", n)
	}
	if n := count("td.where a"); n < 5 {
		t.Errorf("%d fields linked to their quote", n)
	}
	shot("03-document-upload")
	// A field's link goes to its highlighted line.
	href, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("td.where a"), "href"))
	must(t, err)
	step("quote link", chromedp.Click(chromedp.CSS("td.where a")))
	if loc := location(); !strings.HasSuffix(loc, href.Value) {
		t.Errorf("the quote link went to %s, want %s", loc, href.Value)
	}

	// The batch run: filter its failed document, then open the other.
	step("run", chromedp.Navigate(srv.url+"/ui/runs/"+url.PathEscape(runID)), chromedp.WaitVisible(chromedp.CSS("table.list")))
	if n := count("table.list tbody tr"); n != 2 {
		t.Errorf("%d rows in the run, want 2", n)
	}
	step("failed only", chromedp.Click(chromedp.CSS(`input[name="failed"]`)), chromedp.Click(chromedp.CSS(".filters button")),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/ui/runs/`+runID+`"]`)))
	if n, row := count("table.list tbody tr"), text("table.list tbody"); n != 1 || !strings.Contains(row, "broken.pdf") {
		t.Errorf("failed only: %d rows: %s", n, row)
	}
	shot("04-run-failed")
	step("slow", chromedp.Navigate(srv.url+"/ui/runs/"+url.PathEscape(runID)+"?sort=latency"), chromedp.WaitVisible(chromedp.CSS("table.list")))
	shot("05-run")
	// The model's document (the broken file's row may come first: the
	// order is by latency, which a busy machine decides).
	sum := sha256.Sum256(pdf)
	step("llm document", chromedp.Click(chromedp.CSS(`table.list a[href="/ui/documents/`+hex.EncodeToString(sum[:])+`"]`)), chromedp.WaitVisible(chromedp.CSS(".split")))
	if body := text(".fields"); !strings.Contains(body, "RE-20221127/3") || !strings.Contains(body, "✗ no") {
		t.Errorf("the model's document: %s", body)
	}
	if v := text(".alert"); !strings.Contains(v, "Needs review") {
		t.Errorf("verdict %q", v)
	}
	shot("06-document-llm")

	// Its trace: the tree, the model calls with tokens, the re-ask.
	step("trace", chromedp.Click(chromedp.CSS(`a[href^="/ui/traces/"]`)), chromedp.WaitVisible(chromedp.CSS(".waterfall")))
	names := text(".waterfall")
	for _, want := range []string{"document", "parse", "extract", "chat gpt-4o-mini", "tokens 1000 in / 60 out", "attempt 2"} {
		if !strings.Contains(names, want) {
			t.Errorf("the trace lacks %q", want)
		}
	}
	step("open a model call", chromedp.Click(chromedp.CSS("details.span.llm summary")), chromedp.WaitVisible(chromedp.CSS("details.span.llm[open] .span-body")))
	if attrs := text("details.span.llm[open] .span-body"); !strings.Contains(attrs, "gen_ai.request.model") {
		t.Errorf("the model call's attributes: %s", attrs)
	}
	shot("07-trace")

	// The eval report, in its sandboxed frame.
	reportLoaded := chromedp.Events(ctx, network.ResponseReceived)
	step("eval", chromedp.Navigate(srv.url+"/ui/eval"), chromedp.WaitVisible(chromedp.CSS("iframe.report")))
	deadline := time.After(5 * time.Minute) // a hang guard
	for ev, err := range reportLoaded {
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(ev.Response.URL, "/ui/eval/report") {
			if ev.Response.Status != 200 {
				t.Errorf("the report frame: %d", ev.Response.Status)
			}
			break
		}
		select {
		case <-deadline:
			t.Fatal("the report frame was not loaded")
		default:
		}
	}
	step("let the frame paint", chromedp.Sleep(500*time.Millisecond))
	shot("08-eval")

	// An error page, and a form sent from another origin (same site,
	// another port: the SameSite cookie goes along, the Origin check
	// refuses it).
	step("404", chromedp.Navigate(srv.url+"/ui/documents/nope"), chromedp.WaitVisible(chromedp.CSS(".error-page")))
	if s := text(".status-code"); s != "404" {
		t.Errorf("unknown document: %s", s)
	}
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!DOCTYPE html><form method="post" action="%s/ui/logout"><button id="go">win a prize</button></form>`, srv.url)
	}))
	defer evil.Close()
	step("cross-origin form", chromedp.Navigate(evil.URL), chromedp.Click(chromedp.CSS("#go")), chromedp.WaitVisible(chromedp.CSS(".error-page")))
	if s := text(".error-page h1"); !strings.Contains(s, "not sent from this site") {
		t.Errorf("cross-origin form: %q", s)
	}
	shot("09-cross-origin")
	step("still logged in", chromedp.Navigate(srv.url+"/ui/runs"), chromedp.WaitVisible(chromedp.CSS("table.list")))

	step("log out", chromedp.Click(chromedp.CSS("form.logout button")), chromedp.WaitVisible(chromedp.CSS("#key")))
	step("logged out", chromedp.Navigate(srv.url+"/ui/runs"), chromedp.WaitVisible(chromedp.CSS("#key")))

	bl.mu.Lock()
	defer bl.mu.Unlock()
	for _, u := range bl.foreign {
		if !strings.HasPrefix(u, evil.URL+"/") { // requested on purpose
			t.Errorf("a page requested another host: %s", u)
		}
	}
	for _, p := range bl.problems {
		t.Errorf("browser: %s", p)
	}
	t.Logf("%d requests, %d axe-core violations, screenshots in %s", len(bl.requests), violations, shots)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
