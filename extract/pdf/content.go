package pdf

import (
	"fmt"
	"math"

	lpdf "github.com/ledongthuc/pdf"
)

// matrix is an affine transform [a b c d e f], as PDF writes them: a point
// (x, y) maps to (a*x + c*y + e, b*x + d*y + f).
type matrix [6]float64

var identity = matrix{1, 0, 0, 1, 0, 0}

// mul returns m×n: apply m first, then n.
func (m matrix) mul(n matrix) matrix {
	return matrix{
		m[0]*n[0] + m[1]*n[2],
		m[0]*n[1] + m[1]*n[3],
		m[2]*n[0] + m[3]*n[2],
		m[2]*n[1] + m[3]*n[3],
		m[4]*n[0] + m[5]*n[2] + n[4],
		m[4]*n[1] + m[5]*n[3] + n[5],
	}
}

func (m matrix) apply(x, y float64) (float64, float64) {
	return m[0]*x + m[2]*y + m[4], m[1]*x + m[3]*y + m[5]
}

func (m matrix) applyVec(x, y float64) (float64, float64) {
	return m[0]*x + m[2]*y, m[1]*x + m[3]*y
}

func matrixFrom(args []object) (matrix, bool) {
	if len(args) < 6 {
		return identity, false
	}
	var m matrix
	for i := 0; i < 6; i++ {
		a := args[len(args)-6+i]
		if a.kind != kNumber {
			return identity, false
		}
		m[i] = a.num
	}
	return m, true
}

func matrixFromValue(v lpdf.Value) matrix {
	if v.Len() != 6 {
		return identity
	}
	var m matrix
	for i := 0; i < 6; i++ {
		m[i] = v.Index(i).Float64()
	}
	return m
}

// glyph is one shown character code, in device space (PDF user space of
// the page, before the page's rotation).
type glyph struct {
	x, y   float64 // origin
	dx, dy float64 // advance vector (device units)
	ux, uy float64 // "up" vector: font size along the glyph's vertical
	text   string
	space  bool
}

type gstate struct {
	ctm                                        matrix
	font                                       *font
	fontSize, charSpace, wordSpace, hScale, tl float64
	rise                                       float64
}

// resources is a page's or form's resource dictionary with its caches.
type resources struct {
	v        lpdf.Value
	fontDict lpdf.Value
	fontRefs map[string]string
	fonts    map[string]*font
	xobjDict lpdf.Value
	xobjRefs map[string]string
}

func newResources(v lpdf.Value) *resources {
	r := &resources{v: v, fonts: map[string]*font{}}
	r.fontDict = v.Key("Font")
	r.fontRefs = refs(r.fontDict.String())
	r.xobjDict = v.Key("XObject")
	r.xobjRefs = refs(r.xobjDict.String())
	return r
}

// fallbackFont stands in for a font that cannot be found, so text drawn
// with it still advances and reads as Latin-1.
var fallbackFont = func() *font {
	f := &font{emScale: 1}
	for c := 0; c < 256; c++ {
		f.widths[c] = 500
		f.texts[c] = cleanText(string(rune(c)))
	}
	return f
}()

func (d *docParser) font(res *resources, name string) *font {
	if f, ok := res.fonts[name]; ok {
		return f
	}
	key := ""
	if ref, ok := res.fontRefs[name]; ok {
		key = "ref:" + ref
	}
	f := d.fonts[key]
	if f == nil {
		fv := res.fontDict.Key(name)
		if fv.Kind() != lpdf.Dict {
			f = fallbackFont
		} else {
			if key == "" {
				key = "val:" + fv.String()
			}
			if f = d.fonts[key]; f == nil {
				f = d.loadFont(fv)
				d.fonts[key] = f
			}
		}
	}
	res.fonts[name] = f
	return f
}

// interp interprets one page's content (and the forms it draws) into glyphs.
type interp struct {
	d      *docParser
	gs     gstate
	stack  []gstate
	tm     matrix
	tlm    matrix
	glyphs []glyph
	images int
	forms  []string // identities of the forms being drawn, for cycles
}

