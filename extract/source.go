package extract

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/extractor-dev/extractor/extract/einvoice"
	"github.com/extractor-dev/extractor/extract/lexicon"
	"github.com/extractor-dev/extractor/pipeline"
)

// The three sources of an extraction: the e-invoice a document carries
// (the exact data, when there is any), the page text read by the LLM, and
// the page text read by the rules. EInvoiceMode says which to use; the
// page text is always read too when an e-invoice is used, to check the
// printed page against the data (an invoice whose picture and data
// disagree is a known way to pay the wrong amount).

// EInvoiceMode chooses between a document's e-invoice and its text.
type EInvoiceMode string

// E-invoice modes.
const (
	// EInvoicePrefer reads a valid e-invoice when the document carries one
	// (no model is called) and the text otherwise.
	EInvoicePrefer EInvoiceMode = "prefer"
	// EInvoiceOff ignores e-invoices: the text path alone, as evals of the
	// text extractors need.
	EInvoiceOff EInvoiceMode = "off"
	// EInvoiceOnly reads e-invoices and fails documents without one.
	EInvoiceOnly EInvoiceMode = "only"
)

// ParseEInvoiceMode reads a mode; "" is prefer.
func ParseEInvoiceMode(s string) (EInvoiceMode, error) {
	switch m := EInvoiceMode(s); m {
	case "":
		return EInvoicePrefer, nil
	case EInvoicePrefer, EInvoiceOff, EInvoiceOnly:
		return m, nil
	}
	return "", fmt.Errorf("%w: einvoice %q: want prefer, off or only", pipeline.ErrInvalid, s)
}

// ErrNoEInvoiceOnly: with EInvoiceOnly, the document carries no readable
// e-invoice.
var ErrNoEInvoiceOnly = errors.New("extract: no readable e-invoice (einvoice: only)")

// EInvoiceFirst is the extractor of a run that reads e-invoices: a
// document's e-invoice when it carries a readable one, Text otherwise (in
// EInvoicePrefer mode; EInvoiceOnly fails those documents).
type EInvoiceFirst struct {
	Text pipeline.Extractor
	Mode EInvoiceMode
}

// Version names both readers and the mode.
func (e EInvoiceFirst) Version() string {
	text := "none"
	if e.Text != nil {
		text = e.Text.Version()
	}
	// The text extractor first: it is what most documents are read by,
	// and what a table of runs has room to show.
	return fmt.Sprintf("%s einvoice=%s (%s)", text, e.Mode, EInvoice{}.Version())
}

// VersionDetails passes on the text extractor's details (prompt, model).
func (e EInvoiceFirst) VersionDetails() map[string]string {
	if d, ok := e.Text.(pipeline.VersionDetails); ok {
		return d.VersionDetails()
	}
	return nil
}

// Extract reads the e-invoice, or the text. A document whose e-invoice
// does not read (a malformed or cut-off XML) is read from its text with a
// warning saying why, so the data it should have carried is looked at.
func (e EInvoiceFirst) Extract(ctx context.Context, doc pipeline.Document, s pipeline.Schema) (pipeline.Extraction, error) {
	_, err := einvoice.Find(doc)
	if err == nil {
		return EInvoice{}.Extract(ctx, doc, s)
	}
	if e.Mode == EInvoiceOnly || e.Text == nil {
		return pipeline.Extraction{DocumentID: doc.ID, Schema: s.Ref()}, fmt.Errorf("%w: %v", ErrNoEInvoiceOnly, err)
	}
	x, terr := e.Text.Extract(ctx, doc, s)
	if !errors.Is(err, einvoice.ErrNoInvoice) {
		x.Issues = append(x.Issues, pipeline.Issue{Code: pipeline.IssueEInvoice, Severity: pipeline.SeverityWarn,
			Message: "the document carries an e-invoice that does not read (" + pipeline.Printable(err.Error(), 200) + "): the values are read from the page text"})
	}
	return x, terr
}

