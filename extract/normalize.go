package extract

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/shopspring/decimal"
	"golang.org/x/text/unicode/norm"

	"github.com/extractor-dev/extractor/pipeline"
)

// Normalize returns the normal form of a raw value for its field spec, and
// for money values the ISO 4217 code printed with the amount, if any:
//
//	date      "2015-07-02" from common English, German and French formats
//	          ("02.07.2015", "July 2, 2015", "2 juillet 2015", "02/07/2015", ...)
//	money     exact decimal, dot separator, no thousands separators, at least
//	          two decimals ("1.234,56 €" -> "1234.56", currency "EUR")
//	decimal   exact decimal without trailing zeros ("2,50" -> "2.5")
//	integer   digits with an optional sign
//	currency  ISO code from a code or symbol ("€" -> "EUR")
//	iban      upper case without spaces, checksum verified
//	vat_id    upper case without spaces or punctuation, format checked
//	enum      the enum value it matches, case-insensitively
//	string    whitespace collapsed
//
// A non-nil error says why the raw value is not valid for the type; the
// spec's Pattern, when set, must match the normalized value (the caller
// checks it).
//
// The rules for ambiguous input, which an extractor that knows more about
// the document resolves itself (by returning the normal form as raw):
//
//   - Numeric dates: "." separates day.month.year (German, French); with "/"
//     or "-" a part above 12 decides (13/05/2024 is day-first, 05/13/2024
//     month-first); when both parts are at most 12 the date is read
//     day-first, the convention of every language we read except US English.
//     Two-digit years are 2000–2069 for 00–69 and 1970–1999 for 70–99.
//   - Numbers: spaces (also no-break and narrow no-break spaces) and
//     apostrophes only group thousands. When both "." and "," occur, the
//     rightmost is the decimal separator. One separator occurring several
//     times groups thousands ("1.234.567"). One separator occurring once is
//     the decimal separator, except when it is followed by exactly three
//     digits and preceded by one to three digits other than a lone "0":
//     then it groups thousands ("1.234" and "1,234" are 1234; "0.025",
//     "12.5", "1234.567" and "1,2345" are decimals). Groups after the first
//     must have three digits (or two, as in Indian "1,23,456.00", before a
//     last group of three).
//   - Currencies: "$" alone is USD, "¥" is JPY, "Fr."/"SFr." are CHF, "Rs."
//     and "₹" are INR, "kr" is not mapped (SEK, NOK, DKK and ISK share it).
func Normalize(spec pipeline.FieldSpec, raw string) (value, currency string, err error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", "", errors.New("empty value")
	}
	switch spec.Type {
	case pipeline.TypeDate:
		d, err := parseDate(s, dayFirst)
		if err != nil {
			return "", "", err
		}
		return d.String(), "", nil
	case pipeline.TypeMoney:
		d, cur, err := parseAmount(s)
		if err != nil {
			return "", "", err
		}
		return formatMoney(d), cur, nil
	case pipeline.TypeDecimal:
		d, cur, err := parseAmount(s)
		if err != nil {
			return "", "", err
		}
		return formatDecimal(d), cur, nil
	case pipeline.TypeInteger:
		d, _, err := parseAmount(s)
		if err != nil {
			return "", "", err
		}
		if !d.IsInteger() {
			return "", "", fmt.Errorf("%q is not a whole number", s)
		}
		return d.String(), "", nil
	case pipeline.TypeCurrency:
		c, err := parseCurrency(s)
		return c, "", err
	case pipeline.TypeIBAN:
		v, err := normalizeIBAN(s)
		return v, "", err
	case pipeline.TypeVATID:
		v, err := normalizeVATID(s)
		return v, "", err
	case pipeline.TypeEnum:
		c := collapseSpace(s)
		for _, e := range spec.Enum {
			if strings.EqualFold(collapseSpace(e), c) {
				return e, "", nil
			}
		}
		return "", "", fmt.Errorf("%q is not one of %s", c, strings.Join(spec.Enum, ", "))
	case pipeline.TypeArray:
		return "", "", errors.New("an array has no scalar value")
	default: // string, and types this version does not know
		return collapseSpace(s), "", nil
	}
}

// collapseSpace trims s and turns every run of white space (including
// no-break spaces) into one space.
func collapseSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

// ---------------------------------------------------------------- dates

// civilDate is a calendar date without time zone.
type civilDate struct{ y, m, d int }

func (c civilDate) String() string { return fmt.Sprintf("%04d-%02d-%02d", c.y, c.m, c.d) }

// makeDate checks that y-m-d exists (no 2024-02-30).
func makeDate(y, m, d int) (civilDate, bool) {
	if y < 1 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31 {
		return civilDate{}, false
	}
	t := time.Date(y, time.Month(m), d, 12, 0, 0, 0, time.UTC)
	if t.Day() != d || int(t.Month()) != m {
		return civilDate{}, false
	}
	return civilDate{y, m, d}, true
}

