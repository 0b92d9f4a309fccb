package extract

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	openai "github.com/sashabaranov/go-openai"
	"github.com/tiktoken-go/tokenizer"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/time/rate"

	"github.com/extractor-dev/extractor/internal/httpretry"
	"github.com/extractor-dev/extractor/internal/openaiclient"
	"github.com/extractor-dev/extractor/pipeline"
	"github.com/extractor-dev/extractor/prompts"
	"github.com/extractor-dev/extractor/tracing"
)

// Errors of the LLM extractor that callers branch on.
var (
	// ErrNoToolCall: after every attempt the model still did not call the
	// tool with valid arguments.
	ErrNoToolCall = errors.New("extract: no valid tool call")
	// ErrProvider: the provider refused or failed the request (after
	// transport retries).
	ErrProvider = pipeline.Kind("extract: provider error", pipeline.ErrUnavailable)
)

// LLMConfig configures the LLM extractor. Zero fields take the defaults
// noted.
type LLMConfig struct {
	// BaseURL of an OpenAI-compatible API (OpenAI, Azure OpenAI, Ollama,
	// vLLM, llama.cpp's server), e.g. "https://api.openai.com/v1".
	BaseURL string
	// APIKey is sent as a bearer token (or api-key for Azure) and never
	// logged or recorded.
	APIKey string
	Model  string
	// Azure selects Azure OpenAI's URL scheme (deployments) and header;
	// APIVersion then names its API version.
	Azure      bool
	APIVersion string
	// Temperature (default 0) and Seed (default 7) make answers as
	// repeatable as the provider allows.
	Temperature float64
	Seed        int
	// Strict asks for strict schema adherence where supported.
	Strict bool
	// Bounded adds length limits (maxLength, maxItems) to the tool's
	// schema, for grammar-constrained local servers whose models may not
	// close a string; OpenAI's and Azure's strict modes reject them.
	Bounded bool
	// ToolChoice "function" (default) forces the tool by name; "required"
	// asks for any tool call (some servers ignore the object form).
	ToolChoice string
	// MaxAttempts bounds the answers asked for, re-asks included
	// (default 3).
	MaxAttempts int
	// MaxOutputTokens caps each answer (default 4096). It is sent as
	// max_completion_tokens, OpenAI's current field (llama.cpp's server
	// takes it too); LegacyMaxTokens sends max_tokens instead, for
	// servers that only know the old field.
	MaxOutputTokens int
	LegacyMaxTokens bool
	// ContextTokens is the model's context window; the document is fitted
	// into what the instructions and the answer leave (default 128000).
	ContextTokens int
	// RequestTimeout bounds one HTTP try (default 120s).
	RequestTimeout time.Duration
	// Budget, when set, bounds one document's extraction as a whole:
	// every attempt, retry and wait for the rate limits. A service sets it
	// so that a job's time is known (and a crashed worker's job rescued
	// soon); batches leave it unset, as their documents may queue for the
	// shared rate limits. It only decides whether an extraction succeeds,
	// so it is not part of Version.
	Budget time.Duration
	Retry  RetryPolicy
	// Prices turn usage into cost (default: the built-in table).
	Prices *tracing.PriceTable
	// RequestsPerMinute and TokensPerMinute, when set, bound the calls to
	// the provider. One LLM serves a whole batch, so the limits are shared
	// by every document in flight. Tokens are counted before the call:
	// the prompt plus the answer's cap, as providers count them.
	RequestsPerMinute int
	TokensPerMinute   int
	// Limiter, when set, admits every request and retry under limits
	// shared beyond this process (store.Limiter: every worker on every
	// machine), and hears of a provider's Retry-After so that all of
	// them wait. Requests count the tokens the provider counts (the
	// prompt and the answer's cap). It replaces the in-process limits
	// above, which should then be left 0.
	Limiter Limiter
	// TracerProvider gives the spans of model calls and their HTTP tries
	// (default: the global provider).
	TracerProvider trace.TracerProvider
	// Provider names the service for gen_ai.provider.name (default:
	// "openai", or "azure.ai.openai" with Azure).
	Provider string
	// CaptureContent records prompts and answers on spans. Off by
	// default: invoices carry bank details and personal data. Page images
	// are recorded by their size only.
	CaptureContent bool
	// Vision sends page images with the text (as image_url data parts of
	// the user message): of the pages read by OCR, or of all pages. Images
	// gives them; MaxImages (default 8) and MaxImageBytes (default 4 MiB
	// per image) bound what is sent, ImageDetail is the detail asked for
	// ("auto" by default).
	Vision        Vision
	Images        PageImages
	MaxImages     int
	MaxImageBytes int
	ImageDetail   openai.ImageURLDetail
}

