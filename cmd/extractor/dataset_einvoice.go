package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/extractor-dev/extractor/evals"
	"github.com/extractor-dev/extractor/extract"
	"github.com/extractor-dev/extractor/extract/lexicon"
	"github.com/extractor-dev/extractor/extract/pdf"
	"github.com/extractor-dev/extractor/pipeline"
)

func (m *Main) fromEInvoicesCommand() *cobra.Command {
	var f runFlags
	var out string
	var link bool
	cmd := &cobra.Command{
		Use:   "from-einvoices DIR... --out DATASET",
		Short: "Write a dataset labelled by the e-invoices that hybrid PDFs carry",
		Long: `Read every PDF under DIR that carries an e-invoice (Factur-X, ZUGFeRD,
XRechnung; the same reading as 'extractor run --einvoice only'), and write
DATASET/dataset.jsonl and DATASET/files/einvoice/: one row per such PDF,
labelled with the XML's values that the page prints (found on their page and
quoted; values the XML carries but the page does not print are left out, a
text extractor cannot be expected to read them). label_quality is verified
when the invoice number, issue date and total are all printed as the XML has
them, partial when some are not, mismatch (no labels; evals exclude the row)
when the page prints another value than the XML, unlabelled when it prints
none. The group is the vendor, so evals count a vendor's layout once.
'extractor eval --dataset DATASET --einvoice off' then measures the text
extractors on the layouts the team receives. PDFs without a readable
e-invoice, and files that are not PDFs, are left out and counted.`,
		Args: usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usageError{errors.New("give --out DATASET")}
			}
			return m.runFromEInvoices(cmd.Context(), args, out, link, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&out, "out", "", "the dataset's folder (made if missing)")
	fl.BoolVar(&link, "link", false, "link the PDFs instead of copying them")
	fl.StringVar(&f.configPath, "config", "", "YAML config file")
	fl.StringVar(&f.state, "state", "", "state directory: step cache and run records (default .extractor, env EXTRACTOR_STATE)")
	fl.IntVar(&f.concurrency, "concurrency", runtime.NumCPU(), "documents processed at once")
	f.isolate, f.timeout, f.noStore, f.extractor = true, pdf.DefaultTimeout, true, "rules"
	return cmd
}

// runFromEInvoices reads the PDFs under args with the e-invoice extractor
// only (the rules reading the page as the cross-check) and writes the
// dataset of those that carry one.
func (m *Main) runFromEInvoices(ctx context.Context, args []string, out string, link bool, f runFlags) error {
	cfg, err := loadConfig(f.configPath)
	if err != nil {
		return usageError{err}
	}
	all, err := documentFiles(args)
	if err != nil {
		return usageError{err}
	}
	var files []string
	skipped := map[string]int{}
	for _, p := range all {
		if strings.EqualFold(filepath.Ext(p), ".pdf") {
			abs, _ := filepath.Abs(p)
			files = append(files, abs)
		} else {
			skipped["not a PDF (an XML e-invoice prints no page to label)"]++
		}
	}
	s := m.settings(f, cfg)
	s.Schema, s.Extractor, s.EInvoice, s.Store = "invoice", "rules", string(extract.EInvoiceOnly), false
	s.OCR.Mode = "off" // a hybrid PDF is born digital
	ps, err := m.setupPipeline(ctx, s, files, nil, m.stateDir(f.state), "", f.concurrency)
	if err != nil {
		return err
	}
	dir := filepath.Join(out, "files", "einvoice")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		ps.finish("failed")
		return err
	}
	var rows []evals.Row
	qualities := map[string]int{}
	prog := m.newProgress(len(files))
	b := ps.batch(f.concurrency, m.Stop)
	err = b.Process(ctx, inputsOf(files), func(i int, r pipeline.Result, _ pipeline.ResultLine) error {
		prog.done(r, b.Counts, b.Spent)
		switch {
		case errors.Is(r.Err, extract.ErrNoEInvoiceOnly):
			skipped["no readable e-invoice"]++
			return nil
		case r.Err != nil:
			skipped["failed: "+reason(r.Err)]++
			return nil
		case r.Extraction == nil || r.Extraction.Source == nil:
			skipped["no readable e-invoice"]++
			return nil
		}
		row, err := einvoiceRow(files[i], r, dir, link)
		if err != nil {
			skipped[err.Error()]++
			return nil
		}
		qualities[row.LabelQuality]++
		rows = append(rows, row)
		return nil
	})
	prog.finish()
	if ferr := ps.finish("finished"); err == nil {
		err = ferr
	}
	if err != nil {
		return err
	}
	if err := evals.WriteDataset(out, rows); err != nil {
		return err
	}
	fmt.Fprintf(m.Stderr, "extractor: %d rows written to %s (%s)\n", len(rows), filepath.Join(out, "dataset.jsonl"), countsLine(qualities))
	for _, why := range slices.Sorted(maps.Keys(skipped)) {
		fmt.Fprintf(m.Stderr, "extractor: %d left out: %s\n", skipped[why], why)
	}
	return nil
}

// einvoiceRow is the dataset row of a document read from its e-invoice,
// its file copied (or linked) into dir.
func einvoiceRow(path string, r pipeline.Result, dir string, link bool) (evals.Row, error) {
	x := *r.Extraction
	label, quality, notes := evals.EInvoiceLabel(x)
	data, err := os.ReadFile(path)
	if err != nil {
		return evals.Row{}, errors.New("the file cannot be read again")
	}
	sum := sha256.Sum256(data)
	id := hex.EncodeToString(sum[:])
	name := id[:16] + ".pdf"
	dst := filepath.Join(dir, name)
	os.Remove(dst)
	if link {
		err = os.Symlink(path, dst)
	} else {
		err = os.WriteFile(dst, data, 0o644)
	}
	if err != nil {
		return evals.Row{}, err
	}
	group := "doc:" + id[:12]
	if v := slug(lexicon.NameKey(x.Fields["vendor_name"].Value)); v != "" {
		group = "vendor:" + v
	}
	src := x.Source
	notes = fmt.Sprintf("%s (%s %s, %s)", notes, src.Syntax, firstNonEmpty(src.Profile, "no known profile"), src.Attachment)
	return evals.Row{ID: "einv-" + id[:16], File: "files/einvoice/" + name, Group: group,
		Source: evals.Source{Repo: "local/extractor-einvoice", Path: path, License: "proprietary"},
		Schema: "invoice", Expected: label, LabelQuality: quality, Notes: notes}, nil
}

// countsLine is "a 3, b 1" in key order.
func countsLine(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
