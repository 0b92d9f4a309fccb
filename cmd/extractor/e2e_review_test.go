//go:build e2e

// The review loop end to end in headless Chromium: a reviewer uploads an
// invoice whose date the model misread, finds it in the review queue
// (keyboard only), corrects the date by clicking its line on the page
// image, approves it; the CSV export has the corrected value, 'dataset
// export --reviewed' makes it a label, and 'eval' scores against it. A
// second session that edits the same document meanwhile gets the
// conflict. Every page is screenshot at 1280 and 1920 px and checked by
// axe-core (EXTRACTOR_AXE: its axe.min.js, which scripts/e2e.sh installs).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/extractor-dev/extractor/evals"
	"github.com/extractor-dev/extractor/internal/llmtest"
)

// axeViolation is what the test keeps of one axe-core violation.
type axeViolation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	Nodes   int      `json:"nodes"`
	Targets []string `json:"targets"`
}

const axeRun = `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.map(v => ({
  id: v.id, impact: v.impact || "", help: v.help, nodes: v.nodes.length,
  targets: v.nodes.slice(0, 5).map(n => n.target.join(" "))})))`

func TestE2EReviewLoop(t *testing.T) {
	env := storedEnv(t)
	llm := llmtest.NewServer(t)
	// The model misreads the invoice date (it takes the due date) and
	// gives an IBAN the document does not print: the document needs review.
	llm.Chat(func(req llmtest.ChatRequest) llmtest.Reply {
		return llmtest.ToolCall("record_invoice", invoiceArgs(map[string][3]any{
			"invoice_number": {"RE-20221127/3", 1, "Rechnungsnr. RE-20221127/3"},
			"issue_date":     {"27.12.2022", 1, "Zahlbar bis 27.12.2022"},
			"vendor_name":    {"Richter Gebäudereinigung e.K.", 1, "Richter Gebäudereinigung e.K."},
			"iban":           {"DE89370400440532013000", 1, "IBAN DE89 3704 0044 0532 0130 00"},
		})).Usage(1000, 60)
	})
	env["EXTRACTOR_LLM_BASE_URL"], env["EXTRACTOR_LLM_MODEL"] = llm.URL+"/v1", "gpt-4o-mini"
	env["EXTRACTOR_STATE"] = t.TempDir()

	// A batch run of the same file with the rules extractor first: the
	// diff page compares it with the upload's run.
	batch := t.TempDir()
	pdf, err := os.ReadFile(sample(t, "synth-0001.pdf"))
	must(t, err)
	must(t, os.WriteFile(filepath.Join(batch, "synth-0001.pdf"), pdf, 0o644))
	runOK(t, env, "run", "--extractor", "rules", batch)

	key := createKey(t, env)
	srv := startCommand(t, env, "serve", "--addr", "127.0.0.1:0")
	shots := os.Getenv("EXTRACTOR_E2E_SHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	must(t, os.MkdirAll(shots, 0o755))
	axeJS := axeSource(t)

	bl := &browserLog{origin: srv.url}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)), chromedp.NoSandbox, chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithListener(bl.listen))
	defer cancel()
	// The browser lives as long as the context of its first action: start
	// it here, not under a step's guard.
	must(t, chromedp.Do(ctx))
	ctx, cancelT := context.WithTimeout(ctx, 20*time.Minute) // a hang guard: a busy machine is slow, not wrong
	defer cancelT()

	in := func(ctx context.Context, name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		// A hang guard per step, so that a missing element names its step.
		sctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			t.Fatalf("%s: %v\nserver log:\n%s", name, err, srv.stderr)
		}
	}
	step := func(name string, actions ...chromedp.Action[chromedp.Void]) { t.Helper(); in(ctx, name, actions...) }
	textIn := func(ctx context.Context, sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	text := func(sel string) string { t.Helper(); return textIn(ctx, sel) }
	eval := func(expr string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("evaluate %s: %v", expr, err)
		}
		return s
	}
	location := func() string {
		t.Helper()
		loc, err := chromedp.Run(ctx, chromedp.Location())
		must(t, err)
		return strings.TrimPrefix(loc, srv.url)
	}

	// Every page: screenshots at 1280 and 1920 px, and axe-core.
	found := map[string][]axeViolation{}
	var pages []string
	check := func(ctx context.Context, name string) {
		t.Helper()
		pages = append(pages, name)
		found[name] = checkPage(t, ctx, shots, "review-"+name, axeJS)
	}

	// Log in and upload the invoice through the model.
	step("log in", chromedp.Navigate(srv.url+"/ui/review"), chromedp.WaitVisible(chromedp.CSS("#key")))
	check(ctx, "login")
	step("key", chromedp.SendKeys(chromedp.CSS("#key"), key), chromedp.Submit(chromedp.CSS("#key")), chromedp.WaitVisible(chromedp.CSS("h1")))
	check(ctx, "queue-empty")
	step("upload", chromedp.Navigate(srv.url+"/ui/"), chromedp.WaitVisible(chromedp.CSS("#file")))
	check(ctx, "upload")
	step("send", chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{sample(t, "synth-0001.pdf")}),
		chromedp.SetValue(chromedp.CSS("#options"), `{"schema":"invoice","extractor":"llm"}`),
		chromedp.Click(chromedp.CSS("button.primary")), chromedp.WaitVisible(chromedp.CSS(".split")))
	docPath := location()
	if !strings.HasPrefix(docPath, "/ui/documents/") {
		t.Fatalf("after the upload: at %s", docPath)
	}
	docID := strings.TrimPrefix(docPath, "/ui/documents/")

	// The queue has it; the keyboard opens it.
	step("queue", chromedp.Navigate(srv.url+"/ui/review"), chromedp.WaitVisible(chromedp.CSS("table.queue")))
	if q := text("table.queue"); !strings.Contains(q, "synth-0001.pdf") || !strings.Contains(q, "ungrounded") {
		t.Errorf("the queue: %s", q)
	}
	if c := text("nav.reasons"); !strings.Contains(c, "ungrounded 1") {
		t.Errorf("the counts: %s", c)
	}
	check(ctx, "queue")
	step("keyboard", chromedp.KeyEvent("j"), chromedp.KeyEvent("o"), chromedp.WaitVisible(chromedp.CSS("#decide")))
	if loc := location(); loc != docPath {
		t.Errorf("j, o opened %s, want %s", loc, docPath)
	}
	if v := text(".alert.bad"); !strings.Contains(v, "Needs review") || strings.Contains(text("main"), "All checks passed") {
		t.Errorf("verdict %q", v)
	}
	// The page image is shown, with the evidence boxes over it.
	if ok := eval(`new Promise(r => { const i = new Image(); i.onload = () => r(i.naturalWidth > 300 ? "ok" : "small " + i.naturalWidth); i.onerror = () => r("failed"); i.src = document.querySelector("svg image").getAttribute("href"); })`); ok != "ok" {
		t.Errorf("the page image: %s", ok)
	}
	if n, _ := strconv.Atoi(eval(`String(document.querySelectorAll(".pageimg a.box").length)`)); n < 3 {
		t.Errorf("%d evidence boxes", n)
	}
	check(ctx, "document")
	// Clicking a field shows its box.
	step("field box", chromedp.Click(chromedp.CSS(`th.fname a[href^="#bx-"]`)))
	if target := eval(`document.querySelector(":target") ? document.querySelector(":target").id : ""`); !strings.HasPrefix(target, "bx-") {
		t.Errorf("clicking a field targets %q, not its box", target)
	}

	// A second session opens the same document before the first saves.
	ctx2, cancel2 := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	defer cancel2()
	must(t, chromedp.Do(ctx2))
	in(ctx2, "second session", chromedp.Navigate(srv.url+docPath), chromedp.WaitVisible(chromedp.CSS("#key")),
		chromedp.SendKeys(chromedp.CSS("#key"), key), chromedp.Submit(chromedp.CSS("#key")), chromedp.WaitVisible(chromedp.CSS("#decide")))
	in(ctx2, "second session edits", chromedp.Click(chromedp.CSS(`a[aria-label="Correct vendor_name"]`)), chromedp.WaitVisible(chromedp.CSS("#edit-value")))

	// The first corrects the date by clicking its line on the page image.
	step("correct", chromedp.Click(chromedp.CSS(`a[aria-label="Correct issue_date"]`)), chromedp.WaitVisible(chromedp.CSS("#edit")))
	check(ctx, "document-edit")
	step("pick the line", chromedp.Click(chromedp.CSS(`.pageimg a.pick[aria-label^="Take “Rechnungsdatum"] rect`)),
		chromedp.WaitVisible(chromedp.CSS(`#edit mark`)))
	if v, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#edit-value"))); err != nil || v != "27.11.2022" {
		t.Errorf("the picked value: %q %v", v, err)
	}
	step("save", chromedp.Click(chromedp.CSS("#edit button.primary")), chromedp.WaitVisible(chromedp.CSS("#history")))
	if h := text("table.history"); !strings.Contains(h, "set issue_date") || !strings.Contains(h, "2022-12-27") || !strings.Contains(h, "2022-11-27") {
		t.Errorf("history: %s", h)
	}
	if row := text("table.fields"); !strings.Contains(row, "2022-11-27") {
		t.Errorf("the corrected value is not shown: %s", row)
	}
	check(ctx, "document-corrected")

	// The second session's save is refused: the conflict is shown.
	in(ctx2, "stale save", chromedp.SetValue(chromedp.CSS("#edit-value"), "Richter GmbH"), chromedp.Click(chromedp.CSS("#edit button.primary")),
		chromedp.WaitVisible(chromedp.CSS("#problem")))
	if p := textIn(ctx2, "#problem"); !strings.Contains(p, "Conflict") || !strings.Contains(p, "was not saved") {
		t.Errorf("the second session: %s", p)
	}
	check(ctx2, "conflict")
	cancel2()

	// Lineage of the corrected field.
	step("lineage", chromedp.Click(chromedp.CSS(`a[aria-label="Lineage of issue_date"]`)), chromedp.WaitVisible(chromedp.CSS("pre.report")))
	if l := text("pre.report"); !strings.Contains(l, "lineage of issue_date") {
		t.Errorf("lineage: %s", l)
	}
	check(ctx, "lineage")

	// Approve, back in the document.
	step("back", chromedp.Navigate(srv.url+docPath), chromedp.WaitVisible(chromedp.CSS("#decide")))
	step("approve", chromedp.Click(chromedp.CSS("form[data-approve-doc] button")), chromedp.WaitVisible(chromedp.CSS(".alert.good")))
	if s := text("#decide"); !strings.Contains(s, "approved") {
		t.Errorf("after approving: %s", s)
	}
	check(ctx, "document-approved")

	// The export (through the page's link, with the session) has the
	// corrected value.
	step("metrics", chromedp.Navigate(srv.url+"/ui/metrics"), chromedp.WaitVisible(chromedp.CSS(".tiles")))
	if m := text(".tiles"); !strings.Contains(m, "0 of 1 approved") {
		t.Errorf("metrics: %s", m)
	}
	check(ctx, "metrics")
	// (The page's CSP forbids a script's fetch; the test follows the link
	// as the browser would, with the session's cookie.)
	link, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`a[href*="format=csv"]`), "href"))
	must(t, err)
	req, err := http.NewRequest("GET", srv.url+link.Value, nil)
	must(t, err)
	req.AddCookie(&http.Cookie{Name: "extractor_key", Value: key})
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	must(t, err)
	csv := string(body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Errorf("the export link: %d %v", resp.StatusCode, resp.Header)
	}
	if !strings.Contains(csv, docID) || !strings.Contains(csv, "2022-11-27") || strings.Contains(csv, "2022-12-27") {
		t.Errorf("the CSV export:\n%s", csv)
	}

	// The approved values are a labelled dataset, which eval scores against.
	dir := t.TempDir()
	runOK(t, env, "dataset", "export", "--reviewed", "--out", dir)
	d, err := evals.Load(dir)
	if err != nil || len(d.Rows) != 1 || d.Rows[0].Expected["issue_date"] != "2022-11-27" || d.Rows[0].LabelQuality != "verified" {
		t.Fatalf("dataset: %+v %v", d.Rows, err)
	}
	report := filepath.Join(dir, "report.json")
	runOK(t, env, "eval", "--dataset", dir, "--extractor", "rules", "--out", report)
	rep, err := evals.ReadReport(report)
	if err != nil || len(rep.Documents) != 1 {
		t.Fatalf("report: %v", err)
	}
	scored := false
	for _, f := range rep.Documents[0].Fields {
		if f.Field == "issue_date" {
			scored = true
			if f.Expected != "2022-11-27" || !f.Match {
				t.Errorf("issue_date scored %+v, want the corrected label 2022-11-27 matched by the rules extractor", f)
			}
		}
	}
	if !scored {
		t.Error("issue_date was not scored")
	}

	// Another document, approved from the queue with the keyboard: j, a.
	other, err := os.ReadFile(sample(t, "synth-0004.pdf"))
	must(t, err)
	upload, ct := multipartBody(t, other, "synth-0004.pdf", `{"extractor": "llm"}`)
	if resp, b := request(t, "POST", srv.url+"/v1/extractions", key, upload, ct, nil); resp.StatusCode != 200 {
		t.Fatalf("second upload: %d %s", resp.StatusCode, b)
	}
	step("queue again", chromedp.Navigate(srv.url+"/ui/review"), chromedp.WaitVisible(chromedp.CSS("table.queue")))
	if q := text("table.queue"); !strings.Contains(q, "synth-0004.pdf") {
		t.Errorf("the queue: %s", q)
	}

	step("approve by keyboard", chromedp.KeyEvent("j"), chromedp.KeyEvent("a"), chromedp.WaitVisible(chromedp.CSS(".alert.good")))
	if loc := location(); loc != "/ui/review" {
		t.Errorf("after approving from the queue: at %s", loc)
	}

	// A scanned invoice (a PNG read by OCR): its image with the evidence
	// boxes, and its recognised words to pick one by one.
	scan, err := os.ReadFile(filepath.Join(testdataDir(t), "..", "..", "scans", "files", "scan", "scan-0007.png"))
	must(t, err)
	upload, ct = multipartBody(t, scan, "scan-0007.png", `{"extractor": "rules"}`)
	resp, b := request(t, "POST", srv.url+"/v1/extractions", key, upload, ct, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("scan upload: %d %s", resp.StatusCode, b)
	}
	var scanned struct {
		DocumentID string `json:"document_id"`
	}
	must(t, json.Unmarshal(b, &scanned))
	step("scanned document", chromedp.Navigate(srv.url+"/ui/documents/"+scanned.DocumentID+"?edit=total_amount#edit"), chromedp.WaitVisible(chromedp.CSS("#edit")))
	if n, _ := strconv.Atoi(eval(`String(document.querySelectorAll(".pageimg a.box").length)`)); n < 5 {
		t.Errorf("%d evidence boxes on the scan", n)
	}
	if n, _ := strconv.Atoi(eval(`String(document.querySelectorAll(".pageimg a.pick.word").length)`)); n < 20 {
		t.Errorf("%d words to pick on the scan", n)
	}
	// The sideways scan is shown upright, as OCR read it (its boxes are
	// in the upright page).
	if shape := eval(`new Promise(r => { const i = new Image(); i.onload = () => r(i.naturalHeight > i.naturalWidth ? "portrait" : "landscape"); i.onerror = () => r("failed"); i.src = document.querySelector("svg image").getAttribute("href"); })`); shape != "portrait" {
		t.Errorf("the scan's image is %s, want it turned upright (portrait)", shape)
	}
	check(ctx, "document-scan")

	// Search, runs, the diff of the two runs.
	step("search", chromedp.Navigate(srv.url+"/ui/search?q=Rechnungsdatum&mode=text"), chromedp.WaitVisible(chromedp.CSS("h2")))
	if n, _ := strconv.Atoi(eval(`String(document.querySelectorAll('ol.hits a[href^="/ui/documents/` + docID + `"]').length)`)); n < 1 {
		t.Errorf("search: no hit links to the document")
	}
	check(ctx, "search")
	step("search hit", chromedp.Click(chromedp.CSS("ol.hits a")), chromedp.WaitVisible(chromedp.CSS(".split")))
	step("runs", chromedp.Navigate(srv.url+"/ui/runs"), chromedp.WaitVisible(chromedp.CSS("table.list")))
	check(ctx, "runs")
	step("diff", chromedp.Click(chromedp.CSS(`a[href="/ui/diff"]`)), chromedp.WaitVisible(chromedp.CSS("pre.report")))
	if df := text("pre.report"); !strings.Contains(df, "diff ") || !strings.Contains(df, "documents compared") {
		t.Errorf("diff: %s", df)
	}
	check(ctx, "diff")

	// What axe found, for the closing note.
	var names []string
	total := 0
	for name, vs := range found {
		names = append(names, name)
		total += len(vs)
	}
	sort.Strings(names)
	summary, _ := json.MarshalIndent(map[string]any{"pages": pages, "violations": found, "total": total}, "", "  ")
	must(t, os.WriteFile(filepath.Join(shots, "axe.json"), summary, 0o644))
	t.Logf("axe-core: %d violations on %d pages checked (%s); screenshots in %s", total, len(found), strings.Join(names, ", "), shots)

	bl.mu.Lock()
	defer bl.mu.Unlock()
	for _, u := range bl.foreign {
		t.Errorf("a page requested another host: %s", u)
	}
	for _, p := range bl.problems {
		t.Errorf("browser: %s", p)
	}
}

