package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/extractor-dev/extractor/evals"
	"github.com/extractor-dev/extractor/pipeline"
	"github.com/extractor-dev/extractor/server"
	"github.com/extractor-dev/extractor/store"
)

// The review loop's commands: exports of approved documents, labelled
// datasets made of them, and the production metrics.

// sinceFlag reads --since: a date or an RFC 3339 time.
func sinceFlag(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339, time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, usageError{fmt.Errorf("--since %q: want a date (2026-01-31) or an RFC 3339 time (2026-01-31T08:00:00Z)", s)}
}

// runExportApproved is 'extractor export --approved': every approved
// document (each by its latest decision) as one row, with the values it was
// approved with: its latest extraction and the corrections people made, in
// order. The same as GET /v1/exports/approved.
func (m *Main) runExportApproved(ctx context.Context, configPath, since, schema, format, out string) error {
	if format == "" {
		format = "csv"
	}
	if format != "csv" && format != "jsonl" {
		return usageError{fmt.Errorf("-o %q: want csv or jsonl", format)}
	}
	t, err := sinceFlag(since)
	if err != nil {
		return err
	}
	return m.withStore(ctx, configPath, func(ctx context.Context, st *store.Store) error {
		cfg, _ := loadConfig(configPath)
		w := m.Stdout
		if out != "" && out != "-" {
			f, err := os.Create(out)
			if err != nil {
				return err
			}
			defer f.Close()
			w = f
		}
		n, err := exportApproved(ctx, st, schemaLookup(cfg.Schema), format, t, schema, w)
		if err != nil {
			return err
		}
		fmt.Fprintf(m.Stderr, "extractor: %d approved documents exported\n", n)
		return nil
	})
}

