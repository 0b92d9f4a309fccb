package pdf

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"

	lpdf "github.com/ledongthuc/pdf"
)

// font is what the interpreter needs of a PDF font: how to split a string
// into character codes, each code's advance width and its text. Fonts are
// loaded once per font object and cached for the whole document: the
// library re-reads (and re-inflates) an object every time it is resolved,
// which made per-glyph lookups the bottleneck.
type font struct {
	name      string
	composite bool
	vertical  bool
	// emScale converts the font size to the glyph height; 1 except for
	// Type 3 fonts with an unusual FontMatrix.
	emScale float64
	// Simple fonts: tables indexed by the one-byte code. widths are in
	// thousandths of text space units.
	widths [256]float64
	texts  [256]string
	// Composite fonts.
	enc     *cmap // nil: two-byte identity encoding
	ucs2    bool  // predefined Unicode CMap: codes are UTF-16
	toUni   *cmap
	dw      float64
	cidW    map[uint32]float64
	cidWR   []widthRange
	glyphs  map[uint64]glyphInfo
	gidText map[uint16]string // embedded TrueType cmap, inverted
	cidGID  []uint16          // CIDToGIDMap; nil is Identity
}

type widthRange struct {
	lo, hi uint32
	w      float64
}

type glyphInfo struct {
	text  string
	width float64
}

// code is one character code of a shown string.
type code struct {
	text  string
	width float64 // thousandths of text space
	space bool    // single-byte code 32: word spacing applies
}

// decode splits s into codes and calls fn for each.
func (f *font) decode(s []byte, fn func(c code)) {
	if !f.composite {
		for _, b := range s {
			fn(code{text: f.texts[b], width: f.widths[b], space: b == 32})
		}
		return
	}
	for len(s) > 0 {
		c, n := f.enc.next(s, 2)
		s = s[n:]
		g, ok := f.glyphs[codeKey(c, n)]
		if !ok {
			g = f.compositeGlyph(c, n)
			if len(f.glyphs) < 1<<16 {
				f.glyphs[codeKey(c, n)] = g
			}
		}
		fn(code{text: g.text, width: g.width, space: n == 1 && c == 32})
	}
}

func (f *font) compositeGlyph(c uint32, n int) glyphInfo {
	var g glyphInfo
	cid := c
	if f.enc != nil && !f.ucs2 {
		if v, ok := f.enc.cid(c, n); ok {
			cid = v
		} else {
			cid = 0
		}
	}
	if t, ok := f.toUni.text(c, n); ok {
		g.text = cleanText(t)
	} else if f.ucs2 {
		g.text = cleanText(utf16Text(codeBytes(c, n)))
	} else if f.gidText != nil {
		gid := uint16(cid)
		if f.cidGID != nil {
			gid = 0
			if int(cid) < len(f.cidGID) {
				gid = f.cidGID[cid]
			}
		}
		g.text = f.gidText[gid]
	}
	g.width = f.dw
	if f.ucs2 {
		return g
	}
	if w, ok := f.cidW[cid]; ok {
		g.width = w
	} else {
		for _, r := range f.cidWR {
			if r.lo <= cid && cid <= r.hi {
				g.width = r.w
				break
			}
		}
	}
	return g
}

func codeBytes(c uint32, n int) []byte {
	b := make([]byte, n)
	for i := n - 1; i >= 0; i-- {
		b[i] = byte(c)
		c >>= 8
	}
	return b
}

// loadFont reads a font dictionary. It never fails: missing or broken parts
// fall back to sensible defaults so the text still comes out.
func (d *docParser) loadFont(fv lpdf.Value) *font {
	f := &font{emScale: 1}
	f.name = fv.Key("BaseFont").Name()
	switch fv.Key("Subtype").Name() {
	case "Type0":
		d.loadComposite(f, fv)
	case "Type3":
		d.loadSimple(f, fv, true)
	default:
		d.loadSimple(f, fv, false)
	}
	return f
}

func (d *docParser) loadToUnicode(fv lpdf.Value) *cmap {
	tu := fv.Key("ToUnicode")
	if tu.Kind() != lpdf.Stream {
		return nil
	}
	data, _ := d.readStream(tu, maxFontStream)
	if len(data) == 0 {
		return nil
	}
	return parseCMap(data)
}