// TextCheck is a run's second opinion: Text's reading of the page. With
// Always it reads every document (the rules as the LLM's second opinion);
// otherwise only documents that carry an e-invoice, whose values the
// validator then checks against the printed page (einvoice_mismatch). It
// is pipeline.Selective: the runner skips it where it does not apply.
type TextCheck struct {
	Text   pipeline.Extractor
	Always bool
}

// Version is the text extractor's.
func (c TextCheck) Version() string {
	if c.Always {
		return c.Text.Version()
	}
	return c.Text.Version() + " for=einvoice"
}

// Applies: always, or when doc carries a readable e-invoice.
func (c TextCheck) Applies(doc pipeline.Document) bool {
	if c.Always {
		return true
	}
	_, err := einvoice.Find(doc)
	return err == nil
}

// Extract reads the page text.
func (c TextCheck) Extract(ctx context.Context, doc pipeline.Document, s pipeline.Schema) (pipeline.Extraction, error) {
	return c.Text.Extract(ctx, doc, s)
}

// crossChecked are the fields whose printed value must be the e-invoice's:
// what a payment goes by.
var crossChecked = []string{"total_amount", "invoice_number", "issue_date", "iban", "vendor_vat_id", "vendor_name"}

// einvoiceMismatch compares the values read from an e-invoice with the
// text extractor's reading of the page. Where the page text gives another
// value, found on its page, for a field the e-invoice carries: a failing
// issue when the page does not print the e-invoice's value at all (the
// page and the data disagree), a warning when it prints it too (the text
// reader may have taken another number of the page).
func einvoiceMismatch(doc pipeline.Document, s pipeline.Schema, x *pipeline.Extraction, text *pipeline.Extraction) {
	if x.Source == nil || x.Source.Kind != "einvoice" || text == nil {
		return
	}
	for _, name := range crossChecked {
		spec, ok := s.Field(name)
		if !ok {
			continue
		}
		xf := x.Fields[name]
		tf, ok := text.Fields[name]
		if !xf.Found() || xf.Value == "" || !ok || !tf.Found() {
			continue
		}
		tv, _, err := Normalize(spec, tf.Raw)
		if err != nil || !Ground(doc, spec, tv, tf.Evidence).OK {
			continue // the text reader's value is not on its page: no evidence against the data
		}
		if sameReading(spec, xf.Value, tv) {
			continue
		}
		sev := pipeline.SeverityWarn
		how := "prints it too"
		if xf.NotPrinted() {
			sev, how = pipeline.SeverityFail, "does not print it"
		}
		x.Issues = append(x.Issues, pipeline.Issue{Field: name, Code: pipeline.IssueEInvoiceMismatch, Severity: sev,
			Message: fmt.Sprintf("the page prints %q (page %d: %q) where the e-invoice carries %q (%s, %s); the page %s",
				tv, tf.Page, pipeline.Printable(strings.TrimSpace(tf.Quote), 80), xf.Value, x.Source.Attachment,
				strings.TrimPrefix(xf.Origin, "einvoice:"), how)})
	}
}

// sameReading compares two normalized values of a field as a payment
// would: amounts by size (a credit note's XML carries them positive, its
// page often negative), identifiers without separators, names without
// their legal form and case.
func sameReading(spec pipeline.FieldSpec, a, b string) bool {
	switch spec.Type {
	case pipeline.TypeMoney, pipeline.TypeDecimal:
		da, err1 := decimal.NewFromString(a)
		db, err2 := decimal.NewFromString(b)
		return err1 == nil && err2 == nil && da.Abs().Equal(db.Abs())
	case pipeline.TypeIBAN, pipeline.TypeVATID:
		return compactID(a) == compactID(b)
	case pipeline.TypeString:
		if spec.Name == "vendor_name" || spec.Name == "customer_name" {
			ka, kb := lexicon.NameKey(a), lexicon.NameKey(b)
			return ka == kb || (len(ka) >= 4 && len(kb) >= 4 && (strings.HasPrefix(ka, kb) || strings.HasPrefix(kb, ka)))
		}
		return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
	}
	return a == b
}
