package einvoice

import (
	"slices"
	"strings"
)

// kind says how a term's value is normalized.
type kind int

const (
	kindText    kind = iota // whitespace collapsed (names, notes)
	kindID                  // trimmed, kept as written (invoice numbers, references)
	kindCode                // trimmed, upper case (currency, country, type codes)
	kindDate                // YYYY-MM-DD
	kindAmount              // money: dot decimal, at least two decimals
	kindDecimal             // quantities and rates: no trailing zeros
	kindIBAN                // upper case, no whitespace
	kindVATID               // upper case, no whitespace
)

// currencyOf names the term whose currency an amount must be in when the
// XML carries the amount in more than one currency (BT-110 and BT-111
// share an element).
type currencyOf string

// Term is an EN 16931 business term this package can read.
type Term struct {
	// ID is the term's identifier: "BT-1" (BG-25 for the invoice lines).
	ID string
	// Name is the term's name in EN 16931-1.
	Name string
	// Line: the term is a field of an invoice line (BG-25), read per
	// line.
	Line bool

	kind kind
	cur  currencyOf
	// cii and ubl are alternative paths, tried in order; the first that
	// gives a value wins. CII paths are D16B names (ZUGFeRD 1.0 paths are
	// derived by zf1Names); UBL paths are those of an Invoice (a
	// CreditNote's are derived by creditNoteNames). Line terms' paths are
	// relative to the line.
	cii, ubl []path
	zf1      []path
	ublCN    []path
	// leniency, when set, is a CII (and ZUGFeRD 1.0) alternative that
	// reads an invalid but common form, and the warning it gives.
	leniency struct {
		index int
		warn  string
	}
}

func lenient(t *Term, index int, warn string) *Term {
	t.leniency.index, t.leniency.warn = index, warn
	return t
}

// The CII paths of the header's parts.
const (
	ciiCtx  = "ExchangedDocumentContext/"
	ciiDoc  = "ExchangedDocument/"
	ciiAgr  = "SupplyChainTradeTransaction/ApplicableHeaderTradeAgreement/"
	ciiDlv  = "SupplyChainTradeTransaction/ApplicableHeaderTradeDelivery/"
	ciiStl  = "SupplyChainTradeTransaction/ApplicableHeaderTradeSettlement/"
	ciiSum  = ciiStl + "SpecifiedTradeSettlementHeaderMonetarySummation/"
	ciiPM   = ciiStl + "SpecifiedTradeSettlementPaymentMeans/"
	ciiSell = ciiAgr + "SellerTradeParty/"
	ciiBuy  = ciiAgr + "BuyerTradeParty/"
	ublSup  = "AccountingSupplierParty/Party/"
	ublCus  = "AccountingCustomerParty/Party/"

	ciiLines = "SupplyChainTradeTransaction/IncludedSupplyChainTradeLineItem"
	ublLines = "InvoiceLine"
)

// zf1Names maps D16B element names to ZUGFeRD 1.0's (and its release
// candidate's), which differ in the header parts and line parts only.
var zf1Names = map[string]string{
	"ExchangedDocumentContext":                        "SpecifiedExchangedDocumentContext",
	"ExchangedDocument":                               "HeaderExchangedDocument",
	"SupplyChainTradeTransaction":                     "SpecifiedSupplyChainTradeTransaction",
	"ApplicableHeaderTradeAgreement":                  "ApplicableSupplyChainTradeAgreement",
	"ApplicableHeaderTradeDelivery":                   "ApplicableSupplyChainTradeDelivery",
	"ApplicableHeaderTradeSettlement":                 "ApplicableSupplyChainTradeSettlement",
	"SpecifiedTradeSettlementHeaderMonetarySummation": "SpecifiedTradeSettlementMonetarySummation",
	"SpecifiedLineTradeAgreement":                     "SpecifiedSupplyChainTradeAgreement",
	"SpecifiedLineTradeDelivery":                      "SpecifiedSupplyChainTradeDelivery",
	"SpecifiedLineTradeSettlement":                    "SpecifiedSupplyChainTradeSettlement",
	"SpecifiedTradeSettlementLineMonetarySummation":   "SpecifiedTradeSettlementMonetarySummation",
	"RateApplicablePercent":                           "ApplicablePercent",
}

