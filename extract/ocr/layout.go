package ocr

import (
	"image"
	"math"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/extractor-dev/extractor/pipeline"
)

// From tesseract's words to pipeline lines. Tesseract finds blocks,
// paragraphs and lines; a table row often comes out as several of them (the
// label column is one block, the values another), while extract/pdf, like
// `pdftotext -layout`, makes each visual row one line with wide gaps kept as
// runs of spaces. So tesseract's lines are kept whole (their words belong
// together even when skew makes a long line drift) and then merged into
// rows by vertical overlap, measured after allowing for the page's skew.

// Thresholds, as in extract/pdf's layout.
const (
	rowOverlap   = 0.5 // share of the smaller height two lines must share to be one row
	wideGapChars = 2.5 // gaps wider than this many average characters are columns
	maxPad       = 200 // spaces at most for one gap or indent
	maxSkewDeg   = 10  // a larger measured skew is not believed
)

// uword is a word in the upright image, in pixels.
type uword struct {
	x0, y0, x1, y1 float64
	dy0, dy1       float64 // top and bottom with the skew taken out
	conf           float64
	text           string
	runes          int
	seg            [3]int // tesseract's line
}

// segment is one of tesseract's lines.
type segment struct {
	words    []*uword
	top, bot float64 // deskewed
	x0, x1   float64
}

// layoutResult is a recognised page in the upright orientation.
type layoutResult struct {
	lines         []pipeline.Line
	rotation      int     // clockwise degrees applied
	skew          float64 // degrees, positive rising to the right
	width, height float64 // the upright image, in pixels
	words         int
	confidence    float64 // mean word confidence
	// gaps are table cells where a number was expected and none was read
	// (see missingCells), in the upright image's pixels.
	gaps []cellGap
}

// layout turns tesseract's words on a w x h pixel image into lines in the
// upright page, in points at dpi.
func layout(tp tsvPage, w, h int, dpi float64) layoutResult {
	if tp.width > 0 && tp.height > 0 {
		w, h = tp.width, tp.height
	}
	W, H := float64(w), float64(h)
	segs := segmentsOf(tp.words)
	rot := orientation(segs)
	res := layoutResult{rotation: rot, width: W, height: H}
	if rot == 90 || rot == 270 {
		res.width, res.height = H, W
	}
	var all []*uword
	var confSum float64
	for _, s := range segs {
		// Tesseract lists a line's words in reading order already; only
		// the boxes are in the image as given.
		for _, u := range s.words {
			u.x0, u.y0, u.x1, u.y1 = turn(u.x0, u.y0, u.x1, u.y1, rot, W, H)
			all = append(all, u)
			confSum += u.conf
		}
	}
	if len(all) == 0 {
		return res
	}
	res.words = len(all)
	res.confidence = round4(confSum / float64(len(all)))
	slope := skewSlope(segs)
	res.skew = math.Round(-math.Atan(slope)*180/math.Pi*100) / 100
	if res.skew == 0 {
		res.skew = 0 // not -0
	}
	cx := res.width / 2
	for _, s := range segs {
		for _, u := range s.words {
			d := slope * ((u.x0+u.x1)/2 - cx)
			u.dy0, u.dy1 = u.y0-d, u.y1-d
		}
	}
	segs = splitStacked(segs)
	for _, s := range segs {
		s.top, s.bot = math.Inf(1), math.Inf(-1)
		s.x0, s.x1 = math.Inf(1), math.Inf(-1)
		for _, u := range s.words {
			s.top, s.bot = math.Min(s.top, u.dy0), math.Max(s.bot, u.dy1)
			s.x0, s.x1 = math.Min(s.x0, u.x0), math.Max(s.x1, u.x1)
		}
	}
	// Average character width for column gaps, from the words themselves.
	var chars, width float64
	minX := math.Inf(1)
	for _, u := range all {
		chars += float64(u.runes)
		width += u.x1 - u.x0
		minX = math.Min(minX, u.x0)
	}
	charW := min(max(width/chars, 1), 100)
	scale := 72 / dpi
	rs := rows(segs)
	for _, row := range rs {
		res.lines = append(res.lines, row.render(charW, minX, scale))
	}
	res.gaps = missingCells(rs, charW, slope, cx, int(res.width), int(res.height))
	return res
}

// unturn is turn's inverse: a box of the upright image back into the
// image as given (W x H).
func unturn(x0, y0, x1, y1 float64, rot int, W, H float64) (float64, float64, float64, float64) {
	switch rot {
	case 90: // (u, v) -> (v, H-u)
		return y0, H - x1, y1, H - x0
	case 180:
		return W - x1, H - y1, W - x0, H - y0
	case 270: // (u, v) -> (W-v, u)
		return W - y1, x0, W - y0, x1
	}
	return x0, y0, x1, y1
}

