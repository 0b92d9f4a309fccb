// Package pdf turns PDF bytes into a pipeline.Document: pages with text in
// reading order and the position of every line.
//
// It reads files through github.com/ledongthuc/pdf's object API but
// interprets page content itself: the library's text functions lose
// inter-word spaces, collapse lines and re-read font data per glyph. Here a
// small content-stream interpreter tracks the text state, fonts are decoded
// once per font object (encodings, ToUnicode maps, widths, the standard 14
// metrics), and a layout step rebuilds words and lines the way pdftotext
// -layout does.
//
// Parsing untrusted files is made safe in process as far as Go allows:
// every library call is recovered into ErrMalformed, every read checks the
// context (so a looping library call stops at the deadline), the page tree
// and form XObjects are checked for cycles, and sizes, pages, operators and
// time are bounded. What a Go process cannot survive (stack exhaustion, the
// kernel's out-of-memory killer) is contained by ParseIsolated, which runs
// the parse in a child process with a hard deadline and memory cap.
//
// The package does not do OCR: pages without a text layer are marked
// pipeline.PageNoText, and a document with no text at all returns ErrNoText.
package pdf

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	lpdf "github.com/ledongthuc/pdf"

	"github.com/extractor-dev/extractor/pipeline"
)

// Version names this parser and its behaviour; it changes whenever the
// document it produces for the same bytes may change, and is recorded on
// documents. pdf/2 lists attachments and the XMP e-invoice metadata.
const Version = "pdf/2"

// Errors callers branch on. Errors returned by Parse wrap one of these (or
// context.DeadlineExceeded / context.Canceled) with details.
var (
	// ErrEncrypted: the file is encrypted and cannot be opened without a
	// (correct) password, or uses encryption the library cannot decrypt.
	ErrEncrypted = errors.New("pdf: encrypted, needs password")
	// ErrMalformed: the file is not a readable PDF.
	ErrMalformed = errors.New("pdf: malformed")
	// ErrNoText: the file opened but no page has a text layer (a scan);
	// the returned Document still lists its pages, marked PageNoText.
	ErrNoText = errors.New("pdf: no text layer")
	// ErrTooLarge: the file exceeds a size, page or work limit.
	ErrTooLarge = errors.New("pdf: too large")
)

// Default limits, used where Options leaves a field zero.
const (
	DefaultMaxBytes = 256 << 20
	DefaultMaxPages = 5000
	DefaultTimeout  = 60 * time.Second
)

// Options configures a parse. The zero value is usable.
type Options struct {
	// Password opens encrypted files (RC4 and AES-128; the library cannot
	// decrypt AES-256).
	Password string
	// MaxBytes refuses larger files with ErrTooLarge.
	MaxBytes int64
	// MaxPages refuses documents with more pages with ErrTooLarge.
	MaxPages int
	// Timeout bounds the whole parse; the context's deadline, if earlier,
	// wins.
	Timeout time.Duration
}

