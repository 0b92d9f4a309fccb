package embed

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"
	"github.com/tiktoken-go/tokenizer"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/extractor-dev/extractor/internal/llmtest"
	"github.com/extractor-dev/extractor/tracing"
)

func newTestOpenAI(t *testing.T, srv *llmtest.Server, mod func(*OpenAIConfig)) *OpenAI {
	t.Helper()
	cfg := OpenAIConfig{
		BaseURL: srv.URL + "/v1", APIKey: "test-key", Model: "text-embedding-3-small", Dimensions: 8,
		Retry: RetryPolicy{InitialInterval: 5 * time.Millisecond, MaxInterval: 20 * time.Millisecond},
	}
	if mod != nil {
		mod(&cfg)
	}
	o, err := NewOpenAI(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// embedInputs lists the inputs of each embeddings request.
func embedInputs(srv *llmtest.Server) [][]string {
	var out [][]string
	for _, r := range srv.Requests() {
		if r.Embed != nil {
			out = append(out, r.Embed.Input)
		}
	}
	return out
}

func texts(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("chunk %d of the invoice", i)
	}
	return out
}

func TestOpenAIBatchesByCountInOrder(t *testing.T) {
	srv := llmtest.NewServer(t)
	o := newTestOpenAI(t, srv, func(c *OpenAIConfig) { c.BatchSize = 4 })
	in := texts(10)
	got, usage, err := o.Embed(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{in[0:4], in[4:8], in[8:10]}
	if reqs := embedInputs(srv); !slices.EqualFunc(reqs, want, slices.Equal) {
		t.Fatalf("requests' inputs = %q, want %q", reqs, want)
	}
	for i, text := range in {
		if !slices.Equal(got[i], llmtest.Vector(text, 8)) {
			t.Errorf("vector %d is not the one of %q: order lost", i, text)
		}
	}
	if usage.Attempts != 3 {
		t.Errorf("usage = %+v, want 3 requests", usage)
	}
	r := srv.Requests()[0]
	if r.Header.Get("Authorization") != "Bearer test-key" || r.Embed.Model != "text-embedding-3-small" ||
		r.Embed.Dimensions != 8 || r.Embed.EncodingFormat != "" {
		t.Errorf("request = %s", r.Body)
	}
}

func TestOpenAIBatchesByTokens(t *testing.T) {
	codec, err := tokenizer.Get(tokenizer.Cl100kBase)
	if err != nil {
		t.Fatal(err)
	}
	word := func(n int) string { return strings.TrimSpace(strings.Repeat("invoice ", n)) }
	// Token counts 4, 4, 3, 9 (alone: over the budget), 2, 5 under a
	// budget of 8.
	in := []string{word(4), word(4), word(3), word(9), word(2), word(5)}
	for i, n := range []int{4, 4, 3, 9, 2, 5} {
		if c, _ := codec.Count(in[i]); c != n {
			t.Fatalf("%q has %d tokens, the test assumes %d", in[i], c, n)
		}
	}
	srv := llmtest.NewServer(t)
	o := newTestOpenAI(t, srv, func(c *OpenAIConfig) { c.BatchTokens = 8 })
	got, _, err := o.Embed(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{in[0:2], in[2:3], in[3:4], in[4:6]}
	if reqs := embedInputs(srv); !slices.EqualFunc(reqs, want, slices.Equal) {
		t.Errorf("requests' inputs = %q, want %q", reqs, want)
	}
	for i, text := range in {
		if !slices.Equal(got[i], llmtest.Vector(text, 8)) {
			t.Errorf("vector %d is not the one of %q", i, text)
		}
	}
}

func TestBatches(t *testing.T) {
	in := []string{"a", "", "b", "c", "  ", "d", "e"}
	counts := []int{3, 0, 3, 10, 0, 1, 1}
	tests := []struct {
		size, budget int
		want         [][]int
	}{
		{64, 8000, [][]int{{0, 2, 3, 5, 6}}},
		{2, 8000, [][]int{{0, 2}, {3, 5}, {6}}},
		{64, 6, [][]int{{0, 2}, {3}, {5, 6}}},
		{1, 1, [][]int{{0}, {2}, {3}, {5}, {6}}},
	}
	for _, tt := range tests {
		if got := batches(in, counts, tt.size, tt.budget); !slices.EqualFunc(got, tt.want, slices.Equal) {
			t.Errorf("batches(size %d, budget %d) = %v, want %v", tt.size, tt.budget, got, tt.want)
		}
	}
	if got := batches(nil, nil, 64, 8000); got != nil {
		t.Errorf("batches of nothing = %v", got)
	}
}

func TestOpenAIEmptyTextsAreNotSent(t *testing.T) {
	srv := llmtest.NewServer(t)
	o := newTestOpenAI(t, srv, nil)
	got, _, err := o.Embed(context.Background(), []string{"", "total 12.00", " \n"})
	if err != nil {
		t.Fatal(err)
	}
	if reqs := embedInputs(srv); len(reqs) != 1 || !slices.Equal(reqs[0], []string{"total 12.00"}) {
		t.Errorf("requests' inputs = %q", reqs)
	}
	zero := make([]float32, 8)
	if !slices.Equal(got[0], zero) || !slices.Equal(got[2], zero) || !slices.Equal(got[1], llmtest.Vector("total 12.00", 8)) {
		t.Errorf("vectors = %v", got)
	}
	got, usage, err := o.Embed(context.Background(), nil)
	if err != nil || len(got) != 0 || usage.Attempts != 0 || len(srv.Requests()) != 1 {
		t.Errorf("Embed(nil) = %v, %+v, %v after %d requests", got, usage, err, len(srv.Requests()))
	}
}

func TestOpenAIUsageIsSummedAndPriced(t *testing.T) {
	srv := llmtest.NewServer(t)
	script := llmtest.HashEmbeddings(8)
	srv.Embed(func(r llmtest.EmbedRequest) llmtest.Reply { return script(r).Usage(100*r.Index, 0) })
	o := newTestOpenAI(t, srv, func(c *OpenAIConfig) { c.BatchSize = 2 })
	_, usage, err := o.Embed(context.Background(), texts(5))
	if err != nil {
		t.Fatal(err)
	}
	wantCost := 600 * 0.02 / 1e6
	if usage.InputTokens != 600 || usage.Attempts != 3 || math.Abs(usage.CostUSD-wantCost) > 1e-12 ||
		usage.Prices != tracing.DefaultPrices().Version || usage.OutputTokens != 0 {
		t.Errorf("usage = %+v, want 600 input tokens in 3 requests costing %g", usage, wantCost)
	}

	// A model not in the price table has no cost, not a zero one.
	srv2 := llmtest.NewServer(t)
	o = newTestOpenAI(t, srv2, func(c *OpenAIConfig) { c.Model = "nomic-embed-text" })
	_, usage, err = o.Embed(context.Background(), texts(1))
	if err != nil || usage.Prices != "" || usage.CostUSD != 0 || usage.InputTokens == 0 {
		t.Errorf("unpriced usage = %+v, %v", usage, err)
	}
}

func TestOpenAIBase64(t *testing.T) {
	srv := llmtest.NewServer(t)
	o := newTestOpenAI(t, srv, func(c *OpenAIConfig) { c.Base64 = true })
	in := texts(3)
	got, _, err := o.Embed(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if f := srv.Requests()[0].Embed.EncodingFormat; f != "base64" {
		t.Errorf("encoding_format = %q", f)
	}
	for i, text := range in {
		if !slices.Equal(got[i], llmtest.Vector(text, 8)) {
			t.Errorf("vector %d differs from the float encoding's", i)
		}
	}
}

func TestOpenAINormalizesAndPlacesByIndex(t *testing.T) {
	srv := llmtest.NewServer(t)
	// Out of order, by index; not unit length.
	srv.Embed(func(llmtest.EmbedRequest) llmtest.Reply {
		return llmtest.Raw(200, `{"object":"list","model":"m","usage":{"prompt_tokens":4,"total_tokens":4},"data":[
			{"object":"embedding","index":1,"embedding":[0,0,3,4]},
			{"object":"embedding","index":0,"embedding":[2,0,0,0]}]}`)
	})
	o := newTestOpenAI(t, srv, func(c *OpenAIConfig) { c.Dimensions = 4 })
	got, _, err := o.Embed(context.Background(), []string{"first", "second"})
	if err != nil {
		t.Fatal(err)
	}
	if want := [][]float32{{1, 0, 0, 0}, {0, 0, 0.6, 0.8}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("vectors = %v, want %v", got, want)
	}
}

func TestOpenAIRejectsBadAnswers(t *testing.T) {
	tests := []struct {
		name  string
		reply func(llmtest.EmbedRequest) llmtest.Reply
		want  error
	}{
		{"dimensions ignored, as llama.cpp does", func(r llmtest.EmbedRequest) llmtest.Reply {
			return llmtest.Embeddings(llmtest.Vector(r.Input[0], 8), llmtest.Vector(r.Input[1], 8))
		}, ErrDimensions},
		{"too few vectors", func(r llmtest.EmbedRequest) llmtest.Reply {
			return llmtest.Embeddings(llmtest.Vector(r.Input[0], 16))
		}, ErrProvider},
		{"a repeated index", func(llmtest.EmbedRequest) llmtest.Reply {
			return llmtest.Raw(200, `{"data":[{"index":1,"embedding":[1]},{"index":1,"embedding":[1]}]}`)
		}, ErrProvider},
		{"malformed JSON", func(llmtest.EmbedRequest) llmtest.Reply { return llmtest.Raw(200, `{"data":[`) }, ErrProvider},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := llmtest.NewServer(t)
			srv.Embed(tt.reply)
			o := newTestOpenAI(t, srv, func(c *OpenAIConfig) { c.Dimensions = 16 })
			got, _, err := o.Embed(context.Background(), []string{"a", "b"})
			if !errors.Is(err, tt.want) || got != nil {
				t.Errorf("Embed = %v, %v; want %v", got, err, tt.want)
			}
			if srv.Requests()[0].Embed.Dimensions != 16 {
				t.Errorf("dimensions not sent: %s", srv.Requests()[0].Body)
			}
		})
	}
}

func TestOpenAIOmitDimensions(t *testing.T) {
	srv := llmtest.NewServer(t)
	o := newTestOpenAI(t, srv, func(c *OpenAIConfig) { c.Model = "text-embedding-ada-002"; c.Dimensions = 0 })
	if o.Dimensions() != 1536 {
		t.Errorf("ada-002 dimensions = %d", o.Dimensions())
	}
	srv.Embed(llmtest.HashEmbeddings(1536))
	if _, _, err := o.Embed(context.Background(), texts(1)); err != nil {
		t.Fatal(err)
	}
	o = newTestOpenAI(t, srv, func(c *OpenAIConfig) { c.Dimensions = 1536; c.OmitDimensions = true })
	if _, _, err := o.Embed(context.Background(), texts(1)); err != nil {
		t.Fatal(err)
	}
	for _, r := range srv.Requests() {
		if strings.Contains(string(r.Body), "dimensions") {
			t.Errorf("dimensions sent: %s", r.Body)
		}
	}
}

func TestOpenAIRetries(t *testing.T) {
	ok := llmtest.HashEmbeddings(8)
	tests := []struct {
		name        string
		replies     []llmtest.Reply // then ok
		mod         func(*OpenAIConfig)
		wantErr     error
		wantStatus  int
		wantReqs    int
		wantRetries int64
		minElapsed  time.Duration
	}{
		{"429 honours Retry-After", []llmtest.Reply{llmtest.Status(429, "slow down").RetryAfter(1)}, nil, nil, 0, 2, 1, 900 * time.Millisecond},
		{"5xx with backoff", []llmtest.Reply{llmtest.Status(500, "boom"), llmtest.Status(503, "busy")}, nil, nil, 0, 3, 2, 0},
		{"a timeout is retried", []llmtest.Reply{llmtest.Hang()}, func(c *OpenAIConfig) { c.RequestTimeout = 100 * time.Millisecond }, nil, 0, 2, 1, 0},
		{"400 is not retried", []llmtest.Reply{llmtest.Status(400, "input is too long")}, nil, ErrProvider, 400, 1, 0, 0},
		{"401 is not retried", []llmtest.Reply{llmtest.Status(401, "bad key")}, nil, ErrProvider, 401, 1, 0, 0},
		{"retries run out", []llmtest.Reply{llmtest.Status(503, "a"), llmtest.Status(503, "b"), llmtest.Status(503, "c")},
			func(c *OpenAIConfig) { c.Retry.MaxRetries = 2 }, ErrProvider, 503, 3, 2, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := llmtest.NewServer(t)
			srv.Embed(func(r llmtest.EmbedRequest) llmtest.Reply {
				if r.Index <= len(tt.replies) {
					return tt.replies[r.Index-1]
				}
				return ok(r)
			})
			rec := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
			o := newTestOpenAI(t, srv, func(c *OpenAIConfig) {
				c.TracerProvider = tp
				if tt.mod != nil {
					tt.mod(c)
				}
			})
			start := time.Now()
			got, usage, err := o.Embed(context.Background(), texts(2))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && len(got) != 2 {
				t.Errorf("%d vectors", len(got))
			}
			if tt.wantErr != nil && usage.Attempts != 0 {
				t.Errorf("usage = %+v after a failed request", usage)
			}
			var apiErr *openai.APIError
			if tt.wantStatus != 0 && (!errors.As(err, &apiErr) || apiErr.HTTPStatusCode != tt.wantStatus) {
				t.Errorf("err = %v: want the provider's %d", err, tt.wantStatus)
			}
			if n := len(srv.Requests()); n != tt.wantReqs {
				t.Errorf("%d requests, want %d", n, tt.wantReqs)
			}
			if d := time.Since(start); d < tt.minElapsed {
				t.Errorf("returned after %v: Retry-After asked for %v", d, tt.minElapsed)
			}
			spans := embeddingSpans(rec)
			if len(spans) != 1 {
				t.Fatalf("%d embeddings spans", len(spans))
			}
			if v, _ := attr(spans[0], tracing.Retries); v.AsInt64() != tt.wantRetries {
				t.Errorf("retries = %v, want %d", v.String(), tt.wantRetries)
			}
		})
	}
}

func TestOpenAIHonoursCancellation(t *testing.T) {
	srv := llmtest.NewServer(t)
	srv.Embed(func(llmtest.EmbedRequest) llmtest.Reply { return llmtest.Hang() })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, _, err := newTestOpenAI(t, srv, nil).Embed(ctx, texts(3))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the context's deadline", err)
	}

	// Cancelled between batches: no further request.
	srv = llmtest.NewServer(t)
	ctx, cancel = context.WithCancel(context.Background())
	script := llmtest.HashEmbeddings(8)
	srv.Embed(func(r llmtest.EmbedRequest) llmtest.Reply { cancel(); return script(r) })
	_, usage, err := newTestOpenAI(t, srv, func(c *OpenAIConfig) { c.BatchSize = 1 }).Embed(ctx, texts(3))
	if !errors.Is(err, context.Canceled) || len(srv.Requests()) > 1 || usage.Attempts > 1 {
		t.Errorf("err = %v after %d requests (usage %+v), want to stop at once", err, len(srv.Requests()), usage)
	}
}

