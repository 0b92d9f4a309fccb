package ocr

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	_ "image/jpeg" // page images handed to the engine
	_ "image/png"

	"golang.org/x/image/tiff"
)

// Page images are prepared before recognition: text printed light on a
// dark band or box (a total in a dark bar, a header band with the sender's
// name) is turned into dark text on light paper. Without this the engine's
// global threshold makes the whole band black and the text in it is lost,
// the most expensive text on an invoice among it.
//
// A region is inverted when it is a dark, filled band: 1 mm cells whose
// mean is below darkShare of the paper's brightness, connected, at least
// minBandWidthMM wide, minBandHeightMM tall and minBandAspect times wider
// than tall, with dark cells making up at least minBandFill of the region
// they enclose, and print lighter than the band. Letters of a bold
// heading, rules, frames around boxes, square logos and photographs stay as
// they are (a frame encloses mostly light cells; a letter is narrow), and
// so do mid-tone bands, which the engine reads as they are.
const (
	darkShare       = 0.4
	minBandWidthMM  = 20
	minBandHeightMM = 3
	minBandAspect   = 3
	minBandFill     = 0.55
)

// prepare returns the image to recognise: img itself when nothing needs
// changing or when it cannot be decoded (the engine then reads it as it
// is), else a PGM of the prepared page; and the page decoded as prepared,
// for the re-readings after recognition (nil when it could not be decoded
// here).
func prepare(img []byte, dpi int) (out []byte, g *image.Gray) {
	defer func() {
		if recover() != nil { // a decoder's bug is no reason to lose the page
			out, g = img, nil
		}
	}()
	g, err := decodeGray(img)
	if err != nil {
		return img, nil
	}
	if !invertDarkRegions(g, dpi) {
		return img, g
	}
	return encodePGM(g), g
}

// maxPreparePixels bounds the page images decoded in this process (for
// the preparation above and the cell re-reading of cells.go): 16 million
// pixels, an A4 page at 400 dpi, at most 64 MiB decoded in colour. Larger
// pages go to the engine as they are.
const maxPreparePixels = 16_000_000

// decodeGray decodes a PGM (pdftoppm's), PNG, JPEG or TIFF page image into
// 8-bit grey; an image over maxPreparePixels is refused from its header.
func decodeGray(img []byte) (*image.Gray, error) {
	if bytes.HasPrefix(img, []byte("P5")) {
		w, h, pos, err := pgmInfo(img)
		if err != nil {
			return nil, err
		}
		if bytes.Contains(img[:pos], []byte("65535")) || int64(len(img)-pos) != int64(w)*int64(h) {
			return nil, fmt.Errorf("%w: not an 8-bit PGM", ErrBadImage)
		}
		if int64(w)*int64(h) > maxPreparePixels {
			return nil, fmt.Errorf("%w: %d x %d pixels", ErrTooLarge, w, h)
		}
		return &image.Gray{Pix: bytes.Clone(img[pos : pos+w*h]), Stride: w, Rect: image.Rect(0, 0, w, h)}, nil
	}
	var cfg image.Config
	var err error
	if Sniff(img) == FormatTIFF {
		cfg, err = tiff.DecodeConfig(bytes.NewReader(img))
	} else {
		cfg, _, err = image.DecodeConfig(bytes.NewReader(img))
	}
	if err != nil {
		return nil, err
	}
	if int64(cfg.Width)*int64(cfg.Height) > maxPreparePixels {
		return nil, fmt.Errorf("%w: %d x %d pixels", ErrTooLarge, cfg.Width, cfg.Height)
	}
	var m image.Image
	if Sniff(img) == FormatTIFF {
		m, err = tiff.Decode(bytes.NewReader(img))
	} else {
		m, _, err = image.Decode(bytes.NewReader(img))
	}
	if err != nil {
		return nil, err
	}
	if g, ok := m.(*image.Gray); ok {
		return g, nil
	}
	b := m.Bounds()
	g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(g, g.Rect, m, b.Min, draw.Src)
	return g, nil
}

// encodePGM writes g as a binary PGM, which the engine reads.
func encodePGM(g *image.Gray) []byte {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	head := fmt.Sprintf("P5\n%d %d\n255\n", w, h)
	out := make([]byte, 0, len(head)+w*h)
	out = append(out, head...)
	for y := range h {
		row := g.Pix[y*g.Stride : y*g.Stride+w]
		out = append(out, row...)
	}
	return out
}

