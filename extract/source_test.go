package extract_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/extractor-dev/extractor/extract"
	"github.com/extractor-dev/extractor/extract/pdf"
	"github.com/extractor-dev/extractor/extract/rules"
	"github.com/extractor-dev/extractor/internal/testenv"
	"github.com/extractor-dev/extractor/pipeline"
)

// readAsRun reads a document as 'extractor run' does with e-invoices on:
// EInvoiceFirst over the rules, the rules as the cross-check where
// TextCheck applies, then the validator.
func readAsRun(t *testing.T, doc pipeline.Document, s pipeline.Schema, mode extract.EInvoiceMode) (pipeline.Extraction, error) {
	t.Helper()
	r := rules.New(rules.Config{})
	ex := extract.EInvoiceFirst{Text: r, Mode: mode}
	check := extract.TextCheck{Text: r}
	x, err := ex.Extract(context.Background(), doc, s)
	if err != nil {
		return x, err
	}
	var second *pipeline.Extraction
	if check.Applies(doc) {
		sx, err := check.Extract(context.Background(), doc, s)
		if err != nil {
			t.Fatal(err)
		}
		second = &sx
	}
	return extract.Checks{}.Validate(doc, s, x, second), nil
}

// The hybrid fixtures' variants: where the XML and the page disagree on
// what a payment goes by, the run raises a failing einvoice_mismatch on
// that field naming both values; where they agree, none; a malformed XML
// falls back to the page text with a warning saying why.
func TestEInvoiceMismatchOnHybridFixtures(t *testing.T) {
	dir := testenv.Testdata(t, "einvoice")
	s, err := extract.Builtin("invoice")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{ // variant -> the field that must mismatch
		"total": "total_amount", "number": "invoice_number", "iban": "iban",
		"match": "", "missing": "", "plain": "", "malformed": "",
	}
	data, err := os.ReadFile(filepath.Join(dir, "dataset.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var row struct{ ID, File, Notes string }
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatal(err)
		}
		_, after, _ := strings.Cut(row.Notes, "variant ")
		variant, _, _ := strings.Cut(after, ":")
		field, ok := want[variant]
		if !ok {
			t.Fatalf("%s: unknown variant %q", row.ID, variant)
		}
		seen[variant] = true
		doc, err := pdf.ParseFile(context.Background(), filepath.Join(dir, row.File), pdf.Options{})
		if err != nil {
			t.Fatal(err)
		}
		x, err := readAsRun(t, doc, s, extract.EInvoicePrefer)
		if err != nil {
			t.Fatalf("%s: %v", row.ID, err)
		}
		var mismatched []string
		for _, is := range x.Issues {
			if is.Code == pipeline.IssueEInvoiceMismatch && is.Severity == pipeline.SeverityFail {
				mismatched = append(mismatched, is.Field)
				if !strings.Contains(is.Message, "the page prints") || !strings.Contains(is.Message, "e-invoice carries") {
					t.Errorf("%s: message %q does not name both values", row.ID, is.Message)
				}
			}
		}
		switch {
		case variant == "malformed":
			if x.Extractor.Kind != "rules" || !hasIssue(x, pipeline.IssueEInvoice) {
				t.Errorf("%s: malformed XML read by %s, issues %+v; want the rules with an einvoice warning", row.ID, x.Extractor.Kind, x.Issues)
			}
		case x.Extractor.Kind != "einvoice":
			t.Errorf("%s (%s): read by %s", row.ID, variant, x.Extractor.Kind)
		}
		if field == "" && len(mismatched) > 0 {
			t.Errorf("%s (%s): mismatches %v, the page and the XML agree", row.ID, variant, mismatched)
		}
		if field != "" {
			if !contains(mismatched, field) {
				t.Errorf("%s (%s): mismatches %v, want %s", row.ID, variant, mismatched, field)
			}
			if !x.NeedsReview() {
				t.Errorf("%s (%s): a mismatch must send the document to review", row.ID, variant)
			}
		}
		if variant == "match" && x.NeedsReview() {
			t.Errorf("%s: a matching hybrid needs review: %+v", row.ID, x.Issues)
		}
	}
	for v := range want {
		if !seen[v] {
			t.Errorf("no fixture of variant %s", v)
		}
	}
}

