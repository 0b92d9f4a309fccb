package llmtest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/extractor-dev/extractor/internal/llmtest"
)

func newClient(srv *llmtest.Server) *openai.Client {
	cfg := openai.DefaultConfig("test-key")
	cfg.BaseURL = srv.URL + "/v1"
	return openai.NewClientWithConfig(cfg)
}

// failures stands in for the test, so tests can check that the server
// fails a test when it should.
type failures struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (f *failures) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
}

func (f *failures) messages() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.errs...)
}

var invoiceTool = openai.Tool{
	Type: openai.ToolTypeFunction,
	Function: &openai.FunctionDefinition{
		Name:        "extract_invoice",
		Description: "Record the fields of an invoice.",
		Strict:      true,
		Parameters:  json.RawMessage(`{"type":"object","properties":{"total":{"type":"number"}},"required":["total"]}`),
	},
}

func TestChatForcedToolCall(t *testing.T) {
	srv := llmtest.NewServer(t)
	srv.Chat(func(req llmtest.ChatRequest) llmtest.Reply {
		return llmtest.ToolCall("extract_invoice", `{"total": 12.5}`).Usage(100, 20)
	})
	seed := 7
	resp, err := newClient(srv).CreateChatCompletion(context.Background(), openai.ChatCompletionRequest{
		Model:    "gpt-4o-mini",
		Messages: []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: "Invoice 42, total 12.50"}},
		Tools:    []openai.Tool{invoiceTool},
		ToolChoice: openai.ToolChoice{
			Type:     openai.ToolTypeFunction,
			Function: openai.ToolFunction{Name: "extract_invoice"},
		},
		Temperature: 0.2,
		Seed:        &seed,
		MaxTokens:   256, //lint:ignore SA1019 the fake must decode the legacy field too
	})
	if err != nil {
		t.Fatalf("CreateChatCompletion: %v", err)
	}

	if resp.ID != "chatcmpl-fake-1" || resp.Object != "chat.completion" || resp.Created != llmtest.Created || resp.Model != "gpt-4o-mini" {
		t.Errorf("envelope = %q %q %d %q", resp.ID, resp.Object, resp.Created, resp.Model)
	}
	if len(resp.Choices) != 1 {
		t.Fatalf("got %d choices, want 1", len(resp.Choices))
	}
	choice := resp.Choices[0]
	if choice.FinishReason != openai.FinishReasonToolCalls {
		t.Errorf("finish_reason = %q, want tool_calls", choice.FinishReason)
	}
	if len(choice.Message.ToolCalls) != 1 {
		t.Fatalf("got %d tool calls, want 1", len(choice.Message.ToolCalls))
	}
	call := choice.Message.ToolCalls[0]
	if call.ID != "call_1" || call.Type != openai.ToolTypeFunction || call.Function.Name != "extract_invoice" || call.Function.Arguments != `{"total": 12.5}` {
		t.Errorf("tool call = %+v", call)
	}
	if choice.Message.Role != openai.ChatMessageRoleAssistant || choice.Message.Content != "" {
		t.Errorf("message role %q content %q", choice.Message.Role, choice.Message.Content)
	}
	if want := (openai.Usage{PromptTokens: 100, CompletionTokens: 20, TotalTokens: 120}); resp.Usage != want {
		t.Errorf("usage = %+v, want %+v", resp.Usage, want)
	}

	reqs := srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("recorded %d requests, want 1", len(reqs))
	}
	rec := reqs[0]
	if rec.Method != http.MethodPost || rec.Path != "/v1/chat/completions" {
		t.Errorf("request = %s %s", rec.Method, rec.Path)
	}
	if got := rec.Header.Get("Authorization"); got != "Bearer test-key" {
		t.Errorf("Authorization = %q", got)
	}
	req := rec.Chat
	if req == nil {
		t.Fatal("chat request not decoded")
	}
	if req.Index != 1 || req.Model != "gpt-4o-mini" || string(req.Raw) != string(rec.Body) {
		t.Errorf("index %d model %q raw %d bytes", req.Index, req.Model, len(req.Raw))
	}
	if len(req.Tools) != 1 {
		t.Fatalf("got %d tools, want 1", len(req.Tools))
	}
	tool := req.Tools[0]
	if tool.Type != "function" || tool.Function.Name != "extract_invoice" || !tool.Function.Strict || tool.Function.Description == "" {
		t.Errorf("tool = %+v", tool)
	}
	assertJSON(t, "parameters", tool.Function.Parameters, `{"type":"object","properties":{"total":{"type":"number"}},"required":["total"]}`)
	assertJSON(t, "tool_choice", req.ToolChoice, `{"type":"function","function":{"name":"extract_invoice"}}`)
	if req.Temperature == nil || math.Abs(*req.Temperature-0.2) > 1e-6 {
		t.Errorf("temperature = %v, want 0.2", req.Temperature)
	}
	if req.Seed == nil || *req.Seed != 7 {
		t.Errorf("seed = %v, want 7", req.Seed)
	}
	if req.MaxTokens == nil || *req.MaxTokens != 256 || req.MaxCompletionTokens != nil {
		t.Errorf("max_tokens = %v, max_completion_tokens = %v", req.MaxTokens, req.MaxCompletionTokens)
	}
	if len(req.Messages) != 1 || req.Messages[0].Content != "Invoice 42, total 12.50" {
		t.Errorf("messages = %+v", req.Messages)
	}
}

