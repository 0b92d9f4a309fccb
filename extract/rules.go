package extract

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/shopspring/decimal"
	"golang.org/x/text/unicode/norm"

	"github.com/extractor-dev/extractor/pipeline"
)

// Rules is the deterministic, template-free extractor for the invoice schema.
//
// It reads the parsed page text the way a clerk scans an invoice: labels in
// English, German and French ("Invoice No.", "Rechnungsdatum", "Total TTC")
// with the value on the same line after the label or below it in the same
// column, typed patterns (IBANs with a valid checksum, VAT ids of a known
// format), the line-item table from its header row's columns, and the
// letterhead, sender line, footer and addressee block for the parties.
// Totals are chosen together so that net + tax = total where the page
// allows. Every value carries its page and a verbatim quote from the page
// text; Finalize then normalizes, grounds and checks it like any other
// extractor's output. It knows no vendor and uses no template.
type Rules struct{}

// RulesVersion names the behaviour of Rules; bump it when that changes.
const RulesVersion = "rules/1"

// ErrNoFields is returned for a schema the rules extractor cannot read.
var ErrNoFields = errors.New("schema declares no fields")

// Extract reads the fields of s that it knows (the invoice schema's) from
// doc; other fields stay empty. It returns an error only when the schema
// has no fields at all or ctx is done.
func (Rules) Extract(ctx context.Context, doc pipeline.Document, s pipeline.Schema) (pipeline.Extraction, error) {
	if len(s.Fields) == 0 {
		return pipeline.Extraction{}, fmt.Errorf("rules: schema %q: %w", s.Name, ErrNoFields)
	}
	if err := ctx.Err(); err != nil {
		return pipeline.Extraction{}, err
	}
	x := pipeline.Extraction{
		DocumentID: doc.ID,
		Schema:     s.Ref(),
		Extractor:  pipeline.ExtractorRef{Kind: "rules", Version: RulesVersion},
		Fields:     map[string]pipeline.Field{},
	}
	r := readInvoiceRules(doc)
	for _, spec := range s.Fields {
		if spec.Type == pipeline.TypeArray {
			if spec.Name == "line_items" && len(r.items) > 0 {
				x.Lists = map[string][]pipeline.Item{spec.Name: r.items}
			}
			continue
		}
		if f, ok := r.fields[spec.Name]; ok {
			x.Fields[spec.Name] = f
		}
	}
	return x, nil
}

// Version is the rules' version: they have no settings.
func (Rules) Version() string { return RulesVersion }

// ---------------------------------------------------------------- page model

// textCell is a run of text on a line between gaps of two or more spaces
// (table columns, or blocks side by side); start and end are rune columns.
type textCell struct {
	start, end int
	text       string
}

// textLine is a page line prepared for reading.
type textLine struct {
	page  int // 1-based
	idx   int // index on its page
	text  string
	runes []rune
	// fold is the line lower-cased without accents, one rune per rune of
	// text, so rune columns carry over.
	fold  string
	cells []textCell
	box   pipeline.Box
	// pos is the line's index in ruleDoc.pages[page-1].
	pos int
	// match is the text folded for matching quotes (foldForMatch).
	match string
	// hits caches labelSet.find per set (keyed by its first pattern).
	hits map[*regexp.Regexp][]labelHit
}

func (l *textLine) sub(a, b int) string {
	a, b = max(a, 0), min(b, len(l.runes))
	if a >= b {
		return ""
	}
	return string(l.runes[a:b])
}

// foldSub is the folded text between rune columns a and b.
func (l *textLine) foldSub(a, b int) string {
	fr := []rune(l.fold)
	a, b = max(a, 0), min(b, len(fr))
	if a >= b {
		return ""
	}
	return string(fr[a:b])
}

// foldCol turns a byte offset in l.fold into a rune column.
func (l *textLine) foldCol(off int) int { return utf8.RuneCountInString(l.fold[:off]) }

// cellAt returns the index of the cell holding rune column c, or -1.
func (l *textLine) cellAt(c int) int {
	for i, cl := range l.cells {
		if c >= cl.start && c < cl.end {
			return i
		}
	}
	return -1
}

func (l *textLine) height() float64 { return l.box.Y1 - l.box.Y0 }

// foldRuneKeep folds one rune to one rune: lower case, accents removed,
// typographic variants made ASCII.
func foldRuneKeep(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}
	if d := norm.NFD.String(string(r)); d != "" {
		if b, _ := utf8.DecodeRuneInString(d); b != utf8.RuneError {
			r = b
		}
	}
	return foldRune(unicode.ToLower(r))
}

func splitCells(rs []rune) []textCell {
	var cells []textCell
	i := 0
	for i < len(rs) {
		for i < len(rs) && (rs[i] == ' ' || rs[i] == '\t') {
			i++
		}
		if i >= len(rs) {
			break
		}
		start := i
		end := i
		for i < len(rs) {
			if rs[i] == ' ' || rs[i] == '\t' {
				j := i
				for j < len(rs) && (rs[j] == ' ' || rs[j] == '\t') {
					j++
				}
				if j-i >= 2 || j >= len(rs) {
					break
				}
				i = j
				continue
			}
			i++
			end = i
		}
		cells = append(cells, textCell{start: start, end: end, text: string(rs[start:end])})
	}
	return cells
}

// ruleDoc is a document prepared for the rules.
type ruleDoc struct {
	doc   pipeline.Document
	pages [][]*textLine
	lines []*textLine // all pages, in order
	// dec is the decimal separator the document's amounts use.
	dec byte
	// order reads ambiguous numeric dates.
	order dateOrder
	// medH is the median line height.
	medH float64
	// tableLines are item table header and row lines: no summary labels
	// or parties are read from them.
	tableLines map[*textLine]bool
	// headers are the item table headers by line.
	headers map[*textLine]itemTable
}

func prepareRuleDoc(doc pipeline.Document) *ruleDoc {
	d := &ruleDoc{doc: doc, tableLines: map[*textLine]bool{}}
	var heights []float64
	for pi, p := range doc.Pages {
		var pl []*textLine
		for i, ln := range p.Lines {
			if strings.TrimSpace(ln.Text) == "" {
				continue
			}
			rs := []rune(ln.Text)
			fr := make([]rune, len(rs))
			for j, r := range rs {
				fr[j] = foldRuneKeep(r)
			}
			l := &textLine{page: pi + 1, idx: i, text: ln.Text, runes: rs, fold: string(fr), cells: splitCells(rs), box: ln.Box,
				pos: len(pl), match: foldForMatch(ln.Text)}
			pl = append(pl, l)
			d.lines = append(d.lines, l)
			if h := l.height(); h > 0 {
				heights = append(heights, h)
			}
		}
		d.pages = append(d.pages, pl)
	}
	if len(heights) > 0 {
		sort.Float64s(heights)
		d.medH = heights[len(heights)/2]
	}
	if d.medH <= 0 {
		d.medH = 10
	}
	d.dec = d.decimalSeparator()
	d.order = d.dateOrder()
	return d
}

var decimalRunRe = regexp.MustCompile(`^\d{1,3}(?:[.,' ]\d{3})*([.,])\d{2}$|^\d+([.,])\d{2}$`)

// decimalSeparator is the separator most amounts with two decimals use.
func (d *ruleDoc) decimalSeparator() byte {
	dots, commas := 0, 0
	for _, l := range d.lines {
		for _, loc := range numberRunRe.FindAllStringIndex(l.text, -1) {
			s := strings.TrimRight(l.text[loc[0]:loc[1]], ".,'’")
			if m := decimalRunRe.FindStringSubmatch(s); m != nil {
				sep := m[1] + m[2]
				if sep == "," {
					commas++
				} else {
					dots++
				}
			}
		}
	}
	if commas > dots {
		return ','
	}
	return '.'
}

func isDigitByte(c byte) bool { return c >= '0' && c <= '9' }

// dateOrder decides how to read numeric dates like 03/05/2024: a date of
// the document with a part above 12 decides; without one, a document that
// prints "$" and neither "€" nor "£" is read month-first (US), any other
// day-first.
func (d *ruleDoc) dateOrder() dateOrder {
	dmy, mdy := 0, 0
	dollar, other := false, false
	for _, l := range d.lines {
		for _, m := range findNumDateRe.FindAllStringSubmatch(l.fold, -1) {
			if m[2] != m[4] || m[2] == "." {
				continue
			}
			a, b := atoiSafe(m[1]), atoiSafe(m[3])
			switch {
			case a > 12 && b <= 12:
				dmy++
			case b > 12 && a <= 12:
				mdy++
			}
		}
		dollar = dollar || strings.Contains(l.text, "$")
		other = other || strings.ContainsAny(l.text, "€£")
	}
	switch {
	case mdy > dmy:
		return monthFirst
	case dmy > 0:
		return dayFirst
	case dollar && !other:
		return monthFirst
	}
	return dayFirst
}

// num reads a number printed in the document's locale: the document's
// decimal separator decides "1.234" and "1,234".
func (d *ruleDoc) num(s string) (decimal.Decimal, error) {
	s = strings.TrimSpace(normalizeSpaces(s))
	other := byte(',')
	if d.dec == ',' {
		other = '.'
	}
	if strings.IndexByte(s, d.dec) > strings.LastIndexByte(s, other) {
		if v, err := numberWithDecimal(s, d.dec); err == nil {
			return v, nil
		}
	} else if !strings.ContainsAny(s, ".,") || strings.IndexByte(s, d.dec) < 0 {
		if v, err := numberWithDecimal(s, 0); err == nil {
			return v, nil
		}
	}
	return parseNumber(s)
}

// ---------------------------------------------------------------- amounts in text

// printedAmount is an amount printed in a text: byte offsets (including its currency
// and sign), value, currency and whether it is a percentage.
type printedAmount struct {
	start, end int
	value      decimal.Decimal
	cur        string
	pct        bool
	decimals   int
	// bare: digits only, no separators, sign or currency (could be an id).
	bare bool
}

var (
	curBeforeRe = regexp.MustCompile(`(?:([€$£¥₹])|\b([A-Z]{3})|\b(Fr\.|Rs\.?|SFr\.?|US\$))\s?[-−(]?\s?$`)
	curAfterRe  = regexp.MustCompile(`^\s?(?:([€$£¥₹])|([A-Z]{3})\b|(Fr\.|Rs\.?|SFr\.?)|(%))`)
)

