package ocr

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Format is an image file type this package reads.
type Format string

// Formats.
const (
	FormatPNG  Format = "png"
	FormatJPEG Format = "jpeg"
	FormatTIFF Format = "tiff"
)

// Sniff tells an image file's format from its first bytes (eight are
// enough); "" when it is none this package reads. Callers use it to route a
// file whatever its name says.
func Sniff(head []byte) Format {
	switch {
	case bytes.HasPrefix(head, pngMagic):
		return FormatPNG
	case bytes.HasPrefix(head, []byte{0xFF, 0xD8, 0xFF}):
		return FormatJPEG
	case bytes.HasPrefix(head, []byte("II*\x00")), bytes.HasPrefix(head, []byte("MM\x00*")):
		return FormatTIFF
	}
	return ""
}

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

// imageInfo is what a header says about one page image.
type imageInfo struct {
	width, height int
	// dpi is the declared horizontal resolution, 0 when there is none.
	dpi float64
}

func (i imageInfo) pixels() int64 { return int64(i.width) * int64(i.height) }

// maxDimension bounds a width or height whatever MaxPixels says, so that
// products stay far from overflow.
const maxDimension = 1 << 20

// pngInfo reads a PNG's header chunk, its pHYs resolution, and checks that
// the chunk sequence reaches IEND inside the data (a truncated file is
// refused here rather than half-read by the engine).
func pngInfo(data []byte) (imageInfo, error) {
	var info imageInfo
	if !bytes.HasPrefix(data, pngMagic) {
		return info, fmt.Errorf("%w: not a PNG file", ErrBadImage)
	}
	pos := len(pngMagic)
	sawIDAT := false
	for n := 0; ; n++ {
		if len(data)-pos < 12 {
			return info, fmt.Errorf("%w: PNG is truncated (no IEND chunk)", ErrBadImage)
		}
		length := binary.BigEndian.Uint32(data[pos:])
		typ := string(data[pos+4 : pos+8])
		if length > 1<<31-1 || uint64(length) > uint64(len(data)-pos-12) {
			return info, fmt.Errorf("%w: PNG chunk %q runs past the end of the file", ErrBadImage, typ)
		}
		body := data[pos+8 : pos+8+int(length)]
		pos += 12 + int(length)
		if n == 0 {
			if typ != "IHDR" || length != 13 {
				return info, fmt.Errorf("%w: PNG does not start with its header chunk", ErrBadImage)
			}
			w, h := binary.BigEndian.Uint32(body), binary.BigEndian.Uint32(body[4:])
			if w == 0 || h == 0 || w > maxDimension || h > maxDimension {
				return info, fmt.Errorf("%w: PNG is %d x %d pixels", ErrTooLarge, w, h)
			}
			info.width, info.height = int(w), int(h)
			continue
		}
		switch typ {
		case "pHYs":
			if length == 9 && body[8] == 1 { // pixels per metre
				info.dpi = float64(binary.BigEndian.Uint32(body)) * 0.0254
			}
		case "IDAT":
			sawIDAT = true
		case "IEND":
			if !sawIDAT {
				return info, fmt.Errorf("%w: PNG has no image data", ErrBadImage)
			}
			return info, nil
		}
	}
}

