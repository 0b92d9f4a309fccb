package pipeline

import "context"

// Embedder turns texts into vectors, for retrieval.
type Embedder interface {
	// Embed returns one vector per text, in order, and what it cost.
	Embed(ctx context.Context, texts []string) ([][]float32, Usage, error)
	// Model names the vectors' model, recorded with every vector; vectors
	// of different models are never compared.
	Model() string
	// Dimensions is the length of every vector.
	Dimensions() int
	// Version names everything that can change the vectors (model,
	// dimensions, code): the embed step's cache key.
	Version() string
}

// Embedding is one chunk's vector by one model.
type Embedding struct {
	ChunkID string    `json:"chunk_id"`
	Model   string    `json:"model"`
	Vector  []float32 `json:"vector"`
}

// StoredDocument is everything the pipeline keeps of one document in one
// run: what the store step writes.
type StoredDocument struct {
	RunID      string
	Document   Document
	Chunks     []Chunk
	Embeddings []Embedding
	// Extraction is the validated extraction; nil when extraction failed.
	Extraction *Extraction
	// Versions of the steps that made it (step name -> step version).
	Versions map[string]string
}

// Store keeps documents durably. Saving the same document again must not
// duplicate anything: ingest is idempotent.
type Store interface {
	SaveDocument(ctx context.Context, d StoredDocument) error
}