func (c LLMConfig) withDefaults() LLMConfig {
	if c.Seed == 0 {
		c.Seed = 7
	}
	if c.ToolChoice == "" {
		c.ToolChoice = "function"
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 3
	}
	if c.MaxOutputTokens <= 0 {
		c.MaxOutputTokens = 4096
	}
	if c.ContextTokens <= 0 {
		c.ContextTokens = 128000
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 120 * time.Second
	}
	if c.Prices == nil {
		p := tracing.DefaultPrices()
		c.Prices = &p
	}
	if c.TracerProvider == nil {
		c.TracerProvider = otel.GetTracerProvider()
	}
	if c.MaxImages <= 0 {
		c.MaxImages = DefaultMaxImages
	}
	if c.MaxImageBytes <= 0 {
		c.MaxImageBytes = DefaultMaxImageBytes
	}
	if c.ImageDetail == "" {
		c.ImageDetail = openai.ImageURLDetailAuto
	}
	if c.Provider == "" {
		c.Provider = tracing.ProviderOpenAI
		if c.Azure {
			c.Provider = tracing.ProviderAzureAIOpenAI
		}
	}
	return c
}

// LLM extracts a schema's fields through a tool call to a language model.
// It is safe for concurrent use.
type LLM struct {
	cfg               LLMConfig
	client            *openai.Client
	system, user, ask prompts.Template
	promptVersion     string
	codec             tokenizer.Codec
	mu                sync.Mutex
	tools             map[string]*tool
	systemTokens      map[string]int // countSystem's
	// countScale inflates token counts for models whose tokenizer we do
	// not have: their vocabularies and chat templates (which render tools
	// verbosely) take more tokens than cl100k counts.
	countScale float64
	tracer     trace.Tracer
	rpm, tpm   *rate.Limiter
}

// NewLLM checks the configuration and builds the client.
func NewLLM(cfg LLMConfig) (*LLM, error) {
	cfg = cfg.withDefaults()
	if cfg.BaseURL == "" || cfg.Model == "" {
		return nil, errors.New("extract: the LLM extractor needs a base URL and a model")
	}
	if _, err := url.Parse(cfg.BaseURL); err != nil {
		return nil, fmt.Errorf("extract: base URL: %w", err)
	}
	if cfg.ToolChoice != "function" && cfg.ToolChoice != "required" {
		return nil, fmt.Errorf("extract: tool choice %q: want function or required", cfg.ToolChoice)
	}
	retry := cfg.Retry
	if cfg.Limiter != nil {
		retry.Gate = cfg.Limiter
	}
	client := openaiclient.New(openaiclient.Config{BaseURL: cfg.BaseURL, APIKey: cfg.APIKey, Azure: cfg.Azure, APIVersion: cfg.APIVersion,
		Timeout: cfg.RequestTimeout, Retry: retry, TracerProvider: cfg.TracerProvider})
	l := &LLM{cfg: cfg, client: client, tools: map[string]*tool{}, countScale: 1}
	var err error
	if l.system, err = prompts.Get("extract_system"); err != nil {
		return nil, err
	}
	if l.user, err = prompts.Get("extract_user"); err != nil {
		return nil, err
	}
	if l.ask, err = prompts.Get("reask"); err != nil {
		return nil, err
	}
	l.promptVersion = prompts.Version(l.system, l.user, l.ask)
	l.tracer = cfg.TracerProvider.Tracer("github.com/extractor-dev/extractor/extract")
	if cfg.RequestsPerMinute > 0 {
		l.rpm = rate.NewLimiter(rate.Limit(float64(cfg.RequestsPerMinute)/60), 1)
	}
	if cfg.TokensPerMinute > 0 {
		l.tpm = rate.NewLimiter(rate.Limit(float64(cfg.TokensPerMinute)/60), cfg.TokensPerMinute)
	}
	if l.codec, err = tokenizer.ForModel(tokenizer.Model(cfg.Model)); err != nil {
		// Not an OpenAI model: count with cl100k and a margin (measured:
		// a Qwen model behind llama.cpp's server saw 27% more tokens).
		if l.codec, err = tokenizer.Get(tokenizer.Cl100kBase); err != nil {
			return nil, err
		}
		l.countScale = 1.3
	}
	return l, nil
}

