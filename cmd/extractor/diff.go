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
	"github.com/extractor-dev/extractor/pipeline"
)

func (m *Main) diffCommand() *cobra.Command {
	var state string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "diff RUN_A RUN_B",
		Short: "Compare two runs: changed values, and the inputs and versions that changed with them",
		Long: `Compare two runs document by document (matched by document id, the file's
sha256): status and review changes, fields whose value, grounding or confidence
changed, were added or removed, issues raised or gone, and documents found in
one run only; totals of both runs (ok, failed, needing review, issues). For each changed document, which
upstream step changed with it: a step version ("extract: prompt=ab12 → cd34"),
its inputs ("input changed (schema)"), its output, and whether it came from the
cache. The versions of the runs' manifests are compared too. A run is named
by its id or any unique part of it (its last six characters, say).`,
		Args: usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			h := m.history(state)
			var runs [2]*history.Run
			for i, arg := range args {
				var err error
				if runs[i], err = h.Open(cmd.Context(), arg); err != nil {
					return err
				}
			}
			d := history.Diff(runs[0], runs[1])
			if asJSON {
				b, err := json.MarshalIndent(d, "", "  ")
				if err != nil {
					return err
				}
				_, err = m.Stdout.Write(append(b, '\n'))
				return err
			}
			return writeDiff(m.Stdout, d)
		},
	}
	cmd.Flags().StringVar(&state, "state", "", "state directory (default .extractor, env EXTRACTOR_STATE)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the diff as JSON")
	return cmd
}

func writeDiff(w io.Writer, d *history.RunDiff) error {
	var b strings.Builder
	fmt.Fprintf(&b, "diff %s → %s\n", d.A, d.B)
	if len(d.Versions) > 0 {
		b.WriteString("\nversions:\n")
		for _, v := range d.Versions {
			fmt.Fprintf(&b, "  %-10s %s\n", v.Key, v.Delta)
		}
	}
	for _, dd := range d.Documents {
		fmt.Fprintf(&b, "\n%s (%s)\n", filepath.Base(dd.File), history.ShortID(dd.DocumentID))
		if dd.OldStatus != dd.NewStatus {
			fmt.Fprintf(&b, "  status: %s → %s\n", dd.OldStatus, dd.NewStatus)
		}
		if dd.OldNeedsReview != dd.NewNeedsReview {
			fmt.Fprintf(&b, "  review: %s → %s\n", reviewWord(dd.OldNeedsReview), reviewWord(dd.NewNeedsReview))
		}
		for _, f := range dd.Fields {
			g := func(x bool) string {
				if x {
					return ""
				}
				return " (not grounded)"
			}
			switch f.Kind {
			case "added":
				fmt.Fprintf(&b, "  %s: added %s%s\n", f.Field, quoteValue(f), g(f.NewGrounded))
			case "removed":
				fmt.Fprintf(&b, "  %s: removed (was %s)\n", f.Field, quoteValue(f))
			case "grounded":
				fmt.Fprintf(&b, "  %s: %s, %s → %s\n", f.Field, strconv.Quote(f.New), groundedWord(f.OldGrounded), groundedWord(f.NewGrounded))
			case "confidence":
				fmt.Fprintf(&b, "  %s: %s, confidence %.2f → %.2f\n", f.Field, strconv.Quote(f.New), f.OldConfidence, f.NewConfidence)
			default:
				line := fmt.Sprintf("  %s: %s → %s", f.Field, strconv.Quote(f.Old), strconv.Quote(f.New))
				if f.OldGrounded != f.NewGrounded {
					line += fmt.Sprintf(" (%s → %s)", groundedWord(f.OldGrounded), groundedWord(f.NewGrounded))
				}
				b.WriteString(line + "\n")
			}
		}
		for _, is := range dd.IssuesAdded {
			fmt.Fprintf(&b, "  + issue %s\n", issueText(is))
		}
		for _, is := range dd.IssuesRemoved {
			fmt.Fprintf(&b, "  - issue %s\n", issueText(is))
		}
		if len(dd.Steps) == 0 {
			b.WriteString("  upstream: no step changed (same versions and inputs)\n")
		} else {
			b.WriteString("  upstream:\n")
			for _, s := range dd.Steps {
				fmt.Fprintf(&b, "    %s\n", s)
			}
		}
	}
	for _, o := range []struct {
		label string
		refs  []history.DocumentRef
		run   string
	}{{"only in A", d.OnlyA, d.A}, {"only in B", d.OnlyB, d.B}} {
		if len(o.refs) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s (%s): %d documents\n", o.label, o.run, len(o.refs))
		for _, r := range o.refs {
			fmt.Fprintf(&b, "  %s (%s) %s\n", filepath.Base(r.File), history.ShortID(r.DocumentID), r.Status)
		}
	}
	for _, g := range d.Upstream {
		fmt.Fprintf(&b, "\n%d documents with the same results had upstream changes:\n", g.Documents)
		for _, c := range g.Changes {
			fmt.Fprintf(&b, "  %s\n", c)
		}
	}
	if len(d.Versions) == 0 && d.Changed == 0 && len(d.OnlyA) == 0 && len(d.OnlyB) == 0 && len(d.Upstream) == 0 {
		fmt.Fprintf(&b, "\nnothing changed: same documents, values, issues, inputs and versions (run B took %d of %d steps from the cache)\n",
			d.CacheHitsB, d.StepsB)
	}
	ta, tb := d.Totals[0], d.Totals[1]
	fmt.Fprintf(&b, "\n%d documents compared, %d changed, %d fields changed\n", d.Compared, d.Changed, d.FieldsChanged)
	fmt.Fprintf(&b, "ok %d → %d, failed %d → %d, need review %d → %d, issues %d → %d (failing %d → %d)\n",
		ta.OK, tb.OK, ta.Failed, tb.Failed, ta.NeedsReview, tb.NeedsReview, ta.Issues, tb.Issues, ta.Failing, tb.Failing)
	_, err := io.WriteString(w, b.String())
	return err
}

func reviewWord(r bool) string {
	if r {
		return "needs review"
	}
	return "no review needed"
}

func issueText(is pipeline.Issue) string {
	t := string(is.Severity) + " " + is.Code
	if is.Field != "" {
		t += " on " + is.Field
	}
	return t + ": " + is.Message
}

// quoteValue quotes the value of an added or removed field; an element's
// summary (name=value ...) is shown as it is.
func quoteValue(f history.FieldChange) string {
	v := f.New
	if f.Kind == "removed" {
		v = f.Old
	}
	if strings.HasSuffix(f.Field, "]") {
		return v
	}
	return strconv.Quote(v)
}

func groundedWord(g bool) string {
	if g {
		return "grounded"
	}
	return "not grounded"
}
