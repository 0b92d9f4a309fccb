package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/extractor-dev/extractor/extract"
	"github.com/extractor-dev/extractor/extract/pdf"
	"github.com/extractor-dev/extractor/pipeline"
	"github.com/extractor-dev/extractor/tracing"
)

type runFlags struct {
	configPath  string
	schema      string
	out         string
	format      string
	extractor   string
	baseURL     string
	model       string
	prices      string
	concurrency int
	timeout     time.Duration
	isolate     bool
}

func (m *Main) runCommand() *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run FILE|DIR...",
		Short: "Extract a schema's fields from PDFs, with evidence and checks",
		Long: `Parse PDFs and extract the fields of a schema (built-in "invoice" or "nda", or
a YAML file) from each, with the page and a verbatim quote for every value, then
normalize, validate and check each value against the page it cites.

The extractor is an LLM reached through any OpenAI-compatible API (--llm-base-url,
--llm-model, or the config file; the key from OPENAI_API_KEY or
EXTRACTOR_LLM_API_KEY), or, with no LLM configured, the offline rules extractor
(invoice schema only). One JSON line per document goes to --out (or stdout); a
document that fails gets status "failed" and its reason, and the run goes on.
The exit code is 1 when any document failed; a summary goes to stderr.`,
		Args: usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.runRun(cmd.Context(), args, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.configPath, "config", "", "YAML config file (llm: base_url, model, ...; flags override it)")
	fl.StringVar(&f.schema, "schema", "", `schema: "invoice", "nda" or a YAML file (default invoice)`)
	fl.StringVarP(&f.out, "out", "o", "", "write results here (default stdout)")
	fl.StringVar(&f.format, "format", "jsonl", "jsonl, csv, or table (documents x key fields)")
	fl.StringVar(&f.extractor, "extractor", "auto", "llm, rules, or auto (llm when one is configured)")
	fl.StringVar(&f.baseURL, "llm-base-url", "", "OpenAI-compatible API base URL (env EXTRACTOR_LLM_BASE_URL)")
	fl.StringVar(&f.model, "llm-model", "", "model name (env EXTRACTOR_LLM_MODEL)")
	fl.StringVar(&f.prices, "prices", "", "price table JSON file (default: the built-in one)")
	fl.IntVar(&f.concurrency, "concurrency", runtime.NumCPU(), "documents processed at once")
	fl.DurationVar(&f.timeout, "parse-timeout", pdf.DefaultTimeout, "time limit for parsing one file")
	fl.BoolVar(&f.isolate, "isolate", true, "parse each file in a child process")
	return cmd
}

