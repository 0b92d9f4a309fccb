package evals

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/extractor-dev/extractor/pipeline"
)

func TestEqual(t *testing.T) {
	inv, nda := SchemaInvoice, SchemaNDA
	tests := []struct {
		schema, field, expected, got string
		want                         bool
	}{
		// Money and quantities: exact decimals, sign as labelled.
		{inv, "total_amount", "29.99", "29.99", true},
		{inv, "total_amount", "29.99", "29.990", true},
		{inv, "total_amount", "1810.80", "1810.8", true},
		{inv, "total_amount", "1810.80", " 1810.80 ", true},
		{inv, "total_amount", "1810.80", "1810.81", false},
		{inv, "total_amount", "1810.80", "1,810.80", false}, // not normalized
		{inv, "total_amount", "29.99", "€29.99", false},
		{inv, "net_amount", "-218.48", "-218.48", true}, // corrected invoice
		{inv, "net_amount", "-218.48", "218.48", false}, // sign matters
		{inv, "tax_amount", "233.47", "-233.47", false}, // credit note keeps the positive XML amount
		{inv, "tax_amount", "0.00", "0", true},
		{inv, "tax_amount", "0.00", "-0.00", true},
		{inv, "net_amount", "0.025", "0.03", false}, // no rounding
		{inv, "total_amount", "29.99", "", false},
		{inv, "line_items.quantity", "2.5", "2.50", true},
		{inv, "line_items.quantity", "-5", "-5.0", true},
		{inv, "line_items.quantity", "400", "400.00001", false},
		{inv, "line_items.unit_price", "0.79", "0.790", true},
		{inv, "line_items.amount", "-20.48", "-20.48", true},

		// Dates.
		{inv, "issue_date", "2015-07-02", "2015-07-02", true},
		{inv, "issue_date", "2015-07-02", "2015-07-03", false},
		{inv, "issue_date", "2015-07-02", "2015-02-07", false},
		{inv, "due_date", "2015-07-02", "02.07.2015", false}, // not normalized
		{inv, "due_date", "2015-07-02", "2015-7-2", false},
		{inv, "due_date", "2015-02-30", "2015-02-30", false}, // not a date
		{nda, "effective_date", "2020-01-31", "2020-01-31", true},

		// VAT ids and IBANs: letters and digits, case-folded.
		{inv, "vendor_vat_id", "DE232446240", "DE 232 446 240", true},
		{inv, "vendor_vat_id", "DE232446240", "de232446240", true},
		{inv, "vendor_vat_id", "NL810433941B01", "NL8104.33.941.B01", true},
		{inv, "vendor_vat_id", "DE232446240", "DE232446241", false},
		{inv, "vendor_vat_id", "DE232446240", "232446240", false},
		{inv, "iban", "DE88200800000970375700", "DE88 2008 0000 0970 3757 00", true},
		{inv, "iban", "FR2012421242124212421242124", "fr20 1242 1242 1242 1242 1242 124", true},
		{inv, "iban", "DE88200800000970375700", "DE88200800000970375701", false},

		// Invoice numbers: whitespace and case ignored, punctuation kept.
		{inv, "invoice_number", "VT/2022/0001", "VT/2022/0001", true},
		{inv, "invoice_number", "VT/2022/0001", "vt/2022/0001", true},
		{inv, "invoice_number", "VT/2022/0001", "VT / 2022 / 0001", true},
		{inv, "invoice_number", "VT/2022/0001", "VT20220001", false},
		{inv, "invoice_number", "VT/2022/0001", "VT-2022-0001", false},
		{inv, "invoice_number", "#BLR_WFLD20151000982590", "#BLR_WFLD20151000982590", true},
		{inv, "invoice_number", "#BLR_WFLD20151000982590", "BLR_WFLD20151000982590", false},
		{inv, "invoice_number", "RE-20140519/499", "RE\u201020140519/499", true}, // Unicode hyphen
		{inv, "invoice_number", "RE-20140519/499", "RE\u201320140519/499", true}, // en dash
		{inv, "invoice_number", "562044387", "562044388", false},
		{inv, "invoice_number", "2022/1/10", "2022/11/0", false},

		// Names: case, accents, punctuation, spacing, legal forms, typos.
		{inv, "vendor_name", "Société Générale", "SOCIETE GENERALE", true},
		{inv, "vendor_name", "Hôtel Saint Denis", "HOTEL SAINT-DENIS", true},
		{inv, "vendor_name", "Coolblue B.V.", "Coolblue BV", true},
		{inv, "vendor_name", "Coolblue B.V.", "coolblue", true},
		{inv, "vendor_name", "Bei Spiel GmbH", "Bei Spiel", true},
		{inv, "vendor_name", "Bei Spiel GmbH", "BeiSpiel GmbH", true},
		{inv, "vendor_name", "Bei Spiel GmbH", "Bei  Spiel\nGmbH", true},
		{inv, "vendor_name", "Bei Spiel GmbH", "Bei Spiel GmbH & Co. KG", true},
		{inv, "vendor_name", "QualityHosting AG", "QualityHosting", true},
		{inv, "vendor_name", "Amazon Web Services", "Amazon Web Services, Inc.", true},
		{inv, "vendor_name", "Amazon Web Services", "Amazon Web Service", true}, // one edit in 17
		{inv, "vendor_name", "Oravel Stays Private Limited", "Oravel Stays Pvt. Ltd.", true},
		{inv, "vendor_name", "Azure Interior", "Azure Interior Ltd", true},
		{inv, "vendor_name", "e-Luscious Nederland B.V.", "e-Luscious Nederland BV", true},
		{inv, "vendor_name", "Johnson & Johnson", "Johnson and Johnson", true},
		{inv, "vendor_name", "Heiße Luft AG", "Heisse Luft", true},
		{inv, "vendor_name", "Straße", "STRASSE", true},
		{inv, "vendor_name", "Free", "Free", true},
		{inv, "vendor_name", "Free", "FREE SAS", true},
		{inv, "vendor_name", "Free", "Free Mobile", false}, // containment is not a match
		{inv, "vendor_name", "Free Mobile", "Free", false},
		{inv, "vendor_name", "Free", "Fre", false}, // short names must be exact
		{inv, "vendor_name", "OYO", "Oravel Stays Private Limited", false},
		{inv, "vendor_name", "Bei Spiel GmbH", "Bei Spiel Verwaltungs GmbH", false},
		{inv, "vendor_name", "Au bon moulin", "Au bon moulin, 1 rue du Moulin, 75001 Paris", false},
		{inv, "vendor_name", "NETPRESSE", "Netpresse", true},
		{inv, "vendor_name", "Netpresse", "Netprese", true},                                   // 1 edit in 9 runes: 0.89
		{inv, "vendor_name", "Coolblue", "Coolbl", false},                                     // 2 edits in 8 runes: 0.75
		{inv, "vendor_name", "Au bon moulin", "Au bon moulinn", true},                         // 1 in 12
		{inv, "vendor_name", "Die Vordefinierte Firma", "Die Vordefinierte Firmaxxxx", false}, // 4 edits
		{inv, "vendor_name", "GmbH", "GmbH", true},                                            // only a legal form: kept
		{inv, "vendor_name", "GmbH", "AG", false},
		{inv, "vendor_name", "...", "...", false}, // no letters: nothing to compare
		{inv, "vendor_name", "Free", "", false},
		{inv, "customer_name", "Theodor Est", "THEODOR EST", true},
		{inv, "customer_name", "Theodor Est", "Max Mustermann", false},
		{nda, "jurisdiction", "New York", "new york", true},
		{nda, "jurisdiction", "New York", "New Jersey", false},
		{nda, "parties", "Acme Ltd.", "ACME LIMITED", true},
		{nda, "parties", "Acme Ltd.", "Acme Corp", true},
		{nda, "parties", "Acme Ltd.", "Bob", false},

		// Descriptions: text without the legal-form rule, at most 3 edits.
		{inv, "line_items.description", "Hot air „heiße Luft“ (litres)", "Hot air \"heisse Luft\" (litres)", true},
		{inv, "line_items.description", "Design (hours): Of a sample invoice", "Design (hours)\nOf a sample invoice", true},
		{inv, "line_items.description", "Grundgebühr pro Einheit", "Grund- gebühr pro Einheit", true},
		{inv, "line_items.description", "Small Business QualityExchange 2010 Grundgebühr pro Einheit Dienst: OUDJQ_strukan 01.05.14-31.05.14",
			"Small Business QualityExchange 2010 Grundgebühr pro Einheit Dienst: OUDJQ_schneider 01.05.14-31.05.14", false},
		{inv, "line_items.description", "M-01", "M-02", false},
		{inv, "line_items.description", "Luftballon", "Luftballon: Bunt, ca. 500ml", false},
		{inv, "line_items.description", "Service AG", "Service", false}, // no legal forms in text

		// Codes.
		{inv, "currency", "EUR", "EUR", true},
		{inv, "currency", "EUR", "eur", true},
		{inv, "currency", "EUR", "€", false},
		{inv, "currency", "USD", "EUR", false},

		// Terms.
		{nda, "term", "2 years", "2 years", true},
		{nda, "term", "2 years", "2 Years.", true},
		{nda, "term", "2 years", "two (2) years", true},
		{nda, "term", "2 years", "two years", true},
		{nda, "term", "2 years", "24 months", true},
		{nda, "term", "12 months", "1 year", true},
		{nda, "term", "1 year", "one (1) year", true},
		{nda, "term", "24 months", "twenty-four (24) months", true},
		{nda, "term", "2 weeks", "14 days", true},
		{nda, "term", "1 month", "30 days", false},
		{nda, "term", "2 years", "3 years", false},
		{nda, "term", "2 years", "2 years from the Effective Date", false},
		{nda, "term", "perpetual", "Perpetual", true},
		{nda, "term", "2 years", "", false},

		// Not comparable.
		{inv, "line_items", "x", "x", false},
		{inv, "no_such_field", "x", "x", false},
		{"receipt", "total_amount", "1.00", "1.00", false},
	}
	for _, tc := range tests {
		t.Run(tc.field+"/"+tc.expected+"/"+tc.got, func(t *testing.T) {
			if got := Equal(tc.schema, tc.field, tc.expected, tc.got); got != tc.want {
				t.Errorf("Equal(%s, %s, %q, %q) = %v, want %v", tc.schema, tc.field, tc.expected, tc.got, got, tc.want)
			}
			// Every comparison is symmetric.
			if got := Equal(tc.schema, tc.field, tc.got, tc.expected); got != tc.want {
				t.Errorf("Equal(%s, %s, %q, %q) = %v (reversed), want %v", tc.schema, tc.field, tc.got, tc.expected, got, tc.want)
			}
		})
	}
}

