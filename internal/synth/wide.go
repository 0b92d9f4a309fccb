package synth

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"

	"github.com/extractor-dev/extractor/extract/lexicon"
)

// The wide set: twelve layouts in six languages (en, de, fr, nl, es, it)
// whose label words are drawn from the lexicon (strong labels mostly, weak
// ones sometimes), whose fields come in varying orders and places, with
// logos printed as text, sender lines above address windows, rows of
// labels with their values below, two-line table headers, totals tables
// and legal footers: so that the rules are measured on layouts they were
// not written for. The classic set (six layouts, three languages) stays
// as it was, byte for byte.

// Set chooses the layouts a run draws from.
type Set int

// Sets.
const (
	// SetClassic is the six original layouts in English, German and
	// French (the committed samples).
	SetClassic Set = iota
	// SetWide is the twelve wide layouts in six languages.
	SetWide
)

// NumLayouts is how many layouts a set has.
func NumLayouts(s Set) int {
	if s == SetWide {
		return len(wideStyles)
	}
	return int(numLayouts)
}

// Header, meta, table, totals and footer kinds of the wide layouts.
const (
	hdrLogoLeft      = iota // logo text left, vendor details right, customer block under it
	hdrWindow               // letterhead right, sender line over the customer's address window
	hdrBand                 // a colour band with the vendor's name, the title right
	hdrNameless             // no name at the top: a sender line and the address; the vendor in the footer
	hdrHeadings             // customer and vendor blocks side by side under their headings
	hdrLogoRightLeft        // logo text right, customer block left under a heading
)

const (
	metaPairs = iota // label: value pairs in a right column
	metaRow          // a row of labels with their values below
	metaTitle        // the number in the title line, the dates in a sentence line
	metaBoxes        // boxes: label above value, stacked
)

const (
	totStack = iota // net, tax, total stacked right
	totTable        // a totals table: a header row and a row of values
	totGross        // the total, then the tax it includes
)

const (
	footLegal   = iota // one legal line: name · address · register · VAT · IBAN
	footColumns        // three footer columns: address, bank, register
	footBank           // a payment block in the body
)

// wideStyle is one wide layout.
type wideStyle struct {
	name   string
	header int
	meta   int
	// cols are the table's columns in order.
	cols   []lexicon.Concept
	totals int
	footer int
	serif  bool
	narrow bool // a narrow page (letter-size receipt)
}

var wideStyles = []wideStyle{
	{"w-logo", hdrLogoLeft, metaPairs, []lexicon.Concept{lexicon.ColPosition, lexicon.ColDescription, lexicon.ColQuantity, lexicon.ColUnitPrice, lexicon.ColAmount}, totStack, footLegal, false, false},
	{"w-window", hdrWindow, metaPairs, []lexicon.Concept{lexicon.ColDescription, lexicon.ColQuantity, lexicon.ColUnit, lexicon.ColUnitPrice, lexicon.ColVATRate, lexicon.ColAmount}, totStack, footColumns, false, false},
	{"w-band", hdrBand, metaRow, []lexicon.Concept{lexicon.ColQuantity, lexicon.ColDescription, lexicon.ColUnitPrice, lexicon.ColAmount}, totTable, footBank, false, false},
	{"w-nameless", hdrNameless, metaTitle, []lexicon.Concept{lexicon.ColPosition, lexicon.ColDescription, lexicon.ColQuantity, lexicon.ColUnitPrice, lexicon.ColAmount}, totStack, footLegal, true, false},
	{"w-headings", hdrHeadings, metaBoxes, []lexicon.Concept{lexicon.ColArticle, lexicon.ColDescription, lexicon.ColQuantity, lexicon.ColUnitPrice, lexicon.ColDiscount, lexicon.ColAmount}, totStack, footBank, false, false},
	{"w-fromto", hdrHeadings, metaRow, []lexicon.Concept{lexicon.ColDescription, lexicon.ColQuantity, lexicon.ColUnit, lexicon.ColUnitPrice, lexicon.ColVATRate, lexicon.ColAmount}, totTable, footLegal, true, false},
	{"w-compact", hdrLogoLeft, metaTitle, []lexicon.Concept{lexicon.ColQuantity, lexicon.ColDescription, lexicon.ColUnitPrice, lexicon.ColAmount}, totGross, footColumns, false, false},
	{"w-boxes", hdrBand, metaBoxes, []lexicon.Concept{lexicon.ColDescription, lexicon.ColQuantity, lexicon.ColUnit, lexicon.ColUnitPrice, lexicon.ColVATRate, lexicon.ColAmount}, totTable, footColumns, true, false},
	{"w-right", hdrLogoRightLeft, metaPairs, []lexicon.Concept{lexicon.ColArticle, lexicon.ColDescription, lexicon.ColQuantity, lexicon.ColUnitPrice, lexicon.ColDiscount, lexicon.ColAmount}, totStack, footLegal, false, false},
	{"w-multicol", hdrHeadings, metaRow, []lexicon.Concept{lexicon.ColPosition, lexicon.ColDescription, lexicon.ColQuantity, lexicon.ColUnitPrice, lexicon.ColAmount}, totGross, footBank, false, false},
	{"w-narrow", hdrWindow, metaPairs, []lexicon.Concept{lexicon.ColDescription, lexicon.ColQuantity, lexicon.ColUnitPrice, lexicon.ColAmount}, totStack, footBank, false, true},
	{"w-serif", hdrNameless, metaBoxes, []lexicon.Concept{lexicon.ColPosition, lexicon.ColQuantity, lexicon.ColDescription, lexicon.ColUnitPrice, lexicon.ColAmount}, totTable, footColumns, true, false},
}

