package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/extractor-dev/extractor/internal/llmtest"
	"github.com/extractor-dev/extractor/internal/testenv"
	"github.com/extractor-dev/extractor/pipeline"
)

type runLine struct {
	DocumentID string `json:"document_id"`
	File       string `json:"file"`
	Status     string `json:"status"`
	Error      string `json:"error"`
	Schema     struct{ Name, Version string }
	Extractor  struct {
		Kind          string `json:"kind"`
		Model         string `json:"model"`
		PromptVersion string `json:"prompt_version"`
	} `json:"extractor"`
	Fields map[string]struct {
		Value, Raw, Quote string
		Page              int
		Grounded          bool
		Confidence        float64
	} `json:"fields"`
	LineItems []json.RawMessage `json:"line_items"`
	Issues    []struct{ Field, Code, Severity string }
	Usage     struct {
		InputTokens  int     `json:"input_tokens"`
		OutputTokens int     `json:"output_tokens"`
		Attempts     int     `json:"attempts"`
		CostUSD      float64 `json:"cost_usd"`
	} `json:"usage"`
}

func readLines(t *testing.T, s string) []runLine {
	t.Helper()
	var out []runLine
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var l runLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("not a JSON line: %v\n%s", err, sc.Text())
		}
		out = append(out, l)
	}
	return out
}

// evidenceOrFlag: every value in the output has evidence or an issue.
func evidenceOrFlag(t *testing.T, l runLine) {
	t.Helper()
	flagged := map[string]bool{}
	for _, i := range l.Issues {
		flagged[i.Field] = true
	}
	for name, f := range l.Fields {
		if f.Raw == "" && f.Value == "" {
			continue
		}
		if !(f.Grounded && f.Page > 0 && f.Quote != "") && !flagged[name] {
			t.Errorf("%s: %s = %q has no grounded evidence and no issue", filepath.Base(l.File), name, f.Raw)
		}
	}
}

func TestRunRulesOffline(t *testing.T) {
	out := filepath.Join(t.TempDir(), "results.jsonl")
	r := run(t, nil, "run", "--out", out, testdataDir(t))
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "no LLM configured: using the offline rules extractor") || !strings.Contains(r.stderr, "20 documents: 20 ok") {
		t.Errorf("stderr = %q", r.stderr)
	}
	data, _ := os.ReadFile(out)
	lines := readLines(t, string(data))
	if len(lines) != 20 {
		t.Fatalf("%d lines", len(lines))
	}
	for _, l := range lines {
		if l.Status != "ok" || l.Extractor.Kind != "rules" || l.Schema.Name != "invoice" || len(l.DocumentID) != 64 {
			t.Errorf("%+v", l)
		}
		evidenceOrFlag(t, l)
	}
	if f := lines[0].Fields["invoice_number"]; f.Value != "RE-20221127/3" || !f.Grounded || f.Page != 1 {
		t.Errorf("synth-0001 invoice_number = %+v", f)
	}
}

func TestRunKeysAndFailures(t *testing.T) {
	dir := t.TempDir()
	good, _ := os.ReadFile(sample(t, "synth-0005.pdf"))
	os.WriteFile(filepath.Join(dir, "a.pdf"), good, 0o644)
	os.WriteFile(filepath.Join(dir, "b-broken.pdf"), []byte("%PDF-1.4 nothing"), 0o644)
	r := run(t, nil, "run", dir)
	if r.code != 1 {
		t.Errorf("exit %d, want 1 when a document failed", r.code)
	}
	lines := readLines(t, r.stdout)
	if len(lines) != 2 || lines[0].Status != "ok" || lines[1].Status != "failed" || !strings.Contains(lines[1].Error, "malformed") {
		t.Errorf("lines = %+v", lines)
	}
	if !strings.Contains(r.stderr, "2 documents: 1 ok (0 need review), 1 failed") {
		t.Errorf("summary = %q", r.stderr)
	}
}