// amountsIn finds the numbers printed in s that can be amounts, with their
// currency and sign.
func (d *ruleDoc) amountsIn(s string) []printedAmount {
	locs := numberRunRe.FindAllStringIndex(s, -1)
	var out []printedAmount
	for i := 0; i < len(locs); i++ {
		a, b := locs[i][0], locs[i][1]
		for b > a && strings.ContainsRune(".,'’", rune(s[b-1])) {
			b--
		}
		// join "1 234 567,89"
		for i+1 < len(locs) {
			ga, gb := b, locs[i+1][0]
			gap := s[ga:gb]
			next := strings.TrimRight(s[locs[i+1][0]:locs[i+1][1]], ".,'’")
			if (gap != " " && gap != "\u00a0" && gap != "\u202f") || len(next) < 3 || !allDigits(next[:3]) || len(next) > 3 && isDigitByte(next[3]) {
				break
			}
			if strings.ContainsAny(s[a:b], ".,") && d.dec != 0 && strings.IndexByte(s[a:b], d.dec) >= 0 {
				break // already has decimals
			}
			cand := s[a:locs[i+1][0]] + next
			if _, err := d.num(strings.ReplaceAll(cand, "\u202f", " ")); err != nil {
				break
			}
			b = locs[i+1][0] + len(next)
			i++
		}
		// numbers inside words, ids, dates and times are not amounts
		if a > 0 {
			r, _ := utf8.DecodeLastRuneInString(s[:a])
			if unicode.IsLetter(r) || r == '/' || r == ':' || r == '_' || r == '#' || (r == '-' || r == '.') && a > 1 && isAlnumByte(s[a-2]) {
				continue
			}
		}
		if b < len(s) {
			r, _ := utf8.DecodeRuneInString(s[b:])
			if (unicode.IsLetter(r) && !strings.HasPrefix(s[b:], "EUR") && !strings.HasPrefix(s[b:], "USD")) || r == '/' || r == ':' || r == '_' || (r == '.' || r == ',' || r == '-') && b+1 < len(s) && isAlnumByte(s[b+1]) {
				continue
			}
		}
		numStr := s[a:b]
		v, err := d.num(numStr)
		if err != nil {
			continue
		}
		m := printedAmount{start: a, end: b, value: v, bare: allDigits(numStr)}
		if i := strings.LastIndexAny(numStr, ".,"); i >= 0 && (d.dec == numStr[i] || strings.Count(numStr, string(numStr[i])) == 1 && len(numStr)-i-1 != 3) {
			m.decimals = len(numStr) - i - 1
		}
		// currency and sign before
		before := s[:a]
		if cm := curBeforeRe.FindStringSubmatchIndex(before); cm != nil {
			tok := ""
			for g := 2; g < len(cm); g += 2 {
				if cm[g] >= 0 {
					tok = before[cm[g]:cm[g+1]]
				}
			}
			if c, ok := currencyCode(tok); ok {
				m.cur = c
				m.start = cm[0]
				m.bare = false
			}
		}
		pre := strings.TrimRight(s[:m.start], " ")
		if m.start == a {
			pre = s[:a]
		}
		neg := false
		if strings.HasSuffix(s[:a], "-") || strings.HasSuffix(s[:a], "−") || strings.HasSuffix(s[:a], "- ") {
			neg = true
		}
		if strings.HasSuffix(pre, "(") && strings.HasPrefix(strings.TrimLeft(s[b:], " €$£"), ")") {
			neg = true
		}
		if strings.HasPrefix(s[m.start:], "-") || strings.HasPrefix(s[m.start:], "−") {
			neg = true
		}
		if m.start < a && (strings.HasSuffix(s[:m.start], "-") || strings.HasSuffix(s[:m.start], "−")) {
			neg = true // "-$3.00"
			_, size := utf8.DecodeLastRuneInString(s[:m.start])
			m.start -= size
		}
		// currency, percent and trailing minus after
		after := s[b:]
		if cm := curAfterRe.FindStringSubmatchIndex(after); cm != nil {
			switch {
			case cm[8] >= 0:
				m.pct = true
			default:
				tok := ""
				for g := 2; g < 8; g += 2 {
					if cm[g] >= 0 {
						tok = after[cm[g]:cm[g+1]]
					}
				}
				if c, ok := currencyCode(tok); ok && (m.cur == "" || m.cur == c) {
					m.cur = c
					m.end = b + cm[1]
					m.bare = false
				}
			}
		}
		if strings.HasPrefix(s[m.end:], "-") && (m.end+1 >= len(s) || !isAlnumByte(s[m.end+1])) {
			neg = true
			m.end++
		}
		if neg {
			m.value = m.value.Neg()
			m.bare = false
			// include a leading sign in the printed span
			for m.start > 0 && strings.ContainsRune("-−( ", rune(s[m.start-1])) && m.start > a-3 {
				m.start--
			}
			m.start = strings.IndexFunc(s[m.start:], func(r rune) bool { return r != ' ' }) + m.start
		}
		out = append(out, m)
	}
	return out
}

func isAlnumByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// ---------------------------------------------------------------- labels

type labelSet []*regexp.Regexp

func labelPatterns(patterns ...string) labelSet {
	out := make(labelSet, len(patterns))
	for i, p := range patterns {
		// a label does not span a column gap: at most one space between words
		p = strings.ReplaceAll(strings.ReplaceAll(p, `\s*`, ` ?`), `\s+`, ` `)
		// word boundaries are checked in find: a regexp that starts with
		// a literal is found fast
		out[i] = regexp.MustCompile(p)
	}
	return out
}

// labelHit is a label found on a line: rune columns of the label and the cell.
type labelHit struct {
	l      *textLine
	ci     int
	s, e   int
	rank   int  // index of the pattern: lower is more specific
	atCell bool // the label starts its cell (not inside a sentence)
}

// find returns the labels of set on l. Where matches overlap, the one
// that starts first wins, then the longer, then the more specific.
func (ls labelSet) find(l *textLine) []labelHit {
	if len(ls) == 0 {
		return nil
	}
	if hs, ok := l.hits[ls[0]]; ok {
		return hs
	}
	var all []labelHit
	for rank, re := range ls {
		for _, m := range re.FindAllStringIndex(l.fold, -1) {
			// not inside a word: no letter or digit before, no letter after
			if r, _ := utf8.DecodeLastRuneInString(l.fold[:m[0]]); m[0] > 0 && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
				continue
			}
			if r, _ := utf8.DecodeRuneInString(l.fold[m[1]:]); m[1] < len(l.fold) && unicode.IsLetter(r) {
				continue
			}
			all = append(all, labelHit{l: l, s: l.foldCol(m[0]), e: l.foldCol(m[1]), rank: rank})
		}
	}
	sort.SliceStable(all, func(i, j int) bool {
		a, b := all[i], all[j]
		if a.s != b.s {
			return a.s < b.s
		}
		if a.e != b.e {
			return a.e > b.e
		}
		return a.rank < b.rank
	})
	var hits []labelHit
	for _, h := range all {
		if len(hits) > 0 && h.s < hits[len(hits)-1].e {
			continue
		}
		h.ci = l.cellAt(h.s)
		if h.ci < 0 {
			continue
		}
		pre := strings.TrimSpace(string(l.runes[l.cells[h.ci].start:h.s]))
		h.atCell = utf8.RuneCountInString(pre) <= 2
		hits = append(hits, h)
	}
	if l.hits == nil {
		l.hits = map[*regexp.Regexp][]labelHit{}
	}
	l.hits[ls[0]] = hits
	return hits
}

// The addressee's labels: the invoice's, then the delivery address's.
var (
	billToLabels = []string{
		`bill(?:ed)?\s*to`, `invoice\s*to`, `invoiced\s*to`, `sold\s*to`, `billing\s*address`, `customer(?:\s*name)?`, `client(?:\s*name)?`, `buyer`, `recipient`, `purchaser`,
		`klant`, `debiteur`,
		`rechnungsempfanger`, `rechnungsadresse`, `rechnung\s*an`, `kunde`, `empfanger`, `auftraggeber`, `leistungsempfanger`,
		`facture\s*a`, `facture\s*au\s*nom\s*de`, `adresse\s*de\s*facturation`, `destinataire`, `acheteur`, `factuuradres`,
	}
	shipToLabels = []string{`ship\s*to`, `deliver\s*to`, `shipping\s*address`, `delivery\s*address`, `lieferadresse`, `livre\s*a`, `adresse\s*de\s*livraison`}
)

// Labels, on folded text (lower case, no accents). The first patterns of
// a set are the most specific.
var (
	invoiceNumberLabels = labelPatterns(
		`invoice\s*(?:no\.?|nr\.?|number|num\.?|#|id|ref(?:erence)?)`, `inv\.?\s*(?:no\.?|#)`, `bill\s*(?:no\.?|number|#)`,
		`tax\s*invoice\s*(?:no\.?|number|#)`, `invoice\s*serial\s*(?:no\.?|number)`,
		`rechnungs?\s*-?\s*(?:nummer|nr\.?|no\.?)`, `rechnung\s*(?:nr\.?|no\.?|#)`, `re\.?\s*-?\s*nr\.?`, `belegnummer|beleg\s*-?\s*nr\.?`,
		`(?:numero|n[°o]\.?|no\.?)\s*(?:de\s*(?:la\s*)?)?facture`, `facture\s*(?:n[°o]\.?|no\.?|numero|#)`,
		`factuur\s*(?:nummer|nr\.?)|factuurnummer`,
		`document\s*(?:no\.?|number|#)`, `credit\s*note\s*(?:no\.?|number|#)`, `gutschrift\s*(?:nr\.?|nummer)|gutschriftsnummer`, `avoir\s*n[°o]`,
	)
	// invoiceTitleLabels: a title followed directly by the number.
	invoiceTitleLabels = labelPatterns(`invoice|rechnung|facture|factuur|gutschrift|credit\s*note|avoir`)
	issueDateLabels    = labelPatterns(
		`invoice\s*date`, `date\s*of\s*(?:invoice|issue)`, `issue\s*date`, `date\s*issued`, `billing\s*date`, `invoice\s*dated`, `tax\s*point(?:\s*date)?`,
		`rechnungsdatum`, `datum\s*der\s*rechnung`, `ausstellungsdatum`, `belegdatum`, `ausgestellt\s*am`, `rechnungs\s*-?\s*datum`,
		`date\s*(?:de\s*(?:la\s*)?)?facture`, `date\s*de\s*facturation`, `date\s*d'?\s*emission`, `emise?\s*le`, `factuurdatum`,
		`date`, `datum`, `dated`, `issued(?:\s*on)?`, `vom`, `du`, `le`,
	)
	issueDateWeakFrom = 19 // patterns from this rank on are generic ("date")
	dueDateLabels     = labelPatterns(
		`due\s*date`, `payment\s*due(?:\s*date)?`, `date\s*due`, `pay(?:able|ment)?\s*(?:by|before|until)`, `payment\s*(?:date|deadline|term)`, `due\s*(?:by|on)`,
		`falligkeit(?:sdatum)?`, `fallig\s*(?:am|bis|zum)?`, `zahlbar\s*(?:bis|zum|am|spatestens)(?:\s*zum)?`, `zahlungsziel`, `zahlungsfrist`, `zahlungstermin`,
		`date\s*d'?\s*echeance`, `echeance`, `date\s*limite\s*(?:de\s*)?(?:paiement|reglement)`, `a\s*(?:payer|regler)\s*(?:avant|au\s*plus\s*tard)(?:\s*le)?`,
		`payable\s*(?:avant|le|au)`, `vervaldatum`, `due`,
	)
	totalLabels = labelPatterns(
		`grand\s*total`, `total\s*(?:amount\s*)?due`, `amount\s*due`, `balance\s*due`, `amount\s*payable`, `total\s*payable`, `total\s*to\s*pay`,
		`invoice\s*total`, `total\s*invoice\s*amount`, `total\s*(?:incl\.?|including|inc\.?|with)\s*(?:vat|tax|gst)`, `total\s*amount`, `total\s*gross`, `gross\s*(?:total|amount)`,
		`gesamtbetrag`, `rechnungsbetrag`, `endbetrag`, `bruttobetrag`, `gesamtsumme`, `rechnungssumme`, `endsumme`, `zahlbetrag`,
		`(?:summe|gesamt|betrag)\s*(?:brutto|inkl\.?)`, `brutto\s*(?:summe|betrag)?`, `zu\s*zahlen(?:der\s*betrag)?`, `zahlungsbetrag`,
		`total\s*ttc`, `montant\s*ttc`, `net\s*a\s*payer`, `montant\s*total`, `total\s*a\s*payer`, `montant\s*a\s*payer`, `total\s*general`, `totaal`, `te\s*betalen`,
		`total`, `summe`, `gesamt`,
	)
	totalWeakFrom = 35
	netLabels     = labelPatterns(
		`sub\s*-?\s*total`, `net\s*(?:amount|total|value|sum)`, `total\s*net`, `total\s*(?:excl\.?|excluding|ex\.?|before|without|w/o|net\s*of)\s*(?:vat|tax|gst)`,
		`amount\s*(?:excl\.?|excluding|before|without)\s*(?:vat|tax|gst)`, `taxable\s*(?:amount|value)`, `total\s*before\s*tax`, `untaxed\s*(?:amount|total)`,
		`zwischensumme`, `nettobetrag`, `nettosumme`, `(?:summe|gesamt|betrag|gesamtbetrag|warenwert)\s*netto`, `netto\s*(?:summe|betrag|gesamt)?`, `warenwert`,
		`(?:summe|gesamt|betrag)\s*(?:ohne|exkl\.?|zzgl\.?)\s*(?:ust|mwst)`,
		`total\s*h\.?\s*t\.?`, `montant\s*h\.?\s*t\.?`, `sous\s*-?\s*total`, `total\s*hors\s*taxes?`, `montant\s*hors\s*taxes?`, `net\s*h\.?t\.?`, `base\s*h\.?t\.?`, `subtotaal`,
		`net`,
	)
	taxLabels = labelPatterns(
		`total\s*(?:vat|tax|tva|gst)`, `(?:vat|tax|gst)\s*(?:amount|total)`, `sales\s*tax`, `montant\s*(?:de\s*(?:la\s*)?)?tva`, `total\s*tva`,
		`(?:summe|gesamt|betrag)\s*(?:ust|mwst)\.?`, `steuerbetrag`, `umsatzsteuer`, `mehrwertsteuer`,
		`zzgl\.?\s*(?:\d+(?:[.,]\d+)?\s*%\s*)?(?:ust|mwst)\.?`, `(?:ust|mwst)\.?`, `vat`, `tax`, `gst`, `tva`, `btw`,
	)
	// notTaxRe: tax words that name an id, a rate basis or an inclusive total.
	notTaxRe    = regexp.MustCompile(`(?:vat|tax|tva|ust|mwst|gst|btw)\s*-?\s*(?:reg|no\b|nr|number|id|#|intra|code|exempt|point)|(?:incl|inkl|excl|exkl|ohne|hors|before|excluding|including)\.?\s*(?:\d+\s*%\s*)?(?:vat|tax|tva|ust|mwst|gst)|n[°o]\.?\s*(?:de\s*)?tva|steuer\s*-?\s*(?:nr|nummer)|ttc|\bht\b|umsatzsteuer\s*-?\s*id|tax\s*invoice|vat\s*:?\s*[a-z]{2}\s?\d|total\s*before`)
	vatIDLabels = labelPatterns(
		`vat\s*(?:reg(?:istration)?\.?\s*)?(?:no\.?|nr\.?|number|id|#)`, `tax\s*(?:id|identification)\s*(?:no\.?|number)?`,
		`ust\.?\s*-?\s*id(?:ent)?\.?\s*-?\s*(?:nr\.?|no\.?)?`, `umsatzsteuer\s*-?\s*(?:id(?:ent)?\.?|identifikations)\s*(?:nr\.?|nummer)?`, `mwst\.?\s*-?\s*(?:nr\.?|no\.?)`, `uid(?:\s*-?\s*nr\.?)?`,
		`(?:n[°o]\.?|numero|no\.?)\s*(?:de\s*)?(?:tva|identification)(?:\s*intra(?:communautaire|com)?\.?)?`, `tva\s*intra(?:communautaire|com)?\.?`, `identifiant\s*tva`, `id\.?\s*tva`,
		`btw\s*-?\s*(?:nr\.?|nummer|id)?`, `gstin(?:\s*/\s*uin)?`, `gst\s*(?:reg(?:istration)?\.?\s*)?(?:no\.?|number|in)`, `vat`, `tva`,
	)
	customerLabels   = labelPatterns(append(billToLabels, shipToLabels...)...)
	customerShipFrom = len(billToLabels) // patterns from this rank on name the delivery address
	vendorLabels     = labelPatterns(
		`remit\s*(?:payment\s*)?to`, `(?:make\s*)?(?:checks?|cheques?)\s*payable\s*to`, `payable\s*to`,
		`from`, `seller`, `supplier`, `vendor`, `issued\s*by`, `sold\s*by`, `bill\s*from`,
		`absender`, `verkaufer`, `lieferant`, `rechnungssteller`, `leistungserbringer`, `auftragnehmer`,
		`emetteur`, `vendeur`, `fournisseur`, `prestataire`, `expediteur`,
	)
	// notLabelValueRe: a label's cell that names something else ("Customer no.").
	notCustomerRe = regexp.MustCompile(`(?:customer|client|kunde[n]?|buyer)\s*-?\s*(?:no\b|nr|number|num|id|#|ref|code|vat|tax|account|since|service|care|support)|kundennummer|kunden\s*-?\s*nr|n[°o]\.?\s*client|numero\s*client|code\s*client|reference\s*client|ref\.?\s*client|client\s*n[°o]|kundenkonto|empfanger\s*-?\s*(?:nr|id)`)
	// pointingLabelRe: a party label that reads on into the name.
	pointingLabelRe = regexp.MustCompile(`(?:\bto|\ban|\ba|au nom de|\bfrom|\bby)$`)
	debitRe         = regexp.MustCompile(`lastschrift|abgebucht|einzug|debit|prelev|sepa\s*-?\s*mandat|your\s*account|ihr(?:em)?\s*konto|votre\s*compte`)
	buyerSideRe     = regexp.MustCompile(`\b(?:your|ihre?|votre|customer|client|kunde|buyer|acheteur|destinataire|empfanger)\b`)
	titleWordRe     = regexp.MustCompile(`^(?:(?:tax|pro\s*-?\s*forma|proforma|commercial|final)\s+)?(?:invoice|rechnung|facture|factuur|gutschrift|credit\s*note|avoir|receipt|quittung|bill|statement|angebot|quote|devis|lieferschein|delivery\s*note|paid|bezahlt|paye|copy|kopie|duplicata?|original|page|seite)\b`)
)

