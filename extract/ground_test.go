package extract

import (
	"fmt"
	"strings"
	"testing"

	"github.com/extractor-dev/extractor/pipeline"
)

func groundTestDoc(pages ...string) pipeline.Document {
	d := pipeline.Document{ID: "test"}
	for i, p := range pages {
		pg := pipeline.Page{Number: i + 1, Status: pipeline.PageText}
		for _, l := range strings.Split(p, "\n") {
			pg.Lines = append(pg.Lines, pipeline.Line{Text: l})
		}
		d.Pages = append(d.Pages, pg)
	}
	return d
}

func TestGround(t *testing.T) {
	doc := groundTestDoc(
		"ACME GmbH                                  RECHNUNG\n"+
			"Rechnungsnr.:      RE-2024/17\n"+
			"Rechnungsdatum     5. März 2024\n"+
			"Zahlbar bis        05.04.24\n"+
			"Nettobetrag                     1.234,56 €\n"+
			"Gutschrift                         8,79-\n"+
			"Summe              1\u202f468,13 EUR\n"+
			"IBAN: DE89 3704 0044 0532 0130 00\n"+
			"USt-IdNr.: DE 136 695 976\n"+
			"Kunde: O’Brien – Söhne ﬁne Foods",
		"Invoice date: 03/05/2024    Total due: $1,810.80\n"+
			"Qty 3   Unit price 12.50   Amount (8.79)",
		"Widget large       2     9.00\n   with case",
	)
	str := func(t pipeline.FieldType) pipeline.FieldSpec { return pipeline.FieldSpec{Name: "f", Type: t} }
	for _, c := range []struct {
		spec   pipeline.FieldSpec
		value  string
		ev     pipeline.Evidence
		ok     bool
		page   int
		reason string
	}{
		// money in every locale
		{str(pipeline.TypeMoney), "1234.56", pipeline.Evidence{Page: 1, Quote: "Nettobetrag 1.234,56 €"}, true, 1, ""},
		{str(pipeline.TypeMoney), "1468.13", pipeline.Evidence{Page: 1, Quote: "Summe              1\u202f468,13 EUR"}, true, 1, ""},
		{str(pipeline.TypeMoney), "1468.13", pipeline.Evidence{Page: 1, Quote: "summe 1 468,13 eur"}, true, 1, ""},
		{str(pipeline.TypeMoney), "-8.79", pipeline.Evidence{Page: 1, Quote: "Gutschrift 8,79-"}, true, 1, ""},
		{str(pipeline.TypeMoney), "8.79", pipeline.Evidence{Page: 2, Quote: "Amount (8.79)"}, true, 2, ""},
		{str(pipeline.TypeMoney), "1810.80", pipeline.Evidence{Page: 2, Quote: "Total due: $1,810.80"}, true, 2, ""},
		{str(pipeline.TypeMoney), "1810.8", pipeline.Evidence{Page: 2, Quote: "Total due: $1,810.80"}, true, 2, ""},
		{str(pipeline.TypeMoney), "1234.57", pipeline.Evidence{Page: 1, Quote: "Nettobetrag 1.234,56 €"}, false, 1, "quote does not contain 1234.57"},
		{str(pipeline.TypeDecimal), "3", pipeline.Evidence{Page: 2, Quote: "Qty 3   Unit price 12.50"}, true, 2, ""},
		{str(pipeline.TypeInteger), "17", pipeline.Evidence{Page: 1, Quote: "Rechnungsnr.:      RE-2024/17"}, true, 1, ""},
		// a quote across lines and cells
		{str(pipeline.TypeMoney), "1234.56", pipeline.Evidence{Page: 1, Quote: "Zahlbar bis 05.04.24\nNettobetrag 1.234,56 €"}, true, 1, ""},
		{str(pipeline.TypeMoney), "1234.56", pipeline.Evidence{Page: 1, Quote: "Nettobetrag1.234,56€"}, true, 1, ""},
		// dates in any format
		{str(pipeline.TypeDate), "2024-03-05", pipeline.Evidence{Page: 1, Quote: "Rechnungsdatum     5. März 2024"}, true, 1, ""},
		{str(pipeline.TypeDate), "2024-04-05", pipeline.Evidence{Page: 1, Quote: "Zahlbar bis        05.04.24"}, true, 1, ""},
		{str(pipeline.TypeDate), "2024-05-03", pipeline.Evidence{Page: 2, Quote: "Invoice date: 03/05/2024"}, true, 2, ""},
		{str(pipeline.TypeDate), "2024-03-05", pipeline.Evidence{Page: 2, Quote: "Invoice date: 03/05/2024"}, true, 2, ""}, // month-first reading
		{str(pipeline.TypeDate), "2024-03-06", pipeline.Evidence{Page: 1, Quote: "Rechnungsdatum     5. März 2024"}, false, 1, "quote does not contain 2024-03-06"},
		// ids without spaces
		{str(pipeline.TypeIBAN), "DE89370400440532013000", pipeline.Evidence{Page: 1, Quote: "IBAN: DE89 3704 0044 0532 0130 00"}, true, 1, ""},
		{str(pipeline.TypeVATID), "DE136695976", pipeline.Evidence{Page: 1, Quote: "USt-IdNr.: DE 136 695 976"}, true, 1, ""},
		{str(pipeline.TypeVATID), "DE136695977", pipeline.Evidence{Page: 1, Quote: "USt-IdNr.: DE 136 695 976"}, false, 1, "quote does not contain DE136695977"},
		// currency from a code or symbol
		{str(pipeline.TypeCurrency), "EUR", pipeline.Evidence{Page: 1, Quote: "Nettobetrag 1.234,56 €"}, true, 1, ""},
		{str(pipeline.TypeCurrency), "EUR", pipeline.Evidence{Page: 1, Quote: "1\u202f468,13 EUR"}, true, 1, ""},
		{str(pipeline.TypeCurrency), "USD", pipeline.Evidence{Page: 2, Quote: "$1,810.80"}, true, 2, ""},
		{str(pipeline.TypeCurrency), "GBP", pipeline.Evidence{Page: 2, Quote: "$1,810.80"}, false, 2, "quote does not contain GBP"},
		// strings: case, whitespace, typographic variants, ligatures
		{str(pipeline.TypeString), "ACME GmbH", pipeline.Evidence{Page: 1, Quote: "acme gmbh"}, true, 1, ""},
		{str(pipeline.TypeString), "O'Brien - Söhne fine Foods", pipeline.Evidence{Page: 1, Quote: "Kunde: O'Brien - Söhne fine Foods"}, true, 1, ""},
		{str(pipeline.TypeString), "RE-2024/17", pipeline.Evidence{Page: 1, Quote: "Rechnungsnr.: RE-2024/17"}, true, 1, ""},
		{str(pipeline.TypeEnum), "rechnung", pipeline.Evidence{Page: 1, Quote: "RECHNUNG"}, true, 1, ""},
		// a table cell wrapped over two lines, the next columns between
		{str(pipeline.TypeString), "Widget large with case", pipeline.Evidence{Page: 3, Quote: "Widget large       2     9.00\n   with case"}, true, 3, ""},
		{str(pipeline.TypeString), "Widget case", pipeline.Evidence{Page: 3, Quote: "Widget large       2     9.00\n   with case"}, false, 3, "quote does not contain Widget case"},
		{str(pipeline.TypeString), "Widget large 2", pipeline.Evidence{Page: 3, Quote: "Widget large       2     9.00\n   with case"}, true, 3, ""},
		// on another page than cited
		{str(pipeline.TypeMoney), "1810.80", pipeline.Evidence{Page: 1, Quote: "Total due: $1,810.80"}, true, 2, ""},
		// not grounded
		{str(pipeline.TypeMoney), "99.00", pipeline.Evidence{Page: 2, Quote: "Total 99.00"}, false, 0, "quote not found on page 2 (nor elsewhere)"},
		{str(pipeline.TypeMoney), "1.00", pipeline.Evidence{Page: 0, Quote: "Qty 3"}, false, 0, "no page cited"},
		{str(pipeline.TypeMoney), "1.00", pipeline.Evidence{Page: 4, Quote: "Qty 3"}, false, 0, "page 4 is out of range (the document has 3 pages)"},
		{str(pipeline.TypeMoney), "1.00", pipeline.Evidence{Page: 1, Quote: "  "}, false, 0, "empty quote"},
		{str(pipeline.TypeString), "", pipeline.Evidence{Page: 1, Quote: "ACME"}, false, 0, "no value to ground"},
		// a raw value that did not normalize is looked for as text
		{str(pipeline.TypeMoney), "n/a", pipeline.Evidence{Page: 1, Quote: "ACME"}, false, 1, "quote does not contain n/a"},
	} {
		g := Ground(doc, c.spec, c.value, c.ev)
		if g.OK != c.ok || g.Page != c.page || g.Reason != c.reason {
			t.Errorf("Ground(%s %q, %+v) = %+v, want ok=%v page=%d reason=%q", c.spec.Type, c.value, c.ev, g, c.ok, c.page, c.reason)
		}
	}
}

