package store

// Benchmarks against a real PostgreSQL with pgvector. They are skipped
// without EXTRACTOR_DATABASE_URL and, being benchmarks, never run with
// plain `go test`. Each one does its whole measurement once and prints a
// table; run them once each:
//
//	eval "$(scripts/pg.sh start)"
//	go test ./store -run '^$' -bench . -benchtime 1x
//
// Knobs (environment, read by these benchmarks only):
//
//	EXTRACTOR_BENCH_INGEST_ROWS  embedding rows per ingest round (default 20000)
//	EXTRACTOR_BENCH_SEARCH_ROWS  chunks in the search benchmark (default 100000)
//	EXTRACTOR_BENCH_QUERIES      search queries (default 300)
//	EXTRACTOR_BENCH_COMPARE_MWM  when set, also rebuild the index with the
//	                             server's 64MB maintenance_work_mem default
//	                             and print the speed-up of the 1GB build

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"

	"github.com/extractor-dev/extractor/pipeline"
)

func benchStore(b *testing.B) *Store {
	b.Helper()
	if os.Getenv("EXTRACTOR_DATABASE_URL") == "" {
		b.Skip("EXTRACTOR_DATABASE_URL is not set: database benchmarks skipped")
	}
	return testStore(b)
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// ---------------------------------------------------------------- data

// embeddingSpace draws embedding-like vectors. Real text embeddings are
// neither uniform on the sphere nor independent across dimensions: they
// share a common direction (two unrelated texts still have a positive
// cosine), gather around topics that gather around broader subjects, and
// vary around a topic along comparatively few directions (a low intrinsic
// dimension). So a vector is
//
//	normalize(0.5·u + topic_k + noise),  noise_d ~ N(0, (σ·λ_d)²)
//
// with u a fixed unit vector; topic_k = normalize(subject + 0.8·offset),
// 50 random unit subjects with 10 random offsets each (500 topics); and a
// decaying spectrum λ_d = (1 + d/8)^-0.75 (about 45 effective dimensions),
// σ making the noise's norm 1. Cosine distance is rotation invariant, so
// spreading the spectrum over the coordinate axes loses nothing. The
// benchmark prints what this gives (cosines of random pairs, of pairs of
// one topic, of a query's nearest neighbours): about 0.1, 0.55 and 0.7,
// as with sentence-embedding models, where uniform random vectors would
// give 0, 0 and 0.2, and a recall that says little about real data.
type embeddingSpace struct {
	dims    int
	shared  []float64
	centres [][]float64
	scale   []float64
}

const (
	benchSubjects      = 50
	benchTopicsPerSubj = 10
	sharedWeight       = 0.5
	offsetWeight       = 0.8
	noiseNorm          = 1.0
)

func newEmbeddingSpace(rng *rand.Rand, dims int) *embeddingSpace {
	sp := &embeddingSpace{dims: dims, shared: unit(gauss(rng, dims))}
	for range benchSubjects {
		subject := unit(gauss(rng, dims))
		for range benchTopicsPerSubj {
			offset := unit(gauss(rng, dims))
			c := make([]float64, dims)
			for d := range c {
				c[d] = subject[d] + offsetWeight*offset[d]
			}
			sp.centres = append(sp.centres, unit(c))
		}
	}
	sp.scale = make([]float64, dims)
	var sum float64
	for d := range sp.scale {
		sp.scale[d] = math.Pow(1+float64(d)/8, -0.75)
		sum += sp.scale[d] * sp.scale[d]
	}
	sigma := noiseNorm / math.Sqrt(sum)
	for d := range sp.scale {
		sp.scale[d] *= sigma
	}
	return sp
}

// effectiveDims is the participation ratio of the noise spectrum: about
// how many directions the vectors of a topic vary along.
func (sp *embeddingSpace) effectiveDims() float64 {
	var s2, s4 float64
	for _, s := range sp.scale {
		s2 += s * s
		s4 += s * s * s * s
	}
	return s2 * s2 / s4
}

// cosines samples the mean cosine of random pairs and of same-topic pairs.
func (sp *embeddingSpace) cosines(rng *rand.Rand) (random, sameTopic float64) {
	const n = 2000
	var rs, ss float64
	for range n {
		_, a := sp.drawTopic(rng, -1)
		k, b := sp.drawTopic(rng, -1)
		_, c := sp.drawTopic(rng, k)
		rs += cosine32(a, b)
		ss += cosine32(b, c)
	}
	return rs / n, ss / n
}

func cosine32(a, b []float32) float64 { return 1 - cosineDistance(a, b) }

func (sp *embeddingSpace) draw(rng *rand.Rand) (int, []float32) { return sp.drawTopic(rng, -1) }

// drawTopic draws a vector of topic k, or of a random topic when k < 0.
func (sp *embeddingSpace) drawTopic(rng *rand.Rand, k int) (int, []float32) {
	if k < 0 {
		k = rng.IntN(len(sp.centres))
	}
	v := make([]float64, sp.dims)
	for d := range v {
		v[d] = sharedWeight*sp.shared[d] + sp.centres[k][d] + rng.NormFloat64()*sp.scale[d]
	}
	v = unit(v)
	out := make([]float32, sp.dims)
	for d := range v {
		out[d] = float32(v[d])
	}
	return k, out
}

func gauss(rng *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	return v
}

func unit(v []float64) []float64 {
	var n float64
	for _, x := range v {
		n += x * x
	}
	n = math.Sqrt(n)
	for i := range v {
		v[i] /= n
	}
	return v
}

var benchWords = strings.Fields(`invoice total amount due date vendor customer payment bank transfer iban
	net tax vat order delivery item quantity price discount shipping terms conditions reference number
	rechnung betrag datum lieferung facture montant échéance livraison`)

func benchText(rng *rand.Rand, topic int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "topic%d", topic)
	for range 12 {
		b.WriteByte(' ')
		b.WriteString(benchWords[rng.IntN(len(benchWords))])
	}
	return b.String()
}

