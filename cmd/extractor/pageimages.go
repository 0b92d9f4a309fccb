package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"

	"github.com/extractor-dev/extractor/extract/pdf"
	"github.com/extractor-dev/extractor/pageimage"
	"github.com/extractor-dev/extractor/pipeline"
)

// visionImages gives the LLM the images of a document's pages
// (extract.PageImages), drawn by the renderer the web pages use: PDF pages
// by pdftoppm, PNG and JPEG files as they are, TIFF pages as PNG, a scan
// turned upright as OCR turned it. The document's bytes come from load
// when set (the service's uploads), else from the file it was read from,
// checked against its id (the SHA-256).
type visionImages struct {
	r    *pageimage.Renderer
	load func(ctx context.Context, doc pipeline.Document) ([]byte, error)
}

func (v visionImages) PageImage(ctx context.Context, doc pipeline.Document, n int) (string, []byte, error) {
	rotate := 0
	if n >= 1 && n <= len(doc.Pages) && doc.Pages[n-1].OCR != nil {
		rotate = doc.Pages[n-1].OCR.Rotation
	}
	img, err := v.r.Page(ctx, doc.ID, n, rotate, func(ctx context.Context) ([]byte, error) { return v.bytes(ctx, doc) })
	if err != nil {
		return "", nil, err
	}
	return img.ContentType, img.Data, nil
}

// bytes are the document's bytes: load's, or its file's when they still
// hash to its id.
func (v visionImages) bytes(ctx context.Context, doc pipeline.Document) ([]byte, error) {
	if v.load != nil {
		if data, err := v.load(ctx, doc); err == nil {
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
