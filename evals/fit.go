package evals

import (
	"cmp"
	"math"
	"slices"
	"strings"
)

// Family is the source family of a dataset group, the unit held out when
// measuring generalisation: the group's prefix ("i2d:oyo" -> "i2d",
// "synth:grid" -> "synth:grid" for synthetic layouts, each its own family),
// with the ZUGFeRD samples of other producers (Konik, atgp,
// python-factur-x: "z:...") together as "zugferd-other".
func Family(group string) string {
	prefix, rest, ok := strings.Cut(group, ":")
	switch {
	case !ok:
		return group
	case prefix == "synth":
		layout, _, _ := strings.Cut(rest, ":")
		return "synth:" + layout
	case prefix == "z":
		return "zugferd-other"
	}
	return prefix
}

// Families returns the distinct families of the rows' groups, sorted.
func Families(rows []Row) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range rows {
		f := Family(r.Group)
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return out
}

// CoordinateAscent maximizes f from x0 one coordinate at a time: each
// sweep tries every coordinate at x±step and x±step/2 and keeps
// a change only when f rises by more than tol; ties keep the current
// value, so the result depends on nothing but f, x0 and steps. It stops
// after sweeps sweeps or a sweep without change, and returns the best x
// and f(x).
func CoordinateAscent(x0, steps []float64, f func([]float64) float64, sweeps int, tol float64) ([]float64, float64) {
	x := slices.Clone(x0)
	best := f(x)
	for range sweeps {
		changed := false
		for i := range x {
			if steps[i] == 0 {
				continue
			}
			orig := x[i]
			bestV := orig
			for _, m := range []float64{-1, -0.5, 0.5, 1} {
				x[i] = orig + m*steps[i]
				if v := f(x); v > best+tol {
					best, bestV = v, x[i]
					changed = true
				}
			}
			x[i] = bestV
		}
		if !changed {
			break
		}
	}
	return x, best
}

// Sample is one prediction to calibrate: its features and whether it was
// right.
type Sample struct {
	X       []float64
	Correct bool
	// Group weighs samples: every group (a document rendered several
	// times counts once) gets the same total weight.
	Group string
}

// FitLogistic fits P(correct) = σ(w·x + b) by gradient descent on the
// weighted log loss with an L2 penalty l2 on w (not b); samples of a group
// share the group's weight of 1. It is deterministic: fixed iterations,
// fixed step, samples in the given order.
func FitLogistic(samples []Sample, l2 float64) (w []float64, b float64) {
	if len(samples) == 0 {
		return nil, 0
	}
	n := len(samples[0].X)
	w = make([]float64, n)
	perGroup := map[string]int{}
	for _, s := range samples {
		perGroup[s.Group]++
	}
	weight := make([]float64, len(samples))
	total := 0.0
	for i, s := range samples {
		weight[i] = 1 / float64(perGroup[s.Group])
		total += weight[i]
	}
	const iters, lr = 3000, 0.5
	gw := make([]float64, n)
	for range iters {
		for j := range gw {
			gw[j] = l2 * w[j]
		}
		gb := 0.0
		for i, s := range samples {
			z := b
			for j, x := range s.X {
				z += w[j] * x
			}
			y := 0.0
			if s.Correct {
				y = 1
			}
			d := (sigmoid(z) - y) * weight[i] / total
			for j, x := range s.X {
				gw[j] += d * x
			}
			gb += d
		}
		for j := range w {
			w[j] -= lr * gw[j]
		}
		b -= lr * gb
	}
	return w, b
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

// Sigmoid is the logistic function.
func Sigmoid(z float64) float64 { return sigmoid(z) }

// Bin is one row of a reliability table: predictions in [Low, High), how
// many, their mean prediction and the share that were right.
type Bin struct {
	Low       float64 `json:"low"`
	High      float64 `json:"high"`
	N         int     `json:"n"`
	Predicted float64 `json:"predicted"`
	Observed  float64 `json:"observed"`
}

// Reliability bins predictions of P(correct) into bins equal-width bins
// and compares the mean prediction with the observed rate in each.
func Reliability(p []float64, correct []bool, bins int) []Bin {
	out := make([]Bin, bins)
	for i := range out {
		out[i].Low, out[i].High = float64(i)/float64(bins), float64(i+1)/float64(bins)
	}
	for i, x := range p {
		k := min(bins-1, max(0, int(x*float64(bins))))
		out[k].N++
		out[k].Predicted += x
		if correct[i] {
			out[k].Observed++
		}
	}
	for i := range out {
		if out[i].N > 0 {
			out[i].Predicted /= float64(out[i].N)
			out[i].Observed /= float64(out[i].N)
		}
	}
	return out
}

// ECE is the expected calibration error of a reliability table: the
// mean over predictions of |predicted - observed| of their bin.
func ECE(bins []Bin) float64 {
	n, sum := 0, 0.0
	for _, b := range bins {
		n += b.N
		sum += float64(b.N) * math.Abs(b.Predicted-b.Observed)
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// AutomationPoint is, at a threshold, the share of documents let through
// and the share of those fully right.
type AutomationPoint struct {
	Threshold  float64 `json:"threshold"`
	Automation float64 `json:"automation"`
	Accuracy   float64 `json:"accuracy"`
	N          int     `json:"n"`
}

// AutomationCurve is the automation and accuracy at every distinct
// confidence, macro-averaged over groups like the business metrics.
func AutomationCurve(conf []float64, right []bool, groups []string) []AutomationPoint {
	ts := slices.Clone(conf)
	slices.Sort(ts)
	ts = slices.Compact(ts)
	var out []AutomationPoint
	for _, t := range ts {
		auto, acc := groupMeans{}, groupMeans{}
		n := 0
		for i, c := range conf {
			a := 0.0
			if c >= t {
				a = 1
				n++
				r := 0.0
				if right[i] {
					r = 1
				}
				acc.add(groups[i], r)
			}
			auto.add(groups[i], a)
		}
		out = append(out, AutomationPoint{Threshold: t, Automation: auto.mean(), Accuracy: acc.mean(), N: n})
	}
	slices.SortFunc(out, func(a, b AutomationPoint) int { return cmp.Compare(a.Threshold, b.Threshold) })
	return out
}
