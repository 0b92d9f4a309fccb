package pdf

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/extractor-dev/extractor/internal/testenv"
	"github.com/extractor-dev/extractor/pipeline"
)

// TestMain lets the test binary act as the isolation child.
func TestMain(m *testing.M) {
	if spec := os.Getenv(drillWorkerEnv); spec != "" {
		os.Exit(runDrillWorker(spec))
	}
	if os.Getenv("EXTRACTOR_PDF_TEST_CHILD") == "1" {
		os.Exit(ServeChild(os.Stdin, os.Stdout))
	}
	if os.Getenv("EXTRACTOR_PDF_TEST_CHILD") == "crash-marker" {
		// A child that serves requests until one holds crashMarker, then
		// dies as a hostile file can make it die.
		os.Exit(ServeChild(crashReader{os.Stdin}, os.Stdout))
	}
	if os.Getenv("EXTRACTOR_PDF_TEST_CHILD") == "hang" {
		time.Sleep(time.Hour) // a child that never answers
	}
	if os.Getenv("EXTRACTOR_PDF_TEST_CHILD") == "crash" {
		debug.SetMaxStack(ChildMaxStack) // as ServeChild does
		var f func(int) int
		f = func(n int) int { return f(n+1) + 1 } // exhausts the stack: fatal, unrecoverable
		f(0)
	}
	os.Exit(m.Run())
}

// testIsolation runs this test binary as the child.
func testIsolation(t *testing.T, mode string) Isolation {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("EXTRACTOR_PDF_TEST_CHILD", mode)
	return Isolation{Command: []string{exe}}
}

type hostileRow struct {
	ID       string   `json:"id"`
	File     string   `json:"file"`
	Expect   string   `json:"expect"`
	Also     []string `json:"also_acceptable"`
	Password string   `json:"password"`
}

func readHostile(t *testing.T) (string, []hostileRow) {
	dir := filepath.Join(testenv.CorpusDir(t), "hostile")
	f, err := os.Open(filepath.Join(dir, "dataset.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []hostileRow
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r hostileRow
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	return dir, rows
}

// outcome names a parse result in the corpus's vocabulary.
func outcome(doc pipeline.Document, err error) string {
	switch {
	case err == nil && doc.TextPages() > 0:
		return "ok"
	case errors.Is(err, ErrNoText):
		return "no_text_layer"
	case errors.Is(err, ErrEncrypted):
		return "error: encrypted, needs password"
	case errors.Is(err, ErrMalformed):
		return "error: malformed"
	case errors.Is(err, ErrTooLarge):
		return "error: too large"
	}
	return "unexpected: " + errString(err)
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func acceptable(r hostileRow, got string) bool {
	if got == r.Expect || slices.Contains(r.Also, got) {
		return true
	}
	// "ok: large" means: process it within the limits, or refuse cleanly.
	return r.Expect == "ok: large" && (got == "ok" || got == "error: too large")
}

// Every hostile file gives its expected outcome, in process and in a child
// process, without a panic and within the time limit.
func TestHostileCorpus(t *testing.T) {
	dir, rows := readHostile(t)
	iso := testIsolation(t, "1")
	// One child of a pool parses one file after the other, the hostile
	// ones included: each gets the outcome it gets on its own.
	pool := NewPool(PoolConfig{Command: iso.Command, Size: 1})
	defer pool.Close()
	const limit = 5 * time.Minute // a hang guard: the outcome, not the time, is the verdict
	for _, r := range rows {
		t.Run(r.ID, func(t *testing.T) {
			path := filepath.Join(dir, r.File)
			for _, mode := range []string{"in-process", "isolated", "pooled"} {
				var doc pipeline.Document
				var err error
				switch mode {
				case "isolated":
					doc, err = iso.ParseFile(context.Background(), path, Options{Timeout: limit})
				case "pooled":
					doc, err = pool.ParseFile(context.Background(), path, Options{Timeout: limit})
				default:
					doc, err = ParseFile(context.Background(), path, Options{Timeout: limit})
				}
				if got := outcome(doc, err); !acceptable(r, got) {
					t.Errorf("%s: outcome %q (err %v), want %q or one of %q", mode, got, err, r.Expect, r.Also)
				}
			}
		})
	}
}

// Encrypted files open with their password, except where the library
// cannot decrypt (AES-256, and 40-bit RC4, which it decrypts wrongly):
// those must still say "encrypted", never pretend to have no text.
func TestHostileCorpusWithPasswords(t *testing.T) {
	dir, rows := readHostile(t)
	unsupported := map[string]bool{
		"pdfminer-encryption-aes-256":    true,
		"pdfminer-encryption-aes-256-r6": true,
		"pdfminer-encryption-rc4-40":     true,
	}
	for _, r := range rows {
		if r.Password == "" {
			continue
		}
		t.Run(r.ID, func(t *testing.T) {
			doc, err := ParseFile(context.Background(), filepath.Join(dir, r.File), Options{Password: r.Password, Timeout: 5 * time.Minute})
			if unsupported[r.ID] {
				if !errors.Is(err, ErrEncrypted) {
					t.Errorf("err = %v, want ErrEncrypted (unsupported by the library)", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("with password: %v", err)
			}
			if text := doc.Text(); !strings.Contains(text, "Secret!") && !strings.Contains(text, "Hello World") {
				t.Errorf("decrypted text = %q", text)
			}
			// And a wrong password is an encryption error, not malformed.
			_, err = ParseFile(context.Background(), filepath.Join(dir, r.File), Options{Password: "wrong"})
			if !errors.Is(err, ErrEncrypted) {
				t.Errorf("wrong password: err = %v, want ErrEncrypted", err)
			}
		})
	}
}

func TestIsolationParses(t *testing.T) {
	iso := testIsolation(t, "1")
	data := onePage("BT /F1 12 Tf 72 700 Td (Hello World) Tj ET")
	doc, err := iso.ParseBytes(context.Background(), data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := parse(t, data, Options{})
	if doc.ID != want.ID || doc.Text() != want.Text() || len(doc.Pages[0].Lines) != 1 {
		t.Errorf("isolated parse = %+v, want %+v", doc, want)
	}
	// Typed errors survive the process boundary.
	_, err = iso.ParseBytes(context.Background(), []byte("not a pdf"), Options{})
	if !errors.Is(err, ErrMalformed) {
		t.Errorf("err = %v, want ErrMalformed", err)
	}
	_, err = iso.ParseBytes(context.Background(), onePage("0 0 m 1 1 l S"), Options{})
	if !errors.Is(err, ErrNoText) {
		t.Errorf("err = %v, want ErrNoText", err)
	}
}

func TestIsolationKillsHungChild(t *testing.T) {
	iso := testIsolation(t, "hang")
	_, err := iso.ParseBytes(context.Background(), onePage(""), Options{Timeout: 100 * time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want a deadline error", err)
	}
}

func TestIsolationReportsCrash(t *testing.T) {
	iso := testIsolation(t, "crash")
	_, err := iso.ParseBytes(context.Background(), onePage(""), Options{Timeout: 5 * time.Minute})
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "stack") {
		t.Errorf("err = %v, want ErrMalformed naming the stack overflow", err)
	}
}
