package rules

import (
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/extractor-dev/extractor/extract/lexicon"
)

var (
	legalFormRe = lexicon.LegalForm
	postalRe    = regexp.MustCompile(`(?:^|\s)(?:[A-Z]{1,2}[- ])?\d{4,5}\s+\p{Lu}[\p{L}.'-]+|\b\d{4}\s?[A-Z]{2}\s+\p{Lu}|\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}\b|,?\s+[A-Z]{2}\s+\d{5}(?:-\d{4})?\b|\b\p{Lu}\p{L}+\s*[-–]?\s*\d{6}\b|\b\d{3}\s\d{3}\b|\b\p{Lu}{2}\s+\d{5}\b`)
	streetRe    = regexp.MustCompile(`(?i)(?:^\d+[a-z]?,?\s+\p{L}|\s\d+\s*[a-z]?$|stra(?:ss|ß)e|str\.|weg\b|allee|platz|gasse|ring\b|damm\b|street|\bst\.?$|\bst\s|road|\brd\.?|avenue|\bave\.?|lane|drive|way\b|boulevard|\bblvd|\brue\b|chemin|place|quai|impasse|all[ée]e|route|\bpo\s*box|postfach|\bbp\s*\d|cedex|suite|floor|\bcalle\b|\bvia\b|\bstraat\b|laan\b|plein\b|gracht\b)`)
	contactRe   = regexp.MustCompile(`(?i)@|www\.|https?:|\btel\b|\btel\.|phone|\bfax\b|\bmobil|e-?mail|\biban\b|\bbic\b|swift|\bhrb?\s*\d|amtsgericht|registergericht|\bsiret\b|\brcs\b|geschaftsfuhr|geschäftsführ|director|\bceo\b|ust-?id|\btva\b|page\s*\d|seite\s*\d|\.com\b|\.de\b|\.fr\b|\.nl\b`)
	sepRe       = regexp.MustCompile(`\s*[·•●|▪∙]\s*|\s+[-–—]\s+`)
	domainRe    = regexp.MustCompile(`(?i)(?:@|www\.|https?://(?:www\.)?)([a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*)\.(?:[a-z]{2,6})\b`)
	salutRe     = regexp.MustCompile(`(?i)^(?:attn\.?:?|attention:?|z\.\s?hd\.?|c/o|t\.a\.v\.?|à l'attention de|a l'attention de|herrn?|frau|mr\.?|mrs\.?|ms\.?|m\.|mme)\s+`)
	// salutLineRe: a line that is only a salutation ("Firma", "Herrn").
	salutLineRe = regexp.MustCompile(`(?i)^(?:attn\.?|attention|z\.\s?hd\.?|c/o|t\.a\.v\.?|herrn?|frau|firma|mr\.?|mrs\.?|ms\.?|m\.|mme|monsieur|madame|société|sr\.?|sra\.?|spett\.?le)\s*:?$`)
	titleSuffix = regexp.MustCompile(`(?i)\s+(?:tax\s+)?(?:invoice|rechnung|facture|factuur|fattura|factura|receipt|bill)\s*$`)
)

// hasPostal reports a postal code in s (a cheap test first: a run of three
// digits, or a British postcode's letter-digit pairs).
func hasPostal(s string) bool {
	run, mixed := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			run++
			if run >= 3 {
				return postalRe.MatchString(s)
			}
			if i > 0 && s[i-1] >= 'A' && s[i-1] <= 'Z' {
				mixed = true
			}
		default:
			run = 0
		}
	}
	return mixed && postalRe.MatchString(s)
}

