package evals

import (
	"math"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/extractor-dev/extractor/internal/testenv"
	"github.com/extractor-dev/extractor/pipeline"
)

func res(field string, score float64) FieldResult {
	return FieldResult{Field: field, Path: field, Match: score == 1, Score: score}
}

// handScores is a small hand-computed example: group A has three rows
// (one with two fields, one with lines), group B one row, group N one nda
// row, and one row is skipped.
func handScores() []RowScore {
	return []RowScore{
		{ID: "a1", Group: "A", Schema: SchemaInvoice, Fields: []FieldResult{
			res("vendor_name", 1), res("total_amount", 0),
		}},
		{ID: "a2", Group: "A", Schema: SchemaInvoice, Fields: []FieldResult{
			res("vendor_name", 0), res("total_amount", 1),
			res("line_items.description", 1), res("line_items.description", 1), res("line_items.description", 0),
		}, Items: ItemScore{Labelled: true, Expected: 3, Predicted: 2, Matched: 2, Precision: 1, Recall: 2.0 / 3, F1: 0.8}},
		{ID: "a3", Group: "A", Schema: SchemaInvoice, Fields: []FieldResult{
			res("line_items.description", 0),
		}, Items: ItemScore{Labelled: true, Expected: 1, Predicted: 1}},
		{ID: "b1", Group: "B", Schema: SchemaInvoice, Fields: []FieldResult{res("vendor_name", 1)}},
		{ID: "n1", Group: "N", Schema: SchemaNDA, Fields: []FieldResult{res("parties", 0.8), res("term", 1)}},
		{ID: "s1", Group: "C", Schema: SchemaInvoice, Skip: "label_quality mismatch"},
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

func TestAggregateMacroAverage(t *testing.T) {
	m := Aggregate(handScores())
	if m.Rows != 6 || m.Scored != 5 || m.Skipped != 1 || m.Groups != 3 || m.Values != 11 {
		t.Errorf("counts = rows %d scored %d skipped %d groups %d values %d, want 6 5 1 3 11",
			m.Rows, m.Scored, m.Skipped, m.Groups, m.Values)
	}
	want := []Accuracy{
		// A: rows 1, 0 -> 0.5; B: 1. Macro (0.5 + 1) / 2; micro 2/3.
		{Field: "vendor_name", Groups: 2, Rows: 3, N: 3, Correct: 2, Macro: 0.75, Micro: 2.0 / 3},
		{Field: "total_amount", Groups: 1, Rows: 2, N: 2, Correct: 1, Macro: 0.5, Micro: 0.5},
		// A: rows 2/3 and 0 -> 1/3; micro 2 of 4 lines.
		{Field: "line_items.description", Groups: 1, Rows: 2, N: 4, Correct: 2, Macro: 1.0 / 3, Micro: 0.5},
		{Field: "parties", Groups: 1, Rows: 1, N: 1, Correct: 0.8, Macro: 0.8, Micro: 0.8},
		{Field: "term", Groups: 1, Rows: 1, N: 1, Correct: 1, Macro: 1, Micro: 1},
	}
	if len(m.Fields) != len(want) {
		t.Fatalf("fields = %+v", m.Fields)
	}
	for i, w := range want {
		g := m.Fields[i]
		if g.Field != w.Field || g.Groups != w.Groups || g.Rows != w.Rows || g.N != w.N ||
			!near(g.Correct, w.Correct) || !near(g.Macro, w.Macro) || !near(g.Micro, w.Micro) {
			t.Errorf("field %d = %+v, want %+v", i, g, w)
		}
	}
	// Rows: a1 (1+0)/2, a2 (0+1+2/3)/3, a3 0, b1 1, n1 (0.8+1)/2.
	// Groups: A (1/2 + 5/9 + 0)/3 = 19/54, B 1, N 0.9.
	o := m.Overall
	if o.Groups != 3 || o.Rows != 5 || o.N != 11 || !near(o.Macro, (19.0/54+1+0.9)/3) || !near(o.Micro, 6.8/11) {
		t.Errorf("overall = %+v, want macro %v micro %v", o, (19.0/54+1+0.9)/3, 6.8/11)
	}
	// Items: a2 P 1 R 2/3 F1 0.8, a3 all 0, both in A; micro 2 of 3 / 2 of 4.
	it := m.Items
	if it.Groups != 1 || it.Rows != 2 || it.Expected != 4 || it.Predicted != 3 || it.Matched != 2 ||
		!near(it.Precision, 2.0/3) || !near(it.Recall, 0.5) || !near(it.F1, 4.0/7) ||
		!near(it.MacroPrecision, 0.5) || !near(it.MacroRecall, 1.0/3) || !near(it.MacroF1, 0.4) {
		t.Errorf("items = %+v", it)
	}

	// The order of the scores does not matter.
	rev := handScores()
	slices.Reverse(rev)
	if r := Aggregate(rev); !reflect.DeepEqual(r, m) {
		t.Errorf("reversed input:\n%+v\nwant\n%+v", r, m)
	}
}

func TestAggregateEmpty(t *testing.T) {
	m := Aggregate(nil)
	if m.Rows != 0 || len(m.Fields) != 0 || m.Overall.Macro != 0 || m.Items.Rows != 0 {
		t.Errorf("empty = %+v", m)
	}
	want := "field       groups       n   macro   micro\n" +
		"------------------------------------------\n" +
		"all fields       0       0   0.000   0.000\n" +
		"rows: 0 scored, 0 skipped; 0 groups; 0 values\n"
	if got := m.Table(); got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}
}

func TestFieldOrder(t *testing.T) {
	got := fieldOrder([]string{"zeta", "term", "alpha", "line_items.amount", "vendor_name", "total_amount", "effective_date"})
	want := []string{"vendor_name", "total_amount", "line_items.amount", "effective_date", "term", "alpha", "zeta"}
	if !slices.Equal(got, want) {
		t.Errorf("order = %v, want %v", got, want)
	}
}

func TestTableGolden(t *testing.T) {
	const want = `field                   groups       n   macro   micro
vendor_name                  2       3   0.750   0.667
total_amount                 1       2   0.500   0.500
line_items.description       1       4   0.333   0.500
parties                      1       1   0.800   0.800
term                         1       1   1.000   1.000
------------------------------------------------------
all fields                   3      11   0.751   0.618
line_items (item F1)         1       4   0.400   0.571
rows: 5 scored, 1 skipped; 3 groups; 11 values
line items: 4 labelled, 3 extracted, 2 matched; precision 0.667, recall 0.500 (micro)
`
	m := Aggregate(handScores())
	if got := m.Table(); got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}
	var b strings.Builder
	if err := m.WriteTable(&b); err != nil || b.String() != want {
		t.Errorf("WriteTable = %q, %v", b.String(), err)
	}
}

