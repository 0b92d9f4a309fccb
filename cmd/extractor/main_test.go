package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"testing"

	"github.com/extractor-dev/extractor/evals"
	"github.com/extractor-dev/extractor/extract/pdf"
	"github.com/extractor-dev/extractor/internal/testenv"
	"github.com/extractor-dev/extractor/pipeline"
)

// The test binary doubles as the isolated parser child, as the real binary
// does.
func TestMain(m *testing.M) {
	if len(os.Args) == 2 && os.Args[1] == childArg {
		os.Exit(pdf.ServeChild(os.Stdin, os.Stdout))
	}
	if os.Getenv(asCLIEnv) == "1" { // the CLI as a process of its own, to kill -9
		// SIGTERM stops it as a first Ctrl-C stops the real binary.
		m := NewMain()
		stop := make(chan struct{})
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGTERM)
		go func() { <-sigs; close(stop) }()
		m.Stop = stop
		stopProfile := cpuProfile(os.Getenv(cpuProfileEnv))
		code := m.Run(context.Background(), os.Args[1:])
		stopProfile()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// asCLIEnv makes the test binary run the CLI with its arguments.
const asCLIEnv = "EXTRACTOR_TEST_AS_CLI"

// cpuProfileEnv names the file the CLI run by the test binary writes its
// CPU profile to (the queue measure's -queue-cpuprofile).
const cpuProfileEnv = "EXTRACTOR_TEST_CPUPROFILE"

// cpuProfile starts a CPU profile into path (none when path is empty) and
// returns what stops it.
func cpuProfile(path string) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

type result struct {
	code           int
	stdout, stderr string
}

func run(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if _, ok := env["EXTRACTOR_STATE"]; !ok {
		// Each run gets a state directory of its own unless the test
		// shares one on purpose: never the source tree.
		env = maps.Clone(env)
		if env == nil {
			env = map[string]string{}
		}
		env["EXTRACTOR_STATE"] = t.TempDir()
	}
	m := &Main{
		Stdin:  strings.NewReader(""),
		Stdout: &stdout, Stderr: &stderr,
		Getenv:       func(k string) string { return env[k] },
		ChildCommand: []string{exe, childArg},
	}
	code := m.Run(context.Background(), args)
	return result{code, stdout.String(), stderr.String()}
}

func sample(t *testing.T, name string) string {
	return testenv.Testdata(t, "invoices", "files", "synth", name)
}

func TestParsePrintsText(t *testing.T) {
	r := run(t, nil, "parse", sample(t, "synth-0001.pdf"))
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	for _, want := range []string{"RE-20221127/3", "Richter Gebäudereinigung e.K."} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
}

// One broken file never stops the batch: it gets a one-line reason on
// stderr, the others are parsed, and the exit code says something failed.
func TestParseBatchSurvivesBadFiles(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile(sample(t, "synth-0002.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"a-good.pdf":      good,
		"b-broken.pdf":    []byte("%PDF-1.4\nthis is not really a pdf\n"),
		"c-truncated.pdf": good[:len(good)/3],
		"d-good.pdf":      good,
		"notes.txt":       []byte("not a pdf, not picked up"),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := run(t, nil, "parse", "--summary", dir)
	if r.code != 1 {
		t.Errorf("exit %d, want 1", r.code)
	}
	errLines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if len(errLines) != 2 || !strings.Contains(errLines[0], "b-broken.pdf: pdf: malformed") || !strings.Contains(errLines[1], "c-truncated.pdf: pdf: malformed") {
		t.Errorf("stderr = %q, want one line per broken file with its reason", r.stderr)
	}
	for _, want := range []string{"a-good.pdf", "d-good.pdf", "FAILED: pdf: malformed", "4 documents, 2 failed"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "notes.txt") {
		t.Errorf("non-PDF file was parsed")
	}
}

func TestParseJSON(t *testing.T) {
	path := sample(t, "synth-0004.pdf")
	r := run(t, nil, "parse", "--json", path, sample(t, "synth-0005.pdf"))
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	sc.Buffer(nil, 1<<24)
	var docs []pipeline.Document
	for sc.Scan() {
		var d pipeline.Document
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("line is not a document: %v", err)
		}
		docs = append(docs, d)
	}
	if len(docs) != 2 {
		t.Fatalf("%d documents, want 2 (one JSON object per line)", len(docs))
	}
	data, _ := os.ReadFile(path)
	sum := sha256.Sum256(data)
	d := docs[0]
	if d.ID != hex.EncodeToString(sum[:]) || d.Source != path || d.Parser != pdf.Version {
		t.Errorf("document header = %s %s %s", d.ID, d.Source, d.Parser)
	}
	if len(d.Pages) != 2 || d.Pages[1].Number != 2 || d.Pages[0].Status != pipeline.PageText {
		t.Fatalf("pages = %d", len(d.Pages))
	}
	l := d.Pages[0].Lines[0]
	if l.Text == "" || l.Box.X1 <= l.Box.X0 || l.Box.Y1 <= l.Box.Y0 || l.Box.X1 > d.Pages[0].Width {
		t.Errorf("first line %+v lacks a sane position", l)
	}
}

func TestParseInProcess(t *testing.T) {
	r := run(t, nil, "parse", "--isolate=false", "--summary", sample(t, "synth-0003.pdf"))
	if r.code != 0 || !strings.Contains(r.stdout, "1 documents, 0 failed") {
		t.Errorf("exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestParsePassword(t *testing.T) {
	file := filepath.Join(testenv.CorpusDir(t), "hostile", "files", "pdfminer", "aes-128.pdf")
	r := run(t, nil, "parse", file)
	if r.code != 1 || !strings.Contains(r.stderr, "encrypted, needs password") {
		t.Errorf("without password: exit %d, stderr %q", r.code, r.stderr)
	}
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("baz\n"), 0o600)
	if r := run(t, nil, "parse", "--password-file", pw, file); r.code != 0 || strings.TrimSpace(r.stdout) != "Secret!" {
		t.Errorf("--password-file: exit %d, out %q, err %q", r.code, r.stdout, r.stderr)
	}
	if r := run(t, map[string]string{"EXTRACTOR_PDF_PASSWORD": "baz"}, "parse", file); r.code != 0 || strings.TrimSpace(r.stdout) != "Secret!" {
		t.Errorf("EXTRACTOR_PDF_PASSWORD: exit %d, out %q, err %q", r.code, r.stdout, r.stderr)
	}
}

func TestUsageErrors(t *testing.T) {
	tests := [][]string{
		{"parse"},
		{"parse", "--json", "--summary", "x.pdf"},
		{"parse", "--no-such-flag", "x.pdf"},
		{"parse", "/no/such/file.pdf"},
		{"synth"},
		{"synth", "--out", "x", "--count", "0"},
		{"no-such-command"},
	}
	for _, args := range tests {
		r := run(t, nil, args...)
		if r.code != 2 || !strings.HasPrefix(r.stderr, "extractor: ") {
			t.Errorf("%q: exit %d, stderr %q; want 2 and a message", args, r.code, r.stderr)
		}
	}
}

func TestSynthWritesADataset(t *testing.T) {
	dir := t.TempDir()
	r := run(t, nil, "synth", "--out", dir, "--count", "3", "--seed", "7")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	d, err := evals.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Rows) != 3 || d.Rows[0].Schema != evals.SchemaInvoice {
		t.Errorf("rows = %+v", d.Rows)
	}
	if r := run(t, nil, "parse", "--summary", dir); r.code != 0 {
		t.Errorf("generated files do not parse: %s%s", r.stdout, r.stderr)
	}
}
