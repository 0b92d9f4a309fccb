package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/extractor-dev/extractor/extract/ocr"
	"github.com/extractor-dev/extractor/internal/llmtest"
	"github.com/extractor-dev/extractor/internal/testenv"
	"github.com/extractor-dev/extractor/pipeline"
)

// einvoiceLines runs the hybrid fixtures and the standalone XML and
// returns the result lines by file base name.
func einvoiceLines(t *testing.T, env map[string]string, args ...string) (map[string]runLine, result) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "r.jsonl")
	args = append([]string{"run", "--no-store", "--out", out}, args...)
	args = append(args, testenv.Testdata(t, "einvoice", "files"), testenv.Testdata(t, "einvoice", "xml"))
	r := run(t, env, args...)
	data, _ := os.ReadFile(out)
	lines := map[string]runLine{}
	for _, l := range readLines(t, string(data)) {
		lines[filepath.Base(l.File)] = l
	}
	return lines, r
}

func issueCodes(l runLine, severity string) []string {
	var out []string
	for _, is := range l.Issues {
		if is.Severity == severity {
			out = append(out, is.Field+":"+is.Code)
		}
	}
	return out
}

// Folders take e-invoice XML files as documents; a hybrid PDF is read from
// its XML, the page is checked against it, and the summary counts them.
func TestRunReadsEInvoices(t *testing.T) {
	lines, r := einvoiceLines(t, nil)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if len(lines) != 8 {
		t.Fatalf("%d lines, want 7 PDFs and 1 XML: %s", len(lines), r.stderr)
	}
	for name, want := range map[string]string{
		"synth-0001.pdf": "", "synth-0002.pdf": "total_amount:einvoice_mismatch", "synth-0003.pdf": "invoice_number:einvoice_mismatch",
		"synth-0004.pdf": "iban:einvoice_mismatch", "synth-0005.pdf": "", "synth-0007.pdf": "", "synth-0001-cii.xml": "",
	} {
		l := lines[name]
		if l.Status != "ok" || l.Extractor.Kind != "einvoice" {
			t.Errorf("%s: %s by %q (%s)", name, l.Status, l.Extractor.Kind, l.Error)
		}
		if got := strings.Join(issueCodes(l, "fail"), " "); got != want {
			t.Errorf("%s: failing issues %q, want %q", name, got, want)
		}
	}
	// The malformed XML: the page text, with a warning saying why.
	if l := lines["synth-0006.pdf"]; l.Extractor.Kind != "rules" || !strings.Contains(strings.Join(issueCodes(l, "warn"), " "), ":einvoice") {
		t.Errorf("synth-0006 (malformed XML): %s, warnings %v", l.Extractor.Kind, issueCodes(l, "warn"))
	}
	if !strings.Contains(r.stderr, "8 documents: 8 ok (3 need review), 0 failed; 7 read from their e-invoice;") {
		t.Errorf("summary: %s", r.stderr)
	}

	// --einvoice off: the text path alone.
	lines, r = einvoiceLines(t, nil, "--einvoice", "off")
	if l := lines["synth-0001.pdf"]; l.Extractor.Kind != "rules" || strings.Contains(r.stderr, "e-invoice") {
		t.Errorf("off: %s; %s", l.Extractor.Kind, r.stderr)
	}
	// An XML file has no page for the text path to read.
	if l := lines["synth-0001-cii.xml"]; l.Status != "ok" || len(issueCodes(l, "fail")) == 0 {
		t.Errorf("off, XML file: %s, issues %v", l.Status, l.Issues)
	}

	// --einvoice only: documents without one fail, saying so.
	r = run(t, nil, "run", "--no-store", "--einvoice", "only", sample(t, "synth-0001.pdf"))
	if r.code != 1 || !strings.Contains(r.stderr, "no readable e-invoice") {
		t.Errorf("only, plain PDF: exit %d: %s", r.code, r.stderr)
	}
	r = run(t, nil, "run", "--no-store", "--einvoice", "sometimes", sample(t, "synth-0001.pdf"))
	if r.code != 2 || !strings.Contains(r.stderr, "want prefer, off or only") {
		t.Errorf("bad mode: exit %d: %s", r.code, r.stderr)
	}
}

