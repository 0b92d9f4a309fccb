package rules

import (
	"fmt"
	"io"
	"strings"

	"github.com/extractor-dev/extractor/pipeline"
)

// Explanation is how the extractor read a document: for every field, the
// candidates it found (best first, one per value) with the features that
// scored them, the constraints the resolver applied, and the winner.
type Explanation struct {
	DocumentID string             `json:"document_id"`
	Version    string             `json:"version"`
	Fields     []FieldExplanation `json:"fields"`
	// Items is the number of line items read.
	Items int `json:"items"`
}

// FieldExplanation is one field's reading.
type FieldExplanation struct {
	Field string `json:"field"`
	// Chosen is the winner's value ("" when nothing was chosen).
	Chosen string `json:"chosen"`
	// Why is the line kept on the extracted value (pipeline.Field.Why).
	Why string `json:"why,omitempty"`
	// Margin is the winner's lead over its best alternative (another
	// value or none), in score points, constraints included.
	Margin      float64          `json:"margin"`
	Constraints []string         `json:"constraints,omitempty"`
	Signals     pipeline.Signals `json:"signals"`
	Candidates  []CandidateView  `json:"candidates"`
}

// CandidateView is a candidate as an explanation shows it.
type CandidateView struct {
	Value  string  `json:"value"`
	Raw    string  `json:"raw"`
	Page   int     `json:"page"`
	Quote  string  `json:"quote"`
	Source string  `json:"source"`
	Label  string  `json:"label,omitempty"`
	Score  float64 `json:"score"`
	// Support counts the places that read this value.
	Support int    `json:"support"`
	Terms   []Term `json:"terms"`
	Chosen  bool   `json:"chosen,omitempty"`
}

// Term is one feature's share of a candidate's score.
type Term struct {
	Feature string  `json:"feature"`
	Value   float64 `json:"value"`
	Points  float64 `json:"points"`
}

// Explain reads doc for s and returns every field's candidates and why
// the winner won. It reads exactly as Extract does.
func (e *Extractor) Explain(doc pipeline.Document, s pipeline.Schema) Explanation {
	w := e.weights()
	rd := e.reading(doc, s)
	x := Explanation{DocumentID: doc.ID, Version: e.Version(), Items: len(rd.items)}
	for _, spec := range s.Fields {
		if spec.Type == pipeline.TypeArray {
			continue
		}
		fe := FieldExplanation{Field: spec.Name, Why: rd.why(spec.Name), Constraints: rd.notes[spec.Name], Signals: rd.signals(spec.Name)}
		chosen := rd.chosen[spec.Name]
		if chosen != nil {
			fe.Chosen = chosen.Value
			fe.Margin = round3(rd.margin[spec.Name])
		}
		for _, c := range rd.cands[spec.Name] {
			v := CandidateView{Value: c.Value, Raw: c.Raw, Page: c.Page, Quote: c.Quote, Source: c.Source, Label: c.Label,
				Score: round3(c.Score), Support: rd.support[c.key()], Chosen: c == chosen}
			for _, t := range w.terms(c.F) {
				v.Terms = append(v.Terms, Term{Feature: t.Name, Value: round3(t.Value), Points: round3(t.Weighted)})
			}
			fe.Candidates = append(fe.Candidates, v)
		}
		x.Fields = append(x.Fields, fe)
	}
	return x
}

// WriteText prints an explanation for people: per field the winner and
// why, then the other candidates with their scores and features.
func (x Explanation) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "document %s (%s), %d line items\n", short(x.DocumentID), x.Version, x.Items)
	for _, f := range x.Fields {
		if f.Chosen == "" {
			fmt.Fprintf(&b, "\n%s: nothing chosen", f.Field)
		} else {
			fmt.Fprintf(&b, "\n%s = %q: %s", f.Field, f.Chosen, f.Why)
		}
		if len(f.Candidates) == 0 {
			b.WriteString(" (no candidates)\n")
			continue
		}
		b.WriteString("\n")
		for i, c := range f.Candidates {
			if i == 8 {
				fmt.Fprintf(&b, "    ... %d more\n", len(f.Candidates)-i)
				break
			}
			mark := " "
			if c.Chosen {
				mark = "*"
			}
			var terms []string
			for _, t := range c.Terms {
				terms = append(terms, fmt.Sprintf("%s%+.1f", t.Feature, t.Points))
			}
			label := ""
			if c.Label != "" {
				label = fmt.Sprintf(" %q", c.Label)
			}
			fmt.Fprintf(&b, "  %s %7.2f  %-28q p%d %s%s ×%d  [%s]  quote %q\n", mark, c.Score, c.Value, c.Page, c.Source, label, c.Support,
				strings.Join(terms, " "), c.Quote)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
