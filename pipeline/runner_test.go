package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// textParser "parses" a text file: one line per line, one page.
type textParser struct {
	calls   atomic.Int32
	version string
}

func (p *textParser) Parse(ctx context.Context, in Input) (Document, error) {
	p.calls.Add(1)
	b, err := in.Data, error(nil)
	if in.Path != "" {
		b, err = os.ReadFile(in.Path)
	}
	if err != nil {
		return Document{}, err
	}
	if strings.HasPrefix(string(b), "BROKEN") {
		return Document{}, errors.New("malformed file")
	}
	sum := sha256.Sum256(b)
	d := Document{ID: hex.EncodeToString(sum[:]), Pages: []Page{{Number: 1, Status: PageText}}}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		d.Pages[0].Lines = append(d.Pages[0].Lines, Line{Text: l})
	}
	return d, nil
}

func (p *textParser) Version() string { return "text/" + p.version }

// firstLine extracts the first line as the "title" field.
type firstLine struct {
	calls   atomic.Int32
	version string
	fail    error
}

func (e *firstLine) Extract(ctx context.Context, doc Document, s Schema) (Extraction, error) {
	e.calls.Add(1)
	// Like real extractors, it records its version in its output.
	x := Extraction{DocumentID: doc.ID, Extractor: ExtractorRef{Kind: "first", Version: e.Version()},
		Usage: Usage{InputTokens: 100, OutputTokens: 10, Attempts: 1, CostUSD: 0.01}}
	if e.fail != nil {
		return x, e.fail
	}
	l := doc.Pages[0].Lines[0].Text
	x.Fields = map[string]Field{"title": {Raw: l, Evidence: Evidence{Page: 1, Quote: l}}}
	return x, nil
}

func (e *firstLine) Version() string { return "first/" + e.version }

// upper "validates" by normalizing to upper case.
type upper struct{ calls atomic.Int32 }

func (u *upper) Validate(doc Document, s Schema, x Extraction, second *Extraction) Extraction {
	u.calls.Add(1)
	f := x.Fields["title"]
	f.Value = strings.ToUpper(f.Raw)
	x.Fields = map[string]Field{"title": f}
	return x
}

func (u *upper) Version() string { return "upper/1" }

type recorder struct{ recs []StepRecord }

func (r *recorder) Record(rec StepRecord) error { r.recs = append(r.recs, rec); return nil }

type fixture struct {
	runner    *Runner
	parser    *textParser
	extractor *firstLine
	validator *upper
	spans     *tracetest.SpanRecorder
	rec       *recorder
	file      string
}

func newFixture(t *testing.T, cache Cache) *fixture {
	t.Helper()
	f := &fixture{parser: &textParser{version: "1"}, extractor: &firstLine{version: "1"}, validator: &upper{},
		spans: tracetest.NewSpanRecorder(), rec: &recorder{}}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(f.spans))
	f.file = filepath.Join(t.TempDir(), "doc.txt")
	os.WriteFile(f.file, []byte("Invoice 42\nTotal 12.00\n"), 0o644)
	f.runner = &Runner{RunID: "run1", Parser: f.parser, Extractor: f.extractor, Validator: f.validator,
		Schema: Schema{Name: "s", Version: "1", Fields: []FieldSpec{{Name: "title", Type: TypeString}}},
		Cache:  cache, Recorder: f.rec, Tracer: tp.Tracer("test")}
	return f
}

