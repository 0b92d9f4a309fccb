package synth

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
)

// renderer draws one invoice. Units are millimetres, origin top left.
type renderer struct {
	pdf *fpdf.Fpdf
	tr  func(string) string // UTF-8 to cp1252 for the core fonts
	inv *invoice
	L   labels
	nb  int // total pages (0 on the counting pass)
	W   float64
	H   float64

	decorate func() // page furniture drawn right after each AddPage
	footer   func() // page number and small print, on every page
	stamped  bool
}

// renderResult is what a pass produced.
type renderResult struct {
	pdf     []byte
	pages   int
	stamped bool
}

// render draws inv twice: once to count pages, once with "Page n/N" right.
func render(inv *invoice) (renderResult, error) {
	first, err := renderPass(inv, 0)
	if err != nil {
		return first, err
	}
	return renderPass(inv, first.pages)
}

func renderPass(inv *invoice, nb int) (renderResult, error) {
	var pdf *fpdf.Fpdf
	if inv.layout == layoutReceipt {
		pdf = fpdf.NewCustom(&fpdf.InitType{UnitStr: "mm", Size: fpdf.SizeType{Wd: 90, Ht: 230}})
	} else {
		pdf = fpdf.New("P", "mm", "A4", "")
	}
	// Determinism: fixed dates, sorted catalog, compressed streams.
	stamp := inv.issue.Add(9 * time.Hour)
	pdf.SetCreationDate(stamp)
	pdf.SetModificationDate(stamp)
	pdf.SetCatalogSort(true)
	pdf.SetCompression(true)
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetMargins(0, 0, 0)
	pdf.SetTitle(inv.L.Invoice+" "+inv.number, true)
	pdf.SetAuthor(inv.vendor.name, true)
	pdf.SetCreator("extractor internal/synth", false)
	pdf.SetProducer("extractor internal/synth", false)
	if inv.plainXML != nil {
		pdf.SetAttachments([]fpdf.Attachment{{Content: inv.plainXML, Filename: XMLName, Description: "Factur-X invoice"}})
	}

	w, h := pdf.GetPageSize()
	r := &renderer{pdf: pdf, tr: pdf.UnicodeTranslatorFromDescriptor(""), inv: inv, L: inv.L, nb: nb, W: w, H: h}
	pdf.SetFooterFunc(func() {
		if r.footer != nil {
			r.footer()
		}
	})
	switch inv.layout {
	case layoutClassic:
		r.classic()
	case layoutTwoColumn:
		r.twoColumn()
	case layoutStatement:
		r.statement()
	case layoutGrid:
		r.grid()
	case layoutLetterhead:
		r.letterhead()
	case layoutReceipt:
		r.receipt()
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return renderResult{}, fmt.Errorf("synth: %s: %w", inv.id, err)
	}
	return renderResult{pdf: buf.Bytes(), pages: pdf.PageNo(), stamped: r.stamped}, nil
}

// --- drawing helpers -------------------------------------------------------

func (r *renderer) addPage() {
	r.pdf.AddPage()
	if r.decorate != nil {
		r.decorate()
	}
}

func (r *renderer) font(family, style string, size float64) { r.pdf.SetFont(family, style, size) }
func (r *renderer) color(c [3]int)                          { r.pdf.SetTextColor(c[0], c[1], c[2]) }
func (r *renderer) gray(g int)                              { r.pdf.SetTextColor(g, g, g) }

// cell prints s in a box; align is "L", "C" or "R" (vertically centred).
func (r *renderer) cell(x, y, w, h float64, s, align string) {
	r.pdf.SetXY(x, y)
	r.pdf.CellFormat(w, h, r.tr(s), "", 0, align, false, 0, "")
}

// box is cell with a border ("1", "B", "LR", ...) and optional fill.
func (r *renderer) box(x, y, w, h float64, s, align, border string, fill bool) {
	r.pdf.SetXY(x, y)
	r.pdf.CellFormat(w, h, r.tr(s), border, 0, align, fill, 0, "")
}

func (r *renderer) width(s string) float64 { return r.pdf.GetStringWidth(r.tr(s)) }

// fitCell prints s on one line, shrinking the font below size when needed so
// that printed values are never wrapped or clipped.
func (r *renderer) fitCell(x, y, w, h float64, s, align, family, style string, size float64) {
	r.font(family, style, size)
	for size > 4 && r.width(s) > w-1 {
		size -= 0.25
		r.font(family, style, size)
	}
	r.cell(x, y, w, h, s, align)
}

func (r *renderer) pageLabel() string {
	return fmt.Sprintf("%s %d/%d", r.L.Page, r.pdf.PageNo(), r.nb)
}

// itemRows draws the line items from y on. When the next row (of height
// rowH) would cross bottom it starts a page and calls cont, which draws the
// continuation header and the repeated table header and returns where rows
// go on.
func (r *renderer) itemRows(y, rowH, bottom float64, cont func() float64, row func(n int, it item, y float64) float64) float64 {
	for n, it := range r.inv.items {
		if y+rowH > bottom {
			r.addPage()
			y = cont()
		}
		y = row(n, it, y)
	}
	return y
}

// room starts a new page when need does not fit between y and bottom.
func (r *renderer) room(y, need, bottom float64, cont func() float64) float64 {
	if y+need > bottom {
		r.addPage()
		return cont()
	}
	return y
}