// turnGray turns an image as turn turns its boxes.
func turnGray(g *image.Gray, rot int) *image.Gray {
	W, H := g.Rect.Dx(), g.Rect.Dy()
	uw, uh := W, H
	if rot == 90 || rot == 270 {
		uw, uh = H, W
	}
	out := image.NewGray(image.Rect(0, 0, uw, uh))
	for y := range H {
		row := g.Pix[y*g.Stride : y*g.Stride+W]
		for x, v := range row {
			var u, w int
			switch rot {
			case 90:
				u, w = H-1-y, x
			case 180:
				u, w = W-1-x, H-1-y
			case 270:
				u, w = y, W-1-x
			default:
				u, w = x, y
			}
			out.Pix[w*out.Stride+u] = v
		}
	}
	return out
}

// segmentsOf groups words by tesseract line, in tesseract's order.
func segmentsOf(words []tsvWord) []*segment {
	var segs []*segment
	index := map[[3]int]*segment{}
	for _, w := range words {
		s := index[w.seg]
		if s == nil {
			s = &segment{}
			index[w.seg] = s
			segs = append(segs, s)
		}
		s.words = append(s.words, &uword{x0: w.x0, y0: w.y0, x1: w.x1, y1: w.y1, conf: w.conf, text: w.text,
			runes: utf8.RuneCountInString(w.text), seg: w.seg})
	}
	return segs
}

// splitStacked breaks up tesseract "lines" whose words are not side by side:
// a column of item numbers read as one line would otherwise join, and
// stretch, the first row it meets. Their words become lines of one word.
func splitStacked(segs []*segment) []*segment {
	var out []*segment
	for _, s := range segs {
		stacked := false
		for i := 1; i < len(s.words); i++ {
			a, b := s.words[i-1], s.words[i]
			ov := math.Min(a.dy1, b.dy1) - math.Max(a.dy0, b.dy0)
			if ov < 0.3*math.Min(a.dy1-a.dy0, b.dy1-b.dy0) {
				stacked = true
				break
			}
		}
		if !stacked {
			out = append(out, s)
			continue
		}
		for _, u := range s.words {
			out = append(out, &segment{words: []*uword{u}})
		}
	}
	return out
}

// orientation tells from the direction tesseract's lines run in the image
// how far the image must be turned clockwise to stand upright. Tesseract
// (page segmentation mode 1) detects a sideways or upside-down page, reads
// it turned, and reports boxes in the image as given: a line's words then
// run up (90), right to left (180) or down (270) the image. Each line of two
// or more words votes with the characters of its words that are drawn
// along the line (wider than tall on a horizontal line, taller than wide on
// a vertical one): a column of item numbers that tesseract took for a line
// has short or crosswise words and hardly counts. Without votes the page is
// taken as upright.
func orientation(segs []*segment) int {
	var votes [4]float64
	for _, s := range segs {
		if len(s.words) < 2 {
			continue
		}
		a, b := s.words[0], s.words[len(s.words)-1]
		dx := (b.x0+b.x1)/2 - (a.x0+a.x1)/2
		dy := (b.y0+b.y1)/2 - (a.y0+a.y1)/2
		horizontal := math.Abs(dx) >= math.Abs(dy)
		wt := 0.0
		for _, u := range s.words {
			if u.runes >= 2 && (u.x1-u.x0 > u.y1-u.y0) == horizontal {
				wt += float64(u.runes)
			}
		}
		switch {
		case horizontal && dx > 0:
			votes[0] += wt
		case horizontal:
			votes[2] += wt
		case dy < 0:
			votes[1] += wt
		default:
			votes[3] += wt
		}
	}
	best := 0
	for i := range votes {
		if votes[i] > votes[best] {
			best = i
		}
	}
	return best * 90
}

// turn maps a box in a W x H image to the image turned clockwise by rot.
func turn(x0, y0, x1, y1 float64, rot int, W, H float64) (float64, float64, float64, float64) {
	// W and H are the image's as given (before turning).
	switch rot {
	case 90: // (x, y) -> (H-y, x)
		return H - y1, x0, H - y0, x1
	case 180: // (x, y) -> (W-x, H-y)
		return W - x1, H - y1, W - x0, H - y0
	case 270: // (x, y) -> (y, W-x)
		return y0, W - x1, y1, W - x0
	}
	return x0, y0, x1, y1
}

