package ocr

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"math"
	"slices"
	"testing"

	"golang.org/x/image/tiff"

	"github.com/extractor-dev/extractor/internal/synth"
)

// grayPage is a w x h test image with a pattern that tells pages apart.
func grayPage(w, h int, seed byte) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = byte(i*7) ^ seed
	}
	return img
}

func TestSniff(t *testing.T) {
	for in, want := range map[string]Format{
		"\x89PNG\r\n\x1a\nrest": FormatPNG,
		"\xff\xd8\xff\xe0":      FormatJPEG,
		"II*\x00\x08\x00":       FormatTIFF,
		"MM\x00*\x00\x00":       FormatTIFF,
		"%PDF-1.7":              "",
		"II+\x00":               "", // BigTIFF
		"":                      "",
		"\x89PNG":               "",
	} {
		if got := Sniff([]byte(in)); got != want {
			t.Errorf("Sniff(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPNGInfo(t *testing.T) {
	data, err := synth.ScanFile([]*image.Gray{grayPage(30, 20, 1)}, synth.ScanPNG, 0, 300, "")
	if err != nil {
		t.Fatal(err)
	}
	info, err := pngInfo(data)
	if err != nil || info.width != 30 || info.height != 20 || math.Abs(info.dpi-300) > 0.01 {
		t.Fatalf("%+v %v", info, err)
	}
	if _, err := pngInfo(data[:len(data)-20]); !errors.Is(err, ErrBadImage) {
		t.Errorf("truncated: %v", err)
	}
	huge := slices.Clone(data)
	binary.BigEndian.PutUint32(huge[16:], 3_000_000) // IHDR width
	if _, err := pngInfo(huge); !errors.Is(err, ErrTooLarge) {
		t.Errorf("huge: %v", err)
	}
	noIHDR := slices.Clone(data)
	copy(noIHDR[12:], "IDAT")
	if _, err := pngInfo(noIHDR); !errors.Is(err, ErrBadImage) {
		t.Errorf("no IHDR: %v", err)
	}
}

func TestJPEGInfo(t *testing.T) {
	data, err := synth.ScanFile([]*image.Gray{grayPage(40, 25, 2)}, synth.ScanJPEG, 70, 200, "")
	if err != nil {
		t.Fatal(err)
	}
	info, err := jpegInfo(data)
	if err != nil || info.width != 40 || info.height != 25 || info.dpi != 200 {
		t.Fatalf("%+v %v", info, err)
	}
	for name, bad := range map[string][]byte{
		"cut in the scan":   data[:len(data)-10],
		"cut in the header": data[:30],
		"no SOI":            data[2:],
	} {
		if _, err := jpegInfo(bad); !errors.Is(err, ErrBadImage) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestPGMInfo(t *testing.T) {
	img := append([]byte("P5\n# pdftoppm\n3 2\n255\n"), 1, 2, 3, 4, 5, 6)
	w, h, n, err := pgmInfo(img)
	if err != nil || w != 3 || h != 2 || n != len(img)-6 {
		t.Fatalf("%d %d %d %v", w, h, n, err)
	}
	for _, bad := range []string{"P6\n3 2\n255\n123456", "P5\n3 2\n255\n12", "P5 3", "P5\n0 2\n255\n"} {
		if _, _, _, err := pgmInfo([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// A multi-page TIFF (made by synth.WriteTIFF) splits into single-page TIFFs
// that a TIFF decoder reads back pixel for pixel.
func TestTIFFSplit(t *testing.T) {
	pages := []*image.Gray{grayPage(50, 30, 1), grayPage(17, 64, 2), grayPage(8, 8, 3)}
	var buf bytes.Buffer
	if err := synth.WriteTIFF(&buf, pages, synth.TIFFOptions{DPI: 240, Compression: synth.TIFFDeflate}); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	order, dirs, err := readTIFF(data, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) != 3 {
		t.Fatalf("%d pages", len(dirs))
	}
	for i, d := range dirs {
		want := pages[i]
		if d.info.width != want.Rect.Dx() || d.info.height != want.Rect.Dy() || d.info.dpi != 240 {
			t.Errorf("page %d info %+v", i+1, d.info)
		}
		one, err := d.singlePage(order, data)
		if err != nil {
			t.Fatalf("page %d: %v", i+1, err)
		}
		img, err := tiff.Decode(bytes.NewReader(one))
		if err != nil {
			t.Fatalf("page %d decodes: %v", i+1, err)
		}
		g, ok := img.(*image.Gray)
		if !ok || g.Rect != want.Rect || !bytes.Equal(g.Pix, want.Pix) {
			t.Errorf("page %d pixels differ", i+1)
		}
		// The copy is a TIFF of one page.
		if _, ds, err := readTIFF(one, 10); err != nil || len(ds) != 1 {
			t.Errorf("page %d copy: %d pages, %v", i+1, len(ds), err)
		}
	}
	if _, _, err := readTIFF(data, 2); !errors.Is(err, ErrTooLarge) {
		t.Errorf("page limit: %v", err)
	}
	// The last directory pointing back at the first is a loop.
	loop := slices.Clone(data)
	first := binary.LittleEndian.Uint32(loop[4:])
	last := lastIFD(t, loop)
	n := binary.LittleEndian.Uint16(loop[last:])
	binary.LittleEndian.PutUint32(loop[last+2+12*uint32(n):], first)
	if _, _, err := readTIFF(loop, 10); !errors.Is(err, ErrBadImage) {
		t.Errorf("loop: %v", err)
	}
	// Cut short: the strips of the first page run past the end.
	_, cut, err := readTIFF(data, 10)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cut[0].singlePage(order, data[:20]); !errors.Is(err, ErrBadImage) {
		t.Errorf("truncated strips: %v", err)
	}
	if _, _, err := readTIFF(data[:6], 10); !errors.Is(err, ErrBadImage) {
		t.Errorf("truncated header: %v", err)
	}
}

func lastIFD(t *testing.T, data []byte) uint32 {
	off := binary.LittleEndian.Uint32(data[4:])
	for {
		n := binary.LittleEndian.Uint16(data[off:])
		next := binary.LittleEndian.Uint32(data[off+2+12*uint32(n):])
		if next == 0 {
			return off
		}
		off = next
	}
}

// tiffEntryBE is a big-endian directory entry with an inline value.
type tiffEntryBE struct {
	tag, typ uint16
	count    uint32
	value    uint32
}

// bigEndianTIFF builds a one-page big-endian TIFF by hand: the strips are
// given as (offset, count) pairs, so tests can point them anywhere.
func bigEndianTIFF(w, h uint32, pixels []byte, strips [][2]uint32) []byte {
	be := binary.BigEndian
	out := []byte("MM\x00*\x00\x00\x00\x08")
	entries := []tiffEntryBE{
		{256, 4, 1, w}, {257, 4, 1, h}, {258, 3, 1, 8 << 16}, {259, 3, 1, 1 << 16}, {262, 3, 1, 1 << 16},
		{273, 4, uint32(len(strips)), 0}, {277, 3, 1, 1 << 16}, {278, 4, 1, h}, {279, 4, uint32(len(strips)), 0},
	}
	ifdEnd := 8 + 2 + 12*len(entries) + 4
	arrays := ifdEnd
	pixAt := arrays + 8*len(strips)
	out = be.AppendUint16(out, uint16(len(entries)))
	for _, e := range entries {
		switch {
		case e.tag == 273 && len(strips) > 1:
			e.value = uint32(arrays)
		case e.tag == 279 && len(strips) > 1:
			e.value = uint32(arrays + 4*len(strips))
		case e.tag == 273:
			e.value = strips[0][0] + uint32(pixAt)
		case e.tag == 279:
			e.value = strips[0][1]
		}
		out = be.AppendUint16(out, e.tag)
		out = be.AppendUint16(out, e.typ)
		out = be.AppendUint32(out, e.count)
		out = be.AppendUint32(out, e.value)
	}
	out = be.AppendUint32(out, 0)
	for _, s := range strips {
		out = be.AppendUint32(out, s[0]+uint32(pixAt))
	}
	for _, s := range strips {
		out = be.AppendUint32(out, s[1])
	}
	return append(out, pixels...)
}

func TestTIFFBigEndian(t *testing.T) {
	pix := []byte{0, 50, 100, 150, 200, 250}
	data := bigEndianTIFF(3, 2, pix, [][2]uint32{{0, 6}})
	order, dirs, err := readTIFF(data, 10)
	if err != nil || len(dirs) != 1 || dirs[0].info.width != 3 || dirs[0].info.height != 2 {
		t.Fatalf("%v %+v", err, dirs)
	}
	one, err := dirs[0].singlePage(order, data)
	if err != nil {
		t.Fatal(err)
	}
	img, err := tiff.Decode(bytes.NewReader(one))
	if err != nil {
		t.Fatal(err)
	}
	if g, ok := img.(*image.Gray); !ok || !bytes.Equal(g.Pix, pix) {
		t.Errorf("pixels %v", img)
	}
	// Many strips pointing at the same bytes must not make a copy larger
	// than the file.
	var strips [][2]uint32
	for range 10 {
		strips = append(strips, [2]uint32{0, 600})
	}
	bomb := bigEndianTIFF(3, 2000, make([]byte, 600), strips)
	order, dirs, err = readTIFF(bomb, 10)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dirs[0].singlePage(order, bomb); !errors.Is(err, ErrBadImage) {
		t.Errorf("repeated strips: %v", err)
	}
}
