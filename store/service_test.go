package store

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/extractor-dev/extractor/pipeline"
)

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := testStore(t)
	token, key, err := s.CreateKey(ctx, "billing team")
	if err != nil {
		t.Fatal(err)
	}
	if !keyPattern.MatchString(token) || !strings.HasPrefix(token, "exk_"+key.ID+"_") || key.Name != "billing team" {
		t.Fatalf("token %q key %+v", token, key)
	}
	var stored string
	if err := s.pool.QueryRow(ctx, "SELECT hash FROM api_keys WHERE id = $1", key.ID).Scan(&stored); err != nil || strings.Contains(stored, token[len(token)-20:]) || len(stored) != 64 {
		t.Errorf("stored %q: the secret must not be", stored)
	}
	got, err := s.Authenticate(ctx, token)
	if err != nil || got.ID != key.ID {
		t.Fatalf("authenticate: %+v %v", got, err)
	}
	keys, _ := s.ListKeys(ctx)
	if len(keys) != 1 || keys[0].LastUsed == nil {
		t.Errorf("keys %+v", keys)
	}
	for _, bad := range []string{"", "Bearer " + token, token + "x", token[:len(token)-1] + "Q", "exk_zzzzzzzz_" + token[13:], strings.ToUpper(token)} {
		if _, err := s.Authenticate(ctx, bad); !errors.Is(err, ErrUnauthorized) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if err := s.RevokeKey(ctx, key.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, token); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("a revoked key authenticates: %v", err)
	}
	if err := s.RevokeKey(ctx, token); err != nil {
		t.Errorf("revoking by token, again: %v", err)
	}
	if err := s.RevokeKey(ctx, "nosuchkey"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown key: %v", err)
	}
}

func TestUploadsAndIdempotency(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := testStore(t)
	sha := docID("upload")
	for range 2 {
		if err := s.SaveUpload(ctx, sha, "a.pdf", []byte("%PDF-1.4 ...")); err != nil {
			t.Fatal(err)
		}
	}
	name, content, err := s.Upload(ctx, sha)
	if err != nil || name != "a.pdf" || string(content) != "%PDF-1.4 ..." {
		t.Errorf("upload: %q %q %v", name, content, err)
	}
	if _, _, err := s.Upload(ctx, docID("none")); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing upload: %v", err)
	}

	_, key, _ := s.CreateKey(ctx, "k")
	claim := func(hash string, job int64) (bool, int64, bool) {
		tx, err := s.pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		claimed, id, same, err := ClaimIdempotencyKey(ctx, tx, key.ID, "order-42", hash)
		if err != nil {
			t.Fatal(err)
		}
		if claimed {
			if err := SetIdempotentJob(ctx, tx, key.ID, "order-42", job); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		return claimed, id, same
	}
	if claimed, _, _ := claim("h1", 7); !claimed {
		t.Fatal("a new key was not claimed")
	}
	if claimed, id, same := claim("h1", 8); claimed || id != 7 || !same {
		t.Errorf("the same request again: claimed %v job %d same %v", claimed, id, same)
	}
	if claimed, id, same := claim("h2", 9); claimed || id != 7 || same {
		t.Errorf("another request, same key: claimed %v job %d same %v", claimed, id, same)
	}
	// Concurrent claims of a new key: one wins, the others see its job.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := range 6 {
		wg.Go(func() {
			tx, err := s.pool.Begin(ctx)
			if err != nil {
				t.Error(err)
				return
			}
			defer tx.Rollback(ctx)
			claimed, _, _, err := ClaimIdempotencyKey(ctx, tx, key.ID, "race", "h")
			if err != nil {
				t.Error(err)
				return
			}
			if claimed {
				time.Sleep(20 * time.Millisecond)
				SetIdempotentJob(ctx, tx, key.ID, "race", int64(100+i))
				mu.Lock()
				wins++
				mu.Unlock()
			}
			if err := tx.Commit(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d claims won", wins)
	}
}

func TestDocumentRunAndSpans(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := testStore(t)
	doc := testDoc("info", invoiceLines)
	sd := testStored(doc, "m", 4, map[string]string{"vendor_name": "ACME GmbH"})
	sd.RunID = "run-info"
	if err := s.SaveDocument(ctx, sd); err != nil {
		t.Fatal(err)
	}
	d, err := s.Document(ctx, doc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Pages != 1 || d.Chunks != len(sd.Chunks) || len(d.Extractions) != 1 || d.Extractions[0].Extraction.Fields["vendor_name"].Value != "ACME GmbH" || d.LastRunID != "run-info" {
		t.Errorf("document %+v", d)
	}
	pages, err := s.Pages(ctx, doc.ID)
	if err != nil || len(pages) != 1 || len(pages[0].Lines) != len(invoiceLines) || pages[0].Status != pipeline.PageText {
		t.Errorf("pages %+v %v", pages, err)
	}
	if _, err := s.Document(ctx, docID("nothing")); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing document: %v", err)
	}
	if _, err := s.Document(ctx, "'; drop table documents; --"); !errors.Is(err, ErrNotFound) {
		t.Errorf("bad id: %v", err)
	}
	run := pipeline.Run{ID: "run-info", Started: time.Now().UTC(), Status: "finished", Inputs: []string{"a.pdf"}}
	if err := s.SaveRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	s.RecordContext(ctx, pipeline.StepRecord{RunID: "run-info", DocumentID: doc.ID, Step: "parse", StepVersion: "pdf/1", Key: "k", InputHash: "i", Start: time.Now()})
	got, steps, err := s.Run(ctx, "run-info")
	if err != nil || got.ID != "run-info" || len(steps) != 1 {
		t.Errorf("run %+v %d steps %v", got, len(steps), err)
	}
	if _, _, err := s.Run(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing run: %v", err)
	}
	runs, err := s.Runs(ctx, 10)
	if err != nil || len(runs) != 1 {
		t.Errorf("runs %v %v", runs, err)
	}
	if spans, err := s.Spans(ctx, "00000000000000000000000000000001"); err != nil || len(spans) != 0 {
		t.Errorf("spans %v %v", spans, err)
	}
}

func TestResults(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := testStore(t)
	for _, line := range []string{
		`{"run_id":"r1","document_id":"d2","file":"b.pdf","status":"failed","duration_ms":5,"trace_id":"t2"}`,
		`{"run_id":"r1","document_id":"d1","file":"a.pdf","status":"ok","duration_ms":40,"trace_id":"t1","usage":{"cost_usd":0.5}}`,
		`{"run_id":"r1","document_id":"d1","file":"a.pdf","status":"ok","duration_ms":42,"trace_id":"t1b","usage":{"cost_usd":0.25}}`,
	} {
		var l pipeline.ResultLine
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveResult(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := s.Results(ctx, "r1")
	if err != nil || len(rows) != 2 || rows[0].File != "a.pdf" || rows[0].TraceID != "t1b" || rows[0].CostUSD != 0.25 || rows[1].Status != "failed" {
		t.Fatalf("results: %+v %v", rows, err)
	}
	row, err := s.Result(ctx, "r1", "d2")
	if err != nil || row.TraceID != "t2" || row.DurationMS != 5 || row.Result.File != "b.pdf" {
		t.Errorf("result d2: %+v %v", row, err)
	}
	if _, err := s.Result(ctx, "r1", "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown document: %v", err)
	}
}
