package main

import (
	"context"
	"sync"
)

// ordered runs work for each of n inputs, at most limit at a time, and
// hands each result to emit in input order as soon as it and those before
// it are done, so output streams while the batch runs and is the same
// whatever the timing. If emit fails, the work still running is cancelled
// through its context and the error returned.
func ordered[T any](ctx context.Context, n, limit int, work func(ctx context.Context, i int) T, emit func(i int, r T) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([]chan T, n)
	for i := range results {
		results[i] = make(chan T, 1)
	}
	sem := make(chan struct{}, max(1, limit))
	var wg sync.WaitGroup
	defer wg.Wait()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] <- work(ctx, i) // work returns at once when ctx is done
		}()
	}
	for i := range n {
		if err := emit(i, <-results[i]); err != nil {
			cancel()
			return err
		}
	}
	return nil
}
