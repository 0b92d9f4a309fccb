package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/extractor-dev/extractor/tracing"
)

// Input is a document to process: a file, or bytes held in memory (an
// upload, which never touches the disk).
type Input struct {
	// Name is what the document is called in records and results: a
	// path, or "upload:NAME".
	Name string
	// Path is the file holding the bytes; "" when Data holds them.
	Path string
	Data []byte
}

// FileInput is the input of a file, named by its path.
func FileInput(path string) Input { return Input{Name: path, Path: path} }

// hash is the input's document id: the SHA-256 of its bytes.
func (in Input) hash() (string, error) {
	if in.Path == "" {
		sum := sha256.Sum256(in.Data)
		return hex.EncodeToString(sum[:]), nil
	}
	return FileHash(in.Path)
}

// Parser turns an input's bytes into a Document.
type Parser interface {
	Parse(ctx context.Context, in Input) (Document, error)
	// Version names the parser and the settings that shape its output.
	Version() string
}

// Validator applies the deterministic checks to what an extractor read.
type Validator interface {
	Validate(doc Document, s Schema, x Extraction, second *Extraction) Extraction
	Version() string
}

// Recorder receives step records (a RunDir, later the store).
type Recorder interface {
	Record(StepRecord) error
}

// Step names, in the order they run.
const (
	StepParse    = "parse"
	StepChunk    = "chunk"
	StepExtract  = "extract"
	StepSecond   = "extract_second"
	StepValidate = "validate"
	StepEmbed    = "embed"
	StepStore    = "store"
)

// StoreVersion names what the store step writes; the store itself is
// idempotent, so the step is never cached.
const StoreVersion = "store/1"

// Runner takes documents through the steps, in a fixed order:
//
//	parse -> chunk -> extract (and extract_second) -> validate -> embed -> store
//
// Each step is a plain function of its inputs, run through one helper that
// opens a span, looks the step up in the content-addressed cache, records a
// StepRecord and wraps failures as *StepError. A step's cache key hashes
// its name and version with the hashes of its inputs, so an unchanged
// batch re-runs from the cache without a model call, and a changed prompt
// re-runs extraction and what follows, never parsing. Errors are never
// cached. Embedding and storing run when an Embedder and a Store are set,
// also for documents whose extraction failed: their text stays searchable.
type Runner struct {
	RunID     string
	Parser    Parser
	Chunking  ChunkOptions
	Extractor Extractor
	// Second, when set, reads the document too; the validator uses it
	// as a second opinion for confidence. A Second that is Selective
	// reads only the documents it applies to.
	Second    Extractor
	Validator Validator
	Schema    Schema
	// Embedder and Store are optional: without them the run stops after
	// validation.
	Embedder Embedder
	Store    Store
	// Cache and Recorder are optional.
	Cache    Cache
	Recorder Recorder
	// Tracer defaults to the global provider's.
	Tracer trace.Tracer
	// RunSpan, when valid, is linked from every document's trace.
	RunSpan trace.SpanContext
	// JoinTrace makes each document's span a child of the span in the
	// context Process is given (an HTTP request's, a job's) rather than
	// the root of a trace of its own.
	JoinTrace bool
}

// Result is a document's journey through the steps.
type Result struct {
	File     string
	Document Document
	Chunks   []Chunk
	// Embeddings are the chunks' vectors, when embedded.
	Embeddings []Embedding
	// Extraction is the validated extraction, or the raw one when
	// extraction or validation failed (it still carries the usage).
	Extraction *Extraction
	Steps      []StepRecord
	// Err is a *StepError naming the step that failed.
	Err error
	// Interrupted: the run was cancelled while this document was in
	// flight; it is to be done again.
	Interrupted bool
	// Spent is what this run spent on the document: zero on cache hits.
	Spent    Usage
	TraceID  string
	Duration time.Duration
}

// Status is "ok", "failed" or "interrupted".
func (r Result) Status() string {
	switch {
	case r.Interrupted:
		return "interrupted"
	case r.Err != nil:
		return "failed"
	}
	return "ok"
}

// CacheHits counts the steps served from the cache.
func (r Result) CacheHits() int {
	n := 0
	for _, s := range r.Steps {
		if s.CacheHit {
			n++
		}
	}
	return n
}

func (r *Runner) tracer() trace.Tracer {
	if r.Tracer != nil {
		return r.Tracer
	}
	return otel.Tracer("github.com/extractor-dev/extractor/pipeline")
}

