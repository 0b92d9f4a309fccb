package pdf

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
	"math"
)

// The library sizes memory from numbers in the file: make([]xref, /Size)
// for a cross-reference stream, a table grown to the highest object number
// of a subsection or /Index pair, a buffer of sum(/W) bytes per entry, two
// buffers of /Columns bytes for a PNG predictor, and an object stream's
// /N tokens read in a loop. A 248-byte file with /Size 2147483647 makes it
// ask for 64 GiB, and the Go runtime dies with "out of memory", which no
// recover catches. preflight reads those numbers first, with our own
// lexer, exactly where the library will read them, and refuses values the
// file's length cannot justify, so that the library never sees them.

// specMaxObjects is PDF 32000-1's implementation limit on indirect objects
// (Annex C): no conforming file has higher object numbers.
const specMaxObjects = 8_388_607

// maxObjects bounds the object numbers a file of n bytes can justify. A
// file with object numbers up to N holds an xref entry for each (20 bytes
// in a classic table, a few compressed bytes in a stream), so 16 per byte
// is generous; small files still get room for sparse numbering.
func maxObjects(n int) int64 {
	return min(specMaxObjects, max(1<<16, 16*int64(n)))
}

// maxColumns bounds a predictor's row length: the library allocates two
// buffers of that many bytes for every stream read with a PNG predictor.
func maxColumns(n int) int64 { return max(1<<16, int64(n)) }

// maxXrefFieldBytes bounds sum(/W), the bytes of one cross-reference
// stream entry (each field is a big-endian integer: 8 bytes hold any
// offset).
const maxXrefFieldBytes = 32

// maxObjStmBytes bounds what one object stream may inflate to. The library
// inflates an object stream again for every object it reads from it, and
// its lexer holds a whole token in memory, so a compressed bomb there is
// unbounded memory. Real object streams hold a few hundred small objects.
const maxObjStmBytes = 64 << 20

// preflight checks data (as the library will see it) and returns an error
// wrapping ErrMalformed when a value the library allocates from is out of
// bounds. It only looks where the library looks: the cross-reference
// sections from the final startxref along their /Prev chain, and object
// streams; elsewhere it leaves judgement to the library.
func preflight(data []byte) error {
	limit := maxObjects(len(data))
	off, ok := libStartxref(data)
	if !ok {
		return nil // the library refuses the file itself; repair may follow
	}
	seen := map[int64]bool{}
	entries := &xrefEntries{}
	var wantStream *bool // the library follows a chain of one kind only
	for off >= 0 {
		if off >= int64(len(data)) {
			return nil // the library fails to read it and stops
		}
		if seen[off] {
			return fmt.Errorf("%w: the cross-reference /Prev chain loops back to offset %d", ErrMalformed, off)
		}
		seen[off] = true
		l := &lexer{data: data, pos: int(off)}
		l.skipWhite()
		isTable := bytes.HasPrefix(data[l.pos:], []byte("xref"))
		if wantStream != nil && *wantStream == isTable {
			return nil // the library stops with an error here
		}
		var prev int64
		var err error
		if isTable {
			l.pos += len("xref")
			prev, err = checkXrefTable(l, limit)
		} else {
			prev, err = checkXrefStream(data, l, limit, len(data), entries)
		}
		if err != nil {
			return err
		}
		s := !isTable
		wantStream = &s
		off = prev
	}
	if err := entries.check(); err != nil {
		return err
	}
	return checkObjectStreams(data, limit)
}

// libStartxref finds the offset after the last "startxref" the way the
// library does: within the last 100 bytes, the file ending in %%EOF, the
// keyword on a line of its own.
func libStartxref(data []byte) (int64, bool) {
	const endChunk = 100
	if len(data) < endChunk {
		return 0, false
	}
	buf := bytes.TrimRight(data[len(data)-endChunk:], "\r\n\t ")
	if !bytes.HasSuffix(buf, []byte("%%EOF")) {
		return 0, false
	}
	i := -1
	for end := len(buf); ; {
		j := bytes.LastIndex(buf[:end], []byte("startxref"))
		if j <= 0 || j+len("startxref") >= len(buf) {
			break
		}
		if isEOL(buf[j-1]) && isEOL(buf[j+len("startxref")]) {
			i = j
			break
		}
		end = j
	}
	if i < 0 {
		return 0, false
	}
	l := &lexer{data: buf, pos: i + len("startxref")}
	o := l.next()
	if o.kind != kNumber || o.num != math.Trunc(o.num) {
		return 0, false
	}
	return int64(o.num), true
}

