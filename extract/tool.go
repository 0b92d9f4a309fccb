package extract

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/extractor-dev/extractor/internal/schemaerr"
	"github.com/extractor-dev/extractor/pipeline"
)

// tool is a schema turned into a function the model must call: its name,
// the JSON Schema of its parameters, and a validator for the arguments.
//
// Every scalar field is an object {value, page, quote}; every array field
// is a list of objects with the element's fields as plain values plus the
// row's page and quote. Values are strings, as printed: normalizing is the
// software's job, not the model's. The schema is written for strict mode
// (all properties required, nulls for "not printed", no extra properties),
// which providers without strict mode accept as an ordinary schema.
type tool struct {
	Name        string
	Description string
	Parameters  map[string]any
	validator   *jsonschema.Schema
	// tokens counts the parameters' JSON (LLM.tool sets it once: the
	// tokenizer is a fair share of a document's CPU).
	tokens int
}

// Bounds for strings and lists when a tool is bounded.
const (
	maxValueChars = 120
	maxQuoteChars = 200
	maxListItems  = 300
)

// newTool builds the tool for a schema. bounded adds maxLength and
// maxItems, which make grammar-constrained local servers (llama.cpp, vLLM)
// close every string and list; OpenAI's and Azure's strict modes reject
// those keywords, so they are off unless asked for.
func newTool(s pipeline.Schema, bounded bool) (*tool, error) {
	params := parametersSchema(s)
	if bounded {
		bound(params, "")
	}
	return newCustomTool("record_"+s.Name, s.Description, params)
}

// newCustomTool builds a tool from its JSON Schema.
func newCustomTool(name, description string, params map[string]any) (*tool, error) {
	t := &tool{Name: name, Description: description, Parameters: params}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	// Round-trip through JSON so the compiler sees plain JSON values.
	raw, err := json.Marshal(t.Parameters)
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	if err := c.AddResource("tool.json", doc); err != nil {
		return nil, err
	}
	if t.validator, err = c.Compile("tool.json"); err != nil {
		return nil, fmt.Errorf("tool schema for %s: %w", name, err)
	}
	return t, nil
}

// bound adds length limits to every string and list below schema node m.
func bound(m map[string]any, name string) {
	if types, ok := m["type"].([]any); ok && len(types) > 0 && types[0] == "string" {
		if name == "quote" {
			m["maxLength"] = maxQuoteChars
		} else {
			m["maxLength"] = maxValueChars
		}
	}
	if m["type"] == "array" {
		m["maxItems"] = maxListItems
	}
	if props, ok := m["properties"].(map[string]any); ok {
		for k, v := range props {
			if sub, ok := v.(map[string]any); ok {
				bound(sub, k)
			}
		}
	}
	if items, ok := m["items"].(map[string]any); ok {
		bound(items, "")
	}
}

func nullable(typ string) map[string]any { return map[string]any{"type": []any{typ, "null"}} }

func valueSchema(f pipeline.FieldSpec) map[string]any {
	// How to copy values and quotes is said once, in the system prompt;
	// the schema carries only what is particular to a field.
	v := nullable("string")
	if f.Type == pipeline.TypeEnum {
		enum := make([]any, 0, len(f.Enum)+1)
		for _, e := range f.Enum {
			enum = append(enum, e)
		}
		v["enum"] = append(enum, nil)
	}
	if f.Description != "" {
		v["description"] = f.Description
	}
	return v
}

func parametersSchema(s pipeline.Schema) map[string]any {
	props := map[string]any{}
	var required []string
	for _, f := range s.Fields {
		required = append(required, f.Name)
		if f.Type == pipeline.TypeArray {
			itemProps := map[string]any{}
			var itemReq []string
			for _, sub := range f.Items {
				itemProps[sub.Name] = valueSchema(sub)
				itemReq = append(itemReq, sub.Name)
			}
			itemProps["page"] = nullable("integer")
			itemProps["quote"] = nullable("string")
			itemReq = append(itemReq, "page", "quote")
			props[f.Name] = map[string]any{
				"type":        "array",
				"description": f.Description,
				"items": map[string]any{
					"type": "object", "properties": itemProps, "required": itemReq, "additionalProperties": false,
				},
			}
			continue
		}
		// The field's description sits on its value only: repeating it on
		// the object costs tokens and says nothing more.
		props[f.Name] = map[string]any{
			"type": "object",
			"properties": map[string]any{
				"value": valueSchema(f),
				"page":  nullable("integer"),
				"quote": nullable("string"),
			},
			"required":             []string{"value", "page", "quote"},
			"additionalProperties": false,
		}
	}
	return map[string]any{
		"type":                 "object",
		"properties":           props,
		"required":             required,
		"additionalProperties": false,
	}
}

// check parses and validates tool-call arguments. It returns the decoded
// arguments, or the list of problems to send back to the model: "not
// valid JSON: ..." or one line per schema violation, each with its JSON
// pointer.
func (t *tool) check(arguments string) (map[string]any, []string) {
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(arguments))
	if err != nil {
		return nil, []string{fmt.Sprintf("the arguments are not valid JSON: %v", err)}
	}
	if err := t.validator.Validate(doc); err != nil {
		ve, ok := err.(*jsonschema.ValidationError)
		if !ok {
			return nil, []string{err.Error()}
		}
		return nil, violations(ve)
	}
	args, ok := doc.(map[string]any)
	if !ok {
		return nil, []string{"the arguments must be a JSON object"}
	}
	return args, nil
}

// violations flattens a validation error into one line per leaf problem.
func violations(ve *jsonschema.ValidationError) []string {
	var out []string
	for _, l := range schemaerr.Leaves(ve) {
		out = append(out, cmp.Or(l.Pointer, "/")+": "+l.Detail)
	}
	return out
}

// extraction reads validated arguments into fields with Raw values and
// evidence; Finalize does the rest.
func (t *tool) extraction(s pipeline.Schema, args map[string]any) pipeline.Extraction {
	x := pipeline.Extraction{Fields: map[string]pipeline.Field{}}
	for _, f := range s.Fields {
		if f.Type == pipeline.TypeArray {
			list, _ := args[f.Name].([]any)
			var items []pipeline.Item
			for _, e := range list {
				obj, _ := e.(map[string]any)
				it := pipeline.Item{Fields: map[string]pipeline.Field{}, Evidence: evidence(obj)}
				for _, sub := range f.Items {
					if v := str(obj[sub.Name]); v != "" {
						it.Fields[sub.Name] = pipeline.Field{Raw: v}
					}
				}
				items = append(items, it)
			}
			if items != nil {
				if x.Lists == nil {
					x.Lists = map[string][]pipeline.Item{}
				}
				x.Lists[f.Name] = items
			}
			continue
		}
		obj, _ := args[f.Name].(map[string]any)
		if v := str(obj["value"]); v != "" {
			x.Fields[f.Name] = pipeline.Field{Raw: v, Evidence: evidence(obj)}
		}
	}
	return x
}

func evidence(obj map[string]any) pipeline.Evidence {
	ev := pipeline.Evidence{Quote: str(obj["quote"])}
	switch p := obj["page"].(type) {
	case json.Number:
		if n, err := p.Int64(); err == nil && n > 0 && n < 1<<31 {
			ev.Page = int(n)
		}
	case float64:
		if p > 0 && p < 1<<31 {
			ev.Page = int(p)
		}
	}
	return ev
}

func str(v any) string {
	switch s := v.(type) {
	case string:
		return strings.TrimSpace(s)
	case json.Number: // tolerated if a provider ignores the string type
		return s.String()
	}
	return ""
}