// Process takes one file through every step (see ProcessInput).
func (r *Runner) Process(ctx context.Context, file string) Result {
	return r.ProcessInput(ctx, FileInput(file))
}

// ProcessInput takes one input through every step. It never panics on bad
// input; a failure is in Result.Err, with the step that failed. The
// result's File and the document's Source are the input's Name.
func (r *Runner) ProcessInput(ctx context.Context, in Input) (res Result) {
	start := time.Now()
	file := in.Name
	res.File = file
	opts := []trace.SpanStartOption{trace.WithAttributes(tracing.RunID.String(r.RunID), tracing.DocumentFile.String(file))}
	if !r.JoinTrace || !trace.SpanContextFromContext(ctx).IsValid() {
		opts = append(opts, trace.WithNewRoot())
	}
	if r.RunSpan.IsValid() {
		opts = append(opts, trace.WithLinks(trace.Link{SpanContext: r.RunSpan}))
	}
	ctx, span := r.tracer().Start(ctx, "document", opts...)
	res.TraceID = span.SpanContext().TraceID().String()
	defer func() {
		res.Duration = time.Since(start)
		if res.Err != nil && ctx.Err() != nil && errors.Is(res.Err, ctx.Err()) {
			res.Interrupted = true
		}
		span.SetAttributes(tracing.DocumentID.String(res.Document.ID), tracing.Status.String(res.Status()),
			tracing.UsageInputTokens.Int(res.Spent.InputTokens), tracing.UsageOutputTokens.Int(res.Spent.OutputTokens))
		if res.Spent.Prices != "" || res.Spent.Attempts == 0 {
			span.SetAttributes(tracing.CostUSD.Float64(res.Spent.CostUSD)) // unknown when the model is unpriced
		}
		if res.Err != nil {
			span.RecordError(res.Err)
			span.SetStatus(codes.Error, res.Err.Error())
		}
		span.End()
	}()

	sum, err := in.hash()
	if err != nil {
		res.Err = &StepError{Step: StepParse, Err: err}
		return res
	}
	res.Document.ID = sum
	st := stepper{r: r, res: &res, docID: sum}

	doc, docHash, err := run(ctx, st, StepParse, r.Parser.Version(), []stepInput{{InputFile, sum}}, func(ctx context.Context, _ *Usage) (Document, error) {
		d, err := r.Parser.Parse(ctx, in)
		if err == nil && d.ID != sum {
			err = fmt.Errorf("parser gave document id %s for a file whose sha256 is %s", d.ID, sum)
		}
		return d, err
	})
	if err != nil {
		return res
	}
	doc.Source = file
	res.Document = doc

	chunks, chunkHash, err := run(ctx, st, StepChunk, r.Chunking.Key(), []stepInput{{StepParse, docHash}}, func(ctx context.Context, _ *Usage) ([]Chunk, error) {
		return Chunks(doc, r.Chunking), nil
	})
	if err != nil {
		return res
	}
	res.Chunks = chunks
	// Embedding and storing follow whatever extraction gives: a document
	// whose extraction failed is still stored and searchable, and keeps
	// its extraction error.
	defer func() {
		if res.Interrupted || ctx.Err() != nil {
			return
		}
		r.embedAndStore(ctx, st, docHash, chunkHash)
	}()

	schemaHash := r.Schema.Hash()
	raw, rawHash, err := run(ctx, st, StepExtract, r.Extractor.Version(), []stepInput{{StepParse, docHash}, {InputSchema, schemaHash}}, func(ctx context.Context, spend *Usage) (Extraction, error) {
		x, err := r.Extractor.Extract(ctx, doc, r.Schema)
		spend.Add(x.Usage) // spent whether the step succeeds or not
		return x, err
	})
	res.Extraction = &raw // kept on failure: it carries what the attempts cost
	if err != nil {
		return res
	}
	var second *Extraction
	secondHash := ""
	if r.Second != nil && applies(r.Second, doc) {
		sx, h, err := run(ctx, st, StepSecond, r.Second.Version(), []stepInput{{StepParse, docHash}, {InputSchema, schemaHash}}, func(ctx context.Context, spend *Usage) (Extraction, error) {
			x, err := r.Second.Extract(ctx, doc, r.Schema)
			spend.Add(x.Usage)
			return x, err
		})
		if err == nil { // a second opinion that fails only costs confidence
			second, secondHash = &sx, h
		} else {
			res.Err = nil
		}
	}
	checked, _, err := run(ctx, st, StepValidate, r.Validator.Version(), []stepInput{{StepExtract, rawHash}, {StepSecond, secondHash}, {StepParse, docHash}, {InputSchema, schemaHash}}, func(ctx context.Context, _ *Usage) (Extraction, error) {
		return r.Validator.Validate(doc, r.Schema, raw, second), nil
	})
	if err != nil {
		return res
	}
	res.Extraction = &checked
	return res
}

