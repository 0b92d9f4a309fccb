package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	valerrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/paths"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	"github.com/pb33f/libopenapi/datamodel/high/base"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.opentelemetry.io/otel/trace"

	"github.com/extractor-dev/extractor/pipeline"
)

// openAPIModel parses the served document with libopenapi and builds its
// OpenAPI 3 model (which resolves every $ref).
func openAPIModel(t *testing.T) (libopenapi.Document, *v3.Document) {
	t.Helper()
	doc, err := libopenapi.NewDocument(OpenAPI())
	if err != nil {
		t.Fatalf("openapi.json does not parse: %v", err)
	}
	m, err := doc.BuildV3Model()
	if err != nil {
		t.Fatalf("openapi.json does not build an OpenAPI 3 model: %v", err)
	}
	return doc, &m.Model
}

// openAPIValidator is libopenapi-validator over the served document.
func openAPIValidator(t *testing.T, opts ...config.Option) validator.Validator {
	t.Helper()
	doc, _ := openAPIModel(t)
	v, errs := validator.NewValidator(doc, opts...)
	if len(errs) > 0 {
		t.Fatalf("validator: %v", errs)
	}
	return v
}

// openAPIErrors lists a validator's errors, one per line, with the
// schema failures under each.
func openAPIErrors(errs []*valerrors.ValidationError) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "\n  - %s: %s", e.Message, e.Reason)
		if e.SpecLine > 0 {
			fmt.Fprintf(&b, " (openapi.json line %d)", e.SpecLine)
		}
		for _, f := range e.SchemaValidationErrors {
			fmt.Fprintf(&b, "\n      %s", f.Reason)
			if f.FieldPath != "" {
				fmt.Fprintf(&b, " at %s", f.FieldPath)
			}
			if f.KeywordLocation != "" {
				fmt.Fprintf(&b, " (schema %s)", f.KeywordLocation)
			}
		}
	}
	return b.String()
}

// TestOpenAPIValid checks the document against the OpenAPI 3.1 schema and,
// since that schema leaves the Schema Objects unchecked, checks each of
// them as a JSON Schema 2020-12 (the meta-schema, $refs, patterns) and the
// examples and defaults against the schemas they illustrate.
func TestOpenAPIValid(t *testing.T) {
	if !json.Valid(OpenAPI()) {
		t.Fatal("openapi.json is not JSON")
	}
	doc, err := libopenapi.NewDocument(OpenAPI())
	if err != nil {
		t.Fatalf("openapi.json does not parse: %v", err)
	}
	// Building the model resolves the $refs.
	if _, err := doc.BuildV3Model(); err != nil {
		t.Errorf("openapi.json does not build an OpenAPI 3 model: %v", err)
	}
	var ok bool
	var errs []*valerrors.ValidationError
	if v, verrs := validator.NewValidator(doc); len(verrs) == 0 {
		ok, errs = v.ValidateDocument()
	} else { // the model does not build: validate the document alone
		ok, errs = schema_validation.ValidateOpenAPIDocument(doc)
	}
	if !ok || len(errs) > 0 {
		t.Errorf("openapi.json is not a valid OpenAPI 3.1 document:%s", openAPIErrors(errs))
	}

	raw, err := jsonschema.UnmarshalJSON(bytes.NewReader(OpenAPI()))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	const loc = "openapi.json"
	if err := c.AddResource(loc, raw); err != nil {
		t.Fatal(err)
	}
	var checked int
	var failed []string
	for _, s := range openAPISchemas(raw) {
		if slices.ContainsFunc(failed, func(p string) bool { return strings.HasPrefix(s.ptr, p+"/") }) {
			continue // reported with the schema that holds it
		}
		sch, err := c.Compile(loc + "#" + openAPIFragment(s.ptr))
		if err != nil {
			t.Errorf("schema %s: %v", s.ptr, err)
			failed = append(failed, s.ptr)
			continue
		}
		checked++
		for _, ex := range s.examples {
			if err := sch.Validate(ex.value); err != nil {
				t.Errorf("%s does not conform to schema %s: %v", ex.where, s.ptr, err)
			}
		}
	}
	if checked < 20 {
		t.Errorf("only %d schemas checked: the walk missed some", checked)
	}
}

// openAPISchemaAt is a Schema Object of the document (by JSON pointer) and the
// examples and defaults that should conform to it.
type openAPISchemaAt struct {
	ptr      string
	examples []openAPIExampleAt
}

type openAPIExampleAt struct {
	where string
	value any
}