// PromptVersion is the combined version of the prompt templates in use.
func (l *LLM) PromptVersion() string { return l.promptVersion }

// Model returns the configured model name.
func (l *LLM) Model() string { return l.cfg.Model }

// VersionDetails names the prompt and model for a run's versions
// (pipeline.VersionDetails).
func (l *LLM) VersionDetails() map[string]string {
	return map[string]string{"prompt": l.promptVersion, "model": l.cfg.Model}
}

func (l *LLM) tool(s pipeline.Schema) (*tool, error) {
	key := s.Hash()
	l.mu.Lock()
	defer l.mu.Unlock()
	if t, ok := l.tools[key]; ok {
		return t, nil
	}
	t, err := newTool(s, l.cfg.Bounded)
	if err != nil {
		return nil, err
	}
	t.tokens = l.count(mustJSON(t.Parameters))
	l.tools[key] = t
	return t, nil
}

// countSystem counts a system prompt's tokens, once per prompt: it is the
// same for every document of a schema.
func (l *LLM) countSystem(sys string) int {
	l.mu.Lock()
	n, ok := l.systemTokens[sys]
	l.mu.Unlock()
	if ok {
		return n
	}
	n = l.count(sys)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.systemTokens == nil || len(l.systemTokens) >= 64 {
		l.systemTokens = map[string]int{} // a bound, for prompts that vary
	}
	l.systemTokens[sys] = n
	return n
}

func (l *LLM) count(s string) int {
	n, err := l.codec.Count(s)
	if err != nil {
		n = len(s) / 3 // a pessimistic estimate for text the codec rejects
	}
	return int(float64(n) * l.countScale)
}

