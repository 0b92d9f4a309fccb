package lexicon

import (
	"fmt"
	"strings"
	"testing"
)

func labelsOf(line string) string {
	f := []rune(Fold(line))
	var out []string
	for _, h := range Labels(Default().Find(f, Tokens(f)), FieldLabel) {
		out = append(out, fmt.Sprintf("%s/%s:%s", h.Concept, h.Strength, string([]rune(line)[h.Start:h.End])))
	}
	return strings.Join(out, " ")
}

func TestLabels(t *testing.T) {
	tests := []struct{ line, want string }{
		{"Rechnungs-Nr.: 2024-17", "invoice_number/strong:Rechnungs-Nr."},
		{"RECHNUNGSNR 17", "invoice_number/strong:RECHNUNGSNR"},
		{"Invoice Date:   03/05/2024", "issue_date/strong:Invoice Date"},
		{"Due Date: 2024-04-04", "due_date/strong:Due Date"},
		{"Date: 2024-04-04", "issue_date/weak:Date"},
		{"Delivery date 2024-04-04", "delivery_date/strong:Delivery date"},
		{"Total tax 12.00", "tax_amount/strong:Total tax"},
		{"Subtotal    905.00", "net_amount/strong:Subtotal"},
		{"Sub-total 905.00", "net_amount/strong:Sub-total"},
		{"Total TTC   671,15 €", "total_amount/strong:Total TTC"},
		{"Montant TTC", "total_amount/strong:Montant TTC"},
		{"Date d'échéance          13/12/2017", "due_date/strong:Date d'échéance"},
		{"N° TVA client   FR19787878784", "customer_vat_id/strong:N° TVA client"},
		{"Kundennummer 12345", "customer_number/strong:Kundennummer"},
		{"Bill to Address:", "customer/strong:Bill to Address"},
		{"Factuur datum", "issue_date/strong:Factuur datum"},
		{"totaal", "total_amount/weak:totaal"},
		{"Fattura n. 12 del 01/02/2024", "invoice_number/strong:Fattura n. issue_date/weak:del"},
		{"Amount due", "total_amount/strong:Amount due"},
		{"# INV-17", "invoice_number/weak:#"}, // a one-rune label before a word
		{"invoice_number_1", ""},              // an identifier, not "invoice number"
	}
	for _, tc := range tests {
		if got := labelsOf(tc.line); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.line, got, tc.want)
		}
	}
}

func TestIsLabel(t *testing.T) {
	for _, s := range []string{"Address", "Address:", "Hotel Details", "Afleveradres", "Customer no.", "FROM", "Issue date", "Rechnungsempfänger"} {
		if !IsLabel(s) {
			t.Errorf("IsLabel(%q) = false", s)
		}
	}
	for _, s := range []string{"Theodor Est", "ACME Widgets, Inc.", "Bei Spiel GmbH", "Free", "Au bon moulin", "OYO"} {
		if IsLabel(s) {
			t.Errorf("IsLabel(%q) = true", s)
		}
	}
}

func TestFoldKeepsColumns(t *testing.T) {
	for _, s := range []string{"Rechnungsempfänger", "Straße", "N° TVA", "Nº", "Date d’échéance"} {
		if a, b := len([]rune(s)), len([]rune(Fold(s))); a != b {
			t.Errorf("%q: %d runes folded to %d", s, a, b)
		}
	}
}
