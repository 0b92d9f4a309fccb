package synth

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	sd "github.com/speedata/einvoice"
)

// Variant is how a hybrid invoice's XML relates to its page.
type Variant string

// Variants of hybrid invoices. Only VariantMatch is a good e-invoice; the
// others are what a reader of e-invoices must notice.
const (
	// VariantMatch: the XML carries what the page prints.
	VariantMatch Variant = "match"
	// VariantTotal: the XML bills the first line at a higher price, so its
	// line amount, net, tax and total differ from the page's (the XML is
	// consistent in itself).
	VariantTotal Variant = "total"
	// VariantNumber: the XML carries another invoice number.
	VariantNumber Variant = "number"
	// VariantIBAN: the XML asks for payment to another (valid) IBAN.
	VariantIBAN Variant = "iban"
	// VariantMissing: the XML lacks the due date, the payment account and
	// the seller's VAT identifier (it then breaks EN 16931 rules).
	VariantMissing Variant = "missing"
	// VariantMalformed: the XML is cut off in the middle.
	VariantMalformed Variant = "malformed"
	// VariantPlain: the XML is attached with fpdf's own attachment
	// support only: listed in the /EmbeddedFiles name tree under
	// "Attachement1", without /AF, /AFRelationship or XMP metadata.
	VariantPlain Variant = "plain"
)

// Variants lists every variant; a hybrid run cycles through them.
var Variants = []Variant{VariantMatch, VariantTotal, VariantNumber, VariantIBAN, VariantMissing, VariantMalformed, VariantPlain}

// HybridVariant is the variant document i (0-based) of a hybrid run gets.
func HybridVariant(i int) Variant { return Variants[i%len(Variants)] }

// XMLName is the name the Factur-X standard gives the attached XML.
const XMLName = "factur-x.xml"

// HybridInvoice renders document i of the run described by opts as a
// hybrid invoice of variant v: the PDF with the invoice's CII XML
// (Factur-X / ZUGFeRD 2, profile EN 16931) attached as factur-x.xml. It
// returns the PDF, the attached XML and the dataset row, whose labels are
// what the page prints and whose notes name the variant and what the
// XML says instead. Like Invoice it is a pure function of its arguments.
func HybridInvoice(opts Options, i int, v Variant) (pdf, xml []byte, row Row, err error) {
	if i < 0 || i >= MaxCount {
		return nil, nil, Row{}, fmt.Errorf("synth: index %d out of range 0..%d", i, MaxCount-1)
	}
	inv := newInvoice(opts.Seed, i)
	if !opts.Noise {
		inv.footerNoise, inv.stampNoise = false, false
	}
	xml, note, err := inv.ciiXML(v, rand.New(rand.NewPCG(uint64(opts.Seed), 0xe1e1e100+uint64(i))))
	if err != nil {
		return nil, nil, Row{}, err
	}
	if v == VariantPlain {
		inv.plainXML = xml
	}
	res, err := render(inv)
	if err != nil {
		return nil, nil, Row{}, err
	}
	pdf = res.pdf
	if v != VariantPlain {
		pdf, err = attachFacturX(pdf, xml, inv.issue.Add(9*time.Hour), "EN 16931")
		if err != nil {
			return nil, nil, Row{}, fmt.Errorf("synth: %s: %w", inv.id, err)
		}
	}
	row = inv.row(res)
	row.Notes += fmt.Sprintf("; hybrid: %s (CII, EN 16931), variant %s", XMLName, v)
	if note != "" {
		row.Notes += ": " + note
	}
	return pdf, xml, row, nil
}

// xmlValues are the business values the XML carries, drawn from the
// invoice and changed by the variant.
type xmlValues struct {
	number, vat, iban string
	due               time.Time
	items             []item
	net, tax, total   int64
}

// ciiXML writes the invoice's CII XML in variant v (rng draws what a
// variant needs, apart from the document's own source), and says in note
// what the XML carries that the page does not.
func (inv *invoice) ciiXML(v Variant, rng *rand.Rand) (xml []byte, note string, err error) {
	x := xmlValues{number: inv.number, vat: inv.vendor.vat, iban: inv.iban, due: inv.due,
		items: append([]item(nil), inv.items...), net: inv.net, tax: inv.tax, total: inv.total}
	money := func(c int64) string { return numFmt{"", "."}.cents(c) }
	switch v {
	case VariantTotal:
		it := &x.items[0]
		it.unit += 1000 + rng.Int64N(9000)
		it.amount = (it.qty*it.unit + 50) / 100
		x.net = 0
		for _, it := range x.items {
			x.net += it.amount
		}
		x.tax = (x.net*inv.rate + 500) / 1000
		x.total = x.net + x.tax
		note = fmt.Sprintf("the XML's total is %s, the page prints %s", money(x.total), money(inv.total))
	case VariantNumber:
		b := []byte(x.number)
		for j := len(b) - 1; j >= 0; j-- {
			if b[j] >= '0' && b[j] <= '9' {
				b[j] = '0' + (b[j]-'0'+1+byte(rng.IntN(8)))%10
				break
			}
		}
		x.number = string(b)
		note = fmt.Sprintf("the XML's invoice number is %s, the page prints %s", x.number, inv.number)
	case VariantIBAN:
		for x.iban == inv.iban {
			x.iban = iban(rng, inv.vendor.country)
		}
		note = fmt.Sprintf("the XML's IBAN is %s, the page prints %s", x.iban, inv.iban)
	case VariantMissing:
		x.due, x.iban, x.vat = time.Time{}, "", ""
		note = "the XML has no due date, IBAN or seller VAT id"
	}
	var buf bytes.Buffer
	if err := inv.ciiInvoice(x).Write(&buf); err != nil {
		return nil, "", fmt.Errorf("synth: %s: writing the XML: %w", inv.id, err)
	}
	xml = buf.Bytes()
	if v == VariantMalformed {
		xml = xml[:len(xml)/2]
		note = fmt.Sprintf("the XML is cut off after %d bytes", len(xml))
	}
	return xml, note, nil
}

