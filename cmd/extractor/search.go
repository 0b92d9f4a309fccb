package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/extractor-dev/extractor/extract"
	"github.com/extractor-dev/extractor/pipeline"
	"github.com/extractor-dev/extractor/server"
	"github.com/extractor-dev/extractor/store"
	"github.com/extractor-dev/extractor/tracing"
)

// queryFlags are the flags of the commands that search the database.
type queryFlags struct {
	configPath string
	state      string
	k          int
	mode       string
	match      string
	filters    []string
	efSearch   int
	output     string
}

func (m *Main) addQueryFlags(cmd *cobra.Command, f *queryFlags, k int) {
	fl := cmd.Flags()
	fl.StringVar(&f.configPath, "config", "", "YAML config file (database_url, embedding, search, llm)")
	fl.StringVar(&f.state, "state", "", "state directory, where query spans are written (default .extractor, env EXTRACTOR_STATE)")
	fl.IntVar(&f.k, "k", k, "how many chunks to retrieve")
	fl.StringVar(&f.mode, "mode", "hybrid", "hybrid (vector and full-text, fused), vector, or text")
	fl.StringVar(&f.match, "match", "any", `full-text matching: any (chunks with any of the words, more first) or all (web search syntax: every word, "a phrase", a or b, -not)`)
	fl.StringArrayVar(&f.filters, "filter", nil, `restrict the documents (repeatable, ANDed): document=ID, schema=NAME,
FIELD=VALUE (equals, ignoring case), FIELD~TEXT (contains),
FIELD=FROM..TO (range, either end open), FIELD>=N, FIELD<=N (numbers);
fields are the latest extraction's, e.g. vendor_name~acme, issue_date=2024-01-01..2024-03-31`)
	fl.IntVar(&f.efSearch, "ef-search", 0, "HNSW search breadth (default: the config's search.ef_search, else 100)")
	fl.StringVarP(&f.output, "output", "o", "text", "text or json (one JSON object per line)")
}

func (f queryFlags) check() (store.Mode, store.Filter, error) {
	if f.match != "any" && f.match != "all" && f.match != "" {
		return 0, store.Filter{}, usageError{fmt.Errorf("--match %q: want any or all", f.match)}
	}
	var mode store.Mode
	switch f.mode {
	case "hybrid":
		mode = store.Hybrid
	case "vector":
		mode = store.Vector
	case "text":
		mode = store.Text
	default:
		return 0, store.Filter{}, usageError{fmt.Errorf("--mode %q: want hybrid, vector or text", f.mode)}
	}
	if f.k < 1 || f.k > 1000 {
		return 0, store.Filter{}, usageError{fmt.Errorf("--k %d: want 1 to 1000", f.k)}
	}
	if f.output != "text" && f.output != "json" {
		return 0, store.Filter{}, usageError{fmt.Errorf("-o %q: want text or json", f.output)}
	}
	filter, err := store.ParseFilters(f.filters)
	if err == nil {
		err = filter.CheckFields(filterFields(filter.Schema))
	}
	if err != nil {
		return 0, store.Filter{}, err
	}
	return mode, filter, nil
}

// filterFields are the field names a filter may name: the scalar fields of
// its schema, or of every built-in schema when it names none.
func filterFields(schema string) []string {
	names := []string{schema}
	if schema == "" {
		names = extract.Builtins()
	}
	var out []string
	for _, n := range names {
		s, err := extract.LoadSchema(n)
		if err != nil {
			continue
		}
		for _, f := range s.Fields {
			if f.Type != pipeline.TypeArray && !slices.Contains(out, f.Name) {
				out = append(out, f.Name)
			}
		}
	}
	return out
}

// querySetup is what the commands that search need: the store, the
// embedder the documents were stored with, and tracing.
type querySetup struct {
	cfg      config
	store    *store.Store
	embedder pipeline.Embedder
	tp       *tracing.Provider
	tracer   trace.Tracer
	spanFile string
}

