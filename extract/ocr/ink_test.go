package ocr

import (
	"image"
	"testing"
)

func TestUnreadInk(t *testing.T) {
	g := image.NewGray(image.Rect(0, 0, 1200, 900))
	for i := range g.Pix {
		g.Pix[i] = 240
	}
	fill := func(x0, y0, x1, y1 int, v uint8) {
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				g.Pix[y*g.Stride+x] = v
			}
		}
	}
	// glyphs draws n glyph-like marks 12 x 30 px, 6 px apart, from x.
	glyphs := func(x, y, n int) (x1 int) {
		for i := range n {
			fill(x+i*18, y, x+i*18+12, y+30, 20)
		}
		return x + n*18 - 6
	}
	var words []tsvWord
	for i := range 10 { // ten words read, one a row
		y := 40 + i*50
		x1 := glyphs(100, y, 5)
		words = append(words, tsvWord{seg: [3]int{1, 1, i + 1}, x0: 100, y0: float64(y), x1: float64(x1), y1: float64(y + 30), conf: 0.95, text: "Words"})
	}
	x1 := glyphs(900, 90, 4) // the second row goes on to the right
	words = append(words, tsvWord{seg: [3]int{1, 1, 2}, x0: 900, y0: 90, x1: float64(x1), y1: 120, conf: 0.95, text: "1234"})
	glyphs(700, 90, 3)           // "525" between them, not read
	fill(100, 700, 1100, 703, 0) // a rule
	fill(900, 600, 1100, 800, 0) // a logo block
	fill(600, 300, 602, 302, 0)  // a speck
	gaps := unreadInk(g, words)
	if len(gaps) != 1 {
		t.Fatalf("gaps %+v, want one", gaps)
	}
	c := gaps[0]
	if c.x0 > 700 || c.x1 < 742 || c.y0 > 90 || c.y1 < 120 {
		t.Errorf("gap %+v does not hold the unread word at 700-742 x 90-120", c)
	}
	if !c.inLine || c.seg != [3]int{1, 1, 2} {
		t.Errorf("gap %+v not on the second row's line", c)
	}
	// Everything read: nothing to read again.
	words = append(words, tsvWord{seg: [3]int{1, 1, 2}, x0: 700, y0: 90, x1: 742, y1: 120, conf: 0.9, text: "525"})
	if gaps := unreadInk(g, words); len(gaps) != 0 {
		t.Errorf("gaps %+v with every word read", gaps)
	}
}

// turn, unturn and turnGray agree: a box turned and turned back is the
// same box, and a pixel lands inside its box turned.
func TestTurnAndBack(t *testing.T) {
	g := image.NewGray(image.Rect(0, 0, 40, 30))
	g.Pix[7*g.Stride+11] = 1 // the pixel at (11, 7)
	for _, rot := range []int{0, 90, 180, 270} {
		x0, y0, x1, y1 := turn(11, 7, 12, 8, rot, 40, 30)
		if a, b, c, d := unturn(x0, y0, x1, y1, rot, 40, 30); a != 11 || b != 7 || c != 12 || d != 8 {
			t.Errorf("rot %d: back to %v %v %v %v", rot, a, b, c, d)
		}
		u := turnGray(g, rot)
		if v := u.Pix[int(y0)*u.Stride+int(x0)]; v != 1 {
			t.Errorf("rot %d: pixel not at its turned box (%v, %v)", rot, x0, y0)
		}
	}
}