// applies reports whether a (maybe Selective) extractor reads doc.
func applies(x Extractor, doc Document) bool {
	s, ok := x.(Selective)
	return !ok || s.Applies(doc)
}

// embedAndStore runs the embed and store steps. Their failures become the
// document's error only when it has none yet.
func (r *Runner) embedAndStore(ctx context.Context, st stepper, docHash, chunkHash string) {
	res := st.res
	prevErr := res.Err
	defer func() {
		if prevErr != nil {
			res.Err = prevErr
		}
	}()
	if r.Embedder != nil {
		embs, _, err := run(ctx, st, StepEmbed, r.Embedder.Version(), []stepInput{{StepChunk, chunkHash}}, func(ctx context.Context, spend *Usage) ([]Embedding, error) {
			return embedChunks(ctx, r.Embedder, res.Chunks, spend)
		})
		if err != nil {
			return
		}
		res.Embeddings = embs
	}
	if r.Store == nil {
		return
	}
	versions := map[string]string{}
	for _, s := range res.Steps {
		versions[s.Step] = s.StepVersion
	}
	sd := StoredDocument{RunID: r.RunID, Document: res.Document, Chunks: res.Chunks, Embeddings: res.Embeddings, Versions: versions}
	if prevErr == nil {
		sd.Extraction = res.Extraction
	}
	inputs := []stepInput{{StepParse, docHash}, {StepChunk, chunkHash}}
	if sd.Extraction != nil {
		h, _, _ := HashJSON(sd.Extraction)
		inputs = append(inputs, stepInput{StepValidate, h})
	}
	st.noCache = true // a side effect: the store is idempotent, the step always runs
	run(ctx, st, StepStore, StoreVersion, inputs, func(ctx context.Context, _ *Usage) (struct{}, error) {
		return struct{}{}, r.Store.SaveDocument(ctx, sd)
	})
}

// embedChunks embeds the chunks' text; the usage goes to spent whether or
// not it succeeds.
func embedChunks(ctx context.Context, e Embedder, chunks []Chunk, spent *Usage) ([]Embedding, error) {
	if len(chunks) == 0 {
		return []Embedding{}, nil
	}
	texts := make([]string, len(chunks))
	for i, c := range chunks {
		texts[i] = c.Text
	}
	vecs, usage, err := e.Embed(ctx, texts)
	spent.Add(usage)
	if err != nil {
		return nil, err
	}
	if len(vecs) != len(chunks) {
		return nil, fmt.Errorf("embedder returned %d vectors for %d chunks", len(vecs), len(chunks))
	}
	out := make([]Embedding, 0, len(chunks))
	for i, c := range chunks {
		if len(vecs[i]) != e.Dimensions() {
			return nil, fmt.Errorf("embedder returned a %d-dimension vector, not %d", len(vecs[i]), e.Dimensions())
		}
		if isZero(vecs[i]) {
			continue // no direction (a chunk of punctuation): cosine is undefined
		}
		out = append(out, Embedding{ChunkID: c.ID, Model: e.Model(), Vector: vecs[i]})
	}
	return out, nil
}

func isZero(v []float32) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}

// Inputs of steps that are not another step's output.
const (
	// InputFile is the parse step's input: the file's SHA-256.
	InputFile = "file"
	// InputSchema is the hash of the schema the extraction steps read.
	InputSchema = "schema"
)

// stepInput is one input of a step: a step's name (whose output it is) or
// InputFile / InputSchema, and its hash. The order of a step's inputs is
// fixed: their hashes make its cache key.
type stepInput struct{ name, hash string }

// stepper carries what every step of one document shares.
type stepper struct {
	r       *Runner
	res     *Result
	docID   string
	noCache bool // the step has side effects: never served from the cache
}

