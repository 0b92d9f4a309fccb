package extract

import (
	"strings"
	"testing"

	"github.com/extractor-dev/extractor/pipeline"
)

// page1 builds a one-page document from lines.
func page1(lines ...string) pipeline.Document {
	p := pipeline.Page{Number: 1, Status: pipeline.PageText}
	for _, l := range lines {
		p.Lines = append(p.Lines, pipeline.Line{Text: l})
	}
	return pipeline.Document{ID: "d", Pages: []pipeline.Page{p}}
}

func field(raw, quote string) pipeline.Field {
	return pipeline.Field{Raw: raw, Evidence: pipeline.Evidence{Page: 1, Quote: quote}}
}

func issueCodes(x pipeline.Extraction, field string) []string {
	var out []string
	for _, i := range x.Issues {
		if i.Field == field {
			out = append(out, i.Code+"/"+string(i.Severity))
		}
	}
	return out
}

func TestFinalize(t *testing.T) {
	doc := page1(
		"ACME GmbH, Hauptstraße 1, Berlin",
		"Rechnung Nr. RE-1  Datum: 05.03.2024  Fällig: 04.04.2024",
		"Netto 100,00 €   MwSt. 19,00 €   Gesamt 119,00 €",
	)
	s := mustBuiltin(t, "invoice")
	tests := []struct {
		name   string
		fields map[string]pipeline.Field
		check  func(t *testing.T, x pipeline.Extraction)
	}{
		{"grounded and normalized", map[string]pipeline.Field{
			"total_amount": field("119,00 €", "Gesamt 119,00 €"),
			"issue_date":   field("05.03.2024", "Datum: 05.03.2024"),
		}, func(t *testing.T, x pipeline.Extraction) {
			f := x.Fields["total_amount"]
			if f.Value != "119.00" || f.Currency != "EUR" || !f.Grounded || f.Confidence < 0.7 {
				t.Errorf("total = %+v", f)
			}
			if d := x.Fields["issue_date"]; d.Value != "2024-03-05" || !d.Grounded {
				t.Errorf("date = %+v", d)
			}
		}},
		{"a value not in its quote is flagged", map[string]pipeline.Field{
			"total_amount": field("219,00 €", "Gesamt 119,00 €"),
		}, func(t *testing.T, x pipeline.Extraction) {
			f := x.Fields["total_amount"]
			if f.Grounded || f.Value != "219.00" || f.Confidence > 0.5 {
				t.Errorf("total = %+v: a hallucinated value must not be grounded", f)
			}
			if got := issueCodes(x, "total_amount"); len(got) != 1 || got[0] != "ungrounded/fail" {
				t.Errorf("issues = %v", got)
			}
		}},
		{"a quote not on the page is flagged", map[string]pipeline.Field{
			"total_amount": field("119,00", "Total due 119,00"),
		}, func(t *testing.T, x pipeline.Extraction) {
			if x.Fields["total_amount"].Grounded {
				t.Error("invented quote accepted")
			}
		}},
		{"a tiny quote grounds nothing", map[string]pipeline.Field{
			"invoice_number": field("1", "1"),
		}, func(t *testing.T, x pipeline.Extraction) {
			f := x.Fields["invoice_number"]
			if f.Grounded || !strings.Contains(x.Issues[len(x.Issues)-1].Message+x.Issues[0].Message, "too short") {
				t.Errorf("field %+v, issues %+v", f, x.Issues)
			}
		}},
		{"an invalid value keeps its raw and is flagged", map[string]pipeline.Field{
			"issue_date": field("32.13.2024", "Datum: 05.03.2024"),
		}, func(t *testing.T, x pipeline.Extraction) {
			f := x.Fields["issue_date"]
			if f.Value != "" || f.Raw != "32.13.2024" {
				t.Errorf("date = %+v", f)
			}
			got := strings.Join(issueCodes(x, "issue_date"), ",")
			if !strings.Contains(got, "invalid/fail") {
				t.Errorf("issues = %v", got)
			}
		}},
		{"missing required fields", map[string]pipeline.Field{}, func(t *testing.T, x pipeline.Extraction) {
			for _, name := range []string{"vendor_name", "invoice_number", "issue_date", "total_amount"} {
				if got := issueCodes(x, name); len(got) != 1 || got[0] != "missing/fail" {
					t.Errorf("%s: issues %v", name, got)
				}
			}
			if len(issueCodes(x, "due_date")) != 0 {
				t.Error("an optional field that is absent is not an issue")
			}
		}},
		{"net + tax must equal total", map[string]pipeline.Field{
			"net_amount":   field("100,00", "Netto 100,00 €"),
			"tax_amount":   field("19,00", "MwSt. 19,00 €"),
			"total_amount": field("100,00", "Netto 100,00 €"),
		}, func(t *testing.T, x pipeline.Extraction) {
			if got := strings.Join(issueCodes(x, "total_amount"), ","); got != "arithmetic/fail" {
				t.Errorf("issues = %v", got)
			}
		}},
		{"net + tax = total within a cent passes", map[string]pipeline.Field{
			"net_amount":   field("100,00", "Netto 100,00 €"),
			"tax_amount":   field("19,00", "MwSt. 19,00 €"),
			"total_amount": field("119,00", "Gesamt 119,00 €"),
		}, func(t *testing.T, x pipeline.Extraction) {
			if len(x.Issues) > 4 { // only the missing required fields
				t.Errorf("issues = %+v", x.Issues)
			}
			if x.Failed() != true { // vendor_name etc. are missing
				t.Error("missing required fields must fail the document")
			}
		}},
		{"due date before issue date", map[string]pipeline.Field{
			"issue_date": field("04.04.2024", "Fällig: 04.04.2024"),
			"due_date":   field("05.03.2024", "Datum: 05.03.2024"),
		}, func(t *testing.T, x pipeline.Extraction) {
			if got := strings.Join(issueCodes(x, "due_date"), ","); got != "date_order/fail" {
				t.Errorf("issues = %v", got)
			}
		}},
		{"fields the schema lacks are dropped", map[string]pipeline.Field{
			"bank_name": field("Sparkasse", "Sparkasse Berlin"),
		}, func(t *testing.T, x pipeline.Extraction) {
			if _, ok := x.Fields["bank_name"]; ok {
				t.Error("an undeclared field survived")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := pipeline.Extraction{Fields: tt.fields}
			Finalize(doc, s, &x, nil)
			tt.check(t, x)
		})
	}
}

func TestFinalizeLineItems(t *testing.T) {
	doc := page1(
		"Item            Qty   Price    Amount",
		"Widget A          2   10,00     20,00",
		"Widget B          1    5,50      5,50",
		"Net 25,50",
	)
	s := mustBuiltin(t, "invoice")
	item := func(desc, qty, amount, quote string) pipeline.Item {
		return pipeline.Item{Evidence: pipeline.Evidence{Page: 1, Quote: quote}, Fields: map[string]pipeline.Field{
			"description": {Raw: desc}, "quantity": {Raw: qty}, "amount": {Raw: amount}}}
	}
	x := pipeline.Extraction{
		Fields: map[string]pipeline.Field{"net_amount": field("25,50", "Net 25,50")},
		Lists: map[string][]pipeline.Item{"line_items": {
			item("Widget A", "2", "20,00", "Widget A          2   10,00     20,00"),
			item("Widget B", "1", "9,99", "Widget B          1    5,50      5,50"), // amount not on its row
		}},
	}
	Finalize(doc, s, &x, nil)
	items := x.Lists["line_items"]
	if !items[0].Grounded || items[0].Fields["amount"].Value != "20.00" || items[0].Fields["quantity"].Page != 1 {
		t.Errorf("item 0 = %+v", items[0])
	}
	if items[1].Grounded || items[1].Fields["amount"].Grounded {
		t.Errorf("item 1 = %+v: its amount is not on the row it quotes", items[1])
	}
	found := map[string]bool{}
	for _, i := range x.Issues {
		found[i.Field+" "+i.Code] = true
	}
	if !found["line_items[1].amount ungrounded"] || !found["line_items arithmetic"] {
		t.Errorf("issues = %+v", x.Issues)
	}
}

func TestFinalizeConfidenceUsesASecondOpinion(t *testing.T) {
	doc := page1("Gesamt 119,00 €", "Rechnung Nr. RE-1")
	s := mustBuiltin(t, "invoice")
	second := pipeline.Extraction{Fields: map[string]pipeline.Field{
		"total_amount":   {Value: "119.00"},
		"invoice_number": {Value: "RE-2"},
	}}
	x := pipeline.Extraction{Fields: map[string]pipeline.Field{
		"total_amount":   field("119,00 €", "Gesamt 119,00 €"),
		"invoice_number": field("RE-1", "Rechnung Nr. RE-1"),
	}}
	Finalize(doc, s, &x, &second)
	agree, disagree := x.Fields["total_amount"].Confidence, x.Fields["invoice_number"].Confidence
	if agree != 1 || disagree >= agree {
		t.Errorf("confidence: agreeing %v, disagreeing %v", agree, disagree)
	}
	if got := issueCodes(x, "invoice_number"); len(got) != 1 || got[0] != "disagreement/warn" {
		t.Errorf("issues = %v", got)
	}
}

func TestCheckValue(t *testing.T) {
	doc := page1(
		"ACME GmbH, Hauptstraße 1, Berlin",
		"Rechnung Nr. RE-1  Datum: 05.03.2024  Fällig: 04.04.2024",
		"Netto 100,00 €   MwSt. 19,00 €   Gesamt 119,00 €",
	)
	doc.Pages = append(doc.Pages, pipeline.Page{Number: 2, Status: pipeline.PageText, Lines: []pipeline.Line{{Text: "IBAN DE89 3704 0044 0532 0130 00"}}})
	money := pipeline.FieldSpec{Name: "total_amount", Type: pipeline.TypeMoney}
	date := pipeline.FieldSpec{Name: "issue_date", Type: pipeline.TypeDate}
	iban := pipeline.FieldSpec{Name: "iban", Type: pipeline.TypeIBAN}
	po := pipeline.FieldSpec{Name: "po_number", Type: pipeline.TypeString, Pattern: `^PO-\d+$`}
	ev := func(page int, quote string) pipeline.Evidence { return pipeline.Evidence{Page: page, Quote: quote} }
	for _, tt := range []struct {
		name    string
		spec    pipeline.FieldSpec
		raw     string
		ev      pipeline.Evidence
		want    pipeline.Field
		wantErr string
	}{
		{"typed, normalized like a reading", money, "1.234,50 €", pipeline.Evidence{},
			pipeline.Field{Value: "1234.50", Raw: "1.234,50 €", Currency: "EUR", Evidence: pipeline.Evidence{Origin: pipeline.OriginReview}}, ""},
		{"typed date", date, "5 March 2024", pipeline.Evidence{},
			pipeline.Field{Value: "2024-03-05", Raw: "5 March 2024", Evidence: pipeline.Evidence{Origin: pipeline.OriginReview}}, ""},
		{"picked on the page: grounded", money, "119,00", ev(1, "Gesamt 119,00 €"),
			pipeline.Field{Value: "119.00", Raw: "119,00", Evidence: ev(1, "Gesamt 119,00 €"), Grounded: true,
				Signals: pipeline.Signals{Grounded: 1, Valid: 1}}, ""},
		{"the page is corrected when the quote is on another", iban, "DE89370400440532013000", ev(1, "IBAN DE89 3704 0044 0532 0130 00"),
			pipeline.Field{Value: "DE89370400440532013000", Raw: "DE89370400440532013000", Evidence: ev(2, "IBAN DE89 3704 0044 0532 0130 00"),
				Grounded: true, Signals: pipeline.Signals{Grounded: 1, Valid: 1}}, ""},
		{"cleared", money, "  ", ev(1, "Gesamt 119,00 €"), pipeline.Field{}, ""},
		{"not an amount", money, "about twelve", pipeline.Evidence{}, pipeline.Field{}, "amount"},
		{"not a date", date, "31.02.2024", pipeline.Evidence{}, pipeline.Field{}, "date"},
		{"bad checksum", iban, "DE00370400440532013000", pipeline.Evidence{}, pipeline.Field{}, "checksum"},
		{"against the pattern", po, "12345", pipeline.Evidence{}, pipeline.Field{}, "pattern"},
		{"a quote that does not hold the value", money, "219,00", ev(1, "Gesamt 119,00 €"), pipeline.Field{}, "does not contain"},
		{"a quote not on the document", money, "119,00", ev(1, "Total due 119,00"), pipeline.Field{}, "not found"},
		{"a quote too short", money, "119", ev(1, "119"), pipeline.Field{}, "too short"},
		{"a page out of range", money, "119,00", ev(7, "Gesamt 119,00 €"), pipeline.Field{}, "out of range"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CheckValue(doc, tt.spec, tt.raw, tt.ev)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("CheckValue(%q) = %+v, %v; want an error about %q", tt.raw, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("CheckValue(%q): %v", tt.raw, err)
			}
			if got != tt.want {
				t.Errorf("CheckValue(%q) =\n %+v\nwant\n %+v", tt.raw, got, tt.want)
			}
		})
	}
}

