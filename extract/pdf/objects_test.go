package pdf

import (
	"maps"
	"testing"
)

func TestRefs(t *testing.T) {
	tests := []struct {
		in   string
		want map[string]string
	}{
		{"<</F1 5 0 R /F2 12 3 R>>", map[string]string{"F1": "5 0", "F2": "12 3"}},
		{"[3 0 R 4 0 R]", map[string]string{"0": "3 0", "1": "4 0"}},
		{"[3 0 R <</A 1 0 R>> 9 0 R]", map[string]string{"0": "3 0", "2": "9 0"}},
		{"[/Name 7 0 R \"str ] 1 0 R\" 8 0 R]", map[string]string{"1": "7 0", "3": "8 0"}},
		{"<</Font <</F1 5 0 R>> /XObject 6 0 R>>", map[string]string{"XObject": "6 0"}},
		{"<</A [1 0 R] /B 2 0 R /C 3 /D 4 0>>", map[string]string{"B": "2 0"}},
		{"<</S \"a \\\" /X 1 0 R\" /T 7 0 R>>", map[string]string{"T": "7 0"}},
		{"<</A 10 0 RR /B 11 0 R>>", map[string]string{"B": "11 0"}},
		{"<<>>", map[string]string{}},
		{"", map[string]string{}},
		{"<</A 1", map[string]string{}},
	}
	for _, tt := range tests {
		if got := refs(tt.in); !maps.Equal(got, tt.want) {
			t.Errorf("refs(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestLexer(t *testing.T) {
	l := &lexer{data: []byte(`% comment
		1 -2.5 .5 --3 4.-2 /Na#6De (a\)b(c)\n\101) <41 42 4> [1 [2] /x] <</K (v) /N 1>> true null Tj ' "`)}
	var got []object
	for {
		o := l.next()
		if o.kind == kEOF {
			break
		}
		got = append(got, o)
	}
	want := []struct {
		kind kind
		num  float64
		str  string
	}{
		{kNumber, 1, ""}, {kNumber, -2.5, ""}, {kNumber, 0.5, ""}, {kNumber, -3, ""}, {kNumber, 4, ""},
		{kName, 0, "Name"}, {kString, 0, "a)b(c)\nA"}, {kString, 0, "AB@"},
		{kArray, 0, ""}, {kDict, 0, ""}, {kBool, 0, ""}, {kNull, 0, ""},
		{kOp, 0, "Tj"}, {kOp, 0, "'"}, {kOp, 0, `"`},
	}
	if len(got) != len(want) {
		t.Fatalf("%d tokens, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.kind != w.kind || g.num != w.num || (w.str != "" && string(g.str) != w.str) {
			t.Errorf("token %d = {%v %v %q}, want {%v %v %q}", i, g.kind, g.num, g.str, w.kind, w.num, w.str)
		}
	}
	if arr := got[8].arr; len(arr) != 3 || arr[1].kind != kArray || string(arr[2].str) != "x" {
		t.Errorf("array = %+v", arr)
	}
	if d := got[9].dict; string(d["K"].str) != "v" || d["N"].num != 1 {
		t.Errorf("dict = %+v", d)
	}
}

func TestGlyphText(t *testing.T) {
	tests := map[string]string{
		"A": "A", "quoteright": "\u2019", "fi": "fi", "ffl": "ffl", "f_f_i": "ffi",
		"uni20AC": "€", "uni00410042": "AB", "u1F600": "😀", "one.oldstyle": "1", "a.sc": "a",
		".notdef": "", "g123": "", "": "", "uniZZZZ": "",
	}
	for in, want := range tests {
		if got := glyphText(in); got != want {
			t.Errorf("glyphText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCMap(t *testing.T) {
	m := parseCMap([]byte(`/CIDInit /ProcSet findresource begin 12 dict begin begincmap
		1 begincodespacerange <0000> <FFFF> endcodespacerange
		2 beginbfchar <0003> <0020> <0011> <00660069> endbfchar
		2 beginbfrange <0024> <0026> <0041> <0030> <0031> [<0078> <0079>] endbfrange
		1 begincidrange <0100> <01FF> 500 endcidrange
		endcmap end end`))
	tests := []struct {
		code uint32
		n    int
		want string
		ok   bool
	}{
		{0x03, 2, " ", true}, {0x11, 2, "fi", true}, {0x24, 2, "A", true}, {0x26, 2, "C", true},
		{0x31, 2, "y", true}, {0x27, 2, "", false},
		{0x24, 1, "A", true}, // one-byte font with a two-byte map
	}
	for _, tt := range tests {
		if got, ok := m.text(tt.code, tt.n); got != tt.want || ok != tt.ok {
			t.Errorf("text(%#x, %d) = %q %v, want %q %v", tt.code, tt.n, got, ok, tt.want, tt.ok)
		}
	}
	if c, n := m.next([]byte{0x01, 0x05, 0xff}, 1); c != 0x0105 || n != 2 {
		t.Errorf("next = %#x %d, want 0x105 2", c, n)
	}
	if cid, ok := m.cid(0x0102, 2); !ok || cid != 502 {
		t.Errorf("cid = %d %v", cid, ok)
	}
}