// go-openai tags Temperature float32 with omitempty: 0 is never sent, so the
// provider's default applies. The fake makes that visible.
func TestTemperatureZeroIsNotSent(t *testing.T) {
	srv := llmtest.NewServer(t)
	srv.Chat(func(llmtest.ChatRequest) llmtest.Reply { return llmtest.Text("ok") })
	client := newClient(srv)
	for _, temp := range []float32{0, math.SmallestNonzeroFloat32} {
		_, err := client.CreateChatCompletion(context.Background(), openai.ChatCompletionRequest{
			Model:       "m",
			Messages:    []openai.ChatCompletionMessage{{Role: "user", Content: "hi"}},
			Temperature: temp,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	reqs := srv.Requests()
	if got := reqs[0].Chat.Temperature; got != nil {
		t.Errorf("Temperature 0: sent %v, want absent", *got)
	}
	if got := reqs[1].Chat.Temperature; got == nil || *got > 1e-40 {
		t.Errorf("Temperature SmallestNonzeroFloat32: sent %v, want ~0", got)
	}
}

func TestChatSequenceRoundTrip(t *testing.T) {
	srv := llmtest.NewServer(t)
	srv.ChatSequence(
		llmtest.ToolCall("extract_invoice", `{"total": 12.5}`),
		llmtest.Text("done"),
	)
	client := newClient(srv)
	ctx := context.Background()
	req := openai.ChatCompletionRequest{
		Model: "gpt-4o-mini",
		Messages: []openai.ChatCompletionMessage{
			{Role: openai.ChatMessageRoleSystem, Content: "You extract invoices."},
			{Role: openai.ChatMessageRoleUser, Content: "Invoice 42"},
		},
		Tools: []openai.Tool{invoiceTool},
	}
	first, err := client.CreateChatCompletion(ctx, req)
	if err != nil {
		t.Fatalf("first call: %v", err)
	}
	assistant := first.Choices[0].Message
	req.Messages = append(req.Messages, assistant, openai.ChatCompletionMessage{
		Role:       openai.ChatMessageRoleTool,
		Content:    `{"ok": true}`,
		ToolCallID: assistant.ToolCalls[0].ID,
	})
	second, err := client.CreateChatCompletion(ctx, req)
	if err != nil {
		t.Fatalf("second call: %v", err)
	}
	if got := second.Choices[0].Message.Content; got != "done" {
		t.Errorf("second answer = %q, want done", got)
	}

	reqs := srv.Requests()
	if len(reqs) != 2 {
		t.Fatalf("recorded %d requests, want 2", len(reqs))
	}
	got := reqs[1].Chat
	if got.Index != 2 {
		t.Errorf("second request index = %d", got.Index)
	}
	var roles []string
	for _, m := range got.Messages {
		roles = append(roles, m.Role)
	}
	if strings.Join(roles, ",") != "system,user,assistant,tool" {
		t.Fatalf("roles = %v", roles)
	}
	sent := got.Messages[2]
	if len(sent.ToolCalls) != 1 || sent.ToolCalls[0] != (llmtest.Call{ID: "call_1", Type: "function", Name: "extract_invoice", Arguments: `{"total": 12.5}`}) {
		t.Errorf("assistant message sent back = %+v", sent)
	}
	if toolMsg := got.Messages[3]; toolMsg.ToolCallID != "call_1" || toolMsg.Content != `{"ok": true}` {
		t.Errorf("tool message = %+v", toolMsg)
	}
}

func TestScriptMisuseFailsTheTest(t *testing.T) {
	tests := []struct {
		name   string
		script func(*llmtest.Server)
	}{
		{"beyond the sequence", func(s *llmtest.Server) { s.ChatSequence() }},
		{"unscripted", func(*llmtest.Server) {}},
		{"zero reply", func(s *llmtest.Server) {
			s.Chat(func(llmtest.ChatRequest) llmtest.Reply { return llmtest.Reply{} })
		}},
		{"embeddings for chat", func(s *llmtest.Server) { s.ChatSequence(llmtest.Embeddings()) }},
		{"panic", func(s *llmtest.Server) {
			s.Chat(func(llmtest.ChatRequest) llmtest.Reply { panic("boom") })
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := &failures{TB: t}
			srv := llmtest.NewServer(tb)
			tt.script(srv)
			_, err := newClient(srv).CreateChatCompletion(context.Background(), openai.ChatCompletionRequest{
				Model: "m", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "hi"}},
			})
			var apiErr *openai.APIError
			if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != http.StatusInternalServerError {
				t.Errorf("err = %v, want an APIError with status 500", err)
			}
			if msgs := tb.messages(); len(msgs) != 1 {
				t.Errorf("test failures = %q, want one", msgs)
			}
		})
	}
}

func TestErrorReplies(t *testing.T) {
	tests := []struct {
		name   string
		reply  llmtest.Reply
		status int
		typ    string // of the APIError
		code   any    // of the APIError; go-openai turns "code": null into int 0
		header string // Retry-After expected on the response
	}{
		{"rate limited", llmtest.Status(429, "slow down").RetryAfter(7), 429, "requests", "rate_limit_exceeded", "7"},
		{"server error", llmtest.Status(500, "oops"), 500, "server_error", 0, ""},
		{"bad gateway", llmtest.Status(502, "upstream"), 502, "server_error", 0, ""},
		{"unavailable", llmtest.Status(503, "loading model").RetryAfter(1), 503, "server_error", 0, "1"},
		{"bad key", llmtest.Status(401, "Incorrect API key provided"), 401, "invalid_request_error", "invalid_api_key", ""},
		{"too long", llmtest.Status(400, "too many tokens").ErrorCode("context_length_exceeded"), 400, "invalid_request_error", "context_length_exceeded", ""},
		{"custom type", llmtest.Status(400, "no").ErrorType("invalid_value"), 400, "invalid_value", 0, ""},
		{"llama loading", llmtest.Status(503, "Loading model").LlamaServer(), 503, "unavailable_error", 503, ""},
		{"llama too long", llmtest.Status(400, "the request exceeds the available context size").
			ErrorType("exceed_context_size_error").LlamaServer(), 400, "exceed_context_size_error", 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := llmtest.NewServer(t)
			srv.ChatSequence(tt.reply)
			resp, err := newClient(srv).CreateChatCompletion(context.Background(), openai.ChatCompletionRequest{
				Model: "m", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "hi"}},
			})
			var apiErr *openai.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %T %v, want *openai.APIError", err, err)
			}
			if apiErr.HTTPStatusCode != tt.status || apiErr.Type != tt.typ || apiErr.Message == "" {
				t.Errorf("APIError = %+v", apiErr)
			}
			if apiErr.Code != tt.code {
				t.Errorf("code = %#v, want %#v", apiErr.Code, tt.code)
			}
			// The APIError has no headers, but go-openai sets the error
			// response's headers on the returned response value.
			if got := resp.Header().Get("Retry-After"); got != tt.header {
				t.Errorf("Retry-After = %q, want %q", got, tt.header)
			}
		})
	}
}