// wideLang is an invoice language of the wide set.
type wideLang struct {
	code   string
	months [12]string
	num    numFmt
	// dates lists the date formats the language prints.
	dates []string // "dmy.", "dmy/", "dmy-", "iso", "long", "longus", "longde", "longes"
	// countries the vendor sits in.
	countries []country
	invoice   string // title word
	words     wideWords
}

// wideWords are the language's sentences (labels come from the lexicon).
type wideWords struct {
	terms, thanks, page, phone, since string
}

// Countries the wide set adds (after the classic ones, which keep their
// values).
const (
	countryNL country = iota + 6
	countryES
	countryIT
)

var wideLangs = []wideLang{
	{"en", [12]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
		numEN, []string{"longus", "dmy/", "iso", "long"}, []country{countryGB, countryGB, countryUS}, "Invoice",
		wideWords{"Payment within %d days.", "Thank you for your business.", "Page", "Tel.", "Est. %d"}},
	{"de", [12]string{"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"},
		numDE, []string{"dmy.", "dmy.", "longde"}, []country{countryDE, countryDE, countryAT}, "Rechnung",
		wideWords{"Zahlbar innerhalb von %d Tagen.", "Vielen Dank für Ihren Auftrag.", "Seite", "Tel.", "Seit %d"}},
	{"fr", [12]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"},
		numFR, []string{"dmy/", "long"}, []country{countryFR}, "Facture",
		wideWords{"Paiement à %d jours.", "Merci de votre confiance.", "Page", "Tél.", "Depuis %d"}},
	{"nl", [12]string{"januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober", "november", "december"},
		numDE, []string{"dmy-", "long"}, []country{countryNL}, "Factuur",
		wideWords{"Betaling binnen %d dagen.", "Bedankt voor uw bestelling.", "Pagina", "Tel.", "Sinds %d"}},
	{"es", [12]string{"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"},
		numDE, []string{"dmy/", "longes"}, []country{countryES}, "Factura",
		wideWords{"Pago a %d días.", "Gracias por su confianza.", "Página", "Tel.", "Desde %d"}},
	{"it", [12]string{"gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre", "ottobre", "novembre", "dicembre"},
		numDE, []string{"dmy/", "long"}, []country{countryIT}, "Fattura",
		wideWords{"Pagamento a %d giorni.", "Grazie per la fiducia.", "Pagina", "Tel.", "Dal %d"}},
}

// wideProduct is a catalogue entry in the six languages.
type wideProduct struct {
	desc     [6]string
	min, max int64 // cents
	maxQty   int
}

var wideCatalog = []wideProduct{
	{[6]string{"Consulting services", "Beratungsleistung", "Prestation de conseil", "Adviesdiensten", "Servicios de consultoría", "Servizi di consulenza"}, 8000, 16000, 20},
	{[6]string{"Software licence (1 year)", "Softwarelizenz (1 Jahr)", "Licence logicielle (1 an)", "Softwarelicentie (1 jaar)", "Licencia de software (1 año)", "Licenza software (1 anno)"}, 4000, 90000, 10},
	{[6]string{"Office chair", "Bürostuhl", "Chaise de bureau", "Bureaustoel", "Silla de oficina", "Sedia da ufficio"}, 12000, 45000, 6},
	{[6]string{"Printer toner, black", "Toner schwarz", "Toner noir", "Toner zwart", "Tóner negro", "Toner nero"}, 2500, 9000, 12},
	{[6]string{"Delivery", "Lieferung", "Livraison", "Levering", "Envío", "Spedizione"}, 500, 4900, 1},
	{[6]string{"Maintenance contract", "Wartungsvertrag", "Contrat de maintenance", "Onderhoudscontract", "Contrato de mantenimiento", "Contratto di manutenzione"}, 20000, 180000, 1},
	{[6]string{"Training day", "Schulungstag", "Journée de formation", "Trainingsdag", "Jornada de formación", "Giornata di formazione"}, 60000, 150000, 3},
	{[6]string{"Network cable (m)", "Netzwerkkabel (m)", "Câble réseau (m)", "Netwerkkabel (m)", "Cable de red (m)", "Cavo di rete (m)"}, 49, 299, 80},
	{[6]string{"Monitor 27 inch", "Monitor 27 Zoll", "Écran 27 pouces", "Monitor 27 inch", "Monitor 27 pulgadas", "Monitor 27 pollici"}, 17900, 39900, 8},
	{[6]string{"Web hosting", "Webhosting", "Hébergement web", "Webhosting", "Alojamiento web", "Hosting web"}, 499, 5990, 12},
	{[6]string{"Cleaning service", "Reinigung", "Nettoyage", "Schoonmaak", "Servicio de limpieza", "Servizio di pulizia"}, 1800, 4000, 30},
	{[6]string{"Graphic design", "Grafikdesign", "Création graphique", "Grafisch ontwerp", "Diseño gráfico", "Progettazione grafica"}, 5500, 12000, 20},
	{[6]string{"Spare parts kit", "Ersatzteilset", "Kit de pièces", "Onderdelenset", "Kit de repuestos", "Kit ricambi"}, 1500, 24000, 10},
	{[6]string{"Coffee beans, 1 kg", "Kaffeebohnen, 1 kg", "Café en grains, 1 kg", "Koffiebonen, 1 kg", "Café en grano, 1 kg", "Caffè in grani, 1 kg"}, 1190, 2790, 12},
}

