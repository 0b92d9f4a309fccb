// Package llmtest provides an in-process fake of the OpenAI HTTP API
// (chat completions and embeddings) for tests that must run with no network
// and no API key. It is a protocol double, not a model: every answer is
// scripted by the test, and every request is recorded for assertions.
//
// The real go-openai client works against it unchanged:
//
//	srv := llmtest.NewServer(t)
//	srv.ChatSequence(llmtest.ToolCall("extract_invoice", `{"total": 12.5}`))
//	cfg := openai.DefaultConfig("test-key")
//	cfg.BaseURL = srv.URL + "/v1"
//	client := openai.NewClientWithConfig(cfg)
//
// It owns the wire format of the two endpoints, error bodies, delays and
// hangs, and the quirks of llama.cpp's llama-server. It does not stream,
// tokenize, check API keys or validate requests beyond decoding them; it is
// imported by tests only.
package llmtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"
)

// Created is the fixed "created" timestamp of every response.
const Created int64 = 1_700_000_000

// Server is a fake OpenAI-compatible HTTP server. Its methods are safe for
// concurrent use, and it serves concurrent requests.
type Server struct {
	// URL is the base URL without "/v1", e.g. "http://127.0.0.1:41234".
	URL string

	tb   testing.TB
	http *httptest.Server
	done chan struct{} // closed when the test ends: ends delays and hangs

	// scriptMu serializes scripts and the counters, so scripts may keep
	// state without locking and see requests in Index order.
	scriptMu sync.Mutex
	chat     func(ChatRequest) Reply
	embed    func(EmbedRequest) Reply
	chats    int // chat requests so far
	embeds   int // embedding requests so far
	ids      int // tool-call ids generated so far

	recMu    sync.Mutex
	requests []Recorded
}

// NewServer starts a fake server that is closed when the test ends. Chat
// requests fail the test until Chat or ChatSequence scripts them;
// embedding requests get HashEmbeddings(DefaultDimensions) until Embed is
// called.
func NewServer(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{
		tb:    tb,
		done:  make(chan struct{}),
		embed: HashEmbeddings(DefaultDimensions),
	}
	s.http = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	s.http.Config.ErrorLog = log.New(testWriter{tb}, "llmtest: ", 0)
	s.http.Start()
	s.URL = s.http.URL
	tb.Cleanup(func() {
		close(s.done)
		s.http.Close()
	})
	return s
}

// testWriter sends the HTTP server's own complaints to the test log.
type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.tb.Logf("%s", p)
	return len(p), nil
}

// Chat sets the script that answers chat completion requests. Scripts run
// one at a time, in request order.
func (s *Server) Chat(script func(ChatRequest) Reply) {
	s.scriptMu.Lock()
	defer s.scriptMu.Unlock()
	s.chat = script
}

// ChatSequence answers the next chat requests with replies, in order. A
// request beyond the last reply fails the test and gets a 500.
func (s *Server) ChatSequence(replies ...Reply) {
	replies = slices.Clone(replies)
	next := 0 // guarded by scriptMu, as scripts run under it
	s.Chat(func(req ChatRequest) Reply {
		if next >= len(replies) {
			s.tb.Errorf("llmtest: chat request %d is beyond the sequence of %d replies", req.Index, len(replies))
			return Status(http.StatusInternalServerError, "llmtest: chat request beyond the scripted sequence")
		}
		next++
		return replies[next-1]
	})
}

// Embed sets the script that answers embedding requests, replacing the
// default HashEmbeddings(DefaultDimensions). Scripts run one at a time,
// in request order.
func (s *Server) Embed(script func(EmbedRequest) Reply) {
	s.scriptMu.Lock()
	defer s.scriptMu.Unlock()
	s.embed = script
}

// Requests returns every request received so far, in order of arrival.
func (s *Server) Requests() []Recorded {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	return slices.Clone(s.requests)
}