// nameLike scores a text as an organisation or person name: 0 when it
// cannot be one (an address, a label, contact data, a title, an amount).
func nameLike(s string) float64 {
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	if n < 2 || n > 80 {
		return 0
	}
	// The cheap tests first: most texts fail one of them.
	if strings.HasSuffix(s, ":") || strings.Contains(s, ": ") || strings.HasPrefix(s, "(") || strings.HasPrefix(s, "*") || strings.HasPrefix(s, "#") ||
		strings.ContainsAny(s, "€$£¥₹") {
		return 0
	}
	letters, digits := 0, 0
	for _, r := range s {
		switch {
		case unicode.IsLetter(r):
			letters++
		case unicode.IsDigit(r):
			digits++
		}
	}
	if letters < 2 || digits > 2 && digits*3 > letters || len(strings.Fields(s)) > 8 {
		return 0
	}
	f := lexicon.Fold(s)
	if strings.Contains(f, "capital") || strings.Contains(f, "kapital") || contactRe.MatchString(f) {
		return 0
	}
	legal := legalFormRe.MatchString(s)
	if r, _ := utf8.DecodeRuneInString(s); (unicode.IsDigit(r) || unicode.IsLower(r)) && !legal {
		return 0
	}
	if hasPostal(s) || streetRe.MatchString(s) && !legal {
		return 0
	}
	if lexicon.IsLabel(s) || digits > 0 && lexicon.IsLabel(strings.Map(func(r rune) rune {
		if unicode.IsDigit(r) || r == '%' {
			return -1
		}
		return r
	}, s)) {
		return 0 // "VAT 20%": a label with its rate is no name
	}
	if _, isCur := currencyOf(s); isCur {
		return 0
	}
	if countries[strings.Trim(f, " .,")] {
		return 0
	}
	if m := legalFormRe.FindString(" " + s + " "); strings.TrimSpace(m) != "" && len(strings.TrimSpace(m)) >= len(s)-1 {
		return 0 // "GmbH" alone
	}
	if legal {
		return 2
	}
	return 1
}

// nameLike is nameLike memoized for the document.
func (lay *Layout) nameLike(s string) float64 {
	if lay.names == nil {
		lay.names = map[string]float64{}
	}
	v, ok := lay.names[s]
	if !ok {
		v = nameLike(s)
		lay.names[s] = v
	}
	return v
}

// cleanName strips a salutation ("Attn:", "Firma"), a title after the
// name ("Amazon Web Services Invoice") and trailing punctuation.
func cleanName(s string) string {
	s = strings.TrimSpace(s)
	s = salutRe.ReplaceAllString(s, "")
	s = titleSuffix.ReplaceAllString(s, "")
	s = strings.TrimRight(s, ",;:·-–")
	return strings.Join(strings.Fields(s), " ")
}

// nameKey is a name without its legal form, folded, letters and digits
// only: what a domain name would spell.
func nameKey(s string) string { return lexicon.NameKey(s) }

// partyFinder collects the vendor and customer candidates of a document.
type partyFinder struct {
	lay       *Layout
	vendor    []*Candidate
	customer  []*Candidate
	domains   []string
	senders   map[*Line]Cell // sender lines above an address window, and their cell
	custLines map[*Line]bool // lines under a customer heading
	vendLines map[*Line]bool // lines under a vendor heading
	blocks    []addrBlock
}

type addrBlock struct {
	name  *Line
	cell  Cell
	lines []*Line
}

