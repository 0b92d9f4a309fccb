package extract

import (
	"testing"

	"github.com/extractor-dev/extractor/pipeline"
)

type normCase struct {
	raw, want, cur string
	bad            bool
}

func runNormalize(t *testing.T, spec pipeline.FieldSpec, cases []normCase) {
	t.Helper()
	for _, c := range cases {
		got, cur, err := Normalize(spec, c.raw)
		switch {
		case c.bad && err == nil:
			t.Errorf("%s %q: got %q, want an error", spec.Type, c.raw, got)
		case !c.bad && err != nil:
			t.Errorf("%s %q: %v, want %q", spec.Type, c.raw, err, c.want)
		case !c.bad && (got != c.want || cur != c.cur):
			t.Errorf("%s %q = %q %q, want %q %q", spec.Type, c.raw, got, cur, c.want, c.cur)
		}
	}
}

func TestNormalizeDate(t *testing.T) {
	runNormalize(t, pipeline.FieldSpec{Type: pipeline.TypeDate}, []normCase{
		// ISO and variants
		{raw: "2024-03-05", want: "2024-03-05"},
		{raw: " 2024/3/5 ", want: "2024-03-05"},
		{raw: "2024.03.05", want: "2024-03-05"},
		{raw: "20240305", want: "2024-03-05"},
		{raw: "2024-03-05T10:22:00Z", want: "2024-03-05"},
		{raw: "2024-03-05 10:22", want: "2024-03-05"},
		// German
		{raw: "05.03.2024", want: "2024-03-05"},
		{raw: "5.3.2024", want: "2024-03-05"},
		{raw: "05.03.24", want: "2024-03-05"},
		{raw: "5. März 2024", want: "2024-03-05"},
		{raw: "5. MÄRZ 2024", want: "2024-03-05"},
		{raw: "5. Maerz 2024", want: "2024-03-05"},
		{raw: "05. Mrz. 2024", want: "2024-03-05"},
		{raw: "22. November 2022", want: "2022-11-22"},
		{raw: "1. Dez. 2023", want: "2023-12-01"},
		{raw: "Dienstag, 5. März 2024", want: "2024-03-05"},
		{raw: "3. Jänner 2025", want: "2025-01-03"},
		{raw: "12.10.2023.", want: "2023-10-12"},
		// French
		{raw: "05/03/2024", want: "2024-03-05"},
		{raw: "5 mars 2024", want: "2024-03-05"},
		{raw: "1er mars 2024", want: "2024-03-01"},
		{raw: "7 février 2022", want: "2022-02-07"},
		{raw: "7 fevrier 2022", want: "2022-02-07"},
		{raw: "15 août 2023", want: "2023-08-15"},
		{raw: "16 DÉCEMBRE 2024", want: "2024-12-16"},
		{raw: "3 janv. 2024", want: "2024-01-03"},
		{raw: "mardi 5 mars 2024", want: "2024-03-05"},
		{raw: "le 5 mars 2024", want: "2024-03-05"},
		{raw: "12 juil. 2021", want: "2021-07-12"},
		// English
		{raw: "March 5, 2024", want: "2024-03-05"},
		{raw: "March 5 2024", want: "2024-03-05"},
		{raw: "Mar. 5th, 2024", want: "2024-03-05"},
		{raw: "5 Mar 2024", want: "2024-03-05"},
		{raw: "5th March 2024", want: "2024-03-05"},
		{raw: "5th of March, 2024", want: "2024-03-05"},
		{raw: "05-Mar-2024", want: "2024-03-05"},
		{raw: "5-Mar-24", want: "2024-03-05"},
		{raw: "Sept 30, 2023", want: "2023-09-30"},
		{raw: "Tuesday, March 5, 2024", want: "2024-03-05"},
		{raw: "2024 March 5", want: "2024-03-05"},
		{raw: "November 1, 2023", want: "2023-11-01"},
		// numeric ambiguity: a part above 12 decides, otherwise day-first
		{raw: "03/05/2024", want: "2024-05-03"},
		{raw: "13/05/2024", want: "2024-05-13"},
		{raw: "05/13/2024", want: "2024-05-13"},
		{raw: "12/31/99", want: "1999-12-31"},
		{raw: "01-02-2024", want: "2024-02-01"},
		{raw: "31/12/69", want: "2069-12-31"},
		{raw: "1/1/70", want: "1970-01-01"},
		// impossible or not dates
		{raw: "2024-02-30", bad: true},
		{raw: "30.02.2024", bad: true},
		{raw: "29.02.2023", bad: true},
		{raw: "29.02.2024", want: "2024-02-29"},
		{raw: "31 April 2024", bad: true},
		{raw: "13/13/2024", bad: true},
		{raw: "05.13.2024", bad: true}, // dots are day.month
		{raw: "05/03-2024", bad: true},
		{raw: "March 2024", bad: true},
		{raw: "5 Smarch 2024", bad: true},
		{raw: "2024", bad: true},
		{raw: "1234.56", bad: true},
		{raw: "20241305", bad: true},
		{raw: "Invoice 2024-03-05", bad: true},
		{raw: "", bad: true},
		{raw: "   ", bad: true},
	})
}

