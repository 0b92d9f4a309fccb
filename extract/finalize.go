package extract

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/extractor-dev/extractor/extract/lexicon"
	"github.com/extractor-dev/extractor/pipeline"
)

// ValidatorVersion changes whenever Finalize (or Normalize, Ground) may
// judge the same reading differently; it is part of the validate step's
// cache key.
const ValidatorVersion = "validate/3"

// Checks is the pipeline's Validator: Finalize as a step.
type Checks struct{}

// Validate returns x with its values checked; see Finalize.
func (Checks) Validate(doc pipeline.Document, s pipeline.Schema, x pipeline.Extraction, second *pipeline.Extraction) pipeline.Extraction {
	x = cloneExtraction(x)
	Finalize(doc, s, &x, second)
	return x
}

// Version of the checks and of the calibration they apply.
func (Checks) Version() string { return ValidatorVersion + "+" + DefaultCalibration.hash() }

// cloneExtraction copies the maps and slices Finalize changes, so the raw
// reading passed in stays as it was (it is cached and hashed as such).
func cloneExtraction(x pipeline.Extraction) pipeline.Extraction {
	fields := make(map[string]pipeline.Field, len(x.Fields))
	for k, v := range x.Fields {
		fields[k] = v
	}
	x.Fields = fields
	if x.Lists != nil {
		lists := make(map[string][]pipeline.Item, len(x.Lists))
		for k, items := range x.Lists {
			cp := make([]pipeline.Item, len(items))
			for i, it := range items {
				f := make(map[string]pipeline.Field, len(it.Fields))
				for fk, fv := range it.Fields {
					f[fk] = fv
				}
				it.Fields = f
				cp[i] = it
			}
			lists[k] = cp
		}
		x.Lists = lists
	}
	x.Issues = append([]pipeline.Issue(nil), x.Issues...)
	return x
}

// Finalize runs the deterministic checks on what an extractor read (fields
// with Raw and Evidence): every value is normalized and validated against
// its spec, checked against the page it cites, the business rules are
// applied, and each field gets a confidence. second, when not nil, is
// another extractor's reading of the same document (the rules extractor
// for the LLM's): agreement raises confidence, disagreement is an issue.
//
// Nothing is silently accepted: a value that does not normalize keeps its
// Raw with an empty Value and an "invalid" issue; a value whose quote is
// not on the page, or does not contain it, is marked ungrounded with an
// issue of severity fail.
func Finalize(doc pipeline.Document, s pipeline.Schema, x *pipeline.Extraction, second *pipeline.Extraction) {
	if x.Fields == nil {
		x.Fields = map[string]pipeline.Field{}
	}
	x.DocumentID = doc.ID
	x.Schema = s.Ref()
	texts := newPageTexts(doc)
	for _, spec := range s.Fields {
		if spec.Type == pipeline.TypeArray {
			finalizeList(texts, spec, x)
			continue
		}
		x.Fields[spec.Name] = finalizeField(texts, spec, spec.Name, x.Fields[spec.Name], &x.Issues)
	}
	plausibility(doc, s, x)
	einvoiceMismatch(doc, s, x, second)
	// An e-invoice's values are checked against the page by
	// einvoiceMismatch, which knows how a page prints them; a plain
	// comparison with the text reading would flag every legal form and
	// credit-note sign.
	agreeWith := second
	if x.Source != nil && x.Source.Kind == "einvoice" {
		agreeWith = nil
	}
	cal := DefaultCalibration
	calibrated := cal.Applies(*x)
	var required []float64
	for _, spec := range s.Fields {
		if spec.Type == pipeline.TypeArray {
			continue
		}
		f := x.Fields[spec.Name]
		f.Confidence = confidence(f, spec, agreeWith, &x.Issues)
		if f.Found() {
			f.Signals.Agree = agreement(f, spec, agreeWith)
			if calibrated {
				f.Confidence = round2(cal.Field(spec.Name, f.Signals))
			}
			if ocrUncertain(f) {
				f.Confidence = min(f.Confidence, OCRUncertainConfidence)
			}
		}
		x.Fields[spec.Name] = f
		if spec.Required {
			required = append(required, f.Confidence)
		}
	}
	x.Confidence = 0
	if len(required) > 0 {
		if calibrated {
			x.Confidence = round2(cal.DocumentConfidence(required))
		} else {
			x.Confidence = slices.Min(required)
		}
		if slices.Min(required) <= OCRUncertainConfidence && hasOCRUncertain(s, x) {
			x.Confidence = min(x.Confidence, OCRUncertainConfidence)
		}
	}
	// Drop what the schema does not declare: an extractor may not invent fields.
	for name := range x.Fields {
		if spec, ok := s.Field(name); !ok || spec.Type == pipeline.TypeArray {
			delete(x.Fields, name)
		}
	}
	businessChecks(x)
	sort.SliceStable(x.Issues, func(i, j int) bool { return x.Issues[i].Field < x.Issues[j].Field })
}

