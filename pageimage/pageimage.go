// Package pageimage renders a document's pages as images for people to
// look at: the web pages show them with the evidence boxes of the fields
// drawn over them.
//
// A PDF page is rendered by poppler's pdftoppm, run as a child process
// under a deadline (a hostile PDF can take the child down, never the
// server); a PNG or JPEG file is its own page image; a TIFF page is cut
// out of the file and converted to PNG (browsers do not show TIFF).
// Images are cached on disk by the document's content hash, page and
// resolution, so a page is rendered once.
//
// It does not know where documents are kept: the caller hands it the
// bytes. It does not draw the boxes: the page does, over the image, in
// page coordinates.
package pageimage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // decoding JPEG pages to turn them
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"sync"
	"time"

	"golang.org/x/image/tiff"

	"github.com/extractor-dev/extractor/extract/ocr"
)

// Errors callers branch on.
var (
	// ErrNoPage: the document has no such page.
	ErrNoPage = errors.New("pageimage: no such page")
	// ErrUnsupported: the bytes are not a PDF, PNG, JPEG or TIFF file.
	ErrUnsupported = errors.New("pageimage: not a PDF or an image file")
	// ErrRender: the renderer failed (missing, crashed, or too slow).
	ErrRender = errors.New("pageimage: rendering failed")
)

// Config configures a Renderer.
type Config struct {
	// Pdftoppm is the program that renders PDF pages (default "pdftoppm").
	Pdftoppm string
	// DPI is the resolution of rendered PDF pages (default 110: a letter
	// page is 935 x 1210 pixels, sharp enough to read beside the text).
	DPI int
	// Timeout bounds one rendering (default 30s).
	Timeout time.Duration
	// CacheDir keeps rendered pages; "" keeps none.
	CacheDir string
	// MaxPixels bounds a TIFF page converted in process (default 50
	// million).
	MaxPixels int64
	// MemoryLimit caps pdftoppm's address space in bytes (default 1 GiB,
	// through util-linux's prlimit on Linux, as the OCR children are
	// capped; not enforced where prlimit is missing). Negative: no cap.
	MemoryLimit int64
}

// Image is a page image.
type Image struct {
	ContentType string
	Data        []byte
}

// Renderer renders pages. It is safe for concurrent use; concurrent
// requests for one page render it once.
type Renderer struct {
	cfg     Config
	prlimit string // "" when memory is not capped

	mu       sync.Mutex
	inflight map[string]*call
}

type call struct {
	done chan struct{}
	img  Image
	err  error
}

