package synth

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/go-pdf/fpdf"
)

// Each layout draws the same content in its own way. Every labelled value is
// printed once on one line as a single text run, so a text extractor can read
// it back verbatim.

// col is a table column.
type col struct {
	w     float64
	align string
}

// --- classic: letter with window address, grey table header -----------------

func (r *renderer) classic() {
	inv, L, p := r.inv, r.L, r.pdf
	const x0, w = 20.0, 170.0
	bottom := 272.0
	if inv.footerNoise {
		bottom = 262
	}
	r.footer = func() {
		if inv.footerNoise {
			p.SetDrawColor(180, 180, 180)
			p.Line(x0, 268, x0+w, 268)
			p.SetDrawColor(0, 0, 0)
			r.drawSmallPrint(x0, 269, w, 3.2, "Helvetica", 6.5, "C")
		}
		r.gray(100)
		r.font("Helvetica", "", 8)
		r.cell(x0, 282, w, 5, r.pageLabel(), "C")
		r.gray(0)
	}
	cols := []col{{12, "C"}, {90, "L"}, {18, "R"}, {25, "R"}, {25, "R"}}
	head := []string{L.Pos, L.Description, L.Qty, L.UnitPrice, L.Amount}
	tableHead := func(y float64) float64 {
		p.SetFillColor(225, 225, 225)
		r.font("Helvetica", "B", 9)
		x := x0
		for i, c := range cols {
			r.box(x, y, c.w, 7, head[i], c.align, "", true)
			x += c.w
		}
		return y + 8
	}
	pageHead := func() float64 {
		r.font("Helvetica", "B", 10)
		r.cell(x0, 15, 100, 6, inv.vendor.name, "L")
		r.font("Helvetica", "", 9)
		r.cell(x0+80, 15, w-80, 6, fmt.Sprintf("%s %s (%s)", L.Invoice, inv.number, L.Continued), "R")
		return 26
	}
	cont := func() float64 { return tableHead(pageHead()) }

	r.addPage()
	r.fitCell(x0, 16, 105, 8, inv.vendor.name, "L", "Helvetica", "B", 16)
	r.font("Helvetica", "", 8.5)
	r.gray(80)
	y := 25.0
	for _, s := range append(r.vendorLines(), L.Phone+" "+inv.vendor.phone, r.vatLine()) {
		r.cell(x0, y, 100, 4.2, s, "L")
		y += 4.2
	}
	r.gray(0)
	r.font("Helvetica", "B", 22)
	r.cell(110, 16, 80, 10, strings.ToUpper(L.Invoice), "R")

	// Window envelope: sender line, then the address.
	r.fitCell(x0, 48, 85, 4, strings.Join([]string{inv.vendor.name, inv.vendor.street, inv.vendor.city}, " · "), "L", "Helvetica", "U", 6.5)
	r.font("Helvetica", "B", 10)
	r.cell(x0, 54, 85, 5, inv.customer.name, "L")
	r.font("Helvetica", "", 10)
	y = 59
	for _, s := range r.customerLines() {
		r.cell(x0, y, 85, 5, s, "L")
		y += 5
	}
	y = 54
	for _, m := range r.metaPairs() {
		r.font("Helvetica", "", 9)
		r.cell(115, y, 38, 5, m[0]+":", "L")
		r.font("Helvetica", "B", 9)
		r.cell(150, y, 40, 5, m[1], "R")
		y += 5.5
	}

	y = tableHead(95)
	y = r.itemRows(y, 6, bottom, cont, func(n int, it item, y float64) float64 {
		cells := []string{fmt.Sprint(n + 1), it.desc, inv.qty(it.qty), inv.amount(it.unit), inv.amount(it.amount)}
		x := x0
		for i, c := range cols {
			if i == 1 {
				r.fitCell(x, y, c.w, 6, cells[i], c.align, "Helvetica", "", 9)
			} else {
				r.font("Helvetica", "", 9)
				r.cell(x, y, c.w, 6, cells[i], c.align)
			}
			x += c.w
		}
		return y + 6
	})
	p.Line(x0, y+1, x0+w, y+1)

	y = r.room(y+3, 62, bottom, pageHead)
	for i, t := range r.totalPairs() {
		if i == 2 {
			p.Line(115, y+0.5, x0+w, y+0.5)
			r.font("Helvetica", "B", 10.5)
			y += 1.5
		} else {
			r.font("Helvetica", "", 9.5)
		}
		r.cell(100, y, 55, 6, t[0], "R")
		r.cell(155, y, 35, 6, t[1], "R")
		y += 6.5
	}
	y += 6
	r.font("Helvetica", "", 9)
	for _, s := range r.noteLines() {
		r.cell(x0, y, w, 4.5, s, "L")
		y += 4.5
	}
	y += 3
	r.font("Helvetica", "B", 9)
	r.cell(x0, y, w, 5, L.Payment, "L")
	y += 5
	r.font("Helvetica", "", 9)
	for _, s := range r.bankLines() {
		r.cell(x0, y, w, 4.5, s, "L")
		y += 4.5
	}
	y += 4
	r.font("Helvetica", "I", 9)
	r.cell(x0, y, w, 5, L.Thanks, "L")
	r.maybeStamp(y+8, bottom, 140, 24)
}

