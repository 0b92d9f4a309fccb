package extract

import (
	"errors"
	"strings"
	"testing"

	"github.com/extractor-dev/extractor/pipeline"
)

func TestBuiltinSchemas(t *testing.T) {
	inv, err := Builtin("invoice")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"vendor_name", "vendor_vat_id", "customer_name", "invoice_number", "issue_date", "due_date",
		"currency", "net_amount", "tax_amount", "total_amount", "iban", "line_items"}
	var got []string
	for _, f := range inv.Fields {
		got = append(got, f.Name)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("invoice fields = %v, want the corpus's %v", got, want)
	}
	li, _ := inv.Field("line_items")
	if li.Type != pipeline.TypeArray || len(li.Items) != 4 {
		t.Errorf("line_items = %+v", li)
	}
	nda, err := Builtin("nda")
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := nda.Field("parties"); !ok || p.Type != pipeline.TypeArray {
		t.Errorf("nda parties = %+v", p)
	}
	if _, err := Builtin("receipt"); err == nil {
		t.Error("unknown built-in accepted")
	}
	if inv.Hash() == nda.Hash() || inv.Hash() != mustBuiltin(t, "invoice").Hash() {
		t.Error("schema hash is not a content hash")
	}
	// Every invoice field names the business term an e-invoice carries it
	// in (the corpus README's mapping from ZUGFeRD / Factur-X).
	terms := map[string]string{}
	for _, f := range inv.Fields {
		terms[f.Name] = f.EInvoice
	}
	for _, f := range li.Items {
		terms["line_items."+f.Name] = f.EInvoice
	}
	wantTerms := map[string]string{"vendor_name": "BT-27", "vendor_vat_id": "BT-31", "customer_name": "BT-44", "invoice_number": "BT-1",
		"issue_date": "BT-2", "due_date": "BT-9", "currency": "BT-5", "net_amount": "BT-109", "tax_amount": "BT-110",
		"total_amount": "BT-112", "iban": "BT-84", "line_items": "BG-25", "line_items.description": "BT-153",
		"line_items.quantity": "BT-129", "line_items.unit_price": "BT-146", "line_items.amount": "BT-131"}
	for k, v := range wantTerms {
		if terms[k] != v {
			t.Errorf("%s maps to %q, want %q", k, terms[k], v)
		}
	}
	for _, f := range nda.Fields {
		if f.EInvoice != "" {
			t.Errorf("nda field %s maps to %s", f.Name, f.EInvoice)
		}
	}
}

