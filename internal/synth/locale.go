package synth

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// lang is the language an invoice is printed in.
type lang int

const (
	langEN lang = iota
	langDE
	langFR
)

var langCodes = [...]string{"en", "de", "fr"}

func (l lang) String() string { return langCodes[l] }

// labels are the printed words of one language. Fields with several
// variants are picked per document.
type labels struct {
	Invoice       string
	InvoiceNo     []string
	Date          []string
	DueDate       []string
	CustomerNo    string
	BillTo        string
	From          string
	Pos           string
	Description   string
	Qty           string
	UnitPrice     string
	Amount        string
	Net           []string
	VAT           string
	Total         []string
	VATID         string
	Payment       string
	Bank          string
	Page          string
	Continued     string
	Terms         string // %d days
	DueOnReceipt  string
	ReverseCharge string
	Export        string
	Paid          string
	Thanks        string
	Phone         string
}

var labelsByLang = [3]labels{
	langEN: {
		Invoice:       "Invoice",
		InvoiceNo:     []string{"Invoice number", "Invoice No.", "Invoice #"},
		Date:          []string{"Date", "Invoice date", "Issue date"},
		DueDate:       []string{"Due date", "Payment due", "Due"},
		CustomerNo:    "Customer no.",
		BillTo:        "Bill to",
		From:          "From",
		Pos:           "#",
		Description:   "Description",
		Qty:           "Qty",
		UnitPrice:     "Unit price",
		Amount:        "Amount",
		Net:           []string{"Subtotal", "Net amount", "Total excl. VAT"},
		VAT:           "VAT",
		Total:         []string{"Total", "Total due", "Amount due"},
		VATID:         "VAT No.",
		Payment:       "Payment details",
		Bank:          "Bank",
		Page:          "Page",
		Continued:     "continued",
		Terms:         "Please pay within %d days of the invoice date.",
		DueOnReceipt:  "Payable on receipt.",
		ReverseCharge: "Reverse charge: VAT to be accounted for by the recipient.",
		Export:        "Export of services, not subject to VAT.",
		Paid:          "PAID",
		Thanks:        "Thank you for your business.",
		Phone:         "Tel.",
	},
	langDE: {
		Invoice:       "Rechnung",
		InvoiceNo:     []string{"Rechnungsnummer", "Rechnungs-Nr.", "Rechnungsnr."},
		Date:          []string{"Datum", "Rechnungsdatum"},
		DueDate:       []string{"Fällig am", "Zahlbar bis", "Fälligkeit"},
		CustomerNo:    "Kundennummer",
		BillTo:        "Rechnungsempfänger",
		From:          "Absender",
		Pos:           "Pos.",
		Description:   "Bezeichnung",
		Qty:           "Menge",
		UnitPrice:     "Einzelpreis",
		Amount:        "Betrag",
		Net:           []string{"Nettobetrag", "Summe netto", "Zwischensumme"},
		VAT:           "USt.",
		Total:         []string{"Gesamtbetrag", "Rechnungsbetrag", "Gesamt brutto"},
		VATID:         "USt-IdNr.",
		Payment:       "Bankverbindung",
		Bank:          "Bank",
		Page:          "Seite",
		Continued:     "Fortsetzung",
		Terms:         "Zahlbar innerhalb von %d Tagen ohne Abzug.",
		DueOnReceipt:  "Zahlbar sofort nach Erhalt.",
		ReverseCharge: "Steuerschuldnerschaft des Leistungsempfängers (Reverse Charge).",
		Export:        "Nicht steuerbare Leistung (Drittland).",
		Paid:          "BEZAHLT",
		Thanks:        "Vielen Dank für Ihren Auftrag!",
		Phone:         "Tel.",
	},
	langFR: {
		Invoice:       "Facture",
		InvoiceNo:     []string{"Numéro de facture", "Facture n°", "N° de facture"},
		Date:          []string{"Date", "Date de facture", "Date d'émission"},
		DueDate:       []string{"Échéance", "Date d'échéance", "À payer avant le"},
		CustomerNo:    "N° client",
		BillTo:        "Facturé à",
		From:          "Émetteur",
		Pos:           "N°",
		Description:   "Désignation",
		Qty:           "Qté",
		UnitPrice:     "Prix unitaire",
		Amount:        "Montant HT",
		Net:           []string{"Total HT", "Montant HT", "Sous-total HT"},
		VAT:           "TVA",
		Total:         []string{"Total TTC", "Net à payer", "Montant TTC"},
		VATID:         "N° TVA",
		Payment:       "Coordonnées bancaires",
		Bank:          "Banque",
		Page:          "Page",
		Continued:     "suite",
		Terms:         "Paiement à %d jours date de facture.",
		DueOnReceipt:  "Paiement à réception de facture.",
		ReverseCharge: "Autoliquidation de la TVA par le preneur.",
		Export:        "TVA non applicable, prestation hors UE.",
		Paid:          "PAYÉ",
		Thanks:        "Merci de votre confiance.",
		Phone:         "Tél.",
	},
}

