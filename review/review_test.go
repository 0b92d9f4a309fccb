package review

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/extractor-dev/extractor/extract"
	"github.com/extractor-dev/extractor/pipeline"
)

func invoiceSchema(t *testing.T) pipeline.Schema {
	t.Helper()
	s, err := extract.Builtin("invoice")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var testDoc = pipeline.Document{ID: "d1", Pages: []pipeline.Page{{Number: 1, Status: pipeline.PageText, Lines: []pipeline.Line{
	{Text: "ACME GmbH, Hauptstraße 1, Berlin"},
	{Text: "Rechnung Nr. RE-1  Datum: 05.03.2024  Fällig: 04.04.2024"},
	{Text: "Widgets   2   10,00   20,00"},
	{Text: "Bolts   1   80,00   80,00"},
	{Text: "Netto 100,00 €   MwSt. 19,00 €   Gesamt 119,00 €"},
}}}}

// extraction is what an extractor read: a wrong total (arithmetic issue),
// a label as the vendor, two line items, the second with an issue.
func extraction() pipeline.Extraction {
	ev := func(q string) pipeline.Evidence { return pipeline.Evidence{Page: 1, Quote: q} }
	f := func(v, q string) pipeline.Field {
		return pipeline.Field{Value: v, Raw: v, Evidence: ev(q), Grounded: true, Confidence: 0.9}
	}
	return pipeline.Extraction{DocumentID: "d1", Schema: pipeline.SchemaRef{Name: "invoice", Version: "1"},
		Fields: map[string]pipeline.Field{
			"vendor_name":  f("Address", "Address"),
			"net_amount":   f("100.00", "Netto 100,00 €"),
			"tax_amount":   f("19.00", "MwSt. 19,00 €"),
			"total_amount": f("191.00", "Gesamt 119,00 €"),
			"issue_date":   f("2024-03-05", "Datum: 05.03.2024"),
		},
		Lists: map[string][]pipeline.Item{"line_items": {
			{Fields: map[string]pipeline.Field{"description": f("Widgets", "Widgets   2   10,00   20,00"), "amount": f("20.00", "Widgets   2   10,00   20,00")},
				Evidence: ev("Widgets   2   10,00   20,00"), Grounded: true},
			{Fields: map[string]pipeline.Field{"description": f("Bolts", "Bolts   1   80,00   80,00"), "amount": f("80.00", "Bolts   1   80,00   80,00")},
				Evidence: ev("Bolts   1   80,00   80,00"), Grounded: true},
		}},
		Issues: []pipeline.Issue{
			{Field: "line_items[1].amount", Code: pipeline.IssueImplausible, Severity: pipeline.SeverityWarn, Message: "x"},
			{Field: "line_items[0].amount", Code: pipeline.IssueImplausible, Severity: pipeline.SeverityWarn, Message: "y"},
			{Field: "total_amount", Code: pipeline.IssueArithmetic, Severity: pipeline.SeverityFail, Message: "z"},
			{Field: "vendor_name", Code: pipeline.IssueImplausible, Severity: pipeline.SeverityFail, Message: "a label"},
		},
		Confidence: 0.4,
	}
}

func issueList(x pipeline.Extraction) []string {
	var out []string
	for _, is := range x.Issues {
		out = append(out, is.Field+":"+is.Code)
	}
	slices.Sort(out)
	return out
}

func TestParsePath(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Path
		err  bool
	}{
		{"total_amount", Path{Field: "total_amount", Index: -1}, false},
		{"line_items", Path{Field: "line_items", Index: -1}, false},
		{"line_items[12]", Path{Field: "line_items", Index: 12}, false},
		{"line_items[0].unit_price", Path{Field: "line_items", Index: 0, Sub: "unit_price"}, false},
		{"", Path{}, true},
		{"line_items[-1]", Path{}, true},
		{"line_items[1]amount", Path{}, true},
		{"line_items.amount", Path{}, true},
		{"total amount", Path{}, true},
		{"a[1].b[2]", Path{}, true},
		{"a[1234567]", Path{}, true},
	} {
		got, err := ParsePath(tt.in)
		if (err != nil) != tt.err || (err == nil && got != tt.want) {
			t.Errorf("ParsePath(%q) = %+v, %v", tt.in, got, err)
		}
		if err == nil && got.String() != tt.in {
			t.Errorf("%+v.String() = %q, want %q", got, got.String(), tt.in)
		}
	}
}

