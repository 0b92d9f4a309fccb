package ocr

import (
	"encoding/binary"
	"fmt"
	"slices"
)

// TIFF files are split into single-page TIFFs here, so that each page is
// recognised (and checked, and turned upright) on its own and in parallel.
// Only the directory is read and rewritten; the compressed pixel data is
// copied as it is, and decoded by the engine.

// tiffDir is one page's image file directory.
type tiffDir struct {
	entries []tiffEntry
	info    imageInfo
}

type tiffEntry struct {
	tag, typ uint16
	count    uint32
	value    []byte // count values of typ, in the file's byte order
}

// TIFF tags this package reads or keeps.
const (
	tagImageWidth      = 256
	tagImageLength     = 257
	tagStripOffsets    = 273
	tagStripByteCounts = 279
	tagXResolution     = 282
	tagResolutionUnit  = 296
	tagTileOffsets     = 324
	tagTileByteCounts  = 325
)

// keptTags are what a decoder needs to read a page; everything else (EXIF
// and GPS directories, sub-images, private blobs, offsets into the old file)
// is dropped from the single-page copy.
var keptTags = map[uint16]bool{
	254:           true, // NewSubfileType
	tagImageWidth: true, tagImageLength: true,
	258:                true, // BitsPerSample
	259:                true, // Compression
	262:                true, // PhotometricInterpretation
	266:                true, // FillOrder
	tagStripOffsets:    true,
	274:                true, // Orientation
	277:                true, // SamplesPerPixel
	278:                true, // RowsPerStrip
	tagStripByteCounts: true,
	tagXResolution:     true,
	283:                true, // YResolution
	284:                true, // PlanarConfiguration
	292:                true, // T4Options
	293:                true, // T6Options
	tagResolutionUnit:  true,
	317:                true, // Predictor
	320:                true, // ColorMap
	322:                true, // TileWidth
	323:                true, // TileLength
	tagTileOffsets:     true,
	tagTileByteCounts:  true,
	338:                true, // ExtraSamples
	339:                true, // SampleFormat
	347:                true, // JPEGTables
	529:                true, // YCbCrCoefficients
	530:                true, // YCbCrSubSampling
	531:                true, // YCbCrPositioning
	532:                true, // ReferenceBlackWhite
}

// tiffTypeSize is the size of one value of a TIFF field type; 0 for
// unknown types.
func tiffTypeSize(typ uint16) uint64 {
	switch typ {
	case 1, 2, 6, 7: // BYTE, ASCII, SBYTE, UNDEFINED
		return 1
	case 3, 8: // SHORT, SSHORT
		return 2
	case 4, 9, 11, 13: // LONG, SLONG, FLOAT, IFD
		return 4
	case 5, 10, 12: // RATIONAL, SRATIONAL, DOUBLE
		return 8
	}
	return 0
}

// readTIFF walks a classic TIFF's directory chain (at most maxPages pages,
// no directory visited twice) and reads each page's kept entries and
// dimensions.
func readTIFF(data []byte, maxPages int) (binary.ByteOrder, []tiffDir, error) {
	if len(data) < 8 {
		return nil, nil, fmt.Errorf("%w: TIFF is truncated", ErrBadImage)
	}
	var order binary.ByteOrder
	switch string(data[:2]) {
	case "II":
		order = binary.LittleEndian
	case "MM":
		order = binary.BigEndian
	default:
		return nil, nil, fmt.Errorf("%w: not a TIFF file", ErrBadImage)
	}
	switch order.Uint16(data[2:]) {
	case 42:
	case 43:
		return nil, nil, fmt.Errorf("%w: BigTIFF is not supported", ErrBadImage)
	default:
		return nil, nil, fmt.Errorf("%w: not a TIFF file", ErrBadImage)
	}
	var dirs []tiffDir
	seen := map[uint32]bool{}
	for off := order.Uint32(data[4:]); off != 0; {
		if seen[off] {
			return nil, nil, fmt.Errorf("%w: TIFF directories form a loop", ErrBadImage)
		}
		seen[off] = true
		if len(dirs) == maxPages {
			return nil, nil, fmt.Errorf("%w: TIFF has more than %d pages", ErrTooLarge, maxPages)
		}
		d, next, err := readIFD(data, order, off)
		if err != nil {
			return nil, nil, fmt.Errorf("TIFF page %d: %w", len(dirs)+1, err)
		}
		dirs = append(dirs, d)
		off = next
	}
	if len(dirs) == 0 {
		return nil, nil, fmt.Errorf("%w: TIFF has no pages", ErrBadImage)
	}
	return order, dirs, nil
}