// --- twocolumn: colour band, From/Bill-to columns, totals box ----------------

func (r *renderer) twoColumn() {
	inv, L, p := r.inv, r.L, r.pdf
	a := inv.accent
	const x0, w = 20.0, 170.0
	bottom := 274.0
	if inv.footerNoise {
		bottom = 262
	}
	r.footer = func() {
		if inv.footerNoise {
			p.SetDrawColor(a[0], a[1], a[2])
			p.Line(x0, 267, x0+w, 267)
			p.SetDrawColor(0, 0, 0)
			r.drawSmallPrint(x0, 268.5, w, 3.2, "Helvetica", 6.5, "L")
		}
		r.color(a)
		r.font("Helvetica", "B", 8)
		r.cell(x0, 282, w, 5, r.pageLabel(), "R")
		r.gray(0)
	}
	cols := []col{{94, "L"}, {18, "R"}, {29, "R"}, {29, "R"}}
	head := []string{L.Description, L.Qty, L.UnitPrice, L.Amount}
	tableHead := func(y float64) float64 {
		r.color(a)
		r.font("Helvetica", "B", 9)
		x := x0
		for i, c := range cols {
			r.cell(x, y, c.w, 7, head[i], c.align)
			x += c.w
		}
		p.SetDrawColor(a[0], a[1], a[2])
		p.SetLineWidth(0.6)
		p.Line(x0, y+7, x0+w, y+7)
		p.SetLineWidth(0.2)
		p.SetDrawColor(0, 0, 0)
		r.gray(0)
		return y + 8
	}
	pageHead := func() float64 {
		p.SetFillColor(a[0], a[1], a[2])
		p.Rect(0, 0, r.W, 13, "F")
		p.SetTextColor(255, 255, 255)
		r.font("Helvetica", "B", 10)
		r.cell(x0, 3.5, 100, 6, inv.vendor.name, "L")
		r.font("Helvetica", "", 9)
		r.cell(x0+90, 3.5, w-90, 6, fmt.Sprintf("%s %s (%s)", L.Invoice, inv.number, L.Continued), "R")
		r.gray(0)
		return 22
	}
	cont := func() float64 { return tableHead(pageHead()) }

	r.addPage()
	p.SetFillColor(a[0], a[1], a[2])
	p.Rect(0, 0, r.W, 30, "F")
	p.SetTextColor(255, 255, 255)
	r.fitCell(x0, 10, 115, 10, inv.vendor.name, "L", "Helvetica", "B", 18)
	r.font("Helvetica", "", 24)
	r.cell(130, 10, 60, 10, strings.ToUpper(L.Invoice), "R")
	r.gray(0)

	column := func(x float64, label, name string, lines []string) {
		r.color(a)
		r.font("Helvetica", "B", 7.5)
		r.cell(x, 38, 80, 4, strings.ToUpper(label), "L")
		r.gray(0)
		r.fitCell(x, 43, 82, 5, name, "L", "Helvetica", "B", 10)
		r.font("Helvetica", "", 9)
		y := 48.5
		for _, s := range lines {
			r.cell(x, y, 82, 4.5, s, "L")
			y += 4.5
		}
	}
	column(x0, L.From, inv.vendor.name, append(r.vendorLines(), r.vatLine()))
	column(110, L.BillTo, inv.customer.name, r.customerLines())

	meta := r.metaPairs()
	bw := w / float64(len(meta))
	p.SetFillColor(242, 242, 242)
	for i, m := range meta {
		x := x0 + float64(i)*bw
		p.Rect(x+0.5, 74, bw-1, 14, "F")
		r.gray(110)
		r.font("Helvetica", "", 7.5)
		r.cell(x+3, 75.5, bw-6, 4, m[0], "L")
		r.gray(0)
		r.fitCell(x+3, 80.5, bw-6, 5.5, m[1], "L", "Helvetica", "B", 10)
	}

	y := tableHead(96)
	y = r.itemRows(y, 6.5, bottom, cont, func(n int, it item, y float64) float64 {
		if n%2 == 1 {
			p.SetFillColor(246, 246, 246)
			p.Rect(x0, y, w, 6.5, "F")
		}
		cells := []string{it.desc, inv.qty(it.qty), inv.amount(it.unit), inv.amount(it.amount)}
		x := x0
		for i, c := range cols {
			if i == 0 {
				r.fitCell(x+1, y, c.w-1, 6.5, cells[i], c.align, "Helvetica", "", 9)
			} else {
				r.font("Helvetica", "", 9)
				r.cell(x, y, c.w, 6.5, cells[i], c.align)
			}
			x += c.w
		}
		return y + 6.5
	})

	y = r.room(y+6, 40, bottom, pageHead)
	// Totals box on the right, payment details on the left.
	bx, bwid := 118.0, 72.0
	p.SetDrawColor(a[0], a[1], a[2])
	p.Rect(bx, y, bwid, 23, "D")
	ty := y + 1
	for i, t := range r.totalPairs() {
		if i == 2 {
			p.SetFillColor(a[0], a[1], a[2])
			p.Rect(bx, y+14.5, bwid, 8.5, "F")
			p.SetTextColor(255, 255, 255)
			r.font("Helvetica", "B", 10.5)
			ty = y + 15.5
		} else {
			r.font("Helvetica", "", 9)
		}
		r.cell(bx+2, ty, 34, 6.5, t[0], "L")
		r.cell(bx+34, ty, bwid-36, 6.5, t[1], "R")
		ty += 6.5
	}
	p.SetDrawColor(0, 0, 0)
	r.gray(0)

	r.color(a)
	r.font("Helvetica", "B", 8)
	r.cell(x0, y, 90, 5, strings.ToUpper(L.Payment), "L")
	r.gray(0)
	r.font("Helvetica", "", 8.5)
	py := y + 5.5
	for _, s := range r.bankLines() {
		r.cell(x0, py, 92, 4.3, s, "L")
		py += 4.3
	}
	py = max(py, y+23) + 5
	for _, s := range r.noteLines() {
		r.fitCell(x0, py, w, 4.5, s, "L", "Helvetica", "", 8.5)
		py += 4.5
	}
	r.maybeStamp(py+6, bottom, 105, 24)
}

