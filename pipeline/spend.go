package pipeline

import (
	"context"
	"encoding/json"
	"path/filepath"
	"time"
)

// A step's spend is known when it ends (its record's Spent), but a process
// killed in the middle of a step never writes that record, and the calls
// the step had already been answered (and billed for) would be lost from
// the run's totals. So code that calls a paid service reports each call as
// its answer arrives (ReportSpend), and the runner writes it down at once
// as a CallRecord: the totals take a finished step's record, and the calls
// of a step that never finished.

// CallRecord is one answered call to a paid service (a model, an embedding
// endpoint) made by a step.
type CallRecord struct {
	RunID      string `json:"run_id"`
	DocumentID string `json:"document_id"`
	Step       string `json:"step"`
	// SpanID is the step's span: the step record with the same span id,
	// when there is one, already counts this call.
	SpanID string    `json:"span_id"`
	At     time.Time `json:"at"`
	Spent  Usage     `json:"spent"`
}

// CallRecorder is a Recorder that also keeps call records.
type CallRecorder interface {
	RecordCall(CallRecord) error
}

type spendKey struct{}

// withSpendSink returns ctx carrying fn, which ReportSpend calls.
func withSpendSink(ctx context.Context, fn func(Usage)) context.Context {
	return context.WithValue(ctx, spendKey{}, fn)
}

// ReportSpend tells the step running in ctx what one call it made cost, as
// soon as the answer arrived. Extractors and embedders that call paid
// services report every call; outside a step it does nothing.
func ReportSpend(ctx context.Context, u Usage) {
	if fn, ok := ctx.Value(spendKey{}).(func(Usage)); ok && fn != nil {
		fn(u)
	}
}

// RecordCall appends a call record to calls.jsonl.
func (d *RunDir) RecordCall(c CallRecord) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	_, err = d.calls.Write(append(b, '\n'))
	return err
}

// ReadCalls reads a run's call records.
func ReadCalls(state, id string) ([]CallRecord, error) {
	var out []CallRecord
	err := readLines(filepath.Join(RunsDir(state), id, "calls.jsonl"), func(b []byte) error {
		var c CallRecord
		if err := json.Unmarshal(b, &c); err != nil {
			return err
		}
		out = append(out, c)
		return nil
	})
	return out, err
}
