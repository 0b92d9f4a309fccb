package rules

import (
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/extractor-dev/extractor/extract"
	"github.com/extractor-dev/extractor/extract/lexicon"
)

func formatMoney(d decimal.Decimal) string { return extract.FormatMoney(d) }

var (
	currencyWordRe = regexp.MustCompile(`[€$£¥₹]|\b(?:EUR|USD|GBP|CHF|INR|JPY|CAD|AUD|SEK|NOK|DKK|PLN|CZK|HUF|DEM|Rs\.?)(?:\b|$)|\b(?:[Ee]uros?|EUROS?|US [Dd]ollars?|US DOLLARS?|[Dd]ollars?|DOLLARS?|[Pp]ounds? [Ss]terling|[Rr]upees)\b`)
)

// currencyOf maps a printed currency token or word to its ISO code.
func currencyOf(tok string) (string, bool) {
	t := strings.TrimSpace(tok)
	if c, ok := extract.CurrencyCode(t); ok {
		return c, true
	}
	switch strings.ToLower(t) {
	case "euro", "euros":
		return "EUR", true
	case "us dollar", "us dollars", "dollar", "dollars":
		return "USD", true
	case "pound sterling", "pounds sterling":
		return "GBP", true
	case "rupees":
		return "INR", true
	}
	return "", false
}

