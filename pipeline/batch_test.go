package pipeline

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestOrdered(t *testing.T) {
	var running, peak atomic.Int32
	var got []int
	err := Ordered(context.Background(), 20, 3, nil, func(ctx context.Context, i int) int {
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(time.Duration(20-i) * time.Millisecond) // later inputs finish first
		running.Add(-1)
		return i * i
	}, func(i int) int { return -1 }, func(i, r int) error {
		if r != i*i {
			t.Errorf("result %d for input %d", r, i)
		}
		got = append(got, i)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if v != i {
			t.Fatalf("emitted out of order: %v", got)
		}
	}
	if len(got) != 20 || peak.Load() > 3 {
		t.Errorf("%d results, peak concurrency %d (limit 3)", len(got), peak.Load())
	}
	stop := errors.New("stop")
	cancelled := atomic.Int32{}
	err = Ordered(context.Background(), 10, 2, nil, func(ctx context.Context, i int) int {
		if i > 0 { // the others wait for the failed emit of the first
			<-ctx.Done()
			cancelled.Add(1)
		}
		return i
	}, func(i int) int { return -1 }, func(i, r int) error { return stop })
	if !errors.Is(err, stop) || cancelled.Load() == 0 {
		t.Errorf("err %v, cancelled %d: a failing emit must stop the rest", err, cancelled.Load())
	}
}

// After stop, nothing new starts: work in flight finishes, the rest is
// skipped.
func TestOrderedStop(t *testing.T) {
	stop := make(chan struct{})
	started := atomic.Int32{}
	var got []int
	err := Ordered(context.Background(), 10, 2, stop, func(ctx context.Context, i int) int {
		if started.Add(1) == 2 {
			close(stop)
		}
		time.Sleep(20 * time.Millisecond)
		return i
	}, func(i int) int { return -1 }, func(i, r int) error {
		got = append(got, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	done, skipped := 0, 0
	for _, r := range got {
		if r >= 0 {
			done++
		} else {
			skipped++
		}
	}
	if done != 2 || skipped != 8 {
		t.Errorf("results %v: want the 2 started to finish and 8 skipped", got)
	}
}
