package pipeline

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Printable makes untrusted text (a file's name, bytes a parser quotes
// from a damaged file, a provider's error) safe to show in a terminal
// table, a log line, JSON or a web page: invalid UTF-8 bytes become \xNN,
// control and other non-printing characters \n, \t or \uNNNN, and text
// beyond max runes is cut with an ellipsis (max <= 0: no limit).
func Printable(s string, max int) string {
	if isPrintable(s) && (max <= 0 || utf8.RuneCountInString(s) <= max) {
		return s
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(s); {
		if max > 0 && n >= max {
			b.WriteString("…")
			break
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case !unicode.IsPrint(r) && r != ' ':
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
		i += size
		n++
	}
	return b.String()
}

func isPrintable(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || (!unicode.IsPrint(r) && r != ' ') {
			return false
		}
	}
	return true
}
