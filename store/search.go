package store

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"
)

// Mode says which lists a search ranks by.
type Mode int

// Search modes.
const (
	// Hybrid fuses the vector and the full-text lists (the default); with
	// only Text or only Vector given, it is that list alone.
	Hybrid Mode = iota
	// Vector ranks by cosine distance to Query.Vector.
	Vector
	// Text ranks by full-text relevance to Query.Text.
	Text
)

func (m Mode) String() string {
	switch m {
	case Hybrid:
		return "hybrid"
	case Vector:
		return "vector"
	case Text:
		return "text"
	}
	return "Mode(" + strconv.Itoa(int(m)) + ")"
}

// Op compares an extracted field's value.
type Op int

// Field comparisons.
const (
	// Equals: the value equals FieldFilter.Value, ignoring case.
	Equals Op = iota
	// Contains: the value contains FieldFilter.Value, ignoring case (a
	// plain substring: % and _ are not wildcards).
	Contains
	// Between: From <= value <= To as text (ISO dates compare as text);
	// an empty bound is open.
	Between
	// GreaterOrEqual: value >= Value as numbers (values that are not plain
	// decimal numbers do not match).
	GreaterOrEqual
	// LessOrEqual: value <= Value as numbers.
	LessOrEqual
)

// Match says which chunks the full-text list takes.
type Match int

// Full-text matching.
const (
	// MatchAny: chunks with any word of the text (stop words aside),
	// ranked by how many of its words they have and how often; for
	// questions in natural language (the default).
	MatchAny Match = iota
	// MatchAll: the text is a web search query (websearch_to_tsquery):
	// chunks with every word, "quoted phrases" in order, a OR b, -excluded.
	MatchAll
)

// Query is a search over the chunks.
type Query struct {
	// Text is matched against the chunks' words with the extractor_text
	// configuration (lower-cased, no stemming, no English, German or
	// French stop words), as Match says.
	Text  string
	Match Match
	// Vector is the query's embedding by Model (same dimensions as the
	// stored vectors searched).
	Vector []float32
	Model  string
	// K is how many hits to return (default 10, at most 1000).
	K    int
	Mode Mode
	// Filter restricts the documents searched.
	Filter Filter
	// EfSearch is hnsw.ef_search for the vector list (default
	// Config.EfSearch, 100; raised to the list's depth when that is
	// larger, since HNSW returns at most ef_search rows per scan).
	EfSearch int
}

// Filter restricts a search to documents; its parts are ANDed.
type Filter struct {
	// DocumentIDs, when not empty, lists the documents to search.
	DocumentIDs []string
	// Schema keeps documents with an extraction of this schema; it also
	// picks which extraction Fields look at.
	Schema string
	// Fields compare values of each document's latest extraction (of
	// Schema, when set).
	Fields []FieldFilter
}

func (f Filter) empty() bool {
	return len(f.DocumentIDs) == 0 && f.Schema == "" && len(f.Fields) == 0
}

// FieldFilter compares the normalized value of an extracted field.
type FieldFilter struct {
	// Name is a scalar field of the schema ("vendor_name"): lower-case
	// letters, digits and _.
	Name string
	Op   Op
	// Value for Equals, Contains, GreaterOrEqual and LessOrEqual.
	Value string
	// From and To for Between.
	From, To string
}

// Hit is a chunk found by a search, with how it ranked.
type Hit struct {
	ChunkID    string
	DocumentID string
	// Source is the document's source (its latest path).
	Source    string
	Page      int
	FirstLine int
	LastLine  int
	Text      string
	// Score is the Reciprocal Rank Fusion score: the sum over the lists
	// the chunk is in of 1/(k + rank).
	Score float64
	// VectorRank and TextRank are 1-based ranks in each list, 0 when the
	// chunk is not in that list.
	VectorRank, TextRank int
	// VectorDistance is the cosine distance (0 when not in the vector
	// list); TextScore is ts_rank (0 when not in the text list).
	VectorDistance, TextScore float64
}

var (
	fieldNamePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	numberPattern    = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)
)

const maxK = 1000

