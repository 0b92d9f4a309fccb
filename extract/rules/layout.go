package rules

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/extractor-dev/extractor/extract/lexicon"
	"github.com/extractor-dev/extractor/pipeline"
)

// Layout is a document prepared for reading: its lines with their boxes,
// cells and labels, and the conventions its values are printed with.
type Layout struct {
	Doc   pipeline.Document
	Pages [][]*Line
	// Lines are all pages' lines in reading order.
	Lines []*Line
	// MedianHeight is the median line height, the unit of vertical gaps.
	MedianHeight float64
	// Dec is the decimal separator most amounts use ('.' or ',').
	Dec byte
	// MonthFirst reads ambiguous numeric dates (03/05/2024) month first.
	MonthFirst bool

	names      map[string]float64 // nameLike, memoized
	currencies *[]*Candidate      // documentCurrencies, once computed
	refDate    *time.Time         // the median printed date (referenceDate), once computed
	hasRef     bool
	keys       map[string]string // nameKey, memoized
}

// key is nameKey memoized for the document.
func (lay *Layout) key(s string) string {
	if lay.keys == nil {
		lay.keys = map[string]string{}
	}
	k, ok := lay.keys[s]
	if !ok {
		k = nameKey(s)
		lay.keys[s] = k
	}
	return k
}

// Line is a page line prepared for reading.
type Line struct {
	Page  int // 1-based
	Index int // index in the parser's page.Lines
	Pos   int // index in Layout.Pages[Page-1]
	Seq   int // index in Layout.Lines
	Text  string
	Runes []rune
	// Fold is the text folded rune by rune (lexicon.Fold): column i of
	// Fold is column i of Runes.
	Fold []rune
	Box  pipeline.Box
	// Cells are the runs of text between gaps of two or more spaces: table
	// columns, or blocks side by side. The parser puts as many spaces in a
	// gap as its width needs on a character grid, so columns line up
	// between lines.
	Cells  []Cell
	Tokens []lexicon.Token
	// Hits are every lexicon phrase found on the line (Not phrases
	// included); Labels the field and heading labels among them
	// (lexicon.Labels).
	Hits   []lexicon.Hit
	Labels []lexicon.Hit
	// Table marks an item table's header and rows: no summary value or
	// party is read from them.
	Table bool

	amounts     []Amount
	amountsDone bool
	dates       []Date
	datesDone   bool
	matchStr    string
}

// Cell is a run of a line's text; Start and End are rune columns.
type Cell struct {
	Start, End int
	Text       string
}

// Sub returns the text between rune columns a and b.
func (l *Line) Sub(a, b int) string {
	a, b = max(a, 0), min(b, len(l.Runes))
	if a >= b {
		return ""
	}
	return string(l.Runes[a:b])
}

// FoldSub returns the folded text between rune columns a and b.
func (l *Line) FoldSub(a, b int) string {
	a, b = max(a, 0), min(b, len(l.Fold))
	if a >= b {
		return ""
	}
	return string(l.Fold[a:b])
}

// CellAt returns the index of the cell holding rune column c, or -1.
func (l *Line) CellAt(c int) int {
	for i, cl := range l.Cells {
		if c >= cl.Start && c < cl.End {
			return i
		}
	}
	return -1
}

// Height is the line's box height (0 when the parser gave no box).
func (l *Line) Height() float64 { return l.Box.Y1 - l.Box.Y0 }

// X estimates the x position of rune column c from the line's box: the
// parser lays text out on a character grid, so columns map to positions
// linearly between the first and the last glyph.
func (l *Line) X(c int) float64 {
	lead := 0
	for lead < len(l.Runes) && l.Runes[lead] == ' ' {
		lead++
	}
	n := len(l.Runes) - lead
	if n <= 0 || l.Box.X1 <= l.Box.X0 {
		return float64(c) * 5
	}
	w := (l.Box.X1 - l.Box.X0) / float64(n)
	return l.Box.X0 + float64(c-lead)*w
}

// hasLabel reports whether the line has a label of concept c, at a strength
// of at least s.
func (l *Line) label(c lexicon.Concept) (lexicon.Hit, bool) {
	for _, h := range l.Labels {
		if h.Concept == c {
			return h, true
		}
	}
	return lexicon.Hit{}, false
}