// dateOrder says how to read a numeric date whose first two parts are
// both at most 12.
type dateOrder int

const (
	dayFirst dateOrder = iota
	monthFirst
)

// monthNames maps folded (lower case, no accents) month names and
// abbreviations in English, German, French, Dutch, Spanish and Italian
// to month numbers.
var monthNames = func() map[string]int {
	m := map[string]int{}
	add := func(n int, names ...string) {
		for _, s := range names {
			m[s] = n
		}
	}
	add(1, "january", "jan", "januar", "janner", "janvier", "janv", "januari", "enero", "ene", "gennaio", "gen")
	add(2, "february", "feb", "febr", "februar", "feber", "fevrier", "fevr", "fev", "februari", "febrero", "febbraio")
	add(3, "march", "mar", "marz", "maerz", "mrz", "mars", "maart", "mrt", "marzo")
	add(4, "april", "apr", "avril", "avr", "abril", "abr", "aprile")
	add(5, "may", "mai", "mei", "mayo", "maggio", "mag")
	add(6, "june", "jun", "juni", "juin", "junio", "giugno", "giu")
	add(7, "july", "jul", "juli", "juillet", "juil", "julio", "luglio", "lug")
	add(8, "august", "aug", "aout", "augustus", "agosto", "ago")
	add(9, "september", "sep", "sept", "septembre", "septiembre", "setiembre", "settembre", "set")
	add(10, "october", "oct", "oktober", "okt", "octobre", "octubre", "ottobre", "ott")
	add(11, "november", "nov", "novembre", "noviembre")
	add(12, "december", "dec", "dezember", "dez", "decembre", "diciembre", "dic", "dicembre")
	return m
}()

// dateFiller are words a printed date may carry that say nothing about
// it: weekdays, ordinal suffixes, articles.
var dateFiller = func() map[string]bool {
	m := map[string]bool{}
	for _, s := range strings.Fields(`st nd rd th er re e eme ieme of the le den der am on du de del il
		monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs fri sat sun
		montag dienstag mittwoch donnerstag freitag samstag sonnabend sonntag mo di mi do fr sa so
		lundi mardi mercredi jeudi vendredi samedi dimanche lun mer jeu ven sam dim`) {
		m[s] = true
	}
	return m
}()

// foldText lower-cases s and removes accents and typographic variants,
// so that "März", "MÄRZ" and "marz" compare equal (compatibility
// characters such as ligatures are expanded on the way).
func foldText(s string) string {
	if isASCII(s) { // the common case: no decomposition, no marks
		b := []byte(s)
		for i, c := range b {
			switch {
			case 'A' <= c && c <= 'Z':
				b[i] = c + 'a' - 'A'
			case c == '`':
				b[i] = '\''
			}
		}
		return string(b)
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range norm.NFKD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(foldRune(unicode.ToLower(r)))
	}
	return b.String()
}

// foldRune maps typographic variants to their plain ASCII forms.
func foldRune(r rune) rune {
	switch r {
	case '\u2018', '\u2019', '\u201a', '\u201b', '\u2032', '\u00b4', '`':
		return '\''
	case '\u201c', '\u201d', '\u201e', '\u201f', '\u2033', '\u00ab', '\u00bb':
		return '"'
	case '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2015', '\u2212', '\ufe58', '\ufe63', '\uff0d':
		return '-'
	case '\u00a0', '\u202f', '\u2007', '\u2009', '\u200a', '\u2002', '\u2003', '\u2004', '\u2005', '\u2006', '\u2008', '\u3000':
		return ' '
	}
	return r
}

var (
	isoDateRe     = regexp.MustCompile(`^(\d{4})\s*([-/.])\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})$`)
	basicDateRe   = regexp.MustCompile(`^(\d{4})(\d{2})(\d{2})$`)
	numDateRe     = regexp.MustCompile(`^(\d{1,2})\s*([-/.])\s*(\d{1,2})\s*([-/.])\s*(\d{2}|\d{4})\.?$`)
	timeSuffixRe  = regexp.MustCompile(`(?:[t ]\s*\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:z|[ap]\.?m\.?|[+-]\d{2}:?\d{2}|utc|gmt)?)$`)
	dateTokenRe   = regexp.MustCompile(`\d+|\p{L}+`)
	dateSepOnlyRe = regexp.MustCompile(`^[\s.,/'-]*$`)
)