// Extract asks the model for the schema's fields: raw values with their
// page and quote (the checks are the Validator's step). Every attempt
// (re-asks included) is recorded, and usage is summed over all of them
// whether the document succeeds or not; on failure the returned
// Extraction still carries the usage and attempts, with the error.
func (l *LLM) Extract(ctx context.Context, doc pipeline.Document, s pipeline.Schema) (pipeline.Extraction, error) {
	x := pipeline.Extraction{
		DocumentID: doc.ID,
		Schema:     s.Ref(),
		Extractor:  pipeline.ExtractorRef{Kind: "llm", Model: l.cfg.Model, PromptVersion: l.promptVersion},
		Fields:     map[string]pipeline.Field{},
	}
	t, err := l.tool(s)
	if err != nil {
		return x, err
	}
	messages, omitted, skipped, err := l.prompt(ctx, doc, s, t)
	if err != nil {
		return x, err
	}
	for _, why := range skipped {
		x.Issues = append(x.Issues, pipeline.Issue{Code: pipeline.IssueExtraction, Severity: pipeline.SeverityWarn,
			Message: "no page image for the model (its text was sent): " + why})
	}
	if l.cfg.Budget > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, l.cfg.Budget, fmt.Errorf("%w: the model did not answer within the document's budget of %s", ErrProvider, l.cfg.Budget))
		defer cancel()
	}
	args, usage, attempts, err := l.callTool(ctx, t, messages)
	if err != nil && ctx.Err() != nil && context.Cause(ctx) != ctx.Err() && errors.Is(context.Cause(ctx), ErrProvider) {
		err = context.Cause(ctx) // the budget, not the caller, ran out
	}
	x.Usage, x.Attempts = usage, attempts
	if err != nil {
		if errors.Is(err, ErrNoToolCall) {
			x.Issues = append(x.Issues, pipeline.Issue{Code: pipeline.IssueExtraction, Severity: pipeline.SeverityFail, Message: err.Error()})
		}
		return x, err
	}

	got := t.extraction(s, args)
	x.Fields, x.Lists = got.Fields, got.Lists
	if len(omitted) > 0 {
		x.Issues = append(x.Issues, pipeline.Issue{Code: pipeline.IssueTruncated, Severity: pipeline.SeverityWarn,
			Message: fmt.Sprintf("pages %s did not fit the model's context and were read in part or not at all", pageList(omitted))})
	}
	return x, nil
}

// callTool asks the model to call t, re-asking with the exact problems
// (a missing call, arguments that are not JSON or break the schema) for up
// to MaxAttempts answers. Each attempt is recorded and traced, and usage
// is summed over all of them whatever the outcome.
func (l *LLM) callTool(ctx context.Context, t *tool, messages []openai.ChatCompletionMessage) (map[string]any, pipeline.Usage, []pipeline.Attempt, error) {
	var usage pipeline.Usage
	var attempts []pipeline.Attempt
	req := openai.ChatCompletionRequest{
		Model: l.cfg.Model,
		Tools: []openai.Tool{{Type: openai.ToolTypeFunction, Function: &openai.FunctionDefinition{
			Name: t.Name, Description: t.Description, Strict: l.cfg.Strict, Parameters: t.Parameters,
		}}},
		Temperature: float32(l.cfg.Temperature),
		Seed:        &l.cfg.Seed,
	}
	if l.cfg.LegacyMaxTokens {
		req.MaxTokens = l.cfg.MaxOutputTokens //lint:ignore SA1019 some OpenAI-compatible servers know only max_tokens
	} else {
		req.MaxCompletionTokens = l.cfg.MaxOutputTokens
	}
	if l.cfg.Temperature == 0 {
		// go-openai drops a zero temperature (omitempty), which would let
		// the provider use its default; the smallest float32 is 0 in effect.
		req.Temperature = math.SmallestNonzeroFloat32
	}
	if l.cfg.ToolChoice == "required" {
		req.ToolChoice = "required"
	} else {
		req.ToolChoice = openai.ToolChoice{Type: openai.ToolTypeFunction, Function: openai.ToolFunction{Name: t.Name}}
	}

	var lastProblem string
	toolTokens := t.tokens + 32
	for attempt := 1; attempt <= l.cfg.MaxAttempts; attempt++ {
		if attempt > 1 {
			var fits bool
			if messages, fits = l.fitConversation(messages, toolTokens); !fits {
				lastProblem += "; a re-ask does not fit the model's context window"
				break
			}
		}
		req.Messages = messages
		tokens, err := l.wait(ctx, messages, toolTokens)
		if err != nil {
			return nil, usage, attempts, err
		}
		actx, span := l.startSpan(httpretry.WithTokens(ctx, tokens), attempt, messages)
		actx, retries := httpretry.WithCounter(actx)
		start := time.Now()
		resp, err := l.client.CreateChatCompletion(actx, req)
		rec := pipeline.Attempt{Number: attempt, Retries: *retries, DurationMS: time.Since(start).Milliseconds()}
		if err != nil {
			rec.Problem = err.Error()
			attempts = append(attempts, rec)
			usage.Attempts = attempt
			pipeline.ReportSpend(ctx, pipeline.Usage{Attempts: 1})
			endSpan(span, rec, err.Error())
			if ctx.Err() != nil {
				return nil, usage, attempts, ctx.Err()
			}
			return nil, usage, attempts, fmt.Errorf("%w: %v", ErrProvider, err)
		}
		rec.ResponseID, rec.Model = resp.ID, resp.Model
		rec.InputTokens, rec.OutputTokens = resp.Usage.PromptTokens, resp.Usage.CompletionTokens
		var call pipeline.Usage
		cost := l.addUsage(&call, rec)
		call.Attempts = 1
		pipeline.ReportSpend(ctx, call) // now: a crash before the step ends must not lose it
		usage.Add(call)
		usage.Attempts = attempt
		span.SetAttributes(tracing.ResponseID.String(resp.ID), tracing.ResponseModel.String(resp.Model),
			tracing.UsageInputTokens.Int(rec.InputTokens), tracing.UsageOutputTokens.Int(rec.OutputTokens))
		if usage.Prices != "" { // an unpriced model has no cost, not a zero one
			span.SetAttributes(tracing.CostUSD.Float64(cost))
		}
		if l.cfg.CaptureContent && len(resp.Choices) > 0 {
			span.SetAttributes(tracing.OutputMessages.String(mustJSON([]openai.ChatCompletionMessage{resp.Choices[0].Message})))
		}

		var args map[string]any
		var problems []string
		var reply []openai.ChatCompletionMessage
		if len(resp.Choices) == 0 {
			problems = []string{"the response has no choices"}
			rec.FinishReason = "none"
		} else {
			msg := resp.Choices[0].Message
			rec.FinishReason = string(resp.Choices[0].FinishReason)
			args, problems, reply = l.answer(t, msg, rec.FinishReason)
		}
		if args == nil {
			rec.Problem = strings.Join(problems, "; ")
			lastProblem = rec.Problem
			messages = append(messages, reply...)
		}
		attempts = append(attempts, rec)
		endSpan(span, rec, rec.Problem)
		if args != nil {
			return args, usage, attempts, nil
		}
	}
	return nil, usage, attempts, fmt.Errorf("%w in %d attempts: %s", ErrNoToolCall, len(attempts), lastProblem)
}

