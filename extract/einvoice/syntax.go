package einvoice

import (
	"fmt"
	"strings"
)

// Syntax is the XML syntax of an e-invoice.
type Syntax string

// Syntaxes this package reads.
const (
	// CII is UN/CEFACT Cross Industry Invoice D16B, the syntax of
	// Factur-X, ZUGFeRD 2 and CII XRechnung (rsm:CrossIndustryInvoice).
	CII Syntax = "CII"
	// UBLInvoice and UBLCreditNote are OASIS UBL 2.1 (Peppol, UBL
	// XRechnung).
	UBLInvoice    Syntax = "UBL Invoice"
	UBLCreditNote Syntax = "UBL CreditNote"
	// ZUGFeRD1 is ZUGFeRD 1.0's CII dialect (rsm:CrossIndustryDocument,
	// urn:ferd:CrossIndustryDocument:invoice:1p0), which speedata/einvoice
	// does not read: this package maps it itself.
	ZUGFeRD1 Syntax = "ZUGFeRD 1.0"
	// ZUGFeRDRC is the release candidate before ZUGFeRD 1.0 (rsm:Invoice
	// in urn:un:unece:uncefact:data:standard:CBFBUY:5, elements without a
	// namespace), which early Mustang samples carry. It has ZUGFeRD 1.0's
	// structure.
	ZUGFeRDRC Syntax = "ZUGFeRD RC"
)

// Root element namespaces.
const (
	nsCII           = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
	nsUBLInvoice    = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
	nsUBLCreditNote = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
	nsZUGFeRD1      = "urn:ferd:CrossIndustryDocument:invoice:1p0"
	nsZUGFeRDRC     = "urn:un:unece:uncefact:data:standard:CBFBUY:5"
)

// detectSyntax tells the syntax from the root element's name and
// namespace. A known root element in another namespace is read with a
// warning (a generator that got the namespace wrong); anything else is
// ErrUnknownSyntax.
func detectSyntax(root *node) (Syntax, []string, error) {
	want := map[string]struct {
		ns string
		s  Syntax
	}{
		"CrossIndustryInvoice":  {nsCII, CII},
		"CrossIndustryDocument": {nsZUGFeRD1, ZUGFeRD1},
		"CreditNote":            {nsUBLCreditNote, UBLCreditNote},
	}
	if root.local == "Invoice" {
		switch root.space {
		case nsUBLInvoice:
			return UBLInvoice, nil, nil
		case nsZUGFeRDRC:
			return ZUGFeRDRC, nil, nil
		}
		return "", nil, fmt.Errorf("%w: root element <Invoice> in namespace %q (neither UBL 2.1 nor ZUGFeRD)", ErrUnknownSyntax, root.space)
	}
	w, ok := want[root.local]
	if !ok {
		return "", nil, fmt.Errorf("%w: root element <%s> in namespace %q", ErrUnknownSyntax, root.local, root.space)
	}
	if root.space != w.ns {
		return w.s, []string{fmt.Sprintf("root element <%s> has namespace %q, not %q; read as %s", root.local, root.space, w.ns, w.s)}, nil
	}
	return w.s, nil, nil
}

// Profile is the profile (conformance level) of an e-invoice, from its
// specification identifier (BT-24).
type Profile string

// Profiles. The first six are those of Factur-X / ZUGFeRD 2 and their
// CIUS; the ZUGFeRD 1.0 profiles are not EN 16931 profiles at all.
const (
	ProfileUnknown  Profile = ""
	ProfileMinimum  Profile = "MINIMUM"
	ProfileBasicWL  Profile = "BASIC WL"
	ProfileBasic    Profile = "BASIC"
	ProfileEN16931  Profile = "EN 16931"
	ProfileExtended Profile = "EXTENDED"
	// ProfileXRechnung is the German CIUS of EN 16931 (CII or UBL).
	ProfileXRechnung Profile = "XRechnung"
	// ProfilePeppol is Peppol BIS Billing 3.0, a CIUS of EN 16931.
	ProfilePeppol Profile = "Peppol BIS 3.0"

	ProfileZUGFeRD1Basic    Profile = "ZUGFeRD 1.0 BASIC"
	ProfileZUGFeRD1Comfort  Profile = "ZUGFeRD 1.0 COMFORT"
	ProfileZUGFeRD1Extended Profile = "ZUGFeRD 1.0 EXTENDED"
)

// EN16931 reports whether every invoice of the profile is an EN 16931
// invoice (BASIC and above, and the CIUS), so that all of the standard's
// business rules apply.
func (p Profile) EN16931() bool {
	switch p {
	case ProfileBasic, ProfileEN16931, ProfileExtended, ProfileXRechnung, ProfilePeppol:
		return true
	}
	return false
}

// profileOf reads the profile from the specification identifier. It
// returns a warning when the identifier names no profile it knows.
func profileOf(s Syntax, guideline string) (Profile, string) {
	g := strings.ToLower(strings.TrimSpace(guideline))
	if g == "" {
		return ProfileUnknown, "the e-invoice has no specification identifier (BT-24), so its profile is unknown"
	}
	unknown := fmt.Sprintf("the specification identifier %q names no profile this reader knows", guideline)
	if s == ZUGFeRD1 || s == ZUGFeRDRC {
		if strings.Contains(g, ":order:") {
			return ProfileUnknown, fmt.Sprintf("the specification identifier %q names an order, not an invoice; read as an invoice", guideline)
		}
		switch g[strings.LastIndexAny(g, ":#")+1:] {
		case "basic":
			return ProfileZUGFeRD1Basic, ""
		case "comfort":
			return ProfileZUGFeRD1Comfort, ""
		case "extended":
			return ProfileZUGFeRD1Extended, ""
		}
		return ProfileUnknown, unknown
	}
	switch {
	case strings.Contains(g, "xrechnung"):
		return ProfileXRechnung, ""
	case strings.Contains(g, "peppol.eu:2017:poacc:billing"):
		return ProfilePeppol, ""
	case strings.HasSuffix(g, ":minimum"):
		return ProfileMinimum, ""
	case strings.HasSuffix(g, ":basicwl"):
		return ProfileBasicWL, ""
	case strings.HasSuffix(g, ":extended"):
		return ProfileExtended, ""
	case strings.HasSuffix(g, ":basic"):
		return ProfileBasic, ""
	case g == "urn:cen.eu:en16931:2017" || strings.HasPrefix(g, "urn:cen.eu:en16931:2017#compliant#"):
		return ProfileEN16931, ""
	}
	return ProfileUnknown, unknown
}
