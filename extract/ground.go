package extract

import (
	"github.com/extractor-dev/extractor/pipeline"
)

// Grounding is the verdict on one value's evidence.
type Grounding struct {
	// OK: the quote is on the document and contains the value.
	OK bool
	// Page is where the quote was found: the cited page, or another page
	// when the quote is not on the cited one but is elsewhere (the caller
	// then corrects the evidence and raises a warning).
	Page int
	// Reason explains a failed grounding.
	Reason string
}

// Ground checks a value against the document: the quote must be on the
// cited page (compared without regard to case, runs of whitespace, line
// breaks or typographic variants of quotes and dashes) and must contain
// the value in some printed form of its type: "1.234,56" or "1,234.56"
// for 1234.56, a date in any common format, an IBAN or VAT id with or
// without spaces, a string case-insensitively. value is the normalized
// value, or the raw one when it did not normalize.
//
// (Placeholder: the full implementation replaces this.)
func Ground(doc pipeline.Document, spec pipeline.FieldSpec, value string, ev pipeline.Evidence) Grounding {
	return Grounding{Reason: "grounding not implemented"}
}