// partyCandidates proposes vendor and customer names.
func (lay *Layout) partyCandidates() (vendor, customer []*Candidate, custLines, vendLines map[*Line]bool) {
	pf := &partyFinder{lay: lay, senders: map[*Line]Cell{}, custLines: map[*Line]bool{}, vendLines: map[*Line]bool{}}
	pf.findDomains()
	pf.headings()
	pf.senderLines()
	pf.window()
	pf.addressBlocks()
	pf.letterhead()
	pf.legalLines()
	for _, cs := range [][]*Candidate{pf.vendor, pf.customer} {
		for _, c := range cs {
			c.F.Repeated = lay.repeated(c.Value, c.line)
			if legalFormRe.MatchString(c.Value) {
				c.F.LegalForm = 1
			}
			key := nameKey(c.Value)
			for _, d := range pf.domains {
				switch {
				case key != "" && key == d:
					c.F.DomainMatch = 1
				case len(d) >= 4 && strings.HasPrefix(key, d) && firstWordKey(c.Value) == d:
					c.F.DomainMatch = max(c.F.DomainMatch, 0.5)
				}
			}
			if c.F.LegalForm == 0 && personLike(c.Value) {
				c.F.Person = 1
			}
			if c.F.LegalForm == 0 && brandLike(c.Value) {
				c.F.Brand = 1
			}
			c.F.Early = lay.early(c.line)
			c.F.Page = float64(min(3, c.Page-1))
		}
	}
	return pf.vendor, pf.customer, pf.custLines, pf.vendLines
}

func firstWordKey(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return nameKey(f[0])
}

// personLike: two or three capitalised words, no digits.
func personLike(s string) bool {
	ws := strings.Fields(s)
	if len(ws) < 2 || len(ws) > 3 {
		return false
	}
	for _, w := range ws {
		r, _ := utf8.DecodeRuneInString(w)
		if !unicode.IsUpper(r) || strings.IndexFunc(w, unicode.IsDigit) >= 0 {
			return false
		}
	}
	return true
}

// brandLike: a logo printed as text, one word in capitals ("ACME") or
// letter-spaced ("A C M E"), not a company's full name.
func brandLike(s string) bool {
	f := strings.Fields(s)
	if len(f) > 1 {
		for _, w := range f {
			if runeLen(w) != 1 {
				return false
			}
		}
		return true
	}
	return len(f) == 1 && strings.ToUpper(s) == s && runeLen(s) >= 3
}

// findDomains collects the second-level names of the document's e-mail
// addresses and web sites ("aubonmoulin" of www.aubonmoulin.fr).
func (pf *partyFinder) findDomains() {
	seen := map[string]bool{}
	for _, l := range pf.lay.Lines {
		for _, m := range domainRe.FindAllStringSubmatch(string(l.Fold), -1) {
			parts := strings.Split(m[1], ".")
			d := strings.ReplaceAll(parts[len(parts)-1], "-", "")
			if len(d) >= 3 && !seen[d] && !genericDomain[d] {
				seen[d] = true
				pf.domains = append(pf.domains, d)
			}
		}
	}
	slices.Sort(pf.domains)
}

var genericDomain = map[string]bool{"gmail": true, "yahoo": true, "hotmail": true, "outlook": true, "gmx": true, "web": true, "example": true, "localhost": true, "tcpdf": true, "orange": true, "free": false}

func (pf *partyFinder) add(field string, text string, l *Line, col int, quote, source string, f Features) *Candidate {
	name := cleanName(text)
	if pf.lay.nameLike(name) == 0 {
		return nil
	}
	c := &Candidate{Field: field, Value: name, Raw: name, Page: l.Page, line: l, col: col, Quote: strings.TrimSpace(quote), Source: source, F: f}
	if !strings.Contains(foldMatch(c.Quote), foldMatch(name)) {
		c.Quote = strings.TrimSpace(text)
	}
	if field == "vendor_name" {
		pf.vendor = append(pf.vendor, c)
	} else {
		pf.customer = append(pf.customer, c)
	}
	return c
}

