package rules

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/extractor-dev/extractor/extract"
)

// Amount is a number printed in a text that can be an amount: where it is
// (its sign and currency included), its value, currency and whether it is
// a percentage.
type Amount struct {
	// Start and End are byte offsets in the text amountsIn read; on a
	// Line's Amounts they are rune columns.
	Start, End int
	Value      decimal.Decimal
	Currency   string
	Percent    bool
	// Decimals counts the digits after the decimal separator.
	Decimals int
	// Bare: digits only, no separator, sign or currency (could be an id).
	Bare bool
	// Raw is the printed amount.
	Raw string
}

var (
	curBeforeRe = regexp.MustCompile(`(?:([€$£¥₹])|\b([A-Z]{3})|\b(Fr\.|Rs\.?|SFr\.?|US\$))\s?[-−(]?\s?$`)
	curAfterRe  = regexp.MustCompile(`^\s?(?:([€$£¥₹])|([A-Z]{3})\b|(Fr\.|Rs\.?|SFr\.?)|(%))`)
	decimalRun  = regexp.MustCompile(`^\d{1,3}(?:[.,' ]\d{3})*([.,])\d{2}$|^\d+([.,])\d{2}$`)
)

func isDigitByte(c byte) bool { return c >= '0' && c <= '9' }

// currencyBefore is curBeforeRe.FindStringSubmatchIndex(before), looking
// only at before's end: a match ends there and is at most 9 bytes long, so
// the last 16 bytes hold it. A match at the window's first byte is checked
// again on the whole text (its \b may depend on the byte before).
func currencyBefore(before string) []int {
	off := max(0, len(before)-16)
	for off > 0 && !utf8.RuneStart(before[off]) {
		off--
	}
	cm := curBeforeRe.FindStringSubmatchIndex(before[off:])
	if off == 0 || cm == nil {
		return cm
	}
	if cm[0] == 0 {
		return curBeforeRe.FindStringSubmatchIndex(before)
	}
	for i := range cm {
		if cm[i] >= 0 {
			cm[i] += off
		}
	}
	return cm
}

func isAlnumByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigitByte(s[i]) {
			return false
		}
	}
	return s != ""
}

// num reads a number printed in the document's convention: its decimal
// separator decides "1.234" and "1,234".
func (lay *Layout) num(s string) (decimal.Decimal, error) {
	s = strings.TrimSpace(s)
	other := byte(',')
	if lay.Dec == ',' {
		other = '.'
	}
	if strings.IndexByte(s, lay.Dec) > strings.LastIndexByte(s, other) {
		if v, err := extract.ParseNumber(s, lay.Dec); err == nil {
			return v, nil
		}
	} else if !strings.ContainsAny(s, ".,") || strings.IndexByte(s, lay.Dec) < 0 {
		if v, err := extract.ParseInteger(s); err == nil {
			return v, nil
		}
	}
	return extract.ParseNumber(s, 0)
}

