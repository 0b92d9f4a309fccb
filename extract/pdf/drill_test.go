package pdf

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/extractor-dev/extractor/internal/testenv"
)

// The mutation drill: thousands of deterministic mutants of real PDFs
// (byte flips, truncations, deleted and duplicated ranges, mangled numbers
// after /Length, /Size, /Count, /W, /Index, /N, /Columns, /Prev, xref and
// obj, self-referencing /Parent and /Kids, broken headers), each parsed in
// a fresh process, in process and isolated, counting what a parser of
// untrusted input must never do: escape a panic, die of a fatal runtime
// error, hang past its deadline. It is a test only with -drill N (make
// drill), as it takes minutes:
//
//	go test ./extract/pdf -run '^TestMutationDrill$' -drill 3000 -v
var (
	drillN    = flag.Int("drill", 0, "run the mutation drill with this many mutants (0: skip)")
	drillSeed = flag.Uint64("drill.seed", 1, "the drill's seed")
	drillJobs = flag.Int("drill.jobs", runtime.NumCPU(), "drill mutants run at once")
)

// drillTimeout is the parse deadline in the drill; a worker that has not
// answered drillGrace after it is a hang.
const (
	drillTimeout = 10 * time.Second
	drillGrace   = 30 * time.Second
)

// drillWorkerEnv makes the test binary a drill worker (see TestMain).
const drillWorkerEnv = "EXTRACTOR_PDF_DRILL_WORKER"

// drillOutcome is what a worker prints.
type drillOutcome struct {
	Kind  string `json:"kind"` // "ok" or an error kind (kindOf)
	Error string `json:"error,omitempty"`
	// ChildMaxRSS is the isolated child's peak resident memory (KiB).
	ChildMaxRSS int64 `json:"child_max_rss,omitempty"`
}

// drillSources lists the files mutants are made from: the shared corpus
// when present, and always the project's own samples and regressions.
func drillSources(t *testing.T) []string {
	var files []string
	add := func(pattern string) {
		m, _ := filepath.Glob(pattern)
		files = append(files, m...)
	}
	add(testenv.Testdata(t, "invoices", "files", "*", "*.pdf"))
	add(testenv.Testdata(t, "regressions", "*.pdf"))
	corpus := os.Getenv("EXTRACTOR_CORPUS")
	if corpus == "" {
		corpus = filepath.Join(testenv.RepoRoot(t), "..", "shared", "corpus")
	}
	add(filepath.Join(corpus, "public", "files", "*", "*.pdf"))
	add(filepath.Join(corpus, "hostile", "files", "*", "*.pdf"))
	add(filepath.Join(corpus, "longdocs", "*.pdf"))
	sort.Strings(files)
	return files
}

// mutate returns mutant i of data, and what was done. The same (seed, i,
// data) always gives the same bytes.
func mutate(data []byte, seed uint64, i int) ([]byte, string) {
	r := rand.New(rand.NewPCG(seed, uint64(i)))
	out := bytes.Clone(data)
	var did []string
	for n := 1 + r.IntN(2); n > 0; n-- { // one or two mutations
		var what string
		out, what = mutateOnce(r, out)
		did = append(did, what)
	}
	return out, strings.Join(did, " + ")
}

// drillKeys are the names whose numbers the library reads sizes, counts
// and offsets from.
var drillKeys = []string{"/Length", "/Size", "/Count", "/W", "/Index", "/N", "/First", "/Columns", "/Prev", "/Predictor", "startxref", "xref", " obj", "/Rotate", "/MediaBox"}

// drillNumbers are the replacement values tried.
var drillNumbers = []string{"0", "-1", "1", "7", "65535", "2147483647", "2147483648", "4294967296", "9223372036854775807", "99999999999999999999", "-2147483648", "1e308", "3.5", "NaN"}