// summaryLine reports whether a cell of l starts with a net, tax or total
// label: item tables end there.
func summaryLine(l *textLine) bool {
	for _, set := range []labelSet{totalLabels, netLabels, taxLabels} {
		for _, h := range set.find(l) {
			if !h.atCell {
				continue
			}
			if set[0] == taxLabels[0] && notTaxRe.MatchString(foldText(l.cells[h.ci].text)) {
				continue
			}
			return true
		}
	}
	return false
}

// ---------------------------------------------------------------- values next to labels

// ruleValue is a value read from the page with its evidence and a score.
type ruleValue struct {
	// ctx is the folded text of the label's cell up to the value (for
	// checks such as "this VAT is a VAT number").
	ctx string
	// col is the rune column the value was read from on l.
	col   int
	raw   string
	l     *textLine
	quote string
	score float64
	// value is the normalized form, for comparing candidates.
	value string
}

func (f ruleValue) field() pipeline.Field {
	return pipeline.Field{Raw: f.raw, Evidence: pipeline.Evidence{Page: f.l.page, Quote: f.quote}}
}

// valueParser reads a value at the start of text (a label's rest, or a cell):
// the value's raw form, its byte span in text, and ok.
type valueParser func(text string) (raw, value string, a, b int, ok bool)

// afterLabel reads the value right of a label on its line: in the rest of
// the label's cell, then in the following cells up to the next label-like
// cell. The quote runs from the label to the value.
func (d *ruleDoc) afterLabel(h labelHit, parse valueParser, maxCells int) (ruleValue, bool) {
	l := h.l
	type piece struct{ s, e int }
	var pieces []piece
	c := l.cells[h.ci]
	if h.e < c.end {
		pieces = append(pieces, piece{h.e, c.end})
	}
	for i := h.ci + 1; i < len(l.cells) && i <= h.ci+maxCells; i++ {
		pieces = append(pieces, piece{l.cells[i].start, l.cells[i].end})
	}
	for _, p := range pieces {
		text := l.sub(p.s, p.e)
		raw, val, _, b, ok := parse(text)
		if ok {
			end := p.s + utf8.RuneCountInString(text[:b])
			return ruleValue{raw: raw, value: val, l: l, quote: strings.TrimSpace(l.sub(h.s, end)), ctx: l.foldSub(c.start, end), col: p.s}, true
		}
		if t := strings.TrimLeft(text, " :.#-–"); t != "" && p.s != h.e {
			// a cell that is not the value: stop at the first one
			// that starts with a letter (another label)
			if _, isCur := currencyCode(strings.TrimSpace(t)); isCur {
				continue // "Total   EUR   1.234,56"
			}
			if r, _ := utf8.DecodeRuneInString(t); unicode.IsLetter(r) {
				break
			}
		}
	}
	return ruleValue{}, false
}

// belowLabel reads the value under a label: in the next lines (up to
// three) the cell that overlaps the label's column.
func (d *ruleDoc) belowLabel(h labelHit, parse valueParser) (ruleValue, bool) {
	lines := d.pages[h.l.page-1]
	pos := h.l.pos
	c := h.l.cells[h.ci]
	ls, le := c.start, c.end
	for k := pos + 1; k < len(lines) && k <= pos+3; k++ {
		l := lines[k]
		if l.box.Y0-h.l.box.Y1 > 4*d.medH && l.box != (pipeline.Box{}) {
			break
		}
		// the cell that overlaps the label's most; labels and values
		// aligned on their right edge may miss by a column or two on the
		// parser's character grid
		at, bestOv := -1, -3
		for i, cl := range l.cells {
			ov := min(cl.end, le) - max(cl.start, ls)
			if ov > bestOv {
				at, bestOv = i, ov
			}
		}
		if at < 0 {
			continue
		}
		cl := l.cells[at]
		raw, val, _, _, ok := parse(cl.text)
		if ok {
			return ruleValue{raw: raw, value: val, l: l, quote: cl.text, ctx: foldText(c.text), col: cl.start}, true
		}
		// another label in the column ends the search
		if len(l.cells) > 0 && labelish(cl.text) {
			break
		}
	}
	return ruleValue{}, false
}

// labelish reports a short text ending with a colon or without digits.
func labelish(s string) bool {
	s = strings.TrimSpace(s)
	return strings.HasSuffix(s, ":") || (strings.IndexFunc(s, unicode.IsDigit) < 0 && utf8.RuneCountInString(s) < 30)
}

// ---------------------------------------------------------------- value parsers

var idTokenRe = regexp.MustCompile(`^[\s:.#–-]*(#?[\p{L}\d][\p{L}\d/_.#-]*[\p{L}\d])`)

func (d *ruleDoc) parseID(text string) (string, string, int, int, bool) {
	m := idTokenRe.FindStringSubmatchIndex(text)
	if m == nil {
		return "", "", 0, 0, false
	}
	tok := text[m[2]:m[3]]
	if strings.IndexFunc(tok, unicode.IsDigit) < 0 || utf8.RuneCountInString(tok) > 40 {
		return "", "", 0, 0, false
	}
	// a date or an amount is not an invoice number
	if _, err := parseDate(tok, d.order); err == nil && len(tok) != 8 {
		return "", "", 0, 0, false
	}
	if ds := datesIn(text[m[2]:], d.order); len(ds) > 0 && ds[0].start == 0 {
		return "", "", 0, 0, false
	}
	if v, _, err := parseAmount(tok); err == nil && strings.ContainsAny(tok, ".,") && !v.IsInteger() {
		return "", "", 0, 0, false
	}
	return tok, tok, m[2], m[3], true
}

// parseDateAt reads the first date of text, allowing little before it.
func (d *ruleDoc) parseDateAt(text string) (string, string, int, int, bool) {
	ds := datesIn(text, d.order)
	if len(ds) == 0 {
		return "", "", 0, 0, false
	}
	f := ds[0]
	pre := strings.TrimSpace(strings.Trim(foldText(text)[:f.start], " :.-"))
	if utf8.RuneCountInString(pre) > 12 {
		return "", "", 0, 0, false
	}
	iso := f.date.String()
	raw := iso
	// the printed form when it reads the same way out of context
	if orig := origSpan(text, f.start, f.end); orig != "" {
		if v, err := parseDate(orig, dayFirst); err == nil && v == f.date {
			raw = orig
		}
	}
	end := len(text)
	if head := origSpan(text, 0, f.end); head != "" {
		end = len(head) // the quote ends with the date
	}
	return raw, iso, 0, end, true
}

// origSpan maps a byte span of foldText(text) back to text when folding
// kept the length of every rune's encoding in step (ASCII and most
// Latin letters); otherwise it returns "".
func origSpan(text string, a, b int) string {
	f := foldText(text)
	if len(f) == len(text) {
		return text[a:b]
	}
	// walk rune by rune
	var fo, to int
	start, end := -1, -1
	for _, r := range text {
		if fo == a {
			start = to
		}
		if fo == b {
			end = to
		}
		fr := foldText(string(r))
		fo += len(fr)
		to += utf8.RuneLen(r)
	}
	if fo == b {
		end = to
	}
	if start < 0 || end < 0 {
		return ""
	}
	return text[start:end]
}

