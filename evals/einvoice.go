package evals

import (
	"fmt"
	"slices"
	"strings"

	"github.com/extractor-dev/extractor/pipeline"
)

// EInvoiceKeys are the fields whose printed values decide the quality of
// a label made from an e-invoice: a row is "verified" when the page prints
// every one of them as the XML has it.
var EInvoiceKeys = []string{"invoice_number", "issue_date", "total_amount"}

// EInvoiceLabel is the label a document's e-invoice gives it, for a
// dataset that measures the text extractors on the same layouts: the
// values read from the XML that the page prints (found on their page and
// quoted), and the line items whose line was found. Values the XML carries
// but the page does not print are left out: a text extractor cannot be
// expected to read them.
//
// quality is "verified" when every EInvoiceKeys field is printed,
// "partial" when some are not, "mismatch" when the page prints another
// value than the XML for any field (an einvoice_mismatch that failed; the
// label is then empty, and evals exclude the row), and "unlabelled" when
// nothing is printed. notes says why, for the row's notes.
func EInvoiceLabel(x pipeline.Extraction) (label Label, quality, notes string) {
	var mismatched []string
	for _, is := range x.Issues {
		if is.Code == pipeline.IssueEInvoiceMismatch && is.Severity == pipeline.SeverityFail {
			mismatched = append(mismatched, is.Field)
		}
	}
	if len(mismatched) > 0 {
		slices.Sort(mismatched)
		return Label{}, "mismatch", "the page prints another value than the e-invoice for " + strings.Join(slices.Compact(mismatched), ", ")
	}
	printed := x
	printed.Fields = map[string]pipeline.Field{}
	for name, f := range x.Fields {
		if f.Grounded && !f.NotPrinted() {
			printed.Fields[name] = f
		}
	}
	printed.Lists = map[string][]pipeline.Item{}
	for name, items := range x.Lists {
		for _, it := range items {
			if !it.Grounded {
				continue
			}
			kept := pipeline.Item{Evidence: it.Evidence, Grounded: true, Fields: map[string]pipeline.Field{}}
			for sub, f := range it.Fields {
				if !f.NotPrinted() {
					kept.Fields[sub] = f
				}
			}
			printed.Lists[name] = append(printed.Lists[name], kept)
		}
	}
	label, ok := LabelOf(x.Schema.Name, printed)
	if !ok || len(label) == 0 {
		return Label{}, "unlabelled", "the page prints none of the e-invoice's values"
	}
	var missing []string
	for _, k := range EInvoiceKeys {
		if _, ok := label[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return label, "partial", fmt.Sprintf("from the e-invoice; not printed as the XML has it: %s", strings.Join(missing, ", "))
	}
	return label, "verified", "from the e-invoice; every key field printed as the XML has it"
}