// run is the one helper every step goes through: a span, the cache, a
// StepRecord, and a *StepError on failure. It returns the step's output
// and the hash of its JSON encoding (the input hash of later steps). What
// fn spends (model and embedding calls) it adds to spend: it goes to the
// document's Spent and on the step record, so a run's totals can be summed
// from its records even when a crash lost the document's result line.
func run[T any](ctx context.Context, st stepper, name, version string, inputs []stepInput, fn func(ctx context.Context, spend *Usage) (T, error)) (out T, outHash string, err error) {
	r := st.r
	hashes := make([]string, len(inputs))
	named := make(map[string]string, len(inputs))
	for i, in := range inputs {
		hashes[i] = in.hash
		named[in.name] = in.hash
	}
	inputHash := Hash(hashes...)
	key := Hash(name, version, inputHash)
	ctx, span := r.tracer().Start(ctx, name, trace.WithAttributes(
		tracing.StepName.String(name), tracing.StepVersion.String(version),
		tracing.DocumentID.String(st.docID), tracing.InputHash.String(inputHash)))
	rec := StepRecord{RunID: r.RunID, DocumentID: st.docID, File: st.res.File, Step: name, StepVersion: version,
		Inputs: named, InputHash: inputHash, Key: key, Start: time.Now(),
		TraceID: span.SpanContext().TraceID().String(), SpanID: span.SpanContext().SpanID().String()}
	defer func() {
		rec.DurationMS = float64(time.Since(rec.Start).Microseconds()) / 1000
		span.SetAttributes(tracing.CacheHit.Bool(rec.CacheHit), tracing.OutputHash.String(rec.OutputHash))
		if err != nil {
			rec.Error = err.Error()
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
			err = &StepError{Step: name, DocumentID: st.docID, Err: err}
			st.res.Err = err
		}
		span.End()
		st.res.Steps = append(st.res.Steps, rec)
		if r.Recorder != nil {
			r.Recorder.Record(rec) // a lost record must not fail the document
		}
	}()

	if r.Cache != nil && !st.noCache {
		if b, ok, cerr := r.Cache.Get(ctx, key); cerr == nil && ok && json.Unmarshal(b, &out) == nil {
			rec.CacheHit = true
			sum := sha256.Sum256(b)
			rec.OutputHash = hex.EncodeToString(sum[:])
			return out, rec.OutputHash, nil
		}
	}
	if err = ctx.Err(); err != nil {
		return out, "", err
	}
	if cr, ok := r.Recorder.(CallRecorder); ok {
		ctx = withSpendSink(ctx, func(u Usage) {
			cr.RecordCall(CallRecord{RunID: r.RunID, DocumentID: st.docID, Step: name, SpanID: rec.SpanID, At: time.Now().UTC(), Spent: u})
		})
	}
	var spend Usage
	out, err = fn(ctx, &spend)
	if spend != (Usage{}) {
		st.res.Spent.Add(spend)
		rec.Spent = &spend
		span.SetAttributes(tracing.UsageInputTokens.Int(spend.InputTokens), tracing.UsageOutputTokens.Int(spend.OutputTokens))
		if spend.Prices != "" || spend.Attempts == 0 {
			span.SetAttributes(tracing.CostUSD.Float64(spend.CostUSD))
		}
	}
	if err != nil {
		return out, "", err
	}
	h, b, herr := HashJSON(out)
	if herr != nil {
		return out, "", herr
	}
	rec.OutputHash = h
	if r.Cache != nil && !st.noCache {
		r.Cache.Put(ctx, key, b) // a failed write costs a future miss, nothing more
	}
	return out, h, nil
}

// FileHash returns the hex SHA-256 of a file: a document's id.
func FileHash(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// VersionDetails is what an extractor may add to a run's versions besides
// its Version: the parts a reader looks for by name (the prompt and model
// of an LLM).
type VersionDetails interface {
	VersionDetails() map[string]string
}

// Versions names everything that shapes the runner's outputs, by key:
// parser, chunker, extractor (and its details: prompt, model), second,
// validator, schema (name@version#hash) and embedder. A run records them
// in its manifest; the caller adds its own code version.
func (r *Runner) Versions() map[string]string {
	v := map[string]string{"parser": r.Parser.Version(), "chunker": r.Chunking.Key(), "extractor": r.Extractor.Version(),
		"validator": r.Validator.Version(), "schema": fmt.Sprintf("%s@%s#%s", r.Schema.Name, r.Schema.Version, r.Schema.Hash()[:12])}
	if d, ok := r.Extractor.(VersionDetails); ok {
		for k, x := range d.VersionDetails() {
			v[k] = x
		}
	}
	if r.Second != nil {
		v["second"] = r.Second.Version()
	}
	if r.Embedder != nil {
		v["embedder"] = r.Embedder.Version()
	}
	return v
}
