package extract

import (
	"github.com/shopspring/decimal"
)

// The readers of printed values, for code that reads page text itself (the
// rules extractor in extract/rules): the same readings Normalize and Ground
// apply, so that what such code finds normalizes and grounds the same way.

// PrintedDate is a date printed in a text: its ISO form, the other reading
// of an ambiguous numeric date ("" when none), and its byte offsets in
// FoldText(text).
type PrintedDate struct {
	ISO, Alt   string
	Start, End int
	// Numeric: printed with digits only (05.03.2024), as opposed to a
	// month name.
	Numeric bool
}

// DatesIn finds the dates printed in text, in order; mdy reads
// ambiguous numeric dates (03/05/2024) month first.
func DatesIn(text string, mdy bool) []PrintedDate {
	return DatesInFolded(foldText(text), mdy)
}

// DatesInFolded is DatesIn for a text already folded with FoldText.
func DatesInFolded(folded string, mdy bool) []PrintedDate {
	order := dayFirst
	if mdy {
		order = monthFirst
	}
	var out []PrintedDate
	for _, f := range datesInFolded(folded, order) {
		p := PrintedDate{ISO: f.date.String(), Start: f.start, End: f.end, Numeric: f.separator != ""}
		if f.alt != nil {
			p.Alt = f.alt.String()
		}
		out = append(out, p)
	}
	return out
}

// ParseDate reads one printed date (any format Normalize reads) as ISO.
func ParseDate(raw string, mdy bool) (string, error) {
	order := dayFirst
	if mdy {
		order = monthFirst
	}
	d, err := parseDate(raw, order)
	if err != nil {
		return "", err
	}
	return d.String(), nil
}

// FoldText lower-cases s and removes accents and typographic variants, as
// the date readers see text.
func FoldText(s string) string { return foldText(s) }

// ParseNumber reads a number printed with thousands separators; dec is
// the decimal separator ('.' or ','), or 0 to guess it as Normalize does.
func ParseNumber(s string, dec byte) (decimal.Decimal, error) {
	if dec == 0 {
		return parseNumber(normalizeSpaces(s))
	}
	return numberWithDecimal(normalizeSpaces(s), dec)
}

// ParseInteger reads digits with thousands separators and no decimals.
func ParseInteger(s string) (decimal.Decimal, error) { return numberWithDecimal(normalizeSpaces(s), 0) }

// ParseAmount reads a printed amount with its sign and currency, as
// Normalize reads money.
func ParseAmount(raw string) (decimal.Decimal, string, error) { return parseAmount(raw) }

// FormatMoney is the normal form of money: a dot, at least two decimals.
func FormatMoney(d decimal.Decimal) string { return formatMoney(d) }

// FormatDecimal is the normal form of a decimal: no trailing zeros.
func FormatDecimal(d decimal.Decimal) string { return formatDecimal(d) }

// CurrencyCode maps a printed currency token ("€", "EUR", "Rs.") to its
// ISO code.
func CurrencyCode(tok string) (string, bool) { return currencyCode(tok) }

// NormalizeIBAN checks an IBAN (length and checksum) and returns it
// compacted.
func NormalizeIBAN(raw string) (string, error) { return normalizeIBAN(raw) }

// IBANLength is the length of an IBAN of a country (0 for countries
// without IBANs).
func IBANLength(country string) int { return ibanLengths[country] }

// NormalizeVATID checks a VAT id's format (and check digits where known)
// and returns it compacted.
func NormalizeVATID(raw string) (string, error) { return normalizeVATID(raw) }

// VATPrefix reports whether p ("DE", "CHE") starts VAT ids of a known
// format.
func VATPrefix(p string) bool { _, ok := vatFormats[p]; return ok }

// FoldForMatch folds s as quotes are compared with pages.
func FoldForMatch(s string) string { return foldForMatch(s) }

// IsGSTIN reports whether s is an Indian GST identification number.
func IsGSTIN(s string) bool { return gstinRe.MatchString(s) }