// New returns a renderer.
func New(cfg Config) *Renderer {
	if cfg.Pdftoppm == "" {
		cfg.Pdftoppm = "pdftoppm"
	}
	if cfg.DPI <= 0 {
		cfg.DPI = 110
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.MaxPixels <= 0 {
		cfg.MaxPixels = 50_000_000
	}
	if cfg.MemoryLimit == 0 {
		cfg.MemoryLimit = 1 << 30
	}
	r := &Renderer{cfg: cfg, inflight: map[string]*call{}}
	if cfg.MemoryLimit > 0 && runtime.GOOS == "linux" {
		r.prlimit, _ = exec.LookPath("prlimit")
	}
	return r
}

// DPI is the resolution PDF pages are rendered at.
func (r *Renderer) DPI() int { return r.cfg.DPI }

var idPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Page returns page n (1-based) of the document whose content hash is id,
// turned clockwise by rotate degrees (0, 90, 180 or 270: how far OCR
// turned a sideways scan to stand it upright, so that the image matches
// the page's boxes); data is called for the document's bytes only when the
// page is not cached.
func (r *Renderer) Page(ctx context.Context, id string, n, rotate int, data func(context.Context) ([]byte, error)) (Image, error) {
	if !idPattern.MatchString(id) {
		return Image{}, fmt.Errorf("%w: %q is not a document id", ErrNoPage, id)
	}
	if n < 1 {
		return Image{}, fmt.Errorf("%w: page %d", ErrNoPage, n)
	}
	rotate = ((rotate % 360) + 360) % 360 / 90 * 90
	key := id + "-p" + strconv.Itoa(n) + "-" + strconv.Itoa(r.cfg.DPI)
	if rotate != 0 {
		key += "-r" + strconv.Itoa(rotate)
	}
	if img, ok := r.cached(key); ok {
		return img, nil
	}
	r.mu.Lock()
	if c, ok := r.inflight[key]; ok {
		r.mu.Unlock()
		select {
		case <-c.done:
			return c.img, c.err
		case <-ctx.Done():
			return Image{}, ctx.Err()
		}
	}
	c := &call{done: make(chan struct{})}
	r.inflight[key] = c
	r.mu.Unlock()

	c.img, c.err = r.render(ctx, n, data)
	if c.err == nil && rotate != 0 {
		c.img, c.err = r.rotate(c.img, rotate)
	}
	if c.err == nil {
		r.store(key, c.img)
	}
	r.mu.Lock()
	delete(r.inflight, key)
	r.mu.Unlock()
	close(c.done)
	return c.img, c.err
}

func (r *Renderer) render(ctx context.Context, n int, data func(context.Context) ([]byte, error)) (Image, error) {
	b, err := data(ctx)
	if err != nil {
		return Image{}, err
	}
	switch {
	case bytes.HasPrefix(b, []byte("%PDF-")) || bytes.Contains(b[:min(len(b), 1024)], []byte("%PDF-")):
		return r.pdfPage(ctx, b, n)
	}
	switch ocr.Sniff(b) {
	case ocr.FormatPNG:
		return onePage(n, Image{ContentType: "image/png", Data: b})
	case ocr.FormatJPEG:
		return onePage(n, Image{ContentType: "image/jpeg", Data: b})
	case ocr.FormatTIFF:
		return r.tiffPage(b, n)
	}
	return Image{}, ErrUnsupported
}

func onePage(n int, img Image) (Image, error) {
	if n != 1 {
		return Image{}, fmt.Errorf("%w: an image file has one page, not page %d", ErrNoPage, n)
	}
	return img, nil
}

// pdfPage renders one page with pdftoppm, the PDF on its standard input
// and the PNG on its standard output.
func (r *Renderer) pdfPage(ctx context.Context, pdf []byte, n int) (Image, error) {
	cctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	p := strconv.Itoa(n)
	if _, err := exec.LookPath(r.cfg.Pdftoppm); err != nil {
		return Image{}, fmt.Errorf("%w: %s is not installed (Debian: apt-get install poppler-utils)", ErrRender, r.cfg.Pdftoppm)
	}
	argv := []string{r.cfg.Pdftoppm, "-png", "-r", strconv.Itoa(r.cfg.DPI), "-f", p, "-l", p, "-singlefile", "-"}
	if r.prlimit != "" {
		// prlimit sets RLIMIT_AS on itself and execs pdftoppm, which keeps
		// the limit (and the pid the deadline kills).
		argv = append([]string{r.prlimit, "--as=" + strconv.FormatInt(r.cfg.MemoryLimit, 10), "--"}, argv...)
	}
	cmd := exec.CommandContext(cctx, argv[0], argv[1:]...)
	cmd.Stdin = bytes.NewReader(pdf)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = 2 * time.Second
	err := cmd.Run()
	switch {
	case ctx.Err() != nil:
		return Image{}, ctx.Err()
	case cctx.Err() != nil:
		return Image{}, fmt.Errorf("%w: pdftoppm did not finish within %v", ErrRender, r.cfg.Timeout)
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, os.ErrNotExist):
		return Image{}, fmt.Errorf("%w: %s is not installed (Debian: apt-get install poppler-utils)", ErrRender, r.cfg.Pdftoppm)
	case err != nil:
		msg := bytes.TrimSpace(errb.Bytes())
		if bytes.Contains(msg, []byte("Wrong page range")) || bytes.Contains(msg, []byte("last page")) {
			return Image{}, fmt.Errorf("%w: page %d", ErrNoPage, n)
		}
		return Image{}, fmt.Errorf("%w: pdftoppm: %v: %s", ErrRender, err, msg[:min(len(msg), 300)])
	}
	if !bytes.HasPrefix(out.Bytes(), []byte("\x89PNG")) {
		if out.Len() == 0 {
			return Image{}, fmt.Errorf("%w: page %d", ErrNoPage, n)
		}
		return Image{}, fmt.Errorf("%w: pdftoppm wrote no PNG", ErrRender)
	}
	return Image{ContentType: "image/png", Data: out.Bytes()}, nil
}

