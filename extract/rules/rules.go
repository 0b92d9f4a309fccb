// Package rules is the offline, template-free extractor: it reads invoice
// fields (and the fields of any schema that declares labels or a pattern)
// from a parsed document's text and layout, without a model.
//
// A newcomer finds its parts in these files:
//
//   - layout.go: the document as lines with boxes, cells (the parser's
//     columns) and the lexicon's labels found on each line.
//   - ../lexicon: the words around values per language (en, de, fr, nl,
//     es, it): for every concept the strong labels, the weak labels and
//     what it must not be confused with, side by side.
//   - values.go: reading amounts, dates, IBANs, VAT ids and numbers in text.
//   - candidates.go, fields.go, parties.go: the finders. Each proposes
//     candidates for a field with their evidence and Features: a value
//     right of or under a label, a number after the document's title, a
//     name in the letterhead, the sender line, a legal line or an address
//     block, a row of a totals table.
//   - weights.go: the one Weights struct that scores Features (and the
//     resolver's constraints); its values are fitted (DefaultWeights).
//   - resolve.go: the resolver chooses jointly under constraints: net +
//     tax = total, the line items add up, the due date is not before the
//     issue date, dates lie near the document's other dates, the vendor is
//     not the customer; a label is never a value, one place is never two
//     fields.
//   - items.go: line-item tables.
//   - explain.go: the candidates of every field and why the winner won
//     (Explain, printed by "extractor run --explain"; each value's Why and
//     Signals are kept in the extraction, hence in lineage).
//   - schema.go: any schema's fields declared with labels or a pattern.
//
// Every list is sorted with a total order before a choice is made: the
// same document always gives the same reading (no map order, no ties left
// to chance).
//
// It does not validate, ground or give confidence: extract.Finalize (the
// validate step) does that for every extractor, from the Signals this
// package records.
package rules

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/extractor-dev/extractor/extract"
	"github.com/extractor-dev/extractor/pipeline"
)

// Version names the behaviour of the extractor; bump it when that
// changes. It is part of the extract step's cache key.
const Version = "rules/4"

// ErrNoFields is returned for a schema the extractor can read nothing of.
var ErrNoFields = errors.New("schema declares no fields")

// Config sets the extractor's weights; the zero Config uses
// DefaultWeights.
type Config struct {
	Weights *Weights
}

// Extractor reads invoice fields, and the fields of other schemas that
// declare labels or a pattern, from a document's text and layout. The
// zero value is ready to use.
type Extractor struct {
	cfg Config
}

// New returns an extractor with cfg.
func New(cfg Config) *Extractor { return &Extractor{cfg: cfg} }

func (e *Extractor) weights() Weights {
	if e != nil && e.cfg.Weights != nil {
		return *e.cfg.Weights
	}
	return DefaultWeights
}

// Version names the extractor and its weights (a hash of them): a refit
// changes the extract step's cache key.
func (e *Extractor) Version() string {
	b, _ := json.Marshal(e.weights()) // plain numbers: cannot fail
	sum := sha256.Sum256(b)
	return fmt.Sprintf("%s+w%x", Version, sum[:4])
}

// Extract reads the fields of s that it knows (the invoice schema's, or
// those with labels or a pattern); others stay empty. It returns an error
// only when the schema has no fields or ctx is done.
func (e *Extractor) Extract(ctx context.Context, doc pipeline.Document, s pipeline.Schema) (pipeline.Extraction, error) {
	if len(s.Fields) == 0 {
		return pipeline.Extraction{}, fmt.Errorf("rules: schema %q: %w", s.Name, ErrNoFields)
	}
	if err := ctx.Err(); err != nil {
		return pipeline.Extraction{}, err
	}
	rd := e.reading(doc, s)
	return rd.extraction(doc, s, e.Version()), nil
}

// Readable reports whether the extractor can read any field of s: the
// invoice schema, or fields with labels or a pattern.
func Readable(s pipeline.Schema) bool {
	if isInvoice(s) {
		return true
	}
	for _, f := range s.Fields {
		if len(f.Labels) > 0 || f.Pattern != "" {
			return true
		}
	}
	return false
}

// isInvoice reports a schema whose fields the invoice finders read.
func isInvoice(s pipeline.Schema) bool { return s.Name == "invoice" }

