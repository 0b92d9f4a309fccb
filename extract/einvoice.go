package extract

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/extractor-dev/extractor/extract/einvoice"
	"github.com/extractor-dev/extractor/pipeline"
)

// EInvoice is the extractor for e-invoices: it reads the fields of a
// schema from the invoice XML a document carries (the factur-x.xml of a
// Factur-X or ZUGFeRD PDF, an XRechnung or Peppol UBL file parsed with
// einvoice.Document) instead of guessing them from the page text.
//
// A schema field names the EN 16931 business term that carries it
// (FieldSpec.EInvoice: "BT-112"; an array names BG-25, the invoice lines,
// and its items name line-level terms). Fields without a term are left
// empty. Each value is then looked up on the page as printed, in the
// document's own formats (31.12.2024 or 12/31/2024 for 2024-12-31,
// 1.234,56 or 1 234,56 for 1234.56, an IBAN in groups): when a line prints
// it, the value gets that page and line as its evidence, as any
// extractor's would, and Finalize grounds it. When no line does, the
// evidence has page 0 and no quote (Evidence.NotPrinted): the value is
// the e-invoice's, the page does not show it, and that is not an error.
// Every value's Evidence.Origin names its term ("einvoice:BT-112").
//
// The extraction's Source records the attachment (name, relationship,
// SHA-256), the syntax, the profile and the EN 16931 rules the XML
// breaks; broken rules and reading doubts are warnings (codes
// einvoice_rule and einvoice), not failures: whether an invalid
// e-invoice is accepted is the caller's policy.
type EInvoice struct{}

// EInvoiceVersion names the behaviour of EInvoice; bump it when what it
// reads for the same document may change.
const EInvoiceVersion = "einvoice/1"

// Version is the extractor's version with the rule checker's.
func (EInvoice) Version() string { return EInvoiceVersion + " rules=" + einvoice.RulesVersion }

// Extract reads the schema's fields from the document's e-invoice. It
// fails when ctx is done and when the document carries no readable
// e-invoice: errors.Is(err, einvoice.ErrNoInvoice) when it has none,
// einvoice.ErrMalformed, ErrUnknownSyntax or ErrTooLarge when its
// candidate XML does not read.
func (EInvoice) Extract(ctx context.Context, doc pipeline.Document, s pipeline.Schema) (pipeline.Extraction, error) {
	if err := ctx.Err(); err != nil {
		return pipeline.Extraction{}, err
	}
	found, err := einvoice.Find(doc)
	if err != nil {
		return pipeline.Extraction{}, fmt.Errorf("einvoice: %w", err)
	}
	return EInvoiceExtraction(doc, s, found), nil
}

// EInvoiceExtraction maps an e-invoice already found on doc (see
// einvoice.Find) to an extraction of schema s, with evidence from the
// page text. It is Extract without the search, for callers that found the
// e-invoice to decide which extractor to run.
func EInvoiceExtraction(doc pipeline.Document, s pipeline.Schema, found einvoice.Found) pipeline.Extraction {
	inv := found.Invoice
	x := pipeline.Extraction{
		DocumentID: doc.ID,
		Schema:     s.Ref(),
		Extractor:  pipeline.ExtractorRef{Kind: "einvoice", Version: EInvoiceVersion},
		Fields:     map[string]pipeline.Field{},
		Source:     found.Source(),
	}
	pages := newPrinted(doc)
	fieldOf := map[string]string{} // term -> schema field, for issues
	for _, spec := range s.Fields {
		term := einvoice.CanonicalTerm(spec.EInvoice)
		if term == "" {
			continue
		}
		if spec.Type == pipeline.TypeArray {
			if term == einvoice.Lines {
				if items := einvoiceItems(inv, spec, pages); len(items) > 0 {
					if x.Lists == nil {
						x.Lists = map[string][]pipeline.Item{}
					}
					x.Lists[spec.Name] = items
				}
			}
			continue
		}
		fieldOf[term] = spec.Name
		v := inv.Value(term)
		if v == "" {
			continue
		}
		x.Fields[spec.Name] = pipeline.Field{Raw: v, Evidence: pages.locate(spec.Type, v, term)}
	}
	for _, w := range append(slices.Clone(inv.Warnings), found.Skipped...) {
		x.Issues = append(x.Issues, pipeline.Issue{Code: pipeline.IssueEInvoice, Severity: pipeline.SeverityWarn, Message: w})
	}
	for _, v := range inv.Violations {
		is := pipeline.Issue{Code: pipeline.IssueEInvoiceRule, Severity: pipeline.SeverityWarn, Message: v.String()}
		for _, t := range v.Terms {
			if f, ok := fieldOf[t]; ok {
				is.Field = f
				break
			}
		}
		x.Issues = append(x.Issues, is)
	}
	return x
}