// LLMVersion is the version of the LLM extractor's own code.
const LLMVersion = "llm/1"

// Version names everything that can change what the model reads: the
// code, endpoint, model, sampling and budget settings, and the prompts.
func (l *LLM) Version() string {
	host := l.cfg.BaseURL
	if u, err := url.Parse(l.cfg.BaseURL); err == nil && u.Host != "" {
		host = u.Host
	}
	c := l.cfg
	v := fmt.Sprintf("%s endpoint=%s model=%s temperature=%g seed=%d max_output=%d context=%d strict=%t bounded=%t tool_choice=%s attempts=%d prompt=%s",
		LLMVersion, host, c.Model, c.Temperature, c.Seed, c.MaxOutputTokens, c.ContextTokens, c.Strict, c.Bounded, c.ToolChoice, c.MaxAttempts, l.promptVersion)
	if c.Vision != VisionOff && c.Images != nil {
		v += fmt.Sprintf(" vision=%s images=%d image_bytes=%d detail=%s", c.Vision, c.MaxImages, c.MaxImageBytes, c.ImageDetail)
	}
	return v
}

// answer reads the model's message: the arguments of a call to our tool,
// or the problems and the messages that send them back to the model (the
// assistant's turn, then a tool message with the same tool_call_id for
// each call, or a user message when there was no call).
func (l *LLM) answer(t *tool, msg openai.ChatCompletionMessage, finish string) (map[string]any, []string, []openai.ChatCompletionMessage) {
	var call *openai.ToolCall
	for i := range msg.ToolCalls {
		if msg.ToolCalls[i].Function.Name == t.Name {
			call = &msg.ToolCalls[i]
			break
		}
	}
	if call == nil {
		problem := fmt.Sprintf("no call to %s (finish_reason %q)", t.Name, finish)
		if finish == string(openai.FinishReasonLength) {
			problem += ": the answer was cut off by the token limit"
		}
		text, _ := l.ask.Render(map[string]any{"Tool": t.Name, "NoCall": true, "Errors": []string{}})
		var reply []openai.ChatCompletionMessage
		if strings.TrimSpace(msg.Content) != "" || len(msg.ToolCalls) > 0 {
			reply = append(reply, assistantTurn(msg))
			reply = append(reply, otherToolReplies(msg, "")...)
		}
		reply = append(reply, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleUser, Content: text})
		return nil, []string{problem}, reply
	}
	args, problems := t.check(call.Function.Arguments)
	if problems == nil {
		return args, nil, nil
	}
	if finish == string(openai.FinishReasonLength) {
		problems = append(problems, fmt.Sprintf("the answer was cut off at the limit of %d tokens: keep quotes to the part of the line that holds the value", l.cfg.MaxOutputTokens))
	}
	text, _ := l.ask.Render(map[string]any{"Tool": t.Name, "NoCall": false, "Errors": problems})
	turn := assistantTurn(msg)
	if !json.Valid([]byte(call.Function.Arguments)) {
		// Servers re-read past tool calls (llama.cpp's fails the request
		// on arguments that are not JSON), so the turn goes back with the
		// text wrapped in a JSON object; the tool message says what was wrong.
		turn.ToolCalls = append([]openai.ToolCall(nil), msg.ToolCalls...)
		for i := range turn.ToolCalls {
			if a := turn.ToolCalls[i].Function.Arguments; !json.Valid([]byte(a)) {
				wrapped, _ := json.Marshal(map[string]string{"unparsable_arguments": truncate(a, shortArgs)})
				turn.ToolCalls[i].Function.Arguments = string(wrapped)
			}
		}
	}
	reply := []openai.ChatCompletionMessage{turn,
		{Role: openai.ChatMessageRoleTool, ToolCallID: call.ID, Name: t.Name, Content: text}}
	reply = append(reply, otherToolReplies(msg, call.ID)...)
	return nil, problems, reply
}