func TestRawErrorBody(t *testing.T) {
	srv := llmtest.NewServer(t)
	srv.ChatSequence(llmtest.Raw(502, "<html>Bad Gateway</html>").Header("Content-Type", "text/html"))
	_, err := newClient(srv).CreateChatCompletion(context.Background(), openai.ChatCompletionRequest{
		Model: "m", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "hi"}},
	})
	var reqErr *openai.RequestError
	if !errors.As(err, &reqErr) || reqErr.HTTPStatusCode != 502 || string(reqErr.Body) != "<html>Bad Gateway</html>" {
		t.Errorf("err = %T %v, want *openai.RequestError with status 502 and the body", err, err)
	}
}

func TestDelayAndHang(t *testing.T) {
	tests := []struct {
		name    string
		reply   llmtest.Reply
		ctx     func() (context.Context, context.CancelFunc)
		wantErr error
	}{
		{"delay beyond the deadline", llmtest.Text("late").Delay(10 * time.Second),
			func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 50*time.Millisecond)
			}, context.DeadlineExceeded},
		{"hang until cancelled", llmtest.Hang(),
			func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(50*time.Millisecond, cancel)
				return ctx, cancel
			}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := llmtest.NewServer(t)
			srv.ChatSequence(tt.reply)
			ctx, cancel := tt.ctx()
			defer cancel()
			_, err := newClient(srv).CreateChatCompletion(ctx, openai.ChatCompletionRequest{
				Model: "m", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "hi"}},
			})
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestShortDelayAnswers(t *testing.T) {
	srv := llmtest.NewServer(t)
	srv.ChatSequence(llmtest.Text("on time").Delay(20 * time.Millisecond))
	resp, err := newClient(srv).CreateChatCompletion(context.Background(), openai.ChatCompletionRequest{
		Model: "m", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "hi"}},
	})
	if err != nil || resp.Choices[0].Message.Content != "on time" {
		t.Errorf("got %+v, %v", resp, err)
	}
}

