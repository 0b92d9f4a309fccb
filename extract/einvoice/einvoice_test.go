package einvoice

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// cii wraps the parts of a CII invoice into a document; the header parts
// default to a small EN 16931 invoice.
func cii(guideline, doc, agreement, settlement, lines string) []byte {
	if doc == "" {
		doc = `<ram:ID>CII-1</ram:ID><ram:TypeCode>380</ram:TypeCode><ram:IssueDateTime><udt:DateTimeString format="102">20240131</udt:DateTimeString></ram:IssueDateTime>`
	}
	if agreement == "" {
		agreement = `<ram:SellerTradeParty><ram:Name>Seller  GmbH</ram:Name><ram:PostalTradeAddress><ram:CountryID>DE</ram:CountryID></ram:PostalTradeAddress>` +
			`<ram:SpecifiedTaxRegistration><ram:ID schemeID="FC">12/345/67890</ram:ID></ram:SpecifiedTaxRegistration>` +
			`<ram:SpecifiedTaxRegistration><ram:ID schemeID="VA">DE123456788</ram:ID></ram:SpecifiedTaxRegistration></ram:SellerTradeParty>` +
			`<ram:BuyerTradeParty><ram:Name>Buyer AG</ram:Name><ram:PostalTradeAddress><ram:CountryID>DE</ram:CountryID></ram:PostalTradeAddress></ram:BuyerTradeParty>`
	}
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
 xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
 xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">
<rsm:ExchangedDocumentContext><ram:GuidelineSpecifiedDocumentContextParameter><ram:ID>` + guideline + `</ram:ID></ram:GuidelineSpecifiedDocumentContextParameter></rsm:ExchangedDocumentContext>
<rsm:ExchangedDocument>` + doc + `</rsm:ExchangedDocument>
<rsm:SupplyChainTradeTransaction>` + lines + `
<ram:ApplicableHeaderTradeAgreement>` + agreement + `</ram:ApplicableHeaderTradeAgreement>
<ram:ApplicableHeaderTradeDelivery/>
<ram:ApplicableHeaderTradeSettlement>` + settlement + `</ram:ApplicableHeaderTradeSettlement>
</rsm:SupplyChainTradeTransaction>
</rsm:CrossIndustryInvoice>`)
}

const ciiSettlement = `<ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>
<ram:SpecifiedTradeSettlementPaymentMeans><ram:TypeCode>58</ram:TypeCode><ram:PayeePartyCreditorFinancialAccount><ram:IBANID>DE02 1203 0000 0000 2020 51</ram:IBANID></ram:PayeePartyCreditorFinancialAccount></ram:SpecifiedTradeSettlementPaymentMeans>
<ram:ApplicableTradeTax><ram:CalculatedAmount>19.00</ram:CalculatedAmount><ram:TypeCode>VAT</ram:TypeCode><ram:BasisAmount>100.00</ram:BasisAmount><ram:CategoryCode>S</ram:CategoryCode><ram:RateApplicablePercent>19</ram:RateApplicablePercent></ram:ApplicableTradeTax>
<ram:SpecifiedTradePaymentTerms><ram:DueDateDateTime><udt:DateTimeString format="102">20240301</udt:DateTimeString></ram:DueDateDateTime></ram:SpecifiedTradePaymentTerms>
<ram:SpecifiedTradePaymentTerms><ram:DueDateDateTime><udt:DateTimeString format="102">20240401</udt:DateTimeString></ram:DueDateDateTime></ram:SpecifiedTradePaymentTerms>
<ram:SpecifiedTradeSettlementHeaderMonetarySummation><ram:LineTotalAmount>100.00</ram:LineTotalAmount><ram:TaxBasisTotalAmount>100.00</ram:TaxBasisTotalAmount>
<ram:TaxTotalAmount currencyID="EUR">19.00</ram:TaxTotalAmount><ram:GrandTotalAmount>119.00</ram:GrandTotalAmount><ram:DuePayableAmount>119.00</ram:DuePayableAmount>
</ram:SpecifiedTradeSettlementHeaderMonetarySummation>`

const ciiLine = `<ram:IncludedSupplyChainTradeLineItem><ram:AssociatedDocumentLineDocument><ram:LineID>1</ram:LineID></ram:AssociatedDocumentLineDocument>
<ram:SpecifiedTradeProduct><ram:Name>Widget</ram:Name></ram:SpecifiedTradeProduct>
<ram:SpecifiedLineTradeAgreement><ram:NetPriceProductTradePrice><ram:ChargeAmount>12.5000</ram:ChargeAmount></ram:NetPriceProductTradePrice></ram:SpecifiedLineTradeAgreement>
<ram:SpecifiedLineTradeDelivery><ram:BilledQuantity unitCode="C62">8.000</ram:BilledQuantity></ram:SpecifiedLineTradeDelivery>
<ram:SpecifiedLineTradeSettlement><ram:ApplicableTradeTax><ram:TypeCode>VAT</ram:TypeCode><ram:CategoryCode>S</ram:CategoryCode><ram:RateApplicablePercent>19</ram:RateApplicablePercent></ram:ApplicableTradeTax>
<ram:SpecifiedTradeSettlementLineMonetarySummation><ram:LineTotalAmount>100.00</ram:LineTotalAmount></ram:SpecifiedTradeSettlementLineMonetarySummation></ram:SpecifiedLineTradeSettlement>
</ram:IncludedSupplyChainTradeLineItem>`

// fields lists an invoice's values of the built-in schema, in the
// corpus's label normal forms, for comparing with want.
func fields(inv *Invoice) map[string]string {
	m := map[string]string{
		"vendor_name": inv.SellerName, "vendor_vat_id": inv.SellerVATID, "customer_name": inv.BuyerName,
		"invoice_number": inv.Number, "issue_date": inv.IssueDate, "due_date": inv.DueDate, "currency": inv.Currency,
		"net_amount": inv.NetAmount, "tax_amount": inv.TaxAmount, "total_amount": inv.TotalAmount, "iban": inv.IBAN,
	}
	for k, v := range m {
		if v == "" {
			delete(m, k)
		}
	}
	return m
}

func TestRead(t *testing.T) {
	tests := []struct {
		name    string
		xml     []byte
		syntax  Syntax
		profile Profile
		want    map[string]string
		lines   []Line
		warn    string // a substring of some warning
	}{
		{
			name: "CII EN 16931", xml: cii("urn:cen.eu:en16931:2017", "", "", ciiSettlement, ciiLine),
			syntax: CII, profile: ProfileEN16931,
			want: map[string]string{"vendor_name": "Seller GmbH", "vendor_vat_id": "DE123456788", "customer_name": "Buyer AG",
				"invoice_number": "CII-1", "issue_date": "2024-01-31", "due_date": "2024-03-01", "currency": "EUR",
				"net_amount": "100.00", "tax_amount": "19.00", "total_amount": "119.00", "iban": "DE02120300000000202051"},
			lines: []Line{{Description: "Widget", Quantity: "8", UnitPrice: "12.50", Amount: "100.00"}},
		},
		{
			name: "UBL invoice", xml: readTestdata(t, "ubl-invoice.xml"), syntax: UBLInvoice, profile: ProfilePeppol,
			want: map[string]string{"vendor_name": "Nordlicht Büroservice GmbH", "vendor_vat_id": "DE123456788", "customer_name": "Stadtwerke Lübeck",
				"invoice_number": "UBL-2024-0815", "issue_date": "2024-03-05", "due_date": "2024-04-04", "currency": "EUR",
				"net_amount": "500.00", "tax_amount": "95.00", "total_amount": "595.00", "iban": "DE02120300000000202051"},
			lines: []Line{{Description: "Aktenvernichtung vor Ort", Quantity: "4", UnitPrice: "95.00", Amount: "380.00"},
				{Description: "Sicherheitsbehälter 240 l", Quantity: "2", UnitPrice: "60.00", Amount: "120.00"}},
		},
		{
			name: "UBL credit note, tax in two currencies", xml: readTestdata(t, "ubl-creditnote.xml"), syntax: UBLCreditNote, profile: ProfileXRechnung,
			want: map[string]string{"vendor_name": "Nordlicht Büroservice GmbH", "vendor_vat_id": "DE123456788", "customer_name": "Stadtwerke Lübeck",
				"invoice_number": "GS-2024-0007", "issue_date": "2024-05-02", "due_date": "2024-05-16", "currency": "EUR",
				"net_amount": "100.00", "tax_amount": "19.00", "total_amount": "119.00"},
			lines: []Line{{Description: "Gutschrift Sicherheitsbehälter", Quantity: "1", UnitPrice: "100.00", Amount: "100.00"}},
		},
		{
			name: "ZUGFeRD 1.0: first non-empty IBAN, first due date, VA not FC", xml: readTestdata(t, "zugferd1.xml"),
			syntax: ZUGFeRD1, profile: ProfileZUGFeRD1Comfort,
			want: map[string]string{"vendor_name": "Werkstatt Ost e.K.", "vendor_vat_id": "DE811907980", "customer_name": "Kunde & Co. KG",
				"invoice_number": "ZF1-471", "issue_date": "2015-07-02", "due_date": "2015-07-16", "currency": "EUR",
				"net_amount": "200.00", "tax_amount": "38.00", "total_amount": "238.00", "iban": "DE44500105175407324931"},
			lines: []Line{{Description: "Bremsbeläge, Satz", Quantity: "16", UnitPrice: "12.50", Amount: "200.00"}},
			warn:  "ZUGFeRD 1.0 predates EN 16931",
		},
		{
			name: "ZUGFeRD release candidate (no namespaces inside, dates without DateTimeString)",
			xml: []byte(`<rsm:Invoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CBFBUY:5">
<rsm:SpecifiedExchangedDocumentContext><GuidelineSpecifiedDocumentContextParameter><ID>urn:ferd:invoice:rc:comfort</ID></GuidelineSpecifiedDocumentContextParameter></rsm:SpecifiedExchangedDocumentContext>
<rsm:HeaderExchangedDocument><ID>RC-1</ID><IssueDateTime format="102">20140519</IssueDateTime></rsm:HeaderExchangedDocument>
<rsm:SpecifiedSupplyChainTradeTransaction><ApplicableSupplyChainTradeSettlement><InvoiceCurrencyCode>EUR</InvoiceCurrencyCode>
<SpecifiedTradePaymentTerms><DueDateDateTime format="102">20140609</DueDateDateTime></SpecifiedTradePaymentTerms>
<SpecifiedTradeSettlementMonetarySummation><GrandTotalAmount currencyID="EUR">559.84</GrandTotalAmount></SpecifiedTradeSettlementMonetarySummation>
</ApplicableSupplyChainTradeSettlement></rsm:SpecifiedSupplyChainTradeTransaction></rsm:Invoice>`),
			syntax: ZUGFeRDRC, profile: ProfileZUGFeRD1Comfort,
			want: map[string]string{"invoice_number": "RC-1", "issue_date": "2014-05-19", "due_date": "2014-06-09", "currency": "EUR", "total_amount": "559.84"},
		},
		{
			name: "MINIMUM: no lines, tax total picked by currency",
			xml: cii("urn:factur-x.eu:1p0:minimum", "", "", `<ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode><ram:TaxCurrencyCode>USD</ram:TaxCurrencyCode>
<ram:SpecifiedTradeSettlementHeaderMonetarySummation><ram:TaxBasisTotalAmount>100</ram:TaxBasisTotalAmount>
<ram:TaxTotalAmount currencyID="USD">20.50</ram:TaxTotalAmount><ram:TaxTotalAmount currencyID="EUR">19.0</ram:TaxTotalAmount>
<ram:GrandTotalAmount>119.00</ram:GrandTotalAmount><ram:DuePayableAmount>119.00</ram:DuePayableAmount></ram:SpecifiedTradeSettlementHeaderMonetarySummation>`, ""),
			syntax: CII, profile: ProfileMinimum,
			want: map[string]string{"vendor_name": "Seller GmbH", "vendor_vat_id": "DE123456788", "customer_name": "Buyer AG",
				"invoice_number": "CII-1", "issue_date": "2024-01-31", "currency": "EUR", "net_amount": "100.00", "tax_amount": "19.00", "total_amount": "119.00"},
		},
		{
			name:   "invalid encoding label read as UTF-8, with a warning",
			xml:    bytes.Replace(cii("urn:cen.eu:en16931:2017", "", "", "", ""), []byte(`encoding="UTF-8"`), []byte(`encoding="UTF-8-W/O-BOM"`), 1),
			syntax: CII, profile: ProfileEN16931,
			want: map[string]string{"vendor_name": "Seller GmbH", "vendor_vat_id": "DE123456788", "customer_name": "Buyer AG",
				"invoice_number": "CII-1", "issue_date": "2024-01-31"},
			warn: `invalid encoding "UTF-8-W/O-BOM"`,
		},
		{
			name:   "seller VAT id with schemeID VAT, and a bad date left out",
			xml:    cii("urn:cen.eu:en16931:2017", `<ram:ID>X</ram:ID><ram:IssueDateTime><udt:DateTimeString format="102">2024-13-45</udt:DateTimeString></ram:IssueDateTime>`, `<ram:SellerTradeParty><ram:Name>S</ram:Name><ram:SpecifiedTaxRegistration><ram:ID schemeID="VAT">FR11999999998</ram:ID></ram:SpecifiedTaxRegistration></ram:SellerTradeParty>`, "", ""),
			syntax: CII, profile: ProfileEN16931,
			want: map[string]string{"vendor_name": "S", "vendor_vat_id": "FR11999999998", "invoice_number": "X"},
			warn: `schemeID "VAT"`,
		},
		{
			name:   "XRechnung CII",
			xml:    cii("urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0", "", "", ciiSettlement, ciiLine),
			syntax: CII, profile: ProfileXRechnung,
			want: map[string]string{"vendor_name": "Seller GmbH", "vendor_vat_id": "DE123456788", "customer_name": "Buyer AG",
				"invoice_number": "CII-1", "issue_date": "2024-01-31", "due_date": "2024-03-01", "currency": "EUR",
				"net_amount": "100.00", "tax_amount": "19.00", "total_amount": "119.00", "iban": "DE02120300000000202051"},
			lines: []Line{{Description: "Widget", Quantity: "8", UnitPrice: "12.50", Amount: "100.00"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := Read(tt.xml)
			if err != nil {
				t.Fatal(err)
			}
			if inv.Syntax != tt.syntax || inv.Profile != tt.profile {
				t.Errorf("syntax %q profile %q, want %q %q", inv.Syntax, inv.Profile, tt.syntax, tt.profile)
			}
			got := fields(inv)
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
			for k, v := range got {
				if _, ok := tt.want[k]; !ok {
					t.Errorf("%s = %q, want nothing", k, v)
				}
			}
			if !slices.Equal(inv.Lines, tt.lines) {
				t.Errorf("lines = %+v\nwant    %+v", inv.Lines, tt.lines)
			}
			if tt.warn != "" && !slices.ContainsFunc(inv.Warnings, func(w string) bool { return strings.Contains(w, tt.warn) }) {
				t.Errorf("no warning with %q in %q", tt.warn, inv.Warnings)
			}
		})
	}
}

func TestReadErrors(t *testing.T) {
	deep := strings.Repeat("<a>", maxDepth+1) + strings.Repeat("</a>", maxDepth+1)
	tests := []struct {
		name string
		xml  string
		want error
	}{
		{"empty", "", ErrMalformed},
		{"not XML", "%PDF-1.7 not xml", ErrMalformed},
		{"truncated", string(cii("urn:cen.eu:en16931:2017", "", "", "", ""))[:300], ErrMalformed},
		{"two roots", "<a/><b/>", ErrMalformed},
		{"unknown encoding", `<?xml version="1.0" encoding="EBCDIC-US"?><a/>`, ErrMalformed},
		{"an order", `<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2"><ID>1</ID></Order>`, ErrUnknownSyntax},
		{"Invoice in another namespace", `<Invoice xmlns="urn:example:invoice"><ID>1</ID></Invoice>`, ErrUnknownSyntax},
		{"HTML", `<html><body>invoice</body></html>`, ErrUnknownSyntax},
		{"too deep", deep, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := Read([]byte(tt.xml))
			if !errors.Is(err, tt.want) || inv != nil {
				t.Fatalf("Read = %v, %v; want %v", inv, err, tt.want)
			}
		})
	}
	big := make([]byte, MaxXMLBytes+1)
	if _, err := Read(big); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized XML: %v", err)
	}
}

