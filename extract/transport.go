package extract

import (
	"net/http"
	"time"

	"github.com/extractor-dev/extractor/internal/httpretry"
)

// RetryPolicy bounds transport retries: 429, 5xx, 408 and network
// timeouts are retried with exponential backoff and jitter, waiting what
// the server asks for in Retry-After when it says; other 4xx are not. It
// is httpretry.Policy, shared with the embedders.
type RetryPolicy = httpretry.Policy

// NewHTTPClient returns a client whose transport keeps enough idle
// connections per host for many concurrent requests to one provider.
// timeout bounds one try, body included.
func NewHTTPClient(timeout time.Duration) *http.Client {
	return httpretry.NewClient(timeout)
}
