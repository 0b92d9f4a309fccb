package rules

import (
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/extractor-dev/extractor/extract/lexicon"
	"github.com/extractor-dev/extractor/pipeline"
)

// reading is everything read from one document: the layout, the line
// items, every field's candidates (scored, best first, one per value) and
// the resolver's choice.
type reading struct {
	lay   *Layout
	items []pipeline.Item
	cands map[string][]*Candidate
	// support counts the candidates that read each value (before they
	// were merged), by key.
	support map[string]int
	chosen  map[string]*Candidate
	// margin is, per field, the joint score of the chosen value minus the
	// best joint score without it (its runner-up, or nothing).
	margin map[string]float64
	// notes say which constraints held or failed for a field.
	notes map[string][]string
	// constraint is +1 when a field took part in a constraint that held,
	// -1 when in one that failed.
	constraint map[string]float64
	// custom are the schema's declared fields (labels or a pattern) read
	// by the schema finders, resolved one by one.
	custom []string
	// invoice: the invoice finders ran (amounts, dates, parties, ...).
	invoice bool
	// all are the candidates as proposed (score dedupes them into cands).
	all map[string][]*Candidate
	// w are the weights of the last resolve.
	w Weights
}

// invoiceFields are the scalar fields the rules read, in schema order.
var invoiceFields = []string{"vendor_name", "vendor_vat_id", "customer_name", "invoice_number", "issue_date", "due_date",
	"currency", "net_amount", "tax_amount", "total_amount", "iban"}

// read proposes every field's candidates; score and resolve choose.
func read(doc pipeline.Document) *reading {
	lay := NewLayout(doc)
	rd := &reading{lay: lay, cands: map[string][]*Candidate{}, support: map[string]int{}, invoice: true}
	tables := lay.findTables()
	rd.items = lay.readItems(tables)
	rd.cands["invoice_number"] = lay.numberCandidates()
	rd.cands["issue_date"], rd.cands["due_date"] = lay.dateCandidates()
	rd.cands["net_amount"], rd.cands["tax_amount"], rd.cands["total_amount"] = lay.amountCandidates()
	var custLines, vendLines map[*Line]bool
	rd.cands["vendor_name"], rd.cands["customer_name"], custLines, vendLines = lay.partyCandidates()
	rd.cands["iban"] = lay.ibanCandidates(custLines)
	rd.cands["vendor_vat_id"] = lay.vatCandidates(custLines, vendLines)
	return rd
}

// score weighs every candidate and keeps the best of each value.
func (rd *reading) score(w Weights) {
	if rd.all == nil {
		rd.freeze()
	}
	rd.support = map[string]int{}
	rd.cands = map[string][]*Candidate{}
	for _, field := range sortedKeys(rd.all) {
		cs := slices.Clone(rd.all[field])
		for _, c := range cs {
			c.F = c.base
			c.Score = w.score(c.F)
		}
		sortCandidates(cs)
		var keep []*Candidate
		seen := map[string]bool{}
		for _, c := range cs {
			rd.support[c.key()]++
			if seen[c.key()] {
				continue
			}
			seen[c.key()] = true
			keep = append(keep, c)
		}
		rd.cands[field] = keep
	}
}

// freeze keeps the proposed candidates and their features, so the reading
// can be scored and resolved again with other weights (fitting).
func (rd *reading) freeze() {
	rd.all = map[string][]*Candidate{}
	for field, cs := range rd.cands {
		for _, c := range cs {
			c.base = c.F
		}
		rd.all[field] = cs
	}
}

// top returns at most k candidates of a field with a score above the
// threshold, best first, and nil (nothing) last.
func (rd *reading) top(field string, k int, w Weights) []*Candidate {
	var out []*Candidate
	for _, c := range rd.cands[field] {
		if len(out) == k {
			break
		}
		if c.Score > w.Threshold {
			out = append(out, c)
		}
	}
	return append(out, nil)
}

// choice is one joint assignment of a group of fields and its score.
type choice struct {
	picks []*Candidate
	score float64
	notes []string
}

