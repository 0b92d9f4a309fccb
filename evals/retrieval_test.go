package evals

import (
	"math"
	"testing"
)

func TestRetrievalScores(t *testing.T) {
	q := Question{DocumentID: "d1", Pages: []int{2, 3}}
	if r := q.Rank([]Retrieved{{"d2", 2}, {"d1", 1}, {"d1", 3}}); r != 3 {
		t.Errorf("rank = %d, want 3 (page 1 of d1 is not an answer page)", r)
	}
	// Another rendering of the same invoice answers too.
	q.Also = []Location{{DocumentID: "d9", Pages: []int{1}}}
	if r := q.Rank([]Retrieved{{"d2", 2}, {"d9", 2}, {"d9", 1}, {"d1", 3}}); r != 3 {
		t.Errorf("rank with another rendering = %d, want 3", r)
	}
	if r := q.Rank(nil); r != 0 {
		t.Errorf("rank of nothing = %d", r)
	}
	s := ScoreRanks("hybrid", []int{1, 3, 0, 10, 2}, 1, 5, 10)
	if s.Recall[1] != 0.2 || s.Recall[5] != 0.6 || s.Recall[10] != 0.8 {
		t.Errorf("recall = %v", s.Recall)
	}
	if want := (1 + 1.0/3 + 0 + 0.1 + 0.5) / 5; math.Abs(s.MRR-want) > 1e-12 {
		t.Errorf("MRR = %v, want %v", s.MRR, want)
	}
	if got := RetrievalTable([]RetrievalScore{s}, []int{1, 5}); got != "mode     questions  recall@1  recall@5     MRR\nhybrid           5     0.200     0.600   0.387\n" {
		t.Errorf("table:\n%q", got)
	}
	if z := ScoreRanks("x", nil, 1); z.Questions != 0 || z.MRR != 0 {
		t.Errorf("empty = %+v", z)
	}
}
