package rules

import (
	"math"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/extractor-dev/extractor/extract"
	"github.com/extractor-dev/extractor/extract/lexicon"
	"github.com/extractor-dev/extractor/pipeline"
)

// The line-item table: a header row whose cells are column labels of the
// lexicon (description, quantity, unit price, amount, ...), then rows read
// against the header's columns until a summary line (a net, tax or total
// label) ends the table; tables continue over page breaks. Without a
// header, receipt lines "3 x 12,00   36,00" are read.

type itemColumn struct {
	kind lexicon.Concept
	s, e int
}

func numericColumn(k lexicon.Concept) bool {
	switch k {
	case lexicon.ColQuantity, lexicon.ColUnitPrice, lexicon.ColAmount, lexicon.ColVATRate, lexicon.ColDiscount:
		return true
	}
	return false
}

type itemTable struct {
	header *Line
	// extra are header lines above or below the header that only hold
	// column labels (a two-line header: "Prix" / "unitaire").
	extra []*Line
	cols  []itemColumn
	left  int // leftmost column start
}

func (t itemTable) col(k lexicon.Concept) (itemColumn, bool) {
	for _, c := range t.cols {
		if c.kind == k {
			return c, true
		}
	}
	return itemColumn{}, false
}

// columnHits are a line's column labels, overlaps resolved.
func columnHits(l *Line) []lexicon.Hit {
	return lexicon.Labels(l.Hits, lexicon.IsColumn)
}

// headerOnly reports whether a line's letters are mostly column labels.
func headerOnly(l *Line) bool {
	hits := columnHits(l)
	if len(hits) == 0 {
		return false
	}
	covered, letters := lexicon.Covered(l.Fold, hits)
	return letters > 0 && covered*3 >= letters*2
}

// headerOf reads l as an item table header: a description and an amount
// or price column, two numeric columns at least, no amounts, and labels
// covering most of the line.
func (lay *Layout) headerOf(l *Line) (itemTable, bool) {
	for _, m := range lay.Amounts(l) {
		if m.Decimals > 0 || !m.Percent {
			return itemTable{}, false
		}
	}
	hits := columnHits(l)
	if len(hits) < 2 {
		return itemTable{}, false
	}
	var cols []itemColumn
	descs := 0
	for _, h := range hits {
		if h.Concept == lexicon.ColDescription {
			descs++
		}
	}
	for i, h := range hits {
		// a word that is an article column in one language and a
		// description in another ("Artikel"): the description when no
		// other column is one, else the article
		if h.Concept == lexicon.ColDescription && descs > 1 && (i > 0 && sameSpan(hits[i-1], h) && hits[i-1].Concept == lexicon.ColArticle ||
			i+1 < len(hits) && sameSpan(hits[i+1], h) && hits[i+1].Concept == lexicon.ColArticle) {
			descs--
			continue
		}
		if h.Concept == lexicon.ColArticle && (i > 0 && sameSpan(hits[i-1], h) && hits[i-1].Concept == lexicon.ColDescription ||
			i+1 < len(hits) && sameSpan(hits[i+1], h) && hits[i+1].Concept == lexicon.ColDescription) && descs == 1 {
			continue
		}
		if len(cols) > 0 && cols[len(cols)-1].s == h.Start && cols[len(cols)-1].e == h.End {
			continue // one column per span
		}
		cols = append(cols, itemColumn{kind: h.Concept, s: h.Start, e: h.End})
	}
	// a label in two columns: the first of two amount columns left of the
	// description is the quantity ("Amount  Product  VAT  Price  Total")
	descAt := -1
	for i, c := range cols {
		if c.kind == lexicon.ColDescription {
			descAt = i
			break
		}
	}
	amounts := 0
	for _, c := range cols {
		if c.kind == lexicon.ColAmount {
			amounts++
		}
	}
	if amounts > 1 && descAt > 0 && cols[0].kind == lexicon.ColAmount {
		cols[0].kind = lexicon.ColQuantity
	}
	has := map[lexicon.Concept]int{}
	for _, c := range cols {
		has[c.kind]++
	}
	if has[lexicon.ColDescription] == 0 && has[lexicon.ColArticle] > 0 {
		for i := range cols {
			if cols[i].kind == lexicon.ColArticle {
				cols[i].kind = lexicon.ColDescription
				has[lexicon.ColDescription]++
				break
			}
		}
	}
	if has[lexicon.ColDescription] == 0 || has[lexicon.ColAmount]+has[lexicon.ColUnitPrice] == 0 ||
		has[lexicon.ColQuantity]+has[lexicon.ColUnitPrice]+has[lexicon.ColAmount] < 2 {
		return itemTable{}, false
	}
	covered, letters := lexicon.Covered(l.Fold, hits)
	if letters == 0 || covered*2 < letters {
		return itemTable{}, false
	}
	// one description column: the first
	var out []itemColumn
	seenDesc := false
	for _, c := range cols {
		if c.kind == lexicon.ColDescription {
			if seenDesc {
				continue
			}
			seenDesc = true
		}
		out = append(out, c)
	}
	return itemTable{header: l, cols: out, left: out[0].s}, true
}

