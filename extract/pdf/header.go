package pdf

import (
	"bytes"
	"fmt"
	"regexp"
)

// The library opens only files that start with "%PDF-1.0" to "%PDF-1.7"
// followed by an end of line. Readers are more forgiving (poppler, and the
// spec's own implementation notes, look for the header in the first 1,024
// bytes and take offsets from there), and real files need it: PDF 2.0
// (PDF/A-4, Factur-X 2), junk before the header (mail and web exports),
// or no header at all. viewOf presents such files to the library and
// records what it had to overlook.

// libHeader is what the library's header check is shown (see
// guardedReader): any version we accept reads as 1.7 to it.
const libHeader = "%PDF-1.7\n"

// headerWindow is how far into the file the header may start.
const headerWindow = 1024

// view is the bytes the library reads and what was overlooked to get them.
type view struct {
	data     []byte
	warnings []string
}

var (
	headerRe   = regexp.MustCompile(`^%PDF-(\d+\.\d+)`)
	bodyObjRe  = regexp.MustCompile(`(?:^|[\r\n\t \f])\d{1,9}[\r\n\t \f]+\d{1,5}[\r\n\t \f]+obj\b`)
	bodyTailRe = regexp.MustCompile(`startxref|trailer`)
)

// viewOf finds the PDF in data: from its %PDF- header when that is within
// the first 1,024 bytes (offsets then count from the header), or the whole
// file when it has no header but a PDF body (an object at the start and a
// trailer or startxref). Anything else is ErrMalformed.
func viewOf(data []byte) (view, error) {
	head := data[:min(len(data), headerWindow)]
	at := bytes.Index(head, []byte("%PDF-"))
	if at < 0 {
		if !headerlessPDF(data) {
			return view{}, fmt.Errorf("%w: no %%PDF- header in the first %d bytes, and no PDF objects", ErrMalformed, headerWindow)
		}
		// The library takes an object at offset 0 for a missing one, so
		// the file gets a header; its offsets are then off by that much,
		// and the repair that follows rebuilds them from the objects.
		return view{
			data:     append([]byte(libHeader), data...),
			warnings: []string{"the file has no %PDF- header; read as PDF 1.7"},
		}, nil
	}
	v := view{data: data[at:]}
	if at > 0 {
		v.warnings = append(v.warnings, fmt.Sprintf("%d bytes before the %%PDF- header were skipped", at))
	}
	m := headerRe.FindSubmatch(v.data)
	switch {
	case m == nil:
		v.warnings = append(v.warnings, fmt.Sprintf("unreadable PDF version in header %q; read as PDF 1.7", firstLine(v.data, 16)))
	case string(m[1]) >= "1.0" && string(m[1]) <= "1.7" && len(m[1]) == 3:
	default:
		v.warnings = append(v.warnings, fmt.Sprintf("PDF version %s read as PDF 1.7: later features are not interpreted", m[1]))
	}
	return v, nil
}

// headerlessPDF reports whether data without a header still looks like
// a PDF body: an object header near the start and a trailer near the end.
func headerlessPDF(data []byte) bool {
	return bodyObjRe.Match(data[:min(len(data), headerWindow)]) &&
		bodyTailRe.Match(data[max(0, len(data)-headerWindow):])
}

// LooksLikePDF reports whether data is worth giving to Parse: a %PDF-
// header in the first 1,024 bytes, or a PDF body without one. It is the
// cheap check an upload endpoint makes; it reads only the first and last
// kilobyte.
func LooksLikePDF(data []byte) bool {
	_, err := viewOf(data)
	return err == nil
}

// firstLine returns the start of data up to the first end of line, at most
// n bytes, for messages.
func firstLine(data []byte, n int) string {
	b := data[:min(len(data), n)]
	if i := bytes.IndexAny(b, "\r\n"); i >= 0 {
		b = b[:i]
	}
	return string(b)
}
