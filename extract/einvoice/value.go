package einvoice

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Values are normalized as the rest of extractor and the shared corpus's
// labels write them: dates YYYY-MM-DD; money with a dot and at least two
// decimals, without trailing zeros beyond two ("160.0000" is "160.00",
// "0.025" stays); quantities and rates without trailing zeros ("20.000"
// is "20"); VAT ids and IBANs in upper case without whitespace; names with
// runs of whitespace collapsed; identifiers as written, trimmed.

var (
	decimalRe      = regexp.MustCompile(`^[+-]?(\d+\.?\d*|\.\d+)$`)
	commaDecimalRe = regexp.MustCompile(`^[+-]?\d+,\d+$`)
	isoDateRe      = regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})`)
	basicDateRe    = regexp.MustCompile(`^\d{8}$`)
)

// normalize turns a term's raw text into its normal form. A value that
// does not read as its kind is an error (the caller keeps it out and
// warns).
func normalize(k kind, raw, format string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", nil
	}
	switch k {
	case kindText:
		return strings.Join(strings.Fields(s), " "), nil
	case kindCode:
		return strings.ToUpper(s), nil
	case kindIBAN, kindVATID:
		return strings.ToUpper(strings.Join(strings.Fields(s), "")), nil
	case kindDate:
		return normalizeDate(s, format)
	case kindAmount, kindDecimal:
		d, err := parseDecimal(s)
		if err != nil {
			return "", err
		}
		if k == kindAmount {
			return formatMoney(d), nil
		}
		return d.String(), nil
	default:
		return s, nil
	}
}

func parseDecimal(s string) (decimal.Decimal, error) {
	if commaDecimalRe.MatchString(s) {
		// A decimal comma is invalid XML Schema, but a reader must not
		// lose the amount over it.
		s = strings.Replace(s, ",", ".", 1)
	}
	if !decimalRe.MatchString(s) {
		return decimal.Decimal{}, fmt.Errorf("%q is not a decimal number", s)
	}
	return decimal.NewFromString(strings.TrimPrefix(s, "+"))
}

// formatMoney writes d with at least two decimals and no trailing zeros
// beyond them.
func formatMoney(d decimal.Decimal) string {
	s := d.String() // without trailing zeros: "160.0000" is "160"
	if i := strings.IndexByte(s, '.'); i >= 0 && len(s)-i-1 > 2 {
		return s // "0.025"
	}
	return d.StringFixed(2)
}

// normalizeDate reads CII dates (format 102, YYYYMMDD) and UBL dates
// (YYYY-MM-DD, possibly with a time zone).
func normalizeDate(s, format string) (string, error) {
	switch {
	case format != "" && format != "102":
		return "", fmt.Errorf("date %q has format %s (only 102, a calendar day, is a date)", s, format)
	case basicDateRe.MatchString(s):
		t, err := time.Parse("20060102", s)
		if err != nil {
			return "", fmt.Errorf("%q is not a date", s)
		}
		return t.Format("2006-01-02"), nil
	case isoDateRe.MatchString(s):
		t, err := time.Parse("2006-01-02", s[:10])
		if err != nil {
			return "", fmt.Errorf("%q is not a date", s)
		}
		return t.Format("2006-01-02"), nil
	}
	return "", fmt.Errorf("%q is not a date", s)
}

// dateText returns the text and format of a date element: CII wraps the
// date in udt:DateTimeString (qdt:DateTimeString, udt:DateString) with a
// format attribute; ZUGFeRD's release candidate and UBL write it directly.
func dateText(n *node) (text, format string) {
	for _, k := range n.kids {
		if k.local == "DateTimeString" || k.local == "DateString" {
			f, _ := k.attr("format")
			return k.text, f
		}
	}
	f, _ := n.attr("format")
	return n.text, f
}