// hasOCRUncertain reports whether a required field of x was read from
// uncertain OCR words.
func hasOCRUncertain(s pipeline.Schema, x *pipeline.Extraction) bool {
	for _, spec := range s.Fields {
		if spec.Required && spec.Type != pipeline.TypeArray && ocrUncertain(x.Fields[spec.Name]) {
			return true
		}
	}
	return false
}

// Recheck runs the checks across fields again (net + tax = total, line
// amounts adding up to the net, the due date not before the issue date)
// on values people corrected, replacing what those checks said before.
// The values themselves were checked one by one when they were corrected
// (CheckValue).
func Recheck(x *pipeline.Extraction) {
	kept := make([]pipeline.Issue, 0, len(x.Issues))
	for _, is := range x.Issues {
		if is.Code != pipeline.IssueArithmetic && is.Code != pipeline.IssueDateOrder {
			kept = append(kept, is)
		}
	}
	x.Issues = kept
	businessChecks(x)
	sort.SliceStable(x.Issues, func(i, j int) bool { return x.Issues[i].Field < x.Issues[j].Field })
}

// CheckValue checks a value a person gives a field, with the code that
// checks an extractor's readings: raw is normalized by the field's type
// and must match its pattern; with evidence (a page and a quote), the
// quote must be on the document (on that page, or the page is corrected)
// and hold the value in some printed form.
// It returns the field (Value normalized, Raw as given, the evidence,
// Grounded) or an error saying what is wrong. Without evidence the value
// is marked as typed by a person (pipeline.OriginReview): nothing to
// ground. The empty raw value clears the field.
func CheckValue(doc pipeline.Document, spec pipeline.FieldSpec, raw string, ev pipeline.Evidence) (pipeline.Field, error) {
	f := pipeline.Field{Raw: strings.TrimSpace(raw), Evidence: ev}
	if f.Raw == "" {
		return pipeline.Field{}, nil
	}
	value, currency, err := Normalize(spec, f.Raw)
	if err == nil && spec.Pattern != "" && !regexp.MustCompile(spec.Pattern).MatchString(value) {
		err = fmt.Errorf("%q does not match the pattern %s", value, spec.Pattern)
	}
	if err != nil {
		return f, err
	}
	f.Value, f.Currency = value, currency
	if ev.Page == 0 && ev.Quote == "" {
		f.Evidence = pipeline.Evidence{Origin: pipeline.OriginReview}
		return f, nil
	}
	if n := utf8.RuneCountInString(strings.TrimSpace(ev.Quote)); n < minQuote {
		return f, fmt.Errorf("quote %q is too short to tie the value to the page (at least %d characters)", ev.Quote, minQuote)
	}
	g := Ground(doc, spec, f.Value, ev)
	if !g.OK {
		return f, errors.New(g.Reason)
	}
	f.Page = g.Page // the quote may be on another page than the one cited
	f.Grounded = true
	f.Signals.Grounded, f.Signals.Valid = 1, 1
	return f, nil
}

// minQuote is the shortest quote, in characters, that can ground a value.
const minQuote = 4