func isEOL(c byte) bool { return c == '\n' || c == '\r' }

// intValue reads o as an integer; ok is false for anything else (the
// library then refuses the value itself).
func intValue(o object) (int64, bool) {
	if o.kind != kNumber || o.num != math.Trunc(o.num) {
		return 0, false
	}
	// Beyond 2^62 the exact value does not matter: it is out of bounds.
	return int64(max(-1<<62, min(1<<62, o.num))), true
}

// checkXrefTable reads a classic table's subsection headers ("start n")
// and skips their entries, up to the trailer; it returns the trailer's
// /Prev (-1 when none).
func checkXrefTable(l *lexer, limit int64) (prev int64, err error) {
	for {
		o := l.next()
		if o.kind == kOp && string(o.str) == "trailer" {
			break
		}
		start, ok1 := intValue(o)
		n, ok2 := intValue(l.next())
		if !ok1 || !ok2 {
			return -1, nil // the library stops here with an error
		}
		if start < 0 || n < 0 || start+n > limit {
			return -1, fmt.Errorf("%w: cross-reference subsection %d..%d is beyond the %d objects a %d-byte file can hold", ErrMalformed, start, start+n, limit, len(l.data))
		}
		for i := int64(0); i < n; i++ {
			a, b, c := l.next(), l.next(), l.next()
			if a.kind != kNumber || b.kind != kNumber || c.kind != kOp {
				return -1, nil
			}
		}
	}
	t := l.next()
	if t.kind != kDict {
		return -1, nil
	}
	if p, ok := intValue(t.dict["Prev"]); ok {
		return p, nil
	}
	return -1, nil
}

// checkXrefStream checks the stream dictionary of a cross-reference
// stream ("N G obj << /Type /XRef ... >> stream") and returns its /Prev.
func checkXrefStream(data []byte, l *lexer, limit int64, size int, entries *xrefEntries) (prev int64, err error) {
	a, b, obj := l.next(), l.next(), l.next()
	if a.kind != kNumber || b.kind != kNumber || obj.kind != kOp || string(obj.str) != "obj" {
		return -1, nil
	}
	d := l.next()
	if d.kind != kDict {
		return -1, nil
	}
	bad := func(format string, args ...any) (int64, error) {
		return -1, fmt.Errorf("%w: cross-reference stream at object %d: %s", ErrMalformed, int64(a.num), fmt.Sprintf(format, args...))
	}
	if s, ok := intValue(d.dict["Size"]); ok && (s < 0 || s > limit) {
		return bad("/Size %d is beyond the %d objects a %d-byte file can hold", s, limit, size)
	}
	if w, ok := d.dict["W"]; ok && w.kind == kArray {
		total := int64(0)
		for _, e := range w.arr {
			v, ok := intValue(e)
			if !ok {
				break
			}
			if v < 0 || v > maxXrefFieldBytes {
				return bad("/W field of %d bytes", v)
			}
			total += v
		}
		if total > maxXrefFieldBytes {
			return bad("/W entries of %d bytes", total)
		}
	}
	if idx, ok := d.dict["Index"]; ok && idx.kind == kArray {
		for i := 0; i+1 < len(idx.arr); i += 2 {
			start, ok1 := intValue(idx.arr[i])
			n, ok2 := intValue(idx.arr[i+1])
			if !ok1 || !ok2 {
				break
			}
			if start < 0 || n < 0 || start+n > limit {
				return bad("/Index range %d..%d is beyond the %d objects a %d-byte file can hold", start, start+n, limit, size)
			}
		}
	}
	if err := checkDecodeParms(d.dict, size); err != nil {
		return bad("%v", err)
	}
	entries.read(data, l.pos, d.dict)
	if p, ok := intValue(d.dict["Prev"]); ok {
		return p, nil
	}
	return -1, nil
}

// xrefEntries collects, over the chain of cross-reference streams, newest
// first as the library reads them, which objects live in which object
// stream. An object stream that itself lives in an object stream makes the
// library recurse without reading the file: a cycle (or a long enough
// chain) exhausts the stack, which no recover survives. The spec forbids
// both: object streams are top-level objects.
type xrefEntries struct {
	seen     map[int64]bool  // entries already read: newer sections win
	inStream map[int64]int64 // object -> its object stream
}

