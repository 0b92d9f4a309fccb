package extract

import (
	"strings"
	"unicode"

	"github.com/extractor-dev/extractor/pipeline"
)

// MinOCRConfidence is the lowest OCR word confidence a value may be read
// from and still pass without a person's look: below it the value gets an
// ocr_uncertain issue and at most OCRUncertainConfidence (so its document
// needs review). Tesseract's confidence for a word it read right is
// mostly above 0.9; see the README's OCR section for how it was chosen.
const MinOCRConfidence = 0.6

// OCRUncertainConfidence caps the confidence of a value read from
// uncertain OCR words, and of its document when the field is required.
const OCRUncertainConfidence = 0.5

// ocrConfidence is the lowest OCR confidence of the words that print a
// grounded value: the words of the recognised page whose text lies in the
// quote (found as Ground finds it, without regard to case or whitespace)
// and, for types that are written with digits, only the words that are
// mostly digits (a misread label word beside a clearly read amount, even
// "Tota1", does not make the amount doubtful). ok is false when the page was not recognised by OCR
// or the quote is not found on it.
func ocrConfidence(doc pipeline.Document, page int, spec pipeline.FieldSpec, quote string) (conf float64, ok bool) {
	if page < 1 || page > len(doc.Pages) || doc.Pages[page-1].Status != pipeline.PageOCR {
		return 0, false
	}
	q := foldForMatch(quote)
	if q == "" {
		return 0, false
	}
	p := doc.Pages[page-1]
	// The page folded as foldPage folds it, with where each word lies.
	type span struct {
		start, end int
		word       pipeline.Word
	}
	var words []span
	var b strings.Builder
	for _, l := range p.Lines {
		for _, w := range l.Words {
			start := b.Len()
			appendFolded(&b, w.Text)
			words = append(words, span{start, b.Len(), w})
		}
	}
	at := strings.Index(b.String(), q)
	if at < 0 {
		return 0, false // the quote crosses text that has no words
	}
	end := at + len(q)
	digits := numeric(spec.Type)
	conf, ok = 1, false
	all, anyAll := 1.0, false
	for _, s := range words {
		if s.end <= at || s.start >= end || s.start == s.end {
			continue
		}
		all, anyAll = min(all, s.word.Confidence), true
		if !digits || mostlyDigits(s.word.Text) {
			conf, ok = min(conf, s.word.Confidence), true
		}
	}
	if !ok {
		return all, anyAll
	}
	return conf, true
}

// numeric reports whether values of a type are written with digits.
func numeric(t pipeline.FieldType) bool {
	switch t {
	case pipeline.TypeMoney, pipeline.TypeDecimal, pipeline.TypeInteger, pipeline.TypeDate, pipeline.TypeIBAN, pipeline.TypeVATID:
		return true
	}
	return false
}

// ocrUncertain reports whether a field was read from OCR words below
// MinOCRConfidence.
func ocrUncertain(f pipeline.Field) bool {
	return f.Signals.OCR > 0 && f.Signals.OCR < MinOCRConfidence
}

// mostlyDigits reports whether at least half of a word's letters and
// digits are digits.
func mostlyDigits(w string) bool {
	d, n := 0, 0
	for _, r := range w {
		switch {
		case unicode.IsDigit(r):
			d++
			n++
		case unicode.IsLetter(r):
			n++
		}
	}
	return d > 0 && 2*d >= n
}
