package pipeline

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// StepRecord is what one step did for one document in one run: enough to
// trace an output upstream to what made it and to tell why two runs
// differ.
type StepRecord struct {
	RunID      string `json:"run_id"`
	DocumentID string `json:"document_id"`
	File       string `json:"file,omitempty"`
	Step       string `json:"step"`
	// StepVersion names the code, model and settings behind the step
	// ("pdf/1", "llm/1 model=gpt-4o-mini ... prompt=3f2a...").
	StepVersion string `json:"step_version"`
	// InputHash hashes the step's inputs (the outputs of the steps it
	// read); Key adds the step and its version: the cache key.
	InputHash  string    `json:"input_hash"`
	Key        string    `json:"key"`
	OutputHash string    `json:"output_hash,omitempty"`
	Start      time.Time `json:"start"`
	DurationMS float64   `json:"duration_ms"`
	Error      string    `json:"error,omitempty"`
	CacheHit   bool      `json:"cache_hit"`
	TraceID    string    `json:"trace_id,omitempty"`
	SpanID     string    `json:"span_id,omitempty"`
}

// Run is a batch run's manifest: what was run, how, with which versions,
// and how it went.
type Run struct {
	ID       string     `json:"id"`
	Started  time.Time  `json:"started"`
	Finished *time.Time `json:"finished,omitempty"`
	// Status is "running", "finished" or "interrupted".
	Status string   `json:"status"`
	Inputs []string `json:"inputs"`
	// Versions of everything that shapes outputs: parser, chunker,
	// extractor (model and settings), prompt, schema, validator, code.
	Versions map[string]string `json:"versions"`
	// Config is the invocation's settings as the caller gives them (never
	// secrets), so a run can be resumed the way it started.
	Config json.RawMessage `json:"config,omitempty"`
	Counts RunCounts       `json:"counts"`
	// Spent is what this run spent (cache hits cost nothing again).
	Spent Usage `json:"spent"`
	// Spans counts spans ended, exported and dropped, when traced.
	Spans map[string]int64 `json:"spans,omitempty"`
}

// RunCounts counts documents by outcome.
type RunCounts struct {
	Documents   int `json:"documents"`
	OK          int `json:"ok"`
	Failed      int `json:"failed"`
	Interrupted int `json:"interrupted"`
	Review      int `json:"review"`
	CacheHits   int `json:"cache_hits"`
}

// NewRunID returns a sortable, unique run id: UTC time and random bits.
func NewRunID(now time.Time) string {
	var b [3]byte
	rand.Read(b[:]) // never fails
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// RunDir keeps a run's records in a directory: manifest.json, steps.jsonl
// (one StepRecord per line), results.jsonl (one result per document, as
// the caller formats it) and, when traced, spans.jsonl. Appends are safe
// for concurrent use and each line is written whole.
type RunDir struct {
	Dir     string
	mu      sync.Mutex
	steps   *os.File
	results *os.File
}

// ErrNoRun: no run with that id.
var ErrNoRun = errors.New("no such run")

// RunsDir is where runs live below a state directory.
func RunsDir(state string) string { return filepath.Join(state, "runs") }

// CreateRun makes the directory of a new run and writes its manifest.
func CreateRun(state string, run Run) (*RunDir, error) {
	dir := filepath.Join(RunsDir(state), run.ID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	d := &RunDir{Dir: dir}
	if err := d.WriteManifest(run); err != nil {
		return nil, err
	}
	return d, d.open()
}

// OpenRun opens an existing run for appending (resume) and returns its
// manifest.
func OpenRun(state, id string) (*RunDir, Run, error) {
	run, err := ReadManifest(state, id)
	if err != nil {
		return nil, run, err
	}
	d := &RunDir{Dir: filepath.Join(RunsDir(state), id)}
	return d, run, d.open()
}

func (d *RunDir) open() error {
	var err error
	if d.steps, err = os.OpenFile(filepath.Join(d.Dir, "steps.jsonl"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644); err != nil {
		return err
	}
	d.results, err = os.OpenFile(filepath.Join(d.Dir, "results.jsonl"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	return err
}

// SpanFile is where the run's spans go.
func (d *RunDir) SpanFile() string { return filepath.Join(d.Dir, "spans.jsonl") }

// Record appends a step record.
func (d *RunDir) Record(rec StepRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	_, err = d.steps.Write(append(b, '\n'))
	return err
}

// AddResult appends one document's result line (JSON without newline).
func (d *RunDir) AddResult(line []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, err := d.results.Write(append(bytes.TrimRight(line, "\n"), '\n'))
	return err
}

// WriteManifest replaces the manifest atomically.
func (d *RunDir) WriteManifest(run Run) error {
	b, err := json.MarshalIndent(run, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(d.Dir, ".manifest.tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(d.Dir, "manifest.json"))
}

// Close closes the record files.
func (d *RunDir) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return errors.Join(d.steps.Close(), d.results.Close())
}

// ReadManifest reads a run's manifest.
func ReadManifest(state, id string) (Run, error) {
	var run Run
	if id == "" || strings.ContainsAny(id, `/\`) || strings.HasPrefix(id, ".") {
		return run, fmt.Errorf("%w: %q", ErrNoRun, id)
	}
	b, err := os.ReadFile(filepath.Join(RunsDir(state), id, "manifest.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return run, fmt.Errorf("%w: %s (in %s)", ErrNoRun, id, RunsDir(state))
	}
	if err != nil {
		return run, err
	}
	if err := json.Unmarshal(b, &run); err != nil {
		return run, fmt.Errorf("run %s: manifest: %w", id, err)
	}
	return run, nil
}

// ListRuns returns the manifests of all runs, oldest first.
func ListRuns(state string) ([]Run, error) {
	entries, err := os.ReadDir(RunsDir(state))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Run
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if run, err := ReadManifest(state, e.Name()); err == nil {
			out = append(out, run)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// ReadSteps reads a run's step records. A truncated last line (a run
// killed mid-write) is skipped.
func ReadSteps(state, id string) ([]StepRecord, error) {
	var out []StepRecord
	err := readLines(filepath.Join(RunsDir(state), id, "steps.jsonl"), func(b []byte) error {
		var r StepRecord
		if err := json.Unmarshal(b, &r); err != nil {
			return err
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

// ReadResults returns a run's result lines, raw, in the order written.
func ReadResults(state, id string) ([]json.RawMessage, error) {
	var out []json.RawMessage
	err := readLines(filepath.Join(RunsDir(state), id, "results.jsonl"), func(b []byte) error {
		if !json.Valid(b) {
			return errors.New("not JSON")
		}
		out = append(out, append(json.RawMessage(nil), b...))
		return nil
	})
	return out, err
}

// readLines calls fn for each line; a bad line is an error unless it is
// the last one (a write cut short).
func readLines(path string, fn func([]byte) error) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	var pending error
	line := 0
	for sc.Scan() {
		line++
		if pending != nil {
			return pending
		}
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		if err := fn(sc.Bytes()); err != nil {
			pending = fmt.Errorf("%s:%d: %w", path, line, err)
		}
	}
	return sc.Err()
}

// Finished reads which documents of a run are done (not interrupted),
// from the "file" and "status" of its result lines.
func Finished(state, id string) (map[string]string, error) {
	lines, err := ReadResults(state, id)
	if err != nil {
		return nil, err
	}
	done := map[string]string{}
	for _, l := range lines {
		var r struct{ File, Status string }
		if json.Unmarshal(l, &r) == nil && r.File != "" && r.Status != "" && r.Status != "interrupted" {
			done[r.File] = r.Status
		}
	}
	return done, nil
}
