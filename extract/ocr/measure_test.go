package ocr

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/extractor-dev/extractor/extract/pdf"
	"github.com/extractor-dev/extractor/internal/synth"
	"github.com/extractor-dev/extractor/internal/testenv"
	"github.com/extractor-dev/extractor/pipeline"
)

// Measurements for the closing note, not tests: they run only when asked.
//
//	go test ./internal/synth -run TestGenerateScannedSet -scan-out DIR -scan-count 200
//	OCR_MEASURE=DIR go test ./extract/ocr -run TestMeasureScans -v -timeout 5h
//	OCR_MEASURE_LONG=1 go test ./extract/ocr -run TestMeasureLongScan -v -timeout 1h
//	OCR_MEASURE_CORPUS=1 go test ./extract/ocr -run TestMeasureCorpus -v -timeout 1h
//
// OCR_MEASURE_DPI, OCR_MEASURE_LANG, OCR_MEASURE_WORKERS,
// OCR_MEASURE_FORMAT (pdf, png, jpg or tif only) and OCR_MEASURE_LIMIT (the
// first N documents) vary the settings;
// OCR_MEASURE_OUT names a JSON file for the per-document results.

func measureEnv(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// childLog collects ChildStats.
type childLog struct {
	mu  sync.Mutex
	all []ChildStats
}

func (c *childLog) add(s ChildStats) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.all = append(c.all, s)
}

func (c *childLog) take() []ChildStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.all
	c.all = nil
	return out
}

func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1 // nearest rank
	return s[min(max(i, 0), len(s)-1)]
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// alnum keeps the words with a letter or digit: separators (·, ===) that
// the born-digital text has and a scan hardly shows are left out.
func alnum(s string) string {
	var out []string
	for _, w := range strings.Fields(s) {
		if strings.IndexFunc(w, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) >= 0 {
			out = append(out, w)
		}
	}
	return strings.Join(out, " ")
}

type measuredDoc struct {
	ID, Format, Profile    string
	Pages                  int
	Recall, RecallAlnum    float64
	Confidence             float64
	KeysFound, Keys        int
	Rotations              []int
	SecondsPerPage         []float64 // wall of the page's children
	CPUPerPage             []float64
	MaxRSSTesseract        int64
	MaxRSSPdftoppm         int64
	Error                  string
	WallDocument, CPUTotal float64
}

var profileRe = regexp.MustCompile(`dpi, (scanner|phone|sideways):`)

