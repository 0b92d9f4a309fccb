package embed

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"
	"github.com/tiktoken-go/tokenizer"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/extractor-dev/extractor/internal/httpretry"
	"github.com/extractor-dev/extractor/internal/openaiclient"
	"github.com/extractor-dev/extractor/pipeline"
	"github.com/extractor-dev/extractor/tracing"
)

// OpenAIVersion is the version of the OpenAI embedder's own code.
const OpenAIVersion = "openai-embed/1"

// OpenAIConfig configures the OpenAI-compatible embedder. Zero fields take
// the defaults noted.
type OpenAIConfig struct {
	// BaseURL of an OpenAI-compatible API, e.g. "https://api.openai.com/v1"
	// or llama.cpp's "http://localhost:8080/v1".
	BaseURL string
	// APIKey is sent as a bearer token and never logged or recorded.
	APIKey string
	Model  string
	// Dimensions is the length of the vectors. When set it is sent as
	// "dimensions" (OpenAI's text-embedding-3 models shorten their vectors
	// to it) and every returned vector is checked against it: a server
	// that ignores the parameter (llama.cpp's does) and answers with the
	// model's own length fails with ErrDimensions rather than storing
	// vectors of another length. It may be left 0 only for OpenAI's own
	// models, whose lengths are known (text-embedding-3-small 1536,
	// text-embedding-3-large 3072, text-embedding-ada-002 1536).
	Dimensions int
	// OmitDimensions checks Dimensions without sending it, for servers
	// that reject the parameter (text-embedding-ada-002; vLLM with a model
	// that cannot shorten its vectors): Dimensions is then the model's own
	// length.
	OmitDimensions bool
	// BatchSize bounds the texts per request (default 64).
	BatchSize int
	// BatchTokens bounds the tokens per request (default 8000), counted
	// offline with the cl100k tokenizer: exact for OpenAI's models, an
	// estimate for others (leave a margin). A text longer than this is
	// sent alone; the provider then says whether it is too long.
	BatchTokens int
	// Base64 asks for vectors encoded in base64 rather than as JSON
	// numbers: a quarter of the response size, the same values. OpenAI,
	// llama.cpp's server and vLLM support it; off by default, as not every
	// OpenAI-compatible server does.
	Base64 bool
	// RequestTimeout bounds one HTTP try (default 60s).
	RequestTimeout time.Duration
	Retry          RetryPolicy
	// Prices turn usage into cost (default: the built-in table).
	Prices *tracing.PriceTable
	// TracerProvider gives the spans of requests and their HTTP tries
	// (default: the global provider).
	TracerProvider trace.TracerProvider
	// Provider names the service for gen_ai.provider.name (default
	// "openai"); name a local server by its own name ("llama.cpp").
	Provider string
}

func (c OpenAIConfig) withDefaults() OpenAIConfig {
	if c.BatchSize <= 0 {
		c.BatchSize = 64
	}
	if c.BatchTokens <= 0 {
		c.BatchTokens = 8000
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 60 * time.Second
	}
	if c.Prices == nil {
		p := tracing.DefaultPrices()
		c.Prices = &p
	}
	if c.TracerProvider == nil {
		c.TracerProvider = otel.GetTracerProvider()
	}
	if c.Provider == "" {
		c.Provider = tracing.ProviderOpenAI
	}
	return c
}

// nativeDimensions is the vector length of OpenAI's embedding models; 0
// for models it does not know.
func nativeDimensions(model string) int {
	switch model {
	case "text-embedding-3-small", "text-embedding-ada-002":
		return 1536
	case "text-embedding-3-large":
		return 3072
	}
	return 0
}

// OpenAI embeds texts through an OpenAI-compatible embeddings endpoint.
// It is safe for concurrent use.
type OpenAI struct {
	cfg    OpenAIConfig
	dims   int
	host   string
	client *openai.Client
	codec  tokenizer.Codec
	tracer trace.Tracer
}

var _ pipeline.Embedder = (*OpenAI)(nil)

