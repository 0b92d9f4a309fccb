package pipeline

import "testing"

func TestNeedsReview(t *testing.T) {
	fail := []Issue{{Code: IssueMissing, Severity: SeverityFail}}
	warn := []Issue{{Code: IssueDisagree, Severity: SeverityWarn}}
	for _, c := range []struct {
		name string
		x    Extraction
		want bool
	}{
		{"no estimate, no issue", Extraction{}, false},
		{"a failing issue", Extraction{Issues: fail, Confidence: 0.99}, true},
		{"a warning only, confident", Extraction{Issues: warn, Confidence: 0.9}, false},
		{"confident", Extraction{Confidence: ReviewBelow}, false},
		{"not confident enough", Extraction{Confidence: 0.79}, true},
	} {
		if got := c.x.NeedsReview(); got != c.want {
			t.Errorf("%s: NeedsReview = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestSignalsGet(t *testing.T) {
	s := Signals{Score: 1, Margin: 2, Label: 3, Support: 4, Alternatives: 5, Constraint: 6, Unlabelled: 7, Cues: 8, Grounded: 9, Valid: 10, Agree: 11, Implausible: 12}
	for i, name := range SignalNames {
		if got := s.Get(name); got != float64(i+1) {
			t.Errorf("Get(%q) = %v, want %d", name, got, i+1)
		}
	}
	if s.Get("unknown") != 0 {
		t.Error("an unknown signal is not 0")
	}
}
