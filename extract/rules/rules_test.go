package rules

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"github.com/shopspring/decimal"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/extractor-dev/extractor/extract"
	"github.com/extractor-dev/extractor/extract/lexicon"
	"github.com/extractor-dev/extractor/extract/pdf"
	"github.com/extractor-dev/extractor/internal/testenv"
	"github.com/extractor-dev/extractor/pipeline"
)

var (
	rulesDataset = flag.String("rules.dataset", "", "dataset folder to report the rules extractor's per-field accuracy on (TestRulesReport)")
	rulesShow    = flag.String("rules.show", "", "PDF to print the rules extractor's explanation of (TestRulesShow)")
)

// TestRulesShow prints how the rules extractor reads one PDF:
//
//	go test ./extract/rules -run TestRulesShow -rules.show file.pdf -v
func TestRulesShow(t *testing.T) {
	if *rulesShow == "" {
		t.Skip("no -rules.show")
	}
	schema, err := extract.Builtin("invoice")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := pdf.ParseFile(context.Background(), *rulesShow, pdf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	New(Config{}).Explain(doc, schema).WriteText(&b)
	t.Log("\n" + b.String())
	x, err := rulesExtract(context.Background(), doc, schema)
	if err != nil {
		t.Fatal(err)
	}
	for i, it := range x.Lists["line_items"] {
		t.Logf("item %d: %q | %s | %s | %s   [%q]", i, it.Fields["description"].Value, it.Fields["quantity"].Value,
			it.Fields["unit_price"].Value, it.Fields["amount"].Value, it.Quote)
	}
	for _, is := range x.Issues {
		t.Logf("issue %s %s %s: %s", is.Field, is.Code, is.Severity, is.Message)
	}
}

// labelledRow is the part of a dataset.jsonl row the accuracy tests read.
type labelledRow struct {
	ID           string         `json:"id"`
	File         string         `json:"file"`
	Schema       string         `json:"schema"`
	Group        string         `json:"group"`
	Expected     map[string]any `json:"expected"`
	LabelQuality string         `json:"label_quality"`
}

func readRows(t testing.TB, dir string) []labelledRow {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "dataset.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []labelledRow
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var r labelledRow
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	return rows
}

var testFields = []string{"vendor_name", "vendor_vat_id", "customer_name", "invoice_number", "issue_date", "due_date",
	"currency", "net_amount", "tax_amount", "total_amount", "iban", "line_items"}

// sameValue compares a normalized value with a label by the field's type.
func sameValue(field, got, want string) bool {
	switch field {
	case "net_amount", "tax_amount", "total_amount", "unit_price", "amount", "quantity":
		g, err1 := decimal.NewFromString(got)
		w, err2 := decimal.NewFromString(want)
		return err1 == nil && err2 == nil && g.Equal(w)
	case "vendor_vat_id", "iban":
		return strings.EqualFold(strings.ReplaceAll(got, " ", ""), strings.ReplaceAll(want, " ", ""))
	case "vendor_name", "customer_name", "description":
		return strings.EqualFold(strings.Join(strings.Fields(got), " "), strings.Join(strings.Fields(want), " "))
	}
	return strings.TrimSpace(got) == strings.TrimSpace(want)
}

// itemsScore is the share of labelled line fields read right, matching
// lines by position, and penalizing extra lines.
func itemsScore(got []pipeline.Item, want []any) float64 {
	total, right := 0, 0
	for i, w := range want {
		wm, _ := w.(map[string]any)
		for k, v := range wm {
			total++
			if i < len(got) {
				if sameValue(k, got[i].Fields[k].Value, fmt.Sprint(v)) {
					right++
				}
			}
		}
	}
	if extra := len(got) - len(want); extra > 0 {
		total += extra
	}
	if total == 0 {
		return 1
	}
	return float64(right) / float64(total)
}

type fieldTally struct {
	sum float64
	n   int
}

// rulesAccuracy runs the rules extractor on the dataset's labelled rows
// and returns per-field accuracy, macro-averaged over groups, and the
// misses for the log.
func rulesAccuracy(t testing.TB, dir string, qualities ...string) (map[string]float64, []string) {
	t.Helper()
	schema, err := extract.Builtin("invoice")
	if err != nil {
		t.Fatal(err)
	}
	groups := map[string]map[string]*fieldTally{} // field -> group -> tally
	var misses []string
	for _, r := range readRows(t, dir) {
		if r.Schema != "invoice" || len(r.Expected) == 0 || len(qualities) > 0 && !contains(qualities, r.LabelQuality) {
			continue
		}
		doc, err := pdf.ParseFile(context.Background(), filepath.Join(dir, r.File), pdf.Options{})
		if err != nil {
			t.Errorf("%s: %v", r.ID, err)
			continue
		}
		x, err := rulesExtract(context.Background(), doc, schema)
		if err != nil {
			t.Fatalf("%s: %v", r.ID, err)
		}
		// every value must be grounded on a verbatim quote
		verbatim := func(path string, f pipeline.Field) {
			if f.Found() && (!f.Grounded || f.Page < 1 || f.Page > len(doc.Pages) || !strings.Contains(doc.Pages[f.Page-1].Text(), f.Quote)) {
				misses = append(misses, fmt.Sprintf("%s %s: EVIDENCE %q not grounded verbatim (page %d, quote %q)", r.ID, path, f.Raw, f.Page, f.Quote))
			}
		}
		for name, f := range x.Fields {
			verbatim(name, f)
		}
		for i, it := range x.Lists["line_items"] {
			for name, f := range it.Fields {
				verbatim(fmt.Sprintf("line_items[%d].%s", i, name), f)
			}
		}
		for _, f := range testFields {
			want, ok := r.Expected[f]
			if !ok {
				continue
			}
			var score float64
			if f == "line_items" {
				ws, _ := want.([]any)
				score = itemsScore(x.Lists["line_items"], ws)
				if score < 1 {
					misses = append(misses, fmt.Sprintf("%s %s: %.2f (%d lines read, %d labelled)", r.ID, f, score, len(x.Lists["line_items"]), len(ws)))
				}
			} else {
				got := x.Fields[f]
				if sameValue(f, got.Value, fmt.Sprint(want)) {
					score = 1
				} else {
					misses = append(misses, fmt.Sprintf("%s %s: got %q (raw %q), want %q", r.ID, f, got.Value, got.Raw, want))
				}
			}
			if groups[f] == nil {
				groups[f] = map[string]*fieldTally{}
			}
			g := groups[f][r.Group]
			if g == nil {
				g = &fieldTally{}
				groups[f][r.Group] = g
			}
			g.sum += score
			g.n++
		}
	}
	acc := map[string]float64{}
	for f, gs := range groups {
		var sum float64
		for _, g := range gs {
			sum += g.sum / float64(g.n)
		}
		acc[f] = sum / float64(len(gs))
	}
	return acc, misses
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// TestRulesSampleSet holds the rules extractor to accuracy floors on the
// synthetic sample invoices (testdata/invoices), scored per field and
// macro-averaged over layouts.
func TestRulesSampleSet(t *testing.T) {
	acc, misses := rulesAccuracy(t, filepath.Join("..", "..", "testdata", "invoices"))
	floors := map[string]float64{
		"vendor_name": 0.95, "vendor_vat_id": 0.95, "customer_name": 0.95, "invoice_number": 0.95,
		"issue_date": 0.95, "due_date": 0.95, "currency": 0.95, "net_amount": 0.95, "tax_amount": 0.95,
		"total_amount": 0.95, "iban": 0.95, "line_items": 0.9,
	}
	for _, m := range misses {
		t.Log(m)
	}
	for _, f := range testFields {
		t.Logf("%-15s %.3f", f, acc[f])
		if acc[f] < floors[f] {
			t.Errorf("%s: accuracy %.3f is below the floor %.2f", f, acc[f], floors[f])
		}
	}
}

// TestRulesReport prints the per-field accuracy on any dataset folder:
//
//	go test ./extract -run TestRulesReport -rules.dataset /tmp/syn -v
func TestRulesReport(t *testing.T) {
	if *rulesDataset == "" {
		t.Skip("no -rules.dataset")
	}
	acc, misses := rulesAccuracy(t, *rulesDataset, "verified", "partial")
	for _, m := range misses {
		t.Log(m)
	}
	var names []string
	for f := range acc {
		names = append(names, f)
	}
	sort.Strings(names)
	for _, f := range names {
		t.Logf("%-15s %.3f", f, acc[f])
	}
}

// TestRulesEvidence checks that every value the rules extractor returns
// on the sample set is grounded: its quote is on its page and holds it.
func TestRulesEvidence(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "invoices")
	schema, err := extract.Builtin("invoice")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range readRows(t, dir) {
		doc, err := pdf.ParseFile(context.Background(), filepath.Join(dir, r.File), pdf.Options{})
		if err != nil {
			t.Fatal(err)
		}
		x, err := rulesExtract(context.Background(), doc, schema)
		if err != nil {
			t.Fatal(err)
		}
		if x.Extractor.Kind != "rules" || x.Extractor.Version != New(Config{}).Version() {
			t.Errorf("%s: extractor %+v", r.ID, x.Extractor)
		}
		check := func(path string, f pipeline.Field) {
			if !f.Found() {
				return
			}
			if !f.Grounded || f.Page < 1 || !strings.Contains(doc.Pages[f.Page-1].Text(), f.Quote) {
				t.Errorf("%s %s: %q not grounded verbatim (page %d, quote %q)", r.ID, path, f.Raw, f.Page, f.Quote)
			}
		}
		for name, f := range x.Fields {
			check(name, f)
		}
		for i, it := range x.Lists["line_items"] {
			for name, f := range it.Fields {
				check(fmt.Sprintf("line_items[%d].%s", i, name), f)
			}
		}
		for _, is := range x.Issues {
			if is.Code == pipeline.IssueUngrounded || is.Code == pipeline.IssueInvalid {
				t.Errorf("%s: %s %s: %s", r.ID, is.Field, is.Code, is.Message)
			}
		}
	}
}

// layoutDoc builds a document from page texts, giving each line a box:
// 12 points a line, 5 points a character of indent. A line starting with
// "^" is printed larger (a letterhead).
func layoutDoc(pages ...string) pipeline.Document {
	d := pipeline.Document{ID: "layout"}
	for i, p := range pages {
		pg := pipeline.Page{Number: i + 1, Status: pipeline.PageText, Width: 595, Height: 842}
		y := 40.0
		for _, text := range strings.Split(strings.Trim(p, "\n"), "\n") {
			h := 9.0
			if i := strings.Index(text, "^"); i >= 0 && strings.TrimSpace(text[:i]) == "" {
				text, h = text[:i]+text[i+1:], 16
			}
			indent := len(text) - len(strings.TrimLeft(text, " "))
			pg.Lines = append(pg.Lines, pipeline.Line{Text: text,
				Box: pipeline.Box{X0: 30 + 5*float64(indent), Y0: y, X1: 30 + 5*float64(len(text)), Y1: y + h}})
			y += h + 3
		}
		d.Pages = append(d.Pages, pg)
	}
	return d
}

type wantItem struct{ desc, qty, price, amount string }

// checkRules runs the rules extractor on doc and compares the fields
// named in want ("" = must be empty) and, when items is not nil, the lines.
func checkRules(t *testing.T, doc pipeline.Document, want map[string]string, items []wantItem) {
	t.Helper()
	schema, err := extract.Builtin("invoice")
	if err != nil {
		t.Fatal(err)
	}
	x, err := rulesExtract(context.Background(), doc, schema)
	if err != nil {
		t.Fatal(err)
	}
	for name, w := range want {
		f := x.Fields[name]
		if f.Value != w {
			t.Errorf("%s = %q (raw %q, quote %q), want %q", name, f.Value, f.Raw, f.Quote, w)
		}
		if f.Found() && !f.Grounded {
			t.Errorf("%s: %q is not grounded (quote %q)", name, f.Raw, f.Quote)
		}
	}
	if items == nil {
		return
	}
	got := x.Lists["line_items"]
	if len(got) != len(items) {
		t.Errorf("%d line items, want %d", len(got), len(items))
		for i, it := range got {
			t.Logf("item %d: %q %q %q %q", i, it.Fields["description"].Value, it.Fields["quantity"].Value, it.Fields["unit_price"].Value, it.Fields["amount"].Value)
		}
		return
	}
	for i, w := range items {
		f := got[i].Fields
		g := wantItem{f["description"].Value, f["quantity"].Value, f["unit_price"].Value, f["amount"].Value}
		if g != w {
			t.Errorf("item %d = %q, want %q", i, g, w)
		}
		for name, fv := range f {
			if fv.Found() && !fv.Grounded {
				t.Errorf("item %d %s: %q is not grounded (quote %q)", i, name, fv.Raw, fv.Quote)
			}
		}
	}
}

// A US invoice: month-first dates, "$", the quantity before the
// description, Bill To and Ship To side by side, sales tax.
func TestRulesUSInvoice(t *testing.T) {
	doc := layoutDoc(`
^ACME Widgets, Inc.                                   INVOICE
123 Main Street
Springfield, IL 62701
Phone (217) 555-0100
BILL TO                          SHIP TO                   Invoice #:      10234
Globex Corporation               Globex Warehouse          Date:           03/05/2024
500 Industrial Way               77 Dock Rd                Due Date:       04/04/2024
Chicago, IL 60601                Gary, IN 46402
QTY   DESCRIPTION                              UNIT PRICE       AMOUNT
2     Widget, large                                 150.00       300.00
10    Gasket set (pack of 4)                         12.50       125.00
1     Installation labor                            480.00       480.00
                                             Subtotal           905.00
                                             Sales Tax 6.25%     56.56
                                             TOTAL            $961.56
Thank you for your business!
`)
	checkRules(t, doc, map[string]string{
		"vendor_name": "ACME Widgets, Inc.", "customer_name": "Globex Corporation", "invoice_number": "10234",
		"issue_date": "2024-03-05", "due_date": "2024-04-04", "currency": "USD",
		"net_amount": "905.00", "tax_amount": "56.56", "total_amount": "961.56", "iban": "", "vendor_vat_id": "",
	}, []wantItem{
		{"Widget, large", "2", "150.00", "300.00"},
		{"Gasket set (pack of 4)", "10", "12.50", "125.00"},
		{"Installation labor", "1", "480.00", "480.00"},
	})
}

// A German invoice after DIN 5008: the sender line above the address
// window, position, quantity and unit before the description, a second
// description line, the due date in a sentence, the buyer's VAT id in the
// address block and the seller's in the footer.
func TestRulesGermanInvoice(t *testing.T) {
	doc := layoutDoc(`
                                                   ^Muster Elektro GmbH
                                                   Industriestraße 5
                                                   70565 Stuttgart
Muster Elektro GmbH · Industriestraße 5 · 70565 Stuttgart
Beispiel Bau AG                                    Rechnung Nr.:   2024-0815
Hauptstraße 1                                      Datum:          12.03.2024
10115 Berlin                                       Kunden-Nr.:     4711
USt-IdNr.: DE 123 456 788
RECHNUNG
Pos.  Menge  Einheit  Bezeichnung                         Einzelpreis      Gesamtpreis
1     2      Stk      Leitungsschutzschalter B16               12,50            25,00
                      3-polig, 400 V
2     8,5    Std      Montagearbeiten                          65,00           552,50
3     1.000  m        Kabel NYM-J 3x1,5                         0,85           850,00
                                      Nettobetrag                              1.427,50 €
                                      zzgl. 19 % MwSt.                           271,23 €
                                      Rechnungsbetrag                          1.698,73 €
Zahlbar bis zum 26.03.2024 ohne Abzug.
Muster Elektro GmbH · Geschäftsführer: Max Muster · Amtsgericht Stuttgart HRB 12345
USt-IdNr.: DE 811 234 565 · IBAN: DE89 3704 0044 0532 0130 00 · BIC: COBADEFFXXX
`)
	checkRules(t, doc, map[string]string{
		"vendor_name": "Muster Elektro GmbH", "customer_name": "Beispiel Bau AG", "invoice_number": "2024-0815",
		"issue_date": "2024-03-12", "due_date": "2024-03-26", "currency": "EUR", "vendor_vat_id": "DE811234565",
		"net_amount": "1427.50", "tax_amount": "271.23", "total_amount": "1698.73", "iban": "DE89370400440532013000",
	}, []wantItem{
		{"Leitungsschutzschalter B16 3-polig, 400 V", "2", "12.50", "25.00"},
		{"Montagearbeiten", "8.5", "65.00", "552.50"},
		{"Kabel NYM-J 3x1,5", "1000", "0.85", "850.00"},
	})
}

// A French invoice: "Facture N° … du …", the client after a label on its
// line, HT/TVA/TTC totals, "Net à payer", the seller's VAT id after
// "TVA intracommunautaire", space-grouped thousands.
func TestRulesFrenchInvoice(t *testing.T) {
	doc := layoutDoc(`
^Atelier Durand SARL
12 rue des Lilas
69003 Lyon
SIRET 732 829 320 00074 - TVA intracommunautaire : FR 44 732 829 320
Facture N° F2024-0042 du 15 janvier 2024
Client : Boulangerie Martin SAS
8 place du Marché
33000 Bordeaux
Désignation                              Qté      P.U. HT       Montant HT
Réparation four à sole                     1     1 250,00       1 250,00
Pièces détachées                           3        84,50         253,50
                                               Total HT         1 503,50 €
                                               TVA 20 %           300,70 €
                                               Total TTC        1 804,20 €
                                               Net à payer      1 804,20 €
Échéance : 14/02/2024
IBAN : FR14 2004 1010 0505 0001 3M02 606
`)
	checkRules(t, doc, map[string]string{
		"vendor_name": "Atelier Durand SARL", "customer_name": "Boulangerie Martin SAS", "invoice_number": "F2024-0042",
		"issue_date": "2024-01-15", "due_date": "2024-02-14", "currency": "EUR", "vendor_vat_id": "FR44732829320",
		"net_amount": "1503.50", "tax_amount": "300.70", "total_amount": "1804.20", "iban": "FR1420041010050500013M02606",
	}, []wantItem{
		{"Réparation four à sole", "1", "1250.00", "1250.00"},
		{"Pièces détachées", "3", "84.50", "253.50"},
	})
}

// Totals in a grid: labels in one row, values below; a credit note's
// negative amounts.
func TestRulesGridTotalsAndCreditNote(t *testing.T) {
	doc := layoutDoc(`
^Northwind Traders Ltd
1 King Street, London EC2V 8AU
VAT Reg No: GB 980 7806 84
Credit note no. CN-2024-007                 Date: 5 Mar 2024
Description                        Qty      Unit price        Amount
Returned goods                       1          -8.79          -8.79
Net amount          VAT 20%          Total
-8.79               -1.76            -10.55
`)
	checkRules(t, doc, map[string]string{
		"vendor_name": "Northwind Traders Ltd", "invoice_number": "CN-2024-007", "issue_date": "2024-03-05",
		"vendor_vat_id": "GB980780684", "net_amount": "-8.79", "tax_amount": "-1.76", "total_amount": "-10.55",
	}, []wantItem{{"Returned goods", "1", "-8.79", "-8.79"}})
}

// An item table over two pages, its header repeated, with a page footer
// between the rows; the totals on page 2.
func TestRulesTableOverPages(t *testing.T) {
	doc := layoutDoc(`
^Blue Harbor Supplies Ltd                          INVOICE
Invoice number: INV-7781
Invoice date: 2024-06-30
Description                                Qty      Unit price        Amount
Copy paper A4                               10            4.20         42.00
Toner, black                                 2           61.00        122.00
Blue Harbor Supplies Ltd · 4 Dock Road · Leeds LS1 4AP · Registered in England 0123456
                                                                    Page 1 of 2
`, `
Blue Harbor Supplies Ltd                 Invoice INV-7781 (continued)
Description                                Qty      Unit price        Amount
Stapler                                      1           12.99         12.99
                                          Subtotal                    176.99
                                          VAT 20%                      35.40
                                          Total due                   212.39
Blue Harbor Supplies Ltd · 4 Dock Road · Leeds LS1 4AP · Registered in England 0123456
                                                                    Page 2 of 2
`)
	checkRules(t, doc, map[string]string{
		"vendor_name": "Blue Harbor Supplies Ltd", "invoice_number": "INV-7781", "issue_date": "2024-06-30",
		"net_amount": "176.99", "tax_amount": "35.40", "total_amount": "212.39",
	}, []wantItem{
		{"Copy paper A4", "10", "4.20", "42.00"},
		{"Toner, black", "2", "61.00", "122.00"},
		{"Stapler", "1", "12.99", "12.99"},
	})
}

// A receipt without a table header: the description above "qty x price".
func TestRulesReceiptLines(t *testing.T) {
	doc := layoutDoc(`
          ^Café Sonne GmbH
          Marktplatz 3, 79098 Freiburg
Rechnung Nr. 1187            Datum 02.02.2024
Cappuccino
   2 x 3,20                          6,40
Apfelkuchen
   1 x 3,90                          3,90
Wasser
   2x1,50                            3,00
Summe                               13,30 €
enthaltene MwSt. 7 %                  0,87 €
`)
	// "2x1,50": printed without spaces, or read so by OCR.
	checkRules(t, doc, map[string]string{
		"vendor_name": "Café Sonne GmbH", "invoice_number": "1187", "issue_date": "2024-02-02", "total_amount": "13.30",
	}, []wantItem{{"Cappuccino", "2", "3.20", "6.40"}, {"Apfelkuchen", "1", "3.90", "3.90"}, {"Wasser", "2", "1.50", "3.00"}})
}

// The buyer's account to be debited is not the IBAN to pay to; the
// buyer's VAT id next to "Ihre USt-IdNr." is not the seller's.
func TestRulesBuyerIBANAndVATID(t *testing.T) {
	doc := layoutDoc(`
^Stadtwerke Nord GmbH
Rechnung Nr. SW-99812     Rechnungsdatum 01.04.2024
Ihre USt-IdNr.: DE 136 695 976
Der Betrag von 120,00 € wird am 15.04.2024 von Ihrem Konto
IBAN DE89 3704 0044 0532 0130 00 per SEPA-Lastschrift abgebucht.
Gesamtbetrag 120,00 €
`)
	checkRules(t, doc, map[string]string{"iban": "", "vendor_vat_id": "", "total_amount": "120.00", "invoice_number": "SW-99812"}, nil)
}

func TestRulesExtractAPI(t *testing.T) {
	doc := layoutDoc("Invoice no. 12345\nTotal 10.00 EUR")
	if _, err := rulesExtract(context.Background(), doc, pipeline.Schema{Name: "empty"}); err == nil {
		t.Error("a schema without fields: want an error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := rulesExtract(ctx, doc, pipeline.Schema{Name: "x", Fields: []pipeline.FieldSpec{{Name: "a", Type: pipeline.TypeString}}}); err == nil {
		t.Error("a cancelled context: want an error")
	}
	nda, err := extract.Builtin("nda")
	if err != nil {
		t.Fatal(err)
	}
	x, err := rulesExtract(context.Background(), doc, nda)
	if err != nil {
		t.Fatal(err)
	}
	for name, f := range x.Fields {
		if f.Found() {
			t.Errorf("nda %s = %q: the rules know no nda field", name, f.Raw)
		}
	}
	if x.Extractor != (pipeline.ExtractorRef{Kind: "rules", Version: New(Config{}).Version()}) {
		t.Errorf("extractor %+v", x.Extractor)
	}
	// an empty document reads nothing and does not panic
	if _, err := rulesExtract(context.Background(), pipeline.Document{}, nda); err != nil {
		t.Error(err)
	}
	inv, _ := extract.Builtin("invoice")
	if _, err := rulesExtract(context.Background(), pipeline.Document{Pages: []pipeline.Page{{Number: 1}}}, inv); err != nil {
		t.Error(err)
	}
}

// Two VAT rates and no VAT total: the tax total is not printed, so it is
// not read; the lines' unit column is skipped.
func TestRulesSeveralVATRates(t *testing.T) {
	doc := layoutDoc(`
^Weinhandlung Vogel KG
Invoice to: Hotel Adler GmbH
Rechnung 2024/118 vom 03.04.2024
Artikel                               Menge     Preis       Betrag
Riesling trocken 0,75 l                  12      8,40       100,80
Gläser (Leihgebühr)                       1     10,00        10,00
                               Nettobetrag               110,80 €
                               USt. 7 % auf 100,80         7,06 €
                               USt. 19 % auf 10,00         1,90 €
                               Gesamtbetrag              119,76 €
`)
	checkRules(t, doc, map[string]string{"vendor_name": "Weinhandlung Vogel KG", "customer_name": "Hotel Adler GmbH", "invoice_number": "2024/118", "issue_date": "2024-04-03",
		"net_amount": "110.80", "tax_amount": "", "total_amount": "119.76"}, []wantItem{{"Riesling trocken 0,75 l", "12", "8.40", "100.80"}, {"Gläser (Leihgebühr)", "1", "10.00", "10.00"}})
}

// The currency in a cell of its own; the vendor only after "remit to"
// in a sentence; "Customer No." is not the customer.
func TestRulesCurrencyCellAndRemitTo(t *testing.T) {
	doc := layoutDoc(`
INVOICE #2024-118
Date: January 9, 2024
Customer No.: 4411
Customer: Wayne Enterprises
Item                     Hours     Rate      Amount
Consulting                  10    150.00    1,500.00
Amount Due         USD      1,500.00
Please remit to Stark Consulting LLC, 10 Park Ave, New York, NY 10016
`)
	checkRules(t, doc, map[string]string{"vendor_name": "Stark Consulting LLC", "customer_name": "Wayne Enterprises", "invoice_number": "2024-118", "issue_date": "2024-01-09",
		"total_amount": "1500.00", "currency": "USD"}, []wantItem{{"Consulting", "10", "150.00", "1500.00"}})
}

// The letterhead is an image: the sender line lacks the name, the vendor
// is only in the footer, the addressee is the block under the sender line.
func TestRulesVendorOnlyInFooter(t *testing.T) {
	doc := layoutDoc(`
Hauptstr. 1 · 12345 Berlin
Beispiel Handel GmbH
Am Park 2
54321 Köln
Rechnungsnummer    Rechnungsdatum    Leistungsdatum
R-1001             01.02.2024        15.01.2024
Beschreibung                               Betrag
Wartung Januar                             500,00
Summe netto                                500,00
zzgl. 19% USt                               95,00
Gesamtsumme                                595,00
Firma XY GmbH | Geschäftsführer: A. B. | HRB 1234 | USt-ID DE123456788 | IBAN DE89 3704 0044 0532 0130 00
`)
	checkRules(t, doc, map[string]string{"vendor_name": "Firma XY GmbH", "customer_name": "Beispiel Handel GmbH", "invoice_number": "R-1001", "issue_date": "2024-02-01",
		"net_amount": "500.00", "tax_amount": "95.00", "total_amount": "595.00", "vendor_vat_id": "DE123456788", "iban": "DE89370400440532013000"}, nil)
}

// An ERP layout: sender and addressee blocks stacked on the right with
// their countries, dates in a grid, units after quantities, a tax column.
func TestRulesERPStyleInvoice(t *testing.T) {
	doc := layoutDoc(`
                                             ^Harbor Office Supply Co.
                                             250 Executive Park Blvd, Suite 3400
                                             San Francisco CA 94134
                                             United States
                                             Lakeside Dental Group
                                             4557 De Silva St
                                             Fremont CA 94538
                                             United States
Invoice INV/2023/00003
Invoice Date:          Due Date:            Source:
07/08/2023             08/31/2023           S00012
DESCRIPTION                     QUANTITY     UNIT PRICE     TAXES     AMOUNT
[LMP_0001] Desk lamp             2.00 Units    40.00          15%       80.00 $
[CHR_0420] Visitor chair         1.00 Units   120.00          15%      120.00 $
Untaxed Amount                               $ 200.00
Tax 15%                                      $ 30.00
Total                                        $ 230.00
Payment terms: 30 Days
Please use the following communication for your payment: INV/2023/00003
`)
	checkRules(t, doc, map[string]string{"vendor_name": "Harbor Office Supply Co.", "customer_name": "Lakeside Dental Group", "invoice_number": "INV/2023/00003",
		"issue_date": "2023-07-08", "due_date": "2023-08-31", "currency": "USD",
		"net_amount": "200.00", "tax_amount": "30.00", "total_amount": "230.00"},
		[]wantItem{{"Desk lamp", "2", "40.00", "80.00"}, {"Visitor chair", "1", "120.00", "120.00"}}) // the bracketed article code is not the description
}

func TestLabelsStayInTheirCell(t *testing.T) {
	lay := NewLayout(layoutDoc("  Invoice number          Date                    Due date\nInvoice No.: 17   Rechnungs-Nr. 18   N° de facture 19"))
	var got []string
	for _, l := range lay.Lines {
		for _, h := range l.Labels {
			if h.Concept == lexicon.DueDate || h.Concept == lexicon.InvoiceNumber {
				got = append(got, l.Sub(h.Start, h.End))
			}
		}
	}
	want := []string{"Invoice number", "Due date", "Invoice No.", "Rechnungs-Nr.", "N° de facture"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("labels %q, want %q (\"Date   Due\" spans a column gap)", got, want)
	}
}

func TestSplitCells(t *testing.T) {
	got := splitCells([]rune("  Net amount            £2,097.65  x"))
	want := []Cell{{2, 12, "Net amount"}, {24, 33, "£2,097.65"}, {35, 36, "x"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("splitCells = %v, want %v", got, want)
	}
}

func TestAmountsIn(t *testing.T) {
	for _, c := range []struct {
		text string
		dec  byte
		want []string // value/currency/pct
	}{
		{"Total TTC      1 804,20 €", ',', []string{"1804.20/EUR/false"}},
		{"VAT 19% (on 176.25)   €33.49", '.', []string{"19/-/true", "176.25/-/false", "33.49/EUR/false"}},
		{"USt. 19 %   1.361,80 €", ',', []string{"19/-/true", "1361.80/EUR/false"}},
		{"Gutschrift   8,79-", ',', []string{"-8.79/-/false"}},
		{"Refund  (12.50)", '.', []string{"-12.50/-/false"}},
		{"Amount  -$3.00", '.', []string{"-3.00/USD/false"}},
		{"CHF 1'234.50", '.', []string{"1234.50/CHF/false"}},
		{"Qty 1.000 m", ',', []string{"1000/-/false"}},
		{"Qty 1.000 m", '.', []string{"1.000/-/false"}},
		{"Room Charges   Rs 1939", '.', []string{"1939/INR/false"}},
		// ids, dates, codes and phone-like numbers are not amounts
		{"RE-2024/17 on 05.03.2024, item A4, M6x20", ',', nil},
		{"IBAN DE89", '.', nil},
	} {
		lay := &Layout{Dec: c.dec}
		var got []string
		for _, m := range lay.amountsIn(c.text) {
			cur := m.Currency
			if cur == "" {
				cur = "-"
			}
			got = append(got, fmt.Sprintf("%s/%s/%v", m.Value.StringFixed(int32(max(m.Decimals, 0))), cur, m.Percent))
		}
		if strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("amountsIn(%q, %c) = %v, want %v", c.text, c.dec, got, c.want)
		}
	}
}

func TestIDsInText(t *testing.T) {
	ibans := ibansIn("IBAN: DE89 3704 0044 0532 0130 00 · BIC: COBADEFFXXX")
	if len(ibans) != 1 || ibans[0].id != "DE89370400440532013000" {
		t.Errorf("ibansIn = %v", ibans)
	}
	if got := ibansIn("IBAN DE89 3704 0044 0532 0130 01"); len(got) != 0 {
		t.Errorf("a bad checksum was read: %v", got)
	}
	for _, c := range []struct {
		text string
		want []string
	}{
		{"USt-ID DE123456788 | IBAN DE89 3704 0044 0532 0130 00", []string{"DE123456788"}},
		{"N° TVA: FR 44 732 829 320 Tél. +33 2 45", []string{"FR44732829320"}},
		{"VAT Reg No: GB 980 7806 84", []string{"GB980780684"}},
		{"UID: CHE-123.456.789 MWST", []string{"CHE123456789MWST"}},
		{"GSTIN: 29AABCT1332L1ZT", []string{"29AABCT1332L1ZT"}},
		{"DE 136 695 977", nil},
	} {
		var got []string
		for _, id := range vatIDsIn(c.text) {
			got = append(got, id.id)
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("vatIDsIn(%q) = %v, want %v", c.text, got, c.want)
		}
	}
}

func TestNameLike(t *testing.T) {
	for _, c := range []struct {
		s    string
		name bool
	}{
		{"Brookfield Engineering Ltd", true},
		{"Fairfax Logistics Limited", true}, // "fax" inside a word is no fax number
		{"Wolf & Köhler GmbH", true},
		{"Électricité Fournier EURL", true},
		{"Theodor Est", true},
		{"Customer no.", false},
		{"FROM", false},
		{"Issue date", false},
		{"INVOICE", false},
		{"RECHNUNG", false},
		{"Address", false},
		{"Hotel Details", false},
		{"Afleveradres", false},
		{"106 High Street", false},
		{"Hauptstraße 87", false},
		{"75011 Paris", false},
		{"Manchester M2 4LQ", false},
		{"Tel. +44 52 4346 0336", false},
		{"info@example.com", false},
		{"USD", false},
		{"GmbH", false},
		{"Customer: Wayne Enterprises", false},
	} {
		if got := nameLike(c.s) > 0; got != c.name {
			t.Errorf("nameLike(%q) = %v, want %v", c.s, got, c.name)
		}
	}
}

func TestHeaderOf(t *testing.T) {
	names := map[lexicon.Concept]string{lexicon.ColPosition: "pos", lexicon.ColDescription: "desc", lexicon.ColQuantity: "qty", lexicon.ColUnit: "unit",
		lexicon.ColUnitPrice: "price", lexicon.ColAmount: "amount", lexicon.ColVATRate: "vat", lexicon.ColDiscount: "discount", lexicon.ColArticle: "article"}
	for _, c := range []struct {
		text  string
		kinds string // column kinds in order, "" = not a header
	}{
		{"  #    Description                    Qty      Unit price       Amount", "pos desc qty price amount"},
		{"Pos.  Menge  Einheit  Bezeichnung       Einzelpreis      Gesamtpreis", "pos qty unit desc price amount"},
		{"N°     Désignation        Qté     Prix unitaire   Montant HT", "pos desc qty price amount"},
		{"QTY   DESCRIPTION         UNIT PRICE       AMOUNT", "qty desc price amount"},
		{"DESCRIPTION   QUANTITY   UNIT PRICE   TAXES   AMOUNT", "desc qty price vat amount"},
		{" Amount     Product                          VAT        Price          Total", "qty desc vat price amount"},
		{"Please pay the total amount within 30 days of the invoice date.", ""},
		{"Description        Amount", ""}, // one money column: too little to trust
		{"Widget     2     10.00     20.00", ""},
	} {
		lay := NewLayout(layoutDoc(c.text))
		tb, ok := lay.headerOf(lay.Lines[0])
		var kinds []string
		if ok {
			for _, col := range tb.cols {
				kinds = append(kinds, names[col.kind])
			}
		}
		if got := strings.Join(kinds, " "); got != c.kinds {
			t.Errorf("headerOf(%q) = %q, want %q", c.text, got, c.kinds)
		}
	}
}

func TestAssignColumns(t *testing.T) {
	cols := []itemColumn{{kind: lexicon.ColQuantity, s: 50, e: 53}, {kind: lexicon.ColUnitPrice, s: 60, e: 70}, {kind: lexicon.ColAmount, s: 78, e: 84}}
	num := func(s, e int) numCell { return numCell{Cell: Cell{Start: s, End: e}} }
	got := assignColumns([]numCell{num(64, 70), num(79, 85)}, cols)
	if _, ok := got[0]; ok || got[1].Start != 64 || got[2].Start != 79 {
		t.Errorf("assignColumns = %v", got)
	}
	got = assignColumns([]numCell{num(51, 52), num(64, 70), num(79, 85)}, cols)
	if len(got) != 3 || got[0].Start != 51 {
		t.Errorf("assignColumns = %v", got)
	}
}

func TestDocumentConventions(t *testing.T) {
	for _, c := range []struct {
		text       string
		dec        byte
		monthFirst bool
	}{
		{"Total 1.234,56 €\nDatum 03/05/2024", ',', false},
		{"Total $1,234.56\nDate 03/05/2024", '.', true},
		{"Total £1,234.56\nDate 03/05/2024", '.', false},
		{"Total $1,234.56\nDate 13/05/2024 due 03/06/2024", '.', false}, // 13 decides
		{"Total 1,234.56 EUR\nDate 05/13/2024", '.', true},
		{"Datum 05.03.24 Summe 12,00", ',', false}, // a dotted date is no amount
	} {
		lay := NewLayout(layoutDoc(c.text))
		if lay.Dec != c.dec || lay.MonthFirst != c.monthFirst {
			t.Errorf("%q: decimal %c, month first %v; want %c, %v", c.text, lay.Dec, lay.MonthFirst, c.dec, c.monthFirst)
		}
	}
}

// rulesExtract reads with the rules and runs the checks, as the pipeline's
// extract and validate steps do.
func rulesExtract(ctx context.Context, doc pipeline.Document, s pipeline.Schema) (pipeline.Extraction, error) {
	x, err := New(Config{}).Extract(ctx, doc, s)
	if err == nil {
		x = extract.Checks{}.Validate(doc, s, x, nil)
	}
	return x, err
}

// BenchmarkSampleSet extracts the 20 sample invoices (parsed once).
func BenchmarkSampleSet(b *testing.B) {
	dir := filepath.Join("..", "..", "testdata", "invoices")
	schema, err := extract.Builtin("invoice")
	if err != nil {
		b.Fatal(err)
	}
	var docs []pipeline.Document
	for _, r := range readRows(b, dir) {
		doc, err := pdf.ParseFile(context.Background(), filepath.Join(dir, r.File), pdf.Options{})
		if err != nil {
			b.Fatal(err)
		}
		docs = append(docs, doc)
	}
	e := New(Config{})
	b.ResetTimer()
	for range b.N {
		for _, doc := range docs {
			if _, err := e.Extract(context.Background(), doc, schema); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkLongInvoice extracts a 200-page invoice of 40 rows a page.
func BenchmarkLongInvoice(b *testing.B) {
	var pages []string
	for p := range 200 {
		var s strings.Builder
		s.WriteString("Northwind Traders Ltd                 Invoice INV-1 (continued)\n")
		s.WriteString("Description                                Qty      Unit price        Amount\n")
		for i := range 40 {
			fmt.Fprintf(&s, "Item %d-%d spare part                       %d           %d.50        %d.00\n", p, i, 2, 10+i, 2*(10+i)+1)
		}
		s.WriteString("Northwind Traders Ltd · 1 King Street · London EC2V 8AU\n")
		pages = append(pages, s.String())
	}
	pages[199] += "Subtotal 1.00\nVAT 20% 0.20\nTotal 1.20\n"
	doc := layoutDoc(pages...)
	schema, err := extract.Builtin("invoice")
	if err != nil {
		b.Fatal(err)
	}
	e := New(Config{})
	b.ResetTimer()
	for range b.N {
		x, err := e.Extract(context.Background(), doc, schema)
		if err != nil {
			b.Fatal(err)
		}
		if n := len(x.Lists["line_items"]); n != 8000 {
			b.Fatalf("%d items", n)
		}
	}
}

// BenchmarkChoose resolves prepared sample invoices again (what fitting
// the weights repeats).
func BenchmarkChoose(b *testing.B) {
	dir := filepath.Join("..", "..", "testdata", "invoices")
	schema, err := extract.Builtin("invoice")
	if err != nil {
		b.Fatal(err)
	}
	var ps []*Prepared
	for _, r := range readRows(b, dir) {
		doc, err := pdf.ParseFile(context.Background(), filepath.Join(dir, r.File), pdf.Options{})
		if err != nil {
			b.Fatal(err)
		}
		ps = append(ps, Prepare(doc, schema))
	}
	b.ResetTimer()
	for range b.N {
		for _, p := range ps {
			p.Choose(DefaultWeights)
		}
	}
}

// BenchmarkCorpus extracts and checks the shared corpus's public PDFs
// (parsed once), as the extract and validate steps do. It skips without
// the corpus.
func BenchmarkCorpus(b *testing.B) {
	corpus := testenv.CorpusDir(b)
	schema, err := extract.Builtin("invoice")
	if err != nil {
		b.Fatal(err)
	}
	var docs []pipeline.Document
	for _, f := range pdfsUnder(b, filepath.Join(corpus, "public")) {
		doc, err := pdf.ParseFile(context.Background(), f, pdf.Options{})
		if err == nil {
			docs = append(docs, doc)
		}
	}
	e := New(Config{})
	b.ResetTimer()
	for range b.N {
		for _, doc := range docs {
			x, err := e.Extract(context.Background(), doc, schema)
			if err != nil {
				b.Fatal(err)
			}
			extract.Checks{}.Validate(doc, schema, x, nil)
		}
	}
}

// A lone word over a company name in an address block is a heading, or
// one OCR garbled ("Bill to" read as "Billo" on testdata/scans' scan-0007),
// not the customer.
func TestGarbledHeadingOverAName(t *testing.T) {
	// testdata/scan-0007-ocr.json: 'extractor parse --json' of
	// testdata/scans/files/scan/scan-0007.png (tesseract 5.3.0).
	data, err := os.ReadFile(filepath.Join("testdata", "scan-0007-ocr.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc pipeline.Document
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	s, err := extract.Builtin("invoice")
	if err != nil {
		t.Fatal(err)
	}
	x, err := New(Config{}).Extract(context.Background(), doc, s)
	if err != nil {
		t.Fatal(err)
	}
	if got := x.Fields["customer_name"].Raw; got != "Brookfield Logistics LLP" {
		t.Errorf("customer_name %q, want Brookfield Logistics LLP", got)
	}
}
