package ocr

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/extractor-dev/extractor/pipeline"
)

// pageSegMode is tesseract's page segmentation mode: 1, automatic with
// orientation and script detection, so sideways and upside-down pages are
// read turned (see orientation).
const pageSegMode = 1

// maxTSV bounds tesseract's output for one page.
const maxTSV = 64 << 20

// pageResult is what recognising one page gave.
type pageResult struct {
	page     pipeline.Page
	warnings []string
	err      error
}

// OCR recognises the pages of doc that mode selects (ModeAuto: those marked
// pipeline.PageNoText; ModeForce: every page) from pdf, the bytes doc was
// parsed from, and returns the document with those pages replaced: status
// pipeline.PageOCR, lines with words and confidences, Page.OCR saying how.
// A page where nothing was recognised stays PageNoText, with Page.OCR set
// (in ModeForce a page with a text layer then keeps it, with a warning).
//
// A page that fails keeps what it had and the document gets a warning
// naming the page and the reason; the error is nil unless no selected page
// could be recognised (then it wraps the first page's error), pdftoppm is
// missing (*ToolError), or ctx ends. The document's Parser gains the
// engine's Version when any page was recognised. doc is not modified.
func (e *Engine) OCR(ctx context.Context, doc pipeline.Document, pdf []byte, mode Mode) (pipeline.Document, error) {
	switch mode {
	case ModeOff, ModeAuto, ModeForce:
	default:
		return doc, fmt.Errorf("ocr: mode %q: want auto, force or off", mode)
	}
	var todo []int
	for i, p := range doc.Pages {
		if mode == ModeForce || (mode == ModeAuto && p.Status == pipeline.PageNoText) {
			todo = append(todo, i)
		}
	}
	if len(todo) == 0 {
		return doc, nil
	}
	if e.pdftoppm == "" {
		return doc, e.pdfErr
	}
	if doc.ID != "" {
		if sum := sha256.Sum256(pdf); hex.EncodeToString(sum[:]) != doc.ID {
			return doc, errors.New("ocr: the PDF bytes are not the ones the document was parsed from")
		}
	}
	results := make([]pageResult, len(todo))
	e.each(ctx, len(todo), func(ctx context.Context, k int) {
		results[k] = e.pdfPage(ctx, pdf, doc.Pages[todo[k]])
	})
	if err := ctx.Err(); err != nil {
		return doc, err // some pages may not have started
	}
	out := doc
	out.Pages = append([]pipeline.Page(nil), doc.Pages...)
	out.Warnings = append([]string(nil), doc.Warnings...)
	var first error
	done := 0
	for k, r := range results {
		p := doc.Pages[todo[k]]
		if r.err != nil {
			if first == nil {
				first = r.err
			}
			out.Warnings = append(out.Warnings, fmt.Sprintf("page %d: OCR failed: %v", p.Number, r.err))
			continue
		}
		out.Warnings = append(out.Warnings, r.warnings...)
		done++
		if r.page.Status == pipeline.PageNoText && p.Status == pipeline.PageText {
			// Forced OCR that found nothing does not throw a text layer away.
			out.Warnings = append(out.Warnings, fmt.Sprintf("page %d: OCR found no text; the text layer is kept", p.Number))
			continue
		}
		out.Pages[todo[k]] = r.page
	}
	if done > 0 {
		out.Parser = strings.TrimSpace(out.Parser + " " + e.Version())
	}
	if done == 0 {
		return out, fmt.Errorf("ocr: no page could be recognised: %w", first)
	}
	return out, nil
}

// pdfPage renders one page with pdftoppm and recognises it.
func (e *Engine) pdfPage(ctx context.Context, pdf []byte, p pipeline.Page) pageResult {
	dpi := e.opts.DPI
	var warnings []string
	if p.Width > 0 && p.Height > 0 {
		px := (p.Width * float64(dpi) / 72) * (p.Height * float64(dpi) / 72)
		if px > float64(e.opts.MaxPixels) {
			lower := int(float64(dpi) * math.Sqrt(float64(e.opts.MaxPixels)/px))
			if lower < MinDPI {
				return pageResult{err: fmt.Errorf("%w: page is %.0f x %.0f points, over %d pixels even at %d dpi",
					ErrTooLarge, p.Width, p.Height, e.opts.MaxPixels, MinDPI)}
			}
			warnings = append(warnings, fmt.Sprintf("page %d: rendered at %d dpi instead of %d: the page is %.0f x %.0f points",
				p.Number, lower, dpi, p.Width, p.Height))
			dpi = lower
		}
	}
	n := strconv.Itoa(p.Number)
	img, err := e.run(ctx, p.Number, e.pdftoppm, []string{"-r", strconv.Itoa(dpi), "-gray", "-f", n, "-l", n, "-"},
		bytes.NewReader(pdf), e.opts.MaxPixels+64)
	if err != nil {
		return pageResult{err: fmt.Errorf("rendering: %w", err)}
	}
	w, h, _, err := pgmInfo(img)
	if err != nil {
		return pageResult{err: fmt.Errorf("rendering: pdftoppm wrote no page image: %w", err)}
	}
	res, err := e.recognise(ctx, p.Number, img, w, h, dpi)
	if err != nil {
		return pageResult{err: err}
	}
	out := e.page(p.Number, res, dpi)
	// The PDF's page size is exact; the image's is rounded to pixels.
	if p.Width > 0 && p.Height > 0 {
		out.Width, out.Height = p.Width, p.Height
		if res.rotation == 90 || res.rotation == 270 {
			out.Width, out.Height = p.Height, p.Width
		}
	}
	return pageResult{page: out, warnings: warnings}
}

