package store

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// The shared schedule: requests of a backlog go out one interval apart
// (never early, never later than their turn), tokens are spaced by their
// count, and a pause holds back what is booked after it. The bounds are
// exact whatever the machine's speed: a booking can be neither earlier
// than its turn (wait + time elapsed since the first booking >= its
// offset) nor later (wait <= its offset).
func TestLimiterSchedule(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := testStore(t)
	const slack = 5 * time.Millisecond // the database clock's and the test's readings
	for _, tc := range []struct {
		name       string
		lim        RateLimit
		tokens     int
		n          int
		wantOffset func(i int) time.Duration
	}{
		{"requests", RateLimit{Name: "r", RequestsPerMinute: 60}, 0, 6,
			func(i int) time.Duration { return time.Duration(float64(i) * 60 / 58.8 * float64(time.Second)) }},
		{"burst", RateLimit{Name: "b", RequestsPerMinute: 600}, 0, 8, // bursts of 6 (600 x 0.02 / 2)
			func(i int) time.Duration {
				return time.Duration(float64(max(0, i-5)) * 60 / 588 * float64(time.Second))
			}},
		{"tokens", RateLimit{Name: "t", TokensPerMinute: 6000}, 1000, 4, // 1000 tokens of 6000 a minute at 0.98
			func(i int) time.Duration { return time.Duration(float64(i) * 1000 * 60 / 5880 * float64(time.Second)) }},
		{"no limits", RateLimit{Name: "n"}, 1000, 5, func(int) time.Duration { return 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := s.Limiter(tc.lim)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			for i := range tc.n {
				wait, err := l.Reserve(ctx, tc.tokens)
				if err != nil {
					t.Fatal(err)
				}
				elapsed := time.Since(start)
				want := tc.wantOffset(i)
				if wait > want+slack || wait+elapsed < want-slack {
					t.Errorf("booking %d: wait %v after %v, want its turn at %v", i, wait, elapsed, want)
				}
			}
		})
	}
	// A pause (a 429's Retry-After heard by any worker) holds back what
	// is booked after it, for every user of the limit.
	a, _ := s.Limiter(RateLimit{Name: "p", RequestsPerMinute: 6000})
	b, _ := s.Limiter(RateLimit{Name: "p", RequestsPerMinute: 6000})
	start := time.Now()
	if err := a.Pause(ctx, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := a.Pause(ctx, time.Second); err != nil { // a shorter pause does not shorten it
		t.Fatal(err)
	}
	wait, err := b.Reserve(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if wait > 30*time.Second+slack || wait+time.Since(start) < 30*time.Second-slack {
		t.Errorf("after a pause of 30s: wait %v", wait)
	}
	// Wait gives up with its context.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := b.Wait(cctx, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled wait: %v", err)
	}
	for _, bad := range []RateLimit{{}, {Name: "x", RequestsPerMinute: -1}, {Name: "x", Headroom: 0.6}} {
		if _, err := s.Limiter(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}

// Concurrent bookings from many senders get distinct turns: the schedule
// of N bookings of a backlog ends N intervals after it started.
func TestLimiterConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := testStore(t)
	const n = 40
	var before, after time.Time
	if err := s.pool.QueryRow(ctx, "SELECT clock_timestamp()").Scan(&before); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		l, err := s.Limiter(RateLimit{Name: "c", RequestsPerMinute: 60})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n / 4 {
				if _, err := l.Reserve(ctx, 0); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	var tat time.Time
	if err := s.pool.QueryRow(ctx, "SELECT request_tat, clock_timestamp() FROM rate_limits WHERE name = 'c'").Scan(&tat, &after); err != nil {
		t.Fatal(err)
	}
	// n bookings of a backlog that began between before and after: the
	// next free turn is n intervals after its start. Two bookings given
	// the same turn would end it sooner.
	sec := float64(time.Second)
	interval := time.Duration(sec * 60 / 58.8)
	span := tat.Sub(before)
	if span < n*interval-time.Millisecond || span > n*interval+after.Sub(before)+time.Millisecond {
		t.Errorf("the schedule spans %v from its start, want %v", span, n*interval)
	}
}
