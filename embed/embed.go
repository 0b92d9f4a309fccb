// Package embed owns the embedders: what turns chunks' text into vectors
// for retrieval (pipeline.Embedder).
//
//   - OpenAI calls the embeddings endpoint of any OpenAI-compatible API
//     (OpenAI, llama.cpp's server, vLLM, Ollama) through go-openai,
//     batching texts by count and by tokens, retrying 429s (honouring
//     Retry-After), 5xx and timeouts, checking every vector's length, and
//     leaving a GenAI client span and a cost for every request.
//   - Hashing is the offline default: feature hashing of words, word
//     pairs and character n-grams. It is lexical, not neural: it finds
//     texts that share words and pieces of words (inflections, compounds,
//     typos), in any language written with letters, and knows nothing of
//     meaning — "invoice" and "Rechnung" are unrelated to it. It needs no
//     network, costs nothing and is deterministic.
//
// Every vector is L2-normalized (unit length), so cosine similarity is a
// dot product, whatever the provider returns. An empty text (nothing but
// spaces and punctuation for Hashing) gets the zero vector, which is
// similar to nothing; it is never sent to a provider.
//
// It does not chunk (pipeline does), store or search vectors (store
// does), or choose an embedder and read its key (cmd does). Of our
// packages it imports only pipeline and tracing (and internal/httpretry,
// the transport it shares with extract).
package embed

import (
	"errors"
	"math"

	"github.com/extractor-dev/extractor/internal/httpretry"
	"github.com/extractor-dev/extractor/pipeline"
)

// Errors of the embedders that callers branch on.
var (
	// ErrProvider: the provider refused or failed a request (after
	// transport retries), or its answer could not be used.
	ErrProvider = pipeline.Kind("embed: provider error", pipeline.ErrUnavailable)
	// ErrDimensions: the provider returned vectors of another length than
	// configured (llama.cpp's server, for one, ignores "dimensions").
	ErrDimensions = errors.New("embed: wrong vector length")
)

// RetryPolicy bounds transport retries: 429, 5xx, 408 and network
// timeouts are retried with exponential backoff and jitter, waiting what
// the server asks for in Retry-After when it says; other 4xx are not.
// Zero fields take the defaults of httpretry.Policy (5 retries, 1s first
// wait, 30s longest wait, 2m in all; negative MaxRetries: none).
type RetryPolicy = httpretry.Policy

// normalize scales v to unit length in place, unless it is already unit
// length (within float32 rounding: then the provider's numbers are kept
// as they are) or zero (which stays zero). It reports false when v holds
// a NaN or an infinity.
func normalize(v []float32) bool {
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	if math.IsNaN(ss) || math.IsInf(ss, 0) {
		return false
	}
	if ss == 0 || math.Abs(ss-1) < 1e-5 {
		return true
	}
	inv := 1 / math.Sqrt(ss)
	for i, x := range v {
		v[i] = float32(float64(x) * inv)
	}
	return true
}