// --- statement: monospace, fixed-width lines, green-bar rows -----------------

func (r *renderer) statement() {
	inv, L, p := r.inv, r.L, r.pdf
	const x0, size, lh = 15.0, 8.5, 4.2
	const width = 96 // characters per line
	bottom := 276.0
	if inv.footerNoise {
		bottom = 266
	}
	line := func(y float64, s string) { r.cell(x0, y, 180, lh, s, "L") }
	mono := func(style string) { r.font("Courier", style, size) }
	r.footer = func() {
		r.font("Courier", "", 7)
		if inv.footerNoise {
			r.gray(90)
			for i, s := range r.smallPrint() {
				r.fitCell(x0, 270+float64(i)*3, 180, 3, s, "L", "Courier", "", 6.5)
			}
		}
		r.gray(0)
		mono("")
		line(283, padLeft("- "+r.pageLabel()+" -", width))
	}
	sep := func(y float64, ch string) { mono(""); line(y, strings.Repeat(ch, width)) }
	// pos 4, gap 2, description 46, qty 9, unit price 17, amount 17 = 95.
	header := func(y float64) float64 {
		sep(y, "-")
		mono("B")
		line(y+lh, fmt.Sprintf("%-4s  %s%s%s%s", strings.ToUpper(L.Pos), pad(strings.ToUpper(L.Description), 46),
			padLeft(strings.ToUpper(L.Qty), 9), padLeft(strings.ToUpper(L.UnitPrice), 17), padLeft(strings.ToUpper(L.Amount), 17)))
		sep(y+2*lh, "-")
		return y + 3*lh
	}
	pageHead := func() float64 {
		mono("B")
		line(12, inv.vendor.name)
		mono("")
		line(12+lh, fmt.Sprintf("%s %s (%s)", strings.ToUpper(L.Invoice), inv.number, L.Continued))
		return 12 + 3*lh
	}
	cont := func() float64 { return header(pageHead()) }

	r.addPage()
	mono("B")
	title := strings.ToUpper(L.Invoice)
	line(15, pad(inv.vendor.name, width-utf8.RuneCountInString(title))+title)
	mono("")
	line(15+lh, inv.vendor.street+", "+inv.vendor.city)
	line(15+2*lh, r.vatLine()+"   "+L.Phone+" "+inv.vendor.phone)
	sep(15+3*lh, "=")

	left := []string{}
	for _, m := range r.metaPairs() {
		left = append(left, pad(strings.ToUpper(m[0]), 18)+": "+m[1])
	}
	right := append([]string{strings.ToUpper(L.BillTo) + ":", inv.customer.name}, r.customerLines()...)
	y := 15 + 5*lh
	for i := range max(len(left), len(right)) {
		l, rt := "", ""
		if i < len(left) {
			l = left[i]
		}
		if i < len(right) {
			rt = right[i]
		}
		line(y, pad(l, 50)+rt)
		y += lh
	}
	y = header(y + lh)
	y = r.itemRows(y, lh, bottom, cont, func(n int, it item, y float64) float64 {
		if n%2 == 0 {
			p.SetFillColor(226, 243, 228)
			p.Rect(x0, y+0.2, 173, lh, "F")
		}
		mono("")
		line(y, fmt.Sprintf("%4d  %s%s%s%s", n+1, pad(it.desc, 46), padLeft(inv.qty(it.qty), 9),
			padLeft(inv.amount(it.unit), 17), padLeft(inv.amount(it.amount), 17)))
		return y + lh
	})
	y = r.room(y, 16*lh, bottom, pageHead)
	sep(y, "-")
	y += lh
	for i, t := range r.totalPairs() {
		mono("")
		if i == 2 {
			line(y, padLeft(strings.Repeat("=", 34), width))
			y += lh
			mono("B")
		}
		line(y, padLeft(pad(strings.ToUpper(t[0]), 20)+padLeft(t[1], 18), width))
		y += lh
	}
	y += lh
	mono("")
	for _, s := range r.noteLines() {
		line(y, s)
		y += lh
	}
	y += lh
	mono("B")
	line(y, strings.ToUpper(L.Payment))
	y += lh
	mono("")
	for _, s := range r.bankLines() {
		line(y, "  "+s)
		y += lh
	}
	r.maybeStamp(y+6, bottom, 130, 22)
}

