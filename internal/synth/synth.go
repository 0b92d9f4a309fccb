// Package synth writes synthetic invoice PDFs with their ground truth, in the
// dataset format of the shared corpus (dataset.jsonl plus files/synth/*.pdf),
// so that a fresh clone has sample documents without third-party data.
//
// Output is a pure function of the seed: the same Options give byte-identical
// PDFs and labels. Documents vary in layout (six templates), language (EN,
// DE, FR with their date and number formats), currency, tax rate, length (some
// run over two or three pages) and noise (footer small print, a rotated PAID
// stamp). All money is computed in integer cents; every labelled value is
// printed on the page, so the labels are "verified".
//
// The package does not read flags, environment or the shared corpus, and it
// does not parse PDFs.
package synth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Options configures a run. The zero value writes nothing (Count 0).
type Options struct {
	// Seed decides everything; runs with the same Seed and Count are
	// byte-identical.
	Seed int64
	// Count is the number of documents, at most MaxCount.
	Count int
	// Noise adds footer small print and a rotated "PAID" stamp to a share
	// of the documents (drawn from the seed). Without it those documents
	// are otherwise identical. (Classic set only.)
	Noise bool
	// Hybrid makes hybrid invoices: each PDF carries its CII XML as
	// factur-x.xml (see HybridInvoice), document i in variant
	// HybridVariant(i). The pages are the same as without it.
	Hybrid bool
	// Set chooses the layouts: SetClassic (the zero value: six layouts,
	// English, German, French) or SetWide (twelve layouts, six languages,
	// labels drawn from the lexicon).
	Set Set
}

// MaxCount bounds Options.Count so that ids keep four digits and sort.
const MaxCount = 9999

// Row is one line of dataset.jsonl in the shared corpus format (README 1.1).
type Row struct {
	ID           string   `json:"id"`
	File         string   `json:"file"`
	Schema       string   `json:"schema"`
	Expected     Expected `json:"expected"`
	Group        string   `json:"group"`
	Source       Source   `json:"source"`
	LabelQuality string   `json:"label_quality"`
	Notes        string   `json:"notes"`
}

// Expected holds the invoice fields in their normal forms (README 1.2).
type Expected struct {
	VendorName    string     `json:"vendor_name,omitempty"`
	VendorVATID   string     `json:"vendor_vat_id,omitempty"`
	CustomerName  string     `json:"customer_name,omitempty"`
	InvoiceNumber string     `json:"invoice_number,omitempty"`
	IssueDate     string     `json:"issue_date,omitempty"`
	DueDate       string     `json:"due_date,omitempty"`
	Currency      string     `json:"currency,omitempty"`
	NetAmount     string     `json:"net_amount,omitempty"`
	TaxAmount     string     `json:"tax_amount,omitempty"`
	TotalAmount   string     `json:"total_amount,omitempty"`
	IBAN          string     `json:"iban,omitempty"`
	LineItems     []LineItem `json:"line_items,omitempty"`
}

// LineItem is one labelled invoice line.
type LineItem struct {
	Description string `json:"description"`
	Quantity    string `json:"quantity"`
	UnitPrice   string `json:"unit_price"`
	Amount      string `json:"amount"`
}

// Source says where a row comes from.
type Source struct {
	Repo    string `json:"repo"`
	Path    string `json:"path"`
	License string `json:"license"`
}

// Family is the folder under files/ that holds the PDFs.
const Family = "synth"

// Generate writes dir/dataset.jsonl and dir/files/synth/<id>.pdf for
// opts.Count invoices. Stale synth-*.pdf and wide-*.pdf files from an
// earlier, larger run are removed; nothing else in dir is touched.
func Generate(dir string, opts Options) error {
	if opts.Count < 0 || opts.Count > MaxCount {
		return fmt.Errorf("synth: count %d out of range 0..%d", opts.Count, MaxCount)
	}
	files := filepath.Join(dir, "files", Family)
	if err := os.MkdirAll(files, 0o755); err != nil {
		return err
	}
	rows := make([]Row, 0, opts.Count)
	keep := make(map[string]bool, opts.Count) // membership only
	for i := range opts.Count {
		data, row, err := Invoice(opts, i)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(row.File)), data, 0o644); err != nil {
			return err
		}
		keep[filepath.Base(row.File)] = true
		rows = append(rows, row)
	}
	old, err := filepath.Glob(filepath.Join(files, "synth-*.pdf"))
	if err != nil {
		return err
	}
	wide, err := filepath.Glob(filepath.Join(files, "wide-*.pdf"))
	if err != nil {
		return err
	}
	old = append(old, wide...)
	for _, f := range old {
		if !keep[filepath.Base(f)] {
			if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	slices.SortFunc(rows, func(a, b Row) int { return strings.Compare(a.ID, b.ID) })
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep "&" in company names readable
	for _, r := range rows {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "dataset.jsonl"), buf.Bytes(), 0o644)
}

// Invoice renders document i (0-based) of the run described by opts
// (opts.Count is ignored) and returns the PDF and its dataset row.
func Invoice(opts Options, i int) (pdf []byte, row Row, err error) {
	if i < 0 || i >= MaxCount {
		return nil, Row{}, fmt.Errorf("synth: index %d out of range 0..%d", i, MaxCount-1)
	}
	if opts.Hybrid {
		pdf, _, row, err := HybridInvoice(opts, i, HybridVariant(i))
		return pdf, row, err
	}
	if opts.Set == SetWide {
		return wideInvoice(opts, i)
	}
	inv := newInvoice(opts.Seed, i)
	if !opts.Noise {
		inv.footerNoise, inv.stampNoise = false, false
	}
	res, err := render(inv)
	if err != nil {
		return nil, Row{}, err
	}
	return res.pdf, inv.row(res), nil
}

// row is the dataset row for a rendered invoice.
func (inv *invoice) row(res renderResult) Row {
	label := func(c int64) string { return numFmt{"", "."}.cents(c) }
	e := Expected{
		VendorName:    inv.vendor.name,
		VendorVATID:   inv.vendor.vat,
		CustomerName:  inv.customer.name,
		InvoiceNumber: inv.number,
		IssueDate:     inv.issue.Format("2006-01-02"),
		DueDate:       inv.due.Format("2006-01-02"),
		Currency:      inv.currency,
		NetAmount:     label(inv.net),
		TaxAmount:     label(inv.tax),
		TotalAmount:   label(inv.total),
		IBAN:          inv.iban,
	}
	for _, it := range inv.items {
		e.LineItems = append(e.LineItems, LineItem{
			Description: it.desc,
			Quantity:    numFmt{"", "."}.hundredths(it.qty),
			UnitPrice:   label(it.unit),
			Amount:      label(it.amount),
		})
	}
	notes := fmt.Sprintf("synthetic; seed %d; layout %s; lang %s; pages %d", inv.seed, inv.layout, inv.lang, res.pages)
	var noise []string
	if inv.footerNoise {
		noise = append(noise, "footer")
	}
	if res.stamped {
		noise = append(noise, "stamp")
	}
	if len(noise) > 0 {
		notes += "; noise " + strings.Join(noise, "+")
	}
	return Row{
		ID:           inv.id,
		File:         "files/" + Family + "/" + inv.id + ".pdf",
		Schema:       "invoice",
		Expected:     e,
		Group:        "synth:" + inv.layout.String(),
		Source:       Source{Repo: "extractor-dev/extractor", Path: "internal/synth", License: "MIT"},
		LabelQuality: "verified",
		Notes:        notes,
	}
}