// openQuery connects to the database and starts tracing into the state
// directory's query span file (and the database's spans table, and OTLP
// when configured).
func (m *Main) openQuery(ctx context.Context, f queryFlags) (*querySetup, error) {
	cfg, err := loadConfig(f.configPath)
	if err != nil {
		return nil, usageError{err}
	}
	dsn := m.databaseURL(cfg)
	if dsn == "" {
		return nil, errNoDatabase
	}
	q := &querySetup{cfg: cfg}
	dir := filepath.Join(m.stateDir(f.state), "queries")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	q.spanFile = filepath.Join(dir, "spans.jsonl")
	if q.store, q.tp, err = m.openTraced(ctx, dsn, cfg.Search, q.spanFile); err != nil {
		return nil, err
	}
	q.tracer = q.tp.Tracer("github.com/extractor-dev/extractor/cmd/extractor")
	if q.embedder, err = m.embedder(cfg.Embedding, q.tp); err != nil {
		q.close()
		return nil, err
	}
	return q, nil
}

// close flushes the spans and closes the database.
func (q *querySetup) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := q.tp.Shutdown(ctx)
	q.store.Pool().Close()
	return err
}

// retrieve embeds the text (unless the mode is text) and searches. It is
// traced as a "retrieve" span with an "embed" and a "search" child.
func (q *querySetup) retrieve(ctx context.Context, text string, f queryFlags, mode store.Mode, filter store.Filter) (hits []store.Hit, note string, err error) {
	ctx, span := q.tracer.Start(ctx, "retrieve", trace.WithAttributes(
		attribute.String("extractor.search.mode", mode.String()), attribute.Int("extractor.search.k", f.k),
		attribute.Int("extractor.search.query_chars", len(text)), attribute.Int("extractor.search.filters", len(f.filters)),
		attribute.String("extractor.embedding.model", q.embedder.Model())))
	defer func() {
		span.SetAttributes(attribute.Int("extractor.search.hits", len(hits)))
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}()
	sq := store.Query{Text: text, K: f.k, Mode: mode, Filter: filter, EfSearch: f.efSearch, Model: q.embedder.Model()}
	if f.match == "all" {
		sq.Match = store.MatchAll
	}
	if mode == store.Text {
		sq.Model = ""
	} else {
		ectx, es := q.tracer.Start(ctx, "embed_query", trace.WithAttributes(attribute.String("extractor.embedding.model", q.embedder.Model())))
		vecs, _, err := q.embedder.Embed(ectx, []string{text})
		if err != nil {
			es.RecordError(err)
			es.SetStatus(codes.Error, err.Error())
			es.End()
			return nil, "", fmt.Errorf("embedding the query: %w", err)
		}
		es.End()
		if len(vecs) == 1 && !zero(vecs[0]) {
			sq.Vector = vecs[0]
		} else if mode == store.Vector {
			return nil, "", usageError{errors.New("the query has no words to embed")}
		}
	}
	if mode == store.Text && strings.TrimSpace(text) == "" {
		return nil, "", usageError{errors.New("the query is empty")}
	}
	if hits, err = q.store.Search(ctx, sq); err != nil {
		if errors.Is(err, store.ErrInvalid) {
			return nil, "", usageError{err}
		}
		return nil, "", err
	}
	if mode != store.Text && sq.Vector != nil && !slices.ContainsFunc(hits, func(h store.Hit) bool { return h.VectorRank > 0 }) {
		note = fmt.Sprintf("no chunk has a vector of model %q: were the documents stored with another embedding config? ('extractor db status' lists the models)", q.embedder.Model())
	}
	return hits, note, nil
}

func zero(v []float32) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}