// A file that would kill an unguarded parser (see testdata/regressions)
// fails alone, in process and isolated, and the rest of the batch is done.
func TestRunSurvivesHostileFileInEveryMode(t *testing.T) {
	dir := t.TempDir()
	hostile, err := os.ReadFile(testenv.Testdata(t, "regressions", "xref-stream-size-2147483647.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "a-hostile.pdf"), hostile, 0o644)
	for _, name := range []string{"synth-0001.pdf", "synth-0002.pdf"} {
		good, _ := os.ReadFile(sample(t, name))
		os.WriteFile(filepath.Join(dir, name), good, 0o644)
	}
	for _, isolate := range []string{"--isolate=true", "--isolate=false"} {
		r := run(t, nil, "run", "--no-cache", isolate, dir)
		lines := readLines(t, r.stdout)
		if r.code != 1 || len(lines) != 3 || lines[0].Status != "failed" || !strings.Contains(lines[0].Error, "malformed") ||
			lines[1].Status != "ok" || lines[2].Status != "ok" {
			t.Errorf("%s: exit %d, lines %+v\n%s", isolate, r.code, lines, r.stderr)
		}
	}
	for _, isolate := range []string{"--isolate=true", "--isolate=false"} {
		r := run(t, nil, "parse", isolate, filepath.Join(dir, "a-hostile.pdf"))
		if r.code != 1 || !strings.Contains(r.stderr, "malformed") {
			t.Errorf("parse %s: exit %d: %s", isolate, r.code, r.stderr)
		}
	}
}

func TestRunCSVAndTable(t *testing.T) {
	r := run(t, nil, "run", "--format", "csv", sample(t, "synth-0001.pdf"), sample(t, "synth-0002.pdf"))
	rows, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if err != nil || len(rows) != 3 {
		t.Fatalf("csv: %v, %d rows", err, len(rows))
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	if rows[1][col["invoice_number"]] != "RE-20221127/3" || rows[1][col["invoice_number_grounded"]] != "true" || rows[1][col["line_items_count"]] == "0" {
		t.Errorf("row = %v", rows[1])
	}
	r = run(t, nil, "run", "--format", "table", sample(t, "synth-0001.pdf"))
	if !strings.Contains(r.stdout, "INVOICE_NUMBER") || !strings.Contains(r.stdout, "RE-20221127/3") {
		t.Errorf("table:\n%s", r.stdout)
	}
}

func TestRunUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"run", "--extractor", "llm", sample(t, "synth-0001.pdf")},
		{"run", "--schema", "nda", sample(t, "synth-0001.pdf")}, // rules read invoices only
		{"run", "--schema", "/no/such.yaml", sample(t, "synth-0001.pdf")},
		{"run", "--format", "xml", sample(t, "synth-0001.pdf")},
		{"run", "--extractor", "magic", sample(t, "synth-0001.pdf")},
	} {
		if r := run(t, nil, args...); r.code != 2 {
			t.Errorf("%q: exit %d (%s), want 2", args, r.code, r.stderr)
		}
	}
}

// The LLM path end to end against the fake server: the key reaches the
// server and nothing else; the output has the model, the prompt version and
// the summed usage; nonsense values are flagged.
func TestRunLLM(t *testing.T) {
	const key = "sk-test-SECRET-123"
	srv := llmtest.NewServer(t)
	calls := 0
	srv.Chat(func(req llmtest.ChatRequest) llmtest.Reply {
		calls++
		if req.Index == 1 {
			return llmtest.ToolCall("record_invoice", "{not json").Usage(1000, 50)
		}
		return llmtest.ToolCall("record_invoice", invoiceArgs(map[string][3]any{
			"invoice_number": {"RE-20221127/3", 1, "Rechnungsnr. RE-20221127/3"}, // the page pads with spaces
			"total_amount":   {"9.999,99 €", 1, "Gesamtbetrag 9.999,99 €"},       // not on the page
		})).Usage(1100, 80)
	})
	out := filepath.Join(t.TempDir(), "r.jsonl")
	r := run(t, map[string]string{"EXTRACTOR_LLM_API_KEY": key}, "run", "--llm-base-url", srv.URL+"/v1", "--llm-model", "gpt-4o-mini",
		"--out", out, sample(t, "synth-0001.pdf"))
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	data, _ := os.ReadFile(out)
	if strings.Contains(string(data), key) || strings.Contains(r.stderr, key) || strings.Contains(r.stdout, key) {
		t.Fatal("the API key leaked into the output")
	}
	if got := srv.Requests()[0].Header.Get("Authorization"); got != "Bearer "+key {
		t.Errorf("Authorization = %q", got)
	}
	l := readLines(t, string(data))[0]
	if l.Extractor.Kind != "llm" || l.Extractor.Model != "gpt-4o-mini" || l.Extractor.PromptVersion == "" {
		t.Errorf("extractor = %+v", l.Extractor)
	}
	if l.Usage.Attempts != 2 || l.Usage.InputTokens != 2100 || l.Usage.OutputTokens != 130 || l.Usage.CostUSD <= 0 {
		t.Errorf("usage = %+v", l.Usage)
	}
	if f := l.Fields["invoice_number"]; !f.Grounded || f.Value != "RE-20221127/3" {
		t.Errorf("invoice_number = %+v", f)
	}
	if f := l.Fields["total_amount"]; f.Grounded {
		t.Errorf("total_amount = %+v: a value not on the page must not be grounded", f)
	}
	evidenceOrFlag(t, l)
	if !strings.Contains(r.stderr, "2 model calls, 2100 input + 130 output tokens, $") {
		t.Errorf("summary = %q", r.stderr)
	}
}