// TestReadEncodings: byte order marks, UTF-16 and Latin-1 documents read
// like UTF-8 ones.
func TestReadEncodings(t *testing.T) {
	base := cii("urn:cen.eu:en16931:2017", "", `<ram:SellerTradeParty><ram:Name>Müller &amp; Söhne</ram:Name></ram:SellerTradeParty>`, "", "")
	latin1, err := charmap.ISO8859_1.NewEncoder().Bytes(bytes.Replace(base, []byte(`encoding="UTF-8"`), []byte(`encoding="ISO-8859-1"`), 1))
	if err != nil {
		t.Fatal(err)
	}
	utf16, err := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().Bytes(bytes.Replace(base, []byte(`encoding="UTF-8"`), []byte(`encoding="UTF-16"`), 1))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"plain":        base,
		"UTF-8 BOM":    append([]byte{0xEF, 0xBB, 0xBF}, base...),
		"newline":      append([]byte("\n"), base...),
		"ISO-8859-1":   latin1,
		"UTF-16 (BOM)": utf16,
	} {
		inv, err := Read(data)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if inv.SellerName != "Müller & Söhne" || inv.Number != "CII-1" {
			t.Errorf("%s: seller %q number %q", name, inv.SellerName, inv.Number)
		}
	}
}

func TestProfileOf(t *testing.T) {
	tests := []struct {
		syntax    Syntax
		guideline string
		want      Profile
		warn      bool
	}{
		{CII, "urn:factur-x.eu:1p0:minimum", ProfileMinimum, false},
		{CII, "urn:zugferd.de:2p0:minimum", ProfileMinimum, false},
		{CII, "urn:factur-x.eu:1p0:basicwl", ProfileBasicWL, false},
		{CII, "urn:cen.eu:en16931:2017#compliant#urn:factur-x.eu:1p0:basic", ProfileBasic, false},
		{CII, "urn:cen.eu:en16931:2017:compliant:factur-x.eu:1p0:basic", ProfileBasic, false},
		{CII, "urn:cen.eu:en16931:2017", ProfileEN16931, false},
		{CII, " urn:cen.eu:en16931:2017 ", ProfileEN16931, false},
		{CII, "urn:cen.eu:en16931:2017#conformant#urn:factur-x.eu:1p0:extended", ProfileExtended, false},
		{CII, "urn:cen.eu:en16931:2017:compliant:factur-x.eu:1p0:extended", ProfileExtended, false},
		{CII, "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0", ProfileXRechnung, false},
		{UBLInvoice, "urn:cen.eu:en16931:2017#compliant#urn:xoev-de:kosit:standard:xrechnung_2.3", ProfileXRechnung, false},
		{UBLInvoice, "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0", ProfilePeppol, false},
		{UBLInvoice, "", ProfileUnknown, true},
		{CII, "urn:example:my-profile", ProfileUnknown, true},
		{ZUGFeRD1, "urn:ferd:CrossIndustryDocument:invoice:1p0:basic", ProfileZUGFeRD1Basic, false},
		{ZUGFeRD1, "urn:ferd:CrossIndustryDocument:invoice:1p0:comfort", ProfileZUGFeRD1Comfort, false},
		{ZUGFeRD1, "urn:ferd:CrossIndustryDocument:invoice:1p0:extended", ProfileZUGFeRD1Extended, false},
		{ZUGFeRDRC, "urn:ferd:invoice:rc:comfort", ProfileZUGFeRD1Comfort, false},
		{ZUGFeRD1, "urn:ferd:CrossIndustryDocument:invoice:1p0:komfort", ProfileUnknown, true},
		{ZUGFeRD1, "urn:ferd:CrossIndustryDocument:order:1p0:extended", ProfileUnknown, true},
	}
	for _, tt := range tests {
		got, warn := profileOf(tt.syntax, tt.guideline)
		if got != tt.want || (warn != "") != tt.warn {
			t.Errorf("profileOf(%s, %q) = %q, %q; want %q (warning %v)", tt.syntax, tt.guideline, got, warn, tt.want, tt.warn)
		}
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		k           kind
		raw, format string
		want        string
		err         bool
	}{
		{kindAmount, "160.0000", "", "160.00", false},
		{kindAmount, "0.7900", "", "0.79", false},
		{kindAmount, "0.025", "", "0.025", false},
		{kindAmount, "-8.79", "", "-8.79", false},
		{kindAmount, "+5", "", "5.00", false},
		{kindAmount, "1810,80", "", "1810.80", false},
		{kindAmount, "1.810,80", "", "", true},
		{kindAmount, "1e3", "", "", true},
		{kindDecimal, "20.000", "", "20", false},
		{kindDecimal, "400.00001", "", "400.00001", false},
		{kindDecimal, "0.5000", "", "0.5", false},
		{kindDate, "20171113", "102", "2017-11-13", false},
		{kindDate, "20171113", "", "2017-11-13", false},
		{kindDate, "2017-11-13", "", "2017-11-13", false},
		{kindDate, "2017-11-13+01:00", "", "2017-11-13", false},
		{kindDate, "201711", "610", "", true},
		{kindDate, "20171313", "102", "", true},
		{kindIBAN, " de02 1203 0000 0000 2020 51 ", "", "DE02120300000000202051", false},
		{kindVATID, "DE 136 695 976", "", "DE136695976", false},
		{kindText, "  Au   bon\n moulin ", "", "Au bon moulin", false},
		{kindID, " RE-2024/1 ", "", "RE-2024/1", false},
		{kindCode, "eur", "", "EUR", false},
	}
	for _, tt := range tests {
		got, err := normalize(tt.k, tt.raw, tt.format)
		if got != tt.want || (err != nil) != tt.err {
			t.Errorf("normalize(%d, %q, %q) = %q, %v; want %q (error %v)", tt.k, tt.raw, tt.format, got, err, tt.want, tt.err)
		}
	}
}

