package evals

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/extractor-dev/extractor/internal/testenv"
)

// writeDataset makes a dataset folder with the given jsonl lines and an
// empty files/a.pdf for rows to point at.
func writeDataset(t *testing.T, lines ...string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "files"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "files", "a.pdf"), []byte("%PDF-1.4"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "dataset.jsonl"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

const src = `"source": {"repo": "o/r", "path": "p.pdf", "license": "MIT"}`

func row(id, rest string) string {
	return `{"id": "` + id + `", "file": "files/a.pdf", "group": "g", ` + src + `, ` + rest + `}`
}

func TestLoadValidRows(t *testing.T) {
	dir := writeDataset(t,
		row("inv-b", `"schema": "invoice", "label_quality": "verified", "expected": {"vendor_name": "Free", "issue_date": "2015-07-02", "total_amount": "-8.79", "currency": "EUR", "line_items": [{"description": "x", "quantity": "2.5", "amount": "1.00"}]}`),
		row("inv-a", `"schema": "invoice", "label_quality": "unlabelled", "expected": {}`),
		row("nda-a", `"schema": "nda", "label_quality": "verified", "expected": {"effective_date": "2020-01-31", "parties": ["Acme Ltd.", "Bob"], "term": "2 years", "jurisdiction": "New York"}`),
		"",
		row("hostile-a", `"expect": "error: malformed", "also_acceptable": ["ok"], "password": "x"`),
	)
	d, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range d.Rows {
		ids = append(ids, r.ID)
	}
	if got := strings.Join(ids, ","); got != "hostile-a,inv-a,inv-b,nda-a" {
		t.Errorf("ids = %s (want sorted by id)", got)
	}
	h := d.Rows[0]
	if !h.Hostile() || h.Line != 5 || h.Password != "x" {
		t.Errorf("hostile row = %+v", h)
	}
	if d.Rows[2].Expected["total_amount"] != "-8.79" || d.Path(d.Rows[2]) != filepath.Join(dir, "files", "a.pdf") {
		t.Errorf("row = %+v", d.Rows[2])
	}
}

func TestLoadRejectsMalformedRows(t *testing.T) {
	tests := []struct {
		name, line, want string
	}{
		{"not json", `{"id": `, "not a valid row"},
		{"unknown key", row("a", `"schema": "invoice", "label_quality": "verified", "expected": {}, "extra": 1`), "unknown field"},
		{"bad id", `{"id": "Bad_ID", "file": "files/a.pdf", "group": "g", ` + src + `, "schema": "invoice", "label_quality": "verified", "expected": {}}`, "want [a-z0-9-]+"},
		{"unknown schema", row("a", `"schema": "receipt", "label_quality": "verified", "expected": {}`), `schema "receipt"`},
		{"unknown field", row("a", `"schema": "invoice", "label_quality": "verified", "expected": {"vendor": "x"}`), "expected.vendor: not a field"},
		{"bad date", row("a", `"schema": "invoice", "label_quality": "verified", "expected": {"issue_date": "02.07.2015"}`), "expected.issue_date"},
		{"impossible date", row("a", `"schema": "invoice", "label_quality": "verified", "expected": {"due_date": "2015-02-30"}`), "not a date"},
		{"bad money", row("a", `"schema": "invoice", "label_quality": "verified", "expected": {"total_amount": "29,99"}`), "not an amount"},
		{"money as number", row("a", `"schema": "invoice", "label_quality": "verified", "expected": {"total_amount": 29.99}`), "want a string, got a number"},
		{"bad currency", row("a", `"schema": "invoice", "label_quality": "verified", "expected": {"currency": "€"}`), "ISO 4217"},
		{"bad quantity", row("a", `"schema": "invoice", "label_quality": "verified", "expected": {"line_items": [{"quantity": "2.50"}]}`), "line_items: [0].quantity"},
		{"bad line item key", row("a", `"schema": "invoice", "label_quality": "verified", "expected": {"line_items": [{"price": "1.00"}]}`), "not a line item field"},
		{"vat id with spaces", row("a", `"schema": "invoice", "label_quality": "verified", "expected": {"vendor_vat_id": "DE 123"}`), "without whitespace"},
		{"parties not a list", row("a", `"schema": "nda", "label_quality": "verified", "expected": {"parties": "Acme"}`), "list of strings"},
		{"mismatch with labels", row("a", `"schema": "invoice", "label_quality": "mismatch", "expected": {"currency": "EUR"}`), "must be {}"},
		{"no expected", row("a", `"schema": "invoice", "label_quality": "verified"`), "expected is missing"},
		{"bad quality", row("a", `"schema": "invoice", "label_quality": "great", "expected": {}`), "label_quality"},
		{"bad outcome", row("a", `"expect": "works"`), `expect "works"`},
		{"hostile with labels", row("a", `"expect": "ok", "schema": "invoice"`), "must not have schema"},
		{"missing file", `{"id": "a", "file": "files/nope.pdf", "group": "g", ` + src + `, "expect": "ok"}`, "files/nope.pdf"},
		{"escaping file", `{"id": "a", "file": "../a.pdf", "group": "g", ` + src + `, "expect": "ok"}`, "inside the dataset folder"},
		{"short commit", `{"id": "a", "file": "files/a.pdf", "group": "g", "source": {"repo": "o/r", "path": "p", "license": "MIT", "commit": "abc"}, "expect": "ok"}`, "40-hex"},
		{"no license", `{"id": "a", "file": "files/a.pdf", "group": "g", "source": {"repo": "o/r", "path": "p"}, "expect": "ok"}`, "source.license"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			good := row("good", `"expect": "ok"`)
			dir := writeDataset(t, good, tt.line)
			d, err := Load(dir)
			var re *RowError
			if !errors.As(err, &re) {
				t.Fatalf("err = %v, want a RowError", err)
			}
			if re.Line != 2 || !strings.HasSuffix(re.File, "dataset.jsonl") {
				t.Errorf("error at %s:%d, want dataset.jsonl:2", re.File, re.Line)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "dataset.jsonl:2:") {
				t.Errorf("err = %q, want it to say %q with file:line", err, tt.want)
			}
			if d == nil || len(d.Rows) != 1 || d.Rows[0].ID != "good" {
				t.Errorf("the good row must survive a bad one: %+v", d)
			}
		})
	}
}

func TestLoadDuplicateID(t *testing.T) {
	dir := writeDataset(t, row("a", `"expect": "ok"`), row("a", `"expect": "ok"`))
	_, err := Load(dir)
	if err == nil || !strings.Contains(err.Error(), "dataset.jsonl:2: id \"a\" already used on line 1") {
		t.Errorf("err = %v", err)
	}
}

func TestLoadMissing(t *testing.T) {
	if _, err := Load(t.TempDir()); !errors.Is(err, ErrNoDataset) {
		t.Errorf("err = %v, want ErrNoDataset", err)
	}
}

// The shared corpus loads without a rejected row.
func TestLoadSharedCorpus(t *testing.T) {
	corpus := testenv.CorpusDir(t)
	for _, name := range []string{"public", "hostile"} {
		d, err := Load(filepath.Join(corpus, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(d.Rows) == 0 {
			t.Errorf("%s: no rows", name)
		}
	}
}
