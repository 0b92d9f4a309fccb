package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/extractor-dev/extractor/history"
)

func (m *Main) lineageCommand() *cobra.Command {
	var state, runID string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "lineage DOC_ID FIELD",
		Short: "Explain where an extracted value came from, upstream to the file's bytes",
		Long: `Follow one value of one document upstream: the value (normalized and raw,
grounding, confidence, issues) ← the validate step ← the extract step and the
model attempt whose answer was accepted ← the prompt, schema and model versions
← the chunk(s) holding the quote ← the lines of the page ← the file and its
sha256 (the document id).

DOC_ID is a document id, any unique part of one (6 characters or more), a
trace id or a file name; FIELD is a field name or a list element's field, such as
line_items[2].amount. Chunks and pages are read from the step cache; when the
cache no longer holds them, lineage says so. Default run: the latest that has
the document.`,
		Args: usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := history.ParseFieldPath(args[1])
			if err != nil {
				return err
			}
			h := m.history(state)
			run, r, err := h.Find(cmd.Context(), runID, args[0])
			if err != nil {
				return err
			}
			rep, err := h.Lineage(cmd.Context(), run, r, p)
			if err != nil {
				return err
			}
			if asJSON {
				b, err := json.MarshalIndent(rep, "", "  ")
				if err != nil {
					return err
				}
				_, err = m.Stdout.Write(append(b, '\n'))
				return err
			}
			return writeLineage(m.Stdout, rep)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&state, "state", "", "state directory (default .extractor, env EXTRACTOR_STATE)")
	fl.StringVar(&runID, "run", "", "run id or any unique part of it (default: the latest run that has the document)")
	fl.BoolVar(&asJSON, "json", false, "print the lineage as JSON")
	return cmd
}

func writeLineage(w io.Writer, rep *history.Lineage) error {
	var b strings.Builder
	const pad = 16
	line := func(label, text string) {
		fmt.Fprintf(&b, "%-*s%s\n", pad, label, text)
	}
	more := func(text string) { line("", text) }
	stepText := func(s *history.Step) string {
		t := s.Version
		if s.CacheHit {
			t += "; cache hit"
			if s.MadeBy != "" {
				t += " (made by run " + s.MadeBy + ")"
			}
		} else {
			t += "; cache miss, " + formatMS(s.DurationMS)
		}
		t += "; key " + history.ShortID(s.Key) + ", output " + history.ShortID(s.OutputHash)
		if s.Error != "" {
			t += "; error " + strconv.Quote(s.Error)
		}
		return t
	}

	fmt.Fprintf(&b, "lineage of %s in %s, run %s\n\n", rep.Field, filepath.Base(rep.File), rep.RunID)
	f := rep.Value
	if rep.Found {
		v := strconv.Quote(f.Value)
		if f.Value == "" {
			v = "(none: the raw value does not normalize)"
		}
		if f.Currency != "" {
			v += " " + f.Currency
		}
		line("value", fmt.Sprintf("%s (raw %s)", v, strconv.Quote(f.Raw)))
		g := "not grounded"
		if f.Grounded {
			g = "grounded"
		}
		more(fmt.Sprintf("%s, confidence %.2f", g, f.Confidence))
		if f.Why != "" {
			line("why", f.Why)
		}
		if f.Quote != "" || f.Page != 0 {
			pg := "no page"
			if f.Page != 0 {
				pg = fmt.Sprintf("page %d", f.Page)
			}
			line("evidence", fmt.Sprintf("%s: %s", pg, strconv.Quote(f.Quote)))
		} else {
			line("evidence", "none given")
		}
	} else {
		line("value", "not found: the extractor returned nothing for this field")
	}
	if len(rep.Issues) == 0 {
		line("issues", "none")
	}
	for i, is := range rep.Issues {
		l := ""
		if i == 0 {
			l = "issues"
		}
		line(l, fmt.Sprintf("%s %s: %s", is.Severity, is.Code, is.Message))
	}

	if s := rep.Validate; s != nil {
		line("↑ validate", stepText(s))
	}
	if s := rep.Second; s != nil {
		line("↑ second", stepText(&s.Step))
		switch {
		case !s.Value.Found():
			more("second opinion: found nothing")
		case s.Agree:
			more(fmt.Sprintf("second opinion agrees: %s", strconv.Quote(s.Value.Raw)))
		default:
			more(fmt.Sprintf("second opinion differs: %s", strconv.Quote(s.Value.Raw)))
		}
	}
	if s := rep.Extract; s != nil {
		line("↑ extract", stepText(s))
	}
	x := rep.Extractor
	ex := "extractor " + firstNonEmpty(x.Kind, "?")
	if x.Version != "" {
		ex += " (" + x.Version + ")"
	}
	if x.Model != "" {
		ex += ", model " + x.Model
	}
	if x.PromptVersion != "" {
		ex += ", prompt " + history.ShortID(x.PromptVersion)
	}
	more(ex)
	switch a := rep.Attempt; {
	case a != nil:
		t := fmt.Sprintf("accepted attempt %d of %d", a.Number, rep.Attempts)
		if a.ResponseID != "" {
			t += ", response " + a.ResponseID
		}
		if a.Model != "" {
			t += ", answered by " + a.Model
		}
		t += fmt.Sprintf(", tokens %d/%d", a.InputTokens, a.OutputTokens)
		if a.FinishReason != "" {
			t += ", finish " + a.FinishReason
		}
		if a.Retries > 0 {
			t += fmt.Sprintf(", %d retries", a.Retries)
		}
		more(t)
	case rep.Attempts > 0:
		more(fmt.Sprintf("none of the %d attempts was accepted", rep.Attempts))
	default:
		more("no model calls")
	}

	if len(rep.Versions) > 0 {
		first := true
		for _, k := range []string{"prompt", "schema", "model", "extractor", "second", "validator", "chunker", "parser", "code"} {
			if v, ok := rep.Versions[k]; ok {
				l := ""
				if first {
					l, first = "↑ versions", false
				}
				line(l, fmt.Sprintf("%-9s %s", k, v))
			}
		}
	}

	if s := rep.Chunk; s != nil {
		line("↑ chunk", stepText(s))
		for _, c := range rep.Chunks {
			more(fmt.Sprintf("chunk %s: page %d, lines %d-%d, %d tokens, holds the quote", c.ID, c.Page, c.FirstLine+1, c.LastLine+1, c.Tokens))
		}
	}
	if p := rep.Page; p != nil {
		label := fmt.Sprintf("↑ page %d", p.Number)
		for i, l := range p.Lines {
			if i > 0 {
				label = ""
			}
			line(label, fmt.Sprintf("line %d: %s", l.Index+1, strconv.Quote(l.Text)))
		}
	}
	if s := rep.Parse; s != nil {
		line("↑ parse", stepText(s))
	}
	line("↑ file", rep.Source.Path)
	now := map[string]string{"same": "the file still holds these bytes", "changed": "the file has changed since", "missing": "the file is no longer there", "unknown": "the file was not looked at"}[rep.Source.Now]
	more(fmt.Sprintf("sha256 %s (the document id); %s", rep.Source.SHA256, now))
	for i, n := range rep.Notes {
		l := ""
		if i == 0 {
			b.WriteByte('\n')
			l = "notes"
		}
		line(l, n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
