package pipeline

import (
	"context"
	"errors"
	"sync"
)

// Ordered runs work for each of n inputs, at most limit at a time, and
// hands each result to emit in input order as soon as it and those before
// it are done, so output streams while the batch runs and is the same
// whatever the timing.
//
// Once stop is closed (a first Ctrl-C), no new input starts: work in
// flight finishes, and every input not started gets skip(i) instead. If
// emit fails, the work in flight is cancelled through its context and the
// error returned.
func Ordered[T any](ctx context.Context, n, limit int, stop <-chan struct{}, work func(ctx context.Context, i int) T, skip func(i int) T, emit func(i int, r T) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([]chan T, n)
	for i := range results {
		results[i] = make(chan T, 1)
	}
	sem := make(chan struct{}, max(1, limit))
	var wg sync.WaitGroup
	defer wg.Wait()
	go func() {
		for i := range n {
			acquired := false
			select {
			case sem <- struct{}{}:
				acquired = true
			case <-ctx.Done():
			}
			if stopped(stop) || ctx.Err() != nil {
				if acquired {
					<-sem
				}
				results[i] <- skip(i)
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				results[i] <- work(ctx, i)
			}()
		}
	}()
	for i := range n {
		if err := emit(i, <-results[i]); err != nil {
			cancel()
			for j := i + 1; j < n; j++ { // drain so the dispatcher ends
				<-results[j]
			}
			return err
		}
	}
	return nil
}

func stopped(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

// ResultLog keeps a batch's result lines (a run directory, the store, or
// both).
type ResultLog interface {
	AddResult(ctx context.Context, line ResultLine) error
}

// Batch is one run's documents going through a Runner: in input order, at
// most Limit at a time, each finished document's result line recorded in
// Log before it is handed on. 'extractor run', 'extractor eval' and an
// HTTP upload (a batch of one) all go through it, so they share one life
// cycle: the same steps, lines, counting and versions.
type Batch struct {
	Runner *Runner
	Log    ResultLog
	// Schema is the schema the lines are written for (its list fields).
	Schema Schema
	Limit  int
	// Stop, when closed, starts no more documents: those in flight
	// finish, the others are recorded as interrupted.
	Stop <-chan struct{}
	// Reason words a failure for the result line (default: its message).
	Reason func(error) string
	// Counts are this batch's outcomes so far.
	Counts RunCounts
	// Spent is what this batch spent.
	Spent Usage
}

// Process takes inputs through the runner and calls emit for each, in
// input order, after its line was recorded.
func (b *Batch) Process(ctx context.Context, inputs []Input, emit func(i int, r Result, line ResultLine) error) error {
	reason := b.Reason
	if reason == nil {
		reason = func(err error) string { return err.Error() }
	}
	return Ordered(ctx, len(inputs), b.Limit, b.Stop, func(ctx context.Context, i int) Result {
		return b.Runner.ProcessInput(ctx, inputs[i])
	}, func(i int) Result {
		return Result{File: inputs[i].Name, Interrupted: true, Err: errors.New("not started: the run was stopped")}
	}, func(i int, r Result) error {
		errText := ""
		if r.Err != nil {
			errText = reason(r.Err)
		}
		line := NewResultLine(r, b.Schema, b.Runner.RunID, errText)
		b.Counts.Add(line)
		b.Spent.Add(r.Spent)
		if b.Log != nil {
			if err := b.Log.AddResult(ctx, line); err != nil {
				return err
			}
		}
		if emit == nil {
			return nil
		}
		return emit(i, r, line)
	})
}

// Add counts one document's line.
func (c *RunCounts) Add(l ResultLine) {
	c.Documents++
	switch l.Status {
	case "ok":
		c.OK++
		if l.NeedsReview {
			c.Review++
		}
	case "failed":
		c.Failed++
	default:
		c.Interrupted++
	}
	if l.CacheHits > 0 {
		c.CacheHits++
	}
	if l.Status == "ok" && l.Extractor.Kind == "einvoice" {
		c.EInvoice++
	}
}
