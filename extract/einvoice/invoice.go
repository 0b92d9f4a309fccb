// Package einvoice reads electronic invoices: the CII XML that Factur-X,
// ZUGFeRD 2 and XRechnung attach to a PDF or send on their own, UBL 2.1
// Invoice and CreditNote (Peppol, XRechnung), and ZUGFeRD 1.0's older CII
// dialect. It tells the syntax from the root element, the profile from
// the specification identifier (BT-24), maps the document to neutral,
// typed values named by EN 16931 business terms (BT-1, BT-112, ...) in the
// normal forms the rest of extractor uses, and checks the EN 16931
// business rules that apply to the profile (with
// github.com/speedata/einvoice, which reads CII and UBL).
//
// It also picks the e-invoice among a document's attachments (Find) and
// makes a pipeline.Document of an XML file (Document). It does not read
// PDFs (extract/pdf lists their attachments), look at page text, or decide
// what an extraction is: extract.EInvoice does that with what this package
// reads.
package einvoice

import (
	"errors"
	"fmt"
	"strings"
)

// Errors callers branch on; errors of this package wrap one of them.
var (
	// ErrMalformed: the XML is not well-formed (or not in an encoding
	// this package reads).
	ErrMalformed = errors.New("einvoice: malformed XML")
	// ErrUnknownSyntax: well-formed XML, but not an e-invoice syntax this
	// package knows (an order, a different standard, any other XML).
	ErrUnknownSyntax = errors.New("einvoice: not an e-invoice syntax this reader knows")
	// ErrTooLarge: the XML exceeds a size, depth or element limit.
	ErrTooLarge = errors.New("einvoice: XML too large")
	// ErrNoInvoice: the document carries no e-invoice (no attachment that
	// reads as one).
	ErrNoInvoice = errors.New("einvoice: no e-invoice in the document")
)

// Invoice is an e-invoice read into neutral values. Every value is in its
// normal form (see the package's value rules) and "" when the invoice
// does not carry it.
type Invoice struct {
	Syntax  Syntax
	Profile Profile
	// Guideline is the specification identifier (BT-24) as written.
	Guideline string

	// The values of the built-in invoice schema, by business term.
	Number           string // BT-1
	IssueDate        string // BT-2
	TypeCode         string // BT-3: 380 invoice, 381 credit note, ...
	Currency         string // BT-5
	DueDate          string // BT-9, the first due date
	SellerName       string // BT-27
	SellerVATID      string // BT-31, the schemeID VA registration (not the FC tax number)
	BuyerName        string // BT-44
	IBAN             string // BT-84, the first payee account's IBAN
	NetAmount        string // BT-109
	TaxAmount        string // BT-110, in the invoice currency
	TotalAmount      string // BT-112
	DuePayableAmount string // BT-115
	Lines            []Line

	// Warnings say what was forgiven or doubtful while reading: a repaired
	// declaration, a value that does not parse (left out), an unknown
	// profile, rule checks that could not run.
	Warnings []string
	// RulesChecked: the EN 16931 business rules applying to the profile
	// were checked; Violations lists the broken ones.
	RulesChecked bool
	Violations   []Violation

	values     map[string]string
	lineValues []map[string]string
}

// Line is one invoice line (BG-25).
type Line struct {
	Description string // BT-153, the item name
	Quantity    string // BT-129
	UnitPrice   string // BT-146, the item net price
	Amount      string // BT-131, the line net amount
}

// Violation is a broken business rule.
type Violation struct {
	// Rule is the rule's code, e.g. "BR-CO-16".
	Rule string
	// Terms are the business terms the rule is about.
	Terms []string
	// Text says what is wrong, with the values.
	Text string
}

func (v Violation) String() string { return v.Rule + ": " + v.Text }

// Read reads an e-invoice from its XML. It fails with ErrMalformed,
// ErrTooLarge or ErrUnknownSyntax; anything short of that is read, with
// Warnings saying what was doubtful.
func Read(data []byte) (*Invoice, error) {
	p, err := parseXML(data)
	if err != nil {
		return nil, err
	}
	syn, warns, err := detectSyntax(p.root)
	if err != nil {
		return nil, err
	}
	inv := &Invoice{Syntax: syn, Warnings: append(p.warnings, warns...)}
	inv.readTerms(p.root)
	inv.Guideline = inv.values["BT-24"]
	prof, w := profileOf(syn, inv.Guideline)
	inv.Profile = prof
	if w != "" {
		inv.Warnings = append(inv.Warnings, w)
	}
	v := inv.values
	inv.Number, inv.IssueDate, inv.TypeCode, inv.Currency, inv.DueDate = v["BT-1"], v["BT-2"], v["BT-3"], v["BT-5"], v["BT-9"]
	inv.SellerName, inv.SellerVATID, inv.BuyerName, inv.IBAN = v["BT-27"], v["BT-31"], v["BT-44"], v["BT-84"]
	inv.NetAmount, inv.TaxAmount, inv.TotalAmount, inv.DuePayableAmount = v["BT-109"], v["BT-110"], v["BT-112"], v["BT-115"]
	for _, lv := range inv.lineValues {
		inv.Lines = append(inv.Lines, Line{Description: lv["BT-153"], Quantity: lv["BT-129"], UnitPrice: lv["BT-146"], Amount: lv["BT-131"]})
	}
	inv.checkRules(p.clean)
	return inv, nil
}

