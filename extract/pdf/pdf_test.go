package pdf

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/extractor-dev/extractor/internal/testenv"
	"github.com/extractor-dev/extractor/pipeline"
)

func parse(t *testing.T, data []byte, opts Options) (pipeline.Document, error) {
	t.Helper()
	if opts.Timeout == 0 {
		opts.Timeout = 10 * time.Second
	}
	return ParseBytes(context.Background(), data, opts)
}

func TestParseText(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    string // page text with runs of spaces collapsed
	}{
		{"show", "BT /F1 12 Tf 72 700 Td (Hello World) Tj ET", "Hello World"},
		{"tj offset is a space", "BT /F1 12 Tf 72 700 Td [(Hello)-250(World)] TJ ET", "Hello World"},
		{"tj kerning is not", "BT /F1 12 Tf 72 700 Td [(Hel)-20(lo)] TJ ET", "Hello"},
		{"glyph gap is a space", "BT /F1 12 Tf 72 700 Td (Hello) Tj 36 0 Td (World) Tj ET", "Hello World"},
		{"one glyph per Td", "BT /F1 12 Tf 72 700 Td (a) Tj 6.67 0 Td (b) Tj 6.67 0 Td (c) Tj ET", "abc"},
		{"lines top to bottom whatever the drawing order",
			"BT /F1 12 Tf 72 600 Td (second) Tj ET BT /F1 12 Tf 72 700 Td (first) Tj ET", "first\nsecond"},
		{"words left to right whatever the drawing order",
			"BT /F1 12 Tf 300 700 Td (right) Tj ET BT /F1 12 Tf 72 700 Td (left) Tj ET", "left right"},
		{"table cells stay on their line",
			"BT /F1 10 Tf 72 700 Td (Item) Tj 200 0 Td (Qty) Tj 100 0 Td (Price) Tj ET " +
				"BT /F1 10 Tf 72 686 Td (Widget) Tj 200 0 Td (2) Tj 100 0 Td (9.99) Tj ET", "Item Qty Price\nWidget 2 9.99"},
		{"fake bold is one word", "BT /F1 12 Tf 72 700 Td (Total) Tj ET BT /F1 12 Tf 72.4 700 Td (Total) Tj ET", "Total"},
		{"superscript stays on the line", "BT /F1 12 Tf 72 700 Td (E = mc) Tj 7 Ts /F1 8 Tf (2) Tj ET", "E = mc2"},
		{"T* and TL", "BT /F1 12 Tf 14 TL 72 700 Td (one) Tj T* (two) Tj (three) ' ET", "one\ntwo\nthree"},
		{"Tm positions text", "BT /F1 1 Tf 12 0 0 12 72 700 Tm (scaled) Tj ET", "scaled"},
		{"cm positions text", "q 1 0 0 1 100 100 cm BT /F1 12 Tf 0 600 Td (moved) Tj ET Q", "moved"},
		{"word spacing Tw", "BT /F1 12 Tf 5 Tw 72 700 Td (a b) Tj ET", "a b"},
		{"inline image data is skipped",
			"BI /W 2 /H 1 /BPC 8 /CS /G ID \x00(EI\x01 EI BT /F1 12 Tf 72 700 Td (After) Tj ET", "After"},
		{"literal string escapes", `BT /F1 12 Tf 72 700 Td (a\(b\) \101\102 c\\d) Tj ET`, `a(b) AB c\d`},
		{"hex strings", "BT /F1 12 Tf 72 700 Td <48656C6C6F> Tj ET", "Hello"},
		{"unbalanced operators are survived", "Q Q ET BT /F1 12 Tf 72 700 Td (ok) Tj ET ET Q", "ok"},
		{"missing font falls back", "BT /F9 12 Tf 72 700 Td (plain) Tj ET", "plain"},
		{"deep nesting is bounded",
			strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + " BT /F1 12 Tf 72 700 Td (survived) Tj ET", "survived"},
		{"text off the page is dropped", "BT /F1 12 Tf 72 700 Td (in) Tj 0 -5000 Td (out) Tj ET", "in"},
		{"garbage operands", "1 2 3 4 5 6 7 8 9 foo bar /Baz (x) <00> BT /F1 12 Tf 72 700 Td (fine) Tj ET", "fine"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := parse(t, onePage(tt.content), Options{})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := collapse(doc.Text()); got != tt.want {
				t.Errorf("text = %q, want %q", got, tt.want)
			}
		})
	}
}

// collapse trims lines and squeezes runs of spaces, so tests state words
// and lines, not the exact column padding.
func collapse(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			out = append(out, strings.Join(f, " "))
		}
	}
	return strings.Join(out, "\n")
}