// parseDate reads one date in any of the formats Normalize documents;
// order decides numeric dates whose day and month are both at most 12.
func parseDate(raw string, order dateOrder) (civilDate, error) {
	s := strings.TrimSpace(foldText(raw))
	s = strings.TrimSpace(timeSuffixRe.ReplaceAllString(s, ""))
	if s == "" {
		return civilDate{}, fmt.Errorf("%q is not a date", raw)
	}
	bad := func() (civilDate, error) { return civilDate{}, fmt.Errorf("%q is not a valid date", raw) }
	if m := isoDateRe.FindStringSubmatch(s); m != nil {
		if d, ok := makeDate(atoiSafe(m[1]), atoiSafe(m[3]), atoiSafe(m[4])); ok {
			return d, nil
		}
		return bad()
	}
	if m := basicDateRe.FindStringSubmatch(s); m != nil {
		y := atoiSafe(m[1])
		if y >= 1900 && y < 2100 {
			if d, ok := makeDate(y, atoiSafe(m[2]), atoiSafe(m[3])); ok {
				return d, nil
			}
		}
		return bad()
	}
	if m := numDateRe.FindStringSubmatch(s); m != nil {
		if m[2] != m[4] {
			return civilDate{}, fmt.Errorf("%q mixes date separators", raw)
		}
		a, b, y := atoiSafe(m[1]), atoiSafe(m[3]), year(m[5])
		ds := numericDates(a, b, y, m[2], order)
		if len(ds) == 0 {
			return bad()
		}
		return ds[0], nil
	}
	// Dates with a month name: collect numbers and words, drop filler.
	type tok struct {
		num   bool
		n     int
		s     string
		month int
	}
	var toks []tok
	rest := s
	for _, loc := range dateTokenRe.FindAllStringIndex(s, -1) {
		t := s[loc[0]:loc[1]]
		if t[0] >= '0' && t[0] <= '9' {
			if len(t) > 4 {
				return civilDate{}, fmt.Errorf("%q is not a date", raw)
			}
			toks = append(toks, tok{num: true, n: atoiSafe(t), s: t})
		} else if mo, ok := monthNames[t]; ok {
			toks = append(toks, tok{s: t, month: mo})
		} else if !dateFiller[t] {
			return civilDate{}, fmt.Errorf("%q is not a date", raw)
		}
		rest = strings.Replace(rest, t, "", 1)
	}
	if !dateSepOnlyRe.MatchString(rest) {
		return civilDate{}, fmt.Errorf("%q is not a date", raw)
	}
	if len(toks) != 3 {
		return civilDate{}, fmt.Errorf("%q is not a complete date", raw)
	}
	var d, mo, y int
	switch {
	case toks[0].num && toks[1].month > 0 && toks[2].num && len(toks[0].s) <= 2: // 5 March 2024
		d, mo, y = toks[0].n, toks[1].month, year(toks[2].s)
	case toks[0].month > 0 && toks[1].num && toks[2].num && len(toks[1].s) <= 2: // March 5, 2024
		d, mo, y = toks[1].n, toks[0].month, year(toks[2].s)
	case toks[0].num && len(toks[0].s) == 4 && toks[1].month > 0 && toks[2].num: // 2024 March 5
		d, mo, y = toks[2].n, toks[1].month, toks[0].n
	default:
		return civilDate{}, fmt.Errorf("%q is not a date", raw)
	}
	if y < 0 {
		return bad()
	}
	if c, ok := makeDate(y, mo, d); ok {
		return c, nil
	}
	return bad()
}

// numericDates returns the readings of a/b/y: one when the separator or a
// part above 12 decides, otherwise both, the preferred one first.
func numericDates(a, b, y int, sep string, order dateOrder) []civilDate {
	if y < 0 {
		return nil
	}
	dmy, okDMY := makeDate(y, b, a)
	mdy, okMDY := makeDate(y, a, b)
	if sep == "." {
		okMDY = false // 05.03.2024 is always day.month.year
	}
	switch {
	case okDMY && okMDY && dmy != mdy:
		if order == monthFirst {
			return []civilDate{mdy, dmy}
		}
		return []civilDate{dmy, mdy}
	case okDMY:
		return []civilDate{dmy}
	case okMDY:
		return []civilDate{mdy}
	}
	return nil
}

// year reads a two- or four-digit year; -1 when it is neither.
func year(s string) int {
	n := atoiSafe(s)
	switch len(s) {
	case 2:
		if n < 70 {
			return 2000 + n
		}
		return 1900 + n
	case 4:
		return n
	}
	return -1
}