var monthNames = [3][12]string{
	langEN: {"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
	langDE: {"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"},
	langFR: {"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"},
}

// dateStyle is one way of printing a date.
type dateStyle int

const (
	dateISO       dateStyle = iota // 2024-03-05
	dateSlashDMY                   // 05/03/2024 (en-GB, fr)
	dateDotDMY                     // 05.03.2024 (de)
	dateLongMDY                    // March 5, 2024 (en-US)
	dateLongDMY                    // 5 March 2024, 5 mars 2024
	dateLongDotDM                  // 5. März 2024 (de)
)

// dateStyles lists the styles each language uses, most common first.
var dateStyles = [3][]dateStyle{
	langEN: {dateLongMDY, dateSlashDMY, dateISO, dateLongDMY},
	langDE: {dateDotDMY, dateDotDMY, dateLongDotDM},
	langFR: {dateSlashDMY, dateSlashDMY, dateLongDMY},
}

func formatDate(t time.Time, s dateStyle, l lang) string {
	y, m, d := t.Date()
	month := monthNames[l][m-1]
	switch s {
	case dateSlashDMY:
		return fmt.Sprintf("%02d/%02d/%04d", d, m, y)
	case dateDotDMY:
		return fmt.Sprintf("%02d.%02d.%04d", d, m, y)
	case dateLongMDY:
		return fmt.Sprintf("%s %d, %d", month, d, y)
	case dateLongDMY:
		return fmt.Sprintf("%d %s %d", d, month, y)
	case dateLongDotDM:
		return fmt.Sprintf("%d. %s %d", d, month, y)
	default:
		return t.Format(time.DateOnly)
	}
}

// numFmt prints decimal numbers with a thousands and a decimal separator.
type numFmt struct {
	thou, dec string
}

var (
	numEN = numFmt{",", "."}
	numDE = numFmt{".", ","}
	numFR = numFmt{" ", ","}
	numCH = numFmt{"'", "."}
)

func (f numFmt) group(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(f.thou)
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// cents prints an amount in cents with two decimals.
func (f numFmt) cents(c int64) string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s%s%s%02d", sign, f.group(c/100), f.dec, c%100)
}

// hundredths prints a quantity in hundredths with trailing zeros removed.
func (f numFmt) hundredths(q int64) string {
	s := f.group(q / 100)
	if frac := q % 100; frac != 0 {
		fs := strings.TrimRight(fmt.Sprintf("%02d", frac), "0")
		s += f.dec + fs
	}
	return s
}

// percent prints a rate in tenths of a percent ("19 %", "5,5 %", "20%").
func (f numFmt) percent(tenths int64, space bool) string {
	s := strconv.FormatInt(tenths/10, 10)
	if tenths%10 != 0 {
		s += f.dec + strconv.FormatInt(tenths%10, 10)
	}
	if space {
		return s + " %"
	}
	return s + "%"
}

// moneyFmt prints an amount with its currency.
type moneyFmt struct {
	num            numFmt
	prefix, suffix string
}

func (m moneyFmt) format(c int64) string { return m.prefix + m.num.cents(c) + m.suffix }

// currencySymbol is the sign printed for cur, or cur itself.
func currencySymbol(cur string) string {
	switch cur {
	case "EUR":
		return "€"
	case "GBP":
		return "£"
	case "USD":
		return "$"
	}
	return cur
}

// moneyFmts lists the ways an invoice in language l may print currency cur.
func moneyFmts(l lang, cur string) []moneyFmt {
	sym := currencySymbol(cur)
	switch l {
	case langEN:
		if cur == "CHF" {
			return []moneyFmt{{numEN, "CHF ", ""}, {numEN, "", " CHF"}}
		}
		return []moneyFmt{{numEN, sym, ""}, {numEN, sym, ""}, {numEN, "", " " + cur}, {numEN, cur + " ", ""}}
	case langDE:
		if cur == "CHF" {
			return []moneyFmt{{numCH, "CHF ", ""}}
		}
		return []moneyFmt{{numDE, "", " " + sym}, {numDE, sym + " ", ""}, {numDE, "", " " + cur}}
	default:
		if cur == "CHF" {
			return []moneyFmt{{numFR, "", " CHF"}}
		}
		return []moneyFmt{{numFR, "", " " + sym}, {numFR, "", " " + cur}}
	}
}