// metaPairs are the document fields shown in a header block.
func (r *renderer) metaPairs() [][2]string {
	inv := r.inv
	m := [][2]string{
		{inv.lblNumber, inv.number},
		{inv.lblDate, inv.dateStr(inv.issue)},
		{inv.lblDue, inv.dateStr(inv.due)},
	}
	if inv.customerNo != "" {
		m = append(m, [2]string{r.L.CustomerNo, inv.customerNo})
	}
	return m
}

// totalPairs are net, tax and total as printed.
func (r *renderer) totalPairs() [][2]string {
	inv := r.inv
	return [][2]string{
		{inv.lblNet, inv.printed(inv.net)},
		{inv.taxLabel(), inv.printed(inv.tax)},
		{inv.lblTotal, inv.printed(inv.total)},
	}
}

// vendorLines are the sender's address lines.
func (r *renderer) vendorLines() []string {
	v := r.inv.vendor
	return []string{v.street, v.city}
}

// customerLines are the recipient's address lines after the name, with the
// country for foreign customers and their VAT id under reverse charge.
func (r *renderer) customerLines() []string {
	inv := r.inv
	c := inv.customer
	lines := []string{c.street, c.city}
	if c.country != inv.vendor.country {
		lines = append(lines, c.country.name(inv.lang))
	}
	if inv.taxNote == inv.L.ReverseCharge && c.vatPrinted != "" {
		lines = append(lines, r.L.VATID+" "+c.vatPrinted)
	}
	return lines
}

func (r *renderer) vatLine() string { return r.L.VATID + ": " + r.inv.vendor.vatPrinted }

// bankLines are the payment details.
func (r *renderer) bankLines() []string {
	inv := r.inv
	return []string{
		r.L.Bank + ": " + inv.bankName,
		"IBAN: " + inv.ibanPrinted(),
		"BIC: " + inv.bic,
	}
}

// noteLines are payment terms and the tax exemption note, if any.
func (r *renderer) noteLines() []string {
	lines := []string{r.inv.terms()}
	if r.inv.taxNote != "" {
		lines = append(lines, r.inv.taxNote)
	}
	return lines
}

// smallPrint is the footer noise: company details, register, fine print.
func (r *renderer) smallPrint() []string {
	inv := r.inv
	v := inv.vendor
	fine := [3]string{
		"All deliveries are subject to our general terms and conditions. Goods remain our property until paid in full.",
		"Es gelten unsere Allgemeinen Geschäftsbedingungen. Die Ware bleibt bis zur vollständigen Bezahlung unser Eigentum.",
		"Pénalités de retard : 3 fois le taux d'intérêt légal. Indemnité forfaitaire pour frais de recouvrement : 40 €.",
	}[inv.lang]
	lines := []string{
		strings.Join([]string{v.name, v.street, v.city, r.L.Phone + " " + v.phone, v.email}, " · "),
	}
	reg := v.registration
	switch v.country {
	case countryDE, countryAT:
		reg += " · Geschäftsführer: " + v.person
	case countryGB:
		reg += " · Director: " + v.person
	}
	return append(lines, reg, fine)
}

// drawSmallPrint prints the footer noise lines centred or left-aligned.
func (r *renderer) drawSmallPrint(x, y, w, lineH float64, family string, size float64, align string) {
	r.gray(110)
	for i, s := range r.smallPrint() {
		r.fitCell(x, y+float64(i)*lineH, w, lineH, s, align, family, "", size)
	}
	r.gray(0)
}

// maybeStamp puts a rotated "PAID" stamp into free space below y on the
// current page, away from every printed field. It does nothing when the
// document has no stamp or the space is too small.
func (r *renderer) maybeStamp(y, bottom, cx, size float64) {
	need := size * 1.6
	if !r.inv.stampNoise || bottom-y < need {
		return
	}
	cy := y + need/2
	p := r.pdf
	p.TransformBegin()
	p.TransformRotate(25, cx, cy)
	p.SetAlpha(0.7, "Normal")
	p.SetDrawColor(200, 30, 40)
	p.SetTextColor(200, 30, 40)
	p.SetLineWidth(0.8)
	r.font("Helvetica", "B", size)
	text := r.L.Paid
	tw := r.width(text)
	bh := size * 0.55
	// A double frame; fpdf's RoundedRect leaves a "q" unbalanced (v0.9.0),
	// which would rotate everything drawn after the stamp.
	p.Rect(cx-tw/2-4, cy-bh/2, tw+8, bh, "D")
	p.SetLineWidth(0.3)
	p.Rect(cx-tw/2-2.8, cy-bh/2+1.2, tw+5.6, bh-2.4, "D")
	p.Text(cx-tw/2, cy+size*0.13, r.tr(text))
	p.TransformEnd()
	p.SetAlpha(1, "Normal")
	p.SetDrawColor(0, 0, 0)
	p.SetTextColor(0, 0, 0)
	p.SetLineWidth(0.2)
	r.stamped = true
}

// dashed draws a horizontal dashed line.
func (r *renderer) dashed(x1, x2, y float64) {
	r.pdf.SetDashPattern([]float64{1, 1}, 0)
	r.pdf.Line(x1, y, x2, y)
	r.pdf.SetDashPattern(nil, 0)
}
