package ocr

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
)

// RenderPage renders page n (1-based) of a PDF as a PNG at dpi, with
// pdftoppm under the same deadline and memory cap as recognition, for
// people and models that look at pages. A page over MaxPixels at dpi is
// rendered at the dpi that fits.
func (e *Engine) RenderPage(ctx context.Context, pdf []byte, n, dpi int, width, height float64) ([]byte, error) {
	if n < 1 {
		return nil, fmt.Errorf("ocr: page %d: pages count from 1", n)
	}
	if dpi <= 0 {
		dpi = DefaultDPI
	}
	if width > 0 && height > 0 {
		for dpi > MinDPI && (width*float64(dpi)/72)*(height*float64(dpi)/72) > float64(e.opts.MaxPixels) {
			dpi = max(MinDPI, dpi*9/10)
		}
	}
	s := strconv.Itoa(n)
	// A PNG is at most its raw pixels plus framing; RGB is 3 bytes each.
	img, err := e.run(ctx, n, e.pdftoppm, []string{"-r", strconv.Itoa(dpi), "-png", "-f", s, "-l", s, "-"},
		bytes.NewReader(pdf), 3*e.opts.MaxPixels+1<<20)
	if err != nil {
		return nil, fmt.Errorf("rendering page %d: %w", n, err)
	}
	if len(img) < 8 || !bytes.HasPrefix(img, []byte("\x89PNG")) {
		return nil, fmt.Errorf("rendering page %d: pdftoppm wrote no PNG (is there such a page?)", n)
	}
	return img, nil
}
