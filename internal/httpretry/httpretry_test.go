package httpretry

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		h    http.Header
		want time.Duration
		ok   bool
	}{
		{http.Header{"Retry-After": {"3"}}, 3 * time.Second, true},
		{http.Header{"Retry-After": {"0.5"}}, 500 * time.Millisecond, true},
		{http.Header{"Retry-After-Ms": {"250"}}, 250 * time.Millisecond, true},
		{http.Header{"Retry-After-Ms": {"250"}, "Retry-After": {"3"}}, 250 * time.Millisecond, true},
		{http.Header{"Retry-After": {now.Add(10 * time.Second).Format(http.TimeFormat)}}, 10 * time.Second, true},
		{http.Header{"Retry-After": {now.Add(-10 * time.Second).Format(http.TimeFormat)}}, 0, true},
		{http.Header{"Retry-After": {now.Add(1000 * time.Hour).Format(http.TimeFormat)}}, MaxRetryAfter, true},
		{http.Header{"Retry-After": {"1e300"}}, MaxRetryAfter, true},
		{http.Header{"Retry-After": {"+Inf"}}, MaxRetryAfter, true},
		{http.Header{"Retry-After": {"NaN"}}, 0, false},
		{http.Header{"Retry-After": {"-1"}}, 0, false},
		{http.Header{"Retry-After": {"soon"}}, 0, false},
		{http.Header{}, 0, false},
	}
	for _, tt := range tests {
		got, ok := RetryAfter(tt.h, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("RetryAfter(%v) = %v %v, want %v %v", tt.h, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"3", "0.5", "-1", "1e309", "NaN", "Wed, 21 Oct 2015 07:28:00 GMT", ""} {
		f.Add(s, s)
	}
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, ra, ms string) {
		h := http.Header{}
		h.Set("Retry-After", ra)
		h.Set("Retry-After-Ms", ms)
		if d, ok := RetryAfter(h, now); d < 0 || d > MaxRetryAfter || (!ok && d != 0) {
			t.Errorf("RetryAfter(%q, %q) = %v, %v", ra, ms, d, ok)
		}
	})
}

// script is a test server answering requests in turn with the given
// handlers, recording the bodies it received.
type script struct {
	mu       sync.Mutex
	handlers []http.HandlerFunc
	bodies   []string
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	i := len(s.bodies)
	s.bodies = append(s.bodies, string(b))
	s.mu.Unlock()
	if i >= len(s.handlers) {
		http.Error(w, "beyond the script", http.StatusTeapot)
		return
	}
	s.handlers[i](w, r)
}

func (s *script) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.bodies...)
}

func status(code int, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
		io.WriteString(w, http.StatusText(code))
	}
}

func sleep(d time.Duration, then http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
		then(w, r)
	}
}

var fast = Policy{InitialInterval: 5 * time.Millisecond, MaxInterval: 20 * time.Millisecond}

func TestDoer(t *testing.T) {
	tests := []struct {
		name        string
		handlers    []http.HandlerFunc
		policy      Policy
		timeout     time.Duration
		wantStatus  int // 0: want an error
		wantReqs    int
		wantRetries int
		minElapsed  time.Duration
	}{
		{"ok at once", []http.HandlerFunc{status(200)}, fast, 0, 200, 1, 0, 0},
		{"5xx then ok", []http.HandlerFunc{status(500), status(503), status(200)}, fast, 0, 200, 3, 2, 0},
		{"408 then ok", []http.HandlerFunc{status(408), status(200)}, fast, 0, 200, 2, 1, 0},
		{"429 honours Retry-After-Ms", []http.HandlerFunc{status(429, "Retry-After-Ms", "300"), status(200)}, fast, 0, 200, 2, 1, 250 * time.Millisecond},
		{"400 is not retried", []http.HandlerFunc{status(400), status(200)}, fast, 0, 400, 1, 0, 0},
		{"404 is not retried", []http.HandlerFunc{status(404), status(200)}, fast, 0, 404, 1, 0, 0},
		{"retries run out: the last response", []http.HandlerFunc{status(502), status(503), status(504)},
			Policy{MaxRetries: 2, InitialInterval: time.Millisecond}, 0, 504, 3, 2, 0},
		{"negative MaxRetries: no retry", []http.HandlerFunc{status(503), status(200)},
			Policy{MaxRetries: -1, InitialInterval: time.Millisecond}, 0, 503, 1, 0, 0},
		{"a timeout is retried", []http.HandlerFunc{sleep(time.Second, status(200)), status(200)}, fast, 100 * time.Millisecond, 200, 2, 1, 0},
		{"timeouts run out: an error", []http.HandlerFunc{sleep(time.Second, status(200)), sleep(time.Second, status(200))},
			Policy{MaxRetries: 1, InitialInterval: time.Millisecond}, 100 * time.Millisecond, 0, 2, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &script{handlers: tt.handlers}
			srv := httptest.NewServer(s)
			defer srv.Close()
			d := NewDoer(NewClient(tt.timeout), tt.policy)
			ctx, retries := WithCounter(context.Background())
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, strings.NewReader(`{"input":"x"}`))
			start := time.Now()
			resp, err := d.Do(req)
			if tt.wantStatus == 0 {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("status %d, want an error", resp.StatusCode)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tt.wantStatus || string(body) != http.StatusText(tt.wantStatus) {
					t.Errorf("response %d %q, want %d with its body", resp.StatusCode, body, tt.wantStatus)
				}
			}
			reqs := s.requests()
			if len(reqs) != tt.wantReqs || *retries != tt.wantRetries {
				t.Errorf("%d requests, %d retries; want %d, %d", len(reqs), *retries, tt.wantReqs, tt.wantRetries)
			}
			for i, b := range reqs {
				if b != `{"input":"x"}` {
					t.Errorf("request %d had body %q: the body must be replayed", i+1, b)
				}
			}
			if el := time.Since(start); el < tt.minElapsed {
				t.Errorf("returned after %v, want at least %v", el, tt.minElapsed)
			}
		})
	}
}