// openAPISchemas finds the Schema Objects of an OpenAPI document: the
// components' schemas, and the schema of every parameter, header and media
// type; within each, the subschemas that carry examples or a default.
func openAPISchemas(doc any) []openAPISchemaAt {
	var out []openAPISchemaAt
	var inSchema func(v any, ptr string, top bool)
	inSchema = func(v any, ptr string, top bool) {
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		s := openAPISchemaAt{ptr: ptr}
		if exs, ok := m["examples"].([]any); ok {
			for i, ex := range exs {
				s.examples = append(s.examples, openAPIExampleAt{fmt.Sprintf("%s/examples/%d", ptr, i), ex})
			}
		}
		if ex, ok := m["example"]; ok {
			s.examples = append(s.examples, openAPIExampleAt{ptr + "/example", ex})
		}
		if d, ok := m["default"]; ok {
			s.examples = append(s.examples, openAPIExampleAt{ptr + "/default", d})
		}
		if top || len(s.examples) > 0 {
			out = append(out, s)
		}
		for _, k := range []string{"properties", "patternProperties", "$defs", "dependentSchemas"} {
			if sub, ok := m[k].(map[string]any); ok {
				for _, name := range openAPISortedKeys(sub) {
					inSchema(sub[name], ptr+"/"+k+"/"+openAPIEscape(name), false)
				}
			}
		}
		for _, k := range []string{"items", "additionalProperties", "not", "if", "then", "else", "contains",
			"propertyNames", "unevaluatedItems", "unevaluatedProperties", "contentSchema"} {
			if sub, ok := m[k]; ok {
				inSchema(sub, ptr+"/"+k, false)
			}
		}
		for _, k := range []string{"allOf", "anyOf", "oneOf", "prefixItems"} {
			if subs, ok := m[k].([]any); ok {
				for i, sub := range subs {
					inSchema(sub, fmt.Sprintf("%s/%s/%d", ptr, k, i), false)
				}
			}
		}
	}
	// walk finds the objects that hold a schema (parameters, headers,
	// media types) outside the components' schemas.
	var walk func(v any, ptr string)
	walk = func(v any, ptr string) {
		switch v := v.(type) {
		case map[string]any:
			sch, hasSchema := v["schema"].(map[string]any)
			if hasSchema {
				before := len(out)
				inSchema(sch, ptr+"/schema", true)
				s := &out[before]
				if ex, ok := v["example"]; ok {
					s.examples = append(s.examples, openAPIExampleAt{ptr + "/example", ex})
				}
				if exs, ok := v["examples"].(map[string]any); ok {
					for _, name := range openAPISortedKeys(exs) {
						if ex, ok := exs[name].(map[string]any); ok {
							if val, ok := ex["value"]; ok {
								s.examples = append(s.examples, openAPIExampleAt{ptr + "/examples/" + openAPIEscape(name) + "/value", val})
							}
						}
					}
				}
			}
			for _, k := range openAPISortedKeys(v) {
				switch {
				case k == "example" || k == "examples" || (k == "schema" && hasSchema):
				case ptr == "/components" && k == "schemas":
					schemas, _ := v[k].(map[string]any)
					for _, name := range openAPISortedKeys(schemas) {
						inSchema(schemas[name], "/components/schemas/"+openAPIEscape(name), true)
					}
				default:
					walk(v[k], ptr+"/"+openAPIEscape(k))
				}
			}
		case []any:
			for i, e := range v {
				walk(e, fmt.Sprintf("%s/%d", ptr, i))
			}
		}
	}
	walk(doc, "")
	return out
}

func openAPISortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func openAPIEscape(s string) string { return strings.NewReplacer("~", "~0", "/", "~1").Replace(s) }

