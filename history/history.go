// Package history reads what happened: the runs, their step records and
// result lines, and the step outputs kept in the cache. It answers "where
// did this value come from?" (Lineage: value ← step and attempt ←
// versions ← chunk ← page ← file) and "why is this output different?"
// (Diff: per document and field, what changed and the upstream change
// behind it), and finds runs and documents by any unique part of their
// ids. It reads through Records, which both the run directory
// (pipeline.LocalRecords) and the database (store.Store) implement, so
// the CLI and the web pages share it.
//
// It never runs a step, writes nothing and needs no network. Printing is
// the caller's business.
package history

import (
	"cmp"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/extractor-dev/extractor/pipeline"
)

// Records is where runs are recorded.
type Records interface {
	// RunManifests returns every run's manifest, in any order.
	RunManifests(ctx context.Context) ([]pipeline.Run, error)
	// StepRecords returns a run's step records, in the order written.
	StepRecords(ctx context.Context, runID string) ([]pipeline.StepRecord, error)
	// ResultLines returns a run's result lines, in the order written (a
	// document done again after an interruption has one per session).
	ResultLines(ctx context.Context, runID string) ([]pipeline.ResultLine, error)
}

// Outputs holds step outputs by cache key (a pipeline.Cache).
type Outputs interface {
	Get(ctx context.Context, key string) ([]byte, bool, error)
}

// History reads Records, and for lineage the step outputs and files.
type History struct {
	Records Records
	// Outputs, when set, gives the step outputs lineage follows (the
	// page's lines, the chunks, the second opinion).
	Outputs Outputs
	// FileHash, when set, says what a document's file holds today (its
	// SHA-256), so lineage can tell whether it changed since.
	FileHash func(path string) (string, error)
}

// Run is one run as its records hold it.
type Run struct {
	pipeline.Run
	// Results are the documents' last result lines, in the order the run
	// first wrote them.
	Results []pipeline.ResultLine
	Steps   []pipeline.StepRecord
}

// Runs lists the runs in the order they started (ties by id).
func (h History) Runs(ctx context.Context) ([]pipeline.Run, error) {
	runs, err := h.Records.RunManifests(ctx)
	slices.SortStableFunc(runs, func(a, b pipeline.Run) int {
		return cmp.Or(a.Started.Compare(b.Started), strings.Compare(a.ID, b.ID))
	})
	return runs, err
}

