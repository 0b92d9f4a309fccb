// Package lexicon holds the words invoices print around their values, per
// language: for every concept (a field such as the invoice number or the
// total, a heading such as "Bill to", a table column, or something easily
// confused with them such as an order number or a billing period) the
// strong labels that name it, the weak labels that name it only in
// context, and the labels it must not be confused with, side by side.
//
// It also finds those labels in a line of text (Find), on words folded to
// lower case without accents, so that "Rechnungs-Nr.", "RECHNUNGSNR" and
// "Rechnungs Nr" are the same label. It owns no reading of values: dates,
// amounts and names are the job of the packages that use it (the rules
// extractor, the checks that refuse a label word as a value, the
// synthetic invoice generator that prints its labels).
package lexicon

import (
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Concept is what a label names.
type Concept string

// The concepts of the invoice schema's fields. Their names are the
// fields'.
const (
	InvoiceNumber Concept = "invoice_number"
	IssueDate     Concept = "issue_date"
	DueDate       Concept = "due_date"
	Total         Concept = "total_amount"
	Net           Concept = "net_amount"
	Tax           Concept = "tax_amount"
	VATID         Concept = "vendor_vat_id"
	IBAN          Concept = "iban"
	Currency      Concept = "currency"
)

// Headings over a party's address block, and document titles.
const (
	// Customer heads the buyer's (invoice) address: "Bill to".
	Customer Concept = "customer"
	// ShipTo heads a delivery address: the buyer's too, but not where the
	// invoice goes, and often another name.
	ShipTo Concept = "ship_to"
	// Vendor heads the seller's block or names the payee: "Seller",
	// "Remit to", "Lieferant".
	Vendor Concept = "vendor"
	// Title is the document's kind printed as its title: "Invoice",
	// "Rechnung", "Facture", "Credit note".
	Title Concept = "title"
)

// Concepts that are easily confused with a field's: the labels of other
// numbers, dates and amounts, and words that are labels of nothing we
// read but never a value ("Address", "Details").
const (
	OrderNumber    Concept = "order_number"
	CustomerNumber Concept = "customer_number"
	DeliveryNumber Concept = "delivery_number"
	TaxNumber      Concept = "tax_number" // national tax or company register numbers (Steuernummer, SIRET)
	CustomerVATID  Concept = "customer_vat_id"
	OrderDate      Concept = "order_date"
	DeliveryDate   Concept = "delivery_date"
	Period         Concept = "period"
	Paid           Concept = "paid" // amounts already paid, deposits
	Discount       Concept = "discount"
	Capital        Concept = "capital" // share capital printed in legal lines
	LegalInfo      Concept = "legal"   // other legal small print: registered office, managing director, register court
	Page           Concept = "page"
	Contact        Concept = "contact" // phone, e-mail, web
	BankDetails    Concept = "bank"    // bank name, BIC, account holder
	Generic        Concept = "generic" // headings that are never values: "Address", "Details"
	Salutation     Concept = "salutation"
)

// Table column concepts: the header words of a line-item table.
const (
	ColPosition    Concept = "col_position"
	ColArticle     Concept = "col_article"
	ColDescription Concept = "col_description"
	ColQuantity    Concept = "col_quantity"
	ColUnit        Concept = "col_unit"
	ColUnitPrice   Concept = "col_unit_price"
	ColAmount      Concept = "col_amount"
	ColVATRate     Concept = "col_vat_rate"
	ColDiscount    Concept = "col_discount"
)

// Strength says how surely a label names its concept.
type Strength int

// Strengths, from a label that only excludes to one that names.
const (
	// Not: the phrase names something the concept must not be confused
	// with; a hit of the concept inside it does not count.
	Not Strength = iota
	// Weak: names the concept in context only ("Date", "Total", "Nr.").
	Weak
	// Strong: names the concept ("Invoice date", "Rechnungsnummer").
	Strong
)

func (s Strength) String() string {
	switch s {
	case Strong:
		return "strong"
	case Weak:
		return "weak"
	}
	return "not"
}

// Entry is one concept's labels in one language. Labels are written as
// printed ("Rechnungs-Nr.", "Date d'échéance"); matching folds case,
// accents and the punctuation between words.
type Entry struct {
	Concept Concept
	Strong  []string
	Weak    []string
	// Not lists what the concept must not be confused with: phrases that
	// contain one of its labels but name something else ("due date" for
	// a weak "date" of the issue date).
	Not []string
}

// Language is the lexicon of one language.
type Language struct {
	Code    string // ISO 639-1: en, de, fr, nl, es, it
	Entries []Entry
}

// Entry returns the language's entry for c (false when it has none).
func (l Language) Entry(c Concept) (Entry, bool) {
	for _, e := range l.Entries {
		if e.Concept == c {
			return e, true
		}
	}
	return Entry{}, false
}

// Languages lists the built-in lexicons in a fixed order.
func Languages() []Language { return []Language{en, de, fr, nl, es, it} }

// ByCode returns the lexicon of a language.
func ByCode(code string) (Language, bool) {
	for _, l := range Languages() {
		if l.Code == code {
			return l, true
		}
	}
	return Language{}, false
}

// ---------------------------------------------------------------- folding

// FoldRune folds one rune to one rune: lower case, accents removed,
// typographic quotes, dashes and spaces made ASCII, "º" and "№" read as
// "°". Folding rune by rune keeps rune columns: column i of a line is
// column i of its folded form.
func FoldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}
	switch r {
	case 'ß':
		return 's'
	case 'º', '№':
		return '°'
	case '\u2018', '\u2019', '\u201a', '\u201b', '\u2032', '\u00b4', '`':
		return '\''
	case '\u201c', '\u201d', '\u201e', '\u201f', '\u2033', '\u00ab', '\u00bb':
		return '"'
	case '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2015', '\u2212', '\ufe58', '\ufe63', '\uff0d':
		return '-'
	case '\u00a0', '\u202f', '\u2007', '\u2009', '\u200a', '\u2002', '\u2003', '\u2004', '\u2005', '\u2006', '\u2008', '\u3000':
		return ' '
	}
	if d := norm.NFD.String(string(r)); d != "" {
		if b, _ := utf8.DecodeRuneInString(d); b != utf8.RuneError {
			r = b
		}
	}
	return unicode.ToLower(r)
}