// Names, streets and cities of the countries the wide set adds.
var (
	namesNL   = []string{"De Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "Mulder", "Bos", "Vos", "Peters"}
	tradesNL  = []string{"Techniek", "Logistiek", "Installatie", "Advies", "Drukwerk", "Software"}
	formsNL   = []string{"B.V.", "B.V.", "V.O.F.", "N.V."}
	streetsNL = []string{"Keizersgracht", "Stationsweg", "Dorpsstraat", "Kerkstraat", "Marktplein", "Laan van Meerdervoort"}
	citiesNL  = []string{"1015 CJ Amsterdam", "3011 AD Rotterdam", "2511 BT Den Haag", "3511 LX Utrecht", "5611 AZ Eindhoven"}
	namesES   = []string{"García", "Martínez", "López", "Sánchez", "Pérez", "Gómez", "Ruiz", "Díaz", "Moreno", "Navarro"}
	tradesES  = []string{"Suministros", "Consultores", "Instalaciones", "Logística", "Informática", "Servicios"}
	formsES   = []string{"S.L.", "S.L.", "S.A."}
	streetsES = []string{"Calle Mayor", "Gran Vía", "Calle de Alcalá", "Paseo de Gracia", "Avenida de la Constitución"}
	citiesES  = []string{"28013 Madrid", "08007 Barcelona", "46002 Valencia", "41001 Sevilla", "48001 Bilbao"}
	namesIT   = []string{"Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino", "Greco"}
	tradesIT  = []string{"Forniture", "Impianti", "Consulenze", "Trasporti", "Informatica", "Servizi"}
	formsIT   = []string{"S.r.l.", "S.r.l.", "S.p.A."}
	streetsIT = []string{"Via Roma", "Corso Italia", "Via Garibaldi", "Piazza del Duomo", "Via Dante"}
	citiesIT  = []string{"20121 Milano", "00184 Roma", "10121 Torino", "50123 Firenze", "40121 Bologna"}
	banksNL   = []bank{{"Noordbank N.V.", "NOBKNL2AXXX"}, {"Rijnlandse Bank", "RIJNNL2UXXX"}}
	banksES   = []bank{{"Banco del Levante", "BLEVESMMXXX"}, {"Caja Meseta", "CJMSESMMXXX"}}
	banksIT   = []bank{{"Banca del Nord", "BNORITMMXXX"}, {"Cassa Centrale Sud", "CCSUITRRXXX"}}
)

// wideParty draws a company of country c (classic countries through
// newParty).
func wideParty(rng *rand.Rand, c country) party {
	if c < countryNL {
		return newParty(rng, c)
	}
	var p party
	p.country = c
	house := 1 + rng.IntN(200)
	switch c {
	case countryNL:
		p.name = fmt.Sprintf("%s %s %s", pick(rng, namesNL), pick(rng, tradesNL), pick(rng, formsNL))
		p.street = fmt.Sprintf("%s %d", pick(rng, streetsNL), house)
		p.city = pick(rng, citiesNL)
		p.phone = "+31 " + digits(rng, 2, true) + " " + digits(rng, 7, true)
		p.vat = "NL" + digits(rng, 9, true) + "B" + digits(rng, 2, true)
		p.registration = "KvK " + digits(rng, 8, true)
	case countryES:
		p.name = fmt.Sprintf("%s %s %s", pick(rng, tradesES), pick(rng, namesES), pick(rng, formsES))
		p.street = fmt.Sprintf("%s, %d", pick(rng, streetsES), house)
		p.city = pick(rng, citiesES)
		p.phone = "+34 9" + digits(rng, 2, false) + " " + digits(rng, 6, false)
		p.vat = "ESB" + digits(rng, 8, true)
		p.registration = "Registro Mercantil de " + cityName(p.city) + ", tomo " + digits(rng, 5, true)
	case countryIT:
		p.name = fmt.Sprintf("%s %s %s", pick(rng, tradesIT), pick(rng, namesIT), pick(rng, formsIT))
		p.street = fmt.Sprintf("%s %d", pick(rng, streetsIT), house)
		p.city = pick(rng, citiesIT)
		p.phone = "+39 0" + digits(rng, 2, false) + " " + digits(rng, 7, false)
		p.vat = "IT" + luhnComplete(digits(rng, 10, true))
		p.registration = "REA " + digits(rng, 6, true) + " - Capitale sociale i.v."
	}
	p.vatPrinted = p.vat
	slug := slugify(p.name)
	tld := map[country]string{countryNL: ".nl", countryES: ".es", countryIT: ".it"}[c]
	p.email, p.web = "info@"+slug+tld, "www."+slug+tld
	return p
}

// wideIBAN draws an IBAN (classic countries through iban).
func wideIBAN(rng *rand.Rand, c country) string {
	var cc, bban string
	switch c {
	case countryNL:
		cc, bban = "NL", "ABNA"+digits(rng, 10, false)
	case countryES:
		cc, bban = "ES", digits(rng, 20, true)
	case countryIT:
		cc, bban = "IT", string(rune('A'+rng.IntN(26)))+digits(rng, 10, true)+digits(rng, 12, false)
	case countryUS:
		return ""
	default:
		return iban(rng, c)
	}
	check := 98 - ibanMod97(bban+cc+"00")
	return fmt.Sprintf("%s%02d%s", cc, check, bban)
}

// wideDoc is a wide-set invoice: the business content (in an invoice, so
// the classic helpers apply) and how it is printed.
type wideDoc struct {
	*invoice
	style wideStyle
	wl    wideLang
	// lbl holds the printed label of each concept, drawn from the lexicon.
	lbl      map[lexicon.Concept]string
	dateFmt  string
	logo     string // the logo as text: the brand in capitals
	tagline  string
	order    []int // order of the meta fields: 0 number, 1 date, 2 due
	ruleGray int
}

// label draws a label of concept c in the document's language: a strong
// one mostly, a weak one sometimes (when the concept has weak labels and
// weakOK).
func label(rng *rand.Rand, lang string, c lexicon.Concept, weakOK bool) string {
	strong := lexicon.Phrases(lang, c, lexicon.Strong)
	weak := lexicon.Phrases(lang, c, lexicon.Weak)
	if weakOK && len(weak) > 0 && rng.IntN(5) == 0 {
		return pick(rng, weak)
	}
	if len(strong) == 0 {
		strong = lexicon.Phrases("en", c, lexicon.Strong)
	}
	return pick(rng, strong)
}

// printableLabels are the lexicon labels that read well at the place they
// are printed (a seller heading is not "Remit to").
var avoidLabels = map[string]bool{
	"To": true, "For": true, "Name": true, "Attn": true, "Attention": true, "Company": true, "Merchant": true, "Provider": true, "Payee": true,
	"Remit to": true, "Remit Payment to": true, "Make checks payable to": true, "Make cheques payable to": true, "Pay to": true, "Payable to": true,
	"in favor of": true, "in favour of": true, "Guest Name": true, "Tax Point": true, "Booking ID": true, "Booking No.": true, "Due Payable": true,
	"Please Pay": true, "plus VAT": true, "Total for this invoice": true, "Statement No.": true, "Receipt No.": true, "Receipt Number": true,
	"Receipt #": true, "Receipt Date": true, "Statement Date": true, "Credit Note Date": true, "Credit Note No.": true, "Credit Note Number": true,
	"Credit Note #": true, "Gutschriftsnummer": true, "Gutschrift Nr.": true, "Gutschrift-Nr.": true, "Gutschriftsdatum": true, "Quittungsnummer": true,
	"N° d'avoir": true, "Avoir N°": true, "Numéro d'avoir": true, "Avoir numéro": true, "Date de l'avoir": true, "Date d'avoir": true, "Avoir du": true,
	"Creditnotanummer": true, "Creditnota nr.": true, "Creditnotadatum": true, "Nota de crédito N°": true, "Nota di credito N°": true,
	"Facture du": true, "Rechnung vom": true, "Émise le": true, "Émis le": true, "Fait le": true, "Établie le": true, "Emitida el": true, "Emessa il": true,
	"TTC": true, "HT": true, "Brutto": true, "Netto": true, "Steuer": true, "Taxes": true, "Impuestos": true, "Imposta": true,
	"Zu zahlen": true, "Bitte zahlen": true, "Fällig am": false, "fällig": true, "Due": true, "Amount Due (EUR)": true, "Gesamt EUR": true,
	"Summe EUR": true, "Totaal EUR": true, "Total EUR": true, "Totale EUR": true, "Montant EUR TTC": true, "Total EUR TTC": true,
	"Montant EUR HT": true, "Total EUR HT": true, "Montant du prélèvement": true, "Reste à payer": true, "Solde à payer": true,
	"Openstaand bedrag": true, "Fälliger Betrag": true, "Montant dû": true, "Total dû": true, "Net Payable": true, "Total Charges": true,
	"Excl. VAT": true, "Excluding VAT": true, "Excl. Tax": true, "Excluding Tax": true, "Before Tax": true, "Exclusief BTW": true, "Excl. BTW": true,
	"Hors taxes": true, "Base": true, "Neto": true, "Nett": true, "Net": true, "Sales Tax": true, "Value Added Tax": true, "Tax Due": true, "VAT Due": true,
}

// pickLabel draws a label of c that reads well where it is printed.
func pickLabel(rng *rand.Rand, lang string, c lexicon.Concept, weakOK bool) string {
	for range 20 {
		if l := label(rng, lang, c, weakOK); !avoidLabels[l] {
			return l
		}
	}
	return label(rng, lang, c, false)
}

// newWideDoc draws document i of the wide run with the given seed.
func newWideDoc(seed int64, i int) *wideDoc {
	plan := rand.New(rand.NewPCG(uint64(seed), 0x71de))
	styles := plan.Perm(len(wideStyles))
	langs := plan.Perm(len(wideLangs))
	rng := rand.New(rand.NewPCG(uint64(seed), 0x71de0000+uint64(i)))
	d := &wideDoc{invoice: &invoice{id: fmt.Sprintf("wide-%04d", i+1), seed: seed}, lbl: map[lexicon.Concept]string{}}
	d.style = wideStyles[styles[i%len(styles)]]
	d.wl = wideLangs[langs[(i+i/len(wideStyles))%len(langs)]]
	inv := d.invoice
	vc := pick(rng, d.wl.countries)
	inv.vendor = wideParty(rng, vc)
	cc := vc
	if rng.IntN(5) == 0 {
		cc = pick(rng, []country{countryDE, countryFR, countryNL, countryIT})
	}
	for {
		inv.customer = wideParty(rng, cc)
		if inv.customer.name != inv.vendor.name {
			break
		}
	}
	inv.currency = "EUR"
	switch vc {
	case countryGB:
		inv.currency = "GBP"
	case countryUS:
		inv.currency = "USD"
	}
	rates := map[country][]int64{countryDE: {190, 70}, countryAT: {200, 100}, countryFR: {200, 55}, countryGB: {200}, countryUS: {0, 60, 80},
		countryNL: {210, 90}, countryES: {210, 100}, countryIT: {220, 100}}
	inv.rate = pick(rng, rates[vc])
	if cc != vc {
		inv.rate = 0
	}
	inv.issue = time.Date(2021+rng.IntN(5), time.January, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, rng.IntN(365))
	inv.termDays = pick(rng, []int{7, 14, 14, 30, 30, 60})
	inv.due = inv.issue.AddDate(0, 0, inv.termDays)
	prefix := pick(rng, []string{"INV", "RE", "FA", "F", "FV", "NR"})
	switch rng.IntN(4) {
	case 0:
		inv.number = fmt.Sprintf("%s-%d-%04d", prefix, inv.issue.Year(), 1+rng.IntN(900))
	case 1:
		inv.number = fmt.Sprintf("%d%05d", inv.issue.Year()%100, rng.IntN(99999))
	case 2:
		inv.number = fmt.Sprintf("%s%d/%d", prefix, inv.issue.Year(), 10+rng.IntN(900))
	default:
		inv.number = fmt.Sprintf("%d", 1000000+rng.IntN(8000000))
	}
	li := 0
	for k, l := range wideLangs {
		if l.code == d.wl.code {
			li = k
		}
	}
	n := 1 + rng.IntN(7)
	for range n {
		p := wideCatalog[rng.IntN(len(wideCatalog))]
		it := item{desc: p.desc[li]}
		it.qty = int64(1+rng.IntN(p.maxQty)) * 100
		it.unit = p.min + rng.Int64N(p.max-p.min+1)
		it.amount = (it.qty*it.unit + 50) / 100
		inv.items = append(inv.items, it)
		inv.net += it.amount
	}
	inv.tax = (inv.net*inv.rate + 500) / 1000
	inv.total = inv.net + inv.tax
	b := pick(rng, map[country][]bank{countryDE: banksDE, countryAT: banksAT, countryFR: banksFR, countryGB: banksGB, countryUS: banksGB,
		countryNL: banksNL, countryES: banksES, countryIT: banksIT}[vc])
	inv.bankName, inv.bic = b.name, b.bic
	inv.iban = wideIBAN(rng, vc)

	sym := currencySymbol(inv.currency)
	num := d.wl.num
	switch rng.IntN(3) {
	case 0:
		inv.money = moneyFmt{num, "", " " + inv.currency}
	case 1:
		if d.wl.code == "en" {
			inv.money = moneyFmt{num, sym, ""}
		} else {
			inv.money = moneyFmt{num, "", " " + sym}
		}
	default:
		inv.money = moneyFmt{num, "", ""}
	}
	d.dateFmt = pick(rng, d.wl.dates)
	if d.dateFmt == "longus" && inv.currency != "USD" && rng.IntN(2) == 0 {
		d.dateFmt = "long"
	}
	for _, c := range []lexicon.Concept{lexicon.InvoiceNumber, lexicon.IssueDate, lexicon.DueDate, lexicon.Total, lexicon.Net, lexicon.Tax} {
		d.lbl[c] = pickLabel(rng, d.wl.code, c, c != lexicon.Net)
	}
	for _, c := range []lexicon.Concept{lexicon.VATID, lexicon.Customer, lexicon.Vendor, lexicon.IBAN, lexicon.Currency} {
		d.lbl[c] = pickLabel(rng, d.wl.code, c, false)
	}
	for _, c := range d.style.cols {
		d.lbl[c] = pickLabel(rng, d.wl.code, c, false)
	}
	first := strings.Fields(inv.vendor.name)[0]
	d.logo = strings.ToUpper(first)
	if rng.IntN(2) == 0 {
		d.logo = strings.Join(strings.Split(d.logo, ""), " ")
	}
	d.tagline = fmt.Sprintf(d.wl.words.since, 1950+rng.IntN(70))
	d.order = []int{0, 1, 2}
	if rng.IntN(2) == 0 {
		d.order = []int{1, 0, 2}
	}
	d.ruleGray = 150 + rng.IntN(60)
	return d
}

func (d *wideDoc) date(t time.Time) string {
	y, m, day := t.Date()
	month := d.wl.months[m-1]
	switch d.dateFmt {
	case "dmy.":
		return fmt.Sprintf("%02d.%02d.%04d", day, m, y)
	case "dmy/":
		return fmt.Sprintf("%02d/%02d/%04d", day, m, y)
	case "dmy-":
		return fmt.Sprintf("%02d-%02d-%04d", day, m, y)
	case "longus":
		return fmt.Sprintf("%s %d, %d", month, day, y)
	case "longde":
		return fmt.Sprintf("%d. %s %d", day, month, y)
	case "longes":
		return fmt.Sprintf("%d de %s de %d", day, month, y)
	case "long":
		return fmt.Sprintf("%d %s %d", day, month, y)
	}
	return t.Format(time.DateOnly)
}

// meta are the document fields in the drawn order.
func (d *wideDoc) meta() [][2]string {
	all := [][2]string{{d.lbl[lexicon.InvoiceNumber], d.number}, {d.lbl[lexicon.IssueDate], d.date(d.issue)}, {d.lbl[lexicon.DueDate], d.date(d.due)}}
	var out [][2]string
	for _, k := range d.order {
		out = append(out, all[k])
	}
	return out
}

func (d *wideDoc) taxLabel() string {
	return d.lbl[lexicon.Tax] + " " + d.wl.num.percent(d.rate, d.wl.code != "en")
}

// row is the dataset row of a wide document.
func (d *wideDoc) row(pages int) Row {
	r := d.invoice.row(renderResult{pages: pages})
	r.Group = "synth:" + d.style.name
	r.Notes = fmt.Sprintf("synthetic (wide set); seed %d; layout %s; lang %s; pages %d", d.seed, d.style.name, d.wl.code, pages)
	return r
}

// renderWide draws a wide document twice (to number its pages).
func renderWide(d *wideDoc) ([]byte, int, error) {
	_, n, err := renderWidePass(d, 0)
	if err != nil {
		return nil, 0, err
	}
	return renderWidePass(d, n)
}

func renderWidePass(d *wideDoc, nb int) ([]byte, int, error) {
	var pdf *fpdf.Fpdf
	if d.style.narrow {
		pdf = fpdf.NewCustom(&fpdf.InitType{UnitStr: "mm", Size: fpdf.SizeType{Wd: 148, Ht: 260}})
	} else {
		pdf = fpdf.New("P", "mm", "A4", "")
	}
	stamp := d.issue.Add(10 * time.Hour)
	pdf.SetCreationDate(stamp)
	pdf.SetModificationDate(stamp)
	pdf.SetCatalogSort(true)
	pdf.SetCompression(true)
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetMargins(0, 0, 0)
	pdf.SetTitle(d.wl.invoice+" "+d.number, true)
	pdf.SetCreator("extractor internal/synth (wide)", false)
	pdf.SetProducer("extractor internal/synth", false)
	w, h := pdf.GetPageSize()
	r := &renderer{pdf: pdf, tr: pdf.UnicodeTranslatorFromDescriptor(""), inv: d.invoice, nb: nb, W: w, H: h}
	wr := &wideRenderer{renderer: r, d: d}
	pdf.SetFooterFunc(func() { wr.footer() })
	wr.draw()
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, 0, fmt.Errorf("synth: %s: %w", d.id, err)
	}
	return buf.Bytes(), pdf.PageNo(), nil
}