func (o Options) withDefaults() Options {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxPages <= 0 {
		o.MaxPages = DefaultMaxPages
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	return o
}

// ParseFile parses the PDF at path. Document.Source is set to path.
func ParseFile(ctx context.Context, path string, opts Options) (pipeline.Document, error) {
	f, err := os.Open(path)
	if err != nil {
		return pipeline.Document{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return pipeline.Document{}, err
	}
	doc, err := Parse(ctx, f, st.Size(), opts)
	doc.Source = path
	return doc, err
}

// Parse reads a PDF of the given size from r. On success every page is
// listed, each marked PageText, PageNoText or PageError. On ErrNoText the
// document is returned too. Parse never panics.
func Parse(ctx context.Context, r io.ReaderAt, size int64, opts Options) (doc pipeline.Document, err error) {
	opts = opts.withDefaults()
	if size > opts.MaxBytes {
		return doc, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, size, opts.MaxBytes)
	}
	if size < 0 {
		return doc, fmt.Errorf("%w: negative size", ErrMalformed)
	}
	data := make([]byte, size)
	if n, err := r.ReadAt(data, 0); n < len(data) {
		return doc, fmt.Errorf("reading pdf: %w", err)
	}
	return ParseBytes(ctx, data, opts)
}

// ParseBytes is Parse for bytes already in memory.
func ParseBytes(ctx context.Context, data []byte, opts Options) (doc pipeline.Document, err error) {
	opts = opts.withDefaults()
	sum := sha256.Sum256(data)
	doc = pipeline.Document{ID: hex.EncodeToString(sum[:]), Size: int64(len(data)), Parser: Version}
	if int64(len(data)) > opts.MaxBytes {
		return doc, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), opts.MaxBytes)
	}
	v, err := viewOf(data)
	if err != nil {
		return doc, err
	}
	doc.Warnings = append(doc.Warnings, v.warnings...)
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	defer func() {
		if x := recover(); x != nil {
			err = recoveredError(ctx, x)
		}
	}()
	enc := scanEncryption(v.data)

	var opened bool
	src := v // the bytes the library opened, for the attachments
	doc.Meta, doc.Pages, opened, err = parseData(ctx, v, enc, opts)
	if errors.Is(err, ErrMalformed) && ctx.Err() == nil {
		// The file's own cross-reference data may be what is broken
		// (missing, or offsets that point at the wrong bytes): rebuild it
		// from the objects and try once more. A repair is only kept when
		// it gives something trustworthy, which excludes files the library
		// then decrypts wrongly.
		if fixed, ok := rebuildXref(v.data); ok {
			meta, pages, opened2, err2 := parseData(ctx, view{data: fixed}, enc, opts)
			if opened2 && !enc.unreliable() && !errors.Is(err2, ErrMalformed) {
				doc.Meta, doc.Pages, opened, src = meta, pages, true, view{data: fixed}
				doc.Warnings = append(doc.Warnings, "cross-reference table rebuilt from the objects: "+err.Error())
				err = err2
			}
		}
	}
	if opened && enc.unreliable() && (errors.Is(err, ErrMalformed) || (err == nil && doc.TextPages() == 0)) {
		// The library derives 40-bit RC4 object keys wrongly (16 MD5 bytes
		// instead of 10), so such files open but decrypt to noise: say so
		// rather than claim there is no text or the file is damaged.
		return doc, fmt.Errorf("%w: 40-bit RC4 encryption cannot be decrypted reliably; decrypt the file first (e.g. qpdf --decrypt)", ErrEncrypted)
	}
	if err != nil {
		return doc, err
	}
	addAttachments(ctx, &doc, src, enc, opts)
	if doc.TextPages() == 0 {
		return doc, fmt.Errorf("%w: none of %d pages has extractable text", ErrNoText, len(doc.Pages))
	}
	return doc, nil
}

// PageCount opens a PDF and counts its pages without reading them: a
// cheap check before accepting work for a document. It fails with
// ErrTooLarge when there are more than opts.MaxPages, and otherwise as
// opening the file fails (broken cross-reference data is rebuilt as Parse
// does, so ErrMalformed here means Parse fails too). It never panics and is bounded by opts.Timeout; a server should still count
// untrusted uploads through Isolation.PageCount, as Go cannot contain
// every failure of the library in process.
func PageCount(ctx context.Context, data []byte, opts Options) (n int, err error) {
	opts = opts.withDefaults()
	if int64(len(data)) > opts.MaxBytes {
		return 0, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), opts.MaxBytes)
	}
	v, err := viewOf(data)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	enc := scanEncryption(v.data)
	count := func(v view) (n int, err error) {
		defer func() {
			if x := recover(); x != nil {
				n, err = 0, recoveredError(ctx, x)
			}
		}()
		d, err := open(ctx, v, enc, opts.Password)
		if err != nil {
			return 0, err
		}
		nodes, err := d.pageTree(opts.MaxPages)
		if err == nil && len(nodes) == 0 {
			err = fmt.Errorf("%w: document has no pages", ErrMalformed)
		}
		return len(nodes), err
	}
	n, err = count(v)
	if errors.Is(err, ErrMalformed) && ctx.Err() == nil && !enc.unreliable() {
		// As Parse does: rebuild broken cross-reference data once.
		if fixed, ok := rebuildXref(v.data); ok {
			if n2, err2 := count(view{data: fixed}); err2 == nil {
				return n2, nil
			}
		}
	}
	return n, err
}

