package evals

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/agnivade/levenshtein"
	"github.com/shopspring/decimal"
	"golang.org/x/text/unicode/norm"

	"github.com/extractor-dev/extractor/pipeline"
)

// Kind says how a labelled value is compared with an extracted one. Each
// field of the corpus schemas has exactly one kind (see KindOf); the
// extractor is responsible for normal forms, so comparisons tolerate only
// what a correct extraction may legitimately differ in.
type Kind string

// Comparison kinds.
const (
	// KindDecimal: exact decimals, sign as labelled ("29.99" == "29.990",
	// "-233.47" != "233.47"). Money amounts and quantities. The extracted
	// value must be a plain decimal: "1,810.80" or "€29.99" is invalid,
	// because normalizing is the extractor's job.
	KindDecimal Kind = "decimal"
	// KindDate: calendar dates in YYYY-MM-DD; an impossible date never
	// matches.
	KindDate Kind = "date"
	// KindID: VAT ids and IBANs. Only letters and digits count, case-folded:
	// these identifiers have no meaningful punctuation, and the page often
	// prints them grouped ("DE 232 446 240", "DE88 2008 0000 ...").
	KindID Kind = "id"
	// KindNumber: document numbers (invoice_number). Case-folded, all
	// whitespace removed, Unicode dashes read as "-", but punctuation is
	// significant: the corpus labels the number exactly as printed
	// ("#BLR_WFLD20151000982590", "VT/2022/0001"), and dropping separators
	// would make different numbers collide ("2022/1/10" and "2022/11/0")
	// and accept a number that cannot be matched against the payment
	// reference or the ERP. Whitespace is dropped because text layers
	// split and pad numbers arbitrarily.
	KindNumber Kind = "number"
	// KindName: names of organisations, persons and places (vendor_name,
	// customer_name, jurisdiction, each nda party). See NameSimilarity.
	KindName Kind = "name"
	// KindText: free text (line item descriptions): like KindName without
	// the legal-form rule.
	KindText Kind = "text"
	// KindCode: codes and enum values (currency): exact, case-insensitive.
	KindCode Kind = "code"
	// KindTerm: durations as labelled in contracts ("2 years"). See termKey.
	KindTerm Kind = "term"
	// KindNameSet: a list of names scored as a set with F1 (nda parties).
	// Equal compares one element as a KindName.
	KindNameSet Kind = "name_set"
	// KindLineItems: the invoice lines, aligned and scored per subfield
	// (ScoreRow); Equal is not defined for the list as a whole.
	KindLineItems Kind = "line_items"
)

// NameSimilarity and NameMaxEdits bound the fuzzy part of KindName and
// KindText comparisons. After normalization (see nameKey), two names are
// equal when their keys are identical, or when the Levenshtein distance d
// between them satisfies 1 - d/len >= NameSimilarity (len: the longer key,
// in runes) and d <= NameMaxEdits.
//
// 0.85 lets a 7-rune key differ by one edit (a glyph lost or misread by the
// text layer) and a 20-rune key by three; keys shorter than 7 runes must be
// identical, so "Free" never matches "Fre" and "OYO" never matches "OY0".
// The edit cap keeps long descriptions honest: two invoice lines that
// differ only in a user name ("... Dienst: OUDJQ_strukan ..." and
// "... OUDJQ_schneider ...") are 95% similar but 7 edits apart.
//
// Containment is deliberately not accepted, even as whole words: "Free" is
// a different company from "Free Mobile", "Bei Spiel" from "Bei Spiel
// Verwaltungs GmbH", and an extractor that returns the whole address block
// has not returned the name. Legal forms are the one kind of extra words
// tolerated (see legalForms).
const (
	NameSimilarity = 0.85
	NameMaxEdits   = 3
)

type fieldKind struct {
	name string
	kind Kind
	// label is the form its label takes in dataset.jsonl (checked when a
	// dataset is read).
	label fieldType
}

