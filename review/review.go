// Package review is the logic of the review loop, shared by the CLI and
// the HTTP service: it checks the changes people ask for against the
// schema and the document with the code that checks extractions
// (extract.CheckValue, extract.Recheck), applies corrections to an
// extraction in order (a document's current values are its latest
// extraction with its corrections applied), writes approved documents as
// CSV and JSON lines, and computes the production metrics (touchless
// rate, per-field correction rate, time to review, by week).
//
// It keeps nothing and serves nothing: the store keeps corrections and
// decisions, the server answers HTTP, cmd/extractor wires them. It may
// import pipeline and extract (the checks it reuses), nothing else of
// ours.
package review

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/extractor-dev/extractor/extract"
	"github.com/extractor-dev/extractor/pipeline"
)

// MaxValueRunes bounds a typed value.
const MaxValueRunes = 2000

// Error is a refused set of changes: what is wrong with which change.
// Nothing of a refused set is applied.
type Error struct {
	Problems []Problem
}

// Problem is what is wrong with one change.
type Problem struct {
	// Change is the index of the change in the request.
	Change int
	// Pointer is a JSON pointer to the member at fault in a request
	// {"changes": [...]}: "/changes/0/value".
	Pointer string
	Detail  string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("review: ")
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %s", p.Pointer, p.Detail)
	}
	return b.String()
}

// Unwrap makes an Error a pipeline.ErrInvalid.
func (e *Error) Unwrap() error { return pipeline.ErrInvalid }

// Path names what a change touches: a top-level field ("total_amount"),
// a list ("line_items"), an element of it ("line_items[2]") or a field
// of an element ("line_items[2].amount").
type Path struct {
	Field string
	// Index is the element's (from 0); -1 for none.
	Index int
	// Sub is the element's field ("" for the element or the list).
	Sub string
}