// skewSlope measures how the text lines slope (dy/dx in the upright image,
// y down): the median over tesseract's lines of the least-squares slope of
// their words' bottoms, each line of n words counted n-1 times. Lines
// shorter than three word heights say little and are left out.
func skewSlope(segs []*segment) float64 {
	type vote struct {
		slope float64
		n     int
	}
	var votes []vote
	total := 0
	for _, s := range segs {
		if len(s.words) < 2 {
			continue
		}
		var hs []float64
		var sx, sy, sxx, sxy float64
		for _, u := range s.words {
			x := (u.x0 + u.x1) / 2
			sx, sy, sxx, sxy = sx+x, sy+u.y1, sxx+x*x, sxy+x*u.y1
			hs = append(hs, u.y1-u.y0)
		}
		n := float64(len(s.words))
		den := n*sxx - sx*sx
		span := s.words[len(s.words)-1].x1 - s.words[0].x0
		if den <= 0 || span < 3*median(hs) {
			continue
		}
		votes = append(votes, vote{(n*sxy - sx*sy) / den, len(s.words) - 1})
		total += len(s.words) - 1
	}
	if len(votes) == 0 {
		return 0
	}
	sort.Slice(votes, func(i, j int) bool { return votes[i].slope < votes[j].slope })
	acc := 0
	for _, v := range votes {
		acc += v.n
		if 2*acc >= total {
			lim := math.Tan(maxSkewDeg * math.Pi / 180)
			if math.Abs(v.slope) > lim {
				return 0
			}
			return v.slope
		}
	}
	return 0
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// row is a visual line: tesseract lines side by side.
type row struct {
	segs     []*segment
	top, bot float64
}

// rows merges tesseract's lines into visual rows, top to bottom. A line
// joins the row it overlaps most vertically (at least rowOverlap of the
// smaller height) unless it would overlap one of the row's lines
// horizontally: stacked lines are separate rows.
func rows(segs []*segment) []*row {
	sorted := slices.Clone(segs)
	sort.SliceStable(sorted, func(i, j int) bool {
		if sorted[i].top != sorted[j].top {
			return sorted[i].top < sorted[j].top
		}
		return sorted[i].x0 < sorted[j].x0
	})
	var out []*row
	for _, s := range sorted {
		h := s.bot - s.top
		var best *row
		bestOv := 0.0
		for i := len(out) - 1; i >= 0; i-- {
			r := out[i]
			if r.bot < s.top-3*h {
				break // rows are created in top order; older ones are higher
			}
			ov := math.Min(s.bot, r.bot) - math.Max(s.top, r.top)
			hm := math.Min(h, r.bot-r.top)
			if hm <= 0 || ov/hm < rowOverlap || ov/hm <= bestOv || r.overlapsX(s) {
				continue
			}
			best, bestOv = r, ov/hm
		}
		if best == nil {
			best = &row{top: s.top, bot: s.bot}
			out = append(out, best)
		}
		best.segs = append(best.segs, s)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].top < out[j].top })
	return out
}

func (r *row) overlapsX(s *segment) bool {
	for _, o := range r.segs {
		if s.x0 < o.x1-1 && o.x0 < s.x1-1 {
			return true
		}
	}
	return false
}

// render writes a row's words left to right, as extract/pdf does: an indent
// and wide gaps become runs of spaces that put a word at its column on a
// character grid; other gaps are one space.
func (r *row) render(charW, minX, scale float64) pipeline.Line {
	segs := slices.Clone(r.segs)
	sort.SliceStable(segs, func(i, j int) bool { return segs[i].x0 < segs[j].x0 })
	var b strings.Builder
	col := 0
	var prev *uword
	box := pipeline.Box{X0: math.Inf(1), Y0: math.Inf(1), X1: math.Inf(-1), Y1: math.Inf(-1)}
	var words []pipeline.Word
	for _, s := range segs {
		for _, w := range s.words {
			if prev != nil {
				gap := w.x0 - prev.x1
				size := math.Min(w.y1-w.y0, prev.y1-prev.y0)
				if gap > wideGapChars*charW && gap > size {
					target := int(math.Round((w.x0 - minX) / charW))
					n := min(max(2, target-col), maxPad)
					b.WriteString(strings.Repeat(" ", n))
					col += n
				} else {
					b.WriteByte(' ')
					col++
				}
			} else if indent := min(int(math.Round((w.x0-minX)/charW)), maxPad); indent > 0 {
				b.WriteString(strings.Repeat(" ", indent))
				col += indent
			}
			b.WriteString(w.text)
			col += w.runes
			wb := pipeline.Box{X0: round2(w.x0 * scale), Y0: round2(w.y0 * scale), X1: round2(w.x1 * scale), Y1: round2(w.y1 * scale)}
			words = append(words, pipeline.Word{Text: w.text, Box: wb, Confidence: round4(w.conf)})
			box.X0, box.Y0 = math.Min(box.X0, wb.X0), math.Min(box.Y0, wb.Y0)
			box.X1, box.Y1 = math.Max(box.X1, wb.X1), math.Max(box.Y1, wb.Y1)
			prev = w
		}
	}
	return pipeline.Line{Text: b.String(), Box: box, Words: words}
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }
func round4(v float64) float64 { return math.Round(v*10000) / 10000 }