func atoiSafe(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

// Patterns for finding dates inside longer text (quotes, lines); each
// match is read with parseDate or numericDates. Numeric dates are found by
// the scanners of scan.go (NumDates, ISODates, BasicDates).
var (
	// A two-digit year needs a single separator on each side of the month
	// ("1-Jul-14", "01 Jul 14"): "July 1 - July 31" is a range, not the
	// 1st of July 2031. "August 3 , 2014" prints a space before its comma.
	findWordDateRe = regexp.MustCompile(`(?:\d{1,2}(?:st|nd|rd|th|er|re|e)?\.?\s*(?:of\s+|de\s+)?\p{L}{3,10}\.?,?\s*(?:de\s+)?\d{4}|\d{1,2}(?:st|nd|rd|th|er|re|e)?(?:\.?\s|[.-])\p{L}{3,9}\.?(?:\s|[.-])\d{2}|\p{L}{3,10}\.?\s*\d{1,2}(?:st|nd|rd|th)?\s*,?\s+\d{4}|\p{L}{3,9}\.?\s*\d{1,2}(?:st|nd|rd|th)?,\s*\d{2})`)
)

// foundDate is a date printed in a text, with where it is (byte offsets
// in the folded text) and whether its reading was ambiguous.
type foundDate struct {
	date       civilDate
	start, end int
	// alt is the other reading of an ambiguous numeric date.
	alt       *civilDate
	separator string
}

// datesIn finds the dates printed in text (any format parseDate reads),
// in order. Ambiguous numeric dates are read with order and carry their
// other reading in alt. Offsets are in foldText(text).
func datesIn(text string, order dateOrder) []foundDate {
	return datesInFolded(foldText(text), order)
}

// datesInFolded is datesIn of a text already folded by foldText.
func datesInFolded(s string, order dateOrder) []foundDate {
	if !strings.ContainsAny(s, "0123456789") {
		return nil // every printed date has digits (its day or year)
	}
	var out []foundDate
	taken := func(a, b int) bool {
		for _, f := range out {
			if a < f.end && b > f.start {
				return true
			}
		}
		return false
	}
	for _, m := range ISODates(s) {
		if m[4] >= 0 && s[m[4]:m[5]] != s[m[8]:m[9]] {
			continue
		}
		if d, ok := makeDate(atoiSafe(s[m[2]:m[3]]), atoiSafe(s[m[6]:m[7]]), atoiSafe(s[m[10]:m[11]])); ok {
			out = append(out, foundDate{date: d, start: m[2], end: m[11], separator: s[m[4]:m[5]]})
		}
	}
	for _, m := range NumDates(s) {
		if taken(m[2], m[11]) || s[m[4]:m[5]] != s[m[8]:m[9]] {
			continue
		}
		sep := s[m[4]:m[5]]
		ds := numericDates(atoiSafe(s[m[2]:m[3]]), atoiSafe(s[m[6]:m[7]]), year(s[m[10]:m[11]]), sep, order)
		if len(ds) == 0 {
			continue
		}
		f := foundDate{date: ds[0], start: m[2], end: m[11], separator: sep}
		if len(ds) > 1 {
			alt := ds[1]
			f.alt = &alt
		}
		out = append(out, f)
	}
	for _, m := range BasicDates(s) {
		if taken(m[2], m[3]) {
			continue
		}
		if d, err := parseDate(s[m[2]:m[3]], order); err == nil {
			out = append(out, foundDate{date: d, start: m[2], end: m[3]})
		}
	}
	if !hasMonthWord(s) {
		sortFound(out)
		return out // no month name: the costly word-date pattern cannot match
	}
	for _, m := range findWordDateRe.FindAllStringIndex(s, -1) {
		a, b := m[0], m[1]
		if taken(a, b) {
			continue
		}
		if d, err := parseDate(s[a:b], order); err == nil {
			out = append(out, foundDate{date: d, start: a, end: b})
		}
	}
	sortFound(out)
	return out
}

// hasMonthWord reports whether folded text s holds a month name (or its
// abbreviation) as a word.
func hasMonthWord(s string) bool {
	start := -1
	for i := 0; i <= len(s); i++ {
		letter := i < len(s) && (s[i] >= 'a' && s[i] <= 'z' || s[i] >= 0x80)
		switch {
		case letter && start < 0:
			start = i
		case !letter && start >= 0:
			if n := i - start; n >= 3 && n <= 12 {
				if _, ok := monthNames[s[start:i]]; ok {
					return true
				}
			}
			start = -1
		}
	}
	return false
}

func sortFound(fs []foundDate) {
	for i := 1; i < len(fs); i++ {
		for j := i; j > 0 && fs[j].start < fs[j-1].start; j-- {
			fs[j], fs[j-1] = fs[j-1], fs[j]
		}
	}
}

// ---------------------------------------------------------------- numbers and money

// currencyTokens maps printed currency symbols and words (lower case) to
// ISO 4217 codes. ISO codes themselves are looked up in isoCurrencies.
var currencyTokens = map[string]string{
	"€": "EUR", "euro": "EUR", "euros": "EUR", "eur.": "EUR",
	"$": "USD", "us$": "USD", "u.s.$": "USD", "usd$": "USD", "dollar": "USD", "dollars": "USD",
	"£": "GBP", "gbp£": "GBP", "pound": "GBP", "pounds": "GBP",
	"¥": "JPY", "yen": "JPY", "円": "JPY",
	"₹": "INR", "rs": "INR", "rs.": "INR", "inr.": "INR", "rupees": "INR",
	"fr.": "CHF", "sfr.": "CHF", "sfr": "CHF", "chf.": "CHF",
	"a$": "AUD", "au$": "AUD", "c$": "CAD", "ca$": "CAD", "nz$": "NZD", "hk$": "HKD", "s$": "SGD",
	"zł": "PLN", "zl": "PLN", "kč": "CZK", "ft": "HUF", "₽": "RUB", "₺": "TRY", "₩": "KRW", "₪": "ILS",
	"₫": "VND", "₱": "PHP", "฿": "THB", "r$": "BRL", "lei": "RON",
}

// isoCurrencies are the active ISO 4217 codes.
var isoCurrencies = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range strings.Fields(`AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN
		BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF
		GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL
		LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG
		QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD
		TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL DEM FRF`) {
		m[c] = true
	}
	return m
}()

