package main

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/extractor-dev/extractor/pipeline"
	"github.com/extractor-dev/extractor/server"
)

// POST /v1/runs through serve: a run of uploads and a run of a folder the
// config allows are queued, serve's workers do them, GET /v1/runs/{id}
// and 'runs watch' show them finished, and 'export' has their lines in
// input order; a folder outside run_folders (directly, by "..", or by a
// symbolic link) is not found.
func TestQueuedRunThroughServe(t *testing.T) {
	env := storedEnv(t)
	key := createKey(t, env)
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	inbox := t.TempDir()
	jan := filepath.Join(inbox, "2026-01")
	outside := t.TempDir()
	for _, d := range []string{jan, outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(sample(t, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, name := range []string{"synth-0001.pdf", "synth-0002.pdf", "synth-0003.pdf"} {
		check(os.WriteFile(filepath.Join(jan, name), read(name), 0o644))
	}
	check(os.WriteFile(filepath.Join(outside, "secret.pdf"), read("synth-0004.pdf"), 0o644))
	check(os.Symlink(outside, filepath.Join(inbox, "link")))
	cfg := filepath.Join(t.TempDir(), "serve.yaml")
	check(os.WriteFile(cfg, []byte("server:\n  rate_per_second: 1000\n  burst: 1000\n  run_folders: ["+inbox+"]\n"), 0o600))
	srv := startCommand(t, env, "serve", "--addr", "127.0.0.1:0", "--config", cfg)

	// Uploads: three files, two of them the same bytes.
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	w, _ := mw.CreateFormField("options")
	io.WriteString(w, `{"extractor": "rules"}`)
	for _, f := range [][2]string{{"a.pdf", "synth-0001.pdf"}, {"b.pdf", "synth-0004.pdf"}, {"c.pdf", "synth-0001.pdf"}} {
		w, _ := mw.CreateFormFile("file", f[0])
		w.Write(read(f[1]))
	}
	mw.Close()
	resp, body := request(t, "POST", srv.url+"/v1/runs", key, &b, mw.FormDataContentType(), nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("run of uploads: %d %s", resp.StatusCode, body)
	}
	up := decodeJSON[server.QueuedRun](t, "run of uploads", body)
	if up.Inputs != 3 || up.Documents != 2 || up.Status != "running" || resp.Header.Get("Location") != "/v1/runs/"+up.RunID {
		t.Errorf("run of uploads: %+v, Location %q", up, resp.Header.Get("Location"))
	}

	// A folder below one of run_folders.
	resp, body = request(t, "POST", srv.url+"/v1/runs", key, strings.NewReader(`{"folder": "`+jan+`"}`), "application/json", nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("run of a folder: %d %s", resp.StatusCode, body)
	}
	folder := decodeJSON[server.QueuedRun](t, "run of a folder", body)
	if folder.Inputs != 3 || folder.Documents != 3 {
		t.Errorf("run of a folder: %+v", folder)
	}
	for _, f := range []string{outside, jan + "/../../" + filepath.Base(outside), filepath.Join(inbox, "link"), "2026-01", filepath.Join(inbox, "none")} {
		resp, body := request(t, "POST", srv.url+"/v1/runs", key, strings.NewReader(`{"folder": "`+f+`"}`), "application/json", nil)
		if resp.StatusCode != http.StatusNotFound || strings.Contains(string(body), "secret.pdf") {
			t.Errorf("folder %s: %d %s", f, resp.StatusCode, body)
		}
	}

	for _, c := range []struct {
		run   server.QueuedRun
		files []string
	}{
		{up, []string{"upload:a.pdf", "upload:b.pdf", "upload:c.pdf"}},
		{folder, []string{filepath.Join(jan, "synth-0001.pdf"), filepath.Join(jan, "synth-0002.pdf"), filepath.Join(jan, "synth-0003.pdf")}},
	} {
		id := c.run.RunID
		mustContain(t, "runs watch", waitQueued(t, env, id), "finished: "+strconv.Itoa(c.run.Documents)+"/"+strconv.Itoa(c.run.Documents)+" done")
		resp, body := request(t, "GET", srv.url+"/v1/runs/"+id, key, nil, "", nil)
		if resp.StatusCode != 200 {
			t.Fatalf("run %s: %d %s", id, resp.StatusCode, body)
		}
		view := decodeJSON[server.RunView](t, "run", body)
		if p := view.Progress; p == nil || p.State != "finished" || p.Done != c.run.Documents || p.OK != c.run.Documents || view.Run.Status != "finished" {
			t.Errorf("run %s: progress %+v, status %s", id, p, view.Run.Status)
		}
		_, ex := runOK(t, env, "export", id, "-o", "jsonl")
		var files []string
		for _, l := range strings.Split(strings.TrimSpace(ex.stdout), "\n") {
			line := decodeJSON[pipeline.ResultLine](t, "export line", []byte(l))
			if line.Status != "ok" || line.RunID != id || line.Extractor.Kind != "rules" {
				t.Errorf("run %s: line %s %s %s %s", id, line.File, line.Status, line.RunID, line.Extractor.Kind)
			}
			files = append(files, line.File)
		}
		if strings.Join(files, " ") != strings.Join(c.files, " ") {
			t.Errorf("run %s exports %v, want %v", id, files, c.files)
		}
	}
	if code := srv.shutdown(t); code != 0 {
		t.Errorf("serve exited %d: %s", code, srv.stderr)
	}
}
