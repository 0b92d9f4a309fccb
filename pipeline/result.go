package pipeline

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
)

// ResultLineVersion is the version of the result line format. Keys may be
// added within a version; none is renamed or removed without a new one.
const ResultLineVersion = 1

// ResultLine is what happened to one document in one run: the line
// `extractor run` prints and every run keeps in results.jsonl, the row the
// store keeps, what the HTTP API returns. Its JSON has the keys in a fixed
// order: run_id, document_id, file, status, error, schema, extractor,
// fields, one key per list field (line_items, ...; by name), issues,
// needs_review, confidence (when estimated), usage (what the extraction cost when it was made), spent
// (what this run spent on it: nothing when it came from the cache),
// cache_hits, attempts, trace_id, duration_ms, version.
type ResultLine struct {
	RunID      string `json:"run_id"`
	DocumentID string `json:"document_id"`
	File       string `json:"file"`
	// Status is "ok", "failed" or "interrupted".
	Status string `json:"status"`
	// Error is the one-line reason of a failure.
	Error     string       `json:"error,omitempty"`
	Schema    SchemaRef    `json:"schema"`
	Extractor ExtractorRef `json:"extractor"`
	// Source is the e-invoice XML the values were read from, if any.
	Source *Source          `json:"source,omitempty"`
	Fields map[string]Field `json:"fields"`
	// Lists holds the array fields, each under its own key in the JSON.
	Lists       map[string][]Item `json:"-"`
	Issues      []Issue           `json:"issues"`
	NeedsReview bool              `json:"needs_review"`
	// Confidence is the document's: the estimated probability that every
	// required field is right (0 when not estimated; Extraction.Confidence).
	Confidence float64   `json:"confidence,omitempty"`
	Usage      Usage     `json:"usage"`
	Spent      Usage     `json:"spent"`
	CacheHits  int       `json:"cache_hits"`
	Attempts   []Attempt `json:"attempts,omitempty"`
	TraceID    string    `json:"trace_id"`
	DurationMS int64     `json:"duration_ms"`
	Version    int       `json:"version"`
}

// NewResultLine makes the line of a finished (or interrupted) document.
// errText is the failure's one-line reason (callers may add advice to the
// error's own text); lists get a key for every array field of the schema.
func NewResultLine(r Result, schema Schema, runID, errText string) ResultLine {
	x := r.Extraction
	if x == nil {
		x = &Extraction{Schema: schema.Ref()}
	}
	l := ResultLine{RunID: runID, DocumentID: r.Document.ID, File: r.File, Status: r.Status(), Schema: schema.Ref(),
		Extractor: x.Extractor, Source: x.Source, Fields: x.Fields, Issues: x.Issues, NeedsReview: r.Err == nil && x.NeedsReview(), Confidence: x.Confidence,
		Usage: x.Usage, Spent: r.Spent, CacheHits: r.CacheHits(), Attempts: x.Attempts, TraceID: r.TraceID,
		DurationMS: r.Duration.Milliseconds(), Version: ResultLineVersion}
	if r.Err != nil {
		l.Error = errText
	}
	for _, spec := range schema.Fields {
		if spec.Type == TypeArray {
			if l.Lists == nil {
				l.Lists = map[string][]Item{}
			}
			l.Lists[spec.Name] = x.Lists[spec.Name]
		}
	}
	return l
}

// Key identifies the document across runs: its id, or for a document that
// never got one (its file could not be read) a hash of its file name.
func (l ResultLine) Key() string {
	if l.DocumentID != "" {
		return l.DocumentID
	}
	sum := sha256.Sum256([]byte(l.File))
	return "file:" + hex.EncodeToString(sum[:8])
}

// Done reports whether the document is finished in its run (ok or failed,
// not interrupted).
func (l ResultLine) Done() bool { return l.Status == "ok" || l.Status == "failed" }

// resultKeys are the fixed keys; any other key holding a list of items is
// a list field.
var resultKeys = []string{"run_id", "document_id", "file", "status", "error", "schema", "extractor", "source", "fields",
	"issues", "needs_review", "confidence", "usage", "spent", "cache_hits", "attempts", "trace_id", "duration_ms", "version"}

// MarshalJSON writes the keys in the documented order. Empty fields,
// issues and lists are written as {} and [], never null; error and
// attempts are left out when empty.
func (l ResultLine) MarshalJSON() ([]byte, error) {
	type kv struct {
		k string
		v any
	}
	fields := l.Fields
	if fields == nil {
		fields = map[string]Field{}
	}
	issues := l.Issues
	if issues == nil {
		issues = []Issue{}
	}
	kvs := []kv{{"run_id", l.RunID}, {"document_id", l.DocumentID}, {"file", l.File}, {"status", l.Status}}
	if l.Error != "" {
		kvs = append(kvs, kv{"error", l.Error})
	}
	kvs = append(kvs, kv{"schema", l.Schema}, kv{"extractor", l.Extractor})
	if l.Source != nil {
		kvs = append(kvs, kv{"source", l.Source})
	}
	kvs = append(kvs, kv{"fields", fields})
	for _, name := range slices.Sorted(maps.Keys(l.Lists)) {
		items := l.Lists[name]
		if items == nil {
			items = []Item{}
		}
		kvs = append(kvs, kv{name, items})
	}
	kvs = append(kvs, kv{"issues", issues}, kv{"needs_review", l.NeedsReview})
	if l.Confidence != 0 {
		kvs = append(kvs, kv{"confidence", l.Confidence})
	}
	kvs = append(kvs, kv{"usage", l.Usage}, kv{"spent", l.Spent}, kv{"cache_hits", l.CacheHits})
	if len(l.Attempts) > 0 {
		kvs = append(kvs, kv{"attempts", l.Attempts})
	}
	kvs = append(kvs, kv{"trace_id", l.TraceID}, kv{"duration_ms", l.DurationMS}, kv{"version", l.Version})
	var b bytes.Buffer
	b.WriteByte('{')
	for i, e := range kvs {
		raw, err := json.Marshal(e.v)
		if err != nil {
			return nil, fmt.Errorf("result line %s: %w", e.k, err)
		}
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:", e.k)
		b.Write(raw)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads a line of any version so far (lines without a
// version are version 1's first form).
func (l *ResultLine) UnmarshalJSON(b []byte) error {
	type plain ResultLine // without methods: no recursion
	if err := json.Unmarshal(b, (*plain)(l)); err != nil {
		return err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	if l.Version == 0 {
		l.Version = 1
	}
	fixed := map[string]bool{}
	for _, k := range resultKeys {
		fixed[k] = true
	}
	for k, v := range all {
		if fixed[k] || len(v) == 0 || v[0] != '[' {
			continue
		}
		var items []Item
		if json.Unmarshal(v, &items) == nil {
			if l.Lists == nil {
				l.Lists = map[string][]Item{}
			}
			l.Lists[k] = items
		}
	}
	return nil
}

// Extraction returns the line's extraction (fields, lists, issues, usage),
// for code that checks or shows it.
func (l ResultLine) Extraction() Extraction {
	return Extraction{DocumentID: l.DocumentID, Schema: l.Schema, Extractor: l.Extractor, Source: l.Source, Fields: l.Fields,
		Lists: l.Lists, Issues: l.Issues, Usage: l.Usage, Attempts: l.Attempts, Confidence: l.Confidence}
}
