// Package evals scores pipeline outputs against labelled data. It owns
// datasets (folders in the shared corpus format: dataset.jsonl plus files/,
// labelled with the invoice or nda schema, or hostile rows that state the
// outcome a robust parser must reach), typed field comparison, and accuracy
// macro-averaged per group. Business metrics, reports and gates come next;
// running the pipeline is not its job.
package evals

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
)

// Dataset is a loaded dataset folder.
type Dataset struct {
	// Dir is the folder holding dataset.jsonl; row files are relative to it.
	Dir  string
	Rows []Row
}

// Row is one line of dataset.jsonl: a labelled row (Schema, Expected,
// LabelQuality) or a hostile row (Expect).
type Row struct {
	ID     string `json:"id"`
	File   string `json:"file"`
	Group  string `json:"group"`
	Source Source `json:"source"`
	Notes  string `json:"notes,omitempty"`

	// Labelled rows.
	Schema       string `json:"schema,omitempty"`
	Expected     Label  `json:"expected,omitempty"`
	LabelQuality string `json:"label_quality,omitempty"`

	// Hostile rows.
	Expect         string   `json:"expect,omitempty"`
	AlsoAcceptable []string `json:"also_acceptable,omitempty"`
	Password       string   `json:"password,omitempty"`

	// Line is the row's line number in dataset.jsonl.
	Line int `json:"-"`
}

// Source says where a row's file came from.
type Source struct {
	Repo    string `json:"repo"`
	Path    string `json:"path"`
	Commit  string `json:"commit,omitempty"`
	License string `json:"license"`
}

// Label holds the expected field values exactly as labelled: strings for
// scalar fields (dates, amounts and ids in their normal form), []any for
// lists. A field that is absent was not labelled; it is not "empty".
type Label map[string]any

// Hostile reports whether the row states an expected parse outcome rather
// than field labels.
func (r Row) Hostile() bool { return r.Expect != "" }

// Path returns the row's file path inside the dataset folder.
func (d *Dataset) Path(r Row) string { return filepath.Join(d.Dir, filepath.FromSlash(r.File)) }

// Schemas known to the loader and the type of each field.
const (
	SchemaInvoice = "invoice"
	SchemaNDA     = "nda"
)

type fieldType int

const (
	tString fieldType = iota
	tDate
	tMoney
	tDecimal
	tCurrency
	tID // whitespace-free identifier (VAT id, IBAN)
	tStringList
	tLineItems
)

// Outcomes a hostile row may expect.
var outcomes = map[string]bool{
	"ok": true, "ok: large": true, "no_text_layer": true,
	"error: encrypted, needs password": true, "error: malformed": true,
}

var labelQualities = map[string]bool{"verified": true, "partial": true, "mismatch": true, "unlabelled": true}

var (
	idRe      = regexp.MustCompile(`^[a-z0-9-]+$`)
	commitRe  = regexp.MustCompile(`^[0-9a-f]{40}$`)
	moneyRe   = regexp.MustCompile(`^-?[0-9]+\.[0-9]{2,}$`)
	decimalRe = regexp.MustCompile(`^-?[0-9]+(\.[0-9]*[1-9])?$`)
	currRe    = regexp.MustCompile(`^[A-Z]{3}$`)
)

// RowError is a rejected row: the file, the line and what is wrong.
type RowError struct {
	File string
	Line int
	Err  error
}

func (e *RowError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }
func (e *RowError) Unwrap() error { return e.Err }

// ErrNoDataset: the folder has no dataset.jsonl.
var ErrNoDataset = errors.New("evals: no dataset.jsonl")

// Load reads dir/dataset.jsonl. Malformed rows are rejected: they are left
// out of the dataset and the returned error joins one *RowError per row
// (file:line: what is wrong). Valid rows are returned either way, so a
// caller may proceed with them and report the rest.
func Load(dir string) (*Dataset, error) {
	name := filepath.Join(dir, "dataset.jsonl")
	f, err := os.Open(name)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w in %s", ErrNoDataset, dir)
		}
		return nil, err
	}
	defer f.Close()
	d := &Dataset{Dir: dir}
	var errs []error
	seen := map[string]int{}
	br := bufio.NewReader(f)
	for lineNo := 1; ; lineNo++ {
		line, rerr := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			row, err := parseRow(line)
			if err == nil {
				if prev, dup := seen[row.ID]; dup {
					err = fmt.Errorf("id %q already used on line %d", row.ID, prev)
				}
			}
			if err == nil {
				err = checkFile(dir, row.File)
			}
			if err != nil {
				errs = append(errs, &RowError{File: name, Line: lineNo, Err: err})
			} else {
				row.Line = lineNo
				seen[row.ID] = lineNo
				d.Rows = append(d.Rows, row)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return d, rerr
		}
	}
	sort.SliceStable(d.Rows, func(i, j int) bool { return d.Rows[i].ID < d.Rows[j].ID })
	return d, errors.Join(errs...)
}

func parseRow(line []byte) (Row, error) {
	var r Row
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(&r); err != nil {
		return r, fmt.Errorf("not a valid row: %v", err)
	}
	if !idRe.MatchString(r.ID) {
		return r, fmt.Errorf("id %q: want [a-z0-9-]+", r.ID)
	}
	if r.File == "" {
		return r, errors.New("file is missing")
	}
	if r.Group == "" {
		return r, errors.New("group is missing")
	}
	if err := r.Source.check(); err != nil {
		return r, err
	}
	if r.Hostile() {
		return r, r.checkHostile()
	}
	return r, r.checkLabelled()
}