func mutateOnce(r *rand.Rand, data []byte) ([]byte, string) {
	if len(data) == 0 {
		return data, "empty"
	}
	switch op := r.IntN(10); op {
	case 0, 1: // flip bytes
		k := 1 + r.IntN(16)
		for j := 0; j < k; j++ {
			data[r.IntN(len(data))] ^= byte(1 + r.IntN(255))
		}
		return data, fmt.Sprintf("flip %d bytes", k)
	case 2: // truncate
		at := r.IntN(len(data))
		return data[:at], fmt.Sprintf("truncate at %d", at)
	case 3: // delete a range
		at, n := r.IntN(len(data)), 1+r.IntN(4096)
		return append(data[:at:at], data[min(len(data), at+n):]...), fmt.Sprintf("delete %d bytes at %d", n, at)
	case 4: // duplicate a range
		at, n := r.IntN(len(data)), 1+r.IntN(4096)
		dup := bytes.Clone(data[at:min(len(data), at+n)])
		to := r.IntN(len(data))
		return slices.Concat(data[:to], dup, data[to:]), fmt.Sprintf("duplicate %d bytes from %d to %d", len(dup), at, to)
	case 5, 6, 7: // mangle a number after a key
		key := drillKeys[r.IntN(len(drillKeys))]
		locs := occurrences(data, key, 2000)
		if len(locs) == 0 {
			return mutateOnce(r, data)
		}
		at := locs[r.IntN(len(locs))] + len(key)
		if key == " obj" { // the object number: back over "N G"
			at -= len(key)
			for k := 0; k < 2; k++ {
				for at > 0 && (data[at-1] == ' ' || data[at-1] == '\n' || data[at-1] == '\r') {
					at--
				}
				for at > 0 && data[at-1] >= '0' && data[at-1] <= '9' {
					at--
				}
			}
		}
		return replaceNumber(r, data, at, key)
	case 8: // self-referencing /Parent or /Kids
		key := []string{"/Parent", "/Kids"}[r.IntN(2)]
		locs := occurrences(data, key, 2000)
		if len(locs) == 0 {
			return mutateOnce(r, data)
		}
		at := locs[r.IntN(len(locs))]
		self := enclosingObject(data, at)
		ref := fmt.Sprintf(" %d 0 R", self)
		if key == "/Kids" {
			ref = fmt.Sprintf(" [%d 0 R %d 0 R]", self, self)
		}
		end := at + len(key)
		// Replace the value: up to the next name or end of dictionary.
		stop := end + 1
		for stop < len(data) && data[stop] != '/' && data[stop] != '>' && stop-end < 200 {
			stop++
		}
		if key == "/Kids" {
			if i := bytes.IndexByte(data[end:min(len(data), end+4096)], ']'); i >= 0 {
				stop = end + i + 1
			}
		}
		return slices.Concat(data[:end], []byte(ref), data[min(len(data), stop):]), fmt.Sprintf("%s of object %d refers to itself", key, self)
	default: // the header
		switch r.IntN(4) {
		case 0:
			if i := bytes.IndexByte(data, '\n'); i >= 0 {
				return data[i+1:], "header removed"
			}
		case 1:
			return append([]byte("%PDF-2.0"), data[min(len(data), 8):]...), "header says 2.0"
		case 2:
			return append([]byte("Received: junk before the header\r\n\r\n"), data...), "junk before the header"
		}
		return append([]byte("%PDF-9.9 \x00"), data[min(len(data), 10):]...), "header mangled"
	}
}

// occurrences finds up to max offsets of s in data.
func occurrences(data []byte, s string, max int) []int {
	var out []int
	for from := 0; len(out) < max; {
		i := bytes.Index(data[from:], []byte(s))
		if i < 0 {
			break
		}
		out = append(out, from+i)
		from += i + len(s)
	}
	return out
}

// replaceNumber replaces the number at or after at (skipping spaces and a
// "[") with one of drillNumbers.
func replaceNumber(r *rand.Rand, data []byte, at int, key string) ([]byte, string) {
	i := at
	for i < len(data) && (data[i] == ' ' || data[i] == '\n' || data[i] == '\r' || data[i] == '[') {
		i++
	}
	j := i
	for j < len(data) && (data[j] >= '0' && data[j] <= '9' || data[j] == '-' || data[j] == '.') {
		j++
	}
	v := drillNumbers[r.IntN(len(drillNumbers))]
	return slices.Concat(data[:i], []byte(v), data[j:]), fmt.Sprintf("%s number -> %s", strings.TrimSpace(key), v)
}

// enclosingObject returns the number of the object whose header comes
// last before at (1 when none).
func enclosingObject(data []byte, at int) int {
	if s, ok := objectStart(data, at); ok {
		l := &lexer{data: data, pos: s}
		if o := l.next(); o.kind == kNumber {
			return int(o.num)
		}
	}
	return 1
}

