package evals

import (
	"math"
	"testing"
)

func TestFamily(t *testing.T) {
	for _, c := range []struct{ group, want string }{
		{"i2d:oyo", "i2d"},
		{"mustang:fail1", "mustang"},
		{"fnfe:Facture_FR", "fnfe"},
		{"z:python-factur-x", "zugferd-other"},
		{"synth:w-band", "synth:w-band"},
		{"synth:classic", "synth:classic"},
		{"plain", "plain"},
	} {
		if got := Family(c.group); got != c.want {
			t.Errorf("Family(%q) = %q, want %q", c.group, got, c.want)
		}
	}
}

func TestCoordinateAscent(t *testing.T) {
	// a concave bowl with its top at (3, -2)
	f := func(x []float64) float64 { return -(x[0]-3)*(x[0]-3) - (x[1]+2)*(x[1]+2) }
	x, v := CoordinateAscent([]float64{0, 0}, []float64{1, 1}, f, 10, 1e-12)
	if math.Abs(x[0]-3) > 1e-9 || math.Abs(x[1]+2) > 1e-9 || v != 0 {
		t.Errorf("CoordinateAscent = %v, %v; want [3 -2], 0", x, v)
	}
	// a zero step keeps its coordinate
	x, _ = CoordinateAscent([]float64{0, 0}, []float64{0, 1}, f, 10, 1e-12)
	if x[0] != 0 {
		t.Errorf("a coordinate with step 0 moved: %v", x)
	}
}

func TestFitLogistic(t *testing.T) {
	// right when x > 0.5, from a separable sample
	var s []Sample
	for i := range 20 {
		x := float64(i) / 19
		s = append(s, Sample{X: []float64{x}, Correct: x > 0.5, Group: string(rune('a' + i))})
	}
	w, b := FitLogistic(s, 0.001)
	lo, hi := Sigmoid(b+w[0]*0.1), Sigmoid(b+w[0]*0.9)
	if lo > 0.2 || hi < 0.8 {
		t.Errorf("P(right | 0.1) = %.2f, P(right | 0.9) = %.2f", lo, hi)
	}
	// the same samples give the same fit
	w2, b2 := FitLogistic(s, 0.001)
	if w2[0] != w[0] || b2 != b {
		t.Error("FitLogistic is not deterministic")
	}
}

func TestReliabilityAndECE(t *testing.T) {
	p := []float64{0.95, 0.95, 0.95, 0.95, 0.15, 0.15}
	right := []bool{true, true, true, false, false, false}
	bins := Reliability(p, right, 10)
	if b := bins[9]; b.N != 4 || math.Abs(b.Predicted-0.95) > 1e-9 || b.Observed != 0.75 {
		t.Errorf("top bin %+v", b)
	}
	if b := bins[1]; b.N != 2 || b.Observed != 0 {
		t.Errorf("bin 0.1-0.2 %+v", b)
	}
	// (4·0.2 + 2·0.15) / 6
	if got, want := ECE(bins), (4*0.2+2*0.15)/6; math.Abs(got-want) > 1e-9 {
		t.Errorf("ECE = %v, want %v", got, want)
	}
	if ECE(nil) != 0 {
		t.Error("ECE of nothing")
	}
}

func TestAutomationCurve(t *testing.T) {
	conf := []float64{0.9, 0.9, 0.5, 0.2}
	right := []bool{true, false, true, false}
	groups := []string{"a", "a", "b", "c"}
	c := AutomationCurve(conf, right, groups)
	if len(c) != 3 || c[0].Threshold != 0.2 || c[2].Threshold != 0.9 {
		t.Fatalf("curve %+v", c)
	}
	// at 0.9 only group a is automated (half right): automation 1/3
	if math.Abs(c[2].Automation-1.0/3) > 1e-9 || c[2].Accuracy != 0.5 || c[2].N != 2 {
		t.Errorf("at 0.9: %+v", c[2])
	}
}
