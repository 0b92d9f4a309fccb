package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"

	"github.com/extractor-dev/extractor/extract/einvoice"
	"github.com/extractor-dev/extractor/extract/ocr"
	"github.com/extractor-dev/extractor/extract/pdf"
	"github.com/extractor-dev/extractor/pipeline"
)

// ocrConfig is the config file's ocr: section (flags override it).
type ocrConfig struct {
	// Mode is auto (pages without a text layer, and image files), force
	// (every page) or off.
	Mode      string `yaml:"mode" json:"mode,omitempty"`
	Languages string `yaml:"languages" json:"languages,omitempty"`
	DPI       int    `yaml:"dpi" json:"dpi,omitempty"`
}

// Media are the kinds of file the pipeline reads.
const (
	mediaPDF   = "pdf"
	mediaXML   = "xml"   // an e-invoice (CII, UBL)
	mediaImage = "image" // PNG, JPEG, TIFF: read by OCR
)

// mediaOf says what data is, by its bytes (never by its name): "" for
// anything the pipeline does not read.
func mediaOf(data []byte) string {
	switch {
	case pdf.LooksLikePDF(data):
		return mediaPDF
	case ocr.Sniff(data[:min(len(data), 64)]) != "":
		return mediaImage
	case einvoice.IsXML(data[:min(len(data), 4096)]):
		return mediaXML
	}
	return ""
}

// errUnsupported: not a document the pipeline reads.
var errUnsupported = fmt.Errorf("%w: not a PDF, an e-invoice XML (CII, UBL) or an image (PNG, JPEG, TIFF)", pipeline.ErrInvalid)

// documentParser is the pipeline's parser: PDFs (isolated or not) with OCR
// of the pages that have no text layer, e-invoice XML files, and images
// through OCR. The kind of a file is read from its bytes.
type documentParser struct {
	pdf     pdf.Options
	isolate bool
	pool    *pdf.Pool // the isolated PDF parser's long-lived children
	ocrMode ocr.Mode
	ocrOpts ocr.Options

	once   sync.Once
	engine *ocr.Engine
	ocrErr error // why OCR cannot run here (a missing program or language)
}

// ocrEngine starts the OCR engine once, when first needed: a machine
// without tesseract still reads born-digital PDFs, and a scanned page then
// fails with what to install.
func (p *documentParser) ocrEngine(ctx context.Context) (*ocr.Engine, error) {
	// Not the caller's context: a request that ends must not leave the
	// engine unusable for the next one.
	p.once.Do(func() { p.engine, p.ocrErr = ocr.New(context.WithoutCancel(ctx), p.ocrOpts) })
	return p.engine, p.ocrErr
}

func (p *documentParser) Parse(ctx context.Context, in pipeline.Input) (pipeline.Document, error) {
	data := in.Data
	if in.Path != "" {
		var err error
		if data, err = readLimited(in.Path, max(p.pdf.MaxBytes, pdf.DefaultMaxBytes)); err != nil {
			return pipeline.Document{}, err
		}
	}
	doc, err := p.parse(ctx, data, in.Name)
	doc.Source = in.Name
	return doc, err
}

func (p *documentParser) parse(ctx context.Context, data []byte, name string) (pipeline.Document, error) {
	switch mediaOf(data) {
	case mediaPDF:
		return p.parsePDF(ctx, data)
	case mediaXML:
		return einvoice.Document(data, name)
	case mediaImage:
		if p.ocrMode == ocr.ModeOff {
			return pipeline.Document{}, fmt.Errorf("%w: an image file needs OCR, which is off (--ocr off)", pipeline.ErrInvalid)
		}
		eng, err := p.ocrEngine(ctx)
		if err != nil {
			return pipeline.Document{}, fmt.Errorf("an image file needs OCR: %w", err)
		}
		return eng.ParseImage(ctx, data)
	}
	return pipeline.Document{}, errUnsupported
}