// ErrNoEInvoice is einvoice.ErrNoInvoice, for callers that branch on it
// without importing the reader.
var ErrNoEInvoice = einvoice.ErrNoInvoice

// IsEInvoiceError reports whether err says that the document has no
// usable e-invoice (none at all, or one that does not read), as opposed
// to a cancelled context.
func IsEInvoiceError(err error) bool {
	for _, e := range []error{einvoice.ErrNoInvoice, einvoice.ErrMalformed, einvoice.ErrUnknownSyntax, einvoice.ErrTooLarge} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// einvoiceItems maps the invoice lines to items of spec, each with the
// page line that prints it as evidence. Lines are looked for in order:
// each after the previous one's row where the page allows.
func einvoiceItems(inv *einvoice.Invoice, spec pipeline.FieldSpec, pages *printed) []pipeline.Item {
	var items []pipeline.Item
	after := printedPos{}
	for i := range inv.Lines {
		vals := map[string]string{}
		for _, sub := range spec.Items {
			if t := einvoice.CanonicalTerm(sub.EInvoice); t != "" {
				if v := inv.LineValue(i, t); v != "" {
					vals[sub.Name] = v
				}
			}
		}
		if len(vals) == 0 {
			continue
		}
		row, ok := pages.row(spec, vals, after)
		it := pipeline.Item{Fields: map[string]pipeline.Field{}, Evidence: pipeline.Evidence{Origin: "einvoice:" + einvoice.Lines}}
		if ok {
			it.Evidence.Page, it.Evidence.Quote = row.page, row.quote
			after = row.printedPos
		}
		for _, sub := range spec.Items {
			v, found := vals[sub.Name]
			if !found {
				continue
			}
			ev := pipeline.Evidence{Origin: "einvoice:" + einvoice.CanonicalTerm(sub.EInvoice)}
			if ok && quoteHasValue(sub.Type, v, row.quote) {
				ev.Page, ev.Quote = row.page, row.quote
			}
			it.Fields[sub.Name] = pipeline.Field{Raw: v, Evidence: ev}
		}
		items = append(items, it)
	}
	return items
}

// printed is the page text of a document, line by line, for finding where
// a value is printed.
type printed struct {
	lines []printedLine
}

type printedPos struct {
	page, idx int // 1-based page; index of the line on its page
}

type printedLine struct {
	printedPos
	text string
}

func newPrinted(doc pipeline.Document) *printed {
	p := &printed{}
	for _, pg := range doc.Pages {
		for i, l := range pg.Lines {
			if strings.TrimSpace(l.Text) == "" {
				continue
			}
			p.lines = append(p.lines, printedLine{printedPos: printedPos{pg.Number, i}, text: l.Text})
		}
	}
	return p
}

// locate finds the line that prints value as a field of type t. When
// several lines print it (a due date equal to the issue date, a net equal
// to the total), a line with the term's label ("Total HT", "fällig",
// "Due date") is preferred over one without, and then the first line,
// except for amounts, whose last printing is taken (a total is printed at
// the end, after the line items that may repeat it). A value split over
// two lines (a name that wraps) is quoted with both. Not printed
// anywhere: page 0, no quote.
func (p *printed) locate(t pipeline.FieldType, value, term string) pipeline.Evidence {
	ev := pipeline.Evidence{Origin: "einvoice:" + term}
	h, hinted := labelHints[term]
	var hit *printedLine
	hitLabelled := false
	for i := range p.lines {
		l := &p.lines[i]
		if !quoteHasValue(t, value, l.text) {
			continue
		}
		labelled := hinted && h.labels(l.text)
		switch {
		case hit == nil, labelled && !hitLabelled:
		case labelled == hitLabelled && t == pipeline.TypeMoney:
		default:
			continue
		}
		hit, hitLabelled = l, labelled
	}
	if hit != nil {
		ev.Page, ev.Quote = hit.page, hit.text
		return ev
	}
	if t == pipeline.TypeString {
		for i := 0; i+1 < len(p.lines); i++ {
			a, b := p.lines[i], p.lines[i+1]
			if a.page != b.page {
				continue
			}
			q := a.text + "\n" + b.text
			if quoteHasValue(t, value, q) {
				ev.Page, ev.Quote = a.page, q
				return ev
			}
		}
	}
	return ev
}

// labelHint recognizes the labels printed next to a term's value, in
// English, German and French (on text folded by foldText).
type labelHint struct{ pos, neg *regexp.Regexp }

func (h labelHint) labels(line string) bool {
	f := foldText(line)
	return h.pos.MatchString(f) && (h.neg == nil || !h.neg.MatchString(f))
}

var (
	dueLabelRe = regexp.MustCompile(`due|fallig|zahlbar|zahlungsziel|payable|echeance|remit|until|bis zum|avant le|before`)
	labelHints = map[string]labelHint{
		"BT-2":   {pos: regexp.MustCompile(`date|datum|issued|\bdu\b|\ble\b|\bvom\b`), neg: dueLabelRe},
		"BT-9":   {pos: dueLabelRe},
		"BT-109": {pos: regexp.MustCompile(`net|sub-?total|zwischensumme|\bht\b|hors tax|untaxed|excl|sous-total|warenwert|without`), neg: regexp.MustCompile(`ttc|brutto|gross|incl|grand`)},
		"BT-110": {pos: regexp.MustCompile(`tax|vat|\bust|mwst|\btva|steuer|gst`), neg: regexp.MustCompile(`ttc|incl|grand|\bht\b|net`)},
		"BT-112": {pos: regexp.MustCompile(`total|gesamt|\bttc\b|brutto|due|payable|a payer|summe|betrag|grand|amount`), neg: regexp.MustCompile(`\bnet|netto|\bht\b|sub-?total|sous-total|zwischensumme|excl|without`)},
		"BT-84":  {pos: regexp.MustCompile(`iban`)},
		"BT-31":  {pos: regexp.MustCompile(`vat|ust|tva|mwst|steuer|tax|btw|iva`)},
	}
)

// rowHit is the page line that prints an invoice line.
type rowHit struct {
	printedPos
	quote string
}

// row finds the page line that prints most of an invoice line's values,
// preferring lines after the previous row. The description counts most
// (4), amounts and prices 2, a quantity 1 (a "1" is on every page); a row
// needs the description or a score of 4 (an amount and a price).
func (p *printed) row(spec pipeline.FieldSpec, vals map[string]string, after printedPos) (rowHit, bool) {
	best, bestScore := -1, 0
	better := func(i, score int) bool {
		if score > bestScore {
			return true
		}
		// Equal scores: the first line after the previous row.
		return score == bestScore && best >= 0 && !p.lines[best].after(after) && p.lines[i].after(after)
	}
	for i, l := range p.lines {
		score, desc := 0, false
		for _, sub := range spec.Items {
			v, ok := vals[sub.Name]
			if !ok || !quoteHasValue(sub.Type, v, l.text) {
				continue
			}
			switch sub.Type {
			case pipeline.TypeString:
				score += 4
				desc = true
			case pipeline.TypeMoney:
				score += 2
			default:
				score++
			}
		}
		if !desc && score < 4 {
			continue
		}
		if better(i, score) {
			best, bestScore = i, score
		}
	}
	if best < 0 {
		return rowHit{}, false
	}
	l := p.lines[best]
	q := l.text
	// A row printed over two lines (a description that wraps, a receipt
	// that prints the amounts under the description) is quoted with the
	// next line when that prints more of its values.
	if best+1 < len(p.lines) && p.lines[best+1].page == l.page {
		q2 := q + "\n" + p.lines[best+1].text
		if countValues(spec, vals, q2) > countValues(spec, vals, q) {
			q = q2
		}
	}
	return rowHit{printedPos: l.printedPos, quote: q}, true
}

// countValues counts the values of an invoice line that the quote prints.
func countValues(spec pipeline.FieldSpec, vals map[string]string, quote string) int {
	n := 0
	for _, sub := range spec.Items {
		if v, ok := vals[sub.Name]; ok && quoteHasValue(sub.Type, v, quote) {
			n++
		}
	}
	return n
}

func (l printedLine) after(p printedPos) bool {
	return l.page > p.page || l.page == p.page && l.idx > p.idx
}