// best runs a search over a group's candidates: every combination is
// scored by the candidates' scores plus the constraints; the best one is
// chosen, and each field's margin is the chosen combination's score minus
// the best score of a combination with another value of that field.
func (rd *reading) best(fields []string, lists [][]*Candidate, constraints func(picks []*Candidate) (float64, []string, []float64)) {
	var all []choice
	var cons [][]float64
	idx := make([]int, len(lists))
	for {
		picks := make([]*Candidate, len(lists))
		s := 0.0
		for i, j := range idx {
			picks[i] = lists[i][j]
			if picks[i] != nil {
				s += picks[i].Score
			}
		}
		if ok := distinctPicks(picks); ok {
			extra, notes, cs := constraints(picks)
			all = append(all, choice{picks: picks, score: s + extra, notes: notes})
			cons = append(cons, cs)
		}
		// next combination (odometer, last list fastest)
		i := len(idx) - 1
		for i >= 0 {
			idx[i]++
			if idx[i] < len(lists[i]) {
				break
			}
			idx[i] = 0
			i--
		}
		if i < 0 {
			break
		}
	}
	if len(all) == 0 {
		return
	}
	bi := 0
	for i := range all {
		if all[i].score > all[bi].score {
			bi = i // strictly better: the first of equals (best candidates first) wins
		}
	}
	b := all[bi]
	for fi, field := range fields {
		c := b.picks[fi]
		if c == nil {
			continue
		}
		rd.chosen[field] = c
		other := math.Inf(-1)
		for _, ch := range all {
			if ch.picks[fi] == nil || ch.picks[fi].key() != c.key() {
				other = max(other, ch.score)
			}
		}
		rd.margin[field] = b.score - other
		if cons[bi] != nil {
			rd.constraint[field] = cons[bi][fi]
		}
		rd.notes[field] = b.notes
	}
}

// distinctPicks: one place is never read as two fields.
func distinctPicks(picks []*Candidate) bool {
	for i, a := range picks {
		for _, b := range picks[i+1:] {
			if a != nil && b != nil && a.line == b.line && a.col == b.col {
				return false
			}
		}
	}
	return true
}

