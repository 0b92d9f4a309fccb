package synth

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// layout is a visual template.
type layout int

const (
	layoutClassic layout = iota
	layoutTwoColumn
	layoutStatement
	layoutGrid
	layoutLetterhead
	layoutReceipt
	numLayouts
)

var layoutNames = [numLayouts]string{"classic", "twocolumn", "statement", "grid", "letterhead", "receipt"}

func (l layout) String() string { return layoutNames[l] }

// party is a vendor or customer.
type party struct {
	name         string
	street, city string
	country      country
	vat          string // normal form, "" when not printed
	vatPrinted   string
	phone, email string
	web          string
	person       string // managing director / contact
	registration string // company register line (vendors)
}

// item is one line of the invoice. qty is in hundredths, money in cents.
type item struct {
	desc         string
	qty          int64
	unit, amount int64
	kind         qtyKind
}

// invoice is one synthetic document: the business content, how it is
// printed, and what noise it carries. Everything is drawn from rng in a fixed
// order, so (seed, index) decides it completely.
type invoice struct {
	id     string
	seed   int64
	layout layout
	lang   lang
	L      labels

	vendor, customer party

	number     string
	customerNo string
	issue, due time.Time
	termDays   int

	currency string
	money    moneyFmt
	date     dateStyle

	items           []item
	rate            int64 // tenths of a percent
	taxNote         string
	net, tax, total int64

	iban, bic, bankName string

	// Chosen label variants.
	lblNumber, lblDate, lblDue, lblNet, lblTotal string

	accent      [3]int
	sinceYear   int
	footerNoise bool
	stampNoise  bool

	// plainXML, when set, is attached with fpdf's own attachment support
	// (VariantPlain).
	plainXML []byte
}

// Formatting helpers: everything printed goes through these, and tests use
// them to know the exact printed strings.
func (inv *invoice) amount(c int64) string      { return inv.money.num.cents(c) }
func (inv *invoice) printed(c int64) string     { return inv.money.format(c) }
func (inv *invoice) qty(q int64) string         { return inv.money.num.hundredths(q) }
func (inv *invoice) dateStr(t time.Time) string { return formatDate(t, inv.date, inv.lang) }
func (inv *invoice) ibanPrinted() string        { return ibanGroups(inv.iban) }

// taxLabel is e.g. "VAT 20%", "USt. 19 %", "TVA 5,5 %".
func (inv *invoice) taxLabel() string {
	return inv.L.VAT + " " + inv.money.num.percent(inv.rate, inv.lang != langEN)
}

func (inv *invoice) terms() string {
	if inv.termDays == 0 {
		return inv.L.DueOnReceipt
	}
	return fmt.Sprintf(inv.L.Terms, inv.termDays)
}

// pick returns a random element of s.
func pick[T any](rng *rand.Rand, s []T) T { return s[rng.IntN(len(s))] }

// docRand is the source of document i of a run: independent of every other
// document, so Invoice(seed, i) needs no state from earlier documents.
func docRand(seed int64, i int) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), 0x5eed0000+uint64(i)))
}

// runPlan fixes, per seed, the order in which layouts and languages cycle, so
// that any 6 consecutive documents show every layout and every language.
// Within each block of 6 the language cycle is shifted by one, so layouts and
// languages pair up differently from block to block.
func runPlan(seed int64) (layouts []int, langs []int) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x9a77e2))
	return rng.Perm(int(numLayouts)), rng.Perm(3)
}

