package bench

import (
	"math"
	"testing"
)

func TestLCS(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"a b c", "", 0},
		{"a b c", "a b c", 3},
		{"a b c d", "a c d", 3},
		{"a b c", "c b a", 1},
		{"x a y b z c", "a b c", 3},
		{"a a a", "a a", 2},
	}
	for _, tt := range tests {
		if got := LCS(Words(tt.a), Words(tt.b)); got != tt.want {
			t.Errorf("LCS(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestCompare(t *testing.T) {
	tests := []struct {
		name                   string
		ref, got               []string
		recall, precision, ord float64
	}{
		{"identical", []string{"a b c", "d e"}, []string{"a b c", "d e"}, 1, 1, 1},
		{"spacing does not matter", []string{"a  b\nc"}, []string{"a b c"}, 1, 1, 1},
		{"lost spaces", []string{"hello world"}, []string{"helloworld"}, 0, 0, 0},
		{"extra word", []string{"a b"}, []string{"a b c"}, 1, 2.0 / 3, 1},
		{"missing word", []string{"a b c d"}, []string{"a b c"}, 0.75, 1, 0.75},
		{"swapped order", []string{"a b c d"}, []string{"c d a b"}, 1, 1, 0.5},
		{"multiset", []string{"a a a"}, []string{"a"}, 1.0 / 3, 1, 1.0 / 3},
		{"order is per page", []string{"a b", "c d"}, []string{"a b c d", ""}, 1, 1, 0.5},
		{"empty reference", []string{""}, []string{""}, 1, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := Compare(tt.ref, tt.got)
			if !near(f.Recall, tt.recall) || !near(f.Precision, tt.precision) || !near(f.Order, tt.ord) {
				t.Errorf("Compare = recall %.3f precision %.3f order %.3f, want %.3f %.3f %.3f", f.Recall, f.Precision, f.Order, tt.recall, tt.precision, tt.ord)
			}
		})
	}
}

func TestMedian(t *testing.T) {
	for _, tt := range []struct {
		xs   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := Median(tt.xs); got != tt.want {
			t.Errorf("Median(%v) = %v, want %v", tt.xs, got, tt.want)
		}
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