// parseMoneyAt reads the last amount of text (the value of a summary
// line follows its label; rates and bases come before it).
func (d *ruleDoc) parseMoneyAt(text string) (string, string, int, int, bool) {
	var last *printedAmount
	for _, m := range d.amountsIn(text) {
		if m.pct || m.decimals == 0 && m.cur == "" {
			continue // totals print cents or a currency; "63" is a phone number's
		}
		last = &m
	}
	if last == nil {
		return "", "", 0, 0, false
	}
	return d.moneyRaw(text[last.start:last.end], last.value), formatMoney(last.value), last.start, last.end, true
}

// moneyRaw is the printed amount when Normalize reads it as the document
// does, otherwise the normal form.
func (d *ruleDoc) moneyRaw(printed string, v decimal.Decimal) string {
	if n, _, err := parseAmount(printed); err == nil && n.Equal(v) {
		return strings.TrimSpace(printed)
	}
	return formatMoney(v)
}

// ---------------------------------------------------------------- the invoice

type rulesResult struct {
	fields map[string]pipeline.Field
	items  []pipeline.Item
}

func readInvoiceRules(doc pipeline.Document) rulesResult {
	d := prepareRuleDoc(doc)
	res := rulesResult{fields: map[string]pipeline.Field{}}
	set := func(name string, f ruleValue, ok bool) {
		if ok && f.raw != "" {
			res.fields[name] = f.field()
		}
	}
	tables := d.findTables()
	res.items = d.readItems(tables)
	f, ok := d.invoiceNumber()
	set("invoice_number", f, ok)
	issue, okIssue := d.issueDate()
	set("issue_date", issue, okIssue)
	due, okDue := d.dueDate(issue, okIssue)
	set("due_date", due, okDue)
	net, tax, total := d.totals()
	set("net_amount", net, net.raw != "")
	set("tax_amount", tax, tax.raw != "")
	set("total_amount", total, total.raw != "")
	f, ok = d.currency(total, net, tax)
	set("currency", f, ok)
	f, ok = d.iban()
	set("iban", f, ok)
	parties := d.parties()
	set("vendor_name", parties.vendor, parties.vendor.raw != "")
	set("customer_name", parties.customer, parties.customer.raw != "")
	f, ok = d.vatID(parties)
	set("vendor_vat_id", f, ok)
	return res
}

// bestValue returns the candidate with the highest score (the first on ties).
func bestValue(cands []ruleValue) (ruleValue, bool) {
	if len(cands) == 0 {
		return ruleValue{}, false
	}
	b := cands[0]
	for _, c := range cands[1:] {
		if c.score > b.score {
			b = c
		}
	}
	return b, true
}

// pagePos is a score bonus for where a line is: earlier pages and higher
// lines first.
func pagePos(l *textLine) float64 { return -0.5*float64(l.page-1) - 0.002*float64(l.idx) }

// labelled collects the values next to a set's labels.
func (d *ruleDoc) labelled(set labelSet, parse valueParser, weak int, below bool) []ruleValue {
	var out []ruleValue
	for _, l := range d.lines {
		if d.tableLines[l] {
			continue
		}
		for _, h := range set.find(l) {
			score := 10 - 0.2*float64(h.rank) + pagePos(l)
			if h.rank >= weak {
				score -= 4
			}
			if !h.atCell {
				score -= 3
			}
			if f, ok := d.afterLabel(h, parse, 3); ok {
				f.score = score
				out = append(out, f)
				continue
			}
			if below && h.atCell {
				if f, ok := d.belowLabel(h, parse); ok {
					f.score = score - 0.5
					out = append(out, f)
				}
			}
		}
	}
	return out
}

func (d *ruleDoc) invoiceNumber() (ruleValue, bool) {
	cands := d.labelled(invoiceNumberLabels, d.parseID, 100, true)
	// exclude labels that name another number ("customer no.")
	for _, l := range d.lines {
		if d.tableLines[l] {
			continue
		}
		for _, h := range invoiceTitleLabels.find(l) {
			if !h.atCell {
				continue
			}
			// "Invoice INV-2024-001", "RECHNUNG Nr. 17": the title, a number
			f, ok := d.afterLabel(h, func(text string) (string, string, int, int, bool) {
				t := strings.TrimLeft(text, " ")
				if t == "" || t == text && !strings.HasPrefix(text, " ") {
					return "", "", 0, 0, false
				}
				if m := numberWordRe.FindStringIndex(t); m != nil {
					off := len(text) - len(t) + m[1]
					raw, v, a, b, ok := d.parseID(text[off:])
					return raw, v, a + off, b + off, ok
				}
				if strings.HasPrefix(text, ":") || strings.HasPrefix(t, ":") {
					return "", "", 0, 0, false
				}
				return d.parseID(text)
			}, 0)
			if ok {
				f.score = 4 + pagePos(l)
				cands = append(cands, f)
			}
		}
	}
	return bestValue(cands)
}

var (
	numberWordRe  = regexp.MustCompile(`^(?i)(?:nr\.?|no\.?|n°|#)\s*`)
	notIssueRe    = regexp.MustCompile(`due|fallig|echeance|liefer|livraison|delivery|leistung|order|bestell|commande|zahlbar|payer|payment|paiement|period|zeitraum|valid|gultig`)
	currencyLabel = regexp.MustCompile(`currency|wahrung|devise|valuta`)
	vatWordRe     = regexp.MustCompile(`ust|vat|tva|mwst|btw|gst|uid|tax|steuer|intra`)
	gstinFindRe   = regexp.MustCompile(`\b\d{2}[A-Z]{5}\d{4}[A-Z][1-9A-Z]Z[0-9A-Z]\b`)
	posNumRe      = regexp.MustCompile(`^\d{1,4}\.?\s+`)
	posOnlyRe     = regexp.MustCompile(`^\d{1,4}\.?$`)
)

func (d *ruleDoc) issueDate() (ruleValue, bool) {
	cands := d.labelled(issueDateLabels, d.parseDateAt, issueDateWeakFrom, true)
	var keep []ruleValue
	for _, c := range cands {
		// a generic "date" next to due or delivery words is not the issue date
		if notIssueRe.MatchString(labelContext(c)) {
			continue
		}
		keep = append(keep, c)
	}
	if f, ok := bestValue(keep); ok {
		return f, true
	}
	// no label: the first date on page 1
	for _, l := range d.lines {
		if l.page != 1 || d.tableLines[l] {
			continue
		}
		if ds := datesIn(l.text, d.order); len(ds) > 0 {
			return ruleValue{raw: ds[0].date.String(), value: ds[0].date.String(), l: l, quote: strings.TrimSpace(l.text)}, true
		}
	}
	return ruleValue{}, false
}

// labelContext is the folded text of a candidate's line up to its value,
// from the start of the cell holding the label.
func labelContext(f ruleValue) string { return f.ctx }

func (d *ruleDoc) dueDate(issue ruleValue, okIssue bool) (ruleValue, bool) {
	cands := d.labelled(dueDateLabels, d.parseDateAt, len(dueDateLabels)-1, true)
	var keep []ruleValue
	for _, c := range cands {
		if okIssue && c.l == issue.l && c.col == issue.col {
			continue
		}
		keep = append(keep, c)
	}
	return bestValue(keep)
}

// ---------------------------------------------------------------- totals

type moneyCand struct {
	ruleValue
	v decimal.Decimal
}

func (d *ruleDoc) moneyCands(set labelSet, weak int, exclude *regexp.Regexp) []moneyCand {
	var out []moneyCand
	for _, f := range d.labelled(set, d.parseMoneyAt, weak, true) {
		if exclude != nil && exclude.MatchString(labelContext(f)) {
			continue
		}
		v, err := decimal.NewFromString(f.value)
		if err != nil {
			continue
		}
		out = append(out, moneyCand{ruleValue: f, v: v})
	}
	return out
}

var (
	notTotalRe = regexp.MustCompile(`sub\s*-?\s*total|sous\s*-?\s*total|total\s*(?:h\.?t|net|excl|ex\b|before|hors|vat|tax|tva|ust|mwst|gst|discount|rabatt|remise|paid|quantity|qty|items|weight|pages)|(?:vat|tax|tva)\s*total|zwischen|netto|total\s*des\s*remises|montant\s*ht|paid|payment\s*received|bezahlt|acompte|deposit|anzahlung|already|bereits|deja|tax\s*total`)
	notNetRe   = regexp.MustCompile(`ttc|brutto|gross|incl|inkl|due|payer|zahlen`)
)

// totals picks net, tax and total together: the combination where net +
// tax = total (or net = total without tax) wins over single best labels.
func (d *ruleDoc) totals() (net, tax, total ruleValue) {
	nets := d.moneyCands(netLabels, len(netLabels)-1, notNetRe)
	taxes := d.moneyCands(taxLabels, 100, notTaxRe)
	totals := d.moneyCands(totalLabels, totalWeakFrom, notTotalRe)
	// the most likely values of each
	sortCands := func(cs []moneyCand) {
		sort.SliceStable(cs, func(i, j int) bool { return cs[i].score > cs[j].score })
	}
	sortCands(nets)
	sortCands(taxes)
	sortCands(totals)
	cent := decimal.New(1, -2)
	type combo struct {
		n, t, x *moneyCand
		score   float64
	}
	var bestC combo
	bestC.score = math.Inf(-1)
	consider := func(n, t, x *moneyCand) {
		s := 0.0
		cnt := 0
		for _, c := range []*moneyCand{n, t, x} {
			if c != nil {
				s += c.score
				cnt++
			}
		}
		if cnt == 0 {
			return
		}
		switch {
		case n != nil && t != nil && x != nil:
			if n.v.Add(t.v).Sub(x.v).Abs().LessThanOrEqual(cent) {
				s += 15
			} else {
				s -= 8
			}
		case n != nil && x != nil && t == nil:
			if n.v.Equal(x.v) {
				s += 2
			} else if x.v.Abs().LessThan(n.v.Abs()) {
				s -= 8
			}
		}
		if x == nil {
			s -= 6
		}
		if n != nil && x != nil && n.l == x.l && n.quote == x.quote {
			return
		}
		if t != nil && x != nil && t.l == x.l && t.quote == x.quote {
			return
		}
		if n != nil && t != nil && n.l == t.l && n.quote == t.quote {
			return
		}
		if s > bestC.score {
			bestC = combo{n, t, x, s}
		}
	}
	lim := func(cs []moneyCand) []*moneyCand {
		out := []*moneyCand{nil}
		for i := range cs {
			if i >= 8 {
				break
			}
			out = append(out, &cs[i])
		}
		return out
	}
	for _, x := range lim(totals) {
		for _, n := range lim(nets) {
			for _, t := range lim(taxes) {
				consider(n, t, x)
			}
		}
	}
	if bestC.n != nil {
		net = bestC.n.ruleValue
	}
	if bestC.t != nil {
		tax = bestC.t.ruleValue
	}
	if bestC.x != nil {
		total = bestC.x.ruleValue
	}
	return net, tax, total
}

// currency is the currency printed with the total (or the other totals),
// else the one named by a currency label, else the only one printed.
func (d *ruleDoc) currency(fs ...ruleValue) (ruleValue, bool) {
	for _, f := range fs {
		if f.raw == "" {
			continue
		}
		for _, m := range d.amountsIn(f.quote) {
			if m.cur != "" {
				return ruleValue{raw: m.cur, l: f.l, quote: f.quote}, true
			}
		}
	}
	// the line of a total may print the currency apart from the amount
	for _, f := range fs {
		if f.raw == "" {
			continue
		}
		if c, _ := currencyInText(f.l.text); c != "" {
			return ruleValue{raw: c, l: f.l, quote: strings.TrimSpace(f.l.text)}, true
		}
	}
	// "Currency: EUR", "Währung", "Devise", or the most printed currency
	counts := map[string]int{}
	first := map[string]ruleValue{}
	for _, l := range d.lines {
		if currencyLabel.MatchString(l.fold) {
			if c, _ := currencyInText(l.text); c != "" {
				return ruleValue{raw: c, l: l, quote: strings.TrimSpace(l.text)}, true
			}
		}
		for _, m := range d.amountsIn(l.text) {
			if m.cur != "" {
				counts[m.cur]++
				if _, ok := first[m.cur]; !ok {
					first[m.cur] = ruleValue{raw: m.cur, l: l, quote: strings.TrimSpace(l.text)}
				}
			}
		}
	}
	bestCode, n := "", 0
	for c, k := range counts {
		if k > n || k == n && c < bestCode {
			bestCode, n = c, k
		}
	}
	if bestCode != "" {
		return first[bestCode], true
	}
	return ruleValue{}, false
}

