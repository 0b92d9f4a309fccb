package ocr

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-pdf/fpdf"

	"github.com/extractor-dev/extractor/extract/pdf"
	"github.com/extractor-dev/extractor/internal/synth"
	"github.com/extractor-dev/extractor/internal/testenv"
	"github.com/extractor-dev/extractor/pipeline"
)

// These tests run tesseract and pdftoppm (scripts/deps.sh installs them;
// under `make test` a missing one fails the tests, elsewhere it skips
// them). Their verdicts never depend on speed: deadlines are generous hang
// guards, except where a fake program that never finishes is the point.

func testEngine(t *testing.T, opts Options) *Engine {
	t.Helper()
	testenv.Program(t, "tesseract", "tesseract-ocr")
	testenv.Program(t, "pdftoppm", "poppler-utils")
	if opts.Workers == 0 {
		opts.Workers = 2
	}
	e, err := New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// samplePDF is a born-digital A5 page with a heading, label/value pairs, a
// table and a footer line: what the OCR path must read back.
func samplePDF(t *testing.T) []byte {
	t.Helper()
	p := fpdf.New("P", "mm", "A5", "")
	p.SetCreationDate(time.Date(2024, 3, 12, 9, 0, 0, 0, time.UTC))
	p.SetCatalogSort(true)
	p.AddPage()
	p.SetFont("Helvetica", "B", 16)
	p.Text(15, 20, "ACME Supplies Ltd")
	p.Text(108, 20, "INVOICE")
	p.SetFont("Helvetica", "", 11)
	p.Text(15, 35, "Invoice No.:")
	p.Text(90, 35, "INV-2024-0042")
	p.Text(15, 42, "Invoice date:")
	p.Text(90, 42, "12.03.2024")
	p.Text(15, 60, "Item")
	p.Text(75, 60, "Qty")
	p.Text(95, 60, "Price")
	p.Text(118, 60, "Amount")
	for i, r := range [][4]string{{"Widget Alpha", "2", "10.00", "20.00"}, {"Gadget Beta", "1", "125.50", "125.50"}, {"Service hours", "3", "45.00", "135.00"}} {
		y := 70 + float64(i)*8
		p.Text(15, y, r[0])
		p.Text(77, y, r[1])
		p.Text(95, y, r[2])
		p.Text(118, y, r[3])
	}
	p.SetFont("Helvetica", "B", 11)
	p.Text(95, 100, "Total")
	p.Text(118, 100, "280.50")
	p.SetFont("Helvetica", "", 10)
	p.Text(15, 120, "Please pay within 30 days to")
	p.Text(15, 126, "IBAN DE89 3704 0044 0532 0130 00.")
	p.Text(15, 140, "Thank you for your business.")
	var buf bytes.Buffer
	if err := p.Output(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var (
	sampleOnce  sync.Once
	samplePages []*image.Gray
	sampleDoc   pipeline.Document
	sampleErr   error
)

// sample renders samplePDF at 300 dpi and parses its text layer (the
// reference for what OCR should read, and where).
func sample(t *testing.T) (*image.Gray, pipeline.Document) {
	t.Helper()
	testenv.Program(t, "pdftoppm", "poppler-utils")
	sampleOnce.Do(func() {
		data := samplePDF(t)
		samplePages, sampleErr = synth.Rasterize(context.Background(), "", data, 300)
		if sampleErr == nil {
			sampleDoc, sampleErr = pdf.Parse(context.Background(), bytes.NewReader(data), int64(len(data)), pdf.Options{})
		}
	})
	if sampleErr != nil {
		t.Fatal(sampleErr)
	}
	return samplePages[0], sampleDoc
}

func scan(t *testing.T, d synth.Degradation, format synth.ScanFormat) []byte {
	t.Helper()
	page, _ := sample(t)
	data, err := synth.ScanFile([]*image.Gray{synth.Degrade(page, d, 1)}, format, d.Quality, 300, "test")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func norm(s string) string { return strings.Join(strings.Fields(s), " ") }

// wordRecall is the share of ref's words (as a multiset) found in got.
func wordRecall(ref, got string) float64 {
	have := map[string]int{}
	for _, w := range strings.Fields(got) {
		have[w]++
	}
	n, found := 0, 0
	for _, w := range strings.Fields(ref) {
		n++
		if have[w] > 0 {
			have[w]--
			found++
		}
	}
	if n == 0 {
		return 1
	}
	return float64(found) / float64(n)
}

// checkLikeReference compares an OCR page with the born-digital page: same
// lines in the same order, each within tol points of the text layer's box
// (OCR boxes hug the ink; the text layer's include the font's ascent and
// descent, hence a looser vertical tolerance).
func checkLikeReference(t *testing.T, got pipeline.Page, tolX, tolY float64) {
	t.Helper()
	_, ref := sample(t)
	want := ref.Pages[0]
	if math.Abs(got.Width-want.Width) > 1 || math.Abs(got.Height-want.Height) > 1 {
		t.Errorf("page %v x %v, want %v x %v", got.Width, got.Height, want.Width, want.Height)
	}
	if len(got.Lines) != len(want.Lines) {
		t.Errorf("%d lines, want %d:\n%s\nwant\n%s", len(got.Lines), len(want.Lines), got.Text(), want.Text())
		return
	}
	for i, w := range want.Lines {
		g := got.Lines[i]
		if r := wordRecall(w.Text, g.Text); r < 0.75 {
			t.Errorf("line %d %q, want %q", i, norm(g.Text), norm(w.Text))
		}
		if math.Abs(g.Box.X0-w.Box.X0) > tolX || math.Abs(g.Box.X1-w.Box.X1) > tolX ||
			math.Abs(g.Box.Y0-w.Box.Y0) > tolY || math.Abs(g.Box.Y1-w.Box.Y1) > tolY {
			t.Errorf("line %d %q box %+v, text layer %+v", i, norm(w.Text), g.Box, w.Box)
		}
	}
}

// A clean scan reads back as the text layer: the same lines in the same
// order, table rows as one line with their columns apart, boxes where the
// text was drawn, words with confidences.
func TestReadingOrderAndCoordinates(t *testing.T) {
	var mu sync.Mutex
	var children []ChildStats
	e := testEngine(t, Options{OnChild: func(s ChildStats) {
		mu.Lock()
		defer mu.Unlock()
		children = append(children, s)
	}})
	data := scan(t, synth.Degradation{}, synth.ScanPNG)
	doc, err := e.ParseImage(testContext(t), data)
	if err != nil {
		t.Fatal(err)
	}
	// The probes (page 0) and one recognition of page 1, with its cost.
	last := children[len(children)-1]
	if last.Program != "tesseract" || last.Page != 1 || last.Err != nil || last.CPU <= 0 || last.Wall <= 0 ||
		(runtime.GOOS == "linux" && last.MaxRSS < 1<<20) || children[0].Page != 0 {
		t.Errorf("children %+v", children)
	}
	if len(doc.Pages) != 1 {
		t.Fatalf("%d pages", len(doc.Pages))
	}
	p := doc.Pages[0]
	if p.Status != pipeline.PageOCR || p.OCR == nil || p.OCR.DPI != 300 || p.OCR.Rotation != 0 || p.OCR.Engine != "tesseract" ||
		p.OCR.Languages != "eng+deu+fra" || p.OCR.Confidence < 0.8 {
		t.Errorf("page %+v %+v", p.Status, p.OCR)
	}
	checkLikeReference(t, p, 3, 4)
	// The invoice number was drawn at x = 90 mm, baseline 35 mm (11 pt).
	var found bool
	for _, l := range p.Lines {
		for _, w := range l.Words {
			if w.Text == "INV-2024-0042" {
				found = true
				x, y := 90*72/25.4, 35*72/25.4
				if math.Abs(w.Box.X0-x) > 2 || math.Abs(w.Box.Y1-y) > 1.5 || w.Box.Y0 > y-6 || w.Confidence < 0.5 {
					t.Errorf("word %+v, drawn at x %.1f, baseline %.1f", w, x, y)
				}
			}
		}
		if strings.Contains(l.Text, "Widget") && !strings.Contains(l.Text, "20.00") {
			t.Errorf("table row split: %q", l.Text)
		}
	}
	if !found {
		t.Errorf("no word INV-2024-0042 in\n%s", p.Text())
	}
	sum := sha256.Sum256(data)
	if doc.ID != hex.EncodeToString(sum[:]) || doc.Size != int64(len(data)) || doc.Parser != e.Version() {
		t.Errorf("document %s %d %q", doc.ID, doc.Size, doc.Parser)
	}
	if !strings.HasPrefix(e.Version(), Version+" tesseract/") || !strings.Contains(e.Version(), "lang=eng+deu+fra") || !strings.Contains(e.Version(), "dpi=300") {
		t.Errorf("version %q", e.Version())
	}
}

// Pages scanned sideways or upside down are turned upright: the same lines
// and boxes as the upright page.
func TestRotatedPages(t *testing.T) {
	e := testEngine(t, Options{})
	for _, turn := range []int{90, 180, 270} {
		t.Run(fmt.Sprint(turn), func(t *testing.T) {
			doc, err := e.ParseImage(testContext(t), scan(t, synth.Degradation{Turn: turn}, synth.ScanPNG))
			if err != nil {
				t.Fatal(err)
			}
			p := doc.Pages[0]
			if want := (360 - turn) % 360; p.OCR.Rotation != want {
				t.Fatalf("rotation %d, want %d", p.OCR.Rotation, want)
			}
			checkLikeReference(t, p, 3, 4)
		})
	}
}

// A page skewed by 2 degrees either way still reads well, with table rows
// whole; the skew is measured. (Tesseract may drop a sparse column of
// single digits, the quantities here, as noise: a known weakness of its
// page layout analysis, so a row needs only its other four words.)
func TestSkewedPages(t *testing.T) {
	e := testEngine(t, Options{})
	_, ref := sample(t)
	for _, skew := range []float64{2, -2} {
		t.Run(fmt.Sprint(skew), func(t *testing.T) {
			doc, err := e.ParseImage(testContext(t), scan(t, synth.Degradation{Skew: skew, Blur: 0.5, Noise: 3, Paper: 235, Quality: 65}, synth.ScanJPEG))
			if err != nil {
				t.Fatal(err)
			}
			p := doc.Pages[0]
			if r := wordRecall(ref.Text(), p.Text()); r < 0.9 {
				t.Errorf("word recall %.3f:\n%s", r, p.Text())
			}
			if math.Abs(p.OCR.Skew-skew) > 0.5 {
				t.Errorf("skew %v, want about %v", p.OCR.Skew, skew)
			}
			rows := 0
			for _, l := range p.Lines {
				f := strings.Fields(l.Text)
				if len(f) > 0 && (f[0] == "Widget" || f[0] == "Gadget" || f[0] == "Service") {
					rows++
					if len(f) < 4 || !strings.HasSuffix(l.Text, "0") {
						t.Errorf("table row %q", l.Text)
					}
				}
			}
			if rows != 3 {
				t.Errorf("%d table rows in\n%s", rows, p.Text())
			}
		})
	}
}

// Image files of each format, a multi-page TIFF's pages in order, and an
// image-only PDF through the PDF path.
func TestImageFormats(t *testing.T) {
	e := testEngine(t, Options{})
	ctx := testContext(t)
	page, ref := sample(t)
	d := synth.Degradation{Blur: 0.5, Noise: 3, Paper: 240, Quality: 60}
	for _, f := range []synth.ScanFormat{synth.ScanJPEG, synth.ScanPNG} {
		doc, err := e.ParseImage(ctx, scan(t, d, f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if r := wordRecall(ref.Text(), doc.Text()); len(doc.Pages) != 1 || r < 0.95 {
			t.Errorf("%s: %d pages, word recall %.3f", f, len(doc.Pages), r)
		}
	}
	// Two pages, the second upside down: TIFF and image-only PDF.
	pages := []*image.Gray{synth.Degrade(page, d, 1), synth.Degrade(page, synth.Degradation{Turn: 180, Quality: 60}, 2)}
	for _, f := range []synth.ScanFormat{synth.ScanTIFF, synth.ScanPDF} {
		data, err := synth.ScanFile(pages, f, 60, 300, "two pages")
		if err != nil {
			t.Fatal(err)
		}
		var doc pipeline.Document
		if f == synth.ScanPDF {
			parsed, perr := pdf.Parse(ctx, bytes.NewReader(data), int64(len(data)), pdf.Options{})
			if !errors.Is(perr, pdf.ErrNoText) {
				t.Fatalf("image-only PDF parses with %v", perr)
			}
			doc, err = e.OCR(ctx, parsed, data, ModeAuto)
			if !strings.HasPrefix(doc.Parser, pdf.Version+" "+Version+" ") {
				t.Errorf("parser %q", doc.Parser)
			}
		} else {
			doc, err = e.ParseImage(ctx, data)
		}
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(doc.Pages) != 2 || doc.Pages[1].Number != 2 || doc.Pages[1].OCR == nil || doc.Pages[1].OCR.Rotation != 180 {
			t.Fatalf("%s: pages %+v", f, doc.Pages)
		}
		for _, p := range doc.Pages {
			if r := wordRecall(ref.Text(), p.Text()); r < 0.95 || p.Status != pipeline.PageOCR {
				t.Errorf("%s page %d: %s, word recall %.3f", f, p.Number, p.Status, r)
			}
			if math.Abs(p.Width-ref.Pages[0].Width) > 1 {
				t.Errorf("%s page %d: width %v", f, p.Number, p.Width)
			}
		}
	}
}

// mixedPDF has a text page and an image page.
func mixedPDF(t *testing.T) []byte {
	t.Helper()
	jpg := scan(t, synth.Degradation{Quality: 70}, synth.ScanJPEG)
	p := fpdf.New("P", "mm", "A5", "")
	p.SetCreationDate(time.Date(2024, 3, 12, 9, 0, 0, 0, time.UTC))
	p.AddPage()
	p.SetFont("Helvetica", "", 12)
	p.Text(20, 20, "Cover letter with a text layer")
	p.AddPage()
	opt := fpdf.ImageOptions{ImageType: "JPG"}
	p.RegisterImageOptionsReader("scan", opt, bytes.NewReader(jpg))
	p.ImageOptions("scan", 0, 0, 148, 210, false, opt, 0, "")
	var buf bytes.Buffer
	if err := p.Output(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestOCRModes(t *testing.T) {
	e := testEngine(t, Options{})
	ctx := testContext(t)
	data := mixedPDF(t)
	doc, err := pdf.Parse(ctx, bytes.NewReader(data), int64(len(data)), pdf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if doc.Pages[0].Status != pipeline.PageText || doc.Pages[1].Status != pipeline.PageNoText || doc.TextPages() != 1 {
		t.Fatalf("parsed %s %s", doc.Pages[0].Status, doc.Pages[1].Status)
	}
	if got, err := e.OCR(ctx, doc, data, ModeOff); err != nil || got.Pages[1].Status != pipeline.PageNoText {
		t.Errorf("off: %v %s", err, got.Pages[1].Status)
	}
	auto, err := e.OCR(ctx, doc, data, ModeAuto)
	if err != nil {
		t.Fatal(err)
	}
	if auto.Pages[0].Status != pipeline.PageText || auto.Pages[0].OCR != nil || auto.Pages[1].Status != pipeline.PageOCR || auto.TextPages() != 2 {
		t.Errorf("auto: %s %s", auto.Pages[0].Status, auto.Pages[1].Status)
	}
	if doc.Pages[1].Status != pipeline.PageNoText || doc.Parser != pdf.Version {
		t.Error("OCR changed its input")
	}
	if !strings.Contains(auto.Pages[1].Text(), "INV-2024-0042") {
		t.Errorf("page 2:\n%s", auto.Pages[1].Text())
	}
	force, err := e.OCR(ctx, doc, data, ModeForce)
	if err != nil {
		t.Fatal(err)
	}
	if force.Pages[0].Status != pipeline.PageOCR || !strings.Contains(force.Pages[0].Text(), "Cover letter") || force.Pages[1].Status != pipeline.PageOCR {
		t.Errorf("force: %s %q %s", force.Pages[0].Status, force.Pages[0].Text(), force.Pages[1].Status)
	}
	if _, err := e.OCR(ctx, doc, data, "sometimes"); err == nil {
		t.Error("unknown mode: no error")
	}
	// Bytes that are not the document's are refused.
	if _, err := e.OCR(ctx, doc, samplePDF(t), ModeAuto); err == nil {
		t.Error("OCR of other bytes: no error")
	}
}

// A page that cannot be recognised keeps what it had, and the document says
// why; with no page recognised, the error says so too.
func TestOCRPageFailure(t *testing.T) {
	e := testEngine(t, Options{MaxPixels: 10_000})
	ctx := testContext(t)
	data := mixedPDF(t)
	doc, err := pdf.Parse(ctx, bytes.NewReader(data), int64(len(data)), pdf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.OCR(ctx, doc, data, ModeAuto)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err %v, want ErrTooLarge", err)
	}
	if got.Pages[1].Status != pipeline.PageNoText || len(got.Warnings) != 1 || !strings.HasPrefix(got.Warnings[0], "page 2: OCR failed: ") {
		t.Errorf("%s %q", got.Pages[1].Status, got.Warnings)
	}
	// A page too large for the pixel budget at 300 dpi is rendered lower.
	e2 := testEngine(t, Options{MaxPixels: 2_000_000})
	got, err = e2.OCR(ctx, doc, data, ModeAuto)
	if err != nil {
		t.Fatal(err)
	}
	if p := got.Pages[1]; p.Status != pipeline.PageOCR || p.OCR.DPI >= 300 || p.OCR.DPI < MinDPI || len(got.Warnings) != 1 {
		t.Errorf("%s dpi %d warnings %q", p.Status, p.OCR.DPI, got.Warnings)
	}
}

func TestLanguages(t *testing.T) {
	testenv.Program(t, "tesseract", "tesseract-ocr")
	ctx := testContext(t)
	for _, tt := range []struct {
		langs, bad, pkg string
		dir             string
	}{
		{langs: "xyz", bad: "xyz", pkg: "tesseract-ocr-xyz"},
		{langs: "eng+chi_sim", bad: "chi_sim", pkg: "tesseract-ocr-chi-sim"},
		{langs: "EN", bad: "EN"},
		{langs: "../eng", bad: "../eng"},
		{langs: "+", bad: "+"},
		{langs: "eng", bad: "eng", pkg: "tesseract-ocr-eng", dir: t.TempDir()},
	} {
		_, err := New(ctx, Options{Languages: tt.langs, TessdataDir: tt.dir})
		var le *LanguageError
		if !errors.As(err, &le) || !errors.Is(err, ErrLanguage) || le.Language != tt.bad || le.Package != tt.pkg {
			t.Errorf("%q: %v", tt.langs, err)
			continue
		}
		if tt.pkg != "" && !strings.Contains(err.Error(), "install the Debian package "+tt.pkg) {
			t.Errorf("%q: %v", tt.langs, err)
		}
	}
	e, err := New(ctx, Options{Languages: "deu+eng+deu"})
	if err != nil || e.Languages() != "deu+eng" {
		t.Errorf("%v %v", e, err)
	}
}

func TestMissingPrograms(t *testing.T) {
	testenv.Program(t, "tesseract", "tesseract-ocr")
	ctx := testContext(t)
	check := func(err error, program, pkg string) {
		t.Helper()
		var te *ToolError
		if !errors.As(err, &te) || !errors.Is(err, ErrMissingTool) || te.Program != program || te.Package != pkg ||
			!strings.Contains(err.Error(), "install the Debian package "+pkg) {
			t.Errorf("err %v, want %s missing (%s)", err, program, pkg)
		}
	}
	_, err := New(ctx, Options{Tesseract: "/nonexistent/tesseract"})
	check(err, "tesseract", "tesseract-ocr")
	if runtime.GOOS == "linux" {
		_, err = New(ctx, Options{Prlimit: "/nonexistent/prlimit"})
		check(err, "prlimit", "util-linux")
		if _, err := New(ctx, Options{Prlimit: "/nonexistent/prlimit", MemoryLimit: -1}); err != nil {
			t.Errorf("without a memory cap prlimit is not needed: %v", err)
		}
	}
	// Without pdftoppm, image files still work; a PDF says what to install.
	e := testEngine(t, Options{Pdftoppm: "/nonexistent/pdftoppm"})
	if !strings.HasSuffix(e.Version(), "pdftoppm/none") {
		t.Errorf("version %q", e.Version())
	}
	data := scan(t, synth.Degradation{Quality: 70}, synth.ScanPDF)
	doc, _ := pdf.Parse(ctx, bytes.NewReader(data), int64(len(data)), pdf.Options{})
	_, err = e.OCR(ctx, doc, data, ModeAuto)
	check(err, "pdftoppm", "poppler-utils")

	// An empty PATH: nothing is found.
	t.Setenv("PATH", t.TempDir())
	_, err = New(ctx, Options{})
	check(err, "tesseract", "tesseract-ocr")
}

// fakeTesseract writes a tesseract stand-in that answers the version and
// language probes and then runs body for recognition.
func fakeTesseract(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tesseract")
	script := `#!/bin/sh
case "$1" in
--version) echo "tesseract 5.3.0"; exit 0;;
--list-langs) printf 'List of available languages in "/nonexistent/" (4):\ndeu\neng\nfra\nosd\n'; exit 0;;
esac
` + body + "\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// How the engine's failures are reported, with stand-ins that hang, run out
// of memory, fail to read the image or print nonsense.
func TestEngineFailures(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("shell scripts")
	}
	testenv.Program(t, "sh", "dash")
	ctx := testContext(t)
	img := scan(t, synth.Degradation{Quality: 70}, synth.ScanJPEG)
	for _, tt := range []struct {
		name, body string
		want       error
	}{
		{"hang", "exec sleep 600", context.DeadlineExceeded},
		{"out of memory", `echo "terminate called after throwing an instance of 'std::bad_alloc'" >&2; kill -ABRT $$`, ErrTooLarge},
		{"unreadable", `echo "Error in pixReadMem: Unknown format: no pix returned" >&2; echo "Error during processing." >&2; exit 1`, ErrBadImage},
		{"crash", `echo "Segmentation fault" >&2; kill -SEGV $$`, ErrEngine},
		{"nonsense", `cat >/dev/null; echo "this is not TSV"`, ErrEngine},
		{"flood", `cat >/dev/null; yes level`, ErrTooLarge},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e, err := New(ctx, Options{Tesseract: fakeTesseract(t, tt.body), PageTimeout: 500 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if tt.name == "flood" {
				// Never finishing is not the point here: the output cap is.
				e.opts.PageTimeout = time.Minute
			}
			doc, err := e.ParseImage(ctx, img)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
			if len(doc.Pages) != 1 || doc.Pages[0].Status != pipeline.PageError || doc.Pages[0].Error == "" {
				t.Errorf("pages %+v", doc.Pages)
			}
		})
	}
}

// Hostile images give a clear error, within the limits, and never take the
// calling process down.
func TestHostileImages(t *testing.T) {
	e := testEngine(t, Options{})
	ctx := testContext(t)
	png := scan(t, synth.Degradation{}, synth.ScanPNG)
	jpg := scan(t, synth.Degradation{Quality: 60}, synth.ScanJPEG)
	tif := scan(t, synth.Degradation{Quality: 60}, synth.ScanTIFF)

	// A decompression bomb: a small file whose header promises 40000 x
	// 40000 pixels. Refused from the header, before anything decodes it.
	bomb := bytes.Clone(png)
	copy(bomb[16:], []byte{0, 0, 0x9c, 0x40, 0, 0, 0x9c, 0x40})
	corrupt := bytes.Clone(png)
	for i := len(corrupt) / 2; i < len(corrupt)/2+2000; i++ {
		corrupt[i] ^= 0x5a // inside the image data; chunks still line up
	}
	for _, tt := range []struct {
		name string
		data []byte
		want error
	}{
		{"bomb", bomb, ErrTooLarge},
		{"truncated png", png[:len(png)/2], ErrBadImage},
		{"truncated jpeg", jpg[:len(jpg)/2], ErrBadImage},
		{"truncated tiff", tif[:len(tif)/2], ErrBadImage},
		{"corrupt png data", corrupt, ErrBadImage},
		{"not an image", []byte("%PDF-1.4 or anything else"), ErrBadImage},
		{"empty", nil, ErrBadImage},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.ParseImage(ctx, tt.data)
			if !errors.Is(err, tt.want) {
				t.Errorf("err %v, want %v", err, tt.want)
			}
		})
	}
	// Within the header limits, memory is the child's cap: a cap too small
	// for tesseract makes it fail as too large, not the caller.
	small := testEngine(t, Options{MemoryLimit: 120 << 20})
	if runtime.GOOS == "linux" {
		if _, err := small.ParseImage(ctx, png); !errors.Is(err, ErrTooLarge) {
			t.Errorf("under a 120 MiB cap: %v, want ErrTooLarge", err)
		}
	}
	big := testEngine(t, Options{MaxBytes: 1000})
	if _, err := big.ParseImage(ctx, png); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over MaxBytes: %v", err)
	}
}

// A cancelled context stops the work and is the error; the document is
// returned as it came.
func TestCancel(t *testing.T) {
	e := testEngine(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.ParseImage(ctx, scan(t, synth.Degradation{Quality: 70}, synth.ScanJPEG)); !errors.Is(err, context.Canceled) {
		t.Errorf("err %v", err)
	}
	data := mixedPDF(t)
	doc, err := pdf.Parse(context.Background(), bytes.NewReader(data), int64(len(data)), pdf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.OCR(ctx, doc, data, ModeForce)
	if !errors.Is(err, context.Canceled) || got.Pages[0].Status != pipeline.PageText || got.Pages[1].Status != pipeline.PageNoText {
		t.Errorf("err %v, pages %s %s", err, got.Pages[0].Status, got.Pages[1].Status)
	}
}
