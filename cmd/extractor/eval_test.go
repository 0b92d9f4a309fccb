package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/extractor-dev/extractor/evals"
	"github.com/extractor-dev/extractor/internal/llmtest"
	"github.com/extractor-dev/extractor/internal/testenv"
)

// The eval over the samples with the rules extractor makes a baseline; the
// same run passes a gate against it; a deliberately worse extractor (an
// LLM that reads every total wrong) fails it with exit code 3.
func TestEvalBaselineAndGate(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"EXTRACTOR_STATE": filepath.Join(dir, "state")}
	dataset := testenv.Testdata(t, "invoices")
	base := filepath.Join(dir, "base.json")
	_, r := runOK(t, env, "eval", "--dataset", dataset, "--extractor", "rules", "--out", base)
	mustContain(t, "eval", r.stdout, "20 documents in 6 groups", "straight-through rate", "1.000  [1.000, 1.000]", "total_amount", "runs: [")

	data, err := os.ReadFile(base)
	if err != nil {
		t.Fatal(err)
	}
	var rep evals.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Version != evals.ReportVersion || len(rep.Documents) != 20 || rep.Business.StraightThrough.Value != 1 || len(rep.Runs) != 1 ||
		rep.Versions["extractor"] == "" {
		t.Fatalf("report: version %d, %d documents, %+v, runs %v, versions %v", rep.Version, len(rep.Documents),
			rep.Business.StraightThrough, rep.Runs, rep.Versions)
	}
	for _, d := range rep.Documents {
		if len(d.TraceID) != 32 || len(d.DocumentID) != 64 || d.RunID != rep.Runs[0] {
			t.Errorf("document %s: trace %q document %q run %q", d.ID, d.TraceID, d.DocumentID, d.RunID)
		}
	}

	gate := filepath.Join(dir, "gate.yaml")
	os.WriteFile(gate, []byte("min_straight_through: 0.9\nmax_field_drop: 0.0\nmax_metric_drop: {hallucination_rate: 0.0}\n"), 0o644)
	fields := filepath.Join(dir, "fields.csv")
	_, r = runOK(t, env, "eval", "--dataset", dataset, "--extractor", "rules", "--baseline", base, "--gate", gate, "--csv", fields)
	mustContain(t, "eval against the baseline", r.stdout, "compared with", "0 values read differently", "passed")
	f, _ := os.Open(fields)
	recs, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(recs) != 1+rep.Metrics.Values || recs[0][7] != "path" {
		t.Errorf("csv: %d records (want %d), %v", len(recs), 1+rep.Metrics.Values, err)
	}

	// A worse extractor: right vendor, number and date, every total wrong.
	srv := llmtest.NewServer(t)
	srv.Chat(func(req llmtest.ChatRequest) llmtest.Reply {
		return llmtest.ToolCall("record_invoice", invoiceArgs(map[string][3]any{
			"total_amount": {"1.00", 1, "1.00"},
		})).Usage(1000, 100)
	})
	llm := map[string]string{"EXTRACTOR_STATE": env["EXTRACTOR_STATE"], "EXTRACTOR_LLM_BASE_URL": srv.URL + "/v1", "EXTRACTOR_LLM_MODEL": "gpt-4o-mini"}
	r = run(t, llm, "eval", "--dataset", dataset, "--baseline", base, "--gate", gate, "--out", filepath.Join(dir, "worse.json"))
	if r.code != 3 {
		t.Fatalf("a worse run: exit %d, want 3\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	mustContain(t, "worse eval", r.stdout, "FAILED", "straight_through is 0.0000, below the minimum 0.9000",
		"total_amount accuracy dropped from 1.0000 to 0.0000", "now wrong")
	mustContain(t, "worse eval", r.stderr, "the gate failed")
	data, _ = os.ReadFile(filepath.Join(dir, "worse.json"))
	var worse evals.Report
	if err := json.Unmarshal(data, &worse); err != nil || worse.Gate == nil || worse.Gate.Passed || worse.Baseline == nil ||
		len(worse.Baseline.Changed) < 20 || worse.Business.CostPerDocument <= 0 {
		t.Errorf("worse report: %v gate %+v", err, worse.Gate)
	}

	// Usage errors: exit 2.
	for _, args := range [][]string{
		{"eval", "--dataset", dataset, "--gate", gate}, // drops without a baseline
		{"eval", "--dataset", dataset, "--baseline", filepath.Join(dir, "none.json")},
		{"eval", "--dataset", dataset, "--repeat", "0"},
		{"eval", "--dataset", dataset, "--threshold", "2"},
	} {
		if r := run(t, env, args...); r.code != 2 {
			t.Errorf("%v: exit %d (%s)", args[3:], r.code, r.stderr)
		}
	}
}

// --repeat runs every document again without the cache and reports how
// much the results vary.
func TestEvalRepeat(t *testing.T) {
	srv := llmtest.NewServer(t)
	srv.Chat(func(req llmtest.ChatRequest) llmtest.Reply {
		total := "8529.18"
		if req.Index%2 == 0 {
			total = "1.00"
		}
		return llmtest.ToolCall("record_invoice", invoiceArgs(map[string][3]any{"total_amount": {total, 1, total}}))
	})
	env := map[string]string{"EXTRACTOR_LLM_BASE_URL": srv.URL + "/v1", "EXTRACTOR_LLM_MODEL": "m"}
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "files", "synth"), 0o755)
	data, _ := os.ReadFile(filepath.Join(testenv.Testdata(t, "invoices"), "dataset.jsonl"))
	first := strings.SplitN(string(data), "\n", 2)[0]
	os.WriteFile(filepath.Join(dir, "dataset.jsonl"), []byte(first+"\n"), 0o644)
	pdf, _ := os.ReadFile(sample(t, "synth-0001.pdf"))
	os.WriteFile(filepath.Join(dir, "files", "synth", "synth-0001.pdf"), pdf, 0o644)
	out := filepath.Join(dir, "r.json")
	_, r := runOK(t, env, "eval", "--dataset", dir, "--repeat", "3", "--out", out)
	mustContain(t, "repeat", r.stdout, "3 repeats", "over 3 repeats")
	if n := len(srv.Requests()); n != 3 {
		t.Errorf("%d model calls for 3 repeats of one document", n)
	}
	b, _ := os.ReadFile(out)
	var rep evals.Report
	json.Unmarshal(b, &rep)
	if rep.Repeats != 3 || len(rep.Documents) != 3 || rep.Variance == nil || rep.Variance.Agreement["total_amount"] != 0 || len(rep.Runs) != 3 {
		t.Errorf("repeats %d, %d documents, variance %+v, runs %v", rep.Repeats, len(rep.Documents), rep.Variance, rep.Runs)
	}
}