// pad right-pads s with spaces to n runes.
func pad(s string, n int) string {
	if k := utf8.RuneCountInString(s); k < n {
		return s + strings.Repeat(" ", n-k)
	}
	return s
}

// padLeft left-pads s with spaces to n runes.
func padLeft(s string, n int) string {
	if k := utf8.RuneCountInString(s); k < n {
		return strings.Repeat(" ", n-k) + s
	}
	return s
}

// --- grid: serif, every value in a ruled cell --------------------------------

func (r *renderer) grid() {
	inv, L, p := r.inv, r.L, r.pdf
	const x0, w = 20.0, 170.0
	bottom := 276.0
	if inv.footerNoise {
		bottom = 264
	}
	p.SetLineWidth(0.25)
	r.footer = func() {
		if inv.footerNoise {
			r.drawSmallPrint(x0, 268, w, 3.2, "Times", 7, "C")
		}
		r.font("Times", "I", 9)
		r.cell(x0, 281, w, 5, r.pageLabel(), "R")
	}
	cols := []col{{12, "C"}, {86, "L"}, {18, "R"}, {27, "R"}, {27, "R"}}
	head := []string{L.Pos, L.Description, L.Qty, L.UnitPrice, L.Amount}
	tableHead := func(y float64) float64 {
		p.SetFillColor(215, 215, 215)
		r.font("Times", "B", 10)
		x := x0
		for i, c := range cols {
			r.box(x, y, c.w, 7, head[i], "C", "1", true)
			x += c.w
		}
		return y + 7
	}
	pageHead := func() float64 {
		r.font("Times", "B", 11)
		r.box(x0, 15, 100, 8, inv.vendor.name, "L", "1", false)
		r.font("Times", "", 10)
		r.box(x0+100, 15, 70, 8, fmt.Sprintf("%s %s (%s)", L.Invoice, inv.number, L.Continued), "C", "1", false)
		return 28
	}
	cont := func() float64 { return tableHead(pageHead()) }

	r.addPage()
	// Header grid: vendor | title, customer | meta.
	p.Rect(x0, 15, 100, 34, "D")
	p.Rect(x0+100, 15, 70, 34, "D")
	r.fitCell(x0+3, 18, 94, 7, inv.vendor.name, "L", "Times", "B", 15)
	r.font("Times", "", 10)
	y := 26.0
	for _, s := range append(r.vendorLines(), r.vatLine(), L.Phone+" "+inv.vendor.phone) {
		r.cell(x0+3, y, 94, 4.8, s, "L")
		y += 4.8
	}
	r.font("Times", "B", 24)
	r.cell(x0+100, 22, 70, 12, strings.ToUpper(L.Invoice), "C")
	r.font("Times", "I", 9)
	r.cell(x0+100, 35, 70, 6, inv.vendor.web, "C")

	p.Rect(x0, 49, 100, 32, "D")
	r.font("Times", "I", 9)
	r.cell(x0+3, 50.5, 60, 4.5, L.BillTo+":", "L")
	r.fitCell(x0+3, 55, 94, 5, inv.customer.name, "L", "Times", "B", 11)
	r.font("Times", "", 10)
	y = 60
	for _, s := range r.customerLines() {
		r.cell(x0+3, y, 94, 4.6, s, "L")
		y += 4.6
	}
	meta := r.metaPairs()
	mh := 32.0 / float64(len(meta))
	p.SetFillColor(235, 235, 235)
	for i, m := range meta {
		my := 49 + float64(i)*mh
		r.font("Times", "", 9)
		r.box(x0+100, my, 32, mh, " "+m[0], "L", "1", true)
		r.fitCell(x0+132, my, 38, mh, m[1], "C", "Times", "B", 10)
		p.Rect(x0+132, my, 38, mh, "D")
	}

	y = tableHead(90)
	y = r.itemRows(y, 6.5, bottom, cont, func(n int, it item, y float64) float64 {
		cells := []string{fmt.Sprint(n + 1), it.desc, inv.qty(it.qty), inv.amount(it.unit), inv.amount(it.amount)}
		x := x0
		for i, c := range cols {
			p.Rect(x, y, c.w, 6.5, "D")
			r.fitCell(x+1, y, c.w-2, 6.5, cells[i], c.align, "Times", "", 10)
			x += c.w
		}
		return y + 6.5
	})

	y = r.room(y, 58, bottom, pageHead)
	p.SetFillColor(215, 215, 215)
	for i, t := range r.totalPairs() {
		style := ""
		if i == 2 {
			style = "B"
		}
		r.font("Times", style, 10)
		r.box(x0+98, y, 45, 7, t[0]+" ", "R", "1", i == 2)
		r.box(x0+143, y, 27, 7, t[1], "R", "1", i == 2)
		y += 7
	}
	y += 5
	lines := append([]string{L.Payment + ":"}, r.bankLines()...)
	lines = append(lines, r.noteLines()...)
	p.Rect(x0, y, w, float64(len(lines))*5+3, "D")
	y += 1.5
	for i, s := range lines {
		style := ""
		if i == 0 {
			style = "B"
		}
		r.fitCell(x0+3, y, w-6, 5, s, "L", "Times", style, 10)
		y += 5
	}
	r.maybeStamp(y+6, bottom, 120, 24)
}