// creditNoteNames maps a UBL Invoice's element names to a CreditNote's.
var creditNoteNames = map[string]string{
	"InvoiceLine":      "CreditNoteLine",
	"InvoicedQuantity": "CreditedQuantity",
	"InvoiceTypeCode":  "CreditNoteTypeCode",
}

func renamed(ps []path, names map[string]string) []path {
	out := make([]path, len(ps))
	for i, p := range ps {
		q := path{attr: p.attr, steps: slices.Clone(p.steps)}
		for j, st := range q.steps {
			if n, ok := names[st.local]; ok {
				q.steps[j].local = n
			}
		}
		out[i] = q
	}
	return out
}

// term builds a table entry; cii and ubl are "|"-separated alternatives.
func term(id, name string, k kind, cii, ubl string) *Term {
	t := &Term{ID: id, Name: name, kind: k}
	for _, s := range strings.Split(cii, "|") {
		t.cii = append(t.cii, mustPath(s))
	}
	for _, s := range strings.Split(ubl, "|") {
		t.ubl = append(t.ubl, mustPath(s))
	}
	t.zf1 = renamed(t.cii, zf1Names)
	t.ublCN = renamed(t.ubl, creditNoteNames)
	return t
}

func lineTerm(id, name string, k kind, cii, ubl string) *Term {
	t := term(id, name, k, cii, ubl)
	t.Line = true
	return t
}

// Lines is the term of the invoice lines as a whole: a schema's array
// field maps to it, and its items to line terms.
const Lines = "BG-25"