type wideRenderer struct {
	*renderer
	d *wideDoc
}

func (wr *wideRenderer) family() string {
	if wr.d.style.serif {
		return "Times"
	}
	return "Helvetica"
}

func (wr *wideRenderer) text(x, y, w, h float64, s, align, style string, size float64) {
	wr.fitCell(x, y, w, h, s, align, wr.family(), style, size)
}

// x0 and width of the body.
func (wr *wideRenderer) body() (float64, float64) {
	if wr.d.style.narrow {
		return 10, wr.W - 20
	}
	return 18, wr.W - 36
}

func (wr *wideRenderer) footer() {
	d := wr.d
	x0, w := wr.body()
	wr.gray(90)
	size := 6.5
	switch d.style.footer {
	case footLegal:
		v := d.vendor
		parts := []string{v.name, v.street, v.city}
		if v.registration != "" {
			parts = append(parts, v.registration)
		}
		parts = append(parts, d.lbl[lexicon.VATID]+" "+v.vatPrinted)
		if d.iban != "" {
			parts = append(parts, "IBAN "+ibanGroups(d.iban))
		}
		wr.text(x0, wr.H-20, w, 3.5, strings.Join(parts[:3], " · "), "C", "", size)
		wr.text(x0, wr.H-16.5, w, 3.5, strings.Join(parts[3:], " · "), "C", "", size)
	case footColumns:
		v := d.vendor
		cw := w / 3
		col := func(i int, lines ...string) {
			for k, s := range lines {
				wr.text(x0+float64(i)*cw, wr.H-24+float64(k)*3.4, cw-2, 3.4, s, "L", "", size)
			}
		}
		col(0, v.name, v.street, v.city, d.wl.words.phone+" "+v.phone)
		if d.iban != "" {
			col(1, d.bankName, d.lbl[lexicon.IBAN]+": "+ibanGroups(d.iban), "BIC: "+d.bic)
		}
		col(2, v.registration, d.lbl[lexicon.VATID]+": "+v.vatPrinted)
	}
	wr.text(x0, wr.H-10, w, 4, fmt.Sprintf("%s %d/%d", d.wl.words.page, wr.pdf.PageNo(), max(wr.nb, 1)), "R", "", 7)
	wr.gray(0)
}