// tiffPage converts one TIFF page to PNG.
func (r *Renderer) tiffPage(data []byte, n int) (Image, error) {
	page, w, h, err := ocr.TIFFPage(data, n, 1000)
	if err != nil {
		if errors.Is(err, ocr.ErrBadImage) && n > 1 {
			return Image{}, fmt.Errorf("%w: %v", ErrNoPage, err)
		}
		return Image{}, fmt.Errorf("%w: %v", ErrRender, err)
	}
	if int64(w)*int64(h) > r.cfg.MaxPixels {
		return Image{}, fmt.Errorf("%w: TIFF page %d is %d x %d pixels", ErrRender, n, w, h)
	}
	img, err := tiff.Decode(bytes.NewReader(page))
	if err != nil {
		return Image{}, fmt.Errorf("%w: TIFF page %d: %v", ErrRender, n, err)
	}
	return encodePNG(img)
}

// rotate turns an image clockwise by deg (90, 180 or 270) and encodes it
// as PNG. The pixel count is checked from the header before decoding.
func (r *Renderer) rotate(img Image, deg int) (Image, error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(img.Data))
	if err != nil {
		return Image{}, fmt.Errorf("%w: reading the image to turn it: %v", ErrRender, err)
	}
	if int64(cfg.Width)*int64(cfg.Height) > r.cfg.MaxPixels {
		return Image{}, fmt.Errorf("%w: the image is %d x %d pixels", ErrRender, cfg.Width, cfg.Height)
	}
	src, _, err := image.Decode(bytes.NewReader(img.Data))
	if err != nil {
		return Image{}, fmt.Errorf("%w: decoding the image to turn it: %v", ErrRender, err)
	}
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	var dst *image.RGBA
	if deg == 180 {
		dst = image.NewRGBA(image.Rect(0, 0, w, h))
	} else {
		dst = image.NewRGBA(image.Rect(0, 0, h, w))
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := src.At(b.Min.X+x, b.Min.Y+y)
			switch deg {
			case 90: // clockwise: (x, y) goes to (h-1-y, x)
				dst.Set(h-1-y, x, c)
			case 180:
				dst.Set(w-1-x, h-1-y, c)
			case 270:
				dst.Set(y, w-1-x, c)
			}
		}
	}
	return encodePNG(dst)
}

func encodePNG(img image.Image) (Image, error) {
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, img); err != nil {
		return Image{}, fmt.Errorf("%w: %v", ErrRender, err)
	}
	return Image{ContentType: "image/png", Data: buf.Bytes()}, nil
}

// cached reads a cached page image; the file's extension is its type.
func (r *Renderer) cached(key string) (Image, bool) {
	if r.cfg.CacheDir == "" {
		return Image{}, false
	}
	for ext, ct := range map[string]string{".png": "image/png", ".jpg": "image/jpeg"} {
		b, err := os.ReadFile(r.path(key, ext))
		if err == nil {
			return Image{ContentType: ct, Data: b}, true
		}
	}
	return Image{}, false
}

// store writes a page image to the cache (a failure only costs a
// rendering next time).
func (r *Renderer) store(key string, img Image) {
	if r.cfg.CacheDir == "" {
		return
	}
	ext := ".png"
	if img.ContentType == "image/jpeg" {
		ext = ".jpg"
	}
	p := r.path(key, ext)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".page-*")
	if err != nil {
		return
	}
	_, err = tmp.Write(img.Data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), p)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
}

func (r *Renderer) path(key, ext string) string {
	return filepath.Join(r.cfg.CacheDir, key[:2], key+ext)
}