// newInvoice draws document i (0-based) of the run with the given seed.
func newInvoice(seed int64, i int) *invoice {
	layouts, langs := runPlan(seed)
	rng := docRand(seed, i)
	inv := &invoice{
		id:     fmt.Sprintf("synth-%04d", i+1),
		seed:   seed,
		layout: layout(layouts[i%int(numLayouts)]),
		lang:   lang(langs[(i+i/int(numLayouts))%3]),
	}
	inv.L = labelsByLang[inv.lang]

	// Vendor country follows the language; English is used by vendors
	// everywhere.
	var vc country
	switch inv.lang {
	case langDE:
		vc = pick(rng, []country{countryDE, countryDE, countryDE, countryAT})
	case langFR:
		vc = countryFR
	default:
		vc = pick(rng, []country{countryGB, countryGB, countryGB, countryDE, countryFR})
	}
	inv.vendor = newParty(rng, vc)

	// Customer: mostly domestic; otherwise abroad, which sets a 0 % rate.
	cc := vc
	if rng.IntN(4) == 0 {
		cc = pick(rng, foreignFor(vc))
	}
	for {
		inv.customer = newParty(rng, cc)
		if inv.customer.name != inv.vendor.name {
			break
		}
	}

	// Currency and tax.
	inv.currency = "EUR"
	if vc == countryGB {
		inv.currency = "GBP"
	}
	switch {
	case cc == vc:
		inv.rate = pick(rng, domesticRates(vc))
	case cc == countryUS || cc == countryCH || vc == countryGB || cc == countryGB:
		inv.taxNote = inv.L.Export
		if cc == countryUS && rng.IntN(3) > 0 {
			inv.currency = "USD"
		}
		if cc == countryCH && rng.IntN(3) > 0 {
			inv.currency = "CHF"
		}
		if vc == countryGB && cc != countryUS && cc != countryCH {
			inv.currency = "EUR"
		}
	default: // EU to EU
		inv.taxNote = inv.L.ReverseCharge
	}

	// Dates.
	inv.issue = time.Date(2022+rng.IntN(4), time.January, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, rng.IntN(365))
	inv.termDays = pick(rng, []int{0, 7, 10, 14, 14, 30, 30, 30, 45, 60})
	inv.due = inv.issue.AddDate(0, 0, inv.termDays)
	inv.number = invoiceNumber(rng, inv.lang, inv.issue)
	if rng.IntN(2) == 0 {
		inv.customerNo = fmt.Sprintf("%s%d", pick(rng, []string{"K", "C-", "CL", "10"}), 1000+rng.IntN(9000))
	}

	// Line items: about one document in seven is long enough to need two or
	// three pages.
	n := 1 + rng.IntN(8)
	long := i%7 == 3
	if long {
		n = 25 + rng.IntN(36)
	}
	for range n {
		p := catalog[rng.IntN(len(catalog))]
		it := item{desc: p.desc[inv.lang], kind: p.kind}
		if long {
			it.desc = fmt.Sprintf("%s %d %s", refPrefix[inv.lang], 10000+rng.IntN(90000), it.desc)
		}
		it.qty = drawQty(rng, p)
		it.unit = p.min + rng.Int64N(p.max-p.min+1)
		if it.unit >= 10000 && rng.IntN(2) == 0 {
			it.unit = it.unit / 100 * 100 // round prices for big-ticket items
		}
		it.amount = (it.qty*it.unit + 50) / 100 // half up, to the cent
		inv.items = append(inv.items, it)
		inv.net += it.amount
	}
	inv.tax = (inv.net*inv.rate + 500) / 1000
	inv.total = inv.net + inv.tax

	// Bank.
	b := pick(rng, banksFor(vc))
	inv.bankName, inv.bic = b.name, b.bic
	inv.iban = iban(rng, vc)

	// How it is printed.
	inv.money = pick(rng, moneyFmts(inv.lang, inv.currency))
	inv.date = pick(rng, dateStyles[inv.lang])
	inv.lblNumber = pick(rng, inv.L.InvoiceNo)
	inv.lblDate = pick(rng, inv.L.Date)
	inv.lblDue = pick(rng, inv.L.DueDate)
	inv.lblNet = pick(rng, inv.L.Net)
	inv.lblTotal = pick(rng, inv.L.Total)
	inv.accent = pick(rng, [][3]int{{31, 78, 140}, {0, 118, 110}, {150, 40, 60}, {70, 70, 80}, {200, 90, 20}})
	inv.sinceYear = 1950 + rng.IntN(65)

	// Noise is drawn for every document so that switching it off changes
	// nothing else.
	inv.footerNoise = rng.IntN(100) < 45
	inv.stampNoise = rng.IntN(100) < 35
	return inv
}

func drawQty(rng *rand.Rand, p product) int64 {
	switch p.kind {
	case qtyHours:
		return int64(1+rng.IntN(p.maxQty*4)) * 25
	case qtyDays, qtyMetres:
		return int64(1+rng.IntN(p.maxQty*2)) * 50
	case qtyMonths:
		return pick(rng, []int64{100, 300, 600, 1200})
	case qtyFlat:
		return 100
	default:
		return int64(1+rng.IntN(p.maxQty)) * 100
	}
}

func foreignFor(vc country) []country {
	switch vc {
	case countryDE:
		return []country{countryFR, countryAT, countryUS, countryCH, countryGB}
	case countryAT:
		return []country{countryDE, countryCH, countryUS}
	case countryFR:
		return []country{countryDE, countryCH, countryUS, countryGB}
	default:
		return []country{countryDE, countryFR, countryUS}
	}
}

func domesticRates(c country) []int64 {
	switch c {
	case countryDE:
		return []int64{190, 190, 190, 70}
	case countryAT:
		return []int64{200, 200, 100}
	case countryFR:
		return []int64{200, 200, 200, 100, 55}
	default:
		return []int64{200, 200, 200, 50}
	}
}

func banksFor(c country) []bank {
	switch c {
	case countryDE:
		return banksDE
	case countryAT:
		return banksAT
	case countryFR:
		return banksFR
	default:
		return banksGB
	}
}