func TestNormalizeMoney(t *testing.T) {
	runNormalize(t, pipeline.FieldSpec{Type: pipeline.TypeMoney}, []normCase{
		{raw: "1810.8", want: "1810.80"},
		{raw: "1.234,56", want: "1234.56"},
		{raw: "1,234.56", want: "1234.56"},
		{raw: "1 234,56", want: "1234.56"},
		{raw: "1\u00a0234,56", want: "1234.56"},
		{raw: "1\u202f234,56", want: "1234.56"},
		{raw: "12\u202f345\u202f678,90 €", want: "12345678.90", cur: "EUR"},
		{raw: "1'234.56", want: "1234.56"},
		{raw: "1’234.56", want: "1234.56"},
		{raw: "-8.79", want: "-8.79"},
		{raw: "−8,79", want: "-8.79"},
		{raw: "(8.79)", want: "-8.79"},
		{raw: "8,79-", want: "-8.79"},
		{raw: "€ 1.234,56", want: "1234.56", cur: "EUR"},
		{raw: "1.234,56 €", want: "1234.56", cur: "EUR"},
		{raw: "1,234.56 USD", want: "1234.56", cur: "USD"},
		{raw: "£12.50", want: "12.50", cur: "GBP"},
		{raw: "CHF 1'234.50", want: "1234.50", cur: "CHF"},
		{raw: "Fr. 1'234.50", want: "1234.50", cur: "CHF"},
		{raw: "12,50 EUR", want: "12.50", cur: "EUR"},
		{raw: "12,50 eur", want: "12.50", cur: "EUR"},
		{raw: "$3.00", want: "3.00", cur: "USD"},
		{raw: "-$3.00", want: "-3.00", cur: "USD"},
		{raw: "$-3.00", want: "-3.00", cur: "USD"},
		{raw: "(€8.79)", want: "-8.79", cur: "EUR"},
		{raw: "US$ 10", want: "10.00", cur: "USD"},
		{raw: "₹ 1,23,456.00", want: "123456.00", cur: "INR"},
		{raw: "Rs. 499", want: "499.00", cur: "INR"},
		{raw: "¥1,200", want: "1200.00", cur: "JPY"},
		{raw: "EUR1.234,56", want: "1234.56", cur: "EUR"},
		{raw: "1.234,56 EUR-", want: "-1234.56", cur: "EUR"},
		{raw: "+12.00", want: "12.00"},
		// thousands-or-decimal rule
		{raw: "1234", want: "1234.00"},
		{raw: "1.234", want: "1234.00"},
		{raw: "1,234", want: "1234.00"},
		{raw: "12.345", want: "12345.00"},
		{raw: "0.025", want: "0.025"},
		{raw: "0,025", want: "0.025"},
		{raw: "1234.567", want: "1234.567"},
		{raw: "1,2345", want: "1.2345"},
		{raw: "12.5", want: "12.50"},
		{raw: "12,5", want: "12.50"},
		{raw: "1.234.567", want: "1234567.00"},
		{raw: "1,234,567", want: "1234567.00"},
		{raw: "1 234.567", want: "1234.567"},
		{raw: ".50", want: "0.50"},
		{raw: "0.00", want: "0.00"},
		{raw: "-0.00", want: "0.00"},
		{raw: "1810.800", want: "1810.80"},
		{raw: "0.0250", want: "0.025"},
		// not amounts
		{raw: "12 50", bad: true},
		{raw: "1.23.45", bad: true},
		{raw: "1,23.456,78", bad: true},
		{raw: "12.", bad: true},
		{raw: "abc", bad: true},
		{raw: "12 XYZ", bad: true},
		{raw: "€ 12 $", bad: true},
		{raw: "--12", bad: true},
		{raw: "(12", bad: true},
		{raw: "-(12)", bad: true},
		{raw: "Total 12.00", bad: true},
		{raw: "12.00 / 13.00", bad: true},
	})
}