// fitConversation makes a re-ask fit the context window: echoed tool-call
// arguments, oldest first, are cut to their start (wrapped as JSON) until
// the conversation and an answer fit. fits is false when even that is not
// enough.
func (l *LLM) fitConversation(msgs []openai.ChatCompletionMessage, toolTokens int) ([]openai.ChatCompletionMessage, bool) {
	limit := l.cfg.ContextTokens - l.cfg.MaxOutputTokens - toolTokens
	size := func() int {
		n := 0
		for _, m := range msgs {
			n += l.messageTokens(m) + 8 + 16*len(m.ToolCalls)
		}
		return n
	}
	for i := range msgs {
		if size() <= limit {
			return msgs, true
		}
		if len(msgs[i].ToolCalls) == 0 {
			continue
		}
		calls := append([]openai.ToolCall(nil), msgs[i].ToolCalls...)
		for j := range calls {
			if a := calls[j].Function.Arguments; len(a) > shortArgs {
				b, _ := json.Marshal(map[string]string{"truncated_arguments": truncate(a, shortArgs)})
				calls[j].Function.Arguments = string(b)
			}
		}
		msgs[i].ToolCalls = calls
	}
	return msgs, size() <= limit
}

// shortArgs is how much of a long echoed tool call a shrunk re-ask keeps.
const shortArgs = 300

// reaskReserve is the room kept in the context for one re-ask.
const reaskReserve = 400

func mustJSON(v any) string {
	b, _ := json.Marshal(v) // plain data: cannot fail
	return string(b)
}

