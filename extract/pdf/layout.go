package pdf

import (
	"math"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/extractor-dev/extractor/pipeline"
)

// Layout turns glyphs into lines of text in reading order, close to what
// `pdftotext -layout` prints: words are built from consecutive glyphs in
// content order (a space wherever a space glyph, a glyph gap or a TJ offset
// says so), words are grouped into lines by vertical overlap, lines run top
// to bottom and words left to right, and wide gaps (table columns) keep a
// run of spaces so columns stay apart.

// Thresholds, in units of the font size.
const (
	wordGap      = 0.1 // a larger gap between glyphs starts a new word
	joinGap      = 0.1 // words closer than this on a line are one word
	backGap      = 0.6 // a glyph this far behind the pen starts a new word
	baseDrift    = 0.4 // a glyph this far off the baseline starts a new word
	lineOverlap  = 0.5 // share of the smaller height two words must share to be one line
	ascent       = 0.8
	descent      = 0.2
	pageMargin   = 0.5 // glyphs more than this many ems outside the page are dropped
	wideGapChars = 2.5 // gaps wider than this many average characters are columns
	minCharWidth = 1.0 // points; floor for the column grid
	maxPad       = 200 // spaces at most for one gap or indent
)

// geometry maps device space to page space: origin at the top left of the
// displayed (rotated, cropped) page, y down.
type geometry struct {
	x0, y0, x1, y1 float64 // crop box in device space
	rotate         int     // 0, 90, 180, 270
}

func (g geometry) size() (w, h float64) {
	w, h = g.x1-g.x0, g.y1-g.y0
	if g.rotate == 90 || g.rotate == 270 {
		return h, w
	}
	return w, h
}

func (g geometry) point(x, y float64) (float64, float64) {
	switch g.rotate {
	case 90:
		return y - g.y0, x - g.x0
	case 180:
		return g.x1 - x, y - g.y0
	case 270:
		return g.y1 - y, g.x1 - x
	}
	return x - g.x0, g.y1 - y
}

func (g geometry) vec(dx, dy float64) (float64, float64) {
	switch g.rotate {
	case 90:
		return dy, dx
	case 180:
		return -dx, dy
	case 270:
		return -dy, -dx
	}
	return dx, -dy
}

type word struct {
	text       strings.Builder
	runes      int
	ox, oy     float64 // origin of the first glyph (page space)
	ex, ey     float64 // end of the last glyph
	dx, dy     float64 // unit writing direction
	size       float64
	box        pipeline.Box
	seq        int
	spaceAfter bool
	// frame coordinates, filled in per direction class
	a0, a1, base float64
}

func (w *word) extend(x, y float64) {
	w.box.X0 = math.Min(w.box.X0, x)
	w.box.Y0 = math.Min(w.box.Y0, y)
	w.box.X1 = math.Max(w.box.X1, x)
	w.box.Y1 = math.Max(w.box.Y1, y)
}

// words builds words from glyphs in content order.
func words(glyphs []glyph, geo geometry) []*word {
	pw, ph := geo.size()
	var out []*word
	var cur *word
	for _, g := range glyphs {
		x, y := geo.point(g.x, g.y)
		ux, uy := geo.vec(g.ux, g.uy)
		size := math.Hypot(ux, uy)
		if size < 0.01 || math.IsNaN(size) || math.IsInf(size, 0) || size > 10*(pw+ph) {
			continue
		}
		if x < -pageMargin*size || y < -pageMargin*size || x > pw+pageMargin*size || y > ph+pageMargin*size {
			continue // off the page: not visible, not text
		}
		// Writing direction from the up vector: (-uy, ux) turned by a
		// quarter in y-down coordinates.
		ddx, ddy := -uy/size, ux/size
		if g.space {
			if cur != nil {
				cur.spaceAfter = true
			}
			cur = nil
			continue
		}
		ax, ay := geo.vec(g.dx, g.dy)
		if cur != nil {
			same := cur.dx*ddx+cur.dy*ddy > 0.95
			rel := math.Abs(size-cur.size) < 0.3*math.Max(size, cur.size)
			gap := (x-cur.ex)*ddx + (y-cur.ey)*ddy
			off := math.Abs((x-cur.ex)*-ddy + (y-cur.ey)*ddx)
			if !same || !rel || gap > wordGap*size || gap < -backGap*size || off > baseDrift*size {
				cur = nil
			}
		}
		if cur == nil {
			cur = &word{ox: x, oy: y, dx: ddx, dy: ddy, size: size, seq: len(out),
				box: pipeline.Box{X0: x, Y0: y, X1: x, Y1: y}}
			out = append(out, cur)
		}
		if g.text != "" {
			cur.text.WriteString(g.text)
			cur.runes += utf8.RuneCountInString(g.text)
		}
		cur.ex, cur.ey = x+ax, y+ay
		// Glyph box corners: baseline from origin to end, ascent along the
		// up vector and descent against it.
		for _, p := range [4][2]float64{
			{x + ux*ascent, y + uy*ascent}, {x - ux*descent, y - uy*descent},
			{cur.ex + ux*ascent, cur.ey + uy*ascent}, {cur.ex - ux*descent, cur.ey - uy*descent},
		} {
			cur.extend(p[0], p[1])
		}
	}
	// Drop words that carried no text (unmapped glyphs only).
	return slices.DeleteFunc(out, func(w *word) bool { return strings.TrimSpace(w.text.String()) == "" })
}