var currencyWordRe = regexp.MustCompile(`[€$£¥₹]|\b(?:EUR|USD|GBP|CHF|INR|JPY|CAD|AUD|SEK|NOK|DKK|PLN|CZK|HUF|DEM)\b`)

// currencyInText returns the first currency symbol or common code in s.
func currencyInText(s string) (code, tok string) {
	if m := currencyWordRe.FindString(s); m != "" {
		c, _ := currencyCode(m)
		return c, m
	}
	return "", ""
}

// ---------------------------------------------------------------- IBAN and VAT id

// idSpan is an id found in a text, with its byte span.
type idSpan struct {
	id   string
	a, b int
}

// prefixStarts returns the offsets in s where two capital ASCII letters
// start a word: where a country prefix can start an IBAN or a VAT id.
func prefixStarts(s string) []int {
	var out []int
	for i := 0; i+1 < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' && s[i+1] >= 'A' && s[i+1] <= 'Z' && (i == 0 || !isAlnumByte(s[i-1])) {
			out = append(out, i)
		}
	}
	return out
}

// ibansIn finds valid IBANs printed in s (spaces between groups allowed).
func ibansIn(s string) []idSpan {
	var out []idSpan
	for _, a := range prefixStarts(s) {
		if len(out) > 0 && a < out[len(out)-1].b {
			continue
		}
		n, ok := ibanLengths[s[a:a+2]]
		if !ok {
			continue
		}
		j := a + 2
		if j < len(s) && s[j] == ' ' {
			j++
		}
		if j+2 > len(s) || !isDigitByte(s[j]) || !isDigitByte(s[j+1]) {
			continue
		}
		var b strings.Builder
		i := a
		for i < len(s) && b.Len() < n {
			c := s[i]
			switch {
			case isAlnumByte(c):
				if c >= 'a' && c <= 'z' {
					c -= 'a' - 'A'
				}
				b.WriteByte(c)
			case c == ' ' || c == '-':
				if i+1 >= len(s) || !isAlnumByte(s[i+1]) {
					i = len(s)
					continue
				}
			default:
				i = len(s)
				continue
			}
			i++
		}
		if b.Len() != n || i < len(s) && isAlnumByte(s[i]) && (i == 0 || s[i-1] != ' ') {
			continue
		}
		if v, err := normalizeIBAN(b.String()); err == nil {
			out = append(out, idSpan{v, a, i})
		}
	}
	return out
}

func (d *ruleDoc) iban() (ruleValue, bool) {
	var cands []ruleValue
	for k, l := range d.lines {
		for _, ib := range ibansIn(l.text) {
			score := 5 + pagePos(l)
			ctx := l.fold
			if k > 0 {
				ctx = d.lines[k-1].fold + " " + ctx
			}
			if strings.Contains(ctx, "iban") {
				score += 3
			}
			if debitRe.MatchString(ctx) {
				score -= 12 // the buyer's account, to be debited
			}
			start := ib.a
			if i := strings.Index(strings.ToUpper(l.text[:ib.a]), "IBAN"); i >= 0 && ib.a-i < 12 {
				start = i
			}
			cands = append(cands, ruleValue{raw: ib.id, l: l, quote: strings.TrimSpace(l.text[start:ib.b]), score: score})
		}
	}
	f, ok := bestValue(cands)
	if !ok || f.score < 0 {
		return ruleValue{}, false
	}
	return f, true
}

// vatIDsIn finds VAT ids printed in s: a country prefix and the groups
// after it that make a valid id; the longest valid reading wins.
func vatIDsIn(s string) []idSpan {
	var out []idSpan
	for _, a := range prefixStarts(s) {
		if len(out) > 0 && a < out[len(out)-1].b {
			continue
		}
		if _, ok := vatFormats[s[a:a+2]]; !ok && !strings.HasPrefix(s[a:], "CHE") {
			continue
		}
		// candidate ends: after each group of letters and digits
		var ends []int
		i := a
		for i < len(s) && i-a < 24 {
			c := s[i]
			if isAlnumByte(c) {
				i++
				if i == len(s) || !isAlnumByte(s[i]) {
					ends = append(ends, i)
				}
				continue
			}
			if (c == ' ' || c == '.' || c == '-') && i+1 < len(s) && isAlnumByte(s[i+1]) {
				i++
				continue
			}
			break
		}
		for k := len(ends) - 1; k >= 0; k-- {
			e := ends[k]
			if v, err := normalizeVATID(s[a:e]); err == nil {
				out = append(out, idSpan{v, a, e})
				break
			}
		}
	}
	for _, m := range gstinFindRe.FindAllStringIndex(s, -1) {
		out = append(out, idSpan{s[m[0]:m[1]], m[0], m[1]})
	}
	return out
}

func (d *ruleDoc) vatID(p partiesResult) (ruleValue, bool) {
	var cands []ruleValue
	ibanSpans := map[*textLine][][2]int{}
	for _, l := range d.lines {
		for _, ib := range ibansIn(l.text) {
			ibanSpans[l] = append(ibanSpans[l], [2]int{ib.a, ib.b})
		}
	}
	inIBAN := func(l *textLine, a, b int) bool {
		for _, sp := range ibanSpans[l] {
			if a < sp[1] && b > sp[0] {
				return true
			}
		}
		return false
	}
	for k, l := range d.lines {
		ids := vatIDsIn(l.text)
		if len(ids) == 0 {
			continue
		}
		for _, id := range ids {
			if inIBAN(l, id.a, id.b) {
				continue
			}
			score := 2 + pagePos(l)
			pre := foldText(l.text[:id.a])
			labelled := false
			// a VAT label before the id on its line, or right above it
			if hs := vatIDLabels.find(l); len(hs) > 0 {
				for _, h := range hs {
					if utf8.RuneCountInString(l.text[:id.a]) >= h.e {
						labelled = true
						if buyerSideRe.MatchString(l.fold[:min(len(l.fold), len(pre))]) {
							score -= 12 // "Ihre USt-IdNr.", "Customer VAT no."
						}
					}
				}
			} else if k > 0 && d.lines[k-1].page == l.page {
				above := d.lines[k-1]
				for _, h := range vatIDLabels.find(above) {
					c := above.cells[h.ci]
					col := utf8.RuneCountInString(l.text[:id.a])
					if col >= c.start-4 && col <= c.end+4 {
						labelled = true
						if buyerSideRe.MatchString(above.fold) {
							score -= 12
						}
					}
				}
			}
			if labelled {
				score += 6
			}
			if p.customerLines[l] {
				score -= 5
			}
			if p.vendorLines[l] {
				score += 2
			}
			if vatWordRe.MatchString(pre) {
				score += 1
			}
			start := id.a
			cands = append(cands, ruleValue{raw: id.id, l: l, quote: strings.TrimSpace(l.text[start:id.b]), score: score})
		}
	}
	f, ok := bestValue(cands)
	if !ok || f.score < 0 {
		return ruleValue{}, false
	}
	return f, true
}

// ---------------------------------------------------------------- parties

type partiesResult struct {
	vendor, customer ruleValue
	// lines of the customer's and vendor's address blocks
	customerLines, vendorLines map[*textLine]bool
}

var (
	legalFormRe = regexp.MustCompile(`(?i)(?:^|[\s,.(])(?:gmbh(?:\s*&\s*co\.?\s*kg)?|ges\.?m\.?b\.?h\.?|ag|kg|og|e\.\s?u\.|ohg|e\.\s?k\.?|e\.\s?v\.|ug|gbr|mbh|kgaa|se|sarl|s\.a\.r\.l\.|sas|sasu|sa|eurl|snc|sci|scop|ltd\.?|limited|llp|plc|inc\.?|llc|corp\.?|corporation|co\.|company|bv|b\.v\.|nv|n\.v\.|s\.a\.|s\.r\.l\.|srl|spa|s\.p\.a\.|oy|ab|as|a/s|aps|pty|pvt\.?|private\s+limited|gmbh\s*&\s*co|partnerschaft|group|holding)(?:$|[\s,.)])`)
	postalRe    = regexp.MustCompile(`(?:^|\s)(?:[A-Z]{1,2}[- ])?\d{4,5}\s+\p{Lu}[\p{L}.'-]+|\b\d{4}\s?[A-Z]{2}\s+\p{Lu}|\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}\b|,?\s+[A-Z]{2}\s+\d{5}(?:-\d{4})?\b|\b\p{Lu}\p{L}+\s*[-–]?\s*\d{6}\b|\b\d{3}\s\d{3}\b`)
	streetRe    = regexp.MustCompile(`(?i)(?:^\d+[a-z]?,?\s+\p{L}|\s\d+\s*[a-z]?$|stra(?:ss|ß)e|str\.|weg\b|allee|platz|gasse|ring\b|damm\b|street|\bst\.|road|\brd\.?|avenue|\bave\.?|lane|drive|way\b|boulevard|\bblvd|\brue\b|chemin|place|quai|impasse|all[ée]e|route|\bpo\s*box|postfach|\bbp\s*\d|cedex|suite|floor)`)
	contactRe   = regexp.MustCompile(`(?i)@|www\.|https?:|\btel\b|\btel\.|phone|\bfax\b|\bmobil|e-?mail|\biban\b|\bbic\b|swift|\bhrb?\s*\d|amtsgericht|registergericht|\bsiret\b|\brcs\b|capital|geschaftsfuhr|geschäftsführ|director|\bceo\b|\bvat\b|ust-?id|steuer|\btva\b|page\s*\d|seite\s*\d`)
	sepRe       = regexp.MustCompile(`\s+[·•|]\s+|\s+[-–]\s+`)
)

// nameLike scores a text as an organisation or person name: 0 when it
// cannot be one (an address, a label, contact data, a title).
func nameLike(s string) float64 {
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	if n < 2 || n > 80 {
		return 0
	}
	f := foldText(s)
	if contactRe.MatchString(f) || titleWordRe.MatchString(f) && !legalFormRe.MatchString(s) {
		return 0
	}
	if strings.HasSuffix(s, ":") {
		return 0
	}
	letters, digits := 0, 0
	for _, r := range s {
		switch {
		case unicode.IsLetter(r):
			letters++
		case unicode.IsDigit(r):
			digits++
		}
	}
	if letters < 2 || digits > 2 && digits*3 > letters {
		return 0
	}
	if r, _ := utf8.DecodeRuneInString(s); unicode.IsDigit(r) || unicode.IsLower(r) {
		if !legalFormRe.MatchString(s) {
			return 0
		}
	}
	if postalRe.MatchString(s) || streetRe.MatchString(s) && !legalFormRe.MatchString(s) {
		return 0
	}
	if len(strings.Fields(s)) > 8 {
		return 0
	}
	if isLabelText(s) {
		return 0
	}
	if _, isCur := currencyCode(s); isCur || strings.Contains(s, ":") {
		return 0 // a currency, or "Customer: ACME" (a label and a name)
	}
	if m := legalFormRe.FindString(" " + s + " "); strings.TrimSpace(m) != "" && len(strings.TrimSpace(m)) >= len(s)-1 {
		return 0 // "GmbH" alone
	}
	score := 1.0
	if legalFormRe.MatchString(s) {
		score += 2
	}
	return score
}

// isLabelText reports whether s is mostly a label ("Customer no.",
// "FROM", "Issue date"): a label of any field covers half its letters.
func isLabelText(s string) bool {
	rs := []rune(s)
	fr := make([]rune, len(rs))
	letters := 0
	for i, r := range rs {
		fr[i] = foldRuneKeep(r)
		if unicode.IsLetter(r) {
			letters++
		}
	}
	l := &textLine{fold: string(fr), runes: rs, cells: []textCell{{0, len(rs), s}}}
	for _, set := range []labelSet{invoiceNumberLabels, issueDateLabels, dueDateLabels, totalLabels, netLabels, taxLabels,
		vatIDLabels, customerLabels, vendorLabels} {
		covered := 0
		for _, h := range set.find(l) {
			for _, r := range rs[h.s:h.e] {
				if unicode.IsLetter(r) {
					covered++
				}
			}
		}
		if 2*covered >= letters {
			return true
		}
	}
	return false
}

