package ocr

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"strings"
	"testing"
)

// The parsers of untrusted input in this package: tesseract's TSV (the
// engine's output for a hostile image) with the layout built on it, and the
// image headers (PNG, JPEG, TIFF and the single-page TIFF rewrite). Seeds
// are in testdata/fuzz; `make fuzz` runs them.

func FuzzParseTSV(f *testing.F) {
	f.Add([]byte("level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n" +
		"1\t1\t0\t0\t0\t0\t0\t0\t1000\t1400\t-1\t\n" +
		"5\t1\t1\t1\t1\t1\t100\t100\t200\t40\t96.5\tInvoice\n" +
		"5\t1\t2\t1\t1\t1\t700\t102\t200\t40\t91\tINV-42\n" +
		"5\t1\t3\t1\t1\t1\t100\t300\t20\t40\t50\t1\n" +
		"5\t1\t3\t1\t1\t2\t100\t400\t20\t40\t50\t2\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parseTSV(data)
		if err != nil {
			if !errors.Is(err, ErrEngine) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		for _, w := range p.words {
			if w.text == "" || w.conf < 0 || w.conf > 1 || w.x1 < w.x0 || w.y1 < w.y0 {
				t.Fatalf("bad word %+v", w)
			}
		}
		r := layout(p, 1000, 1400, 300)
		n := 0
		for _, l := range r.lines {
			n += len(l.Words)
			var texts []string
			for _, w := range l.Words {
				texts = append(texts, w.Text)
			}
			if strings.Join(strings.Fields(l.Text), " ") != strings.Join(strings.Fields(strings.Join(texts, " ")), " ") {
				t.Fatalf("line %q is not its words %q", l.Text, texts)
			}
			// WordsAt must find every word of a line built from them.
			if got := l.WordsAt(0, len(l.Text)); len(got) != len(l.Words) {
				t.Fatalf("WordsAt found %d of %d words in %q", len(got), len(l.Words), l.Text)
			}
		}
		if n != len(p.words) {
			t.Fatalf("%d words in, %d out", len(p.words), n)
		}
	})
}

func FuzzImageHeaders(f *testing.F) {
	f.Add([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02IDATxx\x00\x00\x00\x00\x00\x00\x00\x00IEND\x00\x00\x00\x00"))
	f.Add([]byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x02\x01\x01\x2c\x01\x2c\x00\x00\xff\xc0\x00\x0b\x08\x00\x10\x00\x10\x01\x01\x11\x00\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00\x00\xff\xd9"))
	f.Add(bigEndianTIFF(3, 2, []byte{1, 2, 3, 4, 5, 6}, [][2]uint32{{0, 6}}))
	f.Add(bigEndianTIFF(3, 2, []byte{1, 2, 3, 4, 5, 6}, [][2]uint32{{0, 3}, {3, 3}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		typed := func(err error) {
			if err != nil && !errors.Is(err, ErrBadImage) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("untyped error %v", err)
			}
		}
		checkInfo := func(info imageInfo) {
			if info.width <= 0 || info.height <= 0 || info.width > maxDimension || info.height > maxDimension {
				t.Fatalf("dimensions %d x %d", info.width, info.height)
			}
		}
		switch Sniff(data) {
		case FormatPNG:
			info, err := pngInfo(data)
			typed(err)
			if err == nil {
				checkInfo(info)
			}
		case FormatJPEG:
			info, err := jpegInfo(data)
			typed(err)
			if err == nil {
				checkInfo(info)
			}
		case FormatTIFF:
			order, dirs, err := readTIFF(data, 50)
			typed(err)
			for _, d := range dirs {
				checkInfo(d.info)
				one, err := d.singlePage(order, data)
				typed(err)
				if err != nil {
					continue
				}
				if len(one) > 2*len(data)+1024 {
					t.Fatalf("a %d-byte file gave a %d-byte page", len(data), len(one))
				}
				// The copy reads back as one page of the same size.
				_, again, err := readTIFF(one, 50)
				if err != nil || len(again) != 1 || again[0].info != d.info {
					t.Fatalf("copy reads back as %+v, %v; want %+v", again, err, d.info)
				}
			}
		}
		_, _, _, _ = pgmInfo(data)
	})
}

// FuzzPrepare: any bytes given as a page image come back prepared or as
// they were, never a crash, and the same each time.
func FuzzPrepare(f *testing.F) {
	g := image.NewGray(image.Rect(0, 0, 64, 64))
	for i := range g.Pix {
		g.Pix[i] = uint8(i)
	}
	var buf bytes.Buffer
	png.Encode(&buf, g)
	f.Add(buf.Bytes())
	f.Add([]byte("P5\n2 2\n255\nabcd"))
	f.Add([]byte("II*\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, _ := prepare(data, 200)
		if b, _ := prepare(data, 200); !bytes.Equal(a, b) {
			t.Fatal("not the same bytes twice")
		}
	})
}