func (in *interp) run(data []byte, res *resources) {
	l := &lexer{data: data}
	var args []object
	for {
		o := l.next()
		switch o.kind {
		case kEOF:
			return
		case kOp:
		case kArrayEnd, kDictEnd:
			continue
		default:
			if len(args) < 64 {
				args = append(args, o)
			}
			continue
		}
		in.d.ops++
		if in.d.ops&0xfff == 0 {
			if err := in.d.ctx.Err(); err != nil {
				panic(abort{err})
			}
			if in.d.ops > maxOps {
				panic(abort{fmt.Errorf("%w: more than %d content operators", ErrTooLarge, maxOps)})
			}
		}
		in.op(string(o.str), args, res, l)
		args = args[:0]
	}
}

func num(args []object, i int) float64 {
	// Operands are taken from the end, so a stray extra operand in front
	// does not shift them.
	j := len(args) - i
	if j < 0 || j >= len(args) || args[j].kind != kNumber {
		return 0
	}
	return args[j].num
}

func (in *interp) op(op string, args []object, res *resources, l *lexer) {
	g := &in.gs
	switch op {
	case "q":
		if len(in.stack) < 256 {
			in.stack = append(in.stack, in.gs)
		}
	case "Q":
		if n := len(in.stack); n > 0 {
			in.gs = in.stack[n-1]
			in.stack = in.stack[:n-1]
		}
	case "cm":
		if m, ok := matrixFrom(args); ok {
			g.ctm = m.mul(g.ctm)
		}
	case "BT":
		in.tm, in.tlm = identity, identity
	case "Tc":
		g.charSpace = num(args, 1)
	case "Tw":
		g.wordSpace = num(args, 1)
	case "Tz":
		g.hScale = num(args, 1) / 100
	case "TL":
		g.tl = num(args, 1)
	case "Ts":
		g.rise = num(args, 1)
	case "Tf":
		g.fontSize = num(args, 1)
		if len(args) >= 2 && args[len(args)-2].kind == kName {
			g.font = in.d.font(res, args[len(args)-2].name())
		}
	case "Td":
		in.moveLine(num(args, 2), num(args, 1))
	case "TD":
		g.tl = -num(args, 1)
		in.moveLine(num(args, 2), num(args, 1))
	case "Tm":
		if m, ok := matrixFrom(args); ok {
			in.tm, in.tlm = m, m
		}
	case "T*":
		in.moveLine(0, -g.tl)
	case "Tj":
		if len(args) > 0 && args[len(args)-1].kind == kString {
			in.show(args[len(args)-1].str)
		}
	case "'":
		in.moveLine(0, -g.tl)
		if len(args) > 0 && args[len(args)-1].kind == kString {
			in.show(args[len(args)-1].str)
		}
	case "\"":
		if len(args) >= 3 {
			g.wordSpace, g.charSpace = num(args, 3), num(args, 2)
		}
		in.moveLine(0, -g.tl)
		if len(args) > 0 && args[len(args)-1].kind == kString {
			in.show(args[len(args)-1].str)
		}
	case "TJ":
		if len(args) == 0 || args[len(args)-1].kind != kArray {
			return
		}
		for _, e := range args[len(args)-1].arr {
			switch e.kind {
			case kString:
				in.show(e.str)
			case kNumber:
				in.adjust(e.num)
			}
		}
	case "Do":
		if len(args) > 0 && args[len(args)-1].kind == kName {
			in.drawXObject(res, args[len(args)-1].name())
		}
	case "ID":
		l.skipInlineImage()
		in.images++
	}
}

func (in *interp) moveLine(tx, ty float64) {
	in.tlm = matrix{1, 0, 0, 1, tx, ty}.mul(in.tlm)
	in.tm = in.tlm
}

// adjust applies a TJ number: a shift against the writing direction in
// thousandths of the font size.
func (in *interp) adjust(n float64) {
	g := &in.gs
	if g.font != nil && g.font.vertical {
		ty := -n / 1000 * g.fontSize
		in.tm = matrix{1, 0, 0, 1, 0, ty}.mul(in.tm)
		return
	}
	tx := -n / 1000 * g.fontSize * g.hScale
	in.tm = matrix{1, 0, 0, 1, tx, 0}.mul(in.tm)
}

