package synth

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"image"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/extractor-dev/extractor/extract/pdf"
	"github.com/extractor-dev/extractor/internal/testenv"
)

var (
	updateScans = flag.Bool("update-scans", false, "rewrite the committed scanned samples in testdata/scans")
	// Making a scanned dataset on demand (for evals and measurements):
	//   go test ./internal/synth -run TestGenerateScannedSet -scan-out DIR -scan-count 200
	// writes DIR/dataset.jsonl with DIR/files/scan/* and the born-digital
	// twins in DIR/twins (the same seed, in the synth dataset format).
	scanOut     = flag.String("scan-out", "", "write a scanned dataset to this folder")
	scanCount   = flag.Int("scan-count", 200, "with -scan-out: how many invoices")
	scanSeed    = flag.Int64("scan-seed", 1, "with -scan-out: the seed")
	scanFormat  = flag.String("scan-format", "", "with -scan-out: pdf, png, jpeg or tiff (default: drawn per document)")
	scanProfile = flag.String("scan-profile", "", "with -scan-out: scanner, phone or sideways (default: drawn per document)")
)

func TestGenerateScannedSet(t *testing.T) {
	if *scanOut == "" {
		t.Skip("no -scan-out")
	}
	opts := ScanOptions{Options: Options{Seed: *scanSeed, Count: *scanCount, Noise: true},
		Format: ScanFormat(*scanFormat), Profile: Profile(*scanProfile)}
	if err := GenerateScanned(context.Background(), *scanOut, opts); err != nil {
		t.Fatal(err)
	}
	if err := Generate(filepath.Join(*scanOut, "twins"), opts.Options); err != nil {
		t.Fatal(err)
	}
}

// scanFixtures are the scanned samples committed in testdata/scans: small
// (150-200 dpi, little noise) so the repository stays light, and covering
// each format, a skew either way, three turns and a two-page TIFF.
var scanFixtures = []struct {
	index  int
	format ScanFormat
	dpi    int
	deg    Degradation
}{
	{0, ScanJPEG, 200, Degradation{Skew: 1.2, Blur: 0.9, Noise: 2, Paper: 215, Shade: 0.15, Quality: 55}},
	{1, ScanPDF, 150, Degradation{Skew: -0.6, Blur: 0.5, Noise: 1.5, Paper: 240, Quality: 50}},
	{3, ScanTIFF, 200, Degradation{Turn: 180, Skew: 0.5, Blur: 0.5, Noise: 3, Threshold: 190}},
	{6, ScanPNG, 150, Degradation{Turn: 90, Skew: 0.8, Blur: 0.5}},
}

var scanFixtureOptions = Options{Seed: 1, Noise: true}

func writeScanFixtures(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "files", ScanFamily), 0o755); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, f := range scanFixtures {
		deg := f.deg
		opts := ScanOptions{Options: scanFixtureOptions, Format: f.format, DPI: f.dpi, Degradation: &deg}
		data, _, row, err := ScannedInvoice(context.Background(), opts, f.index)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(row.File)), data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := enc.Encode(row); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "dataset.jsonl"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestScanFixtures checks the committed scanned samples: their labels are
// their born-digital twins', and each file is the format it says. The
// images are not compared byte for byte: they depend on the installed
// pdftoppm. Regenerate with
//
//	go test ./internal/synth -run TestScanFixtures -update-scans
func TestScanFixtures(t *testing.T) {
	dir := testenv.Testdata(t, "scans")
	if *updateScans {
		testenv.Program(t, "pdftoppm", "poppler-utils")
		writeScanFixtures(t, dir)
	}
	rows := readRows(t, filepath.Join(dir, "dataset.jsonl"))
	if len(rows) != len(scanFixtures) {
		t.Fatalf("%d rows, want %d", len(rows), len(scanFixtures))
	}
	for k, f := range scanFixtures {
		r := rows[k]
		_, twin, err := Invoice(scanFixtureOptions, f.index)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(r.Expected, twin.Expected) || r.ID != strings.Replace(twin.ID, "synth-", "scan-", 1) ||
			r.Schema != "invoice" || r.LabelQuality != "verified" || !strings.Contains(r.Notes, "of "+twin.ID+" ") {
			t.Errorf("row %s does not carry its twin's labels", r.ID)
		}
		data := readFile(t, filepath.Join(dir, r.File))
		if len(data) > 250<<10 {
			t.Errorf("%s is %d KB: keep committed samples small", r.File, len(data)>>10)
		}
		if got := magicFormat(data); got != f.format {
			t.Errorf("%s is %q, want %q", r.File, got, f.format)
		}
	}
}