// runDrillWorker is the worker side: EXTRACTOR_PDF_DRILL_WORKER is
// "mode:seed:index:path". It parses the mutant and prints a drillOutcome.
func runDrillWorker(spec string) int {
	parts := strings.SplitN(spec, ":", 4)
	if len(parts) != 4 {
		fmt.Fprintln(os.Stderr, "drill worker: bad spec", spec)
		return 2
	}
	seed, _ := strconv.ParseUint(parts[1], 10, 64)
	i, _ := strconv.Atoi(parts[2])
	data, err := os.ReadFile(parts[3])
	if err != nil {
		fmt.Fprintln(os.Stderr, "drill worker:", err)
		return 2
	}
	mutant, _ := mutate(data, seed, i)
	opts := Options{Timeout: drillTimeout}
	var out drillOutcome
	var perr error
	if parts[0] == "isolated" {
		exe, _ := os.Executable()
		os.Setenv("EXTRACTOR_PDF_TEST_CHILD", "1")
		os.Unsetenv(drillWorkerEnv)
		_, perr = Isolation{Command: []string{exe}}.ParseBytes(context.Background(), mutant, opts)
		var ru syscall.Rusage
		if syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru) == nil {
			out.ChildMaxRSS = ru.Maxrss
		}
	} else {
		_, perr = ParseBytes(context.Background(), mutant, opts)
	}
	out.Kind = "ok"
	if perr != nil {
		out.Kind, out.Error = kindOf(perr), perr.Error()
	}
	json.NewEncoder(os.Stdout).Encode(out)
	return 0
}

// drillResult is one mutant's fate in one mode.
type drillResult struct {
	mode, source, mutation string
	index                  int
	kind                   string // outcome kind, or "panic", "fatal", "hang", "crash"
	detail                 string
	maxRSS                 int64 // KiB, the worker's or its child's, whichever is larger
}

func TestMutationDrill(t *testing.T) {
	if *drillN <= 0 {
		t.Skip("the mutation drill runs with -drill N (make drill)")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	sources := drillSources(t)
	t.Logf("%d mutants of %d source files, seed %d, %d at once", *drillN, len(sources), *drillSeed, *drillJobs)
	type job struct {
		mode  string
		index int
	}
	jobs := make(chan job)
	results := make(chan drillResult)
	// "pooled": the mutants go through one Pool of long-lived children
	// in this process, one after the other in each child; each must get
	// the outcome it gets in a child of its own ("isolated").
	t.Setenv("EXTRACTOR_PDF_TEST_CHILD", "1")
	pool := NewPool(PoolConfig{Command: []string{exe}, Size: max(1, *drillJobs)})
	defer pool.Close()
	var wg sync.WaitGroup
	for w := 0; w < max(1, *drillJobs); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if j.mode == "pooled" {
					results <- runPooledMutant(pool, sources[j.index%len(sources)], j.index)
					continue
				}
				results <- runDrillMutant(exe, j.mode, sources[j.index%len(sources)], j.index)
			}
		}()
	}
	go func() {
		for i := 0; i < *drillN; i++ {
			for _, mode := range drillModes {
				jobs <- job{mode, i}
			}
		}
		close(jobs)
		wg.Wait()
		close(results)
	}()
	byMode := map[string][]drillResult{}
	done := 0
	for r := range results {
		byMode[r.mode] = append(byMode[r.mode], r)
		if done++; done%500 == 0 {
			t.Logf("%d of %d done", done, len(drillModes)**drillN)
		}
		switch r.kind {
		case "panic", "fatal", "hang", "crash":
			t.Errorf("%s: mutant %d of %s (%s): %s: %s", r.mode, r.index, filepath.Base(r.source), r.mutation, r.kind, r.detail)
		}
	}
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	kinds := []string{"ok", "no_text", "encrypted", "malformed", "too_large", "timeout", "other", "panic", "fatal", "hang", "crash"}
	fmt.Fprintf(tw, "mode\tmutants\t%s\tpeak RSS p50\tp99\tmax\t\n", strings.Join(kinds, "\t"))
	for _, mode := range drillModes {
		rs := byMode[mode]
		count := map[string]int{}
		var rss []int64
		for _, r := range rs {
			count[r.kind]++
			rss = append(rss, r.maxRSS)
		}
		slices.Sort(rss)
		pct := func(p float64) string {
			if len(rss) == 0 {
				return "-"
			}
			return fmt.Sprintf("%d MiB", rss[min(len(rss)-1, int(p*float64(len(rss))))]/1024)
		}
		fmt.Fprintf(tw, "%s\t%d", mode, len(rs))
		for _, k := range kinds {
			fmt.Fprintf(tw, "\t%d", count[k])
		}
		fmt.Fprintf(tw, "\t%s\t%s\t%s\t\n", pct(0.5), pct(0.99), pct(1))
	}
	tw.Flush()
	// The mutants that cost the most memory, and every timeout: what to
	// look at next.
	var all []drillResult
	for _, mode := range drillModes {
		all = append(all, byMode[mode]...)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].maxRSS > all[j].maxRSS })
	for _, r := range all[:min(4, len(all))] {
		fmt.Fprintf(&b, "largest: %s mutant %d of %s (%s): %d MiB, %s\n", r.mode, r.index, filepath.Base(r.source), r.mutation, r.maxRSS/1024, r.kind)
	}
	for _, r := range all {
		if r.kind == "timeout" {
			fmt.Fprintf(&b, "timeout: %s mutant %d of %s (%s): %s\n", r.mode, r.index, filepath.Base(r.source), r.mutation, r.detail)
		}
	}
	// A pooled child's outcome is the isolated child's, mutant by mutant
	// (a timeout may land either side of the deadline on a loaded
	// machine, so those are counted apart).
	isolated := map[int]string{}
	for _, r := range byMode["isolated"] {
		isolated[r.index] = r.kind
	}
	differ, timeouts := 0, 0
	for _, r := range byMode["pooled"] {
		if k := isolated[r.index]; k != r.kind {
			if k == "timeout" || r.kind == "timeout" {
				timeouts++
				continue
			}
			differ++
			t.Errorf("mutant %d of %s (%s): pooled %s (%s), isolated %s", r.index, filepath.Base(r.source), r.mutation, r.kind, r.detail, k)
		}
	}
	fmt.Fprintf(&b, "pooled vs isolated: %d outcomes differ, %d only by a timeout; %d children started for %d pooled parses\n",
		differ, timeouts, pool.Starts(), len(byMode["pooled"]))
	t.Logf("mutation drill, %d mutants, seed %d:\n%s", *drillN, *drillSeed, b.String())
}

