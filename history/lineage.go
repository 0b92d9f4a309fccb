package history

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/extractor-dev/extractor/pipeline"
)

// FieldPath names a scalar field ("total_amount") or a field of a list
// element ("line_items[2].amount"), as issues name them.
type FieldPath struct {
	List  string // "" for a scalar field
	Index int
	Name  string
}

var fieldPathRE = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)(?:\[([0-9]+)\]\.([A-Za-z_][A-Za-z0-9_]*))?$`)

// ParseFieldPath reads NAME or LIST[i].NAME.
func ParseFieldPath(s string) (FieldPath, error) {
	m := fieldPathRE.FindStringSubmatch(s)
	if m == nil {
		return FieldPath{}, fmt.Errorf("%w: field %q: want NAME or LIST[i].NAME (e.g. total_amount, line_items[0].amount)", pipeline.ErrInvalid, s)
	}
	if m[2] == "" {
		return FieldPath{Name: m[1]}, nil
	}
	i, err := strconv.Atoi(m[2])
	if err != nil {
		return FieldPath{}, fmt.Errorf("%w: field %q: bad index", pipeline.ErrInvalid, s)
	}
	return FieldPath{List: m[1], Index: i, Name: m[3]}, nil
}

func (p FieldPath) String() string {
	if p.List == "" {
		return p.Name
	}
	return fmt.Sprintf("%s[%d].%s", p.List, p.Index, p.Name)
}

// LookupField finds a field among fields and lists; a list element's
// field without evidence of its own gets the element's.
func LookupField(fields map[string]pipeline.Field, lists map[string][]pipeline.Item, p FieldPath) (pipeline.Field, error) {
	if p.List == "" {
		f, ok := fields[p.Name]
		if !ok {
			return f, fmt.Errorf("%w: unknown field %q; the document has: %s", pipeline.ErrInvalid, p.Name, FieldNames(fields, lists))
		}
		return f, nil
	}
	items, ok := lists[p.List]
	if !ok {
		return pipeline.Field{}, fmt.Errorf("%w: unknown list %q; the document has: %s", pipeline.ErrInvalid, p.List, FieldNames(fields, lists))
	}
	if p.Index >= len(items) {
		return pipeline.Field{}, fmt.Errorf("%w: %s has %d elements (indexes from 0)", pipeline.ErrInvalid, p.List, len(items))
	}
	it := items[p.Index]
	f, ok := it.Fields[p.Name]
	if !ok {
		return f, fmt.Errorf("%w: unknown field %q in %s[%d]; it has: %s", pipeline.ErrInvalid, p.Name, p.List, p.Index,
			strings.Join(slices.Sorted(maps.Keys(it.Fields)), ", "))
	}
	if f.Quote == "" && f.Page == 0 {
		f.Evidence = it.Evidence
	}
	return f, nil
}

// FieldNames lists fields and lists as a user would name them.
func FieldNames(fields map[string]pipeline.Field, lists map[string][]pipeline.Item) string {
	names := slices.Sorted(maps.Keys(fields))
	for _, l := range slices.Sorted(maps.Keys(lists)) {
		names = append(names, l+"[i].NAME")
	}
	if len(names) == 0 {
		return "no fields"
	}
	return strings.Join(names, ", ")
}

// Lineage explains where a value came from, upstream to the file.
type Lineage struct {
	RunID      string                `json:"run_id"`
	DocumentID string                `json:"document_id"`
	File       string                `json:"file"`
	Field      string                `json:"field"`
	Value      pipeline.Field        `json:"value"`
	Found      bool                  `json:"found"`
	Issues     []pipeline.Issue      `json:"issues"`
	Validate   *Step                 `json:"validate,omitempty"`
	Second     *Second               `json:"second,omitempty"`
	Extract    *Step                 `json:"extract,omitempty"`
	Extractor  pipeline.ExtractorRef `json:"extractor"`
	// Attempt is the model call whose answer was accepted: the last one
	// without a problem; Attempts counts them all.
	Attempt  *pipeline.Attempt `json:"attempt,omitempty"`
	Attempts int               `json:"attempts"`
	Versions map[string]string `json:"versions"`
	Chunk    *Step             `json:"chunk,omitempty"`
	// Chunks are those of the cited page that hold the quote.
	Chunks []pipeline.Chunk `json:"chunks"`
	Parse  *Step            `json:"parse,omitempty"`
	Page   *Page            `json:"page,omitempty"`
	Source File             `json:"source"`
	// Notes say what could not be followed (a cache entry gone, ...).
	Notes []string `json:"notes,omitempty"`
}

// Step is one step record as lineage shows it.
type Step struct {
	Step       string            `json:"step"`
	Version    string            `json:"version"`
	Inputs     map[string]string `json:"inputs,omitempty"`
	InputHash  string            `json:"input_hash"`
	Key        string            `json:"key"`
	OutputHash string            `json:"output_hash"`
	CacheHit   bool              `json:"cache_hit"`
	DurationMS float64           `json:"duration_ms"`
	SpanID     string            `json:"span_id,omitempty"`
	Error      string            `json:"error,omitempty"`
	// MadeBy is the run that computed a cached output, when known.
	MadeBy string `json:"made_by,omitempty"`
}

// Second is the second extractor's reading of the field.
type Second struct {
	Step  Step           `json:"step"`
	Value pipeline.Field `json:"value"`
	Agree bool           `json:"agree"`
}

// Page is the cited page's lines that hold the quote.
type Page struct {
	Number int    `json:"number"`
	Lines  []Line `json:"lines"`
	// Cited: the extractor named this page; otherwise it named none and
	// the quote was looked for on every page.
	Cited bool `json:"cited"`
}

// Line is one line of a page.
type Line struct {
	// Index is the line's index in the page's lines (0-based, as chunks
	// count them).
	Index int    `json:"index"`
	Text  string `json:"text"`
}

// File is the document's file.
type File struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	// Now says what the path holds today: "same" bytes, "changed",
	// "missing", or "unknown" (not looked at).
	Now string `json:"now"`
}

// Lineage follows one value of one document of a run upstream.
func (h History) Lineage(ctx context.Context, run *Run, r pipeline.ResultLine, p FieldPath) (*Lineage, error) {
	if len(r.Fields) == 0 && r.Status != "ok" {
		return nil, fmt.Errorf("%w: document %s (%s) has no fields: %s in run %s: %s", pipeline.ErrInvalid, ShortID(r.DocumentID),
			filepath.Base(r.File), r.Status, run.ID, cmpOr(r.Error, "no reason recorded"))
	}
	f, err := LookupField(r.Fields, r.Lists, p)
	if err != nil {
		return nil, err
	}
	rep := &Lineage{RunID: run.ID, DocumentID: r.DocumentID, File: r.File, Field: p.String(), Value: f, Found: f.Found(),
		Issues: []pipeline.Issue{}, Extractor: r.Extractor, Attempts: len(r.Attempts), Versions: run.Versions,
		Chunks: []pipeline.Chunk{}}
	for _, is := range r.Issues {
		if is.Field == p.String() || (p.List != "" && is.Field == fmt.Sprintf("%s[%d]", p.List, p.Index)) {
			rep.Issues = append(rep.Issues, is)
		}
	}
	for i := len(r.Attempts) - 1; i >= 0; i-- {
		if r.Attempts[i].Problem == "" {
			a := r.Attempts[i]
			rep.Attempt = &a
			break
		}
	}
	steps := run.StepsOf(r)
	var madeBy map[string]string // key -> run that computed it
	step := func(name string) *Step {
		s, ok := StepOf(steps, name)
		if !ok {
			return nil
		}
		ls := &Step{Step: s.Step, Version: s.StepVersion, Inputs: s.Inputs, InputHash: s.InputHash, Key: s.Key, OutputHash: s.OutputHash,
			CacheHit: s.CacheHit, DurationMS: s.DurationMS, SpanID: s.SpanID, Error: s.Error}
		if s.CacheHit {
			if madeBy == nil {
				madeBy = h.Producers(ctx)
			}
			ls.MadeBy = madeBy[s.Key]
		}
		return ls
	}
	rep.Validate, rep.Extract, rep.Chunk, rep.Parse = step(pipeline.StepValidate), step(pipeline.StepExtract), step(pipeline.StepChunk), step(pipeline.StepParse)
	for _, s := range []struct {
		name string
		st   *Step
	}{{"validate", rep.Validate}, {"extract", rep.Extract}, {"chunk", rep.Chunk}, {"parse", rep.Parse}} {
		if s.st == nil {
			rep.Notes = append(rep.Notes, fmt.Sprintf("run %s has no %s step record for the document", run.ID, s.name))
		}
	}

	// The second opinion, when there was one, from the cache.
	if s := step(pipeline.StepSecond); s != nil {
		sec := &Second{Step: *s}
		var x pipeline.Extraction
		if note := h.output(ctx, s, &x); note != "" {
			rep.Notes = append(rep.Notes, note)
		} else if sf, err := LookupField(x.Fields, x.Lists, p); err == nil {
			sec.Value = sf
			sec.Agree = SameText(sf.Raw, f.Raw) || (sf.Value != "" && sf.Value == f.Value)
		}
		rep.Second = sec
	}

	// The page and its lines, from the parse step's Document.
	var doc *pipeline.Document
	if rep.Parse != nil {
		var d pipeline.Document
		if note := h.output(ctx, rep.Parse, &d); note != "" {
			rep.Notes = append(rep.Notes, note)
		} else {
			doc = &d
		}
	}
	quote := f.Quote
	if doc != nil && rep.Found && quote != "" {
		for _, pg := range doc.Pages {
			if f.Page != 0 && pg.Number != f.Page {
				continue
			}
			texts := make([]string, len(pg.Lines))
			for i, l := range pg.Lines {
				texts[i] = l.Text
			}
			spans := QuoteLines(texts, quote)
			if len(spans) == 0 {
				continue
			}
			lp := &Page{Number: pg.Number, Cited: f.Page != 0}
			for _, sp := range spans {
				for i := sp[0]; i <= sp[1]; i++ {
					lp.Lines = append(lp.Lines, Line{Index: i, Text: pg.Lines[i].Text})
				}
			}
			rep.Page = lp
			break
		}
		if rep.Page == nil {
			where := fmt.Sprintf("page %d", f.Page)
			if f.Page == 0 {
				where = "any page"
			}
			rep.Notes = append(rep.Notes, fmt.Sprintf("the quote is not on %s of the parsed document", where))
		}
	}

	// The chunks of that page that hold the quote.
	if rep.Chunk != nil && rep.Found && quote != "" {
		var chunks []pipeline.Chunk
		if note := h.output(ctx, rep.Chunk, &chunks); note != "" {
			rep.Notes = append(rep.Notes, note)
		} else {
			page := f.Page
			if page == 0 && rep.Page != nil {
				page = rep.Page.Number
			}
			for _, c := range chunks {
				if (page == 0 || c.Page == page) && strings.Contains(Collapse(c.Text), Collapse(quote)) {
					rep.Chunks = append(rep.Chunks, c)
				}
			}
			if len(rep.Chunks) == 0 {
				rep.Notes = append(rep.Notes, fmt.Sprintf("no chunk of page %d holds the quote whole", page))
			}
		}
	}

	rep.Source = File{Path: r.File, SHA256: r.DocumentID, Now: "unknown"}
	if h.FileHash != nil {
		rep.Source.Now = "missing"
		if sum, err := h.FileHash(r.File); err == nil {
			rep.Source.Now = "same"
			if sum != r.DocumentID {
				rep.Source.Now = "changed"
			}
		}
	}
	return rep, nil
}

// output reads a step's output into v, checking it is the output the run
// recorded; it returns a note when it cannot.
func (h History) output(ctx context.Context, s *Step, v any) string {
	if s.Error != "" || s.OutputHash == "" {
		return fmt.Sprintf("the %s step failed, so it has no output to read", s.Step)
	}
	if h.Outputs == nil {
		return fmt.Sprintf("the %s output is not available here (no step cache)", s.Step)
	}
	b, ok, err := h.Outputs.Get(ctx, s.Key)
	switch {
	case err != nil:
		return fmt.Sprintf("%s output: cache: %v", s.Step, err)
	case !ok:
		return fmt.Sprintf("the %s output is no longer in the cache (key %s): its part of the lineage is unknown", s.Step, ShortID(s.Key))
	}
	sum := sha256.Sum256(b)
	if hex.EncodeToString(sum[:]) != s.OutputHash {
		return fmt.Sprintf("the cached %s output (key %s) is not the one the run recorded (output hash %s)", s.Step, ShortID(s.Key), ShortID(s.OutputHash))
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Sprintf("the cached %s output (key %s) does not read: %v", s.Step, ShortID(s.Key), err)
	}
	return ""
}

// Producers maps each step key to the first run that computed it (rather
// than taking it from the cache).
func (h History) Producers(ctx context.Context) map[string]string {
	out := map[string]string{}
	runs, _ := h.Runs(ctx)
	for _, run := range runs {
		steps, _ := h.Records.StepRecords(ctx, run.ID)
		for _, s := range steps {
			if !s.CacheHit && s.Error == "" && s.OutputHash != "" {
				if _, ok := out[s.Key]; !ok {
					out[s.Key] = run.ID
				}
			}
		}
	}
	return out
}

// Collapse makes every run of white space one space, so a quote matches
// text whatever the line breaks and column padding.
func Collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

// SameText compares two texts with white space collapsed.
func SameText(a, b string) bool { return Collapse(a) == Collapse(b) }

// QuoteLines returns the smallest spans of consecutive lines [first, last]
// whose text, joined, holds the quote (after collapsing white space).
func QuoteLines(lines []string, quote string) [][2]int {
	q := Collapse(quote)
	if q == "" {
		return nil
	}
	const maxSpan = 60
	var cands [][2]int
	for i := range lines {
		joined := ""
		for j := i; j < len(lines) && j < i+maxSpan; j++ {
			joined += " " + lines[j]
			if strings.Contains(Collapse(joined), q) {
				cands = append(cands, [2]int{i, j})
				break
			}
		}
	}
	var out [][2]int
	for _, c := range cands {
		minimal := true
		for _, d := range cands {
			if d != c && d[0] >= c[0] && d[1] <= c[1] {
				minimal = false
				break
			}
		}
		if minimal {
			out = append(out, c)
		}
	}
	return out
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