func mustBuiltin(t *testing.T, name string) pipeline.Schema {
	s, err := Builtin(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestParseSchemaErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"syntax", "name: x\nversion: \"1\"\nfields: [\n", "s.yaml:3:"},
		{"unknown key", "name: x\nversion: \"1\"\nfields:\n  - name: a\n    typ: string\n", "s.yaml:5: "},
		{"bad type", "name: x\nversion: \"1\"\nfields:\n  - name: a\n    type: strin\n", "s.yaml:5: field a: type \"strin\": want one of"},
		{"bad name", "name: x\nversion: \"1\"\nfields:\n  - name: Vendor Name\n    type: string\n", "s.yaml:4: field name \"Vendor Name\""},
		{"duplicate field", "name: x\nversion: \"1\"\nfields:\n  - name: a\n    type: string\n  - name: a\n    type: date\n", "s.yaml:6: field \"a\" is declared twice"},
		{"enum without values", "name: x\nversion: \"1\"\nfields:\n  - name: a\n    type: enum\n", "s.yaml:5: field a: an enum needs enum values"},
		{"array without items", "name: x\nversion: \"1\"\nfields:\n  - name: a\n    type: array\n", "s.yaml:5: field a: an array needs items"},
		{"bad nested item", "name: x\nversion: \"1\"\nfields:\n  - name: a\n    type: array\n    items:\n      - name: b\n        type: nope\n", "s.yaml:8: field b: type \"nope\""},
		{"bad pattern", "name: x\nversion: \"1\"\nfields:\n  - name: a\n    type: string\n    pattern: \"([\"\n", "s.yaml:6: field a: pattern"},
		{"bad label language", "name: x\nversion: \"1\"\nfields:\n  - name: a\n    type: string\n    labels:\n      english: [\"PO\"]\n", "field a: labels: \"english\" is not a language code"},
		{"empty labels", "name: x\nversion: \"1\"\nfields:\n  - name: a\n    type: string\n    labels:\n      en: [\" \"]\n", "field a: labels: no labels for \"en\""},
		{"no version", "name: x\nfields:\n  - name: a\n    type: string\n", "s.yaml:1: version is missing"},
		{"no fields", "name: x\nversion: \"1\"\n", "fields is missing"},
		{"wrong shape", "name: x\nversion: \"1\"\nfields: {a: 1}\n", "s.yaml:3:"},
		{"empty", "", "s.yaml: want exactly one YAML document"},
		{"unknown business term", "name: x\nversion: \"1\"\nfields:\n  - name: a\n    type: string\n    einvoice: BT-999\n", "s.yaml:6: field a: einvoice \"BT-999\" is not a business term this reader knows"},
		{"not a term", "name: x\nversion: \"1\"\nfields:\n  - name: a\n    type: string\n    einvoice: /rsm:Invoice/ID\n", "s.yaml:6: field a: einvoice"},
		{"line term at the top", "name: x\nversion: \"1\"\nfields:\n  - name: a\n    type: string\n    einvoice: BT-153\n", "s.yaml:6: field a: BT-153 (Item name) is a term of the invoice lines"},
		{"header term in the lines", "name: x\nversion: \"1\"\nfields:\n  - name: a\n    type: array\n    einvoice: BG-25\n    items:\n      - name: b\n        type: string\n        einvoice: BT-1\n", "s.yaml:10: field b: BT-1 (Invoice number) is not a term of the invoice lines"},
		{"array to a scalar term", "name: x\nversion: \"1\"\nfields:\n  - name: a\n    type: array\n    einvoice: BT-1\n    items:\n      - name: b\n        type: string\n", "s.yaml:6: field a: an array maps to BG-25"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSchema("s.yaml", []byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			var se *SchemaError
			if !errors.As(err, &se) || !errors.Is(err, ErrSchema) {
				t.Errorf("err %T is not a *SchemaError wrapping ErrSchema", err)
			}
		})
	}
}

func TestParseSchemaValid(t *testing.T) {
	s, err := ParseSchema("po.yaml", []byte(`
name: purchase_order
version: "2024-1"
description: A purchase order.
fields:
  - name: po_number
    type: string
    required: true
    pattern: "^PO-[0-9]+$"
    einvoice: bt13
    labels:
      en: ["PO Number", " Order No. "]
      de: [Bestellnummer]
  - name: status
    type: enum
    enum: [open, closed]
  - name: lines
    type: array
    einvoice: bg-25
    items:
      - name: sku
        type: string
        einvoice: BT-0155
      - name: qty
        type: integer
`))
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "purchase_order" || s.Version != "2024-1" || len(s.Fields) != 3 || s.Fields[0].Pattern != "^PO-[0-9]+$" || len(s.Fields[2].Items) != 2 {
		t.Errorf("schema = %+v", s)
	}
	if s.Fields[0].EInvoice != "BT-13" || s.Fields[1].EInvoice != "" || s.Fields[2].EInvoice != "BG-25" || s.Fields[2].Items[0].EInvoice != "BT-155" {
		t.Errorf("einvoice terms not canonical: %+v", s.Fields)
	}
	if l := s.Fields[0].Labels; len(l) != 2 || len(l["en"]) != 2 || l["en"][1] != "Order No." || l["de"][0] != "Bestellnummer" {
		t.Errorf("labels = %v", l)
	}
}