func (wr *wideRenderer) customerLines() []string {
	c := wr.d.customer
	lines := []string{c.street, c.city}
	if c.country != wr.d.vendor.country {
		lines = append(lines, strings.ToUpper(c.country.code()))
	}
	return lines
}

// draw lays the document out: header, meta, table, totals, notes.
func (wr *wideRenderer) draw() {
	d := wr.d
	x0, w := wr.body()
	wr.addPage()
	y := wr.header()
	y = wr.metaBlock(y + 4)
	if d.money.prefix == "" && d.money.suffix == "" {
		// amounts without a currency: it is named once
		wr.text(x0, y+1, w, 4.5, d.lbl[lexicon.Currency]+": "+d.currency, "L", "", 8.5)
		y += 5.5
	}
	y = wr.table(y + 6)
	x0, w = wr.body()
	y = wr.room(y+4, 40, wr.H-30, func() float64 { return 20 })
	y = wr.totals(y)
	wr.font(wr.family(), "", 8.5)
	y += 6
	wr.text(x0, y, w, 4.5, fmt.Sprintf(d.wl.words.terms, d.termDays), "L", "", 8.5)
	y += 5
	if d.style.footer == footBank && d.iban != "" {
		wr.text(x0, y, w, 4.5, d.bankName+" · "+d.lbl[lexicon.IBAN]+": "+ibanGroups(d.iban)+" · BIC "+d.bic, "L", "", 8.5)
		y += 5
		wr.text(x0, y, w, 4.5, d.lbl[lexicon.VATID]+": "+d.vendor.vatPrinted, "L", "", 8.5)
		y += 5
	}
	wr.text(x0, y+2, w, 4.5, d.wl.words.thanks, "L", "I", 8.5)
}