// NewOpenAI checks the configuration and builds the client. It makes no
// request.
func NewOpenAI(cfg OpenAIConfig) (*OpenAI, error) {
	cfg = cfg.withDefaults()
	if cfg.BaseURL == "" || cfg.Model == "" {
		return nil, errors.New("embed: the OpenAI embedder needs a base URL and a model")
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("embed: base URL: %w", err)
	}
	dims := cfg.Dimensions
	switch {
	case dims < 0:
		return nil, fmt.Errorf("embed: dimensions %d", dims)
	case dims == 0:
		if dims = nativeDimensions(cfg.Model); dims == 0 {
			return nil, fmt.Errorf("embed: the length of %s's vectors is not known: set Dimensions", cfg.Model)
		}
	}
	o := &OpenAI{cfg: cfg, dims: dims, host: cfg.BaseURL}
	if u.Host != "" {
		o.host = u.Host
	}
	if o.codec, err = tokenizer.Get(tokenizer.Cl100kBase); err != nil {
		return nil, err
	}
	o.client = openaiclient.New(openaiclient.Config{BaseURL: cfg.BaseURL, APIKey: cfg.APIKey, Timeout: cfg.RequestTimeout,
		Retry: cfg.Retry, TracerProvider: cfg.TracerProvider})
	o.tracer = cfg.TracerProvider.Tracer("github.com/extractor-dev/extractor/embed")
	return o, nil
}

// Model returns the configured model name.
func (o *OpenAI) Model() string { return o.cfg.Model }

// Dimensions returns the length of every vector.
func (o *OpenAI) Dimensions() int { return o.dims }

// Version names what can change the vectors: the code, the endpoint's
// host, the model and the length.
func (o *OpenAI) Version() string {
	return fmt.Sprintf("%s endpoint=%s model=%s dims=%d", OpenAIVersion, o.host, o.cfg.Model, o.dims)
}

// Embed returns one unit vector per text, in the order of texts. Texts go
// in requests of at most BatchSize texts and BatchTokens tokens, one
// request at a time, in order. Empty texts (or only white space) are not
// sent and get the zero vector. Usage sums the requests' input tokens (as the provider reports
// them), their number (as Attempts) and their cost; it is returned on
// failure too, covering the requests that succeeded, with no vectors.
func (o *OpenAI) Embed(ctx context.Context, texts []string) ([][]float32, pipeline.Usage, error) {
	var usage pipeline.Usage
	out := make([][]float32, len(texts))
	counts := make([]int, len(texts))
	for i, t := range texts {
		if strings.TrimSpace(t) == "" {
			out[i] = make([]float32, o.dims)
			continue
		}
		counts[i] = o.count(t)
	}
	for n, b := range batches(texts, counts, o.cfg.BatchSize, o.cfg.BatchTokens) {
		if err := ctx.Err(); err != nil {
			return nil, usage, err
		}
		vecs, err := o.request(ctx, n+1, texts, counts, b, &usage)
		if err != nil {
			return nil, usage, err
		}
		for j, i := range b {
			out[i] = vecs[j]
		}
	}
	return out, usage, nil
}

func (o *OpenAI) count(s string) int {
	n, err := o.codec.Count(s)
	if err != nil {
		n = len(s) / 3 // a pessimistic estimate for text the codec rejects
	}
	return max(n, 1)
}

