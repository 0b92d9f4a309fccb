package ocr

import (
	"image"
	"slices"
	"sort"
)

// Ink that no recognised word covers is text tesseract did not read when
// its page layout took it for noise or a picture: a whole table column of
// short numbers with its header, small print beside a logo. After the
// first reading, the page's ink (pixels much darker than the paper) is
// grouped into glyph-sized pieces, pieces not under any word are joined
// into words along their baseline, and those words are read again on the
// strip the empty cells use (rereadCells).

// maxInkWords bounds the unread words looked at on one page.
const maxInkWords = 200

// unreadInk returns the boxes of ink no word covers that look like words:
// glyphs between 0.5 and 2 times the page's typical word height, joined
// when closer than 0.8 of it on one baseline. words are the first reading
// of g.
func unreadInk(g *image.Gray, words []tsvWord) []cellGap {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	if len(words) < 10 || w*h == 0 {
		return nil
	}
	var heights []float64
	for _, wd := range words {
		if wd.conf >= 0.6 && len([]rune(wd.text)) >= 2 {
			heights = append(heights, wd.y1-wd.y0)
		}
	}
	if len(heights) < 5 {
		return nil
	}
	sort.Float64s(heights)
	lineH := heights[len(heights)/2]
	// Ink: darker than the paper (the median pixel) by half of it.
	var hist [256]int
	for y := range h {
		for _, v := range g.Pix[y*g.Stride : y*g.Stride+w] {
			hist[v]++
		}
	}
	paper, seen := 0, 0
	for v := range 256 {
		if seen += hist[v]; seen*2 >= w*h {
			paper = v
			break
		}
	}
	limit := uint8(paper / 2)
	covered := make([]bool, w*h)
	pad := int(lineH / 4)
	for _, wd := range words {
		x0, y0 := max(0, int(wd.x0)-pad), max(0, int(wd.y0)-pad)
		x1, y1 := min(w, int(wd.x1)+pad), min(h, int(wd.y1)+pad)
		for y := y0; y < y1; y++ {
			row := covered[y*w : y*w+w]
			for x := x0; x < x1; x++ {
				row[x] = true
			}
		}
	}
	// Glyph-sized pieces of uncovered ink (8-connected), in scan order.
	type box struct{ x0, y0, x1, y1 int }
	var glyphs []box
	seenPx := make([]bool, w*h)
	var stack []int
	for start := range seenPx {
		if seenPx[start] || covered[start] || g.Pix[(start/w)*g.Stride+start%w] >= limit {
			continue
		}
		b := box{w, h, -1, -1}
		n := 0
		stack = append(stack[:0], start)
		seenPx[start] = true
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			x, y := p%w, p/w
			b.x0, b.y0, b.x1, b.y1 = min(b.x0, x), min(b.y0, y), max(b.x1, x+1), max(b.y1, y+1)
			n++
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					nx, ny := x+dx, y+dy
					if nx < 0 || ny < 0 || nx >= w || ny >= h {
						continue
					}
					q := ny*w + nx
					if !seenPx[q] && !covered[q] && g.Pix[ny*g.Stride+nx] < limit {
						seenPx[q] = true
						stack = append(stack, q)
					}
				}
			}
		}
		bh, bw := float64(b.y1-b.y0), float64(b.x1-b.x0)
		if bh >= 0.5*lineH && bh <= 2*lineH && bw <= 2*lineH && n >= 4 {
			glyphs = append(glyphs, b)
		}
	}
	// Join glyphs into words along their baseline.
	sort.SliceStable(glyphs, func(i, j int) bool { return glyphs[i].x0 < glyphs[j].x0 })
	used := make([]bool, len(glyphs))
	var out []box
	for i := range glyphs {
		if used[i] {
			continue
		}
		used[i] = true
		wb := glyphs[i]
		for j := i + 1; j < len(glyphs); j++ {
			c := glyphs[j]
			if used[j] || float64(c.x0-wb.x1) > 0.8*lineH {
				continue
			}
			overlap := min(wb.y1, c.y1) - max(wb.y0, c.y0)
			if float64(overlap) < 0.5*float64(min(wb.y1-wb.y0, c.y1-c.y0)) {
				continue
			}
			used[j] = true
			wb = box{min(wb.x0, c.x0), min(wb.y0, c.y0), max(wb.x1, c.x1), max(wb.y1, c.y1)}
		}
		out = append(out, wb)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].y0 != out[j].y0 {
			return out[i].y0 < out[j].y0
		}
		return out[i].x0 < out[j].x0
	})
	if len(out) > maxInkWords {
		out = out[:maxInkWords]
	}
	// Each on the tesseract line across it, if one is.
	type extent struct {
		seg            [3]int
		x0, y0, x1, y1 float64
	}
	var lines []extent
	for _, wd := range words {
		if k := slices.IndexFunc(lines, func(e extent) bool { return e.seg == wd.seg }); k >= 0 {
			e := &lines[k]
			e.x0, e.y0, e.x1, e.y1 = min(e.x0, wd.x0), min(e.y0, wd.y0), max(e.x1, wd.x1), max(e.y1, wd.y1)
		} else {
			lines = append(lines, extent{wd.seg, wd.x0, wd.y0, wd.x1, wd.y1})
		}
	}
	gaps := make([]cellGap, 0, len(out))
	m := int(lineH / 3)
	for _, b := range out {
		c := cellGap{x0: max(0, b.x0-m), y0: max(0, b.y0-m), x1: min(w, b.x1+m), y1: min(h, b.y1+m)}
		cx, cy := float64(b.x0+b.x1)/2, float64(b.y0+b.y1)/2
		for _, e := range lines {
			if e.x0 < cx && e.x1 > cx && e.y0 < cy && e.y1 > cy {
				c.seg, c.inLine = e.seg, true
				break
			}
		}
		gaps = append(gaps, c)
	}
	return gaps
}
