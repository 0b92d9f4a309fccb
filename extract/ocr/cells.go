package ocr

import (
	"bytes"
	"context"
	"image"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
)

// Tesseract's page layout drops short numbers standing alone in a table
// column: a quantity "7" or "19" between a description and a unit price is
// taken for noise and never recognised, while "15,25" two rows down is
// read. After the page is recognised, the numeric columns of its tables
// are found from the numbers it did read (right edges aligned over at
// least minColumnRows rows); where a row of the table has numbers in other
// columns but nothing in one of them, that cell is cut out of the image.
// All such cells of a page are set side by side on one strip, recognised
// as a single line, and what reads as a number is put back into its row.

// minColumnRows is how many rows must print a number in a column for it
// to be a column.
const minColumnRows = 3

// maxCellsPerPage bounds the cells re-read on one page.
const maxCellsPerPage = 200

// cellNumberRe is what a re-read cell may hold: a number, nothing else.
var cellNumberRe = regexp.MustCompile(`^\d{1,6}(?:[.,]\d{1,3})?$`)

// cellGap is a table cell where a number was expected and none read, in
// the pixels of the image given to the engine, and the tesseract line
// across it (a number read there belongs to that line), if any.
type cellGap struct {
	x0, y0, x1, y1 int
	seg            [3]int
	inLine         bool
	// text: words are taken too, not only numbers (unread ink).
	text bool
}

// numericWord reports whether a word is a number as tables print them.
func numericWord(s string) bool {
	digit := false
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digit = true
		case r == '.' || r == ',' || r == '\'' || r == '-' || r == '%' || r == '€' || r == '$' || r == '£':
		default:
			return false
		}
	}
	return digit
}

// column is a run of numbers whose right edges line up down the page:
// where its numbers lie, and the rows that print one.
type column struct {
	left, right float64
	rows        map[int]bool
}

// missingCells finds the empty cells of numeric columns (see above) on a
// page read upright (no rotation), from its rows. slope and cx turn
// deskewed coordinates back into the image's.
func missingCells(rs []*row, charW, slope, cx float64, w, h int) []cellGap {
	type word struct {
		u   *uword
		row int
	}
	numeric := make([]int, len(rs))
	for i, r := range rs {
		for _, s := range r.segs {
			for _, u := range s.words {
				if numericWord(u.text) {
					numeric[i]++
				}
			}
		}
	}
	// The words of rows that print numbers, and of the rows above rows
	// with two (a header names a column even where its numbers were not
	// read).
	var words []word
	for i, r := range rs {
		if numeric[i] == 0 && (i+1 >= len(rs) || numeric[i+1] < 2) {
			continue
		}
		for _, s := range r.segs {
			for _, u := range s.words {
				words = append(words, word{u, i})
			}
		}
	}
	sort.SliceStable(words, func(i, j int) bool { return words[i].u.x1 < words[j].u.x1 })
	tol := 1.5 * charW
	var cols []*column
	for k := 0; k < len(words); {
		j := k + 1
		for j < len(words) && words[j].u.x1-words[j-1].u.x1 <= tol {
			j++
		}
		c := &column{left: math.Inf(1), rows: map[int]bool{}}
		var rights []float64
		nums := 0
		for _, n := range words[k:j] {
			if !numericWord(n.u.text) {
				continue
			}
			nums++
			c.rows[n.row] = true
			c.left = math.Min(c.left, n.u.x0)
			rights = append(rights, n.u.x1)
		}
		inRows := map[int]bool{}
		for _, n := range words[k:j] {
			inRows[n.row] = true
		}
		if nums >= 2 && len(inRows) >= minColumnRows {
			c.right = slices.Max(rights)
			cols = append(cols, c)
		}
		k = j
	}
	if len(cols) < 2 {
		return nil
	}
	// The table: rows with numbers in two columns or more.
	inCols := make([]int, len(rs))
	first, last := len(rs), -1
	for i := range rs {
		for _, c := range cols {
			if c.rows[i] {
				inCols[i]++
			}
		}
		if inCols[i] >= 2 {
			first, last = min(first, i), max(last, i)
		}
	}
	var gaps []cellGap
	for i := first; i <= last && len(gaps) < maxCellsPerPage; i++ {
		if inCols[i] < 2 {
			continue
		}
		r := rs[i]
		for _, c := range cols {
			if c.rows[i] {
				continue
			}
			x0, x1 := c.left-charW, c.right+charW
			empty := true
			for _, s := range r.segs {
				for _, u := range s.words {
					if u.x1 > x0 && u.x0 < x1 {
						empty = false
					}
				}
			}
			if !empty {
				continue
			}
			pad := 0.3 * (r.bot - r.top)
			d := slope * ((x0+x1)/2 - cx)
			g := cellGap{
				x0: max(0, int(math.Floor(x0))), x1: min(w, int(math.Ceil(x1))),
				y0: max(0, int(math.Floor(r.top-pad+d))), y1: min(h, int(math.Ceil(r.bot+pad+d))),
			}
			for _, s := range r.segs {
				if s.x0 < x0 && s.x1 > x1 {
					g.seg, g.inLine = s.words[0].seg, true
				}
			}
			if g.x1-g.x0 >= 4 && g.y1-g.y0 >= 4 {
				gaps = append(gaps, g)
			}
		}
	}
	return gaps
}