// header draws the vendor's identity and the customer's address.
func (wr *wideRenderer) header() float64 {
	d := wr.d
	x0, w := wr.body()
	v, c := d.vendor, d.customer
	vendorDetails := []string{v.street, v.city, d.wl.words.phone + " " + v.phone, v.email}
	custBlock := func(x, y float64, heading string) float64 {
		if heading != "" {
			wr.gray(110)
			wr.text(x, y, 80, 4, heading, "L", "B", 7.5)
			wr.gray(0)
			y += 4.5
		}
		wr.text(x, y, 80, 5, c.name, "L", "B", 10)
		y += 5
		for _, s := range wr.customerLines() {
			wr.text(x, y, 80, 4.5, s, "L", "", 9.5)
			y += 4.5
		}
		return y
	}
	senderLine := func(x, y float64) {
		wr.gray(90)
		wr.text(x, y, 85, 3.5, strings.Join([]string{v.name, v.street, v.city}, " · "), "L", "U", 6.5)
		wr.gray(0)
	}
	logo := func(x, y, bw float64, align string) {
		wr.color([3]int{40, 70, 140})
		wr.text(x, y, bw, 11, d.logo, align, "B", 22)
		wr.gray(120)
		wr.text(x, y+11, bw, 4, d.tagline, align, "I", 8)
		wr.gray(0)
	}
	title := func(y float64) {
		wr.text(x0, y, w, 9, strings.ToUpper(d.wl.invoice), "L", "B", 18)
	}
	switch d.style.header {
	case hdrLogoLeft:
		logo(x0, 14, 90, "L")
		yy := 14.0
		wr.text(x0+w-80, yy, 80, 5, v.name, "R", "B", 10)
		for _, s := range vendorDetails {
			yy += 4.3
			wr.text(x0+w-80, yy, 80, 4.3, s, "R", "", 8)
		}
		y := custBlock(x0, 46, "")
		title(y + 6)
		return y + 16
	case hdrWindow:
		yy := 14.0
		wr.text(x0+w-75, yy, 75, 6, v.name, "R", "B", 12)
		for _, s := range vendorDetails {
			yy += 4.3
			wr.text(x0+w-75, yy, 75, 4.3, s, "R", "", 8)
		}
		senderLine(x0, 44)
		y := custBlock(x0, 49, "")
		title(y + 8)
		return y + 18
	case hdrBand:
		wr.pdf.SetFillColor(40, 70, 140)
		wr.pdf.Rect(0, 0, wr.W, 26, "F")
		wr.pdf.SetTextColor(255, 255, 255)
		wr.text(x0, 8, w*0.6, 10, v.name, "L", "B", 16)
		wr.text(x0+w*0.6, 8, w*0.4, 10, strings.ToUpper(d.wl.invoice), "R", "", 20)
		wr.gray(0)
		yy := 30.0
		wr.text(x0, yy, w, 4, strings.Join(vendorDetails[:2], ", "), "L", "", 8)
		y := custBlock(x0, 40, d.lbl[lexicon.Customer])
		return y + 4
	case hdrNameless:
		logo(x0+w-70, 12, 70, "R")
		senderLine(x0, 40)
		y := custBlock(x0, 45, "")
		title(y + 8)
		return y + 18
	case hdrHeadings:
		half := w / 2
		y1 := custBlock(x0, 16, d.lbl[lexicon.Customer])
		wr.gray(110)
		wr.text(x0+half, 16, half, 4, d.lbl[lexicon.Vendor], "L", "B", 7.5)
		wr.gray(0)
		yy := 20.5
		wr.text(x0+half, yy, half, 5, v.name, "L", "B", 10)
		for _, s := range vendorDetails[:3] {
			yy += 4.5
			wr.text(x0+half, yy, half, 4.5, s, "L", "", 9)
		}
		y := max(y1, yy+5)
		title(y + 4)
		return y + 14
	default: // hdrLogoRightLeft
		logo(x0+w-80, 12, 80, "R")
		yy := 28.0
		wr.text(x0+w-80, yy, 80, 5, v.name, "R", "B", 9)
		for _, s := range vendorDetails[:2] {
			yy += 4.2
			wr.text(x0+w-80, yy, 80, 4.2, s, "R", "", 8)
		}
		y := custBlock(x0, 24, d.lbl[lexicon.Customer])
		title(max(y, yy) + 8)
		return max(y, yy) + 18
	}
}