func finalizeField(texts *pageTexts, spec pipeline.FieldSpec, path string, f pipeline.Field, issues *[]pipeline.Issue) pipeline.Field {
	doc := texts.doc
	f.Value, f.Grounded, f.Confidence = "", false, 0
	if !f.Found() {
		if spec.Required {
			*issues = append(*issues, pipeline.Issue{Field: path, Code: pipeline.IssueMissing, Severity: pipeline.SeverityFail,
				Message: "required field not found"})
		}
		return f
	}
	value, currency, err := Normalize(spec, f.Raw)
	if err == nil && spec.Pattern != "" && !regexp.MustCompile(spec.Pattern).MatchString(value) {
		err = fmt.Errorf("%q does not match the pattern %s", value, spec.Pattern)
	}
	if err != nil {
		*issues = append(*issues, pipeline.Issue{Field: path, Code: pipeline.IssueInvalid, Severity: pipeline.SeverityFail, Message: err.Error()})
	} else {
		f.Value, f.Currency = value, currency
	}
	if f.NotPrinted() {
		// A value of a machine-readable source (an e-invoice) that the
		// page does not print: nothing to ground, and nothing wrong.
		return f
	}
	checkValue := f.Value
	if checkValue == "" {
		checkValue = f.Raw
	}
	var g Grounding
	if n := utf8.RuneCountInString(strings.TrimSpace(f.Quote)); n < minQuote && f.Quote != "" {
		// "4" is on almost every page: a quote this short ties the value
		// to nothing.
		g.Reason = fmt.Sprintf("quote %q is too short to tie the value to the page", f.Quote)
	} else {
		g = texts.ground(spec, checkValue, f.Evidence)
	}
	f.Grounded = g.OK
	f.Signals.Grounded, f.Signals.Valid = 0, 0
	if g.OK {
		f.Signals.Grounded = 1
	}
	if f.Value != "" {
		f.Signals.Valid = 1
	}
	switch {
	case !g.OK:
		*issues = append(*issues, pipeline.Issue{Field: path, Code: pipeline.IssueUngrounded, Severity: pipeline.SeverityFail, Message: g.Reason})
	case g.Page != f.Page:
		*issues = append(*issues, pipeline.Issue{Field: path, Code: pipeline.IssueUngrounded, Severity: pipeline.SeverityWarn,
			Message: fmt.Sprintf("quote is on page %d, not on the cited page %d", g.Page, f.Page)})
		f.Page = g.Page
	}
	f.Signals.OCR = 0
	if g.OK {
		if c, ok := ocrConfidence(doc, g.Page, spec, f.Quote); ok {
			f.Signals.OCR = max(round2(c), 0.01) // 0 means "not OCR"
			if ocrUncertain(f) {
				*issues = append(*issues, pipeline.Issue{Field: path, Code: pipeline.IssueOCRUncertain, Severity: pipeline.SeverityWarn,
					Message: fmt.Sprintf("read by OCR from words it was unsure of (confidence %.2f, below %.2f): compare it with the page image", c, MinOCRConfidence)})
			}
		}
	}
	return f
}

func finalizeList(texts *pageTexts, spec pipeline.FieldSpec, x *pipeline.Extraction) {
	items := x.Lists[spec.Name]
	if len(items) == 0 && spec.Required {
		x.Issues = append(x.Issues, pipeline.Issue{Field: spec.Name, Code: pipeline.IssueMissing, Severity: pipeline.SeverityFail,
			Message: "required list is empty"})
	}
	for i := range items {
		it := &items[i]
		it.Grounded = true
		found := false
		for _, sub := range spec.Items {
			path := fmt.Sprintf("%s[%d].%s", spec.Name, i, sub.Name)
			f := it.Fields[sub.Name]
			if f.Evidence == (pipeline.Evidence{}) {
				f.Evidence = it.Evidence // elements are quoted as a whole line
			}
			f = finalizeField(texts, sub, path, f, &x.Issues)
			// A value that its source carries but the page does not
			// print (an e-invoice's net price where the page prints the
			// gross) neither grounds the element nor counts against it.
			if f.Found() && !f.NotPrinted() {
				found = true
				it.Grounded = it.Grounded && f.Grounded
			}
			if f.Found() {
				f.Confidence = confidence(f, sub, nil, &x.Issues)
				if ocrUncertain(f) {
					f.Confidence = min(f.Confidence, OCRUncertainConfidence)
				}
			}
			if it.Fields == nil {
				it.Fields = map[string]pipeline.Field{}
			}
			it.Fields[sub.Name] = f
		}
		if !found {
			it.Grounded = false
		}
		for name := range it.Fields {
			if !hasItem(spec, name) {
				delete(it.Fields, name)
			}
		}
	}
	if items != nil {
		if x.Lists == nil {
			x.Lists = map[string][]pipeline.Item{}
		}
		x.Lists[spec.Name] = items
	}
}