// Fold folds s rune by rune (see FoldRune).
func Fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		b.WriteRune(FoldRune(r))
	}
	return b.String()
}

// ---------------------------------------------------------------- tokens

// Token is a word of a folded line: a run of letters and digits, or one
// of the signs that stand for "number" ("#", "°"). Start and End are rune
// columns.
type Token struct {
	Text       string
	Start, End int
}

// wordRune: letters, digits and the underscore ("invoice_number_1" is one
// word, an identifier, never the label "invoice number").
func wordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' }

// Tokens splits folded text into tokens.
func Tokens(folded []rune) []Token {
	var out []Token
	for i := 0; i < len(folded); {
		r := folded[i]
		switch {
		case r == '#' || r == '°':
			out = append(out, Token{Text: string(r), Start: i, End: i + 1})
			i++
		case wordRune(r):
			j := i
			for j < len(folded) && wordRune(folded[j]) {
				j++
			}
			out = append(out, Token{Text: string(folded[i:j]), Start: i, End: j})
			i = j
		default:
			i++
		}
	}
	return out
}

// joinable reports whether the runes between two tokens keep them in one
// label: punctuation and at most one space ("Rechnungs-Nr.", "N° TVA",
// "Date d'échéance"), never the gap between two table cells.
func joinable(between []rune) bool {
	spaces := 0
	for _, r := range between {
		switch r {
		case ' ', '\t':
			spaces++
			if spaces > 1 {
				return false
			}
		case '.', '-', '/', '\'', ':', '&', '(', ')', ',':
		default:
			return false
		}
	}
	return true
}

// ---------------------------------------------------------------- matching

// Hit is a label found in a line.
type Hit struct {
	Concept  Concept
	Strength Strength
	Lang     string
	// Label is the lexicon's phrase, as printed in the lexicon.
	Label string
	// Start and End are rune columns of the label in the line.
	Start, End int
}

type phrase struct {
	key     string // the folded tokens joined without separators
	concept Concept
	str     Strength
	lang    string
	label   string
}

// Matcher finds the labels of a set of languages. It is safe for
// concurrent use.
type Matcher struct {
	byPrefix map[string][]int
	phrases  []phrase
}

