package pipeline

import (
	"bufio"
	"bytes"
	"context"
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
	// Inputs names what the step read and its hash: the outputs of
	// earlier steps (by step name), "file" (the parse step's bytes) and
	// "schema". It is the step graph, recorded: diff reads which input
	// changed from it.
	Inputs map[string]string `json:"inputs,omitempty"`
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
	// Spent is what the step spent (model and embedding calls), when
	// anything: a run's spend is the sum over its records.
	Spent *Usage `json:"spent,omitempty"`
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
	// EInvoice counts the documents read from the e-invoice they carry.
	EInvoice int `json:"einvoice,omitempty"`
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
	Dir string
	// Repaired says what OpenRun had to drop from records a crash cut
	// short.
	Repaired []string
	mu       sync.Mutex
	steps    *os.File
	results  *os.File
	calls    *os.File
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
// manifest. A record file whose last line was cut short (a crash mid-write)
// loses that partial line first, so the next line starts on a line of its
// own; RunDir.Repaired says what was dropped.
func OpenRun(state, id string) (*RunDir, Run, error) {
	run, err := ReadManifest(state, id)
	if err != nil {
		return nil, run, err
	}
	d := &RunDir{Dir: filepath.Join(RunsDir(state), id)}
	for _, name := range []string{"results.jsonl", "steps.jsonl", "calls.jsonl"} {
		dropped, err := dropTornLine(filepath.Join(d.Dir, name))
		if err != nil {
			return nil, run, err
		}
		if dropped > 0 {
			d.Repaired = append(d.Repaired, fmt.Sprintf("%s: dropped a partial last line of %d bytes (a crash mid-write); its document is done again", name, dropped))
		}
	}
	return d, run, d.open()
}

// dropTornLine truncates path after its last complete line: one that ends
// in a newline and holds JSON. It returns how many bytes it dropped.
func dropTornLine(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	keep := len(b)
	if keep > 0 && b[keep-1] != '\n' {
		keep = bytes.LastIndexByte(b, '\n') + 1
	}
	// A line that ends but is not JSON (a crash that left zeros or half a
	// line followed by a newline of the next session) goes too.
	for keep > 0 {
		start := bytes.LastIndexByte(b[:keep-1], '\n') + 1
		if line := bytes.TrimSpace(b[start:keep]); len(line) == 0 || json.Valid(line) {
			break
		}
		keep = start
	}
	if keep == len(b) {
		return 0, nil
	}
	return int64(len(b) - keep), os.Truncate(path, int64(keep))
}

func (d *RunDir) open() error {
	var err error
	if d.steps, err = os.OpenFile(filepath.Join(d.Dir, "steps.jsonl"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644); err != nil {
		return err
	}
	if d.results, err = os.OpenFile(filepath.Join(d.Dir, "results.jsonl"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644); err != nil {
		return err
	}
	d.calls, err = os.OpenFile(filepath.Join(d.Dir, "calls.jsonl"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
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

// AddResult appends one document's result line (a ResultLog).
func (d *RunDir) AddResult(_ context.Context, line ResultLine) error {
	b, err := json.Marshal(line)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	_, err = d.results.Write(append(b, '\n'))
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
	return errors.Join(d.steps.Close(), d.results.Close(), d.calls.Close())
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

// ReadResults returns a run's result lines in the order written (a
// document done again after an interruption has a line per session).
func ReadResults(state, id string) ([]ResultLine, error) {
	var out []ResultLine
	err := readLines(filepath.Join(RunsDir(state), id, "results.jsonl"), func(b []byte) error {
		var l ResultLine
		if err := json.Unmarshal(b, &l); err != nil {
			return fmt.Errorf("not a result line: %w", err)
		}
		out = append(out, l)
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
		if l.File != "" && l.Done() {
			done[l.File] = l.Status
		}
	}
	return done, nil
}

// Latest returns each input's last result line, in input order; an input
// with no line yet is absent.
func Latest(lines []ResultLine, inputs []string) []ResultLine {
	last := map[string]ResultLine{}
	for _, l := range lines {
		if prev, ok := last[l.File]; !ok || l.Done() || !prev.Done() {
			last[l.File] = l // a finished line is not undone by a later interruption
		}
	}
	var out []ResultLine
	for _, f := range inputs {
		if l, ok := last[f]; ok {
			out = append(out, l)
		}
	}
	return out
}

// Totals are a run's counts and spend over all its sessions, from its
// records: the documents from each input's last result line; the spend
// from the step records, and from the call records of steps a crash cut
// short (see CallRecord): every answered call counted once, however often
// its document was begun.
func Totals(state string, run Run) (RunCounts, Usage, error) {
	lines, err := ReadResults(state, run.ID)
	if err != nil {
		return RunCounts{}, Usage{}, err
	}
	return TotalsOf(lines, state, run)
}

// TotalsOf is Totals for the run's result lines already read with
// ReadResults.
func TotalsOf(lines []ResultLine, state string, run Run) (RunCounts, Usage, error) {
	steps, err := ReadSteps(state, run.ID)
	if err != nil {
		return RunCounts{}, Usage{}, err
	}
	c := RunCounts{Documents: len(run.Inputs)}
	done := 0
	for _, l := range Latest(lines, run.Inputs) {
		switch l.Status {
		case "ok":
			c.OK++
			if l.NeedsReview {
				c.Review++
			}
		case "failed":
			c.Failed++
		}
		if l.Done() {
			done++
			if l.CacheHits > 0 {
				c.CacheHits++
			}
		}
	}
	c.Interrupted = c.Documents - done
	calls, err := ReadCalls(state, run.ID)
	if err != nil {
		return RunCounts{}, Usage{}, err
	}
	var spent Usage
	finished := map[string]bool{}
	for _, s := range steps {
		finished[s.SpanID] = true
		if s.Spent != nil {
			spent.Add(*s.Spent)
		}
	}
	for _, call := range calls {
		if !finished[call.SpanID] { // its step never ended: a crash
			spent.Add(call.Spent)
		}
	}
	return c, spent, nil
}

// LocalRecords reads the runs kept in a state directory: what
// history.Records asks of a place that records runs (the store is the
// other).
type LocalRecords struct{ State string }

// RunManifests returns every run's manifest.
func (l LocalRecords) RunManifests(context.Context) ([]Run, error) { return ListRuns(l.State) }

// StepRecords returns a run's step records.
func (l LocalRecords) StepRecords(_ context.Context, runID string) ([]StepRecord, error) {
	return ReadSteps(l.State, runID)
}

// ResultLines returns a run's result lines.
func (l LocalRecords) ResultLines(_ context.Context, runID string) ([]ResultLine, error) {
	return ReadResults(l.State, runID)
}
