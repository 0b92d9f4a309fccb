// Package ocr recognises the text of page images: pages of a PDF that have
// no text layer (rendered by poppler's pdftoppm) and image files (PNG, JPEG,
// multi-page TIFF), with the tesseract program. The result is the same
// pipeline.Document the text path produces: lines in reading order with
// boxes in page coordinates, plus each word's confidence and how the page
// was recognised (pipeline.OCRInfo).
//
// Both programs run as child processes, one page at a time, each under a
// deadline and an address-space cap (prlimit), with OMP_THREAD_LIMIT=1: a
// crash, a hang or a memory blow-up on a hostile file ends that child, not
// the caller. Pages are recognised in parallel (Options.Workers), never with
// threads inside tesseract, which on a small machine only slow it down.
// Untrusted image bytes are never decoded in this process: headers are read
// to check dimensions, and the pixels are decoded by tesseract.
//
// Pages scanned sideways or upside down are recognised with tesseract's
// orientation detection (page segmentation mode 1) and their words turned
// into the upright page; small skew is measured from the text lines and
// allowed for when words are grouped into lines.
//
// The package does not parse PDFs (extract/pdf does; this package OCRs the
// pages it marks pipeline.PageNoText), read flags or environment variables,
// or decide when OCR is wanted: the caller passes a Mode.
package ocr

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Version names this package's behaviour (how words become lines); it
// changes whenever the same program output may give different lines. The
// Engine's Version adds the programs, their data and the settings.
const Version = "ocr/4"

// Defaults, used where Options leaves a field zero.
const (
	DefaultLanguages   = "eng+deu+fra"
	DefaultDPI         = 300
	DefaultPageTimeout = 3 * time.Minute
	// DefaultMemoryLimit caps each child's address space. Measured on
	// Debian 12 (tesseract 5.3.0 with Debian's eng+deu+fra models): an A4
	// page at 300 dpi peaks at about 135 MiB resident and runs within a
	// 200 MiB cap; at 600 dpi about 260 MiB resident, within 400 MiB.
	// pdftoppm stays under 40 MiB at 300 dpi and 115 MiB at 600.
	DefaultMemoryLimit = 1 << 30
	// DefaultMaxPixels bounds one page image: an A4 page at 600 dpi has 35
	// million pixels, A3 at 600 dpi 70 million.
	DefaultMaxPixels = 80_000_000
	DefaultMaxBytes  = 256 << 20
	DefaultMaxPages  = 2000
	// MinDPI is the lowest resolution a PDF page is rendered at when its
	// size forces a lower one than Options.DPI.
	MinDPI = 72
)

// Options configures an Engine. The zero value is usable.
type Options struct {
	// Languages are tesseract language codes joined by "+" (default
	// "eng+deu+fra"); each needs its traineddata (Debian:
	// tesseract-ocr-CODE).
	Languages string
	// DPI is the resolution PDF pages are rendered at (default 300).
	DPI int
	// Workers is how many pages are recognised at once (default
	// GOMAXPROCS). Each runs one single-threaded tesseract.
	Workers int
	// PageTimeout bounds each child process (rendering or recognising one
	// page); the context's deadline, if earlier, wins.
	PageTimeout time.Duration
	// MemoryLimit caps each child's address space in bytes (RLIMIT_AS, via
	// util-linux's prlimit on Linux; not enforced elsewhere). Negative
	// means no cap.
	MemoryLimit int64
	// MaxPixels refuses larger page images (image files) and lowers the
	// render resolution of larger PDF pages.
	MaxPixels int64
	// MaxBytes refuses larger image files; MaxPages, images with more
	// pages.
	MaxBytes int64
	MaxPages int
	// Tesseract, Pdftoppm and Prlimit are the programs (default: found in
	// PATH).
	Tesseract, Pdftoppm, Prlimit string
	// TessdataDir is where the traineddata files are (default:
	// tesseract's own).
	TessdataDir string
	// OnChild, when set, is called after every child process with what it
	// cost (for tracing and measurements). It may be called from several
	// goroutines at once.
	OnChild func(ChildStats)
}

// ChildStats is what one child process cost.
type ChildStats struct {
	Program string // "tesseract" or "pdftoppm"
	Page    int    // the page it worked on; 0 for version and language probes
	Wall    time.Duration
	CPU     time.Duration // user and system time
	// MaxRSS is the peak resident memory in bytes: sampled from /proc
	// while the child runs on Linux, else rusage's figure (which on Linux
	// would include the caller's own peak); 0 where unknown.
	MaxRSS int64
	Err    error
}