const prefixLen = 2

func prefixOf(s string) string {
	n := 0
	for i := range s {
		if n == prefixLen {
			return s[:i]
		}
		n++
	}
	return s
}

// NewMatcher builds a matcher for the languages (all built-in ones when
// none are given).
func NewMatcher(langs ...Language) *Matcher {
	if len(langs) == 0 {
		langs = Languages()
	}
	m := &Matcher{byPrefix: map[string][]int{}}
	seen := map[phrase]bool{}
	add := func(lang string, c Concept, s Strength, label string) {
		f := []rune(Fold(label))
		var b strings.Builder
		for _, t := range Tokens(f) {
			b.WriteString(t.Text)
		}
		p := phrase{key: b.String(), concept: c, str: s, lang: lang, label: label}
		if p.key == "" || seen[p] {
			return
		}
		seen[p] = true
		m.phrases = append(m.phrases, p)
	}
	for _, l := range langs {
		for _, e := range l.Entries {
			for _, s := range e.Strong {
				add(l.Code, e.Concept, Strong, s)
			}
			for _, s := range e.Weak {
				add(l.Code, e.Concept, Weak, s)
			}
			for _, s := range e.Not {
				add(l.Code, e.Concept, Not, s)
			}
		}
	}
	for i, p := range m.phrases {
		k := prefixOf(p.key)
		m.byPrefix[k] = append(m.byPrefix[k], i)
	}
	return m
}

// Find returns every label of the matcher in the tokens of one folded
// line, overlapping ones included, ordered by start, then longest first,
// then concept, strength and language (a total order). A phrase matches
// whole tokens only: "total" is not found in "totaal" nor "subtotal", but
// "rechnungs nr" is found in "Rechnungsnr." and "Rechnungs-Nr.".
func (m *Matcher) Find(folded []rune, toks []Token) []Hit {
	var hits []Hit
	for i := range toks {
		// the prefix of the concatenation starting at token i: within the
		// token unless it is shorter than a prefix
		t := toks[i].Text
		_, w := utf8.DecodeRuneInString(t)
		p2 := prefixOf(t)
		if utf8.RuneCountInString(p2) < prefixLen {
			var pre strings.Builder
			runes := 0
			for j := i; j < len(toks) && runes < prefixLen; j++ {
				if j > i && !joinable(folded[toks[j-1].End:toks[j].Start]) {
					break
				}
				pre.WriteString(toks[j].Text)
				runes += utf8.RuneCountInString(toks[j].Text)
			}
			p2 = prefixOf(pre.String())
		}
		cands := m.byPrefix[p2]
		if first := t[:w]; first != p2 {
			// one-rune phrases ("#") are filed under their one rune
			cands = append(slices.Clip(cands), m.byPrefix[first]...)
		}
		if len(cands) == 0 {
			continue
		}
		for _, pi := range cands {
			p := m.phrases[pi]
			pos := 0 // how much of the key the tokens from i have spelled
			for j := i; j < len(toks); j++ {
				if j > i && !joinable(folded[toks[j-1].End:toks[j].Start]) {
					break
				}
				if !strings.HasPrefix(p.key[pos:], toks[j].Text) {
					break
				}
				if pos += len(toks[j].Text); pos == len(p.key) {
					end := toks[j].End
					if end < len(folded) && folded[end] == '.' {
						end++ // "Nr." and "No." end with their dot
					}
					hits = append(hits, Hit{Concept: p.concept, Strength: p.str, Lang: p.lang, Label: p.label, Start: toks[i].Start, End: end})
					break
				}
			}
		}
	}
	slices.SortFunc(hits, CompareHits)
	return hits
}

// CompareHits is the total order of Find's hits.
func CompareHits(a, b Hit) int {
	switch {
	case a.Start != b.Start:
		return a.Start - b.Start
	case a.End != b.End:
		return b.End - a.End
	case a.Concept != b.Concept:
		return strings.Compare(string(a.Concept), string(b.Concept))
	case a.Strength != b.Strength:
		return int(b.Strength) - int(a.Strength)
	case a.Lang != b.Lang:
		return strings.Compare(a.Lang, b.Lang)
	}
	return strings.Compare(a.Label, b.Label)
}

