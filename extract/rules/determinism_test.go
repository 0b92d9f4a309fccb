package rules

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/extractor-dev/extractor/extract"
	"github.com/extractor-dev/extractor/extract/pdf"
	"github.com/extractor-dev/extractor/internal/synth"
	"github.com/extractor-dev/extractor/internal/testenv"
	"github.com/extractor-dev/extractor/pipeline"
)

// readTwice extracts doc three times (long documents twice) without any
// cache, each time with the
// checks, and fails when the results (or the explanations) differ in any
// byte: every choice must be made by a total order, never by map order or
// ties.
func readTwice(t *testing.T, name string, doc pipeline.Document, s pipeline.Schema) {
	t.Helper()
	var first, firstExplain []byte
	runs := 3
	if len(doc.Pages) > 50 {
		runs = 2 // long documents: twice is enough, and quicker
	}
	for i := range runs {
		e := New(Config{})
		x, err := e.Extract(context.Background(), doc, s)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		x = extract.Checks{}.Validate(doc, s, x, nil)
		b, _ := json.Marshal(x)
		ex, _ := json.Marshal(e.Explain(doc, s))
		if i == 0 {
			first, firstExplain = b, ex
			continue
		}
		if !bytes.Equal(b, first) {
			t.Errorf("%s: run %d read differently:\n%s\nvs\n%s", name, i+1, first, b)
			return
		}
		if !bytes.Equal(ex, firstExplain) {
			t.Errorf("%s: run %d explained differently", name, i+1)
			return
		}
	}
}

// pdfsUnder lists the PDFs under dir, sorted.
func pdfsUnder(t testing.TB, dir string) []string {
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.EqualFold(filepath.Ext(p), ".pdf") {
			out = append(out, p)
		}
		return nil
	})
	sort.Strings(out)
	return out
}

// TestDeterministicCorpus reads every PDF of the shared corpus (public,
// hostile that parse, and, without -short, the long documents) several
// times and requires identical output. It skips without the corpus.
func TestDeterministicCorpus(t *testing.T) {
	corpus := testenv.CorpusDir(t)
	s, err := extract.Builtin("invoice")
	if err != nil {
		t.Fatal(err)
	}
	dirs := []string{"public", "hostile"}
	if !testing.Short() {
		dirs = append(dirs, "longdocs")
	}
	n := 0
	for _, d := range dirs {
		for _, f := range pdfsUnder(t, filepath.Join(corpus, d)) {
			doc, err := pdf.ParseFile(context.Background(), f, pdf.Options{})
			if err != nil && len(doc.Pages) == 0 {
				continue // encrypted, malformed: nothing to read
			}
			readTwice(t, filepath.Base(f), doc, s)
			n++
		}
	}
	t.Logf("%d documents read identically on every run", n)
}

// TestDeterministicSynthetic does the same on the committed samples and a
// fresh set of every synthetic layout.
func TestDeterministicSynthetic(t *testing.T) {
	s, err := extract.Builtin("invoice")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := synth.Generate(dir, synth.Options{Seed: 11, Count: 2 * synth.NumLayouts(synth.SetWide), Noise: true, Set: synth.SetWide}); err != nil {
		t.Fatal(err)
	}
	files := append(pdfsUnder(t, filepath.Join("..", "..", "testdata", "invoices")), pdfsUnder(t, dir)...)
	for _, f := range files {
		doc, err := pdf.ParseFile(context.Background(), f, pdf.Options{})
		if err != nil {
			t.Fatal(err)
		}
		readTwice(t, filepath.Base(f), doc, s)
	}
}
