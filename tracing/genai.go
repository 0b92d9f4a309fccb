package tracing

import "go.opentelemetry.io/otel/attribute"

// Attribute keys of the OpenTelemetry GenAI semantic conventions
// (https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/).
// The Go semconv packages stopped carrying the gen_ai group after v1.41,
// so we keep our own copy; genai_test.go pins every name, making a rename
// a deliberate change.
const (
	// OperationName is the kind of GenAI operation: one of the Operation*
	// values (OperationChat for a chat completion).
	OperationName attribute.Key = "gen_ai.operation.name"
	// ProviderName is the GenAI provider as the client sees it: one of the
	// Provider* values, or the provider's own lower-case name.
	ProviderName attribute.Key = "gen_ai.provider.name"
	// RequestModel is the model name the request asked for.
	RequestModel attribute.Key = "gen_ai.request.model"
	// RequestTemperature is the sampling temperature sent (float).
	RequestTemperature attribute.Key = "gen_ai.request.temperature"
	// RequestSeed is the seed sent (int).
	RequestSeed attribute.Key = "gen_ai.request.seed"
	// RequestMaxTokens is the output token limit sent (int).
	RequestMaxTokens attribute.Key = "gen_ai.request.max_tokens"
	// ResponseID is the provider's id of the completion.
	ResponseID attribute.Key = "gen_ai.response.id"
	// ResponseModel is the model that actually answered (often a dated
	// snapshot of RequestModel).
	ResponseModel attribute.Key = "gen_ai.response.model"
	// ResponseFinishReasons lists why each choice stopped (string slice,
	// e.g. ["tool_calls"]).
	ResponseFinishReasons attribute.Key = "gen_ai.response.finish_reasons"
	// UsageInputTokens is the number of prompt tokens billed (int).
	UsageInputTokens attribute.Key = "gen_ai.usage.input_tokens"
	// UsageOutputTokens is the number of completion tokens billed (int).
	UsageOutputTokens attribute.Key = "gen_ai.usage.output_tokens"
	// InputMessages holds the prompt messages as JSON. Opt-in: it carries
	// document content, so it is set only when content capture is enabled.
	InputMessages attribute.Key = "gen_ai.input.messages"
	// OutputMessages holds the model's answer messages as JSON. Opt-in, like
	// InputMessages.
	OutputMessages attribute.Key = "gen_ai.output.messages"
)

// Well-known values of OperationName.
const (
	OperationChat       = "chat"
	OperationEmbeddings = "embeddings"
)

// Well-known values of ProviderName, as listed by the GenAI semantic
// conventions. An OpenAI-compatible server that is none of these (a local
// llama.cpp, vLLM) should be named by its own lower-case name; it is not
// "openai".
const (
	ProviderOpenAI           = "openai"
	ProviderAzureAIOpenAI    = "azure.ai.openai"
	ProviderAzureAIInference = "azure.ai.inference"
	ProviderAnthropic        = "anthropic"
	ProviderAWSBedrock       = "aws.bedrock"
	ProviderCohere           = "cohere"
	ProviderDeepSeek         = "deepseek"
	ProviderGCPGemini        = "gcp.gemini"
	ProviderGCPGenAI         = "gcp.gen_ai"
	ProviderGCPVertexAI      = "gcp.vertex_ai"
	ProviderGroq             = "groq"
	ProviderIBMWatsonxAI     = "ibm.watsonx.ai"
	ProviderMistralAI        = "mistral_ai"
	ProviderPerplexity       = "perplexity"
	ProviderXAI              = "x_ai"
)

// Our own attribute keys, under the extractor. prefix so they never collide
// with a convention. They are what `extractor traces show` and the store
// read back, so their names are pinned by a test too.
const (
	// CostUSD is the cost of a call or a document in US dollars, computed
	// from usage with the price table (float).
	CostUSD attribute.Key = "extractor.cost_usd"
	// Attempt is the 1-based number of this try of an operation (int).
	Attempt attribute.Key = "extractor.attempt"
	// Retries is how many tries failed before the one that finished (int).
	Retries attribute.Key = "extractor.retries"
	// RunID identifies a run (one invocation over a set of files).
	RunID attribute.Key = "extractor.run.id"
	// DocumentID is the content hash that identifies a document.
	DocumentID attribute.Key = "extractor.document.id"
	// DocumentFile is the path a document was read from.
	DocumentFile attribute.Key = "extractor.document.file"
	// StepName is the name of a pipeline step (what it returns, e.g. "Chunks").
	StepName attribute.Key = "extractor.step.name"
	// StepVersion is the version of a step's code.
	StepVersion attribute.Key = "extractor.step.version"
	// CacheHit tells whether a step's output came from the step cache (bool).
	CacheHit attribute.Key = "extractor.cache.hit"
	// InputHash is the content hash of a step's input.
	InputHash attribute.Key = "extractor.input.hash"
	// OutputHash is the content hash of a step's output.
	OutputHash attribute.Key = "extractor.output.hash"
	// PromptVersion is the content-hash version of the prompt template used.
	PromptVersion attribute.Key = "extractor.prompt.version"
	// SchemaName is the name of the extraction schema (e.g. "invoice").
	SchemaName attribute.Key = "extractor.schema.name"
	// SchemaVersion is the version of the extraction schema.
	SchemaVersion attribute.Key = "extractor.schema.version"
	// Status is the outcome of a document or step in our own terms (e.g.
	// "ok", "failed", "skipped"); the span status still says whether it
	// erred.
	Status attribute.Key = "extractor.status"
)

// GenAISpanName returns the span name the GenAI conventions ask for:
// "{operation} {model}", e.g. "chat gpt-4o-mini"; just the operation when
// the model is not known.
func GenAISpanName(operation, model string) string {
	if model == "" {
		return operation
	}
	return operation + " " + model
}