// --- letterhead: logo shapes and a tinted sidebar with contact details --------

func (r *renderer) letterhead() {
	inv, L, p := r.inv, r.L, r.pdf
	a := inv.accent
	tint := [3]int{a[0] + (255-a[0])*7/8, a[1] + (255-a[1])*7/8, a[2] + (255-a[2])*7/8}
	const x0, w = 68.0, 126.0 // main column
	const sx, sw = 9.0, 44.0  // sidebar text
	bottom := 274.0
	if inv.footerNoise {
		bottom = 262
	}
	v := inv.vendor
	r.decorate = func() {
		p.SetFillColor(tint[0], tint[1], tint[2])
		p.Rect(0, 0, 58, r.H, "F")
		p.SetFillColor(a[0], a[1], a[2])
		p.Rect(0, 0, 4, r.H, "F")
	}
	r.footer = func() {
		if inv.footerNoise {
			r.drawSmallPrint(x0, 267, w, 3.1, "Helvetica", 6, "L")
		}
		r.gray(90)
		r.font("Helvetica", "", 8)
		r.cell(x0, 283, w, 5, r.pageLabel(), "R")
		r.gray(0)
	}
	cols := []col{{66, "L"}, {14, "R"}, {22, "R"}, {24, "R"}}
	head := []string{L.Description, L.Qty, L.UnitPrice, L.Amount}
	tableHead := func(y float64) float64 {
		r.color(a)
		r.font("Helvetica", "B", 8.5)
		x := x0
		for i, c := range cols {
			r.cell(x, y, c.w, 6, head[i], c.align)
			x += c.w
		}
		p.SetDrawColor(a[0], a[1], a[2])
		p.SetLineWidth(0.5)
		p.Line(x0, y+6, x0+w, y+6)
		p.SetLineWidth(0.2)
		r.gray(0)
		return y + 7
	}
	logo := func(x, y, s float64) {
		p.SetFillColor(a[0], a[1], a[2])
		p.Circle(x+s/2, y+s/2, s/2, "F")
		p.SetFillColor(255, 255, 255)
		p.Polygon([]fpdf.PointType{{X: x + s/2, Y: y + s*0.18}, {X: x + s*0.82, Y: y + s*0.5}, {X: x + s/2, Y: y + s*0.82}, {X: x + s*0.18, Y: y + s*0.5}}, "F")
		p.SetFillColor(a[0], a[1], a[2])
		p.Circle(x+s/2, y+s/2, s*0.12, "F")
	}
	pageHead := func() float64 {
		logo(x0, 12, 9)
		r.font("Helvetica", "B", 10)
		r.cell(x0+12, 13.5, 70, 6, v.name, "L")
		r.font("Helvetica", "", 8.5)
		r.cell(x0+50, 13.5, w-50, 6, fmt.Sprintf("%s %s (%s)", L.Invoice, inv.number, L.Continued), "R")
		return 28
	}
	cont := func() float64 { return tableHead(pageHead()) }

	r.addPage()
	// Sidebar content (first page only; later pages keep the tint).
	sy := 60.0
	side := func(s, style string, size float64) {
		r.fitCell(sx, sy, sw, 3.8, s, "L", "Helvetica", style, size)
		sy += 3.8
	}
	heading := func(s string) {
		sy += 3
		r.color(a)
		side(strings.ToUpper(s), "B", 7)
		r.gray(40)
	}
	r.gray(40)
	heading(L.From)
	side(v.street, "", 7.5)
	side(v.city, "", 7.5)
	side(L.Phone+" "+v.phone, "", 7.5)
	side(v.email, "", 7.5)
	side(v.web, "", 7.5)
	heading(L.VATID)
	side(v.vatPrinted, "", 7.5)
	heading(L.Payment)
	side(inv.bankName, "", 7.5)
	side("IBAN", "B", 7)
	side(inv.ibanPrinted(), "", 7.5)
	side("BIC", "B", 7)
	side(inv.bic, "", 7.5)
	r.gray(0)

	logo(x0, 14, 16)
	r.fitCell(x0+20, 14, w-20, 9, v.name, "L", "Helvetica", "B", 16)
	r.gray(110)
	r.font("Helvetica", "I", 8.5)
	since := [3]string{"Since %d", "Seit %d", "Depuis %d"}[inv.lang]
	r.cell(x0+20, 23, w-20, 5, fmt.Sprintf(since, inv.sinceYear), "L")
	r.gray(0)

	r.fitCell(x0, 44, 70, 5, inv.customer.name, "L", "Helvetica", "B", 10)
	r.font("Helvetica", "", 9.5)
	y := 49.0
	for _, s := range r.customerLines() {
		r.cell(x0, y, 70, 4.6, s, "L")
		y += 4.6
	}
	y = 40
	for _, m := range r.metaPairs() {
		r.gray(110)
		r.font("Helvetica", "", 7)
		r.cell(150, y, 44, 3.5, m[0], "R")
		r.gray(0)
		r.fitCell(150, y+3.5, 44, 4.5, m[1], "R", "Helvetica", "B", 9.5)
		y += 9
	}
	r.color(a)
	r.font("Helvetica", "B", 20)
	r.cell(x0, 82, w, 10, L.Invoice, "L")
	r.gray(0)

	y = tableHead(98)
	y = r.itemRows(y, 6, bottom, cont, func(n int, it item, y float64) float64 {
		cells := []string{it.desc, inv.qty(it.qty), inv.amount(it.unit), inv.amount(it.amount)}
		x := x0
		for i, c := range cols {
			r.fitCell(x, y, c.w, 6, cells[i], c.align, "Helvetica", "", 8.5)
			x += c.w
		}
		p.SetDrawColor(215, 215, 215)
		p.Line(x0, y+6, x0+w, y+6)
		return y + 6
	})

	y = r.room(y+4, 36, bottom, pageHead)
	for i, t := range r.totalPairs() {
		if i == 2 {
			p.SetFillColor(tint[0], tint[1], tint[2])
			p.Rect(x0+50, y, w-50, 8, "F")
			r.font("Helvetica", "B", 10.5)
			r.cell(x0+50, y+1, 44, 6, t[0], "L")
			r.cell(x0+90, y+1, w-92, 6, t[1], "R")
			y += 8
			continue
		}
		r.font("Helvetica", "", 9)
		r.cell(x0+50, y, 44, 5.5, t[0], "L")
		r.cell(x0+90, y, w-92, 5.5, t[1], "R")
		y += 5.5
	}
	y += 6
	for _, s := range r.noteLines() {
		r.fitCell(x0, y, w, 4.5, s, "L", "Helvetica", "", 8.5)
		y += 4.5
	}
	r.gray(90)
	r.font("Helvetica", "I", 8.5)
	r.cell(x0, y+2, w, 5, L.Thanks, "L")
	r.gray(0)
	r.maybeStamp(y+12, bottom, 140, 22)
}

