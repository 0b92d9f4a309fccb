package pdf

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/extractor-dev/extractor/internal/testenv"
	"github.com/extractor-dev/extractor/pipeline"
)

// checkParse runs the parser on untrusted bytes and checks what must hold
// whatever the input: no panic (Parse recovers everything), a typed error
// or a well-formed document.
func checkParse(t *testing.T, data []byte) {
	// FUZZ_SLOW_DIR=dir saves inputs that take over 3s, to find slow paths
	// (the fuzzer itself only reports crashes).
	if dir := os.Getenv("FUZZ_SLOW_DIR"); dir != "" {
		tm := time.AfterFunc(3*time.Second, func() {
			sum := sha256.Sum256(data)
			os.WriteFile(filepath.Join(dir, hex.EncodeToString(sum[:8])), data, 0o644)
		})
		defer tm.Stop()
	}
	doc, err := ParseBytes(context.Background(), data, Options{Timeout: 5 * time.Second, MaxPages: 200})
	sum := sha256.Sum256(data)
	if doc.ID != hex.EncodeToString(sum[:]) {
		t.Fatalf("ID %q is not the sha256 of the input", doc.ID)
	}
	if err != nil {
		for _, want := range []error{ErrMalformed, ErrEncrypted, ErrNoText, ErrTooLarge, context.DeadlineExceeded} {
			if errors.Is(err, want) {
				return
			}
		}
		t.Fatalf("untyped error: %v", err)
	}
	if len(doc.Pages) == 0 || doc.TextPages() == 0 {
		t.Fatalf("success without text: %d pages", len(doc.Pages))
	}
	for i, p := range doc.Pages {
		if p.Number != i+1 {
			t.Fatalf("page %d numbered %d", i+1, p.Number)
		}
		if p.Status == pipeline.PageText && len(p.Lines) == 0 {
			t.Fatalf("page %d: text status without lines", p.Number)
		}
		for _, l := range p.Lines {
			if l.Text == "" || l.Box.X1 < l.Box.X0 || l.Box.Y1 < l.Box.Y0 {
				t.Fatalf("page %d: bad line %+v", p.Number, l)
			}
		}
	}
}

// FuzzParse feeds whole files to the parser. Seeds: the crafted documents
// of the unit tests, testdata/fuzz/FuzzParse (including crashers found
// before, kept as regression seeds) and the bundled sample invoices.
func FuzzParse(f *testing.F) {
	f.Add(onePage("BT /F1 12 Tf 72 700 Td (Hello World) Tj ET"))
	f.Add(onePage("BT /F1 12 Tf 72 700 Td [(A)-250(B)] TJ T* (C) ' ET /X1 Do", "<< /Type /XObject /Subtype /Form /Length 20 >>\nstream\nBT (form) Tj ET /X1 Do\nendstream"))
	f.Add(buildPDF([]string{"<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>", "<< /Type /Pages /Kids [2 0 R] /Count 1 >>"}, ""))
	f.Add(buildPDF([]string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 4 0 R >> >> /Contents 6 0 R >>",
		"<< /Type /Font /Subtype /Type0 /BaseFont /X /Encoding /Identity-H /DescendantFonts [<< /Subtype /CIDFontType2 /W [1 [500 600] 3 10 700] >>] /ToUnicode 5 0 R >>",
		"stream:1 begincodespacerange <0000> <FFFF> endcodespacerange 2 beginbfchar <0001> <0041> <0002> <00660069> endbfchar 1 beginbfrange <0003> <000A> <0030> endbfrange",
		"stream:BT /F1 12 Tf 72 700 Td <000100020003> Tj ET",
	}, ""))
	// Files that once killed the process, and the hostile sizes preflight
	// refuses (each a fatal "out of memory" or stack overflow without it).
	if files, err := filepath.Glob(filepath.Join(testenv.RepoRoot(f), "testdata", "regressions", "*.pdf")); err == nil {
		for _, p := range files {
			if data, err := os.ReadFile(p); err == nil {
				f.Add(data)
			}
		}
	}
	f.Add(buildXrefStreamPDF([]string{"<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>"},
		map[int]xrefEntry{3: {Type: 2, Stream: 4}, 4: {Type: 2, Stream: 3}}, ""))
	f.Add(buildXrefStreamPDF([]string{"<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [] /Count 0 >>"}, nil, "/Index [2147483000 3]"))
	if files, err := filepath.Glob(filepath.Join(testenv.RepoRoot(f), "testdata", "invoices", "files", "*", "*.pdf")); err == nil {
		for _, p := range files[:min(3, len(files))] {
			if data, err := os.ReadFile(p); err == nil {
				f.Add(data)
			}
		}
	}
	f.Fuzz(checkParse)
}

// FuzzContent feeds page content streams to the interpreter and layout,
// where most of the code that sees untrusted bytes is ours.
func FuzzContent(f *testing.F) {
	for _, c := range []string{
		"BT /F1 12 Tf 72 700 Td (Hello World) Tj ET",
		"BT /F1 12 Tf 1 0 0 1 72 700 Tm [(W)120(orld)-300(x)] TJ 0 -14 TD (next) ' 1 2 (q) \" ET",
		"q 0 1 -1 0 300 72 cm BT /F1 8 Tf 2 Tc 3 Tw 50 Tz 4 Ts (rot) Tj ET Q",
		"BI /W 1 /H 1 ID \x00\x01EI BT (x) Tj ET",
		"[[[(a)]]] << /A [1 2 <41>] >> /X1 Do /Im1 Do",
		"BT /F1 0 Tf 1e308 0 Td (zero) Tj ET",
		"BT /F1 12 Tf NaN 0 0 0 0 0 Tm (nan) Tj ET",
	} {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, content []byte) {
		checkParse(t, onePage(string(content), "<< /Type /XObject /Subtype /Form /Length 20 >>\nstream\nBT (form) Tj ET /X1 Do\nendstream"))
	})
}

// FuzzCMap feeds CMap programs to the CMap parser and its lookups.
func FuzzCMap(f *testing.F) {
	f.Add([]byte("1 begincodespacerange <00> <FF> endcodespacerange 1 beginbfchar <41> <0042> endbfchar"))
	f.Add([]byte("1 begincodespacerange <0000> <FFFF> endcodespacerange 1 beginbfrange <0000> <FFFF> [<0041> <0042>] endbfrange 1 begincidrange <0000> <00FF> 1 endcidrange"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m := parseCMap(data)
		for _, s := range [][]byte{{0x41}, {0, 0x41}, {0xff, 0xff, 0xff}, data[:min(4, len(data))]} {
			for len(s) > 0 {
				c, n := m.next(s, 2)
				if n <= 0 || n > len(s) {
					t.Fatalf("next consumed %d of %d bytes", n, len(s))
				}
				m.text(c, n)
				m.cid(c, n)
				s = s[n:]
			}
		}
	})
}
