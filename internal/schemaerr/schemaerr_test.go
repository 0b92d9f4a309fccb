package schemaerr

import (
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

func TestLeaves(t *testing.T) {
	c := jsonschema.NewCompiler()
	schema, _ := jsonschema.UnmarshalJSON(strings.NewReader(`{"type":"object","properties":{"a/b":{"type":"integer"},"k":{"maximum":3}},"required":["x"]}`))
	if err := c.AddResource("s.json", schema); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("s.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := jsonschema.UnmarshalJSON(strings.NewReader(`{"a/b": "one", "k": 9}`))
	ve, ok := sch.Validate(doc).(*jsonschema.ValidationError)
	if !ok {
		t.Fatal("no validation error")
	}
	got := Leaves(ve)
	var pointers []string
	for _, l := range got {
		pointers = append(pointers, l.Pointer)
		if l.Detail == "" {
			t.Errorf("%s: no detail", l.Pointer)
		}
	}
	if want := ", /a~1b, /k"; strings.Join(pointers, ", ") != want {
		t.Errorf("pointers %q, want %q (sorted, escaped)", strings.Join(pointers, ", "), want)
	}
}