func TestNormalizeDecimalAndInteger(t *testing.T) {
	runNormalize(t, pipeline.FieldSpec{Type: pipeline.TypeDecimal}, []normCase{
		{raw: "2,50", want: "2.5"},
		{raw: "3.00", want: "3"},
		{raw: "0,25", want: "0.25"},
		{raw: "35,5", want: "35.5"},
		{raw: "1", want: "1"},
		{raw: "1.000,0000", want: "1000"},
		{raw: "-1.5", want: "-1.5"},
		{raw: "20,0000", want: "20"},
		{raw: "x", bad: true},
	})
	runNormalize(t, pipeline.FieldSpec{Type: pipeline.TypeInteger}, []normCase{
		{raw: "42", want: "42"},
		{raw: "-3", want: "-3"},
		{raw: "1.000", want: "1000"},
		{raw: "007", want: "7"},
		{raw: "2.5", bad: true},
		{raw: "four", bad: true},
	})
}

func TestNormalizeCurrency(t *testing.T) {
	runNormalize(t, pipeline.FieldSpec{Type: pipeline.TypeCurrency}, []normCase{
		{raw: "EUR", want: "EUR"},
		{raw: "eur", want: "EUR"},
		{raw: "€", want: "EUR"},
		{raw: "Euro", want: "EUR"},
		{raw: "$", want: "USD"},
		{raw: "US$", want: "USD"},
		{raw: "£", want: "GBP"},
		{raw: "¥", want: "JPY"},
		{raw: "₹", want: "INR"},
		{raw: "Rs.", want: "INR"},
		{raw: "CHF", want: "CHF"},
		{raw: "Fr.", want: "CHF"},
		{raw: "SEK", want: "SEK"},
		{raw: "EUR (€)", want: "EUR"},
		{raw: "EUR / $", bad: true},
		{raw: "all", bad: true},
		{raw: "XYZ", bad: true},
		{raw: "kr", bad: true},
	})
}

func TestNormalizeIBAN(t *testing.T) {
	runNormalize(t, pipeline.FieldSpec{Type: pipeline.TypeIBAN}, []normCase{
		{raw: "DE89 3704 0044 0532 0130 00", want: "DE89370400440532013000"},
		{raw: "de89370400440532013000", want: "DE89370400440532013000"},
		{raw: "IBAN: DE89 3704 0044 0532 0130 00", want: "DE89370400440532013000"},
		{raw: "GB82 WEST 1234 5698 7654 32", want: "GB82WEST12345698765432"},
		{raw: "FR14 2004 1010 0505 0001 3M02 606", want: "FR1420041010050500013M02606"},
		{raw: "CH93 0076 2011 6238 5295 7", want: "CH9300762011623852957"},
		{raw: "NL91-ABNA-0417-1643-00", want: "NL91ABNA0417164300"},
		{raw: "DE89 3704 0044 0532 0130 01", bad: true}, // checksum
		{raw: "DE89 3704 0044 0532 0130", bad: true},    // length
		{raw: "US1234567890", bad: true},                // no IBAN country
		{raw: "XX89370400440532013000", bad: true},
		{raw: "DE8937040044053201300!", bad: true},
		{raw: "DE", bad: true},
	})
}