func TestDoerCancelledDuringWait(t *testing.T) {
	s := &script{handlers: []http.HandlerFunc{status(429, "Retry-After", "30")}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	resp, err := NewDoer(nil, Policy{}).Do(req)
	if err == nil {
		resp.Body.Close()
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the context's deadline", err)
	}
}

func TestDoerDoesNotReplayAnUnreplayableBody(t *testing.T) {
	s := &script{handlers: []http.HandlerFunc{status(503), status(200)}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL, io.NopCloser(strings.NewReader("once")))
	req.GetBody = nil
	resp, err := NewDoer(nil, fast).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || len(s.requests()) != 1 {
		t.Errorf("status %d after %d requests: a body that cannot be replayed must not be retried", resp.StatusCode, len(s.requests()))
	}
}

func TestNewClientPoolsConnections(t *testing.T) {
	c := NewClient(7 * time.Second)
	tr, ok := c.Transport.(*http.Transport)
	if !ok || tr.MaxIdleConnsPerHost != 64 || c.Timeout != 7*time.Second {
		t.Errorf("client = %+v", c)
	}
	if tr == http.DefaultTransport {
		t.Error("NewClient must not share (and so change) http.DefaultTransport")
	}
}

// gate records what a Doer asks of it.
type gate struct {
	mu     sync.Mutex
	waits  []int
	pauses []time.Duration
	err    error
}

func (g *gate) Wait(ctx context.Context, tokens int) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.waits = append(g.waits, tokens)
	return g.err
}

func (g *gate) Pause(ctx context.Context, d time.Duration) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pauses = append(g.pauses, d)
	return nil
}

// A gate admits every try, retries included, with the request's tokens,
// and hears every wait a provider asks for with 429 or 503 (not other
// statuses, and not without Retry-After); a gate that refuses ends the
// request before anything is sent.
func TestDoerGate(t *testing.T) {
	tests := []struct {
		name       string
		handlers   []http.HandlerFunc
		refuse     error
		wantWaits  []int
		wantPauses []time.Duration
		wantReqs   int
	}{
		{"one try", []http.HandlerFunc{status(200)}, nil, []int{700}, nil, 1},
		{"429 with Retry-After pauses everyone", []http.HandlerFunc{status(429, "Retry-After-Ms", "30"), status(200)}, nil,
			[]int{700, 700}, []time.Duration{30 * time.Millisecond}, 2},
		{"503 with Retry-After too", []http.HandlerFunc{status(503, "Retry-After", "0.02"), status(200)}, nil,
			[]int{700, 700}, []time.Duration{20 * time.Millisecond}, 2},
		{"429 without Retry-After", []http.HandlerFunc{status(429), status(200)}, nil, []int{700, 700}, nil, 2},
		{"500 with Retry-After", []http.HandlerFunc{status(500, "Retry-After", "0.01"), status(200)}, nil, []int{700, 700}, nil, 2},
		{"refused", []http.HandlerFunc{status(200)}, context.DeadlineExceeded, []int{700}, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &script{handlers: tt.handlers}
			srv := httptest.NewServer(s)
			defer srv.Close()
			g := &gate{err: tt.refuse}
			p := fast
			p.Gate = g
			d := NewDoer(nil, p)
			req, _ := http.NewRequestWithContext(WithTokens(context.Background(), 700), "POST", srv.URL, strings.NewReader("body"))
			resp, err := d.Do(req)
			if tt.refuse != nil {
				if !errors.Is(err, tt.refuse) {
					t.Errorf("refused: %v", err)
				}
			} else if err != nil || resp.StatusCode != 200 {
				t.Fatalf("%v %v", resp, err)
			}
			if len(s.requests()) != tt.wantReqs || !slicesEqual(g.waits, tt.wantWaits) || !slicesEqual(g.pauses, tt.wantPauses) {
				t.Errorf("%d requests, waits %v, pauses %v; want %d, %v, %v", len(s.requests()), g.waits, g.pauses, tt.wantReqs, tt.wantWaits, tt.wantPauses)
			}
		})
	}
}

func slicesEqual[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