func (m *Main) datasetCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dataset",
		Short: "Make labelled datasets from what people reviewed",
		Args:  usageArgs(cobra.NoArgs),
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	var configPath, out, since, schema string
	var reviewed, link bool
	export := &cobra.Command{
		Use:   "export --reviewed --out DIR",
		Short: "Write the approved documents as a dataset in the shared corpus format",
		Long: `Write DIR/dataset.jsonl and DIR/files/review/: one labelled row per approved
document of the invoice or nda schema, labelled with the values people approved
(label_quality: verified), and its file: the uploaded bytes from the database,
or the file the document was read from (copied, or linked with --link), when
its bytes still have the document's SHA-256. 'extractor eval --dataset DIR'
then measures any extractor or prompt on the documents the team receives.
Documents of other schemas, with no approved value, or whose file is gone are
left out, and counted.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !reviewed {
				return usageError{errors.New("only reviewed documents are exported: give --reviewed")}
			}
			if out == "" {
				return usageError{errors.New("give --out DIR")}
			}
			t, err := sinceFlag(since)
			if err != nil {
				return err
			}
			return m.withStore(cmd.Context(), configPath, func(ctx context.Context, st *store.Store) error {
				return m.exportDataset(ctx, st, out, t, schema, link)
			})
		},
	}
	fl := export.Flags()
	fl.BoolVar(&reviewed, "reviewed", false, "the approved documents (required)")
	fl.StringVar(&out, "out", "", "the dataset's folder (made if missing)")
	fl.StringVar(&since, "since", "", "only documents approved at or after this date or time")
	fl.StringVar(&schema, "schema", "", "only documents of this schema")
	fl.BoolVar(&link, "link", false, "link the documents' local files instead of copying them")
	fl.StringVar(&configPath, "config", "", "YAML config file (database_url)")
	cmd.AddCommand(export, m.fromEInvoicesCommand())
	return cmd
}

var slugRe = regexp.MustCompile(`[^a-z0-9]+`)

// slug is a dataset id's piece of s: [a-z0-9-], at most 40 characters.
func slug(s string) string {
	s = strings.Trim(slugRe.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if len(s) > 40 {
		s = strings.TrimRight(s[:40], "-")
	}
	return s
}

// exportDataset writes the approved documents as a dataset.
func (m *Main) exportDataset(ctx context.Context, st *store.Store, dir string, since time.Time, schema string, link bool) error {
	approved, err := st.ApprovedDocuments(ctx, since, schema)
	if err != nil {
		return err
	}
	files := filepath.Join(dir, "files", "review")
	if err := os.MkdirAll(files, 0o755); err != nil {
		return err
	}
	var rows []evals.Row
	skipped := map[string]int{}
	for _, a := range approved {
		label, ok := evals.LabelOf(a.Schema, a.Values)
		switch {
		case !ok:
			skipped[fmt.Sprintf("schema %s has no labels in the dataset format", a.Schema)]++
			continue
		case len(label) == 0:
			skipped["no approved value"]++
			continue
		}
		name, err := m.datasetFile(ctx, st, a, files, link)
		if err != nil {
			skipped[err.Error()]++
			continue
		}
		group := "doc:" + a.DocumentID[:min(12, len(a.DocumentID))]
		if v, _ := label["vendor_name"].(string); slug(v) != "" {
			group = "vendor:" + slug(v)
		}
		rows = append(rows, evals.Row{ID: "doc-" + a.DocumentID[:16], File: "files/review/" + name, Group: group,
			Source: evals.Source{Repo: "local/extractor-review", Path: a.File, License: "proprietary"},
			Schema: a.Schema, Expected: label, LabelQuality: "verified",
			Notes: fmt.Sprintf("approved by %s at %s (version %d): labels are the approved values", a.ApprovedBy, a.ApprovedAt.UTC().Format(time.RFC3339), a.Version)})
	}
	if err := evals.WriteDataset(dir, rows); err != nil {
		return err
	}
	fmt.Fprintf(m.Stderr, "extractor: %d approved documents written to %s\n", len(rows), filepath.Join(dir, "dataset.jsonl"))
	for why, n := range skipped {
		fmt.Fprintf(m.Stderr, "extractor: %d left out: %s\n", n, why)
	}
	return nil
}

// datasetFile puts an approved document's file in the dataset's files
// folder and returns its name there: the uploaded bytes, or the local
// file it was read from when it still has the document's SHA-256.
func (m *Main) datasetFile(ctx context.Context, st *store.Store, a store.Approved, files string, link bool) (string, error) {
	id := a.DocumentID
	if len(id) != 64 {
		return "", errors.New("the file could not be read (no document id)")
	}
	ext := strings.ToLower(filepath.Ext(strings.TrimPrefix(a.File, "upload:")))
	if ext == "" || len(ext) > 6 {
		ext = ".pdf"
	}
	name := id[:16] + ext
	dst := filepath.Join(files, name)
	if _, data, err := st.Upload(ctx, id); err == nil {
		return name, os.WriteFile(dst, data, 0o644)
	} else if !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	d, err := st.Document(ctx, id)
	if err != nil {
		return "", errors.New("the document's file is not in the database")
	}
	src := d.Source
	data, err := os.ReadFile(src)
	if err != nil {
		return "", errors.New("the document's file is neither uploaded nor where it was read")
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != id {
		return "", errors.New("the document's file has changed since it was read")
	}
	if link {
		abs, err := filepath.Abs(src)
		if err != nil {
			return "", err
		}
		os.Remove(dst)
		return name, os.Symlink(abs, dst)
	}
	return name, os.WriteFile(dst, data, 0o644)
}

func (m *Main) metricsCommand() *cobra.Command {
	var configPath, since, schema string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "metrics",
		Short: "The review loop's business metrics from production",
		Long: `Measure what people decided (each decided document's latest decision): the
touchless rate (documents approved with no correction), how often each field
was corrected in approved documents, the time from a document's entry into
the review queue to its decision, the same per ISO week, and the queue now.
The same as GET /v1/review/metrics.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := sinceFlag(since)
			if err != nil {
				return err
			}
			return m.withStore(cmd.Context(), configPath, func(ctx context.Context, st *store.Store) error {
				cfg, _ := loadConfig(configPath)
				r := reviewLoop{st: st, schemas: schemaLookup(cfg.Schema)}
				mt, err := r.Metrics(ctx, server.MetricsQuery{Since: t, Schema: schema})
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSONLine(m.Stdout, mt)
				}
				m.printMetrics(mt)
				return nil
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&since, "since", "", "only decisions made at or after this date or time")
	fl.StringVar(&schema, "schema", "", "only documents of this schema")
	fl.BoolVar(&asJSON, "json", false, "print the metrics as JSON")
	fl.StringVar(&configPath, "config", "", "YAML config file (database_url)")
	return cmd
}

func pct(r float64) string { return fmt.Sprintf("%.1f%%", 100*r) }

func secs(s float64) string {
	return (time.Duration(s * float64(time.Second))).Round(time.Second).String()
}

func (m *Main) printMetrics(mt server.ReviewMetrics) {
	w := m.Stdout
	fmt.Fprintf(w, "decided %d (approved %d, rejected %d); touchless: %d of %d approved (%s)\n",
		mt.Decided, mt.Approved, mt.Rejected, mt.Touchless, mt.Approved, pct(mt.TouchlessRate))
	if tr := mt.TimeToReview; tr.N > 0 {
		fmt.Fprintf(w, "time to review (queue to decision): p50 %s, p90 %s, mean %s (n=%d)\n", secs(tr.P50), secs(tr.P90), secs(tr.Mean), tr.N)
	}
	var parts []string
	for _, r := range pipeline.ReviewReasons {
		parts = append(parts, fmt.Sprintf("%s %d", r, mt.PendingByReason[r]))
	}
	fmt.Fprintf(w, "in the review queue: %d (%s)\n", mt.Pending, strings.Join(parts, ", "))
	if len(mt.Fields) > 0 {
		fmt.Fprintln(w, "corrected in approved documents:")
		width := 0
		for _, f := range mt.Fields {
			width = max(width, len(f.Field))
		}
		for _, f := range mt.Fields {
			fmt.Fprintf(w, "  %-*s  %d/%d  %s\n", width, f.Field, f.Corrected, f.Approved, pct(f.Rate))
		}
	}
	if len(mt.Weeks) > 0 {
		fmt.Fprintln(w, "per week:")
		for _, wk := range mt.Weeks {
			fmt.Fprintf(w, "  %s (from %s)  decided %d  approved %d  touchless %s  corrections %d  time to review p50 %s\n",
				wk.Week, wk.Start, wk.Decided, wk.Approved, pct(wk.TouchlessRate), wk.Corrections, secs(wk.TimeToReview.P50))
		}
	}
}