// recognise runs tesseract on one page image (any format it reads) of w x h
// pixels at dpi: prepared (see prepare), then the empty cells of its
// numeric columns (missingCells) and the ink no word covers (unreadInk)
// read again (rereadCells).
func (e *Engine) recognise(ctx context.Context, page int, img []byte, w, h, dpi int) (layoutResult, error) {
	args := []string{"stdin", "stdout", "--psm", strconv.Itoa(pageSegMode), "-l", e.languages, "--dpi", strconv.Itoa(dpi)}
	if e.opts.TessdataDir != "" {
		args = append(args, "--tessdata-dir", e.opts.TessdataDir)
	}
	img, g := prepare(img, dpi)
	out, err := e.run(ctx, page, e.tesseract, append(args, "tsv"), bytes.NewReader(img), maxTSV)
	if err != nil {
		var ce *childError
		if errors.As(err, &ce) && ce.unreadableImage() {
			return layoutResult{}, fmt.Errorf("%w: %s", ErrBadImage, ce.msg)
		}
		return layoutResult{}, err
	}
	tp, err := parseTSV(out)
	if err != nil {
		return layoutResult{}, err
	}
	res := layout(tp, w, h, float64(dpi))
	if g == nil {
		return res, nil // not decoded here (too large): the first reading stands
	}
	// Both re-readings work on the page upright: a page tesseract read
	// turned is turned, with its words, and what they read turned back.
	rot, W, H := res.rotation, float64(g.Rect.Dx()), float64(g.Rect.Dy())
	words := tp.words
	if rot != 0 {
		g = turnGray(g, rot)
		words = slices.Clone(tp.words)
		for i := range words {
			wd := &words[i]
			wd.x0, wd.y0, wd.x1, wd.y1 = turn(wd.x0, wd.y0, wd.x1, wd.y1, rot, W, H)
		}
	}
	gaps := res.gaps
	for _, c := range unreadInk(g, words) {
		if !slices.ContainsFunc(gaps, func(o cellGap) bool { return o.x0 < c.x1 && c.x0 < o.x1 && o.y0 < c.y1 && c.y0 < o.y1 }) {
			c.text = true
			gaps = append(gaps, c)
		}
	}
	if more := e.rereadCells(ctx, page, g, gaps, dpi); len(more) > 0 {
		// Into their lines in reading order (upright), then back into the
		// image as given (pixel coordinates turn back exactly).
		words = insertWords(words, more)
		if rot != 0 {
			for i := range words {
				wd := &words[i]
				wd.x0, wd.y0, wd.x1, wd.y1 = unturn(wd.x0, wd.y0, wd.x1, wd.y1, rot, W, H)
			}
		}
		tp.words = words
		res = layout(tp, w, h, float64(dpi))
	}
	return res, nil
}

// unreadableImage tells leptonica's complaints about the image bytes from
// other failures.
func (e *childError) unreadableImage() bool {
	return strings.Contains(e.msg, "pixRead") || strings.Contains(e.msg, "Error during processing") ||
		strings.Contains(e.msg, "Unsupported image type") || strings.Contains(e.msg, "image file") && strings.Contains(e.msg, "cannot be read")
}

// page is a recognised page in points.
func (e *Engine) page(number int, res layoutResult, dpi int) pipeline.Page {
	scale := 72 / float64(dpi)
	p := pipeline.Page{
		Number: number,
		Width:  round2(res.width * scale),
		Height: round2(res.height * scale),
		Status: pipeline.PageOCR,
		Lines:  res.lines,
		OCR: &pipeline.OCRInfo{Engine: "tesseract", Version: e.tessVer, Languages: e.languages, DPI: dpi,
			Rotation: res.rotation, Skew: res.skew, Confidence: res.confidence},
	}
	if len(p.Lines) == 0 {
		p.Status = pipeline.PageNoText
	}
	return p
}

// each runs f for 0..n-1 on up to Workers goroutines; after ctx ends no
// new call starts.
func (e *Engine) each(ctx context.Context, n int, f func(ctx context.Context, i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(e.opts.Workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(ctx, i)
			}
		}()
	}
	defer wg.Wait()
	defer close(next)
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			return
		}
	}
}