// openAPIFragment percent-encodes a JSON pointer for a URI openAPIFragment.
func openAPIFragment(ptr string) string {
	parts := strings.Split(ptr, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// openAPIOperations are the document's openAPIOperations by "METHOD /path".
func openAPIOperations(m *v3.Document) map[string]*v3.Operation {
	out := map[string]*v3.Operation{}
	if m.Paths == nil || m.Paths.PathItems == nil {
		return out
	}
	for path, item := range m.Paths.PathItems.FromOldest() {
		for method, op := range item.GetOperations().FromOldest() {
			out[strings.ToUpper(method)+" "+path] = op
		}
	}
	return out
}

// openAPIProblemSchema reports whether a schema is the Problem schema or an
// allOf that includes it.
func openAPIProblemSchema(sp *base.SchemaProxy) bool {
	if sp == nil {
		return false
	}
	if sp.IsReference() && sp.GetReference() == "#/components/schemas/Problem" {
		return true
	}
	s := sp.Schema()
	if s == nil {
		return false
	}
	return slices.ContainsFunc(s.AllOf, func(sub *base.SchemaProxy) bool {
		return sub.IsReference() && sub.GetReference() == "#/components/schemas/Problem"
	})
}

// TestOpenAPICoversRoutes checks that the document describes exactly the
// routes the server serves, and the error responses each can give.
func TestOpenAPICoversRoutes(t *testing.T) {
	s, _ := newAPIServer(t, newAPIFakes(), func(c *Config) { c.RatePerSecond = -1 })
	_, m := openAPIModel(t)
	ops := openAPIOperations(m)

	served := map[string]bool{}
	for _, r := range s.Routes() {
		served[r] = true
		if ops[r] == nil {
			t.Errorf("the server serves %s; the document lacks it", r)
		}
	}
	for r := range ops {
		if !served[r] {
			t.Errorf("the document has %s; the server does not serve it", r)
		}
	}

	upload := map[string]bool{"POST /v1/extractions": true, "POST /v1/jobs": true}
	for _, r := range s.Routes() {
		op := ops[r]
		if op == nil {
			continue
		}
		method, path, _ := strings.Cut(r, " ")
		if op.OperationId == "" {
			t.Errorf("%s has no operationId", r)
		}
		if strings.TrimSpace(op.Summary) == "" {
			t.Errorf("%s has no summary", r)
		}
		// Whether the route needs a key: ask the server, without one.
		probe := httptest.NewRequest(method, strings.ReplaceAll(path, "{id}", "1"), nil)
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, probe)
		protected := rec.Code == http.StatusUnauthorized
		security := op.Security
		if security == nil { // not set on the operation: the document's
			security = m.Security
		}
		if documented := len(security) > 0; documented != protected {
			t.Errorf("%s: the server needs a key: %v; the document's security requires one: %v", r, protected, documented)
		}

		if op.Responses == nil || op.Responses.Codes == nil {
			t.Errorf("%s has no responses", r)
			continue
		}
		var want []string
		if protected {
			// Authentication (401, or 503 when the key store is down),
			// the key's rate limit, and the deadline of every API route.
			want = append(want, "401", "429", "503", "504")
		}
		if upload[r] {
			want = append(want, "400", "413", "415", "422")
		}
		switch r {
		case "POST /v1/search":
			want = append(want, "400", "413", "422")
		case "GET /v1/jobs/{id}", "GET /v1/documents/{id}", "GET /v1/runs/{id}", "GET /v1/documents/{id}/fields",
			"GET /v1/documents/{id}/history", "DELETE /v1/webhooks/{id}":
			want = append(want, "404")
		case "PATCH /v1/documents/{id}/fields", "POST /v1/documents/{id}/approve", "POST /v1/documents/{id}/reject":
			want = append(want, "400", "404", "412", "413", "422", "428")
		case "GET /v1/review/queue":
			want = append(want, "400", "422")
		case "GET /v1/exports/approved", "GET /v1/review/metrics":
			want = append(want, "400")
		case "POST /v1/webhooks":
			want = append(want, "400", "413", "422")
		case "POST /v1/runs":
			want = append(want, "400", "404", "413", "415", "422")
		case "GET /v1/webhooks/{id}/deliveries":
			want = append(want, "400", "404")
		case "GET /readyz":
			want = append(want, "503")
		}
		hasSuccess := false
		for code := range op.Responses.Codes.KeysFromOldest() {
			if strings.HasPrefix(code, "2") {
				hasSuccess = true
			}
		}
		if !hasSuccess {
			t.Errorf("%s documents no 2xx response", r)
		}
		for _, code := range want {
			if op.Responses.Codes.GetOrZero(code) == nil {
				t.Errorf("%s does not document its %s response", r, code)
			}
		}
		if op.Responses.Codes.GetOrZero("500") == nil && op.Responses.Default == nil {
			t.Errorf("%s documents neither 500 nor a default response", r)
		}
		// Every error the API routes give is a problem; /metrics is
		// promhttp's, whose errors are plain text.
		check := func(code string, resp *v3.Response) {
			if r == "GET /metrics" {
				return
			}
			var mt *v3.MediaType
			if resp.Content != nil {
				mt = resp.Content.GetOrZero("application/problem+json")
			}
			if mt == nil {
				t.Errorf("%s %s: no application/problem+json content", r, code)
				return
			}
			if !openAPIProblemSchema(mt.Schema) {
				t.Errorf("%s %s: the problem+json schema does not reference #/components/schemas/Problem", r, code)
			}
			if resp.Headers == nil || resp.Headers.GetOrZero("Cache-Control") == nil {
				t.Errorf("%s %s: no Cache-Control header (problems are no-store)", r, code)
			}
			switch code {
			case "401":
				if resp.Headers.GetOrZero("WWW-Authenticate") == nil {
					t.Errorf("%s %s: no WWW-Authenticate header", r, code)
				}
			case "429":
				if resp.Headers.GetOrZero("Retry-After") == nil {
					t.Errorf("%s %s: no Retry-After header", r, code)
				}
			}
		}
		for code, resp := range op.Responses.Codes.FromOldest() {
			if !strings.HasPrefix(code, "2") {
				check(code, resp)
			}
		}
		if op.Responses.Default != nil {
			check("default", op.Responses.Default)
		}
	}
}

// TestOpenAPIUploadOptions checks the document's schema of the options
// part against the server's own check of it: libopenapi-validator does not
// read multipart bodies.
func TestOpenAPIUploadOptions(t *testing.T) {
	raw, err := jsonschema.UnmarshalJSON(bytes.NewReader(OpenAPI()))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("openapi.json", raw); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("openapi.json#" + openAPIFragment("/components/requestBodies/Upload/content/multipart~1form-data/schema/properties/options"))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []string{`{}`, `{"schema": "invoice"}`, `{"schema": "nda", "extractor": "rules"}`, `{"extractor": "auto"}`,
		`{"extractor": "llm"}`, `{"schema": "passport"}`, `{"extractor": "LLM"}`, `{"schema": null}`, `{"schema": 1}`,
		`{"speed": 9}`, `{"schema": "invoice", "model": "x"}`, `[]`, `"invoice"`, `null`} {
		_, serverErr := parseOptions([]byte(o))
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(o))
		if err != nil {
			t.Fatal(err)
		}
		docErr := sch.Validate(v)
		if (serverErr == nil) != (docErr == nil) {
			t.Errorf("options %s: the server says %v; the document says %v", o, serverErr, docErr)
		}
	}
}

// openAPIFakes answer as cmd/extractor's service does: result lines of
// 'extractor run', stored documents (store.DocumentInfo's JSON), runs with their steps and
// results, and search hits (apiFakes answer with arbitrary JSON).
type openAPIFakes struct {
	*apiFakes
}

const (
	openAPIRunID       = "20260115T093000Z-3f2a9c"
	openAPIQueuedRunID = "20260115T093000Z-9e8d7c"
	openAPIDocID       = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
)

var openAPITime = time.Date(2026, 1, 15, 9, 30, 0, 0, time.UTC)

func openAPIExtraction(docID string) pipeline.Extraction {
	ev := func(page int, quote string) pipeline.Evidence { return pipeline.Evidence{Page: page, Quote: quote} }
	return pipeline.Extraction{
		DocumentID: docID,
		Schema:     pipeline.SchemaRef{Name: "invoice", Version: "1"},
		Extractor:  pipeline.ExtractorRef{Kind: "llm", Model: "gpt-4o-mini", PromptVersion: "3f2a9c1b", Version: "llm/1"},
		Fields: map[string]pipeline.Field{
			"vendor_name":  {Value: "ACME GmbH", Raw: "ACME GmbH", Evidence: ev(1, "ACME GmbH, Berlin"), Grounded: true, Confidence: 0.95},
			"total_amount": {Value: "119.00", Raw: "119,00 €", Currency: "EUR", Evidence: ev(1, "Total 119,00 €"), Grounded: true, Confidence: 0.9},
			"due_date":     {Raw: "", Evidence: ev(0, "")},
		},
		Lists: map[string][]pipeline.Item{"line_items": {{
			Fields:   map[string]pipeline.Field{"description": {Value: "Widgets", Raw: "Widgets", Evidence: ev(1, "Widgets 100,00"), Grounded: true, Confidence: 0.8}},
			Evidence: ev(1, "Widgets 10 x 10,00 100,00"), Grounded: true,
		}}},
		Issues: []pipeline.Issue{{Field: "due_date", Code: pipeline.IssueMissing, Severity: pipeline.SeverityWarn, Message: "not found"}},
		Usage:  pipeline.Usage{InputTokens: 1200, OutputTokens: 80, Attempts: 1, CostUSD: 0.0003, Prices: "2025-06"},
		Attempts: []pipeline.Attempt{{Number: 1, ResponseID: "resp_1", Model: "gpt-4o-mini-2024-07-18", FinishReason: "tool_calls",
			InputTokens: 1200, OutputTokens: 80, DurationMS: 900}},
	}
}

