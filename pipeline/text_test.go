package pipeline

import "testing"

func TestPrintable(t *testing.T) {
	for _, tt := range []struct {
		in   string
		max  int
		want string
	}{
		{"Rechnung Nr. 123 – €", 0, "Rechnung Nr. 123 – €"},
		{"bad \xff byte", 0, `bad \xff byte`},
		{"two\nlines\tand\x00nul", 0, `two\nlines\tand\u0000nul`},
		{"\x1b[31mred\x1b[0m", 0, `\u001b[31mred\u001b[0m`},
		{"abcdef", 3, "abc…"},
		{"äöü", 2, "äö…"},
		{"\u202eevil.pdf", 0, `\u202eevil.pdf`}, // a right-to-left override hides the real name
	} {
		if got := Printable(tt.in, tt.max); got != tt.want {
			t.Errorf("Printable(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}