// commonCurrencies are the codes also accepted in lower case.
var commonCurrencies = map[string]bool{"EUR": true, "USD": true, "GBP": true, "CHF": true, "INR": true, "JPY": true, "CAD": true, "AUD": true}

// currencyCode maps one printed currency token to its ISO code.
func currencyCode(tok string) (string, bool) {
	t := strings.TrimSpace(tok)
	// ISO codes count in upper case; the most common also in lower case
	// ("eur"), where others would be ordinary words ("all", "top").
	if u := strings.TrimSuffix(t, "."); len(u) == 3 && isoCurrencies[strings.ToUpper(u)] &&
		(u == strings.ToUpper(u) || commonCurrencies[strings.ToUpper(u)]) {
		return strings.ToUpper(u), true
	}
	c, ok := currencyTokens[strings.ToLower(t)]
	return c, ok
}

// parseCurrency reads a currency field: an ISO code, a symbol or a word,
// possibly with another form of the same currency ("EUR (€)").
func parseCurrency(raw string) (string, error) {
	if c, ok := currencyCode(raw); ok {
		return c, nil
	}
	code := ""
	for _, t := range currencyTokenRe.FindAllString(raw, -1) {
		c, ok := currencyCode(t)
		if !ok {
			continue
		}
		if code != "" && c != code {
			return "", fmt.Errorf("%q names two currencies", raw)
		}
		code = c
	}
	if code == "" {
		return "", fmt.Errorf("%q is not a known currency code or symbol", raw)
	}
	return code, nil
}

var currencyTokenRe = regexp.MustCompile(`(?i)[a-z]{1,3}\$|u\.s\.\$|[a-zł]+\.?|[€$£¥₹₽₺₩₪₫₱฿円]`)

// amountRe splits a printed amount into sign, currency and number parts.
var amountRe = regexp.MustCompile(`^(\()?\s*([-+])?\s*(` + curPat + `)?\s*([-+])?\s*(\d[\d.,'’ ]*|[.,]\d+)\s*(-)?\s*(` + curPat + `)?\s*(-)?\s*(\))?$`)

const curPat = `[A-Za-z]{1,3}\$|[A-Za-z][A-Za-zł]{0,6}\.?|[€$£¥₹₽₺₩₪₫₱฿]|Kč|zł`

// parseAmount reads a printed amount with an optional currency before or
// after it and a sign: "-8.79", "(8.79)", "8,79-", "€ 1.234,56",
// "1,234.56 USD", "CHF 1'234.50".
func parseAmount(raw string) (decimal.Decimal, string, error) {
	s := normalizeSpaces(raw)
	m := amountRe.FindStringSubmatch(s)
	if m == nil {
		return decimal.Decimal{}, "", fmt.Errorf("%q is not an amount", raw)
	}
	cur := ""
	for _, c := range []string{m[3], m[7]} {
		if c == "" {
			continue
		}
		code, ok := currencyCode(c)
		if !ok {
			return decimal.Decimal{}, "", fmt.Errorf("%q: unknown currency %q", raw, c)
		}
		if cur != "" && code != cur {
			return decimal.Decimal{}, "", fmt.Errorf("%q names two currencies", raw)
		}
		cur = code
	}
	signs := 0
	neg := false
	for _, sg := range []string{m[2], m[4], m[6], m[8]} {
		if sg != "" {
			signs++
			neg = neg || sg == "-"
		}
	}
	if (m[1] != "") != (m[9] != "") {
		return decimal.Decimal{}, "", fmt.Errorf("%q has unbalanced parentheses", raw)
	}
	if m[1] != "" {
		signs++
		neg = true
	}
	if signs > 1 {
		return decimal.Decimal{}, "", fmt.Errorf("%q has more than one sign", raw)
	}
	d, err := parseNumber(strings.TrimRight(m[5], " "))
	if err != nil {
		return decimal.Decimal{}, "", fmt.Errorf("%q: %w", raw, err)
	}
	if neg {
		d = d.Neg()
	}
	return d, cur, nil
}

