package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/extractor-dev/extractor/extract"
)

// config is the optional YAML config file (--config). Flags override it;
// the API key is never read from it, only from the environment.
type config struct {
	Schema string    `yaml:"schema"`
	Prices string    `yaml:"prices"`
	LLM    llmConfig `yaml:"llm"`
	// DatabaseURL is a PostgreSQL connection string (EXTRACTOR_DATABASE_URL
	// overrides it). It may carry a password: it is never recorded.
	DatabaseURL string          `yaml:"database_url"`
	Embedding   embeddingConfig `yaml:"embedding"`
	Index       indexConfig     `yaml:"index"`
	Search      searchConfig    `yaml:"search"`
	Server      serverConfig    `yaml:"server"`
	// EInvoice is prefer, off or only (--einvoice).
	EInvoice string `yaml:"einvoice"`
	// OCR configures OCR (--ocr, --ocr-lang, --ocr-dpi).
	OCR ocrConfig `yaml:"ocr"`
}

// embeddingConfig chooses the embedder: an OpenAI-compatible embeddings
// endpoint when base_url and model are set, else the offline hashing
// embedder.
type embeddingConfig struct {
	BaseURL        string        `yaml:"base_url" json:"base_url,omitempty"`
	Model          string        `yaml:"model" json:"model,omitempty"`
	Dimensions     int           `yaml:"dimensions" json:"dimensions,omitempty"`
	OmitDimensions bool          `yaml:"omit_dimensions" json:"omit_dimensions,omitempty"`
	BatchSize      int           `yaml:"batch_size" json:"batch_size,omitempty"`
	BatchTokens    int           `yaml:"batch_tokens" json:"batch_tokens,omitempty"`
	Base64         bool          `yaml:"base64" json:"base64,omitempty"`
	Timeout        time.Duration `yaml:"timeout" json:"timeout,omitempty"`
	MaxRetries     int           `yaml:"max_retries" json:"max_retries,omitempty"`
	Provider       string        `yaml:"provider" json:"provider,omitempty"`
}

// indexConfig tunes the HNSW index built per embedding model.
type indexConfig struct {
	M                    int `yaml:"m" json:"m,omitempty"`
	EfConstruction       int `yaml:"ef_construction" json:"ef_construction,omitempty"`
	MaintenanceWorkMemMB int `yaml:"maintenance_work_mem_mb" json:"maintenance_work_mem_mb,omitempty"`
}

// searchConfig tunes retrieval.
type searchConfig struct {
	EfSearch   int `yaml:"ef_search" json:"ef_search,omitempty"`
	RRFK       int `yaml:"rrf_k" json:"rrf_k,omitempty"`
	Candidates int `yaml:"candidates" json:"candidates,omitempty"`
}

type llmConfig struct {
	BaseURL           string        `yaml:"base_url"`
	Model             string        `yaml:"model"`
	Azure             bool          `yaml:"azure"`
	APIVersion        string        `yaml:"api_version"`
	Temperature       float64       `yaml:"temperature"`
	Seed              int           `yaml:"seed"`
	Strict            *bool         `yaml:"strict"`
	Bounded           bool          `yaml:"bounded"`
	ToolChoice        string        `yaml:"tool_choice"`
	MaxAttempts       int           `yaml:"max_attempts"`
	MaxOutputTokens   int           `yaml:"max_output_tokens"`
	LegacyMaxTokens   bool          `yaml:"legacy_max_tokens"`
	ContextTokens     int           `yaml:"context_tokens"`
	Timeout           time.Duration `yaml:"timeout"`
	Budget            time.Duration `yaml:"budget"`
	MaxRetries        int           `yaml:"max_retries"`
	RequestsPerMinute int           `yaml:"requests_per_minute"`
	TokensPerMinute   int           `yaml:"tokens_per_minute"`
	// Vision sends page images with the text: "ocr" (or true) those of
	// the pages read by OCR, "all" every page; off by default. Unverified
	// with a real model here (see the README).
	Vision      visionSetting `yaml:"vision"`
	MaxImages   int           `yaml:"max_images"`
	ImageDetail string        `yaml:"image_detail"`
}

// visionSetting is llm.vision: true, false, or a mode name.
type visionSetting string

// UnmarshalYAML takes a boolean or a string.
func (v *visionSetting) UnmarshalYAML(b []byte) error {
	s := strings.Trim(strings.TrimSpace(string(b)), `"'`)
	if _, err := extract.ParseVision(s); err != nil {
		return err
	}
	*v = visionSetting(s)
	return nil
}

func loadConfig(path string) (config, error) {
	var c config
	if path == "" {
		return c, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	if err := yaml.UnmarshalWithOptions(b, &c, yaml.Strict()); err != nil {
		return c, fmt.Errorf("%s: %s", path, yaml.FormatError(err, false, false))
	}
	return c, nil
}
