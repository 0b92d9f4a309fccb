package history

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/extractor-dev/extractor/pipeline"
)

// memRecords is Records in memory, built by the tests.
type memRecords struct {
	runs    []pipeline.Run
	steps   map[string][]pipeline.StepRecord
	results map[string][]pipeline.ResultLine
}

func (m *memRecords) RunManifests(context.Context) ([]pipeline.Run, error) { return m.runs, nil }
func (m *memRecords) StepRecords(_ context.Context, id string) ([]pipeline.StepRecord, error) {
	return m.steps[id], nil
}
func (m *memRecords) ResultLines(_ context.Context, id string) ([]pipeline.ResultLine, error) {
	return m.results[id], nil
}

// memOutputs is Outputs in memory.
type memOutputs map[string][]byte

func (m memOutputs) Get(_ context.Context, key string) ([]byte, bool, error) {
	b, ok := m[key]
	return b, ok, nil
}

func hashOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

var t0 = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)

func newRecords(ids ...string) *memRecords {
	m := &memRecords{steps: map[string][]pipeline.StepRecord{}, results: map[string][]pipeline.ResultLine{}}
	for i, id := range ids {
		m.runs = append(m.runs, pipeline.Run{ID: id, Started: t0.Add(time.Duration(i) * time.Minute), Versions: map[string]string{}})
	}
	return m
}

func TestResolve(t *testing.T) {
	h := History{Records: newRecords("20261207T100000Z-a1b2c3", "20261207T100000Z-d4e5f6", "20261208T090000Z-a1ffff")}
	for _, tt := range []struct {
		part, want string
		kind       error
	}{
		{"20261207T100000Z-a1b2c3", "20261207T100000Z-a1b2c3", nil},
		{"a1b2c3", "20261207T100000Z-a1b2c3", nil}, // the end, which users copy
		{"d4e5", "20261207T100000Z-d4e5f6", nil},
		{"20261208", "20261208T090000Z-a1ffff", nil},
		{"20261207T100000Z", "", pipeline.ErrInvalid}, // both runs of that second
		{"a1", "", pipeline.ErrInvalid},
		{"zzz", "", pipeline.ErrNotFound},
		{"", "", pipeline.ErrInvalid},
	} {
		got, err := h.Resolve(context.Background(), tt.part)
		if got != tt.want || (tt.kind == nil) != (err == nil) || (tt.kind != nil && !errors.Is(err, tt.kind)) {
			t.Errorf("Resolve(%q) = %q, %v; want %q, %v", tt.part, got, err, tt.want, tt.kind)
		}
	}
	_, err := h.Resolve(context.Background(), "20261207T100000Z")
	if err == nil || !strings.Contains(err.Error(), "a1b2c3") || !strings.Contains(err.Error(), "d4e5f6") {
		t.Errorf("an ambiguous part must name the runs it matches: %v", err)
	}
}

func TestOpenKeepsEachDocumentsLastLine(t *testing.T) {
	rec := newRecords("r1")
	rec.results["r1"] = []pipeline.ResultLine{
		{DocumentID: "d1", File: "/a.pdf", Status: "interrupted"},
		{DocumentID: "d2", File: "/b.pdf", Status: "ok"},
		{DocumentID: "d1", File: "/a.pdf", Status: "ok"},
		{DocumentID: "d2", File: "/b.pdf", Status: "interrupted"}, // does not undo a finished line
		{File: "/unreadable.pdf", Status: "failed"},
	}
	run, err := History{Records: rec}.Open(context.Background(), "r1")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range run.Results {
		got = append(got, r.File+"="+r.Status)
	}
	if want := "/a.pdf=ok /b.pdf=ok /unreadable.pdf=failed"; strings.Join(got, " ") != want {
		t.Errorf("results %q, want %q", got, want)
	}
}