// A request still hanging when the test ends must not hold up the cleanup.
func TestHangDoesNotBlockCleanup(t *testing.T) {
	t.Run("inner", func(t *testing.T) {
		srv := llmtest.NewServer(t)
		srv.ChatSequence(llmtest.Hang())
		started := make(chan struct{})
		go func() {
			close(started)
			_, _ = http.Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(`{"model":"m","messages":[]}`))
		}()
		<-started
		for len(srv.Requests()) == 0 {
			time.Sleep(time.Millisecond)
		}
	})
}

func TestTextAndTruncated(t *testing.T) {
	tests := []struct {
		name    string
		reply   llmtest.Reply
		content string
		finish  openai.FinishReason
	}{
		{"text", llmtest.Text("I cannot find an invoice."), "I cannot find an invoice.", openai.FinishReasonStop},
		{"truncated", llmtest.Truncated(`<tool_call>{"name": "extract_invoice", "arguments": {"total": 1`),
			`<tool_call>{"name": "extract_invoice", "arguments": {"total": 1`, openai.FinishReasonLength},
		{"content filter", llmtest.Text("").Finish("content_filter"), "", openai.FinishReasonContentFilter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := llmtest.NewServer(t)
			srv.ChatSequence(tt.reply)
			resp, err := newClient(srv).CreateChatCompletion(context.Background(), openai.ChatCompletionRequest{
				Model: "m", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "hi"}},
			})
			if err != nil {
				t.Fatal(err)
			}
			msg := resp.Choices[0].Message
			if msg.Content != tt.content || len(msg.ToolCalls) != 0 || resp.Choices[0].FinishReason != tt.finish {
				t.Errorf("got content %q, %d tool calls, finish %q", msg.Content, len(msg.ToolCalls), resp.Choices[0].FinishReason)
			}
			if resp.Usage.PromptTokens < 1 || resp.Usage.CompletionTokens < 1 ||
				resp.Usage.TotalTokens != resp.Usage.PromptTokens+resp.Usage.CompletionTokens {
				t.Errorf("default usage = %+v", resp.Usage)
			}
		})
	}
}

