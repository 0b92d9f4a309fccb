package evals

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// Metrics aggregates row scores. Accuracies are given two ways:
//
//   - Macro: averaged within each group first (per row, then over the
//     group's rows), then across groups, as the corpus README asks, so a
//     document rendered in four profiles counts once, not four times.
//   - Micro: the plain share of labelled values that match.
//
// Business metrics (straight-through processing, cost and latency per
// document) are to be added next to these, not mixed into them.
type Metrics struct {
	// Rows is the number of row scores given; Scored + Skipped == Rows.
	Rows    int `json:"rows"`
	Scored  int `json:"scored"`
	Skipped int `json:"skipped"`
	// Groups is the number of distinct groups among scored rows.
	Groups int `json:"groups"`
	// Values is the number of labelled values scored (field results).
	Values int `json:"values"`
	// Fields has one entry per field with at least one labelled value,
	// in schema order (invoice, then nda), then alphabetical.
	Fields []Accuracy `json:"fields"`
	// Overall is over all fields: its macro averages each row's fields
	// (each field once, whatever its number of values), then rows within
	// groups, then groups; its micro is the share of all values.
	Overall Accuracy `json:"overall"`
	// Items is the item-level score of line items, over rows that label them.
	Items ItemAccuracy `json:"items"`
}

// Accuracy is how often a field's labelled values were extracted right.
type Accuracy struct {
	Field string `json:"field"`
	// Groups and Rows count those with at least one labelled value; N
	// counts the values (a row has one per scalar field, one per labelled
	// line for a line item subfield).
	Groups int `json:"groups"`
	Rows   int `json:"rows"`
	N      int `json:"n"`
	// Correct is the sum of value scores (a set scores its F1).
	Correct float64 `json:"correct"`
	Macro   float64 `json:"macro"`
	Micro   float64 `json:"micro"`
}

