package rules

import (
	"context"
	"testing"

	"github.com/extractor-dev/extractor/extract"
	"github.com/extractor-dev/extractor/pipeline"
)

// The failures the rebuild set out to fix, as general layouts (no vendor's
// own wording): each case is what an invoice of that kind prints.

// A billing period is not the issue date, and "Bill to Address:" is a
// label, not the customer.
func TestRulesBillingPeriodAndAddressLabel(t *testing.T) {
	doc := layoutDoc(`
^Northwind Cloud Services                               Invoice
                                                        Invoice Number:            88123001
                                                        Invoice Date:        August 3 , 2014
Bill to Address:
ATTN: Harbour Labs Limited
93B Main Road
This invoice is for the billing period July 1 - July 31 , 2014
 Total for this invoice                                                           $4.11
`)
	checkRules(t, doc, map[string]string{"issue_date": "2014-08-03", "customer_name": "Harbour Labs Limited", "invoice_number": "88123001",
		"total_amount": "4.11", "vendor_name": "Northwind Cloud Services"}, nil)
}

// A heading over a delivery address and a block heading ("Hotel Details")
// are labels, never the vendor; the vendor is in the legal line.
func TestRulesHeadingsAreNotVendors(t *testing.T) {
	doc := layoutDoc(`
         Factuuradres                                               Afleveradres
         Strategic Corp                                             Strategic Corp
         Fakestreet 46                                              Fakestreet 46
         3500 MJ Utrecht                                            3500 MJ Utrecht
 Hotel Details
 Factuurnummer: VF-1005
 Totaal                                                             49,99
Brugman Koffie B.V. · Kade 12 · 3011 AD Rotterdam · KvK 24330087
`)
	checkRules(t, doc, map[string]string{"vendor_name": "Brugman Koffie B.V.", "customer_name": "Strategic Corp", "invoice_number": "VF-1005"}, nil)
}

// A total printed in a table of net, tax and total beats a subtotal
// column: the amount due is the total, not the net beside it.
func TestRulesTotalFromTotalsTable(t *testing.T) {
	doc := layoutDoc(`
^Fibre Net SAS
Facture n°562044 du 02 Juillet 2015
                                                    Montant EUR HT       Montant TVA       Montant EUR TTC
Abonnements, forfaits et options                            24.99              5.00                29.99
Communications                                               0.00              0.00                 0.00
Total facture                                               24.99              5.00                29.99
Somme à payer                                                                                 29.99 € TTC
`)
	checkRules(t, doc, map[string]string{"total_amount": "29.99", "net_amount": "24.99", "tax_amount": "5.00", "invoice_number": "562044",
		"issue_date": "2015-07-02"}, nil)
}

// Under the seller's heading the next line is a label ("Name:"), not the
// vendor; a zero amount two lines above the labelled gross total and the
// amount due is not the total; the number is printed in the title line.
func TestRulesUnseenGermanInvoice(t *testing.T) {
	doc := layoutDoc(`
Seite 1 von 1                                               Kopie
RECHNUNG NR. 2018-0417 vom 12.03.2018
Verkäufer                                  Käufer
Name:                                      Name:
Kostenlieferant GmbH                       Muster-Kunde GmbH
Lieferweg 3                                Kundenstraße 9
12345 Lieferstadt                          54321 Kundenstadt
Pos   Bezeichnung                          Menge    Einzelpreis      Gesamtpreis
1     Wartung Heizungsanlage                   1         500,00           500,00
Summe Rabatte                                                               0,00
Summe netto                                                               500,00
zzgl. 19 % USt.                                                            95,00
Gesamtbetrag brutto                                                       595,00
Zahlbetrag                                                                595,00
`)
	checkRules(t, doc, map[string]string{"vendor_name": "Kostenlieferant GmbH", "customer_name": "Muster-Kunde GmbH", "invoice_number": "2018-0417",
		"issue_date": "2018-03-12", "net_amount": "500.00", "tax_amount": "95.00", "total_amount": "595.00"},
		[]wantItem{{"Wartung Heizungsanlage", "1", "500.00", "500.00"}})
}

// A title word followed by the number ("RECHNUNG 2024-0042") is the
// number's label.
func TestRulesNumberInTitle(t *testing.T) {
	doc := layoutDoc(`
^Holzbau Wagner GmbH
RECHNUNG 2024-0042
Datum: 05.03.2024
Gesamtbetrag                                   1.190,00 €
`)
	checkRules(t, doc, map[string]string{"invoice_number": "2024-0042", "issue_date": "2024-03-05", "total_amount": "1190.00"}, nil)
}

// A date years away from the document's other dates is an issue of its
// own (the validate step), whatever extractor read it.
func TestImplausibleDateIsAnIssue(t *testing.T) {
	doc := layoutDoc(`
Invoice Date: 2031-07-01
Period 2014-07-01 to 2014-07-31, delivered 2014-07-15, due 2014-08-15
`)
	s, _ := extract.Builtin("invoice")
	x := pipeline.Extraction{Extractor: pipeline.ExtractorRef{Kind: "rules"}, Fields: map[string]pipeline.Field{
		"issue_date": {Raw: "2031-07-01", Evidence: pipeline.Evidence{Page: 1, Quote: "Invoice Date: 2031-07-01"}},
	}}
	x = extract.Checks{}.Validate(doc, s, x, nil)
	found := false
	for _, is := range x.Issues {
		if is.Field == "issue_date" && is.Code == pipeline.IssueImplausible && is.Severity == pipeline.SeverityFail {
			found = true
		}
	}
	if !found || x.Fields["issue_date"].Signals.Implausible != 1 {
		t.Errorf("issues %+v, signals %+v: want an implausible date", x.Issues, x.Fields["issue_date"].Signals)
	}
	if _, err := New(Config{}).Extract(context.Background(), doc, s); err != nil {
		t.Fatal(err)
	}
}