// findTables marks item table headers.
func (lay *Layout) findTables() []itemTable {
	var ts []itemTable
	for _, l := range lay.Lines {
		t, ok := lay.headerOf(l)
		if !ok {
			continue
		}
		page := lay.Pages[l.Page-1]
		// a second header line above or below that holds only column
		// labels joins the header ("Prix" over "Prix HT", "unitaire" under)
		for _, k := range []int{l.Pos - 1, l.Pos + 1} {
			if k < 0 || k >= len(page) || lay.Gap(page[min(k, l.Pos)], page[max(k, l.Pos)]) > 0.8 {
				continue
			}
			if x := page[k]; headerOnly(x) && len(lay.Amounts(x)) == 0 {
				t.extra = append(t.extra, x)
				x.Table = true
				t.merge(x)
			}
		}
		t.settle(lay)
		l.Table = true
		ts = append(ts, t)
	}
	return ts
}

// merge adds the column labels of a second header line that fall where
// the header has none ("Prix" printed over "unitaire").
func (t *itemTable) merge(x *Line) {
	for _, h := range columnHits(x) {
		free := true
		for _, c := range t.cols {
			if h.Start < c.e+1 && h.End > c.s-1 {
				free = false
				break
			}
		}
		if free {
			t.cols = append(t.cols, itemColumn{kind: h.Concept, s: h.Start, e: h.End})
		}
	}
	slices.SortFunc(t.cols, func(a, b itemColumn) int { return a.s - b.s })
	t.left = t.cols[0].s
}

// settle fixes what a header alone cannot say: of two price columns
// without an amount column the right one is the line amount ("Prijs per
// stuk ... Prijs incl. BTW"); a position column whose first values have
// decimals ("1,00", "400,00") counts quantities.
func (t *itemTable) settle(lay *Layout) {
	prices, amounts, qty := 0, 0, false
	for _, c := range t.cols {
		switch c.kind {
		case lexicon.ColUnitPrice:
			prices++
		case lexicon.ColAmount:
			amounts++
		case lexicon.ColQuantity:
			qty = true
		}
	}
	if prices > 1 && amounts == 0 {
		for i := len(t.cols) - 1; i >= 0; i-- {
			if t.cols[i].kind == lexicon.ColUnitPrice {
				t.cols[i].kind = lexicon.ColAmount
				break
			}
		}
	}
	if qty {
		return
	}
	pos := -1
	for i, c := range t.cols {
		if c.kind == lexicon.ColPosition {
			pos = i
		}
	}
	if pos < 0 {
		return
	}
	page := lay.Pages[t.header.Page-1]
	for k := t.header.Pos + 1; k < len(page) && k <= t.header.Pos+3; k++ {
		l := page[k]
		if len(l.Cells) == 0 || l.Table {
			continue
		}
		first := l.Cells[0]
		tok := strings.Fields(first.Text)[0]
		if absInt(first.Start-t.cols[pos].s) > 6 {
			continue
		}
		if nc, ok := lay.numberCell(Cell{Start: first.Start, End: first.Start + runeLen(tok), Text: tok}); ok && nc.dec > 0 {
			t.cols[pos].kind = lexicon.ColQuantity
		}
		return
	}
}

