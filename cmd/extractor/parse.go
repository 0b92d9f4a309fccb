package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/extractor-dev/extractor/extract/ocr"
	"github.com/extractor-dev/extractor/extract/pdf"
	"github.com/extractor-dev/extractor/pipeline"
)

type parseFlags struct {
	json, summary bool
	isolate       bool
	childUses     int
	concurrency   int
	timeout       time.Duration
	maxPages      int
	maxBytes      int64
	passwordFile  string
	ocr, ocrLang  string
	ocrDPI        int
}

func (m *Main) parseCommand() *cobra.Command {
	var f parseFlags
	cmd := &cobra.Command{
		Use:   "parse FILE|DIR...",
		Short: "Parse documents (PDFs, scans, images, e-invoice XML) and print their text, JSON or a summary",
		Long: `Parse documents into pages of text in reading order: PDFs, with OCR for the pages
that have no text layer (--ocr auto), image files (PNG, JPEG, TIFF) through OCR,
and e-invoice XML files (CII, UBL). Directories are searched for *.pdf, *.xml,
*.png, *.jpg, *.jpeg, *.tif and *.tiff files; a file's kind is read from its
bytes, not its name. Each PDF is parsed in a child process with a hard time and
memory limit (--isolate), and OCR runs pdftoppm and tesseract as capped child
processes, so one hostile file cannot stop or crash the batch. A file that fails
prints a one-line reason on stderr; the exit code is 1 when any did.

The password for encrypted files is read from --password-file or the
EXTRACTOR_PDF_PASSWORD environment variable (never from the command line,
where other users could see it).`,
		Args: usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.json && f.summary {
				return usageError{errors.New("--json and --summary exclude each other")}
			}
			return m.runParse(cmd.Context(), args, f)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.json, "json", false, "print each document as one JSON object per line (pages, status, lines with positions)")
	fl.BoolVar(&f.summary, "summary", false, "print one summary line per document")
	fl.BoolVar(&f.isolate, "isolate", true, "parse each file in a child process with a hard deadline and memory cap")
	fl.IntVar(&f.childUses, "child-uses", 0, "with --isolate, retire a parser child after this many files (1: a child per file; for measures)")
	fl.MarkHidden("child-uses")
	fl.IntVar(&f.concurrency, "concurrency", runtime.NumCPU(), "files parsed at once")
	fl.DurationVar(&f.timeout, "timeout", pdf.DefaultTimeout, "time limit per file")
	fl.IntVar(&f.maxPages, "max-pages", pdf.DefaultMaxPages, "refuse documents with more pages")
	fl.Int64Var(&f.maxBytes, "max-bytes", pdf.DefaultMaxBytes, "refuse larger files")
	fl.StringVar(&f.passwordFile, "password-file", "", "file holding the password for encrypted PDFs")
	fl.StringVar(&f.ocr, "ocr", string(ocr.ModeAuto), `"auto" recognises pages without a text layer and image files, "force" every page, "off" none`)
	fl.StringVar(&f.ocrLang, "ocr-lang", ocr.DefaultLanguages, "OCR languages, tesseract codes joined by +")
	fl.IntVar(&f.ocrDPI, "ocr-dpi", ocr.DefaultDPI, "resolution PDF pages are rendered at for OCR")
	return cmd
}

type parseResult struct {
	path string
	doc  pipeline.Document
	err  error
	dur  time.Duration
}