// read decodes a cross-reference stream's entries (uncompressed or Flate,
// with or without the PNG Up predictor: what the library reads itself);
// other encodings are left to the library, which refuses them.
func (x *xrefEntries) read(data []byte, pos int, d map[string]object) {
	var w []int
	total := 0
	for _, e := range d["W"].arr {
		v, _ := intValue(e)
		w = append(w, int(v))
		total += int(v)
	}
	if len(w) < 3 || total == 0 {
		return
	}
	var index []int64
	if idx, ok := d["Index"]; ok && idx.kind == kArray {
		for _, e := range idx.arr {
			v, ok := intValue(e)
			if !ok {
				return
			}
			index = append(index, v)
		}
	} else if size, ok := intValue(d["Size"]); ok {
		index = []int64{0, size}
	}
	rows := int64(0)
	for i := 1; i < len(index); i += 2 {
		rows += index[i]
	}
	raw, ok := streamData(data, pos, d, rows*int64(total+1))
	if !ok {
		return
	}
	if x.seen == nil {
		x.seen, x.inStream = map[int64]bool{}, map[int64]int64{}
	}
	field := func(row []byte, i int) int64 {
		start := 0
		for _, n := range w[:i] {
			start += n
		}
		v := int64(0)
		for _, c := range row[start : start+w[i]] {
			v = v<<8 | int64(c)
		}
		return v
	}
	for i := 0; i+1 < len(index); i += 2 {
		for n := int64(0); n < index[i+1] && len(raw) >= total; n++ {
			row := raw[:total]
			raw = raw[total:]
			num := index[i] + n
			if x.seen[num] {
				continue
			}
			x.seen[num] = true
			typ := int64(1)
			if w[0] > 0 {
				typ = field(row, 0)
			}
			if typ == 2 {
				x.inStream[num] = field(row, 1)
			}
		}
	}
}

// check refuses an object stream that lives in an object stream.
func (x *xrefEntries) check() error {
	for obj, strm := range x.inStream {
		if in, ok := x.inStream[strm]; ok {
			return fmt.Errorf("%w: object %d is in object stream %d, which the cross-reference data puts in object stream %d: object streams cannot nest", ErrMalformed, obj, strm, in)
		}
	}
	return nil
}

// streamData returns a stream's data decoded as the library decodes a
// cross-reference stream, up to limit bytes; ok is false when it cannot.
func streamData(data []byte, pos int, d map[string]object, limit int64) ([]byte, bool) {
	l := &lexer{data: data, pos: pos}
	l.skipWhite()
	if !bytes.HasPrefix(data[l.pos:], []byte("stream")) {
		return nil, false
	}
	p := l.pos + len("stream")
	if p < len(data) && data[p] == '\r' {
		p++
	}
	if p < len(data) && data[p] == '\n' {
		p++
	}
	n, ok := intValue(d["Length"])
	if !ok || n < 0 {
		return nil, false
	}
	raw := data[p:min(len(data), p+int(min(n, int64(len(data)))))]
	filter := d["Filter"]
	if filter.kind == kArray && len(filter.arr) == 1 {
		filter = filter.arr[0]
	}
	switch {
	case filter.kind == kNull && len(filter.str) == 0 && filter.arr == nil:
		// not compressed
	case filter.kind == kName && string(filter.str) == "FlateDecode":
		zr, err := zlib.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, false
		}
		var b bytes.Buffer
		io.Copy(&b, io.LimitReader(zr, limit+1)) // a truncated stream gives what it has
		raw = b.Bytes()
	default:
		return nil, false
	}
	parms := d["DecodeParms"]
	if parms.kind == kArray && len(parms.arr) == 1 {
		parms = parms.arr[0]
	}
	if parms.kind != kDict {
		return raw, true
	}
	pred, ok := intValue(parms.dict["Predictor"])
	if !ok || pred < 10 {
		return raw, !ok || pred == 1
	}
	cols, _ := intValue(parms.dict["Columns"])
	if pred != 12 || cols <= 0 {
		return nil, false
	}
	// PNG Up rows: a filter byte, then each byte added to the one above.
	var out []byte
	prevRow := make([]byte, cols)
	for len(raw) >= int(cols)+1 {
		if raw[0] != 2 {
			break
		}
		for i := range prevRow {
			prevRow[i] += raw[1+i]
		}
		out = append(out, prevRow...)
		raw = raw[cols+1:]
	}
	return out, true
}

