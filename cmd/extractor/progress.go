package main

import (
	"fmt"
	"path/filepath"
	"sync"

	"github.com/schollz/progressbar/v3"

	"github.com/extractor-dev/extractor/pipeline"
)

// progress reports a batch as it goes: a bar with counts, ETA, tokens and
// cost on a terminal; a plain line per document otherwise (logs, CI).
type progress struct {
	m     *Main
	total int
	bar   *progressbar.ProgressBar
	mu    sync.Mutex
	n     int
}

func (m *Main) newProgress(total int) *progress {
	p := &progress{m: m, total: total}
	if m.Terminal && total > 0 {
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(m.Stderr),
			progressbar.OptionSetDescription("extracting"),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetWidth(30),
			progressbar.OptionClearOnFinish(),
		)
	}
	return p
}

func (p *progress) done(r pipeline.Result, c pipeline.RunCounts, spent pipeline.Usage) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	if p.bar != nil {
		desc := fmt.Sprintf("ok %d · failed %d", c.OK, c.Failed)
		if spent.Attempts > 0 {
			desc += fmt.Sprintf(" · %d tok · $%.4f", spent.InputTokens+spent.OutputTokens, spent.CostUSD)
		}
		p.bar.Describe(desc)
		p.bar.Add(1)
		return
	}
	extra := ""
	if n := r.CacheHits(); n > 0 {
		extra = fmt.Sprintf(", %d steps from the cache", n)
	}
	fmt.Fprintf(p.m.Stderr, "extractor: [%d/%d] %s %s (%.1fs%s)\n", p.n, p.total, r.Status(), filepath.Base(r.File), r.Duration.Seconds(), extra)
}

// log prints a line without breaking the bar.
func (p *progress) log(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		p.bar.Clear()
	}
	fmt.Fprintln(p.m.Stderr, msg)
	if p.bar != nil {
		p.bar.RenderBlank()
	}
}

func (p *progress) finish() {
	if p.bar != nil {
		p.bar.Finish()
	}
}
