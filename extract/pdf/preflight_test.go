package pdf

import (
	"bytes"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/extractor-dev/extractor/internal/testenv"
)

// hostileSizes are files whose numbers would make the library allocate
// far more memory than they justify; each must be refused as malformed
// before the library sees the number. Without preflight each one kills
// the process with "fatal error: out of memory", which recover cannot
// catch.
func hostileSizes(t *testing.T) map[string][]byte {
	catalog := []string{"<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [] /Count 0 >>"}
	bomb := func() string {
		var z bytes.Buffer
		w := zlib.NewWriter(&z)
		// One string token of 66 MiB: the library's lexer holds a whole
		// token in memory, and the compressed file is 64 KiB.
		w.Write([]byte("("))
		run := bytes.Repeat([]byte("a"), 1<<20)
		for i := 0; i < (maxObjStmBytes>>20)+2; i++ {
			w.Write(run)
		}
		w.Close()
		return z.String()
	}
	cases := map[string][]byte{
		"xref stream /Size":       buildXrefStreamPDF(catalog, nil, "/Size 2147483647"),
		"xref stream /Index":      buildXrefStreamPDF(catalog, nil, "/Index [2147483000 3]"),
		"xref stream /W":          bytes.Replace(buildXrefStreamPDF(catalog, nil, ""), []byte("/W [1 4 2]"), []byte("/W [1 2147483647 2]"), 1),
		"xref stream /Columns":    buildXrefStreamPDF(catalog, nil, "/DecodeParms << /Predictor 12 /Columns 2147483647 >>"),
		"xref table subsection":   bytes.Replace(buildPDF(catalog, ""), []byte("xref\n0 3\n"), []byte("xref\n2147483000 3\n"), 1),
		"object stream /N":        buildXrefStreamPDF(append(catalog, "objstm:/N 9223372036854775807 /First 1| "), nil, ""),
		"object stream /Columns":  buildXrefStreamPDF(append(catalog, "objstm:/N 1 /First 4 /Filter /FlateDecode /DecodeParms << /Predictor 12 /Columns 2147483647 >>| "), nil, ""),
		"object stream bomb":      buildXrefStreamPDF(append(catalog, "objstm:/N 1 /First 4 /Filter /FlateDecode|"+bomb()), nil, ""),
		"content stream /Columns": onePageColumns(),
	}
	// Found by the mutation drill: an object stream listed inside another
	// one (here in a cycle) made the library recurse until the stack
	// limit, a fatal error.
	cases["object stream in an object stream"] = buildXrefStreamPDF([]string{
		"<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
	}, map[int]xrefEntry{3: {Type: 2, Stream: 4}, 4: {Type: 2, Stream: 5}, 5: {Type: 2, Stream: 4}}, "")
	data, err := os.ReadFile(testenv.Testdata(t, "regressions", "xref-stream-size-2147483647.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	cases["regression xref-stream-size-2147483647.pdf"] = data
	return cases
}

// onePageColumns is a page whose content stream asks for a PNG predictor
// with 2^31 columns (the library allocates two rows of that many bytes
// when the stream is read).
func onePageColumns() []byte {
	var z bytes.Buffer
	w := zlib.NewWriter(&z)
	w.Write([]byte("BT /F1 12 Tf 72 700 Td (x) Tj ET"))
	w.Close()
	return buildPDF([]string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
		helvetica,
		fmt.Sprintf("<< /Length %d /Filter /FlateDecode /DecodeParms 6 0 R >>\nstream\n%s\nendstream", z.Len(), z.Bytes()),
		"<< /Predictor 12 /Columns 2147483647 >>",
	}, "")
}

// In process: the file is refused (malformed, or too large for the
// predictor of a content stream, which only loses that page) and the
// process lives. Each case runs only after preflight (or, for the content
// stream, readStream's own check) is seen to refuse it, so a regression
// fails the test instead of killing the test binary.
func TestParseRefusesHostileSizesInProcess(t *testing.T) {
	for name, data := range hostileSizes(t) {
		t.Run(name, func(t *testing.T) {
			if name != "content stream /Columns" {
				v, err := viewOf(data)
				if err != nil {
					t.Fatal(err)
				}
				if err := preflight(v.data); !errors.Is(err, ErrMalformed) {
					t.Fatalf("preflight = %v, want ErrMalformed (not parsing in process: it would kill the test binary)", err)
				}
			}
			doc, err := parse(t, data, Options{})
			if name == "content stream /Columns" {
				if !errors.Is(err, ErrMalformed) || len(doc.Pages) != 1 || !strings.Contains(doc.Pages[0].Error, "Columns") {
					t.Fatalf("err = %v, pages %+v: want the page failed over its /Columns", err, doc.Pages)
				}
				return
			}
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
			if _, err := PageCount(context.Background(), data, Options{}); !errors.Is(err, ErrMalformed) {
				t.Fatalf("PageCount: err = %v, want ErrMalformed", err)
			}
		})
	}
}

// Isolated, with the child's default memory cap, far below what these
// files ask for: the child answers ErrMalformed itself rather than dying
// of its cap (which would read as ErrTooLarge). The cap cannot be much
// lower: the Go runtime reserves about 1 GiB of address space at start.
func TestParseRefusesHostileSizesIsolated(t *testing.T) {
	iso := testIsolation(t, "1")
	for name, data := range hostileSizes(t) {
		t.Run(name, func(t *testing.T) {
			_, err := iso.ParseBytes(context.Background(), data, Options{})
			if !errors.Is(err, ErrMalformed) || strings.Contains(err.Error(), "crashed") {
				t.Fatalf("err = %v, want ErrMalformed from the child", err)
			}
			if name == "content stream /Columns" {
				return // counting pages reads no content
			}
			if _, err := iso.PageCount(context.Background(), data, Options{}); !errors.Is(err, ErrMalformed) {
				t.Fatalf("PageCount: err = %v, want ErrMalformed", err)
			}
		})
	}
}

// Valid files with large but justified numbers still open.
func TestPreflightAcceptsRealFiles(t *testing.T) {
	objs := []string{"<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
		helvetica, "stream:BT /F1 12 Tf 72 700 Td (Streams) Tj ET"}
	doc, err := parse(t, buildXrefStreamPDF(objs, nil, "/Index [0 7]"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := collapse(doc.Text()); got != "Streams" {
		t.Errorf("text = %q", got)
	}
	for _, dir := range []string{"public", "longdocs"} {
		files, _ := filepath.Glob(filepath.Join(corpusOrEmpty(t), dir, "*", "*.pdf"))
		more, _ := filepath.Glob(filepath.Join(corpusOrEmpty(t), dir, "*.pdf"))
		for _, f := range append(files, more...) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			v, err := viewOf(data)
			if err != nil {
				t.Errorf("%s: %v", f, err)
				continue
			}
			if err := preflight(v.data); err != nil {
				t.Errorf("%s: preflight refuses a real file: %v", filepath.Base(f), err)
			}
		}
	}
}

func corpusOrEmpty(t *testing.T) string {
	dir := os.Getenv("EXTRACTOR_CORPUS")
	if dir == "" {
		dir = filepath.Join(testenv.RepoRoot(t), "..", "shared", "corpus")
	}
	if _, err := os.Stat(dir); err != nil {
		return filepath.Join(t.TempDir(), "none")
	}
	return dir
}

func TestMaxObjects(t *testing.T) {
	for _, tt := range []struct {
		size int
		want int64
	}{{0, 1 << 16}, {248, 1 << 16}, {100_000, 1_600_000}, {1 << 30, specMaxObjects}} {
		if got := maxObjects(tt.size); got != tt.want {
			t.Errorf("maxObjects(%d) = %d, want %d", tt.size, got, tt.want)
		}
	}
}