// amountsIn finds the numbers printed in s that can be amounts, with their
// currency and sign; offsets are bytes.
func (lay *Layout) amountsIn(s string) []Amount {
	locs := extract.NumberRuns(s)
	var out []Amount
	for i := 0; i < len(locs); i++ {
		a, b := locs[i][0], locs[i][1]
		for b > a && strings.ContainsRune(".,'’", rune(s[b-1])) {
			b--
		}
		// join "1 234 567,89"
		for i+1 < len(locs) {
			gap := s[b:locs[i+1][0]]
			next := strings.TrimRight(s[locs[i+1][0]:locs[i+1][1]], ".,'’")
			if (gap != " " && gap != "\u00a0" && gap != "\u202f") || len(next) < 3 || !allDigits(next[:3]) || len(next) > 3 && isDigitByte(next[3]) {
				break
			}
			if strings.IndexByte(s[a:b], lay.Dec) >= 0 {
				break // already has decimals
			}
			if len(s[a:b]) > 3 && !strings.ContainsAny(s[a:b], ".,'’ ") {
				break // "12345 678": two numbers
			}
			cand := strings.ReplaceAll(strings.ReplaceAll(s[a:locs[i+1][0]]+next, "\u202f", " "), "\u00a0", " ")
			if _, err := lay.num(cand); err != nil {
				break
			}
			b = locs[i+1][0] + len(next)
			i++
		}
		// numbers inside words, ids, dates and times are not amounts
		if a > 0 {
			r, _ := utf8.DecodeLastRuneInString(s[:a])
			if unicode.IsLetter(r) && !strings.HasSuffix(s[:a], "Rs") && !strings.HasSuffix(s[:a], "EUR") && !strings.HasSuffix(s[:a], "USD") ||
				r == '/' || r == ':' && a > 1 && isDigitByte(s[a-2]) || r == '_' || r == '#' ||
				(r == '-' || r == '.') && a > 1 && isAlnumByte(s[a-2]) {
				continue
			}
		}
		if b < len(s) {
			r, _ := utf8.DecodeRuneInString(s[b:])
			if (unicode.IsLetter(r) && !strings.HasPrefix(s[b:], "EUR") && !strings.HasPrefix(s[b:], "USD")) || r == '/' || r == ':' && b+1 < len(s) && isDigitByte(s[b+1]) ||
				r == '_' || (r == '.' || r == ',' || r == '-') && b+1 < len(s) && isAlnumByte(s[b+1]) {
				continue
			}
		}
		numStr := s[a:b]
		v, err := lay.num(strings.ReplaceAll(strings.ReplaceAll(numStr, "\u202f", " "), "\u00a0", " "))
		if err != nil {
			continue
		}
		m := Amount{Start: a, End: b, Value: v, Bare: allDigits(numStr)}
		if k := strings.LastIndexAny(numStr, ".,"); k >= 0 && (lay.Dec == numStr[k] || strings.Count(numStr, string(numStr[k])) == 1 && len(numStr)-k-1 != 3) {
			m.Decimals = len(numStr) - k - 1
		}
		before := s[:a]
		if cm := currencyBefore(before); cm != nil {
			tok := ""
			for g := 2; g < len(cm); g += 2 {
				if cm[g] >= 0 {
					tok = before[cm[g]:cm[g+1]]
				}
			}
			if c, ok := extract.CurrencyCode(tok); ok {
				m.Currency = c
				m.Start = cm[0]
				m.Bare = false
			}
		}
		pre := strings.TrimRight(s[:m.Start], " ")
		if m.Start == a {
			pre = s[:a]
		}
		neg := strings.HasSuffix(s[:a], "-") || strings.HasSuffix(s[:a], "−") || strings.HasSuffix(s[:a], "- ") && a > 2 && !isAlnumByte(s[a-3])
		if strings.HasSuffix(pre, "(") && strings.HasPrefix(strings.TrimLeft(s[b:], " €$£"), ")") {
			neg = true
		}
		if strings.HasPrefix(s[m.Start:], "-") || strings.HasPrefix(s[m.Start:], "−") {
			neg = true
		}
		if m.Start < a && (strings.HasSuffix(s[:m.Start], "-") || strings.HasSuffix(s[:m.Start], "−")) {
			neg = true // "-$3.00"
			_, size := utf8.DecodeLastRuneInString(s[:m.Start])
			m.Start -= size
		}
		after := s[b:]
		if cm := curAfterRe.FindStringSubmatchIndex(after); cm != nil {
			if cm[8] >= 0 {
				m.Percent = true
			} else {
				tok := ""
				for g := 2; g < 8; g += 2 {
					if cm[g] >= 0 {
						tok = after[cm[g]:cm[g+1]]
					}
				}
				if c, ok := extract.CurrencyCode(tok); ok && (m.Currency == "" || m.Currency == c) {
					m.Currency = c
					m.End = b + cm[1]
					m.Bare = false
				}
			}
		}
		if strings.HasPrefix(s[m.End:], "-") && (m.End+1 >= len(s) || !isAlnumByte(s[m.End+1])) {
			neg = true
			m.End++
		}
		if neg {
			m.Value = m.Value.Neg()
			m.Bare = false
			for m.Start > 0 && strings.ContainsRune("-−( ", rune(s[m.Start-1])) && m.Start > a-3 {
				m.Start--
			}
			m.Start = strings.IndexFunc(s[m.Start:], func(r rune) bool { return r != ' ' }) + m.Start
		}
		m.Raw = strings.TrimSpace(s[m.Start:m.End])
		out = append(out, m)
	}
	return out
}

// Amounts returns the amounts printed on l, with rune columns.
func (lay *Layout) Amounts(l *Line) []Amount {
	if l.amountsDone {
		return l.amounts
	}
	l.amountsDone = true
	for _, m := range lay.amountsIn(l.Text) {
		m.Start = utf8.RuneCountInString(l.Text[:m.Start])
		m.End = utf8.RuneCountInString(l.Text[:m.End])
		l.amounts = append(l.amounts, m)
	}
	return l.amounts
}

// moneyLike reports whether an amount reads as money: with cents or a
// currency, not a percentage ("63" may be a phone number's).
func moneyLike(m Amount) bool {
	return !m.Percent && (m.Decimals == 2 || m.Decimals == 3 && m.Currency != "" || m.Currency != "" && m.Decimals == 0)
}

