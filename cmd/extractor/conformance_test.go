//go:build conformance

package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/extractor-dev/extractor/internal/testenv"
)

// TestConformance runs `extractor run` against a real OpenAI-compatible
// server: llama.cpp's llama-server with a tiny random-weight model (see
// scripts/conformance.sh). Its tool-call arguments are schema-valid
// nonsense, so this proves the protocol, not quality: every document must
// complete, usage must be counted, and no value may be accepted as
// grounded.
func TestConformance(t *testing.T) {
	url := os.Getenv("EXTRACTOR_CONFORMANCE_URL")
	if url == "" {
		t.Fatal("EXTRACTOR_CONFORMANCE_URL is not set: run `make conformance`")
	}
	out := os.Getenv("EXTRACTOR_CONFORMANCE_OUT")
	if out == "" {
		out = filepath.Join(t.TempDir(), "results.jsonl")
	}
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	// The server has 4096-token slots; a slow CPU model needs a long
	// timeout; bounded strings make its grammar close every string.
	os.WriteFile(cfg, []byte("llm:\n  context_tokens: 4096\n  max_output_tokens: 1280\n  timeout: 10m\n  max_attempts: 3\n  bounded: true\n"), 0o644)
	samples := testenv.Testdata(t, "invoices")
	r := run(t, nil, "run", "--config", cfg, "--extractor", "llm", "--llm-base-url", url, "--llm-model", "tiny-qwen",
		"--concurrency", "2", "--out", out, samples)
	t.Logf("exit %d\n%s", r.code, r.stderr)

	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	docs := 0
	for sc.Scan() {
		docs++
		var rec struct {
			File   string `json:"file"`
			Status string `json:"status"`
			Error  string `json:"error"`
			Fields map[string]struct {
				Value, Raw string
				Grounded   bool
			} `json:"fields"`
			LineItems []struct {
				Grounded bool `json:"grounded"`
			} `json:"line_items"`
			Usage struct {
				InputTokens  int `json:"input_tokens"`
				OutputTokens int `json:"output_tokens"`
				Attempts     int `json:"attempts"`
			} `json:"usage"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("line %d: %v", docs, err)
		}
		name := filepath.Base(rec.File)
		if rec.Status != "ok" {
			t.Errorf("%s: status %s: %s", name, rec.Status, rec.Error)
		}
		if rec.Usage.Attempts < 1 || rec.Usage.InputTokens <= 0 || rec.Usage.OutputTokens <= 0 {
			t.Errorf("%s: usage not counted: %+v", name, rec.Usage)
		}
		found := 0
		for field, v := range rec.Fields {
			if v.Raw == "" && v.Value == "" {
				continue
			}
			found++
			if v.Grounded {
				t.Errorf("%s: %s = %q accepted as grounded: the model's values are nonsense", name, field, v.Raw)
			}
		}
		for i, it := range rec.LineItems {
			if it.Grounded {
				t.Errorf("%s: line item %d accepted as grounded", name, i)
			}
		}
		t.Logf("%s: %s, %d values (all ungrounded), %d+%d tokens in %d attempts", name, rec.Status, found,
			rec.Usage.InputTokens, rec.Usage.OutputTokens, rec.Usage.Attempts)
	}
	if want := len(strings.Fields(listSamples(t, samples))); docs != want {
		t.Errorf("%d results for %d documents", docs, want)
	}
}

func listSamples(t *testing.T, dir string) string {
	files, _ := documentFiles([]string{dir})
	return strings.Join(files, " ")
}
