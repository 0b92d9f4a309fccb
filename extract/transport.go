package extract

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

// RetryPolicy bounds transport retries: 429, 5xx, 408 and network
// timeouts are retried with exponential backoff and jitter, waiting what
// the server asks for in Retry-After when it says; other 4xx are not.
type RetryPolicy struct {
	MaxRetries      int           // retries after the first try (default 5)
	InitialInterval time.Duration // first wait (default 1s)
	MaxInterval     time.Duration // longest wait between tries (default 30s)
	MaxElapsed      time.Duration // give up after this long in all (default 2m)
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxRetries == 0 {
		p.MaxRetries = 5
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

// NewHTTPClient returns a client whose transport keeps enough idle
// connections per host for many concurrent requests to one provider
// (the default keeps 2, so a busy batch would open and close connections
// all the time). timeout bounds one try, body included.
func NewHTTPClient(timeout time.Duration) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 64
	t.IdleConnTimeout = 90 * time.Second
	return &http.Client{Transport: t, Timeout: timeout}
}

// retryingDoer is the HTTPDoer go-openai sends through. Retrying here,
// below the client, is what lets us honour Retry-After: go-openai's errors
// do not carry response headers.
type retryingDoer struct {
	client *http.Client
	policy RetryPolicy
}

type retriesKey struct{}

// withRetryCounter returns a context in which the doer counts the retries
// of the requests made with it.
func withRetryCounter(ctx context.Context) (context.Context, *int) {
	n := new(int)
	return context.WithValue(ctx, retriesKey{}, n), n
}

func (d *retryingDoer) Do(req *http.Request) (*http.Response, error) {
	p := d.policy.withDefaults()
	ctx := req.Context()
	counter, _ := ctx.Value(retriesKey{}).(*int)
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = p.InitialInterval
	b.MaxInterval = p.MaxInterval
	tries := 0
	var last *http.Response
	op := func() (*http.Response, error) {
		tries++
		if tries > 1 && counter != nil {
			*counter++
		}
		r := req
		if req.Body != nil && req.GetBody != nil && tries > 1 {
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
			if isTransient(err) {
				return nil, err
			}
			return nil, backoff.Permanent(err)
		}
		if !retryStatus(resp.StatusCode) {
			return resp, nil
		}
		// Buffer the body so the response can still be handed back.
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		last = resp
		err = fmt.Errorf("HTTP %d", resp.StatusCode)
		if wait, ok := retryAfter(resp.Header, time.Now()); ok {
			return nil, &backoff.RetryAfterError{Duration: min(wait, p.MaxElapsed)}
		}
		return nil, err
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

// retryAfter reads Retry-After (seconds or an HTTP date) or the
// millisecond variant some providers send.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	if ms := h.Get("Retry-After-Ms"); ms != "" {
		if v, err := strconv.ParseFloat(ms, 64); err == nil && v >= 0 {
			return time.Duration(v * float64(time.Millisecond)), true
		}
	}
	ra := h.Get("Retry-After")
	if ra == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(ra, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(ra); err == nil {
		return max(0, t.Sub(now)), true
	}
	return 0, false
}