// Search finds the chunks that best match q. In Hybrid mode the vector and
// the full-text lists are computed and fused in one SQL statement:
//
//   - the vector list: the top chunks by cosine distance between
//     vec::vector(D) and q.Vector among q.Model's embeddings, through the
//     model's HNSW index (EnsureIndex) when there is one, with
//     hnsw.ef_search set for the transaction and, under a filter,
//     hnsw.iterative_scan = relaxed_order so that the index scan goes on
//     until enough rows pass the filter (pgvector >= 0.8; the list is then
//     re-ordered by exact distance, and the scan stops after
//     hnsw.max_scan_tuples, 20 000 by default). Under a very selective
//     filter the planner rather reads the allowed documents' chunks and
//     ranks them exactly; without an index the list is exact too;
//   - the text list: the top chunks by ts_rank of their tsvector against
//     q.Text's words ORed (MatchAny) or websearch_to_tsquery of it
//     (MatchAll), through the GIN index;
//   - fusion: score = Σ 1/(k + rank) over the lists a chunk is in
//     (Reciprocal Rank Fusion, k = Config.RRFK), ties broken by chunk id.
//
// Filter values and field names are always passed as parameters; field
// names must also match a strict pattern. Only the model name (checked
// against its pattern and quoted) and integers are written into the SQL,
// because the planner must see them to use the model's partial index.
func (s *Store) Search(ctx context.Context, q Query) ([]Hit, error) {
	sq, err := s.buildSearch(q)
	if err != nil {
		return nil, err
	}
	conn, err := s.acquire(ctx, false)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, sq.settings); err != nil {
		return nil, err
	}
	rows, err := tx.Query(ctx, sq.sql, sq.args...)
	if err != nil {
		return nil, fmt.Errorf("store: search: %w", err)
	}
	hits, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Hit, error) {
		var h Hit
		err := r.Scan(&h.ChunkID, &h.DocumentID, &h.Source, &h.Page, &h.FirstLine, &h.LastLine, &h.Text,
			&h.Score, &h.VectorRank, &h.VectorDistance, &h.TextRank, &h.TextScore)
		return h, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: search: %w", err)
	}
	return hits, tx.Commit(ctx)
}

// builtSearch is a search's SQL: settings for its transaction (SET LOCAL
// statements), the statement and its arguments.
type builtSearch struct {
	settings string
	sql      string
	args     []any
}

