package evals

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/extractor-dev/extractor/pipeline"
)

func TestEInvoiceLabel(t *testing.T) {
	printed := func(v string) pipeline.Field {
		return pipeline.Field{Value: v, Grounded: true, Evidence: pipeline.Evidence{Origin: "einvoice", Page: 1, Quote: "... " + v}}
	}
	notPrinted := func(v string) pipeline.Field {
		return pipeline.Field{Value: v, Evidence: pipeline.Evidence{Origin: "einvoice"}}
	}
	ungrounded := func(v string) pipeline.Field {
		return pipeline.Field{Value: v, Evidence: pipeline.Evidence{Origin: "einvoice", Page: 1, Quote: "elsewhere"}}
	}
	base := func() pipeline.Extraction {
		return pipeline.Extraction{Schema: pipeline.SchemaRef{Name: "invoice"}, Fields: map[string]pipeline.Field{
			"invoice_number": printed("R-1"), "issue_date": printed("2026-01-31"), "total_amount": printed("119.00"),
			"iban": notPrinted("DE89370400440532013000"), "vendor_name": ungrounded("ACME GmbH"),
		}, Lists: map[string][]pipeline.Item{"line_items": {
			{Grounded: true, Fields: map[string]pipeline.Field{"description": printed("Widget"), "amount": printed("100.00"), "unit_price": notPrinted("100.0000")}},
			{Grounded: false, Fields: map[string]pipeline.Field{"description": printed("Hidden"), "amount": notPrinted("0.00")}},
		}}}
	}
	tests := []struct {
		name    string
		edit    func(x *pipeline.Extraction)
		quality string
		label   Label
	}{
		{name: "printed keys verify the row; unprinted and ungrounded values are left out", quality: "verified",
			label: Label{"invoice_number": "R-1", "issue_date": "2026-01-31", "total_amount": "119.00",
				"line_items": []any{map[string]any{"description": "Widget", "amount": "100.00"}}}},
		{name: "a key the page does not print makes it partial", quality: "partial",
			edit: func(x *pipeline.Extraction) { x.Fields["issue_date"] = notPrinted("2026-01-31") },
			label: Label{"invoice_number": "R-1", "total_amount": "119.00",
				"line_items": []any{map[string]any{"description": "Widget", "amount": "100.00"}}}},
		{name: "a failed mismatch empties the label", quality: "mismatch", label: Label{},
			edit: func(x *pipeline.Extraction) {
				x.Issues = []pipeline.Issue{{Field: "total_amount", Code: pipeline.IssueEInvoiceMismatch, Severity: pipeline.SeverityFail}}
			}},
		{name: "a mismatch that only warns does not", quality: "verified",
			edit: func(x *pipeline.Extraction) {
				x.Issues = []pipeline.Issue{{Field: "vendor_name", Code: pipeline.IssueEInvoiceMismatch, Severity: pipeline.SeverityWarn}}
			},
			label: Label{"invoice_number": "R-1", "issue_date": "2026-01-31", "total_amount": "119.00",
				"line_items": []any{map[string]any{"description": "Widget", "amount": "100.00"}}}},
		{name: "nothing printed", quality: "unlabelled", label: Label{},
			edit: func(x *pipeline.Extraction) {
				x.Fields = map[string]pipeline.Field{"total_amount": notPrinted("1.00")}
				x.Lists = nil
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x := base()
			if tc.edit != nil {
				tc.edit(&x)
			}
			label, quality, notes := EInvoiceLabel(x)
			if quality != tc.quality || !reflect.DeepEqual(label, tc.label) {
				t.Errorf("got %s %v (%s), want %s %v", quality, label, notes, tc.quality, tc.label)
			}
			row := Row{ID: "r", File: "files/r.pdf", Group: "g", Source: Source{Repo: "local", Path: "r.pdf", License: "private"},
				Schema: "invoice", Expected: label, LabelQuality: quality}
			line, _ := json.Marshal(row)
			if _, err := parseRow(line); err != nil {
				t.Errorf("the row would not load: %v", err)
			}
		})
	}
}