// fieldKinds is the corpus label format (../shared/corpus/README.md, 1.2
// and 1.3): the fields of each corpus schema in schema order, how they
// are compared and how their labels are written. Line item subfields are
// named "line_items.<key>". It is the one table of the format here; the
// extraction schemas (extract/schemas) use the same names.
var fieldKinds = map[string][]fieldKind{
	SchemaInvoice: {
		{"vendor_name", KindName, tString},
		{"vendor_vat_id", KindID, tID},
		{"customer_name", KindName, tString},
		{"invoice_number", KindNumber, tString},
		{"issue_date", KindDate, tDate},
		{"due_date", KindDate, tDate},
		{"currency", KindCode, tCurrency},
		{"net_amount", KindDecimal, tMoney},
		{"tax_amount", KindDecimal, tMoney},
		{"total_amount", KindDecimal, tMoney},
		{"iban", KindID, tID},
		{"line_items", KindLineItems, tLineItems},
		{"line_items.description", KindText, tString},
		{"line_items.quantity", KindDecimal, tDecimal},
		{"line_items.unit_price", KindDecimal, tMoney},
		{"line_items.amount", KindDecimal, tMoney},
	},
	SchemaNDA: {
		{"effective_date", KindDate, tDate},
		{"jurisdiction", KindName, tString},
		{"parties", KindNameSet, tStringList},
		{"term", KindTerm, tString},
	},
}

// labelTypes returns how a schema's top-level labels (list "" ) or a
// list's element fields (list "line_items") are written.
func labelTypes(schema, list string) (map[string]fieldType, bool) {
	fks, ok := fieldKinds[schema]
	if !ok {
		return nil, false
	}
	out := map[string]fieldType{}
	for _, f := range fks {
		name, sub, isSub := strings.Cut(f.name, ".")
		switch {
		case list == "" && !isSub:
			out[name] = f.label
		case list != "" && isSub && name == list:
			out[sub] = f.label
		}
	}
	return out, true
}

// schemaOrder is the order in which schemas' fields are listed in metrics.
var schemaOrder = []string{SchemaInvoice, SchemaNDA}

// itemFields are the line item subfields in the order they are reported.
var itemFields = []string{"description", "quantity", "unit_price", "amount"}

// KindOf returns the comparison kind of a schema field ("total_amount",
// "line_items.amount", "parties").
func KindOf(schema, field string) (Kind, bool) {
	for _, f := range fieldKinds[schema] {
		if f.name == field {
			return f.kind, true
		}
	}
	return "", false
}

// Equal reports whether an extracted value matches a labelled one for a
// field of a corpus schema, with the field's comparison kind. An empty got
// never matches. For "parties" it compares one party name; for
// "line_items" it is false (use "line_items.amount" and so on). Unknown
// fields never match.
func Equal(schema, field, expected, got string) bool {
	k, ok := KindOf(schema, field)
	if !ok {
		return false
	}
	return compare(k, expected, got) == same
}

type verdict int

const (
	same      verdict = iota
	different         // both valid, not equal
	invalid           // got is not a value of the kind
	absent            // got is empty
)

func compare(k Kind, expected, got string) verdict {
	if strings.TrimSpace(got) == "" {
		return absent
	}
	switch k {
	case KindDecimal:
		e, err := decimal.NewFromString(strings.TrimSpace(expected))
		if err != nil {
			return different
		}
		g, err := decimal.NewFromString(strings.TrimSpace(got))
		if err != nil {
			return invalid
		}
		return when(e.Equal(g))
	case KindDate:
		e, err := time.Parse(time.DateOnly, strings.TrimSpace(expected))
		if err != nil {
			return different
		}
		g, err := time.Parse(time.DateOnly, strings.TrimSpace(got))
		if err != nil {
			return invalid
		}
		return when(e.Equal(g))
	case KindID:
		return when(idKey(expected) == idKey(got))
	case KindNumber:
		return when(numberKey(expected) == numberKey(got))
	case KindName, KindNameSet:
		return when(similar(nameKey(expected), nameKey(got)))
	case KindText:
		return when(similar(textKey(expected), textKey(got)))
	case KindCode:
		return when(strings.EqualFold(strings.TrimSpace(expected), strings.TrimSpace(got)))
	case KindTerm:
		return when(termEqual(expected, got))
	}
	return different
}

func when(ok bool) verdict {
	if ok {
		return same
	}
	return different
}

