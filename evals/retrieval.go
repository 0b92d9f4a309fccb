package evals

import (
	"fmt"
	"slices"
	"strings"
)

// Question is a retrieval question whose answer is printed on known pages
// of a known document.
type Question struct {
	ID       string `json:"id"`
	Question string `json:"question"`
	// DocumentID and Pages say where the answer is printed; a hit on any
	// of the pages counts.
	DocumentID string `json:"document_id"`
	Pages      []int  `json:"pages"`
	// Also lists other documents that print the answer: other renderings
	// of the same invoice (a hit on them counts too).
	Also []Location `json:"also,omitempty"`
	// Kind says what is asked ("total", "due_date", "iban", "line_item").
	Kind string `json:"kind"`
	Lang string `json:"lang,omitempty"`
}

// Location is pages of a document.
type Location struct {
	DocumentID string `json:"document_id"`
	Pages      []int  `json:"pages"`
}

// Retrieved is one search result as retrieval scoring sees it.
type Retrieved struct {
	DocumentID string
	Page       int
}

// Rank returns the 1-based rank of the first result on an answer page of
// the question's document, or 0 when none is.
func (q Question) Rank(results []Retrieved) int {
	for i, r := range results {
		if r.DocumentID == q.DocumentID && slices.Contains(q.Pages, r.Page) {
			return i + 1
		}
		for _, l := range q.Also {
			if r.DocumentID == l.DocumentID && slices.Contains(l.Pages, r.Page) {
				return i + 1
			}
		}
	}
	return 0
}

// RetrievalScore aggregates ranks: recall at several k and the mean
// reciprocal rank (0 for a miss).
type RetrievalScore struct {
	Mode      string          `json:"mode"`
	Questions int             `json:"questions"`
	Recall    map[int]float64 `json:"recall"`
	MRR       float64         `json:"mrr"`
}

// ScoreRanks computes recall@k for each k and MRR from 1-based ranks (0 =
// not retrieved).
func ScoreRanks(mode string, ranks []int, ks ...int) RetrievalScore {
	s := RetrievalScore{Mode: mode, Questions: len(ranks), Recall: map[int]float64{}}
	if len(ranks) == 0 {
		return s
	}
	for _, k := range ks {
		hit := 0
		for _, r := range ranks {
			if r > 0 && r <= k {
				hit++
			}
		}
		s.Recall[k] = float64(hit) / float64(len(ranks))
	}
	for _, r := range ranks {
		if r > 0 {
			s.MRR += 1 / float64(r)
		}
	}
	s.MRR /= float64(len(ranks))
	return s
}

// RetrievalTable renders scores as a small table.
func RetrievalTable(scores []RetrievalScore, ks []int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-8s %9s", "mode", "questions")
	for _, k := range ks {
		fmt.Fprintf(&b, " %9s", fmt.Sprintf("recall@%d", k))
	}
	fmt.Fprintf(&b, " %7s\n", "MRR")
	for _, s := range scores {
		fmt.Fprintf(&b, "%-8s %9d", s.Mode, s.Questions)
		for _, k := range ks {
			fmt.Fprintf(&b, " %9.3f", s.Recall[k])
		}
		fmt.Fprintf(&b, " %7.3f\n", s.MRR)
	}
	return b.String()
}

// RetrievalReport is the retrieval part of an eval: each question's rank
// in each search mode, and the scores.
type RetrievalReport struct {
	Embedder  string                      `json:"embedder"`
	Documents int                         `json:"documents"`
	Scores    []RetrievalScore            `json:"scores"`
	ByKind    map[string][]RetrievalScore `json:"by_kind"`
	Questions []RetrievalOutcome          `json:"questions"`
}

// RetrievalOutcome is one question's rank in each mode (0: not in the
// results).
type RetrievalOutcome struct {
	Question
	Ranks map[string]int `json:"ranks"`
}