func TestRunLLMConfigFile(t *testing.T) {
	srv := llmtest.NewServer(t)
	srv.Chat(func(req llmtest.ChatRequest) llmtest.Reply {
		return llmtest.ToolCall("record_invoice", invoiceArgs(nil))
	})
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("llm:\n  base_url: %s/v1\n  model: local-model\n  tool_choice: required\n  strict: false\n", srv.URL)), 0o644)
	r := run(t, nil, "run", "--config", cfg, sample(t, "synth-0002.pdf"))
	// Nothing was found: missing required fields send the document to
	// review, but it did not fail.
	if r.code != 0 || !strings.Contains(r.stderr, "1 ok (1 need review)") || !strings.Contains(r.stderr, "cost unknown") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	req := srv.Requests()[0].Chat
	if string(req.ToolChoice) != `"required"` || req.Model != "local-model" || req.Tools[0].Function.Strict {
		t.Errorf("request: tool_choice %s, model %s, strict %v", req.ToolChoice, req.Model, req.Tools[0].Function.Strict)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("llm:\n  modle: x\n"), 0o644)
	if r := run(t, nil, "run", "--config", bad, sample(t, "synth-0002.pdf")); r.code != 2 || !strings.Contains(r.stderr, "modle") {
		t.Errorf("bad config: exit %d, %s", r.code, r.stderr)
	}
}

// invoiceArgs builds record_invoice arguments: the given fields, the rest null.
func invoiceArgs(set map[string][3]any) string {
	m := map[string]any{"line_items": []any{}}
	for _, f := range []string{"vendor_name", "vendor_vat_id", "customer_name", "invoice_number", "issue_date", "due_date",
		"currency", "net_amount", "tax_amount", "total_amount", "iban"} {
		m[f] = map[string]any{"value": nil, "page": nil, "quote": nil}
		if v, ok := set[f]; ok {
			m[f] = map[string]any{"value": v[0], "page": v[1], "quote": v[2]}
		}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func testdataDir(t *testing.T) string {
	return filepath.Dir(filepath.Dir(sample(t, "synth-0001.pdf")))
}

// Failure reasons quote damaged files: what they quote is escaped, so a
// 0xff byte or a terminal escape cannot break the --summary table, a log
// line or the JSON.
func TestFailureReasonsAreQuoted(t *testing.T) {
	dir := t.TempDir()
	body := "%PDF-1.4\n%" + strings.Repeat("x", 120) + "\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
	off := len(body)
	body += "\xff\xfe\x1b[31mjunk\nstartxref\n" + fmt.Sprint(off) + "\n%%EOF\n"
	path := filepath.Join(dir, "broken.pdf")
	os.WriteFile(path, []byte(body), 0o644)
	r := run(t, nil, "parse", "--summary", path)
	if r.code != 1 || !utf8.ValidString(r.stdout) || !utf8.ValidString(r.stderr) || strings.Contains(r.stdout+r.stderr, "\x1b") ||
		!strings.Contains(r.stdout, `\xff\xfe\u001b`) {
		t.Errorf("exit %d:\n%q\n%q", r.code, r.stdout, r.stderr)
	}
	r = run(t, nil, "run", path)
	lines := readLines(t, r.stdout)
	if len(lines) != 1 || !utf8.ValidString(lines[0].Error) || !strings.Contains(lines[0].Error, `\xff`) {
		t.Errorf("result line: %q", r.stdout)
	}
}

// The table's review column names what to look at, field by field.
func TestIssueSummaryNamesFields(t *testing.T) {
	got := issueSummary([]pipeline.Issue{
		{Field: "vendor_name", Code: pipeline.IssueMissing, Severity: pipeline.SeverityFail},
		{Field: "due_date", Code: pipeline.IssueMissing, Severity: pipeline.SeverityFail},
		{Field: "iban", Code: pipeline.IssueUngrounded, Severity: pipeline.SeverityFail},
		{Code: pipeline.IssueArithmetic, Severity: pipeline.SeverityFail},
		{Field: "total_amount", Code: pipeline.IssueDisagree, Severity: pipeline.SeverityWarn},
	})
	if want := "arithmetic document; missing due_date, vendor_name; ungrounded iban"; got != want {
		t.Errorf("issueSummary = %q, want %q", got, want)
	}
}
