package ocr

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/extractor-dev/extractor/extract/pdf"
	"github.com/extractor-dev/extractor/internal/synth"
	"github.com/extractor-dev/extractor/internal/testenv"
	"github.com/extractor-dev/extractor/pipeline"
)

// scanRow is what these tests read of testdata/scans/dataset.jsonl.
type scanRow struct {
	ID       string         `json:"id"`
	File     string         `json:"file"`
	Expected synth.Expected `json:"expected"`
	Notes    string         `json:"notes"`
}

var twinRe = regexp.MustCompile(`of synth-(\d{4}) \(seed (\d+);`)
var turnRe = regexp.MustCompile(`turned (\d+)`)

// ocrFile reads a file the way the pipeline will: a PDF through extract/pdf
// and then OCR of its pages without text, anything else as an image.
func ocrFile(t *testing.T, e *Engine, data []byte) (pipeline.Document, error) {
	ctx := testContext(t)
	if bytes.HasPrefix(data, []byte("%PDF-")) {
		doc, err := pdf.ParseBytes(ctx, data, pdf.Options{})
		if err != nil && !errors.Is(err, pdf.ErrNoText) {
			return doc, err
		}
		return e.OCR(ctx, doc, data, ModeAuto)
	}
	return e.ParseImage(ctx, data)
}

// The committed scanned samples (made by internal/synth, see
// TestScanFixtures there) read back close to their born-digital twins.
func TestScanFixtures(t *testing.T) {
	e := testEngine(t, Options{})
	dir := testenv.Testdata(t, "scans")
	f, err := os.Open(filepath.Join(dir, "dataset.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r scanRow
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		t.Run(r.ID, func(t *testing.T) {
			m := twinRe.FindStringSubmatch(r.Notes)
			if m == nil {
				t.Fatalf("notes %q name no twin", r.Notes)
			}
			index, _ := strconv.Atoi(m[1])
			seed, _ := strconv.ParseInt(m[2], 10, 64)
			twinPDF, _, err := synth.Invoice(synth.Options{Seed: seed, Noise: true}, index-1)
			if err != nil {
				t.Fatal(err)
			}
			twin, err := pdf.ParseBytes(testContext(t), twinPDF, pdf.Options{})
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(filepath.Join(dir, r.File))
			if err != nil {
				t.Fatal(err)
			}
			doc, err := ocrFile(t, e, data)
			if err != nil {
				t.Fatal(err)
			}
			if len(doc.Pages) != len(twin.Pages) {
				t.Fatalf("%d pages, twin has %d", len(doc.Pages), len(twin.Pages))
			}
			turn := 0
			if m := turnRe.FindStringSubmatch(r.Notes); m != nil {
				turn, _ = strconv.Atoi(m[1])
			}
			for i, p := range doc.Pages {
				if p.Status != pipeline.PageOCR || p.OCR.Rotation != (360-turn)%360 || p.OCR.Confidence < 0.8 {
					t.Errorf("page %d: %s %+v", i+1, p.Status, p.OCR)
				}
				if r := wordRecall(twin.Pages[i].Text(), p.Text()); r < 0.85 {
					t.Errorf("page %d: word recall %.3f", i+1, r)
				}
			}
			// The key values are on the page (spaces aside).
			flat := strings.Join(strings.Fields(doc.Text()), "")
			found := 0
			for _, v := range []string{r.Expected.InvoiceNumber, r.Expected.IBAN, r.Expected.VendorVATID} {
				if strings.Contains(flat, v) {
					found++
				}
			}
			if found < 2 {
				t.Errorf("%d of invoice number, IBAN and VAT id found in:\n%s", found, doc.Text())
			}
			t.Log(fmt.Sprintf("%d pages, mean confidence %.3f", len(doc.Pages), doc.Pages[0].OCR.Confidence))
		})
	}
}

// Forced OCR of the shared corpus's hostile files (the first page of each
// that extract/pdf opens): whatever pdftoppm and tesseract make of them, the
// result is a document with typed errors or warnings, never a crash.
func TestHostileCorpusOCR(t *testing.T) {
	corpus := testenv.CorpusDir(t)
	// Low resolution and a short deadline keep it quick: a timeout is an
	// accepted outcome (a glyph table of thousands of CJK characters
	// takes tesseract minutes), so the deadline decides no verdict.
	e := testEngine(t, Options{DPI: 100, PageTimeout: 5 * time.Second})
	f, err := os.Open(filepath.Join(corpus, "hostile", "dataset.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r struct {
			ID, File, Expect string
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		t.Run(r.ID, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(corpus, "hostile", r.File))
			if err != nil {
				t.Fatal(err)
			}
			ctx := testContext(t)
			doc, err := pdf.ParseBytes(ctx, data, pdf.Options{MaxPages: 50})
			if len(doc.Pages) == 0 {
				t.Skipf("extract/pdf: %v", err)
			}
			doc.Pages = doc.Pages[:1]
			got, err := e.OCR(ctx, doc, data, ModeForce)
			if err != nil && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrBadImage) && !errors.Is(err, ErrEngine) && !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("untyped error %v", err)
			}
			p := got.Pages[0]
			if err == nil && p.Status != pipeline.PageOCR && p.Status != pipeline.PageNoText && p.Status != pipeline.PageText {
				t.Errorf("page status %s", p.Status)
			}
			t.Logf("%s: %s, %d lines, err %v, warnings %q", r.Expect, p.Status, len(p.Lines), err, got.Warnings)
		})
	}
}
