package extract

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/shopspring/decimal"
	"golang.org/x/text/unicode/norm"

	"github.com/extractor-dev/extractor/pipeline"
)

// Grounding is the verdict on one value's evidence.
type Grounding struct {
	// OK: the quote is on the document and contains the value.
	OK bool
	// Page is where the quote was found: the cited page, or another page
	// when the quote is not on the cited one but is elsewhere (the caller
	// then corrects the evidence and raises a warning).
	Page int
	// Reason explains a failed grounding.
	Reason string
}

// Ground checks a value against the document: the quote must be on the
// cited page (compared without regard to case, runs of whitespace, line
// breaks or typographic variants of quotes and dashes) and must contain
// the value in some printed form of its type: "1.234,56" or "1,234.56"
// for 1234.56, a date in any common format, an IBAN or VAT id with or
// without spaces, a string case-insensitively (a string may also be
// printed in pieces on successive lines of the quote, as a table cell
// that wraps). value is the normalized value, or the raw one when it did
// not normalize.
//
// Whitespace is ignored altogether when the quote is looked for, so a
// quote that joins two table cells or two lines with one space, or with
// none, is still found. A quote that is not on the cited page but on
// another is OK with that Page. Only the cited page is folded unless the
// quote is not there, so grounding every field of a long document stays
// linear in the document's size.
func Ground(doc pipeline.Document, spec pipeline.FieldSpec, value string, ev pipeline.Evidence) Grounding {
	return newPageTexts(doc).ground(spec, value, ev)
}

// pageTexts folds a document's pages for grounding, each once however
// many values are grounded on it (Finalize grounds every field and line
// item cell).
type pageTexts struct {
	doc    pipeline.Document
	folded []*string
}

func newPageTexts(doc pipeline.Document) *pageTexts {
	return &pageTexts{doc: doc, folded: make([]*string, len(doc.Pages))}
}

// page is page i (0-based) folded by foldPage.
func (t *pageTexts) page(i int) string {
	if t.folded[i] == nil {
		f := foldPage(t.doc.Pages[i])
		t.folded[i] = &f
	}
	return *t.folded[i]
}

func (t *pageTexts) ground(spec pipeline.FieldSpec, value string, ev pipeline.Evidence) Grounding {
	doc := t.doc
	q := foldForMatch(ev.Quote)
	switch {
	case q == "":
		return Grounding{Reason: "empty quote"}
	case ev.Page == 0:
		return Grounding{Reason: "no page cited"}
	case ev.Page < 0 || ev.Page > len(doc.Pages):
		return Grounding{Reason: fmt.Sprintf("page %d is out of range (the document has %d pages)", ev.Page, len(doc.Pages))}
	case strings.TrimSpace(value) == "":
		return Grounding{Reason: "no value to ground"}
	}
	page := 0
	if strings.Contains(t.page(ev.Page-1), q) {
		page = ev.Page
	} else {
		for i := range doc.Pages {
			if i != ev.Page-1 && strings.Contains(t.page(i), q) {
				page = i + 1
				break
			}
		}
	}
	if page == 0 {
		return Grounding{Reason: fmt.Sprintf("quote not found on page %d (nor elsewhere)", ev.Page)}
	}
	if !quoteHasValue(spec.Type, value, ev.Quote) {
		return Grounding{Page: page, Reason: fmt.Sprintf("quote does not contain %s", value)}
	}
	return Grounding{OK: true, Page: page}
}

// foldForMatch folds s for comparing quotes with pages: compatibility
// forms (ligatures, full-width and no-break characters) are expanded by
// NFKC, typographic quotes and dashes become ASCII, case is folded, and
// whitespace, soft hyphens and zero-width characters are dropped.
func foldForMatch(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	appendFolded(&b, s)
	return b.String()
}

func appendFolded(b *strings.Builder, s string) {
	if !isASCII(s) {
		s = norm.NFKC.String(s)
	}
	for _, r := range s {
		switch {
		case r < utf8RuneSelf:
			if r == ' ' || r == '\n' || r == '\t' || r == '\r' || r == '\f' || r == '\v' {
				continue
			}
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
			b.WriteByte(byte(foldRune(r)))
		case unicode.IsSpace(r), r == '\u00ad', r == '\u200b', r == '\u200c', r == '\u200d', r == '\u2060', r == '\ufeff':
		default:
			b.WriteRune(foldRune(unicode.ToLower(r)))
		}
	}
}

const utf8RuneSelf = 0x80

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8RuneSelf {
			return false
		}
	}
	return true
}

// foldPage folds a page's lines as foldForMatch folds a quote (line
// breaks are whitespace and vanish).
func foldPage(p pipeline.Page) string {
	n := 0
	for _, l := range p.Lines {
		n += len(l.Text)
	}
	var b strings.Builder
	b.Grow(n)
	for _, l := range p.Lines {
		appendFolded(&b, l.Text)
	}
	return b.String()
}