// terms is the table of business terms this package reads, with their
// paths in CII (D16B, as Factur-X 1.0 / ZUGFeRD 2.x / XRechnung CII use
// it) and UBL 2.1, following the EN 16931-3 syntax bindings. ZUGFeRD 1.0
// paths are derived from the CII ones. Terms with several values in an
// invoice (payment means, notes, tax totals) give their first non-empty
// value; an amount that the XML carries in two currencies gives the one in
// the currency its term names.
var terms = func() map[string]*Term {
	list := []*Term{
		term("BT-1", "Invoice number", kindID, ciiDoc+"ID", "ID"),
		term("BT-2", "Invoice issue date", kindDate, ciiDoc+"IssueDateTime", "IssueDate"),
		term("BT-3", "Invoice type code", kindCode, ciiDoc+"TypeCode", "InvoiceTypeCode"),
		term("BT-5", "Invoice currency code", kindCode, ciiStl+"InvoiceCurrencyCode", "DocumentCurrencyCode"),
		term("BT-6", "VAT accounting currency code", kindCode, ciiStl+"TaxCurrencyCode", "TaxCurrencyCode"),
		term("BT-7", "Value added tax point date", kindDate, ciiStl+"ApplicableTradeTax/TaxPointDate", "TaxPointDate"),
		term("BT-9", "Payment due date", kindDate, ciiStl+"SpecifiedTradePaymentTerms/DueDateDateTime", "DueDate|PaymentMeans/PaymentDueDate"),
		term("BT-10", "Buyer reference", kindID, ciiAgr+"BuyerReference", "BuyerReference"),
		term("BT-11", "Project reference", kindID, ciiAgr+"SpecifiedProcuringProject/ID", "ProjectReference/ID"),
		term("BT-12", "Contract reference", kindID, ciiAgr+"ContractReferencedDocument/IssuerAssignedID", "ContractDocumentReference/ID"),
		term("BT-13", "Purchase order reference", kindID, ciiAgr+"BuyerOrderReferencedDocument/IssuerAssignedID", "OrderReference/ID"),
		term("BT-14", "Sales order reference", kindID, ciiAgr+"SellerOrderReferencedDocument/IssuerAssignedID", "OrderReference/SalesOrderID"),
		term("BT-15", "Receiving advice reference", kindID, ciiDlv+"ReceivingAdviceReferencedDocument/IssuerAssignedID", "ReceiptDocumentReference/ID"),
		term("BT-16", "Despatch advice reference", kindID, ciiDlv+"DespatchAdviceReferencedDocument/IssuerAssignedID", "DespatchDocumentReference/ID"),
		term("BT-19", "Buyer accounting reference", kindID, ciiStl+"ReceivableSpecifiedTradeAccountingAccount/ID", "AccountingCost"),
		term("BT-20", "Payment terms", kindText, ciiStl+"SpecifiedTradePaymentTerms/Description", "PaymentTerms/Note"),
		term("BT-22", "Invoice note", kindText, ciiDoc+"IncludedNote/Content", "Note"),
		term("BT-23", "Business process type", kindID, ciiCtx+"BusinessProcessSpecifiedDocumentContextParameter/ID", "ProfileID"),
		term("BT-24", "Specification identifier", kindID, ciiCtx+"GuidelineSpecifiedDocumentContextParameter/ID", "CustomizationID"),
		term("BT-25", "Preceding Invoice reference", kindID, ciiStl+"InvoiceReferencedDocument/IssuerAssignedID", "BillingReference/InvoiceDocumentReference/ID"),
		term("BT-26", "Preceding Invoice issue date", kindDate, ciiStl+"InvoiceReferencedDocument/FormattedIssueDateTime", "BillingReference/InvoiceDocumentReference/IssueDate"),

		term("BT-27", "Seller name", kindText, ciiSell+"Name", ublSup+"PartyLegalEntity/RegistrationName|"+ublSup+"PartyName/Name"),
		term("BT-28", "Seller trading name", kindText, ciiSell+"SpecifiedLegalOrganization/TradingBusinessName", ublSup+"PartyName/Name"),
		term("BT-29", "Seller identifier", kindID, ciiSell+"ID|"+ciiSell+"GlobalID", ublSup+"PartyIdentification/ID"),
		term("BT-30", "Seller legal registration identifier", kindID, ciiSell+"SpecifiedLegalOrganization/ID", ublSup+"PartyLegalEntity/CompanyID"),
		lenient(term("BT-31", "Seller VAT identifier", kindVATID, ciiSell+"SpecifiedTaxRegistration/ID[@schemeID='VA']|"+ciiSell+"SpecifiedTaxRegistration/ID[@schemeID='VAT']", ublSup+"PartyTaxScheme[TaxScheme/ID='VAT']/CompanyID"),
			1, `the seller's VAT identifier has schemeID "VAT", not "VA"; read as the VAT identifier`),
		term("BT-32", "Seller tax registration identifier", kindID, ciiSell+"SpecifiedTaxRegistration/ID[@schemeID='FC']", ublSup+"PartyTaxScheme[TaxScheme/ID!='VAT']/CompanyID"),
		term("BT-34", "Seller electronic address", kindID, ciiSell+"URIUniversalCommunication/URIID", ublSup+"EndpointID"),
		term("BT-35", "Seller address line 1", kindText, ciiSell+"PostalTradeAddress/LineOne", ublSup+"PostalAddress/StreetName"),
		term("BT-37", "Seller city", kindText, ciiSell+"PostalTradeAddress/CityName", ublSup+"PostalAddress/CityName"),
		term("BT-38", "Seller post code", kindID, ciiSell+"PostalTradeAddress/PostcodeCode", ublSup+"PostalAddress/PostalZone"),
		term("BT-40", "Seller country code", kindCode, ciiSell+"PostalTradeAddress/CountryID", ublSup+"PostalAddress/Country/IdentificationCode"),
		term("BT-41", "Seller contact point", kindText, ciiSell+"DefinedTradeContact/PersonName|"+ciiSell+"DefinedTradeContact/DepartmentName", ublSup+"Contact/Name"),
		term("BT-42", "Seller contact telephone number", kindID, ciiSell+"DefinedTradeContact/TelephoneUniversalCommunication/CompleteNumber", ublSup+"Contact/Telephone"),
		term("BT-43", "Seller contact email address", kindID, ciiSell+"DefinedTradeContact/EmailURIUniversalCommunication/URIID", ublSup+"Contact/ElectronicMail"),

		term("BT-44", "Buyer name", kindText, ciiBuy+"Name", ublCus+"PartyLegalEntity/RegistrationName|"+ublCus+"PartyName/Name"),
		term("BT-45", "Buyer trading name", kindText, ciiBuy+"SpecifiedLegalOrganization/TradingBusinessName", ublCus+"PartyName/Name"),
		term("BT-46", "Buyer identifier", kindID, ciiBuy+"ID|"+ciiBuy+"GlobalID", ublCus+"PartyIdentification/ID"),
		term("BT-47", "Buyer legal registration identifier", kindID, ciiBuy+"SpecifiedLegalOrganization/ID", ublCus+"PartyLegalEntity/CompanyID"),
		lenient(term("BT-48", "Buyer VAT identifier", kindVATID, ciiBuy+"SpecifiedTaxRegistration/ID[@schemeID='VA']|"+ciiBuy+"SpecifiedTaxRegistration/ID[@schemeID='VAT']", ublCus+"PartyTaxScheme[TaxScheme/ID='VAT']/CompanyID"),
			1, `the buyer's VAT identifier has schemeID "VAT", not "VA"; read as the VAT identifier`),
		term("BT-49", "Buyer electronic address", kindID, ciiBuy+"URIUniversalCommunication/URIID", ublCus+"EndpointID"),
		term("BT-50", "Buyer address line 1", kindText, ciiBuy+"PostalTradeAddress/LineOne", ublCus+"PostalAddress/StreetName"),
		term("BT-52", "Buyer city", kindText, ciiBuy+"PostalTradeAddress/CityName", ublCus+"PostalAddress/CityName"),
		term("BT-53", "Buyer post code", kindID, ciiBuy+"PostalTradeAddress/PostcodeCode", ublCus+"PostalAddress/PostalZone"),
		term("BT-55", "Buyer country code", kindCode, ciiBuy+"PostalTradeAddress/CountryID", ublCus+"PostalAddress/Country/IdentificationCode"),

		term("BT-59", "Payee name", kindText, ciiStl+"PayeeTradeParty/Name", "PayeeParty/PartyName/Name"),
		term("BT-70", "Deliver to party name", kindText, ciiDlv+"ShipToTradeParty/Name", "Delivery/DeliveryParty/PartyName/Name"),
		term("BT-72", "Actual delivery date", kindDate, ciiDlv+"ActualDeliverySupplyChainEvent/OccurrenceDateTime", "Delivery/ActualDeliveryDate"),
		term("BT-73", "Invoicing period start date", kindDate, ciiStl+"BillingSpecifiedPeriod/StartDateTime", "InvoicePeriod/StartDate"),
		term("BT-74", "Invoicing period end date", kindDate, ciiStl+"BillingSpecifiedPeriod/EndDateTime", "InvoicePeriod/EndDate"),
		term("BT-81", "Payment means type code", kindCode, ciiPM+"TypeCode", "PaymentMeans/PaymentMeansCode"),
		term("BT-83", "Remittance information", kindID, ciiStl+"PaymentReference", "PaymentMeans/PaymentID"),
		term("BT-84", "Payment account identifier (IBAN)", kindIBAN, ciiPM+"PayeePartyCreditorFinancialAccount/IBANID", "PaymentMeans/PayeeFinancialAccount/ID"),
		term("BT-85", "Payment account name", kindText, ciiPM+"PayeePartyCreditorFinancialAccount/AccountName", "PaymentMeans/PayeeFinancialAccount/Name"),
		term("BT-86", "Payment service provider identifier (BIC)", kindCode, ciiPM+"PayeeSpecifiedCreditorFinancialInstitution/BICID", "PaymentMeans/PayeeFinancialAccount/FinancialInstitutionBranch/ID"),
		term("BT-89", "Mandate reference identifier", kindID, ciiStl+"SpecifiedTradePaymentTerms/DirectDebitMandateID", "PaymentMeans/PaymentMandate/ID"),
		term("BT-90", "Bank assigned creditor identifier", kindID, ciiStl+"CreditorReferenceID", ublSup+"PartyIdentification/ID[@schemeID='SEPA']"),

		term("BT-106", "Sum of Invoice line net amount", kindAmount, ciiSum+"LineTotalAmount", "LegalMonetaryTotal/LineExtensionAmount"),
		term("BT-107", "Sum of allowances on document level", kindAmount, ciiSum+"AllowanceTotalAmount", "LegalMonetaryTotal/AllowanceTotalAmount"),
		term("BT-108", "Sum of charges on document level", kindAmount, ciiSum+"ChargeTotalAmount", "LegalMonetaryTotal/ChargeTotalAmount"),
		term("BT-109", "Invoice total amount without VAT", kindAmount, ciiSum+"TaxBasisTotalAmount", "LegalMonetaryTotal/TaxExclusiveAmount"),
		withCurrency(term("BT-110", "Invoice total VAT amount", kindAmount, ciiSum+"TaxTotalAmount", "TaxTotal/TaxAmount"), "BT-5"),
		withCurrency(term("BT-111", "Invoice total VAT amount in accounting currency", kindAmount, ciiSum+"TaxTotalAmount", "TaxTotal/TaxAmount"), "BT-6"),
		term("BT-112", "Invoice total amount with VAT", kindAmount, ciiSum+"GrandTotalAmount", "LegalMonetaryTotal/TaxInclusiveAmount"),
		term("BT-113", "Paid amount", kindAmount, ciiSum+"TotalPrepaidAmount", "LegalMonetaryTotal/PrepaidAmount"),
		term("BT-114", "Rounding amount", kindAmount, ciiSum+"RoundingAmount", "LegalMonetaryTotal/PayableRoundingAmount"),
		term("BT-115", "Amount due for payment", kindAmount, ciiSum+"DuePayableAmount", "LegalMonetaryTotal/PayableAmount"),

		lineTerm("BT-126", "Invoice line identifier", kindID, "AssociatedDocumentLineDocument/LineID", "ID"),
		lineTerm("BT-127", "Invoice line note", kindText, "AssociatedDocumentLineDocument/IncludedNote/Content", "Note"),
		lineTerm("BT-129", "Invoiced quantity", kindDecimal, "SpecifiedLineTradeDelivery/BilledQuantity", "InvoicedQuantity"),
		lineTerm("BT-130", "Invoiced quantity unit of measure code", kindCode, "SpecifiedLineTradeDelivery/BilledQuantity/@unitCode", "InvoicedQuantity/@unitCode"),
		lineTerm("BT-131", "Invoice line net amount", kindAmount, "SpecifiedLineTradeSettlement/SpecifiedTradeSettlementLineMonetarySummation/LineTotalAmount", "LineExtensionAmount"),
		lineTerm("BT-132", "Referenced purchase order line reference", kindID, "SpecifiedLineTradeAgreement/BuyerOrderReferencedDocument/LineID", "OrderLineReference/LineID"),
		lineTerm("BT-133", "Invoice line Buyer accounting reference", kindID, "SpecifiedLineTradeSettlement/ReceivableSpecifiedTradeAccountingAccount/ID", "AccountingCost"),
		lineTerm("BT-146", "Item net price", kindAmount, "SpecifiedLineTradeAgreement/NetPriceProductTradePrice/ChargeAmount", "Price/PriceAmount"),
		lineTerm("BT-148", "Item gross price", kindAmount, "SpecifiedLineTradeAgreement/GrossPriceProductTradePrice/ChargeAmount", "Price/AllowanceCharge/BaseAmount"),
		lineTerm("BT-149", "Item price base quantity", kindDecimal, "SpecifiedLineTradeAgreement/NetPriceProductTradePrice/BasisQuantity", "Price/BaseQuantity"),
		lineTerm("BT-151", "Invoiced item VAT category code", kindCode, "SpecifiedLineTradeSettlement/ApplicableTradeTax/CategoryCode", "Item/ClassifiedTaxCategory/ID"),
		lineTerm("BT-152", "Invoiced item VAT rate", kindDecimal, "SpecifiedLineTradeSettlement/ApplicableTradeTax/RateApplicablePercent", "Item/ClassifiedTaxCategory/Percent"),
		lineTerm("BT-153", "Item name", kindText, "SpecifiedTradeProduct/Name", "Item/Name"),
		lineTerm("BT-154", "Item description", kindText, "SpecifiedTradeProduct/Description", "Item/Description"),
		lineTerm("BT-155", "Item Seller's identifier", kindID, "SpecifiedTradeProduct/SellerAssignedID", "Item/SellersItemIdentification/ID"),
		lineTerm("BT-156", "Item Buyer's identifier", kindID, "SpecifiedTradeProduct/BuyerAssignedID", "Item/BuyersItemIdentification/ID"),
		lineTerm("BT-157", "Item standard identifier", kindID, "SpecifiedTradeProduct/GlobalID", "Item/StandardItemIdentification/ID"),
		lineTerm("BT-159", "Item country of origin", kindCode, "SpecifiedTradeProduct/OriginTradeCountry/ID", "Item/OriginCountry/IdentificationCode"),
	}
	m := make(map[string]*Term, len(list))
	for _, t := range list {
		m[t.ID] = t
	}
	return m
}()

