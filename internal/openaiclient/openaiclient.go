// Package openaiclient builds the go-openai client that the LLM extractor
// and the OpenAI-compatible embedder share: the endpoint (OpenAI-style or
// Azure's deployments), a transport that keeps enough idle connections
// for a busy batch, a span per HTTP try, and retries of 429s, 5xx and
// timeouts (internal/httpretry).
package openaiclient

import (
	"strings"
	"time"

	"github.com/sashabaranov/go-openai"
	"go.opentelemetry.io/otel/trace"

	"github.com/extractor-dev/extractor/internal/httpretry"
	"github.com/extractor-dev/extractor/tracing"
)

// Config says which endpoint and how to reach it.
type Config struct {
	BaseURL string
	// APIKey is sent as a bearer token (Azure: the api-key header).
	APIKey string
	// Azure selects Azure OpenAI's URL scheme; APIVersion its API
	// version (default go-openai's).
	Azure      bool
	APIVersion string
	// Timeout bounds one HTTP try, body included (0: none).
	Timeout        time.Duration
	Retry          httpretry.Policy
	TracerProvider trace.TracerProvider
}

// New returns the client.
func New(c Config) *openai.Client {
	var oc openai.ClientConfig
	if c.Azure {
		oc = openai.DefaultAzureConfig(c.APIKey, c.BaseURL)
		if c.APIVersion != "" {
			oc.APIVersion = c.APIVersion
		}
	} else {
		oc = openai.DefaultConfig(c.APIKey)
		oc.BaseURL = strings.TrimRight(c.BaseURL, "/")
	}
	hc := httpretry.NewClient(c.Timeout)
	hc.Transport = tracing.HTTPTransport(hc.Transport, c.TracerProvider) // a span per HTTP try
	oc.HTTPClient = httpretry.NewDoer(hc, c.Retry)
	return openai.NewClientWithConfig(oc)
}