// buildSearch checks q and writes its SQL.
func (s *Store) buildSearch(q Query) (builtSearch, error) {
	var out builtSearch
	if q.K <= 0 {
		q.K = 10
	}
	if q.K > maxK {
		return out, invalid("K %d is above %d", q.K, maxK)
	}
	useVec, useText := len(q.Vector) > 0, strings.TrimSpace(q.Text) != ""
	switch q.Mode {
	case Hybrid:
		if !useVec && !useText {
			return out, invalid("a hybrid search needs a text, a vector or both")
		}
	case Vector:
		if !useVec {
			return out, invalid("a vector search needs a vector")
		}
		useText = false
	case Text:
		if !useText {
			return out, invalid("a text search needs a text")
		}
		useVec = false
	default:
		return out, invalid("search mode %v", q.Mode)
	}
	// Each list goes as deep as the fusion needs: K for a single list, the
	// configured depth when two lists are fused.
	depth := q.K
	if useVec && useText {
		depth = max(q.K, s.cfg.Candidates)
	}

	args := []any{}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}

	var with []string
	filtered := !q.Filter.empty()
	if filtered {
		allowed, err := filterSQL(q.Filter, arg)
		if err != nil {
			return out, err
		}
		with = append(with, "allowed AS (\n"+allowed+"\n)")
	}

	// JIT compiling costs more than it saves on queries this short, and
	// makes latency unpredictable when a large candidate list pushes the
	// estimated cost over the threshold.
	settings := []string{"SET LOCAL jit = off"}
	rrfK := arg(s.cfg.RRFK)
	if useVec {
		if err := checkModel(q.Model); err != nil {
			return out, err
		}
		if err := checkVector(q.Vector); err != nil {
			return out, err
		}
		model, err := quoteLiteral(q.Model)
		if err != nil {
			return out, err
		}
		ef := q.EfSearch
		if ef <= 0 {
			ef = s.cfg.EfSearch
		}
		ef = min(max(ef, depth), 1000) // pgvector's range is 1-1000
		settings = append(settings, fmt.Sprintf("SET LOCAL hnsw.ef_search = %d", ef))
		if filtered {
			settings = append(settings, "SET LOCAL hnsw.iterative_scan = relaxed_order")
		}
		dims := len(q.Vector)
		// The expression and the predicate must be the index's, word for
		// word, for the planner to use it: vec::vector(D), model and dims
		// as literals.
		dist := fmt.Sprintf("(e.vec::vector(%d) <=> %s::vector)", dims, arg(pgvector.NewVector(q.Vector)))
		join, cond := "", ""
		if filtered {
			join = "\n    JOIN chunks fc ON fc.id = e.chunk_id"
			cond = "\n      AND fc.document_id IN (SELECT id FROM allowed)"
		}
		with = append(with, fmt.Sprintf(`vec_list AS MATERIALIZED (
    SELECT e.chunk_id, %[1]s AS distance
    FROM embeddings e%[2]s
    WHERE e.model = %[3]s AND e.dims = %[4]d%[5]s
    ORDER BY %[1]s
    LIMIT %[6]s
)`, dist, join, model, dims, cond, arg(depth)),
			`vec_ranked AS (
    SELECT chunk_id, distance, row_number() OVER (ORDER BY distance, chunk_id) AS rank FROM vec_list
)`)
	} else {
		with = append(with, `vec_ranked AS (
    SELECT NULL::text AS chunk_id, NULL::float8 AS distance, NULL::bigint AS rank WHERE false
)`)
	}
	if useText {
		cond := ""
		if filtered {
			cond = "\n      AND c.document_id IN (SELECT id FROM allowed)"
		}
		var query string
		switch q.Match {
		case MatchAny:
			// The text's lexemes, quoted for tsquery's syntax, ORed.
			query = fmt.Sprintf(`(SELECT coalesce(string_agg('''' || replace(replace(l, '\', '\\'), '''', '''''') || '''', ' | '), '')::tsquery
        FROM unnest(tsvector_to_array(to_tsvector('extractor_text', %s::text))) AS l)`, arg(q.Text))
		case MatchAll:
			query = fmt.Sprintf("websearch_to_tsquery('extractor_text', %s::text)", arg(q.Text))
		default:
			return out, invalid("text match %d", q.Match)
		}
		with = append(with, fmt.Sprintf(`text_list AS MATERIALIZED (
    SELECT c.id AS chunk_id, ts_rank(c.tsv, tq.query) AS score
    FROM chunks c, %s AS tq(query)
    WHERE c.tsv @@ tq.query%s
    ORDER BY score DESC, c.id
    LIMIT %s
)`, query, cond, arg(depth)),
			`text_ranked AS (
    SELECT chunk_id, score, row_number() OVER (ORDER BY score DESC, chunk_id) AS rank FROM text_list
)`)
	} else {
		with = append(with, `text_ranked AS (
    SELECT NULL::text AS chunk_id, NULL::real AS score, NULL::bigint AS rank WHERE false
)`)
	}
	with = append(with, fmt.Sprintf(`fused AS (
    SELECT coalesce(v.chunk_id, t.chunk_id) AS chunk_id,
        coalesce(1.0::float8 / (%[1]s::integer + v.rank), 0) + coalesce(1.0::float8 / (%[1]s::integer + t.rank), 0) AS score,
        coalesce(v.rank, 0)::integer AS vector_rank, coalesce(v.distance, 0)::float8 AS vector_distance,
        coalesce(t.rank, 0)::integer AS text_rank, coalesce(t.score, 0)::float8 AS text_score
    FROM vec_ranked v FULL JOIN text_ranked t ON t.chunk_id = v.chunk_id
)`, rrfK))

	out.sql = "WITH " + strings.Join(with, ",\n") + fmt.Sprintf(`
SELECT f.chunk_id, c.document_id, d.source, c.page, c.first_line, c.last_line, c.text,
    f.score, f.vector_rank, f.vector_distance, f.text_rank, f.text_score
FROM fused f
JOIN chunks c ON c.id = f.chunk_id
JOIN documents d ON d.id = c.document_id
ORDER BY f.score DESC, f.chunk_id
LIMIT %s`, arg(q.K))
	out.args = args
	out.settings = strings.Join(settings, "; ")
	return out, nil
}