// quoteHasValue reports whether quote prints value in a form of its type.
// A value that does not read as its type (a raw value that failed to
// normalize) is looked for as text.
func quoteHasValue(t pipeline.FieldType, value, quote string) bool {
	switch t {
	case pipeline.TypeMoney, pipeline.TypeDecimal, pipeline.TypeInteger:
		if v, _, err := parseAmount(value); err == nil {
			// Cheap first: a number's whole part is printed as its
			// digits, whatever separates its groups ("1.589,80").
			if whole := v.Abs().Truncate(0).String(); whole != "0" && !strings.Contains(digitsOf(quote), whole) {
				return false
			}
			return quoteHasNumber(quote, v)
		}
	case pipeline.TypeDate:
		if d, err := parseDate(value, dayFirst); err == nil {
			// Cheap first: every printed form of a date has its day in
			// digits ("8", "08").
			if !strings.Contains(digitsOf(quote), strconv.Itoa(d.d)) {
				return false
			}
			for _, f := range datesIn(quote, dayFirst) {
				if f.date == d || f.alt != nil && *f.alt == d {
					return true
				}
			}
			return false
		}
	case pipeline.TypeIBAN, pipeline.TypeVATID:
		v := alnumUpper(value)
		return v != "" && strings.Contains(alnumUpper(quote), v)
	case pipeline.TypeCurrency:
		if code, err := parseCurrency(value); err == nil {
			return quoteHasCurrency(quote, code)
		}
	}
	v := foldForMatch(value)
	if v == "" {
		return false
	}
	if strings.Contains(foldForMatch(quote), v) {
		return true
	}
	return inLinePieces(v, quote)
}

// digitsOf is s's ASCII digits, in order.
func digitsOf(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= '0' && c <= '9' {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// inLinePieces reports whether the folded value v is printed in pieces
// on successive lines of the quote: a table cell wrapped over two lines
// has the next columns between its pieces in reading order (the lines
// "Widget   2   9.00" and "with case" hold "Widget with case"). Each
// piece is a run of whole cells of one line (cells are separated by two
// or more spaces); lines may be skipped.
func inLinePieces(v, quote string) bool {
	lines := strings.Split(quote, "\n")
	if len(lines) < 2 {
		return false
	}
	for _, l := range lines {
		if v == "" {
			break
		}
		var cells []string
		for _, c := range cellSplitRe.Split(strings.TrimSpace(l), -1) {
			if f := foldForMatch(c); f != "" {
				cells = append(cells, f)
			}
		}
		n := 0 // the longest start of v that a run of cells prints
		for i := range cells {
			acc := ""
			for _, c := range cells[i:] {
				acc += c
				if !strings.HasPrefix(v, acc) {
					break
				}
				n = max(n, len(acc))
			}
		}
		v = v[n:]
	}
	return v == ""
}

var cellSplitRe = regexp.MustCompile(`\s{2,}`)

// alnumUpper keeps the letters and digits of s, upper-cased.
func alnumUpper(s string) string {
	var b strings.Builder
	for _, r := range norm.NFKC.String(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToUpper(r))
		}
	}
	return b.String()
}

// quoteHasCurrency reports whether the quote prints the ISO code as a
// word or a symbol or word that maps to it.
func quoteHasCurrency(quote, code string) bool {
	for _, t := range currencyTokenRe.FindAllString(quote, -1) {
		if c, ok := currencyCode(t); ok && c == code {
			return true
		}
	}
	return false
}

// numbersIn returns every number the text may print, in every reading:
// "1.234" gives 1234 and 1.234, "1 234,56" gives 1234.56 (and 1 and
// 234.56). Signs are not read; callers compare absolute values.
func numbersIn(text string) []decimal.Decimal {
	s := normalizeSpaces(text)
	locs := NumberRuns(s) // runs split by one space are joined again below
	var out []decimal.Decimal
	add := func(str string) {
		str = strings.TrimRight(str, ".,'’")
		for _, dec := range []byte{0, '.', ','} {
			if d, err := numberWithDecimal(str, dec); err == nil {
				out = append(out, d)
			}
		}
	}
	for i, loc := range locs {
		add(s[loc[0]:loc[1]])
		// "1 234 567,89": later runs of three digits after one space.
		joined := s[loc[0]:loc[1]]
		for j := i + 1; j < len(locs) && j < i+5; j++ {
			gap := s[locs[j-1][1]:locs[j][0]]
			next := s[locs[j][0]:locs[j][1]]
			if gap != " " || len(next) < 3 || !allDigits(next[:3]) || len(next) > 3 && next[3] >= '0' && next[3] <= '9' {
				break
			}
			joined += " " + next
			add(joined)
		}
	}
	return out
}

// quoteHasNumber reports whether the quote prints v or -v.
func quoteHasNumber(quote string, v decimal.Decimal) bool {
	a := v.Abs()
	for _, d := range numbersIn(quote) {
		if d.Equal(a) {
			return true
		}
	}
	return false
}