// ItemAccuracy is the item-level precision, recall and F1 of line items:
// micro from the summed counts, macro averaged per row, then group.
type ItemAccuracy struct {
	Groups    int `json:"groups"`
	Rows      int `json:"rows"`
	Expected  int `json:"expected"`
	Predicted int `json:"predicted"`
	Matched   int `json:"matched"`

	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`

	MacroPrecision float64 `json:"macro_precision"`
	MacroRecall    float64 `json:"macro_recall"`
	MacroF1        float64 `json:"macro_f1"`
}

// groupMeans collects per-row values by group and averages them within
// each group, then across groups. Groups are visited in sorted order and
// rows in the order given, so the result does not depend on map order.
type groupMeans map[string][]float64

func (g groupMeans) add(group string, v float64) { g[group] = append(g[group], v) }

func (g groupMeans) mean() float64 {
	if len(g) == 0 {
		return 0
	}
	sum := 0.0
	for _, k := range slices.Sorted(maps.Keys(g)) {
		sum += mean(g[k])
	}
	return sum / float64(len(g))
}

func (g groupMeans) rows() int {
	n := 0
	for _, v := range g {
		n += len(v)
	}
	return n
}

func mean(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	sum := 0.0
	for _, v := range vs {
		sum += v
	}
	return sum / float64(len(vs))
}

// Aggregate computes metrics from row scores. Rows are visited sorted by
// ID, so the result does not depend on the order of scores.
func Aggregate(scores []RowScore) Metrics {
	scores = slices.Clone(scores)
	slices.SortStableFunc(scores, func(a, b RowScore) int { return strings.Compare(a.ID, b.ID) })

	m := Metrics{Rows: len(scores)}
	type acc struct {
		n       int
		correct float64
		rows    groupMeans
	}
	fields := map[string]*acc{}
	overall := &acc{rows: groupMeans{}}
	groups := map[string]bool{}
	itemF1, itemP, itemR := groupMeans{}, groupMeans{}, groupMeans{}

	for _, s := range scores {
		if !s.Scored() {
			m.Skipped++
			continue
		}
		m.Scored++
		groups[s.Group] = true

		// Per field: the mean of the row's values for it.
		var order []string
		perRow := map[string][]float64{}
		for _, r := range s.Fields {
			if _, ok := perRow[r.Field]; !ok {
				order = append(order, r.Field)
			}
			perRow[r.Field] = append(perRow[r.Field], r.Score)
			m.Values++
			overall.n++
			overall.correct += r.Score
			a := fields[r.Field]
			if a == nil {
				a = &acc{rows: groupMeans{}}
				fields[r.Field] = a
			}
			a.n++
			a.correct += r.Score
		}
		var rowFields []float64
		for _, f := range order {
			v := mean(perRow[f])
			fields[f].rows.add(s.Group, v)
			rowFields = append(rowFields, v)
		}
		if len(rowFields) > 0 {
			overall.rows.add(s.Group, mean(rowFields))
		}

		if it := s.Items; it.Labelled {
			m.Items.Expected += it.Expected
			m.Items.Predicted += it.Predicted
			m.Items.Matched += it.Matched
			itemF1.add(s.Group, it.F1)
			itemP.add(s.Group, it.Precision)
			itemR.add(s.Group, it.Recall)
		}
	}
	m.Groups = len(groups)

	accuracy := func(name string, a *acc) Accuracy {
		out := Accuracy{Field: name, Groups: len(a.rows), Rows: a.rows.rows(), N: a.n, Correct: a.correct, Macro: a.rows.mean()}
		if a.n > 0 {
			out.Micro = a.correct / float64(a.n)
		}
		return out
	}
	for _, f := range fieldOrder(slices.Collect(maps.Keys(fields))) {
		m.Fields = append(m.Fields, accuracy(f, fields[f]))
	}
	m.Overall = accuracy("all fields", overall)

	it := &m.Items
	it.Groups, it.Rows = len(itemF1), itemF1.rows()
	if it.Rows > 0 {
		it.Precision, it.Recall, it.F1 = prf(it.Matched, it.Expected, it.Predicted)
		it.MacroPrecision, it.MacroRecall, it.MacroF1 = itemP.mean(), itemR.mean(), itemF1.mean()
	}
	return m
}

// fieldOrder sorts field names in schema order (invoice, then nda), then
// alphabetically.
func fieldOrder(names []string) []string {
	rank := map[string]int{}
	for _, schema := range schemaOrder {
		for _, f := range fieldKinds[schema] {
			if _, ok := rank[f.name]; !ok {
				rank[f.name] = len(rank)
			}
		}
	}
	slices.SortFunc(names, func(a, b string) int {
		ra, oka := rank[a]
		rb, okb := rank[b]
		switch {
		case oka && okb:
			return ra - rb
		case oka:
			return -1
		case okb:
			return 1
		}
		return strings.Compare(a, b)
	})
	return names
}

// WriteTable writes the metrics as a plain-text table for terminals: one
// line per field (groups, labelled values, macro and micro accuracy), all
// fields, line item F1 and the counts.
func (m Metrics) WriteTable(w io.Writer) error {
	_, err := io.WriteString(w, m.Table())
	return err
}

// Table returns the text WriteTable writes.
func (m Metrics) Table() string {
	const itemsName = "line_items (item F1)"
	type line struct {
		name         string
		groups, n    int
		macro, micro float64
	}
	var lines []line
	for _, a := range m.Fields {
		lines = append(lines, line{a.Field, a.Groups, a.N, a.Macro, a.Micro})
	}
	lines = append(lines, line{m.Overall.Field, m.Overall.Groups, m.Overall.N, m.Overall.Macro, m.Overall.Micro})
	if m.Items.Rows > 0 {
		lines = append(lines, line{itemsName, m.Items.Groups, m.Items.Expected, m.Items.MacroF1, m.Items.F1})
	}
	width := len("field")
	for _, l := range lines {
		width = max(width, len(l.name))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-*s  %6s  %6s  %6s  %6s\n", width, "field", "groups", "n", "macro", "micro")
	for i, l := range lines {
		if i == len(m.Fields) {
			b.WriteString(strings.Repeat("-", width+2+4*8-2) + "\n")
		}
		fmt.Fprintf(&b, "%-*s  %6d  %6d  %6.3f  %6.3f\n", width, l.name, l.groups, l.n, l.macro, l.micro)
	}
	fmt.Fprintf(&b, "rows: %d scored, %d skipped; %d groups; %d values\n", m.Scored, m.Skipped, m.Groups, m.Values)
	if m.Items.Rows > 0 {
		fmt.Fprintf(&b, "line items: %d labelled, %d extracted, %d matched; precision %.3f, recall %.3f (micro)\n",
			m.Items.Expected, m.Items.Predicted, m.Items.Matched, m.Items.Precision, m.Items.Recall)
	}
	return b.String()
}
