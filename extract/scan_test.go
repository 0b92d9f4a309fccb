package extract

import (
	"math/rand/v2"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// The patterns the scanners replace: the scanners must find exactly what
// these find.
var (
	numberRunPattern = regexp.MustCompile(`\d[\d.,'’]*`)
	numDatePattern   = regexp.MustCompile(`(?:^|[^\d.,/-])(\d{1,2})\s?([./-])\s?(\d{1,2})\s?([./-])\s?(\d{4}|\d{2})(?:$|[^\d])`)
	isoDatePattern   = regexp.MustCompile(`(?:^|[^\d.,/-])(\d{4})([-/.])(\d{1,2})([-/.])(\d{1,2})(?:$|[^\d])`)
	basicDatePattern = regexp.MustCompile(`(?:^|[^\d])((?:19|20)\d{6})(?:$|[^\d])`)
)

func checkScanners(t *testing.T, s string) {
	t.Helper()
	for _, c := range []struct {
		name string
		got  [][]int
		want [][]int
	}{
		{"NumberRuns", NumberRuns(s), numberRunPattern.FindAllStringIndex(s, -1)},
		{"NumDates", NumDates(s), numDatePattern.FindAllStringSubmatchIndex(s, -1)},
		{"ISODates", ISODates(s), isoDatePattern.FindAllStringSubmatchIndex(s, -1)},
		{"BasicDates", BasicDates(s), basicDatePattern.FindAllStringSubmatchIndex(s, -1)},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Fatalf("%s(%q) = %v, the pattern finds %v", c.name, s, c.got, c.want)
		}
	}
}

func TestScannersMatchTheirPatterns(t *testing.T) {
	for _, s := range []string{
		"", "1", "12.03.2024", "12.03.2024 13.03.2024", "12.03.2024  13.03.2024", "x12.03.2024y",
		"1/2/24", "1 / 2 / 2024", "01.02.20245", "2024-03-01", "2024-3-1T10:00", "20240301", "120240301",
		"Rechnung vom 1.2.2024, fällig 15.02.2024", "1.234,56 €", "12’345.00", "1'234.5", "€1.234,56-",
		"31.12.99", "a-1.1.2024", ",1.1.2024", "1.1.2024.", "\xff1.1.2024\xff", "é01/02/2024é",
		"19991231 20000101", "2024/12/31/2024", "1.1.1.1.2024", "12.12.12.12",
	} {
		checkScanners(t, s)
	}
	// Random strings over the characters the patterns care about (seeded:
	// the same strings every run).
	alphabet := []string{"0", "1", "2", "9", "19", "20", ".", "/", "-", ",", " ", "\t", "\n", "a", "é", "’", "'", "\xff"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		n := r.IntN(24)
		b := make([]byte, 0, n*2)
		for range n {
			b = append(b, alphabet[r.IntN(len(alphabet))]...)
		}
		checkScanners(t, string(b))
	}
}

func FuzzScanners(f *testing.F) {
	for _, s := range []string{"12.03.2024 13.03.2024", "2024-03-01", "20240301", "1 234,56", "1 / 2 / 24"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkScanners(t, s) })
}

// foldTextSlow is foldText without its ASCII shortcut.
func foldTextSlow(s string) string {
	var b strings.Builder
	for _, r := range norm.NFKD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(foldRune(unicode.ToLower(r)))
	}
	return b.String()
}

func TestFoldTextASCIIShortcut(t *testing.T) {
	for c := range 128 {
		s := "Ab" + string(rune(c)) + "Z`"
		if got, want := foldText(s), foldTextSlow(s); got != want {
			t.Fatalf("foldText(%q) = %q, want %q", s, got, want)
		}
	}
}
