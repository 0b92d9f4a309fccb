package rules

import (
	"regexp"
	"slices"
	"strings"

	"github.com/extractor-dev/extractor/extract"
	"github.com/extractor-dev/extractor/extract/lexicon"
	"github.com/extractor-dev/extractor/pipeline"
)

// Any schema's fields that declare labels (per language) or a pattern are
// read by the same finders and resolver as the invoice's: a value right
// of or under one of its labels, typed by the field (a date, an amount, an
// id, a name, text up to the next gap), or, with a pattern only, the
// pattern's matches anywhere. Without labels and pattern a field is left
// to an LLM.

// schemaField is a field the schema finders can read.
func schemaField(f pipeline.FieldSpec) bool {
	return f.Type != pipeline.TypeArray && (len(f.Labels) > 0 || f.Pattern != "")
}

// readSchema reads a schema other than the invoice.
func readSchema(doc pipeline.Document, s pipeline.Schema) *reading {
	lay := NewLayout(doc)
	rd := &reading{lay: lay, cands: map[string][]*Candidate{}, support: map[string]int{}}
	rd.addSchemaFields(s, nil)
	return rd
}

// addSchemaFields proposes candidates for the schema's fields that declare
// labels or a pattern, except those in skip (read by the invoice finders).
func (rd *reading) addSchemaFields(s pipeline.Schema, skip map[string]bool) {
	for _, f := range s.Fields {
		if !schemaField(f) || skip[f.Name] {
			continue
		}
		rd.cands[f.Name] = rd.lay.fieldCandidates(f)
		rd.custom = append(rd.custom, f.Name)
	}
}

// unanchor turns a validation pattern into a search pattern.
func unanchor(p string) string {
	p = strings.TrimPrefix(p, "^")
	if strings.HasSuffix(p, "$") && !strings.HasSuffix(p, `\$`) {
		p = strings.TrimSuffix(p, "$")
	}
	return p
}

// fieldCandidates proposes values for one declared field.
func (lay *Layout) fieldCandidates(f pipeline.FieldSpec) []*Candidate {
	var pat *regexp.Regexp
	if f.Pattern != "" {
		pat, _ = regexp.Compile(unanchor(f.Pattern))
	}
	read := lay.readerFor(f, pat)
	var out []*Candidate
	if len(f.Labels) > 0 {
		concept := lexicon.Concept("field:" + f.Name)
		lang := lexicon.Language{Code: "schema"}
		e := lexicon.Entry{Concept: concept}
		for _, code := range sortedKeys(f.Labels) {
			e.Strong = append(e.Strong, f.Labels[code]...)
		}
		lang.Entries = []lexicon.Entry{e}
		m := lexicon.NewMatcher(lang)
		for _, l := range lay.Lines {
			hits := m.Find(l.Fold, l.Tokens)
			if len(hits) == 0 {
				continue
			}
			// the field's labels compete with the lexicon's on the line:
			// a longer label of another concept wins ("Order date" over
			// a field labelled "Date")
			saved := l.Labels
			l.Labels = lexicon.Labels(append(slices.Clone(l.Hits), hits...), func(c lexicon.Concept) bool { return lexicon.FieldLabel(c) || c == concept })
			out = append(out, lay.labelledOn(l, f.Name, labelReading{concept: concept, read: read, maxCells: 2, below: true, sentence: true})...)
			l.Labels = saved
		}
	}
	if pat != nil {
		for _, l := range lay.Lines {
			for _, loc := range pat.FindAllStringIndex(l.Text, -1) {
				v := l.Text[loc[0]:loc[1]]
				c := &Candidate{Field: f.Name, Value: v, Raw: v, Page: l.Page, line: l, col: runeLen(l.Text[:loc[0]]), Source: "pattern", Quote: strings.TrimSpace(v)}
				if runeLen(c.Quote) < 4 {
					c.Quote = strings.TrimSpace(l.Text)
				}
				c.F.Unlabelled = 1
				out = append(out, c)
			}
		}
	}
	var keep []*Candidate
	for _, c := range out {
		if pat != nil && !pat.MatchString(c.Value) {
			continue
		}
		if f.Type == pipeline.TypeString && isLabelValue(c.Value) {
			continue
		}
		c.F.Early = lay.early(c.line)
		c.F.Page = float64(min(3, c.Page-1))
		c.F.Repeated = lay.repeated(c.Value, c.line)
		keep = append(keep, c)
	}
	return keep
}