func TestMeasureScans(t *testing.T) {
	dir := os.Getenv("OCR_MEASURE")
	if dir == "" {
		t.Skip("OCR_MEASURE is not set")
	}
	var log childLog
	opts := Options{Workers: measureEnv("OCR_MEASURE_WORKERS", 2), DPI: measureEnv("OCR_MEASURE_DPI", 300),
		Languages: os.Getenv("OCR_MEASURE_LANG"), OnChild: log.add}
	e := testEngine(t, opts)
	t.Logf("engine %s, workers %d, GOMAXPROCS %d", e.Version(), opts.Workers, runtime.GOMAXPROCS(0))
	f, err := os.Open(filepath.Join(dir, "dataset.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []scanRow
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r scanRow
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	if ext := os.Getenv("OCR_MEASURE_FORMAT"); ext != "" {
		rows = slices.DeleteFunc(rows, func(r scanRow) bool { return filepath.Ext(r.File) != "."+ext })
	}
	if n := measureEnv("OCR_MEASURE_LIMIT", len(rows)); n < len(rows) {
		rows = rows[:n]
	}
	log.take()
	var docs []measuredDoc
	start := time.Now()
	for _, r := range rows {
		m := twinRe.FindStringSubmatch(r.Notes)
		twin, err := pdf.ParseFile(context.Background(), filepath.Join(dir, "twins", "files", "synth", "synth-"+m[1]+".pdf"), pdf.Options{})
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(dir, r.File))
		if err != nil {
			t.Fatal(err)
		}
		md := measuredDoc{ID: r.ID, Format: strings.TrimPrefix(filepath.Ext(r.File), "."), Pages: len(twin.Pages)}
		if p := profileRe.FindStringSubmatch(r.Notes); p != nil {
			md.Profile = p[1]
		}
		t0 := time.Now()
		doc, err := ocrFile(t, e, data)
		md.WallDocument = time.Since(t0).Seconds()
		if err != nil {
			md.Error = err.Error()
		}
		md.Recall = wordRecall(twin.Text(), doc.Text())
		md.RecallAlnum = wordRecall(alnum(twin.Text()), alnum(doc.Text()))
		var confs []float64
		for _, p := range doc.Pages {
			if p.OCR != nil {
				confs = append(confs, p.OCR.Confidence)
				md.Rotations = append(md.Rotations, p.OCR.Rotation)
			}
		}
		if len(confs) > 0 {
			md.Confidence = mean(confs)
		}
		flat := strings.Join(strings.Fields(doc.Text()), "")
		for _, v := range []string{r.Expected.InvoiceNumber, r.Expected.IBAN, r.Expected.VendorVATID} {
			if v != "" {
				md.Keys++
				if strings.Contains(flat, v) {
					md.KeysFound++
				}
			}
		}
		perPage := map[int][2]float64{}
		for _, c := range log.take() {
			v := perPage[c.Page]
			v[0] += c.Wall.Seconds()
			v[1] += c.CPU.Seconds()
			perPage[c.Page] = v
			md.CPUTotal += c.CPU.Seconds()
			switch c.Program {
			case "tesseract":
				md.MaxRSSTesseract = max(md.MaxRSSTesseract, c.MaxRSS)
			case "pdftoppm":
				md.MaxRSSPdftoppm = max(md.MaxRSSPdftoppm, c.MaxRSS)
			}
		}
		for _, v := range perPage {
			md.SecondsPerPage = append(md.SecondsPerPage, v[0])
			md.CPUPerPage = append(md.CPUPerPage, v[1])
		}
		docs = append(docs, md)
		t.Logf("%s %s %-8s pages %d recall %.3f (alnum %.3f) conf %.3f keys %d/%d rot %v wall %.1fs %s",
			md.ID, md.Format, md.Profile, md.Pages, md.Recall, md.RecallAlnum, md.Confidence, md.KeysFound, md.Keys, md.Rotations, md.WallDocument, md.Error)
	}
	total := time.Since(start)
	summarize(t, docs, total)
	if out := os.Getenv("OCR_MEASURE_OUT"); out != "" {
		b, _ := json.MarshalIndent(docs, "", " ")
		if err := os.WriteFile(out, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func summarize(t *testing.T, docs []measuredDoc, total time.Duration) {
	t.Helper()
	group := func(name string, keep func(measuredDoc) bool) {
		var rec, recA, conf, wall, cpu []float64
		var rssT, rssP []float64
		pages, keys, found, failed := 0, 0, 0, 0
		for _, d := range docs {
			if !keep(d) {
				continue
			}
			rec = append(rec, d.Recall)
			recA = append(recA, d.RecallAlnum)
			conf = append(conf, d.Confidence)
			wall = append(wall, d.SecondsPerPage...)
			cpu = append(cpu, d.CPUPerPage...)
			pages += d.Pages
			keys += d.Keys
			found += d.KeysFound
			if d.Error != "" {
				failed++
			}
			if d.MaxRSSTesseract > 0 {
				rssT = append(rssT, float64(d.MaxRSSTesseract)/(1<<20))
			}
			if d.MaxRSSPdftoppm > 0 {
				rssP = append(rssP, float64(d.MaxRSSPdftoppm)/(1<<20))
			}
		}
		if len(rec) == 0 {
			return
		}
		t.Logf("%-9s docs %3d pages %3d failed %d | word recall mean %.3f p50 %.3f min %.3f | alnum mean %.3f p50 %.3f | conf %.3f | keys found %d/%d (%.1f%%)"+
			" | s/page wall p50 %.2f p95 %.2f, cpu p50 %.2f p95 %.2f (%.2f pages/s/core) | RSS MiB tesseract p50 %.0f max %.0f, pdftoppm max %.0f",
			name, len(rec), pages, failed, mean(rec), quantile(rec, 0.5), slices.Min(rec), mean(recA), quantile(recA, 0.5), mean(conf),
			found, keys, 100*float64(found)/float64(max(keys, 1)),
			quantile(wall, 0.5), quantile(wall, 0.95), quantile(cpu, 0.5), quantile(cpu, 0.95), 1/mean(cpu),
			quantile(rssT, 0.5), maxOr0(rssT), maxOr0(rssP))
	}
	group("all", func(measuredDoc) bool { return true })
	for _, p := range []string{"scanner", "phone", "sideways"} {
		group(p, func(d measuredDoc) bool { return d.Profile == p })
	}
	for _, f := range []string{"pdf", "png", "jpg", "tif"} {
		group(f, func(d measuredDoc) bool { return d.Format == f })
	}
	pages := 0
	for _, d := range docs {
		pages += d.Pages
	}
	t.Logf("total wall %v for %d pages: %.2f pages/s", total.Round(time.Second), pages, float64(pages)/total.Seconds())
}

func maxOr0(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	return slices.Max(xs)
}

// selfPeakRSS is this process's peak resident memory (Linux), in MiB.
func selfPeakRSS() float64 {
	v, _ := peakRSS(os.Getpid())
	return float64(v) / (1 << 20)
}

// A 50-page scan: 50 different invoices' first pages, scanner-degraded at
// 300 dpi, in one image-only PDF. Time, the children's memory, this
// process's memory, and how fast a cancel stops it.
func TestMeasureLongScan(t *testing.T) {
	if os.Getenv("OCR_MEASURE_LONG") == "" {
		t.Skip("OCR_MEASURE_LONG is not set")
	}
	testenv.Program(t, "pdftoppm", "poppler-utils")
	ctx := context.Background()
	var pages []*image.Gray
	for i := range 50 {
		born, _, err := synth.Invoice(synth.Options{Seed: 5, Noise: true}, i)
		if err != nil {
			t.Fatal(err)
		}
		imgs, err := synth.Rasterize(ctx, "", born, 300)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, synth.Degrade(imgs[0], synth.Degradation{Skew: 0.7, Blur: 0.6, Noise: 3, Paper: 240}, uint64(i)))
	}
	data, err := synth.ScanFile(pages, synth.ScanPDF, 65, 300, "fifty pages")
	if err != nil {
		t.Fatal(err)
	}
	pages = nil
	runtime.GC()
	t.Logf("50-page image-only PDF: %.1f MB", float64(len(data))/1e6)
	doc, err := pdf.ParseBytes(ctx, data, pdf.Options{})
	if !errors.Is(err, pdf.ErrNoText) {
		t.Fatal(err)
	}
	var log childLog
	workers := measureEnv("OCR_MEASURE_WORKERS", 2)
	e := testEngine(t, Options{Workers: workers, OnChild: log.add})
	log.take()
	before := selfPeakRSS()
	start := time.Now()
	out, err := e.OCR(ctx, doc, data, ModeAuto)
	wall := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	var cpu float64
	var rssT, rssP int64
	for _, c := range log.take() {
		cpu += c.CPU.Seconds()
		if c.Program == "tesseract" {
			rssT = max(rssT, c.MaxRSS)
		} else {
			rssP = max(rssP, c.MaxRSS)
		}
	}
	lines, conf := 0, 0.0
	for _, p := range out.Pages {
		lines += len(p.Lines)
		conf += p.OCR.Confidence
	}
	t.Logf("50 pages, %d workers: wall %v (%.2f s/page), children CPU %.0f s (%.2f s/page), peak RSS tesseract %d MiB, pdftoppm %d MiB; "+
		"this process's peak RSS %.0f MiB before, %.0f MiB after; %d lines, mean confidence %.3f, warnings %d",
		workers, wall.Round(time.Second), wall.Seconds()/50, cpu, cpu/50, rssT>>20, rssP>>20, before, selfPeakRSS(), lines, conf/50, len(out.Warnings))

	// Interrupted after 15 s: how long until OCR returns.
	cctx, cancel := context.WithCancel(ctx)
	time.AfterFunc(15*time.Second, cancel)
	start = time.Now()
	_, err = e.OCR(cctx, doc, data, ModeAuto)
	t.Logf("cancelled after 15 s: returned after %v with %v", time.Since(start).Round(10*time.Millisecond), err)
}

// Image-only PDFs made from the shared corpus's invoices (first page
// rendered at 200 dpi, lightly degraded) and its one real image-only PDF,
// and the committed scanned samples: lines, mean word confidence, and
// word recall against the original text layer where there is one.
func TestMeasureCorpus(t *testing.T) {
	if os.Getenv("OCR_MEASURE_CORPUS") == "" {
		t.Skip("OCR_MEASURE_CORPUS is not set")
	}
	corpus := testenv.CorpusDir(t)
	e := testEngine(t, Options{})
	ctx := context.Background()
	report := func(name string, doc pipeline.Document, ref string, err error) {
		lines, conf, n := 0, 0.0, 0
		for _, p := range doc.Pages {
			lines += len(p.Lines)
			if p.OCR != nil {
				conf += p.OCR.Confidence
				n++
			}
		}
		rec := "-"
		if ref != "" {
			rec = fmt.Sprintf("%.3f (alnum %.3f)", wordRecall(ref, doc.Text()), wordRecall(alnum(ref), alnum(doc.Text())))
		}
		t.Logf("%-60s pages %d ocr %d lines %3d mean conf %.3f recall %s err %v", name, len(doc.Pages), n, lines, conf/math.Max(float64(n), 1), rec, err)
	}
	// Page 1 of every public PDF with a text layer, rendered at 200 dpi and
	// degraded a little like a scanner: real issuers' layouts, the check
	// that a change made on synthetic scans holds elsewhere.
	names, _ := filepath.Glob(filepath.Join(corpus, "public", "files", "*", "*.pdf"))
	sort.Strings(names)
	if n := measureEnv("OCR_MEASURE_LIMIT", len(names)); n < len(names) {
		names = names[:n]
	}
	var found, total, docs float64
	var recalls []float64
	for _, path := range names {
		name, _ := filepath.Rel(corpus, path)
		born, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		orig, err := pdf.ParseBytes(ctx, born, pdf.Options{})
		if err != nil || len(orig.Pages) == 0 || len(strings.Fields(orig.Pages[0].Text())) < 20 {
			t.Logf("%s: no text layer to compare with (%v)", name, err)
			continue
		}
		imgs, err := synth.Rasterize(ctx, "", born, 200)
		if err != nil {
			t.Logf("%s: %v", name, err)
			continue
		}
		page := synth.Degrade(imgs[0], synth.Degradation{Skew: 0.5, Blur: 0.5, Noise: 2, Paper: 240}, 1)
		scanned, err := synth.ScanFile([]*image.Gray{page}, synth.ScanPDF, 65, 200, name)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := ocrFile(t, e, scanned)
		ref := orig.Pages[0].Text()
		report(name+" (page 1 scanned)", doc, ref, err)
		n := float64(len(strings.Fields(ref)))
		r := wordRecall(ref, doc.Text())
		found += r * n
		total += n
		docs++
		recalls = append(recalls, r)
	}
	t.Logf("public page 1 scanned: %.0f documents, word recall micro %.3f, mean %.3f, p10 %.3f, min %.3f",
		docs, found/math.Max(total, 1), mean(recalls), quantile(recalls, 0.1), quantile(recalls, 0))
	jbig2 := filepath.Join(corpus, "hostile/files/pdfminer/pdf-with-jbig2.pdf")
	if data, err := os.ReadFile(jbig2); err == nil {
		doc, err := ocrFile(t, e, data)
		report("hostile/files/pdfminer/pdf-with-jbig2.pdf (image-only)", doc, "", err)
	}
	dir := testenv.Testdata(t, "scans", "files", "scan")
	scans, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, n := range scans {
		data, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := ocrFile(t, e, data)
		report("testdata/scans/"+filepath.Base(n), doc, "", err)
	}
}
