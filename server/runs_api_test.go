package server

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
)

// uploads builds a multipart body of several "file" parts (name → bytes,
// in order) and an optional options part.
func uploads(t *testing.T, options string, files ...[2]string) (io.Reader, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	if options != "" {
		w, _ := mw.CreateFormField("options")
		io.WriteString(w, options)
	}
	for _, f := range files {
		w, err := mw.CreateFormFile("file", f[0])
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, f[1])
	}
	mw.Close()
	return &b, mw.FormDataContentType()
}

func TestPostRunUploads(t *testing.T) {
	f := newAPIFakes()
	s, _ := newAPIServer(t, f, nil)
	b, ct := uploads(t, `{"schema": "invoice", "extractor": "rules"}`,
		[2]string{"a.pdf", samplePDF}, [2]string{"b.pdf", samplePDF}, [2]string{"", samplePDF + "%other"})
	rec := do(t, s, call{method: "POST", path: "/v1/runs", key: goodKey, body: b, ctype: ct})
	if rec.Code != http.StatusAccepted {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var run QueuedRun
	if err := json.Unmarshal(rec.Body.Bytes(), &run); err != nil {
		t.Fatal(err)
	}
	if run.RunID == "" || run.Inputs != 3 || run.Documents != 2 {
		t.Errorf("answer %+v, want 3 inputs, 2 documents", run)
	}
	if got := rec.Header().Get("Location"); got != "/v1/runs/"+run.RunID {
		t.Errorf("Location %q", got)
	}
	if rec.Header().Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	if len(f.runs) != 1 {
		t.Fatalf("%d runs submitted", len(f.runs))
	}
	req := f.runs[0]
	if req.Folder != "" || req.Options.Schema != "invoice" || req.Options.Extractor != "rules" || len(req.Uploads) != 3 {
		t.Fatalf("request %+v", req)
	}
	// Every upload as sent, in order, with its hash; one without a name is
	// named by its hash.
	for i, want := range []string{"a.pdf", "b.pdf", req.Uploads[2].SHA256[:12] + ".pdf"} {
		u := req.Uploads[i]
		if u.Name != want || len(u.SHA256) != 64 || !bytes.HasPrefix(u.Data, []byte("%PDF-")) {
			t.Errorf("upload %d: %q %q %d bytes, want %q", i, u.Name, u.SHA256, len(u.Data), want)
		}
	}
	if req.Uploads[0].SHA256 != req.Uploads[1].SHA256 || req.Uploads[0].SHA256 == req.Uploads[2].SHA256 {
		t.Error("the hashes are not those of the bytes")
	}
}

func TestPostRunFolder(t *testing.T) {
	f := newAPIFakes()
	s, _ := newAPIServer(t, f, nil)
	body := `{"folder": "` + runFolder + `", "options": {"extractor": "auto"}}`
	rec := do(t, s, call{method: "POST", path: "/v1/runs", key: goodKey, body: strings.NewReader(body), ctype: "application/json; charset=utf-8"})
	if rec.Code != http.StatusAccepted {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if len(f.runs) != 1 || f.runs[0].Folder != runFolder || f.runs[0].Options.Extractor != "auto" || len(f.runs[0].Uploads) != 0 {
		t.Errorf("request %+v", f.runs)
	}
}

func TestPostRunErrors(t *testing.T) {
	jsonCall := func(body string) func(t *testing.T) call {
		return func(t *testing.T) call {
			return call{method: "POST", path: "/v1/runs", key: goodKey, body: strings.NewReader(body), ctype: "application/json"}
		}
	}
	tests := []struct {
		name   string
		call   func(t *testing.T) call
		status int
		slug   string
	}{
		{"a folder the configuration does not allow", jsonCall(`{"folder": "/etc"}`), 404, "not-found"},
		{"no folder", jsonCall(`{"options": {}}`), 422, "unprocessable"},
		{"a blank folder", jsonCall(`{"folder": "  "}`), 422, "unprocessable"},
		{"an unknown member", jsonCall(`{"folder": "/srv/inbox", "files": ["a.pdf"]}`), 400, "invalid-request"},
		{"a body that is not JSON", jsonCall(`folder=/srv/inbox`), 400, "invalid-request"},
		{"options against their schema", jsonCall(`{"folder": "/srv/inbox", "options": {"schema": "passport"}}`), 422, "unprocessable"},
		{"a JSON body too large", jsonCall(`{"folder": "` + strings.Repeat("a", 128<<10) + `"}`), 413, "too-large"},
		{"no file part", func(t *testing.T) call {
			b, ct := uploads(t, `{}`)
			return call{method: "POST", path: "/v1/runs", key: goodKey, body: b, ctype: ct}
		}, 400, "invalid-request"},
		{"uploads too large", func(t *testing.T) call {
			b, ct := uploads(t, "", [2]string{"a.pdf", samplePDF}, [2]string{"big.pdf", samplePDF + strings.Repeat("x", 2<<20)})
			return call{method: "POST", path: "/v1/runs", key: goodKey, body: b, ctype: ct}
		}, 413, "too-large"},
		{"neither multipart nor JSON", func(t *testing.T) call {
			return call{method: "POST", path: "/v1/runs", key: goodKey, body: strings.NewReader("/srv/inbox"), ctype: "text/plain"}
		}, 415, "unsupported-media-type"},
		{"no content type", func(t *testing.T) call {
			return call{method: "POST", path: "/v1/runs", key: goodKey, body: strings.NewReader(`{"folder": "/srv/inbox"}`)}
		}, 415, "unsupported-media-type"},
		{"no key", func(t *testing.T) call {
			return call{method: "POST", path: "/v1/runs", body: strings.NewReader(`{"folder": "/srv/inbox"}`), ctype: "application/json"}
		}, 401, "unauthorized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newAPIFakes()
			s, _ := newAPIServer(t, f, nil)
			rec := do(t, s, tt.call(t))
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if p := problemOf(t, rec); p.Type != ProblemType+tt.slug {
				t.Errorf("type %q, want %q", p.Type, ProblemType+tt.slug)
			}
			if len(f.runs) != 0 {
				t.Errorf("a run was submitted: %+v", f.runs)
			}
		})
	}
}

// Without Runs wired the route is not served.
func TestPostRunNotWired(t *testing.T) {
	s, _ := newAPIServer(t, newAPIFakes(), func(c *Config) { c.Runs = nil })
	rec := do(t, s, call{method: "POST", path: "/v1/runs", key: goodKey, body: strings.NewReader(`{"folder": "/srv/inbox"}`), ctype: "application/json"})
	if rec.Code != http.StatusNotFound {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	for _, r := range s.Routes() {
		if r == "POST /v1/runs" {
			t.Error("Routes lists POST /v1/runs")
		}
	}
}