// openAPIResultLine is a line of 'extractor run' as cmd/extractor's record makes
// it: an ok result with its extraction, or a failed one (the document
// could not be read) with an empty extraction.
func openAPIResultLine(ctx context.Context, u Upload, failed bool) json.RawMessage {
	traceID := trace.SpanContextFromContext(ctx).TraceID().String()
	line := map[string]any{"run_id": openAPIRunID, "file": "upload:" + u.Name, "trace_id": traceID, "duration_ms": 1234,
		"schema": pipeline.SchemaRef{Name: "invoice", Version: "1"}, "cache_hits": 0}
	if failed {
		line["document_id"] = u.SHA256
		line["status"] = "failed"
		line["error"] = "parse: no page has a text layer (scanned document: needs OCR)"
		line["extractor"] = pipeline.ExtractorRef{}
		line["fields"] = map[string]pipeline.Field{}
		line["line_items"] = []pipeline.Item{}
		line["issues"] = []pipeline.Issue{}
		line["needs_review"] = false
		line["usage"] = pipeline.Usage{}
		line["spent"] = pipeline.Usage{}
	} else {
		x := openAPIExtraction(u.SHA256)
		line["document_id"] = u.SHA256
		line["status"] = "ok"
		line["extractor"] = x.Extractor
		line["fields"] = x.Fields
		line["line_items"] = x.Lists["line_items"]
		line["issues"] = x.Issues
		line["needs_review"] = x.Failed()
		line["usage"] = x.Usage
		line["spent"] = x.Usage
		line["attempts"] = x.Attempts
	}
	b, err := json.Marshal(line)
	if err != nil {
		panic(err)
	}
	return append(b, '\n')
}

func (f openAPIFakes) Extract(ctx context.Context, u Upload, o Options) (pipeline.ResultLine, error) {
	if f.extract != nil {
		return f.extract(ctx, u, o)
	}
	return mustLine(string(openAPIResultLine(ctx, u, strings.HasPrefix(u.Name, "scanned")))), nil
}

func (f openAPIFakes) Document(_ context.Context, id string) (Document, error) {
	if id != openAPIDocID {
		return Document{}, fmt.Errorf("%w: document %q", ErrNotFound, id)
	}
	t := openAPITime
	return Document{ID: id, Source: "upload:inv.pdf", Size: 48213, Parser: "pdf/1", Pages: 2, TextPages: 2, Status: "ok",
		Meta: map[string]string{"producer": "LibreOffice"}, Warnings: []string{}, LastRunID: openAPIRunID, FirstSeen: t, LastSeen: t,
		Chunks: 3, Extractions: []DocumentExtraction{{ID: 7, RunID: openAPIRunID, Schema: "invoice", SchemaVersion: "1",
			ExtractorVersion: "llm/1", Created: t, Extraction: openAPIExtraction(id)}}}, nil
}

func (f openAPIFakes) Run(ctx context.Context, id string) (RunView, error) {
	if id == "broken" {
		return RunView{}, fmt.Errorf("pq: secret internal detail")
	}
	if id == openAPIQueuedRunID {
		// A queued run half done: its manifest, the records and lines of
		// the documents done so far, and its progress.
		run := pipeline.Run{ID: id, Started: openAPITime, Status: "running", Versions: map[string]string{"code": "v0.1.0"},
			Config: json.RawMessage(`{"schema":"invoice","extractor":"auto"}`)}
		return RunView{Run: run, Steps: []pipeline.StepRecord{}, Results: []pipeline.ResultLine{}, Progress: &RunProgress{State: "running",
			Total: 10000, Done: 2500, OK: 2490, Failed: 10, Review: 120, PerSecond: 9.8,
			Spent: pipeline.Usage{InputTokens: 3000000, OutputTokens: 200000, Attempts: 2500, CostUSD: 0.57, Prices: "2025-06"}}}, nil
	}
	if id != openAPIRunID {
		return RunView{}, fmt.Errorf("%w: run %q", ErrNotFound, id)
	}
	finished := openAPITime.Add(2 * time.Second)
	run := pipeline.Run{ID: id, Started: openAPITime, Finished: &finished, Status: "finished", Inputs: []string{"upload:inv.pdf"},
		Versions: map[string]string{"parser": "pdf/1", "extractor": "llm/1", "code": "v0.1.0"},
		Config:   json.RawMessage(`{"schema":"invoice","extractor":"auto","workers":4}`),
		Counts:   pipeline.RunCounts{Documents: 1, OK: 1},
		Spans:    map[string]int64{"ended": 12, "exported": 12, "dropped": 0},
		Spent:    pipeline.Usage{InputTokens: 1200, OutputTokens: 80, Attempts: 1, CostUSD: 0.0003, Prices: "2025-06"}}
	steps := []pipeline.StepRecord{{RunID: id, DocumentID: openAPIDocID, File: "upload:inv.pdf", Step: "parse", StepVersion: "pdf/1",
		Inputs: map[string]string{"file": openAPIDocID}, InputHash: "ab12", Key: "parse/pdf/1/ab12", OutputHash: "cd34", Start: openAPITime,
		DurationMS: 12.5, TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "00f067aa0ba902b7"}}
	u := Upload{Name: "inv.pdf", SHA256: openAPIDocID}
	var lines []pipeline.ResultLine
	for _, failed := range []bool{false, true} {
		var l pipeline.ResultLine
		if err := json.Unmarshal(openAPIResultLine(ctx, u, failed), &l); err != nil {
			return RunView{}, err
		}
		lines = append(lines, l)
	}
	return RunView{Run: run, Steps: steps, Results: lines}, nil
}

