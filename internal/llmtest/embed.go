package llmtest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
)

// DefaultDimensions is the length of the vectors the server answers
// embedding requests with when no script is set and the request does not
// ask for "dimensions".
const DefaultDimensions = 8

// Vector returns a deterministic unit vector of dim float32s for text: the
// same text always gives the same numbers, different texts give unrelated
// ones. It is what the default embeddings script returns, so tests can
// compute the expected vectors.
func Vector(text string, dim int) []float32 {
	if dim <= 0 {
		return []float32{}
	}
	v := make([]float64, dim)
	var block [sha256.Size]byte
	var norm float64
	for i := range v {
		const perBlock = sha256.Size / 4
		if i%perBlock == 0 {
			block = sha256.Sum256(fmt.Appendf(nil, "%d\x00%s", i/perBlock, text))
		}
		u := binary.LittleEndian.Uint32(block[(i%perBlock)*4:])
		v[i] = float64(u)/math.MaxUint32*2 - 1
		norm += v[i] * v[i]
	}
	norm = math.Sqrt(norm)
	out := make([]float32, dim)
	if norm == 0 { // astronomically unlikely; keeps the vector a unit one
		out[0] = 1
		return out
	}
	for i, x := range v {
		out[i] = float32(x / norm)
	}
	return out
}

// HashEmbeddings returns an embeddings script that answers each input with
// Vector(input, dim), or of the request's "dimensions" when it sets one.
// Token-array inputs are hashed through their JSON text, e.g. "[1,2,3]".
// The server uses HashEmbeddings(DefaultDimensions) until Embed is called.
func HashEmbeddings(dim int) func(EmbedRequest) Reply {
	return func(req EmbedRequest) Reply {
		d := dim
		if req.Dimensions > 0 {
			d = req.Dimensions
		}
		vectors := make([][]float32, 0, len(req.Input)+len(req.Tokens))
		for _, text := range req.Input {
			vectors = append(vectors, Vector(text, d))
		}
		for _, tokens := range req.Tokens {
			text, _ := json.Marshal(tokens) // []int always marshals
			vectors = append(vectors, Vector(string(text), d))
		}
		return Embeddings(vectors...)
	}
}

// base64Floats encodes v the way OpenAI does for encoding_format "base64":
// little-endian float32s.
func base64Floats(v []float32) string {
	buf := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(x))
	}
	return base64.StdEncoding.EncodeToString(buf)
}
