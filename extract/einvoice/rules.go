package einvoice

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	sd "github.com/speedata/einvoice"
)

// RulesVersion names the rule checker: speedata/einvoice's EN 16931
// rules, gated by profile as below.
const RulesVersion = "speedata/einvoice@v0.0.21"

// minimumTerms are the business terms a Factur-X / ZUGFeRD 2 MINIMUM
// invoice carries. MINIMUM is not an EN 16931 profile: a rule applies to
// it only when every term the rule is about is one of these (so BR-CO-16,
// which involves the paid and rounding amounts BT-113 and BT-114, does
// not, and neither does BR-16, "at least one invoice line").
var minimumTerms = map[string]bool{
	"BT-1": true, "BT-2": true, "BT-3": true, "BT-5": true, "BT-10": true, "BT-13": true,
	"BT-23": true, "BT-24": true, "BT-27": true, "BT-30": true, "BT-31": true, "BT-40": true,
	"BT-44": true, "BT-47": true, "BT-109": true, "BT-110": true, "BT-112": true, "BT-115": true,
	"BG-2": true, "BG-4": true, "BG-5": true, "BG-7": true, "BG-22": true,
}

// lineLevel reports whether a term belongs to the invoice lines (BG-25 to
// BG-31, BT-126 to BT-161), which a BASIC WL invoice does not carry.
func lineLevel(id string) bool {
	n, err := strconv.Atoi(strings.TrimLeft(id[min(3, len(id)):], "0"))
	if err != nil {
		return false
	}
	if strings.HasPrefix(id, "BG-") {
		return n >= 25 && n <= 31
	}
	return strings.HasPrefix(id, "BT-") && n >= 126 && n <= 161
}

// applies reports whether a rule about the given terms applies to an
// invoice of profile p. Every EN 16931 rule applies to the EN 16931
// profiles (BASIC and above); to BASIC WL, those that involve no line
// term; to MINIMUM, those about MINIMUM's terms only. A rule that names
// no terms applies only to the EN 16931 profiles.
func applies(p Profile, ruleTerms []string) bool {
	if p.EN16931() {
		return true
	}
	if len(ruleTerms) == 0 {
		return false
	}
	for _, t := range ruleTerms {
		switch p {
		case ProfileBasicWL:
			if lineLevel(t) {
				return false
			}
		case ProfileMinimum:
			if !minimumTerms[t] {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// canonicalGuideline is the identifier speedata knows for each profile:
// it decides some checks by the identifier, and real files write
// variants ("urn:cen.eu:en16931:2017:compliant:factur-x.eu:1p0:basic").
var canonicalGuideline = map[Profile]string{
	ProfileMinimum:   sd.SpecFacturXMinimum,
	ProfileBasicWL:   sd.SpecFacturXBasicWL,
	ProfileBasic:     sd.SpecFacturXBasic,
	ProfileEN16931:   sd.SpecEN16931,
	ProfileExtended:  sd.SpecFacturXExtended,
	ProfileXRechnung: sd.SpecXRechnung30,
}

// checkRules runs speedata's EN 16931 checks on the XML (clean is the
// document with a declaration the standard decoder reads) and keeps the
// violations of rules that apply to the profile. ZUGFeRD 1.0 and invoices
// of unknown profile are not checked (speedata does not read the one, and
// the other names no rules), which a warning says.
func (inv *Invoice) checkRules(clean []byte) {
	switch {
	case inv.Syntax == ZUGFeRD1 || inv.Syntax == ZUGFeRDRC:
		inv.Warnings = append(inv.Warnings, "EN 16931 rules not checked: ZUGFeRD 1.0 predates EN 16931")
		return
	case inv.Profile == ProfileUnknown:
		inv.Warnings = append(inv.Warnings, "EN 16931 rules not checked: unknown profile")
		return
	}
	vs, err := speedataViolations(clean, inv.Profile)
	if err != nil {
		inv.Warnings = append(inv.Warnings, "EN 16931 rules not checked: "+err.Error())
		return
	}
	inv.RulesChecked = true
	for _, v := range vs {
		if applies(inv.Profile, v.Terms) {
			inv.Violations = append(inv.Violations, v)
		}
	}
}

// speedataViolations parses and validates with speedata/einvoice,
// recovering its panics (it was not written for hostile input).
func speedataViolations(clean []byte, p Profile) (vs []Violation, err error) {
	defer func() {
		if x := recover(); x != nil {
			vs, err = nil, fmt.Errorf("the rule checker failed: %v", x)
		}
	}()
	sinv, err := sd.ParseReader(bytes.NewReader(clean))
	if err != nil {
		return nil, fmt.Errorf("the rule checker could not read the XML: %v", err)
	}
	if g, ok := canonicalGuideline[p]; ok && !(p == ProfileXRechnung && sinv.IsXRechnung()) {
		sinv.GuidelineSpecifiedDocumentContextParameter = g
	}
	verr := sinv.Validate()
	var ve *sd.ValidationError
	if verr != nil && !errors.As(verr, &ve) {
		return nil, verr
	}
	if ve == nil {
		return nil, nil
	}
	seen := map[string]bool{}
	for _, v := range ve.Violations() {
		key := v.Rule.Code + "\x00" + v.Text
		if seen[key] {
			continue
		}
		seen[key] = true
		vs = append(vs, Violation{Rule: v.Rule.Code, Terms: slices.Clone(v.Rule.Fields), Text: v.Text})
	}
	return vs, nil
}