// ciiInvoice builds speedata's model of the invoice with the values x.
func (inv *invoice) ciiInvoice(x xmlValues) *sd.Invoice {
	cents := func(c int64) decimal.Decimal { return decimal.New(c, -2) }
	category, reason := "S", ""
	switch inv.taxNote {
	case inv.L.ReverseCharge:
		category, reason = "AE", "Reverse charge"
	case inv.L.Export:
		category, reason = "G", "Export outside the EU"
	}
	rate := decimal.New(inv.rate, -1)
	out := &sd.Invoice{
		SchemaType: sd.CII,
		GuidelineSpecifiedDocumentContextParameter: sd.SpecEN16931,
		InvoiceNumber:       x.number,
		InvoiceTypeCode:     380,
		InvoiceDate:         inv.issue,
		InvoiceCurrencyCode: inv.currency,
		Seller:              xmlParty(inv.vendor, x.vat),
		Buyer:               xmlParty(inv.customer, ""),
		LineTotal:           cents(x.net),
		TaxBasisTotal:       cents(x.net),
		TaxTotal:            cents(x.tax),
		TaxTotalCurrency:    inv.currency,
		GrandTotal:          cents(x.total),
		DuePayableAmount:    cents(x.total),
		TradeTaxes: []sd.TradeTax{{
			CalculatedAmount: cents(x.tax), BasisAmount: cents(x.net), TypeCode: "VAT",
			CategoryCode: category, Percent: rate, ExemptionReason: reason,
		}},
	}
	if inv.taxNote == inv.L.ReverseCharge && inv.customer.vat != "" {
		out.Buyer.VATaxRegistration = inv.customer.vat
	}
	if !x.due.IsZero() {
		out.SpecifiedTradePaymentTerms = []sd.SpecifiedTradePaymentTerms{{Description: inv.terms(), DueDate: x.due}}
	}
	if x.iban != "" {
		code := 58 // SEPA credit transfer
		if inv.currency != "EUR" {
			code = 30
		}
		out.PaymentMeans = []sd.PaymentMeans{{TypeCode: code, PayeePartyCreditorFinancialAccountIBAN: x.iban,
			PayeeSpecifiedCreditorFinancialInstitutionBIC: inv.bic}}
	}
	for n, it := range x.items {
		out.InvoiceLines = append(out.InvoiceLines, sd.InvoiceLine{
			LineID:                   fmt.Sprint(n + 1),
			ItemName:                 it.desc,
			BilledQuantity:           decimal.New(it.qty, -2),
			BilledQuantityUnit:       unitCode(it.kind),
			NetPrice:                 cents(it.unit),
			Total:                    cents(it.amount),
			TaxTypeCode:              "VAT",
			TaxCategoryCode:          category,
			TaxRateApplicablePercent: rate,
		})
	}
	return out
}

func xmlParty(p party, vat string) sd.Party {
	addr := &sd.PostalAddress{CountryID: p.country.code(), Line1: p.street, City: p.city}
	f := strings.Fields(p.city)
	switch {
	case len(f) > 1 && f[0][0] >= '0' && f[0][0] <= '9': // "80331 München"
		addr.PostcodeCode, addr.City = f[0], strings.Join(f[1:], " ")
	case p.country == countryGB && len(f) > 2: // "London EC1A 1BB"
		addr.PostcodeCode, addr.City = strings.Join(f[len(f)-2:], " "), strings.Join(f[:len(f)-2], " ")
	}
	return sd.Party{Name: p.name, VATaxRegistration: vat, PostalAddress: addr}
}

// unitCode is the UN/ECE Recommendation 20 code of a quantity kind.
func unitCode(k qtyKind) string {
	switch k {
	case qtyHours:
		return "HUR"
	case qtyDays:
		return "DAY"
	case qtyMetres:
		return "MTR"
	case qtyMonths:
		return "MON"
	}
	return "C62"
}
