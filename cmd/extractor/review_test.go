package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	rulesx "github.com/extractor-dev/extractor/extract/rules"
	"github.com/extractor-dev/extractor/history"
	"github.com/extractor-dev/extractor/internal/llmtest"
	"github.com/extractor-dev/extractor/internal/testenv"
	"github.com/extractor-dev/extractor/pipeline"
	"github.com/extractor-dev/extractor/tracing"
)

var runIDRE = regexp.MustCompile(`extractor: run (\S+) \(records in`)

// runOK runs the CLI, expecting success, and returns the run id it made
// (for 'run') and its output.
func runOK(t *testing.T, env map[string]string, args ...string) (string, result) {
	t.Helper()
	r := run(t, env, args...)
	if r.code != 0 {
		t.Fatalf("%q: exit %d\nstdout:\n%s\nstderr:\n%s", args, r.code, r.stdout, r.stderr)
	}
	id := ""
	if m := runIDRE.FindStringSubmatch(r.stderr); m != nil {
		id = m[1]
	}
	return id, r
}

func fileSum(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func mustContain(t *testing.T, what, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, out)
		}
	}
}

// The review commands over the sample documents, run with the rules
// extractor: traces, lineage down to the bytes, and diffs between runs
// that share a state directory.
func TestReviewCommands(t *testing.T) {
	env := map[string]string{"EXTRACTOR_STATE": t.TempDir()}
	runA, _ := runOK(t, env, "run", testdataDir(t))
	if runA == "" {
		t.Fatal("no run id on stderr")
	}
	file := sample(t, "synth-0001.pdf")
	docID := fileSum(t, file)

	t.Run("runs", func(t *testing.T) {
		_, r := runOK(t, env, "runs")
		mustContain(t, "runs", r.stdout, runA, "finished", rulesx.Version)
	})

	t.Run("traces list", func(t *testing.T) {
		_, r := runOK(t, env, "traces", "list")
		mustContain(t, "traces list", r.stdout, "run "+runA+" (the latest", "synth-0001.pdf", docID[:12], "20 of 20 documents")
		rows := 0
		for _, l := range strings.Split(r.stdout, "\n") {
			if strings.Contains(l, "synth-") {
				rows++
				if !strings.Contains(l, " ok ") || !strings.Contains(l, "0/4") {
					t.Errorf("row %q: want status ok and 0 of 4 steps from the cache", l)
				}
				var hits, steps int
				if m := regexp.MustCompile(` (\d+)/(\d+) `).FindStringSubmatch(l); m != nil {
					fmt.Sscan(m[1], &hits)
					fmt.Sscan(m[2], &steps)
				}
				if hits > steps {
					t.Errorf("row %q: more steps from the cache than steps", l)
				}
			}
		}
		if rows != 20 {
			t.Errorf("%d document rows, want 20", rows)
		}
		_, r = runOK(t, env, "traces", "list", "--json", "--run", runA[:16])
		if n := strings.Count(r.stdout, "\n"); n != 20 {
			t.Errorf("--json: %d lines, want 20", n)
		}
		var row traceRow
		if err := json.Unmarshal([]byte(strings.SplitN(r.stdout, "\n", 2)[0]), &row); err != nil || row.DocumentID != docID || row.Steps != 4 || len(row.TraceID) != 32 {
			t.Errorf("first row %+v (%v)", row, err)
		}
		_, r = runOK(t, env, "traces", "list", "--failed")
		mustContain(t, "--failed", r.stdout, "no document traces match")
		_, r = runOK(t, env, "traces", "list", "--slow", "1h")
		mustContain(t, "--slow", r.stdout, "no document traces match")
	})

	t.Run("traces show", func(t *testing.T) {
		_, r := runOK(t, env, "traces", "show", docID[:8])
		mustContain(t, "traces show", r.stdout, "synth-0001.pdf", "document  ", "status=ok", "├─ parse  ", "├─ chunk  ", "├─ extract  ", "└─ validate  ", "cache=miss")
		_, r = runOK(t, env, "traces", "show", "--json", "synth-0001.pdf")
		spans, err := tracing.ReadSpans(strings.NewReader(r.stdout))
		if err != nil || len(spans) != 5 {
			t.Fatalf("--json: %d spans, %v", len(spans), err)
		}
		var names []string
		for _, s := range spans {
			names = append(names, s.Name)
		}
		if got := strings.Join(names, " "); got != "document parse chunk extract validate" {
			t.Errorf("spans %s", got)
		}
		// A trace id finds its document too.
		_, r = runOK(t, env, "traces", "show", spans[0].TraceID.String())
		mustContain(t, "show by trace id", r.stdout, "synth-0001.pdf")
	})

	t.Run("lineage", func(t *testing.T) {
		_, r := runOK(t, env, "lineage", docID[:10], "invoice_number")
		_, rj := runOK(t, env, "lineage", "--json", docID, "invoice_number")
		var rep history.Lineage
		if err := json.Unmarshal([]byte(rj.stdout), &rep); err != nil {
			t.Fatal(err)
		}
		if len(rep.Chunks) == 0 || rep.Page == nil || rep.Page.Number != 1 || len(rep.Notes) > 0 {
			t.Fatalf("lineage: chunks %d, page %+v, notes %q", len(rep.Chunks), rep.Page, rep.Notes)
		}
		c := rep.Chunks[0]
		if c.ID != pipeline.ChunkID(docID, 1, c.FirstLine, c.LastLine) || !strings.Contains(history.Collapse(c.Text), "RE-20221127/3") {
			t.Errorf("chunk %+v", c)
		}
		if l := rep.Page.Lines; len(l) != 1 || !strings.Contains(l[0].Text, "RE-20221127/3") || l[0].Index < c.FirstLine || l[0].Index > c.LastLine {
			t.Errorf("page lines %+v", l)
		}
		mustContain(t, "lineage", r.stdout, `"RE-20221127/3"`, "grounded", "Rechnungsnr.", "page 1", "↑ validate", "↑ extract",
			rulesx.Version, "invoice@1#", "chunk "+c.ID, "↑ page 1", file, "sha256 "+docID, "the file still holds these bytes")

		_, r = runOK(t, env, "lineage", "synth-0001.pdf", "line_items[0].amount")
		mustContain(t, "lineage of a list element", r.stdout, "line_items[0].amount", `"2226.00"`, `raw "2.226,00"`, "↑ page 1", "holds the quote")
	})

	t.Run("usage errors", func(t *testing.T) {
		for _, args := range [][]string{
			{"lineage", docID, "no_such_field"},
			{"lineage", docID, "line_items[99].amount"},
			{"lineage", docID, "line_items[0].nope"},
			{"lineage", docID, "total amount"},
			{"lineage", "ffffffffff", "total_amount"},
			{"lineage", "abc", "total_amount"},
			{"lineage", "--run", "19990101", docID, "total_amount"},
			{"traces", "show", "0123456789abcdef"},
			{"traces", "list", "--run", "nope"},
			{"diff", runA, "nope"},
			{"diff", runA},
		} {
			if r := run(t, env, args...); r.code != 2 || !strings.HasPrefix(r.stderr, "extractor: ") {
				t.Errorf("%q: exit %d, stderr %q; want 2 and a message", args, r.code, r.stderr)
			}
		}
	})

	// An identical re-run comes from the cache: nothing changed.
	runB, _ := runOK(t, env, "run", testdataDir(t))
	t.Run("diff identical", func(t *testing.T) {
		_, r := runOK(t, env, "diff", runA, runB)
		mustContain(t, "diff", r.stdout, "nothing changed", "run B took 80 of 80 steps from the cache",
			"20 documents compared, 0 changed, 0 fields changed")
		_, r = runOK(t, env, "lineage", docID, "invoice_number")
		mustContain(t, "lineage of a cached run", r.stdout, "run "+runB, "cache hit (made by run "+runA+")")
	})

	// Another schema version re-runs extraction and validation, not
	// parsing; the diff names the schema.
	schema, err := os.ReadFile(filepath.Join("..", "..", "extract", "schemas", "invoice.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	v2 := filepath.Join(t.TempDir(), "invoice-v2.yaml")
	os.WriteFile(v2, []byte(strings.Replace(string(schema), `version: "1"`, `version: "2"`, 1)), 0o644)
	runC, _ := runOK(t, env, "run", "--schema", v2, testdataDir(t))
	t.Run("diff schema", func(t *testing.T) {
		_, r := runOK(t, env, "diff", runB, runC)
		mustContain(t, "diff", r.stdout, "schema     invoice@1#", "→ invoice@2#", "20 documents with the same results had upstream changes",
			"extract: input changed (schema)", "validate: input changed (extract output, schema)", "20 documents compared, 0 changed, 0 fields changed")
		if strings.Contains(r.stdout, "nothing changed") || strings.Contains(r.stdout, "parse:") {
			t.Errorf("diff:\n%s", r.stdout)
		}
		_, r = runOK(t, env, "diff", "--json", runB, runC)
		var d history.RunDiff
		if err := json.Unmarshal([]byte(r.stdout), &d); err != nil || len(d.Versions) != 1 || d.Versions[0].Key != "schema" || d.Compared != 20 {
			t.Errorf("--json: %+v (%v)", d, err)
		}
	})

	// Without the cache, lineage still explains what the records hold.
	t.Run("cache gone", func(t *testing.T) {
		os.RemoveAll(filepath.Join(env["EXTRACTOR_STATE"], "cache"))
		_, r := runOK(t, env, "lineage", "--run", runA, docID, "invoice_number")
		mustContain(t, "lineage without cache", r.stdout, "RE-20221127/3", "the chunk output is no longer in the cache",
			"the parse output is no longer in the cache", "sha256 "+docID)
	})
}

// An LLM run against the fake server: traces show the model call, lineage
// names the attempt whose answer was accepted, and diff names the changed
// extractor and model and the values that changed with them.
func TestReviewLLM(t *testing.T) {
	srv := llmtest.NewServer(t)
	srv.Chat(func(req llmtest.ChatRequest) llmtest.Reply {
		if req.Index == 1 {
			return llmtest.ToolCall("record_invoice", "{not json").Usage(1000, 50)
		}
		return llmtest.ToolCall("record_invoice", invoiceArgs(map[string][3]any{
			"invoice_number": {"RE-20221127/3", 1, "Rechnungsnr. RE-20221127/3"},
			"total_amount":   {"9.999,99 €", 1, "Gesamtbetrag 9.999,99 €"},
		})).Usage(1100, 80)
	})
	env := map[string]string{"EXTRACTOR_STATE": t.TempDir()}
	file := sample(t, "synth-0001.pdf")
	docID := fileSum(t, file)
	rules, _ := runOK(t, env, "run", file)
	llm, _ := runOK(t, env, "run", "--llm-base-url", srv.URL+"/v1", "--llm-model", "gpt-4o-mini", file)

	_, r := runOK(t, env, "traces", "list")
	mustContain(t, "traces list", r.stdout, "run "+llm, "2100/130", "  2  ")
	_, r = runOK(t, env, "traces", "show", docID[:6])
	mustContain(t, "traces show", r.stdout, "chat gpt-4o-mini", "attempt=1", "attempt=2", "finish=", "tokens=1100/80", "extract_second")

	_, r = runOK(t, env, "lineage", docID, "invoice_number")
	mustContain(t, "lineage", r.stdout, "extractor llm", "model gpt-4o-mini", "accepted attempt 2 of 2", "response chatcmpl-fake-2",
		"tokens 1100/80", "prompt    ", "↑ second", "second opinion agrees", "↑ page 1")

	_, r = runOK(t, env, "diff", rules, llm)
	rv := rulesx.New(rulesx.Config{}).Version()
	// With e-invoices on (the default) the text extractor leads the
	// extractor's version; the sample carries no e-invoice.
	mustContain(t, "diff rules → llm", r.stdout, "extractor  "+rv+" einvoice=prefer (einvoice/1", " → llm/1 ", "prompt ", "synth-0001.pdf",
		`total_amount: "8529.18 EUR" → "9999.99 EUR" (grounded → not grounded)`, `vendor_name: removed (was "Richter Gebäudereinigung e.K.")`,
		"extract: "+rv+" einvoice=prefer", "extract_second: ran in B only ("+rv+")", "1 documents compared, 1 changed")

	other, _ := runOK(t, env, "run", "--llm-base-url", srv.URL+"/v1", "--llm-model", "gpt-4.1-mini", file)
	_, r = runOK(t, env, "diff", llm, other)
	mustContain(t, "diff between models", r.stdout, "model      gpt-4o-mini → gpt-4.1-mini", "extractor  llm/1 model=gpt-4o-mini → gpt-4.1-mini",
		"extract: llm/1 model=gpt-4o-mini → gpt-4.1-mini; output changed; cache miss")
}

// The hints make demo ends with work as printed: each command on its last
// line runs, after the run the demo makes.
func TestDemoHintsWork(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "scripts", "demo.sh"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`Runs, traces and lineage: ([^\\']+)`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no hint line in scripts/demo.sh")
	}
	env := map[string]string{"EXTRACTOR_STATE": t.TempDir()}
	runOK(t, env, "run", "--format", "table", testenv.Testdata(t, "invoices"))
	for _, hint := range strings.Split(string(m[1]), ";") {
		args := strings.Fields(strings.TrimPrefix(strings.TrimSpace(hint), "bin/extractor "))
		if r := run(t, env, args...); r.code != 0 {
			t.Errorf("hint %q: exit %d: %s", hint, r.code, r.stderr)
		}
	}
}