const pageImagesLoaded = `Promise.all([...document.querySelectorAll("svg image")].map(i => new Promise(r => {
  const x = new Image(); x.onload = x.onerror = () => r(true); x.src = i.getAttribute("href"); }))).then(() => true)`

// axeSource is axe-core's browser build (EXTRACTOR_AXE), "" without one.
func axeSource(t *testing.T) string {
	p := os.Getenv("EXTRACTOR_AXE")
	if p == "" {
		t.Log("EXTRACTOR_AXE is not set: no accessibility check (scripts/e2e.sh sets it)")
		return ""
	}
	b, err := os.ReadFile(p)
	must(t, err)
	return string(b)
}

// checkPage screenshots the page at 1280 and 1920 px (SHOTS/NAME-WIDTH.png)
// and runs axe-core on it (when axeJS is set): each violation fails the
// test, and the violations are returned for the record.
func checkPage(t *testing.T, ctx context.Context, shots, name, axeJS string) []axeViolation {
	t.Helper()
	// The page images load after the page: wait for them (loaded or
	// failed), so that the screenshots show them.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](pageImagesLoaded, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatalf("page images of %s: %v", name, err)
	}
	for _, w := range []int64{1280, 1920} {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(w, 900)); err != nil {
			t.Fatalf("viewport %d: %v", w, err)
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		must(t, os.WriteFile(filepath.Join(shots, fmt.Sprintf("%s-%d.png", name, w)), png, 0o644))
	}
	if axeJS == "" {
		return nil
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](axeJS+";true")); err != nil {
		t.Fatalf("axe on %s: %v", name, err)
	}
	vs, err := chromedp.Run(ctx, chromedp.Evaluate[[]axeViolation](axeRun, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe on %s: %v", name, err)
	}
	for _, v := range vs {
		t.Errorf("axe, %s page: %s (%s, %d nodes: %s): %s", name, v.ID, v.Impact, v.Nodes, strings.Join(v.Targets, " | "), v.Help)
	}
	return vs
}
