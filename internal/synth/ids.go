package synth

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// digits returns n random decimal digits; the first is never 0 when
// nonZeroFirst is set.
func digits(rng *rand.Rand, n int, nonZeroFirst bool) string {
	b := make([]byte, n)
	for i := range b {
		d := rng.IntN(10)
		if i == 0 && nonZeroFirst {
			d = 1 + rng.IntN(9)
		}
		b[i] = byte('0' + d)
	}
	return string(b)
}

// vatID returns a VAT identification number of valid format and check digits
// for the country, in normal form (no spaces), and a printed form.
func vatID(rng *rand.Rand, c country) (norm, printed string) {
	switch c {
	case countryDE:
		// DE + 8 digits + ISO 7064 MOD 11,10 check digit.
		body := digits(rng, 8, true)
		norm = "DE" + body + string(byte('0'+mod1110(body)))
		if rng.IntN(2) == 0 {
			return norm, norm
		}
		return norm, norm[:2] + " " + norm[2:5] + " " + norm[5:8] + " " + norm[8:]
	case countryAT:
		// ATU + 7 digits + check digit.
		body := digits(rng, 7, true)
		norm = "ATU" + body + string(byte('0'+atCheck(body)))
		return norm, norm
	case countryFR:
		// FR + 2-digit key + SIREN (9 digits, Luhn-valid).
		siren := luhnComplete(digits(rng, 8, true))
		key := (12 + 3*(atoi(siren)%97)) % 97
		norm = fmt.Sprintf("FR%02d%s", key, siren)
		if rng.IntN(2) == 0 {
			return norm, norm
		}
		return norm, norm[:2] + " " + norm[2:4] + " " + norm[4:7] + " " + norm[7:10] + " " + norm[10:]
	case countryGB:
		// GB + 7 digits + 2 check digits (weights 8..2, sum divisible by 97).
		body := digits(rng, 7, true)
		sum := 0
		for i := range 7 {
			sum += int(body[i]-'0') * (8 - i)
		}
		check := (97 - sum%97) % 97
		norm = fmt.Sprintf("GB%s%02d", body, check)
		if rng.IntN(2) == 0 {
			return norm, norm
		}
		return norm, norm[:2] + " " + norm[2:5] + " " + norm[5:9] + " " + norm[9:]
	}
	return "", ""
}

// mod1110 is the ISO 7064 MOD 11,10 check digit used by German VAT ids.
func mod1110(s string) int {
	p := 10
	for i := range len(s) {
		sum := (int(s[i]-'0') + p) % 10
		if sum == 0 {
			sum = 10
		}
		p = (2 * sum) % 11
	}
	return (11 - p) % 10
}

// atCheck is the Austrian UID check digit over the 7 digits after "ATU".
func atCheck(s string) int {
	sum := 0
	for i := range 7 {
		d := int(s[i] - '0')
		if i%2 == 1 {
			d *= 2
			d = d/10 + d%10
		}
		sum += d
	}
	return (96 - sum) % 10
}

// luhnComplete appends the Luhn check digit to s.
func luhnComplete(s string) string {
	for d := byte('0'); d <= '9'; d++ {
		if luhnValid(s + string(d)) {
			return s + string(d)
		}
	}
	return s + "0"
}

func luhnValid(s string) bool {
	sum := 0
	for i := range len(s) {
		d := int(s[len(s)-1-i] - '0')
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

func atoi(s string) int {
	n := 0 // at most 11 digits here, well inside int64
	for i := range len(s) {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// iban returns an IBAN with valid mod-97 check digits for the country.
func iban(rng *rand.Rand, c country) string {
	var bban string
	switch c {
	case countryDE:
		bban = digits(rng, 8, true) + digits(rng, 10, false)
	case countryAT:
		bban = digits(rng, 5, true) + digits(rng, 11, false)
	case countryFR:
		bankCode, branch, account := digits(rng, 5, true), digits(rng, 5, false), digits(rng, 11, false)
		// RIB key: 97 - (89*bank + 15*branch + 3*account) mod 97.
		key := 97 - (89*int64(atoi(bankCode))+15*int64(atoi(branch))+3*int64(atoi(account)))%97
		bban = fmt.Sprintf("%s%s%s%02d", bankCode, branch, account, key)
	case countryGB:
		letters := make([]byte, 4)
		for i := range letters {
			letters[i] = byte('A' + rng.IntN(26))
		}
		bban = string(letters) + digits(rng, 6, true) + digits(rng, 8, false)
	default:
		return ""
	}
	check := 98 - ibanMod97(bban+c.code()+"00")
	return fmt.Sprintf("%s%02d%s", c.code(), check, bban)
}

// ibanMod97 computes the remainder of the IBAN digit string (letters as
// 10..35) modulo 97.
func ibanMod97(s string) int {
	r := 0
	for i := range len(s) {
		ch := s[i]
		switch {
		case ch >= '0' && ch <= '9':
			r = (r*10 + int(ch-'0')) % 97
		case ch >= 'A' && ch <= 'Z':
			r = (r*100 + int(ch-'A') + 10) % 97
		}
	}
	return r
}

// ibanValid checks an IBAN in normal form (no spaces).
func ibanValid(s string) bool {
	if len(s) < 5 {
		return false
	}
	return ibanMod97(s[4:]+s[:4]) == 1
}

// ibanGroups prints an IBAN in groups of four.
func ibanGroups(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s[i:min(i+4, len(s))])
	}
	return b.String()
}

// invoiceNumber draws an invoice number in one of several house styles; the
// language makes some prefixes likelier.
func invoiceNumber(rng *rand.Rand, l lang, issue time.Time) string {
	y := issue.Year()
	seq := 1 + rng.IntN(480)
	prefix := [...]string{"INV", "RE", "FA"}[l]
	switch rng.IntN(7) {
	case 0:
		return fmt.Sprintf("%s-%d-%04d", prefix, y, seq)
	case 1:
		return fmt.Sprintf("RE-%s/%d", issue.Format("20060102"), 1+rng.IntN(40))
	case 2:
		return fmt.Sprintf("FA-%d-%04d", y, seq)
	case 3:
		return fmt.Sprintf("%d/%d", y, 100+seq)
	case 4:
		return fmt.Sprintf("%s%d%05d", prefix[:1], y%100, 10000+rng.IntN(90000))
	case 5:
		return fmt.Sprintf("%d", 100000+rng.IntN(900000))
	default:
		return fmt.Sprintf("INV-%d-%04d", y, seq)
	}
}