// normalizeSpaces maps the no-break and thin spaces to plain spaces and
// the minus sign and dashes to "-".
func normalizeSpaces(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		switch r {
		case '\u00a0', '\u202f', '\u2007', '\u2009', '\u200a', '\t':
			return ' '
		case '\u2212', '\u2013', '\u2012', '\u2010', '\u2011', '\ufe63', '\uff0d':
			return '-'
		}
		return r
	}, s))
}

// parseNumber reads a number with the thousands and decimal separators
// described on Normalize.
func parseNumber(s string) (decimal.Decimal, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return decimal.Decimal{}, errors.New("no digits")
	}
	grouped := strings.ContainsAny(s, " '’")
	dots, commas := strings.Count(s, "."), strings.Count(s, ",")
	var dec byte
	switch {
	case dots > 0 && commas > 0:
		if strings.LastIndexByte(s, '.') > strings.LastIndexByte(s, ',') {
			dec = '.'
		} else {
			dec = ','
		}
	case dots+commas == 1:
		sep := byte('.')
		if commas == 1 {
			sep = ','
		}
		i := strings.IndexByte(s, sep)
		intPart, frac := s[:i], s[i+1:]
		if !grouped && len(frac) == 3 && len(intPart) >= 1 && len(intPart) <= 3 && intPart != "0" && allDigits(frac) && allDigits(intPart) {
			dec = 0 // "1.234": a thousands separator
		} else {
			dec = sep
		}
	}
	return numberWithDecimal(s, dec)
}

// numberWithDecimal reads s with dec as the decimal separator (0: none);
// the other separators must group thousands.
func numberWithDecimal(s string, dec byte) (decimal.Decimal, error) {
	intPart, frac := s, ""
	if dec != 0 {
		i := strings.LastIndexByte(s, dec)
		if i < 0 {
			return decimal.Decimal{}, fmt.Errorf("no %q in %q", dec, s)
		}
		intPart, frac = s[:i], s[i+1:]
		if frac == "" || !allDigits(frac) {
			return decimal.Decimal{}, fmt.Errorf("bad decimals in %q", s)
		}
	}
	var groups []string
	start := 0
	for i := 0; i < len(intPart); {
		r, size := utf8.DecodeRuneInString(intPart[i:])
		switch {
		case r >= '0' && r <= '9':
		case r == '.' || r == ',' || r == ' ' || r == '\'' || r == '’':
			if byte(r) == dec {
				return decimal.Decimal{}, fmt.Errorf("two decimal separators in %q", s)
			}
			groups = append(groups, intPart[start:i])
			start = i + size
		default:
			return decimal.Decimal{}, fmt.Errorf("%q is not a number", s)
		}
		i += size
	}
	groups = append(groups, intPart[start:])
	if len(groups) > 1 {
		for i, g := range groups {
			switch {
			case i == 0 && (len(g) < 1 || len(g) > 3):
				return decimal.Decimal{}, fmt.Errorf("bad digit grouping in %q", s)
			case i == len(groups)-1 && len(g) != 3,
				i > 0 && i < len(groups)-1 && len(g) != 3 && len(g) != 2:
				return decimal.Decimal{}, fmt.Errorf("bad digit grouping in %q", s)
			}
		}
	}
	digits := strings.Join(groups, "")
	if digits == "" {
		digits = "0"
		if frac == "" {
			return decimal.Decimal{}, fmt.Errorf("%q has no digits", s)
		}
	}
	if frac != "" {
		digits += "." + frac
	}
	return decimal.NewFromString(digits)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// formatMoney prints d with a dot, at least two decimals and no trailing
// zeros beyond them: 1810.8 -> "1810.80", 0.025 -> "0.025".
func formatMoney(d decimal.Decimal) string {
	s := d.String()
	i := strings.IndexByte(s, '.')
	if i < 0 || len(s)-i-1 < 2 {
		return d.StringFixed(2)
	}
	return s
}

// formatDecimal prints d without trailing zeros: 2.50 -> "2.5", 3.00 -> "3".
func formatDecimal(d decimal.Decimal) string { return d.String() }

// ---------------------------------------------------------------- IBAN

// ibanLengths is the length of an IBAN per country (SWIFT IBAN registry).
var ibanLengths = map[string]int{
	"AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27, "BR": 29,
	"BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
	"ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
	"HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
	"LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
	"MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29,
	"PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24,
	"SM": 27, "SO": 23, "ST": 25, "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
	"YE": 30,
}

// compactID upper-cases s and removes spaces and the punctuation that
// ids are printed with.
func compactID(s string) string {
	var b strings.Builder
	for _, r := range norm.NFKC.String(s) {
		switch {
		case unicode.IsSpace(r), strings.ContainsRune(".-/_:·‐‑–", r):
		default:
			b.WriteRune(unicode.ToUpper(r))
		}
	}
	return b.String()
}

func normalizeIBAN(raw string) (string, error) {
	s := compactID(raw)
	s = strings.TrimPrefix(s, "IBAN")
	if len(s) < 5 {
		return "", fmt.Errorf("IBAN %q is too short", raw)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') {
			return "", fmt.Errorf("IBAN %q has a character other than letters and digits", raw)
		}
	}
	n, ok := ibanLengths[s[:2]]
	if !ok {
		return "", fmt.Errorf("IBAN %q: unknown country %s", raw, s[:2])
	}
	if len(s) != n {
		return "", fmt.Errorf("IBAN %q has %d characters, %s IBANs have %d", raw, len(s), s[:2], n)
	}
	if !allDigits(s[2:4]) || ibanMod97(s[4:]+s[:4]) != 1 {
		return "", fmt.Errorf("IBAN %q: checksum fails", raw)
	}
	return s, nil
}

