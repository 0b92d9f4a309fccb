package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/extractor-dev/extractor/evals"
	"github.com/extractor-dev/extractor/internal/llmtest"
	"github.com/extractor-dev/extractor/internal/testenv"
	"github.com/extractor-dev/extractor/server"
	"github.com/extractor-dev/extractor/store"
	"github.com/extractor-dev/extractor/tracing"
)

// testDatabase returns the DSN of a new, empty schema of the test
// database (first on the search_path; pgvector stays in public), dropped
// when the test ends.
func testDatabase(t *testing.T) string {
	t.Helper()
	return testenv.SchemaURL(t, "cmd_test_")
}

// stdoutOK runs the CLI, expecting success, and returns its stdout.
func stdoutOK(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	_, r := runOK(t, env, args...)
	return r.stdout
}

// tableRows counts every table's rows, as 'db status' does.
func tableRows(t *testing.T, dsn string) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	pool, err := store.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	st, err := store.New(pool, store.Config{}).Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return st.Rows
}

// storedEnv migrates a new schema and returns the environment of commands
// using it, sharing one state directory.
func storedEnv(t *testing.T) map[string]string {
	t.Helper()
	env := map[string]string{"EXTRACTOR_DATABASE_URL": testDatabase(t), "EXTRACTOR_STATE": t.TempDir()}
	out := stdoutOK(t, env, "db", "migrate")
	mustContain(t, "db migrate", out, "database schema at version 7")
	return env
}

// A run with a database stores the documents, chunks, vectors and
// extractions; running the same batch again leaves every data table's row
// count as it was, and adds only the new run's lineage.
func TestRunStoresIdempotently(t *testing.T) {
	env := storedEnv(t)
	dir := testdataDir(t)
	_, r := runOK(t, env, "run", dir)
	mustContain(t, "run", r.stderr, "built vector index embeddings_hnsw_", "20 documents: 20 ok")
	first := tableRows(t, env["EXTRACTOR_DATABASE_URL"])
	if first["documents"] != 20 || first["extractions"] != 20 || first["chunks"] < 20 || first["embeddings"] != first["chunks"] ||
		first["pages"] < 20 || first["runs"] != 1 || first["step_records"] != 20*6 || first["spans"] == 0 || first["step_cache"] == 0 {
		t.Fatalf("after one run: %v", first)
	}
	_, r = runOK(t, env, "run", dir)
	if strings.Contains(r.stderr, "built vector index") {
		t.Error("the second run built the index again")
	}
	second := tableRows(t, env["EXTRACTOR_DATABASE_URL"])
	for _, table := range []string{"documents", "pages", "chunks", "embeddings", "extractions", "step_cache"} {
		if second[table] != first[table] {
			t.Errorf("%s: %d rows after the second run, %d after the first", table, second[table], first[table])
		}
	}
	if second["runs"] != 2 || second["step_records"] != 2*20*6 || second["spans"] <= first["spans"] || first["results"] != 20 || second["results"] != 40 {
		t.Errorf("lineage after the second run: %v (first: %v)", second, first)
	}
	out := stdoutOK(t, env, "db", "status")
	mustContain(t, "db status", out, "up to date", "embeddings hashing/1 (384 dimensions)", "HNSW index embeddings_hnsw_")
	if !regexp.MustCompile(`\n  documents +20\n`).MatchString(out) {
		t.Errorf("db status:\n%s", out)
	}
	// Its table is aligned: every count ends in the same column, however
	// long the table's name.
	ends := map[int]bool{}
	for _, l := range strings.Split(out, "\n") {
		if regexp.MustCompile(`^  [a-z_]+ +[0-9]+$`).MatchString(l) {
			ends[len(l)] = true
		}
	}
	if len(ends) != 1 {
		t.Errorf("db status rows end in %d columns:\n%s", len(ends), out)
	}
	// A filter on a field that does not exist is a usage error naming the
	// fields that do.
	if r := run(t, env, "search", "Rechnung", "--filter", "totl_amount>=5"); r.code != 2 || !strings.Contains(r.stderr, "total_amount") {
		t.Errorf("search with an unknown field: exit %d: %s", r.code, r.stderr)
	}

	// The database is optional: --no-store leaves it alone.
	_, r = runOK(t, env, "run", "--no-store", sample(t, "synth-0002.pdf"))
	if got := tableRows(t, env["EXTRACTOR_DATABASE_URL"]); got["runs"] != 2 {
		t.Errorf("--no-store saved a run: %v (%s)", got, r.stderr)
	}
}