// jpegInfo reads a JPEG's frame header and JFIF resolution, and checks that
// the file has an end-of-image marker after its scan data.
func jpegInfo(data []byte) (imageInfo, error) {
	var info imageInfo
	if !bytes.HasPrefix(data, []byte{0xFF, 0xD8}) {
		return info, fmt.Errorf("%w: not a JPEG file", ErrBadImage)
	}
	pos := 2
	for {
		// Markers are 0xFF, any number of 0xFF fill bytes, and a code.
		if pos >= len(data) || data[pos] != 0xFF {
			return info, fmt.Errorf("%w: JPEG is truncated or corrupt before its image data", ErrBadImage)
		}
		for pos < len(data) && data[pos] == 0xFF {
			pos++
		}
		if pos >= len(data) {
			return info, fmt.Errorf("%w: JPEG is truncated", ErrBadImage)
		}
		m := data[pos]
		pos++
		switch {
		case m >= 0xD0 && m <= 0xD7, m == 0x01:
			continue // no length
		case m == 0xD8, m == 0xD9, m == 0x00:
			return info, fmt.Errorf("%w: JPEG has marker %#02x before its image data", ErrBadImage, m)
		}
		if len(data)-pos < 2 {
			return info, fmt.Errorf("%w: JPEG is truncated", ErrBadImage)
		}
		length := int(binary.BigEndian.Uint16(data[pos:]))
		if length < 2 || length > len(data)-pos {
			return info, fmt.Errorf("%w: JPEG segment %#02x runs past the end of the file", ErrBadImage, m)
		}
		seg := data[pos+2 : pos+length]
		pos += length
		switch {
		case m == 0xE0 && len(seg) >= 12 && bytes.HasPrefix(seg, []byte("JFIF\x00")):
			d := float64(binary.BigEndian.Uint16(seg[8:]))
			switch seg[7] {
			case 1:
				info.dpi = d
			case 2:
				info.dpi = d * 2.54
			}
		case m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC:
			if len(seg) < 6 {
				return info, fmt.Errorf("%w: JPEG frame header is short", ErrBadImage)
			}
			h, w := int(binary.BigEndian.Uint16(seg[1:])), int(binary.BigEndian.Uint16(seg[3:]))
			if w == 0 || h == 0 {
				return info, fmt.Errorf("%w: JPEG frame is %d x %d pixels", ErrBadImage, w, h)
			}
			info.width, info.height = w, h
		case m == 0xDA:
			if info.width == 0 {
				return info, fmt.Errorf("%w: JPEG has no frame header", ErrBadImage)
			}
			if bytes.LastIndex(data[pos:], []byte{0xFF, 0xD9}) < 0 {
				return info, fmt.Errorf("%w: JPEG is truncated (no end-of-image marker)", ErrBadImage)
			}
			return info, nil
		}
	}
}

// pgmInfo reads the header of a binary PGM (what pdftoppm -gray writes):
// "P5", width, height and maximum value separated by white space (comments
// allowed), then one white-space byte. It returns the header's length.
func pgmInfo(data []byte) (w, h, header int, err error) {
	if !bytes.HasPrefix(data, []byte("P5")) {
		return 0, 0, 0, fmt.Errorf("%w: not a PGM image", ErrEngine)
	}
	pos := 2
	var v [3]int
	for i := range v {
		for pos < len(data) && (isSpace(data[pos]) || data[pos] == '#') {
			if data[pos] == '#' {
				for pos < len(data) && data[pos] != '\n' {
					pos++
				}
				continue
			}
			pos++
		}
		start := pos
		for pos < len(data) && data[pos] >= '0' && data[pos] <= '9' && pos-start < 8 {
			v[i] = v[i]*10 + int(data[pos]-'0')
			pos++
		}
		if pos == start {
			return 0, 0, 0, fmt.Errorf("%w: bad PGM header", ErrEngine)
		}
	}
	if pos >= len(data) || !isSpace(data[pos]) || v[0] == 0 || v[1] == 0 || v[2] == 0 || v[2] > 65535 {
		return 0, 0, 0, fmt.Errorf("%w: bad PGM header", ErrEngine)
	}
	pos++
	bpp := 1
	if v[2] > 255 {
		bpp = 2
	}
	if int64(len(data)-pos) < int64(v[0])*int64(v[1])*int64(bpp) {
		return 0, 0, 0, fmt.Errorf("%w: PGM image is short", ErrEngine)
	}
	return v[0], v[1], pos, nil
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// TIFFPage returns page n (1-based) of a TIFF file as a TIFF of its own,
// and the page's width and height in pixels. It fails with ErrBadImage for
// a malformed file or a page that is not there.
func TIFFPage(data []byte, n, maxPages int) (page []byte, width, height int, err error) {
	order, dirs, err := readTIFF(data, maxPages)
	if err != nil {
		return nil, 0, 0, err
	}
	if n < 1 || n > len(dirs) {
		return nil, 0, 0, fmt.Errorf("%w: the TIFF has %d pages, not page %d", ErrBadImage, len(dirs), n)
	}
	d := dirs[n-1]
	page, err = d.singlePage(order, data)
	return page, d.info.width, d.info.height, err
}