// --- receipt: narrow till-roll page, two lines per item -----------------------

func (r *renderer) receipt() {
	inv, L := r.inv, r.L
	x0, w := 6.0, r.W-12
	bottom := r.H - 12
	if inv.footerNoise {
		bottom = r.H - 24
	}
	r.footer = func() {
		if inv.footerNoise {
			r.drawSmallPrint(x0, r.H-22, w, 3, "Helvetica", 5, "C")
		}
		r.gray(90)
		r.font("Helvetica", "", 6.5)
		r.cell(x0, r.H-9, w, 4, r.pageLabel(), "C")
		r.gray(0)
	}
	const lh = 3.6
	pageHead := func() float64 {
		r.fitCell(x0, 6, w, 4, inv.vendor.name, "C", "Helvetica", "B", 8)
		r.font("Helvetica", "", 7)
		r.cell(x0, 10, w, 3.5, fmt.Sprintf("%s %s (%s)", L.Invoice, inv.number, L.Continued), "C")
		r.dashed(x0, x0+w, 15)
		return 17
	}
	kv := func(y float64, k, v, style string, size float64) float64 {
		r.font("Helvetica", style, size)
		r.cell(x0, y, w/2, lh+0.4, k, "L")
		r.fitCell(x0+w/2-8, y, w/2+8, lh+0.4, v, "R", "Helvetica", style, size)
		return y + lh + 0.4
	}

	r.addPage()
	y := 7.0
	r.fitCell(x0, y, w, 5, inv.vendor.name, "C", "Helvetica", "B", 10)
	y += 5.5
	r.font("Helvetica", "", 7)
	for _, s := range append(r.vendorLines(), L.Phone+" "+inv.vendor.phone, r.vatLine()) {
		r.cell(x0, y, w, 3.3, s, "C")
		y += 3.3
	}
	r.dashed(x0, x0+w, y+1.5)
	y += 3.5
	r.font("Helvetica", "B", 11)
	r.cell(x0, y, w, 5.5, strings.ToUpper(L.Invoice), "C")
	y += 6.5
	for _, m := range r.metaPairs() {
		y = kv(y, m[0], m[1], "", 7.5)
	}
	y += 1.5
	r.gray(100)
	r.font("Helvetica", "", 6.5)
	r.cell(x0, y, w, 3.2, L.BillTo+":", "L")
	r.gray(0)
	y += 3.2
	r.fitCell(x0, y, w, lh, inv.customer.name, "L", "Helvetica", "B", 7.5)
	y += lh
	r.font("Helvetica", "", 7)
	for _, s := range r.customerLines() {
		r.cell(x0, y, w, 3.3, s, "L")
		y += 3.3
	}
	r.dashed(x0, x0+w, y+1.5)
	y += 3.5
	y = r.itemRows(y, 2*lh+0.8, bottom, pageHead, func(n int, it item, y float64) float64 {
		r.fitCell(x0, y, w, lh, it.desc, "L", "Helvetica", "", 7.5)
		r.font("Helvetica", "", 7.5)
		r.gray(70)
		r.cell(x0+4, y+lh, w/2, lh, inv.qty(it.qty)+" x "+inv.amount(it.unit), "L")
		r.gray(0)
		r.cell(x0+w/2, y+lh, w/2, lh, inv.amount(it.amount), "R")
		return y + 2*lh + 0.8
	})
	y = r.room(y, 46, bottom, pageHead)
	r.dashed(x0, x0+w, y+1)
	y += 2.5
	for i, t := range r.totalPairs() {
		if i == 2 {
			y += 1
			y = kv(y, strings.ToUpper(t[0]), t[1], "B", 10)
			y += 0.6
			continue
		}
		y = kv(y, t[0], t[1], "", 7.5)
	}
	r.dashed(x0, x0+w, y+1)
	y += 3
	for _, s := range append(r.noteLines(), r.bankLines()...) {
		r.fitCell(x0, y, w, 3.3, s, "C", "Helvetica", "", 6.5)
		y += 3.3
	}
	y += 1.5
	r.font("Helvetica", "I", 7.5)
	r.cell(x0, y, w, 4, L.Thanks, "C")
	r.maybeStamp(y+7, bottom, r.W/2, 16)
}