func readRows(t *testing.T, path string) []Row {
	t.Helper()
	var rows []Row
	for _, l := range strings.Split(strings.TrimSpace(string(readFile(t, path))), "\n") {
		var r Row
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	return rows
}

func magicFormat(data []byte) ScanFormat {
	switch {
	case bytes.HasPrefix(data, []byte("%PDF-")):
		return ScanPDF
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return ScanPNG
	case bytes.HasPrefix(data, []byte{0xFF, 0xD8, 0xFF}):
		return ScanJPEG
	case bytes.HasPrefix(data, []byte("II*\x00")):
		return ScanTIFF
	}
	return ""
}

// tiffPages counts a little-endian TIFF's directories.
func tiffPages(t *testing.T, data []byte) int {
	t.Helper()
	n := 0
	for off := binary.LittleEndian.Uint32(data[4:]); off != 0 && n < 100; n++ {
		entries := binary.LittleEndian.Uint16(data[off:])
		off = binary.LittleEndian.Uint32(data[off+2+12*uint32(entries):])
	}
	return n
}

func TestScannedInvoice(t *testing.T) {
	testenv.Program(t, "pdftoppm", "poppler-utils")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	deg := Degradation{Skew: 1, Blur: 0.7, Noise: 4, Paper: 230, Shade: 0.1, Quality: 60}
	// Document 3 of seed 1 has two pages; the others one.
	for _, tt := range []struct {
		index  int
		format ScanFormat
		want   ScanFormat
		pages  int
	}{
		{0, ScanPNG, ScanPNG, 1},
		{0, ScanJPEG, ScanJPEG, 1},
		{3, ScanPDF, ScanPDF, 2},
		{3, ScanJPEG, ScanTIFF, 2}, // two pages do not fit a JPEG
	} {
		opts := ScanOptions{Options: Options{Seed: 1, Noise: true}, Format: tt.format, DPI: 72, Degradation: &deg}
		data, format, row, err := ScannedInvoice(ctx, opts, tt.index)
		if err != nil {
			t.Fatal(err)
		}
		if format != tt.want || magicFormat(data) != tt.want || !strings.HasSuffix(row.File, tt.want.ext()) {
			t.Errorf("%d as %s: got %s (%q, %s)", tt.index, tt.format, format, magicFormat(data), row.File)
		}
		_, twin, _ := Invoice(opts.Options, tt.index)
		if !reflect.DeepEqual(row.Expected, twin.Expected) || row.Group != strings.Replace(twin.Group, "synth:", "scan:", 1) {
			t.Errorf("row %+v, twin %+v", row, twin)
		}
		switch format {
		case ScanPDF:
			doc, err := pdf.ParseBytes(ctx, data, pdf.Options{})
			if !errors.Is(err, pdf.ErrNoText) || len(doc.Pages) != tt.pages {
				t.Errorf("image-only PDF: %v, %d pages", err, len(doc.Pages))
			}
		case ScanTIFF:
			if n := tiffPages(t, data); n != tt.pages {
				t.Errorf("TIFF has %d pages, want %d", n, tt.pages)
			}
		}
		again, _, _, err := ScannedInvoice(ctx, opts, tt.index)
		if err != nil || !bytes.Equal(data, again) {
			t.Errorf("%d as %s: not the same bytes twice (%v)", tt.index, tt.format, err)
		}
	}
	// Drawn per document: the profiles and formats vary with the index.
	var notes []string
	for i := range 6 {
		_, _, row, err := ScannedInvoice(ctx, ScanOptions{Options: Options{Seed: 3}, DPI: 50}, i)
		if err != nil {
			t.Fatal(err)
		}
		notes = append(notes, row.Notes)
	}
	if all := strings.Join(notes, "\n"); !strings.Contains(all, "scanner") || !strings.Contains(all, "jpeg q") {
		t.Errorf("notes:\n%s", all)
	}
}

func TestDegrade(t *testing.T) {
	src := image.NewGray(image.Rect(0, 0, 3, 2))
	copy(src.Pix, []byte{1, 2, 3, 4, 5, 6})
	for turn, want := range map[int][]byte{
		90:  {4, 1, 5, 2, 6, 3},
		180: {6, 5, 4, 3, 2, 1},
		270: {3, 6, 2, 5, 1, 4},
	} {
		got := Degrade(src, Degradation{Turn: turn}, 1)
		if !bytes.Equal(got.Pix, want) {
			t.Errorf("turn %d: %v, want %v", turn, got.Pix, want)
		}
	}
	if !bytes.Equal(src.Pix, []byte{1, 2, 3, 4, 5, 6}) {
		t.Error("Degrade changed its input")
	}
	// Paper and noise: white becomes the paper's grey, noise is the same
	// for the same seed and differs for another.
	white := image.NewGray(image.Rect(0, 0, 64, 64))
	for i := range white.Pix {
		white.Pix[i] = 255
	}
	a := Degrade(white, Degradation{Paper: 200, Noise: 5}, 7)
	b := Degrade(white, Degradation{Paper: 200, Noise: 5}, 7)
	c := Degrade(white, Degradation{Paper: 200, Noise: 5}, 8)
	if !bytes.Equal(a.Pix, b.Pix) || bytes.Equal(a.Pix, c.Pix) {
		t.Error("noise is not a function of the seed")
	}
	var sum int
	for _, v := range a.Pix {
		sum += int(v)
	}
	if mean := sum / len(a.Pix); mean < 195 || mean > 205 {
		t.Errorf("mean grey %d, want about 200", mean)
	}
	// A skew keeps the size; a blur keeps a flat image flat.
	if s := Degrade(white, Degradation{Skew: 2, Blur: 1}, 1); s.Rect != white.Rect || slices.Min(s.Pix) < 250 {
		t.Errorf("skewed white page: %v, min %d", s.Rect, slices.Min(s.Pix))
	}
}