// splitNumbers splits a cell of numbers printed one space apart ("0.00
// 15.00%") into one cell per number; other cells stay whole.
func (lay *Layout) splitNumbers(c Cell) []Cell {
	if !strings.Contains(c.Text, " ") {
		return []Cell{c}
	}
	if _, ok := lay.numberCell(c); ok {
		return []Cell{c} // "1 805,70": one number grouped with spaces
	}
	var out []Cell
	col := c.Start
	for _, part := range strings.Split(c.Text, " ") {
		n := runeLen(part)
		switch {
		case part == "":
		case len(out) > 0 && (part == "%" || currencyWord(part) && !strings.ContainsAny(out[len(out)-1].Text, "€$£")):
			// "21 %", "49,99 EUR": the sign belongs to the number before
			last := &out[len(out)-1]
			last.End = col + n
			last.Text += " " + part
		default:
			out = append(out, Cell{Start: col, End: col + n, Text: part})
		}
		col += n + 1
	}
	if len(out) < 2 {
		return []Cell{c}
	}
	for _, p := range out {
		if _, ok := lay.numberCell(p); !ok {
			return []Cell{c}
		}
	}
	return out
}

func sameSpan(a, b lexicon.Hit) bool { return a.Start == b.Start && a.End == b.End }

// numCell is a cell read as one number (a quantity with a unit, an amount
// with a currency, a percentage).
type numCell struct {
	Cell
	v   decimal.Decimal
	raw string
	pct bool
	dec int
}

var unitSuffixRe = regexp.MustCompile(`^(.*?\d)\s*(?:x|×|stk\.?|stuck|st\.?|pcs?\.?|pieces?|pc|h|hrs?|hours?|std\.?|tage?|days?|m|m2|m²|m3|kg|g|l|liter\(s\)|unit\(s\)|units?|pce|pces|u\.?|unite?s?|ea|each|lfm|psch\.?|pauschal|mois|months?|monat(?:e)?|jours?|j|nights?)$`)

// numberCell reads a cell as one number, or false.
func (lay *Layout) numberCell(c Cell) (numCell, bool) {
	text := strings.TrimSpace(c.Text)
	if m := unitSuffixRe.FindStringSubmatch(extract.FoldText(text)); m != nil && len(m[1]) <= len(text) {
		text = strings.TrimSpace(text[:len(m[1])])
	}
	ms := lay.amountsIn(text)
	if len(ms) != 1 {
		return numCell{}, false
	}
	m := ms[0]
	rest := strings.TrimSpace(text[:m.Start] + text[m.End:])
	if m.Percent {
		rest = strings.TrimSpace(text[:m.Start] + strings.TrimPrefix(strings.TrimSpace(text[m.End:]), "%"))
	}
	if rest != "" {
		return numCell{}, false
	}
	return numCell{Cell: c, v: m.Value, raw: text[m.Start:m.End], pct: m.Percent, dec: m.Decimals}, true
}

type rowRead struct {
	l             *Line
	desc          string
	descS, descE  int
	vals          map[lexicon.Concept]numCell
	firstS, lastE int
}

var (
	// codePrefixRe: an article code in brackets or stars before the name
	// ("[FURN_7777] Office Chair", "*987123* Olive Oil").
	codePrefixRe = regexp.MustCompile(`^(?:\[[^\]\s]{2,24}\]|\*[^*\s]{2,24}\*)\s+`)
	posNumRe     = regexp.MustCompile(`^\d{1,4}\.?\s+`)
	posOnlyRe    = regexp.MustCompile(`^\d{1,4}\.?$`)
)