// ibanMod97 is the remainder modulo 97 of the IBAN digit string (letters
// count as 10..35).
func ibanMod97(s string) int {
	r := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			r = (r*10 + int(c-'0')) % 97
		case c >= 'A' && c <= 'Z':
			r = (r*100 + int(c-'A') + 10) % 97
		}
	}
	return r
}

// ---------------------------------------------------------------- VAT ids

// vatFormats is the shape of the VAT id after its country prefix, per
// country (EU VIES formats, plus GB, XI, CH, NO). check, when set, also
// verifies the check digits.
var vatFormats = map[string]struct {
	re    *regexp.Regexp
	check func(body string) bool
}{
	"AT":  {re: regexp.MustCompile(`^U\d{8}$`), check: atVATCheck},
	"BE":  {re: regexp.MustCompile(`^[01]\d{9}$`), check: beVATCheck},
	"BG":  {re: regexp.MustCompile(`^\d{9,10}$`)},
	"CY":  {re: regexp.MustCompile(`^\d{8}[A-Z]$`)},
	"CZ":  {re: regexp.MustCompile(`^\d{8,10}$`)},
	"DE":  {re: regexp.MustCompile(`^\d{9}$`), check: deVATCheck},
	"DK":  {re: regexp.MustCompile(`^\d{8}$`)},
	"EE":  {re: regexp.MustCompile(`^\d{9}$`)},
	"EL":  {re: regexp.MustCompile(`^\d{9}$`)},
	"GR":  {re: regexp.MustCompile(`^\d{9}$`)},
	"ES":  {re: regexp.MustCompile(`^[A-Z0-9]\d{7}[A-Z0-9]$`)},
	"FI":  {re: regexp.MustCompile(`^\d{8}$`)},
	"FR":  {re: regexp.MustCompile(`^[A-HJ-NP-Z0-9]{2}\d{9}$`), check: frVATCheck},
	"HR":  {re: regexp.MustCompile(`^\d{11}$`)},
	"HU":  {re: regexp.MustCompile(`^\d{8}$`)},
	"IE":  {re: regexp.MustCompile(`^\d[A-Z0-9+*]\d{5}[A-W][A-I]?$`)},
	"IT":  {re: regexp.MustCompile(`^\d{11}$`), check: itVATCheck},
	"LT":  {re: regexp.MustCompile(`^(\d{9}|\d{12})$`)},
	"LU":  {re: regexp.MustCompile(`^\d{8}$`)},
	"LV":  {re: regexp.MustCompile(`^\d{11}$`)},
	"MT":  {re: regexp.MustCompile(`^\d{8}$`)},
	"NL":  {re: regexp.MustCompile(`^\d{9}B\d{2}$`)},
	"PL":  {re: regexp.MustCompile(`^\d{10}$`)},
	"PT":  {re: regexp.MustCompile(`^\d{9}$`)},
	"RO":  {re: regexp.MustCompile(`^[1-9]\d{1,9}$`)},
	"SE":  {re: regexp.MustCompile(`^\d{10}01$`)},
	"SI":  {re: regexp.MustCompile(`^\d{8}$`)},
	"SK":  {re: regexp.MustCompile(`^\d{10}$`)},
	"GB":  {re: regexp.MustCompile(`^(\d{9}|\d{12}|GD[0-4]\d{2}|HA[5-9]\d{2})$`), check: gbVATCheck},
	"XI":  {re: regexp.MustCompile(`^(\d{9}|\d{12}|GD[0-4]\d{2}|HA[5-9]\d{2})$`), check: gbVATCheck},
	"CHE": {re: regexp.MustCompile(`^\d{9}(MWST|TVA|IVA|TPV)?$`)},
	"NO":  {re: regexp.MustCompile(`^\d{9}(MVA)?$`)},
}

