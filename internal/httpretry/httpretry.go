// Package httpretry owns the HTTP transport every client of a model
// provider sends through: a pooled client for many concurrent requests to
// one host, and a Doer (go-openai's HTTPDoer) that retries what is worth
// retrying — 429, 408, 5xx, timeouts and dropped connections — with
// exponential backoff and jitter, waiting what the server asks for in
// Retry-After (or Retry-After-Ms) when it says.
//
// It sits below the OpenAI client because go-openai's errors do not carry
// response headers: only here can Retry-After be read. It does not trace
// (wrap the client's transport with tracing.HTTPTransport), rate-limit,
// or decide what a provider's error means; after the last try it hands
// the last error response back unread, so the client reports the
// provider's own message. It lives in internal/ because both extract and
// embed need it, and sibling packages may not import each other.
package httpretry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// Policy bounds retries: 429, 5xx, 408 and network timeouts are retried
// with exponential backoff and jitter, waiting what the server asks for in
// Retry-After when it says; other 4xx are not. Zero fields take the
// defaults noted.
type Policy struct {
	// MaxRetries is the number of retries after the first try (default
	// 5; negative: none).
	MaxRetries      int
	InitialInterval time.Duration // first wait (default 1s)
	MaxInterval     time.Duration // longest wait between tries (default 30s)
	MaxElapsed      time.Duration // give up after this long in all (default 2m)
	// Gate, when set, admits every try (the first and each retry) under
	// limits shared with other senders, and hears of the waits a
	// provider asks for (429 or 503 with Retry-After), so that every
	// sender holds back, not only this one.
	Gate Gate
}

// Gate admits requests to a provider whose limits are shared by many
// senders (goroutines, processes, machines).
type Gate interface {
	// Wait blocks until a request of tokens tokens (WithTokens; 0 when
	// not said) may be sent.
	Wait(ctx context.Context, tokens int) error
	// Pause holds every sender back for d.
	Pause(ctx context.Context, d time.Duration) error
}

type tokensKey struct{}

// WithTokens returns a context in which requests count as tokens tokens
// for the Gate: what the provider will count (the prompt and the answer's
// cap).
func WithTokens(ctx context.Context, tokens int) context.Context {
	return context.WithValue(ctx, tokensKey{}, tokens)
}

func (p Policy) withDefaults() Policy {
	if p.MaxRetries == 0 {
		p.MaxRetries = 5
	}
	if p.MaxRetries < 0 {
		p.MaxRetries = 0
	}
	if p.InitialInterval <= 0 {
		p.InitialInterval = time.Second
	}
	if p.MaxInterval <= 0 {
		p.MaxInterval = 30 * time.Second
	}
	if p.MaxElapsed <= 0 {
		p.MaxElapsed = 2 * time.Minute
	}
	return p
}

// NewClient returns a client whose transport keeps enough idle
// connections per host for many concurrent requests to one provider (the
// default keeps 2, so a busy batch would open and close connections all
// the time). timeout bounds one try, body included; 0 means no bound.
func NewClient(timeout time.Duration) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 64
	t.IdleConnTimeout = 90 * time.Second
	return &http.Client{Transport: t, Timeout: timeout}
}

// Doer sends requests through a client, retrying per its policy. It
// implements go-openai's HTTPDoer and is safe for concurrent use.
type Doer struct {
	client *http.Client
	policy Policy
}

// NewDoer returns a Doer sending through client (NewClient(0) when nil)
// under policy.
func NewDoer(client *http.Client, policy Policy) *Doer {
	if client == nil {
		client = NewClient(0)
	}
	return &Doer{client: client, policy: policy}
}

type counterKey struct{}

// WithCounter returns a context in which a Doer counts the retries of
// the requests made with it into *n. The count is not synchronized: use
// one counter per request in flight.
func WithCounter(ctx context.Context) (_ context.Context, n *int) {
	n = new(int)
	return context.WithValue(ctx, counterKey{}, n), n
}

