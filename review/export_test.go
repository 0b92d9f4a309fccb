package review

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/extractor-dev/extractor/extract"
	"github.com/extractor-dev/extractor/pipeline"
)

func builtinSchemas(name string) (pipeline.Schema, bool) {
	s, err := extract.Builtin(name)
	return s, err == nil
}

func approvedDocs(t *testing.T) []Approved {
	at := time.Date(2026, 1, 15, 9, 30, 0, 0, time.FixedZone("CET", 3600))
	x := extraction()
	x.Fields["vendor_name"] = pipeline.Field{Value: "=HYPERLINK(\"x\")", Raw: "x"}
	x.Fields["total_amount"] = pipeline.Field{Value: "-8.79", Raw: "-8,79"}
	custom := pipeline.Extraction{Fields: map[string]pipeline.Field{"po_number": {Value: "PO-1"}, "buyer": {Value: "Jane"}}}
	return []Approved{
		{DocumentID: "d1", File: "upload:a.pdf", Schema: "invoice", Version: 3, ApprovedAt: at, ApprovedBy: "alice", Values: x},
		{DocumentID: "d2", File: "b.pdf", Schema: "purchase_order", Version: 2, ApprovedAt: at.Add(time.Hour), ApprovedBy: "bob", Values: custom},
	}
}

func TestWriteCSV(t *testing.T) {
	var b bytes.Buffer
	if err := WriteCSV(&b, builtinSchemas, approvedDocs(t)); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows", len(rows))
	}
	col := map[string]int{}
	for i, c := range rows[0] {
		col[c] = i
	}
	// Fixed columns, the invoice schema's fields in order, then the
	// unknown schema's fields sorted.
	if strings.Join(rows[0][:7], ",") != "document_id,file,schema,version,approved_at,approved_by,vendor_name" ||
		rows[0][len(rows[0])-2] != "buyer" || rows[0][len(rows[0])-1] != "po_number" {
		t.Errorf("header %v", rows[0])
	}
	inv := rows[1]
	for k, want := range map[string]string{"document_id": "d1", "version": "3", "approved_at": "2026-01-15T08:30:00Z", "approved_by": "alice",
		"vendor_name": `'=HYPERLINK("x")`, "total_amount": "-8.79", "net_amount": "100.00", "due_date": "", "buyer": ""} {
		if got := inv[col[k]]; got != want {
			t.Errorf("invoice %s = %q, want %q", k, got, want)
		}
	}
	var items []map[string]string
	if err := json.Unmarshal([]byte(inv[col["line_items"]]), &items); err != nil || len(items) != 2 || items[1]["amount"] != "80.00" {
		t.Errorf("line_items cell %q: %v", inv[col["line_items"]], err)
	}
	if po := rows[2]; po[col["po_number"]] != "PO-1" || po[col["buyer"]] != "Jane" || po[col["vendor_name"]] != "" {
		t.Errorf("purchase order row %v", po)
	}
}

func TestWriteJSONL(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSONL(&b, builtinSchemas, approvedDocs(t)); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines", len(lines))
	}
	var l struct {
		DocumentID string         `json:"document_id"`
		ApprovedAt time.Time      `json:"approved_at"`
		Values     map[string]any `json:"values"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &l); err != nil {
		t.Fatal(err)
	}
	// Every field of the schema, found or not; lists as their elements.
	if l.Values["total_amount"] != "-8.79" || l.Values["due_date"] != "" || len(l.Values["line_items"].([]any)) != 2 || l.ApprovedAt.Location() != time.UTC {
		t.Errorf("line %s", lines[0])
	}
	if !strings.Contains(lines[1], `"values":{"buyer":"Jane","po_number":"PO-1"}`) {
		t.Errorf("line %s", lines[1])
	}
}

func TestSafeCell(t *testing.T) {
	for in, want := range map[string]string{"": "", "ACME": "ACME", "-8.79": "-8.79", "+12": "+12", "-": "'-", "=1+1": "'=1+1",
		"@SUM(A1)": "'@SUM(A1)", "-1-1": "'-1-1", "\tx": "'\tx"} {
		if got := safeCell(in); got != want {
			t.Errorf("safeCell(%q) = %q, want %q", in, got, want)
		}
	}
}
