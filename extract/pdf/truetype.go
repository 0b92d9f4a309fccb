package pdf

import (
	"bytes"

	gtfont "github.com/go-text/typesetting/font"
	ot "github.com/go-text/typesetting/font/opentype"
	"github.com/go-text/typesetting/font/opentype/tables"
	lpdf "github.com/ledongthuc/pdf"
)

// trueTypeText inverts the cmap of an embedded TrueType program
// (FontFile2): glyph id to text. Composite fonts without a ToUnicode map
// name their glyphs only through it, so this is how their text is found,
// as poppler does. The result may be garbage when the font's cmap is not
// Unicode; it is still the best guess there is. nil when there is none.
func (d *docParser) trueTypeText(desc lpdf.Value) (out map[uint16]string) {
	ff := desc.Key("FontFile2")
	if ff.Kind() != lpdf.Stream {
		return nil
	}
	key := "ttcmap:" + ff.String()
	if m, ok := d.gidText[key]; ok {
		return m
	}
	defer func() {
		if x := recover(); x != nil {
			if a, ok := x.(abort); ok {
				panic(a)
			}
			out = nil // a broken font program costs its text, nothing more
		}
		d.gidText[key] = out
	}()
	data, _ := d.readStream(ff, maxFontStream)
	ld, err := ot.NewLoader(bytes.NewReader(data))
	if err != nil {
		return nil
	}
	raw, err := ld.RawTable(ot.MustNewTag("cmap"))
	if err != nil {
		return nil
	}
	ct, _, err := tables.ParseCmap(raw)
	if err != nil {
		return nil
	}
	cm, _, err := gtfont.ProcessCmap(ct, tables.FPNone)
	if err != nil {
		return nil
	}
	out = map[uint16]string{}
	for it := cm.Iter(); it.Next(); {
		r, gid := it.Char()
		if r >= 0xF000 && r <= 0xF0FF { // symbol cmap (3,0): codes live at U+F0xx
			r -= 0xF000
		}
		if _, seen := out[uint16(gid)]; seen || gid == 0 {
			continue
		}
		if t := cleanText(string(r)); t != "" {
			out[uint16(gid)] = t
		}
	}
	return out
}

// cidToGID reads a CIDToGIDMap stream (two bytes per CID); nil means
// Identity.
func (d *docParser) cidToGID(desc lpdf.Value) []uint16 {
	m := desc.Key("CIDToGIDMap")
	if m.Kind() != lpdf.Stream {
		return nil
	}
	data, _ := d.readStream(m, maxFontStream)
	out := make([]uint16, len(data)/2)
	for i := range out {
		out[i] = uint16(data[2*i])<<8 | uint16(data[2*i+1])
	}
	return out
}