func readIFD(data []byte, order binary.ByteOrder, off uint32) (tiffDir, uint32, error) {
	var d tiffDir
	if uint64(off)+2 > uint64(len(data)) {
		return d, 0, fmt.Errorf("%w: directory offset %d is past the end of the file", ErrBadImage, off)
	}
	n := uint64(order.Uint16(data[off:]))
	end := uint64(off) + 2 + 12*n + 4
	if end > uint64(len(data)) {
		return d, 0, fmt.Errorf("%w: directory at %d runs past the end of the file", ErrBadImage, off)
	}
	for i := range n {
		e := data[uint64(off)+2+12*i:]
		tag, typ, count := order.Uint16(e), order.Uint16(e[2:]), order.Uint32(e[4:])
		size := tiffTypeSize(typ) * uint64(count)
		if !keptTags[tag] || size == 0 {
			continue
		}
		var value []byte
		if size <= 4 {
			value = e[8 : 8+size]
		} else {
			at := uint64(order.Uint32(e[8:]))
			if at+size > uint64(len(data)) {
				return d, 0, fmt.Errorf("%w: tag %d's value runs past the end of the file", ErrBadImage, tag)
			}
			value = data[at : at+size]
		}
		if i := slices.IndexFunc(d.entries, func(x tiffEntry) bool { return x.tag == tag }); i >= 0 {
			return d, 0, fmt.Errorf("%w: tag %d appears twice", ErrBadImage, tag)
		}
		d.entries = append(d.entries, tiffEntry{tag: tag, typ: typ, count: count, value: value})
	}
	slices.SortFunc(d.entries, func(a, b tiffEntry) int { return int(a.tag) - int(b.tag) })
	next := order.Uint32(data[end-4:])
	w, okW := d.uint(order, tagImageWidth)
	h, okH := d.uint(order, tagImageLength)
	if !okW || !okH || w == 0 || h == 0 {
		return d, 0, fmt.Errorf("%w: no image width or length", ErrBadImage)
	}
	if w > maxDimension || h > maxDimension {
		return d, 0, fmt.Errorf("%w: %d x %d pixels", ErrTooLarge, w, h)
	}
	d.info = imageInfo{width: int(w), height: int(h)}
	if e := d.entry(tagXResolution); e != nil && e.typ == 5 && e.count >= 1 {
		num, den := float64(order.Uint32(e.value)), float64(order.Uint32(e.value[4:]))
		unit, ok := d.uint(order, tagResolutionUnit)
		if !ok {
			unit = 2 // inch
		}
		if den > 0 {
			switch unit {
			case 2:
				d.info.dpi = num / den
			case 3:
				d.info.dpi = num / den * 2.54
			}
		}
	}
	return d, next, nil
}

func (d *tiffDir) entry(tag uint16) *tiffEntry {
	for i := range d.entries {
		if d.entries[i].tag == tag {
			return &d.entries[i]
		}
	}
	return nil
}

// uint is a tag's first value as an unsigned integer (BYTE, SHORT, LONG).
func (d *tiffDir) uint(order binary.ByteOrder, tag uint16) (uint64, bool) {
	e := d.entry(tag)
	if e == nil {
		return 0, false
	}
	v, ok := e.uints(order)
	if !ok || len(v) == 0 {
		return 0, false
	}
	return v[0], true
}

