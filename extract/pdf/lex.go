package pdf

import (
	"bytes"
	"strconv"
)

// This file holds a small lexer and object reader for PDF content streams and
// CMaps. We do not use the library's Interpret for page content: it cannot
// skip inline image data, cannot be cancelled, and allocates a Value per
// operand. Our lexer works on the decoded stream bytes, never panics, and
// treats anything it does not understand as a token to skip.

type kind uint8

const (
	kNull kind = iota
	kBool
	kNumber
	kName
	kString
	kArray
	kDict
	kOp
	kArrayEnd // "]" seen by the object reader
	kDictEnd  // ">>" seen by the object reader
	kEOF
)

// object is one operand or operator. Names, strings and operators alias the
// lexer's input or scratch buffer when possible: they are valid until the
// next call that produces a token, unless copied.
type object struct {
	kind kind
	num  float64
	b    bool
	str  []byte   // name (without '/'), string bytes, or operator text
	arr  []object // array elements
	dict map[string]object
}

func (o object) name() string { return string(o.str) }

// lexer tokenizes content streams.
type lexer struct {
	data []byte
	pos  int
	// depth counts nested arrays and dicts to bound recursion on hostile
	// input such as "[[[[[[...".
	depth int
}

const maxNesting = 64

func isWhite(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0
}

func isDelim(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

func (l *lexer) skipWhite() {
	for l.pos < len(l.data) {
		c := l.data[l.pos]
		if isWhite(c) {
			l.pos++
			continue
		}
		if c == '%' {
			for l.pos < len(l.data) && l.data[l.pos] != '\n' && l.data[l.pos] != '\r' {
				l.pos++
			}
			continue
		}
		return
	}
}

// next reads one object: a simple value, an array or dict (recursively), an
// operator, or kEOF. Malformed bytes are skipped.
func (l *lexer) next() object {
	for {
		l.skipWhite()
		if l.pos >= len(l.data) {
			return object{kind: kEOF}
		}
		c := l.data[l.pos]
		switch {
		case c == '/':
			l.pos++
			return object{kind: kName, str: l.readName()}
		case c == '(':
			l.pos++
			return object{kind: kString, str: l.readLiteral()}
		case c == '<':
			if l.pos+1 < len(l.data) && l.data[l.pos+1] == '<' {
				l.pos += 2
				return l.readDict()
			}
			l.pos++
			return object{kind: kString, str: l.readHex()}
		case c == '>':
			if l.pos+1 < len(l.data) && l.data[l.pos+1] == '>' {
				l.pos += 2
				return object{kind: kDictEnd}
			}
			l.pos++
			continue
		case c == '[':
			l.pos++
			return l.readArray()
		case c == ']':
			l.pos++
			return object{kind: kArrayEnd}
		case c == '{' || c == '}' || c == ')':
			// PostScript procedures (in CMaps) and stray parens: skip.
			l.pos++
			continue
		case c == '+' || c == '-' || c == '.' || (c >= '0' && c <= '9'):
			if o, ok := l.readNumber(); ok {
				return o
			}
			continue
		default:
			start := l.pos
			for l.pos < len(l.data) && !isWhite(l.data[l.pos]) && !isDelim(l.data[l.pos]) {
				l.pos++
			}
			if l.pos == start { // unknown delimiter byte
				l.pos++
				continue
			}
			tok := l.data[start:l.pos]
			switch string(tok) {
			case "true":
				return object{kind: kBool, b: true}
			case "false":
				return object{kind: kBool}
			case "null":
				return object{kind: kNull}
			}
			return object{kind: kOp, str: tok}
		}
	}
}

func (l *lexer) readName() []byte {
	start := l.pos
	for l.pos < len(l.data) && !isWhite(l.data[l.pos]) && !isDelim(l.data[l.pos]) {
		l.pos++
	}
	raw := l.data[start:l.pos]
	if bytes.IndexByte(raw, '#') < 0 {
		return raw
	}
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		if raw[i] == '#' && i+2 < len(raw) {
			if v, err := strconv.ParseUint(string(raw[i+1:i+3]), 16, 8); err == nil {
				out = append(out, byte(v))
				i += 2
				continue
			}
		}
		out = append(out, raw[i])
	}
	return out
}

func (l *lexer) readNumber() (object, bool) {
	start := l.pos
	if c := l.data[l.pos]; c == '+' || c == '-' {
		l.pos++
	}
	// Producers write odd numbers such as "--5" or "4.-2"; take the longest
	// run of number characters and parse what makes sense of it.
	for l.pos < len(l.data) {
		c := l.data[l.pos]
		if (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' {
			l.pos++
			continue
		}
		break
	}
	tok := l.data[start:l.pos]
	if v, ok := parseNumber(tok); ok {
		return object{kind: kNumber, num: v}, true
	}
	// Not a number: treat as an operator-like token and let the caller skip it.
	for l.pos < len(l.data) && !isWhite(l.data[l.pos]) && !isDelim(l.data[l.pos]) {
		l.pos++
	}
	return object{}, false
}