// With an LLM configured, documents that carry an e-invoice are read from
// it without a model call; the others go to the model.
func TestEInvoicesSaveModelCalls(t *testing.T) {
	srv := llmtest.NewServer(t)
	srv.Chat(func(req llmtest.ChatRequest) llmtest.Reply {
		return llmtest.ToolCall("record_invoice", invoiceArgs(map[string][3]any{
			"invoice_number": {"RE-20221127/3", 1, "Rechnungsnr. RE-20221127/3"},
		})).Usage(1000, 50)
	})
	out := filepath.Join(t.TempDir(), "r.jsonl")
	r := run(t, nil, "run", "--no-store", "--llm-base-url", srv.URL+"/v1", "--llm-model", "gpt-4o-mini", "--out", out,
		testenv.Testdata(t, "einvoice", "files", "synth", "synth-0001.pdf"), testenv.Testdata(t, "einvoice", "files", "synth", "synth-0004.pdf"),
		sample(t, "synth-0001.pdf"))
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("%d model calls, want 1 (for the PDF without an e-invoice)", n)
	}
	if !strings.Contains(r.stderr, "2 read from their e-invoice (no model call)") {
		t.Errorf("summary: %s", r.stderr)
	}
	data, _ := os.ReadFile(out)
	kinds := []string{}
	for _, l := range readLines(t, string(data)) {
		kinds = append(kinds, l.Extractor.Kind)
	}
	if strings.Join(kinds, " ") != "einvoice einvoice llm" {
		t.Errorf("kinds %v", kinds)
	}
}

// An image file and a scanned PDF go through OCR like a born-digital PDF;
// with OCR off they fail saying what is needed.
func TestRunReadsScans(t *testing.T) {
	testenv.Program(t, "tesseract", "tesseract-ocr")
	testenv.Program(t, "pdftoppm", "poppler-utils")
	scans := testenv.Testdata(t, "scans", "files", "scan")
	png, pdfScan := filepath.Join(scans, "scan-0007.png"), filepath.Join(scans, "scan-0002.pdf")
	out := filepath.Join(t.TempDir(), "r.jsonl")
	state := t.TempDir()
	r := run(t, map[string]string{"EXTRACTOR_STATE": state}, "run", "--no-store", "--out", out, "--ocr-dpi", "200", png)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	data, _ := os.ReadFile(out)
	l := readLines(t, string(data))[0]
	if f := l.Fields["invoice_number"]; f.Value != "INV-2023-0240" || !f.Grounded || f.Page != 1 {
		t.Errorf("invoice_number from the PNG: %+v", f)
	}
	// The parse step's version names the OCR engine, so the cache and
	// lineage know what read the page.
	recs, err := pipeline.LocalRecords{State: state}.StepRecords(context.Background(), runID(t, r.stderr))
	if err != nil {
		t.Fatal(err)
	}
	if v := recs[0].StepVersion; recs[0].Step != pipeline.StepParse || !strings.Contains(v, "ocr=auto "+ocr.Version+" tesseract/") || !strings.Contains(v, "dpi=200") {
		t.Errorf("parse step %s version %q", recs[0].Step, v)
	}

	r = run(t, nil, "run", "--no-store", "--ocr", "off", png, pdfScan)
	if r.code != 1 || !strings.Contains(r.stderr, "an image file needs OCR, which is off") || !strings.Contains(r.stderr, "needs OCR, --ocr auto") {
		t.Errorf("--ocr off: exit %d: %s", r.code, r.stderr)
	}
	// Languages the machine lacks stop the run before it starts.
	for lang, want := range map[string]string{"eng+spa": "install the Debian package tesseract-ocr-spa", "xx": `"xx" is not a tesseract language code`} {
		r = run(t, nil, "run", "--no-store", "--ocr-lang", lang, png)
		if r.code != 2 || !strings.Contains(r.stderr, want) {
			t.Errorf("--ocr-lang %s: exit %d: %s", lang, r.code, r.stderr)
		}
	}
}

// llm.vision: ocr sends the scanned page's image, rendered from the file
// the run read, with its text; a born-digital page goes as text only.
func TestRunSendsPageImages(t *testing.T) {
	testenv.Program(t, "tesseract", "tesseract-ocr")
	testenv.Program(t, "pdftoppm", "poppler-utils")
	scans := testenv.Testdata(t, "scans", "files", "scan")
	srv := llmtest.NewServer(t)
	srv.Chat(func(llmtest.ChatRequest) llmtest.Reply { return llmtest.ToolCall("record_invoice", goodInvoiceArgs) })
	cfg := filepath.Join(t.TempDir(), "vision.yaml")
	if err := os.WriteFile(cfg, []byte("llm:\n  vision: true\n  max_images: 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"EXTRACTOR_STATE": t.TempDir(), "EXTRACTOR_LLM_API_KEY": "k"}
	r := run(t, env, "run", "--no-store", "--config", cfg, "--llm-base-url", srv.URL+"/v1", "--llm-model", "gpt-4o-mini", "--ocr-dpi", "200",
		filepath.Join(scans, "scan-0002.pdf"), sample(t, "synth-0001.pdf"))
	if r.code != 0 && r.code != 1 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	reqs := srv.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests: %s", len(reqs), r.stderr)
	}
	images := 0
	for _, req := range reqs {
		raw := req.Chat.Messages[1].RawContent
		if n := strings.Count(string(raw), `"type":"image_url"`); n > 0 {
			images += n
			if !strings.Contains(string(raw), `"url":"data:image/png;base64,iVBORw0KGgo`) || !strings.Contains(req.Chat.Messages[1].Content, "=== Page 1 ===") {
				t.Errorf("the image part is not a PNG data URL beside the text: %.300s", raw)
			}
		}
	}
	if images != 1 {
		t.Errorf("%d page images sent, want the scan's one", images)
	}
	// A vision setting that is not one is a usage error.
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("llm:\n  vision: pages\n"), 0o600)
	if r := run(t, env, "run", "--no-store", "--config", bad, sample(t, "synth-0001.pdf")); r.code != 2 || !strings.Contains(r.stderr, "vision") {
		t.Errorf("vision: pages: exit %d: %s", r.code, r.stderr)
	}
}

