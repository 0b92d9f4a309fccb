package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Stripe's scheme: HMAC-SHA256(secret, "1700000000." + body), the expected
// value computed with Python's hmac module.
func TestSignKnownAnswer(t *testing.T) {
	got := Sign("whsec_test", time.Unix(1700000000, 0), []byte(`{"id":"evt_1"}`))
	if want := "t=1700000000,v1=c89214b5b5da833daed6f0b8c5bb6bd58cea9022bd80ccc78230f3942d632925"; got != want {
		t.Errorf("Sign = %q, want %q", got, want)
	}
}

func TestVerify(t *testing.T) {
	body := []byte(`{"id":"evt_7","type":"document.approved"}`)
	at := time.Unix(1700000000, 0)
	good := Sign("s3cret", at, body)
	for _, tt := range []struct {
		name   string
		header string
		body   []byte
		now    time.Time
		want   error
	}{
		{"valid", good, body, at.Add(time.Minute), nil},
		{"valid among other schemes and rotated secrets", good + ",v0=abc,v1=" + strings.Repeat("0", 64), body, at, nil},
		{"another body", good, []byte(`{"id":"evt_7","type":"document.rejected"}`), at, ErrBadSignature},
		{"another secret", Sign("other", at, body), body, at, ErrBadSignature},
		{"a timestamp changed", strings.Replace(good, "t=1700000000", "t=1700000001", 1), body, at, ErrBadSignature},
		{"too old: a replay", good, body, at.Add(6 * time.Minute), ErrTooOld},
		{"from the future", good, body, at.Add(-6 * time.Minute), ErrTooOld},
		{"empty", "", body, at, ErrNoSignature},
		{"no timestamp", "v1=" + strings.Repeat("a", 64), body, at, ErrNoSignature},
		{"no v1", "t=1700000000", body, at, ErrNoSignature},
		{"a bad timestamp", "t=soon,v1=" + strings.Repeat("a", 64), body, at, ErrNoSignature},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := Verify("s3cret", tt.header, tt.body, tt.now, 5*time.Minute); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

// A local receiver checks what Send posts: method, headers and a
// signature that verifies with the webhook's secret.
func TestSend(t *testing.T) {
	type got struct {
		header http.Header
		body   []byte
		err    error
	}
	received := make(chan got, 10)
	status := http.StatusNoContent
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		received <- got{r.Header.Clone(), b, Verify("whsec_x", r.Header.Get(SignatureHeader), b, time.Now(), 5*time.Minute)}
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if status == http.StatusFound {
			http.Redirect(w, r, "/elsewhere", status)
			return
		}
		w.WriteHeader(status)
		io.WriteString(w, "  busy,\n retry  later ")
	}))
	defer srv.Close()
	body, err := NewBody(42, DocumentApproved, time.Date(2026, 1, 15, 9, 30, 0, 0, time.FixedZone("CET", 3600)), json.RawMessage(`{"document_id":"abc"}`))
	if err != nil {
		t.Fatal(err)
	}
	if string(body) != `{"id":"evt_42","type":"document.approved","created":"2026-01-15T08:30:00Z","data":{"document_id":"abc"}}` {
		t.Errorf("body %s", body)
	}
	ctx := context.Background()
	for _, tt := range []struct {
		status  int
		wantErr string
	}{
		{http.StatusNoContent, ""},
		{http.StatusOK, ""},
		{http.StatusServiceUnavailable, "503 Service Unavailable: busy, retry later"},
		{http.StatusFound, "302 Found"},
	} {
		status = tt.status
		code, err := Sender{}.Send(ctx, srv.URL+"/hook", "whsec_x", body, DocumentApproved, "evt_42")
		if code != tt.status || (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("status %d: Send = %d, %v", tt.status, code, err)
		}
		r := <-received
		if r.err != nil || string(r.body) != string(body) || r.header.Get(EventHeader) != DocumentApproved || r.header.Get(DeliveryHeader) != "evt_42" ||
			r.header.Get("User-Agent") != "extractor-webhook/1" {
			t.Errorf("received %v %s (verify: %v)", r.header, r.body, r.err)
		}
	}
	// No receiver: no status, an error.
	srv.Close()
	if code, err := (Sender{}).Send(ctx, srv.URL, "whsec_x", body, JobCompleted, "evt_1"); code != 0 || err == nil {
		t.Errorf("no receiver: %d %v", code, err)
	}
	if !IsEvent(JobCompleted) || IsEvent("job.started") {
		t.Error("IsEvent")
	}
}