func (m *Main) searchCommand() *cobra.Command {
	var f queryFlags
	cmd := &cobra.Command{
		Use:   `search "QUERY"`,
		Short: "Find the document chunks that best match a query (vector and full-text search)",
		Long: `Search the chunks stored by 'extractor run' (with a database configured) and
print the best --k: document, page, lines, a snippet and how each was scored.

Hybrid search (the default) ranks the chunks twice in one SQL statement — by
cosine distance of their embedding to the query's (through the HNSW index) and
by PostgreSQL full-text search — and fuses the two lists with Reciprocal Rank
Fusion: score = Σ 1/(k + rank). Each hit shows its rank and score in each list.
The query is embedded with the configured embedder (the config's embedding:
section; by default the offline hashing embedder, which is lexical, not
semantic). Full-text search ignores case and English, German and French stop
words; by default it takes the chunks with any of the query's words, those with
more of them first (--match all: every word, in web search syntax: "a phrase",
a or b, -excluded).

--filter restricts the documents: by id, by schema, or by the values of their
latest extraction (vendor_name~acme, total_amount>=1000,
issue_date=2024-01-01..2024-03-31). Values are always passed to the database as
parameters.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			mode, filter, err := f.check()
			if err != nil {
				return err
			}
			return m.runSearch(cmd.Context(), args[0], f, mode, filter)
		},
	}
	m.addQueryFlags(cmd, &f, 10)
	return cmd
}

func (m *Main) runSearch(ctx context.Context, text string, f queryFlags, mode store.Mode, filter store.Filter) error {
	q, err := m.openQuery(ctx, f)
	if err != nil {
		return err
	}
	ctx, span := q.tracer.Start(ctx, "search", trace.WithNewRoot())
	hits, note, err := q.retrieve(ctx, text, f, mode, filter)
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
	traceID := span.SpanContext().TraceID().String()
	if cerr := q.close(); err == nil && cerr != nil {
		fmt.Fprintln(m.Stderr, "extractor: tracing:", cerr)
	}
	if err != nil {
		return err
	}
	if note != "" {
		fmt.Fprintln(m.Stderr, "extractor:", note)
	}
	if f.output == "json" {
		for i, h := range hits {
			if err := writeJSONLine(m.Stdout, hitJSON(i+1, h)); err != nil {
				return err
			}
		}
		return nil
	}
	if len(hits) == 0 {
		fmt.Fprintln(m.Stdout, "no chunks match")
	}
	writeHits(m.Stdout, hits)
	fmt.Fprintf(m.Stdout, "%s search, %d hits; trace %s\n", mode, len(hits), traceID)
	return nil
}

// server.SearchHit is a hit as -o json prints it.
func hitJSON(rank int, h store.Hit) server.SearchHit {
	return server.SearchHit{Rank: rank, ChunkID: h.ChunkID, DocumentID: h.DocumentID, Source: h.Source, Page: h.Page,
		FirstLine: h.FirstLine, LastLine: h.LastLine, Score: h.Score, VectorRank: h.VectorRank,
		VectorDistance: h.VectorDistance, TextRank: h.TextRank, TextScore: h.TextScore, Text: h.Text}
}

// writeHits prints hits for people: where each is, how it scored, and a
// snippet.
func writeHits(w io.Writer, hits []store.Hit) {
	for i, h := range hits {
		fmt.Fprintf(w, "%2d. %s  page %d, lines %d-%d  (document %s, chunk %s)\n", i+1, filepath.Base(h.Source), h.Page,
			h.FirstLine+1, h.LastLine+1, shortDoc(h.DocumentID), h.ChunkID)
		fmt.Fprintf(w, "    score %.4f = %s\n", h.Score, breakdown(h))
		fmt.Fprintf(w, "    %s\n", snippet(h.Text, 240))
	}
}

// breakdown says what each list gave a hit.
func breakdown(h store.Hit) string {
	var parts []string
	if h.VectorRank > 0 {
		parts = append(parts, fmt.Sprintf("vector #%d (cosine distance %.3f)", h.VectorRank, h.VectorDistance))
	} else {
		parts = append(parts, "vector -")
	}
	if h.TextRank > 0 {
		parts = append(parts, fmt.Sprintf("text #%d (ts_rank %.3f)", h.TextRank, h.TextScore))
	} else {
		parts = append(parts, "text -")
	}
	return strings.Join(parts, " + ")
}

// snippet is text on one line, cut at about n runes.
func snippet(text string, n int) string {
	s := strings.Join(strings.Fields(text), " ")
	if r := []rune(s); len(r) > n {
		s = string(r[:n]) + "…"
	}
	return s
}