func TestFind(t *testing.T) {
	rec := newRecords("old", "new")
	docA := strings.Repeat("a", 60) + "1234"
	docB := strings.Repeat("b", 64)
	rec.results["old"] = []pipeline.ResultLine{{DocumentID: docA, File: "/in/a.pdf", Status: "ok", TraceID: strings.Repeat("c", 32)}}
	rec.results["new"] = []pipeline.ResultLine{
		{DocumentID: docB, File: "/in/b.pdf", Status: "ok", TraceID: strings.Repeat("d", 32)},
		{DocumentID: strings.Repeat("b", 63) + "0", File: "/in/b2.pdf", Status: "ok"},
	}
	h := History{Records: rec}
	for _, tt := range []struct {
		run, doc, wantRun, wantDoc string
		kind                       error
	}{
		{"", "a.pdf", "old", docA, nil}, // found in the newest run that has it
		{"", "aaaa1234", "old", docA, nil},
		{"", strings.Repeat("c", 32), "old", docA, nil}, // a trace id
		{"", "/in/b.pdf", "new", docB, nil},
		{"", "bbbbbbbb", "", "", pipeline.ErrInvalid}, // two documents of run new
		{"", "abc", "", "", pipeline.ErrInvalid},      // too short an id
		{"new", "a.pdf", "", "", pipeline.ErrNotFound},
		{"", "nothing.pdf", "", "", pipeline.ErrNotFound},
	} {
		run, r, err := h.Find(context.Background(), tt.run, tt.doc)
		if tt.kind != nil {
			if !errors.Is(err, tt.kind) {
				t.Errorf("Find(%q, %q): err %v, want %v", tt.run, tt.doc, err, tt.kind)
			}
			continue
		}
		if err != nil || run.ID != tt.wantRun || r.DocumentID != tt.wantDoc {
			t.Errorf("Find(%q, %q) = %v %s, %v; want %s %s", tt.run, tt.doc, run, r.DocumentID, err, tt.wantRun, tt.wantDoc)
		}
	}
}

// steps builds a document's step records as the runner writes them.
func steps(run, doc, trace string, versions map[string]string, inputs map[string]map[string]string, outputs map[string]string) []pipeline.StepRecord {
	var out []pipeline.StepRecord
	for _, name := range []string{pipeline.StepParse, pipeline.StepChunk, pipeline.StepExtract, pipeline.StepSecond, pipeline.StepValidate} {
		in := inputs[name]
		var hashes []string
		for _, k := range []string{pipeline.InputFile, pipeline.StepExtract, pipeline.StepSecond, pipeline.StepParse, pipeline.StepChunk, pipeline.InputSchema} {
			if h, ok := in[k]; ok {
				hashes = append(hashes, h)
			}
		}
		ih := pipeline.Hash(hashes...)
		out = append(out, pipeline.StepRecord{RunID: run, DocumentID: doc, Step: name, StepVersion: versions[name], Inputs: in,
			InputHash: ih, Key: pipeline.Hash(name, versions[name], ih), OutputHash: outputs[name], TraceID: trace})
	}
	return out
}

