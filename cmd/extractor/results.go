package main

import (
	"cmp"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"runtime/debug"
	"slices"
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

// spendSummary says what model calls cost.
func spendSummary(u pipeline.Usage) string {
	msg := fmt.Sprintf("%d model calls, %d input + %d output tokens", u.Attempts, u.InputTokens, u.OutputTokens)
	if u.Attempts == 0 {
		return msg
	}
	if u.Prices != "" {
		return msg + fmt.Sprintf(", $%.4f", u.CostUSD)
	}
	return msg + ", cost unknown (model not in the price table)"
}

// summary is the line a batch ends with: its counts and spend.
//
// llm says the text extractor is an LLM: documents read from their
// e-invoice then saved its calls.
func summary(c pipeline.RunCounts, spent pipeline.Usage, d time.Duration, run pipeline.Run, llm bool) string {
	msg := fmt.Sprintf("%d documents: %d ok (%d need review), %d failed", c.Documents, c.OK, c.Review, c.Failed)
	if c.Interrupted > 0 {
		msg += fmt.Sprintf(", %d interrupted", c.Interrupted)
	}
	if c.EInvoice > 0 {
		msg += fmt.Sprintf("; %d read from their e-invoice", c.EInvoice)
		if llm {
			msg += " (no model call)"
		}
	}
	if c.CacheHits > 0 {
		msg += fmt.Sprintf("; %d from the cache", c.CacheHits)
	}
	if spent.Attempts > 0 {
		msg += "; " + spendSummary(spent)
	}
	msg += fmt.Sprintf("; %.1fs; run %s", d.Seconds(), run.ID)
	if n := run.Spans["dropped"]; n > 0 {
		msg += fmt.Sprintf("; %d spans dropped", n)
	}
	return msg
}

// reasonOf is reason, or "" without an error.
func reasonOf(err error) string {
	if err == nil {
		return ""
	}
	return reason(err)
}

// marshalLine is a result line's JSON with a newline.
func marshalLine(l pipeline.ResultLine) ([]byte, error) {
	b, err := json.Marshal(l)
	return append(b, '\n'), err
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
	var keys []string
	for _, f := range w.schema.Fields {
		if f.Key && f.Type != pipeline.TypeArray {
			keys = append(keys, f.Name)
		}
	}
	if len(keys) == 0 {
		keys = w.cols[:min(5, len(w.cols))]
	}
	return keys
}

func (w *resultWriter) write(l pipeline.ResultLine) error {
	switch w.format {
	case "jsonl":
		b, err := marshalLine(l)
		if err != nil {
			return err
		}
		_, err = w.out.Write(b)
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
		row := []string{l.DocumentID, l.File, l.Status, l.Error}
		for _, c := range w.cols {
			f := l.Fields[c]
			row = append(row, f.Value, fmt.Sprint(f.Grounded))
		}
		for _, f := range w.schema.Fields {
			if f.Type == pipeline.TypeArray {
				row = append(row, fmt.Sprint(len(l.Lists[f.Name])))
			}
		}
		row = append(row, fmt.Sprint(len(l.Issues)), fmt.Sprint(l.NeedsReview), fmt.Sprint(l.Usage.InputTokens),
			fmt.Sprint(l.Usage.OutputTokens), fmt.Sprintf("%.6f", l.Usage.CostUSD), fmt.Sprint(l.DurationMS))
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
		row := []string{filepath.Base(l.File)}
		for _, c := range w.keyFields() {
			v := "-"
			if f := l.Fields[c]; f.Found() {
				v = firstNonEmpty(f.Value, f.Raw)
				if !f.Grounded {
					v += " (?)"
				}
			}
			row = append(row, truncate(v, 32))
		}
		status := "ok"
		switch {
		case l.Status != "ok":
			status = strings.ToUpper(l.Status) + ": " + truncate(l.Error, 60)
		case l.NeedsReview && issueSummary(l.Issues) != "":
			status = "review: " + truncate(issueSummary(l.Issues), 60)
		case l.NeedsReview:
			status = fmt.Sprintf("review: confidence %.2f", l.Confidence)
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

// issueSummary names the failing issues by code and field: "missing
// due_date; ungrounded iban, total_amount".
func issueSummary(issues []pipeline.Issue) string {
	byCode := map[string][]string{}
	for _, i := range issues {
		if i.Severity == pipeline.SeverityFail {
			byCode[i.Code] = append(byCode[i.Code], cmp.Or(i.Field, "document"))
		}
	}
	var parts []string
	for _, code := range slices.Sorted(maps.Keys(byCode)) {
		fields := slices.Compact(slices.Sorted(slices.Values(byCode[code])))
		parts = append(parts, code+" "+strings.Join(fields, ", "))
	}
	return strings.Join(parts, "; ")
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
