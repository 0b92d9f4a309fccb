package synth

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/extractor-dev/extractor/extract/pdf"
	"github.com/extractor-dev/extractor/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the committed sample set in testdata/invoices")

// sampleOptions made the sample set committed in testdata/invoices.
var sampleOptions = Options{Seed: 1, Count: 20, Noise: true}

// TestSampleSet checks that the committed sample set is what the generator
// makes today; run with -update after changing the generator.
func TestSampleSet(t *testing.T) {
	dir := filepath.Join(testenv.RepoRoot(t), "testdata", "invoices")
	if *update {
		if err := Generate(dir, sampleOptions); err != nil {
			t.Fatal(err)
		}
	}
	fresh := t.TempDir()
	if err := Generate(fresh, sampleOptions); err != nil {
		t.Fatal(err)
	}
	hint := "regenerate with: go test ./internal/synth/ -run TestSampleSet -update"
	if !bytes.Equal(readFile(t, filepath.Join(dir, "dataset.jsonl")), readFile(t, filepath.Join(fresh, "dataset.jsonl"))) {
		t.Fatalf("testdata/invoices/dataset.jsonl is stale; %s", hint)
	}
	var committed []string
	for _, name := range listFiles(t, dir) {
		if name != "README.md" {
			committed = append(committed, name)
		}
	}
	if strings.Join(committed, " ") != strings.Join(listFiles(t, fresh), " ") {
		t.Fatalf("testdata/invoices holds %v; %s", committed, hint)
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
		// Byte differences with the same text can come from floating-point
		// contraction (FMA) on another architecture; only text changes
		// mean the set is stale.
		dw, err1 := pdf.ParseBytes(ctx, want, pdf.Options{})
		dg, err2 := pdf.ParseBytes(ctx, got, pdf.Options{})
		if err1 != nil || err2 != nil || dw.Text() != dg.Text() {
			t.Errorf("testdata/invoices/%s is stale; %s", name, hint)
			continue
		}
		t.Logf("testdata/invoices/%s: same text, different bytes", name)
	}
}

func TestGenerateDeterministic(t *testing.T) {
	opts := Options{Seed: 7, Count: 8, Noise: true}
	a, b := t.TempDir(), t.TempDir()
	if err := Generate(a, opts); err != nil {
		t.Fatal(err)
	}
	if err := Generate(b, opts); err != nil {
		t.Fatal(err)
	}
	fa, fb := listFiles(t, a), listFiles(t, b)
	if len(fa) != opts.Count+1 {
		t.Fatalf("got %d files, want %d PDFs and dataset.jsonl: %v", len(fa), opts.Count, fa)
	}
	if strings.Join(fa, "\n") != strings.Join(fb, "\n") {
		t.Fatalf("file lists differ:\n%v\n%v", fa, fb)
	}
	for _, name := range fa {
		da, db := readFile(t, filepath.Join(a, name)), readFile(t, filepath.Join(b, name))
		if !bytes.Equal(da, db) {
			t.Errorf("%s differs between two runs with the same seed", name)
		}
	}

	// A different seed gives different documents; a smaller run removes the
	// stale PDFs of the larger one.
	if err := Generate(b, Options{Seed: 8, Count: 3}); err != nil {
		t.Fatal(err)
	}
	if got := listFiles(t, b); len(got) != 4 {
		t.Errorf("after a run of 3: files %v", got)
	}
	if bytes.Equal(readFile(t, filepath.Join(a, "files/synth/synth-0001.pdf")), readFile(t, filepath.Join(b, "files/synth/synth-0001.pdf"))) {
		t.Error("seeds 7 and 8 gave the same first PDF")
	}

	// Invoice is the same document as Generate writes.
	data, row, err := Invoice(opts, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, readFile(t, filepath.Join(a, row.File))) {
		t.Error("Invoice(opts, 2) differs from the file Generate wrote")
	}
}

