package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/extractor-dev/extractor/pipeline"
)

// fieldPath names a scalar field ("total_amount") or a field of a list
// element ("line_items[2].amount"), as issues name them.
type fieldPath struct {
	List  string // "" for a scalar field
	Index int
	Name  string
}

var fieldPathRE = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)(?:\[([0-9]+)\]\.([A-Za-z_][A-Za-z0-9_]*))?$`)

func parseFieldPath(s string) (fieldPath, error) {
	m := fieldPathRE.FindStringSubmatch(s)
	if m == nil {
		return fieldPath{}, usageError{fmt.Errorf("field %q: want NAME or LIST[i].NAME (e.g. total_amount, line_items[0].amount)", s)}
	}
	if m[2] == "" {
		return fieldPath{Name: m[1]}, nil
	}
	i, err := strconv.Atoi(m[2])
	if err != nil {
		return fieldPath{}, usageError{fmt.Errorf("field %q: bad index", s)}
	}
	return fieldPath{List: m[1], Index: i, Name: m[3]}, nil
}

func (p fieldPath) String() string {
	if p.List == "" {
		return p.Name
	}
	return fmt.Sprintf("%s[%d].%s", p.List, p.Index, p.Name)
}

// lookupField finds a field of a result (or of an extraction's fields
// and lists), with the evidence of its list element as a fallback.
func lookupField(fields map[string]pipeline.Field, lists map[string][]pipeline.Item, p fieldPath) (pipeline.Field, error) {
	if p.List == "" {
		f, ok := fields[p.Name]
		if !ok {
			return f, usageError{fmt.Errorf("unknown field %q; the document has: %s", p.Name, fieldNames(fields, lists))}
		}
		return f, nil
	}
	items, ok := lists[p.List]
	if !ok {
		return pipeline.Field{}, usageError{fmt.Errorf("unknown list %q; the document has: %s", p.List, fieldNames(fields, lists))}
	}
	if p.Index >= len(items) {
		return pipeline.Field{}, usageError{fmt.Errorf("%s has %d elements (indexes from 0)", p.List, len(items))}
	}
	it := items[p.Index]
	f, ok := it.Fields[p.Name]
	if !ok {
		return f, usageError{fmt.Errorf("unknown field %q in %s[%d]; it has: %s", p.Name, p.List, p.Index, strings.Join(sortedKeys(it.Fields), ", "))}
	}
	if f.Quote == "" && f.Page == 0 {
		f.Evidence = it.Evidence
	}
	return f, nil
}

func fieldNames(fields map[string]pipeline.Field, lists map[string][]pipeline.Item) string {
	names := sortedKeys(fields)
	for _, l := range sortedKeys(lists) {
		names = append(names, l+"[i].NAME")
	}
	if len(names) == 0 {
		return "no fields"
	}
	return strings.Join(names, ", ")
}

// lineageReport explains where a value came from, upstream to the file.
type lineageReport struct {
	RunID      string                `json:"run_id"`
	DocumentID string                `json:"document_id"`
	File       string                `json:"file"`
	Field      string                `json:"field"`
	Value      pipeline.Field        `json:"value"`
	Found      bool                  `json:"found"`
	Issues     []pipeline.Issue      `json:"issues"`
	Validate   *lineageStep          `json:"validate,omitempty"`
	Second     *lineageSecond        `json:"second,omitempty"`
	Extract    *lineageStep          `json:"extract,omitempty"`
	Extractor  pipeline.ExtractorRef `json:"extractor"`
	// Attempt is the model call whose answer was accepted: the last one
	// without a problem; Attempts counts them all.
	Attempt  *pipeline.Attempt `json:"attempt,omitempty"`
	Attempts int               `json:"attempts"`
	Versions map[string]string `json:"versions"`
	Chunk    *lineageStep      `json:"chunk,omitempty"`
	// Chunks are those of the cited page that hold the quote.
	Chunks []pipeline.Chunk `json:"chunks"`
	Parse  *lineageStep     `json:"parse,omitempty"`
	Page   *lineagePage     `json:"page,omitempty"`
	Source lineageFile      `json:"source"`
	// Notes say what could not be followed (a cache entry gone, ...).
	Notes []string `json:"notes,omitempty"`
}

type lineageStep struct {
	Step       string  `json:"step"`
	Version    string  `json:"version"`
	InputHash  string  `json:"input_hash"`
	Key        string  `json:"key"`
	OutputHash string  `json:"output_hash"`
	CacheHit   bool    `json:"cache_hit"`
	DurationMS float64 `json:"duration_ms"`
	SpanID     string  `json:"span_id,omitempty"`
	Error      string  `json:"error,omitempty"`
	// MadeBy is the run that computed a cached output, when known.
	MadeBy string `json:"made_by,omitempty"`
}

type lineageSecond struct {
	Step  lineageStep    `json:"step"`
	Value pipeline.Field `json:"value"`
	Agree bool           `json:"agree"`
}

type lineagePage struct {
	Number int           `json:"number"`
	Lines  []lineageLine `json:"lines"`
	// Cited: the extractor named this page; otherwise it named none and
	// the quote was looked for on every page.
	Cited bool `json:"cited"`
}

type lineageLine struct {
	// Index is the line's index in the page's lines (0-based, as chunks
	// count them).
	Index int    `json:"index"`
	Text  string `json:"text"`
}

type lineageFile struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	// Now says what the path holds today: "same" bytes, "changed",
	// "missing".
	Now string `json:"now"`
}

func (m *Main) lineageCommand() *cobra.Command {
	var state, runID string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "lineage DOC_ID FIELD",
		Short: "Explain where an extracted value came from, upstream to the file's bytes",
		Long: `Follow one value of one document upstream: the value (normalized and raw,
grounding, confidence, issues) ← the validate step ← the extract step and the
model attempt whose answer was accepted ← the prompt, schema and model versions
← the chunk(s) holding the quote ← the lines of the page ← the file and its
sha256 (the document id).