func hasItem(spec pipeline.FieldSpec, name string) bool {
	for _, s := range spec.Items {
		if s.Name == name {
			return true
		}
	}
	return false
}

// agreement is the Agree signal: +1 when the second extractor read the
// same value, -1 another, 0 when it read none (or there is none).
func agreement(f pipeline.Field, spec pipeline.FieldSpec, second *pipeline.Extraction) float64 {
	if second == nil || f.Value == "" {
		return 0
	}
	o, ok := second.Fields[spec.Name]
	switch {
	case !ok || o.Value == "":
		return 0
	case o.Value == f.Value:
		return 1
	}
	return -1
}

// plausibility raises an issue of its own for values that are unlikely
// though valid and grounded: a date years away from the document's other
// dates, a label word as a value ("Address", "Hotel Details"), a raw value
// that its quote does not print. The field's Implausible signal is set.
func plausibility(doc pipeline.Document, s pipeline.Schema, x *pipeline.Extraction) {
	var printed []civilDate
	datesDone := false
	flag := func(name string, sev pipeline.Severity, msg string) {
		x.Issues = append(x.Issues, pipeline.Issue{Field: name, Code: pipeline.IssueImplausible, Severity: sev, Message: msg})
		f := x.Fields[name]
		f.Signals.Implausible = 1
		x.Fields[name] = f
	}
	for _, spec := range s.Fields {
		f, ok := x.Fields[spec.Name]
		if !ok || !f.Found() {
			continue
		}
		f.Signals.Implausible = 0
		x.Fields[spec.Name] = f
		switch spec.Type {
		case pipeline.TypeDate:
			if f.Value == "" {
				continue
			}
			if !datesDone {
				datesDone = true
				for _, p := range doc.Pages {
					for _, l := range p.Lines {
						for _, d := range datesIn(l.Text, dayFirst) {
							printed = append(printed, d.date)
						}
					}
				}
			}
			v, err := parseDate(f.Value, dayFirst)
			if err != nil {
				continue
			}
			var others []int
			skipped := false
			for _, d := range printed {
				if d == v && !skipped {
					skipped = true // the value's own printing
					continue
				}
				others = append(others, dayNumber(d))
			}
			if len(others) < 2 {
				continue
			}
			slices.Sort(others)
			med := others[len(others)/2]
			if days := dayNumber(v) - med; days > 730 || days < -730 {
				flag(spec.Name, pipeline.SeverityFail, fmt.Sprintf("%s is %.0f years from the document's other dates (their median is %s)",
					f.Value, math.Abs(float64(days))/365.25, civilFromDays(med)))
			}
		case pipeline.TypeString, pipeline.TypeEnum:
			if v := f.Value; v != "" && lexicon.IsLabel(v) {
				flag(spec.Name, pipeline.SeverityFail, fmt.Sprintf("%q is a label, not a value", v))
				continue
			}
		}
		if f.Grounded && f.Raw != "" && f.Value != "" && f.Raw != f.Value && spec.Type != pipeline.TypeDate &&
			!strings.Contains(foldForMatch(f.Quote), foldForMatch(f.Raw)) {
			flag(spec.Name, pipeline.SeverityWarn, fmt.Sprintf("the value as read, %q, is not printed in its quote", f.Raw))
		}
	}
}

// dayNumber counts days from 0000-03-01 (proleptic Gregorian).
func dayNumber(d civilDate) int {
	y, m := d.y, d.m
	if m <= 2 {
		y--
		m += 12
	}
	return 365*y + y/4 - y/100 + y/400 + (153*(m-3)+2)/5 + d.d - 1
}