func (in *interp) show(s []byte) {
	g := &in.gs
	f := g.font
	if f == nil {
		f = fallbackFont
	}
	fs, h := g.fontSize, g.hScale
	// trm maps text space to device space; the glyph origin and the unit
	// vectors along and across the baseline come out of it once per string.
	m := in.tm.mul(g.ctm)
	ux, uy := m.applyVec(0, fs*f.emScale)
	f.decode(s, func(c code) {
		x, y := m.apply(0, g.rise)
		var adv float64
		var gx, gy float64 // advance vector of the glyph itself (no spacing)
		if f.vertical {
			adv = c.width/1000*fs + g.charSpace
			if c.space {
				adv += g.wordSpace
			}
			gx, gy = m.applyVec(0, -c.width/1000*fs)
			in.glyphs = append(in.glyphs, glyph{x: x, y: y, dx: gx, dy: gy, ux: -gy, uy: gx, text: c.text, space: c.text != "" && isBlank(c.text)})
			m[4], m[5] = m.apply(0, -adv)
			return
		}
		adv = c.width/1000*fs + g.charSpace
		if c.space {
			adv += g.wordSpace
		}
		adv *= h
		gx, gy = m.applyVec(c.width/1000*fs*h, 0)
		in.glyphs = append(in.glyphs, glyph{x: x, y: y, dx: gx, dy: gy, ux: ux, uy: uy, text: c.text, space: c.text != "" && isBlank(c.text)})
		m[4], m[5] = m.apply(adv, 0)
	})
	// Write the pen position back into the text matrix (in text space).
	inv, ok := invert(g.ctm)
	if !ok {
		return
	}
	in.tm = m.mul(inv)
}

func isBlank(s string) bool {
	for _, r := range s {
		if r != ' ' && r != 0xa0 && r != '\t' && r != 0x3000 && !(r >= 0x2000 && r <= 0x200b) {
			return false
		}
	}
	return true
}

func invert(m matrix) (matrix, bool) {
	det := m[0]*m[3] - m[1]*m[2]
	if det == 0 || math.IsNaN(det) || math.IsInf(det, 0) {
		return identity, false
	}
	return matrix{
		m[3] / det, -m[1] / det,
		-m[2] / det, m[0] / det,
		(m[2]*m[5] - m[3]*m[4]) / det,
		(m[1]*m[4] - m[0]*m[5]) / det,
	}, true
}

// drawXObject runs a form XObject's content, guarding against forms that
// draw themselves (directly or through others) and against deep nesting.
func (in *interp) drawXObject(res *resources, name string) {
	if res == nil {
		return
	}
	xv := res.xobjDict.Key(name)
	if xv.Kind() != lpdf.Stream {
		return
	}
	switch xv.Key("Subtype").Name() {
	case "Image":
		in.images++
		return
	case "Form":
	default:
		return
	}
	id := res.xobjRefs[name]
	if id == "" {
		id = xv.String() // a stream's text includes its file offset: unique
	}
	if len(in.forms) >= maxFormDepth {
		return
	}
	for _, f := range in.forms {
		if f == id {
			return
		}
	}
	data, ok := in.d.forms[id]
	if !ok {
		data, _ = in.d.readStream(xv, maxContentStream)
		if in.d.formBytes+len(data) <= formCacheBytes {
			in.d.forms[id] = data
			in.d.formBytes += len(data)
		}
	}
	formRes := res
	if r := xv.Key("Resources"); r.Kind() == lpdf.Dict {
		formRes = newResources(r)
	}
	saved, savedTM, savedTLM := in.gs, in.tm, in.tlm
	depth := len(in.stack)
	in.gs.ctm = matrixFromValue(xv.Key("Matrix")).mul(in.gs.ctm)
	in.forms = append(in.forms, id)
	in.run(data, formRes)
	in.forms = in.forms[:len(in.forms)-1]
	in.gs, in.tm, in.tlm = saved, savedTM, savedTLM
	in.stack = in.stack[:min(depth, len(in.stack))]
}