// parsePDF parses a PDF and recognises the pages OCR is for. A document
// with no text at all still goes on when it carries an e-invoice: the
// data is there, only the cross-check against the page is not.
func (p *documentParser) parsePDF(ctx context.Context, data []byte) (pipeline.Document, error) {
	var doc pipeline.Document
	var err error
	if p.isolate {
		doc, err = p.pool.ParseBytes(ctx, data, p.pdf)
	} else {
		doc, err = pdf.ParseBytes(ctx, data, p.pdf)
	}
	if err != nil && !errors.Is(err, pdf.ErrNoText) {
		return doc, err
	}
	if p.ocrMode != ocr.ModeOff && p.needsOCR(doc) {
		why := "OCR found no text on any page"
		if eng, oerr := p.ocrEngine(ctx); oerr != nil {
			why = "pages without a text layer need OCR: " + oerr.Error()
		} else if recognised, oerr := eng.OCR(ctx, doc, data, p.ocrMode); oerr != nil {
			if ctx.Err() != nil {
				return doc, oerr
			}
			why = "OCR failed: " + oerr.Error()
			doc.Warnings = append(doc.Warnings, why)
		} else {
			doc = recognised
		}
		err = nil // pages OCR could not read are warnings
		if doc.TextPages() == 0 {
			err = fmt.Errorf("%w: %s", pdf.ErrNoText, why)
		}
	}
	if errors.Is(err, pdf.ErrNoText) {
		if _, ferr := einvoice.Find(doc); ferr == nil {
			doc.Warnings = append(doc.Warnings, "no page has text ("+err.Error()+"); the e-invoice it carries is read, but cannot be checked against the page")
			err = nil
		}
	}
	return doc, err
}

// needsOCR: force, or a page without a text layer.
func (p *documentParser) needsOCR(doc pipeline.Document) bool {
	if p.ocrMode == ocr.ModeForce {
		return len(doc.Pages) > 0
	}
	for _, pg := range doc.Pages {
		if pg.Status == pipeline.PageNoText {
			return true
		}
	}
	return false
}

// Version names what shapes the parser's output (not the timeout or the
// password, which only decide whether it succeeds): the PDF parser, the
// e-invoice reader and, with OCR, the engine with its program, languages,
// language data and resolution.
func (p *documentParser) Version() string {
	o := p.pdf
	if o.MaxPages == 0 {
		o.MaxPages = pdf.DefaultMaxPages
	}
	v := fmt.Sprintf("%s max_pages=%d %s ocr=%s", pdf.Version, o.MaxPages, einvoice.ParserVersion, p.ocrMode)
	if p.ocrMode == ocr.ModeOff {
		return v
	}
	if eng, err := p.ocrEngine(context.Background()); err == nil {
		return v + " " + eng.Version()
	}
	return v + " " + ocr.Version + " (unavailable)"
}

// readLimited reads a file of at most limit bytes.
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: over %d bytes", pdf.ErrTooLarge, limit)
	}
	return data, nil
}

// documentFile reports whether a file name is one a folder is searched
// for: PDFs, XML (e-invoices) and images.
func documentFile(name string) bool {
	switch strings.ToLower(name[strings.LastIndexByte(name, '.')+1:]) {
	case "pdf", "xml", "png", "jpg", "jpeg", "tif", "tiff":
		return true
	}
	return false
}

// documentParser builds the parser a run's settings ask for; workers is
// how many documents are processed at once, among which OCR shares the
// cores.
func (m *Main) documentParser(s settings, opts pdf.Options, isolate bool, workers int) (*documentParser, error) {
	mode, err := ocr.ParseMode(firstNonEmpty(s.OCR.Mode, string(ocr.ModeAuto)))
	if err != nil {
		return nil, usageError{err}
	}
	p := &documentParser{pdf: opts, isolate: isolate, pool: m.parsers(), ocrMode: mode,
		ocrOpts: ocr.Options{Languages: s.OCR.Languages, DPI: s.OCR.DPI, Workers: max(1, runtime.NumCPU()/max(1, workers))}}
	if mode != ocr.ModeOff {
		// Languages the machine lacks are a mistake in the settings: say
		// so before any work. A missing tesseract is not (born-digital
		// PDFs need none): scanned pages then fail saying what to install.
		if _, err := p.ocrEngine(context.Background()); errors.Is(err, ocr.ErrLanguage) {
			return nil, usageError{fmt.Errorf("--ocr-lang %s: %w", s.OCR.Languages, err)}
		}
	}
	return p, nil
}
