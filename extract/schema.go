package extract

import (
	"embed"
	"errors"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/extractor-dev/extractor/extract/einvoice"
	"github.com/extractor-dev/extractor/pipeline"
)

//go:embed schemas/*.yaml
var builtinSchemas embed.FS

// Builtins lists the names of the built-in schemas.
func Builtins() []string { return []string{"invoice", "nda"} }

// Builtin returns a built-in schema by name.
func Builtin(name string) (pipeline.Schema, error) {
	data, err := builtinSchemas.ReadFile("schemas/" + name + ".yaml")
	if err != nil {
		return pipeline.Schema{}, fmt.Errorf("no built-in schema %q (built in: %s)", name, strings.Join(Builtins(), ", "))
	}
	return ParseSchema("schemas/"+name+".yaml", data)
}

// LoadSchema reads a schema: a built-in name ("invoice") or a YAML file.
func LoadSchema(nameOrPath string) (pipeline.Schema, error) {
	if slices.Contains(Builtins(), nameOrPath) {
		return Builtin(nameOrPath)
	}
	data, err := os.ReadFile(nameOrPath)
	if err != nil {
		return pipeline.Schema{}, err
	}
	return ParseSchema(nameOrPath, data)
}

// SchemaError is a problem in a schema file, with its position.
type SchemaError struct {
	File string
	Line int
	Msg  string
}

func (e *SchemaError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// ErrSchema is wrapped by every SchemaError: callers can branch on it.
var ErrSchema = errors.New("invalid schema")

func (e *SchemaError) Unwrap() error { return ErrSchema }

type yamlField struct {
	Name        string   `yaml:"name"`
	Type        string   `yaml:"type"`
	Required    bool     `yaml:"required"`
	Key         bool     `yaml:"key"`
	Description string   `yaml:"description"`
	Enum        []string `yaml:"enum"`
	Pattern     string   `yaml:"pattern"`
	EInvoice    string   `yaml:"einvoice"`
	// Labels: language code -> the labels printed next to the value.
	Labels map[string][]string `yaml:"labels"`
	Items  []yamlField         `yaml:"items"`
}

type yamlSchema struct {
	Name        string      `yaml:"name"`
	Version     string      `yaml:"version"`
	Description string      `yaml:"description"`
	Fields      []yamlField `yaml:"fields"`
}

var (
	nameRe     = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	langRe     = regexp.MustCompile(`^[a-z]{2}$`)
	fieldTypes = []pipeline.FieldType{
		pipeline.TypeString, pipeline.TypeDate, pipeline.TypeMoney, pipeline.TypeDecimal, pipeline.TypeInteger,
		pipeline.TypeEnum, pipeline.TypeCurrency, pipeline.TypeIBAN, pipeline.TypeVATID, pipeline.TypeArray,
	}
)

// ParseSchema parses a schema file's content. Every problem is reported as
// a *SchemaError with the file, the line and what is wrong.
func ParseSchema(file string, data []byte) (pipeline.Schema, error) {
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return pipeline.Schema{}, yamlError(file, err)
	}
	if len(f.Docs) != 1 || f.Docs[0].Body == nil {
		return pipeline.Schema{}, &SchemaError{File: file, Msg: "want exactly one YAML document"}
	}
	var y yamlSchema
	if err := yaml.NodeToValue(f.Docs[0].Body, &y, yaml.Strict()); err != nil {
		return pipeline.Schema{}, yamlError(file, err)
	}
	line := func(path string) int {
		p, err := yaml.PathString(path)
		if err != nil {
			return 0
		}
		n, err := p.FilterFile(f)
		if err != nil || n == nil {
			return line0(f)
		}
		return n.GetToken().Position.Line
	}
	fail := func(path, format string, args ...any) error {
		return &SchemaError{File: file, Line: line(path), Msg: fmt.Sprintf(format, args...)}
	}
	switch {
	case !nameRe.MatchString(y.Name):
		return pipeline.Schema{}, fail("$.name", "name %q: want lower_snake_case", y.Name)
	case strings.TrimSpace(y.Version) == "":
		return pipeline.Schema{}, fail("$", "version is missing")
	case len(y.Fields) == 0:
		return pipeline.Schema{}, fail("$", "fields is missing or empty")
	}
	fields, err := convertFields(y.Fields, "$.fields", false, fail)
	if err != nil {
		return pipeline.Schema{}, err
	}
	return pipeline.Schema{Name: y.Name, Version: y.Version, Description: strings.TrimSpace(y.Description), Fields: fields}, nil
}