// splitCells cuts a line into runs of text between gaps of two or more
// spaces (or one at the end).
func splitCells(rs []rune) []Cell {
	var cells []Cell
	i := 0
	for i < len(rs) {
		for i < len(rs) && (rs[i] == ' ' || rs[i] == '\t') {
			i++
		}
		if i >= len(rs) {
			break
		}
		start, end := i, i
		for i < len(rs) {
			if rs[i] == ' ' || rs[i] == '\t' {
				j := i
				for j < len(rs) && (rs[j] == ' ' || rs[j] == '\t') {
					j++
				}
				if j-i >= 2 || j >= len(rs) {
					break
				}
				i = j
				continue
			}
			i++
			end = i
		}
		cells = append(cells, Cell{Start: start, End: end, Text: string(rs[start:end])})
	}
	return cells
}

// NewLayout prepares a document: lines in reading order with cells,
// tokens and labels, and the document's number and date conventions.
func NewLayout(doc pipeline.Document) *Layout {
	lay := &Layout{Doc: doc}
	var heights []float64
	for pi, p := range doc.Pages {
		var pl []*Line
		for i, ln := range p.Lines {
			if strings.TrimSpace(ln.Text) == "" {
				continue
			}
			rs := []rune(strings.ReplaceAll(ln.Text, "\t", " "))
			fr := make([]rune, len(rs))
			for j, r := range rs {
				fr[j] = lexicon.FoldRune(r)
			}
			l := &Line{Page: pi + 1, Index: i, Pos: len(pl), Seq: len(lay.Lines), Text: string(rs), Runes: rs, Fold: fr, Box: ln.Box, Cells: splitCells(rs)}
			l.Tokens = lexicon.Tokens(fr)
			l.Hits = lexicon.Default().Find(fr, l.Tokens)
			l.Labels = lexicon.Labels(l.Hits, lexicon.FieldLabel)
			pl = append(pl, l)
			lay.Lines = append(lay.Lines, l)
			if h := l.Height(); h > 0 {
				heights = append(heights, h)
			}
		}
		lay.Pages = append(lay.Pages, pl)
	}
	if len(heights) > 0 {
		slices.Sort(heights)
		lay.MedianHeight = heights[len(heights)/2]
	}
	if lay.MedianHeight <= 0 {
		lay.MedianHeight = 10
	}
	lay.Dec = lay.decimalSeparator()
	lay.MonthFirst = lay.monthFirst()
	return lay
}

// PageHeight is the height of page p (A4 when unknown).
func (lay *Layout) PageHeight(p int) float64 {
	if p >= 1 && p <= len(lay.Doc.Pages) && lay.Doc.Pages[p-1].Height > 0 {
		return lay.Doc.Pages[p-1].Height
	}
	return 842
}

// PageWidth is the width of page p (A4 when unknown).
func (lay *Layout) PageWidth(p int) float64 {
	if p >= 1 && p <= len(lay.Doc.Pages) && lay.Doc.Pages[p-1].Width > 0 {
		return lay.Doc.Pages[p-1].Width
	}
	return 595
}

// Top is the line's vertical position on its page: 0 at the top, 1 at
// the bottom.
func (lay *Layout) Top(l *Line) float64 {
	if l.Box == (pipeline.Box{}) {
		n := len(lay.Pages[l.Page-1])
		if n <= 1 {
			return 0
		}
		return float64(l.Pos) / float64(n-1)
	}
	return min(1, max(0, l.Box.Y0/lay.PageHeight(l.Page)))
}

// Gap is the vertical distance between two lines in median line heights
// (a large number across pages).
func (lay *Layout) Gap(a, b *Line) float64 {
	if a.Page != b.Page {
		return 100
	}
	if a.Box == (pipeline.Box{}) || b.Box == (pipeline.Box{}) {
		return float64(b.Pos-a.Pos) - 1
	}
	return (b.Box.Y0 - a.Box.Y1) / lay.MedianHeight
}

// Font is a line's size relative to the median line: 0 for body text, 1
// for a line twice as tall.
func (lay *Layout) Font(l *Line) float64 {
	if l.Height() <= 0 {
		return 0
	}
	return min(3, max(0, l.Height()/lay.MedianHeight-1))
}

// countText counts the lines that print s (folded, spaces ignored).
func (lay *Layout) countText(s string) int {
	f := foldMatch(s)
	if f == "" {
		return 0
	}
	n := 0
	for _, l := range lay.Lines {
		if strings.Contains(l.match(), f) {
			n++
		}
	}
	return n
}

// match is the line folded for matching quotes.
func (l *Line) match() string {
	if l.matchStr == "" {
		l.matchStr = foldMatch(l.Text)
	}
	return l.matchStr
}

func foldMatch(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r == ' ' || r == '\t' || r == '\u00a0' {
			continue
		}
		b.WriteRune(lexicon.FoldRune(r))
	}
	return b.String()
}

func runeLen(s string) int { return utf8.RuneCountInString(s) }