// labelledOn is labelled for one line.
func (lay *Layout) labelledOn(l *Line, field string, r labelReading) []*Candidate {
	var out []*Candidate
	for _, h := range l.Labels {
		if h.Concept != r.concept {
			continue
		}
		var f Features
		labelFeatures(l, h, &f)
		right := lay.afterLabel(field, l, h, r, f)
		out = append(out, right...)
		if len(right) == 0 && r.below && f.InSentence == 0 {
			out = append(out, lay.belowLabel(field, l, h, r, f)...)
		}
	}
	return out
}

// readerFor reads values of a field's type.
func (lay *Layout) readerFor(f pipeline.FieldSpec, pat *regexp.Regexp) reader {
	switch f.Type {
	case pipeline.TypeDate:
		return lay.readDates
	case pipeline.TypeMoney, pipeline.TypeDecimal, pipeline.TypeInteger:
		return func(text string) []found {
			var out []found
			for _, m := range lay.amountsIn(text) {
				if m.Percent {
					continue
				}
				m := m
				v := extract.FormatDecimal(m.Value)
				if f.Type == pipeline.TypeMoney {
					v = formatMoney(m.Value)
				}
				out = append(out, found{raw: m.Raw, value: v, a: m.Start, b: m.End, amount: &m})
				break
			}
			return out
		}
	case pipeline.TypeIBAN:
		return func(text string) []found {
			for _, ib := range ibansIn(text) {
				return []found{{raw: ib.id, value: ib.id, a: ib.a, b: ib.b}}
			}
			return nil
		}
	case pipeline.TypeVATID:
		return func(text string) []found {
			for _, id := range vatIDsIn(text) {
				return []found{{raw: id.id, value: id.id, a: id.a, b: id.b}}
			}
			return nil
		}
	case pipeline.TypeCurrency:
		return func(text string) []found {
			if loc := currencyWordRe.FindStringIndex(text); loc != nil {
				if c, ok := currencyOf(text[loc[0]:loc[1]]); ok {
					return []found{{raw: text[loc[0]:loc[1]], value: c, a: loc[0], b: loc[1]}}
				}
			}
			return nil
		}
	case pipeline.TypeEnum:
		return func(text string) []found {
			ft := lexicon.Fold(text)
			for _, e := range f.Enum {
				if i := strings.Index(ft, lexicon.Fold(e)); i >= 0 && len(ft) == len(text) {
					return []found{{raw: text[i : i+len(e)], value: e, a: i, b: i + len(e)}}
				}
			}
			return nil
		}
	}
	// strings (ids, names, references): the pattern's first match, or the
	// text up to the end of the cell
	return func(text string) []found {
		if pat != nil {
			if loc := pat.FindStringIndex(text); loc != nil {
				return []found{{raw: text[loc[0]:loc[1]], value: text[loc[0]:loc[1]], a: loc[0], b: loc[1]}}
			}
			return nil
		}
		t := strings.TrimLeft(text, " :.#-–")
		a := len(text) - len(t)
		t = strings.TrimSpace(t)
		if t == "" || lexicon.IsLabel(t) {
			return nil
		}
		// "ACME Ltd, 12 High Street": a name and its address; the name
		if nameLike(t) == 0 {
			if first := strings.TrimSpace(strings.SplitN(sepRe.Split(t, 2)[0], ",", 2)[0]); first != t && nameLike(first) > 0 {
				t = first
			}
		}
		return []found{{raw: t, value: t, a: a, b: a + len(t)}}
	}
}
