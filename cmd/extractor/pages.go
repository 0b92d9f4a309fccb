package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/extractor-dev/extractor/pageimage"
	"github.com/extractor-dev/extractor/server"
	"github.com/extractor-dev/extractor/store"
)

// pageImages serves the pages' images (server.PageImages): the document's
// bytes come from the uploads the service kept, or from the file a run
// read when it is still where it was and still the same; the renderer
// caches what it draws.
type pageImages struct {
	s *service
	r *pageimage.Renderer
}

func (p pageImages) PageImage(ctx context.Context, id string, page int) (server.PageImage, error) {
	d, err := p.s.st.Document(ctx, id)
	if err != nil {
		return server.PageImage{}, notFound(err, "document "+id)
	}
	if page < 1 || page > d.Pages {
		return server.PageImage{}, fmt.Errorf("%w: page %d of document %s (it has %d)", server.ErrNotFound, page, id, d.Pages)
	}
	// A scan OCR turned upright is turned the same way, so that the image
	// matches the boxes.
	rotate := 0
	if pages, err := p.s.st.Pages(ctx, id); err == nil {
		for _, pg := range pages {
			if pg.Number == page && pg.OCR != nil {
				rotate = pg.OCR.Rotation
			}
		}
	}
	img, err := p.r.Page(ctx, id, page, rotate, func(ctx context.Context) ([]byte, error) { return p.bytes(ctx, id, d.Source) })
	switch {
	case errors.Is(err, pageimage.ErrNoPage):
		return server.PageImage{}, fmt.Errorf("%w: %v", server.ErrNotFound, err)
	case errors.Is(err, pageimage.ErrUnsupported):
		return server.PageImage{}, fmt.Errorf("%w: %v", server.ErrUnprocessable, err)
	case err != nil:
		return server.PageImage{}, err
	}
	return server.PageImage{ContentType: img.ContentType, Data: img.Data}, nil
}

// bytes finds a document's content by its hash.
func (p pageImages) bytes(ctx context.Context, id, source string) ([]byte, error) {
	_, data, err := p.s.st.Upload(ctx, id)
	if err == nil {
		return data, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if source != "" && !strings.HasPrefix(source, "upload:") {
		if b, rerr := os.ReadFile(source); rerr == nil {
			sum := sha256.Sum256(b)
			if hex.EncodeToString(sum[:]) == id {
				return b, nil
			}
		}
	}
	return nil, fmt.Errorf("%w: the file of document %s is not kept (its upload is not in the database and %q is gone or changed)",
		server.ErrNotFound, id[:12], source)
}
