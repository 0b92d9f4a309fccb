package tracing

import (
	"net/http"
	"net/url"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// HTTPTransport wraps base (http.DefaultTransport when nil) so every
// request of the LLM client becomes a client span of tp (the global
// provider when nil) named like "HTTP POST /v1/chat/completions".
//
// It records no headers and no bodies (otelhttp records neither unless
// asked), so API keys in Authorization or api-key headers stay out of
// traces. Query values are redacted from url.full as well, since some
// OpenAI-compatible endpoints take the key as ?key=.
func HTTPTransport(base http.RoundTripper, tp trace.TracerProvider) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	return otelhttp.NewTransport(redactQuery{base},
		otelhttp.WithTracerProvider(tp),
		otelhttp.WithSpanNameFormatter(httpSpanName))
}

func httpSpanName(_ string, r *http.Request) string {
	return "HTTP " + r.Method + " " + r.URL.Path
}

// urlFull is the semconv key otelhttp records the request URL under.
const urlFull attribute.Key = "url.full"

// redactQuery sits between otelhttp and the real transport: by then the
// client span is in the request's context and carries url.full, which it
// overwrites with the query values (and bare query tokens) replaced by
// "REDACTED".
type redactQuery struct{ base http.RoundTripper }

func (t redactQuery) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.RawQuery != "" {
		if span := trace.SpanFromContext(r.Context()); span.IsRecording() {
			span.SetAttributes(urlFull.String(redactedURL(r.URL)))
		}
	}
	return t.base.RoundTrip(r)
}

func redactedURL(u *url.URL) string {
	c := *u
	c.User = nil
	parts := strings.Split(c.RawQuery, "&")
	for i, p := range parts {
		if k, _, ok := strings.Cut(p, "="); ok {
			parts[i] = k + "=REDACTED"
		} else if p != "" {
			parts[i] = "REDACTED" // a bare token may be the key itself
		}
	}
	c.RawQuery = strings.Join(parts, "&")
	return c.String()
}