// stripSpacing is the white between two cells on the strip, in pixels.
const stripSpacing = 48

// rereadCells recognises the cells on one strip and returns the numbers
// read, as words of the page image, each on the tesseract line across its
// cell (or a line of its own).
func (e *Engine) rereadCells(ctx context.Context, page int, g *image.Gray, gaps []cellGap, dpi int) []tsvWord {
	if len(gaps) == 0 {
		return nil
	}
	height, width := 0, stripSpacing
	for _, c := range gaps {
		height = max(height, c.y1-c.y0)
		width += c.x1 - c.x0 + stripSpacing
	}
	height += 2 * stripSpacing
	// The strip is the cells' paper: their median grey (white would draw
	// each cell's edge as a box around it).
	var hist [256]int
	n := 0
	for _, c := range gaps {
		for y := c.y0; y < c.y1; y++ {
			for _, v := range g.Pix[(y-g.Rect.Min.Y)*g.Stride+(c.x0-g.Rect.Min.X) : (y-g.Rect.Min.Y)*g.Stride+(c.x1-g.Rect.Min.X)] {
				hist[v]++
				n++
			}
		}
	}
	paper, seen := 255, 0
	for v := range 256 {
		if seen += hist[v]; seen*2 >= n {
			paper = v
			break
		}
	}
	strip := image.NewGray(image.Rect(0, 0, width, height))
	for i := range strip.Pix {
		strip.Pix[i] = uint8(paper)
	}
	offsets := make([]int, len(gaps))
	x := stripSpacing
	for i, c := range gaps {
		offsets[i] = x
		for y := c.y0; y < c.y1; y++ {
			src := g.Pix[(y-g.Rect.Min.Y)*g.Stride+(c.x0-g.Rect.Min.X) : (y-g.Rect.Min.Y)*g.Stride+(c.x1-g.Rect.Min.X)]
			copy(strip.Pix[(stripSpacing+y-c.y0)*strip.Stride+x:], src)
		}
		x += c.x1 - c.x0 + stripSpacing
	}
	args := []string{"stdin", "stdout", "--psm", "7", "-l", e.languages, "--dpi", strconv.Itoa(dpi)}
	if e.opts.TessdataDir != "" {
		args = append(args, "--tessdata-dir", e.opts.TessdataDir)
	}
	out, err := e.run(ctx, page, e.tesseract, append(args, "tsv"), bytes.NewReader(encodePGM(strip)), maxTSV)
	if err != nil {
		return nil // the page as first read stands
	}
	tp, err := parseTSV(out)
	if err != nil {
		return nil
	}
	var words []tsvWord
	for _, wd := range tp.words {
		number := wd.conf >= minCellConfidence && cellNumberRe.MatchString(wd.text)
		word := wd.conf >= minInkConfidence && inkWordRe.MatchString(wd.text)
		if !number && !word {
			continue
		}
		mid := (wd.x0 + wd.x1) / 2
		for i, c := range gaps {
			off := float64(offsets[i])
			if mid < off || mid > off+float64(c.x1-c.x0) {
				continue
			}
			if !number && !c.text {
				break
			}
			dx, dy := float64(c.x0)-off, float64(c.y0-stripSpacing)
			seg := [3]int{-1 - len(words), 0, 0}
			if c.inLine {
				seg = c.seg
			}
			words = append(words, tsvWord{
				seg: seg,
				x0:  wd.x0 + dx, x1: wd.x1 + dx, y0: wd.y0 + dy, y1: wd.y1 + dy,
				conf: wd.conf, text: wd.text,
			})
			break
		}
	}
	return words
}

// minCellConfidence is the engine's confidence a re-read number needs;
// minInkConfidence a re-read word of unread ink.
const (
	minCellConfidence = 0.6
	minInkConfidence  = 0.8
)

// inkWordRe is a word worth taking from unread ink: three characters or
// more, starting with a letter or digit (shorter ones are as often pieces
// of a word read already, "al" of "amount").
var inkWordRe = regexp.MustCompile(`^[\p{L}\p{N}][\p{L}\p{N}.,:/'’&()%€$£+-]{2,}$`)

// insertWords puts each word into words after the last word of its
// tesseract line that lies left of it (a line's words are kept in reading
// order), or at the end for a line of its own.
func insertWords(words []tsvWord, more []tsvWord) []tsvWord {
	for _, m := range more {
		at := len(words)
		for i := len(words) - 1; i >= 0; i-- {
			if words[i].seg == m.seg {
				at = i + 1
				if words[i].x0 <= m.x0 {
					break
				}
				at = i
			}
		}
		words = slices.Insert(words, at, m)
	}
	return words
}