// Resolve turns any unique part of a run id into the run's id: the whole
// id, its end ("a1b2c3" of "20261207T193048Z-a1b2c3"), its start, or
// anything between. Several matches are an error that names them.
func (h History) Resolve(ctx context.Context, part string) (string, error) {
	runs, err := h.Runs(ctx)
	if err != nil {
		return "", err
	}
	if part == "" {
		return "", fmt.Errorf("%w: give a run id (see 'extractor runs')", pipeline.ErrInvalid)
	}
	var found []string
	for _, r := range runs {
		if r.ID == part {
			return part, nil
		}
		if strings.Contains(r.ID, part) {
			found = append(found, r.ID)
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("%w: no run %q (see 'extractor runs')", pipeline.ErrNotFound, part)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("%w: run %q is ambiguous, it is part of %d runs: %s", pipeline.ErrInvalid, part, len(found), strings.Join(found, ", "))
}

// Open reads one run (by any unique part of its id).
func (h History) Open(ctx context.Context, part string) (*Run, error) {
	id, err := h.Resolve(ctx, part)
	if err != nil {
		return nil, err
	}
	runs, err := h.Records.RunManifests(ctx)
	if err != nil {
		return nil, err
	}
	var run *Run
	for _, r := range runs {
		if r.ID == id {
			run = &Run{Run: r}
		}
	}
	if run == nil {
		return nil, fmt.Errorf("%w: run %s", pipeline.ErrNotFound, id)
	}
	lines, err := h.Records.ResultLines(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", id, err)
	}
	at := map[string]int{}
	for _, l := range lines {
		k := l.File
		if k == "" {
			k = l.Key()
		}
		if i, ok := at[k]; ok {
			if l.Done() || !run.Results[i].Done() { // an interruption does not undo a finished line
				run.Results[i] = l
			}
			continue
		}
		at[k] = len(run.Results)
		run.Results = append(run.Results, l)
	}
	if run.Steps, err = h.Records.StepRecords(ctx, id); err != nil {
		return nil, fmt.Errorf("run %s: %w", id, err)
	}
	return run, nil
}

// StepOrder is the order steps run in (pipeline.Runner.Process).
var StepOrder = []string{pipeline.StepParse, pipeline.StepChunk, pipeline.StepExtract, pipeline.StepSecond,
	pipeline.StepValidate, pipeline.StepEmbed, pipeline.StepStore}

// StepsOf returns the step records of one document's trace (or, without a
// trace id, of the document): the last record of each step, in step
// order.
func (r *Run) StepsOf(l pipeline.ResultLine) []pipeline.StepRecord {
	by := map[string]pipeline.StepRecord{}
	for _, s := range r.Steps {
		if l.TraceID != "" && s.TraceID != "" {
			if s.TraceID != l.TraceID {
				continue
			}
		} else if l.DocumentID == "" || s.DocumentID != l.DocumentID {
			continue
		}
		by[s.Step] = s
	}
	var out []pipeline.StepRecord
	for _, name := range StepOrder {
		if s, ok := by[name]; ok {
			out = append(out, s)
		}
	}
	return out
}

// StepOf returns the record of one step among a document's steps.
func StepOf(steps []pipeline.StepRecord, name string) (pipeline.StepRecord, bool) {
	for _, s := range steps {
		if s.Step == name {
			return s, true
		}
	}
	return pipeline.StepRecord{}, false
}

// Find finds a document by id (whole, or a unique part of at least 6
// characters), by trace id, or by file name, in the run given (any unique
// part of its id) or else in the newest run that has it.
func (h History) Find(ctx context.Context, runPart, doc string) (*Run, pipeline.ResultLine, error) {
	var ids []string
	if runPart != "" {
		id, err := h.Resolve(ctx, runPart)
		if err != nil {
			return nil, pipeline.ResultLine{}, err
		}
		ids = []string{id}
	} else {
		runs, err := h.Runs(ctx)
		if err != nil {
			return nil, pipeline.ResultLine{}, err
		}
		if len(runs) == 0 {
			return nil, pipeline.ResultLine{}, fmt.Errorf("%w: no runs yet (start one with 'extractor run')", pipeline.ErrNotFound)
		}
		for i := len(runs) - 1; i >= 0; i-- {
			ids = append(ids, runs[i].ID)
		}
	}
	lower := strings.ToLower(doc)
	isHex := lower != "" && strings.Trim(lower, "0123456789abcdef") == ""
	byName := strings.ContainsAny(doc, "./") || !isHex
	if isHex && len(doc) < 6 {
		return nil, pipeline.ResultLine{}, fmt.Errorf("%w: document %q: give at least 6 characters of a document or trace id, or a file name", pipeline.ErrInvalid, doc)
	}
	for _, id := range ids {
		run, err := h.Open(ctx, id)
		if err != nil {
			return nil, pipeline.ResultLine{}, err
		}
		var match []pipeline.ResultLine
		seen := map[string]bool{}
		for _, r := range run.Results {
			ok := false
			switch {
			case isHex && r.TraceID == lower:
				return run, r, nil // a trace is one document
			case isHex && r.DocumentID != "" && strings.Contains(r.DocumentID, lower):
				ok = true
			case isHex && r.TraceID != "" && strings.Contains(r.TraceID, lower):
				ok = true
			case byName && r.File != "" && (r.File == doc || filepath.Base(r.File) == doc || strings.TrimPrefix(r.File, "upload:") == doc):
				ok = true
			}
			if ok && !seen[r.Key()] {
				seen[r.Key()] = true
				match = append(match, r)
			}
		}
		switch len(match) {
		case 0:
			continue
		case 1:
			return run, match[0], nil
		}
		var names []string
		for _, r := range match {
			names = append(names, ShortID(r.DocumentID)+" ("+filepath.Base(r.File)+")")
		}
		return nil, pipeline.ResultLine{}, fmt.Errorf("%w: document %q is ambiguous in run %s: %s", pipeline.ErrInvalid, doc, id, strings.Join(names, ", "))
	}
	where := "any run"
	if runPart != "" {
		where = "run " + ids[0]
	}
	return nil, pipeline.ResultLine{}, fmt.Errorf("%w: no document %q in %s (see 'extractor traces list')", pipeline.ErrNotFound, doc, where)
}

// ShortID is the first 12 characters of an id or hash, "-" for none.
func ShortID(id string) string {
	if id == "" {
		return "-"
	}
	return id[:min(12, len(id))]
}
