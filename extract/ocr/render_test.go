package ocr

import (
	"bytes"
	"image/png"
	"testing"
)

func TestRenderPage(t *testing.T) {
	e := testEngine(t, Options{})
	ctx := testContext(t)
	pdf := samplePDF(t)
	img, err := e.RenderPage(ctx, pdf, 1, 72, 595, 842)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	img2, err := e.RenderPage(ctx, pdf, 1, 144, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	cfg2, err := png.DecodeConfig(bytes.NewReader(img2))
	if err != nil {
		t.Fatal(err)
	}
	if d := cfg2.Width - 2*cfg.Width; cfg.Width < 100 || d < -2 || d > 2 || cfg2.Height-2*cfg.Height < -2 || cfg2.Height-2*cfg.Height > 2 {
		t.Errorf("page 1 is %d x %d pixels at 72 dpi and %d x %d at 144", cfg.Width, cfg.Height, cfg2.Width, cfg2.Height)
	}
	// A page too large for MaxPixels at the dpi asked is rendered at a
	// lower one.
	small := testEngine(t, Options{MaxPixels: 600_000})
	img, err = small.RenderPage(ctx, pdf, 1, 300, 595, 842)
	if err != nil {
		t.Fatal(err)
	}
	if cfg, err = png.DecodeConfig(bytes.NewReader(img)); err != nil || cfg.Width*cfg.Height > 600_000 {
		t.Errorf("capped render: %d x %d (%v)", cfg.Width, cfg.Height, err)
	}
	for _, n := range []int{0, 99} {
		if _, err := e.RenderPage(ctx, pdf, n, 72, 595, 842); err == nil {
			t.Errorf("page %d: no error", n)
		}
	}
	if _, err := e.RenderPage(ctx, []byte("not a pdf"), 1, 72, 0, 0); err == nil {
		t.Error("not a PDF: no error")
	}
}