// drillModes are the ways each mutant is parsed.
var drillModes = []string{"in-process", "isolated", "pooled"}

// runPooledMutant parses one mutant through the pool, in this process.
func runPooledMutant(pool *Pool, source string, i int) drillResult {
	data, _ := os.ReadFile(source)
	mutant, what := mutate(data, *drillSeed, i)
	res := drillResult{mode: "pooled", source: source, mutation: what, index: i}
	ctx, cancel := context.WithTimeout(context.Background(), drillTimeout+drillGrace)
	defer cancel()
	_, err := pool.ParseBytes(ctx, mutant, Options{Timeout: drillTimeout})
	res.kind = "ok"
	switch {
	case ctx.Err() != nil:
		res.kind, res.detail = "hang", fmt.Sprintf("no answer %v after the %v deadline", drillGrace, drillTimeout)
	case err != nil:
		res.kind, res.detail = kindOf(err), err.Error()
	}
	return res
}

// runDrillMutant runs one mutant in a fresh worker process.
func runDrillMutant(exe, mode, source string, i int) drillResult {
	data, _ := os.ReadFile(source)
	_, what := mutate(data, *drillSeed, i)
	res := drillResult{mode: mode, source: source, mutation: what, index: i}
	ctx, cancel := context.WithTimeout(context.Background(), drillTimeout+drillGrace)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "-test.run=^$")
	m := "inproc"
	if mode == "isolated" {
		m = "isolated"
	}
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s:%d:%d:%s", drillWorkerEnv, m, *drillSeed, i, source))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &limitedBuffer{max: 1 << 20, buf: &stderr}
	err := cmd.Run()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && cmd.ProcessState != nil {
		res.maxRSS = ru.Maxrss
	}
	var out drillOutcome
	switch {
	case ctx.Err() != nil:
		res.kind, res.detail = "hang", fmt.Sprintf("no answer %v after the %v deadline", drillGrace, drillTimeout)
	case err == nil && json.Unmarshal(stdout.Bytes(), &out) == nil:
		res.kind, res.detail = out.Kind, out.Error
		if out.Kind == "timeout" && mode == "isolated" && strings.Contains(out.Error, "was stopped") {
			res.detail = "killed at the deadline: " + out.Error
		}
		res.maxRSS = max(res.maxRSS, out.ChildMaxRSS)
	case strings.Contains(stderr.String(), "fatal error:"):
		res.kind, res.detail = "fatal", lastLine(stderr.String())
	case strings.Contains(stderr.String(), "panic:"):
		res.kind, res.detail = "panic", lastLine(stderr.String())
	default:
		var ee *exec.ExitError
		errors.As(err, &ee)
		res.kind, res.detail = "crash", fmt.Sprintf("%v: %s", err, lastLine(stderr.String()))
	}
	return res
}
