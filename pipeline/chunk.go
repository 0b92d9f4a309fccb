package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"

	"github.com/tiktoken-go/tokenizer"
)

// ChunkVersion changes whenever Chunks may cut the same document
// differently; it is part of the chunk step's cache key.
const ChunkVersion = "chunk/1"

// Chunk is a piece of one page: whole consecutive lines, small enough to
// embed and to quote from.
type Chunk struct {
	// ID is stable: a hash of the document id, the page and the line span.
	ID         string `json:"id"`
	DocumentID string `json:"document_id"`
	Page       int    `json:"page"`
	// FirstLine and LastLine index the page's Lines (inclusive).
	FirstLine int    `json:"first_line"`
	LastLine  int    `json:"last_line"`
	Text      string `json:"text"`
	Tokens    int    `json:"tokens"`
}

// ChunkOptions bound chunk sizes, in tokens.
type ChunkOptions struct {
	// MaxTokens bounds a chunk (default 400). A single line longer than
	// that becomes a chunk of its own: lines are never split.
	MaxTokens int
	// Overlap is how many tokens of trailing lines a chunk repeats from
	// the one before it on the same page (default 50).
	Overlap int
	// Count counts tokens (default: cl100k, offline).
	Count func(string) int
}

func (o ChunkOptions) withDefaults() ChunkOptions {
	if o.MaxTokens <= 0 {
		o.MaxTokens = 400
	}
	if o.Overlap < 0 || o.Overlap >= o.MaxTokens {
		o.Overlap = 0
	} else if o.Overlap == 0 {
		o.Overlap = min(50, o.MaxTokens/4)
	}
	if o.Count == nil {
		o.Count = countCL100k
	}
	return o
}

// Key identifies the options for cache keys.
func (o ChunkOptions) Key() string {
	o = o.withDefaults()
	return fmt.Sprintf("%s max=%d overlap=%d", ChunkVersion, o.MaxTokens, o.Overlap)
}

var cl100k = sync.OnceValues(func() (tokenizer.Codec, error) { return tokenizer.Get(tokenizer.Cl100kBase) })

func countCL100k(s string) int {
	c, err := cl100k()
	if err != nil {
		return len(strings.Fields(s)) * 4 / 3
	}
	n, err := c.Count(s)
	if err != nil {
		return len(s) / 3
	}
	return n
}

// Chunks cuts a document into chunks, page by page: lines are gathered
// until the next would pass MaxTokens, and the next chunk starts with the
// last lines of the previous one, up to Overlap tokens, so a fact that
// straddles two chunks is whole in one of them. Chunks never cross a page
// and never split a line. The same document and options always give the
// same chunks with the same ids.
func Chunks(doc Document, opts ChunkOptions) []Chunk {
	opts = opts.withDefaults()
	var out []Chunk
	for _, p := range doc.Pages {
		n := len(p.Lines)
		if n == 0 {
			continue
		}
		tokens := make([]int, n)
		for i, l := range p.Lines {
			tokens[i] = max(1, opts.Count(l.Text)) + 1 // + the line break
		}
		start := 0
		for start < n {
			end, sum := start, 0 // [start, end)
			for end < n && (end == start || sum+tokens[end] <= opts.MaxTokens) {
				sum += tokens[end]
				end++
			}
			out = append(out, makeChunk(doc.ID, p, start, end-1, sum))
			if end == n {
				break
			}
			// Step back over trailing lines worth at most Overlap tokens,
			// but always move forward.
			next, back := end, 0
			for next-1 > start && back+tokens[next-1] <= opts.Overlap {
				next--
				back += tokens[next]
			}
			start = next
		}
	}
	return out
}

func makeChunk(docID string, p Page, first, last, tokens int) Chunk {
	var b strings.Builder
	for i := first; i <= last; i++ {
		if i > first {
			b.WriteByte('\n')
		}
		b.WriteString(p.Lines[i].Text)
	}
	return Chunk{
		ID:         ChunkID(docID, p.Number, first, last),
		DocumentID: docID,
		Page:       p.Number,
		FirstLine:  first,
		LastLine:   last,
		Text:       b.String(),
		Tokens:     tokens,
	}
}

// ChunkID is the stable id of a chunk: the first 16 bytes, in hex, of the
// SHA-256 of the document id, page and line span.
func ChunkID(docID string, page, first, last int) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s|%d|%d-%d", docID, page, first, last)))
	return hex.EncodeToString(sum[:16])
}
