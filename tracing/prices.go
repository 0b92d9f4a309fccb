// Package tracing owns what every step needs to leave a record:
//
//   - the attribute keys spans carry: the GenAI semantic conventions'
//     gen_ai.* keys (kept here since the Go semconv packages dropped them)
//     and our own extractor.* keys, plus GenAISpanName;
//   - the price table that turns token usage into cost;
//   - OpenTelemetry setup (Setup): a TracerProvider whose spans go through
//     batch processors to a JSONL span file and/or OTLP, counting spans
//     ended, exported and dropped; and HTTPTransport, which traces the
//     LLM client's requests without headers or bodies;
//   - the JSONL span format: JSONLExporter writes it, ReadSpans reads it
//     back into Span values, Trees arranges them and WriteTree prints them
//     for `extractor traces show`.
//
// It does not decide what to trace (the pipeline and the extractors start
// their own spans, through the global provider unless given one), read the
// environment (cmd passes a Config), or put spans in the database (the
// store does). It depends on no other package of ours.
package tracing

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

//go:embed prices.json
var defaultPrices []byte

// Price is what a model charges, in USD per million tokens.
type Price struct {
	InputPerMTok  float64 `json:"input_per_mtok"`
	OutputPerMTok float64 `json:"output_per_mtok"`
}

// PriceTable maps model names to prices. Its Version is recorded with
// every cost so a changed table explains changed numbers.
type PriceTable struct {
	Version string           `json:"version"`
	Note    string           `json:"note,omitempty"`
	Models  map[string]Price `json:"models"`
}

// DefaultPrices returns the built-in table.
func DefaultPrices() PriceTable {
	t, err := ParsePrices(defaultPrices)
	if err != nil {
		panic("tracing: built-in price table: " + err.Error()) // a build defect, caught by tests
	}
	return t
}

// LoadPrices reads a price table from a JSON file of the same shape as
// the built-in one.
func LoadPrices(path string) (PriceTable, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return PriceTable{}, err
	}
	t, err := ParsePrices(b)
	if err != nil {
		return PriceTable{}, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// ParsePrices parses and checks a price table.
func ParsePrices(b []byte) (PriceTable, error) {
	var t PriceTable
	if err := json.Unmarshal(b, &t); err != nil {
		return t, fmt.Errorf("price table: %w", err)
	}
	if t.Version == "" {
		return t, fmt.Errorf("price table: version is missing")
	}
	for m, p := range t.Models {
		if p.InputPerMTok < 0 || p.OutputPerMTok < 0 {
			return t, fmt.Errorf("price table: %s: negative price", m)
		}
	}
	return t, nil
}

// Lookup finds the price of a model: its exact name, else the longest
// listed name it starts with ("gpt-4o-mini-2024-07-18" costs what
// "gpt-4o-mini" costs).
func (t PriceTable) Lookup(model string) (Price, bool) {
	if p, ok := t.Models[model]; ok {
		return p, true
	}
	names := make([]string, 0, len(t.Models))
	for n := range t.Models {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return len(names[i]) > len(names[j]) })
	for _, n := range names {
		if strings.HasPrefix(model, n+"-") {
			return t.Models[n], true
		}
	}
	return Price{}, false
}

// Cost returns the cost in USD of the given usage; ok is false (and the
// cost 0) when the model is not in the table.
func (t PriceTable) Cost(model string, inputTokens, outputTokens int) (usd float64, ok bool) {
	p, ok := t.Lookup(model)
	if !ok {
		return 0, false
	}
	return (float64(inputTokens)*p.InputPerMTok + float64(outputTokens)*p.OutputPerMTok) / 1e6, true
}