func (m *Main) runParse(ctx context.Context, args []string, f parseFlags) error {
	files, err := documentFiles(args)
	if err != nil {
		return usageError{err}
	}
	opts := pdf.Options{MaxBytes: f.maxBytes, MaxPages: f.maxPages, Timeout: f.timeout, Password: m.Getenv("EXTRACTOR_PDF_PASSWORD")}
	if f.passwordFile != "" {
		b, err := os.ReadFile(f.passwordFile)
		if err != nil {
			return usageError{fmt.Errorf("reading password file: %w", err)}
		}
		opts.Password = strings.TrimRight(string(b), "\r\n")
	}
	parser, err := m.documentParser(settings{OCR: ocrConfig{Mode: f.ocr, Languages: f.ocrLang, DPI: f.ocrDPI}}, opts, f.isolate, f.concurrency)
	if err != nil {
		return err
	}
	if f.childUses > 0 {
		// A pool of its own whose children retire after childUses files:
		// 1 is the child per file the pool replaced (issue 17's measure).
		parser.pool = pdf.NewPool(pdf.PoolConfig{Command: m.ChildCommand, Size: f.concurrency, MaxUses: f.childUses})
		defer parser.pool.Close()
	}
	parse := func(ctx context.Context, path string) (pipeline.Document, error) {
		return parser.Parse(ctx, pipeline.FileInput(path))
	}

	var tw *tabwriter.Writer
	if f.summary {
		tw = tabwriter.NewWriter(m.Stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "FILE\tID\tPAGES\tTEXT PAGES\tLINES\tWORDS\tMS\tSTATUS")
	}
	enc := json.NewEncoder(m.Stdout)
	failed, pages := 0, 0
	start := time.Now()
	err = pipeline.Ordered(ctx, len(files), f.concurrency, m.Stop, func(ctx context.Context, i int) parseResult {
		t0 := time.Now()
		doc, err := parse(ctx, files[i])
		return parseResult{path: files[i], doc: doc, err: err, dur: time.Since(t0)}
	}, func(i int) parseResult {
		return parseResult{path: files[i], err: errors.New("not started: stopped")}
	}, func(_ int, r parseResult) error {
		pages += len(r.doc.Pages)
		if r.err != nil {
			failed++
			fmt.Fprintf(m.Stderr, "extractor: %s: %s\n", r.path, reason(r.err))
		}
		switch {
		case f.summary:
			status := "ok"
			if r.err != nil {
				status = "FAILED: " + reason(r.err)
			}
			id := r.doc.ID
			if len(id) > 12 {
				id = id[:12]
			}
			lines, words := counts(r.doc)
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\n", pipeline.Printable(r.path, 0), id, len(r.doc.Pages), r.doc.TextPages(), lines, words, r.dur.Milliseconds(), status)
		case r.err != nil:
		case f.json:
			return enc.Encode(r.doc)
		default:
			writeText(m.Stdout, r.doc, len(files) > 1)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if f.summary {
		tw.Flush()
		fmt.Fprintf(m.Stdout, "%d documents, %d failed, %d pages in %.2fs\n", len(files), failed, pages, time.Since(start).Seconds())
	}
	if failed > 0 {
		return errSomeFailed
	}
	return nil
}

// reason is the one-line explanation of a failed parse.
func reason(err error) string {
	// One line, and safe to print: messages may quote a damaged file.
	msg := pipeline.Printable(strings.ReplaceAll(err.Error(), "\n", " "), 500)
	if errors.Is(err, pdf.ErrNoText) && !strings.Contains(msg, "OCR") {
		msg += " (a scan: it needs OCR, --ocr auto)"
	}
	return msg
}

func counts(d pipeline.Document) (lines, words int) {
	for _, p := range d.Pages {
		lines += len(p.Lines)
		for _, l := range p.Lines {
			words += len(strings.Fields(l.Text))
		}
	}
	return lines, words
}

func writeText(w io.Writer, d pipeline.Document, header bool) {
	if header {
		fmt.Fprintf(w, "==> %s <==\n", d.Source)
	}
	for i, p := range d.Pages {
		if i > 0 {
			io.WriteString(w, "\f")
		}
		io.WriteString(w, p.Text())
		io.WriteString(w, "\n")
	}
}

// documentFiles expands the arguments: files as given, directories into
// the documents below them (see documentFile), sorted.
func documentFiles(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, a)
			continue
		}
		var found []string
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && documentFile(d.Name()) {
				found = append(found, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		sort.Strings(found)
		if len(found) == 0 {
			return nil, fmt.Errorf("%s: no documents (*.pdf, *.xml, *.png, *.jpg, *.jpeg, *.tif, *.tiff)", a)
		}
		out = append(out, found...)
	}
	return out, nil
}
