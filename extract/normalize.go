package extract

import (
	"strings"

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
// spec's Pattern, when set, must match the normalized value.
//
// (Placeholder: the full implementation replaces this.)
func Normalize(spec pipeline.FieldSpec, raw string) (value, currency string, err error) {
	return strings.Join(strings.Fields(raw), " "), "", nil
}