// benchDocs cuts rows chunks with their embeddings into documents of
// perDoc chunks.
func benchDocs(rng *rand.Rand, sp *embeddingSpace, model, prefix string, rows, perDoc int) []pipeline.StoredDocument {
	var out []pipeline.StoredDocument
	for first := 0; first < rows; first += perDoc {
		name := fmt.Sprintf("%s-%d", prefix, first)
		doc := pipeline.Document{ID: docID(name), Source: "/bench/" + name + ".pdf", Size: 1, Parser: "bench/1",
			Pages: []pipeline.Page{{Number: 1, Status: pipeline.PageText}}}
		sd := pipeline.StoredDocument{Document: doc}
		for i := first; i < min(first+perDoc, rows); i++ {
			topic, vec := sp.draw(rng)
			line := i - first
			c := pipeline.Chunk{ID: pipeline.ChunkID(doc.ID, 1, line, line), DocumentID: doc.ID, Page: 1,
				FirstLine: line, LastLine: line, Text: benchText(rng, topic), Tokens: 20}
			sd.Chunks = append(sd.Chunks, c)
			sd.Embeddings = append(sd.Embeddings, pipeline.Embedding{ChunkID: c.ID, Model: model, Vector: vec})
		}
		out = append(out, sd)
	}
	return out
}

// ---------------------------------------------------------------- ingest