// similar applies the NameSimilarity / NameMaxEdits rule to two keys. An
// empty key (a name made only of punctuation) matches nothing.
func similar(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	if a == b {
		return true
	}
	d := levenshtein.ComputeDistance(a, b)
	n := max(utf8.RuneCountInString(a), utf8.RuneCountInString(b))
	return d <= NameMaxEdits && 1-float64(d)/float64(n) >= NameSimilarity
}

// similarity is 1 - d/len of two keys, used to rank candidate pairs.
func similarity(a, b string) float64 {
	n := max(utf8.RuneCountInString(a), utf8.RuneCountInString(b))
	if n == 0 {
		return 0
	}
	return 1 - float64(levenshtein.ComputeDistance(a, b))/float64(n)
}

// fold lowers case and removes accents ("Société Générale" -> "societe
// generale"), compatibility forms (the "ﬁ" ligature -> "fi") and the
// letters that do not decompose (ß, æ, œ, ø, ł, đ, þ, dotless ı).
func fold(s string) string {
	var b strings.Builder
	for _, r := range norm.NFKD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		switch r = unicode.ToLower(r); r {
		case 'ß':
			b.WriteString("ss")
		case 'æ':
			b.WriteString("ae")
		case 'œ':
			b.WriteString("oe")
		case 'þ':
			b.WriteString("th")
		case 'ø':
			b.WriteByte('o')
		case 'ł':
			b.WriteByte('l')
		case 'đ':
			b.WriteByte('d')
		case 'ı':
			b.WriteByte('i')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// words folds s and splits it into words of letters and digits. Dots and
// apostrophes are dropped inside words, so abbreviations read the same
// with or without them ("B.V." = "BV", "Inc." = "Inc"); "&" reads as
// "and"; every other non-alphanumeric rune separates words.
func words(s string) []string {
	var b strings.Builder
	for _, r := range fold(s) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		case r == '.' || r == '\'' || r == '’' || r == 'ʼ' || r == '`':
		case r == '&':
			b.WriteString(" and ")
		default:
			b.WriteByte(' ')
		}
	}
	return strings.Fields(b.String())
}

// legalForms are company-form words that may be present on one side and
// not the other ("Coolblue B.V." vs "Coolblue", "Oravel Stays Private
// Limited" vs "Oravel Stays Pvt. Ltd."), in their words() form. They are
// stripped from both ends of a name; connectors (and, co, cie, ...) only
// from the end, as in "Bei Spiel GmbH & Co. KG".
var legalForms = set(
	// German-speaking
	"gmbh", "mbh", "ag", "kg", "kgaa", "ohg", "ug", "haftungsbeschrankt", "ev", "eg", "gbr", "se",
	// French, Spanish, Italian, Portuguese
	"sa", "sas", "sasu", "sarl", "eurl", "snc", "sca", "scs", "sl", "slu", "spa", "srl", "lda",
	// Dutch, Belgian
	"bv", "nv", "vof", "cv", "bvba", "sprl",
	// English-speaking, India
	"ltd", "limited", "llc", "llp", "lp", "plc", "inc", "incorporated", "corp", "corporation",
	"company", "pvt", "private", "pte", "pty",
	// Nordic, Central Europe
	"ab", "as", "asa", "aps", "oy", "oyj", "kft", "zrt", "sro",
)

var legalConnectors = set("and", "und", "et", "co", "cie", "comp")

func set(ws ...string) map[string]bool {
	m := make(map[string]bool, len(ws))
	for _, w := range ws {
		m[w] = true
	}
	return m
}

// nameKey is the comparison key of a name: its words without legal forms
// at either end, joined without spaces (text layers often lose or add
// inter-word spaces: "BeiSpiel GmbH"). A name made only of legal forms
// keeps them.
func nameKey(s string) string {
	ws := words(s)
	lo, hi := 0, len(ws)
	for hi > lo && (legalForms[ws[hi-1]] || legalConnectors[ws[hi-1]]) {
		hi--
	}
	for lo < hi && legalForms[ws[lo]] {
		lo++
	}
	if lo == hi {
		return strings.Join(ws, "")
	}
	return strings.Join(ws[lo:hi], "")
}

// textKey is the comparison key of free text: its words joined without
// spaces, so line breaks, hyphenation at a break and punctuation do not
// count.
func textKey(s string) string { return strings.Join(words(s), "") }