// checkDecodeParms checks the predictor parameters of a stream
// dictionary, direct or in an array (one per filter).
func checkDecodeParms(d map[string]object, size int) error {
	p, ok := d["DecodeParms"]
	if !ok {
		return nil
	}
	parms := []object{p}
	if p.kind == kArray {
		parms = p.arr
	}
	for _, p := range parms {
		if p.kind != kDict {
			continue
		}
		if c, ok := intValue(p.dict["Columns"]); ok && (c < 0 || c > maxColumns(size)) {
			return fmt.Errorf("/Columns %d", c)
		}
	}
	return nil
}

// checkObjectStreams checks every object stream's dictionary (/N, the
// predictor) and that it does not inflate beyond maxObjStmBytes. Object
// streams are always top-level objects, so their dictionaries are in the
// file as written, even when everything else is compressed.
func checkObjectStreams(data []byte, limit int64) error {
	extends := map[int64]int64{} // object stream -> the one it extends
	for from := 0; ; {
		i := bytes.Index(data[from:], []byte("/ObjStm"))
		if i < 0 {
			return extendsCycle(extends)
		}
		at := from + i
		from = at + len("/ObjStm")
		start, ok := objectStart(data, at)
		if !ok {
			continue
		}
		l := &lexer{data: data, pos: start}
		num, _, _ := l.next(), l.next(), l.next()
		d := l.next()
		if d.kind != kDict || d.dict["Type"].kind != kName || string(d.dict["Type"].str) != "ObjStm" {
			continue
		}
		bad := func(format string, args ...any) error {
			return fmt.Errorf("%w: object stream %d: %s", ErrMalformed, int64(num.num), fmt.Sprintf(format, args...))
		}
		if e, ok := intValue(d.dict["Extends"]); ok {
			extends[int64(num.num)] = e
		}
		if n, ok := intValue(d.dict["N"]); ok && (n < 0 || n > limit) {
			return bad("/N %d is beyond the %d objects a %d-byte file can hold", n, limit, len(data))
		}
		if err := checkDecodeParms(d.dict, len(data)); err != nil {
			return bad("%v", err)
		}
		if f := d.dict["Filter"]; f.kind == kName && string(f.str) == "FlateDecode" {
			if n, ok := inflatedSize(data, l.pos, maxObjStmBytes); ok && n > maxObjStmBytes {
				return bad("inflates to more than %d bytes", maxObjStmBytes)
			}
		}
		from = max(from, l.pos)
	}
}

// objectStart finds the "N G obj" header of the object that contains
// offset at: the nearest one before it, unless an "endobj" comes first.
func objectStart(data []byte, at int) (int, bool) {
	for end := at; end > 0; {
		i := bytes.LastIndex(data[:end], []byte("obj"))
		if i < 0 || (i >= 3 && string(data[i-3:i]) == "end") {
			return 0, false // at is outside any object
		}
		end = i
		// Back over "N G " before "obj"; any other "obj" is not a header.
		j, ok := i, true
		for k := 0; k < 2 && ok; k++ {
			if j == 0 || !isWhite(data[j-1]) {
				ok = false
				break
			}
			for j > 0 && isWhite(data[j-1]) {
				j--
			}
			d := j
			for j > 0 && data[j-1] >= '0' && data[j-1] <= '9' {
				j--
			}
			ok = j < d
		}
		if ok {
			return j, true
		}
	}
	return 0, false
}

// inflatedSize inflates the stream whose data follows the dictionary
// ending at pos ("stream" EOL data), counting up to limit+1 bytes. ok is
// false when there is no stream there or its data is not zlib (encrypted
// streams, for one): then there is nothing to judge.
func inflatedSize(data []byte, pos int, limit int64) (int64, bool) {
	l := &lexer{data: data, pos: pos}
	l.skipWhite()
	if !bytes.HasPrefix(data[l.pos:], []byte("stream")) {
		return 0, false
	}
	p := l.pos + len("stream")
	if p < len(data) && data[p] == '\r' {
		p++
	}
	if p < len(data) && data[p] == '\n' {
		p++
	}
	zr, err := zlib.NewReader(bytes.NewReader(data[p:]))
	if err != nil {
		return 0, false
	}
	n, _ := io.Copy(io.Discard, io.LimitReader(zr, limit+1))
	return n, true
}

// extendsCycle finds a chain of object streams that /Extends back to
// itself: the library follows it forever looking for an object.
func extendsCycle(extends map[int64]int64) error {
	for start := range extends {
		n, ok := start, true
		for steps := 0; ok && steps <= len(extends); steps++ {
			if n, ok = extends[n]; ok && n == start {
				return fmt.Errorf("%w: object stream %d extends itself through /Extends", ErrMalformed, start)
			}
		}
	}
	return nil
}
