package rules

import (
	"math/rand/v2"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// randomTexts are n strings of up to most pieces each, the same every
// run (seeded).
func randomTexts(seed uint64, pieces []string, most, n int) []string {
	r := rand.New(rand.NewPCG(seed, seed+1))
	out := make([]string, n)
	for i := range out {
		var b strings.Builder
		for range r.IntN(most) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		out[i] = b.String()
	}
	return out
}

func TestCurrencyBeforeIsThePattern(t *testing.T) {
	pieces := []string{"€", "$", "EUR", "USD", "Fr.", "Rs", "Rs.", "SFr", "US$", " ", "-", "−", "(", "a", "B", "1", "x", "é", "Total "}
	for _, s := range randomTexts(3, pieces, 12, 100000) {
		if got, want := currencyBefore(s), curBeforeRe.FindStringSubmatchIndex(s); !reflect.DeepEqual(got, want) {
			t.Fatalf("currencyBefore(%q) = %v, the pattern finds %v", s, got, want)
		}
	}
}

func TestCurrencyHintIsThePattern(t *testing.T) {
	hint := regexp.MustCompile(`[€$£¥₹]|[A-Z]{3}|Rs|uro|ollar|ound|upee`)
	pieces := []string{"€", "$", "₹", "A", "B", "Z", "R", "s", "u", "ro", "oll", "ar", "ound", "upe", "e", " ", "1", "é", "a"}
	for _, s := range randomTexts(5, pieces, 10, 100000) {
		if got, want := currencyHint(s), hint.MatchString(s); got != want {
			t.Fatalf("currencyHint(%q) = %v, the pattern says %v", s, got, want)
		}
	}
}
