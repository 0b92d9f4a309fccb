package synth

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/go-pdf/fpdf"
)

// Purchase orders: a second kind of document, to show that a custom schema
// (testdata/schemas/purchase_order.yaml) is read offline by the rules from
// the labels it declares. Three layouts, English, German and French; the
// labels printed are those the schema declares, in varying orders and
// places; amounts, dates and parties vary as on invoices.

// PurchaseOrder renders purchase order i of a seed and returns the PDF and
// its labels (the schema's field names and normal forms).
func PurchaseOrder(seed int64, i int) ([]byte, map[string]string, error) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x9000+uint64(i)))
	langs := []struct {
		code    string
		country country
		title   string
		l       map[string][]string
		num     numFmt
		date    func(time.Time) string
	}{
		{"en", countryGB, "PURCHASE ORDER", map[string][]string{
			"po_number": {"PO Number", "Purchase Order No.", "PO #"}, "order_date": {"Order Date", "PO Date"},
			"delivery_date": {"Delivery Date", "Required by"}, "supplier_name": {"Supplier", "To Supplier"},
			"total_amount": {"Order Total", "PO Total"}, "currency": {"Currency"}, "ref": {"Cost centre", "Your contact"},
			"desc": {"Description"}, "qty": {"Qty"}, "price": {"Unit price"}, "amount": {"Amount"},
		}, numEN, func(t time.Time) string { return t.Format("2 January 2006") }},
		{"de", countryDE, "BESTELLUNG", map[string][]string{
			"po_number": {"Bestellnummer", "Bestell-Nr."}, "order_date": {"Bestelldatum"},
			"delivery_date": {"Liefertermin", "Liefern bis"}, "supplier_name": {"Lieferant"},
			"total_amount": {"Bestellsumme", "Gesamtbetrag"}, "currency": {"Währung"}, "ref": {"Kostenstelle"},
			"desc": {"Bezeichnung"}, "qty": {"Menge"}, "price": {"Einzelpreis"}, "amount": {"Betrag"},
		}, numDE, func(t time.Time) string { return t.Format("02.01.2006") }},
		{"fr", countryFR, "BON DE COMMANDE", map[string][]string{
			"po_number": {"N° de commande", "Commande N°"}, "order_date": {"Date de commande"},
			"delivery_date": {"Date de livraison", "Livraison souhaitée"}, "supplier_name": {"Fournisseur"},
			"total_amount": {"Total de la commande", "Montant total"}, "currency": {"Devise"}, "ref": {"Centre de coût"},
			"desc": {"Désignation"}, "qty": {"Qté"}, "price": {"Prix unitaire"}, "amount": {"Montant"},
		}, numFR, func(t time.Time) string { return t.Format("02/01/2006") }},
	}
	lg := langs[i%len(langs)]
	buyer, supplier := newParty(rng, lg.country), newParty(rng, lg.country)
	for supplier.name == buyer.name {
		supplier = newParty(rng, lg.country)
	}
	ordered := time.Date(2022+rng.IntN(4), time.January, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, rng.IntN(360))
	delivery := ordered.AddDate(0, 0, 7+rng.IntN(40))
	number := fmt.Sprintf("PO-%d-%04d", ordered.Year(), 1+rng.IntN(9999))
	ref := fmt.Sprintf("CC-%03d", 100+rng.IntN(900))
	cur := "EUR"
	if lg.country == countryGB {
		cur = "GBP"
	}
	type line struct {
		desc      string
		qty, unit int64
	}
	var lines []line
	total := int64(0)
	for range 1 + rng.IntN(5) {
		p := catalog[rng.IntN(len(catalog))]
		li := line{desc: p.desc[[]int{0, 1, 2}[i%3]], qty: int64(1 + rng.IntN(10)), unit: p.min + rng.Int64N(p.max-p.min+1)}
		lines = append(lines, li)
		total += li.qty * li.unit
	}
	lbl := func(k string) string { return pick(rng, lg.l[k]) }

	pdf := fpdf.New("P", "mm", "A4", "")
	stamp := ordered.Add(9 * time.Hour)
	pdf.SetCreationDate(stamp)
	pdf.SetModificationDate(stamp)
	pdf.SetCatalogSort(true)
	pdf.SetCompression(true)
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetMargins(0, 0, 0)
	tr := pdf.UnicodeTranslatorFromDescriptor("")
	cell := func(x, y, w float64, s, align, style string, size float64) {
		pdf.SetFont("Helvetica", style, size)
		pdf.SetXY(x, y)
		pdf.CellFormat(w, 5, tr(s), "", 0, align, false, 0, "")
	}
	pdf.AddPage()
	layout := (i / len(langs)) % 3
	// the buyer's letterhead
	cell(20, 14, 120, buyer.name, "L", "B", 15)
	cell(20, 21, 120, buyer.street+", "+buyer.city, "L", "", 9)
	cell(120, 14, 70, lg.title, "R", "B", 16)
	meta := [][2]string{{lbl("po_number"), number}, {lbl("order_date"), lg.date(ordered)}, {lbl("delivery_date"), lg.date(delivery)}, {lbl("ref"), ref}}
	if rng.IntN(2) == 0 {
		meta[1], meta[2] = meta[2], meta[1]
	}
	supLabel := lbl("supplier_name")
	switch layout {
	case 0: // supplier block left, meta pairs right
		cell(20, 36, 80, supLabel+":", "L", "B", 8)
		cell(20, 41, 80, supplier.name, "L", "B", 10)
		cell(20, 46, 80, supplier.street, "L", "", 9)
		cell(20, 51, 80, supplier.city, "L", "", 9)
		for k, m := range meta {
			cell(115, 36+float64(k)*5.5, 40, m[0]+":", "L", "", 9)
			cell(150, 36+float64(k)*5.5, 40, m[1], "R", "B", 9)
		}
	case 1: // meta as a row of labels over values, supplier after its label
		for k, m := range meta {
			cell(20+float64(k)*43, 34, 42, m[0], "L", "", 8)
			cell(20+float64(k)*43, 39, 42, m[1], "L", "B", 9.5)
		}
		cell(20, 50, 170, supLabel+": "+supplier.name+", "+supplier.city, "L", "", 9.5)
	default: // meta stacked left, supplier block right under its label
		for k, m := range meta {
			cell(20, 34+float64(k)*5.5, 90, m[0]+": "+m[1], "L", "", 9.5)
		}
		cell(120, 34, 70, supLabel, "L", "B", 8)
		cell(120, 39, 70, supplier.name, "L", "B", 10)
		cell(120, 44, 70, supplier.city, "L", "", 9)
	}
	y := 66.0
	money := func(c int64) string { return lg.num.cents(c) }
	cell(20, y, 100, lbl("desc"), "L", "B", 9)
	cell(120, y, 15, lbl("qty"), "R", "B", 9)
	cell(135, y, 27, lbl("price"), "R", "B", 9)
	cell(162, y, 28, lbl("amount"), "R", "B", 9)
	y += 7
	for _, li := range lines {
		cell(20, y, 100, li.desc, "L", "", 9)
		cell(120, y, 15, fmt.Sprint(li.qty), "R", "", 9)
		cell(135, y, 27, money(li.unit), "R", "", 9)
		cell(162, y, 28, money(li.qty*li.unit), "R", "", 9)
		y += 6
	}
	y += 4
	cell(100, y, 60, lbl("total_amount"), "R", "B", 10)
	cell(160, y, 30, money(total), "R", "B", 10)
	y += 7
	cell(100, y, 60, lbl("currency")+":", "R", "", 9)
	cell(160, y, 30, cur, "R", "", 9)
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, nil, err
	}
	want := map[string]string{
		"po_number": number, "order_date": ordered.Format(time.DateOnly), "delivery_date": delivery.Format(time.DateOnly),
		"supplier_name": supplier.name, "buyer_reference": ref, "total_amount": numFmt{"", "."}.cents(total), "currency": cur,
	}
	return buf.Bytes(), want, nil
}
