package extract

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

// readRows reads the labelled rows of a dataset folder (the shared corpus
// format), for tests that compare readings with labels.
func readRows(t testing.TB, dir string) []labelledRow {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "dataset.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []labelledRow
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var r labelledRow
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	return rows
}

// sameValue compares a normalized value with a label by the field's type.
func sameValue(field, got, want string) bool {
	switch field {
	case "net_amount", "tax_amount", "total_amount", "unit_price", "amount", "quantity":
		g, err1 := decimal.NewFromString(got)
		w, err2 := decimal.NewFromString(want)
		return err1 == nil && err2 == nil && g.Equal(w)
	case "vendor_vat_id", "iban":
		return compactID(got) == compactID(want)
	case "vendor_name", "customer_name", "description":
		return strings.EqualFold(strings.Join(strings.Fields(got), " "), strings.Join(strings.Fields(want), " "))
	}
	return strings.TrimSpace(got) == strings.TrimSpace(want)
}

// invoiceFields are the invoice schema's fields, in order.
var invoiceFields = []string{"vendor_name", "vendor_vat_id", "customer_name", "invoice_number", "issue_date", "due_date",
	"currency", "net_amount", "tax_amount", "total_amount", "iban", "line_items"}