// The loader's label types and the comparison kinds are one table: every
// field the loader accepts has a comparator, and the reverse.
func TestLabelTypes(t *testing.T) {
	top, ok := labelTypes(SchemaInvoice, "")
	if !ok || len(top) != 12 || top["total_amount"] != tMoney || top["line_items"] != tLineItems {
		t.Errorf("invoice labels %v", top)
	}
	items, _ := labelTypes(SchemaInvoice, "line_items")
	if len(items) != 4 || items["quantity"] != tDecimal || items["amount"] != tMoney {
		t.Errorf("line item labels %v", items)
	}
	for f := range top {
		if _, ok := KindOf(SchemaInvoice, f); !ok {
			t.Errorf("%s has no comparison kind", f)
		}
	}
	if _, ok := labelTypes("passport", ""); ok {
		t.Error("an unknown schema has labels")
	}
}

// fields builds extracted scalar fields from name, value pairs.
func fields(kv ...string) map[string]pipeline.Field {
	m := map[string]pipeline.Field{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = pipeline.Field{Value: kv[i+1], Raw: kv[i+1]}
	}
	return m
}

// item builds an extracted line from name, value pairs.
func item(kv ...string) pipeline.Item { return pipeline.Item{Fields: fields(kv...)} }

// labelItem builds a labelled line as the loader returns it.
func labelItem(kv ...string) any {
	m := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func labelled(id, group, schema string, l Label) Row {
	return Row{ID: id, Group: group, Schema: schema, LabelQuality: "verified", Expected: l}
}

// results renders field results compactly: path=expected|got|mark reason.
func results(rs []FieldResult) string {
	var b strings.Builder
	for _, r := range rs {
		mark := "ok"
		if !r.Match {
			mark = "NO " + r.Reason
		}
		fmt.Fprintf(&b, "%s=%s|%s|%s|%.2f\n", r.Path, r.Expected, r.Got, mark, r.Score)
	}
	return b.String()
}

func TestScoreRowScalars(t *testing.T) {
	r := labelled("free", "i2d:free", SchemaInvoice, Label{
		"vendor_name": "Free", "vendor_vat_id": "FR60421938861", "invoice_number": "562044387",
		"issue_date": "2015-07-02", "due_date": "2015-07-05", "currency": "EUR",
		"net_amount": "24.99", "total_amount": "29.99",
	})
	x := pipeline.Extraction{Fields: fields(
		"vendor_name", "Free SAS",
		"vendor_vat_id", "FR 60 421938861",
		"invoice_number", "562044387",
		"issue_date", "2015-07-02",
		"currency", "USD",
		"net_amount", "24.990",
		"total_amount", "29,99", // a value that did not normalize
		"tax_amount", "5.00", // not labelled: not scored
		"iban", "FR7630001007941234567890185",
	)}
	x.Fields["due_date"] = pipeline.Field{Raw: "5 juilet 2015"} // read but not normalized
	s := ScoreRow(r, x)
	if !s.Scored() || s.ID != "free" || s.Group != "i2d:free" || s.Items.Labelled {
		t.Fatalf("row score = %+v", s)
	}
	want := `vendor_name=Free|Free SAS|ok|1.00
vendor_vat_id=FR60421938861|FR 60 421938861|ok|1.00
invoice_number=562044387|562044387|ok|1.00
issue_date=2015-07-02|2015-07-02|ok|1.00
due_date=2015-07-05||NO not normalized|0.00
currency=EUR|USD|NO different value|0.00
net_amount=24.99|24.990|ok|1.00
total_amount=29.99|29,99|NO invalid|0.00
`
	if got := results(s.Fields); got != want {
		t.Errorf("results:\n%s\nwant:\n%s", got, want)
	}

	// An empty extraction misses every labelled field.
	s = ScoreRow(r, pipeline.Extraction{})
	if len(s.Fields) != 8 {
		t.Fatalf("%d results, want 8", len(s.Fields))
	}
	for _, f := range s.Fields {
		if f.Match || f.Score != 0 || f.Reason != ReasonMissing {
			t.Errorf("%s: %+v, want missing", f.Field, f)
		}
	}
}

func TestScoreRowSkips(t *testing.T) {
	x := pipeline.Extraction{Fields: fields("vendor_name", "Free")}
	for _, tc := range []struct {
		row  Row
		skip string
	}{
		{Row{ID: "m", Schema: SchemaInvoice, LabelQuality: "mismatch", Expected: Label{}}, "label_quality mismatch"},
		{Row{ID: "u", Schema: SchemaInvoice, LabelQuality: "unlabelled", Expected: Label{}}, "label_quality unlabelled"},
		{Row{ID: "h", Expect: "ok"}, "hostile row"},
		{Row{ID: "e", Schema: SchemaInvoice, LabelQuality: "partial", Expected: Label{}}, "no labels"},
		// mismatch rows are never scored, even if a label slipped through.
		{Row{ID: "m2", Schema: SchemaInvoice, LabelQuality: "mismatch", Expected: Label{"vendor_name": "Free"}}, "label_quality mismatch"},
	} {
		s := ScoreRow(tc.row, x)
		if s.Scored() || s.Skip != tc.skip || len(s.Fields) != 0 {
			t.Errorf("%s: %+v, want skipped (%s)", tc.row.ID, s, tc.skip)
		}
	}
}

func TestScoreRowUnknownField(t *testing.T) {
	r := labelled("a", "g", SchemaInvoice, Label{"po_number": "PO-1", "currency": "EUR"})
	s := ScoreRow(r, pipeline.Extraction{Fields: fields("po_number", "PO-1", "currency", "EUR")})
	want := "currency=EUR|EUR|ok|1.00\npo_number=PO-1|PO-1|NO no comparator|0.00\n"
	if got := results(s.Fields); got != want {
		t.Errorf("results:\n%s\nwant:\n%s", got, want)
	}
}

// invoiceLines is a label with four lines in printed order, two of which
// share an amount (as AWS's 0.01 lines do).
var invoiceLines = []any{
	labelItem("description", "AWS Data Transfer", "amount", "0.01"),
	labelItem("description", "Amazon Elastic Compute Cloud", "quantity", "1", "unit_price", "1.87", "amount", "1.87"),
	labelItem("description", "Amazon Glacier", "amount", "2.22"),
	labelItem("description", "Amazon Simple Storage Service", "amount", "0.01"),
}

func TestScoreRowLineItems(t *testing.T) {
	tests := []struct {
		name    string
		got     []pipeline.Item
		pairs   string // label index -> extracted index, * when matched
		extra   []int
		p, r    float64
		results string
	}{
		{
			name: "exact",
			got: []pipeline.Item{
				item("description", "AWS Data Transfer", "amount", "0.01"),
				item("description", "Amazon Elastic Compute Cloud", "quantity", "1", "unit_price", "1.87", "amount", "1.870"),
				item("description", "Amazon Glacier", "amount", "2.22"),
				item("description", "Amazon Simple Storage Service", "amount", "0.01"),
			},
			pairs: "0>0* 1>1* 2>2* 3>3*", p: 1, r: 1,
			results: `line_items[0].description=AWS Data Transfer|AWS Data Transfer|ok|1.00
line_items[0].amount=0.01|0.01|ok|1.00
line_items[1].description=Amazon Elastic Compute Cloud|Amazon Elastic Compute Cloud|ok|1.00
line_items[1].quantity=1|1|ok|1.00
line_items[1].unit_price=1.87|1.87|ok|1.00
line_items[1].amount=1.87|1.870|ok|1.00
line_items[2].description=Amazon Glacier|Amazon Glacier|ok|1.00
line_items[2].amount=2.22|2.22|ok|1.00
line_items[3].description=Amazon Simple Storage Service|Amazon Simple Storage Service|ok|1.00
line_items[3].amount=0.01|0.01|ok|1.00
`,
		},
		{
			name: "reordered, the two 0.01 lines told apart by description",
			got: []pipeline.Item{
				item("description", "Amazon Simple Storage Service", "amount", "0.01"),
				item("description", "Amazon Glacier", "amount", "2.22"),
				item("description", "Amazon Elastic Compute Cloud", "amount", "1.87"),
				item("description", "AWS Data Transfer", "amount", "0.01"),
			},
			pairs: "0>3* 1>2* 2>1* 3>0*", p: 1, r: 1,
			results: `line_items[0].description=AWS Data Transfer|AWS Data Transfer|ok|1.00
line_items[0].amount=0.01|0.01|ok|1.00
line_items[1].description=Amazon Elastic Compute Cloud|Amazon Elastic Compute Cloud|ok|1.00
line_items[1].quantity=1||NO missing|0.00
line_items[1].unit_price=1.87||NO missing|0.00
line_items[1].amount=1.87|1.87|ok|1.00
line_items[2].description=Amazon Glacier|Amazon Glacier|ok|1.00
line_items[2].amount=2.22|2.22|ok|1.00
line_items[3].description=Amazon Simple Storage Service|Amazon Simple Storage Service|ok|1.00
line_items[3].amount=0.01|0.01|ok|1.00
`,
		},
		{
			name: "missing and extra lines, a wrong amount",
			got: []pipeline.Item{
				item("description", "Invoice total", "amount", "4.11"),  // extra
				item("description", "Amazon Glacier", "amount", "2.20"), // wrong amount: aligned, not matched
				item("description", "Amazon Simple Storage Service", "amount", "0.01"),
				item("description", "", "amount", ""), // extra, empty
			},
			pairs: "0>- 1>- 2>1 3>2*", extra: []int{0, 3}, p: 0.25, r: 0.25,
			results: `line_items[0].description=AWS Data Transfer||NO item missing|0.00
line_items[0].amount=0.01||NO item missing|0.00
line_items[1].description=Amazon Elastic Compute Cloud||NO item missing|0.00
line_items[1].quantity=1||NO item missing|0.00
line_items[1].unit_price=1.87||NO item missing|0.00
line_items[1].amount=1.87||NO item missing|0.00
line_items[2].description=Amazon Glacier|Amazon Glacier|ok|1.00
line_items[2].amount=2.22|2.20|NO different value|0.00
line_items[3].description=Amazon Simple Storage Service|Amazon Simple Storage Service|ok|1.00
line_items[3].amount=0.01|0.01|ok|1.00
`,
		},
		{
			name: "identical lines pair in order",
			got: []pipeline.Item{
				item("amount", "0.01"),
				item("amount", "0.01"),
			},
			pairs: "0>0* 1>- 2>- 3>1*", p: 1, r: 0.5,
		},
		{
			name:  "nothing extracted",
			pairs: "0>- 1>- 2>- 3>-", p: 0, r: 0,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := labelled("aws", "i2d:aws", SchemaInvoice, Label{"line_items": invoiceLines})
			s := ScoreRow(r, pipeline.Extraction{Lists: map[string][]pipeline.Item{"line_items": tc.got}})
			it := s.Items
			var pairs []string
			for _, p := range it.Pairs {
				e := "-"
				if p.Extracted >= 0 {
					e = fmt.Sprint(p.Extracted)
				}
				if p.Matched {
					e += "*"
				}
				pairs = append(pairs, fmt.Sprintf("%d>%s", p.Label, e))
			}
			if got := strings.Join(pairs, " "); got != tc.pairs {
				t.Errorf("pairs = %s, want %s", got, tc.pairs)
			}
			if !slices.Equal(it.Extra, tc.extra) {
				t.Errorf("extra = %v, want %v", it.Extra, tc.extra)
			}
			if !it.Labelled || it.Expected != 4 || it.Predicted != len(tc.got) || it.Precision != tc.p || it.Recall != tc.r {
				t.Errorf("items = %+v, want P %v R %v", it, tc.p, tc.r)
			}
			f1 := 0.0
			if tc.p+tc.r > 0 {
				f1 = 2 * tc.p * tc.r / (tc.p + tc.r)
			}
			if it.F1 != f1 {
				t.Errorf("F1 = %v, want %v", it.F1, f1)
			}
			if len(s.Fields) != 10 {
				t.Errorf("%d field results, want 10 (one per labelled subfield)", len(s.Fields))
			}
			if tc.results != "" {
				if got := results(s.Fields); got != tc.results {
					t.Errorf("results:\n%s\nwant:\n%s", got, tc.results)
				}
			}
		})
	}
}