var (
	// gstinRe is the Indian GST identification number, which carries no
	// country prefix: state code, PAN, entity number, Z, check character.
	gstinRe = regexp.MustCompile(`^\d{2}[A-Z]{5}\d{4}[A-Z][1-9A-Z]Z[0-9A-Z]$`)
	// otherVATRe is the shape accepted for prefixes vatFormats does not
	// know: two letters, then 2 to 13 letters or digits.
	otherVATRe = regexp.MustCompile(`^[A-Z]{2}[A-Z0-9]{2,13}$`)
)

// normalizeVATID checks a VAT id. Ids with a known prefix must have their
// country's format (and check digits for AT, BE, DE, FR, IT, GB). An
// unknown two-letter prefix passes when at least two of the 2–13
// characters after it are digits. An Indian GSTIN passes without a prefix.
func normalizeVATID(raw string) (string, error) {
	s := compactID(raw)
	if gstinRe.MatchString(s) {
		return s, nil
	}
	if len(s) < 4 {
		return "", fmt.Errorf("VAT id %q is too short", raw)
	}
	prefix := s[:2]
	if strings.HasPrefix(s, "CHE") {
		prefix = "CHE"
	}
	if f, ok := vatFormats[prefix]; ok {
		body := s[len(prefix):]
		if !f.re.MatchString(body) {
			return "", fmt.Errorf("VAT id %q does not have the %s format", raw, prefix)
		}
		if f.check != nil && !f.check(body) {
			return "", fmt.Errorf("VAT id %q: check digits fail", raw)
		}
		return s, nil
	}
	if prefix[0] < 'A' || prefix[0] > 'Z' || prefix[1] < 'A' || prefix[1] > 'Z' {
		return "", fmt.Errorf("VAT id %q has no country prefix", raw)
	}
	digits := 0
	for i := 2; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			digits++
		}
	}
	if !otherVATRe.MatchString(s) || digits < 2 {
		return "", fmt.Errorf("VAT id %q is not a plausible VAT id", raw)
	}
	return s, nil
}

// deVATCheck: ISO 7064 MOD 11,10 over the first eight digits.
func deVATCheck(b string) bool {
	p := 10
	for i := 0; i < 8; i++ {
		sum := (int(b[i]-'0') + p) % 10
		if sum == 0 {
			sum = 10
		}
		p = (2 * sum) % 11
	}
	return (11-p)%10 == int(b[8]-'0')
}

// frVATCheck: the key is (12 + 3 × (SIREN mod 97)) mod 97 when numeric.
// Alphabetic keys (new-style numbers) are not checked.
func frVATCheck(b string) bool {
	if !allDigits(b[:2]) {
		return true
	}
	siren, _ := strconv.Atoi(b[2:])
	key, _ := strconv.Atoi(b[:2])
	return (12+3*(siren%97))%97 == key
}

// itVATCheck: Luhn over the eleven digits.
func itVATCheck(b string) bool {
	sum := 0
	for i := 0; i < 11; i++ {
		d := int(b[i] - '0')
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// atVATCheck: the Austrian UID check digit over the seven digits after U.
func atVATCheck(b string) bool {
	sum := 0
	for i := 1; i <= 7; i++ {
		d := int(b[i] - '0')
		if i%2 == 0 {
			d *= 2
			d = d/10 + d%10
		}
		sum += d
	}
	return (96-sum)%10 == int(b[8]-'0')
}

// beVATCheck: the last two digits are 97 minus the first eight modulo 97.
func beVATCheck(b string) bool {
	n, _ := strconv.Atoi(b[:8])
	c, _ := strconv.Atoi(b[8:])
	return 97-n%97 == c
}

// gbVATCheck: weights 8..2 over the first seven digits plus the two check
// digits give a multiple of 97 (or, for numbers issued since 2010, of 97
// after adding 55). Government and health-authority numbers are not
// checked.
func gbVATCheck(b string) bool {
	if !allDigits(b) {
		return true
	}
	sum := 0
	for i := 0; i < 7; i++ {
		sum += int(b[i]-'0') * (8 - i)
	}
	c, _ := strconv.Atoi(b[7:9])
	sum += c
	return sum%97 == 0 || (sum+55)%97 == 0
}