func TestNumbersIn(t *testing.T) {
	for _, c := range []struct {
		text string
		want []string
		not  []string
	}{
		{"1.234,56", []string{"1234.56"}, []string{"1.23456"}},
		{"1,234.56", []string{"1234.56"}, nil},
		{"1 234 567,89 €", []string{"1234567.89", "234567.89", "1"}, nil},
		{"1'234.50", []string{"1234.5"}, nil},
		{"Qty 3 58.75", []string{"3", "58.75"}, []string{"358.75"}},
		{"1.234", []string{"1234", "1.234"}, nil},
		{"total: 12.", []string{"12"}, nil},
	} {
		got := map[string]bool{}
		for _, d := range numbersIn(c.text) {
			got[d.String()] = true
		}
		for _, w := range c.want {
			if !got[w] {
				t.Errorf("numbersIn(%q) = %v, lacks %s", c.text, got, w)
			}
		}
		for _, w := range c.not {
			if got[w] {
				t.Errorf("numbersIn(%q) = %v, has %s", c.text, got, w)
			}
		}
	}
}

// BenchmarkGroundLongDocument grounds a value on the last of 200 pages,
// citing the first: the worst case, every page folded once.
func BenchmarkGroundLongDocument(b *testing.B) {
	var pages []string
	for i := range 200 {
		var p strings.Builder
		for j := range 60 {
			fmt.Fprintf(&p, "Line %d of page %d      Item %d     %d,%02d €\n", j, i, j, i*j, j)
		}
		pages = append(pages, p.String())
	}
	doc := groundTestDoc(pages...)
	spec := pipeline.FieldSpec{Type: pipeline.TypeMoney}
	ev := pipeline.Evidence{Page: 1, Quote: "Line 59 of page 199      Item 59"}
	b.ResetTimer()
	for range b.N {
		if g := Ground(doc, spec, "59", ev); !g.OK {
			b.Fatal(g.Reason)
		}
	}
}
