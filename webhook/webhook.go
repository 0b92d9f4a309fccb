// Package webhook signs and sends the HTTP callbacks extractor makes to
// integrations (a job completed, a document approved or rejected), and
// verifies them on the receiving side.
//
// A callback is a POST of a JSON body {id, type, created, data} with the
// header
//
//	Extractor-Signature: t=1700000000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd
//
// as Stripe does: v1 is the hex HMAC-SHA256, keyed with the webhook's
// secret, of the timestamp, a dot and the body, so a receiver can tell
// the body is ours and unchanged, and refuse old ones (replays). Every
// attempt is signed afresh. Recording events, queueing and retrying
// deliveries is the store's (River jobs); this package knows only HTTP.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Event types.
const (
	// JobCompleted: a job finished, succeeded or failed (its last attempt
	// failed).
	JobCompleted = "job.completed"
	// DocumentApproved and DocumentRejected: a person decided.
	DocumentApproved = "document.approved"
	DocumentRejected = "document.rejected"
)

// Events lists the event types a webhook may subscribe to.
var Events = []string{JobCompleted, DocumentApproved, DocumentRejected}

// IsEvent reports whether s is an event type.
func IsEvent(s string) bool { return slices.Contains(Events, s) }

// Headers of a callback.
const (
	SignatureHeader = "Extractor-Signature"
	// EventHeader is the event's type; DeliveryHeader its id (the same on
	// every attempt: receivers deduplicate by it).
	EventHeader    = "Extractor-Event"
	DeliveryHeader = "Extractor-Event-Id"
)

// Body is what a callback posts.
type Body struct {
	// ID is "evt_" and the event's number: the same on every attempt.
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	Created time.Time       `json:"created"`
	Data    json.RawMessage `json:"data"`
}

// NewBody is the body of event n.
func NewBody(n int64, typ string, created time.Time, data json.RawMessage) ([]byte, error) {
	return json.Marshal(Body{ID: fmt.Sprintf("evt_%d", n), Type: typ, Created: created.UTC(), Data: data})
}

// Sign returns the signature header's value for body at time t.
func Sign(secret string, t time.Time, body []byte) string {
	return fmt.Sprintf("t=%d,v1=%s", t.Unix(), mac(secret, t.Unix(), body))
}

func mac(secret string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Verification failures.
var (
	ErrNoSignature  = errors.New("webhook: no valid signature header")
	ErrBadSignature = errors.New("webhook: the signature does not match the body")
	ErrTooOld       = errors.New("webhook: the signature's timestamp is outside the tolerance")
)

// Verify checks a signature header against the body, as a receiver does:
// one of its v1 signatures must be the body's (compared in constant
// time), and its timestamp within tolerance of now (refusing replays;
// Stripe's default is 5 minutes).
func Verify(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts int64 = -1
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return ErrNoSignature
			}
			ts = n
		case "v1":
			sigs = append(sigs, v)
		}
	}
	if ts < 0 || len(sigs) == 0 {
		return ErrNoSignature
	}
	want := mac(secret, ts, body)
	ok := false
	for _, s := range sigs {
		if hmac.Equal([]byte(s), []byte(want)) {
			ok = true
		}
	}
	if !ok {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: signed %s ago", ErrTooOld, d.Round(time.Second))
	}
	return nil
}

// Sender posts callbacks.
type Sender struct {
	// Client sends them (default: one that follows no redirect: a 3xx is
	// a failed delivery). Its timeout, or the context's, bounds a post.
	Client *http.Client
	// UserAgent (default "extractor-webhook/1").
	UserAgent string
	// Now is the clock of the signatures (default time.Now).
	Now func() time.Time
}

// maxAnswer bounds what is read of a receiver's answer.
const maxAnswer = 4 << 10

// Send posts body, signed with secret, to url. A 2xx answer is a
// delivery; anything else (another status, no answer) is an error that
// says what happened, and status is the receiver's (0 without one).
func (s Sender) Send(ctx context.Context, url, secret string, body []byte, eventType, eventID string) (status int, err error) {
	client := s.Client
	if client == nil {
		client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", cmpOr(s.UserAgent, "extractor-webhook/1"))
	req.Header.Set(SignatureHeader, Sign(secret, now(), body))
	req.Header.Set(EventHeader, eventType)
	req.Header.Set(DeliveryHeader, eventID)
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("webhook: %w", err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg := strings.Join(strings.Fields(string(answer)), " ")
		if len(msg) > 200 {
			msg = msg[:200] + "..."
		}
		if msg != "" {
			msg = ": " + msg
		}
		return resp.StatusCode, fmt.Errorf("webhook: the receiver answered %s%s", resp.Status, msg)
	}
	return resp.StatusCode, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