// Do sends req, retrying transient failures. A request with a body is
// retried only when it can be replayed (GetBody is set, as it is by
// http.NewRequest for in-memory bodies). When the retries run out on an
// HTTP error, the last response is returned with a nil error, its body
// buffered and unread, so the caller sees the provider's own message.
// Cancelling the request's context ends the waits and returns its error.
func (d *Doer) Do(req *http.Request) (*http.Response, error) {
	p := d.policy.withDefaults()
	ctx := req.Context()
	counter, _ := ctx.Value(counterKey{}).(*int)
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = p.InitialInterval
	b.MaxInterval = p.MaxInterval
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	tries := 0
	var last *http.Response
	tokens, _ := ctx.Value(tokensKey{}).(int)
	op := func() (*http.Response, error) {
		tries++
		if p.Gate != nil {
			if err := p.Gate.Wait(ctx, tokens); err != nil {
				return nil, backoff.Permanent(err)
			}
		}
		if tries > 1 && counter != nil {
			*counter++
		}
		r := req
		if tries > 1 && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, backoff.Permanent(err)
			}
			r = req.Clone(ctx)
			r.Body = body
		}
		resp, err := d.client.Do(r)
		if err != nil {
			if ctx.Err() != nil {
				return nil, backoff.Permanent(ctx.Err())
			}
			if replayable && isTransient(err) {
				return nil, err
			}
			return nil, backoff.Permanent(err)
		}
		if !replayable || !retryStatus(resp.StatusCode) {
			return resp, nil
		}
		// Buffer the body so the response can still be handed back.
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		last = resp
		if wait, ok := RetryAfter(resp.Header, time.Now()); ok {
			if p.Gate != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
				// Every sender waits, not only this one: the next
				// tries of all of them would be refused too. A gate
				// that cannot be told does not stop this retry.
				_ = p.Gate.Pause(ctx, min(wait, p.MaxElapsed))
			}
			return nil, &backoff.RetryAfterError{Duration: min(wait, p.MaxElapsed)}
		}
		return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	resp, err := backoff.Retry(ctx, op,
		backoff.WithBackOff(b),
		backoff.WithMaxTries(uint(p.MaxRetries+1)),
		backoff.WithMaxElapsedTime(p.MaxElapsed))
	if err != nil && last != nil && ctx.Err() == nil {
		// Out of retries on an HTTP error: hand the last response (its
		// body buffered, unread) to the client, which reports the
		// provider's error message.
		return last, nil
	}
	return resp, err
}

func retryStatus(code int) bool {
	return code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500
}

// isTransient reports network failures worth retrying: timeouts and
// connections refused or reset (a provider restarting).
func isTransient(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// RetryAfter reads how long a response asks the client to wait: the
// Retry-After header (seconds, fractions allowed, or an HTTP date, a past
// date meaning now) or the Retry-After-Ms header some providers send,
// which wins when both are there. ok is false when neither is present and
// readable. Waits longer than MaxRetryAfter are cut to it.
func RetryAfter(h http.Header, now time.Time) (wait time.Duration, ok bool) {
	if ms := h.Get("Retry-After-Ms"); ms != "" {
		if v, err := strconv.ParseFloat(ms, 64); err == nil && v >= 0 {
			return seconds(v / 1000), true
		}
	}
	ra := h.Get("Retry-After")
	if ra == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(ra, 64); err == nil && s >= 0 {
		return seconds(s), true
	}
	if t, err := http.ParseTime(ra); err == nil {
		return min(max(0, t.Sub(now)), MaxRetryAfter), true
	}
	return 0, false
}

// MaxRetryAfter bounds what RetryAfter reports, so an absurd header
// ("1e300", "+Inf") cannot overflow a Duration.
const MaxRetryAfter = 24 * time.Hour

// seconds converts s >= 0 (possibly +Inf) to a Duration of at most
// MaxRetryAfter.
func seconds(s float64) time.Duration {
	if s >= MaxRetryAfter.Seconds() {
		return MaxRetryAfter
	}
	return time.Duration(s * float64(time.Second))
}
