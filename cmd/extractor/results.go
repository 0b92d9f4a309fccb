package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/extractor-dev/extractor/pipeline"
)

// codeVersion names the build: the module version and, when built from a
// checkout with VCS stamping, the revision.
func codeVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v += "+" + s.Value[:min(12, len(s.Value))]
		case "vcs.modified":
			if s.Value == "true" {
				v += "-dirty"
			}
		}
	}
	return v
}

type runSummary struct {
	docs, ok, failed, interrupted, review, cacheHits int
	spent                                            pipeline.Usage
}

func (s *runSummary) add(r pipeline.Result) {
	s.docs++
	switch r.Status() {
	case "ok":
		s.ok++
		if r.Extraction != nil && r.Extraction.NeedsReview() {
			s.review++
		}
	case "failed":
		s.failed++
	default:
		s.interrupted++
	}
	if r.CacheHits() > 0 {
		s.cacheHits++
	}
	s.spent.Add(r.Spent)
}

// counts folds this session's outcomes into the run's (a resumed run adds
// to what it had, less the documents it redid).
func (s runSummary) counts(prev pipeline.RunCounts, resumed bool) pipeline.RunCounts {
	c := pipeline.RunCounts{Documents: s.docs, OK: s.ok, Failed: s.failed, Interrupted: s.interrupted, Review: s.review, CacheHits: s.cacheHits}
	if resumed {
		c.Documents = prev.Documents
		c.OK += prev.OK
		c.Failed += prev.Failed
		c.Review += prev.Review
		c.CacheHits += prev.CacheHits
	}
	return c
}

func (s runSummary) String(d time.Duration, run pipeline.Run) string {
	msg := fmt.Sprintf("%d documents: %d ok (%d need review), %d failed", s.docs, s.ok, s.review, s.failed)
	if s.interrupted > 0 {
		msg += fmt.Sprintf(", %d interrupted", s.interrupted)
	}
	if s.cacheHits > 0 {
		msg += fmt.Sprintf("; %d from the cache", s.cacheHits)
	}
	if s.spent.Attempts > 0 {
		msg += fmt.Sprintf("; %d model calls, %d input + %d output tokens", s.spent.Attempts, s.spent.InputTokens, s.spent.OutputTokens)
		if s.spent.Prices != "" {
			msg += fmt.Sprintf(", $%.4f", s.spent.CostUSD)
		} else {
			msg += ", cost unknown (model not in the price table)"
		}
	}
	msg += fmt.Sprintf("; %.1fs; run %s", d.Seconds(), run.ID)
	if n := run.Spans["dropped"]; n > 0 {
		msg += fmt.Sprintf("; %d spans dropped", n)
	}
	return msg
}

// record is the JSON line for one document, with its keys in a fixed order:
// run_id, document_id, file, status, error, schema, extractor, fields, one
// key per list field (line_items, ...), issues, needs_review, usage (what
// the extraction cost when it was made), spent (what this run spent on it:
// nothing when it came from the cache), cache_hits, attempts, trace_id,
// duration_ms.
func record(r pipeline.Result, schema pipeline.Schema, runID string) ([]byte, error) {
	type kv struct {
		k string
		v any
	}
	x := r.Extraction
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
	kvs := []kv{{"run_id", runID}, {"document_id", r.Document.ID}, {"file", r.File}, {"status", r.Status()}}
	if r.Err != nil {
		kvs = append(kvs, kv{"error", reason(r.Err)})
	}
	kvs = append(kvs, kv{"schema", schema.Ref()}, kv{"extractor", x.Extractor}, kv{"fields", fields})
	for _, spec := range schema.Fields {
		if spec.Type == pipeline.TypeArray {
			items := x.Lists[spec.Name]
			if items == nil {
				items = []pipeline.Item{}
			}
			kvs = append(kvs, kv{spec.Name, items})
		}
	}
	kvs = append(kvs, kv{"issues", issues}, kv{"needs_review", r.Err == nil && x.NeedsReview()}, kv{"usage", x.Usage},
		kv{"spent", r.Spent}, kv{"cache_hits", r.CacheHits()})
	if len(x.Attempts) > 0 {
		kvs = append(kvs, kv{"attempts", x.Attempts})
	}
	kvs = append(kvs, kv{"trace_id", r.TraceID}, kv{"duration_ms", r.Duration.Milliseconds()})
	var b bytes.Buffer
	b.WriteByte('{')
	for i, e := range kvs {
		raw, err := json.Marshal(e.v)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:", e.k)
		b.Write(raw)
	}
	b.WriteString("}\n")
	return b.Bytes(), nil
}

// resultWriter writes results as JSON lines, CSV or a terminal table.
type resultWriter struct {
	format string
	out    io.Writer
	schema pipeline.Schema
	runID  string
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

func (w *resultWriter) write(r pipeline.Result) error {
	x := pipeline.Extraction{}
	if r.Extraction != nil {
		x = *r.Extraction
	}
	switch w.format {
	case "jsonl":
		line, err := record(r, w.schema, w.runID)
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
		errText := ""
		if r.Err != nil {
			errText = reason(r.Err)
		}
		row := []string{r.Document.ID, r.File, r.Status(), errText}
		for _, c := range w.cols {
			f := x.Fields[c]
			row = append(row, f.Value, fmt.Sprint(f.Grounded))
		}
		for _, f := range w.schema.Fields {
			if f.Type == pipeline.TypeArray {
				row = append(row, fmt.Sprint(len(x.Lists[f.Name])))
			}
		}
		row = append(row, fmt.Sprint(len(x.Issues)), fmt.Sprint(r.Err == nil && x.NeedsReview()), fmt.Sprint(x.Usage.InputTokens),
			fmt.Sprint(x.Usage.OutputTokens), fmt.Sprintf("%.6f", x.Usage.CostUSD), fmt.Sprint(r.Duration.Milliseconds()))
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
		row := []string{filepath.Base(r.File)}
		for _, c := range w.keyFields() {
			v := "-"
			if f := x.Fields[c]; f.Found() {
				v = firstNonEmpty(f.Value, f.Raw)
				if !f.Grounded {
					v += " (?)"
				}
			}
			row = append(row, truncate(v, 32))
		}
		status := "ok"
		switch {
		case r.Err != nil:
			status = strings.ToUpper(r.Status()) + ": " + truncate(reason(r.Err), 60)
		case x.Failed():
			status = "review: " + truncate(issueSummary(x.Issues), 60)
		case x.NeedsReview():
			status = fmt.Sprintf("review: confidence %.2f", x.Confidence)
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