// ParseImageFile reads the image file at path (see ParseImage); the
// document's Source is path.
func (e *Engine) ParseImageFile(ctx context.Context, path string) (pipeline.Document, error) {
	f, err := os.Open(path)
	if err != nil {
		return pipeline.Document{}, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, e.opts.MaxBytes+1))
	if err != nil {
		return pipeline.Document{}, err
	}
	doc, err := e.ParseImage(ctx, data)
	doc.Source = path
	return doc, err
}

// Assumed resolution for images that declare none (or a screen's 72 or
// 96): the one that makes the long side as long as an A4 page's, within
// these bounds. Declared resolutions outside them are not believed either.
const (
	minImageDPI = 100
	maxImageDPI = 1200
	a4LongSide  = 297 / 25.4 // inches
)

// ParseImage recognises an image file, PNG, JPEG or TIFF (all its pages),
// told apart by their bytes, into a Document like a PDF's: ID is the
// SHA-256 of the bytes, Parser names the engine (Version), and each page
// is recognised as the OCR path does for PDF pages, at the resolution the
// image declares (or, without one, an assumed one: a warning says so).
//
// The file's headers are checked before any decoding: dimensions over
// MaxPixels give ErrTooLarge and a truncated or malformed file ErrBadImage
// for the whole document. A page the engine then fails on becomes a
// pipeline.PageError page with a warning; when no page could be
// recognised, the error wraps the first page's.
func (e *Engine) ParseImage(ctx context.Context, data []byte) (pipeline.Document, error) {
	sum := sha256.Sum256(data)
	doc := pipeline.Document{ID: hex.EncodeToString(sum[:]), Size: int64(len(data)), Parser: e.Version()}
	if int64(len(data)) > e.opts.MaxBytes {
		return doc, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), e.opts.MaxBytes)
	}
	var infos []imageInfo
	var pageBytes func(i int) ([]byte, error)
	switch Sniff(data) {
	case FormatPNG:
		info, err := pngInfo(data)
		if err != nil {
			return doc, err
		}
		infos = []imageInfo{info}
		pageBytes = func(int) ([]byte, error) { return data, nil }
	case FormatJPEG:
		info, err := jpegInfo(data)
		if err != nil {
			return doc, err
		}
		infos = []imageInfo{info}
		pageBytes = func(int) ([]byte, error) { return data, nil }
	case FormatTIFF:
		order, dirs, err := readTIFF(data, e.opts.MaxPages)
		if err != nil {
			return doc, err
		}
		for _, d := range dirs {
			infos = append(infos, d.info)
		}
		pageBytes = func(i int) ([]byte, error) { return dirs[i].singlePage(order, data) }
	default:
		return doc, fmt.Errorf("%w: not a PNG, JPEG or TIFF file", ErrBadImage)
	}
	for i, info := range infos {
		if info.pixels() > e.opts.MaxPixels {
			return doc, fmt.Errorf("%w: page %d is %d x %d pixels, limit %d pixels", ErrTooLarge, i+1, info.width, info.height, e.opts.MaxPixels)
		}
	}
	results := make([]pageResult, len(infos))
	e.each(ctx, len(infos), func(ctx context.Context, i int) {
		results[i] = e.imagePage(ctx, i+1, infos[i], pageBytes)
	})
	if err := ctx.Err(); err != nil {
		return doc, err
	}
	var first error
	for i, r := range results {
		if r.err != nil {
			if first == nil {
				first = r.err
			}
			doc.Warnings = append(doc.Warnings, fmt.Sprintf("page %d: OCR failed: %v", i+1, r.err))
			doc.Pages = append(doc.Pages, pipeline.Page{Number: i + 1, Status: pipeline.PageError, Error: r.err.Error()})
			continue
		}
		doc.Warnings = append(doc.Warnings, r.warnings...)
		doc.Pages = append(doc.Pages, r.page)
	}
	if allFailed(results) {
		return doc, fmt.Errorf("ocr: no page could be recognised: %w", first)
	}
	return doc, nil
}

func allFailed(rs []pageResult) bool {
	for _, r := range rs {
		if r.err == nil {
			return false
		}
	}
	return true
}

func (e *Engine) imagePage(ctx context.Context, number int, info imageInfo, pageBytes func(int) ([]byte, error)) pageResult {
	img, err := pageBytes(number - 1)
	if err != nil {
		return pageResult{err: err}
	}
	var warnings []string
	dpi := int(math.Round(info.dpi))
	if dpi < minImageDPI || dpi > maxImageDPI {
		assumed := int(math.Round(float64(max(info.width, info.height)) / a4LongSide))
		assumed = min(max(assumed, minImageDPI), maxImageDPI)
		what := "declares no resolution"
		if dpi > 0 {
			what = fmt.Sprintf("declares %d dpi", dpi)
		}
		warnings = append(warnings, fmt.Sprintf("page %d: the image %s; assumed %d dpi (an A4 page's height)", number, what, assumed))
		dpi = assumed
	}
	res, err := e.recognise(ctx, number, img, info.width, info.height, dpi)
	if err != nil {
		return pageResult{err: err}
	}
	return pageResult{page: e.page(number, res, dpi), warnings: warnings}
}
