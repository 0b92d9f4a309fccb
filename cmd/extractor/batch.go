package main

import (
	"context"
	"sync"
)

// ordered runs work for each of n inputs, at most limit at a time, and
// hands each result to emit in input order as soon as it and those before
// it are done, so output streams while the batch runs and is the same
// whatever the timing.
//
// Once stop is closed (a first Ctrl-C), no new input starts: work in
// flight finishes, and every input not started gets skip(i) instead. If
// emit fails, the work in flight is cancelled through its context and the
// error returned.
func ordered[T any](ctx context.Context, n, limit int, stop <-chan struct{}, work func(ctx context.Context, i int) T, skip func(i int) T, emit func(i int, r T) error) error {
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