// readRow reads l as a row of t.
func (lay *Layout) readRow(t itemTable, l *Line) (rowRead, bool) {
	r := rowRead{l: l, vals: map[lexicon.Concept]numCell{}}
	var cells []Cell
	for _, c := range l.Cells {
		if c.End < t.left-6 {
			continue // beside the table (a sidebar)
		}
		cells = append(cells, lay.splitNumbers(c)...)
	}
	if len(cells) == 0 {
		return r, false
	}
	descCol, hasDesc := t.col(lexicon.ColDescription)
	posCol, hasPos := t.col(lexicon.ColPosition)
	var leftCols, rightCols []itemColumn
	for _, c := range t.cols {
		if !numericColumn(c.kind) {
			continue
		}
		if hasDesc && c.e <= descCol.s {
			leftCols = append(leftCols, c)
		} else {
			rightCols = append(rightCols, c)
		}
	}
	if len(rightCols) == 0 && len(leftCols) == 0 {
		return r, false
	}
	first := 0
	if hasPos && (!hasDesc || posCol.s < descCol.s) && posOnlyRe.MatchString(cells[0].Text) && len(cells) > 1 &&
		absInt(cells[0].Start-posCol.s) <= absInt(cells[0].Start-descCol.s) {
		first = 1
	}
	// an article number column left of the description
	if art, ok := t.col(lexicon.ColArticle); ok && hasDesc && art.e <= descCol.s && first < len(cells)-1 {
		if c := cells[first]; absInt(c.Start-art.s) < absInt(c.Start-descCol.s) && c.End <= descCol.s+2 {
			first++
		}
	}
	var leadNums []numCell
	for first < len(cells) && len(leadNums) < len(leftCols) {
		c := cells[first]
		if nc, ok := lay.numberCell(c); ok {
			leadNums = append(leadNums, nc)
			first++
			continue
		}
		if m := posNumRe.FindString(c.Text); m != "" && hasDesc {
			// "1 Small Business ...": the quantity run into the
			// description's cell
			if nc, ok := lay.numberCell(Cell{Start: c.Start, End: c.Start + runeLen(strings.TrimSpace(m)), Text: strings.TrimSpace(m)}); ok {
				leadNums = append(leadNums, nc)
				n := runeLen(m)
				cells[first] = Cell{Start: c.Start + n, End: c.End, Text: c.Text[len(m):]}
			}
		}
		break
	}
	if unitCol, ok := t.col(lexicon.ColUnit); ok && hasDesc && unitCol.e <= descCol.s && first < len(cells)-1 {
		c := cells[first]
		if runeLen(c.Text) <= 6 && strings.IndexFunc(c.Text, unicode.IsDigit) < 0 && absInt(c.Start-unitCol.s) < absInt(c.Start-descCol.s) {
			first++
		}
	}
	var nums []numCell
	i := len(cells) - 1
	for ; i >= first; i-- {
		nc, ok := lay.numberCell(cells[i])
		if !ok {
			if t.hasUnit() && len(nums) > 0 && runeLen(cells[i].Text) <= 6 && strings.IndexFunc(cells[i].Text, unicode.IsDigit) < 0 && i > first {
				if _, ok := lay.numberCell(cells[i-1]); ok {
					continue
				}
			}
			break
		}
		nums = append([]numCell{nc}, nums...)
	}
	descCells := cells[first : i+1]
	if len(nums) > len(rightCols) {
		extra := len(nums) - len(rightCols)
		for _, n := range nums[:extra] {
			descCells = append(descCells, n.Cell)
		}
		nums = nums[extra:]
	}
	for k, n := range leadNums {
		r.vals[leftCols[k].kind] = n
	}
	if len(nums) > 0 {
		assign := assignColumns(nums, rightCols)
		for _, k := range sortedIntKeys(assign) {
			r.vals[rightCols[k].kind] = assign[k]
		}
		if !rowConsistent(r.vals) {
			alt := map[lexicon.Concept]numCell{}
			for k, n := range leadNums {
				alt[leftCols[k].kind] = n
			}
			for k := range nums {
				alt[rightCols[len(rightCols)-len(nums)+k].kind] = nums[k]
			}
			if rowConsistent(alt) {
				r.vals = alt
			}
		}
	}
	var parts []string
	r.descS, r.descE = -1, -1
	for j, c := range descCells {
		text, s := c.Text, c.Start
		if j == 0 && first == 0 && hasPos && posCol.s < descCol.s && len(leftCols) == 0 {
			if m := posNumRe.FindString(text); m != "" && c.Start < descCol.s+2 {
				s += runeLen(m)
				text = text[len(m):]
			}
		}
		if strings.TrimSpace(text) == "" {
			continue
		}
		if r.descS < 0 {
			r.descS = s + runeLen(text) - runeLen(strings.TrimLeft(text, " "))
		}
		r.descE = c.End
		parts = append(parts, strings.TrimSpace(text))
	}
	r.desc = strings.Join(parts, " ")
	if m := codePrefixRe.FindString(r.desc); m != "" && len(m) < len(r.desc) {
		r.desc = r.desc[len(m):]
		r.descS += runeLen(m)
	}
	var all []numCell
	all = append(all, leadNums...)
	all = append(all, nums...)
	if len(all) == 0 {
		return r, false
	}
	r.firstS, r.lastE = all[0].Start, all[len(all)-1].End
	if r.descS >= 0 {
		r.firstS = min(r.firstS, r.descS)
		r.lastE = max(r.lastE, r.descE)
	}
	amount, okA := r.vals[lexicon.ColAmount]
	price, okP := r.vals[lexicon.ColUnitPrice]
	if !okA && !okP {
		return r, false
	}
	if okA && amount.dec == 0 && len(all) < 2 || !okA && price.dec == 0 && len(all) < 2 {
		return r, false
	}
	if amount.pct || price.pct {
		return r, false
	}
	return r, true
}