// newParty draws a company in country c.
func newParty(rng *rand.Rand, c country) party {
	var p party
	p.country = c
	house := 1 + rng.IntN(120)
	switch c {
	case countryDE, countryAT:
		sur, forms, streets, cities := surnamesDE, formsDE, streetsDE, citiesDE
		if c == countryAT {
			sur, forms, streets, cities = surnamesAT, formsAT, streetsAT, citiesAT
		}
		if rng.IntN(3) == 0 {
			p.name = fmt.Sprintf("%s & %s %s", pick(rng, sur), pick(rng, sur), pick(rng, forms))
		} else {
			p.name = fmt.Sprintf("%s %s %s", pick(rng, sur), pick(rng, tradesDE), pick(rng, forms))
		}
		p.street = fmt.Sprintf("%s %d", pick(rng, streets), house)
		p.city = pick(rng, cities)
		p.person = pick(rng, firstNamesDE) + " " + pick(rng, sur)
	case countryFR:
		p.name = fmt.Sprintf("%s %s %s", pick(rng, tradesFR), pick(rng, surnamesFR), pick(rng, formsFR))
		p.street = fmt.Sprintf("%d %s", house, pick(rng, streetsFR))
		p.city = pick(rng, citiesFR)
		p.person = pick(rng, firstNamesFR) + " " + pick(rng, surnamesFR)
	case countryGB:
		p.name = fmt.Sprintf("%s %s %s", pick(rng, brandsGB), pick(rng, tradesGB), pick(rng, formsGB))
		p.street = fmt.Sprintf("%d %s", house, pick(rng, streetsGB))
		p.city = pick(rng, citiesGB)
		p.person = pick(rng, firstNamesGB) + " " + pick(rng, brandsGB)
	case countryUS:
		p.name = fmt.Sprintf("%s %s %s", pick(rng, brandsUS), pick(rng, tradesUS), pick(rng, formsUS))
		p.street = fmt.Sprintf("%d %s", 100+rng.IntN(1900), pick(rng, streetsUS))
		p.city = pick(rng, citiesUS)
	case countryCH:
		p.name = fmt.Sprintf("%s %s %s", pick(rng, brandsCH), pick(rng, tradesCH), pick(rng, formsCH))
		p.street = fmt.Sprintf("%s %d", pick(rng, streetsCH), house)
		p.city = pick(rng, citiesCH)
	}
	p.vat, p.vatPrinted = vatID(rng, c)

	slug := slugify(p.name)
	switch c {
	case countryDE:
		p.phone = fmt.Sprintf("+49 %d %s", 30+rng.IntN(60), digits(rng, 7, true))
		p.email, p.web = "info@"+slug+".de", "www."+slug+".de"
		p.registration = fmt.Sprintf("Amtsgericht %s HRB %d", cityName(p.city), 10000+rng.IntN(190000))
	case countryAT:
		p.phone = fmt.Sprintf("+43 %d %s", 1+rng.IntN(7), digits(rng, 7, true))
		p.email, p.web = "office@"+slug+".at", "www."+slug+".at"
		p.registration = fmt.Sprintf("FN %d%c, Handelsgericht %s", 100000+rng.IntN(800000), 'a'+rng.IntN(26), cityName(p.city))
	case countryFR:
		p.phone = fmt.Sprintf("+33 %d %s %s %s %s", 1+rng.IntN(5), digits(rng, 2, false), digits(rng, 2, false), digits(rng, 2, false), digits(rng, 2, false))
		p.email, p.web = "contact@"+slug+".fr", "www."+slug+".fr"
		siren := p.vat[4:]
		p.registration = fmt.Sprintf("%s au capital de %s € – RCS %s %s %s %s", lastWord(p.name),
			numFR.group(int64(pick(rng, []int{1000, 5000, 7500, 10000, 50000}))), cityName(p.city), siren[:3], siren[3:6], siren[6:])
	case countryGB:
		p.phone = fmt.Sprintf("+44 %d %s %s", 20+rng.IntN(80), digits(rng, 4, true), digits(rng, 4, false))
		p.email, p.web = "accounts@"+slug+".co.uk", "www."+slug+".co.uk"
		p.registration = fmt.Sprintf("Registered in England and Wales, company no. %s", digits(rng, 8, false))
	}
	return p
}

// cityName strips the postcode from "80331 München" / "London EC1A 1BB".
func cityName(city string) string {
	f := strings.Fields(city)
	if len(f) > 1 && f[0][0] >= '0' && f[0][0] <= '9' {
		return strings.Join(f[1:], " ")
	}
	return f[0]
}

func lastWord(s string) string {
	f := strings.Fields(s)
	return f[len(f)-1]
}

// slugify makes an e-mail domain from a company name's first word.
func slugify(name string) string {
	w := strings.ToLower(strings.Fields(name)[0])
	r := strings.NewReplacer("ä", "ae", "ö", "oe", "ü", "ue", "ß", "ss", "é", "e", "è", "e", "ê", "e", "É", "e", "'", "")
	return r.Replace(w)
}