// metaBlock prints the invoice number, issue and due dates.
func (wr *wideRenderer) metaBlock(y float64) float64 {
	d := wr.d
	x0, w := wr.body()
	m := d.meta()
	switch d.style.meta {
	case metaPairs:
		for _, p := range m {
			wr.text(x0+w-90, y, 50, 5, p[0]+":", "L", "", 9)
			wr.text(x0+w-40, y, 40, 5, p[1], "R", "B", 9)
			y += 5.5
		}
		return y
	case metaRow:
		cw := w / float64(len(m)+1)
		for i, p := range m {
			wr.gray(100)
			wr.text(x0+float64(i)*cw, y, cw-3, 4, p[0], "L", "", 8)
			wr.gray(0)
			wr.text(x0+float64(i)*cw, y+4.5, cw-3, 5, p[1], "L", "B", 9.5)
		}
		wr.gray(100)
		wr.text(x0+float64(len(m))*cw, y, cw-3, 4, d.lbl[lexicon.VATID], "L", "", 8)
		wr.gray(0)
		wr.text(x0+float64(len(m))*cw, y+4.5, cw-3, 5, d.vendor.vatPrinted, "L", "B", 9.5)
		return y + 11
	case metaTitle:
		wr.text(x0, y, w, 6, fmt.Sprintf("%s %s %s", d.wl.invoice, d.lbl[lexicon.InvoiceNumber], d.number), "L", "B", 11)
		y += 7
		wr.text(x0, y, w/2, 5, d.lbl[lexicon.IssueDate]+": "+d.date(d.issue), "L", "", 9)
		wr.text(x0+w/2, y, w/2, 5, d.lbl[lexicon.DueDate]+": "+d.date(d.due), "L", "", 9)
		return y + 6
	default: // boxes
		bw := 55.0
		for i, p := range m {
			yy := y + float64(i)*11
			wr.pdf.Rect(x0+w-bw, yy, bw, 10, "D")
			wr.gray(100)
			wr.text(x0+w-bw+2, yy+0.5, bw-4, 4, p[0], "L", "", 7.5)
			wr.gray(0)
			wr.text(x0+w-bw+2, yy+4.5, bw-4, 5, p[1], "L", "B", 9.5)
		}
		return y + float64(len(m))*11
	}
}

