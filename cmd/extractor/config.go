package main

import (
	"fmt"
	"os"
	"time"

	"github.com/goccy/go-yaml"
)

// config is the optional YAML config file (--config). Flags override it;
// the API key is never read from it, only from the environment.
type config struct {
	Schema string    `yaml:"schema"`
	Prices string    `yaml:"prices"`
	LLM    llmConfig `yaml:"llm"`
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
	MaxRetries        int           `yaml:"max_retries"`
	RequestsPerMinute int           `yaml:"requests_per_minute"`
	TokensPerMinute   int           `yaml:"tokens_per_minute"`
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
