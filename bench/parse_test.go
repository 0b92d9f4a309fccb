package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/extractor-dev/extractor/extract/pdf"
	"github.com/extractor-dev/extractor/internal/testenv"
)

// corpusFiles lists every PDF of the shared corpus's public set (invoices)
// and longdocs set, with their set's name.
func corpusFiles(tb testing.TB) (files []string, set map[string]string) {
	dir := testenv.CorpusDir(tb)
	set = map[string]string{}
	for _, s := range []string{"public", "longdocs"} {
		var found []string
		filepath.WalkDir(filepath.Join(dir, s), func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".pdf") {
				found = append(found, p)
			}
			return nil
		})
		sort.Strings(found)
		for _, f := range found {
			set[f] = s
		}
		files = append(files, found...)
	}
	return files, set
}

func pdftotext(tb testing.TB) string {
	p, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv("CI") != "" || os.Getenv("EXTRACTOR_REQUIRE_DB") != "" {
			tb.Fatal("pdftotext not found: `make test` installs poppler-utils")
		}
		tb.Skip("pdftotext not found (apt install poppler-utils)")
	}
	return p
}

type fileResult struct {
	path, set string
	pages     int
	fid       Fidelity
	ours, ref time.Duration
	refPages  []string
	err       error
	textLayer bool
}

// measure parses one file with both tools; timing covers what a user would
// run: pdftotext as a process, our parser in process.
func measure(tb testing.TB, bin, path string) fileResult {
	r := fileResult{path: path}
	t0 := time.Now()
	out, err := exec.Command(bin, "-layout", path, "-").Output()
	r.ref = time.Since(t0)
	if err != nil {
		tb.Fatalf("pdftotext %s: %v", path, err)
	}
	r.refPages = strings.Split(strings.TrimSuffix(string(out), "\f"), "\f")
	r.textLayer = len(strings.Fields(string(out))) > 0
	t1 := time.Now()
	doc, err := pdf.ParseFile(context.Background(), path, pdf.Options{})
	r.ours = time.Since(t1)
	r.err = err
	var got []string
	for _, p := range doc.Pages {
		got = append(got, p.Text())
	}
	r.pages = len(doc.Pages)
	r.fid = Compare(r.refPages, got)
	return r
}

// BenchmarkParseVsPdftotext parses every file of the shared corpus's public
// and longdocs sets with our parser and with `pdftotext -layout` in the
// same run, prints a per-file table of word recall, word precision,
// reading-order agreement and time, and reports the medians and the
// pages-per-second of both on the long documents:
//
//	go test ./bench -run '^$' -bench ParseVsPdftotext -benchtime 1x
func BenchmarkParseVsPdftotext(b *testing.B) {
	bin := pdftotext(b)
	files, set := corpusFiles(b)
	var results []fileResult
	for i := 0; i < b.N; i++ {
		results = results[:0]
		for _, f := range files {
			r := measure(b, bin, f)
			r.set = set[f]
			results = append(results, r)
		}
	}
	b.StopTimer()

	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "set\tfile\tpages\trecall\tprecision\torder\tours ms\tpdftotext ms\t")
	var recall, precision, order []float64
	var longPages int
	var longOurs, longRef time.Duration
	for _, r := range results {
		flag := ""
		if !r.textLayer {
			flag = " (no text layer)"
		}
		fmt.Fprintf(tw, "%s\t%s%s\t%d\t%.3f\t%.3f\t%.3f\t%.1f\t%.1f\t\n", r.set, filepath.Base(r.path), flag, r.pages,
			r.fid.Recall, r.fid.Precision, r.fid.Order, ms(r.ours), ms(r.ref))
		if r.textLayer {
			recall = append(recall, r.fid.Recall)
			precision = append(precision, r.fid.Precision)
			order = append(order, r.fid.Order)
		}
		if r.set == "longdocs" {
			longPages += r.pages
			longOurs += r.ours
			longRef += r.ref
		}
	}
	tw.Flush()
	oursPPS := float64(longPages) / longOurs.Seconds()
	refPPS := float64(longPages) / longRef.Seconds()
	fmt.Printf("files %d  median recall %.3f  median precision %.3f  median order %.3f  min recall %.3f  min precision %.3f\n",
		len(recall), Median(recall), Median(precision), Median(order), minOf(recall), minOf(precision))
	fmt.Printf("longdocs: %d pages  ours %.0f pages/s  pdftotext %.0f pages/s  ratio %.2f\n", longPages, oursPPS, refPPS, oursPPS/refPPS)
	b.ReportMetric(Median(recall), "median-recall")
	b.ReportMetric(Median(precision), "median-precision")
	b.ReportMetric(Median(order), "median-order")
	b.ReportMetric(oursPPS, "pages/s")
	b.ReportMetric(refPPS, "pdftotext-pages/s")
}

// BenchmarkParseLongdocs measures our parser alone on each long document,
// in the usual Go benchmark form (for benchstat comparisons).
func BenchmarkParseLongdocs(b *testing.B) {
	dir := filepath.Join(testenv.CorpusDir(b), "longdocs")
	files, _ := filepath.Glob(filepath.Join(dir, "*.pdf"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(strings.TrimSuffix(filepath.Base(f), ".pdf"), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			pages := 0
			for i := 0; i < b.N; i++ {
				doc, err := pdf.ParseBytes(context.Background(), data, pdf.Options{})
				if err != nil {
					b.Fatal(err)
				}
				pages = len(doc.Pages)
			}
			b.ReportMetric(float64(pages*b.N)/b.Elapsed().Seconds(), "pages/s")
		})
	}
}

// TestParseFidelity guards the parser's text against regressions: on every
// corpus file with a text layer, words and their order must match
// pdftotext -layout closely (targets: median recall and precision >= 0.98,
// every file >= 0.95, median reading order >= 0.95). No timing here: speed
// is the benchmark's business.
func TestParseFidelity(t *testing.T) {
	if testing.Short() {
		t.Skip("parse fidelity over the whole corpus (about 15 s, a minute on a busy machine): skipped with -short")
	}
	bin := pdftotext(t)
	files, _ := corpusFiles(t)
	var recall, precision, order []float64
	for _, f := range files {
		r := measure(t, bin, f)
		if !r.textLayer {
			continue
		}
		recall = append(recall, r.fid.Recall)
		precision = append(precision, r.fid.Precision)
		order = append(order, r.fid.Order)
		if r.err != nil {
			t.Errorf("%s: %v", f, r.err)
		}
		if r.fid.Recall < 0.95 || r.fid.Precision < 0.95 {
			t.Errorf("%s: recall %.3f precision %.3f, want >= 0.95", filepath.Base(f), r.fid.Recall, r.fid.Precision)
		}
	}
	if m := Median(recall); m < 0.98 {
		t.Errorf("median recall %.3f < 0.98", m)
	}
	if m := Median(precision); m < 0.98 {
		t.Errorf("median precision %.3f < 0.98", m)
	}
	if m := Median(order); m < 0.95 {
		t.Errorf("median reading order %.3f < 0.95", m)
	}
	t.Logf("%d files: median recall %.3f precision %.3f order %.3f", len(recall), Median(recall), Median(precision), Median(order))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func minOf(xs []float64) float64 {
	m := 1.0
	for _, x := range xs {
		m = min(m, x)
	}
	return m
}