DOC_ID is a document id, a unique prefix of one (6 characters or more) or a
file name; FIELD is a field name or a list element's field, such as
line_items[2].amount. Chunks and pages are read from the step cache; when the
cache no longer holds them, lineage says so. Default run: the latest that has
the document.`,
		Args: usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := parseFieldPath(args[1])
			if err != nil {
				return err
			}
			st := m.stateDir(state)
			rr, r, err := findDocument(st, runID, args[0])
			if err != nil {
				return err
			}
			rep, err := buildLineage(cmd.Context(), rr, r, p)
			if err != nil {
				return err
			}
			if asJSON {
				b, err := json.MarshalIndent(rep, "", "  ")
				if err != nil {
					return err
				}
				_, err = m.Stdout.Write(append(b, '\n'))
				return err
			}
			return writeLineage(m.Stdout, rep)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&state, "state", "", "state directory (default .extractor, env EXTRACTOR_STATE)")
	fl.StringVar(&runID, "run", "", "run id or a unique prefix (default: the latest run that has the document)")
	fl.BoolVar(&asJSON, "json", false, "print the lineage as JSON")
	return cmd
}

func buildLineage(ctx context.Context, rr *recordedRun, r recordedResult, p fieldPath) (*lineageReport, error) {
	if len(r.Fields) == 0 && r.Status != "ok" {
		return nil, fmt.Errorf("document %s (%s) has no fields: %s in run %s: %s", shortDoc(r.DocumentID), filepath.Base(r.File),
			r.Status, rr.run.ID, firstNonEmpty(r.Error, "no reason recorded"))
	}
	f, err := lookupField(r.Fields, r.Lists, p)
	if err != nil {
		return nil, err
	}
	rep := &lineageReport{RunID: rr.run.ID, DocumentID: r.DocumentID, File: r.File, Field: p.String(), Value: f, Found: f.Found(),
		Issues: []pipeline.Issue{}, Extractor: r.Extractor, Attempts: len(r.Attempts), Versions: rr.run.Versions,
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
	cache := pipeline.DirCache{Dir: filepath.Join(rr.state, "cache")}
	steps := rr.stepsOf(r)
	var madeBy map[string]string // key -> run that computed it
	step := func(name string) *lineageStep {
		s, ok := stepOf(steps, name)
		if !ok {
			return nil
		}
		ls := &lineageStep{Step: s.Step, Version: s.StepVersion, InputHash: s.InputHash, Key: s.Key, OutputHash: s.OutputHash,
			CacheHit: s.CacheHit, DurationMS: s.DurationMS, SpanID: s.SpanID, Error: s.Error}
		if s.CacheHit {
			if madeBy == nil {
				madeBy = producers(rr.state)
			}
			ls.MadeBy = madeBy[s.Key]
		}
		return ls
	}
	rep.Validate, rep.Extract, rep.Chunk, rep.Parse = step(pipeline.StepValidate), step(pipeline.StepExtract), step(pipeline.StepChunk), step(pipeline.StepParse)
	for _, s := range []struct {
		name string
		st   *lineageStep
	}{{"validate", rep.Validate}, {"extract", rep.Extract}, {"chunk", rep.Chunk}, {"parse", rep.Parse}} {
		if s.st == nil {
			rep.Notes = append(rep.Notes, fmt.Sprintf("run %s has no %s step record for the document", rr.run.ID, s.name))
		}
	}

	// The second opinion, when there was one, from the cache.
	if s := step(pipeline.StepSecond); s != nil {
		sec := &lineageSecond{Step: *s}
		var x pipeline.Extraction
		if note := loadStepOutput(ctx, cache, s, &x); note != "" {
			rep.Notes = append(rep.Notes, note)
		} else if sf, err := lookupField(x.Fields, x.Lists, p); err == nil {
			sec.Value = sf
			sec.Agree = sameText(sf.Raw, f.Raw) || (sf.Value != "" && sf.Value == f.Value)
		}
		rep.Second = sec
	}

	// The page and its lines, from the parse step's Document.
	var doc *pipeline.Document
	if rep.Parse != nil {
		var d pipeline.Document
		if note := loadStepOutput(ctx, cache, rep.Parse, &d); note != "" {
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
			spans := quoteLines(texts, quote)
			if len(spans) == 0 {
				continue
			}
			lp := &lineagePage{Number: pg.Number, Cited: f.Page != 0}
			for _, sp := range spans {
				for i := sp[0]; i <= sp[1]; i++ {
					lp.Lines = append(lp.Lines, lineageLine{Index: i, Text: pg.Lines[i].Text})
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
		if note := loadStepOutput(ctx, cache, rep.Chunk, &chunks); note != "" {
			rep.Notes = append(rep.Notes, note)
		} else {
			page := f.Page
			if page == 0 && rep.Page != nil {
				page = rep.Page.Number
			}
			for _, c := range chunks {
				if (page == 0 || c.Page == page) && strings.Contains(collapse(c.Text), collapse(quote)) {
					rep.Chunks = append(rep.Chunks, c)
				}
			}
			if len(rep.Chunks) == 0 {
				rep.Notes = append(rep.Notes, fmt.Sprintf("no chunk of page %d holds the quote whole", page))
			}
		}
	}

	rep.Source = lineageFile{Path: r.File, SHA256: r.DocumentID, Now: "missing"}
	if sum, err := pipeline.FileHash(r.File); err == nil {
		rep.Source.Now = "same"
		if sum != r.DocumentID {
			rep.Source.Now = "changed"
		}
	}
	return rep, nil
}

// loadStepOutput reads a step's output from the cache into v, checking it
// is the output the run recorded; it returns a note when it cannot.
func loadStepOutput(ctx context.Context, cache pipeline.DirCache, s *lineageStep, v any) string {
	if s.Error != "" || s.OutputHash == "" {
		return fmt.Sprintf("the %s step failed, so it has no output to read", s.Step)
	}
	b, ok, err := cache.Get(ctx, s.Key)
	switch {
	case err != nil:
		return fmt.Sprintf("%s output: cache: %v", s.Step, err)
	case !ok:
		return fmt.Sprintf("the %s output is no longer in the cache (%s, key %s): its part of the lineage is unknown", s.Step, cache.Dir, shortHash(s.Key))
	}
	sum := sha256.Sum256(b)
	if hex.EncodeToString(sum[:]) != s.OutputHash {
		return fmt.Sprintf("the cached %s output (key %s) is not the one the run recorded (output hash %s)", s.Step, shortHash(s.Key), shortHash(s.OutputHash))
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Sprintf("the cached %s output (key %s) does not read: %v", s.Step, shortHash(s.Key), err)
	}
	return ""
}

// producers maps each step key to the first run that computed it (not
// from the cache).
func producers(state string) map[string]string {
	out := map[string]string{}
	runs, _ := pipeline.ListRuns(state)
	for _, run := range runs {
		steps, _ := pipeline.ReadSteps(state, run.ID)
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

// collapse makes every run of white space one space, so a quote matches
// text whatever the line breaks and column padding.
func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

func sameText(a, b string) bool { return collapse(a) == collapse(b) }

// quoteLines returns the smallest spans of consecutive lines [first, last]
// whose text, joined, holds the quote (after collapsing white space).
func quoteLines(lines []string, quote string) [][2]int {
	q := collapse(quote)
	if q == "" {
		return nil
	}
	const maxSpan = 60
	var cands [][2]int
	for i := range lines {
		joined := ""
		for j := i; j < len(lines) && j < i+maxSpan; j++ {
			joined += " " + lines[j]
			if strings.Contains(collapse(joined), q) {
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

func writeLineage(w io.Writer, rep *lineageReport) error {
	var b strings.Builder
	const pad = 16
	line := func(label, text string) {
		fmt.Fprintf(&b, "%-*s%s\n", pad, label, text)
	}
	more := func(text string) { line("", text) }
	stepText := func(s *lineageStep) string {
		t := s.Version
		if s.CacheHit {
			t += "; cache hit"
			if s.MadeBy != "" {
				t += " (made by run " + s.MadeBy + ")"
			}
		} else {
			t += "; cache miss, " + formatMS(s.DurationMS)
		}
		t += "; key " + shortHash(s.Key) + ", output " + shortHash(s.OutputHash)
		if s.Error != "" {
			t += "; error " + strconv.Quote(s.Error)
		}
		return t
	}

	fmt.Fprintf(&b, "lineage of %s in %s, run %s\n\n", rep.Field, filepath.Base(rep.File), rep.RunID)
	f := rep.Value
	if rep.Found {
		v := strconv.Quote(f.Value)
		if f.Value == "" {
			v = "(none: the raw value does not normalize)"
		}
		if f.Currency != "" {
			v += " " + f.Currency
		}
		line("value", fmt.Sprintf("%s (raw %s)", v, strconv.Quote(f.Raw)))
		g := "not grounded"
		if f.Grounded {
			g = "grounded"
		}
		more(fmt.Sprintf("%s, confidence %.2f", g, f.Confidence))
		if f.Why != "" {
			line("why", f.Why)
		}
		if f.Quote != "" || f.Page != 0 {
			pg := "no page"
			if f.Page != 0 {
				pg = fmt.Sprintf("page %d", f.Page)
			}
			line("evidence", fmt.Sprintf("%s: %s", pg, strconv.Quote(f.Quote)))
		} else {
			line("evidence", "none given")
		}
	} else {
		line("value", "not found: the extractor returned nothing for this field")
	}
	if len(rep.Issues) == 0 {
		line("issues", "none")
	}
	for i, is := range rep.Issues {
		l := ""
		if i == 0 {
			l = "issues"
		}
		line(l, fmt.Sprintf("%s %s: %s", is.Severity, is.Code, is.Message))
	}

	if s := rep.Validate; s != nil {
		line("↑ validate", stepText(s))
	}
	if s := rep.Second; s != nil {
		line("↑ second", stepText(&s.Step))
		switch {
		case !s.Value.Found():
			more("second opinion: found nothing")
		case s.Agree:
			more(fmt.Sprintf("second opinion agrees: %s", strconv.Quote(s.Value.Raw)))
		default:
			more(fmt.Sprintf("second opinion differs: %s", strconv.Quote(s.Value.Raw)))
		}
	}
	if s := rep.Extract; s != nil {
		line("↑ extract", stepText(s))
	}
	x := rep.Extractor
	ex := "extractor " + firstNonEmpty(x.Kind, "?")
	if x.Version != "" {
		ex += " (" + x.Version + ")"
	}
	if x.Model != "" {
		ex += ", model " + x.Model
	}
	if x.PromptVersion != "" {
		ex += ", prompt " + shortHash(x.PromptVersion)
	}
	more(ex)
	switch a := rep.Attempt; {
	case a != nil:
		t := fmt.Sprintf("accepted attempt %d of %d", a.Number, rep.Attempts)
		if a.ResponseID != "" {
			t += ", response " + a.ResponseID
		}
		if a.Model != "" {
			t += ", answered by " + a.Model
		}
		t += fmt.Sprintf(", tokens %d/%d", a.InputTokens, a.OutputTokens)
		if a.FinishReason != "" {
			t += ", finish " + a.FinishReason
		}
		if a.Retries > 0 {
			t += fmt.Sprintf(", %d retries", a.Retries)
		}
		more(t)
	case rep.Attempts > 0:
		more(fmt.Sprintf("none of the %d attempts was accepted", rep.Attempts))
	default:
		more("no model calls")
	}

	if len(rep.Versions) > 0 {
		first := true
		for _, k := range []string{"prompt", "schema", "model", "extractor", "second", "validator", "chunker", "parser", "code"} {
			if v, ok := rep.Versions[k]; ok {
				l := ""
				if first {
					l, first = "↑ versions", false
				}
				line(l, fmt.Sprintf("%-9s %s", k, v))
			}
		}
	}

	if s := rep.Chunk; s != nil {
		line("↑ chunk", stepText(s))
		for _, c := range rep.Chunks {
			more(fmt.Sprintf("chunk %s: page %d, lines %d-%d, %d tokens, holds the quote", c.ID, c.Page, c.FirstLine+1, c.LastLine+1, c.Tokens))
		}
	}
	if p := rep.Page; p != nil {
		label := fmt.Sprintf("↑ page %d", p.Number)
		for i, l := range p.Lines {
			if i > 0 {
				label = ""
			}
			line(label, fmt.Sprintf("line %d: %s", l.Index+1, strconv.Quote(l.Text)))
		}
	}
	if s := rep.Parse; s != nil {
		line("↑ parse", stepText(s))
	}
	line("↑ file", rep.Source.Path)
	now := map[string]string{"same": "the file still holds these bytes", "changed": "the file has changed since", "missing": "the file is no longer there"}[rep.Source.Now]
	more(fmt.Sprintf("sha256 %s (the document id); %s", rep.Source.SHA256, now))
	for i, n := range rep.Notes {
		l := ""
		if i == 0 {
			b.WriteByte('\n')
			l = "notes"
		}
		line(l, n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