// TestRulesGatedByProfile: a MINIMUM invoice whose amount due differs from
// its total (a prepayment MINIMUM cannot express) breaks BR-CO-16 only if
// the rule applied; it does not apply to MINIMUM, and does to EN 16931.
func TestRulesGatedByProfile(t *testing.T) {
	settlement := `<ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>
<ram:SpecifiedTradeSettlementHeaderMonetarySummation><ram:TaxBasisTotalAmount>100.00</ram:TaxBasisTotalAmount>
<ram:TaxTotalAmount currencyID="EUR">19.00</ram:TaxTotalAmount><ram:GrandTotalAmount>119.00</ram:GrandTotalAmount>
<ram:DuePayableAmount>19.00</ram:DuePayableAmount></ram:SpecifiedTradeSettlementHeaderMonetarySummation>`
	min, err := Read(cii("urn:factur-x.eu:1p0:minimum", "", "", settlement, ""))
	if err != nil {
		t.Fatal(err)
	}
	if !min.RulesChecked {
		t.Fatalf("MINIMUM not checked: %q", min.Warnings)
	}
	for _, v := range min.Violations {
		if v.Rule == "BR-CO-16" || v.Rule == "BR-16" {
			t.Errorf("MINIMUM reports %s, which does not apply to it", v)
		}
	}
	en, err := Read(cii("urn:cen.eu:en16931:2017", "", "", settlement, ""))
	if err != nil {
		t.Fatal(err)
	}
	var rules []string
	for _, v := range en.Violations {
		rules = append(rules, v.Rule)
	}
	if !slices.Contains(rules, "BR-CO-16") || !slices.Contains(rules, "BR-16") {
		t.Errorf("EN 16931 violations %v, want BR-CO-16 and BR-16 among them", rules)
	}
	if en.Valid() {
		t.Error("an invoice with violations is Valid")
	}
	good, err := Read(cii("urn:cen.eu:en16931:2017", "", "", ciiSettlement, ciiLine))
	if err != nil {
		t.Fatal(err)
	}
	if !good.Valid() {
		t.Errorf("the test invoice breaks %v", good.Violations)
	}
	zf1, err := Read(readTestdata(t, "zugferd1.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if zf1.RulesChecked || zf1.Valid() {
		t.Error("ZUGFeRD 1.0 cannot be checked against EN 16931")
	}
}

func TestApplies(t *testing.T) {
	tests := []struct {
		p     Profile
		terms []string
		want  bool
	}{
		{ProfileEN16931, []string{"BT-112", "BT-113"}, true},
		{ProfileBasic, nil, true},
		{ProfileMinimum, []string{"BT-112", "BT-113", "BT-114", "BT-115"}, false},
		{ProfileMinimum, []string{"BT-1"}, true},
		{ProfileMinimum, nil, false},
		{ProfileBasicWL, []string{"BT-113", "BT-115"}, true},
		{ProfileBasicWL, []string{"BG-25"}, false},
		{ProfileBasicWL, []string{"BT-131"}, false},
		{ProfileUnknown, []string{"BT-1"}, false},
	}
	for _, tt := range tests {
		if got := applies(tt.p, tt.terms); got != tt.want {
			t.Errorf("applies(%q, %v) = %v, want %v", tt.p, tt.terms, got, tt.want)
		}
	}
}

func TestTerms(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"BT-13", "BT-13"}, {"bt13", "BT-13"}, {"BT 013", "BT-13"}, {" bg-25 ", "BG-25"}, {"BT-", "BT-"}, {"BTX", "BTX"}, {"PO", "PO"},
	} {
		if got := CanonicalTerm(c.in); got != c.want {
			t.Errorf("CanonicalTerm(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	ids := Terms()
	if len(ids) < 60 || ids[0] != "BT-1" || !slices.IsSortedFunc(ids, func(a, b string) int { return termNumber(a) - termNumber(b) }) {
		t.Errorf("Terms() = %v", ids)
	}
	if tm, ok := LookupTerm("bt-153"); !ok || !tm.Line || tm.Name != "Item name" {
		t.Errorf("BT-153 = %+v, %v", tm, ok)
	}
	if _, ok := LookupTerm("BT-999"); ok {
		t.Error("BT-999 is not a term")
	}
	// Every term has a path in every syntax.
	for _, id := range ids {
		for _, s := range []Syntax{CII, ZUGFeRD1, UBLInvoice, UBLCreditNote} {
			if len(terms[id].paths(s)) == 0 {
				t.Errorf("%s has no path in %s", id, s)
			}
		}
	}
	inv, err := Read(readTestdata(t, "ubl-invoice.xml"))
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{"BT-13": "PO-7781", "BT-10": "04011000-12345-03", "BT-28": "Nordlicht Büroservice",
		"BT-32": "22/815/08154", "BT-30": "HRB 98765", "BT-34": "4012345000009", "BT-81": "58", "BT-83": "UBL-2024-0815", "BT-115": "595.00"} {
		if got := inv.Value(id); got != want {
			t.Errorf("UBL %s = %q, want %q", id, got, want)
		}
	}
	if got := inv.LineValue(0, "BT-130"); got != "HUR" {
		t.Errorf("UBL line 1 BT-130 = %q", got)
	}
	cn, err := Read(readTestdata(t, "ubl-creditnote.xml"))
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{"BT-3": "381", "BT-25": "UBL-2024-0815", "BT-26": "2024-03-05", "BT-6": "CHF", "BT-111": "17.81"} {
		if got := cn.Value(id); got != want {
			t.Errorf("credit note %s = %q, want %q", id, got, want)
		}
	}
}

// TestInformationalLines: lines that bill nothing (a section header
// written as a line) are not invoice lines.
func TestInformationalLines(t *testing.T) {
	header := `<ram:IncludedSupplyChainTradeLineItem><ram:SpecifiedTradeProduct><ram:Name>--- Hardware ---</ram:Name></ram:SpecifiedTradeProduct>
<ram:SpecifiedLineTradeDelivery><ram:BilledQuantity unitCode="C62">0.00</ram:BilledQuantity></ram:SpecifiedLineTradeDelivery>
<ram:SpecifiedLineTradeSettlement><ram:SpecifiedTradeSettlementLineMonetarySummation><ram:LineTotalAmount>0.00</ram:LineTotalAmount></ram:SpecifiedTradeSettlementLineMonetarySummation></ram:SpecifiedLineTradeSettlement>
</ram:IncludedSupplyChainTradeLineItem>`
	inv, err := Read(cii("urn:cen.eu:en16931:2017", "", "", ciiSettlement, header+ciiLine))
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Lines) != 1 || inv.Lines[0].Description != "Widget" || inv.LineValue(0, "BT-153") != "Widget" {
		t.Errorf("lines = %+v", inv.Lines)
	}
}

func TestPath(t *testing.T) {
	root, err := buildTree([]byte(`<r><a k="1"><b>x</b><c><d>VAT</d></c><e>one</e></a><a k="2"><c><d>FC</d></c><e>two</e></a><q u="M">3</q></r>`))
	if err != nil {
		t.Fatal(err)
	}
	values := func(p string) []string {
		var out []string
		for _, h := range mustPath(p).values(root) {
			out = append(out, h.value)
		}
		return out
	}
	for p, want := range map[string][]string{
		"a/e":             {"one", "two"},
		"a[@k='2']/e":     {"two"},
		"a[@k!='2']/e":    {"one"},
		"a[c/d='VAT']/e":  {"one"},
		"a[c/d!='VAT']/e": {"two"},
		"q/@u":            {"M"},
		"a/missing":       nil,
	} {
		if got := values(p); !slices.Equal(got, want) {
			t.Errorf("%s = %q, want %q", p, got, want)
		}
	}
	for _, bad := range []string{"a[", "a[@k]", "a/@k/b", "a//b", "a[@k=1]"} {
		if _, err := parsePath(bad); err == nil {
			t.Errorf("parsePath(%q) accepted", bad)
		}
	}
}

// FuzzRead: e-invoice XML is untrusted input (an attachment anyone can
// put into a PDF). Read must never panic, must fail only with its
// sentinels, must give the same answer twice, and what it returns must be
// in normal form.
func FuzzRead(f *testing.F) {
	for _, name := range []string{"ubl-invoice.xml", "ubl-creditnote.xml", "zugferd1.xml"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add(cii("urn:cen.eu:en16931:2017", "", "", ciiSettlement, ciiLine))
	f.Add(cii("urn:factur-x.eu:1p0:minimum", "", "", ciiSettlement, ""))
	dateRe := regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	moneyRe := regexp.MustCompile(`^-?\d+\.\d{2,}$`)
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, err := Read(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknownSyntax) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		again, err := Read(data)
		if err != nil || !slices.Equal(again.Lines, inv.Lines) || again.TotalAmount != inv.TotalAmount || len(again.Violations) != len(inv.Violations) {
			t.Fatalf("Read is not deterministic: %v", err)
		}
		for _, d := range []string{inv.IssueDate, inv.DueDate} {
			if d != "" && !dateRe.MatchString(d) {
				t.Fatalf("date %q", d)
			}
		}
		for _, m := range []string{inv.NetAmount, inv.TaxAmount, inv.TotalAmount} {
			if m != "" && !moneyRe.MatchString(m) {
				t.Fatalf("amount %q", m)
			}
		}
		if strings.ContainsAny(inv.IBAN+inv.SellerVATID, " \t\n") {
			t.Fatalf("identifier with spaces: %q %q", inv.IBAN, inv.SellerVATID)
		}
	})
}
