package pdf

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/extractor-dev/extractor/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestGolden pins the parser's output on the bundled sample invoices: the
// page text (testdata/golden/NAME.txt) and, for one document, the lines
// with their positions (NAME.json). Review the diff after a deliberate
// change and run `go test ./extract/pdf -run TestGolden -update`.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob(testenv.Testdata(t, "invoices", "files", "synth", "*.pdf"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no sample invoices: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".pdf")
		t.Run(name, func(t *testing.T) {
			doc, err := ParseFile(context.Background(), f, Options{})
			if err != nil {
				t.Fatal(err)
			}
			compareGolden(t, filepath.Join("testdata", "golden", name+".txt"), []byte(doc.Text()+"\n"))
			if name == "synth-0001" {
				doc.Source = ""
				js, _ := json.MarshalIndent(doc.Pages, "", " ")
				compareGolden(t, filepath.Join("testdata", "golden", name+".json"), append(js, '\n'))
			}
		})
	}
}

func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from the parser's output (run with -update after reviewing):\n%s", path, firstDiff(string(want), string(got)))
	}
}

func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\n want %q\n got  %q", i+1, w, g)
		}
	}
	return ""
}