type line struct {
	words    []*word
	base     float64
	top, bot float64
}

// lines groups words into lines in reading order.
func lines(ws []*word) []pipeline.Line {
	// Direction classes: left-to-right first (the reading text), then
	// top-to-bottom, right-to-left and bottom-to-top.
	dirs := [4][2]float64{{1, 0}, {0, 1}, {-1, 0}, {0, -1}}
	var classes [4][]*word
	for _, w := range ws {
		best, bi := -2.0, 0
		for i, d := range dirs {
			if dot := w.dx*d[0] + w.dy*d[1]; dot > best {
				best, bi = dot, i
			}
		}
		d := dirs[bi]
		// along = p·d, perp = p·n with n = d turned a quarter (down).
		nx, ny := -d[1], d[0]
		w.a0 = w.ox*d[0] + w.oy*d[1]
		w.a1 = w.ex*d[0] + w.ey*d[1]
		if w.a1 < w.a0 {
			w.a1 = w.a0
		}
		w.base = w.ox*nx + w.oy*ny
		classes[bi] = append(classes[bi], w)
	}
	var out []pipeline.Line
	for _, cw := range classes {
		out = append(out, classLines(cw)...)
	}
	return out
}

func classLines(ws []*word) []pipeline.Line {
	if len(ws) == 0 {
		return nil
	}
	sort.SliceStable(ws, func(i, j int) bool {
		if ws[i].base != ws[j].base {
			return ws[i].base < ws[j].base
		}
		return ws[i].a0 < ws[j].a0
	})
	var ls []*line
	for _, w := range ws {
		top, bot := w.base-ascent*w.size, w.base+descent*w.size
		var best *line
		bestOv := 0.0
		for i := len(ls) - 1; i >= 0; i-- {
			l := ls[i]
			if l.bot < top-2*w.size {
				break // lines are created in base order; older ones are higher
			}
			ov := math.Min(bot, l.bot) - math.Max(top, l.top)
			h := math.Min(bot-top, l.bot-l.top)
			if h > 0 && ov/h >= lineOverlap && ov/h > bestOv {
				best, bestOv = l, ov/h
			}
		}
		if best == nil {
			best = &line{base: w.base, top: top, bot: bot}
			ls = append(ls, best)
		}
		best.words = append(best.words, w)
	}
	// Average character width for column gaps, from the words themselves.
	var chars, width, minA float64
	minA = math.Inf(1)
	for _, w := range ws {
		if w.runes > 0 {
			chars += float64(w.runes)
			width += w.a1 - w.a0
		}
		minA = math.Min(minA, w.a0)
	}
	charW := 5.0
	if chars > 0 && width > 0 {
		// Clamped: squeezed text (Tz near 0, zero widths) must not turn
		// a column gap into millions of spaces.
		charW = min(max(width/chars, minCharWidth), 100)
	}
	sort.SliceStable(ls, func(i, j int) bool { return ls[i].top < ls[j].top })
	out := make([]pipeline.Line, 0, len(ls))
	for _, l := range ls {
		if pl, ok := l.render(charW, minA); ok {
			out = append(out, pl)
		}
	}
	return out
}

// render writes a line's words left to right. Words that touch become one
// word; duplicates drawn twice for a bold effect are dropped; wide gaps
// become runs of spaces that put the word at its column on a character grid.
func (l *line) render(charW, minA float64) (pipeline.Line, bool) {
	ws := l.words
	sort.SliceStable(ws, func(i, j int) bool { return ws[i].a0 < ws[j].a0 })
	var b strings.Builder
	col := 0
	var prev *word
	box := pipeline.Box{X0: math.Inf(1), Y0: math.Inf(1), X1: math.Inf(-1), Y1: math.Inf(-1)}
	for _, w := range ws {
		text := w.text.String()
		if prev != nil {
			gap := w.a0 - prev.a1
			sz := math.Min(w.size, prev.size)
			if text == prev.text.String() && math.Abs(w.a0-prev.a0) < 0.3*sz {
				continue // fake bold: the same word drawn again, slightly shifted
			}
			explicit := prev.spaceAfter && w.seq == prev.seq+1
			switch {
			case gap < joinGap*sz && !explicit:
			case gap > wideGapChars*charW && gap > sz:
				target := int(math.Round((w.a0 - minA) / charW))
				n := min(max(2, target-col), maxPad)
				b.WriteString(strings.Repeat(" ", n))
				col += n
			default:
				b.WriteByte(' ')
				col++
			}
		} else if indent := min(int(math.Round((w.a0-minA)/charW)), maxPad); indent > 0 {
			b.WriteString(strings.Repeat(" ", indent))
			col += indent
		}
		b.WriteString(text)
		col += utf8.RuneCountInString(text)
		box.X0, box.Y0 = math.Min(box.X0, w.box.X0), math.Min(box.Y0, w.box.Y0)
		box.X1, box.Y1 = math.Max(box.X1, w.box.X1), math.Max(box.Y1, w.box.Y1)
		prev = w
	}
	if prev == nil {
		return pipeline.Line{}, false
	}
	return pipeline.Line{Text: b.String(), Box: roundBox(box)}, true
}

func roundBox(b pipeline.Box) pipeline.Box {
	r := func(v float64) float64 { return math.Round(v*100) / 100 }
	return pipeline.Box{X0: r(b.X0), Y0: r(b.Y0), X1: r(b.X1), Y1: r(b.Y1)}
}
