package extract

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/extractor-dev/extractor/internal/llmtest"
	"github.com/extractor-dev/extractor/pipeline"
)

// testDoc is a one-page invoice as the parser would give it.
func invoiceDoc() pipeline.Document {
	lines := []string{
		"ACME Supplies GmbH · Hauptstraße 1 · 10115 Berlin",
		"Rechnung Nr. RE-2024-0042",
		"Rechnungsdatum: 05.03.2024",
		"Gesamtbetrag: 1.234,56 €",
	}
	p := pipeline.Page{Number: 1, Status: pipeline.PageText, Width: 595, Height: 842}
	for i, l := range lines {
		p.Lines = append(p.Lines, pipeline.Line{Text: l, Box: pipeline.Box{X0: 50, Y0: float64(50 + 20*i), X1: 400, Y1: float64(62 + 20*i)}})
	}
	return pipeline.Document{ID: "doc1", Pages: []pipeline.Page{p}}
}

// args builds tool arguments for the invoice schema: every field null
// except those given.
func args(t *testing.T, fields map[string]any) string {
	t.Helper()
	inv := mustBuiltin(t, "invoice")
	m := map[string]any{}
	for _, f := range inv.Fields {
		if f.Type == pipeline.TypeArray {
			m[f.Name] = []any{}
			continue
		}
		m[f.Name] = map[string]any{"value": nil, "page": nil, "quote": nil}
	}
	for k, v := range fields {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func val(v string, page int, quote string) map[string]any {
	return map[string]any{"value": v, "page": page, "quote": quote}
}

var validArgs = map[string]any{
	"vendor_name":    val("ACME Supplies GmbH", 1, "ACME Supplies GmbH · Hauptstraße 1 · 10115 Berlin"),
	"invoice_number": val("RE-2024-0042", 1, "Rechnung Nr. RE-2024-0042"),
	"issue_date":     val("05.03.2024", 1, "Rechnungsdatum: 05.03.2024"),
	"total_amount":   val("1.234,56 €", 1, "Gesamtbetrag: 1.234,56 €"),
}

func newTestLLM(t *testing.T, srv *llmtest.Server, mod func(*LLMConfig)) *LLM {
	t.Helper()
	cfg := LLMConfig{
		BaseURL: srv.URL + "/v1", APIKey: "test-key", Model: "gpt-4o-mini", Strict: true,
		Retry: RetryPolicy{InitialInterval: 5 * time.Millisecond, MaxInterval: 20 * time.Millisecond},
	}
	if mod != nil {
		mod(&cfg)
	}
	l, err := NewLLM(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLLMForcesTheToolAndReadsEvidence(t *testing.T) {
	srv := llmtest.NewServer(t)
	srv.ChatSequence(llmtest.ToolCall("record_invoice", args(t, validArgs)).Usage(1200, 150))
	l := newTestLLM(t, srv, nil)
	x, err := l.Extract(context.Background(), invoiceDoc(), mustBuiltin(t, "invoice"))
	if err != nil {
		t.Fatal(err)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	req := reqs[0].Chat
	if got := reqs[0].Header.Get("Authorization"); got != "Bearer test-key" {
		t.Errorf("Authorization = %q", got)
	}
	if len(req.Tools) != 1 || req.Tools[0].Function.Name != "record_invoice" || !req.Tools[0].Function.Strict {
		t.Fatalf("tools = %+v", req.Tools)
	}
	var choice struct {
		Type     string                `json:"type"`
		Function struct{ Name string } `json:"function"`
	}
	if err := json.Unmarshal(req.ToolChoice, &choice); err != nil || choice.Type != "function" || choice.Function.Name != "record_invoice" {
		t.Errorf("tool_choice = %s: the tool must be forced by name", req.ToolChoice)
	}
	if req.Temperature == nil || *req.Temperature > 1e-30 {
		t.Errorf("temperature = %v: want an explicit 0", req.Temperature)
	}
	if req.Seed == nil || *req.Seed != 7 || req.Model != "gpt-4o-mini" {
		t.Errorf("seed/model = %v/%s", req.Seed, req.Model)
	}
	if len(req.Messages) != 2 || req.Messages[0].Role != "system" || !strings.Contains(req.Messages[1].Content, "=== Page 1 ===\nACME Supplies GmbH") {
		t.Errorf("messages = %+v", req.Messages)
	}
	var params map[string]any
	json.Unmarshal(req.Tools[0].Function.Parameters, &params)
	if params["additionalProperties"] != false || len(params["required"].([]any)) != 12 {
		t.Errorf("parameters are not strict-ready: %v", params["required"])
	}

	f := x.Fields["total_amount"]
	if f.Raw != "1.234,56 €" || f.Page != 1 || f.Quote != "Gesamtbetrag: 1.234,56 €" {
		t.Errorf("total_amount = %+v", f)
	}
	if x.Extractor.Kind != "llm" || x.Extractor.Model != "gpt-4o-mini" || x.Extractor.PromptVersion != l.PromptVersion() || x.Extractor.PromptVersion == "" {
		t.Errorf("extractor = %+v", x.Extractor)
	}
	wantCost := (1200*0.15 + 150*0.60) / 1e6
	if x.Usage.InputTokens != 1200 || x.Usage.OutputTokens != 150 || x.Usage.Attempts != 1 || math.Abs(x.Usage.CostUSD-wantCost) > 1e-12 || x.Usage.Prices == "" {
		t.Errorf("usage = %+v, want cost %v", x.Usage, wantCost)
	}
	if len(x.Attempts) != 1 || x.Attempts[0].ResponseID == "" || x.Attempts[0].FinishReason != "tool_calls" {
		t.Errorf("attempts = %+v", x.Attempts)
	}
}

// The re-ask protocol: the assistant's tool call goes back, followed by a
// tool message with the same tool_call_id carrying the exact errors.
func TestLLMReasksWithTheToolCallID(t *testing.T) {
	badType := map[string]any{}
	for k, v := range validArgs {
		badType[k] = v
	}
	badType["total_amount"] = map[string]any{"value": 1234.56, "page": 1, "quote": "Gesamtbetrag: 1.234,56 €"}
	tests := []struct {
		name      string
		first     llmtest.Reply
		wantError string // in the tool message
	}{
		{"not JSON", llmtest.ToolCall("record_invoice", `{"vendor_name": {"value": "ACME"`), "not valid JSON"},
		{"schema violation", llmtest.ToolCall("record_invoice", args(t, badType)), "/total_amount/value:"},
		{"missing property", llmtest.ToolCall("record_invoice", `{"vendor_name": {"value": "x", "page": 1, "quote": "x"}}`), "/: missing propert"},
		{"extra property", llmtest.ToolCall("record_invoice", strings.Replace(args(t, validArgs), "{", `{"notes": "x",`, 1)), "additional"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := llmtest.NewServer(t)
			srv.ChatSequence(tt.first.Usage(100, 10), llmtest.ToolCall("record_invoice", args(t, validArgs)).Usage(200, 20))
			x, err := newTestLLM(t, srv, nil).Extract(context.Background(), invoiceDoc(), mustBuiltin(t, "invoice"))
			if err != nil {
				t.Fatal(err)
			}
			second := srv.Requests()[1].Chat
			if len(second.Messages) != 4 {
				t.Fatalf("second request has %d messages, want system, user, assistant, tool", len(second.Messages))
			}
			asst, tool := second.Messages[2], second.Messages[3]
			if asst.Role != "assistant" || len(asst.ToolCalls) != 1 || asst.ToolCalls[0].ID != "call_1" {
				t.Errorf("assistant turn = %+v", asst)
			}
			if !json.Valid([]byte(asst.ToolCalls[0].Arguments)) {
				t.Errorf("echoed arguments %q are not JSON: servers that re-read them fail the request", asst.ToolCalls[0].Arguments)
			}
			if tool.Role != "tool" || tool.ToolCallID != "call_1" || !strings.Contains(tool.Content, tt.wantError) {
				t.Errorf("tool message = %+v, want tool_call_id call_1 and %q", tool, tt.wantError)
			}
			if x.Usage.InputTokens != 300 || x.Usage.OutputTokens != 30 || x.Usage.Attempts != 2 {
				t.Errorf("usage = %+v, want the sum over both attempts", x.Usage)
			}
			if len(x.Attempts) != 2 || x.Attempts[0].Problem == "" || x.Attempts[1].Problem != "" {
				t.Errorf("attempts = %+v", x.Attempts)
			}
		})
	}
}

func TestLLMReasksWhenNoToolCall(t *testing.T) {
	for _, first := range []llmtest.Reply{
		llmtest.Text("The invoice total is 1234.56."),
		llmtest.Truncated("<tool_call>\n{\"name\": \"reco"), // llama-server's cut-off call
	} {
		srv := llmtest.NewServer(t)
		srv.ChatSequence(first, llmtest.ToolCall("record_invoice", args(t, validArgs)))
		x, err := newTestLLM(t, srv, nil).Extract(context.Background(), invoiceDoc(), mustBuiltin(t, "invoice"))
		if err != nil {
			t.Fatal(err)
		}
		msgs := srv.Requests()[1].Chat.Messages
		last := msgs[len(msgs)-1]
		if msgs[2].Role != "assistant" || last.Role != "user" || !strings.Contains(last.Content, "did not call the function record_invoice") {
			t.Errorf("re-ask = %+v", msgs[2:])
		}
		if !strings.Contains(x.Attempts[0].Problem, "no call to record_invoice") {
			t.Errorf("problem = %q", x.Attempts[0].Problem)
		}
	}
}

func TestLLMGivesUpAfterMaxAttempts(t *testing.T) {
	srv := llmtest.NewServer(t)
	bad := llmtest.ToolCall("record_invoice", "{").Usage(100, 5)
	srv.ChatSequence(bad, bad, bad)
	x, err := newTestLLM(t, srv, nil).Extract(context.Background(), invoiceDoc(), mustBuiltin(t, "invoice"))
	if !errors.Is(err, ErrNoToolCall) {
		t.Fatalf("err = %v, want ErrNoToolCall", err)
	}
	if x.Usage.Attempts != 3 || x.Usage.InputTokens != 300 || x.Usage.OutputTokens != 15 {
		t.Errorf("usage = %+v: a failed document still costs what it cost", x.Usage)
	}
	if len(x.Issues) != 1 || x.Issues[0].Code != pipeline.IssueExtraction || x.Issues[0].Severity != pipeline.SeverityFail {
		t.Errorf("issues = %+v", x.Issues)
	}
	// The third request carries the whole conversation: two failed turns.
	if n := len(srv.Requests()[2].Chat.Messages); n != 6 {
		t.Errorf("third request has %d messages, want 6", n)
	}
}

func TestLLMLlamaServerQuirks(t *testing.T) {
	srv := llmtest.NewServer(t)
	srv.ChatSequence(llmtest.ToolCall("record_invoice", "{bad").LlamaServer(), llmtest.ToolCall("record_invoice", args(t, validArgs)).LlamaServer())
	x, err := newTestLLM(t, srv, func(c *LLMConfig) { c.ToolChoice = "required" }).Extract(context.Background(), invoiceDoc(), mustBuiltin(t, "invoice"))
	if err != nil {
		t.Fatal(err)
	}
	reqs := srv.Requests()
	if string(reqs[0].Chat.ToolChoice) != `"required"` {
		t.Errorf("tool_choice = %s", reqs[0].Chat.ToolChoice)
	}
	msgs := reqs[1].Chat.Messages
	id := msgs[2].ToolCalls[0].ID
	if strings.HasPrefix(id, "call_") || len(id) != 32 || msgs[3].ToolCallID != id {
		t.Errorf("bare tool-call id %q not echoed in the tool message (%q)", id, msgs[3].ToolCallID)
	}
	if x.Attempts[1].Model != llmtest.LlamaModel || x.Fields["invoice_number"].Raw != "RE-2024-0042" {
		t.Errorf("attempt = %+v, fields = %+v", x.Attempts[1], x.Fields["invoice_number"])
	}
}

func TestLLMRetriesTransportErrors(t *testing.T) {
	ok := llmtest.ToolCall("record_invoice", args(t, validArgs))
	tests := []struct {
		name        string
		replies     []llmtest.Reply
		mod         func(*LLMConfig)
		wantErr     error
		wantReqs    int
		wantRetries int
		minElapsed  time.Duration
	}{
		{"429 honours Retry-After", []llmtest.Reply{llmtest.Status(429, "slow down").RetryAfter(1), ok}, nil, nil, 2, 1, 900 * time.Millisecond},
		{"5xx with backoff", []llmtest.Reply{llmtest.Status(500, "boom"), llmtest.Status(503, "busy"), ok}, nil, nil, 3, 2, 0},
		{"400 is not retried", []llmtest.Reply{llmtest.Status(400, "bad request")}, nil, ErrProvider, 1, 0, 0},
		{"401 is not retried", []llmtest.Reply{llmtest.Status(401, "bad key")}, nil, ErrProvider, 1, 0, 0},
		{"timeouts are retried, then given up", []llmtest.Reply{ok.Delay(time.Second), ok.Delay(time.Second)},
			func(c *LLMConfig) { c.RequestTimeout = 100 * time.Millisecond; c.Retry.MaxRetries = 1 }, ErrProvider, 2, 1, 0},
		{"retries run out on 429", []llmtest.Reply{llmtest.Status(429, "a"), llmtest.Status(429, "b"), llmtest.Status(429, "c")},
			func(c *LLMConfig) { c.Retry.MaxRetries = 2 }, ErrProvider, 3, 2, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := llmtest.NewServer(t)
			srv.ChatSequence(tt.replies...)
			start := time.Now()
			x, err := newTestLLM(t, srv, tt.mod).Extract(context.Background(), invoiceDoc(), mustBuiltin(t, "invoice"))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if n := len(srv.Requests()); n != tt.wantReqs {
				t.Errorf("%d requests, want %d", n, tt.wantReqs)
			}
			if len(x.Attempts) != 1 || x.Attempts[0].Retries != tt.wantRetries {
				t.Errorf("attempts = %+v, want one attempt with %d retries", x.Attempts, tt.wantRetries)
			}
			if d := time.Since(start); d < tt.minElapsed {
				t.Errorf("returned after %v: Retry-After asked for %v", d, tt.minElapsed)
			}
		})
	}
}

func TestLLMHonoursCancellation(t *testing.T) {
	srv := llmtest.NewServer(t)
	srv.ChatSequence(llmtest.Hang())
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := newTestLLM(t, srv, nil).Extract(ctx, invoiceDoc(), mustBuiltin(t, "invoice"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the context's deadline", err)
	}
}

// A budget bounds the whole extraction (a service's job time), and its
// running out is the provider's failure, not the caller's cancellation.
func TestLLMBudget(t *testing.T) {
	srv := llmtest.NewServer(t)
	srv.ChatSequence(llmtest.Hang())
	_, err := newTestLLM(t, srv, func(c *LLMConfig) { c.Budget = 100 * time.Millisecond }).Extract(context.Background(), invoiceDoc(), mustBuiltin(t, "invoice"))
	if !errors.Is(err, ErrProvider) || !strings.Contains(err.Error(), "budget of 100ms") {
		t.Errorf("err = %v, want the budget named", err)
	}
}

func TestFitPages(t *testing.T) {
	doc := pipeline.Document{}
	for i := 1; i <= 5; i++ {
		doc.Pages = append(doc.Pages, pipeline.Page{Number: i, Lines: []pipeline.Line{{Text: fmt.Sprintf("page %d line a", i)}, {Text: fmt.Sprintf("page %d line b", i)}}})
	}
	words := func(s string) int { return len(strings.Fields(s)) }
	tests := []struct {
		budget      int
		wantPages   []int
		wantOmitted []int
		lastText    string
	}{
		{1000, []int{1, 2, 3, 4, 5}, nil, "page 5 line a\npage 5 line b"},
		// A page costs its 8 words plus 8 for its marker.
		{48, []int{1, 2, 5}, []int{3, 4}, "page 5 line a\npage 5 line b"}, // first, last, then from the front
		{32, []int{1, 5}, []int{2, 3, 4}, ""},
		{14, []int{1}, []int{1, 2, 3, 4, 5}, "page 1 line a"}, // one line of page 1: never half a line
		{12, nil, []int{1, 2, 3, 4, 5}, ""},
	}
	for _, tt := range tests {
		parts, omitted := fitPages(doc, tt.budget, words)
		var pages []int
		for _, p := range parts {
			pages = append(pages, p.Page)
		}
		if fmt.Sprint(pages) != fmt.Sprint(tt.wantPages) || fmt.Sprint(omitted) != fmt.Sprint(tt.wantOmitted) {
			t.Errorf("budget %d: pages %v omitted %v, want %v %v", tt.budget, pages, omitted, tt.wantPages, tt.wantOmitted)
		}
		if tt.lastText != "" && (len(parts) == 0 || parts[len(parts)-1].Text != tt.lastText) {
			t.Errorf("budget %d: last part %q", tt.budget, parts[len(parts)-1].Text)
		}
	}
}

func TestLLMFitsLongDocuments(t *testing.T) {
	doc := pipeline.Document{ID: "long"}
	for i := 1; i <= 40; i++ {
		p := pipeline.Page{Number: i, Status: pipeline.PageText}
		for j := 0; j < 40; j++ {
			p.Lines = append(p.Lines, pipeline.Line{Text: fmt.Sprintf("page %d line %d with some words that take tokens", i, j)})
		}
		doc.Pages = append(doc.Pages, p)
	}
	srv := llmtest.NewServer(t)
	srv.ChatSequence(llmtest.ToolCall("record_invoice", args(t, nil)))
	x, err := newTestLLM(t, srv, func(c *LLMConfig) { c.ContextTokens = 8000; c.MaxOutputTokens = 1000 }).Extract(context.Background(), doc, mustBuiltin(t, "invoice"))
	if err != nil {
		t.Fatal(err)
	}
	user := srv.Requests()[0].Chat.Messages[1].Content
	if !strings.Contains(user, "=== Page 1 ===") || !strings.Contains(user, "=== Page 40 ===") || strings.Contains(user, "=== Page 20 ===") {
		t.Errorf("the first and last pages must be kept and middle pages dropped")
	}
	if !strings.Contains(user, "these pages are left out") {
		t.Errorf("the prompt must say pages were left out")
	}
	found := false
	for _, is := range x.Issues {
		found = found || is.Code == pipeline.IssueTruncated
	}
	if !found {
		t.Errorf("issues = %+v, want a truncation warning", x.Issues)
	}
	if _, err := newTestLLM(t, srv, func(c *LLMConfig) { c.ContextTokens = 2000; c.MaxOutputTokens = 1900 }).Extract(context.Background(), doc, mustBuiltin(t, "invoice")); err == nil {
		t.Error("a context too small for anything must be an error, not an empty prompt")
	}
}

func TestLLMMaxTokensField(t *testing.T) {
	srv := llmtest.NewServer(t)
	srv.ChatSequence(llmtest.ToolCall("record_invoice", args(t, validArgs)), llmtest.ToolCall("record_invoice", args(t, validArgs)))
	newTestLLM(t, srv, nil).Extract(context.Background(), invoiceDoc(), mustBuiltin(t, "invoice"))
	newTestLLM(t, srv, func(c *LLMConfig) { c.LegacyMaxTokens = true }).Extract(context.Background(), invoiceDoc(), mustBuiltin(t, "invoice"))
	a, b := srv.Requests()[0].Chat, srv.Requests()[1].Chat
	if a.MaxCompletionTokens == nil || *a.MaxCompletionTokens != 4096 || a.MaxTokens != nil {
		t.Errorf("default: completion %v, legacy %v", a.MaxCompletionTokens, a.MaxTokens)
	}
	if b.MaxTokens == nil || *b.MaxTokens != 4096 || b.MaxCompletionTokens != nil {
		t.Errorf("legacy: completion %v, legacy %v", b.MaxCompletionTokens, b.MaxTokens)
	}
}

func TestLLMVersion(t *testing.T) {
	srv := llmtest.NewServer(t)
	a := newTestLLM(t, srv, nil).Version()
	for _, mod := range []func(*LLMConfig){
		func(c *LLMConfig) { c.Model = "gpt-4o" },
		func(c *LLMConfig) { c.Temperature = 0.5 },
		func(c *LLMConfig) { c.Seed = 1 },
		func(c *LLMConfig) { c.BaseURL = "http://other.example/v1" },
		func(c *LLMConfig) { c.Bounded = true },
	} {
		if b := newTestLLM(t, srv, mod).Version(); b == a {
			t.Errorf("version %q did not change with a setting", b)
		}
	}
	if !strings.Contains(a, "prompt=") || strings.Contains(a, "test-key") {
		t.Errorf("version %q: must name the prompt and never the key", a)
	}
}

func TestLLMUnpricedModel(t *testing.T) {
	srv := llmtest.NewServer(t)
	srv.ChatSequence(llmtest.ToolCall("record_invoice", args(t, validArgs)).Usage(100, 10))
	x, err := newTestLLM(t, srv, func(c *LLMConfig) { c.Model = "local-model" }).Extract(context.Background(), invoiceDoc(), mustBuiltin(t, "invoice"))
	if err != nil {
		t.Fatal(err)
	}
	if x.Usage.CostUSD != 0 || x.Usage.Prices != "" || x.Usage.InputTokens != 100 {
		t.Errorf("usage = %+v: an unpriced model has unknown cost, not a made-up one", x.Usage)
	}
}

func TestNewLLMConfigErrors(t *testing.T) {
	for _, cfg := range []LLMConfig{{}, {BaseURL: "http://x"}, {BaseURL: "http://x", Model: "m", ToolChoice: "any"}} {
		if _, err := NewLLM(cfg); err == nil {
			t.Errorf("NewLLM(%+v) accepted", cfg)
		}
	}
}

// A re-ask must fit the context window: a long broken answer is echoed
// back cut short, not whole (a 4k-token local server rejects the request).
func TestLLMReaskFitsTheContext(t *testing.T) {
	long := `{"vendor_name": {"value": "` + strings.Repeat("ramble ", 3000) // never closed
	srv := llmtest.NewServer(t)
	srv.ChatSequence(llmtest.ToolCall("record_invoice", long).Finish("length"), llmtest.ToolCall("record_invoice", args(t, validArgs)))
	_, err := newTestLLM(t, srv, func(c *LLMConfig) { c.ContextTokens = 6000; c.MaxOutputTokens = 1500 }).Extract(context.Background(), invoiceDoc(), mustBuiltin(t, "invoice"))
	if err != nil {
		t.Fatal(err)
	}
	msgs := srv.Requests()[1].Chat.Messages
	echoed := msgs[2].ToolCalls[0].Arguments
	if len(echoed) > 2*shortArgs || !json.Valid([]byte(echoed)) {
		t.Errorf("echoed arguments are %d bytes (valid JSON: %v); want them cut to about %d", len(echoed), json.Valid([]byte(echoed)), shortArgs)
	}
	if !strings.Contains(msgs[3].Content, "cut off at the limit of 1500 tokens") {
		t.Errorf("tool message = %q: a cut-off answer must be told so", msgs[3].Content)
	}
}

// countingLimiter is a shared limiter that records what it admits.
type countingLimiter struct {
	mu     sync.Mutex
	tokens []int
	pauses []time.Duration
}

func (c *countingLimiter) Wait(_ context.Context, tokens int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tokens = append(c.tokens, tokens)
	return nil
}

func (c *countingLimiter) Pause(_ context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pauses = append(c.pauses, d)
	return nil
}

// A shared limiter admits every try, the retry after a 429 too, each with
// the tokens the provider counts (the prompt and the answer's cap), and
// hears the provider's Retry-After.
func TestLLMSharedLimiter(t *testing.T) {
	srv := llmtest.NewServer(t)
	srv.ChatSequence(llmtest.Status(429, "slow down").RetryAfter(0), llmtest.ToolCall("record_invoice", args(t, validArgs)))
	lim := &countingLimiter{}
	l := newTestLLM(t, srv, func(c *LLMConfig) { c.Limiter = lim; c.MaxOutputTokens = 1000 })
	if _, err := l.Extract(context.Background(), invoiceDoc(), mustBuiltin(t, "invoice")); err != nil {
		t.Fatal(err)
	}
	if len(srv.Requests()) != 2 || len(lim.tokens) != 2 || lim.tokens[0] != lim.tokens[1] || lim.tokens[0] <= 1000 {
		t.Errorf("%d requests; admitted %v tokens", len(srv.Requests()), lim.tokens)
	}
	if len(lim.pauses) != 1 {
		t.Errorf("pauses %v, want the 429's", lim.pauses)
	}
}
