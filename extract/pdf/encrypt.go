package pdf

import (
	"bytes"
	"regexp"
	"strconv"
)

// encryption is what the trailer says about encryption. We read it
// ourselves because the library reports unsupported or broken encryption
// only as error text, and callers need to tell "needs a password" from
// "damaged file" without matching strings.
type encryption struct {
	encrypted bool
	filter    string
	v, r      int
	bits      int // key length
}

// unreliable reports encryption the library opens but decrypts wrongly:
// 40-bit RC4 (it uses 16 bytes of the MD5 as the object key, not n+5).
func (e encryption) unreliable() bool { return e.encrypted && e.v < 4 && e.bits == 40 }

// scanEncryption finds the trailer dictionaries (the classic "trailer"
// dictionaries and cross-reference stream dictionaries) and reads their
// /Encrypt entry. It looks at the last cross-reference section first and
// falls back to scanning for trailers anywhere, so it also works on files
// whose startxref is wrong.
func scanEncryption(data []byte) encryption {
	for _, t := range trailerDicts(data) {
		e, ok := t["Encrypt"]
		if !ok {
			continue
		}
		enc := encryption{encrypted: true}
		var d map[string]object
		switch e.kind {
		case kDict:
			d = e.dict
		case kNumber:
			d = findObjectDict(data, int(e.num))
		}
		if d != nil {
			enc.filter = string(d["Filter"].str)
			enc.v = int(d["V"].num)
			enc.r = int(d["R"].num)
			enc.bits = 40
			if l, ok := d["Length"]; ok && l.kind == kNumber {
				enc.bits = int(l.num)
			}
		}
		return enc
	}
	return encryption{}
}

var startxrefRe = regexp.MustCompile(`startxref\s+(\d+)`)

func trailerDicts(data []byte) []map[string]object {
	var out []map[string]object
	tail := data[max(0, len(data)-4096):]
	if m := startxrefRe.FindAllSubmatch(tail, -1); len(m) > 0 {
		if off, err := strconv.Atoi(string(m[len(m)-1][1])); err == nil && off >= 0 && off < len(data) {
			if d := dictAt(data, off); d != nil {
				out = append(out, d)
			}
		}
	}
	// Fallback: every "trailer" keyword, last first.
	for end := len(data); ; {
		i := bytes.LastIndex(data[:end], []byte("trailer"))
		if i < 0 {
			break
		}
		l := &lexer{data: data, pos: i + len("trailer")}
		if o := l.next(); o.kind == kDict {
			out = append(out, o.dict)
		}
		end = i
		if len(out) > 8 {
			break
		}
	}
	return out
}

// dictAt reads the trailer at a cross-reference offset: after an "xref"
// table, the dictionary that follows "trailer"; for a cross-reference
// stream, its stream dictionary.
func dictAt(data []byte, off int) map[string]object {
	if bytes.HasPrefix(data[off:], []byte("xref")) {
		i := bytes.Index(data[off:], []byte("trailer"))
		if i < 0 {
			return nil
		}
		l := &lexer{data: data, pos: off + i + len("trailer")}
		if o := l.next(); o.kind == kDict {
			return o.dict
		}
		return nil
	}
	l := &lexer{data: data, pos: off}
	a, b, obj := l.next(), l.next(), l.next()
	if a.kind != kNumber || b.kind != kNumber || obj.kind != kOp || string(obj.str) != "obj" {
		return nil
	}
	if o := l.next(); o.kind == kDict {
		return o.dict
	}
	return nil
}

// findObjectDict finds "N 0 obj << ... >>" anywhere in the file (the last
// definition wins, as with incremental updates).
func findObjectDict(data []byte, n int) map[string]object {
	re := regexp.MustCompile(`(?:^|[^0-9])` + strconv.Itoa(n) + `\s+\d+\s+obj`)
	locs := re.FindAllIndex(data, -1)
	for i := len(locs) - 1; i >= 0; i-- {
		l := &lexer{data: data, pos: locs[i][1]}
		if o := l.next(); o.kind == kDict {
			return o.dict
		}
	}
	return nil
}