// cleanName strips label prefixes and trailing punctuation from a name.
func cleanName(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimRight(s, ",;:")
	return collapseSpace(s)
}

type nameCand struct {
	text  string
	l     *textLine
	quote string
	score float64
	block []*textLine
}

// addressBlock collects the lines of the block holding line k's cell ci,
// upwards and downwards while cells overlap and lines are close.
func (d *ruleDoc) addressBlock(lines []*textLine, k, ci int) []*textLine {
	c := lines[k].cells[ci]
	block := []*textLine{lines[k]}
	overl := func(l *textLine) int {
		for i, cl := range l.cells {
			if min(cl.end, c.end)-max(cl.start, c.start) > 0 && absInt(cl.start-c.start) <= max(4, (c.end-c.start)/2) {
				return i
			}
		}
		return -1
	}
	for j := k - 1; j >= 0 && j >= k-5; j-- {
		if lines[j+1].box.Y0-lines[j].box.Y1 > 1.2*d.medH {
			break
		}
		i := overl(lines[j])
		if i < 0 || len(sepRe.Split(lines[j].cells[i].text, 3)) > 1 {
			break // not aligned, or the sender line above the window
		}
		// the end of the address above: its postal line, or its country
		// under its postal line
		if postalRe.MatchString(lines[j].cells[i].text) {
			break
		}
		if t := lines[j].cells[i].text; j > 0 && len(strings.Fields(t)) <= 2 && strings.IndexFunc(t, unicode.IsDigit) < 0 && !legalFormRe.MatchString(t) {
			if i2 := overl(lines[j-1]); i2 >= 0 && postalRe.MatchString(lines[j-1].cells[i2].text) && len(sepRe.Split(lines[j-1].cells[i2].text, 3)) == 1 {
				break
			}
		}
		block = append([]*textLine{lines[j]}, block...)
	}
	// below the postal line: country, VAT id, contact lines
	for j := k + 1; j < len(lines) && j <= k+3; j++ {
		if lines[j].box.Y0-lines[j-1].box.Y1 > 1.2*d.medH || overl(lines[j]) < 0 {
			break
		}
		block = append(block, lines[j])
	}
	return block
}

