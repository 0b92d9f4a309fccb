package rules

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/extractor-dev/extractor/extract"
	"github.com/extractor-dev/extractor/extract/pdf"
	"github.com/extractor-dev/extractor/internal/synth"
	"github.com/extractor-dev/extractor/pipeline"
)

// TestCustomSchemaPurchaseOrders reads synthetic purchase orders with the
// example schema testdata/schemas/purchase_order.yaml, whose fields declare
// their labels per language (or a pattern): the same finders and resolver
// as for invoices, no model. Each field must be read right on at least 90%
// of 18 documents in three languages and three layouts.
func TestCustomSchemaPurchaseOrders(t *testing.T) {
	s, err := extract.LoadSchema(filepath.Join("..", "..", "testdata", "schemas", "purchase_order.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !Readable(s) {
		t.Fatal("the schema declares labels: the rules must read it")
	}
	right, total := map[string]int{}, map[string]int{}
	e := New(Config{})
	for i := range 18 {
		b, want, err := synth.PurchaseOrder(5, i)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := pdf.ParseBytes(context.Background(), b, pdf.Options{})
		if err != nil {
			t.Fatal(err)
		}
		x, err := e.Extract(context.Background(), doc, s)
		if err != nil {
			t.Fatal(err)
		}
		x = extract.Checks{}.Validate(doc, s, x, nil)
		for name, w := range want {
			total[name]++
			got := x.Fields[name]
			if got.Value == w || name == "total_amount" && sameMoney(got.Value, w) {
				right[name]++
				if !got.Grounded {
					t.Errorf("po %d %s: %q not grounded", i, name, got.Value)
				}
				continue
			}
			t.Logf("po %d %s = %q (raw %q, why %q), want %q", i, name, got.Value, got.Raw, got.Why, w)
		}
	}
	for name, n := range total {
		acc := float64(right[name]) / float64(n)
		t.Logf("%-16s %.2f", name, acc)
		if acc < 0.9 {
			t.Errorf("%s: %.2f of %d purchase orders read right, want at least 0.9", name, acc, n)
		}
	}
}

func sameMoney(a, b string) bool {
	x, _, err1 := extract.Normalize(pipeline.FieldSpec{Type: pipeline.TypeMoney}, a)
	y, _, err2 := extract.Normalize(pipeline.FieldSpec{Type: pipeline.TypeMoney}, b)
	return err1 == nil && err2 == nil && x == y
}