// Scoring an empty extraction for every row of the public corpus misses
// everything: accuracy 0 everywhere, counts as in the labels, and every
// labelled field has a comparator (no "no comparator" reason).
func TestScoreSharedCorpusEmptyExtraction(t *testing.T) {
	d, err := Load(filepath.Join(testenv.CorpusDir(t), "public"))
	if err != nil {
		t.Fatal(err)
	}
	var scores []RowScore
	var scored, values, lines int
	groups := map[string]bool{}
	for _, r := range d.Rows {
		s := ScoreRow(r, pipeline.Extraction{})
		scores = append(scores, s)
		labelled := r.LabelQuality == "verified" || r.LabelQuality == "partial"
		if s.Scored() != labelled {
			t.Errorf("%s (%s): scored %v", r.ID, r.LabelQuality, s.Scored())
		}
		if !labelled {
			continue
		}
		scored++
		groups[r.Group] = true
		for k, v := range r.Expected {
			if k != "line_items" {
				values++
				continue
			}
			for _, it := range v.([]any) {
				lines++
				values += len(it.(map[string]any))
			}
		}
		for _, f := range s.Fields {
			if f.Match || f.Score != 0 || (f.Reason != ReasonMissing && f.Reason != ReasonItemMissing) {
				t.Errorf("%s %s: %+v", r.ID, f.Path, f)
			}
		}
	}
	m := Aggregate(scores)
	if m.Rows != len(d.Rows) || m.Scored != scored || m.Skipped != len(d.Rows)-scored || m.Groups != len(groups) || m.Values != values {
		t.Errorf("counts: rows %d scored %d skipped %d groups %d values %d; want %d %d %d %d %d",
			m.Rows, m.Scored, m.Skipped, m.Groups, m.Values, len(d.Rows), scored, len(d.Rows)-scored, len(groups), values)
	}
	if m.Items.Expected != lines || m.Items.Predicted != 0 || m.Items.Matched != 0 || m.Items.F1 != 0 || m.Items.MacroF1 != 0 {
		t.Errorf("items = %+v, want %d expected and nothing else", m.Items, lines)
	}
	for _, a := range append(m.Fields, m.Overall) {
		if a.Macro != 0 || a.Micro != 0 || a.Correct != 0 {
			t.Errorf("%s: %+v, want accuracy 0", a.Field, a)
		}
	}
	t.Logf("public: %d rows, %d scored in %d groups, %d values, %d labelled lines\n%s",
		m.Rows, m.Scored, m.Groups, m.Values, lines, m.Table())
}

// The labels themselves, given as an extraction, score 1 everywhere: every
// comparator accepts the corpus's normal forms.
func TestScoreSharedCorpusLabelsAsExtraction(t *testing.T) {
	d, err := Load(filepath.Join(testenv.CorpusDir(t), "public"))
	if err != nil {
		t.Fatal(err)
	}
	var scores []RowScore
	for _, r := range d.Rows {
		x := pipeline.Extraction{Fields: map[string]pipeline.Field{}, Lists: map[string][]pipeline.Item{}}
		for k, v := range r.Expected {
			switch v := v.(type) {
			case string:
				x.Fields[k] = pipeline.Field{Value: v, Raw: v}
			case []any:
				for _, e := range v {
					it := pipeline.Item{Fields: map[string]pipeline.Field{}}
					for sk, sv := range e.(map[string]any) {
						it.Fields[sk] = pipeline.Field{Value: sv.(string)}
					}
					x.Lists[k] = append(x.Lists[k], it)
				}
			}
		}
		s := ScoreRow(r, x)
		for _, f := range s.Fields {
			if !f.Match {
				t.Errorf("%s %s: %+v", r.ID, f.Path, f)
			}
		}
		scores = append(scores, s)
	}
	m := Aggregate(scores)
	for _, a := range append(m.Fields, m.Overall) {
		if a.Macro != 1 || a.Micro != 1 {
			t.Errorf("%s: %+v, want accuracy 1", a.Field, a)
		}
	}
	if it := m.Items; it.F1 != 1 || it.MacroF1 != 1 || it.Matched != it.Expected {
		t.Errorf("items = %+v, want F1 1", it)
	}
}