// open checks the file's sizes (preflight) and opens it with the library,
// trying the password once.
func open(ctx context.Context, v view, enc encryption, password string) (*docParser, error) {
	if err := preflight(v.data); err != nil {
		return nil, err
	}
	g := &guardedReader{ctx: ctx, data: v.data, header: []byte(libHeader)}
	tried := false
	pw := func() string {
		if tried || password == "" {
			return ""
		}
		tried = true
		return password
	}
	lr, err := lpdf.NewReaderEncrypted(g, int64(len(v.data)), pw)
	if err != nil {
		return nil, openError(ctx, err, enc, password != "")
	}
	return &docParser{ctx: ctx, r: lr, size: len(v.data), fonts: map[string]*font{}, encodings: map[string]*[256]string{}, gidText: map[string]map[uint16]string{}, forms: map[string][]byte{}}, nil
}

// parseData opens the file with the library and parses every page. It
// fails with ErrMalformed when the file cannot be opened, has no readable
// page tree, or no page at all could be read; opened reports whether the
// library could open the file at all.
func parseData(ctx context.Context, v view, enc encryption, opts Options) (meta map[string]string, pages []pipeline.Page, opened bool, err error) {
	defer func() {
		if x := recover(); x != nil {
			err = recoveredError(ctx, x)
		}
	}()
	d, err := open(ctx, v, enc, opts.Password)
	if err != nil {
		return nil, nil, false, err
	}
	opened = true
	meta = d.meta()
	nodes, err := d.pageTree(opts.MaxPages)
	if err != nil {
		return meta, nil, opened, err
	}
	if len(nodes) == 0 {
		return meta, nil, opened, fmt.Errorf("%w: document has no pages", ErrMalformed)
	}
	resCache := map[string]*resources{}
	failed := 0
	for i, n := range nodes {
		if err := ctx.Err(); err != nil {
			return meta, pages, opened, timeoutError(ctx, err)
		}
		p := d.page(i+1, n, resCache)
		if p.Status == pipeline.PageError {
			failed++
		}
		pages = append(pages, p)
	}
	if failed == len(pages) {
		return meta, pages, opened, fmt.Errorf("%w: none of %d pages could be read (page 1: %s)", ErrMalformed, len(pages), pages[0].Error)
	}
	return meta, pages, opened, nil
}

// recoveredError turns a recovered panic into an error: our own aborts
// carry their cause; anything else is the library failing on bad input.
func recoveredError(ctx context.Context, x any) error {
	if a, ok := x.(abort); ok {
		return timeoutError(ctx, a.err)
	}
	return fmt.Errorf("%w: %s", ErrMalformed, untrusted(x))
}

// untrusted words a library failure for a message: the library quotes
// bytes of the damaged file, which must not reach a terminal, a log or a
// page as they are.
func untrusted(x any) string {
	msg := fmt.Sprint(x)
	// The library prefixes its own errors so; ours already say it.
	msg = strings.TrimPrefix(msg, "malformed PDF: ")
	return pipeline.Printable(msg, 300)
}

func timeoutError(ctx context.Context, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("pdf: parse did not finish in time: %w", err)
	}
	return err
}

func openError(ctx context.Context, err error, enc encryption, havePassword bool) error {
	var a abort
	if errors.As(err, &a) {
		return timeoutError(ctx, a.err)
	}
	switch {
	case errors.Is(err, lpdf.ErrInvalidPassword):
		if havePassword {
			return fmt.Errorf("%w: the password is wrong", ErrEncrypted)
		}
		return fmt.Errorf("%w: a user password is required", ErrEncrypted)
	case enc.encrypted && (enc.v >= 5 || enc.r >= 5):
		return fmt.Errorf("%w: AES-256 encryption (V=%d R=%d) is not supported; decrypt the file first (e.g. qpdf --decrypt)", ErrEncrypted, enc.v, enc.r)
	case enc.encrypted && enc.filter != "" && enc.filter != "Standard":
		return fmt.Errorf("%w: encryption handler %q is not supported", ErrEncrypted, enc.filter)
	}
	return fmt.Errorf("%w: %s", ErrMalformed, untrusted(err))
}