// extractorFor builds the configured extractor; note is a line for stderr
// when the choice is worth saying.
func (m *Main) extractorFor(f runFlags, cfg config, schema pipeline.Schema) (ex pipeline.Extractor, note string, err error) {
	lc := cfg.LLM
	if f.baseURL != "" {
		lc.BaseURL = f.baseURL
	} else if v := m.Getenv("EXTRACTOR_LLM_BASE_URL"); v != "" && lc.BaseURL == "" {
		lc.BaseURL = v
	}
	if f.model != "" {
		lc.Model = f.model
	} else if v := m.Getenv("EXTRACTOR_LLM_MODEL"); v != "" && lc.Model == "" {
		lc.Model = v
	}
	llmConfigured := lc.BaseURL != "" && lc.Model != ""
	kind := f.extractor
	switch kind {
	case "auto":
		kind = "rules"
		if llmConfigured {
			kind = "llm"
		}
	case "llm":
		if !llmConfigured {
			return nil, "", usageError{errors.New("--extractor llm needs --llm-base-url and --llm-model (or the config file, or EXTRACTOR_LLM_BASE_URL and EXTRACTOR_LLM_MODEL)")}
		}
	case "rules":
	default:
		return nil, "", usageError{fmt.Errorf("--extractor %q: want llm, rules or auto", f.extractor)}
	}
	if kind == "rules" {
		if schema.Name != "invoice" {
			return nil, "", usageError{fmt.Errorf("the rules extractor reads the invoice schema only; schema %q needs an LLM (--llm-base-url, --llm-model)", schema.Name)}
		}
		if f.extractor == "auto" {
			note = "no LLM configured: using the offline rules extractor"
		}
		return extract.Rules{}, note, nil
	}
	prices := tracing.DefaultPrices()
	if path := firstNonEmpty(f.prices, cfg.Prices); path != "" {
		if prices, err = tracing.LoadPrices(path); err != nil {
			return nil, "", usageError{err}
		}
	}
	key := firstNonEmpty(m.Getenv("EXTRACTOR_LLM_API_KEY"), m.Getenv("OPENAI_API_KEY"))
	strict := true
	if lc.Strict != nil {
		strict = *lc.Strict
	}
	llmCfg := extract.LLMConfig{
		BaseURL: lc.BaseURL, APIKey: key, Model: lc.Model, Azure: lc.Azure, APIVersion: lc.APIVersion,
		Temperature: lc.Temperature, Seed: lc.Seed, Strict: strict, Bounded: lc.Bounded, ToolChoice: lc.ToolChoice,
		MaxAttempts: lc.MaxAttempts, MaxOutputTokens: lc.MaxOutputTokens, LegacyMaxTokens: lc.LegacyMaxTokens, ContextTokens: lc.ContextTokens,
		RequestTimeout: lc.Timeout, Retry: extract.RetryPolicy{MaxRetries: lc.MaxRetries}, Prices: &prices,
	}
	if schema.Name == "invoice" {
		llmCfg.Second = extract.Rules{} // second opinion for confidence
	}
	l, err := extract.NewLLM(llmCfg)
	if err != nil {
		return nil, "", usageError{err}
	}
	return l, "", nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// runResult is one document's outcome.
type runResult struct {
	path     string
	doc      pipeline.Document
	x        *pipeline.Extraction
	err      error
	duration time.Duration
}

func (m *Main) runRun(ctx context.Context, args []string, f runFlags) error {
	cfg, err := loadConfig(f.configPath)
	if err != nil {
		return usageError{err}
	}
	schema, err := extract.LoadSchema(firstNonEmpty(f.schema, cfg.Schema, "invoice"))
	if err != nil {
		return usageError{err}
	}
	switch f.format {
	case "jsonl", "csv", "table":
	default:
		return usageError{fmt.Errorf("--format %q: want jsonl, csv or table", f.format)}
	}
	files, err := pdfFiles(args)
	if err != nil {
		return usageError{err}
	}
	ex, note, err := m.extractorFor(f, cfg, schema)
	if err != nil {
		return err
	}
	if note != "" {
		fmt.Fprintln(m.Stderr, "extractor:", note)
	}
	out := m.Stdout
	if f.out != "" {
		file, err := os.Create(f.out)
		if err != nil {
			return err
		}
		defer file.Close()
		out = file
	}
	parse := m.parser(pdf.Options{Timeout: f.timeout, Password: m.Getenv("EXTRACTOR_PDF_PASSWORD")}, f.isolate)

	w := newResultWriter(f.format, out, schema)
	var sum runSummary
	start := time.Now()
	err = ordered(ctx, len(files), f.concurrency, func(ctx context.Context, i int) runResult {
		t0 := time.Now()
		r := runResult{path: files[i]}
		r.doc, r.err = parse(ctx, files[i])
		if r.err == nil {
			x, err := ex.Extract(ctx, r.doc, schema)
			r.x, r.err = &x, err
		}
		r.duration = time.Since(t0)
		return r
	}, func(_ int, r runResult) error {
		sum.add(r)
		if r.err != nil {
			fmt.Fprintf(m.Stderr, "extractor: %s: %s\n", r.path, reason(r.err))
		}
		return w.write(r)
	})
	if err != nil {
		return err
	}
	if err := w.flush(); err != nil {
		return err
	}
	fmt.Fprintln(m.Stderr, sum.String(time.Since(start)))
	if sum.failed > 0 {
		return errSomeFailed
	}
	return nil
}

type runSummary struct {
	docs, failed, review int
	usage                pipeline.Usage
}

func (s *runSummary) add(r runResult) {
	s.docs++
	if r.err != nil {
		s.failed++
	} else if r.x != nil && r.x.Failed() {
		s.review++
	}
	if r.x != nil {
		s.usage.Add(r.x.Usage)
	}
}

func (s runSummary) String(d time.Duration) string {
	msg := fmt.Sprintf("%d documents: %d ok (%d need review), %d failed", s.docs, s.docs-s.failed, s.review, s.failed)
	if s.usage.Attempts > 0 {
		msg += fmt.Sprintf("; %d model calls, %d input + %d output tokens", s.usage.Attempts, s.usage.InputTokens, s.usage.OutputTokens)
		if s.usage.Prices != "" {
			msg += fmt.Sprintf(", $%.4f", s.usage.CostUSD)
		} else {
			msg += ", cost unknown (model not in the price table)"
		}
	}
	return msg + fmt.Sprintf("; %.1fs", d.Seconds())
}

// record is the JSON line for one document, with its keys in a fixed order:
// document_id, file, status, error, schema, extractor, fields, one key per
// list field (line_items, ...), issues, needs_review, usage, attempts,
// duration_ms.
func record(r runResult, schema pipeline.Schema) ([]byte, error) {
	var b bytes.Buffer
	first := true
	put := func(k string, v any) error {
		raw, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		fmt.Fprintf(&b, "%q:", k)
		b.Write(raw)
		return nil
	}
	b.WriteByte('{')
	status := "ok"
	if r.err != nil {
		status = "failed"
	}
	x := r.x
	if x == nil {
		x = &pipeline.Extraction{Schema: schema.Ref()}
	}
	fields := x.Fields
	if fields == nil {
		fields = map[string]pipeline.Field{}
	}
	issues := x.Issues
	if issues == nil {
		issues = []pipeline.Issue{}
	}
	steps := []struct {
		k string
		v any
	}{
		{"document_id", r.doc.ID}, {"file", r.path}, {"status", status},
	}
	if r.err != nil {
		steps = append(steps, struct {
			k string
			v any
		}{"error", reason(r.err)})
	}
	steps = append(steps, []struct {
		k string
		v any
	}{{"schema", schema.Ref()}, {"extractor", x.Extractor}, {"fields", fields}}...)
	for _, spec := range schema.Fields {
		if spec.Type == pipeline.TypeArray {
			items := x.Lists[spec.Name]
			if items == nil {
				items = []pipeline.Item{}
			}
			steps = append(steps, struct {
				k string
				v any
			}{spec.Name, items})
		}
	}
	steps = append(steps, []struct {
		k string
		v any
	}{{"issues", issues}, {"needs_review", r.err == nil && x.Failed()}, {"usage", x.Usage},
		{"attempts", x.Attempts}, {"duration_ms", r.duration.Milliseconds()}}...)
	for _, s := range steps {
		if s.k == "attempts" && len(x.Attempts) == 0 {
			continue
		}
		if err := put(s.k, s.v); err != nil {
			return nil, err
		}
	}
	b.WriteString("}\n")
	return b.Bytes(), nil
}

// resultWriter writes results as JSON lines, CSV or a terminal table.
type resultWriter struct {
	format string
	out    io.Writer
	schema pipeline.Schema
	csv    *csv.Writer
	tw     *tabwriter.Writer
	cols   []string
}

func newResultWriter(format string, out io.Writer, schema pipeline.Schema) *resultWriter {
	w := &resultWriter{format: format, out: out, schema: schema}
	for _, f := range schema.Fields {
		if f.Type != pipeline.TypeArray {
			w.cols = append(w.cols, f.Name)
		}
	}
	return w
}

// keyFields are the columns of the table view.
func (w *resultWriter) keyFields() []string {
	if w.schema.Name == "invoice" {
		return []string{"vendor_name", "invoice_number", "issue_date", "total_amount", "currency"}
	}
	return w.cols[:min(5, len(w.cols))]
}

func (w *resultWriter) write(r runResult) error {
	switch w.format {
	case "jsonl":
		line, err := record(r, w.schema)
		if err != nil {
			return err
		}
		_, err = w.out.Write(line)
		return err
	case "csv":
		if w.csv == nil {
			w.csv = csv.NewWriter(w.out)
			head := []string{"document_id", "file", "status", "error"}
			for _, c := range w.cols {
				head = append(head, c, c+"_grounded")
			}
			for _, f := range w.schema.Fields {
				if f.Type == pipeline.TypeArray {
					head = append(head, f.Name+"_count")
				}
			}
			head = append(head, "issues", "needs_review", "input_tokens", "output_tokens", "cost_usd", "duration_ms")
			if err := w.csv.Write(head); err != nil {
				return err
			}
		}
		x := pipeline.Extraction{}
		if r.x != nil {
			x = *r.x
		}
		status, errText := "ok", ""
		if r.err != nil {
			status, errText = "failed", reason(r.err)
		}
		row := []string{r.doc.ID, r.path, status, errText}
		for _, c := range w.cols {
			f := x.Fields[c]
			row = append(row, f.Value, fmt.Sprint(f.Grounded))
		}
		for _, f := range w.schema.Fields {
			if f.Type == pipeline.TypeArray {
				row = append(row, fmt.Sprint(len(x.Lists[f.Name])))
			}
		}
		row = append(row, fmt.Sprint(len(x.Issues)), fmt.Sprint(r.err == nil && x.Failed()), fmt.Sprint(x.Usage.InputTokens),
			fmt.Sprint(x.Usage.OutputTokens), fmt.Sprintf("%.6f", x.Usage.CostUSD), fmt.Sprint(r.duration.Milliseconds()))
		return w.csv.Write(row)
	default: // table
		if w.tw == nil {
			w.tw = tabwriter.NewWriter(w.out, 0, 0, 2, ' ', 0)
			head := []string{"FILE"}
			for _, c := range w.keyFields() {
				head = append(head, strings.ToUpper(c))
			}
			fmt.Fprintln(w.tw, strings.Join(append(head, "STATUS"), "\t"))
		}
		row := []string{filepath.Base(r.path)}
		for _, c := range w.keyFields() {
			v := "-"
			if r.x != nil {
				if f := r.x.Fields[c]; f.Found() {
					v = firstNonEmpty(f.Value, f.Raw)
					if !f.Grounded {
						v += " (?)"
					}
				}
			}
			row = append(row, truncate(v, 32))
		}
		status := "ok"
		switch {
		case r.err != nil:
			status = "FAILED: " + truncate(reason(r.err), 60)
		case r.x.Failed():
			status = "review: " + truncate(issueSummary(r.x.Issues), 60)
		}
		fmt.Fprintln(w.tw, strings.Join(append(row, status), "\t"))
		return nil
	}
}

func (w *resultWriter) flush() error {
	if w.csv != nil {
		w.csv.Flush()
		return w.csv.Error()
	}
	if w.tw != nil {
		fmt.Fprintln(w.tw, "(?) = not grounded: the value was not found in its quote on the cited page")
		return w.tw.Flush()
	}
	return nil
}

func issueSummary(issues []pipeline.Issue) string {
	counts := map[string]int{}
	for _, i := range issues {
		if i.Severity == pipeline.SeverityFail {
			counts[i.Code]++
		}
	}
	var parts []string
	for code, n := range counts {
		parts = append(parts, fmt.Sprintf("%d %s", n, code))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
