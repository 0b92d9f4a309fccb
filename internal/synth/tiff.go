package synth

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"slices"
)

// Multi-page TIFF writing. golang.org/x/image/tiff writes one page; scanned
// documents have several, so this writes grey 8-bit pages itself: one strip
// per page, Deflate (lossless) or JPEG compressed (each strip a complete
// JPEG stream, which libtiff reads), little-endian, with resolution and
// page numbers.

// TIFFCompression is a TIFF compression scheme.
type TIFFCompression uint16

// Compression schemes WriteTIFF writes.
const (
	TIFFJPEG    TIFFCompression = 7
	TIFFDeflate TIFFCompression = 8
)

// TIFFOptions configures WriteTIFF.
type TIFFOptions struct {
	DPI         int
	Compression TIFFCompression // default Deflate
	Quality     int             // JPEG quality (default 75)
}

// WriteTIFF writes pages as one multi-page TIFF.
func WriteTIFF(w io.Writer, pages []*image.Gray, o TIFFOptions) error {
	if len(pages) == 0 || len(pages) > 65535 {
		return fmt.Errorf("tiff: %d pages", len(pages))
	}
	if o.Compression == 0 {
		o.Compression = TIFFDeflate
	}
	if o.DPI <= 0 {
		o.DPI = 300
	}
	le := binary.LittleEndian
	var out bytes.Buffer
	out.WriteString("II*\x00\x00\x00\x00\x00") // first IFD offset patched below
	nextAt := 4                                // where the offset of the next IFD goes
	for k, img := range pages {
		strip, err := tiffStrip(img, o)
		if err != nil {
			return err
		}
		b := img.Bounds()
		stripAt := out.Len()
		out.Write(strip)
		if out.Len()%2 == 1 {
			out.WriteByte(0)
		}
		resAt := out.Len() // XResolution and YResolution: two RATIONALs
		for range 2 {
			out.Write(le.AppendUint32(le.AppendUint32(nil, uint32(o.DPI)), 1))
		}
		type entry struct {
			tag, typ uint16
			count    uint32
			value    uint32
		}
		short := func(tag uint16, v uint16) entry { return entry{tag, 3, 1, uint32(v)} }
		long := func(tag uint16, v uint32) entry { return entry{tag, 4, 1, v} }
		entries := []entry{
			long(254, 2), // NewSubfileType: a page of a multi-page document
			long(256, uint32(b.Dx())),
			long(257, uint32(b.Dy())),
			short(258, 8),
			short(259, uint16(o.Compression)),
			short(262, 1), // BlackIsZero
			long(273, uint32(stripAt)),
			short(277, 1),
			long(278, uint32(b.Dy())),
			long(279, uint32(len(strip))),
			{282, 5, 1, uint32(resAt)},
			{283, 5, 1, uint32(resAt + 8)},
			short(296, 2), // inch
			// PageNumber: two SHORTs, this page and the count, inline.
			{297, 3, 2, uint32(k) | uint32(len(pages))<<16},
		}
		if !slices.IsSortedFunc(entries, func(a, b entry) int { return int(a.tag) - int(b.tag) }) {
			return errors.New("tiff: entries out of order")
		}
		ifdAt := out.Len()
		le.PutUint32(out.Bytes()[nextAt:], uint32(ifdAt))
		out.Write(le.AppendUint16(nil, uint16(len(entries))))
		for _, e := range entries {
			var rec [12]byte
			le.PutUint16(rec[0:], e.tag)
			le.PutUint16(rec[2:], e.typ)
			le.PutUint32(rec[4:], e.count)
			if e.typ == 3 && e.count == 1 {
				le.PutUint16(rec[8:], uint16(e.value))
			} else {
				le.PutUint32(rec[8:], e.value)
			}
			out.Write(rec[:])
		}
		nextAt = out.Len()
		out.Write([]byte{0, 0, 0, 0})
		if out.Len() > 1<<32-1 {
			return errors.New("tiff: over 4 GiB")
		}
	}
	_, err := w.Write(out.Bytes())
	return err
}

func tiffStrip(img *image.Gray, o TIFFOptions) ([]byte, error) {
	var buf bytes.Buffer
	b := img.Bounds()
	switch o.Compression {
	case TIFFJPEG:
		q := o.Quality
		if q <= 0 {
			q = 75
		}
		err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: q})
		return buf.Bytes(), err
	case TIFFDeflate:
		zw, err := zlib.NewWriterLevel(&buf, zlib.BestCompression)
		if err != nil {
			return nil, err
		}
		for y := b.Min.Y; y < b.Max.Y; y++ {
			i := img.PixOffset(b.Min.X, y)
			if _, err := zw.Write(img.Pix[i : i+b.Dx()]); err != nil {
				return nil, err
			}
		}
		err = zw.Close()
		return buf.Bytes(), err
	}
	return nil, fmt.Errorf("tiff: compression %d", o.Compression)
}