var pathRe = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d{1,6})\](?:\.([A-Za-z_][A-Za-z0-9_]*))?)?$`)

// ParsePath reads a field path.
func ParsePath(s string) (Path, error) {
	m := pathRe.FindStringSubmatch(s)
	if m == nil {
		return Path{}, fmt.Errorf("%q is not a field path (\"total_amount\", \"line_items\", \"line_items[2]\", \"line_items[2].amount\")", s)
	}
	p := Path{Field: m[1], Index: -1, Sub: m[3]}
	if m[2] != "" {
		p.Index, _ = strconv.Atoi(m[2])
	}
	return p, nil
}

func (p Path) String() string {
	switch {
	case p.Index < 0:
		return p.Field
	case p.Sub == "":
		return fmt.Sprintf("%s[%d]", p.Field, p.Index)
	}
	return fmt.Sprintf("%s[%d].%s", p.Field, p.Index, p.Sub)
}

// Apply checks changes against the schema and the document and applies
// them to x (the document's current values), in order: each change sees
// the values as the changes before it left them. It returns the new
// values and the corrections made, without what the store adds (ids,
// versions, who and when). A change that changes nothing (the same value
// with the same evidence) makes no correction. When any change is wrong,
// nothing is applied and the error is an *Error listing every problem.
//
// Values are checked as an extractor's readings are (extract.CheckValue:
// normalized by type, the pattern, the quote on the page and holding the
// value); the checks across fields run again on the result
// (extract.Recheck). A corrected value has confidence 1.
func Apply(doc pipeline.Document, schema pipeline.Schema, x pipeline.Extraction, changes []pipeline.Change) (pipeline.Extraction, []pipeline.Correction, error) {
	x = Clone(x)
	if x.Fields == nil {
		x.Fields = map[string]pipeline.Field{}
	}
	x.Schema = schema.Ref()
	var problems []Problem
	var out []pipeline.Correction
	for i, ch := range changes {
		fail := func(member, format string, args ...any) {
			problems = append(problems, Problem{Change: i, Pointer: fmt.Sprintf("/changes/%d%s", i, member), Detail: fmt.Sprintf(format, args...)})
		}
		c, err := correction(doc, schema, x, ch, fail)
		if err != nil || c == nil {
			continue // a problem was reported, or nothing changes
		}
		if err := apply(schema, &x, *c); err != nil {
			fail("/field", "%v", err)
			continue
		}
		out = append(out, *c)
	}
	if len(problems) > 0 {
		return pipeline.Extraction{}, nil, &Error{Problems: problems}
	}
	if len(out) > 0 {
		extract.Recheck(&x)
	}
	return x, out, nil
}

// errProblem says a problem was reported through fail.
var errProblem = errors.New("reported")

// correction checks one change against the values as they are and makes
// its correction (nil when it changes nothing).
func correction(doc pipeline.Document, schema pipeline.Schema, x pipeline.Extraction, ch pipeline.Change, fail func(member, format string, args ...any)) (*pipeline.Correction, error) {
	p, err := ParsePath(ch.Field)
	if err != nil {
		fail("/field", "%v", err)
		return nil, errProblem
	}
	spec, ok := schema.Field(p.Field)
	if !ok {
		fail("/field", "%q is not a field of the %s schema", p.Field, schema.Name)
		return nil, errProblem
	}
	if utf8.RuneCountInString(ch.Reason) > MaxValueRunes {
		fail("/reason", "over %d characters", MaxValueRunes)
		return nil, errProblem
	}
	var ev pipeline.Evidence
	var box *pipeline.Box
	if e := ch.Evidence; e != nil {
		if e.Page < 1 || strings.TrimSpace(e.Quote) == "" {
			fail("/evidence", "evidence needs a page (from 1) and a quote")
			return nil, errProblem
		}
		ev, box = pipeline.Evidence{Page: e.Page, Quote: e.Quote}, e.Box
	}
	list := x.Lists[p.Field]
	inRange := func() bool {
		if p.Index >= len(list) {
			fail("/field", "%s has %d elements: there is no element %d (elements are numbered from 0)", p.Field, len(list), p.Index)
			return false
		}
		return true
	}
	c := &pipeline.Correction{Op: ch.Op, Field: p.String(), Box: box, Reason: strings.TrimSpace(ch.Reason)}
	switch ch.Op {
	case pipeline.OpSet:
		if len(ch.Item) > 0 {
			fail("/item", "a set takes a value, not an item")
			return nil, errProblem
		}
		if spec.Type == pipeline.TypeArray && p.Sub == "" {
			fail("/field", "%s is a list: set a field of an element (%s[0].%s), or add and remove elements", p.Field, p.Field, firstItem(spec))
			return nil, errProblem
		}
		if spec.Type != pipeline.TypeArray && p.Index >= 0 {
			fail("/field", "%s is not a list", p.Field)
			return nil, errProblem
		}
		var before pipeline.Field
		if p.Index >= 0 {
			if !inRange() {
				return nil, errProblem
			}
			sub, ok := itemSpec(spec, p.Sub)
			if !ok {
				fail("/field", "%q is not a field of %s (%s)", p.Sub, p.Field, strings.Join(itemNames(spec), ", "))
				return nil, errProblem
			}
			spec, before = sub, list[p.Index].Fields[p.Sub]
		} else {
			before = x.Fields[p.Field]
		}
		if utf8.RuneCountInString(ch.Value) > MaxValueRunes {
			fail("/value", "over %d characters", MaxValueRunes)
			return nil, errProblem
		}
		after, err := extract.CheckValue(doc, spec, ch.Value, ev)
		if err != nil {
			if ev.Quote != "" && strings.Contains(err.Error(), "quote") {
				fail("/evidence/quote", "%v", err)
			} else {
				fail("/value", "%v", err)
			}
			return nil, errProblem
		}
		if after.Found() {
			after.Confidence = 1
			c.After = &after
		}
		if before.Found() {
			b := before
			c.Before = &b
		}
		if unchanged(before, after, ch.Evidence != nil) {
			return nil, nil
		}
	case pipeline.OpAdd:
		if spec.Type != pipeline.TypeArray || p.Index >= 0 {
			fail("/field", "add appends an element to a list field: give the list's name (%s)", strings.Join(listNames(schema), ", "))
			return nil, errProblem
		}
		if ch.Value != "" {
			fail("/value", "an add takes an item, not a value")
			return nil, errProblem
		}
		item := pipeline.Item{Fields: map[string]pipeline.Field{}, Evidence: ev}
		bad := false
		for _, k := range slices.Sorted(maps.Keys(ch.Item)) {
			sub, ok := itemSpec(spec, k)
			if !ok {
				fail("/item/"+pointerEscape(k), "%q is not a field of %s (%s)", k, p.Field, strings.Join(itemNames(spec), ", "))
				bad = true
				continue
			}
			if utf8.RuneCountInString(ch.Item[k]) > MaxValueRunes {
				fail("/item/"+pointerEscape(k), "over %d characters", MaxValueRunes)
				bad = true
				continue
			}
			f, err := extract.CheckValue(doc, sub, ch.Item[k], ev)
			if err != nil {
				fail("/item/"+pointerEscape(k), "%v", err)
				bad = true
				continue
			}
			if f.Found() {
				f.Confidence = 1
				item.Fields[k] = f
			}
		}
		if bad {
			return nil, errProblem
		}
		if len(item.Fields) == 0 {
			fail("/item", "the new element has no value")
			return nil, errProblem
		}
		item.Grounded = itemGrounded(item)
		c.Item = &item
	case pipeline.OpRemove:
		if spec.Type != pipeline.TypeArray || p.Index < 0 || p.Sub != "" {
			fail("/field", "remove takes an element of a list: %s[0]", firstList(schema, p.Field))
			return nil, errProblem
		}
		if ch.Value != "" || len(ch.Item) > 0 || ch.Evidence != nil {
			fail("", "a remove takes only the element's path (and a reason)")
			return nil, errProblem
		}
		if !inRange() {
			return nil, errProblem
		}
		removed := cloneItem(list[p.Index])
		c.Item = &removed
	default:
		fail("/op", "%q: want set, add or remove", ch.Op)
		return nil, errProblem
	}
	return c, nil
}

// unchanged reports whether a set changes nothing: the value is the same
// (as normalized), and no other evidence was given for it. Typing again
// the value there is confirms it; that is no correction.
func unchanged(before, after pipeline.Field, withEvidence bool) bool {
	if !before.Found() || !after.Found() {
		return before.Found() == after.Found()
	}
	if before.Value != after.Value || before.Currency != after.Currency || before.Value == "" && before.Raw != after.Raw {
		return false
	}
	return !withEvidence || before.Page == after.Page && before.Quote == after.Quote
}

// Replay applies stored corrections to x (the document's latest
// extraction), in order: the document's current values. A correction
// that no longer fits (its element is gone, as a newer extraction read
// fewer lines) is skipped, and its index returned.
func Replay(schema pipeline.Schema, x pipeline.Extraction, cs []pipeline.Correction) (pipeline.Extraction, []int) {
	x = Clone(x)
	if x.Fields == nil {
		x.Fields = map[string]pipeline.Field{}
	}
	var skipped []int
	for i, c := range cs {
		if err := apply(schema, &x, c); err != nil {
			skipped = append(skipped, i)
		}
	}
	if len(cs) > len(skipped) {
		extract.Recheck(&x)
	}
	return x, skipped
}

// apply applies one correction to x in place: the value, and the issues
// about what it touched (they were about the old value; a person
// vouches for the new one).
func apply(schema pipeline.Schema, x *pipeline.Extraction, c pipeline.Correction) error {
	p, err := ParsePath(c.Field)
	if err != nil {
		return err
	}
	spec, known := schema.Field(p.Field)
	path := p.String()
	list := x.Lists[p.Field]
	if p.Index >= 0 && p.Index >= len(list) {
		return fmt.Errorf("%s has no element %d", p.Field, p.Index)
	}
	switch c.Op {
	case pipeline.OpSet:
		var f pipeline.Field
		if c.After != nil {
			f = *c.After
		}
		if p.Index >= 0 {
			it := cloneItem(list[p.Index])
			if f.Found() {
				it.Fields[p.Sub] = f
			} else {
				delete(it.Fields, p.Sub)
			}
			it.Grounded = itemGrounded(it)
			list = slices.Clone(list)
			list[p.Index] = it
			setList(x, p.Field, list)
		} else if f.Found() {
			x.Fields[p.Field] = f
		} else {
			delete(x.Fields, p.Field)
		}
		x.Issues = slices.DeleteFunc(slices.Clone(x.Issues), func(is pipeline.Issue) bool { return is.Field == path })
		if !f.Found() && known && spec.Required && p.Index < 0 {
			x.Issues = append(x.Issues, pipeline.Issue{Field: path, Code: pipeline.IssueMissing, Severity: pipeline.SeverityFail,
				Message: "required field cleared"})
		}
	case pipeline.OpAdd:
		if c.Item == nil {
			return fmt.Errorf("add without an item")
		}
		setList(x, p.Field, append(slices.Clone(list), cloneItem(*c.Item)))
		x.Issues = slices.DeleteFunc(slices.Clone(x.Issues), func(is pipeline.Issue) bool {
			return is.Field == p.Field && is.Code == pipeline.IssueMissing
		})
	case pipeline.OpRemove:
		setList(x, p.Field, slices.Delete(slices.Clone(list), p.Index, p.Index+1))
		// Issues of the element go; those of the elements after it move
		// up one place.
		var kept []pipeline.Issue
		for _, is := range x.Issues {
			q, err := ParsePath(is.Field)
			switch {
			case err != nil || q.Field != p.Field || q.Index < p.Index:
				kept = append(kept, is)
			case q.Index == p.Index:
			default:
				q.Index--
				is.Field = q.String()
				kept = append(kept, is)
			}
		}
		x.Issues = kept
		if known && spec.Required && len(x.Lists[p.Field]) == 0 {
			x.Issues = append(x.Issues, pipeline.Issue{Field: p.Field, Code: pipeline.IssueMissing, Severity: pipeline.SeverityFail,
				Message: "required list emptied"})
		}
	default:
		return fmt.Errorf("unknown op %q", c.Op)
	}
	return nil
}

func setList(x *pipeline.Extraction, name string, items []pipeline.Item) {
	if x.Lists == nil {
		x.Lists = map[string][]pipeline.Item{}
	}
	if items == nil {
		items = []pipeline.Item{}
	}
	x.Lists[name] = items
}

// itemGrounded is an element's verdict as Finalize gives it: every value
// read from the page is grounded, and there is one.
func itemGrounded(it pipeline.Item) bool {
	found := false
	for _, f := range it.Fields {
		if f.Found() && !f.NotPrinted() {
			found = true
			if !f.Grounded {
				return false
			}
		}
	}
	return found
}

func itemSpec(spec pipeline.FieldSpec, name string) (pipeline.FieldSpec, bool) {
	for _, s := range spec.Items {
		if s.Name == name {
			return s, true
		}
	}
	return pipeline.FieldSpec{}, false
}

func itemNames(spec pipeline.FieldSpec) []string {
	var out []string
	for _, s := range spec.Items {
		out = append(out, s.Name)
	}
	return out
}

func firstItem(spec pipeline.FieldSpec) string {
	if len(spec.Items) > 0 {
		return spec.Items[0].Name
	}
	return "field"
}

func listNames(schema pipeline.Schema) []string {
	var out []string
	for _, f := range schema.Fields {
		if f.Type == pipeline.TypeArray {
			out = append(out, f.Name)
		}
	}
	if len(out) == 0 {
		return []string{"the schema has none"}
	}
	return out
}

func firstList(schema pipeline.Schema, name string) string {
	if f, ok := schema.Field(name); ok && f.Type == pipeline.TypeArray {
		return name
	}
	return listNames(schema)[0]
}

func pointerEscape(s string) string { return strings.NewReplacer("~", "~0", "/", "~1").Replace(s) }

// Clone copies x deeply enough that changing its fields, lists, elements
// and issues leaves x as it was.
func Clone(x pipeline.Extraction) pipeline.Extraction {
	if x.Fields != nil {
		x.Fields = maps.Clone(x.Fields)
	}
	if x.Lists != nil {
		lists := make(map[string][]pipeline.Item, len(x.Lists))
		for k, items := range x.Lists {
			cp := make([]pipeline.Item, len(items))
			for i, it := range items {
				cp[i] = cloneItem(it)
			}
			lists[k] = cp
		}
		x.Lists = lists
	}
	x.Issues = slices.Clone(x.Issues)
	return x
}

func cloneItem(it pipeline.Item) pipeline.Item {
	it.Fields = maps.Clone(it.Fields)
	if it.Fields == nil {
		it.Fields = map[string]pipeline.Field{}
	}
	return it
}

// CorrectedFields names the top-level fields corrections touched (a
// list's name for its elements), sorted, without repeats.
func CorrectedFields(cs []pipeline.Correction) []string {
	out := []string{}
	for _, c := range cs {
		if p, err := ParsePath(c.Field); err == nil && !slices.Contains(out, p.Field) {
			out = append(out, p.Field)
		}
	}
	slices.Sort(out)
	return out
}
