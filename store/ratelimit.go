package store

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// RateLimit is a provider's limits, shared by every process that uses the
// database: requests and tokens per minute.
type RateLimit struct {
	// Name identifies the limit (one per provider account and model, say
	// "llm:api.openai.com/gpt-4o-mini"): processes that give the same name
	// share it.
	Name              string
	RequestsPerMinute int
	TokensPerMinute   int
	// Headroom is the share of each limit kept free (default 0.02): the
	// schedule runs at (1-Headroom) of the limit with bursts of at most
	// Headroom/2 of it, so no 60-second window, however placed, sees
	// more than the limit, even with the small jitter between a send
	// being scheduled and reaching the provider.
	Headroom float64
}

// Limiter schedules requests under a RateLimit shared through the
// database (a generic cell-rate schedule in the rate_limits table, one
// statement per request): any number of workers on any number of machines
// together stay within the limit, each request waiting its own turn, and
// a pause one of them reports (a provider's 429 with Retry-After) holds
// them all back. It implements the gate of the LLM client.
type Limiter struct {
	pool *pgxpool.Pool
	lim  RateLimit
	// Seconds between requests and tokens, and the bursts allowed.
	reqInterval, reqTolerance float64
	tokInterval, tokBurst     float64
}

// Limiter returns the shared limiter of lim.
func (s *Store) Limiter(lim RateLimit) (*Limiter, error) {
	if lim.Name == "" {
		return nil, invalid("a rate limit without a name")
	}
	if lim.RequestsPerMinute < 0 || lim.TokensPerMinute < 0 {
		return nil, invalid("rate limit %s: negative limits", lim.Name)
	}
	if lim.Headroom <= 0 {
		lim.Headroom = 0.02
	}
	if lim.Headroom >= 0.5 {
		return nil, invalid("rate limit %s: headroom %g (want less than 0.5)", lim.Name, lim.Headroom)
	}
	l := &Limiter{pool: s.pool, lim: lim}
	l.reqInterval, l.reqTolerance = schedule(lim.RequestsPerMinute, lim.Headroom)
	if lim.TokensPerMinute > 0 {
		l.tokInterval = 60 / (float64(lim.TokensPerMinute) * (1 - lim.Headroom))
		l.tokBurst = max(1, math.Floor(float64(lim.TokensPerMinute)*lim.Headroom/2))
	}
	return l, nil
}

// schedule is a limit's interval between sends and burst tolerance in
// seconds, both 0 for no limit: sends perMinute*(1-headroom) a minute,
// with bursts of perMinute*headroom/2 (at least 1).
func schedule(perMinute int, headroom float64) (interval, tolerance float64) {
	if perMinute <= 0 {
		return 0, 0
	}
	interval = 60 / (float64(perMinute) * (1 - headroom))
	burst := max(1, math.Floor(float64(perMinute)*headroom/2))
	return interval, (burst - 1) * interval
}

// Reserve books the next send of a request of tokens tokens and returns
// how long to wait before sending it (0: at once).
func (l *Limiter) Reserve(ctx context.Context, tokens int) (time.Duration, error) {
	var wait float64
	err := l.pool.QueryRow(ctx, "SELECT extractor_rate_reserve($1, $2, $3, $4, $5, $6)",
		l.lim.Name, l.reqInterval, l.reqTolerance, l.tokInterval, l.tokBurst, float64(max(tokens, 0))).Scan(&wait)
	if err != nil {
		return 0, fmt.Errorf("store: rate limit %s: %w", l.lim.Name, err)
	}
	return time.Duration(max(wait, 0) * float64(time.Second)), nil
}

// Wait blocks until a request of tokens tokens may be sent (the gate of
// the LLM client).
func (l *Limiter) Wait(ctx context.Context, tokens int) error {
	d, err := l.Reserve(ctx, tokens)
	if err != nil || d <= 0 {
		return err
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Pause holds every sender of the limit back for d from now (a provider
// answered 429 with Retry-After): requests scheduled later start after it.
// A longer pause already set stays.
func (l *Limiter) Pause(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	_, err := l.pool.Exec(ctx, `INSERT INTO rate_limits (name, paused_until) VALUES ($1, clock_timestamp() + make_interval(secs => $2))
ON CONFLICT (name) DO UPDATE SET paused_until = greatest(rate_limits.paused_until, excluded.paused_until), updated_at = clock_timestamp()`,
		l.lim.Name, d.Seconds())
	if err != nil {
		return fmt.Errorf("store: pausing rate limit %s: %w", l.lim.Name, err)
	}
	return nil
}