// Value returns the normalized value of a document-level business term
// ("BT-13"), "" when the invoice does not carry it or the term is not one
// this package reads (see Terms).
func (inv *Invoice) Value(id string) string { return inv.values[CanonicalTerm(id)] }

// LineValue returns the normalized value of a line-level term of line i
// (0-based).
func (inv *Invoice) LineValue(i int, id string) string {
	if i < 0 || i >= len(inv.lineValues) {
		return ""
	}
	return inv.lineValues[i][CanonicalTerm(id)]
}

// Valid reports whether the invoice was checked against the business
// rules of its profile and breaks none.
func (inv *Invoice) Valid() bool { return inv.RulesChecked && len(inv.Violations) == 0 }

// readTerms evaluates every term of the table: document-level ones on the
// root, line-level ones on each line.
func (inv *Invoice) readTerms(root *node) {
	inv.values = map[string]string{}
	var lineIDs []string
	for _, id := range Terms() {
		t := terms[id]
		if t.Line {
			lineIDs = append(lineIDs, id)
			continue
		}
		if v := inv.eval(t, root, ""); v != "" {
			inv.values[id] = v
		}
	}
	var lines []*node
	for _, p := range linePaths(inv.Syntax) {
		lines = append(lines, p.nodes(root)...)
	}
	for i, ln := range lines {
		lv := map[string]string{}
		for _, id := range lineIDs {
			if v := inv.eval(terms[id], ln, fmt.Sprintf("line %d: ", i+1)); v != "" {
				lv[id] = v
			}
		}
		if informational(lv) {
			inv.Warnings = append(inv.Warnings, fmt.Sprintf("line %d (%q) has no quantity, price or amount: a section header or note, left out", i+1, lv["BT-153"]))
			continue
		}
		inv.lineValues = append(inv.lineValues, lv)
	}
}

// informational reports whether a line bills nothing: quantity, net price
// and amount all zero or absent. Some generators (Odoo's UBL) write
// section headers and notes as such lines; they are not invoice lines
// and the labels of the shared corpus leave them out too.
func informational(lv map[string]string) bool {
	for _, id := range []string{"BT-129", "BT-146", "BT-131"} {
		if v := lv[id]; v != "" && strings.Trim(v, "0.-+") != "" {
			return false
		}
	}
	return true
}

// eval returns the first value of t that its paths give from ctx and that
// normalizes; values that do not are left out with a warning.
func (inv *Invoice) eval(t *Term, ctx *node, where string) string {
	for pi, p := range t.paths(inv.Syntax) {
		var hits []hit
		if t.kind == kindDate && p.attr == "" {
			for _, n := range p.nodes(ctx) {
				txt, f := dateText(n)
				hits = append(hits, hit{n, txt + "\x00" + f})
			}
		} else {
			hits = p.values(ctx)
		}
		if t.cur != "" {
			hits = inv.inCurrency(t, hits)
		}
		for _, h := range hits {
			raw, format, _ := strings.Cut(h.value, "\x00")
			if strings.TrimSpace(raw) == "" {
				continue
			}
			v, err := normalize(t.kind, raw, format)
			if err != nil {
				inv.Warnings = append(inv.Warnings, fmt.Sprintf("%s%s (%s): %v; left out", where, t.ID, t.Name, err))
				continue
			}
			if t.leniency.warn != "" && pi == t.leniency.index && (inv.Syntax != UBLInvoice && inv.Syntax != UBLCreditNote) {
				inv.Warnings = append(inv.Warnings, where+t.leniency.warn)
			}
			return v
		}
	}
	return ""
}

// inCurrency keeps the amounts in the currency t's currency term names:
// an exact currencyID match, else (for the invoice currency) the amounts
// that name no currency.
func (inv *Invoice) inCurrency(t *Term, hits []hit) []hit {
	want := inv.values[string(t.cur)]
	var exact, unmarked []hit
	for _, h := range hits {
		c, ok := h.n.attr("currencyID")
		switch {
		case ok && want != "" && strings.EqualFold(strings.TrimSpace(c), want):
			exact = append(exact, h)
		case !ok || strings.TrimSpace(c) == "":
			unmarked = append(unmarked, h)
		}
	}
	if len(exact) > 0 {
		return exact
	}
	if t.cur == "BT-5" {
		if len(unmarked) == 0 && len(hits) > 0 {
			if want == "" {
				return hits[:1] // no invoice currency to compare with
			}
			inv.Warnings = append(inv.Warnings, fmt.Sprintf("%s (%s) is not given in the invoice currency %s; left out", t.ID, t.Name, want))
		}
		return unmarked
	}
	return nil // an accounting-currency amount must say its currency
}
