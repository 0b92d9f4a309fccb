// Package pipeline owns the domain: the types that flow through extractor
// (Document, Page, Line, Chunk, Schema, Extraction, Field, Issue, the
// ResultLine a run writes per document, Run, StepRecord), the error kinds
// every layer shares (ErrInvalid, ErrNotFound, ...), and the machinery
// that takes documents through the steps in a fixed order: the Runner and
// its step helper (span, content-addressed cache, step record), the Batch
// that runs a run's documents in input order, chunking, the run
// directory, and the interfaces it consumes (Parser, Extractor,
// Validator, Embedder, Store, Recorder, Cache).
//
// It does not parse files, call models, embed or talk to databases: those
// are the jobs of the packages that implement its interfaces (extract/pdf,
// extract, embed, store). It reads no configuration. Reading what runs
// left behind (lineage, diff) is the history package's.
package pipeline

import (
	"strings"
)

// Document is a parsed file: its identity, where it came from, and its pages
// with text in reading order.
type Document struct {
	// ID is the lowercase hex SHA-256 of the file's bytes, so the same bytes
	// always get the same ID whatever the file is called.
	ID string `json:"id"`
	// Source names where the bytes came from (usually a path); informational.
	Source string `json:"source,omitempty"`
	// Size is the file size in bytes.
	Size int64 `json:"size"`
	// Parser names the parser and its version, e.g. "pdf/1".
	Parser string `json:"parser"`
	// Meta holds document information the file declares (producer, title, ...).
	Meta map[string]string `json:"meta,omitempty"`
	// Warnings name repairs and fallbacks the parser needed (a rebuilt
	// cross-reference table, ...): the text may deserve a human look.
	Warnings []string `json:"warnings,omitempty"`
	// Pages are in document order; Pages[i].Number == i+1.
	Pages []Page `json:"pages"`
	// Attachments are the files the document carries: a PDF's embedded
	// and associated files (the XML of a Factur-X, ZUGFeRD or XRechnung
	// hybrid invoice among them), or, for an XML document, the XML
	// itself. The order is the file's (associated files first, then the
	// /EmbeddedFiles name tree), without duplicates.
	Attachments []Attachment `json:"attachments,omitempty"`
}

// Keys of Document.Meta for what a hybrid invoice declares in its XMP
// metadata (the fx: / zf: extension schema of Factur-X and ZUGFeRD). The
// values are as written, e.g. "EN 16931", "INVOICE", "factur-x.xml", "1.0".
const (
	// MetaEInvoiceSchema names the XMP extension schema: "Factur-X"
	// (urn:factur-x:pdfa:...), "ZUGFeRD" (urn:zugferd:... or
	// urn:ferd:...), or the namespace URI when it is neither.
	MetaEInvoiceSchema           = "einvoice_xmp_schema"
	MetaEInvoiceConformanceLevel = "einvoice_conformance_level"
	MetaEInvoiceDocumentType     = "einvoice_document_type"
	MetaEInvoiceDocumentFileName = "einvoice_document_file_name"
	MetaEInvoiceVersion          = "einvoice_version"
)

// Attachment is a file carried by a document.
type Attachment struct {
	// Name is the file name (the file specification's /UF, else /F).
	Name string `json:"name"`
	// Description is the file specification's /Desc.
	Description string `json:"description,omitempty"`
	// Relationship is the file's /AFRelationship to the document (Data,
	// Source, Alternative, Supplement, Unspecified); Factur-X and
	// ZUGFeRD 2 name their XML Data, Alternative or Source.
	Relationship string `json:"relationship,omitempty"`
	// Associated: the file is listed in the catalog's /AF array
	// (associated files, PDF/A-3), not only in the /EmbeddedFiles tree.
	Associated bool `json:"associated,omitempty"`
	// MIMEType is the embedded file stream's /Subtype ("text/xml",
	// "application/xml"); empty when the file does not say.
	MIMEType string `json:"mime_type,omitempty"`
	// Size is the length of the decoded bytes, or the declared size
	// (/Params /Size) when the bytes were not read.
	Size int64 `json:"size"`
	// SHA256 is the lowercase hex SHA-256 of Data; empty when Data was
	// not read.
	SHA256 string `json:"sha256,omitempty"`
	// Data holds the decoded bytes (base64 in JSON). It is nil when the
	// file was too large to keep or could not be read; Omitted says why.
	Data []byte `json:"data,omitempty"`
	// Omitted explains a nil Data.
	Omitted string `json:"omitted,omitempty"`
}

// PageStatus says what the parser could make of a page.
type PageStatus string

// Page statuses.
const (
	// PageText: the page has a text layer and its text was extracted.
	PageText PageStatus = "text"
	// PageNoText: the page has no extractable text (a scan or only images);
	// it is a candidate for OCR.
	PageNoText PageStatus = "no_text"
	// PageError: the page could not be read; Page.Error says why. The other
	// pages of the document are still usable.
	PageError PageStatus = "error"
	// PageOCR: the page's text was recognised from its image by OCR
	// (Page.OCR says how); its lines carry Words with confidences.
	PageOCR PageStatus = "ocr"
)