// invertDarkRegions inverts, in place, the dark bands and boxes of a page
// image (see above) and tells whether it changed anything.
func invertDarkRegions(g *image.Gray, dpi int) bool {
	if dpi <= 0 {
		dpi = 300
	}
	w, h := g.Rect.Dx(), g.Rect.Dy()
	cell := max(dpi*10/254, 2) // 1 mm
	gw, gh := (w+cell-1)/cell, (h+cell-1)/cell
	if gw < 2 || gh < 2 {
		return false
	}
	means := make([]uint8, gw*gh)
	hist := [256]int{}
	for cy := range gh {
		for cx := range gw {
			x0, y0 := cx*cell, cy*cell
			x1, y1 := min(x0+cell, w), min(y0+cell, h)
			sum := 0
			for y := y0; y < y1; y++ {
				row := g.Pix[y*g.Stride+x0 : y*g.Stride+x1]
				for _, v := range row {
					sum += int(v)
				}
			}
			m := uint8(sum / ((x1 - x0) * (y1 - y0)))
			means[cy*gw+cx] = m
			hist[m]++
		}
	}
	// The paper's brightness: the 75th percentile of the cells' means (most
	// of a page is paper; a page mostly dark is left alone below).
	paper, seen := 0, 0
	for v := range 256 {
		seen += hist[v]
		if seen*4 >= len(means)*3 {
			paper = v
			break
		}
	}
	limit := uint8(float64(paper) * darkShare)
	if limit == 0 {
		return false
	}
	dark := make([]bool, len(means))
	for i, m := range means {
		dark[i] = m < limit
	}
	minW := minBandWidthMM * dpi * 10 / 254 / cell
	minH := minBandHeightMM * dpi * 10 / 254 / cell
	label := make([]int32, len(means)) // 0 unvisited, -1 done
	changed := false
	var stack, comp []int
	for start := range dark {
		if !dark[start] || label[start] != 0 {
			continue
		}
		// One component of dark cells, 4-connected, found in scan order.
		comp = comp[:0]
		stack = append(stack[:0], start)
		label[start] = -1
		minX, minY, maxX, maxY := gw, gh, -1, -1
		for len(stack) > 0 {
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			comp = append(comp, i)
			x, y := i%gw, i/gw
			minX, maxX, minY, maxY = min(minX, x), max(maxX, x), min(minY, y), max(maxY, y)
			for _, n := range [4]int{i - 1, i + 1, i - gw, i + gw} {
				if n < 0 || n >= len(dark) || !dark[n] || label[n] != 0 {
					continue
				}
				if (n == i-1 || n == i+1) && n/gw != y {
					continue
				}
				label[n] = -1
				stack = append(stack, n)
			}
		}
		bw, bh := maxX-minX+1, maxY-minY+1
		if bw < minW || bh < minH || bw < minBandAspect*bh {
			continue
		}
		inside := enclosed(comp, gw, minX, minY, maxX, maxY)
		if float64(len(comp)) < minBandFill*float64(len(inside)) || len(inside)*2 > len(means) {
			continue
		}
		if invertRegion(g, inside, gw, cell, paper) {
			changed = true
		}
	}
	return changed
}

// invertRegion turns the region's light-on-dark print into dark print on
// paper: inverted, then scaled so that the region's background (its median
// pixel) becomes as light as the page's paper. A region whose print is
// darker than its background (black text on a grey band) is left alone and
// false returned.
func invertRegion(g *image.Gray, cells []int, gw, cell, paper int) bool {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	var hist [256]int
	n := 0
	each := func(fn func(row []uint8)) {
		for _, i := range cells {
			x0, y0 := (i%gw)*cell, (i/gw)*cell
			x1, y1 := min(x0+cell, w), min(y0+cell, h)
			for y := y0; y < y1; y++ {
				fn(g.Pix[y*g.Stride+x0 : y*g.Stride+x1])
			}
		}
	}
	each(func(row []uint8) {
		for _, v := range row {
			hist[v]++
		}
		n += len(row)
	})
	bg, seen := 0, 0
	for v := range 256 {
		if seen += hist[v]; seen*2 >= n {
			bg = v
			break
		}
	}
	lighter, darker := 0, 0
	for v := range 256 {
		switch {
		case v > bg+printContrast:
			lighter += hist[v]
		case v < bg-printContrast:
			darker += hist[v]
		}
	}
	if lighter <= darker {
		return false
	}
	var lut [256]uint8
	for v := range 256 {
		lut[v] = uint8(min(255, (255-v)*paper/max(255-bg, 1)))
	}
	each(func(row []uint8) {
		for k, v := range row {
			row[k] = lut[v]
		}
	})
	return true
}

// printContrast is how far from a region's background a pixel must be to
// count as print.
const printContrast = 40

// enclosed returns the cells of a component and the cells it encloses (the
// light text inside a dark band): every cell of its bounding box that the
// box's border cannot reach without crossing the component.
func enclosed(comp []int, gw, minX, minY, maxX, maxY int) []int {
	bw, bh := maxX-minX+1, maxY-minY+1
	in := make([]bool, bw*bh) // part of the component
	for _, i := range comp {
		in[(i/gw-minY)*bw+i%gw-minX] = true
	}
	outside := make([]bool, bw*bh)
	var stack []int
	push := func(k int) {
		if !in[k] && !outside[k] {
			outside[k] = true
			stack = append(stack, k)
		}
	}
	for x := range bw {
		push(x)
		push((bh-1)*bw + x)
	}
	for y := range bh {
		push(y * bw)
		push(y*bw + bw - 1)
	}
	for len(stack) > 0 {
		k := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		x, y := k%bw, k/bw
		if x > 0 {
			push(k - 1)
		}
		if x < bw-1 {
			push(k + 1)
		}
		if y > 0 {
			push(k - bw)
		}
		if y < bh-1 {
			push(k + bw)
		}
	}
	var out []int
	for k := range in {
		if !outside[k] {
			out = append(out, (minY+k/bw)*gw+minX+k%bw)
		}
	}
	return out
}