// The service takes what a folder run takes: an e-invoice XML (read with
// no model, its source on the line), a hybrid PDF (its source too), a scan
// as an image (through OCR); an XML that is not an invoice gets 422, a
// text file 415.
func TestServeTakesEInvoicesAndScans(t *testing.T) {
	testenv.Program(t, "tesseract", "tesseract-ocr")
	testenv.Program(t, "pdftoppm", "poppler-utils")
	env := storedEnv(t)
	key := createKey(t, env)
	srv := startCommand(t, env, "serve", "--addr", "127.0.0.1:0")
	read := func(path string) []byte {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	einv := testenv.Testdata(t, "einvoice")
	cases := []struct {
		name   string
		data   []byte
		status int
		check  func(l pipeline.ResultLine) string
	}{
		{name: "synth-0001-cii.xml", data: read(filepath.Join(einv, "xml", "synth-0001-cii.xml")), status: 200,
			check: func(l pipeline.ResultLine) string {
				if l.Extractor.Kind != "einvoice" || l.Source == nil || l.Source.Syntax != "CII" || l.Fields["total_amount"].Value == "" {
					return "not read from the XML"
				}
				return ""
			}},
		{name: "hybrid.pdf", data: read(filepath.Join(einv, "files", "synth", "synth-0001.pdf")) /* variant match */, status: 200,
			check: func(l pipeline.ResultLine) string {
				if l.Extractor.Kind != "einvoice" || l.Source == nil || l.Source.Attachment != "factur-x.xml" || l.Source.Profile == "" {
					return "not read from its attachment"
				}
				return ""
			}},
		{name: "scan-0007.png", data: read(testenv.Testdata(t, "scans", "files", "scan", "scan-0007.png")), status: 200,
			check: func(l pipeline.ResultLine) string {
				if l.Status != "ok" || l.Fields["invoice_number"].Value != "INV-2023-0240" {
					return "not read by OCR"
				}
				return ""
			}},
		{name: "order.xml", data: []byte(`<?xml version="1.0"?><Order><ID>1</ID></Order>`), status: 422},
		{name: "notes.txt", data: []byte("hello, this is not a document"), status: 415},
	}
	for _, tc := range cases {
		body, ct := multipartBody(t, tc.data, tc.name, `{"extractor": "rules"}`)
		resp, b := request(t, "POST", srv.url+"/v1/extractions", key, body, ct, nil)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %d %s", tc.name, resp.StatusCode, b)
			continue
		}
		if tc.check == nil {
			if resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s: %s", tc.name, resp.Header.Get("Content-Type"))
			}
			continue
		}
		var l pipeline.ResultLine
		if err := json.Unmarshal(b, &l); err != nil {
			t.Fatal(err)
		}
		if why := tc.check(l); why != "" {
			t.Errorf("%s: %s: %s", tc.name, why, b)
		}
	}
	if code := srv.shutdown(t); code != 0 {
		t.Errorf("serve exited %d: %s", code, srv.stderr)
	}
}

// --out to something that is not a regular file (a named pipe here; the
// same for /dev/null) is written to, never replaced by a renamed file:
// 'run -o /dev/null' once turned the machine's /dev/null into a file.
func TestOutToANamedPipe(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "out.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	got := make(chan string, 1)
	go func() {
		b, _ := os.ReadFile(fifo) // blocks until the run opens it for writing
		got <- string(b)
	}()
	r := run(t, map[string]string{"EXTRACTOR_STATE": t.TempDir()}, "run", "--no-store", "--isolate=false", "-o", fifo, sample(t, "synth-0001.pdf"))
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if out := <-got; !strings.Contains(out, `"RE-20221127/3"`) {
		t.Errorf("the pipe read %q", out)
	}
	if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the named pipe was replaced: %v %v", fi.Mode(), err)
	}
}
