package extract

import (
	"errors"
	"testing"

	"github.com/extractor-dev/extractor/pipeline"
)

// FuzzParseSchema: schema files are user input; any bytes must give a
// schema or a *SchemaError, never a panic.
func FuzzParseSchema(f *testing.F) {
	for _, name := range Builtins() {
		data, _ := builtinSchemas.ReadFile("schemas/" + name + ".yaml")
		f.Add(data)
	}
	f.Add([]byte("name: x\nversion: \"1\"\nfields:\n  - name: a\n    type: array\n    items:\n      - name: b\n        type: enum\n        enum: [x]\n"))
	f.Add([]byte("&a [*a, *a]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSchema("f.yaml", data)
		if err != nil {
			if !errors.Is(err, ErrSchema) {
				t.Fatalf("error %v is not a schema error", err)
			}
			return
		}
		if _, err := newTool(s, true); err != nil {
			t.Fatalf("a valid schema must make a valid tool: %v", err)
		}
	})
}

// FuzzToolArguments: tool-call arguments are model output; checking them,
// reading them and finalizing the result must never panic, and accepted
// arguments must yield fields the schema declares.
func FuzzToolArguments(f *testing.F) {
	f.Add(`{"vendor_name": {"value": "ACME", "page": 1, "quote": "ACME GmbH"}}`)
	f.Add(`{"line_items": [{"description": "x", "amount": "1,00", "page": 99999999999, "quote": null}]}`)
	f.Add(`[1, 2]`)
	f.Add(`{"total_amount": {"value": 12.5, "page": -1, "quote": ""}}`)
	s, err := Builtin("invoice")
	if err != nil {
		f.Fatal(err)
	}
	tl, err := newTool(s, false)
	if err != nil {
		f.Fatal(err)
	}
	doc := page1("ACME GmbH", "Total 1.234,56 €")
	f.Fuzz(func(t *testing.T, arguments string) {
		args, problems := tl.check(arguments)
		if args == nil {
			if len(problems) == 0 {
				t.Fatal("rejected without a reason")
			}
			return
		}
		x := tl.extraction(s, args)
		Finalize(doc, s, &x, nil)
		for name := range x.Fields {
			if spec, ok := s.Field(name); !ok || spec.Type == pipeline.TypeArray {
				t.Fatalf("field %q is not a scalar field of the schema", name)
			}
		}
	})
}

// FuzzNormalize: raw values come from models and pages.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"1.234,56 €", "05.03.2024", "DE 232 446 240", "GB29 NWBK 6016 1331 9268 19", "(8,79)", "1er mars 2024", "CHF 1'234.50"} {
		f.Add(s)
	}
	types := []pipeline.FieldType{pipeline.TypeString, pipeline.TypeDate, pipeline.TypeMoney, pipeline.TypeDecimal, pipeline.TypeInteger,
		pipeline.TypeCurrency, pipeline.TypeIBAN, pipeline.TypeVATID}
	f.Fuzz(func(t *testing.T, raw string) {
		for _, typ := range types {
			v, _, err := Normalize(pipeline.FieldSpec{Name: "f", Type: typ}, raw)
			if err == nil && typ != pipeline.TypeString && v == "" && raw != "" {
				t.Fatalf("%s %q normalized to nothing without an error", typ, raw)
			}
		}
	})
}