func TestLlamaServerQuirks(t *testing.T) {
	srv := llmtest.NewServer(t)
	srv.Chat(func(llmtest.ChatRequest) llmtest.Reply {
		return llmtest.ToolCall("extract_invoice", `{"total": 12.5}`).LlamaServer()
	})
	resp, err := newClient(srv).CreateChatCompletion(context.Background(), openai.ChatCompletionRequest{
		Model: "gpt-4o-mini", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "hi"}},
	})
	if err != nil {
		t.Fatalf("go-openai rejects the llama-server answer: %v", err)
	}
	call := resp.Choices[0].Message.ToolCalls[0]
	if !regexp.MustCompile(`^[0-9A-Za-z]{32}$`).MatchString(call.ID) {
		t.Errorf("tool call id = %q, want 32 alphanumerics", call.ID)
	}
	if call.Function.Name != "extract_invoice" || resp.Choices[0].FinishReason != openai.FinishReasonToolCalls {
		t.Errorf("call = %+v, finish %q", call, resp.Choices[0].FinishReason)
	}
	if resp.Model != llmtest.LlamaModel || resp.SystemFingerprint == "" {
		t.Errorf("model %q, system_fingerprint %q", resp.Model, resp.SystemFingerprint)
	}

	// Ids are deterministic per server.
	other := llmtest.NewServer(t)
	other.Chat(func(llmtest.ChatRequest) llmtest.Reply { return llmtest.ToolCall("x", "{}").BareIDs() })
	again, err := newClient(other).CreateChatCompletion(context.Background(), openai.ChatCompletionRequest{
		Model: "m", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "hi"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := again.Choices[0].Message.ToolCalls[0].ID; got != call.ID {
		t.Errorf("first bare id differs between servers: %q and %q", got, call.ID)
	}
}

// The wire form of content next to tool calls: null by default, "" for
// llama-server; plus the extra fields.
func TestChatWireFormat(t *testing.T) {
	tests := []struct {
		name    string
		reply   llmtest.Reply
		content string // raw JSON
		extra   []string
	}{
		{"openai", llmtest.ToolCall("f", "{}"), `null`, nil},
		{"llama-server", llmtest.ToolCall("f", "{}").LlamaServer(), `""`, []string{"timings", "system_fingerprint"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := llmtest.NewServer(t)
			srv.ChatSequence(tt.reply)
			status, body := post(t, srv.URL+"/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
			if status != http.StatusOK {
				t.Fatalf("status %d: %s", status, body)
			}
			var resp struct {
				Choices []struct {
					Message struct {
						Content json.RawMessage `json:"content"`
					} `json:"message"`
				} `json:"choices"`
			}
			if err := json.Unmarshal(body, &resp); err != nil {
				t.Fatal(err)
			}
			if got := string(resp.Choices[0].Message.Content); got != tt.content {
				t.Errorf("content = %s, want %s", got, tt.content)
			}
			var fields map[string]json.RawMessage
			if err := json.Unmarshal(body, &fields); err != nil {
				t.Fatal(err)
			}
			for _, k := range tt.extra {
				if _, ok := fields[k]; !ok {
					t.Errorf("field %q missing from %s", k, body)
				}
			}
		})
	}
}

func TestProtocolErrors(t *testing.T) {
	tests := []struct {
		name   string
		method string
		path   string
		body   string
		status int
	}{
		{"unknown path", http.MethodPost, "/v1/completions", `{}`, http.StatusNotFound},
		{"wrong method", http.MethodGet, "/v1/chat/completions", ``, http.StatusNotFound},
		{"malformed chat", http.MethodPost, "/v1/chat/completions", `{"model": `, http.StatusBadRequest},
		{"malformed embeddings", http.MethodPost, "/v1/embeddings", `{"model": "m", "input": {}}`, http.StatusBadRequest},
		{"streaming", http.MethodPost, "/v1/chat/completions", `{"model": "m", "messages": [], "stream": true}`, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := llmtest.NewServer(t)
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			var e openai.ErrorResponse
			if err := json.Unmarshal(body, &e); err != nil || e.Error == nil || e.Error.Message == "" {
				t.Errorf("body %s is not an OpenAI error (%v)", body, err)
			}
			if n := len(srv.Requests()); n != 1 {
				t.Errorf("recorded %d requests, want 1", n)
			}
		})
	}
}

func TestEmbeddings(t *testing.T) {
	inputs := []string{"Invoice 42", "Total due: 12.50 EUR"}
	tests := []struct {
		name       string
		format     openai.EmbeddingEncodingFormat
		dimensions int
		want       int // vector length
	}{
		{"float", openai.EmbeddingEncodingFormatFloat, 0, llmtest.DefaultDimensions},
		{"base64", openai.EmbeddingEncodingFormatBase64, 0, llmtest.DefaultDimensions},
		{"default format", "", 0, llmtest.DefaultDimensions},
		{"dimensions", openai.EmbeddingEncodingFormatBase64, 5, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := llmtest.NewServer(t)
			resp, err := newClient(srv).CreateEmbeddings(context.Background(), openai.EmbeddingRequestStrings{
				Input:          inputs,
				Model:          openai.SmallEmbedding3,
				EncodingFormat: tt.format,
				Dimensions:     tt.dimensions,
			})
			if err != nil {
				t.Fatalf("CreateEmbeddings: %v", err)
			}
			if len(resp.Data) != len(inputs) || resp.Model != openai.SmallEmbedding3 {
				t.Fatalf("got %d vectors from model %q", len(resp.Data), resp.Model)
			}
			for i, d := range resp.Data {
				want := llmtest.Vector(inputs[i], tt.want)
				if d.Index != i || !slices.Equal(d.Embedding, want) {
					t.Errorf("data[%d] = index %d %v, want %v", i, d.Index, d.Embedding, want)
				}
				if norm := norm(d.Embedding); math.Abs(norm-1) > 1e-5 {
					t.Errorf("data[%d] norm = %v", i, norm)
				}
			}
			if resp.Usage.PromptTokens < 1 || resp.Usage.TotalTokens != resp.Usage.PromptTokens {
				t.Errorf("usage = %+v", resp.Usage)
			}
			rec := srv.Requests()[0]
			if rec.Path != "/v1/embeddings" || rec.Embed == nil || strings.Join(rec.Embed.Input, "|") != strings.Join(inputs, "|") ||
				rec.Embed.EncodingFormat != string(tt.format) || rec.Header.Get("Authorization") != "Bearer test-key" {
				t.Errorf("recorded %+v", rec)
			}
		})
	}
}