// decimalSeparator is the separator most amounts with two decimals use.
func (lay *Layout) decimalSeparator() byte {
	dots, commas := 0, 0
	for _, l := range lay.Lines {
		for _, loc := range extract.NumberRuns(l.Text) {
			s := strings.TrimRight(l.Text[loc[0]:loc[1]], ".,'’")
			if m := decimalRun.FindStringSubmatch(s); m != nil {
				if m[1]+m[2] == "," {
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

// monthFirst decides how to read numeric dates like 03/05/2024: a date of
// the document with a part above 12 decides; without one, a document that
// prints "$" and neither "€" nor "£" is read month first (US), any other
// day first.
func (lay *Layout) monthFirst() bool {
	dmy, mdy := 0, 0
	dollar, other := false, false
	for _, l := range lay.Lines {
		f := string(l.Fold)
		for _, m := range extract.NumDates(f) {
			if f[m[4]:m[5]] != f[m[8]:m[9]] || f[m[4]:m[5]] == "." {
				continue
			}
			a, b := atoi(f[m[2]:m[3]]), atoi(f[m[6]:m[7]])
			switch {
			case a > 12 && b <= 12:
				dmy++
			case b > 12 && a <= 12:
				mdy++
			}
		}
		dollar = dollar || strings.Contains(l.Text, "$")
		other = other || strings.ContainsAny(l.Text, "€£₹")
	}
	switch {
	case mdy > dmy:
		return true
	case dmy > 0:
		return false
	}
	return dollar && !other
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if !isDigitByte(s[i]) {
			return -1
		}
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// Date is a date printed on a line: rune columns, ISO value, the other
// reading of an ambiguous numeric date.
type Date struct {
	Start, End int
	ISO, Alt   string
	Numeric    bool
}

// Dates returns the dates printed on l with rune columns.
func (lay *Layout) Dates(l *Line) []Date {
	if !l.datesDone {
		l.datesDone = true
		l.dates = lay.datesInText(l.Text)
	}
	return l.dates
}

// datesInText finds dates in text with rune columns of text.
func (lay *Layout) datesInText(text string) []Date {
	if strings.IndexFunc(text, unicode.IsDigit) < 0 {
		return nil
	}
	folded := extract.FoldText(text)
	same := utf8.RuneCountInString(folded) == utf8.RuneCountInString(text)
	var out []Date
	for _, d := range extract.DatesInFolded(folded, lay.MonthFirst) {
		a, b := d.Start, d.End
		if same {
			a, b = utf8.RuneCountInString(folded[:a]), utf8.RuneCountInString(folded[:b])
		} else {
			// folding changed lengths (ligatures): find the folded span
			// in the text's runes by counting runes of the folded prefix
			// of each rune
			a, b = mapFolded(text, a, b)
			if a < 0 {
				continue
			}
		}
		out = append(out, Date{Start: a, End: b, ISO: d.ISO, Alt: d.Alt, Numeric: d.Numeric})
	}
	return out
}

// mapFolded maps byte offsets a, b of extract.FoldText(text) to rune
// columns of text; -1 when they fall inside a folded rune.
func mapFolded(text string, a, b int) (int, int) {
	fo, col := 0, 0
	ra, rb := -1, -1
	for _, r := range text {
		if fo == a {
			ra = col
		}
		if fo == b {
			rb = col
		}
		fo += len(extract.FoldText(string(r)))
		col++
	}
	if fo == b {
		rb = col
	}
	if fo == a {
		ra = col
	}
	if ra < 0 || rb < 0 {
		return -1, -1
	}
	return ra, rb
}

// ---------------------------------------------------------------- ids

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
		n := extract.IBANLength(s[a : a+2])
		if n == 0 {
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
		if b.Len() != n || i < len(s) && isAlnumByte(s[i]) && s[i-1] != ' ' {
			continue
		}
		if v, err := extract.NormalizeIBAN(b.String()); err == nil {
			out = append(out, idSpan{v, a, i})
		}
	}
	return out
}

var gstinFindRe = regexp.MustCompile(`\b\d{2}[A-Z]{5}\d{4}[A-Z][1-9A-Z]Z[0-9A-Z]\b`)

// vatIDsIn finds VAT ids printed in s: a country prefix and the groups
// after it that make a valid id; the longest valid reading wins.
func vatIDsIn(s string) []idSpan {
	var out []idSpan
	for _, a := range prefixStarts(s) {
		if len(out) > 0 && a < out[len(out)-1].b {
			continue
		}
		if !extract.VATPrefix(s[a:a+2]) && !strings.HasPrefix(s[a:], "CHE") {
			continue
		}
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
			if v, err := extract.NormalizeVATID(s[a:e]); err == nil {
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

// idTokenRe reads an identifier at the start of a text.
var idTokenRe = regexp.MustCompile(`^[\s:.#–-]*(#?[\p{L}\d][\p{L}\d/_.#-]*[\p{L}\d])`)

// readID reads an invoice-number-like token at the start of text: it has
// a digit, is not a date or an amount with decimals, and is at most 40
// characters. a, b are byte offsets of the token in text.
func (lay *Layout) readID(text string) (tok string, a, b int, ok bool) {
	m := idTokenRe.FindStringSubmatchIndex(text)
	if m == nil {
		return "", 0, 0, false
	}
	tok = text[m[2]:m[3]]
	if strings.IndexFunc(tok, unicode.IsDigit) < 0 || utf8.RuneCountInString(tok) > 40 {
		return "", 0, 0, false
	}
	if _, err := extract.ParseDate(tok, lay.MonthFirst); err == nil && len(tok) != 8 {
		return "", 0, 0, false
	}
	if ds := lay.datesInText(text[m[2]:]); len(ds) > 0 && ds[0].Start == 0 {
		return "", 0, 0, false
	}
	if v, _, err := extract.ParseAmount(tok); err == nil && strings.ContainsAny(tok, ".,") && !v.IsInteger() {
		return "", 0, 0, false
	}
	return tok, m[2], m[3], true
}