// idKey keeps the letters and digits of an identifier, upper-cased.
func idKey(s string) string {
	var b strings.Builder
	for _, r := range norm.NFKC.String(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToUpper(r))
		}
	}
	return b.String()
}

// numberKey is a document number without whitespace, lower-cased, with
// compatibility forms (full-width "＃") and dashes (‐ ‑ – — −) unified.
func numberKey(s string) string {
	var b strings.Builder
	for _, r := range norm.NFKC.String(s) {
		switch {
		case unicode.IsSpace(r):
		case unicode.Is(unicode.Pd, r) || r == '−':
			b.WriteByte('-')
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// termEqual compares contract terms case-insensitively with punctuation
// ignored (corpus README §1.3), reading number words as digits, "two (2)
// years" as "2 years" and plural units as singular. Two plain durations
// ("<n> <unit>") are equal when they last as long in the same calendar
// unit: "2 years" = "24 months", "2 weeks" = "14 days" (but months and
// days are not converted: a month is not 30 days).
func termEqual(expected, got string) bool {
	e, g := termWords(expected), termWords(got)
	if len(e) == 0 || len(g) == 0 {
		return false
	}
	if slices.Equal(e, g) {
		return true
	}
	en, eu, ok1 := duration(e)
	gn, gu, ok2 := duration(g)
	return ok1 && ok2 && eu == gu && en.Equal(gn)
}

var numberWords = map[string]int{
	"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
	"eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
	"fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
	"nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
	"seventy": 70, "eighty": 80, "ninety": 90,
}

var termUnits = map[string]string{
	"year": "year", "years": "year", "yr": "year", "yrs": "year",
	"month": "month", "months": "month", "mo": "month", "mos": "month",
	"week": "week", "weeks": "week", "wk": "week", "wks": "week",
	"day": "day", "days": "day",
}

func termWords(s string) []string {
	var out []string
	for _, w := range words(s) {
		if n, ok := numberWords[w]; ok {
			// "twenty four" -> 24
			if len(out) > 0 && n < 10 {
				if p, err := strconv.Atoi(out[len(out)-1]); err == nil && p >= 20 && p%10 == 0 && p < 100 {
					out[len(out)-1] = strconv.Itoa(p + n)
					continue
				}
			}
			w = strconv.Itoa(n)
		}
		if u, ok := termUnits[w]; ok {
			w = u
		}
		// "two (2) years": the number repeated in digits.
		if len(out) > 0 && out[len(out)-1] == w && isDigits(w) {
			continue
		}
		out = append(out, w)
	}
	return out
}

func isDigits(s string) bool {
	return s != "" && strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }) < 0
}

// duration reads ["<n>", "<unit>"] as an amount of months or days.
func duration(ws []string) (decimal.Decimal, string, bool) {
	if len(ws) != 2 {
		return decimal.Decimal{}, "", false
	}
	n, err := decimal.NewFromString(ws[0])
	if err != nil {
		return decimal.Decimal{}, "", false
	}
	switch ws[1] {
	case "year":
		return n.Mul(decimal.NewFromInt(12)), "month", true
	case "month":
		return n, "month", true
	case "week":
		return n.Mul(decimal.NewFromInt(7)), "day", true
	case "day":
		return n, "day", true
	}
	return decimal.Decimal{}, "", false
}

// Reasons a field result does not match.
const (
	ReasonMissing      = "missing"         // the extraction has no value
	ReasonUnnormalized = "not normalized"  // a raw value was read but has no normal form
	ReasonInvalid      = "invalid"         // the value is not of the field's type ("02.07.2015" for a date)
	ReasonDifferent    = "different value" // a valid value, not the labelled one
	ReasonPartial      = "partial"         // a set that matches only in part (F1 between 0 and 1)
	ReasonItemMissing  = "item missing"    // no extracted line was aligned with the labelled line
	ReasonNoComparator = "no comparator"   // the field is not in the schema's comparison table
)

// RowScore is the comparison of one extraction with one labelled row.
type RowScore struct {
	ID     string `json:"id"`
	Group  string `json:"group"`
	Schema string `json:"schema"`
	// Skip says why the row was not scored ("" when it was): hostile
	// rows, label_quality mismatch or unlabelled, rows without labels.
	Skip string `json:"skip,omitempty"`
	// Fields has one result per labelled value: scalar fields, the parties
	// set, and each labelled subfield of each labelled line item, in
	// schema order.
	Fields []FieldResult `json:"fields,omitempty"`
	// Items scores the line items as a whole (Labelled is false when the
	// row has no line_items label).
	Items ItemScore `json:"items"`
}

// Scored reports whether the row was scored.
func (s RowScore) Scored() bool { return s.Skip == "" }

// FieldResult is one labelled value compared with what was extracted.
type FieldResult struct {
	// Field is the schema field ("total_amount", "line_items.amount"),
	// the key results are aggregated by.
	Field string `json:"field"`
	// Path locates the value in the row: Field for scalars,
	// "line_items[2].amount" for line item subfields (label index).
	Path     string `json:"path"`
	Expected string `json:"expected"`
	Got      string `json:"got"`
	Match    bool   `json:"match"`
	// Score is 1 for a match and 0 otherwise, except for sets (parties),
	// where it is the F1 of the matching.
	Score  float64 `json:"score"`
	Reason string  `json:"reason,omitempty"`
	// Where the extractor says it read the value, and what the pipeline
	// made of that: the cited page and quote (a line item's own when its
	// subfield has none), whether the quote was found on the page with
	// the value, and the field's confidence. Empty when nothing was read.
	Page       int     `json:"page,omitempty"`
	Quote      string  `json:"quote,omitempty"`
	Grounded   bool    `json:"grounded"`
	Confidence float64 `json:"confidence"`
	// GotHash stands for Got in a redacted report (Report.Redact), so that
	// a changed value can be told from an unchanged one without keeping it.
	GotHash string `json:"got_hash,omitempty"`
}

// ItemScore scores a row's line items as a whole. A labelled line counts
// as matched when it is aligned with an extracted line whose amount
// matches, or, when the label has no amount for the line, whose
// description matches (when it has neither, all its labelled subfields).
type ItemScore struct {
	Labelled  bool    `json:"labelled"`
	Expected  int     `json:"expected"`
	Predicted int     `json:"predicted"`
	Matched   int     `json:"matched"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	// Pairs has one entry per labelled line, in label order.
	Pairs []ItemPair `json:"pairs,omitempty"`
	// Extra lists the extracted lines aligned with no labelled line.
	Extra []int `json:"extra,omitempty"`
}

// ItemPair aligns a labelled line (its index in the label) with an
// extracted one (its index in the extraction, -1 when none).
type ItemPair struct {
	Label     int  `json:"label"`
	Extracted int  `json:"extracted"`
	Matched   bool `json:"matched"`
}

// ScoreRow compares an extraction with a labelled row, field by field.
// Only fields present in the row's expected are scored; an absent field is
// "not labelled", so values extracted for it are neither right nor wrong.
// An empty extracted value for a labelled field is a miss. Rows that
// cannot be scored (hostile, mismatch, unlabelled, no labels) come back
// with Skip set.
func ScoreRow(row Row, x pipeline.Extraction) RowScore {
	s := RowScore{ID: row.ID, Group: row.Group, Schema: row.Schema}
	switch {
	case row.Hostile():
		s.Skip = "hostile row"
	case row.LabelQuality == "mismatch" || row.LabelQuality == "unlabelled":
		s.Skip = "label_quality " + row.LabelQuality
	case len(row.Expected) == 0:
		s.Skip = "no labels"
	}
	if s.Skip != "" {
		return s
	}
	for _, f := range labelledFields(row.Schema, row.Expected) {
		k, ok := KindOf(row.Schema, f)
		want := row.Expected[f]
		switch {
		case !ok:
			s.Fields = append(s.Fields, FieldResult{Field: f, Path: f, Expected: labelString(want),
				Got: x.Fields[f].Value, Reason: ReasonNoComparator})
		case k == KindLineItems:
			var rs []FieldResult
			s.Items, rs = scoreItems(row.Schema, toItems(want), x.Lists[f])
			s.Fields = append(s.Fields, rs...)
		case k == KindNameSet:
			s.Fields = append(s.Fields, scoreSet(row.Schema, f, toStrings(want), listValues(x.Lists[f])))
		default:
			s.Fields = append(s.Fields, scoreScalar(k, f, f, labelString(want), x.Fields[f]))
		}
	}
	return s
}

// labelledFields returns the row's labelled fields in schema order, then
// any others alphabetically.
func labelledFields(schema string, l Label) []string {
	var out []string
	for _, f := range fieldKinds[schema] {
		if _, ok := l[f.name]; ok {
			out = append(out, f.name)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(l)) {
		if _, ok := KindOf(schema, k); !ok {
			out = append(out, k)
		}
	}
	return out
}

func scoreScalar(k Kind, field, path, want string, got pipeline.Field) FieldResult {
	r := FieldResult{Field: field, Path: path, Expected: want, Got: got.Value,
		Page: got.Page, Quote: got.Quote, Grounded: got.Grounded, Confidence: got.Confidence}
	switch compare(k, want, got.Value) {
	case same:
		r.Match, r.Score = true, 1
	case different:
		r.Reason = ReasonDifferent
	case invalid:
		r.Reason = ReasonInvalid
	case absent:
		r.Reason = ReasonMissing
		if got.Raw != "" {
			r.Reason = ReasonUnnormalized
		}
	}
	return r
}

// scoreSet scores a list of names as a set: each extracted name may match
// one labelled name (KindName rule, the most similar pairs first), and the
// score is the F1 of that matching.
func scoreSet(schema, field string, want, got []string) FieldResult {
	r := FieldResult{Field: field, Path: field, Expected: strings.Join(want, "; "), Got: strings.Join(got, "; ")}
	type pair struct {
		i, j int
		sim  float64
	}
	var pairs []pair
	for i, w := range want {
		for j, g := range got {
			if Equal(schema, field, w, g) {
				pairs = append(pairs, pair{i, j, similarity(nameKey(w), nameKey(g))})
			}
		}
	}
	sort.SliceStable(pairs, func(a, b int) bool { return pairs[a].sim > pairs[b].sim })
	usedW, usedG := map[int]bool{}, map[int]bool{}
	matched := 0
	for _, p := range pairs {
		if !usedW[p.i] && !usedG[p.j] {
			usedW[p.i], usedG[p.j] = true, true
			matched++
		}
	}
	_, _, r.Score = prf(matched, len(want), len(got))
	switch {
	case r.Score == 1:
		r.Match = true
	case len(got) == 0:
		r.Reason = ReasonMissing
	case matched == 0:
		r.Reason = ReasonDifferent
	default:
		r.Reason = fmt.Sprintf("%s: %d of %d matched, %d extra", ReasonPartial, matched, len(want), len(got)-matched)
	}
	return r
}

// prf returns precision, recall and F1 for matched items out of expected
// and predicted ones. Nothing expected and nothing predicted is perfect;
// nothing predicted otherwise has precision 0.
func prf(matched, expected, predicted int) (p, r, f1 float64) {
	if expected == 0 && predicted == 0 {
		return 1, 1, 1
	}
	if predicted > 0 {
		p = float64(matched) / float64(predicted)
	}
	if expected > 0 {
		r = float64(matched) / float64(expected)
	}
	if p+r > 0 {
		f1 = 2 * p * r / (p + r)
	}
	return p, r, f1
}

// scoreItems aligns extracted lines with labelled lines and scores them.
//
// Alignment: a labelled line and an extracted line are candidates when
// they agree on the labelled amount or the labelled description (or, for
// a line labelled with neither, on all its labelled subfields). Candidates
// are paired greedily, best first: agreement on the line's key (amount,
// else description), then the number of agreeing subfields, then the
// similarity of the descriptions, then the closeness of their positions
// (so identical lines pair in order), then label order. Greedy
// best-first matching is order-independent, so reordered lines still
// pair, and deterministic.
//
// Each labelled subfield of each labelled line yields a FieldResult
// ("line_items[i].amount"): compared with the aligned line, or
// ReasonItemMissing when none. Extra extracted lines have no label to be
// compared with; they lower the item precision only.
func scoreItems(schema string, want []map[string]string, got []pipeline.Item) (ItemScore, []FieldResult) {
	is := ItemScore{Labelled: true, Expected: len(want), Predicted: len(got)}
	type pair struct {
		i, j     int
		key      bool
		agree    int
		descSim  float64
		distance int
	}
	var pairs []pair
	for i, w := range want {
		key := itemKey(w)
		for j, g := range got {
			p := pair{i: i, j: j, distance: abs(i - j)}
			candidate := false
			for _, f := range itemFields {
				v, ok := w[f]
				if !ok || !Equal(schema, "line_items."+f, v, g.Fields[f].Value) {
					continue
				}
				p.agree++
				if f == key {
					p.key = true
				}
				if f == "amount" || f == "description" {
					candidate = true
				}
			}
			if key == "" {
				p.key = p.agree == len(w) && p.agree > 0
				candidate = p.key
			}
			if !candidate {
				continue
			}
			if d, ok := w["description"]; ok {
				p.descSim = similarity(textKey(d), textKey(g.Fields["description"].Value))
			}
			pairs = append(pairs, p)
		}
	}
	sort.SliceStable(pairs, func(a, b int) bool {
		pa, pb := pairs[a], pairs[b]
		switch {
		case pa.key != pb.key:
			return pa.key
		case pa.agree != pb.agree:
			return pa.agree > pb.agree
		case pa.descSim != pb.descSim:
			return pa.descSim > pb.descSim
		case pa.distance != pb.distance:
			return pa.distance < pb.distance
		case pa.i != pb.i:
			return pa.i < pb.i
		}
		return pa.j < pb.j
	})
	is.Pairs = make([]ItemPair, len(want))
	for i := range is.Pairs {
		is.Pairs[i] = ItemPair{Label: i, Extracted: -1}
	}
	usedG := map[int]bool{}
	for _, p := range pairs {
		if is.Pairs[p.i].Extracted >= 0 || usedG[p.j] {
			continue
		}
		is.Pairs[p.i] = ItemPair{Label: p.i, Extracted: p.j, Matched: p.key}
		usedG[p.j] = true
		if p.key {
			is.Matched++
		}
	}
	for j := range got {
		if !usedG[j] {
			is.Extra = append(is.Extra, j)
		}
	}
	is.Precision, is.Recall, is.F1 = prf(is.Matched, is.Expected, is.Predicted)

	var rs []FieldResult
	for i, w := range want {
		j := is.Pairs[i].Extracted
		for _, f := range itemFields {
			v, ok := w[f]
			if !ok {
				continue
			}
			field, path := "line_items."+f, fmt.Sprintf("line_items[%d].%s", i, f)
			if j < 0 {
				rs = append(rs, FieldResult{Field: field, Path: path, Expected: v, Reason: ReasonItemMissing})
				continue
			}
			k, _ := KindOf(schema, field)
			r := scoreScalar(k, field, path, v, got[j].Fields[f])
			if r.Page == 0 && r.Quote == "" {
				r.Page, r.Quote = got[j].Page, got[j].Quote
				r.Grounded = r.Grounded || got[j].Grounded
			}
			rs = append(rs, r)
		}
	}
	return is, rs
}

// itemKey is the subfield that decides whether a labelled line was found.
func itemKey(w map[string]string) string {
	if _, ok := w["amount"]; ok {
		return "amount"
	}
	if _, ok := w["description"]; ok {
		return "description"
	}
	return ""
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// labelString returns a scalar label value as a string.
func labelString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// toStrings reads a list label of strings.
func toStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, e := range list {
		out = append(out, labelString(e))
	}
	return out
}

// toItems reads a list label of objects with string values.
func toItems(v any) []map[string]string {
	list, _ := v.([]any)
	out := make([]map[string]string, 0, len(list))
	for _, e := range list {
		obj, _ := e.(map[string]any)
		item := make(map[string]string, len(obj))
		for k, v := range obj {
			item[k] = labelString(v)
		}
		out = append(out, item)
	}
	return out
}

// listValues returns the names of an extracted list of names (nda
// parties: items with a "name" field), leaving out empty ones.
func listValues(items []pipeline.Item) []string {
	var out []string
	for _, it := range items {
		if v := strings.TrimSpace(it.Fields["name"].Value); v != "" {
			out = append(out, v)
		}
	}
	return out
}
