package evals

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/extractor-dev/extractor/pipeline"
)

// LabelOf is the label of reviewed values (a document's values as people
// approved them) in the dataset format: for the invoice and nda schemas,
// every labelled field that has a value, scalars as their normalized
// values, line items as {description, quantity, unit_price, amount} with
// the values they have, nda parties as their names. A field without a
// value is left out (not labelled), as the format says. ok is false for a
// schema the format does not label.
func LabelOf(schema string, x pipeline.Extraction) (label Label, ok bool) {
	types, ok := labelTypes(schema, "")
	if !ok {
		return nil, false
	}
	label = Label{}
	for name, t := range types {
		switch t {
		case tStringList:
			var names []any
			for _, v := range listValues(x.Lists[name]) {
				names = append(names, v)
			}
			if len(names) > 0 {
				label[name] = names
			}
		case tLineItems:
			subs, _ := labelTypes(schema, name)
			var items []any
			for _, it := range x.Lists[name] {
				item := map[string]any{}
				for sub := range subs {
					if v := strings.TrimSpace(it.Fields[sub].Value); v != "" {
						item[sub] = v
					}
				}
				if len(item) > 0 {
					items = append(items, item)
				}
			}
			if len(items) > 0 {
				label[name] = items
			}
		default:
			if v := strings.TrimSpace(x.Fields[name].Value); v != "" {
				label[name] = v
			}
		}
	}
	return label, true
}

// WriteDataset writes rows as dir/dataset.jsonl (sorted by id), checking
// each as Load does: a row Load would reject is not written, and the
// error names it. The rows' files must already be in dir.
func WriteDataset(dir string, rows []Row) error {
	rows = slices.Clone(rows)
	slices.SortFunc(rows, func(a, b Row) int { return strings.Compare(a.ID, b.ID) })
	var buf bytes.Buffer
	var errs []error
	seen := map[string]bool{}
	for _, r := range rows {
		line, err := json.Marshal(r)
		if err == nil {
			_, err = parseRow(line)
		}
		if err == nil && seen[r.ID] {
			err = errors.New("id used twice")
		}
		if err == nil {
			err = checkFile(dir, r.File)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("row %s: %w", r.ID, err))
			continue
		}
		seen[r.ID] = true
		buf.Write(line)
		buf.WriteByte('\n')
	}
	if err := os.WriteFile(filepath.Join(dir, "dataset.jsonl"), buf.Bytes(), 0o644); err != nil {
		return err
	}
	return errors.Join(errs...)
}