func TestDatasetFormat(t *testing.T) {
	dir := t.TempDir()
	if err := Generate(dir, Options{Seed: 3, Count: 12, Noise: true}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(readFile(t, filepath.Join(dir, "dataset.jsonl"))), "\n"), "\n")
	if len(lines) != 12 {
		t.Fatalf("dataset.jsonl has %d lines, want 12", len(lines))
	}
	keys := []string{"id", "file", "schema", "expected", "group", "source", "label_quality", "notes"}
	prev := ""
	for _, l := range lines {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("bad JSON line %q: %v", l, err)
		}
		for _, k := range keys {
			if _, ok := m[k]; !ok {
				t.Errorf("row lacks %q: %s", k, l)
			}
		}
		if len(m) != len(keys) {
			t.Errorf("row has %d keys, want %d: %s", len(m), len(keys), l)
		}
		var r Row
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		if r.ID <= prev {
			t.Errorf("rows not sorted by id: %q after %q", r.ID, prev)
		}
		prev = r.ID
		if !regexp.MustCompile(`^[a-z0-9-]+$`).MatchString(r.ID) {
			t.Errorf("id %q is not a slug", r.ID)
		}
		if r.File != "files/synth/"+r.ID+".pdf" || r.Schema != "invoice" || r.LabelQuality != "verified" ||
			!strings.HasPrefix(r.Group, "synth:") || r.Source != (Source{"extractor-dev/extractor", "internal/synth", "MIT"}) {
			t.Errorf("unexpected row header: %s", l)
		}
		if !regexp.MustCompile(`^synthetic; seed 3; layout [a-z]+; lang (en|de|fr); pages \d+`).MatchString(r.Notes) {
			t.Errorf("notes %q", r.Notes)
		}
		st, err := os.Stat(filepath.Join(dir, r.File))
		if err != nil {
			t.Fatal(err)
		}
		// Compressed and without embedded fonts, a page takes a few KB.
		if st.Size() > 12<<10 {
			t.Errorf("%s is %d bytes; want a few KB", r.File, st.Size())
		}
	}
}

var (
	notesRe = regexp.MustCompile(`^synthetic; seed \d+; layout ([a-z]+); lang (en|de|fr); pages (\d+)`)
	moneyRe = regexp.MustCompile(`^-?\d+\.\d{2}$`)
	qtyRe   = regexp.MustCompile(`^\d+(\.\d*[1-9])?$`)
	vatRes  = map[string]*regexp.Regexp{
		"DE": regexp.MustCompile(`^DE\d{9}$`),
		"AT": regexp.MustCompile(`^ATU\d{8}$`),
		"FR": regexp.MustCompile(`^FR[0-9A-Z]{2}\d{9}$`),
		"GB": regexp.MustCompile(`^GB\d{9}$`),
	}
	ibanLens = map[string]int{"DE": 22, "AT": 20, "FR": 27, "GB": 22}
)