func TestScoreRowLineItemsKeyedByDescription(t *testing.T) {
	// Lines labelled without an amount are found by their description.
	r := labelled("qh", "i2d:qh", SchemaInvoice, Label{"line_items": []any{
		labelItem("description", "Exchange 2010 Dienst: OUDJQ_strukan", "quantity", "1", "unit_price", "3.89"),
		labelItem("description", "Exchange 2010 Dienst: OUDJQ_schneider", "quantity", "1", "unit_price", "5.39"),
		labelItem("quantity", "2", "unit_price", "1.00"), // neither: all labelled subfields
	}})
	x := pipeline.Extraction{Lists: map[string][]pipeline.Item{"line_items": {
		item("description", "Exchange 2010 Dienst: OUDJQ_schneider", "quantity", "1", "unit_price", "5.39", "amount", "5.39"),
		item("description", "Exchange 2010 Dienst: OUDJQ_strukan", "quantity", "1", "unit_price", "3.98"),
		item("quantity", "2", "unit_price", "1.00"),
	}}}
	s := ScoreRow(r, x)
	want := `line_items[0].description=Exchange 2010 Dienst: OUDJQ_strukan|Exchange 2010 Dienst: OUDJQ_strukan|ok|1.00
line_items[0].quantity=1|1|ok|1.00
line_items[0].unit_price=3.89|3.98|NO different value|0.00
line_items[1].description=Exchange 2010 Dienst: OUDJQ_schneider|Exchange 2010 Dienst: OUDJQ_schneider|ok|1.00
line_items[1].quantity=1|1|ok|1.00
line_items[1].unit_price=5.39|5.39|ok|1.00
line_items[2].quantity=2|2|ok|1.00
line_items[2].unit_price=1.00|1.00|ok|1.00
`
	if got := results(s.Fields); got != want {
		t.Errorf("results:\n%s\nwant:\n%s", got, want)
	}
	if s.Items.Matched != 3 || s.Items.F1 != 1 {
		t.Errorf("items = %+v, want 3 matched", s.Items)
	}
}

