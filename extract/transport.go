package extract

import "github.com/extractor-dev/extractor/internal/httpretry"

// RetryPolicy bounds transport retries: 429, 5xx, 408 and network
// timeouts are retried with exponential backoff and jitter, waiting what
// the server asks for in Retry-After when it says; other 4xx are not. It
// is httpretry.Policy, shared with the embedders.
type RetryPolicy = httpretry.Policy

// Limiter admits requests to the provider under limits shared by many
// senders, and hears of the waits the provider asks for (see
// LLMConfig.Limiter; store.Limiter is one).
type Limiter = httpretry.Gate
