package review

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/extractor-dev/extractor/pipeline"
)

// Approved is an approved document as exported: its values as they were
// approved (the latest extraction with the corrections made before the
// approval).
type Approved struct {
	DocumentID string
	File       string
	Schema     string
	// Version is the document's version the approval made.
	Version    int
	ApprovedAt time.Time
	ApprovedBy string
	Values     pipeline.Extraction
}

// Schemas finds a schema by name (false for one it does not know: its
// documents are exported with the fields they have).
type Schemas func(name string) (pipeline.Schema, bool)

// Values are a document's values for an ERP import: every field of the
// schema by name, a scalar as its normalized value ("" when it has none),
// a list as its elements' values (each element's fields by name). Without
// the schema, the fields the values have.
func Values(schema pipeline.Schema, known bool, x pipeline.Extraction) map[string]any {
	out := map[string]any{}
	list := func(items []pipeline.Item) []map[string]string {
		els := make([]map[string]string, 0, len(items))
		for _, it := range items {
			el := map[string]string{}
			for k, f := range it.Fields {
				el[k] = f.Value
			}
			els = append(els, el)
		}
		return els
	}
	if !known {
		for k, f := range x.Fields {
			out[k] = f.Value
		}
		for k, items := range x.Lists {
			out[k] = list(items)
		}
		return out
	}
	for _, spec := range schema.Fields {
		if spec.Type == pipeline.TypeArray {
			out[spec.Name] = list(x.Lists[spec.Name])
		} else {
			out[spec.Name] = x.Fields[spec.Name].Value
		}
	}
	return out
}

// jsonLine is one line of the JSON lines export.
type jsonLine struct {
	DocumentID string         `json:"document_id"`
	File       string         `json:"file"`
	Schema     string         `json:"schema"`
	Version    int            `json:"version"`
	ApprovedAt time.Time      `json:"approved_at"`
	ApprovedBy string         `json:"approved_by"`
	Values     map[string]any `json:"values"`
}

// WriteJSONL writes one JSON object per approved document and line:
// document_id, file, schema, version, approved_at, approved_by and values
// (see Values).
func WriteJSONL(w io.Writer, schemas Schemas, docs []Approved) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, d := range docs {
		s, known := schemas(d.Schema)
		if err := enc.Encode(jsonLine{DocumentID: d.DocumentID, File: d.File, Schema: d.Schema, Version: d.Version,
			ApprovedAt: d.ApprovedAt.UTC(), ApprovedBy: d.ApprovedBy, Values: Values(s, known, d.Values)}); err != nil {
			return err
		}
	}
	return nil
}

// csvHead are the CSV's first columns.
var csvHead = []string{"document_id", "file", "schema", "version", "approved_at", "approved_by"}

// CSVColumns are the CSV's columns for documents of these schemas: the
// fixed ones, then every field of each schema (by schema name, each in
// its order; a field two schemas share is one column); for a schema not
// known, the fields its documents have, sorted.
func CSVColumns(schemas Schemas, docs []Approved) []string {
	cols := slices.Clone(csvHead)
	seen := map[string]bool{}
	for _, c := range cols {
		seen[c] = true
	}
	add := func(name string) {
		if !seen[name] {
			seen[name] = true
			cols = append(cols, name)
		}
	}
	names := map[string]bool{}
	for _, d := range docs {
		names[d.Schema] = true
	}
	for _, name := range slices.Sorted(maps.Keys(names)) {
		if s, ok := schemas(name); ok {
			for _, f := range s.Fields {
				add(f.Name)
			}
			continue
		}
		var fields []string
		for _, d := range docs {
			if d.Schema == name {
				fields = append(fields, slices.Collect(maps.Keys(d.Values.Fields))...)
				fields = append(fields, slices.Collect(maps.Keys(d.Values.Lists))...)
			}
		}
		slices.Sort(fields)
		for _, f := range slices.Compact(fields) {
			add(f)
		}
	}
	return cols
}

// WriteCSV writes the approved documents as CSV, one row per document
// (CSVColumns). A list is one cell holding its elements as JSON. A cell
// that a spreadsheet would take for a formula (it starts with =, +, -, @,
// a tab or a carriage return, and is not a number) is prefixed with a
// single quote.
func WriteCSV(w io.Writer, schemas Schemas, docs []Approved) error {
	cw := csv.NewWriter(w)
	cols := CSVColumns(schemas, docs)
	if err := cw.Write(cols); err != nil {
		return err
	}
	row := make([]string, len(cols))
	for _, d := range docs {
		s, known := schemas(d.Schema)
		vals := Values(s, known, d.Values)
		head := []string{d.DocumentID, d.File, d.Schema, fmt.Sprint(d.Version), d.ApprovedAt.UTC().Format(time.RFC3339), d.ApprovedBy}
		for i, c := range cols {
			var cell string
			switch v := vals[c].(type) {
			case nil:
			case string:
				cell = v
			default:
				b, err := json.Marshal(v)
				if err != nil {
					return err
				}
				cell = string(b)
			}
			if i < len(head) {
				cell = head[i]
			}
			row[i] = safeCell(cell)
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// safeCell defuses spreadsheet formulas, leaving numbers ("-8.79") as
// they are.
func safeCell(s string) string {
	if s == "" || !strings.ContainsRune("=+-@\t\r", rune(s[0])) || isNumber(s) {
		return s
	}
	return "'" + s
}

func isNumber(s string) bool {
	s = strings.TrimLeft(s, "+-")
	if s == "" {
		return false
	}
	dot := false
	for _, r := range s {
		switch {
		case r == '.' && !dot:
			dot = true
		case r < '0' || r > '9':
			return false
		}
	}
	return true
}
