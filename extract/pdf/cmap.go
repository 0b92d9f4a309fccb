package pdf

import (
	"unicode/utf16"
)

// cmap is a parsed CMap: a ToUnicode map (codes to text) or an encoding
// CMap of a composite font (codes to CIDs). Ranges are kept as ranges, not
// expanded, so a hostile "<0000> <FFFFFFFF>" costs nothing.
type cmap struct {
	space     []codespace
	chars     map[uint64]string // key: codeKey(code, n)
	ranges    []uniRange
	cidChars  map[uint64]uint32
	cidRanges []cidRange
}

type codespace struct {
	lo, hi uint32
	n      int
}

type uniRange struct {
	lo, hi uint32
	n      int
	base   []uint16 // UTF-16 of the first code; the last unit increments
	arr    []string // or one string per code
}

type cidRange struct {
	lo, hi uint32
	n      int
	cid    uint32
}

func codeKey(code uint32, n int) uint64 { return uint64(n)<<32 | uint64(code) }

func bytesToCode(b []byte) (uint32, int) {
	if len(b) > 4 {
		b = b[len(b)-4:]
	}
	var c uint32
	for _, x := range b {
		c = c<<8 | uint32(x)
	}
	return c, len(b)
}

func utf16Text(b []byte) string {
	if len(b)%2 == 1 { // not UTF-16: take bytes as Latin-1
		r := make([]rune, len(b))
		for i, x := range b {
			r[i] = rune(x)
		}
		return string(r)
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	return string(utf16.Decode(u))
}

// parseCMap reads a CMap program. It never fails: what it cannot read it
// skips, and an empty map is a valid result.
func parseCMap(data []byte) *cmap {
	m := &cmap{chars: map[uint64]string{}, cidChars: map[uint64]uint32{}}
	l := &lexer{data: data}
	var operands []object
	for {
		o := l.next()
		if o.kind == kEOF {
			break
		}
		if o.kind != kOp {
			if o.kind == kString || o.kind == kName {
				o.str = append([]byte(nil), o.str...)
			}
			operands = append(operands, o)
			if len(operands) > 1<<16 { // runaway operand list: keep the tail
				operands = operands[len(operands)-1024:]
			}
			continue
		}
		switch string(o.str) {
		case "endcodespacerange":
			for i := 0; i+1 < len(operands); i += 2 {
				lo, hi := operands[i], operands[i+1]
				if lo.kind != kString || hi.kind != kString || len(lo.str) == 0 || len(lo.str) != len(hi.str) || len(lo.str) > 4 {
					continue
				}
				a, n := bytesToCode(lo.str)
				b, _ := bytesToCode(hi.str)
				m.space = append(m.space, codespace{a, b, n})
			}
		case "endbfchar":
			for i := 0; i+1 < len(operands); i += 2 {
				src, dst := operands[i], operands[i+1]
				if src.kind != kString || len(src.str) == 0 {
					continue
				}
				code, n := bytesToCode(src.str)
				switch dst.kind {
				case kString:
					m.chars[codeKey(code, n)] = utf16Text(dst.str)
				case kName: // glyph names are allowed in bfchar
					m.chars[codeKey(code, n)] = glyphText(dst.name())
				}
			}
		case "endbfrange":
			for i := 0; i+2 < len(operands); i += 3 {
				lo, hi, dst := operands[i], operands[i+1], operands[i+2]
				if lo.kind != kString || hi.kind != kString || len(lo.str) == 0 {
					continue
				}
				a, n := bytesToCode(lo.str)
				b, _ := bytesToCode(hi.str)
				if b < a {
					continue
				}
				r := uniRange{lo: a, hi: b, n: n}
				switch dst.kind {
				case kString:
					if len(dst.str) == 0 || len(dst.str)%2 == 1 {
						continue
					}
					r.base = make([]uint16, len(dst.str)/2)
					for k := range r.base {
						r.base[k] = uint16(dst.str[2*k])<<8 | uint16(dst.str[2*k+1])
					}
				case kArray:
					r.arr = make([]string, 0, len(dst.arr)) // non-nil even when empty
					for _, e := range dst.arr {
						if e.kind == kString {
							r.arr = append(r.arr, utf16Text(e.str))
						} else {
							r.arr = append(r.arr, "")
						}
					}
				default:
					continue
				}
				m.ranges = append(m.ranges, r)
			}
		case "endcidchar":
			for i := 0; i+1 < len(operands); i += 2 {
				src, dst := operands[i], operands[i+1]
				if src.kind != kString || dst.kind != kNumber || len(src.str) == 0 {
					continue
				}
				code, n := bytesToCode(src.str)
				m.cidChars[codeKey(code, n)] = uint32(dst.num)
			}
		case "endcidrange":
			for i := 0; i+2 < len(operands); i += 3 {
				lo, hi, dst := operands[i], operands[i+1], operands[i+2]
				if lo.kind != kString || hi.kind != kString || dst.kind != kNumber || len(lo.str) == 0 {
					continue
				}
				a, n := bytesToCode(lo.str)
				b, _ := bytesToCode(hi.str)
				if b < a {
					continue
				}
				m.cidRanges = append(m.cidRanges, cidRange{a, b, n, uint32(dst.num)})
			}
		}
		operands = operands[:0]
	}
	return m
}

// next splits the first code off s using the codespace ranges; without any
// usable range it takes dflt bytes.
func (m *cmap) next(s []byte, dflt int) (code uint32, n int) {
	if m != nil && len(m.space) > 0 {
		for n := 1; n <= 4 && n <= len(s); n++ {
			c, _ := bytesToCode(s[:n])
			for _, sp := range m.space {
				if sp.n == n && sp.lo <= c && c <= sp.hi {
					return c, n
				}
			}
		}
		// No range matched: consume as many bytes as the shortest range.
		short := 4
		for _, sp := range m.space {
			short = min(short, sp.n)
		}
		dflt = short
	}
	dflt = max(1, min(dflt, len(s)))
	c, _ := bytesToCode(s[:dflt])
	return c, dflt
}

// text looks a code up in a ToUnicode map. ok is false when the map does
// not cover the code. Some producers declare two-byte codes for one-byte
// fonts (or the reverse), so the other length is tried too.
func (m *cmap) text(code uint32, n int) (string, bool) {
	if m == nil {
		return "", false
	}
	if s, ok := m.lookup(code, n); ok {
		return s, true
	}
	for _, alt := range []int{1, 2} {
		if alt != n {
			if s, ok := m.lookup(code, alt); ok {
				return s, true
			}
		}
	}
	return "", false
}

func (m *cmap) lookup(code uint32, n int) (string, bool) {
	if s, ok := m.chars[codeKey(code, n)]; ok {
		return s, true
	}
	for _, r := range m.ranges {
		if r.n != n || code < r.lo || code > r.hi {
			continue
		}
		off := code - r.lo
		if r.arr != nil {
			if int(off) < len(r.arr) {
				return r.arr[off], true
			}
			return "", false
		}
		if len(r.base) == 0 {
			return "", false
		}
		u := append([]uint16(nil), r.base...)
		u[len(u)-1] += uint16(off)
		return string(utf16.Decode(u)), true
	}
	return "", false
}

// cid maps a code to a CID through an encoding CMap.
func (m *cmap) cid(code uint32, n int) (uint32, bool) {
	if c, ok := m.cidChars[codeKey(code, n)]; ok {
		return c, true
	}
	for _, r := range m.cidRanges {
		if r.n == n && r.lo <= code && code <= r.hi {
			return r.cid + (code - r.lo), true
		}
	}
	return 0, false
}