func (e *tiffEntry) uints(order binary.ByteOrder) ([]uint64, bool) {
	out := make([]uint64, e.count)
	for i := range out {
		switch e.typ {
		case 1:
			out[i] = uint64(e.value[i])
		case 3:
			out[i] = uint64(order.Uint16(e.value[2*i:]))
		case 4:
			out[i] = uint64(order.Uint32(e.value[4*i:]))
		default:
			return nil, false
		}
	}
	return out, true
}

// singlePage writes the page as a TIFF of its own: the header, the
// directory with the kept entries (in tag order, as TIFF requires), their
// values, and the page's strips or tiles, with the offsets pointing at the
// new places. The copy is at most about twice the source file's size.
func (d *tiffDir) singlePage(order binary.ByteOrder, data []byte) ([]byte, error) {
	offTag, cntTag := uint16(tagStripOffsets), uint16(tagStripByteCounts)
	if d.entry(tagStripOffsets) == nil {
		offTag, cntTag = tagTileOffsets, tagTileByteCounts
	}
	offE, cntE := d.entry(offTag), d.entry(cntTag)
	if offE == nil || cntE == nil {
		return nil, fmt.Errorf("%w: TIFF page has no strip or tile offsets", ErrBadImage)
	}
	offs, ok1 := offE.uints(order)
	cnts, ok2 := cntE.uints(order)
	if !ok1 || !ok2 || len(offs) != len(cnts) || len(offs) == 0 {
		return nil, fmt.Errorf("%w: TIFF page's strip offsets and byte counts do not match", ErrBadImage)
	}
	var total uint64
	for i := range offs {
		if offs[i]+cnts[i] > uint64(len(data)) {
			return nil, fmt.Errorf("%w: TIFF is truncated (strip %d runs past the end of the file)", ErrBadImage, i)
		}
		total += cnts[i]
	}
	if total > uint64(len(data)) {
		return nil, fmt.Errorf("%w: TIFF page's strips add up to more than the file", ErrBadImage)
	}
	// The offsets and counts are written as LONGs.
	entries := slices.Clone(d.entries)
	for i := range entries {
		if entries[i].tag == offTag || entries[i].tag == cntTag {
			entries[i].typ = 4
			entries[i].value = make([]byte, 4*len(offs))
		}
	}
	ifdSize := 2 + 12*len(entries) + 4
	pos := 8 + ifdSize
	valueAt := make([]int, len(entries))
	for i, e := range entries {
		if len(e.value) > 4 {
			pos += pos & 1 // values start on a word boundary
			valueAt[i] = pos
			pos += len(e.value)
		}
	}
	stripAt := make([]int, len(offs))
	for i := range offs {
		pos += pos & 1
		stripAt[i] = pos
		pos += int(cnts[i])
	}
	if pos > 2*len(data)+4096 {
		// Tag values that repeat the file's bytes: no real page needs it.
		return nil, fmt.Errorf("%w: TIFF page's directory values add up to more than the file", ErrBadImage)
	}
	out := make([]byte, pos)
	copy(out, data[:4]) // byte order and 42
	order.PutUint32(out[4:], 8)
	order.PutUint16(out[8:], uint16(len(entries)))
	for i := range entries {
		e := &entries[i]
		switch e.tag {
		case offTag:
			for j := range offs {
				order.PutUint32(e.value[4*j:], uint32(stripAt[j]))
			}
		case cntTag:
			for j := range cnts {
				order.PutUint32(e.value[4*j:], uint32(cnts[j]))
			}
		}
		at := 10 + 12*i
		order.PutUint16(out[at:], e.tag)
		order.PutUint16(out[at+2:], e.typ)
		order.PutUint32(out[at+4:], e.count)
		if len(e.value) > 4 {
			order.PutUint32(out[at+8:], uint32(valueAt[i]))
			copy(out[valueAt[i]:], e.value)
		} else {
			copy(out[at+8:at+12], e.value)
		}
	}
	// The next-directory offset after the entries stays 0: one page.
	for i := range offs {
		copy(out[stripAt[i]:], data[offs[i]:offs[i]+cnts[i]])
	}
	return out, nil
}