// civilFromDays is the inverse of dayNumber.
func civilFromDays(n int) civilDate {
	y := (10000*n + 14780) / 3652425
	ddd := n - (365*y + y/4 - y/100 + y/400)
	if ddd < 0 {
		y--
		ddd = n - (365*y + y/4 - y/100 + y/400)
	}
	mi := (100*ddd + 52) / 3060
	mm := (mi+2)%12 + 1
	y += (mi + 2) / 12
	dd := ddd - (mi*306+5)/10 + 1
	return civilDate{y, mm, dd}
}

// confidence combines the checks into a number in [0, 1]: grounding
// weighs most (a value not on the page is worthless), then validity, then
// agreement with a second extractor (unknown counts half); an implausible
// value loses 0.3. A value that a machine-readable source carries but the
// page does not print (an e-invoice's, Evidence.NotPrinted) is not
// worthless: it counts 0.45 of grounding's 0.55, as no one can check it
// against the page. Calibrated extractors replace it (Calibration).
func confidence(f pipeline.Field, spec pipeline.FieldSpec, second *pipeline.Extraction, issues *[]pipeline.Issue) float64 {
	if !f.Found() {
		return 0
	}
	c := 0.0
	switch {
	case f.Grounded:
		c += 0.55
	case f.NotPrinted():
		c += 0.45
	}
	if f.Value != "" {
		c += 0.25
	}
	agree := 0.5
	if second != nil {
		if o, ok := second.Fields[spec.Name]; ok && o.Value != "" && f.Value != "" {
			if o.Value == f.Value {
				agree = 1
			} else {
				agree = 0
				*issues = append(*issues, pipeline.Issue{Field: spec.Name, Code: pipeline.IssueDisagree, Severity: pipeline.SeverityWarn,
					Message: fmt.Sprintf("the second extractor read %q", o.Value)})
			}
		}
	}
	if f.Signals.Implausible > 0 {
		c -= 0.3
	}
	return round2(max(0, c+0.2*agree))
}

func round2(v float64) float64 { return float64(int(v*100+0.5)) / 100 }

// Business checks for invoices, applied when the schema has the fields:
// net + tax = total within a cent (fail), line amounts add up to net
// (warn: discount and shipping lines are common), due date not before the
// issue date (fail).
func businessChecks(x *pipeline.Extraction) {
	dec := func(name string) (decimal.Decimal, bool) {
		f, ok := x.Fields[name]
		if !ok || f.Value == "" {
			return decimal.Decimal{}, false
		}
		d, err := decimal.NewFromString(f.Value)
		return d, err == nil
	}
	cent := decimal.New(1, -2)
	net, okNet := dec("net_amount")
	tax, okTax := dec("tax_amount")
	total, okTotal := dec("total_amount")
	if okNet && okTax && okTotal && net.Add(tax).Sub(total).Abs().GreaterThan(cent) {
		x.Issues = append(x.Issues, pipeline.Issue{Field: "total_amount", Code: pipeline.IssueArithmetic, Severity: pipeline.SeverityFail,
			Message: fmt.Sprintf("net %s + tax %s = %s, but total is %s", net, tax, net.Add(tax), total)})
	}
	if items := x.Lists["line_items"]; len(items) > 0 && (okNet || okTotal) {
		sum := decimal.Zero
		n := 0
		for _, it := range items {
			if a, err := decimal.NewFromString(it.Fields["amount"].Value); err == nil {
				sum = sum.Add(a)
				n++
			}
		}
		target, name := net, "net"
		if !okNet {
			target, name = total, "total" // no net printed: lines may be gross
		}
		if n == len(items) && sum.Sub(target).Abs().GreaterThan(cent) {
			x.Issues = append(x.Issues, pipeline.Issue{Field: "line_items", Code: pipeline.IssueArithmetic, Severity: pipeline.SeverityWarn,
				Message: fmt.Sprintf("line amounts add up to %s, %s is %s", sum, name, target)})
		}
	}
	issue, due := x.Fields["issue_date"].Value, x.Fields["due_date"].Value
	if issue != "" && due != "" && due < issue { // ISO dates compare as strings
		x.Issues = append(x.Issues, pipeline.Issue{Field: "due_date", Code: pipeline.IssueDateOrder, Severity: pipeline.SeverityFail,
			Message: fmt.Sprintf("due date %s is before the issue date %s", due, issue)})
	}
}
