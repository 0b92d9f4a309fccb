package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image/png"
	"sync"

	"golang.org/x/image/tiff"

	"github.com/extractor-dev/extractor/extract/ocr"
	"github.com/extractor-dev/extractor/extract/pdf"
	"github.com/extractor-dev/extractor/pipeline"
)

// visionDPI renders pages for a model: an A4 page is 1240 x 1754 pixels,
// which OpenAI scales to 768 x 1086 at "auto" detail anyway.
const visionDPI = 150

// pageImages gives the LLM the images of a document's pages
// (extract.PageImages): PDF pages rendered by pdftoppm, PNG and JPEG files
// as they are, a TIFF's first page as PNG. The document's bytes come from
// the file it was read from (checked against its id, the SHA-256), or from
// load when set (the service's uploads).
type pageImages struct {
	opts ocr.Options
	load func(ctx context.Context, doc pipeline.Document) ([]byte, error)

	once   sync.Once
	engine *ocr.Engine
	err    error
}

func (pi *pageImages) PageImage(ctx context.Context, doc pipeline.Document, n int) (string, []byte, error) {
	data, err := pi.bytes(ctx, doc)
	if err != nil {
		return "", nil, err
	}
	switch ocr.Sniff(data) {
	case ocr.FormatPNG, ocr.FormatJPEG:
		if n != 1 {
			return "", nil, fmt.Errorf("an image file has one page, not %d", n)
		}
		if ocr.Sniff(data) == ocr.FormatPNG {
			return "image/png", data, nil
		}
		return "image/jpeg", data, nil
	case ocr.FormatTIFF:
		if n != 1 {
			return "", nil, errors.New("only a TIFF's first page is sent to the model")
		}
		img, err := tiff.Decode(bytes.NewReader(data))
		if err != nil {
			return "", nil, fmt.Errorf("the TIFF cannot be converted: %v", err)
		}
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			return "", nil, err
		}
		return "image/png", b.Bytes(), nil
	}
	if !pdf.LooksLikePDF(data) {
		return "", nil, errors.New("the document is neither a PDF nor an image")
	}
	pi.once.Do(func() { pi.engine, pi.err = ocr.New(context.WithoutCancel(ctx), pi.opts) })
	if pi.err != nil {
		return "", nil, pi.err
	}
	var w, h float64
	if n >= 1 && n <= len(doc.Pages) {
		w, h = doc.Pages[n-1].Width, doc.Pages[n-1].Height
	}
	img, err := pi.engine.RenderPage(ctx, data, n, visionDPI, w, h)
	if err != nil {
		return "", nil, err
	}
	return "image/png", img, nil
}

// bytes are the document's bytes: load's, or its file's when they still
// hash to its id.
func (pi *pageImages) bytes(ctx context.Context, doc pipeline.Document) ([]byte, error) {
	if pi.load != nil {
		if data, err := pi.load(ctx, doc); err == nil {
			return data, nil
		}
	}
	data, err := readLimited(doc.Source, pdf.DefaultMaxBytes)
	if err != nil {
		return nil, errors.New("the document's file cannot be read again")
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != doc.ID {
		return nil, errors.New("the document's file has changed since it was read")
	}
	return data, nil
}
