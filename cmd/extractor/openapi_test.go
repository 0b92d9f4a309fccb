package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	vconfig "github.com/pb33f/libopenapi-validator/config"

	"github.com/extractor-dev/extractor/server"
)

// TestServeConformsToOpenAPI sends real requests to 'extractor serve' on a
// real database (the server package checks its document against fakes;
// this checks it against what the store, the pipeline and the queue really
// answer) and validates every response against /openapi.json in strict
// mode: a member or header the document does not declare is an error.
func TestServeConformsToOpenAPI(t *testing.T) {
	doc, err := libopenapi.NewDocument(server.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(doc, vconfig.WithFormatAssertions(), vconfig.WithStrictMode(), vconfig.WithStrictIgnorePaths(
		"$.body.fields.*", "$.body.**.fields.*", "$.body.**.lists.*", "$.body.meta.*",
		"$.body.run.versions.*", "$.body.run.spans.*", "$.body.run.config"))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	env := storedEnv(t)
	key := createKey(t, env)
	srv := startCommand(t, env, "serve", "--addr", "127.0.0.1:0")
	pdf, err := os.ReadFile(sample(t, "synth-0001.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	check := func(name, method, path, key string, body []byte, ctype string, header map[string]string) []byte {
		t.Helper()
		resp, b := request(t, method, srv.url+path, key, bytes.NewReader(body), ctype, header)
		req, _ := http.NewRequest(method, srv.url+path, nil)
		resp.Body = io.NopCloser(bytes.NewReader(b))
		if ok, errs := v.ValidateHttpResponse(req, resp); !ok {
			var msgs []string
			for _, e := range errs {
				msg := e.Message + ": " + e.Reason
				for _, f := range e.SchemaValidationErrors {
					msg += fmt.Sprintf("\n    %s at %s", f.Reason, f.FieldPath)
				}
				msgs = append(msgs, msg)
			}
			t.Errorf("%s: the %d response does not conform:\n  %s\nbody: %.1500s", name, resp.StatusCode, strings.Join(msgs, "\n  "), b)
		}
		return b
	}
	body, ct := multipartBody(t, pdf, "synth-0001.pdf", `{"schema": "invoice", "extractor": "rules"}`)
	raw, _ := io.ReadAll(body)
	line := check("extraction", "POST", "/v1/extractions", key, raw, ct, nil)
	var head runLine
	if err := json.Unmarshal(line, &head); err != nil || head.DocumentID == "" {
		t.Fatalf("extraction: %v %s", err, line)
	}
	var ids struct {
		RunID string `json:"run_id"`
	}
	json.Unmarshal(line, &ids)
	check("document", "GET", "/v1/documents/"+head.DocumentID, key, nil, "", nil)
	check("run", "GET", "/v1/runs/"+ids.RunID, key, nil, "", nil)
	check("search", "POST", "/v1/search", key, []byte(`{"query": "Rechnungsbetrag", "k": 3}`), "application/json", nil)
	check("bad filter", "POST", "/v1/search", key, []byte(`{"query": "x", "filters": ["Vendor=x"]}`), "application/json", nil)

	pdf4, _ := os.ReadFile(sample(t, "synth-0004.pdf"))
	body, ct = multipartBody(t, pdf4, "synth-0004.pdf", "")
	raw, _ = io.ReadAll(body)
	b := check("job", "POST", "/v1/jobs", key, raw, ct, map[string]string{"Idempotency-Key": "conform-1"})
	var job struct{ ID int64 }
	json.Unmarshal(b, &job)
	waitJob(t, srv.url, key, job.ID)
	check("job done", "GET", fmt.Sprintf("/v1/jobs/%d", job.ID), key, nil, "", nil)
	check("job replay", "POST", "/v1/jobs", key, raw, ct, map[string]string{"Idempotency-Key": "conform-1"})

	check("no key", "GET", "/v1/documents/"+head.DocumentID, "", nil, "", nil)
	check("unknown document", "GET", "/v1/documents/"+strings.Repeat("0", 64), key, nil, "", nil)
	check("unknown job", "GET", "/v1/jobs/999999", key, nil, "", nil)
	body, ct = multipartBody(t, []byte("hello"), "a.txt", "")
	raw, _ = io.ReadAll(body)
	check("not a PDF", "POST", "/v1/extractions", key, raw, ct, nil)
	body, ct = multipartBody(t, pdf, "a.pdf", `{"schema": "nope"}`)
	raw, _ = io.ReadAll(body)
	check("bad options", "POST", "/v1/extractions", key, raw, ct, nil)
	check("livez", "GET", "/livez", "", nil, "", nil)
	check("readyz", "GET", "/readyz", "", nil, "", nil)
}
