package tracing

import (
	"testing"

	"go.opentelemetry.io/otel/attribute"
)

// TestAttributeNames pins every attribute name: spans already written,
// dashboards and the store depend on them, so a rename must change this
// table too.
func TestAttributeNames(t *testing.T) {
	keys := []struct {
		key  attribute.Key
		want string
	}{
		{OperationName, "gen_ai.operation.name"},
		{ProviderName, "gen_ai.provider.name"},
		{RequestModel, "gen_ai.request.model"},
		{RequestTemperature, "gen_ai.request.temperature"},
		{RequestSeed, "gen_ai.request.seed"},
		{RequestMaxTokens, "gen_ai.request.max_tokens"},
		{ResponseID, "gen_ai.response.id"},
		{ResponseModel, "gen_ai.response.model"},
		{ResponseFinishReasons, "gen_ai.response.finish_reasons"},
		{UsageInputTokens, "gen_ai.usage.input_tokens"},
		{UsageOutputTokens, "gen_ai.usage.output_tokens"},
		{InputMessages, "gen_ai.input.messages"},
		{OutputMessages, "gen_ai.output.messages"},

		{CostUSD, "extractor.cost_usd"},
		{Attempt, "extractor.attempt"},
		{Retries, "extractor.retries"},
		{RunID, "extractor.run.id"},
		{DocumentID, "extractor.document.id"},
		{DocumentFile, "extractor.document.file"},
		{StepName, "extractor.step.name"},
		{StepVersion, "extractor.step.version"},
		{CacheHit, "extractor.cache.hit"},
		{InputHash, "extractor.input.hash"},
		{OutputHash, "extractor.output.hash"},
		{PromptVersion, "extractor.prompt.version"},
		{SchemaName, "extractor.schema.name"},
		{SchemaVersion, "extractor.schema.version"},
		{Status, "extractor.status"},
	}
	seen := map[attribute.Key]bool{}
	for _, k := range keys {
		if string(k.key) != k.want {
			t.Errorf("key %q, want %q", k.key, k.want)
		}
		if seen[k.key] {
			t.Errorf("key %q listed twice", k.key)
		}
		seen[k.key] = true
	}

	values := []struct{ got, want string }{
		{OperationChat, "chat"},
		{OperationEmbeddings, "embeddings"},
		{ProviderOpenAI, "openai"},
		{ProviderAzureAIOpenAI, "azure.ai.openai"},
		{ProviderAzureAIInference, "azure.ai.inference"},
		{ProviderAnthropic, "anthropic"},
		{ProviderAWSBedrock, "aws.bedrock"},
		{ProviderCohere, "cohere"},
		{ProviderDeepSeek, "deepseek"},
		{ProviderGCPGemini, "gcp.gemini"},
		{ProviderGCPGenAI, "gcp.gen_ai"},
		{ProviderGCPVertexAI, "gcp.vertex_ai"},
		{ProviderGroq, "groq"},
		{ProviderIBMWatsonxAI, "ibm.watsonx.ai"},
		{ProviderMistralAI, "mistral_ai"},
		{ProviderPerplexity, "perplexity"},
		{ProviderXAI, "x_ai"},
	}
	for _, v := range values {
		if v.got != v.want {
			t.Errorf("value %q, want %q", v.got, v.want)
		}
	}
}

func TestGenAISpanName(t *testing.T) {
	for _, tt := range []struct{ op, model, want string }{
		{OperationChat, "gpt-4o-mini", "chat gpt-4o-mini"},
		{OperationEmbeddings, "text-embedding-3-small", "embeddings text-embedding-3-small"},
		{OperationChat, "", "chat"},
	} {
		if got := GenAISpanName(tt.op, tt.model); got != tt.want {
			t.Errorf("GenAISpanName(%q, %q) = %q, want %q", tt.op, tt.model, got, tt.want)
		}
	}
}