// reading reads doc for s with the extractor's weights.
func (e *Extractor) reading(doc pipeline.Document, s pipeline.Schema) *reading {
	w := e.weights()
	rd := Prepare(doc, s).rd
	rd.score(w)
	rd.resolve(w)
	return rd
}

// extraction turns a reading into the pipeline's Extraction: each chosen
// value with its evidence, Signals and Why.
func (rd *reading) extraction(doc pipeline.Document, s pipeline.Schema, version string) pipeline.Extraction {
	x := pipeline.Extraction{
		DocumentID: doc.ID,
		Schema:     s.Ref(),
		Extractor:  pipeline.ExtractorRef{Kind: "rules", Version: version},
		Fields:     map[string]pipeline.Field{},
	}
	for _, spec := range s.Fields {
		if spec.Type == pipeline.TypeArray {
			if spec.Name == "line_items" && isInvoice(s) && len(rd.items) > 0 {
				x.Lists = map[string][]pipeline.Item{spec.Name: rd.items}
			}
			continue
		}
		c := rd.chosen[spec.Name]
		if c == nil || c.Raw == "" {
			continue
		}
		f := c.field()
		f.Signals = rd.signals(spec.Name)
		f.Why = rd.why(spec.Name)
		x.Fields[spec.Name] = f
	}
	return x
}

// Prepared is a document read once, to be resolved with many weights:
// fitting the weights re-runs only scoring and resolving.
type Prepared struct {
	rd     *reading
	doc    pipeline.Document
	schema pipeline.Schema
}

// Prepare reads doc for s (the finders run once).
func Prepare(doc pipeline.Document, s pipeline.Schema) *Prepared {
	var rd *reading
	if isInvoice(s) {
		rd = read(doc)
		skip := map[string]bool{"line_items": true}
		for _, f := range invoiceFields {
			skip[f] = true
		}
		rd.addSchemaFields(s, skip)
	} else {
		rd = readSchema(doc, s)
	}
	rd.freeze()
	return &Prepared{rd: rd, doc: doc, schema: s}
}

// Clone returns a copy that can be resolved independently (the candidates
// are copied; the layout is shared, read-only).
func (p *Prepared) Clone() *Prepared {
	rd := *p.rd
	rd.all = map[string][]*Candidate{}
	for f, cs := range p.rd.all {
		cp := make([]*Candidate, len(cs))
		for i, c := range cs {
			c2 := *c
			cp[i] = &c2
		}
		rd.all[f] = cp
	}
	rd.cands, rd.chosen = nil, nil
	return &Prepared{rd: &rd, doc: p.doc, schema: p.schema}
}

// Choice is the value chosen for a field with some weights.
type Choice struct {
	Raw   string
	Value string
}

// Choose scores and resolves with w and returns each scalar field's
// choice (fields without one are absent).
func (p *Prepared) Choose(w Weights) map[string]Choice {
	p.rd.score(w)
	p.rd.resolve(w)
	out := map[string]Choice{}
	for f, c := range p.rd.chosen {
		if c != nil && c.Raw != "" {
			out[f] = Choice{Raw: c.Raw, Value: c.Value}
		}
	}
	return out
}

// Candidates returns the raw values proposed for a field, in a fixed
// order (fitting precomputes which are right).
func (p *Prepared) Candidates(field string) []string {
	var out []string
	for _, c := range p.rd.all[field] {
		out = append(out, c.Raw)
	}
	return out
}

// Extraction resolves with w and returns the extraction, as Extract would
// with those weights.
func (p *Prepared) Extraction(w Weights) pipeline.Extraction {
	p.rd.score(w)
	p.rd.resolve(w)
	e := New(Config{Weights: &w})
	return p.rd.extraction(p.doc, p.schema, e.Version())
}

// parseMoneyRaw reads a money value as Normalize does.
func parseMoneyRaw(raw string) (decimal.Decimal, string, error) { return extract.ParseAmount(raw) }

func trimFloat(x float64) string { return strconv.FormatFloat(math.Round(x*100)/100, 'f', -1, 64) }

func plural(n int, s string) string {
	if n == 1 {
		return "1 " + s
	}
	return strconv.Itoa(n) + " " + s + "s"
}

// lowerFirst is s with a lower-case first letter.
func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