func assistantTurn(msg openai.ChatCompletionMessage) openai.ChatCompletionMessage {
	return openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant, Content: msg.Content, ToolCalls: msg.ToolCalls}
}

// otherToolReplies answers every tool call but the one with id skip: a
// conversation where a call has no tool message is invalid.
func otherToolReplies(msg openai.ChatCompletionMessage, skip string) []openai.ChatCompletionMessage {
	var out []openai.ChatCompletionMessage
	for _, c := range msg.ToolCalls {
		if c.ID != skip {
			out = append(out, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleTool, ToolCallID: c.ID, Name: c.Function.Name,
				Content: "ignored: call the extraction tool once"})
		}
	}
	return out
}

func (l *LLM) addUsage(u *pipeline.Usage, a pipeline.Attempt) float64 {
	u.InputTokens += a.InputTokens
	u.OutputTokens += a.OutputTokens
	cost, ok := l.cfg.Prices.Cost(l.cfg.Model, a.InputTokens, a.OutputTokens)
	if ok {
		u.CostUSD += cost
		u.Prices = l.cfg.Prices.Version
	}
	return cost
}

// wait takes the request's share of the rate limits.
func (l *LLM) wait(ctx context.Context, messages []openai.ChatCompletionMessage, toolTokens int) (tokens int, err error) {
	if l.rpm != nil {
		if err := l.rpm.Wait(ctx); err != nil {
			return 0, err
		}
	}
	if l.tpm == nil && l.cfg.Limiter == nil {
		return 0, nil
	}
	n := toolTokens + l.cfg.MaxOutputTokens
	for _, m := range messages {
		n += l.messageTokens(m)
	}
	if l.tpm != nil {
		if err := l.tpm.WaitN(ctx, min(n, l.tpm.Burst())); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// startSpan opens the CLIENT span of one model call, named and attributed
// per the OpenTelemetry GenAI conventions. Re-asks are spans of their own,
// siblings under the extract step.
func (l *LLM) startSpan(ctx context.Context, attempt int, messages []openai.ChatCompletionMessage) (context.Context, trace.Span) {
	attrs := []attribute.KeyValue{
		tracing.OperationName.String(tracing.OperationChat),
		tracing.ProviderName.String(l.cfg.Provider),
		tracing.RequestModel.String(l.cfg.Model),
		tracing.RequestTemperature.Float64(l.cfg.Temperature),
		tracing.RequestSeed.Int(l.cfg.Seed),
		tracing.RequestMaxTokens.Int(l.cfg.MaxOutputTokens),
		tracing.Attempt.Int(attempt),
		tracing.PromptVersion.String(l.promptVersion),
	}
	if l.cfg.CaptureContent {
		attrs = append(attrs, tracing.InputMessages.String(mustJSON(withoutImageData(messages))))
	}
	return l.tracer.Start(ctx, tracing.GenAISpanName(tracing.OperationChat, l.cfg.Model),
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
}

func endSpan(span trace.Span, rec pipeline.Attempt, problem string) {
	if rec.FinishReason != "" {
		span.SetAttributes(tracing.ResponseFinishReasons.StringSlice([]string{rec.FinishReason}))
	}
	span.SetAttributes(tracing.Retries.Int(rec.Retries))
	if problem != "" {
		span.SetStatus(codes.Error, problem)
	}
	span.End()
}

// prompt renders the system and user messages, fitting the document into
// the token budget, with the page images of the vision setting; skipped
// says which images could not be sent.
func (l *LLM) prompt(ctx context.Context, doc pipeline.Document, s pipeline.Schema, t *tool) (msgs []openai.ChatCompletionMessage, omitted []int, skipped []string, err error) {
	var lists []string
	for _, f := range s.Fields {
		if f.Type == pipeline.TypeArray {
			lists = append(lists, f.Name)
		}
	}
	sys, err := l.system.Render(map[string]any{"Tool": t.Name, "Schema": s.Name, "Description": s.Description, "Lists": strings.Join(lists, ", ")})
	if err != nil {
		return nil, nil, nil, err
	}
	// What the instructions, the tool and the answer leave for the
	// document, with a margin for message framing and counting error, and
	// room for one re-ask (a shortened echo of the answer and the errors).
	fixed := l.countSystem(sys) + t.tokens + 64 + reaskReserve
	budget := (l.cfg.ContextTokens - l.cfg.MaxOutputTokens - fixed) * 9 / 10
	if budget < 256 {
		return nil, nil, nil, fmt.Errorf("extract: a context of %d tokens leaves no room for the document (instructions and tool take %d, the answer %d)",
			l.cfg.ContextTokens, fixed, l.cfg.MaxOutputTokens)
	}
	imgs, skipped := l.images(ctx, doc, nil)
	if len(imgs) > 0 {
		// The images' tokens come off the text's budget first.
		for _, im := range imgs {
			budget -= im.tokens
		}
		if budget < 256 {
			return nil, nil, nil, fmt.Errorf("extract: the page images (%d) leave no room in a context of %d tokens for the document's text", len(imgs), l.cfg.ContextTokens)
		}
	}
	parts, omitted := fitPages(doc, budget, l.count)
	user, err := l.user.Render(map[string]any{"Pages": len(doc.Pages), "Omitted": pageList(omitted), "Parts": parts})
	if err != nil {
		return nil, nil, nil, err
	}
	// Only the images of pages whose text is carried go along.
	kept := imgs[:0]
	for _, n := range visionPages(doc, l.cfg.Vision, parts, l.cfg.MaxImages) {
		for _, im := range imgs {
			if im.page == n {
				kept = append(kept, im)
			}
		}
	}
	return []openai.ChatCompletionMessage{
		{Role: openai.ChatMessageRoleSystem, Content: sys},
		withImages(openai.ChatCompletionMessage{Role: openai.ChatMessageRoleUser, Content: user}, kept, l.cfg.ImageDetail),
	}, omitted, skipped, nil
}

// pagePart is the text of a page given to the model.
type pagePart struct {
	Page int
	Text string
}

// fitPages chooses what of the document fits budget tokens. Pages are
// taken whole, in order of how often they carry invoice fields: the first
// (header, parties, numbers), the last (totals, bank details), then the
// others from the front. A page that does not fit whole is cut at a line
// boundary (never inside a line), only when nothing of it would fit
// otherwise. omitted lists pages (partly) left out.
func fitPages(doc pipeline.Document, budget int, count func(string) int) ([]pagePart, []int) {
	n := len(doc.Pages)
	order := make([]int, 0, n)
	if n > 0 {
		order = append(order, 0)
	}
	if n > 1 {
		order = append(order, n-1)
	}
	for i := 1; i < n-1; i++ {
		order = append(order, i)
	}
	var parts []pagePart
	var omitted []int
	left := budget
	for _, i := range order {
		p := doc.Pages[i]
		text := p.Text()
		cost := count(text) + 8 // the page marker
		if cost <= left {
			parts = append(parts, pagePart{Page: p.Number, Text: text})
			left -= cost
			continue
		}
		// Take as many whole lines as fit.
		var kept []string
		used := 8
		for _, ln := range p.Lines {
			c := count(ln.Text) + 1
			if used+c > left {
				break
			}
			kept = append(kept, ln.Text)
			used += c
		}
		if len(kept) > 0 {
			parts = append(parts, pagePart{Page: p.Number, Text: strings.Join(kept, "\n")})
			left -= used
		}
		omitted = append(omitted, p.Number)
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].Page < parts[j].Page })
	sort.Ints(omitted)
	return parts, omitted
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func pageList(pages []int) string {
	s := make([]string, len(pages))
	for i, p := range pages {
		s[i] = fmt.Sprint(p)
	}
	return strings.Join(s, ", ")
}