// headings reads the names under or after party headings: "Bill to",
// "Rechnungsempfänger", "Client" for the customer, "Seller", "Remit to",
// "Lieferant" for the vendor, "Ship to" (weakly) for the customer.
func (pf *partyFinder) headings() {
	lay := pf.lay
	for _, l := range lay.Lines {
		if l.Table {
			continue
		}
		for _, h := range l.Labels {
			var field string
			var f Features
			switch h.Concept {
			case lexicon.Customer:
				field = "customer_name"
			case lexicon.ShipTo:
				field = "customer_name"
				f.OtherParty = 0.5
			case lexicon.Vendor:
				field = "vendor_name"
			default:
				continue
			}
			labelFeatures(l, h, &f)
			f.Heading = 1
			pointing := pointingLabel(l.FoldSub(h.Start, h.End))
			colon := strings.HasPrefix(strings.TrimLeft(l.Sub(h.End, len(l.Runes)), " "), ":")
			if f.InSentence == 1 && !pointing && !colon {
				continue
			}
			ci := l.CellAt(h.Start)
			cell := l.Cells[ci]
			after := l.Sub(h.End, cell.End)
			rest := strings.TrimLeft(after, " :.-")
			lines := pf.custLines
			if field == "vendor_name" {
				lines = pf.vendLines
			}
			if h.Concept == lexicon.ShipTo {
				lines = map[*Line]bool{}
			}
			if strings.TrimSpace(rest) != "" {
				// "Bill to: ACME Ltd", "Sold By : WS Retail Services Pvt. Ltd.,"
				if !strings.HasPrefix(strings.TrimLeft(after, " "), ":") && !pointing {
					continue
				}
				name := rest
				if pf.lay.nameLike(cleanName(name)) == 0 {
					name = strings.SplitN(sepRe.Split(rest, 2)[0], ",", 2)[0]
				}
				if c := pf.add(field, name, l, h.End, l.Sub(h.Start, cell.End), "heading", f); c != nil {
					lines[l] = true
				}
				continue
			}
			// the next cell on the line
			if ci+1 < len(l.Cells) {
				nc := l.Cells[ci+1]
				if !labelish(l, nc) {
					if c := pf.add(field, nc.Text, l, nc.Start, l.Sub(h.Start, nc.End), "heading", f); c != nil {
						lines[l] = true
						continue
					}
				}
			}
			// below, in the heading's column: the first name-like line,
			// skipping labels and salutations ("Name:", "Firma")
			page := lay.Pages[l.Page-1]
			span := Cell{Start: cell.Start, End: max(cell.End, cell.Start+20)}
			for k := l.Pos + 1; k < len(page) && k <= l.Pos+4; k++ {
				b := page[k]
				if lay.Gap(l, b) > 4 {
					break
				}
				cl, ok := blockCell(b, span)
				if !ok {
					continue
				}
				if c := pf.add(field, cl.Text, b, cl.Start, cl.Text, "heading below", f); c != nil {
					c.F.Gap = float64(k - l.Pos - 1)
					for j := k; j < len(page) && j <= k+5; j++ {
						if _, ok := blockCell(page[j], cl); ok {
							lines[page[j]] = true
						}
					}
					break
				}
				if !labelish(b, cl) && !salutation(cl.Text) {
					break
				}
			}
		}
	}
}

// pointingLabel: a party heading that reads on into the name ("Bill to
// ACME", "Sold by ACME", "in favour of ACME").
func pointingLabel(folded string) bool {
	for _, s := range []string{" to", " by", " of", " an", " a", " de", "from"} {
		if strings.HasSuffix(folded, s) {
			return true
		}
	}
	return false
}

func salutation(s string) bool { return salutLineRe.MatchString(strings.TrimSpace(s)) }

// blockCell returns the cell of l that lines up with column span c: left
// aligned with it, or right aligned (a block set flush right).
func blockCell(l *Line, c Cell) (Cell, bool) {
	for _, cl := range l.Cells {
		if min(cl.End, c.End)-max(cl.Start, c.Start) > 0 && (absInt(cl.Start-c.Start) <= max(4, (c.End-c.Start)/2) || absInt(cl.End-c.End) <= 2) {
			return cl, true
		}
	}
	return Cell{}, false
}

