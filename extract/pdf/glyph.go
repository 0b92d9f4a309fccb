package pdf

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// glyphText returns the text a glyph name stands for, following the Adobe
// Glyph List conventions: list names, uniXXXX[XXXX...], uXXXX[XX], ligatures
// written with underscores (f_f_i) and suffixes (a.sc, one.oldstyle).
// Unknown names give "".
func glyphText(name string) string {
	if name == "" || name == ".notdef" {
		return ""
	}
	if r, ok := glyphList[name]; ok {
		return cleanText(string(r))
	}
	if i := strings.IndexByte(name, '.'); i > 0 {
		return glyphText(name[:i])
	}
	if strings.Contains(name, "_") {
		var b strings.Builder
		for _, part := range strings.Split(name, "_") {
			b.WriteString(glyphText(part))
		}
		return b.String()
	}
	if strings.HasPrefix(name, "uni") && len(name) >= 7 && (len(name)-3)%4 == 0 {
		var b strings.Builder
		for i := 3; i < len(name); i += 4 {
			v, err := strconv.ParseUint(name[i:i+4], 16, 32)
			if err != nil {
				return ""
			}
			b.WriteRune(rune(v))
		}
		return cleanText(b.String())
	}
	if name[0] == 'u' && len(name) >= 5 && len(name) <= 7 {
		if v, err := strconv.ParseUint(name[1:], 16, 32); err == nil && v <= unicode.MaxRune {
			return cleanText(string(rune(v)))
		}
	}
	return ""
}

// ligatures are spelled out, as pdftotext does, so that "ﬁle" matches "file"
// in search and in the model's quotes.
var ligatures = map[rune]string{
	0xFB00: "ff", 0xFB01: "fi", 0xFB02: "fl", 0xFB03: "ffi", 0xFB04: "ffl", 0xFB05: "st", 0xFB06: "st",
}

// cleanText expands ligatures and drops control characters and private-use
// code points, which carry no text.
func cleanText(s string) string {
	clean := true
	for _, r := range s {
		if r < 0x20 || (r >= 0x7f && r < 0xa0) || (r >= 0xFB00 && r <= 0xFB06) || (r >= 0xE000 && r <= 0xF8FF) || r == utf8.RuneError {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 0xFB00 && r <= 0xFB06:
			b.WriteString(ligatures[r])
		case r == '\t' || r == '\n' || r == '\r':
			b.WriteByte(' ')
		case r < 0x20 || (r >= 0x7f && r < 0xa0) || (r >= 0xE000 && r <= 0xF8FF) || r == utf8.RuneError:
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
