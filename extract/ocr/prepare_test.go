package ocr

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"testing"
)

// page is a 200 dpi grey page of paper (235) with rectangles drawn on it.
func page(rects ...struct {
	r image.Rectangle
	v uint8
}) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, 1654, 2339))
	for i := range g.Pix {
		g.Pix[i] = 235
	}
	for _, c := range rects {
		for y := c.r.Min.Y; y < c.r.Max.Y; y++ {
			for x := c.r.Min.X; x < c.r.Max.X; x++ {
				g.Pix[y*g.Stride+x] = c.v
			}
		}
	}
	return g
}

type rect = struct {
	r image.Rectangle
	v uint8
}

// strokes are letter-like marks of value v in r: 3 px wide bars 12 px apart.
func strokes(r image.Rectangle, v uint8) []rect {
	var out []rect
	for x := r.Min.X; x+3 <= r.Max.X; x += 12 {
		out = append(out, rect{image.Rect(x, r.Min.Y, x+3, r.Max.Y), v})
	}
	return out
}

func TestInvertDarkRegions(t *testing.T) {
	band := image.Rect(800, 1500, 1500, 1580) // 89 x 10 mm
	text := image.Rect(830, 1520, 1470, 1560)
	for _, c := range []struct {
		name   string
		rects  []rect
		invert bool
	}{
		{"white print on a dark band", append([]rect{{band, 50}}, strokes(text, 245)...), true},
		{"black print on paper", strokes(image.Rect(100, 100, 900, 140), 20), false},
		{"black print on a mid-grey band", append([]rect{{band, 140}}, strokes(text, 20)...), false},
		{"black print on a dark band", append([]rect{{band, 80}}, strokes(text, 10)...), false},
		{"a dark square logo with white dots", append([]rect{{image.Rect(100, 100, 300, 300), 40}}, strokes(image.Rect(120, 120, 280, 280), 240)...), false},
		{"a frame around a box", []rect{{image.Rect(800, 1500, 1500, 1506), 20}, {image.Rect(800, 1574, 1500, 1580), 20},
			{image.Rect(800, 1500, 806, 1580), 20}, {image.Rect(1494, 1500, 1500, 1580), 20}}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := page(c.rects...)
			before := bytes.Clone(g.Pix)
			changed := invertDarkRegions(g, 200)
			if changed != c.invert {
				t.Fatalf("changed %v, want %v", changed, c.invert)
			}
			if !c.invert {
				if !bytes.Equal(before, g.Pix) {
					t.Fatal("pixels changed though nothing was inverted")
				}
				return
			}
			// The band is paper now, its print dark; paper outside it
			// untouched.
			at := func(x, y int) uint8 { return g.Pix[y*g.Stride+x] }
			if v := at(815, 1540); v < 200 {
				t.Errorf("band background %d after inversion, want paper", v)
			}
			if v := at(831, 1540); v > 40 {
				t.Errorf("band print %d after inversion, want dark", v)
			}
			if v := at(100, 100); v != 235 {
				t.Errorf("paper %d, want 235", v)
			}
		})
	}
}

func TestPrepare(t *testing.T) {
	g := page(append([]rect{{image.Rect(800, 1500, 1500, 1580), 50}}, strokes(image.Rect(830, 1520, 1470, 1560), 245)...)...)
	var buf bytes.Buffer
	if err := png.Encode(&buf, g); err != nil {
		t.Fatal(err)
	}
	out, _ := prepare(buf.Bytes(), 200)
	p, err := decodeGray(out)
	if err != nil || !bytes.HasPrefix(out, []byte("P5")) || p.Rect != g.Rect {
		t.Fatalf("prepared image: %v, %q..., %v", err, out[:2], p)
	}
	if again, _ := prepare(buf.Bytes(), 200); !bytes.Equal(again, out) {
		t.Fatal("not the same bytes twice")
	}
	// Nothing to change, or nothing this process decodes: the bytes as given.
	plain := page()
	buf.Reset()
	png.Encode(&buf, plain)
	if out, _ := prepare(buf.Bytes(), 200); !bytes.Equal(out, buf.Bytes()) {
		t.Fatal("a page without dark bands was rewritten")
	}
	if out, _ := prepare([]byte("not an image"), 200); string(out) != "not an image" {
		t.Fatal("undecodable bytes were rewritten")
	}
	big := append([]byte("P5\n4001 4000\n255\n"), make([]byte, 4001*4000)...)
	if _, err := decodeGray(big); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("a page over %d pixels: %v, want ErrTooLarge", maxPreparePixels, err)
	}
	if out, _ := prepare(big, 200); &out[0] != &big[0] {
		t.Fatal("a page too large to prepare was copied")
	}
}