func (s Source) check() error {
	switch {
	case s.Repo == "":
		return errors.New("source.repo is missing")
	case s.Path == "":
		return errors.New("source.path is missing")
	case s.License == "":
		return errors.New("source.license is missing")
	case s.Commit != "" && !commitRe.MatchString(s.Commit):
		return fmt.Errorf("source.commit %q: want a full 40-hex SHA", s.Commit)
	}
	return nil
}

func (r Row) checkHostile() error {
	if r.Schema != "" || r.Expected != nil || r.LabelQuality != "" {
		return errors.New("a row with expect must not have schema, expected or label_quality")
	}
	if !outcomes[r.Expect] {
		return fmt.Errorf("expect %q: want one of %s", r.Expect, keys(outcomes))
	}
	for _, o := range r.AlsoAcceptable {
		if !outcomes[o] {
			return fmt.Errorf("also_acceptable %q: want one of %s", o, keys(outcomes))
		}
	}
	return nil
}

func (r Row) checkLabelled() error {
	fields, ok := labelTypes(r.Schema, "")
	if !ok {
		return fmt.Errorf("schema %q: want %q or %q (or expect, for hostile rows)", r.Schema, SchemaInvoice, SchemaNDA)
	}
	if !labelQualities[r.LabelQuality] {
		return fmt.Errorf("label_quality %q: want one of %s", r.LabelQuality, keys(labelQualities))
	}
	if r.Expected == nil {
		return errors.New("expected is missing (use {} for unlabelled rows)")
	}
	if (r.LabelQuality == "mismatch" || r.LabelQuality == "unlabelled") && len(r.Expected) > 0 {
		return fmt.Errorf("label_quality %s: expected must be {}", r.LabelQuality)
	}
	for _, k := range sortedKeys(r.Expected) {
		t, ok := fields[k]
		if !ok {
			return fmt.Errorf("expected.%s: not a field of the %s schema", k, r.Schema)
		}
		if err := checkValue(t, r.Expected[k]); err != nil {
			return fmt.Errorf("expected.%s: %w", k, err)
		}
	}
	return nil
}

var lineItemLabels, _ = labelTypes(SchemaInvoice, "line_items")

func checkValue(t fieldType, v any) error {
	switch t {
	case tStringList:
		list, ok := v.([]any)
		if !ok {
			return fmt.Errorf("want a list of strings, got %s", jsonType(v))
		}
		for i, e := range list {
			if s, ok := e.(string); !ok || strings.TrimSpace(s) == "" {
				return fmt.Errorf("[%d]: want a non-empty string", i)
			}
		}
		return nil
	case tLineItems:
		list, ok := v.([]any)
		if !ok {
			return fmt.Errorf("want a list of line items, got %s", jsonType(v))
		}
		for i, e := range list {
			item, ok := e.(map[string]any)
			if !ok {
				return fmt.Errorf("[%d]: want an object, got %s", i, jsonType(e))
			}
			for _, k := range sortedKeys(item) {
				ft, ok := lineItemLabels[k]
				if !ok {
					return fmt.Errorf("[%d].%s: not a line item field", i, k)
				}
				if err := checkValue(ft, item[k]); err != nil {
					return fmt.Errorf("[%d].%s: %w", i, k, err)
				}
			}
		}
		return nil
	}
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("want a string, got %s", jsonType(v))
	}
	switch t {
	case tString:
		if strings.TrimSpace(s) == "" {
			return errors.New("empty (leave unlabelled fields out)")
		}
	case tDate:
		if _, err := time.Parse(time.DateOnly, s); err != nil {
			return fmt.Errorf("%q is not a date (YYYY-MM-DD)", s)
		}
	case tMoney:
		if !moneyRe.MatchString(s) {
			return fmt.Errorf("%q is not an amount (dot decimal, at least 2 decimals, e.g. \"1810.80\")", s)
		}
	case tDecimal:
		if !decimalRe.MatchString(s) {
			return fmt.Errorf("%q is not a quantity (dot decimal without trailing zeros, e.g. \"2.5\")", s)
		}
	case tCurrency:
		if !currRe.MatchString(s) {
			return fmt.Errorf("%q is not an ISO 4217 code", s)
		}
	case tID:
		if s == "" || strings.ContainsAny(s, " \t\n") {
			return fmt.Errorf("%q: want a non-empty value without whitespace", s)
		}
	}
	return nil
}

// checkFile makes sure the row's file stays inside the dataset and exists.
func checkFile(dir, file string) error {
	clean := path.Clean(file)
	if path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") || strings.Contains(file, "\\") {
		return fmt.Errorf("file %q must be a relative path inside the dataset folder", file)
	}
	if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(clean))); err != nil {
		return fmt.Errorf("file %q: %w", file, err)
	}
	return nil
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func keys(m map[string]bool) string {
	var out []string
	for _, k := range sortedKeys(m) {
		out = append(out, fmt.Sprintf("%q", k))
	}
	return strings.Join(out, ", ")
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// MarshalJSON writes a labelled row's expected values even when there are
// none ({}: the format wants the key on every labelled row, and a
// "mismatch" or "unlabelled" row has no values).
func (r Row) MarshalJSON() ([]byte, error) {
	type plain Row
	out := struct {
		plain
		Expected *Label `json:"expected,omitempty"`
	}{plain: plain(r)}
	if !r.Hostile() {
		e := r.Expected
		if e == nil {
			e = Label{}
		}
		out.Expected = &e
	}
	return json.Marshal(out)
}