func hasIssue(x pipeline.Extraction, code string) bool {
	for _, is := range x.Issues {
		if is.Code == code {
			return true
		}
	}
	return false
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// The modes: off never reads the XML, only fails documents without one,
// and TextCheck reads only the documents it checks (or all, with Always).
func TestEInvoiceModes(t *testing.T) {
	dir := testenv.Testdata(t, "einvoice")
	s, _ := extract.Builtin("invoice")
	hybrid, err := pdf.ParseFile(context.Background(), filepath.Join(dir, "files/synth/synth-0001.pdf"), pdf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	plain := hybrid
	plain.Attachments = nil

	x, err := readAsRun(t, plain, s, extract.EInvoiceOnly)
	if !errors.Is(err, extract.ErrNoEInvoiceOnly) {
		t.Errorf("only, no e-invoice: %v (%s)", err, x.Extractor.Kind)
	}
	if x, err = readAsRun(t, plain, s, extract.EInvoicePrefer); err != nil || x.Extractor.Kind != "rules" {
		t.Errorf("prefer, no e-invoice: %s, %v", x.Extractor.Kind, err)
	}
	if x, err = readAsRun(t, hybrid, s, extract.EInvoiceOnly); err != nil || x.Extractor.Kind != "einvoice" {
		t.Errorf("only, hybrid: %s, %v", x.Extractor.Kind, err)
	}
	check := extract.TextCheck{Text: rules.New(rules.Config{})}
	if check.Applies(plain) || !check.Applies(hybrid) {
		t.Errorf("TextCheck applies to plain %v, hybrid %v", check.Applies(plain), check.Applies(hybrid))
	}
	check.Always = true
	if !check.Applies(plain) {
		t.Error("TextCheck{Always} skips a document")
	}
	for _, m := range []string{"", "prefer", "off", "only"} {
		if _, err := extract.ParseEInvoiceMode(m); err != nil {
			t.Errorf("%q: %v", m, err)
		}
	}
	if _, err := extract.ParseEInvoiceMode("always"); !errors.Is(err, pipeline.ErrInvalid) {
		t.Errorf("always: %v", err)
	}
}

// BenchmarkSources compares, on the same parsed hybrid PDFs, reading a
// document from its e-invoice with reading it from its text (the rules),
// each followed by the validator; "as-run" is what 'extractor run' does
// with e-invoices on (the XML, the rules as the cross-check, validation).
// The corpus's hybrid files are used when the corpus is present, the
// project's synthetic hybrids otherwise.
//
//	go test ./extract -run '^$' -bench Sources -benchtime 200x
func BenchmarkSources(b *testing.B) {
	var paths []string
	if dir := os.Getenv("EXTRACTOR_CORPUS"); dir != "" {
		paths, _ = filepath.Glob(filepath.Join(dir, "public", "files", "zugferd", "*.pdf"))
	}
	if len(paths) == 0 {
		paths, _ = filepath.Glob(filepath.Join(testenv.Testdata(b, "einvoice"), "files", "synth", "*.pdf"))
	}
	s, err := extract.Builtin("invoice")
	if err != nil {
		b.Fatal(err)
	}
	var docs []pipeline.Document
	for _, p := range paths {
		doc, err := pdf.ParseFile(context.Background(), p, pdf.Options{})
		if err != nil || len(doc.Attachments) == 0 {
			continue
		}
		if _, err := (extract.EInvoice{}).Extract(context.Background(), doc, s); err != nil {
			continue
		}
		docs = append(docs, doc)
	}
	if len(docs) == 0 {
		b.Skip("no readable hybrid PDF")
	}
	b.Logf("%d hybrid PDFs", len(docs))
	r := rules.New(rules.Config{})
	read := map[string]func(pipeline.Document){
		"einvoice": func(doc pipeline.Document) {
			x, _ := extract.EInvoice{}.Extract(context.Background(), doc, s)
			extract.Checks{}.Validate(doc, s, x, nil)
		},
		"rules": func(doc pipeline.Document) {
			x, _ := r.Extract(context.Background(), doc, s)
			extract.Checks{}.Validate(doc, s, x, nil)
		},
		"as-run": func(doc pipeline.Document) {
			x, _ := extract.EInvoiceFirst{Text: r}.Extract(context.Background(), doc, s)
			sx, _ := extract.TextCheck{Text: r}.Extract(context.Background(), doc, s)
			extract.Checks{}.Validate(doc, s, x, &sx)
		},
	}
	for _, name := range []string{"einvoice", "rules", "as-run"} {
		b.Run(name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				read[name](docs[i%len(docs)])
			}
		})
	}
}