func (s *Server) record(rec Recorded) {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	s.requests = append(s.requests, rec)
}

// answer is a rendered Reply, ready to write.
type answer struct {
	status int
	header http.Header
	body   []byte
	delay  time.Duration
	hang   bool
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	rec := Recorded{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body}
	var a answer
	switch {
	case err != nil:
		s.record(rec)
		a = errorAnswer(http.StatusBadRequest, fmt.Sprintf("llmtest: reading request body: %v", err), "")
	case r.URL.Path == "/v1/chat/completions" && r.Method == http.MethodPost:
		a = s.chatAnswer(rec)
	case r.URL.Path == "/v1/embeddings" && r.Method == http.MethodPost:
		a = s.embedAnswer(rec)
	default:
		s.record(rec)
		a = errorAnswer(http.StatusNotFound, fmt.Sprintf("Invalid URL (%s %s)", r.Method, r.URL.Path), "")
	}
	s.write(w, r, a)
}

func (s *Server) chatAnswer(rec Recorded) answer {
	var req ChatRequest
	if err := json.Unmarshal(rec.Body, &req); err != nil {
		s.record(rec)
		return errorAnswer(http.StatusBadRequest, fmt.Sprintf("llmtest: malformed chat request: %v", err), "")
	}
	req.Raw = rec.Body

	s.scriptMu.Lock()
	defer s.scriptMu.Unlock()
	s.chats++
	req.Index = s.chats
	stored := req
	rec.Chat = &stored
	s.record(rec)

	if req.Stream {
		return errorAnswer(http.StatusBadRequest, "llmtest: streaming is not supported", "")
	}
	if s.chat == nil {
		s.tb.Errorf("llmtest: chat request %d is not scripted (call Chat or ChatSequence)", req.Index)
		return errorAnswer(http.StatusInternalServerError, "llmtest: chat is not scripted", "")
	}
	reply, ok := runScript(s.tb, "chat", s.chat, req)
	if !ok {
		return errorAnswer(http.StatusInternalServerError, "llmtest: chat script panicked", "")
	}
	return s.renderChat(req, reply)
}

func (s *Server) embedAnswer(rec Recorded) answer {
	var req EmbedRequest
	if err := json.Unmarshal(rec.Body, &req); err != nil {
		s.record(rec)
		return errorAnswer(http.StatusBadRequest, fmt.Sprintf("llmtest: malformed embeddings request: %v", err), "")
	}
	req.Raw = rec.Body

	s.scriptMu.Lock()
	defer s.scriptMu.Unlock()
	s.embeds++
	req.Index = s.embeds
	stored := req
	rec.Embed = &stored
	s.record(rec)

	reply, ok := runScript(s.tb, "embeddings", s.embed, req)
	if !ok {
		return errorAnswer(http.StatusInternalServerError, "llmtest: embeddings script panicked", "")
	}
	return s.renderEmbed(req, reply)
}

// runScript calls a test's script, turning a panic into a test failure
// instead of a dropped connection.
func runScript[R any](tb testing.TB, name string, script func(R) Reply, req R) (reply Reply, ok bool) {
	defer func() {
		if p := recover(); p != nil {
			tb.Errorf("llmtest: %s script panicked: %v", name, p)
			ok = false
		}
	}()
	return script(req), true
}

// write sends a after its delay. When the client gives up first it sends
// nothing; when the server closes first it aborts the connection, so a
// client still waiting sees an error rather than an answer.
func (s *Server) write(w http.ResponseWriter, r *http.Request, a answer) {
	if a.hang {
		a.delay = time.Duration(1<<63 - 1)
	}
	if a.delay > 0 && !s.sleep(r.Context(), a.delay) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	for k, vs := range a.header {
		w.Header()[k] = vs
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body) // a write error means the client left; nothing to do
}

// sleep waits d and reports whether the full time passed.
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.done:
		panic(http.ErrAbortHandler) // net/http closes the connection quietly
	}
}