func embeddingSpans(rec *tracetest.SpanRecorder) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if strings.HasPrefix(s.Name(), "embeddings") {
			out = append(out, s)
		}
	}
	return out
}

func attr(s sdktrace.ReadOnlySpan, k attribute.Key) (attribute.Value, bool) {
	for _, kv := range s.Attributes() {
		if kv.Key == k {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

func TestOpenAISpans(t *testing.T) {
	srv := llmtest.NewServer(t)
	script := llmtest.HashEmbeddings(8)
	srv.Embed(func(r llmtest.EmbedRequest) llmtest.Reply {
		return script(r).Usage(1000, 0).Model("text-embedding-3-small-2024")
	})
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	o := newTestOpenAI(t, srv, func(c *OpenAIConfig) { c.TracerProvider = tp; c.BatchSize = 2 })
	if _, _, err := o.Embed(context.Background(), texts(3)); err != nil {
		t.Fatal(err)
	}
	spans := embeddingSpans(rec)
	if len(spans) != 2 {
		t.Fatalf("%d embeddings spans, want one per request", len(spans))
	}
	for _, s := range spans {
		if s.Name() != "embeddings text-embedding-3-small" || s.SpanKind() != trace.SpanKindClient {
			t.Errorf("span %q of kind %v", s.Name(), s.SpanKind())
		}
		want := map[attribute.Key]any{
			tracing.OperationName:    "embeddings",
			tracing.ProviderName:     "openai",
			tracing.RequestModel:     "text-embedding-3-small",
			tracing.ResponseModel:    "text-embedding-3-small-2024",
			tracing.UsageInputTokens: int64(1000),
			tracing.CostUSD:          1000 * 0.02 / 1e6,
			tracing.Retries:          int64(0),
		}
		for k, v := range want {
			if got, ok := attr(s, k); !ok || got.AsInterface() != v {
				t.Errorf("%s = %v, want %v", k, got.AsInterface(), v)
			}
		}
		// One HTTP span per try, a child of the request's span, with no
		// key in sight.
		var http []sdktrace.ReadOnlySpan
		for _, c := range rec.Ended() {
			if c.Parent().SpanID() == s.SpanContext().SpanID() {
				http = append(http, c)
			}
		}
		if len(http) != 1 || http[0].Name() != "HTTP POST /v1/embeddings" {
			t.Errorf("children = %v", http)
		}
		for _, c := range rec.Ended() {
			for _, kv := range c.Attributes() {
				if strings.Contains(kv.Value.String(), "test-key") {
					t.Errorf("span %q records the API key in %s", c.Name(), kv.Key)
				}
			}
		}
	}
}

func TestNewOpenAI(t *testing.T) {
	for _, cfg := range []OpenAIConfig{
		{Model: "text-embedding-3-small"},
		{BaseURL: "http://x/v1"},
		{BaseURL: "http://x/v1", Model: "nomic-embed-text"}, // length unknown
		{BaseURL: "http://x/v1", Model: "m", Dimensions: -1},
		{BaseURL: "://bad", Model: "text-embedding-3-small"},
	} {
		if _, err := NewOpenAI(cfg); err == nil {
			t.Errorf("NewOpenAI(%+v) succeeded", cfg)
		}
	}
	o, err := NewOpenAI(OpenAIConfig{BaseURL: "https://api.openai.com/v1", APIKey: "sk-secret", Model: "text-embedding-3-large", Dimensions: 256})
	if err != nil {
		t.Fatal(err)
	}
	if v := o.Version(); v != "openai-embed/1 endpoint=api.openai.com model=text-embedding-3-large dims=256" {
		t.Errorf("Version = %q", v)
	}
	if o.Model() != "text-embedding-3-large" || o.Dimensions() != 256 {
		t.Errorf("Model, Dimensions = %q, %d", o.Model(), o.Dimensions())
	}
}