func TestDatabaseNotReady(t *testing.T) {
	env := map[string]string{"EXTRACTOR_DATABASE_URL": testDatabase(t)}
	for _, args := range [][]string{{"run", sample(t, "synth-0001.pdf")}, {"search", "total"}, {"db", "status"}} {
		r := run(t, env, args...)
		if r.code == 0 || !strings.Contains(r.stderr, "extractor db migrate") {
			t.Errorf("%v on an unmigrated database: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
	for _, args := range [][]string{{"search", "total"}, {"ask", "total?"}, {"db", "migrate"}, {"eval", "--retrieval", "--dataset", testenv.Testdata(t, "invoices")}} {
		r := run(t, nil, args...)
		if r.code != 2 || !strings.Contains(r.stderr, "EXTRACTOR_DATABASE_URL") {
			t.Errorf("%v without a database: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
	bad := map[string]string{"EXTRACTOR_DATABASE_URL": "postgres://nobody:s3cret-pw@127.0.0.1:1/none?connect_timeout=2"}
	r := run(t, bad, "search", "total")
	if r.code != 1 || strings.Contains(r.stderr, "s3cret-pw") || !strings.Contains(r.stderr, "database") {
		t.Errorf("unreachable database: exit %d, stderr %q (the password must not show)", r.code, r.stderr)
	}
}

func TestSearchCommand(t *testing.T) {
	env := storedEnv(t)
	runOK(t, env, "run", testdataDir(t))

	out := stdoutOK(t, env, "search", "Rechnungsbetrag Richter Gebäudereinigung", "--k", "3")
	mustContain(t, "search", out, "synth-0001.pdf", "score ", "vector #", "text #", "hybrid search, 3 hits; trace ")
	if first := strings.SplitN(out, "\n", 2)[0]; !strings.Contains(first, "synth-0001.pdf") {
		t.Errorf("first hit: %s", first)
	}

	out = stdoutOK(t, env, "search", "Rechnungsbetrag", "-o", "json", "--mode", "text")
	var hits []server.SearchHit
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var h server.SearchHit
		if err := json.Unmarshal([]byte(l), &h); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		hits = append(hits, h)
	}
	if len(hits) == 0 || len(hits) > 10 {
		t.Fatalf("%d hits", len(hits))
	}
	for i, h := range hits {
		if h.Rank != i+1 || h.TextRank != i+1 || h.VectorRank != 0 || len(h.DocumentID) != 64 || h.Page < 1 ||
			!strings.Contains(strings.ToLower(h.Text), "rechnungsbetrag") {
			t.Errorf("hit %d: %+v", i, h)
		}
	}

	// Filters on the extracted fields.
	out = stdoutOK(t, env, "search", "invoice total", "--filter", "vendor_name~brookfield", "-o", "json")
	sources := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var h server.SearchHit
		json.Unmarshal([]byte(l), &h)
		sources[filepath.Base(h.Source)] = true
	}
	if want := map[string]bool{"synth-0002.pdf": true, "synth-0018.pdf": true}; !maps.Equal(sources, want) {
		t.Errorf("vendor_name~brookfield: %v, want %v", sources, want)
	}
	out = stdoutOK(t, env, "search", "total", "--filter", "total_amount>=24000", "--filter", "issue_date=2022-01-01..2023-12-31", "-o", "json")
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var h server.SearchHit
		json.Unmarshal([]byte(l), &h)
		if b := filepath.Base(h.Source); b != "synth-0004.pdf" && b != "synth-0018.pdf" {
			t.Errorf("total >= 24000 in 2022-2023: %s", b)
		}
	}
	out = stdoutOK(t, env, "search", "total", "--filter", "vendor_name=nobody")
	mustContain(t, "no match", out, "no chunks match")

	for _, args := range [][]string{
		{"search", "x", "--filter", "Vendor Name=x"},
		{"search", "x", "--filter", "total_amount>=lots"},
		{"search", "x", "--filter", "document=abc"},
		{"search", "x", "--mode", "fuzzy"},
		{"search", "x", "--k", "0"},
		{"search", "x", "--match", "some"},
		{"search"},
	} {
		if r := run(t, env, args...); r.code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, r.code, r.stderr)
		}
	}
}

var passageRe = regexp.MustCompile(`\[([0-9a-f]{32})\] [^\n]*, page \d+:\n([^\[]*)`)

func TestAskCommand(t *testing.T) {
	env := storedEnv(t)
	runOK(t, env, "run", testdataDir(t))
	question := "Wie hoch ist der Rechnungsbetrag der Rechnung RE-20221127/3 von Richter Gebäudereinigung?"

	// Without an LLM: the passages.
	out := stdoutOK(t, env, "ask", question)
	mustContain(t, "ask without LLM", out, "no LLM configured", "synth-0001.pdf", "trace ")

	srv := llmtest.NewServer(t)
	srv.Chat(func(req llmtest.ChatRequest) llmtest.Reply {
		user := req.Messages[len(req.Messages)-1].Content
		for _, m := range passageRe.FindAllStringSubmatch(user, -1) {
			if strings.Contains(m[2], "8.529,18") {
				return llmtest.ToolCall("answer", fmt.Sprintf(`{"found": true, "answer": "8.529,18 €", "citations": [
					{"chunk_id": %q, "quote": "RECHNUNGSBETRAG 8.529,18 €"}, {"chunk_id": %q, "quote": "a quote that is not there"}]}`, m[1], m[1])).Usage(900, 40)
			}
		}
		return llmtest.ToolCall("answer", `{"found": false, "answer": null, "citations": []}`).Usage(900, 10)
	})
	llmEnv := maps.Clone(env)
	llmEnv["EXTRACTOR_LLM_BASE_URL"] = srv.URL + "/v1"
	llmEnv["EXTRACTOR_LLM_MODEL"] = "gpt-4o-mini"
	out = stdoutOK(t, llmEnv, "ask", question)
	mustContain(t, "ask", out, "8.529,18 €", "Sources:", "synth-0001.pdf page 1", "quote checked", "QUOTE NOT FOUND",
		"problem: the quote cited from chunk", "model gpt-4o-mini, 900+40 tokens, $")

	out = stdoutOK(t, llmEnv, "ask", "What is the IBAN of ACME Ltd?", "-o", "json", "--k", "2")
	var res askResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err, out)
	}
	if res.Answer == nil || res.Answer.Found || res.Answer.Text != "" || len(res.Passages) != 2 || len(res.TraceID) != 32 {
		t.Errorf("not found: %+v", res)
	}

	// Both asks are traced: ask > retrieve > embed_query, and answer > the
	// model call.
	spans, err := tracing.ReadSpanFile(filepath.Join(env["EXTRACTOR_STATE"], "queries", "spans.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]int{}
	for _, s := range spans {
		names[s.Name]++
	}
	// The search statement is traced too (otelpgx), without its parameters.
	if names["ask"] != 3 || names["retrieve"] != 3 || names["embed_query"] != 3 || names["answer"] != 2 || names["chat gpt-4o-mini"] != 2 || names["WITH"] < 3 {
		t.Errorf("spans: %v", names)
	}
	if data, _ := os.ReadFile(filepath.Join(env["EXTRACTOR_STATE"], "queries", "spans.jsonl")); strings.Contains(string(data), "Rechnungsbetrag der Rechnung") {
		t.Error("the question was recorded on a span without --capture-content")
	}
}

// The retrieval eval over the samples: every question's answer page is
// found in the top 5 in every mode (the offline embedder included).
func TestEvalRetrieval(t *testing.T) {
	env := storedEnv(t)
	report := filepath.Join(t.TempDir(), "report.json")
	out := stdoutOK(t, env, "eval", "--retrieval", "--dataset", testenv.Testdata(t, "invoices"), "--out", report)
	mustContain(t, "eval --retrieval", out, "retrieval: 80 questions over 20 documents, embedder hashing/1 dims=384", "recall@5", "iban questions")
	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var rep evals.Report
	if err := json.Unmarshal(data, &rep); err != nil || rep.Retrieval == nil {
		t.Fatalf("%v %s", err, data)
	}
	for _, s := range rep.Retrieval.Scores {
		if s.Questions != 80 || s.Recall[5] < 0.99 || s.MRR < 0.8 {
			t.Errorf("%s: %+v", s.Mode, s)
		}
	}
	if len(rep.Retrieval.Questions) != 80 || rep.Retrieval.Questions[0].Ranks["hybrid"] == 0 {
		t.Errorf("questions: %d, first %+v", len(rep.Retrieval.Questions), rep.Retrieval.Questions[0])
	}
}

// The trace id 'ask' prints leads to its trace.
func TestQueryTraceShow(t *testing.T) {
	env := storedEnv(t)
	runOK(t, env, "run", sample(t, "synth-0001.pdf"))
	out := stdoutOK(t, env, "ask", "Rechnungsbetrag?")
	m := regexp.MustCompile(`trace ([0-9a-f]{32})`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no trace id in %s", out)
	}
	out = stdoutOK(t, env, "traces", "show", m[1])
	mustContain(t, "traces show", out, "ask", "retrieve", "embed_query")
}

// A run made without a database is not in the web pages: they say so, and
// how to store one, rather than a bare 404.
func TestWebSaysWhenARunWasNotStored(t *testing.T) {
	env := storedEnv(t)
	_, r := runOK(t, env, "run", "--no-store", sample(t, "synth-0002.pdf"))
	id := runID(t, r.stderr)
	st, err := openStore(context.Background(), env["EXTRACTOR_DATABASE_URL"], searchConfig{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Pool().Close()
	_, _, err = review{s: &service{st: st}}.RunResults(context.Background(), id)
	if !errors.Is(err, server.ErrNotFound) || !strings.Contains(err.Error(), "not in the database") || !strings.Contains(err.Error(), "EXTRACTOR_DATABASE_URL") {
		t.Errorf("err = %v", err)
	}
}
