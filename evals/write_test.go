package evals

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/extractor-dev/extractor/pipeline"
)

func TestLabelOf(t *testing.T) {
	v := func(s string) pipeline.Field { return pipeline.Field{Value: s, Raw: s + " (raw)"} }
	for _, tt := range []struct {
		name   string
		schema string
		x      pipeline.Extraction
		want   Label
		ok     bool
	}{
		{"invoice: values, items, nothing for empty fields", "invoice", pipeline.Extraction{
			Fields: map[string]pipeline.Field{"vendor_name": v("ACME GmbH"), "total_amount": v("119.00"), "due_date": v(""), "colour": v("red")},
			Lists: map[string][]pipeline.Item{"line_items": {
				{Fields: map[string]pipeline.Field{"description": v("Widgets"), "amount": v("20.00"), "sku": v("W-1")}},
				{Fields: map[string]pipeline.Field{"amount": v("")}},
			}},
		}, Label{"vendor_name": "ACME GmbH", "total_amount": "119.00", "line_items": []any{map[string]any{"description": "Widgets", "amount": "20.00"}}}, true},
		{"nda parties are names", "nda", pipeline.Extraction{
			Fields: map[string]pipeline.Field{"effective_date": v("2024-01-01")},
			Lists:  map[string][]pipeline.Item{"parties": {{Fields: map[string]pipeline.Field{"name": v("Acme Inc.")}}, {Fields: map[string]pipeline.Field{"name": v("Globex")}}}},
		}, Label{"effective_date": "2024-01-01", "parties": []any{"Acme Inc.", "Globex"}}, true},
		{"nothing found", "invoice", pipeline.Extraction{}, Label{}, true},
		{"a schema the format does not label", "purchase_order", pipeline.Extraction{Fields: map[string]pipeline.Field{"po_number": v("PO-1")}}, nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := LabelOf(tt.schema, tt.x)
			if ok != tt.ok || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("LabelOf = %#v, %v; want %#v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestWriteDataset(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "files", "review"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"a.pdf", "b.pdf"} {
		if err := os.WriteFile(filepath.Join(dir, "files", "review", f), []byte("%PDF-1.4"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	src := Source{Repo: "local/review", Path: "a.pdf", License: "proprietary"}
	rows := []Row{
		{ID: "doc-b", File: "files/review/b.pdf", Group: "vendor:globex", Source: src, Schema: "invoice", LabelQuality: "verified",
			Expected: Label{"vendor_name": "Globex", "line_items": []any{map[string]any{"amount": "20.00"}}}},
		{ID: "doc-a", File: "files/review/a.pdf", Group: "vendor:acme", Source: src, Schema: "invoice", LabelQuality: "verified",
			Expected: Label{"total_amount": "119.00"}},
		{ID: "doc-c", File: "files/review/c.pdf", Group: "g", Source: src, Schema: "invoice", LabelQuality: "verified", Expected: Label{"vendor_name": "C"}},
		{ID: "doc-d", File: "files/review/a.pdf", Group: "g", Source: src, Schema: "invoice", LabelQuality: "verified",
			Expected: Label{"total_amount": "119"}},
	}
	err := WriteDataset(dir, rows)
	if err == nil || !strings.Contains(err.Error(), "row doc-c: file") || !strings.Contains(err.Error(), "row doc-d: expected.total_amount") {
		t.Fatalf("WriteDataset: %v", err)
	}
	d, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Rows) != 2 || d.Rows[0].ID != "doc-a" || d.Rows[1].Expected["vendor_name"] != "Globex" || d.Rows[1].LabelQuality != "verified" {
		t.Errorf("loaded %+v", d.Rows)
	}
}