// HasText reports whether a page with this status has text to read: a text
// layer or recognised text.
func (s PageStatus) HasText() bool { return s == PageText || s == PageOCR }

// Page is one page of a document.
type Page struct {
	// Number is 1-based.
	Number int `json:"number"`
	// Width and Height are the page size in points (1/72 inch), after the
	// page's rotation has been applied.
	Width  float64    `json:"width"`
	Height float64    `json:"height"`
	Status PageStatus `json:"status"`
	// Error explains a PageError status.
	Error string `json:"error,omitempty"`
	// Lines are in reading order: top to bottom, and left to right within a
	// line. Line text keeps wide gaps (table columns) as runs of spaces.
	Lines []Line `json:"lines"`
	// OCR says how a PageOCR page was recognised; nil for other pages.
	OCR *OCRInfo `json:"ocr,omitempty"`
}

// OCRInfo records how a page's text was recognised, so that a reader (and
// the cache, through the parser version) knows what produced it.
type OCRInfo struct {
	// Engine and Version name the OCR program, e.g. "tesseract", "5.3.0".
	Engine  string `json:"engine"`
	Version string `json:"version"`
	// Languages are the engine's language models, e.g. "eng+deu+fra".
	Languages string `json:"languages"`
	// DPI is the resolution the page image was recognised at: the render
	// resolution of a PDF page, or the (declared or assumed) resolution of
	// an image file. Points = pixels * 72 / DPI.
	DPI int `json:"dpi"`
	// Rotation is how far the image was turned clockwise, in degrees (0,
	// 90, 180 or 270), to stand the page upright before recognition;
	// Page.Width, Height and every box are in the upright page.
	Rotation int `json:"rotation,omitempty"`
	// Skew is the small angle, in degrees, by which the text lines were
	// found to slope (positive: rising to the right). Boxes are where the
	// words are in the upright image, not straightened.
	Skew float64 `json:"skew,omitempty"`
	// Confidence is the mean confidence of the page's words, 0..1.
	Confidence float64 `json:"confidence"`
}

// Text returns the page's text: its lines joined by newlines.
func (p Page) Text() string {
	var b strings.Builder
	for i, l := range p.Lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(l.Text)
	}
	return b.String()
}

// Line is one line of text on a page and where it is.
type Line struct {
	Text string `json:"text"`
	// Box bounds the line in page coordinates: points, origin at the top
	// left of the (rotated) page, y growing downwards, as on screen.
	Box Box `json:"box"`
	// Words are the recognised words of an OCR line, in the order their
	// text appears in Text; nil for text-layer lines, whose text is what
	// the file says.
	Words []Word `json:"words,omitempty"`
}

// Word is one recognised word: its text, where it is and how sure the OCR
// engine was.
type Word struct {
	Text string `json:"text"`
	Box  Box    `json:"box"`
	// Confidence is the engine's confidence in the word, 0..1.
	Confidence float64 `json:"confidence"`
}

// Confidence is the lowest confidence of the line's words, 0..1, and
// whether the line has any (text-layer lines have none: their text is
// certain).
func (l Line) Confidence() (float64, bool) {
	return wordsConfidence(l.Words)
}

// WordsAt returns the words that overlap the bytes Text[start:end] (a
// quote found in the line), in order. It returns nil for lines without
// Words.
func (l Line) WordsAt(start, end int) []Word {
	var out []Word
	at := 0
	for _, w := range l.Words {
		i := strings.Index(l.Text[at:], w.Text)
		if i < 0 {
			break // Text was not built from Words
		}
		ws, we := at+i, at+i+len(w.Text)
		at = we
		if ws < end && we > start {
			out = append(out, w)
		}
	}
	return out
}

// SpanConfidence is the lowest confidence of the words under
// Text[start:end], and whether there are any (see WordsAt).
func (l Line) SpanConfidence(start, end int) (float64, bool) {
	return wordsConfidence(l.WordsAt(start, end))
}

func wordsConfidence(ws []Word) (float64, bool) {
	if len(ws) == 0 {
		return 0, false
	}
	c := ws[0].Confidence
	for _, w := range ws[1:] {
		c = min(c, w.Confidence)
	}
	return c, true
}

// Box is an axis-aligned rectangle in page coordinates.
type Box struct {
	X0 float64 `json:"x0"`
	Y0 float64 `json:"y0"`
	X1 float64 `json:"x1"`
	Y1 float64 `json:"y1"`
}

// Text returns the document's text: its pages' text separated by form feeds,
// as pdftotext separates pages.
func (d Document) Text() string {
	var b strings.Builder
	for i, p := range d.Pages {
		if i > 0 {
			b.WriteByte('\f')
		}
		b.WriteString(p.Text())
	}
	return b.String()
}

// TextPages counts the pages that have text: a text layer or recognised
// text (PageText or PageOCR).
func (d Document) TextPages() int {
	n := 0
	for _, p := range d.Pages {
		if p.Status.HasText() {
			n++
		}
	}
	return n
}