// filterSQL writes the query of the allowed documents' ids. Every value
// is a parameter; the SQL around them is fixed text.
func filterSQL(f Filter, arg func(any) string) (string, error) {
	var conds []string
	if len(f.DocumentIDs) > 0 {
		conds = append(conds, "d.id = ANY("+arg(f.DocumentIDs)+"::text[])")
	}
	schemaCond := ""
	if f.Schema != "" {
		p := arg(f.Schema)
		conds = append(conds, "EXISTS (SELECT 1 FROM extractions xs WHERE xs.document_id = d.id AND xs.schema_name = "+p+")")
		schemaCond = " AND x.schema_name = " + p
	}
	from := "documents d"
	if len(f.Fields) > 0 {
		// The latest extraction of each document (of the schema, if given).
		from += `
    JOIN LATERAL (
        SELECT x.extraction FROM extractions x
        WHERE x.document_id = d.id` + schemaCond + `
        ORDER BY x.created_at DESC, x.id DESC
        LIMIT 1
    ) l ON true`
	}
	for _, ff := range f.Fields {
		if !fieldNamePattern.MatchString(ff.Name) {
			return "", invalid("field name %q: must match %s", ff.Name, fieldNamePattern)
		}
		value := "(l.extraction->'fields'->" + arg(ff.Name) + "::text->>'value')"
		switch ff.Op {
		case Equals:
			conds = append(conds, "lower("+value+") = lower("+arg(ff.Value)+"::text)")
		case Contains:
			conds = append(conds, "strpos(lower("+value+"), lower("+arg(ff.Value)+"::text)) > 0")
		case Between:
			if ff.From == "" && ff.To == "" {
				return "", invalid("field %s: Between needs From, To or both", ff.Name)
			}
			if ff.From != "" {
				conds = append(conds, value+" >= "+arg(ff.From)+"::text")
			}
			if ff.To != "" {
				conds = append(conds, value+" <= "+arg(ff.To)+"::text")
			}
		case GreaterOrEqual, LessOrEqual:
			v := strings.TrimSpace(ff.Value)
			if !numberPattern.MatchString(v) {
				return "", invalid("field %s: %q is not a decimal number", ff.Name, ff.Value)
			}
			op := ">="
			if ff.Op == LessOrEqual {
				op = "<="
			}
			// A value that is not a plain number is NULL here, so it does
			// not match (and cannot make the cast fail).
			num := "(CASE WHEN " + value + " ~ '^-?[0-9]+(\\.[0-9]+)?$' THEN " + value + "::numeric END)"
			conds = append(conds, num+" "+op+" "+arg(v)+"::numeric")
		default:
			return "", invalid("field %s: comparison %d", ff.Name, ff.Op)
		}
	}
	sql := "    SELECT d.id FROM " + from
	if len(conds) > 0 {
		sql += "\n    WHERE " + strings.Join(conds, "\n      AND ")
	}
	return sql, nil
}

// ExactSearch returns the ids of the k chunks nearest to vec among model's
// embeddings, by exact cosine distance over every row (no index): the
// ground truth for measuring the HNSW index's recall.
func (s *Store) ExactSearch(ctx context.Context, model string, vec []float32, k int) ([]string, error) {
	if err := checkModel(model); err != nil {
		return nil, err
	}
	if err := checkVector(vec); err != nil {
		return nil, err
	}
	if k <= 0 {
		k = 10
	}
	conn, err := s.acquire(ctx, false)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SET LOCAL enable_indexscan = off"); err != nil {
		return nil, err
	}
	// Without the cast the expression is not the index's either; rows of
	// other dimensions are filtered out before any distance is computed.
	rows, err := tx.Query(ctx, `
SELECT chunk_id FROM embeddings
WHERE model = $1 AND dims = $2
ORDER BY vec <=> $3, chunk_id
LIMIT $4`, model, len(vec), pgvector.NewVector(vec), k)
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	return ids, tx.Commit(ctx)
}