// resolve chooses every field's value: the amounts together (net + tax =
// total, the line items adding up), the dates together (due not before
// issue, both near the document's other dates), the parties together
// (vendor and customer differ), the rest one by one.
func (rd *reading) resolve(w Weights) {
	rd.w = w
	rd.chosen = map[string]*Candidate{}
	rd.margin = map[string]float64{}
	rd.notes = map[string][]string{}
	rd.constraint = map[string]float64{}
	const k = 6
	for _, field := range rd.custom {
		rd.best([]string{field}, [][]*Candidate{rd.top(field, k, w)}, func(p []*Candidate) (float64, []string, []float64) { return 0, nil, nil })
	}
	if !rd.invoice {
		return
	}

	// amounts
	itemsSum, itemsOK := rd.itemsSum()
	cent := decimal.New(1, -2)
	rd.best([]string{"net_amount", "tax_amount", "total_amount"},
		[][]*Candidate{rd.top("net_amount", k, w), rd.top("tax_amount", k, w), rd.top("total_amount", k, w)},
		func(p []*Candidate) (float64, []string, []float64) {
			n, t, x := p[0], p[1], p[2]
			s := 0.0
			var notes []string
			cons := make([]float64, 3)
			switch {
			case n != nil && t != nil && x != nil:
				if n.money.Add(t.money).Sub(x.money).Abs().LessThanOrEqual(cent) {
					s += w.Arithmetic
					notes = append(notes, "net + tax = total")
					cons = []float64{1, 1, 1}
				} else {
					s += w.ArithmeticMiss
					notes = append(notes, "net + tax ≠ total")
					cons = []float64{-1, -1, -1}
				}
			case n != nil && x != nil:
				if n.money.Equal(x.money) {
					s += w.NetIsTotal
					notes = append(notes, "net = total")
				} else if x.money.Abs().LessThan(n.money.Abs()) {
					s += w.TotalBelowNet
					notes = append(notes, "total < net")
					cons[0], cons[2] = -1, -1
				}
			case t != nil && x != nil:
				if t.money.Abs().GreaterThan(x.money.Abs()) {
					s += w.TotalBelowNet
					notes = append(notes, "total < tax")
					cons[1], cons[2] = -1, -1
				}
			}
			if x == nil {
				s += w.NoTotal
			}
			if n != nil && t != nil && !n.money.IsZero() && commonRate(t.money.Div(n.money)) {
				s += w.TaxRate
			}
			if itemsOK {
				switch {
				case n != nil && itemsSum.Sub(n.money).Abs().LessThanOrEqual(cent):
					s += w.ItemsSum
					notes = append(notes, "the line items add up to the net")
					cons[0] = max(cons[0], 1)
				case n == nil && x != nil && itemsSum.Sub(x.money).Abs().LessThanOrEqual(cent):
					s += w.ItemsSum
					notes = append(notes, "the line items add up to the total")
					cons[2] = max(cons[2], 1)
				}
			}
			return s, notes, cons
		})

	// dates
	ref, hasRef := rd.referenceDate()
	rd.best([]string{"issue_date", "due_date"}, [][]*Candidate{rd.top("issue_date", k, w), rd.top("due_date", k, w)},
		func(p []*Candidate) (float64, []string, []float64) {
			is, du := p[0], p[1]
			s := 0.0
			var notes []string
			cons := make([]float64, 2)
			for i, c := range p {
				if c == nil || !hasRef {
					continue
				}
				if d, ok := isoDate(c.Value); ok {
					years := math.Abs(d.Sub(ref).Hours()) / (24 * 365.25)
					if years > 1 {
						s += w.DateFar * (years - 1)
						notes = append(notes, c.Field+" is years away from the document's other dates")
						cons[i] = -1
					}
				}
			}
			if is != nil && du != nil {
				a, okA := isoDate(is.Value)
				b, okB := isoDate(du.Value)
				switch {
				case okA && okB && b.Before(a):
					s += w.DueBeforeIssue
					notes = append(notes, "due date before issue date")
					cons = []float64{-1, -1}
				case okA && okB && b.Sub(a) > 366*24*time.Hour:
					s += w.DueFar
					notes = append(notes, "due date over a year after issue date")
				case okA && okB:
					notes = append(notes, "due date on or after issue date")
					cons = []float64{max(cons[0], 1), max(cons[1], 1)}
				}
			}
			return s, notes, cons
		})

	// parties
	rd.best([]string{"vendor_name", "customer_name"}, [][]*Candidate{rd.top("vendor_name", k, w), rd.top("customer_name", k, w)},
		func(p []*Candidate) (float64, []string, []float64) {
			v, c := p[0], p[1]
			if v != nil && c != nil && rd.lay.key(v.Value) == rd.lay.key(c.Value) {
				return -1000, []string{"vendor and customer are the same name"}, []float64{-1, -1}
			}
			if v != nil && c != nil {
				return 0, []string{"vendor and customer differ"}, nil
			}
			return 0, nil, nil
		})

	// an IBAN or VAT id in the chosen customer's address block is the
	// buyer's
	if c := rd.chosen["customer_name"]; c != nil && len(c.block) > 0 {
		for _, field := range []string{"iban", "vendor_vat_id"} {
			for _, cand := range rd.cands[field] {
				if slices.Contains(c.block, cand.line) && cand.F.OtherParty == 0 {
					cand.F.OtherParty = 1
					cand.Score = w.score(cand.F)
				}
			}
			sortCandidates(rd.cands[field])
		}
	}

	for _, field := range []string{"invoice_number", "iban", "vendor_vat_id"} {
		rd.best([]string{field}, [][]*Candidate{rd.top(field, k, w)}, func(p []*Candidate) (float64, []string, []float64) { return 0, nil, nil })
	}

	// the currency of the chosen amounts
	var amounts []*Candidate
	for _, f := range []string{"total_amount", "net_amount", "tax_amount"} {
		amounts = append(amounts, rd.chosen[f])
	}
	cur := rd.lay.currencyCandidates(amounts...)
	for _, c := range cur {
		// the currency has its own fixed preferences: printed with the
		// total, then the net and tax, then a label, then the most printed
		c.Score = 10*c.F.Strong + 6*c.F.Weak - c.F.Rank + c.F.Unlabelled + 0.5*c.F.Repeated
	}
	sortCandidates(cur)
	rd.cands["currency"] = nil
	seen := map[string]bool{}
	for _, c := range cur {
		rd.support[c.key()]++
		if !seen[c.key()] {
			seen[c.key()] = true
			rd.cands["currency"] = append(rd.cands["currency"], c)
		}
	}
	if len(rd.cands["currency"]) > 0 {
		c := rd.cands["currency"][0]
		rd.chosen["currency"] = c
		rd.margin["currency"] = c.Score
		if len(rd.cands["currency"]) > 1 {
			rd.margin["currency"] = c.Score - rd.cands["currency"][1].Score
		}
	}
}