func TestNormalizeVATID(t *testing.T) {
	runNormalize(t, pipeline.FieldSpec{Type: pipeline.TypeVATID}, []normCase{
		{raw: "DE 136 695 976", want: "DE136695976"},
		{raw: "de136695976", want: "DE136695976"},
		{raw: "DE136695977", bad: true}, // check digit
		{raw: "DE13669597", bad: true},  // length
		{raw: "FR 40 303 265 045", want: "FR40303265045"},
		{raw: "FR41303265045", bad: true},             // key
		{raw: "FRIO303265045", bad: true},             // I and O are not used in keys
		{raw: "FRAB303265045", want: "FRAB303265045"}, // letter keys are not checked
		{raw: "IT 00743110157", want: "IT00743110157"},
		{raw: "IT00743110158", bad: true},
		{raw: "ATU13585627", want: "ATU13585627"},
		{raw: "ATU13585626", bad: true},
		{raw: "ATU1358562", bad: true},
		{raw: "BE 0428.759.497", want: "BE0428759497"},
		{raw: "BE0428759498", bad: true},
		{raw: "NL 8060.07.012.B01", want: "NL806007012B01"},
		{raw: "NL806007012", bad: true},
		{raw: "GB 980 7806 84", want: "GB980780684"},
		{raw: "GB980780685", bad: true},
		{raw: "GBGD001", want: "GBGD001"},
		{raw: "CHE-123.456.789 MWST", want: "CHE123456789MWST"},
		{raw: "CHE-123.456.789", want: "CHE123456789"},
		{raw: "ESB12345678", want: "ESB12345678"},
		{raw: "ESX1234567X", want: "ESX1234567X"},
		{raw: "IE6388047V", want: "IE6388047V"},
		{raw: "SE556123456701", want: "SE556123456701"},
		{raw: "PL 526-000-12-46", want: "PL5260001246"},
		{raw: "NO 123 456 789 MVA", want: "NO123456789MVA"},
		{raw: "29AABCT1332L1ZT", want: "29AABCT1332L1ZT"}, // Indian GSTIN
		{raw: "ZA4123456789", want: "ZA4123456789"},       // unknown prefix, plausible
		{raw: "ZAXYZ", bad: true},
		{raw: "123456789", bad: true},
		{raw: "DE", bad: true},
	})
}

func TestNormalizeStringEnum(t *testing.T) {
	runNormalize(t, pipeline.FieldSpec{Type: pipeline.TypeString}, []normCase{
		{raw: "  Bei  Spiel\tGmbH \n", want: "Bei Spiel GmbH"},
		{raw: "A\u00a0B", want: "A B"},
		{raw: " ", bad: true},
	})
	runNormalize(t, pipeline.FieldSpec{Type: pipeline.TypeEnum, Enum: []string{"invoice", "Credit Note"}}, []normCase{
		{raw: "INVOICE", want: "invoice"},
		{raw: "credit  note", want: "Credit Note"},
		{raw: "receipt", bad: true},
	})
}

func TestDatesIn(t *testing.T) {
	for _, c := range []struct {
		text  string
		order dateOrder
		want  []string
	}{
		{"Invoice date: 25/11/2023  Due: 09/01/2024", dayFirst, []string{"2023-11-25", "2024-01-09"}},
		{"Date 03/05/2024", monthFirst, []string{"2024-03-05"}},
		{"Facture n° 12 du 1er mars 2024, échéance 31 mars 2024", dayFirst, []string{"2024-03-01", "2024-03-31"}},
		{"Rechnungsdatum 22. November 2022", dayFirst, []string{"2022-11-22"}},
		{"Date: Mar. 5th, 2024 (due March 20, 2024)", dayFirst, []string{"2024-03-05", "2024-03-20"}},
		{"Total 1.234,56 EUR 12.50", dayFirst, nil},
		{"2023-09-25 and 20230925", dayFirst, []string{"2023-09-25", "2023-09-25"}},
		{"IBAN DE89 3704 0044 0532 0130 00", dayFirst, nil},
		{"Tel. 12.03.2024.", dayFirst, []string{"2024-03-12"}},
	} {
		var got []string
		for _, f := range datesIn(c.text, c.order) {
			got = append(got, f.date.String())
		}
		if len(got) != len(c.want) {
			t.Errorf("datesIn(%q) = %v, want %v", c.text, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("datesIn(%q) = %v, want %v", c.text, got, c.want)
				break
			}
		}
	}
}