// meta reads the document information dictionary.
func (d *docParser) meta() (m map[string]string) {
	defer func() {
		if x := recover(); x != nil {
			if a, ok := x.(abort); ok {
				panic(a)
			}
		}
	}()
	info := d.r.Trailer().Key("Info")
	for _, k := range []string{"Title", "Author", "Producer", "Creator"} {
		if s := cleanText(info.Key(k).Text()); s != "" {
			if m == nil {
				m = map[string]string{}
			}
			m[k] = s
		}
	}
	return m
}

// page parses one page. Failures are confined to the page.
func (d *docParser) page(num int, n pageNode, resCache map[string]*resources) (p pipeline.Page) {
	p = pipeline.Page{Number: num, Status: pipeline.PageText}
	geo := pageGeometry(n)
	p.Width, p.Height = geo.size()
	defer func() {
		if x := recover(); x != nil {
			if a, ok := x.(abort); ok {
				panic(a)
			}
			p.Status, p.Error, p.Lines = pipeline.PageError, untrusted(x), nil
		}
		if p.Lines == nil {
			p.Lines = []pipeline.Line{} // "lines": [] in JSON, not null
		}
	}()
	contents := n.v.Key("Contents")
	var data []byte
	var readErr error
	if ref, ok := refs(n.v.String())["Contents"]; ok && contents.IsNull() {
		// A page that refers to content the file does not hold (a
		// truncated file) is damaged, not blank.
		p.Status, p.Error = pipeline.PageError, "content stream "+ref+" is missing"
		return p
	}
	switch contents.Kind() {
	case lpdf.Stream:
		data, readErr = d.readStream(contents, maxContentStream)
	case lpdf.Array:
		for i := 0; i < contents.Len(); i++ {
			b, err := d.readStream(contents.Index(i), maxContentStream-len(data))
			data = append(append(data, b...), '\n')
			if err != nil {
				readErr = err
			}
			if len(data) >= maxContentStream {
				break
			}
		}
	}
	key := n.resources.String()
	res, ok := resCache[key]
	if !ok {
		res = newResources(n.resources)
		resCache[key] = res
	}
	in := &interp{d: d, gs: gstate{ctm: identity, hScale: 1}}
	in.run(data, res)
	p.Lines = lines(words(in.glyphs, geo))
	if len(p.Lines) == 0 {
		p.Status = pipeline.PageNoText
		if readErr != nil && len(data) == 0 {
			p.Status, p.Error = pipeline.PageError, readErr.Error()
		}
	}
	return p
}

// pageGeometry reads the visible box (CropBox within MediaBox, US Letter if
// missing or absurd) and the rotation.
func pageGeometry(n pageNode) geometry {
	box := func(v lpdf.Value) (b [4]float64, ok bool) {
		if v.Len() != 4 {
			return b, false
		}
		for i := range b {
			b[i] = v.Index(i).Float64()
			if math.IsNaN(b[i]) || math.IsInf(b[i], 0) {
				return b, false
			}
		}
		b = [4]float64{math.Min(b[0], b[2]), math.Min(b[1], b[3]), math.Max(b[0], b[2]), math.Max(b[1], b[3])}
		return b, b[2]-b[0] >= 1 && b[3]-b[1] >= 1
	}
	b, ok := box(n.mediaBox)
	if !ok {
		b = [4]float64{0, 0, 612, 792}
	}
	if c, ok := box(n.cropBox); ok {
		b = [4]float64{math.Max(b[0], c[0]), math.Max(b[1], c[1]), math.Min(b[2], c[2]), math.Min(b[3], c[3])}
		if b[2]-b[0] < 1 || b[3]-b[1] < 1 {
			b = c
		}
	}
	rot := int(((n.rotate%360)+360)%360) / 90 * 90
	return geometry{x0: b[0], y0: b[1], x1: b[2], y1: b[3], rotate: rot}
}