func (o Options) withDefaults() Options {
	if o.Languages == "" {
		o.Languages = DefaultLanguages
	}
	if o.DPI <= 0 {
		o.DPI = DefaultDPI
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.PageTimeout <= 0 {
		o.PageTimeout = DefaultPageTimeout
	}
	if o.MemoryLimit == 0 {
		o.MemoryLimit = DefaultMemoryLimit
	}
	if o.MaxPixels <= 0 {
		o.MaxPixels = DefaultMaxPixels
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxPages <= 0 {
		o.MaxPages = DefaultMaxPages
	}
	if o.Tesseract == "" {
		o.Tesseract = "tesseract"
	}
	if o.Pdftoppm == "" {
		o.Pdftoppm = "pdftoppm"
	}
	if o.Prlimit == "" {
		o.Prlimit = "prlimit"
	}
	return o
}

// Mode says which pages of a parsed PDF are recognised.
type Mode string

// Modes.
const (
	// ModeOff recognises nothing.
	ModeOff Mode = "off"
	// ModeAuto recognises the pages without a text layer
	// (pipeline.PageNoText).
	ModeAuto Mode = "auto"
	// ModeForce recognises every page, replacing its text layer.
	ModeForce Mode = "force"
)

// ParseMode reads "auto", "force" or "off".
func ParseMode(s string) (Mode, error) {
	switch m := Mode(strings.ToLower(strings.TrimSpace(s))); m {
	case ModeOff, ModeAuto, ModeForce:
		return m, nil
	}
	return "", fmt.Errorf("ocr: mode %q: want auto, force or off", s)
}

// Errors callers branch on. Errors from this package wrap one of these, a
// *ToolError or *LanguageError, or context.DeadlineExceeded /
// context.Canceled.
var (
	// ErrMissingTool: a program OCR needs is not installed (*ToolError).
	ErrMissingTool = errors.New("ocr: program not installed")
	// ErrLanguage: language data is missing or the code is not valid
	// (*LanguageError).
	ErrLanguage = errors.New("ocr: language data missing")
	// ErrTooLarge: an image or page exceeds a size limit, or a child ran
	// out of its memory.
	ErrTooLarge = errors.New("ocr: too large")
	// ErrBadImage: the bytes are not an image this package takes (PNG,
	// JPEG, TIFF), or the image is truncated or corrupt.
	ErrBadImage = errors.New("ocr: unreadable image")
	// ErrEngine: a program failed for another reason (its last message is
	// in the error).
	ErrEngine = errors.New("ocr: engine failed")
)

// ToolError says which program is missing and which Debian package has it.
type ToolError struct {
	Program string
	Package string
	Err     error // what looking for it said
}

func (e *ToolError) Error() string {
	return fmt.Sprintf("ocr: %s is not installed (%v): install the Debian package %s (scripts/deps.sh installs it)",
		e.Program, e.Err, e.Package)
}

// Unwrap returns ErrMissingTool.
func (e *ToolError) Unwrap() error { return ErrMissingTool }

// LanguageError names a language whose traineddata tesseract lacks and the
// Debian package that has it.
type LanguageError struct {
	Language  string
	Package   string   // "" when the code is not a valid language code
	Installed []string // the languages tesseract has
}

func (e *LanguageError) Error() string {
	if e.Package == "" {
		return fmt.Sprintf("ocr: %q is not a tesseract language code (installed: %s)", e.Language, strings.Join(e.Installed, ", "))
	}
	return fmt.Sprintf("ocr: no tesseract language data for %q (installed: %s): install the Debian package %s",
		e.Language, strings.Join(e.Installed, ", "), e.Package)
}

// Unwrap returns ErrLanguage.
func (e *LanguageError) Unwrap() error { return ErrLanguage }

// languageCode is what tesseract names traineddata files by: ISO 639-2
// codes with optional script or variant suffixes (chi_sim, deu_latf).
var languageCode = regexp.MustCompile(`^[a-z]{3}(_[a-z]+)*$`)

// LanguagePackage is the Debian package with a language's traineddata:
// tesseract-ocr-chi-sim for chi_sim.
func LanguagePackage(code string) string {
	return "tesseract-ocr-" + strings.ReplaceAll(code, "_", "-")
}

// Engine recognises pages. It is safe for concurrent use.
type Engine struct {
	opts      Options
	tesseract string // resolved path
	pdftoppm  string // resolved path, "" when missing (pdfErr says why)
	pdfErr    error
	prlimit   string // "" when memory is not capped
	env       []string
	tessVer   string
	popplerV  string
	dataHash  string
	languages string
}

// The orientation model tesseract's page segmentation mode 1 needs.
const osdLanguage = "osd"

// New finds the programs, checks the language data and records the
// versions. It fails with a *ToolError when tesseract (or, on Linux with a
// memory cap, prlimit) is missing, and with a *LanguageError when a
// language's data is. A missing pdftoppm is reported when a PDF is OCR'd,
// so image files work without poppler.
func New(ctx context.Context, opts Options) (*Engine, error) {
	opts = opts.withDefaults()
	e := &Engine{opts: opts}
	var err error
	if e.tesseract, err = exec.LookPath(opts.Tesseract); err != nil {
		return nil, &ToolError{Program: "tesseract", Package: "tesseract-ocr", Err: err}
	}
	if p, err := exec.LookPath(opts.Pdftoppm); err != nil {
		e.pdfErr = &ToolError{Program: "pdftoppm", Package: "poppler-utils", Err: err}
	} else {
		e.pdftoppm = p
	}
	if opts.MemoryLimit > 0 && runtime.GOOS == "linux" {
		if e.prlimit, err = exec.LookPath(opts.Prlimit); err != nil {
			return nil, &ToolError{Program: "prlimit", Package: "util-linux", Err: err}
		}
	}
	e.env = childEnv(os.Environ())

	out, err := e.run(ctx, 0, e.tesseract, []string{"--version"}, nil, 1<<16)
	if err != nil {
		return nil, fmt.Errorf("ocr: tesseract --version: %w", err)
	}
	e.tessVer = versionAfter(string(out), "tesseract ")
	if e.tessVer == "" {
		return nil, fmt.Errorf("%w: tesseract --version said %q", ErrEngine, firstLine(string(out)))
	}
	if e.pdftoppm != "" {
		// pdftoppm -v prints to stderr and exits 0 (older versions 99).
		vctx, cancel := context.WithTimeout(ctx, time.Minute)
		msg, _ := exec.CommandContext(vctx, e.pdftoppm, "-v").CombinedOutput()
		cancel()
		e.popplerV = versionAfter(string(msg), "pdftoppm version ")
	}
	if err := e.checkLanguages(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

// childEnv is the caller's environment with OpenMP held to one thread:
// tesseract's OpenMP threads make a page slower, not faster, on a machine
// that is already busy with other pages (measured on 2 cores: 38 s a page
// without, 10 s with).
func childEnv(env []string) []string {
	out := slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		return strings.HasPrefix(kv, "OMP_THREAD_LIMIT=")
	})
	return append(out, "OMP_THREAD_LIMIT=1")
}

func (e *Engine) checkLanguages(ctx context.Context) error {
	args := []string{"--list-langs"}
	if e.opts.TessdataDir != "" {
		args = append([]string{"--tessdata-dir", e.opts.TessdataDir}, args...)
	}
	out, err := e.run(ctx, 0, e.tesseract, args, nil, 1<<20)
	if err != nil {
		return fmt.Errorf("ocr: tesseract --list-langs: %w", err)
	}
	dir, installed := parseLangList(string(out))
	var want []string
	for _, l := range strings.Split(e.opts.Languages, "+") {
		if l = strings.TrimSpace(l); l != "" && !slices.Contains(want, l) {
			want = append(want, l)
		}
	}
	if len(want) == 0 {
		return &LanguageError{Language: e.opts.Languages, Installed: installed}
	}
	for _, l := range append(slices.Clone(want), osdLanguage) {
		if !languageCode.MatchString(l) {
			return &LanguageError{Language: l, Installed: installed}
		}
		if !slices.Contains(installed, l) {
			return &LanguageError{Language: l, Package: LanguagePackage(l), Installed: installed}
		}
	}
	e.languages = strings.Join(want, "+")
	// The traineddata shape the output as much as the program does, so
	// their content is part of the version.
	h := sha256.New()
	for _, l := range append(want, osdLanguage) {
		f, err := os.Open(filepath.Join(dir, l+".traineddata"))
		if err != nil {
			fmt.Fprintf(h, "%s:?\n", l)
			continue
		}
		fmt.Fprintf(h, "%s:", l)
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("ocr: reading %s.traineddata: %w", l, err)
		}
	}
	e.dataHash = hex.EncodeToString(h.Sum(nil))[:12]
	return nil
}

// parseLangList reads `tesseract --list-langs`: a header naming the
// tessdata folder in quotes, then one language per line.
func parseLangList(s string) (dir string, langs []string) {
	lines := strings.Split(strings.ReplaceAll(s, "\r", ""), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "List of available languages") {
			if a, b := strings.IndexByte(l, '"'), strings.LastIndexByte(l, '"'); a >= 0 && b > a {
				dir = l[a+1 : b]
			}
			for _, c := range lines[i+1:] {
				if c = strings.TrimSpace(c); c != "" {
					langs = append(langs, c)
				}
			}
			break
		}
	}
	slices.Sort(langs)
	return dir, langs
}

func versionAfter(s, prefix string) string {
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if v, ok := strings.CutPrefix(l, prefix); ok {
			if f := strings.Fields(v); len(f) > 0 {
				return f[0]
			}
		}
	}
	return ""
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// Version names everything that shapes the recognised text: this
// package's version, the programs and their versions, a hash of the
// language data, the languages and the render resolution. It belongs in
// the parse step's version, so a change of any of them re-runs OCR and
// lineage says which engine read a value.
func (e *Engine) Version() string {
	pop := e.popplerV
	if pop == "" {
		pop = "none"
	}
	return fmt.Sprintf("%s tesseract/%s lang=%s data=%s psm=%d dpi=%d pdftoppm/%s",
		Version, e.tessVer, e.languages, e.dataHash, pageSegMode, e.opts.DPI, pop)
}

// TesseractVersion is the tesseract version, e.g. "5.3.0".
func (e *Engine) TesseractVersion() string { return e.tessVer }

// Languages are the languages pages are recognised in, e.g. "eng+deu+fra".
func (e *Engine) Languages() string { return e.languages }