func TestEmbedScript(t *testing.T) {
	srv := llmtest.NewServer(t)
	srv.Embed(func(req llmtest.EmbedRequest) llmtest.Reply {
		if req.Index == 1 {
			return llmtest.Status(429, "slow down").RetryAfter(1)
		}
		return llmtest.HashEmbeddings(3)(req)
	})
	client := newClient(srv)
	req := openai.EmbeddingRequestStrings{Input: []string{"a"}, Model: openai.SmallEmbedding3}
	if _, err := client.CreateEmbeddings(context.Background(), req); err == nil {
		t.Fatal("first call succeeded, want 429")
	}
	resp, err := client.CreateEmbeddings(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(resp.Data[0].Embedding, llmtest.Vector("a", 3)) {
		t.Errorf("vector = %v", resp.Data[0].Embedding)
	}
}

func TestConcurrentRequests(t *testing.T) {
	const n = 50
	srv := llmtest.NewServer(t)
	srv.Chat(func(req llmtest.ChatRequest) llmtest.Reply {
		return llmtest.Text(req.Messages[0].Content)
	})
	client := newClient(srv)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			want := fmt.Sprint(i)
			resp, err := client.CreateChatCompletion(context.Background(), openai.ChatCompletionRequest{
				Model: "m", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: want}},
			})
			if err != nil {
				t.Errorf("request %d: %v", i, err)
				return
			}
			if got := resp.Choices[0].Message.Content; got != want {
				t.Errorf("request %d answered %q", i, got)
			}
		})
	}
	wg.Wait()
	reqs := srv.Requests()
	if len(reqs) != n {
		t.Fatalf("recorded %d requests, want %d", len(reqs), n)
	}
	seen := map[string]bool{}
	for i, r := range reqs {
		if r.Chat.Index != i+1 {
			t.Errorf("request %d has index %d", i, r.Chat.Index)
		}
		seen[r.Chat.Messages[0].Content] = true
	}
	if len(seen) != n {
		t.Errorf("recorded %d distinct requests, want %d", len(seen), n)
	}
}

