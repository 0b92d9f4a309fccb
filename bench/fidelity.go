// Package bench holds the project's benchmarks (parse fidelity and speed
// against pdftotext, and later store and retrieval benchmarks) and the
// measures they report. It is not imported by the product.
package bench

import (
	"slices"
	"strings"
)

// Fidelity compares extracted text with a reference text of the same pages.
type Fidelity struct {
	// Recall: share of reference words (as a multiset) found in ours.
	Recall float64
	// Precision: share of our words found in the reference.
	Precision float64
	// Order: per page, longest common subsequence of words divided by the
	// reference's word count, summed over pages and divided by all
	// reference words (pages weighted by their words).
	Order float64
	// RefWords and Words count whitespace-separated words.
	RefWords, Words int
}

// Words splits text into whitespace-separated words.
func Words(s string) []string { return strings.Fields(s) }

// Compare scores got against ref, both given page by page.
func Compare(ref, got []string) Fidelity {
	var f Fidelity
	refBag := map[string]int{}
	gotBag := map[string]int{}
	var lcsSum int
	for i := range max(len(ref), len(got)) {
		var rw, gw []string
		if i < len(ref) {
			rw = Words(ref[i])
		}
		if i < len(got) {
			gw = Words(got[i])
		}
		for _, w := range rw {
			refBag[w]++
		}
		for _, w := range gw {
			gotBag[w]++
		}
		f.RefWords += len(rw)
		f.Words += len(gw)
		lcsSum += LCS(rw, gw)
	}
	common := 0
	for w, n := range refBag {
		common += min(n, gotBag[w])
	}
	f.Recall = ratio(common, f.RefWords)
	f.Precision = ratio(common, f.Words)
	f.Order = ratio(lcsSum, f.RefWords)
	return f
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

// LCS returns the length of the longest common subsequence of a and b, in
// O(len(a)·len(b)) time and O(len(b)) memory.
func LCS(a, b []string) int {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	// Intern words so the inner loop compares ints.
	ids := map[string]int32{}
	intern := func(ws []string) []int32 {
		out := make([]int32, len(ws))
		for i, w := range ws {
			id, ok := ids[w]
			if !ok {
				id = int32(len(ids))
				ids[w] = id
			}
			out[i] = id
		}
		return out
	}
	x, y := intern(a), intern(b)
	prev := make([]int32, len(y)+1)
	cur := make([]int32, len(y)+1)
	for i := 1; i <= len(x); i++ {
		for j := 1; j <= len(y); j++ {
			switch {
			case x[i-1] == y[j-1]:
				cur[j] = prev[j-1] + 1
			case prev[j] >= cur[j-1]:
				cur[j] = prev[j]
			default:
				cur[j] = cur[j-1]
			}
		}
		prev, cur = cur, prev
	}
	return int(prev[len(y)])
}

// Median returns the median of xs (0 for none).
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