func (t itemTable) hasUnit() bool { _, ok := t.col(lexicon.ColUnit); return ok }

func sortedIntKeys[V any](m map[int]V) []int {
	var ks []int
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// rowConsistent: quantity × unit price is the amount (within rounding and
// a discount), or the row lacks one of them.
func rowConsistent(v map[lexicon.Concept]numCell) bool {
	q, okQ := v[lexicon.ColQuantity]
	p, okP := v[lexicon.ColUnitPrice]
	a, okA := v[lexicon.ColAmount]
	if !okQ || !okP || !okA {
		return true
	}
	diff := q.v.Mul(p.v).Abs().Sub(a.v.Abs()).Abs() // credit notes print negative amounts
	tol := decimal.New(2, -2).Add(a.v.Abs().Mul(decimal.New(5, -3)))
	if _, ok := v[lexicon.ColDiscount]; ok {
		return a.v.Abs().LessThanOrEqual(q.v.Mul(p.v).Abs().Add(tol))
	}
	return diff.LessThanOrEqual(tol)
}

// assignColumns maps numeric cells to numeric columns, keeping their
// order, so that the cells' positions match the columns' best.
func assignColumns(nums []numCell, cols []itemColumn) map[int]numCell {
	n, m := len(nums), len(cols)
	inf := math.Inf(1)
	dp := make([][]float64, n+1)
	choice := make([][]bool, n+1)
	for i := range dp {
		dp[i] = make([]float64, m+1)
		choice[i] = make([]bool, m+1)
		for j := range dp[i] {
			dp[i][j] = inf
		}
	}
	for j := 0; j <= m; j++ {
		dp[0][j] = 0
	}
	cost := func(c numCell, col itemColumn) float64 {
		gap := math.Max(0, float64(max(col.s-c.End, c.Start-col.e)))
		return gap + 0.1*math.Abs(float64(c.End-col.e))
	}
	for i := 1; i <= n; i++ {
		for j := i; j <= m; j++ {
			skip := dp[i][j-1]
			take := dp[i-1][j-1] + cost(nums[i-1], cols[j-1])
			if take <= skip {
				dp[i][j], choice[i][j] = take, true
			} else {
				dp[i][j] = skip
			}
		}
	}
	out := map[int]numCell{}
	i, j := n, m
	for i > 0 && j > 0 {
		if choice[i][j] {
			out[j-1] = nums[i-1]
			i--
		}
		j--
	}
	return out
}

// summaryLine reports whether a cell of l starts with a net, tax or total
// label: item tables end there.
func summaryLine(l *Line) bool {
	for _, h := range l.Labels {
		switch h.Concept {
		case lexicon.Total, lexicon.Net, lexicon.Tax, lexicon.Paid:
			if atCellStart(l, h) {
				return true
			}
		}
	}
	return false
}

var qtyTimesRe = regexp.MustCompile(`^\s*(\d+(?:[.,]\d+)?)\s*(?:x|×|\*)\s*(\S.*?)\s{2,}(\S.*?)\s*$`)

// readItems reads the rows of every table, continuing over page breaks,
// or, without a table header, receipt lines "3 x 12,00   36,00" (or
// "3x12,00", as printed or as OCR reads it).
func (lay *Layout) readItems(tables []itemTable) []pipeline.Item {
	var rows []rowRead
	extra := map[int][]*Line{}
	var pending []*Line
	if len(tables) > 0 {
		headerAt := map[*Line]itemTable{}
		for _, t := range tables {
			headerAt[t.header] = t
		}
		cur := tables[0]
		started := false
		last := -1
		prev := func() *Line {
			if len(pending) > 0 {
				return pending[len(pending)-1]
			}
			if last >= 0 {
				return rows[last].l
			}
			return nil
		}
		for _, l := range lay.Lines {
			if !started {
				if l == cur.header {
					started = true
				}
				continue
			}
			if t, ok := headerAt[l]; ok {
				cur = t
				last = -1
				pending = nil
				continue
			}
			if l.Table {
				continue // a second header line
			}
			if strings.Trim(l.Text, " -=_—.*") == "" {
				continue
			}
			r, ok := lay.readRow(cur, l)
			if ok && len(r.vals) <= 1 && summaryLine(l) {
				ok = false
			}
			if ok && summaryLine(l) && r.desc != "" && lexicon.IsLabel(r.desc) {
				ok = false // "Total   3   905.00"
			}
			if !ok {
				if summaryLine(l) && lay.rowsFollow(cur, l) {
					// a section's subtotal: the table goes on
					pending = nil
					continue
				}
				if summaryLine(l) {
					if last >= 0 && len(pending) > 0 {
						extra[last] = append(extra[last], pending...)
					}
					started = false
					for _, t := range tables {
						if t.header.Seq > l.Seq {
							cur = t
							break
						}
					}
					last = -1
					pending = nil
					continue
				}
				if lay.descLine(cur, l, prev()) {
					pending = append(pending, l)
				} else {
					// the lines pending since the last row continue its
					// description (the table stops here, for a footer or
					// a page break)
					if last >= 0 && len(pending) > 0 && pending[0].Page == rows[last].l.Page {
						extra[last] = append(extra[last], pending...)
						for _, p := range pending {
							p.Table = true
						}
					}
					pending = nil
					if last >= 0 && l.Page == rows[last].l.Page {
						last = -1
					}
				}
				continue
			}
			l.Table = true
			rows = append(rows, r)
			if r.desc == "" && len(pending) > 0 {
				extra[len(rows)-1] = pending
			} else if last >= 0 && len(pending) > 0 {
				extra[last] = append(extra[last], pending...)
			}
			last = len(rows) - 1
			for _, p := range pending {
				p.Table = true
			}
			pending = nil
		}
	}
	if len(rows) == 0 {
		return lay.receiptItems()
	}
	var items []pipeline.Item
	for i := range rows {
		items = append(items, lay.itemOf(&rows[i], extra[i]))
	}
	return items
}

// rowsFollow reports whether rows of t follow a summary line within the
// next few lines (before another summary line): a section subtotal
// inside the table, not its end.
func (lay *Layout) rowsFollow(t itemTable, l *Line) bool {
	for i := l.Seq + 1; i < len(lay.Lines) && i <= l.Seq+4; i++ {
		n := lay.Lines[i]
		if n.Page != l.Page || summaryLine(n) {
			return false
		}
		if r, ok := lay.readRow(t, n); ok && r.desc != "" && len(r.vals) >= 2 {
			return true
		}
	}
	return false
}

// descLine reports that l is text in the description column only, right
// below prev on the same page.
func (lay *Layout) descLine(t itemTable, l *Line, prev *Line) bool {
	descCol, ok := t.col(lexicon.ColDescription)
	if !ok || len(l.Cells) == 0 {
		return false
	}
	if prev != nil && (prev.Page != l.Page || lay.Gap(prev, l) > 1.2) {
		return false
	}
	// a footer or legal line is no description
	if len(sepRe.Split(l.Text, 4)) >= 3 {
		return false
	}
	for _, h := range l.Hits {
		switch h.Concept {
		case lexicon.LegalInfo, lexicon.Contact, lexicon.TaxNumber, lexicon.Page, lexicon.BankDetails, lexicon.Capital:
			if h.Strength == lexicon.Strong {
				return false
			}
		}
	}
	firstNum := len(l.Runes) + 1000
	for _, c := range t.cols {
		if numericColumn(c.kind) && c.s > descCol.s && c.s < firstNum {
			firstNum = c.s
		}
	}
	var cells []Cell
	for _, c := range l.Cells {
		if c.End >= t.left-6 {
			cells = append(cells, c)
		}
	}
	if len(cells) == 0 || len(cells) > 2 {
		return false
	}
	for _, c := range cells {
		if c.Start < descCol.s-6 || c.Start >= firstNum-1 {
			return false
		}
		if _, ok := lay.numberCell(c); ok {
			return false
		}
	}
	return true
}

func (lay *Layout) itemOf(r *rowRead, more []*Line) pipeline.Item {
	l := r.l
	it := pipeline.Item{Fields: map[string]pipeline.Field{}}
	it.Evidence = pipeline.Evidence{Page: l.Page, Quote: strings.TrimSpace(l.Sub(r.firstS, r.lastE))}
	ev := func(q string) pipeline.Evidence { return pipeline.Evidence{Page: l.Page, Quote: q} }
	desc := r.desc
	descEv := ev(strings.TrimSpace(l.Sub(r.descS, r.descE)))
	if len(more) > 0 {
		above := more[0].Page == l.Page && more[0].Seq < l.Seq
		var parts []string
		if above {
			for _, m := range more {
				parts = append(parts, strings.Join(strings.Fields(m.Text), " "))
			}
			if desc != "" {
				parts = append(parts, desc)
			}
			desc = strings.Join(parts, " ")
			descEv = ev(spanQuote(append(slices.Clone(more), l), r.lastE))
			it.Evidence = descEv
		} else if more[0].Page == l.Page {
			parts = append(parts, desc)
			ls := []*Line{l}
			for _, m := range more {
				if m.Page == l.Page {
					parts = append(parts, strings.Join(strings.Fields(m.Text), " "))
					ls = append(ls, m)
				}
			}
			desc = strings.Join(parts, " ")
			descEv = ev(spanQuoteFrom(ls, r.descS))
		}
	}
	if desc != "" {
		it.Fields["description"] = pipeline.Field{Raw: desc, Evidence: descEv}
	}
	put := func(name string, k lexicon.Concept, money bool) {
		n, ok := r.vals[k]
		if !ok {
			return
		}
		raw := n.raw
		if money {
			raw = moneyRaw(n.raw, n.v)
		} else if v, _, err := extract.ParseAmount(n.raw); err != nil || !v.Equal(n.v) {
			raw = extract.FormatDecimal(n.v)
		}
		it.Fields[name] = pipeline.Field{Raw: raw}
	}
	put("quantity", lexicon.ColQuantity, false)
	put("unit_price", lexicon.ColUnitPrice, true)
	put("amount", lexicon.ColAmount, true)
	return it
}

// moneyRaw is the printed amount when Normalize reads it as the document
// does, otherwise the normal form.
func moneyRaw(printed string, v decimal.Decimal) string {
	if n, _, err := extract.ParseAmount(printed); err == nil && n.Equal(v) {
		return strings.TrimSpace(printed)
	}
	return formatMoney(v)
}

// spanQuote is the verbatim text of consecutive lines from the first
// line's first character to column end on the last line.
func spanQuote(ls []*Line, end int) string {
	var b strings.Builder
	for i, l := range ls {
		if i > 0 {
			b.WriteByte('\n')
		}
		switch {
		case i == 0 && i == len(ls)-1:
			b.WriteString(strings.TrimSpace(l.Sub(0, end)))
		case i == 0:
			b.WriteString(strings.TrimLeft(l.Text, " "))
		case i == len(ls)-1:
			b.WriteString(strings.TrimRight(l.Sub(0, end), " "))
		default:
			b.WriteString(l.Text)
		}
	}
	return b.String()
}

// spanQuoteFrom is the verbatim text of consecutive lines from column
// start on the first line to the end of the last.
func spanQuoteFrom(ls []*Line, start int) string {
	var b strings.Builder
	for i, l := range ls {
		if i > 0 {
			b.WriteByte('\n')
		}
		switch {
		case i == 0:
			b.WriteString(strings.TrimSpace(l.Sub(start, len(l.Runes))))
		case i == len(ls)-1:
			b.WriteString(strings.TrimRight(l.Text, " "))
		default:
			b.WriteString(l.Text)
		}
	}
	return b.String()
}

// receiptItems reads "3 x 12,00    36,00" lines, the description being the
// line above.
func (lay *Layout) receiptItems() []pipeline.Item {
	var items []pipeline.Item
	for _, lines := range lay.Pages {
		for k, l := range lines {
			m := qtyTimesRe.FindStringSubmatchIndex(l.Text)
			if m == nil {
				continue
			}
			qtyS := l.Text[m[2]:m[3]]
			priceS, amountS := l.Text[m[4]:m[5]], l.Text[m[6]:m[7]]
			q, errQ := lay.num(qtyS)
			pa := lay.amountsIn(priceS)
			aa := lay.amountsIn(amountS)
			if errQ != nil || len(pa) != 1 || len(aa) != 1 {
				continue
			}
			r := &rowRead{l: l, vals: map[lexicon.Concept]numCell{
				lexicon.ColQuantity:  {v: q, raw: qtyS, Cell: Cell{Text: qtyS}},
				lexicon.ColUnitPrice: {v: pa[0].Value, raw: priceS[pa[0].Start:pa[0].End], Cell: Cell{Text: priceS}},
				lexicon.ColAmount:    {v: aa[0].Value, raw: amountS[aa[0].Start:aa[0].End], Cell: Cell{Text: amountS}},
			}}
			if !rowConsistent(r.vals) {
				continue
			}
			r.firstS = utf8.RuneCountInString(l.Text[:m[2]])
			r.lastE = utf8.RuneCountInString(l.Text[:m[7]])
			var more []*Line
			if k > 0 && nameLikeDesc(lines[k-1].Text) && !qtyTimesRe.MatchString(lines[k-1].Text) {
				more = []*Line{lines[k-1]}
				lines[k-1].Table = true
			}
			l.Table = true
			r.descS, r.descE = -1, -1
			items = append(items, lay.itemOf(r, more))
		}
	}
	return items
}

// nameLikeDesc reports a line that can describe an item (text, not a
// label or amount line).
func nameLikeDesc(s string) bool {
	s = strings.TrimSpace(s)
	if s == "" || strings.HasSuffix(s, ":") || len(splitCells([]rune(s))) > 1 {
		return false
	}
	return strings.IndexFunc(s, unicode.IsLetter) >= 0
}