func TestRecheck(t *testing.T) {
	val := func(v string) pipeline.Field { return pipeline.Field{Value: v, Raw: v} }
	for _, tt := range []struct {
		name   string
		fields map[string]pipeline.Field
		issues []pipeline.Issue
		want   []string
	}{
		{"a corrected total clears the arithmetic issue",
			map[string]pipeline.Field{"net_amount": val("100.00"), "tax_amount": val("19.00"), "total_amount": val("119.00")},
			[]pipeline.Issue{{Field: "total_amount", Code: pipeline.IssueArithmetic, Severity: pipeline.SeverityFail},
				{Field: "iban", Code: pipeline.IssueInvalid, Severity: pipeline.SeverityFail}},
			[]string{"iban:invalid"}},
		{"a wrong correction raises it",
			map[string]pipeline.Field{"net_amount": val("100.00"), "tax_amount": val("19.00"), "total_amount": val("120.00")},
			nil, []string{"total_amount:arithmetic"}},
		{"dates corrected into order",
			map[string]pipeline.Field{"issue_date": val("2024-03-05"), "due_date": val("2024-04-04")},
			[]pipeline.Issue{{Field: "due_date", Code: pipeline.IssueDateOrder, Severity: pipeline.SeverityFail}}, nil},
		{"dates corrected out of order",
			map[string]pipeline.Field{"issue_date": val("2024-05-05"), "due_date": val("2024-04-04")},
			nil, []string{"due_date:date_order"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			x := pipeline.Extraction{Fields: tt.fields, Issues: tt.issues}
			Recheck(&x)
			var got []string
			for _, is := range x.Issues {
				got = append(got, is.Field+":"+is.Code)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("issues %v, want %v", got, tt.want)
			}
		})
	}
}