func absInt(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// senderLines reads "ACME GmbH · Street 1 · 12345 City" lines: the first
// part names the sender. Above an address window (top of page 1, with a
// postal code) it is the vendor's sender line.
func (pf *partyFinder) senderLines() {
	lay := pf.lay
	for _, l := range lay.Lines {
		for _, c := range l.Cells {
			parts := sepRe.Split(c.Text, -1)
			if len(parts) < 2 {
				continue
			}
			hasAddr, postal := false, false
			for _, p := range parts[1:] {
				if hasPostal(p) {
					postal = true
				}
				if postal || streetRe.MatchString(p) || contactRe.MatchString(lexicon.Fold(p)) {
					hasAddr = true
				}
			}
			if !hasAddr {
				continue
			}
			var f Features
			source := "legal line"
			if l.Page == 1 && lay.Top(l) < 0.45 && postal {
				f.SenderLine = 1
				source = "sender line"
				pf.senders[l] = c
			} else {
				f.LegalLine = 1
			}
			pf.add("vendor_name", parts[0], l, c.Start, c.Text, source, f)
		}
	}
}

// addressBlocks finds blocks ending in a postal line with a name at their
// top on page 1. A block right under a sender line is in the address
// window: the addressee's (a cue for the customer, against the vendor).
// Of several blocks, the first one that no heading or window claims is
// likely the sender's own (a cue against the customer).
func (pf *partyFinder) addressBlocks() {
	lay := pf.lay
	if len(lay.Pages) == 0 {
		return
	}
	lines := lay.Pages[0]
	seen := map[*Line]bool{}
	for k, l := range lines {
		if l.Table || lay.Top(l) > 0.6 {
			continue // footers hold the sender's details, never an addressee
		}
		for ci, c := range l.Cells {
			if !hasPostal(c.Text) || sepRe.MatchString(c.Text) || runeLen(c.Text) > 60 {
				continue
			}
			block := pf.block(lines, k, ci)
			for i, bl := range block {
				if bl.Pos > l.Pos {
					break
				}
				cl, ok := blockCell(bl, c)
				if !ok {
					continue
				}
				if pf.lay.nameLike(cleanName(cl.Text)) == 0 || salutation(cl.Text) {
					continue
				}
				// A lone word over a company name is a heading, or one OCR
				// garbled ("Bill to" read as "Billo"), not the name.
				if i+1 < len(block) && block[i+1].Pos <= l.Pos && !strings.Contains(strings.TrimSpace(cl.Text), " ") && !legalFormRe.MatchString(cl.Text) {
					if next, ok := blockCell(block[i+1], c); ok && legalFormRe.MatchString(next.Text) && pf.lay.nameLike(cleanName(next.Text)) > 0 {
						bl, cl = block[i+1], next
					}
				}
				if !seen[bl] {
					seen[bl] = true
					pf.blocks = append(pf.blocks, addrBlock{name: bl, cell: cl, lines: block})
				}
				break
			}
		}
	}
	firstFree := true
	for _, b := range pf.blocks {
		windowed := false
		for j := b.lines[0].Pos - 1; j >= 0 && j >= b.lines[0].Pos-2; j-- {
			if _, ok := pf.senders[lines[j]]; ok {
				windowed = true
			}
		}
		underCustomer, underVendor := false, false
		for _, bl := range b.lines {
			underCustomer = underCustomer || pf.custLines[bl]
			underVendor = underVendor || pf.vendLines[bl]
		}
		if windowed {
			for _, bl := range b.lines {
				pf.custLines[bl] = true
			}
		}
		var fv, fc Features
		fv.Block, fc.Block = 1, 1
		switch {
		case windowed:
			fc.Window, fv.OtherParty = 1, 1
		case underCustomer:
			fv.OtherParty = 1
		case underVendor:
			fc.OtherParty = 1
		case firstFree && len(pf.blocks) > 1:
			fc.OtherParty = 0.5
		}
		if !windowed && !underCustomer && !underVendor {
			firstFree = false
		}
		if v := pf.add("vendor_name", b.cell.Text, b.name, b.cell.Start, b.cell.Text, "address block", fv); v != nil {
			v.block = b.lines
		}
		if cu := pf.add("customer_name", b.cell.Text, b.name, b.cell.Start, b.cell.Text, "address block", fc); cu != nil {
			cu.block = b.lines
		}
	}
}

// block collects the lines of the address block holding line k's cell ci,
// upwards and downwards while cells line up and lines are close.
func (pf *partyFinder) block(lines []*Line, k, ci int) []*Line {
	lay := pf.lay
	c := lines[k].Cells[ci]
	block := []*Line{lines[k]}
	for j := k - 1; j >= 0 && j >= k-5; j-- {
		if lay.Gap(lines[j], lines[j+1]) > 1.3 {
			break
		}
		cl, ok := blockCell(lines[j], c)
		if _, sender := pf.senders[lines[j]]; sender {
			break
		}
		if !ok {
			// a line of the column beside: skip it while the block's
			// lines stay close
			if j > 0 && lay.Gap(lines[j-1], block[0]) <= 2.6 {
				continue
			}
			break
		}
		if len(sepRe.Split(cl.Text, 3)) > 1 {
			break
		}
		if hasPostal(cl.Text) || labelish(lines[j], cl) && !salutation(cl.Text) {
			break
		}
		block = append([]*Line{lines[j]}, block...)
	}
	for j := k + 1; j < len(lines) && j <= k+3; j++ {
		if lay.Gap(block[len(block)-1], lines[j]) > 1.3 {
			break
		}
		if _, ok := blockCell(lines[j], c); !ok {
			continue
		}
		block = append(block, lines[j])
	}
	return block
}

// window reads the address window: the first name under a sender line,
// in its column, is the addressee's (a customer cue, and a cue against
// the vendor); the lines under it are the customer's.
func (pf *partyFinder) window() {
	lay := pf.lay
	for _, s := range sortedLines(pf.senders) {
		sc := pf.senders[s]
		page := lay.Pages[s.Page-1]
		col := Cell{Start: sc.Start, End: sc.Start + 30}
		for k := s.Pos + 1; k < len(page) && k <= s.Pos+3; k++ {
			b := page[k]
			if lay.Gap(s, b) > 3 {
				break
			}
			cl, ok := blockCell(b, col)
			if !ok || absInt(cl.Start-sc.Start) > 6 || salutation(cl.Text) {
				continue
			}
			var fc, fv Features
			fc.Window, fc.Block = 1, 1
			fv.OtherParty = 1
			c := pf.add("customer_name", cl.Text, b, cl.Start, cl.Text, "address window", fc)
			pf.add("vendor_name", cl.Text, b, cl.Start, cl.Text, "address window", fv)
			if c == nil {
				break
			}
			last := b
			for j := k; j < len(page) && j <= k+7; j++ {
				if lay.Gap(last, page[j]) > 2.6 {
					break
				}
				if _, ok := blockCell(page[j], col); ok {
					pf.custLines[page[j]] = true
					c.block = append(c.block, page[j])
					last = page[j]
				}
			}
			break
		}
	}
}

// sortedLines returns a map's lines in reading order.
func sortedLines[V any](m map[*Line]V) []*Line {
	ls := make([]*Line, 0, len(m))
	for l := range m {
		ls = append(ls, l)
	}
	slices.SortFunc(ls, func(a, b *Line) int { return a.Seq - b.Seq })
	return ls
}

// letterhead proposes the name-like cells at the top of page 1 as the
// vendor, larger print first.
func (pf *partyFinder) letterhead() {
	lay := pf.lay
	if len(lay.Pages) == 0 {
		return
	}
	for k, l := range lay.Pages[0] {
		if k > 12 || lay.Top(l) > 0.3 && k > 3 {
			break
		}
		if l.Table {
			continue
		}
		for _, c := range l.Cells {
			if pf.custLines[l] && pf.inWindow(l, c) {
				continue
			}
			var f Features
			f.Letterhead = 1
			f.Font = lay.Font(l)
			if len(l.Cells) > 2 {
				f.Font = 0
			}
			pf.add("vendor_name", c.Text, l, c.Start, c.Text, "letterhead", f)
		}
	}
}

// inWindow reports whether cell c of l lines up with a sender line's
// column (the address window under it).
func (pf *partyFinder) inWindow(l *Line, c Cell) bool {
	for s, sc := range pf.senders {
		if s.Page == l.Page && s.Pos < l.Pos && absInt(c.Start-sc.Start) <= 6 {
			return true
		}
	}
	return len(pf.senders) == 0
}

// legalLines reads the company named in legal small print: before "au
// capital de", "Sitz", "Registered office", or in "sold by X".
func (pf *partyFinder) legalLines() {
	lay := pf.lay
	for _, l := range lay.Lines {
		if l.Table {
			continue
		}
		for _, h := range l.Hits {
			if h.Concept != lexicon.Capital && h.Concept != lexicon.TaxNumber && h.Concept != lexicon.LegalInfo {
				continue
			}
			ci := l.CellAt(h.Start)
			if ci < 0 {
				continue
			}
			before := strings.TrimSpace(l.Sub(l.Cells[ci].Start, h.Start))
			parts := sepRe.Split(before, -1)
			name := strings.TrimSpace(parts[len(parts)-1])
			name = strings.TrimSuffix(strings.TrimSpace(strings.TrimSuffix(name, ",")), " au")
			if !legalFormRe.MatchString(name) || pf.lay.nameLike(cleanName(name)) == 0 {
				// the company on the line above the legal small print
				// ("NETPRESSE" over "Siège social : ...")
				page := pf.lay.Pages[l.Page-1]
				if l.Pos == 0 || pf.lay.Top(l) < 0.5 {
					continue
				}
				above := page[l.Pos-1]
				if len(above.Cells) != 1 || pf.lay.Gap(above, l) > 1.5 {
					continue
				}
				var f Features
				f.LegalLine = 1
				pf.add("vendor_name", above.Cells[0].Text, above, above.Cells[0].Start, above.Cells[0].Text, "above a legal line", f)
				break
			}
			var f Features
			f.LegalLine = 1
			pf.add("vendor_name", name, l, l.Cells[ci].Start, l.Sub(l.Cells[ci].Start, h.Start), "legal line", f)
			break
		}
	}
}

// countries are country names printed at the end of addresses (folded):
// never a party's name.
var countries = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range strings.Split(`germany|deutschland|allemagne|alemania|germania|duitsland|france|frankreich|francia|frankrijk|united states|united states of america|usa|u.s.a.|etats-unis|vereinigte staaten|united kingdom|uk|great britain|england|grossbritannien|royaume-uni|reino unido|regno unito|verenigd koninkrijk|nederland|netherlands|the netherlands|niederlande|pays-bas|paises bajos|paesi bassi|belgique|belgium|belgien|belgie|belgica|belgio|osterreich|austria|autriche|oostenrijk|schweiz|switzerland|suisse|svizzera|suiza|zwitserland|italia|italy|italien|italie|spain|espana|spanien|espagne|spagna|spanje|portugal|luxembourg|luxemburg|ireland|irland|irlande|india|hong kong|china|japan|canada|australia|poland|polen|pologne|polska|denmark|danemark|danmark|sweden|schweden|suede|sverige|norway|norwegen|norvege|norge|finland|finnland|czech republic|tschechien|hungary|ungarn|greece|griechenland|turkey|turkei|deutschland / germany|ile de la reunion|la reunion|reunion|martinique|guadeloupe|monaco|liechtenstein|croatia|kroatien|slovenia|slowenien|romania|rumanien|bulgaria|bulgarien|brasil|brazil|mexico|singapore|israel`, "|") {
		m[c] = true
	}
	return m
}()