func steps(recs []StepRecord) string {
	var out []string
	for _, r := range recs {
		s := r.Step
		if r.CacheHit {
			s += "(hit)"
		}
		if r.Error != "" {
			s += "(error)"
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

func TestRunnerStepsRecordsAndSpans(t *testing.T) {
	f := newFixture(t, nil)
	res := f.runner.Process(context.Background(), f.file)
	if res.Err != nil || res.Status() != "ok" {
		t.Fatalf("result: %v", res.Err)
	}
	if got := res.Extraction.Fields["title"]; got.Value != "INVOICE 42" || got.Raw != "Invoice 42" {
		t.Errorf("title = %+v", got)
	}
	if got := steps(res.Steps); got != "parse chunk extract validate" {
		t.Errorf("steps = %s", got)
	}
	if len(f.rec.recs) != 4 || len(res.Chunks) != 1 || res.Chunks[0].Text != "Invoice 42\nTotal 12.00" {
		t.Errorf("records %d, chunks %+v", len(f.rec.recs), res.Chunks)
	}
	// Each record ties the step to its inputs, version, output and span.
	for i, r := range res.Steps {
		if r.RunID != "run1" || r.DocumentID != res.Document.ID || r.Key == "" || r.InputHash == "" || r.OutputHash == "" || r.SpanID == "" || r.TraceID != res.TraceID {
			t.Errorf("record %d = %+v", i, r)
		}
		if i > 0 && r.InputHash == res.Steps[i-1].InputHash {
			t.Errorf("step %s has the input of the step before it", r.Step)
		}
	}
	if res.Steps[1].InputHash != Hash(res.Steps[0].OutputHash) {
		t.Errorf("chunk's input must be parse's output")
	}
	if res.Spent.InputTokens != 100 || res.Spent.CostUSD != 0.01 {
		t.Errorf("spent = %+v", res.Spent)
	}
	// Spans: a document root with one child per step, in order.
	ended := f.spans.Ended()
	var root sdktrace.ReadOnlySpan
	children := map[string]bool{}
	for _, s := range ended {
		if s.Name() == "document" {
			root = s
		}
	}
	if root == nil || root.Parent().IsValid() {
		t.Fatalf("no document root span among %d spans", len(ended))
	}
	for _, s := range ended {
		if s.Parent().SpanID() == root.SpanContext().SpanID() {
			children[s.Name()] = true
		}
	}
	for _, want := range []string{"parse", "chunk", "extract", "validate"} {
		if !children[want] {
			t.Errorf("no %s span under the document (children: %v)", want, children)
		}
	}
	attrs := map[string]string{}
	for _, a := range root.Attributes() {
		attrs[string(a.Key)] = a.Value.String()
	}
	if attrs["extractor.document.id"] != res.Document.ID || attrs["extractor.status"] != "ok" || attrs["gen_ai.usage.input_tokens"] != "100" {
		t.Errorf("document span attributes = %v", attrs)
	}
}

func TestRunnerCache(t *testing.T) {
	cache := DirCache{Dir: t.TempDir()}
	f := newFixture(t, cache)
	first := f.runner.Process(context.Background(), f.file)
	again := f.runner.Process(context.Background(), f.file)
	if got := steps(again.Steps); got != "parse(hit) chunk(hit) extract(hit) validate(hit)" {
		t.Errorf("unchanged re-run: %s", got)
	}
	if f.extractor.calls.Load() != 1 || f.parser.calls.Load() != 1 || again.Spent != (Usage{}) {
		t.Errorf("re-run called the extractor %d times, the parser %d times, spent %+v", f.extractor.calls.Load(), f.parser.calls.Load(), again.Spent)
	}
	if first.Extraction.Fields["title"] != again.Extraction.Fields["title"] || again.Extraction.Usage != first.Extraction.Usage {
		t.Errorf("cached result differs: %+v vs %+v", again.Extraction, first.Extraction)
	}

	// A new extractor version (a changed prompt) re-runs extraction and
	// what depends on it, nothing upstream.
	f.extractor.version = "2"
	changed := f.runner.Process(context.Background(), f.file)
	if got := steps(changed.Steps); got != "parse(hit) chunk(hit) extract validate" {
		t.Errorf("after a prompt change: %s", got)
	}
	// A changed file re-runs everything.
	os.WriteFile(f.file, []byte("Invoice 43\n"), 0o644)
	if got := steps(f.runner.Process(context.Background(), f.file).Steps); got != "parse chunk extract validate" {
		t.Errorf("after a file change: %s", got)
	}
}

func TestRunnerFailures(t *testing.T) {
	cache := DirCache{Dir: t.TempDir()}
	f := newFixture(t, cache)
	boom := errors.New("model said no")
	f.extractor.fail = boom
	res := f.runner.Process(context.Background(), f.file)
	var se *StepError
	if !errors.As(res.Err, &se) || se.Step != StepExtract || se.DocumentID != res.Document.ID || !errors.Is(res.Err, boom) {
		t.Fatalf("err = %v, want a StepError for extract", res.Err)
	}
	if res.Status() != "failed" || res.Extraction == nil || res.Extraction.Usage.InputTokens != 100 || res.Spent.InputTokens != 100 {
		t.Errorf("a failed extraction must still report what it cost: %+v", res)
	}
	// Errors are never cached: the next run asks again.
	f.extractor.fail = nil
	res = f.runner.Process(context.Background(), f.file)
	if res.Err != nil || f.extractor.calls.Load() != 2 || steps(res.Steps) != "parse(hit) chunk(hit) extract validate" {
		t.Errorf("after a failure: %v, %d calls, %s", res.Err, f.extractor.calls.Load(), steps(res.Steps))
	}

	// A parser failure stops the document at parse.
	os.WriteFile(f.file, []byte("BROKEN"), 0o644)
	res = f.runner.Process(context.Background(), f.file)
	if !errors.As(res.Err, &se) || se.Step != StepParse || steps(res.Steps) != "parse(error)" {
		t.Errorf("broken file: %v, %s", res.Err, steps(res.Steps))
	}
	// A file that is not there.
	res = f.runner.Process(context.Background(), filepath.Join(t.TempDir(), "missing.txt"))
	if !errors.As(res.Err, &se) || se.Step != StepParse {
		t.Errorf("missing file: %v", res.Err)
	}
}

func TestRunnerInterrupted(t *testing.T) {
	f := newFixture(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := f.runner.Process(ctx, f.file)
	if !res.Interrupted || res.Status() != "interrupted" {
		t.Errorf("status %s, err %v", res.Status(), res.Err)
	}
}

func TestRunnerSecondOpinionAndLinks(t *testing.T) {
	f := newFixture(t, DirCache{Dir: t.TempDir()})
	second := &firstLine{version: "second"}
	f.runner.Second = second
	runCtx, runSpan := f.runner.Tracer.Start(context.Background(), "run")
	f.runner.RunSpan = runSpan.SpanContext()
	res := f.runner.Process(runCtx, f.file)
	runSpan.End()
	if got := steps(res.Steps); got != "parse chunk extract extract_second validate" {
		t.Errorf("steps = %s", got)
	}
	// The validate step's input covers the second opinion.
	if res.Steps[4].InputHash != Hash(res.Steps[2].OutputHash, res.Steps[3].OutputHash, res.Steps[0].OutputHash, f.runner.Schema.Hash()) {
		t.Error("validate must depend on both readings, the document and the schema")
	}
	// A document is a trace of its own, linked to the run's.
	for _, s := range f.spans.Ended() {
		if s.Name() != "document" {
			continue
		}
		if s.SpanContext().TraceID() == runSpan.SpanContext().TraceID() {
			t.Error("a document must be a trace of its own")
		}
		if len(s.Links()) != 1 || s.Links()[0].SpanContext.SpanID() != runSpan.SpanContext().SpanID() {
			t.Errorf("links = %+v", s.Links())
		}
	}
	// A failing second opinion costs confidence, not the document.
	second.fail = errors.New("no")
	f.extractor.version = "3"
	if res := f.runner.Process(context.Background(), f.file); res.Err != nil {
		t.Errorf("a failed second opinion failed the document: %v", res.Err)
	}
}

// selective reads only documents whose first line says so.
type selective struct {
	firstLine
	word string
}

func (s *selective) Applies(doc Document) bool {
	return strings.Contains(doc.Pages[0].Lines[0].Text, s.word)
}

// A Selective second reading runs only where it applies; elsewhere its
// step is not there at all (no record, no call).
func TestRunnerSkipsASecondThatDoesNotApply(t *testing.T) {
	f := newFixture(t, nil)
	second := &selective{firstLine: firstLine{version: "sel"}, word: "no such word"}
	f.runner.Second = second
	res := f.runner.Process(context.Background(), f.file)
	if got := steps(res.Steps); got != "parse chunk extract validate" || second.calls.Load() != 0 || res.Err != nil {
		t.Errorf("steps %s, calls %d, err %v", got, second.calls.Load(), res.Err)
	}
	second.word = ""
	res = f.runner.Process(context.Background(), f.file)
	if got := steps(res.Steps); got != "parse chunk extract extract_second validate" || second.calls.Load() != 1 {
		t.Errorf("steps %s, calls %d", got, second.calls.Load())
	}
}

// fakeEmbedder gives every text a 2-dimension vector.
type fakeEmbedder struct{ calls atomic.Int32 }

func (e *fakeEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, Usage, error) {
	e.calls.Add(1)
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = []float32{float32(len(t)), 1}
	}
	return out, Usage{InputTokens: 7, Attempts: 1}, nil
}
func (e *fakeEmbedder) Model() string   { return "fake" }
func (e *fakeEmbedder) Dimensions() int { return 2 }
func (e *fakeEmbedder) Version() string { return "fake/1" }

type memStore struct{ saved []StoredDocument }

func (s *memStore) SaveDocument(ctx context.Context, d StoredDocument) error {
	s.saved = append(s.saved, d)
	return nil
}

func TestRunnerEmbedAndStore(t *testing.T) {
	f := newFixture(t, DirCache{Dir: t.TempDir()})
	emb, st := &fakeEmbedder{}, &memStore{}
	f.runner.Embedder, f.runner.Store = emb, st
	res := f.runner.Process(context.Background(), f.file)
	if res.Err != nil || steps(res.Steps) != "parse chunk extract validate embed store" {
		t.Fatalf("%v: %s", res.Err, steps(res.Steps))
	}
	if len(res.Embeddings) != 1 || res.Embeddings[0].Model != "fake" || res.Embeddings[0].ChunkID != res.Chunks[0].ID || res.Spent.InputTokens != 107 {
		t.Errorf("embeddings %+v, spent %+v", res.Embeddings, res.Spent)
	}
	if len(st.saved) != 1 || st.saved[0].Extraction == nil || st.saved[0].RunID != "run1" || st.saved[0].Versions["extract"] != "first/1" {
		t.Errorf("saved = %+v", st.saved)
	}
	// Re-run: embeddings come from the cache, the store step always runs
	// (the store is idempotent).
	res = f.runner.Process(context.Background(), f.file)
	if got := steps(res.Steps); got != "parse(hit) chunk(hit) extract(hit) validate(hit) embed(hit) store" || emb.calls.Load() != 1 || len(st.saved) != 2 {
		t.Errorf("re-run: %s, %d embed calls, %d saves", got, emb.calls.Load(), len(st.saved))
	}
	// A failed extraction still stores the document, without extraction,
	// and keeps its error.
	f.extractor.fail = errors.New("no tool call")
	f.extractor.version = "9"
	res = f.runner.Process(context.Background(), f.file)
	var se *StepError
	if !errors.As(res.Err, &se) || se.Step != StepExtract || len(st.saved) != 3 || st.saved[2].Extraction != nil || len(st.saved[2].Chunks) != 1 {
		t.Errorf("failed extraction: %v, saved %+v", res.Err, st.saved[len(st.saved)-1])
	}
}