func TestDiffReportsReviewIssuesAndTheUpstreamCause(t *testing.T) {
	versions := map[string]string{pipeline.StepParse: "pdf/1", pipeline.StepChunk: "chunk/1", pipeline.StepExtract: "rules/1",
		pipeline.StepSecond: "rules/1", pipeline.StepValidate: "validate/1"}
	graph := func(schema string) map[string]map[string]string {
		return map[string]map[string]string{
			pipeline.StepParse:    {pipeline.InputFile: "doc"},
			pipeline.StepChunk:    {pipeline.StepParse: "P"},
			pipeline.StepExtract:  {pipeline.StepParse: "P", pipeline.InputSchema: schema},
			pipeline.StepSecond:   {pipeline.StepParse: "P", pipeline.InputSchema: schema},
			pipeline.StepValidate: {pipeline.StepExtract: "X", pipeline.StepSecond: "S", pipeline.StepParse: "P", pipeline.InputSchema: schema},
		}
	}
	outs := map[string]string{pipeline.StepParse: "P", pipeline.StepChunk: "C", pipeline.StepExtract: "X", pipeline.StepSecond: "S", pipeline.StepValidate: "V1"}
	rec := newRecords("A", "B")
	rec.runs[0].Versions = map[string]string{"schema": "invoice@1#aaa"}
	rec.runs[1].Versions = map[string]string{"schema": "invoice@1#bbb"}
	due := pipeline.Field{Value: "2024-02-01", Raw: "01.02.2024", Grounded: true, Confidence: 0.9}
	total := pipeline.Field{Value: "10.00", Raw: "10,00", Grounded: true, Confidence: 0.9}
	rec.results["A"] = []pipeline.ResultLine{
		{DocumentID: "d1", File: "/a.pdf", Status: "ok", TraceID: "ta", Fields: map[string]pipeline.Field{"total_amount": total}},
		{DocumentID: "d2", File: "/b.pdf", Status: "ok", TraceID: "ta2", Fields: map[string]pipeline.Field{"total_amount": total, "due_date": due}},
	}
	lowTotal := total
	lowTotal.Confidence = 0.5
	missing := pipeline.Issue{Field: "due_date", Code: pipeline.IssueMissing, Severity: pipeline.SeverityFail, Message: "due_date is required"}
	rec.results["B"] = []pipeline.ResultLine{
		// The new schema makes due_date required: d1 now needs review.
		{DocumentID: "d1", File: "/a.pdf", Status: "ok", TraceID: "tb", NeedsReview: true, Issues: []pipeline.Issue{missing},
			Fields: map[string]pipeline.Field{"total_amount": lowTotal}},
		{DocumentID: "d2", File: "/b.pdf", Status: "ok", TraceID: "tb2", Fields: map[string]pipeline.Field{"total_amount": total, "due_date": due}},
	}
	outsB := map[string]string{}
	for k, v := range outs {
		outsB[k] = v
	}
	outsB[pipeline.StepValidate] = "V2"
	rec.steps["A"] = append(steps("A", "d1", "ta", versions, graph("s1"), outs), steps("A", "d2", "ta2", versions, graph("s1"), outs)...)
	rec.steps["B"] = append(steps("B", "d1", "tb", versions, graph("s2"), outsB), steps("B", "d2", "tb2", versions, graph("s2"), outs)...)
	h := History{Records: rec}
	a, err := h.Open(context.Background(), "A")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := h.Open(context.Background(), "B")
	d := Diff(a, b)
	if d.Compared != 2 || d.Changed != 1 || len(d.Documents) != 1 {
		t.Fatalf("compared %d changed %d: %+v", d.Compared, d.Changed, d.Documents)
	}
	dd := d.Documents[0]
	if dd.DocumentID != "d1" || dd.OldNeedsReview || !dd.NewNeedsReview || len(dd.IssuesAdded) != 1 || dd.IssuesAdded[0].Code != pipeline.IssueMissing {
		t.Errorf("document diff %+v", dd)
	}
	if len(dd.Fields) != 1 || dd.Fields[0].Kind != "confidence" || dd.Fields[0].OldConfidence != 0.9 || dd.Fields[0].NewConfidence != 0.5 {
		t.Errorf("fields %+v", dd.Fields)
	}
	var causes []string
	for _, s := range dd.Steps {
		causes = append(causes, s.String())
	}
	got := strings.Join(causes, "\n")
	for _, want := range []string{"extract: input changed (schema)", "validate: input changed (schema); output changed"} {
		if !strings.Contains(got, want) {
			t.Errorf("upstream %q lacks %q", got, want)
		}
	}
	if d.Totals[0].NeedsReview != 0 || d.Totals[1].NeedsReview != 1 || d.Totals[1].Failing != 1 {
		t.Errorf("totals %+v", d.Totals)
	}
	if len(d.Versions) != 1 || d.Versions[0].Key != "schema" {
		t.Errorf("versions %+v", d.Versions)
	}
	// d2's results are the same; its steps' inputs changed: one group.
	if len(d.Upstream) != 1 || d.Upstream[0].Documents != 1 {
		t.Errorf("upstream groups %+v", d.Upstream)
	}
}