func (f openAPIFakes) Search(_ context.Context, req SearchRequest) (SearchResults, error) {
	return SearchResults{Hits: []SearchHit{{Rank: 1, ChunkID: openAPIDocID[:12] + "-0003", DocumentID: openAPIDocID, Source: "upload:inv.pdf",
		Page: 1, FirstLine: 4, LastLine: 9, Score: 0.0325, VectorRank: 1, VectorDistance: 0.21, TextRank: 2, TextScore: 0.08,
		Text: "Late payment fee: 2% per month"}}}, nil
}

// openAPIRequestCheck says what the validator should make of a request.
type openAPIRequestCheck int

const (
	openAPIRequestValid     openAPIRequestCheck = iota // it conforms
	openAPIRequestInvalid                              // it does not, and the validator sees it
	openAPIRequestUnchecked                            // the validator cannot see what is wrong (inside a multipart body)
)

// TestOpenAPIResponsesConform sends requests of every route, succeeding
// and failing, and validates each request and response against the
// document.
func TestOpenAPIResponsesConform(t *testing.T) {
	// Strict mode also reports what the server sends and the document does
	// not declare (headers, members). It reports every member of a map
	// (additionalProperties with a schema) too: those are ignored. The
	// document itself is an open object: its response is checked without.
	ignored := []string{"$.body.fields.*", "$.body.**.fields.*", "$.body.**.lists.*", "$.body.meta.*",
		"$.body.run.versions.*", "$.body.run.spans.*", "$.body.run.config",
		"$.body.items[*].values.*", "$.body.counts.*", "$.body.pending_by_reason.*"}
	strict := openAPIValidator(t, config.WithFormatAssertions(), config.WithStrictMode(), config.WithStrictIgnorePaths(ignored...))
	// An export line's values are a map of the schema's fields (elsewhere
	// "values" are an extraction, whose members are declared).
	strictExport := openAPIValidator(t, config.WithFormatAssertions(), config.WithStrictMode(),
		config.WithStrictIgnorePaths(append(ignored, "$.body.values.*")...))
	lax := openAPIValidator(t, config.WithFormatAssertions())
	_, m := openAPIModel(t)
	opts := config.NewValidationOptions()
	pdf := []byte(samplePDF)

	newServer := func(edit func(*apiFakes), cfg func(*Config)) (*Server, *apiFakes) {
		f := newAPIFakes()
		if edit != nil {
			edit(f)
		}
		fakes := openAPIFakes{f}
		s, _ := newAPIServer(t, f, func(c *Config) {
			c.Extractor, c.Catalog, c.RatePerSecond = fakes, fakes, -1
			if cfg != nil {
				cfg(c)
			}
		})
		return s, f
	}
	api, apiF := newServer(nil, nil)
	limited, _ := newServer(nil, func(c *Config) { c.RatePerSecond, c.Burst = 1, 1 })
	notReady, _ := newServer(func(f *apiFakes) { f.notReady = fmt.Errorf("migrations behind") }, nil)
	slow, _ := newServer(func(f *apiFakes) {
		f.extract = func(ctx context.Context, u Upload, o Options) (pipeline.ResultLine, error) {
			<-ctx.Done()
			return pipeline.ResultLine{}, ctx.Err()
		}
	}, func(c *Config) { c.RequestTimeout = 50 * time.Millisecond })

	post := func(path, key, name, options string, file []byte, header map[string]string) func(t *testing.T) call {
		return func(t *testing.T) call {
			b, ct := upload(t, file, name, options)
			return call{method: "POST", path: path, key: key, body: b, ctype: ct, header: header}
		}
	}
	get := func(path, key string) func(t *testing.T) call {
		return func(t *testing.T) call { return call{method: "GET", path: path, key: key} }
	}
	search := func(body string) func(t *testing.T) call {
		return func(t *testing.T) call {
			return call{method: "POST", path: "/v1/search", key: goodKey, body: strings.NewReader(body), ctype: "application/json"}
		}
	}
	bigSearch := `{"query": "` + strings.Repeat("a", 1<<20) + `"}`
	// The review loop's requests.
	docPath := "/v1/documents/" + openAPIDocID
	send := func(method, path, body string, header map[string]string) func(t *testing.T) call {
		return func(t *testing.T) call {
			c := call{method: method, path: path, key: goodKey, header: header}
			if body != "" {
				c.body, c.ctype = strings.NewReader(body), "application/json"
			}
			return c
		}
	}
	ifMatch := func(tag string) map[string]string { return map[string]string{"If-Match": tag} }
	setTotal := `{"changes": [{"op": "set", "field": "total_amount", "value": "119,00", "evidence": {"page": 1, "quote": "Total 119,00 €", "box": {"x0": 1, "y0": 2, "x1": 3, "y1": 4}}}], "reason": "misread"}`

	tests := []struct {
		name    string
		srv     *Server
		setup   func()
		call    func(t *testing.T) call
		status  int
		request openAPIRequestCheck
		header  map[string]string // response headers the case is about
	}{
		{name: "extraction", srv: api, call: post("/v1/extractions", goodKey, "inv.pdf", `{"schema": "invoice", "extractor": "llm"}`, pdf, nil),
			status: 200},
		{name: "extraction of an unreadable document", srv: api, call: post("/v1/extractions", goodKey, "scanned.pdf", "", pdf, nil),
			status: 200},
		{name: "extraction not multipart", srv: api, call: func(t *testing.T) call {
			return call{method: "POST", path: "/v1/extractions", key: goodKey, body: strings.NewReader("{}"), ctype: "application/json"}
		}, status: 400, request: openAPIRequestInvalid},
		{name: "extraction without a file", srv: api, call: post("/v1/extractions", goodKey, "", `{}`, nil, nil),
			status: 400, request: openAPIRequestUnchecked},
		{name: "extraction too large", srv: api, call: post("/v1/extractions", goodKey, "big.pdf", "", append(pdf, bytes.Repeat([]byte("x"), 2<<20)...), nil),
			status: 413, request: openAPIRequestUnchecked},
		{name: "extraction of options against their schema", srv: api,
			call:   post("/v1/extractions", goodKey, "inv.pdf", `{"schema": "passport", "speed": 9}`, pdf, nil),
			status: 422, request: openAPIRequestUnchecked},
		{name: "extraction past its deadline", srv: slow, call: post("/v1/extractions", goodKey, "inv.pdf", "", pdf, nil), status: 504},
		{name: "job", srv: api, call: post("/v1/jobs", goodKey, "inv.pdf", "", pdf, map[string]string{"Idempotency-Key": "order-1"}),
			status: 202, header: map[string]string{"Location": "/v1/jobs/1", "Retry-After": "2"}},
		{name: "job replayed", srv: api, call: post("/v1/jobs", goodKey, "inv.pdf", "", pdf, map[string]string{"Idempotency-Key": "order-1"}),
			status: 202, header: map[string]string{"Idempotent-Replayed": "true"}},
		{name: "job idempotency conflict", srv: api,
			call:   post("/v1/jobs", goodKey, "inv.pdf", `{"schema": "nda"}`, pdf, map[string]string{"Idempotency-Key": "order-1"}),
			status: 422},
		{name: "job with a malformed idempotency key", srv: api,
			call:   post("/v1/jobs", goodKey, "inv.pdf", "", pdf, map[string]string{"Idempotency-Key": "has space"}),
			status: 400, request: openAPIRequestInvalid},
		{name: "job not a PDF", srv: api, call: post("/v1/jobs", goodKey, "a.pdf", "", []byte("PK\x03\x04 a zip file"), nil),
			status: 415, request: openAPIRequestUnchecked},
		{name: "job with too many pages", srv: api, setup: func() { apiF.pages = 11 },
			call: post("/v1/jobs", goodKey, "long.pdf", "", pdf, nil), status: 422},
		{name: "queued job", srv: api, setup: func() { apiF.pages = 1 }, call: get("/v1/jobs/1", goodKey),
			status: 200, header: map[string]string{"Retry-After": "2"}},
		{name: "succeeded job", srv: api, setup: func() {
			apiF.mu.Lock()
			defer apiF.mu.Unlock()
			j := apiF.jobs[1]
			finished := openAPITime.Add(time.Minute)
			j.State, j.Attempt, j.Finished = "succeeded", 1, &finished
			j.Result = openAPIResultLine(context.Background(), Upload{Name: "inv.pdf", SHA256: openAPIDocID}, false)
			apiF.jobs[1] = j
		}, call: get("/v1/jobs/1", goodKey), status: 200},
		{name: "failed job", srv: api, setup: func() {
			apiF.mu.Lock()
			defer apiF.mu.Unlock()
			finished := openAPITime.Add(time.Minute)
			apiF.jobs[2] = Job{ID: 2, State: "failed", Attempt: 3, MaxAttempts: 3, Owner: "abcdefgh", Created: openAPITime,
				Finished: &finished, Errors: []string{"extract step failed: 503", "extract step failed: 503", "extract step failed: 503"}}
		}, call: get("/v1/jobs/2", goodKey), status: 200},
		{name: "another key's job", srv: api, call: get("/v1/jobs/1", "other-key"), status: 404},
		{name: "unknown job", srv: api, call: get("/v1/jobs/99", goodKey), status: 404},
		{name: "document", srv: api, call: get("/v1/documents/"+openAPIDocID, goodKey), status: 200},
		{name: "unknown document", srv: api, call: get("/v1/documents/"+strings.Repeat("0", 64), goodKey), status: 404},
		{name: "search", srv: api, call: search(`{"query": "late payment fee", "k": 5, "mode": "hybrid", "filters": ["vendor_name~acme"]}`),
			status: 200},
		{name: "search body not JSON", srv: api, call: search("query=x"), status: 400, request: openAPIRequestInvalid},
		{name: "search with an unknown member", srv: api, call: search(`{"query": "x", "limit": 3}`), status: 400, request: openAPIRequestInvalid},
		{name: "search without a query", srv: api, call: search(`{"query": " "}`), status: 422, request: openAPIRequestInvalid},
		{name: "search with k out of range", srv: api, call: search(`{"query": "x", "k": 101}`), status: 422, request: openAPIRequestInvalid},
		{name: "search too large", srv: api, call: search(bigSearch), status: 413},
		{name: "run", srv: api, call: get("/v1/runs/"+openAPIRunID, goodKey), status: 200},
		{name: "queued run", srv: api, call: get("/v1/runs/"+openAPIQueuedRunID, goodKey), status: 200},
		{name: "run of uploads", srv: api, call: func(t *testing.T) call {
			b, ct := uploads(t, `{"schema": "invoice"}`, [2]string{"a.pdf", samplePDF}, [2]string{"b.pdf", samplePDF})
			return call{method: "POST", path: "/v1/runs", key: goodKey, body: b, ctype: ct}
		}, status: 202, header: map[string]string{"Location": "/v1/runs/20260115T093000Z-000001", "Retry-After": "2"}},
		{name: "run of a folder", srv: api, call: send("POST", "/v1/runs", `{"folder": "`+runFolder+`", "options": {"extractor": "auto"}}`, nil),
			status: 202, header: map[string]string{"Location": "/v1/runs/20260115T093000Z-000002"}},
		{name: "run of a folder not allowed", srv: api, call: send("POST", "/v1/runs", `{"folder": "/etc"}`, nil), status: 404},
		{name: "run of a blank folder", srv: api, call: send("POST", "/v1/runs", `{"folder": " "}`, nil), status: 422, request: openAPIRequestInvalid},
		{name: "run with an unknown member", srv: api, call: send("POST", "/v1/runs", `{"folder": "/srv", "files": []}`, nil), status: 400,
			request: openAPIRequestInvalid},
		{name: "run with options against their schema", srv: api, call: send("POST", "/v1/runs", `{"folder": "/srv", "options": {"speed": 9}}`, nil),
			status: 422, request: openAPIRequestInvalid},
		{name: "run without files", srv: api, call: func(t *testing.T) call {
			b, ct := uploads(t, `{}`)
			return call{method: "POST", path: "/v1/runs", key: goodKey, body: b, ctype: ct}
		}, status: 400, request: openAPIRequestUnchecked},
		{name: "run of uploads too large", srv: api, call: func(t *testing.T) call {
			b, ct := uploads(t, "", [2]string{"big.pdf", samplePDF + strings.Repeat("x", 2<<20)})
			return call{method: "POST", path: "/v1/runs", key: goodKey, body: b, ctype: ct}
		}, status: 413, request: openAPIRequestUnchecked},
		{name: "run of neither uploads nor a folder", srv: api, call: func(t *testing.T) call {
			return call{method: "POST", path: "/v1/runs", key: goodKey, body: strings.NewReader("/srv/inbox"), ctype: "text/plain"}
		}, status: 415, request: openAPIRequestInvalid},
		{name: "unknown run", srv: api, call: get("/v1/runs/nope", goodKey), status: 404},
		{name: "run failing", srv: api, call: get("/v1/runs/broken", goodKey), status: 500},
		{name: "no key", srv: api, call: get("/v1/documents/"+openAPIDocID, ""), status: 401, request: openAPIRequestInvalid,
			header: map[string]string{"WWW-Authenticate": `Bearer realm="extractor"`}},
		{name: "unknown key", srv: api, call: get("/v1/documents/"+openAPIDocID, "exk_nope"), status: 401},
		{name: "key store down", srv: api, call: get("/v1/jobs/1", "db-down"), status: 503},
		{name: "within the rate limit", srv: limited, call: get("/v1/documents/"+openAPIDocID, goodKey), status: 200},
		{name: "over the rate limit", srv: limited, call: get("/v1/documents/"+openAPIDocID, goodKey), status: 429,
			header: map[string]string{"Retry-After": "1"}},
		{name: "review queue", srv: api, call: get("/v1/review/queue?reason=failed_check&schema=invoice&vendor=acme&limit=20", goodKey), status: 200},
		{name: "review queue, an unknown reason", srv: api, call: get("/v1/review/queue?reason=ocr", goodKey), status: 400, request: openAPIRequestInvalid},
		{name: "review queue, a limit too large", srv: api, call: get("/v1/review/queue?limit=501", goodKey), status: 400, request: openAPIRequestInvalid},
		{name: "review queue, a foreign cursor", srv: api, call: get("/v1/review/queue?after=bad", goodKey), status: 422},
		{name: "document values", srv: api, call: get(docPath+"/fields", goodKey), status: 200, header: map[string]string{"ETag": `"3"`}},
		{name: "values of an unknown document", srv: api, call: get("/v1/documents/"+strings.Repeat("0", 64)+"/fields", goodKey), status: 404},
		{name: "correct without If-Match", srv: api, call: send("PATCH", docPath+"/fields", setTotal, nil), status: 428, request: openAPIRequestInvalid},
		{name: "correct a stale version", srv: api, call: send("PATCH", docPath+"/fields", setTotal, ifMatch(`"2"`)), status: 412},
		{name: "correct with a body that is not JSON", srv: api, call: send("PATCH", docPath+"/fields", "total=1", ifMatch(`"3"`)), status: 400, request: openAPIRequestInvalid},
		{name: "correct with an unknown member", srv: api, call: send("PATCH", docPath+"/fields", `{"changes": [{"op": "set", "field": "x", "val": "1"}]}`, ifMatch(`"3"`)),
			status: 400, request: openAPIRequestInvalid},
		{name: "correct with no change", srv: api, call: send("PATCH", docPath+"/fields", `{"changes": []}`, ifMatch(`"3"`)), status: 422, request: openAPIRequestInvalid},
		{name: "correct with a change that does not check", srv: api, call: send("PATCH", docPath+"/fields", `{"changes": [{"op": "set", "field": "colour", "value": "red"}]}`, ifMatch(`"3"`)),
			status: 422},
		{name: "correct too much", srv: api, call: send("PATCH", docPath+"/fields", `{"changes": [{"op": "set", "field": "x", "value": "`+strings.Repeat("a", 1<<20)+`"}]}`, ifMatch(`"3"`)),
			status: 413, request: openAPIRequestUnchecked},
		{name: "correct", srv: api, call: send("PATCH", docPath+"/fields", setTotal, ifMatch(`"3"`)), status: 200, header: map[string]string{"ETag": `"4"`}},
		{name: "approve without If-Match", srv: api, call: send("POST", docPath+"/approve", "", nil), status: 428, request: openAPIRequestInvalid},
		{name: "approve a stale version", srv: api, call: send("POST", docPath+"/approve", "", ifMatch(`"3"`)), status: 412},
		{name: "approve an unknown document", srv: api, call: send("POST", "/v1/documents/"+strings.Repeat("0", 64)+"/approve", "", ifMatch(`"3"`)), status: 404},
		{name: "approve", srv: api, call: send("POST", docPath+"/approve", `{"reason": "checked"}`, ifMatch(`"4"`)), status: 200, header: map[string]string{"ETag": `"5"`}},
		{name: "reject without a reason", srv: api, call: send("POST", docPath+"/reject", `{}`, ifMatch(`"5"`)), status: 422},
		{name: "reject", srv: api, call: send("POST", docPath+"/reject", `{"reason": "a duplicate"}`, ifMatch(`*`)), status: 200},
		{name: "history", srv: api, call: get(docPath+"/history", goodKey), status: 200},
		{name: "history of an unknown document", srv: api, call: get("/v1/documents/"+strings.Repeat("0", 64)+"/history", goodKey), status: 404},
		{name: "export as CSV", srv: api, call: get("/v1/exports/approved?format=csv&since=2026-01-01&schema=invoice", goodKey), status: 200},
		{name: "export as JSON lines", srv: api, call: get("/v1/exports/approved?since=2026-01-01T08:00:00Z", goodKey), status: 200},
		{name: "export in an unknown format", srv: api, call: get("/v1/exports/approved?format=xlsx", goodKey), status: 400, request: openAPIRequestInvalid},
		{name: "export since when?", srv: api, call: get("/v1/exports/approved?since=yesterday", goodKey), status: 400},
		{name: "review metrics", srv: api, call: get("/v1/review/metrics?since=2026-01-01&schema=invoice", goodKey), status: 200},
		{name: "webhook", srv: api, call: send("POST", "/v1/webhooks", `{"url": "https://erp.example.com/hooks/extractor", "events": ["document.approved", "job.completed"], "description": "ERP"}`, nil),
			status: 201, header: map[string]string{"Location": "/v1/webhooks/1", "Cache-Control": "no-store"}},
		{name: "webhook with a bad URL", srv: api, call: send("POST", "/v1/webhooks", `{"url": "erp", "events": ["document.approved"]}`, nil), status: 422, request: openAPIRequestInvalid},
		{name: "webhook not JSON", srv: api, call: send("POST", "/v1/webhooks", `url=x`, nil), status: 400, request: openAPIRequestInvalid},
		{name: "webhooks", srv: api, call: get("/v1/webhooks", goodKey), status: 200},
		{name: "webhook deliveries", srv: api, call: get("/v1/webhooks/1/deliveries?limit=10", goodKey), status: 200},
		{name: "webhook deliveries, a bad limit", srv: api, call: get("/v1/webhooks/1/deliveries?limit=0", goodKey), status: 400, request: openAPIRequestInvalid},
		{name: "deliveries of an unknown webhook", srv: api, call: get("/v1/webhooks/999/deliveries", goodKey), status: 404},
		{name: "delete a webhook", srv: api, call: send("DELETE", "/v1/webhooks/1", "", nil), status: 204},
		{name: "delete an unknown webhook", srv: api, call: send("DELETE", "/v1/webhooks/1", "", nil), status: 404},
		{name: "ready", srv: api, call: get("/readyz", ""), status: 200},
		{name: "not ready", srv: notReady, call: get("/readyz", ""), status: 503},
		{name: "live", srv: api, call: get("/livez", ""), status: 200},
		{name: "openapi", srv: api, call: get("/openapi.json", ""), status: 200},
		{name: "metrics", srv: api, call: get("/metrics", ""), status: 200},
	}

	// Every route is exercised with a success.
	succeeded := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup()
			}
			c := tt.call(t)
			body, err := openAPIReadAll(c.body)
			if err != nil {
				t.Fatal(err)
			}
			c.body = bytes.NewReader(body)
			rec := do(t, tt.srv, c)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %.500s", rec.Code, tt.status, rec.Body)
			}
			for k, want := range tt.header {
				if got := rec.Header().Get(k); got != want {
					t.Errorf("%s %q, want %q", k, got, want)
				}
			}
			// The request as it was sent, again, for the validator.
			req := httptest.NewRequest(c.method, c.path, bytes.NewReader(body))
			if c.key != "" {
				req.Header.Set("Authorization", "Bearer "+c.key)
			}
			if c.ctype != "" {
				req.Header.Set("Content-Type", c.ctype)
			}
			for k, v := range c.header {
				req.Header.Set(k, v)
			}
			item, errs, template := paths.FindPath(req, m, opts)
			if item == nil || len(errs) > 0 {
				t.Fatalf("the document has no path for %s %s:%s", c.method, c.path, openAPIErrors(errs))
			}
			route := c.method + " " + template
			if rec.Code < 300 {
				succeeded[route] = true
			}

			v := strict
			switch route {
			case "GET /openapi.json":
				v = lax
			case "GET /v1/exports/approved":
				v = strictExport
			}
			ok, errs := v.ValidateHttpRequestSync(req)
			switch tt.request {
			case openAPIRequestValid:
				if !ok {
					t.Errorf("the request does not conform to %s:%s", route, openAPIErrors(errs))
				}
			case openAPIRequestInvalid:
				if ok {
					t.Errorf("the document allows the request the server refuses with %d", rec.Code)
				} else {
					t.Logf("the document refuses the request too:%s", openAPIErrors(errs))
				}
			}

			req = httptest.NewRequest(c.method, c.path, nil)
			resp := rec.Result()
			if ok, errs := v.ValidateHttpResponse(req, resp); !ok {
				t.Errorf("the %d response does not conform to %s:%s\nbody: %.2000s", rec.Code, route, openAPIErrors(errs), rec.Body)
			}
			if route == "GET /openapi.json" && !bytes.Equal(rec.Body.Bytes(), OpenAPI()) {
				t.Error("GET /openapi.json does not serve the embedded document")
			}
		})
	}
	for _, r := range api.Routes() {
		if !succeeded[r] {
			t.Errorf("no request of %s succeeded", r)
		}
	}
}

func openAPIReadAll(r io.Reader) ([]byte, error) {
	if r == nil {
		return nil, nil
	}
	return io.ReadAll(r)
}