func TestMessageContent(t *testing.T) {
	tests := []struct {
		name, json, content, raw string
	}{
		{"string", `{"role":"user","content":"hi"}`, "hi", `"hi"`},
		{"null", `{"role":"assistant","content":null}`, "", `null`},
		{"absent", `{"role":"assistant"}`, "", ``},
		{"parts", `{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"x"}},{"type":"text","text":"b"}]}`, "ab", ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m llmtest.Message
			if err := json.Unmarshal([]byte(tt.json), &m); err != nil {
				t.Fatal(err)
			}
			if m.Content != tt.content {
				t.Errorf("content = %q, want %q", m.Content, tt.content)
			}
			if tt.raw != "" && string(m.RawContent) != tt.raw {
				t.Errorf("raw content = %s, want %s", m.RawContent, tt.raw)
			}
			if tt.name == "absent" && m.RawContent != nil {
				t.Errorf("raw content = %s, want nil", m.RawContent)
			}
		})
	}
}

func TestEmbedInput(t *testing.T) {
	tests := []struct {
		name   string
		input  string
		texts  []string
		tokens [][]int
	}{
		{"string", `"a"`, []string{"a"}, nil},
		{"strings", `["a","b"]`, []string{"a", "b"}, nil},
		{"tokens", `[1,2]`, nil, [][]int{{1, 2}}},
		{"token batches", `[[1],[2,3]]`, nil, [][]int{{1}, {2, 3}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e llmtest.EmbedRequest
			if err := json.Unmarshal([]byte(`{"model":"m","input":`+tt.input+`}`), &e); err != nil {
				t.Fatal(err)
			}
			if e.Model != "m" || fmt.Sprint(e.Input) != fmt.Sprint(tt.texts) || fmt.Sprint(e.Tokens) != fmt.Sprint(tt.tokens) {
				t.Errorf("got model %q input %q tokens %v", e.Model, e.Input, e.Tokens)
			}
		})
	}
}

func post(t *testing.T, url, body string) (int, []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func assertJSON(t *testing.T, what string, got json.RawMessage, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %v in %s", what, err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if string(gb) != string(wb) {
		t.Errorf("%s = %s, want %s", what, gb, wb)
	}
}

func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}