// cents parses a label amount ("1234.50") into cents.
func cents(t *testing.T, s string) int64 {
	t.Helper()
	if !moneyRe.MatchString(s) {
		t.Fatalf("amount %q is not in normal form", s)
	}
	n, err := strconv.ParseInt(strings.Replace(s, ".", "", 1), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// hundredths parses a label quantity ("2.5") into hundredths.
func hundredths(t *testing.T, s string) int64 {
	t.Helper()
	if !qtyRe.MatchString(s) {
		t.Fatalf("quantity %q is not in normal form", s)
	}
	ip, fp, _ := strings.Cut(s, ".")
	fp = (fp + "00")[:2]
	n, err := strconv.ParseInt(ip+fp, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestLabelsConsistent(t *testing.T) {
	for _, seed := range []int64{1, 2, 99} {
		for i := range 20 {
			_, r, err := Invoice(Options{Seed: seed, Noise: true}, i)
			if err != nil {
				t.Fatal(err)
			}
			e := r.Expected
			t.Run(r.ID+"-seed"+strconv.FormatInt(seed, 10), func(t *testing.T) {
				net, tax, total := cents(t, e.NetAmount), cents(t, e.TaxAmount), cents(t, e.TotalAmount)
				if net+tax != total {
					t.Errorf("net %s + tax %s != total %s", e.NetAmount, e.TaxAmount, e.TotalAmount)
				}
				if len(e.LineItems) == 0 {
					t.Fatal("no line items")
				}
				var sum int64
				for _, li := range e.LineItems {
					q, u, a := hundredths(t, li.Quantity), cents(t, li.UnitPrice), cents(t, li.Amount)
					if want := (q*u + 50) / 100; a != want {
						t.Errorf("%s: %s x %s = %s, want %d cents", li.Description, li.Quantity, li.UnitPrice, li.Amount, want)
					}
					if n := len([]rune(li.Description)); n == 0 || n > maxDescLen {
						t.Errorf("description %q has %d runes", li.Description, n)
					}
					sum += a
				}
				if sum != net {
					t.Errorf("line amounts sum to %d, net is %d", sum, net)
				}
				issue, err1 := time.Parse(time.DateOnly, e.IssueDate)
				due, err2 := time.Parse(time.DateOnly, e.DueDate)
				if err1 != nil || err2 != nil || due.Before(issue) {
					t.Errorf("dates issue %q due %q", e.IssueDate, e.DueDate)
				}
				if !ibanValid(e.IBAN) || ibanLens[e.IBAN[:2]] != len(e.IBAN) {
					t.Errorf("IBAN %q invalid", e.IBAN)
				}
				cc := e.VendorVATID[:2]
				if re := vatRes[cc]; re == nil || !re.MatchString(e.VendorVATID) || !vatChecksum(e.VendorVATID) {
					t.Errorf("VAT id %q invalid", e.VendorVATID)
				}
				if cc != "AT" && cc != e.IBAN[:2] {
					t.Errorf("VAT id %q and IBAN %q from different countries", e.VendorVATID, e.IBAN)
				}
				switch e.Currency {
				case "EUR", "USD", "GBP", "CHF":
				default:
					t.Errorf("currency %q", e.Currency)
				}
				if e.VendorName == "" || e.CustomerName == "" || e.InvoiceNumber == "" || e.VendorName == e.CustomerName {
					t.Errorf("names %q / %q, number %q", e.VendorName, e.CustomerName, e.InvoiceNumber)
				}
			})
		}
	}
}

// vatChecksum re-implements the national check digits, independently of
// ids.go, for the formats synth writes.
func vatChecksum(id string) bool {
	d := func(i int) int { return int(id[i] - '0') }
	switch id[:2] {
	case "DE": // ISO 7064 MOD 11,10 over digits 1..8
		p := 10
		for i := 2; i < 10; i++ {
			s := (d(i) + p) % 10
			if s == 0 {
				s = 10
			}
			p = 2 * s % 11
		}
		return (11-p)%10 == d(10)
	case "FR": // key = (12 + 3 * (SIREN mod 97)) mod 97
		key, _ := strconv.Atoi(id[2:4])
		siren, _ := strconv.Atoi(id[4:])
		return key == (12+3*(siren%97))%97
	case "GB": // weights 8..2, plus the check number, divisible by 97
		s := 0
		for i := range 7 {
			s += d(2+i) * (8 - i)
		}
		check, _ := strconv.Atoi(id[9:])
		return (s+check)%97 == 0
	case "AT":
		s := 0
		for i := range 7 {
			v := d(3 + i)
			if i%2 == 1 {
				v = v*2/10 + v*2%10
			}
			s += v
		}
		return (96-s)%10 == d(10)
	}
	return false
}

func TestChecksumsKnownValues(t *testing.T) {
	tests := []struct {
		id   string
		iban bool
		ok   bool
	}{
		{"DE89370400440532013000", true, true},
		{"GB29NWBK60161331926819", true, true},
		{"FR1420041010050500013M02606", true, true},
		{"AT611904300234573201", true, true},
		{"DE89370400440532013001", true, false},
		{"DE136695976", false, true}, // Bundeszentralamt für Steuern example
		{"DE136695977", false, false},
		{"GB980780684", false, true},
		{"GB980780685", false, false},
		{"FR40303265045", false, true},
		{"FR41303265045", false, false},
		{"ATU13585627", false, true},
		{"ATU13585626", false, false},
	}
	for _, tt := range tests {
		got := vatChecksum(tt.id)
		if tt.iban {
			got = ibanValid(tt.id)
		}
		if got != tt.ok {
			t.Errorf("check(%q) = %v, want %v", tt.id, got, tt.ok)
		}
	}
}

func TestFormats(t *testing.T) {
	d := time.Date(2024, time.March, 5, 0, 0, 0, 0, time.UTC)
	tests := []struct{ got, want string }{
		{numEN.cents(123456), "1,234.56"},
		{numDE.cents(123456), "1.234,56"},
		{numFR.cents(123456), "1 234,56"},
		{numCH.cents(123450), "1'234.50"},
		{numDE.cents(5), "0,05"},
		{numEN.cents(123456789), "1,234,567.89"},
		{numFmt{"", "."}.cents(123450), "1234.50"},
		{numFmt{"", "."}.hundredths(250), "2.5"},
		{numFmt{"", "."}.hundredths(100), "1"},
		{numFmt{"", "."}.hundredths(1275), "12.75"},
		{numDE.hundredths(50), "0,5"},
		{numDE.percent(190, true), "19 %"},
		{numFR.percent(55, true), "5,5 %"},
		{numEN.percent(200, false), "20%"},
		{formatDate(d, dateLongMDY, langEN), "March 5, 2024"},
		{formatDate(d, dateSlashDMY, langEN), "05/03/2024"},
		{formatDate(d, dateISO, langEN), "2024-03-05"},
		{formatDate(d, dateDotDMY, langDE), "05.03.2024"},
		{formatDate(d, dateLongDotDM, langDE), "5. März 2024"},
		{formatDate(d, dateLongDMY, langFR), "5 mars 2024"},
		{moneyFmt{numDE, "", " €"}.format(123456), "1.234,56 €"},
		{moneyFmt{numEN, "£", ""}.format(123456), "£1,234.56"},
		{moneyFmt{numEN, "", " USD"}.format(123456), "1,234.56 USD"},
		{ibanGroups("DE89370400440532013000"), "DE89 3704 0044 0532 0130 00"},
	}
	for i, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%d: got %q, want %q", i, tt.got, tt.want)
		}
	}
}

func TestCoverage(t *testing.T) {
	// Any 10 consecutive documents show every layout and language, for any
	// seed.
	for seed := range int64(6) {
		for start := range 10 {
			layouts, langs := map[layout]bool{}, map[lang]bool{}
			for i := start; i < start+10; i++ {
				inv := newInvoice(seed, i)
				layouts[inv.layout] = true
				langs[inv.lang] = true
			}
			if len(layouts) != int(numLayouts) || len(langs) != 3 {
				t.Errorf("seed %d, documents %d..%d: only %d layouts, %d languages", seed, start, start+9, len(layouts), len(langs))
			}
		}
	}

	// A run of 20 shows all layouts, all languages, multi-page documents and
	// both kinds of noise.
	groups, langs := map[string]bool{}, map[string]bool{}
	multi, footer, stamp := 0, 0, 0
	for i := range 20 {
		_, r, err := Invoice(Options{Seed: 1, Noise: true}, i)
		if err != nil {
			t.Fatal(err)
		}
		groups[r.Group] = true
		m := notesRe.FindStringSubmatch(r.Notes)
		if m == nil {
			t.Fatalf("notes %q", r.Notes)
		}
		langs[m[2]] = true
		pages, _ := strconv.Atoi(m[3])
		if pages >= 2 {
			multi++
		}
		if strings.Contains(r.Notes, "footer") {
			footer++
		}
		if strings.Contains(r.Notes, "stamp") {
			stamp++
		}
	}
	if len(groups) != int(numLayouts) {
		t.Errorf("layouts in a run of 20: %v", groups)
	}
	if len(langs) != 3 {
		t.Errorf("languages in a run of 20: %v", langs)
	}
	if multi < 2 || footer == 0 || stamp == 0 {
		t.Errorf("run of 20: %d multi-page, %d with footer, %d with stamp", multi, footer, stamp)
	}
}

func TestNoiseOff(t *testing.T) {
	for i := range 12 {
		_, r, err := Invoice(Options{Seed: 1}, i)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(r.Notes, "noise") {
			t.Errorf("%s: noise without Options.Noise: %s", r.ID, r.Notes)
		}
		_, rn, err := Invoice(Options{Seed: 1, Noise: true}, i)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := json.Marshal(r.Expected)
		b, _ := json.Marshal(rn.Expected)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: noise changed the labels", r.ID)
		}
	}
}

// TestParsedText reads every document back with the project's parser and
// checks that the labelled values are in the text as printed.
func TestParsedText(t *testing.T) {
	ctx := context.Background()
	for _, seed := range []int64{1, 5} {
		for i := range 20 {
			opts := Options{Seed: seed, Noise: true}
			data, r, err := Invoice(opts, i)
			if err != nil {
				t.Fatal(err)
			}
			inv := newInvoice(seed, i)
			t.Run(fmt.Sprintf("seed%d/%s/%s", seed, r.ID, inv.layout), func(t *testing.T) {
				doc, err := pdf.ParseBytes(ctx, data, pdf.Options{})
				if err != nil {
					t.Fatal(err)
				}
				text := doc.Text()
				want := []string{
					r.Expected.InvoiceNumber,
					inv.printed(inv.total),
					inv.printed(inv.net),
					inv.printed(inv.tax),
					r.Expected.VendorName,
					r.Expected.CustomerName,
					inv.vendor.vatPrinted,
					inv.ibanPrinted(),
					inv.dateStr(inv.issue),
					inv.dateStr(inv.due),
				}
				for _, it := range inv.items {
					want = append(want, it.desc, inv.amount(it.amount), inv.amount(it.unit))
				}
				for _, w := range want {
					if !strings.Contains(text, w) {
						t.Errorf("%q not in the parsed text", w)
					}
				}
				if n := len(doc.Pages); !strings.Contains(r.Notes, fmt.Sprintf("pages %d", n)) {
					t.Errorf("parser sees %d pages, notes say %q", n, r.Notes)
				}
				if len(doc.Pages) > 1 {
					label := fmt.Sprintf("%s %d/%d", inv.L.Page, len(doc.Pages), len(doc.Pages))
					if !strings.Contains(text, label) {
						t.Errorf("page label %q missing", label)
					}
				}
				if t.Failed() {
					t.Logf("text:\n%s", text)
				}
			})
		}
	}
}

func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		out = append(out, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