// batches groups the indices of the non-empty texts, in order, into runs
// of at most size texts and budget tokens; a text over budget goes alone.
func batches(texts []string, counts []int, size, budget int) [][]int {
	var out [][]int
	var cur []int
	tokens := 0
	for i, t := range texts {
		if strings.TrimSpace(t) == "" {
			continue
		}
		if len(cur) > 0 && (len(cur) == size || tokens+counts[i] > budget) {
			out = append(out, cur)
			cur, tokens = nil, 0
		}
		cur = append(cur, i)
		tokens += counts[i]
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// request embeds the texts at indices idx in one request: the n-th of
// this call.
func (o *OpenAI) request(ctx context.Context, n int, texts []string, counts, idx []int, usage *pipeline.Usage) ([][]float32, error) {
	input := make([]string, len(idx))
	tokens := 0
	for j, i := range idx {
		input[j] = texts[i]
		tokens += counts[i]
	}
	where := fmt.Sprintf("request %d (texts %d-%d, ~%d tokens)", n, idx[0], idx[len(idx)-1], tokens)
	if len(idx) == 1 {
		where = fmt.Sprintf("request %d (text %d, ~%d tokens)", n, idx[0], tokens)
		if tokens > o.cfg.BatchTokens {
			where = fmt.Sprintf("request %d (text %d alone: ~%d tokens, over the budget of %d)", n, idx[0], tokens, o.cfg.BatchTokens)
		}
	}
	req := openai.EmbeddingRequestStrings{Input: input, Model: openai.EmbeddingModel(o.cfg.Model)}
	if o.cfg.Dimensions > 0 && !o.cfg.OmitDimensions {
		req.Dimensions = o.cfg.Dimensions
	}
	if o.cfg.Base64 {
		req.EncodingFormat = openai.EmbeddingEncodingFormatBase64
	}

	ctx, span := o.tracer.Start(ctx, tracing.GenAISpanName(tracing.OperationEmbeddings, o.cfg.Model),
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
			tracing.OperationName.String(tracing.OperationEmbeddings),
			tracing.ProviderName.String(o.cfg.Provider),
			tracing.RequestModel.String(o.cfg.Model),
		))
	defer span.End()
	ctx, retries := httpretry.WithCounter(ctx)
	resp, err := o.client.CreateEmbeddings(ctx, req)
	span.SetAttributes(tracing.Retries.Int(*retries))
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrProvider, where, err)
	}
	call := pipeline.Usage{Attempts: 1, InputTokens: resp.Usage.PromptTokens}
	attrs := []attribute.KeyValue{
		tracing.ResponseModel.String(string(resp.Model)),
		tracing.UsageInputTokens.Int(resp.Usage.PromptTokens),
	}
	if cost, ok := o.cfg.Prices.Cost(o.cfg.Model, resp.Usage.PromptTokens, 0); ok {
		call.CostUSD, call.Prices = cost, o.cfg.Prices.Version
		attrs = append(attrs, tracing.CostUSD.Float64(cost)) // an unpriced model has no cost, not a zero one
	}
	span.SetAttributes(attrs...)
	pipeline.ReportSpend(ctx, call) // now: a crash before the step ends must not lose it
	usage.Add(call)

	vecs, err := o.vectors(resp.Data, len(idx))
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return vecs, nil
}

// vectors puts the response's vectors in input order, checked and
// normalized.
func (o *OpenAI) vectors(data []openai.Embedding, want int) ([][]float32, error) {
	if len(data) != want {
		return nil, fmt.Errorf("%w: %d vectors for %d texts", ErrProvider, len(data), want)
	}
	out := make([][]float32, want)
	// Place by index, as the API asks; a server that leaves every index
	// 0 is taken to answer in order.
	positional := true
	for _, d := range data {
		if d.Index != 0 {
			positional = false
			break
		}
	}
	for j, d := range data {
		at := d.Index
		if positional {
			at = j
		}
		if at < 0 || at >= want || out[at] != nil {
			return nil, fmt.Errorf("%w: vector index %d is out of range or repeated", ErrProvider, d.Index)
		}
		out[at] = d.Embedding
	}
	for i, v := range out {
		if len(v) != o.dims {
			return nil, fmt.Errorf("%w: %s returned %d-dimensional vectors, want %d (a server that ignores the dimensions parameter answers with the model's own length: set Dimensions to it)",
				ErrDimensions, o.cfg.Model, len(v), o.dims)
		}
		if !normalize(v) {
			return nil, fmt.Errorf("%w: vector %d holds NaN or infinite values", ErrProvider, i)
		}
	}
	return out, nil
}
