package rules

import (
	"math/rand/v2"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

func TestCurrencyBeforeIsThePattern(t *testing.T) {
	pieces := []string{"€", "$", "EUR", "USD", "Fr.", "Rs", "Rs.", "SFr", "US$", " ", "-", "−", "(", "a", "B", "1", "x", "é", "Total "}
	r := rand.New(rand.NewPCG(3, 4))
	for range 100000 {
		var b strings.Builder
		for range r.IntN(12) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		s := b.String()
		if got, want := currencyBefore(s), curBeforeRe.FindStringSubmatchIndex(s); !reflect.DeepEqual(got, want) {
			t.Fatalf("currencyBefore(%q) = %v, the pattern finds %v", s, got, want)
		}
	}
}

func TestCurrencyHintIsThePattern(t *testing.T) {
	hint := regexp.MustCompile(`[€$£¥₹]|[A-Z]{3}|Rs|uro|ollar|ound|upee`)
	pieces := []string{"€", "$", "₹", "A", "B", "Z", "R", "s", "u", "ro", "oll", "ar", "ound", "upe", "e", " ", "1", "é", "a"}
	r := rand.New(rand.NewPCG(5, 6))
	for range 100000 {
		var b strings.Builder
		for range r.IntN(10) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		s := b.String()
		if got, want := currencyHint(s), hint.MatchString(s); got != want {
			t.Fatalf("currencyHint(%q) = %v, the pattern says %v", s, got, want)
		}
	}
}
