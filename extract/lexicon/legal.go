package lexicon

import (
	"regexp"
	"strings"
	"unicode"
)

// LegalForm finds a company's legal form in a name (GmbH, GmbH & Co. KG,
// SARL, S.A., Ltd, Inc., B.V., ...), with the separators around it; the
// rules extractor weighs names by it, and comparisons of names ignore it.
var LegalForm = regexp.MustCompile(`(?i)(?:^|[\s,.(])(?:gmbh(?:\s*&\s*co\.?\s*kg)?|ges\.?m\.?b\.?h\.?|ag|kg|og|e\.\s?u\.|ohg|e\.\s?k\.?|e\.\s?v\.|ug|gbr|mbh|kgaa|se|sarl|s\.a\.r\.l\.|sas|sasu|sa|eurl|snc|sci|scop|ltd\.?|limited|llp|plc|inc\.?|llc|corp\.?|corporation|co\.|company|bv|b\.v\.|nv|n\.v\.|s\.a\.|s\.r\.l\.|srl|spa|s\.p\.a\.|s\.l\.|sl|oy|ab|as|a/s|aps|pty|pvt\.?|private\s+limited|partnerschaft|group|holding)(?:$|[\s,.)])`)

// NameKey is a company name as names are compared: without its legal
// form, folded, letters and digits only ("Au bon moulin SARL" and "AU BON
// MOULIN" have the same key).
func NameKey(s string) string {
	s = LegalForm.ReplaceAllString(" "+s+" ", " ")
	var b strings.Builder
	for _, r := range Fold(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}
