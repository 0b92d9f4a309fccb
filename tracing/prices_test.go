package tracing

import (
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestCost(t *testing.T) {
	p := DefaultPrices()
	if p.Version == "" {
		t.Fatal("no version")
	}
	tests := []struct {
		model   string
		in, out int
		want    float64
		ok      bool
	}{
		{"gpt-4o-mini", 1_000_000, 1_000_000, 0.75, true},
		{"gpt-4o-mini-2024-07-18", 2000, 500, (2000*0.15 + 500*0.60) / 1e6, true},
		{"gpt-4o", 1000, 0, 0.0025, true},
		{"gpt-4o-2024-08-06", 0, 1000, 0.01, true},
		{"tiny-qwen", 1000, 1000, 0, false},
		{"gpt-4omni", 1000, 1000, 0, false}, // a prefix must end at a dash
	}
	for _, tt := range tests {
		got, ok := p.Cost(tt.model, tt.in, tt.out)
		if ok != tt.ok || math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("Cost(%s, %d, %d) = %v %v, want %v %v", tt.model, tt.in, tt.out, got, ok, tt.want, tt.ok)
		}
	}
}

func TestLoadPrices(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "p.json")
	os.WriteFile(good, []byte(`{"version": "mine-1", "models": {"local": {"input_per_mtok": 1, "output_per_mtok": 2}}}`), 0o644)
	p, err := LoadPrices(good)
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := p.Cost("local", 1e6, 1e6); !ok || c != 3 || p.Version != "mine-1" {
		t.Errorf("cost %v %v", c, ok)
	}
	for _, bad := range []string{`{"models": {}}`, `{"version": "x", "models": {"m": {"input_per_mtok": -1}}}`, `not json`} {
		f := filepath.Join(dir, "bad.json")
		os.WriteFile(f, []byte(bad), 0o644)
		if _, err := LoadPrices(f); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}