func TestApply(t *testing.T) {
	s := invoiceSchema(t)
	ev := func(q string) *pipeline.ChangeEvidence { return &pipeline.ChangeEvidence{Page: 1, Quote: q} }
	tests := []struct {
		name    string
		changes []pipeline.Change
		check   func(t *testing.T, x pipeline.Extraction, cs []pipeline.Correction)
	}{
		{"a typed value is normalized, vouched for, and its issues go",
			[]pipeline.Change{{Op: "set", Field: "vendor_name", Value: "  ACME   GmbH ", Reason: "the label was taken for the name"}},
			func(t *testing.T, x pipeline.Extraction, cs []pipeline.Correction) {
				f := x.Fields["vendor_name"]
				if f.Value != "ACME GmbH" || f.Confidence != 1 || f.Origin != pipeline.OriginReview || f.Grounded {
					t.Errorf("vendor %+v", f)
				}
				if len(cs) != 1 || cs[0].Before.Value != "Address" || cs[0].After.Value != "ACME GmbH" || cs[0].Reason != "the label was taken for the name" || cs[0].Op != "set" {
					t.Errorf("corrections %+v", cs)
				}
				if got := issueList(x); slices.Contains(got, "vendor_name:implausible") || !slices.Contains(got, "total_amount:arithmetic") {
					t.Errorf("issues %v", got)
				}
			}},
		{"a value picked on the page is grounded; the arithmetic checks again",
			[]pipeline.Change{{Op: "set", Field: "total_amount", Value: "119,00", Evidence: &pipeline.ChangeEvidence{Page: 1, Quote: "Gesamt 119,00 €",
				Box: &pipeline.Box{X0: 400, Y0: 700, X1: 520, Y1: 712}}}},
			func(t *testing.T, x pipeline.Extraction, cs []pipeline.Correction) {
				f := x.Fields["total_amount"]
				if f.Value != "119.00" || !f.Grounded || f.Page != 1 || f.Quote != "Gesamt 119,00 €" || f.Currency != "" {
					t.Errorf("total %+v", f)
				}
				if cs[0].Box == nil || cs[0].Box.X1 != 520 {
					t.Errorf("box %+v", cs[0].Box)
				}
				if got := issueList(x); slices.Contains(got, "total_amount:arithmetic") {
					t.Errorf("issues %v", got)
				}
			}},
		{"line items: edit, add and remove, in order",
			[]pipeline.Change{
				{Op: "set", Field: "line_items[0].amount", Value: "20,00"},
				{Op: "remove", Field: "line_items[0]", Reason: "a duplicate"},
				{Op: "add", Field: "line_items", Item: map[string]string{"description": "Nuts", "quantity": "3", "amount": "0,00"}},
				{Op: "set", Field: "line_items[1].description", Value: "Nuts (box)"},
			},
			func(t *testing.T, x pipeline.Extraction, cs []pipeline.Correction) {
				items := x.Lists["line_items"]
				if len(items) != 2 || items[0].Fields["description"].Value != "Bolts" || items[1].Fields["description"].Value != "Nuts (box)" ||
					items[1].Fields["quantity"].Value != "3" || items[1].Fields["amount"].Value != "0.00" {
					t.Fatalf("items %+v", items)
				}
				if items[1].Grounded {
					t.Error("a typed element is not grounded")
				}
				// The edit of amount 20.00 is no change: three corrections.
				if len(cs) != 3 || cs[0].Op != "remove" || cs[0].Item.Fields["description"].Value != "Widgets" || cs[1].Op != "add" || cs[2].Field != "line_items[1].description" {
					t.Errorf("corrections %+v", cs)
				}
				// The removed element's issue is gone, the next one's moved up.
				if got := issueList(x); !slices.Contains(got, "line_items[0].amount:implausible") || slices.Contains(got, "line_items[1].amount:implausible") {
					t.Errorf("issues %v", got)
				}
			}},
		{"an element picked on the page is grounded",
			[]pipeline.Change{{Op: "add", Field: "line_items", Item: map[string]string{"description": "Widgets", "amount": "20,00"}, Evidence: ev("Widgets   2   10,00   20,00")}},
			func(t *testing.T, x pipeline.Extraction, cs []pipeline.Correction) {
				it := x.Lists["line_items"][2]
				if !it.Grounded || it.Page != 1 || !it.Fields["amount"].Grounded {
					t.Errorf("item %+v", it)
				}
			}},
		{"the same value again changes nothing",
			[]pipeline.Change{{Op: "set", Field: "issue_date", Value: "5.3.2024"}, {Op: "set", Field: "due_date", Value: ""}},
			func(t *testing.T, x pipeline.Extraction, cs []pipeline.Correction) {
				if len(cs) != 0 || x.Fields["issue_date"].Confidence != 0.9 {
					t.Errorf("corrections %+v, date %+v", cs, x.Fields["issue_date"])
				}
			}},
		{"the same value with its evidence is a correction of the evidence",
			[]pipeline.Change{{Op: "set", Field: "issue_date", Value: "05.03.2024", Evidence: ev("Rechnung Nr. RE-1  Datum: 05.03.2024")}},
			func(t *testing.T, x pipeline.Extraction, cs []pipeline.Correction) {
				if len(cs) != 1 || x.Fields["issue_date"].Quote != "Rechnung Nr. RE-1  Datum: 05.03.2024" {
					t.Errorf("corrections %+v", cs)
				}
			}},
		{"clearing a required field is a correction and a missing issue",
			[]pipeline.Change{{Op: "set", Field: "total_amount", Value: ""}},
			func(t *testing.T, x pipeline.Extraction, cs []pipeline.Correction) {
				if _, ok := x.Fields["total_amount"]; ok || len(cs) != 1 || cs[0].After != nil || cs[0].Before.Value != "191.00" {
					t.Errorf("total %+v, corrections %+v", x.Fields["total_amount"], cs)
				}
				if got := issueList(x); !slices.Contains(got, "total_amount:missing") {
					t.Errorf("issues %v", got)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := extraction()
			keep, _ := json.Marshal(in)
			x, cs, err := Apply(testDoc, s, in, tt.changes)
			if err != nil {
				t.Fatal(err)
			}
			if now, _ := json.Marshal(in); string(now) != string(keep) {
				t.Error("Apply changed its input")
			}
			tt.check(t, x, cs)
			// Replaying the corrections on the extraction gives the same
			// values: the current values are the extraction plus its
			// corrections, in order.
			replayed, skipped := Replay(s, extraction(), cs)
			if len(skipped) > 0 {
				t.Errorf("skipped %v", skipped)
			}
			a, _ := json.Marshal(x)
			b, _ := json.Marshal(replayed)
			if string(a) != string(b) {
				t.Errorf("replay differs:\n%s\n%s", a, b)
			}
		})
	}
}

func TestApplyRefuses(t *testing.T) {
	s := invoiceSchema(t)
	for _, tt := range []struct {
		name    string
		changes []pipeline.Change
		want    []string // pointer: part of the detail
	}{
		{"unknown field", []pipeline.Change{{Op: "set", Field: "colour", Value: "red"}}, []string{"/changes/0/field: not a field"}},
		{"bad path", []pipeline.Change{{Op: "set", Field: "line_items.0", Value: "x"}}, []string{"/changes/0/field: not a field path"}},
		{"bad op", []pipeline.Change{{Op: "replace", Field: "total_amount", Value: "1"}}, []string{"/changes/0/op: want set, add or remove"}},
		{"invalid value", []pipeline.Change{{Op: "set", Field: "issue_date", Value: "yesterday"}}, []string{"/changes/0/value: "}},
		{"quote without the value", []pipeline.Change{{Op: "set", Field: "total_amount", Value: "120", Evidence: &pipeline.ChangeEvidence{Page: 1, Quote: "Gesamt 119,00 €"}}},
			[]string{"/changes/0/evidence/quote: quote does not contain"}},
		{"evidence without a page", []pipeline.Change{{Op: "set", Field: "total_amount", Value: "119", Evidence: &pipeline.ChangeEvidence{Quote: "Gesamt 119,00 €"}}},
			[]string{"/changes/0/evidence: needs a page"}},
		{"a list set as a whole", []pipeline.Change{{Op: "set", Field: "line_items", Value: "x"}}, []string{"/changes/0/field: is a list"}},
		{"an element of a scalar", []pipeline.Change{{Op: "set", Field: "total_amount[0].x", Value: "x"}}, []string{"/changes/0/field: is not a list"}},
		{"no such element", []pipeline.Change{{Op: "set", Field: "line_items[5].amount", Value: "1"}}, []string{"/changes/0/field: has 2 elements"}},
		{"no such element field", []pipeline.Change{{Op: "set", Field: "line_items[0].colour", Value: "1"}}, []string{"/changes/0/field: \"colour\" is not a field of line_items"}},
		{"add to a scalar", []pipeline.Change{{Op: "add", Field: "total_amount", Item: map[string]string{"a": "1"}}}, []string{"/changes/0/field: add appends"}},
		{"add with a bad field and a bad value", []pipeline.Change{{Op: "add", Field: "line_items", Item: map[string]string{"colour": "1", "amount": "lots"}}},
			[]string{"/changes/0/item/amount: ", "/changes/0/item/colour: not a field"}},
		{"add nothing", []pipeline.Change{{Op: "add", Field: "line_items", Item: map[string]string{"amount": " "}}}, []string{"/changes/0/item: no value"}},
		{"remove a field", []pipeline.Change{{Op: "remove", Field: "line_items[0].amount"}}, []string{"/changes/0/field: remove takes an element"}},
		{"remove past the end, after another remove", []pipeline.Change{{Op: "remove", Field: "line_items[1]"}, {Op: "remove", Field: "line_items[1]"}},
			[]string{"/changes/1/field: has 1 elements"}},
		{"every problem is listed", []pipeline.Change{{Op: "set", Field: "issue_date", Value: "never"}, {Op: "set", Field: "vendor_name", Value: "ok"},
			{Op: "set", Field: "due_date", Value: "later"}}, []string{"/changes/0/value: ", "/changes/2/value: "}},
		{"too long", []pipeline.Change{{Op: "set", Field: "vendor_name", Value: strings.Repeat("x", MaxValueRunes+1)}}, []string{"/changes/0/value: over"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, cs, err := Apply(testDoc, s, extraction(), tt.changes)
			var re *Error
			if !errors.As(err, &re) || !errors.Is(err, pipeline.ErrInvalid) || cs != nil {
				t.Fatalf("Apply = %v, %v; want a *review.Error", cs, err)
			}
			if len(re.Problems) != len(tt.want) {
				t.Fatalf("problems %+v, want %v", re.Problems, tt.want)
			}
			for i, w := range tt.want {
				ptr, detail, _ := strings.Cut(w, ": ")
				if p := re.Problems[i]; p.Pointer != ptr || !strings.Contains(p.Detail, detail) {
					t.Errorf("problem %d = %+v, want %s", i, p, w)
				}
			}
		})
	}
}

func TestReplaySkipsWhatNoLongerFits(t *testing.T) {
	s := invoiceSchema(t)
	_, cs, err := Apply(testDoc, s, extraction(), []pipeline.Change{
		{Op: "set", Field: "line_items[1].amount", Value: "81,00"},
		{Op: "set", Field: "total_amount", Value: "119"},
	})
	if err != nil {
		t.Fatal(err)
	}
	// A newer extraction read one line only.
	newer := extraction()
	newer.Lists["line_items"] = newer.Lists["line_items"][:1]
	x, skipped := Replay(s, newer, cs)
	if !reflect.DeepEqual(skipped, []int{0}) || x.Fields["total_amount"].Value != "119.00" {
		t.Errorf("skipped %v, total %+v", skipped, x.Fields["total_amount"])
	}
	if got := CorrectedFields(cs); !slices.Equal(got, []string{"line_items", "total_amount"}) {
		t.Errorf("CorrectedFields = %v", got)
	}
}