func TestParseColumnsKeepWideGaps(t *testing.T) {
	doc, err := parse(t, onePage("BT /F1 10 Tf 72 700 Td (Item) Tj 200 0 Td (Qty) Tj ET"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	text := doc.Pages[0].Lines[0].Text
	if !strings.Contains(text, "Item   ") || !strings.HasSuffix(text, "Qty") {
		t.Errorf("line %q: want a run of spaces between table cells", text)
	}
}

func TestParseDocument(t *testing.T) {
	data := onePage("BT /F1 12 Tf 72 700 Td (Hello World) Tj ET")
	doc, err := parse(t, data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if doc.ID != hex.EncodeToString(sum[:]) {
		t.Errorf("ID = %s, want sha256 of the bytes", doc.ID)
	}
	if doc.Parser != Version || doc.Size != int64(len(data)) {
		t.Errorf("Parser/Size = %s/%d", doc.Parser, doc.Size)
	}
	if len(doc.Pages) != 1 {
		t.Fatalf("%d pages", len(doc.Pages))
	}
	p := doc.Pages[0]
	if p.Number != 1 || p.Width != 612 || p.Height != 792 || p.Status != pipeline.PageText {
		t.Errorf("page = %+v", p)
	}
	// Baseline at y=700 from the bottom is 92 from the top; the box spans
	// the ascent above it and the descent below it.
	b := p.Lines[0].Box
	if b.X0 != 72 || b.Y0 > 92-8 || b.Y1 < 92+1 || b.Y1 > 92+4 || b.X1 < 72+60 || b.X1 > 72+70 {
		t.Errorf("box = %+v, want around x 72..137, y 82..94", b)
	}
}

func TestParseRotatedPage(t *testing.T) {
	data := buildPDF([]string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 /Rotate 90 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
		helvetica,
		// Text written bottom to top, as on a landscape page shown rotated.
		"stream:BT /F1 12 Tf 0 1 -1 0 300 72 Tm (Landscape) Tj ET",
	}, "")
	doc, err := parse(t, data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := doc.Pages[0]
	if p.Width != 792 || p.Height != 612 {
		t.Errorf("rotated size = %vx%v, want 792x612", p.Width, p.Height)
	}
	if got := collapse(doc.Text()); got != "Landscape" {
		t.Errorf("text = %q", got)
	}
	if b := p.Lines[0].Box; b.X1-b.X0 < b.Y1-b.Y0 {
		t.Errorf("box %+v: text on a rotated page should read horizontally", b)
	}
}

func TestParseFormXObjects(t *testing.T) {
	form := "<< /Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> /XObject << /X1 5 0 R >> >> /Length 52 >>\nstream\nBT /F1 12 Tf 72 650 Td (in form) Tj ET /X1 Do /X1 Do\nendstream"
	doc, err := parse(t, onePage("BT /F1 12 Tf 72 700 Td (page) Tj ET /X1 Do", form), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := collapse(doc.Text()); got != "page\nin form" {
		t.Errorf("text = %q: a form that draws itself must be drawn once", got)
	}
}

func TestParseErrors(t *testing.T) {
	valid := onePage("BT /F1 12 Tf 72 700 Td (Hello) Tj ET")
	threePages := buildPDF([]string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R 3 0 R 3 0 R] /Count 3 >>",
		"<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
		helvetica,
		"stream:BT /F1 12 Tf 72 700 Td (x) Tj ET",
	}, "")
	tests := []struct {
		name string
		data []byte
		opts Options
		want error
	}{
		{"empty", nil, Options{}, ErrMalformed},
		{"not a pdf", []byte("hello, world\n"), Options{}, ErrMalformed},
		{"truncated", valid[:len(valid)/2], Options{}, ErrMalformed},
		{"no pages", buildPDF([]string{"<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [] /Count 0 >>"}, ""), Options{}, ErrMalformed},
		{"page tree cycle", buildPDF([]string{
			"<< /Type /Catalog /Pages 2 0 R >>",
			"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
			"<< /Type /Pages /Kids [2 0 R] /Count 1 >>",
		}, ""), Options{}, ErrMalformed},
		{"image only", onePage("q 100 0 0 100 0 0 cm /Im1 Do Q", "<< >>",
			"<< /Type /XObject /Subtype /Image /Width 1 /Height 1 /BitsPerComponent 8 /ColorSpace /DeviceGray /Length 1 >>\nstream\n\x00\nendstream"),
			Options{}, ErrNoText},
		{"too many pages", threePages, Options{MaxPages: 2}, ErrTooLarge},
		{"too many bytes", valid, Options{MaxBytes: 100}, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, tt.data, tt.opts)
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestParseNoTextKeepsPages(t *testing.T) {
	doc, err := parse(t, onePage("0 0 m 100 100 l S"), Options{})
	if !errors.Is(err, ErrNoText) {
		t.Fatalf("err = %v, want ErrNoText", err)
	}
	if len(doc.Pages) != 1 || doc.Pages[0].Status != pipeline.PageNoText {
		t.Errorf("pages = %+v, want one page marked no_text", doc.Pages)
	}
}

// A /Prev that points back at its own cross-reference section would make
// the library loop forever while opening the file: preflight refuses it at
// once (the generous timeout only tells a refusal from the deadline).
func TestParseRefusesPrevLoop(t *testing.T) {
	data := buildPDF([]string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [] /Count 0 >>",
	}, "/Prev XREF")
	_, err := parse(t, data, Options{Timeout: time.Minute})
	if !errors.Is(err, ErrMalformed) || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrMalformed before the deadline", err)
	}
}

// An object stream that /Extends itself would make the library loop
// forever looking for an object it does not hold: preflight refuses it.
func TestParseRefusesExtendsLoop(t *testing.T) {
	data := buildXrefStreamPDF([]string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"",
		"objstm:/N 0 /First 1 /Extends 4 0 R| ",
	}, map[int]xrefEntry{3: {Type: 2, Stream: 4}}, "")
	_, err := parse(t, data, Options{Timeout: time.Minute})
	if !errors.Is(err, ErrMalformed) || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrMalformed before the deadline", err)
	}
}