func (d *docParser) loadSimple(f *font, fv lpdf.Value, type3 bool) {
	desc := fv.Key("FontDescriptor")
	flags := desc.Key("Flags").Int64()
	symbolic := flags&4 != 0 && flags&32 == 0
	std := stdFontName(f.name)

	// Encoding: base encoding, then Differences, then ToUnicode on top.
	var names [256]string
	base := &standardEncoding
	builtin := false
	switch std {
	case "Symbol":
		base = &symbolEncoding
	case "ZapfDingbats":
		base = &zapfDingbatsEncoding
	}
	enc := fv.Key("Encoding")
	baseName := ""
	switch enc.Kind() {
	case lpdf.Name:
		baseName = enc.Name()
	case lpdf.Dict:
		baseName = enc.Key("BaseEncoding").Name()
	}
	switch baseName {
	case "WinAnsiEncoding":
		base = &winAnsiEncoding
	case "MacRomanEncoding":
		base = &macRomanEncoding
	case "MacExpertEncoding":
		base = &macExpertEncoding
	case "StandardEncoding":
		base = &standardEncoding
	default:
		// No named base encoding: an embedded Type 1 program's own
		// encoding wins (TeX fonts rely on it); TrueType fonts without
		// one are effectively WinAnsi in practice.
		if b := d.type1Encoding(desc); b != nil {
			base, builtin = b, true
		} else if fv.Key("Subtype").Name() == "TrueType" && !symbolic {
			base = &winAnsiEncoding
		}
	}
	names = *base
	if enc.Kind() == lpdf.Dict {
		diffs := enc.Key("Differences")
		c := 0
		for i := 0; i < diffs.Len(); i++ {
			x := diffs.Index(i)
			switch x.Kind() {
			case lpdf.Integer, lpdf.Real:
				c = int(x.Float64())
			case lpdf.Name:
				if c >= 0 && c < 256 {
					names[c] = x.Name()
				}
				c++
			}
		}
	}
	toUni := d.loadToUnicode(fv)
	for c := 0; c < 256; c++ {
		if t, ok := toUni.text(uint32(c), 1); ok {
			if t = cleanText(t); t != "" {
				f.texts[c] = t
				continue
			}
		}
		f.texts[c] = glyphText(names[c])
		if f.texts[c] == "" && symbolic && !builtin && c >= 32 && names[c] == "" {
			// Symbolic fonts without names: codes are usually Latin-1
			// (or 0xF000+Latin-1 in TrueType (3,0) cmaps).
			f.texts[c] = cleanText(string(rune(c)))
		}
	}

	// Widths.
	scale := 1.0
	if type3 {
		m := fv.Key("FontMatrix")
		if a := m.Index(0).Float64(); a != 0 {
			scale = a * 1000
		}
		if dd := m.Index(3).Float64(); dd != 0 {
			f.emScale = abs(dd * 1000)
		}
	}
	first := int(fv.Key("FirstChar").Int64())
	ws := fv.Key("Widths")
	missing := desc.Key("MissingWidth").Float64()
	if ws.Kind() == lpdf.Array && ws.Len() > 0 {
		for c := 0; c < 256; c++ {
			f.widths[c] = missing * scale
		}
		for i := 0; i < ws.Len() && first+i < 256; i++ {
			if c := first + i; c >= 0 {
				f.widths[c] = ws.Index(i).Float64() * scale
			}
		}
		return
	}
	// No Widths: the standard 14 fonts have well-known metrics; anything
	// else gets an average width so gaps still read sensibly.
	avg := desc.Key("AvgWidth").Float64()
	if avg == 0 {
		avg = 500
	}
	if strings.HasPrefix(std, "Courier") || flags&1 != 0 {
		avg = 600
	}
	metrics := std14Widths[std]
	for c := 0; c < 256; c++ {
		w, ok := metrics[names[c]]
		if ok {
			f.widths[c] = float64(w)
		} else {
			f.widths[c] = avg
		}
	}
	if metrics == nil && names[32] == "space" {
		f.widths[32] = avg * 0.5
	}
}

var (
	type1EncodingRe = regexp.MustCompile(`dup\s+(\d+)\s*/([^\s/\[\]{}()<>]+)\s+put`)
	type1StdRe      = regexp.MustCompile(`/Encoding\s+StandardEncoding\s+def`)
)

// type1Encoding reads the built-in encoding from the clear-text part of an
// embedded Type 1 font program (FontFile), or nil.
func (d *docParser) type1Encoding(desc lpdf.Value) *[256]string {
	ff := desc.Key("FontFile")
	if ff.Kind() != lpdf.Stream {
		return nil
	}
	key := "t1enc:" + ff.String()
	if e, ok := d.encodings[key]; ok {
		return e
	}
	data, _ := d.readStream(ff, maxFontStream)
	clear := data
	if n := int(ff.Key("Length1").Int64()); n > 0 && n < len(clear) {
		clear = clear[:n]
	}
	if i := bytes.Index(clear, []byte("eexec")); i >= 0 {
		clear = clear[:i]
	}
	var enc *[256]string
	if type1StdRe.Match(clear) {
		enc = &standardEncoding
	} else if ms := type1EncodingRe.FindAllSubmatch(clear, -1); len(ms) > 0 {
		enc = new([256]string)
		for _, m := range ms {
			if c, err := strconv.Atoi(string(m[1])); err == nil && c >= 0 && c < 256 {
				enc[c] = string(m[2])
			}
		}
	}
	d.encodings[key] = enc
	return enc
}