func convertFields(in []yamlField, path string, nested bool, fail func(string, string, ...any) error) ([]pipeline.FieldSpec, error) {
	seen := map[string]bool{}
	var out []pipeline.FieldSpec
	for i, yf := range in {
		p := fmt.Sprintf("%s[%d]", path, i)
		if !nameRe.MatchString(yf.Name) {
			return nil, fail(p+".name", "field name %q: want lower_snake_case", yf.Name)
		}
		if seen[yf.Name] {
			return nil, fail(p+".name", "field %q is declared twice", yf.Name)
		}
		seen[yf.Name] = true
		t := pipeline.FieldType(yf.Type)
		if !slices.Contains(fieldTypes, t) {
			return nil, fail(p+".type", "field %s: type %q: want one of %s", yf.Name, yf.Type, typeList())
		}
		spec := pipeline.FieldSpec{Name: yf.Name, Type: t, Required: yf.Required, Key: yf.Key, Description: strings.TrimSpace(yf.Description), Enum: yf.Enum, Pattern: yf.Pattern}
		for _, lang := range slices.Sorted(maps.Keys(yf.Labels)) {
			ls := yf.Labels[lang]
			if !langRe.MatchString(lang) {
				return nil, fail(p+".labels", "field %s: labels: %q is not a language code (want e.g. en, de, fr)", yf.Name, lang)
			}
			var keep []string
			for _, l := range ls {
				if l = strings.TrimSpace(l); l != "" {
					keep = append(keep, l)
				}
			}
			if len(keep) == 0 {
				return nil, fail(p+".labels", "field %s: labels: no labels for %q", yf.Name, lang)
			}
			if spec.Labels == nil {
				spec.Labels = map[string][]string{}
			}
			spec.Labels[lang] = keep
		}
		switch {
		case t == pipeline.TypeEnum && len(yf.Enum) == 0:
			return nil, fail(p+".type", "field %s: an enum needs enum values", yf.Name)
		case t != pipeline.TypeEnum && len(yf.Enum) > 0:
			return nil, fail(p+".enum", "field %s: enum values on a %s field", yf.Name, t)
		case t == pipeline.TypeArray && len(yf.Items) == 0:
			return nil, fail(p+".type", "field %s: an array needs items (the fields of each element)", yf.Name)
		case t != pipeline.TypeArray && len(yf.Items) > 0:
			return nil, fail(p+".items", "field %s: items on a %s field", yf.Name, t)
		case t == pipeline.TypeArray && nested:
			return nil, fail(p+".type", "field %s: arrays inside arrays are not supported", yf.Name)
		}
		if yf.Pattern != "" {
			if _, err := regexp.Compile(yf.Pattern); err != nil {
				return nil, fail(p+".pattern", "field %s: pattern: %v", yf.Name, err)
			}
		}
		if yf.EInvoice != "" {
			term, err := einvoiceTerm(yf.Name, t, yf.EInvoice, nested)
			if err != nil {
				return nil, fail(p+".einvoice", "%v", err)
			}
			spec.EInvoice = term
		}
		if t == pipeline.TypeArray {
			items, err := convertFields(yf.Items, p+".items", true, fail)
			if err != nil {
				return nil, err
			}
			spec.Items = items
		}
		out = append(out, spec)
	}
	return out, nil
}

func typeList() string {
	s := make([]string, len(fieldTypes))
	for i, t := range fieldTypes {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// yamlError turns a YAML syntax or decoding error into a SchemaError at
// the token's line.
func yamlError(file string, err error) error {
	var ye yaml.Error
	if errors.As(err, &ye) {
		line := 0
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			line = tk.Position.Line
		}
		return &SchemaError{File: file, Line: line, Msg: ye.GetMessage()}
	}
	return &SchemaError{File: file, Msg: err.Error()}
}

func line0(f *ast.File) int {
	if len(f.Docs) > 0 && f.Docs[0].Body != nil {
		return f.Docs[0].Body.GetToken().Position.Line
	}
	return 0
}

// einvoiceTerm checks a field's "einvoice:" key: the EN 16931 business
// term an e-invoice carries the field in. A scalar field at the top level
// names a document-level term ("BT-13"), an array names BG-25 (the invoice
// lines), and the items of that array name line-level terms ("BT-153").
// The terms einvoice reads are listed by einvoice.Terms; they cover the
// document (BT-1 to BT-26), the seller, buyer, payee and delivery (BT-27 to
// BT-74), payment (BT-81 to BT-90), the totals (BT-106 to BT-115) and the
// lines (BT-126 to BT-159), in CII, UBL and ZUGFeRD 1.0. It returns the
// term written canonically ("bt13" is "BT-13").
func einvoiceTerm(field string, t pipeline.FieldType, raw string, item bool) (string, error) {
	id := einvoice.CanonicalTerm(raw)
	if t == pipeline.TypeArray {
		if id != einvoice.Lines {
			return "", fmt.Errorf("field %s: an array maps to %s (the invoice lines), not %q", field, einvoice.Lines, raw)
		}
		return id, nil
	}
	term, ok := einvoice.LookupTerm(id)
	switch {
	case !ok:
		return "", fmt.Errorf("field %s: einvoice %q is not a business term this reader knows (known: %s)", field, raw, strings.Join(einvoice.Terms(), ", "))
	case term.Line && !item:
		return "", fmt.Errorf("field %s: %s (%s) is a term of the invoice lines: map it in the items of a %s array", field, term.ID, term.Name, einvoice.Lines)
	case !term.Line && item:
		return "", fmt.Errorf("field %s: %s (%s) is not a term of the invoice lines", field, term.ID, term.Name)
	}
	return term.ID, nil
}
