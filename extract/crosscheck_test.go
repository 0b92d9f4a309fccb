package extract

import (
	"strings"
	"testing"

	"github.com/extractor-dev/extractor/pipeline"
)

// Values the page prints differently from the e-invoice but that a
// payment reads the same are not mismatches.
func TestSameReading(t *testing.T) {
	money := pipeline.FieldSpec{Name: "total_amount", Type: pipeline.TypeMoney}
	iban := pipeline.FieldSpec{Name: "iban", Type: pipeline.TypeIBAN}
	vendor := pipeline.FieldSpec{Name: "vendor_name", Type: pipeline.TypeString}
	number := pipeline.FieldSpec{Name: "invoice_number", Type: pipeline.TypeString}
	for _, tt := range []struct {
		spec pipeline.FieldSpec
		a, b string
		same bool
	}{
		{money, "100.00", "100.00", true},
		{money, "100.00", "-100.00", true}, // a credit note's page
		{money, "100.00", "100.01", false},
		{iban, "DE88200800000970375700", "DE88 2008 0000 0970 3757 00", true},
		{iban, "DE88200800000970375700", "DE37169390723727966081", false},
		{vendor, "Au bon moulin", "Au bon moulin SARL", true}, // the legal form
		{vendor, "Kälte Klima Nord GmbH", "KÄLTE KLIMA NORD", true},
		{vendor, "Kälte Klima Nord GmbH", "Hotel Seeblick", false},
		{number, "RE-2024/0815", "re-2024/0815", true},
		{number, "890925", "890928", false},
	} {
		if got := sameReading(tt.spec, tt.a, tt.b); got != tt.same {
			t.Errorf("sameReading(%s, %q, %q) = %v, want %v", tt.spec.Name, tt.a, tt.b, got, tt.same)
		}
	}
}

// ocrPage is a recognised page whose lines are made of words with the
// given confidences.
func ocrPage(lines ...[]pipeline.Word) pipeline.Page {
	p := pipeline.Page{Number: 1, Status: pipeline.PageOCR}
	for _, ws := range lines {
		var texts []string
		for _, w := range ws {
			texts = append(texts, w.Text)
		}
		p.Lines = append(p.Lines, pipeline.Line{Text: strings.Join(texts, " "), Words: ws})
	}
	return p
}

// A value read from OCR words the engine was unsure of is not let through:
// it gets an ocr_uncertain issue and a confidence that sends its document
// to review. Unsure label words next to a sure amount do not count, and a
// text-layer page has no OCR confidence at all.
func TestOCRConfidenceGatesValues(t *testing.T) {
	s := pipeline.Schema{Name: "t", Fields: []pipeline.FieldSpec{
		{Name: "total_amount", Type: pipeline.TypeMoney, Required: true},
		{Name: "invoice_number", Type: pipeline.TypeString, Required: true},
	}}
	w := func(text string, c float64) pipeline.Word { return pipeline.Word{Text: text, Confidence: c} }
	for _, tt := range []struct {
		name      string
		page      pipeline.Page
		uncertain []string
	}{
		{"sure", ocrPage([]pipeline.Word{w("Total", 0.96), w("1.234,56", 0.93)}, []pipeline.Word{w("Invoice", 0.95), w("RE-4711", 0.91)}), nil},
		{"unsure amount", ocrPage([]pipeline.Word{w("Total", 0.96), w("1.234,56", 0.41)}, []pipeline.Word{w("Invoice", 0.95), w("RE-4711", 0.91)}), []string{"total_amount"}},
		{"unsure label only", ocrPage([]pipeline.Word{w("Tota1", 0.30), w("1.234,56", 0.93)}, []pipeline.Word{w("Invoice", 0.95), w("RE-4711", 0.91)}), nil},
		{"unsure number", ocrPage([]pipeline.Word{w("Total", 0.96), w("1.234,56", 0.93)}, []pipeline.Word{w("Invoice", 0.95), w("RE-4711", 0.2)}), []string{"invoice_number"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			doc := pipeline.Document{ID: "d", Pages: []pipeline.Page{tt.page}}
			x := pipeline.Extraction{Extractor: pipeline.ExtractorRef{Kind: "llm"}, Fields: map[string]pipeline.Field{
				"total_amount":   {Raw: "1.234,56", Evidence: pipeline.Evidence{Page: 1, Quote: tt.page.Lines[0].Text}},
				"invoice_number": {Raw: "RE-4711", Evidence: pipeline.Evidence{Page: 1, Quote: tt.page.Lines[1].Text}},
			}}
			Finalize(doc, s, &x, nil)
			var got []string
			for _, is := range x.Issues {
				if is.Code == pipeline.IssueOCRUncertain {
					got = append(got, is.Field)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.uncertain, ",") {
				t.Fatalf("uncertain %v, want %v (issues %+v)", got, tt.uncertain, x.Issues)
			}
			for name, f := range x.Fields {
				if !f.Grounded || f.Signals.OCR == 0 {
					t.Errorf("%s: grounded %v, OCR signal %v", name, f.Grounded, f.Signals.OCR)
				}
				if contains(tt.uncertain, name) && f.Confidence > OCRUncertainConfidence {
					t.Errorf("%s: confidence %v from unsure words", name, f.Confidence)
				}
			}
			if len(tt.uncertain) > 0 && !x.NeedsReview() {
				t.Errorf("confidence %v: a required value from unsure words must send the document to review", x.Confidence)
			}
			if len(tt.uncertain) == 0 && x.NeedsReview() {
				t.Errorf("confidence %v, issues %+v: sure words need no review", x.Confidence, x.Issues)
			}
		})
	}
	// The same text as a text layer: no OCR signal.
	p := ocrPage([]pipeline.Word{w("Total", 0.1), w("1.234,56", 0.1)})
	p.Status = pipeline.PageText
	if _, ok := ocrConfidence(pipeline.Document{Pages: []pipeline.Page{p}}, 1, s.Fields[0], "Total 1.234,56"); ok {
		t.Error("a text-layer page has an OCR confidence")
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
