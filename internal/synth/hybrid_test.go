package synth

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/extractor-dev/extractor/extract/einvoice"
	"github.com/extractor-dev/extractor/extract/pdf"
	"github.com/extractor-dev/extractor/internal/testenv"
	"github.com/extractor-dev/extractor/pipeline"
)

// hybridOptions made the hybrid fixtures committed in testdata/einvoice:
// seven documents, one of each variant.
var hybridOptions = Options{Seed: 11, Count: len(Variants), Noise: true, Hybrid: true}

// TestHybridFixtures checks that the committed hybrid fixtures are what
// the generator makes today; run with -update after changing it:
//
//	go test ./internal/synth/ -run TestHybridFixtures -update
//
// testdata/einvoice holds a dataset in the corpus format (labels are what
// the pages print) and, in xml/, the CII XML of the first (matching)
// document on its own.
func TestHybridFixtures(t *testing.T) {
	dir := filepath.Join(testenv.RepoRoot(t), "testdata", "einvoice")
	xmlPath := filepath.Join(dir, "xml", "synth-0001-cii.xml")
	_, xml, _, err := HybridInvoice(hybridOptions, 0, HybridVariant(0))
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := Generate(dir, hybridOptions); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(xmlPath), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(xmlPath, xml, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	hint := "regenerate with: go test ./internal/synth/ -run TestHybridFixtures -update"
	if !bytes.Equal(readFile(t, xmlPath), xml) {
		t.Fatalf("%s is stale; %s", xmlPath, hint)
	}
	fresh := t.TempDir()
	if err := Generate(fresh, hybridOptions); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readFile(t, filepath.Join(dir, "dataset.jsonl")), readFile(t, filepath.Join(fresh, "dataset.jsonl"))) {
		t.Fatalf("testdata/einvoice/dataset.jsonl is stale; %s", hint)
	}
	ctx := context.Background()
	for _, name := range listFiles(t, fresh) {
		if !strings.HasSuffix(name, ".pdf") {
			continue
		}
		want, got := readFile(t, filepath.Join(fresh, name)), readFile(t, filepath.Join(dir, name))
		if bytes.Equal(want, got) {
			continue
		}
		// As for the sample set: byte differences with the same text and
		// attachments can come from another architecture's floating point.
		dw, err1 := pdf.ParseBytes(ctx, want, pdf.Options{})
		dg, err2 := pdf.ParseBytes(ctx, got, pdf.Options{})
		if err1 != nil || err2 != nil || dw.Text() != dg.Text() || !sameAttachments(dw.Attachments, dg.Attachments) {
			t.Errorf("testdata/einvoice/%s is stale; %s", name, hint)
		}
	}
}

func sameAttachments(a, b []pipeline.Attachment) bool {
	return slices.EqualFunc(a, b, func(x, y pipeline.Attachment) bool { return x.Name == y.Name && x.SHA256 == y.SHA256 })
}

// TestHybridInvoices: every variant's PDF carries its XML where a reader
// finds it, with the page unchanged from the plain invoice, and the XML
// says what the variant promises.
func TestHybridInvoices(t *testing.T) {
	ctx := context.Background()
	opts := Options{Seed: 4, Noise: true}
	for i, v := range Variants {
		t.Run(string(v), func(t *testing.T) {
			data, xml, row, err := HybridInvoice(opts, i, v)
			if err != nil {
				t.Fatal(err)
			}
			again, _, _, err := HybridInvoice(opts, i, v)
			if err != nil || !bytes.Equal(data, again) {
				t.Fatal("HybridInvoice is not deterministic")
			}
			plain, plainRow, err := Invoice(opts, i)
			if err != nil {
				t.Fatal(err)
			}
			doc, err := pdf.ParseBytes(ctx, data, pdf.Options{})
			if err != nil {
				t.Fatal(err)
			}
			plainDoc, err := pdf.ParseBytes(ctx, plain, pdf.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if doc.Text() != plainDoc.Text() || !reflectEqualJSON(row.Expected, plainRow.Expected) {
				t.Error("the hybrid's page or labels differ from the plain invoice's")
			}
			if len(doc.Attachments) != 1 || !bytes.Equal(doc.Attachments[0].Data, xml) {
				t.Fatalf("attachments %+v", doc.Attachments)
			}
			a := doc.Attachments[0]
			if v == VariantPlain {
				if a.Name != XMLName || a.Associated || a.Relationship != "" || doc.Meta[pipeline.MetaEInvoiceConformanceLevel] != "" {
					t.Errorf("plain attachment %+v, meta %v", a, doc.Meta)
				}
			} else if a.Name != XMLName || !a.Associated || a.Relationship != "Data" || a.MIMEType != "text/xml" ||
				doc.Meta[pipeline.MetaEInvoiceConformanceLevel] != "EN 16931" || doc.Meta[pipeline.MetaEInvoiceDocumentFileName] != XMLName {
				t.Errorf("attachment %+v, meta %v", a, doc.Meta)
			}
			if !strings.Contains(row.Notes, "variant "+string(v)) {
				t.Errorf("notes %q do not name the variant", row.Notes)
			}

			inv, err := einvoice.Read(xml)
			if v == VariantMalformed {
				if err == nil {
					t.Error("the malformed XML reads")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			e := row.Expected
			got := map[string][2]string{ // field: XML, page
				"invoice_number": {inv.Number, e.InvoiceNumber}, "issue_date": {inv.IssueDate, e.IssueDate}, "due_date": {inv.DueDate, e.DueDate},
				"vendor_name": {inv.SellerName, e.VendorName}, "vendor_vat_id": {inv.SellerVATID, e.VendorVATID}, "customer_name": {inv.BuyerName, e.CustomerName},
				"currency": {inv.Currency, e.Currency}, "net_amount": {inv.NetAmount, e.NetAmount}, "tax_amount": {inv.TaxAmount, e.TaxAmount},
				"total_amount": {inv.TotalAmount, e.TotalAmount}, "iban": {inv.IBAN, e.IBAN},
			}
			differ := map[Variant][]string{
				VariantTotal:   {"net_amount", "tax_amount", "total_amount"},
				VariantNumber:  {"invoice_number"},
				VariantIBAN:    {"iban"},
				VariantMissing: {"due_date", "iban", "vendor_vat_id"},
			}[v]
			for f, xp := range got {
				switch {
				case slices.Contains(differ, f) && xp[0] == xp[1]:
					t.Errorf("%s: the XML has the page's %q", f, xp[1])
				case !slices.Contains(differ, f) && xp[0] != xp[1]:
					t.Errorf("%s: XML %q, page %q", f, xp[0], xp[1])
				}
			}
			if v == VariantMissing {
				if inv.Valid() || len(inv.Violations) == 0 {
					t.Error("the XML without a seller VAT id breaks no rule")
				}
			} else if !inv.Valid() {
				t.Errorf("XML breaks %v", inv.Violations)
			}
			if inv.Profile != einvoice.ProfileEN16931 || len(inv.Lines) != len(e.LineItems) {
				t.Errorf("profile %q, %d lines for %d", inv.Profile, len(inv.Lines), len(e.LineItems))
			}
			for j, l := range inv.Lines {
				want := e.LineItems[j]
				if v == VariantTotal && j == 0 {
					continue
				}
				if l.Description != want.Description || l.Quantity != want.Quantity || l.UnitPrice != want.UnitPrice || l.Amount != want.Amount {
					t.Errorf("line %d: XML %+v, page %+v", j+1, l, want)
				}
			}
		})
	}
}

func reflectEqualJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}