// table prints the line items with the style's columns; a long label of a
// money column is printed over two lines (a two-line header).
func (wr *wideRenderer) table(y float64) float64 {
	d := wr.d
	x0, w := wr.body()
	cols := d.style.cols
	width := map[lexicon.Concept]float64{lexicon.ColPosition: 10, lexicon.ColArticle: 22, lexicon.ColQuantity: 16, lexicon.ColUnit: 14,
		lexicon.ColUnitPrice: 26, lexicon.ColVATRate: 14, lexicon.ColDiscount: 14, lexicon.ColAmount: 28}
	fixed := 0.0
	for _, c := range cols {
		fixed += width[c]
	}
	width[lexicon.ColDescription] = w - fixed
	size := 8.5
	if d.style.narrow {
		size = 7.5
	}
	head := func(y float64) float64 {
		x := x0
		two := false
		for _, c := range cols {
			align := "R"
			if c == lexicon.ColDescription || c == lexicon.ColArticle {
				align = "L"
			}
			l := d.lbl[c]
			if f := strings.Fields(l); len(f) == 2 && (c == lexicon.ColUnitPrice || c == lexicon.ColAmount) && wr.width(l) > width[c]-2 {
				wr.text(x, y, width[c], 4, f[0], align, "B", size)
				wr.text(x, y+4, width[c], 4, f[1], align, "B", size)
				two = true
			} else {
				wr.text(x, y, width[c], 4, l, align, "B", size)
			}
			x += width[c]
		}
		h := 4.5
		if two {
			h = 8.5
		}
		wr.pdf.SetDrawColor(wr.d.ruleGray, wr.d.ruleGray, wr.d.ruleGray)
		wr.pdf.Line(x0, y+h, x0+w, y+h)
		wr.pdf.SetDrawColor(0, 0, 0)
		return y + h + 1.5
	}
	y = head(y)
	cont := func() float64 {
		wr.text(x0, 14, w, 5, d.vendor.name+" — "+d.wl.invoice+" "+d.number, "L", "", 8)
		return head(24)
	}
	return wr.itemRows(y, 5.5, wr.H-32, cont, func(n int, it item, y float64) float64 {
		x := x0
		for _, c := range cols {
			s, align := "", "R"
			switch c {
			case lexicon.ColPosition:
				s = fmt.Sprint(n + 1)
			case lexicon.ColArticle:
				s, align = fmt.Sprintf("A-%04d", 100+(n*37+int(it.unit))%9000), "L"
			case lexicon.ColDescription:
				s, align = it.desc, "L"
			case lexicon.ColQuantity:
				s = d.qty(it.qty)
			case lexicon.ColUnit:
				s = pick(rand.New(rand.NewPCG(uint64(it.unit), 3)), []string{"pcs", "Stk", "h", "u."})
			case lexicon.ColUnitPrice:
				s = d.amount(it.unit)
			case lexicon.ColVATRate:
				s = d.wl.num.percent(d.rate, d.wl.code != "en")
			case lexicon.ColDiscount:
				s = d.wl.num.percent(0, false)
			case lexicon.ColAmount:
				s = d.amount(it.amount)
			}
			wr.text(x, y, width[c], 5, s, align, "", size)
			x += width[c]
		}
		return y + 5.5
	})
}

// totals prints net, tax and total in the style's way.
func (wr *wideRenderer) totals(y float64) float64 {
	d := wr.d
	x0, w := wr.body()
	net, tax, total := d.printed(d.net), d.printed(d.tax), d.printed(d.total)
	switch d.style.totals {
	case totTable:
		cw := 36.0
		x := x0 + w - 3*cw
		for i, p := range [][2]string{{d.lbl[lexicon.Net], net}, {d.taxLabel(), tax}, {d.lbl[lexicon.Total], total}} {
			wr.gray(90)
			wr.text(x+float64(i)*cw, y, cw-2, 4.5, p[0], "R", "", 8)
			wr.gray(0)
			wr.text(x+float64(i)*cw, y+5, cw-2, 5, p[1], "R", "B", 9.5)
		}
		return y + 11
	case totGross:
		wr.text(x0+w-110, y, 70, 6, d.lbl[lexicon.Total], "R", "B", 10.5)
		wr.text(x0+w-40, y, 40, 6, total, "R", "B", 10.5)
		y += 7
		wr.text(x0+w-110, y, 70, 5, d.lbl[lexicon.Net], "R", "", 9)
		wr.text(x0+w-40, y, 40, 5, net, "R", "", 9)
		y += 5.5
		wr.text(x0+w-110, y, 70, 5, d.taxLabel(), "R", "", 9)
		wr.text(x0+w-40, y, 40, 5, tax, "R", "", 9)
		return y + 6
	default:
		for i, p := range [][2]string{{d.lbl[lexicon.Net], net}, {d.taxLabel(), tax}, {d.lbl[lexicon.Total], total}} {
			style, size := "", 9.0
			if i == 2 {
				style, size = "B", 10.5
				wr.pdf.Line(x0+w-90, y, x0+w, y)
				y += 1
			}
			wr.text(x0+w-110, y, 70, 5.5, p[0], "R", style, size)
			wr.text(x0+w-40, y, 40, 5.5, p[1], "R", style, size)
			y += 6
		}
		return y
	}
}

// wideInvoice renders wide document i.
func wideInvoice(opts Options, i int) ([]byte, Row, error) {
	d := newWideDoc(opts.Seed, i)
	b, pages, err := renderWide(d)
	if err != nil {
		return nil, Row{}, err
	}
	return b, d.row(pages), nil
}