// IsColumn reports whether c is a table column concept.
func IsColumn(c Concept) bool { return strings.HasPrefix(string(c), "col_") }

// FieldLabel reports whether c is a concept Labels competes with by
// default: everything but table columns and the words that are only
// never values (Generic, Salutation).
func FieldLabel(c Concept) bool { return !IsColumn(c) && c != Generic && c != Salutation }

// Labels keeps the hits of the concepts keep accepts that are labels: for
// each concept, a hit inside a Not phrase of that concept is dropped;
// then, of hits that overlap, the longest wins (a strong one over a weak
// one of the same span), so "Total tax" is a tax label and not a
// total's. The result is ordered by start; hits of the same span and
// strength of different concepts are all kept, others never overlap.
func Labels(hits []Hit, keep func(Concept) bool) []Hit {
	var cands []Hit
	for _, h := range hits {
		if h.Strength == Not || !keep(h.Concept) {
			continue
		}
		excluded := false
		for _, n := range hits {
			if n.Strength == Not && n.Concept == h.Concept && n.Start <= h.Start && n.End >= h.End && n.End-n.Start > h.End-h.Start {
				excluded = true
				break
			}
		}
		if !excluded {
			cands = append(cands, h)
		}
	}
	// longest first; among equals strong first, then the fixed order
	order := slices.Clone(cands)
	slices.SortStableFunc(order, func(a, b Hit) int {
		if la, lb := a.End-a.Start, b.End-b.Start; la != lb {
			return lb - la
		}
		if a.Strength != b.Strength {
			return int(b.Strength) - int(a.Strength)
		}
		return CompareHits(a, b)
	})
	var out []Hit
	for _, h := range order {
		overlaps := false
		for _, o := range out {
			if h.Start < o.End && h.End > o.Start {
				// the same span for two concepts: both are kept
				if h.Start == o.Start && h.End == o.End && h.Strength == o.Strength && h.Concept != o.Concept {
					continue
				}
				overlaps = true
				break
			}
		}
		if !overlaps {
			out = append(out, h)
		}
	}
	// one hit per concept and span
	slices.SortFunc(out, CompareHits)
	out = slices.CompactFunc(out, func(a, b Hit) bool { return a.Concept == b.Concept && a.Start == b.Start && a.End == b.End })
	return out
}

// Covered returns how many letters of folded text the label hits (of any
// strength, Not included) cover, and how many letters it has: a text
// mostly covered by labels is a label, not a value.
func Covered(folded []rune, hits []Hit) (covered, letters int) {
	mark := make([]bool, len(folded))
	for _, h := range hits {
		for i := h.Start; i < h.End && i < len(mark); i++ {
			mark[i] = true
		}
	}
	for i, r := range folded {
		if unicode.IsLetter(r) {
			letters++
			if mark[i] {
				covered++
			}
		}
	}
	return covered, letters
}

// Default returns the matcher of every built-in language, built on first
// use (not at program start: the parser's child processes never need it).
func Default() *Matcher { return defaultMatcher() }

var defaultMatcher = sync.OnceValue(func() *Matcher { return NewMatcher() })

// IsLabel reports whether text is a label rather than a value: labels of
// the lexicon (of any concept and language) cover all its letters but two
// at most ("Address", "Hotel Details", "Afleveradres", "Customer no."),
// while a name keeps a word of its own ("Amazon Web Services"). Text with
// a digit is never a label.
func IsLabel(text string) bool {
	if strings.IndexFunc(text, unicode.IsDigit) >= 0 {
		return false // "invoice_number_1", "CC-669": a value with its digits
	}
	f := []rune(Fold(text))
	covered, letters := Covered(f, Default().Find(f, Tokens(f)))
	un := letters - covered
	return covered > 0 && un <= 2 && covered >= 2*un
}

// Phrases returns the labels of a concept in a language at a strength,
// as printed in the lexicon.
func Phrases(lang string, c Concept, s Strength) []string {
	l, ok := ByCode(lang)
	if !ok {
		return nil
	}
	e, ok := l.Entry(c)
	if !ok {
		return nil
	}
	switch s {
	case Strong:
		return e.Strong
	case Weak:
		return e.Weak
	}
	return e.Not
}