// parseNumber parses PDF numbers quickly; it accepts a leading run of sign
// characters and ignores anything after a second '.', as PDF readers do.
func parseNumber(tok []byte) (float64, bool) {
	neg := false
	i := 0
	for i < len(tok) && (tok[i] == '-' || tok[i] == '+') {
		if tok[i] == '-' {
			neg = !neg
		}
		i++
	}
	if i > 1 { // "--5" means -5 for most readers
		neg = true
	}
	var intPart, frac float64
	scale := 1.0
	digits := 0
	seenDot := false
	for ; i < len(tok); i++ {
		c := tok[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
			if seenDot {
				scale /= 10
				frac += float64(c-'0') * scale
			} else {
				intPart = intPart*10 + float64(c-'0')
			}
		case c == '.' && !seenDot:
			seenDot = true
		default:
			i = len(tok) // stop at junk
		}
	}
	if digits == 0 {
		return 0, false
	}
	v := intPart + frac
	if neg {
		v = -v
	}
	return v, true
}

func (l *lexer) readLiteral() []byte {
	// Fast path: no escapes and no nested parens.
	start := l.pos
	for i := l.pos; i < len(l.data); i++ {
		c := l.data[i]
		if c == ')' {
			l.pos = i + 1
			return l.data[start:i]
		}
		if c == '\\' || c == '(' || c == '\r' {
			break
		}
	}
	var out []byte
	depth := 1
	for l.pos < len(l.data) {
		c := l.data[l.pos]
		l.pos++
		switch c {
		case '(':
			depth++
			out = append(out, c)
		case ')':
			depth--
			if depth == 0 {
				return out
			}
			out = append(out, c)
		case '\r':
			// End-of-line markers inside strings read as \n.
			if l.pos < len(l.data) && l.data[l.pos] == '\n' {
				l.pos++
			}
			out = append(out, '\n')
		case '\\':
			if l.pos >= len(l.data) {
				return out
			}
			e := l.data[l.pos]
			l.pos++
			switch e {
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case '\r':
				if l.pos < len(l.data) && l.data[l.pos] == '\n' {
					l.pos++
				}
			case '\n':
			case '0', '1', '2', '3', '4', '5', '6', '7':
				v := int(e - '0')
				for k := 0; k < 2 && l.pos < len(l.data); k++ {
					d := l.data[l.pos]
					if d < '0' || d > '7' {
						break
					}
					v = v*8 + int(d-'0')
					l.pos++
				}
				out = append(out, byte(v))
			default:
				out = append(out, e)
			}
		default:
			out = append(out, c)
		}
	}
	return out
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func (l *lexer) readHex() []byte {
	var out []byte
	var hi byte
	half := false
	for l.pos < len(l.data) {
		c := l.data[l.pos]
		l.pos++
		if c == '>' {
			break
		}
		v, ok := unhex(c)
		if !ok {
			continue
		}
		if half {
			out = append(out, hi<<4|v)
		} else {
			hi = v
		}
		half = !half
	}
	if half {
		out = append(out, hi<<4)
	}
	return out
}

func (l *lexer) readArray() object {
	l.depth++
	defer func() { l.depth-- }()
	if l.depth > maxNesting {
		l.skipToClose('[', ']')
		return object{kind: kArray}
	}
	var arr []object
	for {
		o := l.next()
		switch o.kind {
		case kArrayEnd, kEOF:
			return object{kind: kArray, arr: arr}
		case kDictEnd:
			continue
		case kName, kString, kOp:
			o.str = bytes.Clone(o.str)
		}
		arr = append(arr, o)
	}
}

func (l *lexer) readDict() object {
	l.depth++
	defer func() { l.depth-- }()
	if l.depth > maxNesting {
		l.skipToClose('<', '>')
		return object{kind: kDict}
	}
	d := map[string]object{}
	for {
		k := l.next()
		switch k.kind {
		case kDictEnd, kEOF:
			return object{kind: kDict, dict: d}
		case kName:
		default:
			continue // junk key: skip it
		}
		key := string(k.str)
		v := l.next()
		switch v.kind {
		case kDictEnd, kEOF:
			return object{kind: kDict, dict: d}
		case kName, kString, kOp:
			v.str = bytes.Clone(v.str)
		}
		d[key] = v
	}
}

// skipToClose skips bytes until the matching close of an over-deep nesting,
// counting only the bracket characters (strings may confuse it; the input
// is hostile anyway and we only need to make progress).
func (l *lexer) skipToClose(open, close byte) {
	n := 1
	for l.pos < len(l.data) && n > 0 {
		switch l.data[l.pos] {
		case open:
			n++
		case close:
			n--
		}
		l.pos++
	}
}

// skipInlineImage moves past the binary data of an inline image, after the
// "ID" operator, to just after the matching "EI".
func (l *lexer) skipInlineImage() {
	if l.pos < len(l.data) && isWhite(l.data[l.pos]) {
		l.pos++
	}
	for i := l.pos; i+1 < len(l.data); i++ {
		if l.data[i] == 'E' && l.data[i+1] == 'I' &&
			(i == 0 || isWhite(l.data[i-1])) &&
			(i+2 == len(l.data) || isWhite(l.data[i+2]) || isDelim(l.data[i+2])) {
			l.pos = i + 2
			return
		}
	}
	l.pos = len(l.data)
}