func TestScoreRowNDA(t *testing.T) {
	r := labelled("nda", "nda:a", SchemaNDA, Label{
		"effective_date": "2020-01-31", "jurisdiction": "New York",
		"parties": []any{"Acme Ltd.", "Bob Smith", "Société Générale"}, "term": "2 years",
	})
	names := func(ns ...string) []pipeline.Item {
		var out []pipeline.Item
		for _, n := range ns {
			out = append(out, item("name", n))
		}
		return out
	}
	tests := []struct {
		name    string
		parties []pipeline.Item
		score   float64
		reason  string
	}{
		{"all, other order and spelling", names("SOCIETE GENERALE S.A.", "ACME LIMITED", "Bob Smith"), 1, ""},
		{"two of three", names("Acme Ltd", "Bob Smith"), 0.8, "partial: 2 of 3 matched, 0 extra"},
		{"one extra", names("Acme Ltd", "Bob Smith", "Société Générale", "Carol"), 6.0 / 7, "partial: 3 of 3 matched, 1 extra"},
		{"a party twice counts once", names("Acme", "Acme Ltd."), 0.4, "partial: 1 of 3 matched, 1 extra"},
		{"none right", names("Carol"), 0, ReasonDifferent},
		{"empty names are not parties", names("", " "), 0, ReasonMissing},
		{"nothing", nil, 0, ReasonMissing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x := pipeline.Extraction{
				Fields: fields("effective_date", "2020-01-31", "jurisdiction", "NEW YORK", "term", "two (2) years"),
				Lists:  map[string][]pipeline.Item{"parties": tc.parties},
			}
			s := ScoreRow(r, x)
			var got []string
			for _, f := range s.Fields {
				got = append(got, f.Field)
			}
			if strings.Join(got, ",") != "effective_date,jurisdiction,parties,term" {
				t.Fatalf("fields = %v", got)
			}
			for _, f := range s.Fields {
				if f.Field != "parties" {
					if !f.Match {
						t.Errorf("%s: %+v", f.Field, f)
					}
					continue
				}
				if diff := f.Score - tc.score; diff > 1e-12 || diff < -1e-12 || f.Reason != tc.reason || f.Match != (tc.score == 1) {
					t.Errorf("parties = %+v, want score %v reason %q", f, tc.score, tc.reason)
				}
			}
		})
	}
}
