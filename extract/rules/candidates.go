package rules

import (
	"cmp"
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

// Candidate is a value proposed for a field: what was read, where, how it
// was found, and the features its score weighs.
type Candidate struct {
	Field string `json:"field"`
	// Value is the normal form used to compare candidates (ISO date,
	// decimal, compact id, the name as printed).
	Value string `json:"value"`
	// Raw is the value as printed (what Finalize normalizes).
	Raw   string `json:"raw"`
	Page  int    `json:"page"`
	Quote string `json:"quote"`
	// Source says how the value was found: "label", "label below",
	// "title", "pattern", "letterhead", ...
	Source string `json:"source"`
	// Label is the label's text on the page, when one led to the value.
	Label string   `json:"label,omitempty"`
	F     Features `json:"-"`
	Score float64  `json:"score"`

	base     Features // F as proposed; the resolver may add cues (OtherParty)
	line     *Line
	col      int // rune column of the value on line
	money    decimal.Decimal
	currency string
	block    []*Line // parties: the lines of the address block
}

// key identifies a candidate's value for grouping equal readings.
func (c *Candidate) key() string { return c.Field + "\x00" + strings.ToLower(c.Value) }

// compareCandidates orders candidates best first: by score, then by
// place (page, line, column), then by value: a total order, so equal
// scores never depend on map or goroutine order.
func compareCandidates(a, b *Candidate) int {
	if a.Score != b.Score {
		return cmp.Compare(b.Score, a.Score)
	}
	if c := comparePlace(a, b); c != 0 {
		return c
	}
	if c := strings.Compare(a.Value, b.Value); c != 0 {
		return c
	}
	if c := strings.Compare(a.Source, b.Source); c != 0 {
		return c
	}
	return strings.Compare(a.Quote, b.Quote)
}

func comparePlace(a, b *Candidate) int {
	la, lb := -1, -1
	if a.line != nil {
		la = a.line.Seq
	}
	if b.line != nil {
		lb = b.line.Seq
	}
	if la != lb {
		return cmp.Compare(la, lb)
	}
	return cmp.Compare(a.col, b.col)
}

// field is the evidence of a candidate as the pipeline carries it.
func (c *Candidate) field() pipeline.Field {
	return pipeline.Field{Raw: c.Raw, Evidence: pipeline.Evidence{Page: c.Page, Quote: c.Quote}}
}

// found is a value a reader found in a text: raw and normal forms and its
// byte span.
type found struct {
	raw, value string
	a, b       int
	amount     *Amount
}

// reader reads values at the start of a text (the rest of a label's cell,
// or a cell), best first.
type reader func(text string) []found

// ---------------------------------------------------------------- labelled values

// labelReading says how far a labelled value may be from its label.
type labelReading struct {
	concept lexicon.Concept
	read    reader
	// maxCells is how many cells right of the label's cell are searched.
	maxCells int
	// below also searches the lines under the label.
	below bool
	// many keeps every value of the line (amounts: the resolver decides),
	// not only the first.
	many bool
	// sentence accepts labels inside running text ("Please remit until").
	sentence bool
}

// labelStrength sets the label features of a hit.
func labelFeatures(l *Line, h lexicon.Hit, f *Features) {
	if h.Strength == lexicon.Strong {
		f.Strong = 1
	} else {
		f.Weak = 1
	}
	if !atCellStart(l, h) {
		f.InSentence = 1
	}
}

// atCellStart reports whether a label starts its cell (after at most a
// bullet or a numbering, as in "1. Invoice date", "• Total").
func atCellStart(l *Line, h lexicon.Hit) bool {
	ci := l.CellAt(h.Start)
	if ci < 0 {
		return false
	}
	pre := strings.TrimSpace(string(l.Runes[l.Cells[ci].Start:h.Start]))
	return pre == "" || cellBulletRe.MatchString(pre)
}

var cellBulletRe = regexp.MustCompile(`^(?:\d{1,2}[.)]|[a-z][.)]|[•*·>#(–-])$`)

// cellPrefix is the number of runes of the label's cell before it.
func cellPrefix(l *Line, h lexicon.Hit) int {
	ci := l.CellAt(h.Start)
	if ci < 0 {
		return h.Start
	}
	return h.Start - l.Cells[ci].Start
}

// labelled finds the values next to the labels of r.concept: right of the
// label on its line, or below it in its column.
func (lay *Layout) labelled(field string, r labelReading) []*Candidate {
	var out []*Candidate
	for _, l := range lay.Lines {
		if l.Table {
			continue
		}
		for _, h := range l.Labels {
			if h.Concept != r.concept {
				continue
			}
			var f Features
			labelFeatures(l, h, &f)
			if f.InSentence == 1 && !r.sentence && h.Strength == lexicon.Weak && cellPrefix(l, h) > 16 {
				continue // "... the VAT rules ..." in running text
			}
			right := lay.afterLabel(field, l, h, r, f)
			out = append(out, right...)
			if len(right) == 0 && r.below && f.InSentence == 0 {
				out = append(out, lay.belowLabel(field, l, h, r, f)...)
			}
		}
	}
	return out
}

// afterLabel reads the values right of a label on its line: in the rest of
// the label's cell, then in the next cells, up to the next label.
func (lay *Layout) afterLabel(field string, l *Line, h lexicon.Hit, r labelReading, f Features) []*Candidate {
	ci := l.CellAt(h.Start)
	if ci < 0 {
		return nil
	}
	type piece struct{ s, e, cell int }
	var pieces []piece
	if c := l.Cells[ci]; h.End < c.End {
		pieces = append(pieces, piece{h.End, c.End, 0})
	}
	for i := ci + 1; i < len(l.Cells) && i <= ci+r.maxCells; i++ {
		pieces = append(pieces, piece{l.Cells[i].Start, l.Cells[i].End, i - ci})
	}
	var out []*Candidate
	for _, p := range pieces {
		// the next label of another field ends the search
		end, stop := p.e, false
		for _, o := range l.Labels {
			// a weak label inside the value's text ("de" in "29 de julio
			// de 2024") does not end it; a strong one, or one that starts
			// a cell, does (and any label between amounts)
			ends := o.Strength == lexicon.Strong || atCellStart(l, o) || r.many
			if ends && o.Start >= p.s && o.Start < end && o.Start >= h.End && o.Concept != h.Concept {
				end, stop = o.Start, true
			}
		}
		text := l.Sub(p.s, end)
		for _, fd := range r.read(text) {
			col := p.s + runeLen(text[:fd.a])
			if !r.many && !plainBetween(l, h.End, col) {
				continue
			}
			c := &Candidate{Field: field, Value: fd.value, Raw: fd.raw, Page: l.Page, line: l, col: col, Source: "label",
				Label: l.Sub(h.Start, h.End), F: f}
			c.F.Gap = float64(p.cell)
			c.Quote = strings.TrimSpace(l.Sub(h.Start, p.s+runeLen(text[:fd.b])))
			if fd.amount != nil {
				c.money, c.currency = fd.amount.Value, fd.amount.Currency
			}
			out = append(out, c)
			if !r.many {
				return out
			}
		}
		if stop || len(out) > 0 && !r.many {
			break
		}
		// a cell that starts with a word that is no currency ends the
		// search: it is another label or text
		if t := strings.TrimLeft(text, " :.#-–"); t != "" && p.cell > 0 && len(r.read(text)) == 0 {
			if first, _ := utf8.DecodeRuneInString(t); unicode.IsLetter(first) && !currencyWord(t) {
				break
			}
		}
	}
	if r.many {
		n := 0
		for _, c := range out {
			if c.line == l {
				n++
			}
		}
		for i, c := range out {
			c.F.Rank = float64(n - 1 - i)
			if i == n-1 {
				c.F.Last = 1
			}
		}
	}
	return out
}

// currencyWord reports a cell that is only a currency ("EUR", "€").
func currencyWord(t string) bool {
	t = strings.Trim(t, " ()")
	_, ok := currencyOf(t)
	return ok
}

// plainBetween reports whether the text between a label's end and a value
// holds no other words: punctuation, currency marks, a percentage, short
// particles ("du", "am", "on") or other labels ("Invoice date / Date de
// facture").
func plainBetween(l *Line, from, to int) bool {
	if to <= from {
		return true
	}
	letters := 0
	for i := from; i < to && i < len(l.Runes); i++ {
		if !unicode.IsLetter(l.Fold[i]) {
			continue
		}
		inLabel := false
		for _, h := range l.Hits {
			if i >= h.Start && i < h.End {
				inLabel = true
				break
			}
		}
		if !inLabel {
			letters++
		}
	}
	between := l.Sub(from, to)
	if c, ok := currencyIn(between); ok && c != "" {
		letters -= 3
	}
	return letters <= 3
}

// belowLabel reads the value under a label: in the next lines, the cell
// that overlaps the label's column.
func (lay *Layout) belowLabel(field string, l *Line, h lexicon.Hit, r labelReading, f Features) []*Candidate {
	lines := lay.Pages[l.Page-1]
	ci := l.CellAt(h.Start)
	if ci < 0 {
		return nil
	}
	// the label's cell must be (almost) only the label
	cell := l.Cells[ci]
	if runeLen(strings.TrimSpace(cell.Text))-(h.End-h.Start) > 3 {
		return nil
	}
	ls, le := cell.Start, cell.End
	for k := l.Pos + 1; k < len(lines) && k <= l.Pos+4; k++ {
		b := lines[k]
		if lay.Gap(l, b) > 3 {
			break
		}
		at, best := -1, -3
		for i, cl := range b.Cells {
			ov := min(cl.End, le) - max(cl.Start, ls)
			if ov > best {
				at, best = i, ov
			}
		}
		if at < 0 {
			continue
		}
		cl := b.Cells[at]
		if fs := r.read(cl.Text); len(fs) > 0 {
			fd := fs[len(fs)-1]
			if !r.many {
				fd = fs[0]
			}
			c := &Candidate{Field: field, Value: fd.value, Raw: fd.raw, Page: b.Page, line: b, col: cl.Start + runeLen(cl.Text[:fd.a]), Source: "label below",
				Label: l.Sub(h.Start, h.End), F: f, Quote: strings.TrimSpace(cl.Text)}
			c.F.Below = 1
			c.F.Gap = float64(k - l.Pos - 1)
			if fd.amount != nil {
				c.money, c.currency = fd.amount.Value, fd.amount.Currency
			}
			return []*Candidate{c}
		}
		if labelish(b, cl) {
			break
		}
	}
	return nil
}

// labelish reports a cell that is a label: it ends with a colon or the
// lexicon's labels cover it.
func labelish(l *Line, c Cell) bool {
	t := strings.TrimSpace(c.Text)
	if strings.HasSuffix(t, ":") {
		return true
	}
	covered, letters := lexicon.Covered(l.Fold[c.Start:c.End], shiftHits(l.Hits, c.Start, c.End))
	return letters > 0 && 2*covered >= letters
}

// shiftHits returns the hits inside [a, b) with columns relative to a.
func shiftHits(hits []lexicon.Hit, a, b int) []lexicon.Hit {
	var out []lexicon.Hit
	for _, h := range hits {
		if h.Start >= a && h.End <= b {
			h.Start -= a
			h.End -= a
			out = append(out, h)
		}
	}
	return out
}

// ---------------------------------------------------------------- readers

// readIDs reads an identifier at the start of text.
func (lay *Layout) readIDs(text string) []found {
	tok, a, b, ok := lay.readID(text)
	if !ok {
		return nil
	}
	return []found{{raw: tok, value: tok, a: a, b: b}}
}

// readDates reads the first date of text, with at most a short word
// before it ("du", "le", "am").
func (lay *Layout) readDates(text string) []found {
	ds := lay.datesInText(text)
	if len(ds) == 0 {
		return nil
	}
	d := ds[0]
	rs := []rune(text)
	pre := strings.Trim(string(rs[:d.Start]), " :.-,")
	if runeLen(pre) > 12 {
		return nil
	}
	a := len(string(rs[:d.Start]))
	b := len(string(rs[:d.End]))
	return []found{{raw: dateRaw(string(rs[d.Start:d.End]), d.ISO), value: d.ISO, a: a, b: b}}
}

// dateRaw is the printed date when Normalize reads it alone as the
// document does (day first), otherwise its ISO form: "03/05/2024" of a US
// invoice is handed on as "2024-03-05".
func dateRaw(printed, iso string) string {
	if v, err := extract.ParseDate(printed, false); err == nil && v == iso {
		return printed
	}
	return iso
}

// readMoney reads every money-like amount of text, left to right.
func (lay *Layout) readMoney(text string) []found {
	var out []found
	for _, m := range lay.amountsIn(text) {
		if !moneyLike(m) {
			continue
		}
		m := m
		out = append(out, found{raw: m.Raw, value: formatMoney(m.Value), a: m.Start, b: m.End, amount: &m})
	}
	return out
}

// sortCandidates orders candidates best first (compareCandidates).
func sortCandidates(cs []*Candidate) { slices.SortFunc(cs, compareCandidates) }