func TestDiffStepsLegacyRecords(t *testing.T) {
	// Records from before steps named their inputs: the cause is read
	// from the old step graph.
	a := []pipeline.StepRecord{{Step: pipeline.StepParse, InputHash: "f", Key: "kf", OutputHash: "P"}, {Step: pipeline.StepExtract, InputHash: "1", Key: "k1", OutputHash: "X"}}
	b := []pipeline.StepRecord{{Step: pipeline.StepParse, InputHash: "f", Key: "kf", OutputHash: "P"}, {Step: pipeline.StepExtract, InputHash: "2", Key: "k2", OutputHash: "X2"}}
	got := DiffSteps(a, b)
	if len(got) != 1 || got[0].String() != "extract: input changed (schema); output changed; cache miss" {
		t.Errorf("%+v", got)
	}
	b[0].OutputHash, b[0].InputHash, b[0].Key = "P2", "f2", "kf2"
	got = DiffSteps(a, b)
	if len(got) != 2 || got[0].String() != "parse: input changed (file); output changed; cache miss" ||
		got[1].String() != "extract: input changed (parse output); output changed; cache miss" {
		t.Errorf("%+v", got)
	}
}

func TestVersionDelta(t *testing.T) {
	for _, tt := range []struct{ a, b, want string }{
		{"llm/1 model=m1 prompt=aaaaaaaaaaaaaaaaaaaa", "llm/1 model=m1 prompt=bbbbbbbbbbbbbbbbbbbb", "llm/1 prompt=aaaaaaaaaaaa → bbbbbbbbbbbb"},
		{"llm/1 model=m1", "llm/1 model=m2 seed=7", "llm/1 model=m1 → m2, seed=(none) → 7"},
		{"rules/1", "llm/1 model=m", "rules/1 → llm/1 model=m"},
		{"", "pdf/1", "(none) → pdf/1"},
	} {
		if got := VersionDelta(tt.a, tt.b); got != tt.want {
			t.Errorf("VersionDelta(%q, %q) = %q, want %q", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestFieldPaths(t *testing.T) {
	fields := map[string]pipeline.Field{"total_amount": {Value: "1.00"}}
	lists := map[string][]pipeline.Item{"line_items": {{Fields: map[string]pipeline.Field{"amount": {Value: "1.00"}},
		Evidence: pipeline.Evidence{Page: 2, Quote: "Widget 1,00"}}}}
	for _, tt := range []struct {
		path, value string
		page        int
		kind        error
	}{
		{"total_amount", "1.00", 0, nil},
		{"line_items[0].amount", "1.00", 2, nil}, // the element's evidence
		{"line_items[3].amount", "", 0, pipeline.ErrInvalid},
		{"vendor_name", "", 0, pipeline.ErrInvalid},
		{"line_items.amount", "", 0, pipeline.ErrInvalid},
	} {
		p, err := ParseFieldPath(tt.path)
		var f pipeline.Field
		if err == nil {
			f, err = LookupField(fields, lists, p)
		}
		if tt.kind != nil {
			if !errors.Is(err, tt.kind) {
				t.Errorf("%s: err %v, want %v", tt.path, err, tt.kind)
			}
			continue
		}
		if err != nil || f.Value != tt.value || f.Page != tt.page || p.String() != tt.path {
			t.Errorf("%s: %+v %v", tt.path, f, err)
		}
	}
}

func TestQuoteLines(t *testing.T) {
	lines := []string{"Invoice", "Total   12,00", "EUR", "Total 12,00 EUR"}
	for _, tt := range []struct {
		quote string
		want  [][2]int
	}{
		{"Total 12,00", [][2]int{{1, 1}, {3, 3}}},
		{"12,00 EUR", [][2]int{{1, 2}, {3, 3}}},
		{"Invoice Total", [][2]int{{0, 1}}},
		{"nothing", nil},
	} {
		got := QuoteLines(lines, tt.quote)
		if len(got) != len(tt.want) {
			t.Errorf("QuoteLines(%q) = %v, want %v", tt.quote, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("QuoteLines(%q) = %v, want %v", tt.quote, got, tt.want)
			}
		}
	}
}

func TestLineageFollowsTheRecordsToThePage(t *testing.T) {
	doc := pipeline.Document{ID: "d1", Pages: []pipeline.Page{{Number: 1, Lines: []pipeline.Line{{Text: "Rechnung"}, {Text: "Gesamtbetrag   1.234,56 €"}}}}}
	docJSON, _ := json.Marshal(doc)
	chunks := []pipeline.Chunk{{ID: "d1-0001", Page: 1, FirstLine: 0, LastLine: 1, Text: "Rechnung\nGesamtbetrag   1.234,56 €"}}
	chunksJSON, _ := json.Marshal(chunks)
	second := pipeline.Extraction{Fields: map[string]pipeline.Field{"total_amount": {Raw: "1.234,56 €", Value: "1234.56"}}}
	secondJSON, _ := json.Marshal(second)
	outputs := memOutputs{"kp": docJSON, "kc": chunksJSON, "ks": secondJSON}
	rec := newRecords("r1", "r0")
	rec.runs[0].Started, rec.runs[1].Started = t0.Add(time.Hour), t0 // r0 ran first
	f := pipeline.Field{Value: "1234.56", Raw: "1.234,56 €", Currency: "EUR", Grounded: true, Confidence: 0.9,
		Evidence: pipeline.Evidence{Page: 1, Quote: "Gesamtbetrag 1.234,56 €"}}
	line := pipeline.ResultLine{DocumentID: "d1", File: "/in/a.pdf", Status: "ok", TraceID: "t1",
		Fields: map[string]pipeline.Field{"total_amount": f}, Attempts: []pipeline.Attempt{{Number: 1, Problem: "no call"}, {Number: 2, ResponseID: "resp-2"}}}
	rec.results["r1"] = []pipeline.ResultLine{line}
	rec.steps["r1"] = []pipeline.StepRecord{
		{Step: pipeline.StepParse, Key: "kp", OutputHash: hashOf(docJSON), CacheHit: true, TraceID: "t1", DocumentID: "d1"},
		{Step: pipeline.StepChunk, Key: "kc", OutputHash: hashOf(chunksJSON), TraceID: "t1", DocumentID: "d1"},
		{Step: pipeline.StepExtract, Key: "kx", OutputHash: "x", TraceID: "t1", DocumentID: "d1"},
		{Step: pipeline.StepSecond, Key: "ks", OutputHash: hashOf(secondJSON), TraceID: "t1", DocumentID: "d1"},
		{Step: pipeline.StepValidate, Key: "kv", OutputHash: "v", TraceID: "t1", DocumentID: "d1"},
	}
	rec.steps["r0"] = []pipeline.StepRecord{{Step: pipeline.StepParse, Key: "kp", OutputHash: hashOf(docJSON), DocumentID: "d1"}}
	h := History{Records: rec, Outputs: outputs, FileHash: func(string) (string, error) { return "d1", nil }}
	run, r, err := h.Find(context.Background(), "r1", "a.pdf")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := ParseFieldPath("total_amount")
	l, err := h.Lineage(context.Background(), run, r, p)
	if err != nil {
		t.Fatal(err)
	}
	if l.Page == nil || l.Page.Number != 1 || len(l.Page.Lines) != 1 || l.Page.Lines[0].Index != 1 {
		t.Errorf("page %+v", l.Page)
	}
	if len(l.Chunks) != 1 || l.Chunks[0].ID != "d1-0001" {
		t.Errorf("chunks %+v", l.Chunks)
	}
	if l.Second == nil || !l.Second.Agree {
		t.Errorf("second opinion %+v", l.Second)
	}
	if l.Attempt == nil || l.Attempt.ResponseID != "resp-2" || l.Attempts != 2 {
		t.Errorf("attempt %+v of %d", l.Attempt, l.Attempts)
	}
	if l.Parse == nil || !l.Parse.CacheHit || l.Parse.MadeBy != "r0" {
		t.Errorf("parse %+v: the cached output was made by r0", l.Parse)
	}
	if l.Source.Now != "same" || len(l.Notes) != 0 {
		t.Errorf("source %+v notes %q", l.Source, l.Notes)
	}
	// Without the cache, lineage says what it cannot follow.
	h.Outputs = memOutputs{}
	l, _ = h.Lineage(context.Background(), run, r, p)
	if l.Page != nil || len(l.Notes) < 2 || !strings.Contains(strings.Join(l.Notes, "\n"), "no longer in the cache") {
		t.Errorf("notes %q", l.Notes)
	}
}