// currencyHint is a quick test before currencyWordRe: whether s has what
// every match of it has (`[€$£¥₹]|[A-Z]{3}|Rs|uro|ollar|ound|upee`).
func currencyHint(s string) bool {
	if strings.ContainsAny(s, "€$£¥₹") {
		return true
	}
	run := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' {
			if run++; run == 3 {
				return true
			}
		} else {
			run = 0
		}
	}
	for _, w := range [...]string{"Rs", "uro", "ollar", "ound", "upee"} {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// currencyIn returns the first currency symbol, code or word in s.
func currencyIn(s string) (string, bool) {
	if !currencyHint(s) {
		return "", false
	}
	for _, m := range currencyWordRe.FindAllString(s, -1) {
		if c, ok := currencyOf(m); ok {
			return c, true
		}
	}
	return "", false
}

// early is the Early feature of a line: 1 at the top of page 1, falling
// to 0 at its bottom; 0 on later pages.
func (lay *Layout) early(l *Line) float64 {
	if l.Page != 1 {
		return 0
	}
	return 1 - lay.Top(l)
}

// late is the Late feature: the share of the document above the line.
func (lay *Layout) late(l *Line) float64 {
	n := len(lay.Pages)
	if n == 0 {
		return 0
	}
	return (float64(l.Page-1) + lay.Top(l)) / float64(n)
}

// repeated counts the other lines that print v, at most 3.
func (lay *Layout) repeated(v string, except *Line) float64 {
	n := lay.countText(v)
	if except != nil && strings.Contains(except.match(), foldMatch(v)) {
		n--
	}
	return float64(min(3, max(0, n)))
}

// ---------------------------------------------------------------- invoice number

var numberWordRe = regexp.MustCompile(`^(?i)\s*(?:nr\.?|no\.?|n°|nº|#|num\.?|number|nummer|numéro|numero)?\s*[:.]?\s*`)

// numberCandidates proposes invoice numbers: next to an invoice number
// label, after the document's title ("Rechnung Nr. 17", "Invoice
// INV-2024-001"); never a value of an order, customer, delivery or tax
// number label.
func (lay *Layout) numberCandidates() []*Candidate {
	cs := lay.labelled("invoice_number", labelReading{concept: lexicon.InvoiceNumber, read: lay.readIDs, maxCells: 2, below: true})
	for _, l := range lay.Lines {
		if l.Table {
			continue
		}
		for _, h := range l.Labels {
			if h.Concept != lexicon.Title || !atCellStart(l, h) {
				continue
			}
			ci := l.CellAt(h.Start)
			if strings.TrimSpace(l.Sub(h.End, l.Cells[ci].End)) == "" && len(l.Cells) > 2 {
				// a title word heading a column of a row of labels
				// ("Klant  Order  Factuur datum  Factuur"): its value is below
				var f Features
				f.Weak = 1
				cs = append(cs, lay.belowLabel("invoice_number", l, h, labelReading{read: lay.readIDs}, f)...)
			}
			rest := l.Sub(h.End, l.Cells[ci].End)
			col := h.End
			if strings.TrimSpace(rest) == "" && ci+1 < len(l.Cells) {
				rest, col = l.Cells[ci+1].Text, l.Cells[ci+1].Start
			}
			if rest == "" || !strings.HasPrefix(rest, " ") && col == h.End && !strings.HasPrefix(rest, "#") {
				continue // "Invoices", "Rechnungsadresse": not the title
			}
			if strings.HasPrefix(strings.TrimSpace(rest), ":") {
				continue // "Rechnung: ..." is a label of something else
			}
			m := numberWordRe.FindStringIndex(rest)
			off := m[1]
			tok, a, b, ok := lay.readID(rest[off:])
			if !ok {
				continue
			}
			c := &Candidate{Field: "invoice_number", Value: tok, Raw: tok, Page: l.Page, line: l, col: col + runeLen(rest[:off+a]), Source: "title",
				Label: l.Sub(h.Start, h.End), Quote: strings.TrimSpace(l.Sub(h.Start, col+runeLen(rest[:off+b])))}
			c.F.Title = 1
			cs = append(cs, c)
		}
	}
	// values of labels of other numbers are not the invoice's
	other := lay.confusedValues(lay.readIDs, lexicon.OrderNumber, lexicon.CustomerNumber, lexicon.DeliveryNumber, lexicon.TaxNumber, lexicon.CustomerVATID, lexicon.VATID, lexicon.IBAN)
	var keep []*Candidate
	for _, c := range cs {
		if other[c.Value] && c.F.Strong == 0 {
			continue
		}
		c.F.Early = lay.early(c.line)
		c.F.Page = float64(min(3, c.Page-1))
		c.F.Repeated = lay.repeated(c.Value, c.line)
		keep = append(keep, c)
	}
	return keep
}

// confusedValues are the values printed next to labels of the given
// concepts: an order number is not the invoice number.
func (lay *Layout) confusedValues(read reader, concepts ...lexicon.Concept) map[string]bool {
	out := map[string]bool{}
	for _, c := range concepts {
		for _, cand := range lay.labelled("", labelReading{concept: c, read: read, maxCells: 1, below: true}) {
			if cand.F.Strong == 1 {
				out[cand.Value] = true
			}
		}
	}
	return out
}

// ---------------------------------------------------------------- dates

// dateCandidates proposes issue and due dates: next to their labels, and,
// for the issue date, any date printed in the top half of page 1 that no
// other date label claims.
func (lay *Layout) dateCandidates() (issue, due []*Candidate) {
	issue = lay.labelled("issue_date", labelReading{concept: lexicon.IssueDate, read: lay.readDates, maxCells: 2, below: true, sentence: true})
	due = lay.labelled("due_date", labelReading{concept: lexicon.DueDate, read: lay.readDates, maxCells: 2, below: true, sentence: true})
	claimed := map[*Line]map[int]bool{}
	claim := func(cs []*Candidate) {
		for _, c := range cs {
			if claimed[c.line] == nil {
				claimed[c.line] = map[int]bool{}
			}
			claimed[c.line][c.col] = true
		}
	}
	claim(issue)
	claim(due)
	for _, c := range []lexicon.Concept{lexicon.DeliveryDate, lexicon.OrderDate, lexicon.Period} {
		claim(lay.labelled("", labelReading{concept: c, read: lay.readDates, maxCells: 2, below: true, sentence: true}))
	}
	for _, l := range lay.Lines {
		if l.Page != 1 || l.Table || lay.Top(l) > 0.5 {
			continue
		}
		if hasConcept(l, lexicon.Period, lexicon.DeliveryDate, lexicon.OrderDate, lexicon.DueDate) {
			continue
		}
		for _, d := range lay.Dates(l) {
			if claimed[l][d.Start] {
				continue
			}
			c := &Candidate{Field: "issue_date", Value: d.ISO, Raw: dateRaw(l.Sub(d.Start, d.End), d.ISO), Page: l.Page, line: l, col: d.Start, Source: "first date",
				Quote: strings.TrimSpace(l.Sub(d.Start, d.End))}
			if runeLen(c.Quote) < 6 {
				c.Quote = strings.TrimSpace(l.Text)
			}
			c.F.Unlabelled = 1
			issue = append(issue, c)
			break
		}
	}
	for _, cs := range [][]*Candidate{issue, due} {
		for _, c := range cs {
			c.F.Early = lay.early(c.line)
			c.F.Page = float64(min(3, c.Page-1))
		}
	}
	return issue, due
}

func hasConcept(l *Line, cs ...lexicon.Concept) bool {
	for _, h := range l.Labels {
		for _, c := range cs {
			if h.Concept == c {
				return true
			}
		}
	}
	return false
}

// ---------------------------------------------------------------- amounts

// amountCandidates proposes totals, nets and taxes: every amount right of
// or under their labels, and the amounts of a totals table under column
// headers that name them.
func (lay *Layout) amountCandidates() (net, tax, total []*Candidate) {
	read := func(c lexicon.Concept, field string) []*Candidate {
		return lay.labelled(field, labelReading{concept: c, read: lay.readMoney, maxCells: 4, below: true, many: true})
	}
	net, tax, total = read(lexicon.Net, "net_amount"), read(lexicon.Tax, "tax_amount"), read(lexicon.Total, "total_amount")
	cn, ct, cx := lay.columnAmounts()
	net, tax, total = append(net, cn...), append(tax, ct...), append(total, cx...)
	for _, cs := range [][]*Candidate{net, tax, total} {
		for _, c := range cs {
			c.F.Late = lay.late(c.line)
			if c.currency != "" {
				c.F.Currency = 1
			}
			if c.money.IsZero() {
				c.F.Zero = 1
			}
		}
	}
	return net, tax, total
}

// columnAmounts reads totals tables: a row of amounts under a header whose
// labels name net, tax and total ("Net  VAT  Total" / "Grondslag  BTW
// bedrag  Totaal"); each amount goes to the field of the header label
// above it. The header must name two of the three, one of them with a
// strong label, or the row must be labelled as a total.
func (lay *Layout) columnAmounts() (net, tax, total []*Candidate) {
	fieldOf := map[lexicon.Concept]string{lexicon.Net: "net_amount", lexicon.Tax: "tax_amount", lexicon.Total: "total_amount"}
	for _, l := range lay.Lines {
		if l.Table {
			continue
		}
		ams := lay.Amounts(l)
		var money []Amount
		for _, m := range ams {
			if moneyLike(m) {
				money = append(money, m)
			}
		}
		if len(money) < 2 {
			continue
		}
		rowTotal := false
		if len(l.Labels) > 0 && l.Labels[0].Concept == lexicon.Total && atCellStart(l, l.Labels[0]) {
			rowTotal = true
		}
		lines := lay.Pages[l.Page-1]
		for k := l.Pos - 1; k >= 0 && k >= l.Pos-3; k-- {
			hl := lines[k]
			var heads []lexicon.Hit
			strong := false
			kinds := map[lexicon.Concept]bool{}
			for _, h := range hl.Labels {
				if _, ok := fieldOf[h.Concept]; ok {
					heads = append(heads, h)
					kinds[h.Concept] = true
					strong = strong || h.Strength == lexicon.Strong
				}
			}
			if len(kinds) < 2 || !(strong || rowTotal) {
				if len(lay.Amounts(hl)) > 0 && len(heads) == 0 {
					break // another row of numbers: not a header
				}
				continue
			}
			for _, m := range money {
				// the header label whose span is closest to the amount's
				best, bestD := -1, 1<<30
				for i, h := range heads {
					d := 0
					if m.End <= h.Start {
						d = h.Start - m.End
					} else if m.Start >= h.End {
						d = m.Start - h.End
					}
					if d < bestD {
						best, bestD = i, d
					}
				}
				if best < 0 || bestD > 6 {
					continue
				}
				h := heads[best]
				c := &Candidate{Field: fieldOf[h.Concept], Value: formatMoney(m.Value), Raw: m.Raw, Page: l.Page, line: l, col: m.Start, Source: "totals table",
					Label: hl.Sub(h.Start, h.End), Quote: m.Raw, money: m.Value, currency: m.Currency}
				if runeLen(c.Quote) < 4 {
					c.Quote = strings.TrimSpace(l.Sub(0, m.End))
				}
				labelFeatures(hl, h, &c.F)
				c.F.Column = 1
				c.F.Below = 1
				c.F.Gap = float64(l.Pos - k - 1)
				switch c.Field {
				case "net_amount":
					net = append(net, c)
				case "tax_amount":
					tax = append(tax, c)
				default:
					total = append(total, c)
				}
			}
			break
		}
	}
	return net, tax, total
}

// ---------------------------------------------------------------- currency

// currencyCandidates proposes the currency: printed with the chosen total
// (or net, tax), on its line, next to a currency label, or the one the
// document prints most.
func (lay *Layout) currencyCandidates(amounts ...*Candidate) []*Candidate {
	var out []*Candidate
	for i, a := range amounts {
		if a == nil {
			continue
		}
		if a.currency != "" {
			c := &Candidate{Field: "currency", Value: a.currency, Raw: a.currency, Page: a.Page, line: a.line, col: a.col, Source: "with the " + strings.TrimSuffix(a.Field, "_amount"), Quote: a.Quote}
			c.F.Strong = 1
			c.F.Rank = float64(i)
			out = append(out, c)
			continue
		}
		if cur, ok := currencyIn(a.line.Text); ok {
			c := &Candidate{Field: "currency", Value: cur, Raw: cur, Page: a.Page, line: a.line, Source: "on the " + strings.TrimSuffix(a.Field, "_amount") + "'s line", Quote: strings.TrimSpace(a.line.Text)}
			c.F.Weak = 1
			c.F.Rank = float64(i)
			out = append(out, c)
		}
	}
	for _, c := range lay.documentCurrencies() {
		cp := *c
		out = append(out, &cp)
	}
	return out
}

// documentCurrencies are the currency candidates that do not depend on the
// chosen amounts (a currency label; the currencies printed, by count),
// computed once per document.
func (lay *Layout) documentCurrencies() []*Candidate {
	if lay.currencies != nil {
		return *lay.currencies
	}
	var out []*Candidate
	counts := map[string]int{}
	first := map[string]*Line{}
	for _, l := range lay.Lines {
		if _, ok := l.label(lexicon.Currency); ok {
			if cur, ok := currencyIn(l.Text); ok {
				c := &Candidate{Field: "currency", Value: cur, Raw: cur, Page: l.Page, line: l, Source: "label", Quote: strings.TrimSpace(l.Text)}
				c.F.Weak = 1
				c.F.Rank = 3
				out = append(out, c)
			}
		}
		for _, m := range lay.Amounts(l) {
			if m.Currency != "" {
				counts[m.Currency]++
				if first[m.Currency] == nil {
					first[m.Currency] = l
				}
			}
		}
		if !currencyHint(l.Text) {
			continue
		}
		for _, w := range currencyWordRe.FindAllString(l.Text, -1) {
			if cur, ok := currencyOf(w); ok && utf8.RuneCountInString(w) > 3 {
				counts[cur]++
				if first[cur] == nil {
					first[cur] = l
				}
			}
		}
	}
	for _, cur := range sortedKeys(counts) {
		l := first[cur]
		c := &Candidate{Field: "currency", Value: cur, Raw: cur, Page: l.Page, line: l, Source: "printed in the document", Quote: strings.TrimSpace(l.Text)}
		c.F.Unlabelled = 1
		c.F.Repeated = float64(min(3, counts[cur]-1))
		out = append(out, c)
	}
	lay.currencies = &out
	return out
}

// ---------------------------------------------------------------- IBAN and VAT id

var debitRe = regexp.MustCompile(`lastschrift|abgebucht|einzug|debit|prelev|sepa\s*-?\s*mandat|your\s*account|ihr(?:em)?\s*konto|votre\s*compte|uw\s*rekening|domiciliering|incasso`)

// ibanCandidates proposes the IBANs printed in the document.
func (lay *Layout) ibanCandidates(customerLines map[*Line]bool) []*Candidate {
	var out []*Candidate
	for k, l := range lay.Lines {
		for _, ib := range ibansIn(l.Text) {
			a := runeLen(l.Text[:ib.a])
			start := ib.a
			if i := strings.Index(strings.ToUpper(l.Text[:ib.a]), "IBAN"); i >= 0 && ib.a-i < 14 {
				start = i
			}
			c := &Candidate{Field: "iban", Value: ib.id, Raw: ib.id, Page: l.Page, line: l, col: a, Source: "pattern", Quote: strings.TrimSpace(l.Text[start:ib.b])}
			ctx := string(l.Fold)
			if k > 0 && lay.Lines[k-1].Page == l.Page {
				ctx = string(lay.Lines[k-1].Fold) + " " + ctx
			}
			if strings.Contains(ctx, "iban") {
				c.F.Strong = 1
			} else {
				c.F.Unlabelled = 1
			}
			if debitRe.MatchString(ctx) {
				c.F.Debit = 1
			}
			if customerLines[l] {
				c.F.OtherParty = 1
			}
			c.F.Page = float64(min(3, l.Page-1))
			out = append(out, c)
		}
	}
	return out
}

// vatCandidates proposes the VAT ids printed in the document; a VAT label
// before the id or above it makes it the seller's, a buyer's label ("Your
// VAT no.", "N° TVA client") or the customer's block the buyer's.
func (lay *Layout) vatCandidates(customerLines, vendorLines map[*Line]bool) []*Candidate {
	var out []*Candidate
	for k, l := range lay.Lines {
		ids := vatIDsIn(l.Text)
		if len(ids) == 0 {
			continue
		}
		ibans := ibansIn(l.Text)
		for _, id := range ids {
			inIBAN := false
			for _, ib := range ibans {
				if id.a < ib.b && id.b > ib.a {
					inIBAN = true
				}
			}
			if inIBAN {
				continue
			}
			col := runeLen(l.Text[:id.a])
			c := &Candidate{Field: "vendor_vat_id", Value: id.id, Raw: id.id, Page: l.Page, line: l, col: col, Source: "pattern", Quote: strings.TrimSpace(l.Text[id.a:id.b])}
			labelled := false
			for _, h := range l.Labels {
				if h.End > col || col-h.End > 30 {
					continue
				}
				switch h.Concept {
				case lexicon.VATID, lexicon.TaxNumber:
					if h.Concept == lexicon.VATID {
						labelled = true
						if h.Strength == lexicon.Strong {
							c.F.Strong = 1
						} else {
							c.F.Weak = 1
						}
						c.Label = l.Sub(h.Start, h.End)
					}
				case lexicon.CustomerVATID:
					c.F.OtherParty = 1
					labelled = true
				}
			}
			if !labelled && k > 0 && lay.Lines[k-1].Page == l.Page {
				above := lay.Lines[k-1]
				for _, h := range above.Labels {
					if h.Start > col+6 || h.End < col-6 {
						continue
					}
					switch h.Concept {
					case lexicon.VATID:
						c.F.Strong, c.F.Below = 1, 1
						c.Label = above.Sub(h.Start, h.End)
						labelled = true
					case lexicon.CustomerVATID:
						c.F.OtherParty = 1
						labelled = true
					}
				}
			}
			if !labelled {
				c.F.Unlabelled = 1
			}
			if customerLines[l] {
				c.F.OtherParty = 1
			}
			if vendorLines[l] {
				c.F.Heading = 1
			}
			c.F.Page = float64(min(3, l.Page-1))
			out = append(out, c)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