// Whatever the library is doing when the deadline passes, its next read
// of the file stops it (the guarded reader), and Parse reports the
// deadline, not a malformed file.
func TestParseDeadlineStopsTheLibrary(t *testing.T) {
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	_, err := ParseBytes(ctx, onePage("BT /F1 12 Tf 72 700 Td (x) Tj ET"), Options{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a deadline error", err)
	}
}

func TestParseCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := ParseBytes(ctx, onePage("BT /F1 12 Tf 72 700 Td (x) Tj ET"), Options{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestParsePDF20Header(t *testing.T) {
	data := onePage("BT /F1 12 Tf 72 700 Td (two point oh) Tj ET")
	copy(data, "%PDF-2.0")
	doc, err := parse(t, data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := collapse(doc.Text()); got != "two point oh" {
		t.Errorf("text = %q", got)
	}
}

func TestParseManyPagesShareFonts(t *testing.T) {
	const n = 50
	objs := []string{"<< /Type /Catalog /Pages 2 0 R >>", "", helvetica}
	var kids []string
	for i := 0; i < n; i++ {
		page := len(objs) + 1
		kids = append(kids, fmt.Sprintf("%d 0 R", page))
		objs = append(objs,
			fmt.Sprintf("<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>", page+1),
			fmt.Sprintf("stream:BT /F1 12 Tf 72 700 Td (page %d) Tj ET", i+1))
	}
	objs[1] = fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), n)
	doc, err := parse(t, buildPDF(objs, ""), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Pages) != n {
		t.Fatalf("%d pages, want %d", len(doc.Pages), n)
	}
	for i, p := range doc.Pages {
		if want := fmt.Sprintf("page %d", i+1); p.Text() != want {
			t.Errorf("page %d text = %q, want %q", i+1, p.Text(), want)
		}
	}
}

// Found by FuzzContent: nearly zero horizontal scaling made the column grid
// so fine that one gap became millions of spaces.
func TestParseSqueezedTextIsBounded(t *testing.T) {
	doc, err := parse(t, onePage("BT /F1 12 Tf 0.001 Tz 72 700 Td (a) Tj ET BT /F1 12 Tf 0.001 Tz 500 700 Td (b) Tj ET"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(doc.Text()); n > 1000 {
		t.Errorf("text is %d bytes for two letters", n)
	}
}

// Files whose cross-reference data is missing or wrong are repaired by
// rebuilding it from the objects, and say so in Warnings.
func TestParseRebuildsBrokenXref(t *testing.T) {
	good := onePage("BT /F1 12 Tf 72 700 Td (Repaired) Tj ET")
	i := bytes.Index(good, []byte("xref\n"))
	noXref := append(append([]byte(nil), good[:i]...), "trailer\n<< /Root 1 0 R >>\n%%EOF\n"...)
	// Ten bytes inserted after the header shift every object, so every
	// offset in the table points at the wrong place.
	shifted := append(append(append([]byte(nil), good[:9]...), "%shifted\n"...), good[9:]...)
	for name, data := range map[string][]byte{"no xref or startxref": noXref, "shifted offsets": shifted} {
		t.Run(name, func(t *testing.T) {
			doc, err := parse(t, data, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := collapse(doc.Text()); got != "Repaired" {
				t.Errorf("text = %q", got)
			}
			if len(doc.Warnings) != 1 || !strings.Contains(doc.Warnings[0], "cross-reference table rebuilt") {
				t.Errorf("warnings = %q, want the repair named", doc.Warnings)
			}
			sum := sha256.Sum256(data)
			if doc.ID != hex.EncodeToString(sum[:]) {
				t.Errorf("ID must stay the hash of the original bytes")
			}
		})
	}
}

func TestPageCount(t *testing.T) {
	data, err := os.ReadFile(testenv.Testdata(t, "invoices", "files", "synth", "synth-0004.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := PageCount(context.Background(), data, Options{}); err != nil || n != 2 {
		t.Errorf("synth-0004: %d pages, %v", n, err)
	}
	if _, err := PageCount(context.Background(), data, Options{MaxPages: 1}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over the page limit: %v", err)
	}
	for _, bad := range [][]byte{nil, []byte("hello"), []byte("%PDF-1.4\ngarbage")} {
		if _, err := PageCount(context.Background(), bad, Options{}); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