func absInt(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// blockCell returns the text of the cell of l that lines up with column c.
func blockCell(l *textLine, c textCell) (textCell, bool) {
	for _, cl := range l.cells {
		if min(cl.end, c.end)-max(cl.start, c.start) > 0 && absInt(cl.start-c.start) <= max(4, (c.end-c.start)/2) {
			return cl, true
		}
	}
	return textCell{}, false
}

func (d *ruleDoc) parties() partiesResult {
	res := partiesResult{customerLines: map[*textLine]bool{}, vendorLines: map[*textLine]bool{}}
	vend := map[string]*nameCand{}
	cust := map[string]*nameCand{}
	add := func(m map[string]*nameCand, text string, l *textLine, quote string, score float64) *nameCand {
		text = cleanName(text)
		if nameLike(text) == 0 {
			return nil
		}
		key := strings.ToLower(text)
		c, ok := m[key]
		if !ok {
			c = &nameCand{text: text, l: l, quote: quote}
			m[key] = c
		}
		c.score += score
		return c
	}
	if len(d.pages) == 0 {
		return res
	}
	p1 := d.pages[0]
	pageH := 842.0
	if len(d.doc.Pages) > 0 && d.doc.Pages[0].Height > 0 {
		pageH = d.doc.Pages[0].Height
	}
	// 1. Labels: "Bill to", "Rechnungsempfänger", "Facturé à"; "From", "Absender".
	// sentenceRanks: labels of this rank and below may stand inside a
	// sentence ("Please remit to ACME Ltd, ...") for the set that has them.
	sentenceRanks := 0
	labelledName := func(set labelSet, m map[string]*nameCand, lines map[*textLine]bool, base float64, weakFrom int, notRe *regexp.Regexp) {
		for _, l := range d.lines {
			if d.tableLines[l] {
				continue
			}
			for _, h := range set.find(l) {
				if !h.atCell && !(pointingLabelRe.MatchString(l.foldSub(h.s, h.e)) && h.rank < sentenceRanks) {
					continue
				}
				cellText := foldText(l.cells[h.ci].text)
				if notRe != nil && notRe.MatchString(cellText) {
					continue
				}
				score := base - 0.1*float64(h.rank)
				if h.rank >= weakFrom {
					score -= 3
				}
				// the rest of the cell after the label: after a colon, or
				// after a label that points ("Bill to", "Facturé à");
				// "Customer Service GmbH" is a name, not a label
				after := l.sub(h.e, l.cells[h.ci].end)
				rest := strings.TrimLeft(after, " :.-")
				if rest != "" {
					if !strings.HasPrefix(strings.TrimLeft(after, " "), ":") && !pointingLabelRe.MatchString(l.foldSub(h.s, h.e)) {
						continue
					}
					name := rest
					if nameLike(cleanName(name)) == 0 {
						// "Acme Corp, 1 Main St, Springfield": the first part
						name = strings.SplitN(sepRe.Split(rest, 2)[0], ",", 2)[0]
					}
					if c := add(m, name, l, strings.TrimSpace(l.sub(h.s, l.cells[h.ci].end)), score); c != nil {
						lines[l] = true
					}
					continue
				}
				// the label's cell must be (almost) only the label
				if utf8.RuneCountInString(strings.TrimSpace(l.cells[h.ci].text))-(h.e-h.s) > 3 {
					continue
				}
				// the next cell on the line, when it is not another label
				if h.ci+1 < len(l.cells) {
					t := l.cells[h.ci+1].text
					if !labelish(t) || legalFormRe.MatchString(t) {
						if c := add(m, t, l, strings.TrimSpace(l.sub(h.s, l.cells[h.ci+1].end)), score-0.5); c != nil {
							lines[l] = true
							continue
						}
					}
				}
				// below, in the label's column
				lines2 := d.pages[l.page-1]
				pos := l.pos
				lc := l.cells[h.ci]
				for k := pos + 1; k < len(lines2) && k <= pos+3; k++ {
					below := lines2[k]
					cl, ok := blockCell(below, textCell{start: lc.start, end: max(lc.end, lc.start+20)})
					if !ok {
						continue
					}
					if c := add(m, cl.text, below, cl.text, score); c != nil {
						// mark the block for the VAT id
						for j := k; j < len(lines2) && j <= k+5; j++ {
							if _, ok := blockCell(lines2[j], cl); ok {
								lines[lines2[j]] = true
							}
						}
						break
					}
					if !labelish(cl.text) {
						break
					}
				}
			}
		}
	}
	labelledName(customerLabels, cust, res.customerLines, 10, customerShipFrom, notCustomerRe)
	sentenceRanks = 3 // remit to, checks payable to, payable to
	labelledName(vendorLabels, vend, res.vendorLines, 8, 100, nil)

	// 2. Letterhead: company-like cells at the top of page 1, prominent first.
	for k, l := range p1 {
		if l.box.Y0 > 0.3*pageH && k > 3 || k > 12 {
			break
		}
		if d.tableLines[l] {
			continue
		}
		for _, c := range l.cells {
			nl := nameLike(c.text)
			if nl == 0 {
				continue
			}
			score := 2 + nl - 0.4*float64(k)
			if h := l.height(); h > 1.25*d.medH && len(l.cells) <= 2 {
				score += math.Min(4, 3*(h/d.medH-1))
			}
			if res.customerLines[l] {
				score -= 6
			}
			add(vend, c.text, l, c.text, score)
		}
	}
	// 3. Sender lines and footers: "ACME GmbH · Street 1 · 12345 City".
	senders := map[*textLine]bool{}
	for _, l := range d.lines {
		for _, c := range l.cells {
			parts := sepRe.Split(c.text, -1)
			if len(parts) < 2 {
				continue
			}
			hasAddr, postal := false, false
			for _, p := range parts[1:] {
				if postalRe.MatchString(p) {
					postal = true
				}
				if postal || streetRe.MatchString(p) || contactRe.MatchString(foldText(p)) {
					hasAddr = true
				}
			}
			if !hasAddr {
				continue
			}
			score := 2.0
			if l.page == 1 && l.box.Y0 < 0.4*pageH && postal {
				score = 4 // the sender line above the address window
				senders[l] = true
			}
			if legalFormRe.MatchString(parts[0]) {
				score++
			}
			add(vend, parts[0], l, c.text, score)
		}
	}
	// 4. Address blocks: a postal line with a name above it.
	var blocks []nameCand
	for _, lines := range d.pages {
		for k, l := range lines {
			if d.tableLines[l] {
				continue
			}
			for ci, c := range l.cells {
				if !postalRe.MatchString(c.text) || sepRe.MatchString(c.text) || utf8.RuneCountInString(c.text) > 60 {
					continue
				}
				block := d.addressBlock(lines, k, ci)
				// the name: the topmost name-like cell of the block, above
				// the postal line
				for _, bl := range block {
					if bl.pos > l.pos {
						break
					}
					cl, ok := blockCell(bl, c)
					if !ok {
						continue
					}
					if nameLike(cl.text) > 0 {
						blocks = append(blocks, nameCand{text: cleanName(cl.text), l: bl, quote: cl.text, block: block})
						break
					}
				}
			}
		}
	}
	// dedupe blocks by name line
	seen := map[*textLine]bool{}
	var uniq []nameCand
	for _, b := range blocks {
		if !seen[b.l] {
			seen[b.l] = true
			uniq = append(uniq, b)
		}
	}
	// repetition: a name printed again (footer, page headers) is the sender's
	count := func(name string) int {
		n := 0
		f := foldForMatch(name)
		for _, l := range d.lines {
			if strings.Contains(l.match, f) {
				n++
			}
		}
		return n
	}
	for _, c := range vend {
		if n := count(c.text); n > 1 {
			c.score += math.Min(3, 0.8*float64(n-1))
		}
	}
	// choose the customer first from labels, then the vendor, then the
	// customer from address blocks that are not the vendor's
	custBest := func() *nameCand {
		var b *nameCand
		for _, c := range cust {
			if b == nil || c.score > b.score || c.score == b.score && c.l.idx < b.l.idx {
				b = c
			}
		}
		return b
	}
	cb := custBest()
	// a block right under the sender line is in the address window: the
	// addressee's
	windowed := func(b nameCand) bool {
		top := b.block[0]
		lines := d.pages[top.page-1]
		for j := top.pos - 1; j >= 0 && j >= top.pos-2; j-- {
			if senders[lines[j]] {
				return true
			}
		}
		return false
	}
	for _, b := range uniq {
		onTop := b.l.page == 1 && b.l.pos <= 2
		if windowed(b) {
			add(vend, b.text, b.l, b.quote, -6)
			if c := add(cust, b.text, b.l, b.quote, 6); c != nil {
				c.block = b.block
			}
			continue
		}
		if onTop {
			if c := add(vend, b.text, b.l, b.quote, 2.5); c != nil {
				for _, bl := range b.block {
					res.vendorLines[bl] = true
				}
			}
		} else if b.l.page == 1 {
			add(vend, b.text, b.l, b.quote, 0.5)
		}
	}
	if cb != nil {
		if v, ok := vend[strings.ToLower(cb.text)]; ok {
			v.score -= 8
		}
	}
	var vb *nameCand
	for _, c := range vend {
		if vb == nil || c.score > vb.score || c.score == vb.score && (c.l.page < vb.l.page || c.l.page == vb.l.page && c.l.idx < vb.l.idx) {
			vb = c
		}
	}
	if vb != nil {
		res.vendor = ruleValue{raw: vb.text, l: vb.l, quote: vb.quote, score: vb.score}
	}
	if cb == nil || cb.score < 8 {
		for _, b := range uniq {
			if b.l.page != 1 || vb != nil && strings.EqualFold(b.text, vb.text) {
				continue
			}
			score := 5.0
			if b.l.box.Y0 < 0.5*pageH {
				score += 1
			}
			if count(b.text) > 1 {
				score -= 2
			}
			if c := add(cust, b.text, b.l, b.quote, score); c != nil {
				c.block = b.block
			}
		}
		cb = nil
		for _, c := range cust {
			if vb != nil && strings.EqualFold(c.text, vb.text) {
				continue
			}
			if cb == nil || c.score > cb.score || c.score == cb.score && c.l.idx < cb.l.idx {
				cb = c
			}
		}
		if cb != nil {
			for _, bl := range cb.block {
				res.customerLines[bl] = true
			}
		}
	}
	if cb != nil && (vb == nil || !strings.EqualFold(cb.text, vb.text)) {
		res.customer = ruleValue{raw: cb.text, l: cb.l, quote: cb.quote, score: cb.score}
	}
	return res
}

// ---------------------------------------------------------------- line items

type colKind int

const (
	colPos colKind = iota
	colDesc
	colQty
	colUnit
	colPrice
	colAmount
	colVAT
	colDiscount
)

func (k colKind) numeric() bool {
	return k == colQty || k == colPrice || k == colAmount || k == colVAT || k == colDiscount
}

type itemColumn struct {
	kind colKind
	s, e int
}

type itemTable struct {
	header *textLine
	cols   []itemColumn
	left   int // leftmost column start
}

var headerPatterns = []struct {
	kind colKind
	re   *regexp.Regexp
}{
	{colPrice, regexp.MustCompile(`unit\s*price|price\s*per\s*unit|unit\s*cost|unit\s*rate|prix\s*unit(?:aire)?(?:\s*h\.?t\.?)?|p\.\s*u\.(?:\s*h\.?t\.?)?|\bpu\s*h\.?t\.?|einzelpreis|stuckpreis|e-preis|preis\s*/\s*einheit|\brate\b|\bprice\b|\bprix\b|\bpreis\b|\btarif\b|stukprijs|\bprijs\b`)},
	{colAmount, regexp.MustCompile(`line\s*total|total\s*h\.?t\.?|montant\s*(?:h\.?t\.?|ttc|net)?|net\s*amount|\bamount\b|\btotal\b|\bbetrag\b|gesamtpreis|\bgesamt\b|\bsumme\b|\bbedrag\b|\btotaal\b`)},
	{colQty, regexp.MustCompile(`quantity|\bqty\.?|\bqte\b|quantite|\bmenge\b|\banzahl\b|\bunits\b|\bhours\b|\bhrs\b|\bnbre?\b|\bnombre\b|\baantal\b`)},
	{colVAT, regexp.MustCompile(`(?:vat|tax|tva|ust\.?|mwst\.?|gst|btw)\s*(?:%|rate|satz)?|\b%`)},
	{colDiscount, regexp.MustCompile(`discount|rabatt|remise`)},
	{colUnit, regexp.MustCompile(`\bunit\b|\bunite\b|\beinheit\b|\buom\b|\bme\b|\bu\.\b`)},
	{colDesc, regexp.MustCompile(`description|designation|libelle|bezeichnung|beschreibung|artikel(?:bezeichnung)?|leistung(?:sbeschreibung)?|\bprodukt\b|\bproduct\b|\bitems?\b|\barticle\b|\bservices?\b|\bdetails\b|particulars|\bproduit\b|\bprestations?\b|omschrijving|\btext\b`)},
	{colPos, regexp.MustCompile(`\bpos\.?(?:ition)?\b|(?:^|\s)#(?:\s|$)|\bn[°o]\.?(?:\s|$)|\bnr\.?(?:\s|$)|\bno\.?(?:\s|$)|\blfd\.?|\bref\.?\b|\bsku\b|\bcode\b|art\.?\s*-?\s*nr`)},
}

// headerOf reads l as an item table header: at least a description and
// an amount or price column, and no amounts.
func (d *ruleDoc) headerOf(l *textLine) (itemTable, bool) {
	// a header names an amount or a price: a cheap test first
	if !containsAny(l.fold, amountOrPriceWords) {
		return itemTable{}, false
	}
	if len(d.amountsIn(l.text)) > 0 {
		for _, m := range d.amountsIn(l.text) {
			if m.decimals > 0 || !m.pct {
				return itemTable{}, false
			}
		}
	}
	var cols []itemColumn
	used := make([]bool, len(l.runes)+1)
	for _, p := range headerPatterns {
		for _, m := range p.re.FindAllStringIndex(l.fold, -1) {
			s, e := l.foldCol(m[0]), l.foldCol(m[1])
			for s < e && l.runes[s] == ' ' {
				s++
			}
			for e > s && l.runes[e-1] == ' ' {
				e--
			}
			free := true
			for i := s; i < e; i++ {
				if used[i] {
					free = false
				}
			}
			if !free || s >= e {
				continue
			}
			for i := s; i < e; i++ {
				used[i] = true
			}
			cols = append(cols, itemColumn{kind: p.kind, s: s, e: e})
		}
	}
	sort.Slice(cols, func(i, j int) bool { return cols[i].s < cols[j].s })
	has := map[colKind]int{}
	for _, c := range cols {
		has[c.kind]++
	}
	if has[colDesc] == 0 || has[colAmount]+has[colPrice] == 0 || has[colQty]+has[colPrice]+has[colAmount] < 2 && has[colQty]+has[colAmount] < 1 {
		return itemTable{}, false
	}
	// "Amount" alone with a description is a table; a lone "Total" is not
	if has[colQty]+has[colPrice]+has[colAmount] < 2 {
		return itemTable{}, false
	}
	// the labels must be most of the line: a sentence is not a header
	covered := 0
	for _, u := range used {
		if u {
			covered++
		}
	}
	words := len(strings.Fields(l.text))
	if words > 3*len(cols)+2 {
		return itemTable{}, false
	}
	// one description column: the most specific label ("Description"
	// before "Details"), the first of equals
	descAt, bestRank := -1, 1<<30
	for i, c := range cols {
		if c.kind == colDesc {
			if r := descRank(l.foldSub(c.s, c.e)); r < bestRank {
				descAt, bestRank = i, r
			}
		}
	}
	var out []itemColumn
	for i, c := range cols {
		if c.kind == colDesc && i != descAt {
			continue
		}
		out = append(out, c)
	}
	t := itemTable{header: l, cols: out, left: out[0].s}
	return t, true
}

// descRank orders description column labels: specific words first.
func descRank(label string) int {
	for i, w := range []string{"descr", "design", "bezeich", "beschreib", "libelle", "omschrijving", "artikel", "leistung", "product", "produ", "article", "item", "service", "prestation", "particulars", "text", "details"} {
		if strings.HasPrefix(label, w) {
			return i
		}
	}
	return 100
}

// amountOrPriceWords are in every amount or price column label.
var amountOrPriceWords = []string{"price", "prix", "preis", "amount", "total", "betrag", "montant", "summe", "gesamt", "bedrag", "totaal", "rate", "tarif", "prijs"}

func containsAny(s string, words []string) bool {
	for _, w := range words {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

func (d *ruleDoc) findTables() []itemTable {
	var ts []itemTable
	d.headers = map[*textLine]itemTable{}
	for _, l := range d.lines {
		if t, ok := d.headerOf(l); ok {
			ts = append(ts, t)
			d.tableLines[l] = true
			d.headers[l] = t
		}
	}
	return ts
}

func (t itemTable) col(k colKind) (itemColumn, bool) {
	for _, c := range t.cols {
		if c.kind == k {
			return c, true
		}
	}
	return itemColumn{}, false
}

// numCell is a cell read as a number (a quantity with a unit, an amount
// with a currency, a percentage).
type numCell struct {
	textCell
	v   decimal.Decimal
	raw string
	pct bool
	dec int
}

var unitSuffixRe = regexp.MustCompile(`^(.*?\d)\s*(?:x|×|stk\.?|stuck|st\.?|pcs?\.?|pieces?|pc|h|hrs?|hours?|std\.?|tage?|days?|m|m2|m²|kg|l|pce|pces|u\.?|unite?s?|ea|each|lfm|psch\.?|pauschal|mois|months?|monat(?:e)?|jours?|j)$`)

// numberCell reads a cell as one number, or false.
func (d *ruleDoc) numberCell(c textCell) (numCell, bool) {
	text := strings.TrimSpace(c.text)
	if m := unitSuffixRe.FindStringSubmatch(foldText(text)); m != nil && len(m[1]) <= len(text) {
		text = strings.TrimSpace(text[:len(m[1])])
	}
	ms := d.amountsIn(text)
	if len(ms) != 1 {
		return numCell{}, false
	}
	m := ms[0]
	rest := strings.TrimSpace(text[:m.start] + text[m.end:])
	if m.pct {
		rest = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(text[m.end:]), "%"))
		rest = strings.TrimSpace(text[:m.start] + rest)
	}
	if rest != "" {
		return numCell{}, false
	}
	return numCell{textCell: c, v: m.value, raw: text[m.start:m.end], pct: m.pct, dec: m.decimals}, true
}

type rowRead struct {
	l      *textLine
	desc   string
	descS  int // rune column where the description starts
	descE  int
	vals   map[colKind]numCell
	lastE  int
	firstS int
}

// readRow reads l as a row of t.
func (d *ruleDoc) readRow(t itemTable, l *textLine) (rowRead, bool) {
	r := rowRead{l: l, vals: map[colKind]numCell{}}
	var cells []textCell
	for _, c := range l.cells {
		if c.end <= t.left-2 {
			continue // beside the table (a sidebar)
		}
		cells = append(cells, c)
	}
	if len(cells) == 0 {
		return r, false
	}
	descCol, hasDesc := t.col(colDesc)
	posCol, hasPos := t.col(colPos)
	// numeric columns left of the description ("Qty  Description  Price")
	// and right of it
	var leftCols, rightCols []itemColumn
	for _, c := range t.cols {
		if !c.kind.numeric() {
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
	// a position number: its own cell, or the start of the description's
	first := 0
	if hasPos && (!hasDesc || posCol.s < descCol.s) && posOnlyRe.MatchString(cells[0].text) && len(cells) > 1 &&
		absInt(cells[0].start-posCol.s) <= absInt(cells[0].start-descCol.s) {
		first = 1
	}
	// leading numbers for the columns left of the description
	var leadNums []numCell
	for first < len(cells) && len(leadNums) < len(leftCols) {
		c := cells[first]
		if nc, ok := d.numberCell(c); ok {
			leadNums = append(leadNums, nc)
			first++
			continue
		}
		// "2 Widget": the quantity run into the description's cell
		if m := posNumRe.FindString(c.text); m != "" && hasDesc && c.start < descCol.s-1 {
			if nc, ok := d.numberCell(textCell{start: c.start, end: c.start + utf8.RuneCountInString(strings.TrimSpace(m)), text: strings.TrimSpace(m)}); ok {
				leadNums = append(leadNums, nc)
				n := utf8.RuneCountInString(m)
				cells[first] = textCell{start: c.start + n, end: c.end, text: c.text[len(m):]}
			}
		}
		break
	}
	// a unit ("Stk") in a unit column left of the description
	if unitCol, ok := t.col(colUnit); ok && hasDesc && unitCol.e <= descCol.s && first < len(cells)-1 {
		c := cells[first]
		if utf8.RuneCountInString(c.text) <= 6 && strings.IndexFunc(c.text, unicode.IsDigit) < 0 &&
			absInt(c.start-unitCol.s) < absInt(c.start-descCol.s) {
			first++
		}
	}
	// trailing numeric cells
	var nums []numCell
	i := len(cells) - 1
	for ; i >= first; i-- {
		nc, ok := d.numberCell(cells[i])
		if !ok {
			// a unit word between numbers ("Stk")
			if t.hasUnit() && len(nums) > 0 && utf8.RuneCountInString(cells[i].text) <= 6 && strings.IndexFunc(cells[i].text, unicode.IsDigit) < 0 && i > first {
				if _, ok := d.numberCell(cells[i-1]); ok {
					continue
				}
			}
			break
		}
		nums = append([]numCell{nc}, nums...)
	}
	descCells := cells[first : i+1]
	if len(nums) > len(rightCols) {
		// extra numbers on the left belong to the description
		extra := len(nums) - len(rightCols)
		for _, n := range nums[:extra] {
			descCells = append(descCells, n.textCell)
		}
		nums = nums[extra:]
	}
	for k, n := range leadNums {
		r.vals[leftCols[k].kind] = n
	}
	if len(nums) > 0 {
		assign := assignColumns(nums, rightCols)
		for k, n := range assign {
			r.vals[rightCols[k].kind] = n
		}
		// a quantity × price that contradicts the amount: try right alignment
		if !rowConsistent(r.vals) {
			alt := map[colKind]numCell{}
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
		text := c.text
		s := c.start
		if j == 0 && first == 0 && hasPos && posCol.s < descCol.s && len(leftCols) == 0 {
			if m := posNumRe.FindString(text); m != "" && c.start < descCol.s+2 {
				s += utf8.RuneCountInString(m)
				text = text[len(m):]
			}
		}
		if strings.TrimSpace(text) == "" {
			continue
		}
		if r.descS < 0 {
			r.descS = s + utf8.RuneCountInString(text) - utf8.RuneCountInString(strings.TrimLeft(text, " "))
		}
		r.descE = c.end
		parts = append(parts, strings.TrimSpace(text))
	}
	r.desc = strings.Join(parts, " ")
	var all []numCell
	all = append(all, leadNums...)
	all = append(all, nums...)
	if len(all) == 0 {
		return r, false
	}
	r.firstS, r.lastE = all[0].start, all[len(all)-1].end
	if r.descS >= 0 {
		r.firstS = min(r.firstS, r.descS)
		r.lastE = max(r.lastE, r.descE)
	}
	amount, okA := r.vals[colAmount]
	price, okP := r.vals[colPrice]
	if !okA && !okP {
		return r, false
	}
	// money needs decimals unless the row has several numbers
	if okA && amount.dec == 0 && len(all) < 2 || !okA && price.dec == 0 && len(all) < 2 {
		return r, false
	}
	if amount.pct || price.pct {
		return r, false
	}
	return r, true
}

func (t itemTable) hasUnit() bool { _, ok := t.col(colUnit); return ok }

// rowConsistent: quantity × unit price is the amount (within rounding),
// or the row lacks one of them.
func rowConsistent(v map[colKind]numCell) bool {
	q, okQ := v[colQty]
	p, okP := v[colPrice]
	a, okA := v[colAmount]
	if !okQ || !okP || !okA {
		return true
	}
	diff := q.v.Mul(p.v).Sub(a.v).Abs()
	tol := decimal.New(2, -2).Add(a.v.Abs().Mul(decimal.New(5, -3)))
	return diff.LessThanOrEqual(tol)
}

// assignColumns maps numeric cells to numeric columns, keeping their
// order, so that the cells' positions match the columns' best.
func assignColumns(nums []numCell, cols []itemColumn) map[int]numCell {
	n, m := len(nums), len(cols)
	// dp[i][j]: best cost placing nums[:i] into cols[:j]
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
		// distance between the spans (0 when they overlap) plus a little
		// for the distance of the right edges (numbers are right-aligned)
		gap := math.Max(0, float64(max(col.s-c.end, c.start-col.e)))
		return gap + 0.1*math.Abs(float64(c.end-col.e))
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

var qtyTimesRe = regexp.MustCompile(`^\s*(\d+(?:[.,]\d+)?)\s*(?:x|×|\*)\s+(\S.*?)\s{2,}(\S.*?)\s*$`)

// readItems reads the rows of every table, continuing over page breaks,
// or, without a table header, receipt lines "3 x 12,00   36,00".
func (d *ruleDoc) readItems(tables []itemTable) []pipeline.Item {
	var rows []rowRead
	extra := map[int][]*textLine{} // description lines of a row, by index
	var pending []*textLine
	if len(tables) > 0 {
		cur := tables[0]
		started := false
		last := -1 // the row before the pending lines
		// prev is the line pending lines must follow closely
		prev := func() *textLine {
			if len(pending) > 0 {
				return pending[len(pending)-1]
			}
			if last >= 0 {
				return rows[last].l
			}
			return nil
		}
		for _, l := range d.lines {
			if !started {
				if l == cur.header {
					started = true
				}
				continue
			}
			if t, ok := d.headers[l]; ok {
				cur = t
				last = -1
				pending = nil
				continue
			}
			if strings.Trim(l.text, " -=_—.*") == "" {
				continue
			}
			r, ok := d.readRow(cur, l)
			if ok && len(r.vals) <= 1 && summaryLine(l) {
				ok = false // "Subtotal   123.45": the table ends
			}
			if !ok {
				if summaryLine(l) {
					// the table ends: lines pending since the last row
					// continue its description; a later header may start
					// another table
					if last >= 0 && len(pending) > 0 {
						extra[last] = append(extra[last], pending...)
					}
					started = false
					for _, t := range tables {
						if t.header.page > l.page || t.header.page == l.page && t.header.idx > l.idx {
							cur = t
							break
						}
					}
					last = -1
					pending = nil
					continue
				}
				// a description line: below its row (continuation) or
				// above a row without a description
				if d.descLine(cur, l, prev()) {
					pending = append(pending, l)
				} else {
					pending = nil
					if last >= 0 && l.page == rows[last].l.page {
						last = -1
					}
				}
				continue
			}
			d.tableLines[l] = true
			rows = append(rows, r)
			if r.desc == "" && len(pending) > 0 {
				extra[len(rows)-1] = pending
			} else if last >= 0 && len(pending) > 0 {
				extra[last] = append(extra[last], pending...)
			}
			last = len(rows) - 1
			for _, p := range pending {
				d.tableLines[p] = true
			}
			pending = nil
		}
	}
	if len(rows) == 0 {
		return d.receiptItems()
	}
	var items []pipeline.Item
	for i := range rows {
		items = append(items, d.itemOf(&rows[i], extra[i]))
	}
	return items
}

// descLine reports that l is text in the description column only, right below prev
// on the same page.
func (d *ruleDoc) descLine(t itemTable, l *textLine, prev *textLine) bool {
	descCol, ok := t.col(colDesc)
	if !ok || len(l.cells) == 0 {
		return false
	}
	if prev != nil && (prev.page != l.page || l.box.Y0-prev.box.Y1 > 1.2*d.medH) {
		return false
	}
	firstNum := len(l.runes) + 1000
	for _, c := range t.cols {
		if c.kind.numeric() && c.s > descCol.s && c.s < firstNum {
			firstNum = c.s
		}
	}
	var cells []textCell
	for _, c := range l.cells {
		if c.end > t.left-2 {
			cells = append(cells, c)
		}
	}
	if len(cells) == 0 || len(cells) > 2 {
		return false
	}
	for _, c := range cells {
		if c.start < descCol.s-6 || c.start >= firstNum-1 {
			return false
		}
		if _, ok := d.numberCell(c); ok {
			return false
		}
	}
	return true
}

func (d *ruleDoc) itemOf(r *rowRead, more []*textLine) pipeline.Item {
	l := r.l
	it := pipeline.Item{Fields: map[string]pipeline.Field{}}
	rowQuote := strings.TrimSpace(l.sub(r.firstS, r.lastE))
	it.Evidence = pipeline.Evidence{Page: l.page, Quote: rowQuote}
	ev := func(q string) pipeline.Evidence { return pipeline.Evidence{Page: l.page, Quote: q} }
	desc := r.desc
	descEv := ev(strings.TrimSpace(l.sub(r.descS, r.descE)))
	if len(more) > 0 {
		// description lines above (row without description) or below
		above := more[0].page == l.page && more[0].idx < l.idx
		var parts []string
		if above {
			for _, m := range more {
				parts = append(parts, collapseSpace(m.text))
			}
			if desc != "" {
				parts = append(parts, desc)
			}
			desc = strings.Join(parts, " ")
			descEv = ev(spanQuote(append(append([]*textLine{}, more...), l), r.lastE))
			it.Evidence = descEv
		} else if more[0].page == l.page {
			parts = append(parts, desc)
			for _, m := range more {
				if m.page == l.page {
					parts = append(parts, collapseSpace(m.text))
				}
			}
			desc = strings.Join(parts, " ")
			var ls []*textLine
			ls = append(ls, l)
			for _, m := range more {
				if m.page == l.page {
					ls = append(ls, m)
				}
			}
			descEv = ev(spanQuoteFrom(ls, r.descS))
		}
	}
	if desc != "" {
		it.Fields["description"] = pipeline.Field{Raw: desc, Evidence: descEv}
	}
	put := func(name string, k colKind, money bool) {
		n, ok := r.vals[k]
		if !ok {
			return
		}
		raw := n.raw
		if money {
			raw = d.moneyRaw(n.raw, n.v)
		} else if v, _, err := parseAmount(n.raw); err != nil || !v.Equal(n.v) {
			raw = formatDecimal(n.v)
		}
		// the row is the evidence: a lone "3" would tie the value to nothing
		it.Fields[name] = pipeline.Field{Raw: raw}
	}
	put("quantity", colQty, false)
	put("unit_price", colPrice, true)
	put("amount", colAmount, true)
	return it
}

// spanQuote is the verbatim text of consecutive lines from the first
// line's first character to column end on the last line.
func spanQuote(ls []*textLine, end int) string {
	var b strings.Builder
	for i, l := range ls {
		if i > 0 {
			b.WriteByte('\n')
		}
		switch {
		case i == 0 && i == len(ls)-1:
			b.WriteString(strings.TrimSpace(l.sub(0, end)))
		case i == 0:
			b.WriteString(strings.TrimLeft(l.text, " "))
		case i == len(ls)-1:
			b.WriteString(strings.TrimRight(l.sub(0, end), " "))
		default:
			b.WriteString(l.text)
		}
	}
	return b.String()
}

// spanQuoteFrom is the verbatim text of consecutive lines from column
// start on the first line to the end of the last.
func spanQuoteFrom(ls []*textLine, start int) string {
	var b strings.Builder
	for i, l := range ls {
		if i > 0 {
			b.WriteByte('\n')
		}
		switch {
		case i == 0:
			b.WriteString(strings.TrimSpace(l.sub(start, len(l.runes))))
		case i == len(ls)-1:
			b.WriteString(strings.TrimRight(l.text, " "))
		default:
			b.WriteString(l.text)
		}
	}
	return b.String()
}

// receiptItems reads "3 x 12,00    36,00" lines, the description being
// the line above.
func (d *ruleDoc) receiptItems() []pipeline.Item {
	var items []pipeline.Item
	for _, lines := range d.pages {
		for k, l := range lines {
			m := qtyTimesRe.FindStringSubmatchIndex(l.text)
			if m == nil {
				continue
			}
			qtyS := l.text[m[2]:m[3]]
			priceS, amountS := l.text[m[4]:m[5]], l.text[m[6]:m[7]]
			q, errQ := d.num(qtyS)
			pa := d.amountsIn(priceS)
			aa := d.amountsIn(amountS)
			if errQ != nil || len(pa) != 1 || len(aa) != 1 {
				continue
			}
			r := &rowRead{l: l, vals: map[colKind]numCell{
				colQty:    {v: q, raw: qtyS, textCell: textCell{text: qtyS}},
				colPrice:  {v: pa[0].value, raw: priceS[pa[0].start:pa[0].end], textCell: textCell{text: priceS}},
				colAmount: {v: aa[0].value, raw: amountS[aa[0].start:aa[0].end], textCell: textCell{text: amountS}},
			}}
			if !rowConsistent(r.vals) {
				continue
			}
			r.firstS = utf8.RuneCountInString(l.text[:m[2]])
			r.lastE = utf8.RuneCountInString(l.text[:m[7]])
			var more []*textLine
			if k > 0 && nameLikeDesc(lines[k-1].text) && !qtyTimesRe.MatchString(lines[k-1].text) {
				more = []*textLine{lines[k-1]}
				d.tableLines[lines[k-1]] = true
			}
			d.tableLines[l] = true
			r.descS, r.descE = -1, -1
			items = append(items, d.itemOf(r, more))
		}
	}
	return items
}

// nameLikeDesc reports a line that can describe an item (text, not a label or amount line).
func nameLikeDesc(s string) bool {
	s = strings.TrimSpace(s)
	if s == "" || strings.HasSuffix(s, ":") || len(splitCells([]rune(s))) > 1 {
		return false
	}
	return strings.IndexFunc(s, unicode.IsLetter) >= 0
}