func (d *docParser) loadComposite(f *font, fv lpdf.Value) {
	f.composite = true
	f.glyphs = map[uint64]glyphInfo{}
	f.dw = 1000
	desc := fv.Key("DescendantFonts").Index(0)
	enc := fv.Key("Encoding")
	switch enc.Kind() {
	case lpdf.Name:
		n := enc.Name()
		f.vertical = strings.HasSuffix(n, "-V")
		switch {
		case n == "Identity-H" || n == "Identity-V":
		case strings.Contains(n, "UCS2") || strings.Contains(n, "UTF16"):
			f.ucs2 = true
			f.enc = &cmap{space: []codespace{{0, 0xffff, 2}}}
		default:
			// Other predefined CMaps (Shift-JIS, EUC, ...) need tables we
			// do not ship; without a ToUnicode map their text is lost, but
			// splitting codes as two bytes keeps positions sane.
		}
	case lpdf.Stream:
		data, _ := d.readStream(enc, maxFontStream)
		f.enc = parseCMap(data)
		f.vertical = enc.Key("WMode").Int64() == 1
	}
	f.toUni = d.loadToUnicode(fv)
	if f.toUni == nil && !f.ucs2 {
		fd := desc.Key("FontDescriptor")
		if f.gidText = d.trueTypeText(fd); f.gidText != nil {
			f.cidGID = d.cidToGID(desc)
		}
	}
	if dw := desc.Key("DW"); dw.Kind() == lpdf.Integer || dw.Kind() == lpdf.Real {
		f.dw = dw.Float64()
	}
	if f.vertical {
		// Vertical advance (DW2's second entry, default -1000) is what
		// moves the pen; the interpreter uses its magnitude.
		f.dw = 1000
		if dw2 := desc.Key("DW2"); dw2.Len() == 2 {
			f.dw = abs(dw2.Index(1).Float64())
		}
		return
	}
	f.cidW = map[uint32]float64{}
	w := desc.Key("W")
	for i := 0; i < w.Len(); {
		first := w.Index(i)
		if i+1 >= w.Len() {
			break
		}
		second := w.Index(i + 1)
		if second.Kind() == lpdf.Array {
			c := uint32(first.Int64())
			for k := 0; k < second.Len() && len(f.cidW) < 1<<17; k++ {
				f.cidW[c+uint32(k)] = second.Index(k).Float64()
			}
			i += 2
			continue
		}
		if i+2 >= w.Len() {
			break
		}
		lo, hi := uint32(first.Int64()), uint32(second.Int64())
		if hi >= lo {
			f.cidWR = append(f.cidWR, widthRange{lo, hi, w.Index(i + 2).Float64()})
		}
		i += 3
	}
}

// stdFontName maps a BaseFont name to one of the standard 14 font names
// when it is one of them or a well-known alias (Arial, Times New Roman,
// Courier New), else "".
func stdFontName(name string) string {
	if i := strings.IndexByte(name, '+'); i == 6 {
		name = name[i+1:]
	}
	n := strings.ToLower(strings.NewReplacer(" ", "", "-", "", ",", "", "_", "").Replace(name))
	bold := strings.Contains(n, "bold") || strings.Contains(n, "black") || strings.Contains(n, "heavy")
	italic := strings.Contains(n, "italic") || strings.Contains(n, "oblique")
	style := func(family, it string) string {
		switch {
		case bold && italic:
			if family == "Times" {
				return "Times-BoldItalic"
			}
			return family + "-Bold" + it
		case bold:
			return family + "-Bold"
		case italic:
			return family + "-" + it
		}
		if family == "Times" {
			return "Times-Roman"
		}
		return family
	}
	switch {
	case strings.HasPrefix(n, "helvetica") || strings.HasPrefix(n, "arial") || strings.HasPrefix(n, "nimbussan"):
		return style("Helvetica", "Oblique")
	case strings.HasPrefix(n, "times") || strings.HasPrefix(n, "nimbusrom"):
		return style("Times", "Italic")
	case strings.HasPrefix(n, "courier") || strings.HasPrefix(n, "nimbusmon"):
		return style("Courier", "Oblique")
	case strings.HasPrefix(n, "symbol"):
		return "Symbol"
	case strings.HasPrefix(n, "zapfdingbats") || strings.HasPrefix(n, "dingbats"):
		return "ZapfDingbats"
	}
	return ""
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