// itemsSum is the sum of the line items' amounts when every item has one.
func (rd *reading) itemsSum() (decimal.Decimal, bool) {
	if len(rd.items) == 0 {
		return decimal.Zero, false
	}
	sum := decimal.Zero
	for _, it := range rd.items {
		f, ok := it.Fields["amount"]
		if !ok {
			return decimal.Zero, false
		}
		v, _, err := parseMoneyRaw(f.Raw)
		if err != nil {
			return decimal.Zero, false
		}
		sum = sum.Add(v)
	}
	return sum, true
}

// commonRate: a VAT rate in use somewhere (0.055 = 5.5 %), within
// rounding.
func commonRate(r decimal.Decimal) bool {
	x, _ := r.Float64()
	for _, p := range []float64{0.025, 0.05, 0.055, 0.06, 0.07, 0.077, 0.081, 0.085, 0.09, 0.1, 0.12, 0.13, 0.14, 0.145, 0.15, 0.16, 0.17, 0.18, 0.19, 0.2, 0.21, 0.22, 0.23, 0.24, 0.25, 0.27} {
		if math.Abs(x-p) < 0.003 {
			return true
		}
	}
	return false
}

func isoDate(s string) (time.Time, bool) {
	t, err := time.Parse("2006-01-02", s)
	return t, err == nil
}

// referenceDate is the median of the dates printed in the document: a
// date years away from it is implausible for an invoice's own dates.
func (rd *reading) referenceDate() (time.Time, bool) {
	if rd.lay.refDate != nil {
		return *rd.lay.refDate, rd.lay.hasRef
	}
	t, ok := rd.computeReferenceDate()
	rd.lay.refDate, rd.lay.hasRef = &t, ok
	return t, ok
}

func (rd *reading) computeReferenceDate() (time.Time, bool) {
	var ds []time.Time
	for _, l := range rd.lay.Lines {
		for _, d := range rd.lay.Dates(l) {
			if t, ok := isoDate(d.ISO); ok {
				ds = append(ds, t)
			}
		}
	}
	if len(ds) < 2 {
		return time.Time{}, false
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i].Before(ds[j]) })
	return ds[len(ds)/2], true
}

// signals are what the reading knows about a chosen value's chance of
// being right: the inputs of the calibrated confidence.
func (rd *reading) signals(field string) pipeline.Signals {
	c := rd.chosen[field]
	if c == nil {
		return pipeline.Signals{}
	}
	label := 0.0
	switch {
	case c.F.Strong == 1 || c.F.Title == 1 || c.F.Heading == 1:
		label = 1
	case c.F.Weak == 1:
		label = 0.5
	}
	alts := 0
	for _, o := range rd.cands[field] {
		if o.key() != c.key() && o.Score > 0 {
			alts++
		}
	}
	cues := 0
	for _, t := range rd.w.terms(c.F) {
		if t.Weighted > 0 {
			cues++
		}
	}
	return pipeline.Signals{
		Cues:         float64(min(5, cues)),
		Score:        round3(c.Score),
		Margin:       round3(min(20, max(-20, rd.margin[field]))),
		Label:        label,
		Support:      float64(min(3, rd.support[c.key()])),
		Alternatives: float64(min(5, alts)),
		Constraint:   rd.constraint[field],
		Unlabelled:   c.F.Unlabelled,
	}
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// why says in a line how the value was chosen.
func (rd *reading) why(field string) string {
	c := rd.chosen[field]
	if c == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString(c.Source)
	if c.Label != "" {
		b.WriteString(" \"" + c.Label + "\"")
	}
	b.WriteString(", score " + trimFloat(c.Score))
	others := 0
	for _, o := range rd.cands[field] {
		if o.key() != c.key() {
			others++
		}
	}
	if others > 0 {
		b.WriteString(", ahead of " + plural(others, "other value") + " by " + trimFloat(rd.margin[field]))
	}
	if n := rd.notes[field]; len(n) > 0 {
		b.WriteString("; " + strings.Join(slices.Compact(slices.Clone(n)), "; "))
	}
	return b.String()
}

// isLabelValue reports a value that is a label of the lexicon.
func isLabelValue(v string) bool { return lexicon.IsLabel(v) }