// BenchmarkIngest measures embedding rows per second (384 dimensions,
// binary COPY) written by SaveDocument, next to raw CopyFrom of the same
// rows in the same run:
//
//   - raw CopyFrom into a bare table (no key, no index): the ceiling;
//   - raw CopyFrom of a second model's vectors into the embeddings table
//     (its key and check; the chunks and a first model's vectors stored,
//     as for SaveDocument's vector path), and of whole documents into the
//     store's tables (chunks with their key, foreign key, tsvector and GIN
//     index, then embeddings): what the schema itself costs, with no
//     idempotence;
//   - SaveDocument adding a model's vectors to stored documents (the
//     vector path: re-embedding, a second model);
//   - SaveDocument of new documents (pages, chunks and vectors);
//   - SaveDocument of the same documents again (nothing to write);
//   - SaveDocument of new documents while the model's HNSW index exists
//     (every vector is inserted into the graph).
//
// Each is run five times, alternately, on emptied tables (setup writes
// checkpointed); the best round counts, as this machine's noise is large.
func BenchmarkIngest(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	rows := envInt("EXTRACTOR_BENCH_INGEST_ROWS", 20000)
	const dims, model, rounds = 384, "bench-ingest", 5
	rng := rand.New(rand.NewPCG(1, 2))
	sp := newEmbeddingSpace(rng, dims)
	if _, err := s.pool.Exec(ctx, "CREATE TABLE bench_raw (chunk_id text, model text, dims integer, vec vector)"); err != nil {
		b.Fatal(err)
	}
	type shape struct {
		name   string
		perDoc int
	}
	shapes := []shape{{"1 document", rows}, {"documents of 1000 chunks", 1000}, {"documents of 50 chunks", 50}}
	data := map[string][]pipeline.StoredDocument{}
	second := map[string][]pipeline.StoredDocument{} // the same chunks, another model's vectors
	for _, sh := range shapes {
		data[sh.name] = benchDocs(rng, sp, model, sh.name, rows, sh.perDoc)
		for _, d := range data[sh.name] {
			d.Embeddings = slices.Clone(d.Embeddings)
			for i := range d.Embeddings {
				d.Embeddings[i].Model = model + "-2"
			}
			second[sh.name] = append(second[sh.name], d)
		}
	}
	whole := data[shapes[0].name][0]
	raw := whole.Embeddings

	reset := func() {
		if _, err := s.pool.Exec(ctx, "TRUNCATE bench_raw, documents, pages, chunks, embeddings, extractions; CHECKPOINT"); err != nil {
			b.Fatal(err)
		}
	}
	copyVectors := func(table string, raw []pipeline.Embedding) {
		n, err := s.pool.CopyFrom(ctx, pgx.Identifier{table}, []string{"chunk_id", "model", "dims", "vec"},
			pgx.CopyFromSlice(len(raw), func(i int) ([]any, error) {
				e := &raw[i]
				return []any{e.ChunkID, e.Model, len(e.Vector), pgvector.NewVector(e.Vector)}, nil
			}))
		if err != nil || int(n) != len(raw) {
			b.Fatal(n, err)
		}
	}
	copyChunks := func() {
		if _, err := s.pool.Exec(ctx, "INSERT INTO documents (id, size, parser, pages, text_pages, status) VALUES ($1, 1, 'bench', 1, 1, 'ok')", whole.Document.ID); err != nil {
			b.Fatal(err)
		}
		if _, err := s.pool.CopyFrom(ctx, pgx.Identifier{"chunks"}, []string{"id", "document_id", "page", "first_line", "last_line", "text", "tokens"},
			pgx.CopyFromSlice(len(whole.Chunks), func(i int) ([]any, error) {
				c := &whole.Chunks[i]
				return []any{c.ID, c.DocumentID, c.Page, c.FirstLine, c.LastLine, c.Text, c.Tokens}, nil
			})); err != nil {
			b.Fatal(err)
		}
	}
	// Setup writes are checkpointed before a timed part, so that it does
	// not pay for flushing them.
	checkpoint := func() {
		if _, err := s.pool.Exec(ctx, "CHECKPOINT"); err != nil {
			b.Fatal(err)
		}
	}
	timed := func(f func()) time.Duration {
		start := time.Now()
		f()
		return time.Since(start)
	}
	save := func(docs []pipeline.StoredDocument) func() {
		return func() {
			for _, d := range docs {
				if err := s.SaveDocument(ctx, d); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	saveBatches := func(docs []pipeline.StoredDocument, per int) func() {
		return func() {
			for first := 0; first < len(docs); first += per {
				if err := s.SaveDocuments(ctx, docs[first:min(first+per, len(docs))]); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	rate := func(d time.Duration) float64 { return float64(rows) / d.Seconds() }

	// Each path is compared with the ceiling and with raw CopyFrom of the
	// same rows into the same tables (base).
	type path struct{ key, label, base string }
	var paths []path
	add := func(key, label string) {
		if slices.ContainsFunc(paths, func(p path) bool { return p.key == key }) {
			return
		}
		base := "raw-embeddings"
		if strings.HasPrefix(key, "new ") || strings.HasPrefix(key, "again ") || key == "raw-keyed" {
			base = "raw-keyed"
		}
		paths = append(paths, path{key, label, base})
	}
	b.ResetTimer()
	for range b.N {
		best := map[string]time.Duration{}
		keep := func(k, label string, d time.Duration) {
			add(k, label)
			if cur, ok := best[k]; !ok || d < cur {
				best[k] = d
			}
		}
		for range rounds {
			reset()
			keep("raw", "raw CopyFrom, bare table (the ceiling)", timed(func() { copyVectors("bench_raw", raw) }))
			// The same state as for SaveDocument's vector path below: the
			// chunks and another model's vectors are stored.
			reset()
			save(data[shapes[0].name])()
			checkpoint()
			keep("raw-embeddings", "raw CopyFrom of a 2nd model's vectors into the embeddings table", timed(func() { copyVectors("embeddings", second[shapes[0].name][0].Embeddings) }))
			reset()
			keep("raw-keyed", "raw CopyFrom of chunks and vectors into the store's tables", timed(func() { copyChunks(); copyVectors("embeddings", raw) }))
			for _, sh := range shapes {
				reset()
				save(data[sh.name])()
				checkpoint()
				keep("vectors "+sh.name, "SaveDocument: a 2nd model's vectors, "+sh.name, timed(save(second[sh.name])))
			}
			for _, sh := range shapes {
				reset()
				keep("new "+sh.name, "SaveDocument: new documents, "+sh.name, timed(save(data[sh.name])))
				keep("again "+sh.name, "  the same again (nothing written)", timed(save(data[sh.name])))
			}
			// Several documents a call (SaveDocuments): a batch of about
			// 5,000 chunks.
			for _, sh := range shapes[1:] {
				per := max(1, 5000/sh.perDoc)
				reset()
				keep("new batched "+sh.name, fmt.Sprintf("SaveDocuments: new documents, %s, %d a call", sh.name, per), timed(saveBatches(data[sh.name], per)))
			}
		}
		// With the model's HNSW index in place: once, as the build takes a
		// while; the index is dropped afterwards.
		sh := shapes[1]
		reset()
		if _, err := EnsureIndex(ctx, s.pool, model+"-2", dims, IndexOptions{}); err != nil {
			b.Fatal(err)
		}
		save(data[sh.name])()
		checkpoint()
		keep("hnsw", "SaveDocument: a model's vectors into its HNSW index, "+sh.name, timed(save(second[sh.name])))
		if _, err := s.pool.Exec(ctx, "DROP INDEX "+IndexName(model+"-2", dims)); err != nil {
			b.Fatal(err)
		}

		rawRate := rate(best["raw"])
		fmt.Printf("\ningest of %d embedding rows (%d dims, binary COPY), best of %d rounds:\n", rows, dims, rounds)
		fmt.Printf("  %-68s %9s  %8s  %s\n", "path", "rows/s", "of bare", "of raw CopyFrom into the same tables")
		for _, p := range paths {
			r := rate(best[p.key])
			same := ""
			if p.key != "raw" && p.key != p.base {
				same = fmt.Sprintf("%6.1f%%", 100*r/rate(best[p.base]))
			}
			fmt.Printf("  %-68s %9.0f  %7.1f%%  %s\n", p.label, r, 100*r/rawRate, same)
		}
		b.ReportMetric(rawRate, "raw-rows/s")
		b.ReportMetric(rate(best["vectors "+shapes[1].name]), "vectors-rows/s")
		b.ReportMetric(rate(best["vectors "+shapes[1].name])/rate(best["raw-embeddings"]), "vectors-ratio")
		b.ReportMetric(rate(best["new "+shapes[1].name])/rate(best["raw-keyed"]), "new-docs-ratio-keyed")
		b.ReportMetric(rate(best["new batched "+shapes[2].name])/rawRate, "batched-50-of-bare")
		var fsync, syncCommit string
		s.pool.QueryRow(ctx, "SELECT current_setting('fsync'), current_setting('synchronous_commit')").Scan(&fsync, &syncCommit)
		fmt.Printf("  (server settings: fsync %s, synchronous_commit %s%s)\n", fsync, syncCommit,
			map[bool]string{true: ": NOT durable, figures of a test cluster", false: ""}[fsync == "off" || syncCommit == "off"])
	}
}

// ---------------------------------------------------------------- search

// BenchmarkSearch measures the HNSW index at 100k chunks of 384-dimension
// embedding-like vectors (see embeddingSpace): the build (time and
// maintenance_work_mem), then recall@10 against exact search and the
// latency of Search (Vector mode, K 10: the whole call, with its
// transaction and settings) at ef_search 40 and 100, for queries drawn
// from the same distribution but not in the table.
func BenchmarkSearch(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	rows := envInt("EXTRACTOR_BENCH_SEARCH_ROWS", 100000)
	nq := envInt("EXTRACTOR_BENCH_QUERIES", 300)
	const dims, k, model = 384, 10, "bench-search"
	rng := rand.New(rand.NewPCG(3, 4))
	sp := newEmbeddingSpace(rng, dims)

	start := time.Now()
	for first := 0; first < rows; first += 10000 { // generate in slices: bounded memory
		for _, d := range benchDocs(rng, sp, model, fmt.Sprint("s", first), min(10000, rows-first), 1000) {
			if err := s.SaveDocument(ctx, d); err != nil {
				b.Fatal(err)
			}
		}
	}
	load := time.Since(start)
	if _, err := s.pool.Exec(ctx, "VACUUM ANALYZE documents, chunks, embeddings"); err != nil {
		b.Fatal(err)
	}
	queries := make([][]float32, nq)
	for i := range queries {
		_, queries[i] = sp.draw(rng)
	}

	b.ResetTimer()
	for range b.N {
		idx, err := EnsureIndex(ctx, s.pool, model, dims, IndexOptions{})
		if err != nil {
			b.Fatal(err)
		}
		var size string
		if err := s.pool.QueryRow(ctx, "SELECT pg_size_pretty(pg_relation_size(to_regclass($1)))", idx.Name).Scan(&size); err != nil {
			b.Fatal(err)
		}

		exact := make([][]string, nq)
		var exactTimes []time.Duration
		for i, q := range queries {
			t0 := time.Now()
			if exact[i], err = s.ExactSearch(ctx, model, q, k); err != nil {
				b.Fatal(err)
			}
			exactTimes = append(exactTimes, time.Since(t0))
		}

		type result struct {
			ef       int
			recall   float64
			p50, p95 time.Duration
		}
		var results []result
		for _, ef := range []int{40, 100} {
			for _, q := range queries[:min(20, nq)] { // warm the cache
				if _, err := s.Search(ctx, Query{Vector: q, Model: model, Mode: Vector, K: k, EfSearch: ef}); err != nil {
					b.Fatal(err)
				}
			}
			var times []time.Duration
			found := 0
			for i, q := range queries {
				t0 := time.Now()
				hits, err := s.Search(ctx, Query{Vector: q, Model: model, Mode: Vector, K: k, EfSearch: ef})
				times = append(times, time.Since(t0))
				if err != nil {
					b.Fatal(err)
				}
				for _, h := range hits {
					if slices.Contains(exact[i], h.ChunkID) {
						found++
					}
				}
			}
			p50, p95 := percentiles(times)
			results = append(results, result{ef, float64(found) / float64(nq*k), p50, p95})
		}
		e50, e95 := percentiles(exactTimes)

		// What the data looks like, as cosines (1 - distance).
		randomCos, topicCos := sp.cosines(rand.New(rand.NewPCG(5, 6)))
		var nn1, nn10 float64
		probe := min(20, nq)
		for _, q := range queries[:probe] {
			rows, err := s.pool.Query(ctx, "SELECT 1 - (vec <=> $1) FROM embeddings WHERE model = $2 ORDER BY vec <=> $1 LIMIT 10", pgvector.NewVector(q), model)
			if err != nil {
				b.Fatal(err)
			}
			cos, err := pgx.CollectRows(rows, pgx.RowTo[float64])
			if err != nil || len(cos) != 10 {
				b.Fatal(len(cos), err)
			}
			nn1 += cos[0] / float64(probe)
			nn10 += cos[9] / float64(probe)
		}

		fmt.Printf("\nsearch: %d chunks × %d dims, embedding-like (%d topics in %d subjects, ~%.0f effective noise dimensions), %d queries not in the table, k=%d\n",
			rows, dims, len(sp.centres), benchSubjects, sp.effectiveDims(), nq, k)
		fmt.Printf("  cosine of random pairs %.2f, of same-topic pairs %.2f; a query's 1st neighbour %.2f, 10th %.2f\n", randomCos, topicCos, nn1, nn10)
		fmt.Printf("  load (SaveDocument, 1000 chunks a document): %v, %.0f rows/s\n", load.Round(time.Millisecond), float64(rows)/load.Seconds())
		fmt.Printf("  HNSW build: %v (m=16, ef_construction=64, maintenance_work_mem=%s), index %s\n", idx.Duration.Round(time.Millisecond), idx.MaintenanceWorkMem, size)
		fmt.Printf("  %-10s %10s %10s %10s\n", "ef_search", "recall@10", "p50", "p95")
		for _, r := range results {
			fmt.Printf("  %-10d %10.3f %10v %10v\n", r.ef, r.recall, r.p50.Round(10*time.Microsecond), r.p95.Round(10*time.Microsecond))
		}
		fmt.Printf("  %-10s %10.3f %10v %10v\n", "exact", 1.0, e50.Round(10*time.Microsecond), e95.Round(10*time.Microsecond))
		for _, r := range results {
			b.ReportMetric(r.recall, fmt.Sprintf("recall@10-ef%d", r.ef))
			b.ReportMetric(float64(r.p95.Microseconds())/1000, fmt.Sprintf("p95-ms-ef%d", r.ef))
		}
		b.ReportMetric(idx.Duration.Seconds(), "build-s")

		if os.Getenv("EXTRACTOR_BENCH_COMPARE_MWM") != "" {
			if _, err := s.pool.Exec(ctx, "DROP INDEX "+idx.Name); err != nil {
				b.Fatal(err)
			}
			small, err := EnsureIndex(ctx, s.pool, model, dims, IndexOptions{MaintenanceWorkMemMB: 64})
			if err != nil {
				b.Fatal(err)
			}
			fmt.Printf("  HNSW build with maintenance_work_mem=%s: %v (the %s build was %.1f× faster)\n", small.MaintenanceWorkMem,
				small.Duration.Round(time.Millisecond), idx.MaintenanceWorkMem, small.Duration.Seconds()/idx.Duration.Seconds())
		}
	}
}

func percentiles(ds []time.Duration) (p50, p95 time.Duration) {
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[len(ds)/2], ds[min(len(ds)-1, len(ds)*95/100)]
}