func withCurrency(t *Term, of currencyOf) *Term {
	t.cur = of
	return t
}

// The paths of the invoice lines.
var (
	linesCII   = []path{mustPath(ciiLines)}
	linesZF1   = renamed(linesCII, zf1Names)
	linesUBL   = []path{mustPath(ublLines)}
	linesUBLCN = renamed(linesUBL, creditNoteNames)
)

// LookupTerm returns the term with the given identifier ("BT-13", "bt13"
// and "BT-013" are the same term), and whether this package reads it.
// Lines (BG-25) is not a term: it names the lines.
func LookupTerm(id string) (*Term, bool) {
	t, ok := terms[CanonicalTerm(id)]
	return t, ok
}

// CanonicalTerm writes a business term identifier as EN 16931 does:
// "bt13", "BT 13" and "BT-013" become "BT-13", "bg25" becomes "BG-25".
// Anything else is returned unchanged.
func CanonicalTerm(id string) string {
	s := strings.ToUpper(strings.TrimSpace(id))
	if len(s) < 3 || (s[:2] != "BT" && s[:2] != "BG") {
		return id
	}
	num := strings.TrimLeft(s[2:], "- _")
	if num == "" {
		return id
	}
	for _, c := range num {
		if c < '0' || c > '9' {
			return id
		}
	}
	num = strings.TrimLeft(num, "0")
	if num == "" {
		return id
	}
	return s[:2] + "-" + num
}

// Terms lists the identifiers of the terms this package reads, in
// EN 16931 order.
func Terms() []string {
	ids := make([]string, 0, len(terms))
	for id := range terms {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int { return termNumber(a) - termNumber(b) })
	return ids
}

func termNumber(id string) int {
	n := 0
	for _, c := range id[3:] {
		n = n*10 + int(c-'0')
	}
	return n
}

// paths returns the term's paths in a syntax.
func (t *Term) paths(s Syntax) []path {
	switch s {
	case CII:
		return t.cii
	case ZUGFeRD1, ZUGFeRDRC:
		return t.zf1
	case UBLInvoice:
		return t.ubl
	case UBLCreditNote:
		return t.ublCN
	}
	return nil
}

func linePaths(s Syntax) []path {
	switch s {
	case CII:
		return linesCII
	case ZUGFeRD1, ZUGFeRDRC:
		return linesZF1
	case UBLInvoice:
		return linesUBL
	case UBLCreditNote:
		return linesUBLCN
	}
	return nil
}
