package pdf

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/extractor-dev/extractor/pipeline"
)

// Isolation runs parses in child processes. A Go process cannot recover
// from stack exhaustion or the out-of-memory killer, and a parse stuck in a
// loop that never reads the file cannot be interrupted; a child process can
// always be killed. The child is any program that calls ServeChild (the
// extractor CLI does, behind a hidden subcommand).
type Isolation struct {
	// Command is the child program and its arguments.
	Command []string
	// MemoryLimit caps the child's address space in bytes (RLIMIT_AS);
	// 0 means DefaultChildMemory.
	MemoryLimit int64
}

// DefaultChildMemory is the child's address-space limit unless set.
const DefaultChildMemory = 4 << 30

// ChildMaxStack is the child's goroutine stack limit (Go's default is
// 1 GB).
const ChildMaxStack = 64 << 20

// childRequest is the first line the parent writes; the PDF bytes follow.
type childRequest struct {
	// Op is what to do with the bytes: opParse (the default) or opCount.
	Op          string  `json:"op,omitempty"`
	Options     Options `json:"options"`
	MemoryLimit int64   `json:"memory_limit"`
	// Length, when set, frames the request: exactly Length bytes follow,
	// and the child, once it has answered, reads the next request (a
	// Pool's long-lived child). Without it the bytes run to the end of
	// the input and the child answers once.
	Length *int64 `json:"length,omitempty"`
	// RetireAbove asks a framed child to stop after answering when the
	// memory its runtime holds from the system is above it (bytes).
	RetireAbove int64 `json:"retire_above,omitempty"`
}

// Child operations.
const (
	opParse = ""
	opCount = "count"
)

// childResponse is what the child writes back.
type childResponse struct {
	Document pipeline.Document `json:"document"`
	Pages    int               `json:"pages,omitempty"`
	Kind     string            `json:"error_kind,omitempty"`
	Message  string            `json:"error,omitempty"`
	// Retire: a framed child stops after this answer (the parse failed
	// in a way that may leave the process unfit for another, or its
	// memory grew past RetireAbove); the pool starts a new one.
	Retire bool `json:"retire,omitempty"`
}

// Error kinds on the wire, mapped back to sentinels by the parent.
var errorKinds = []struct {
	kind string
	err  error
}{
	{"encrypted", ErrEncrypted},
	{"malformed", ErrMalformed},
	{"no_text", ErrNoText},
	{"too_large", ErrTooLarge},
	{"timeout", context.DeadlineExceeded},
	{"canceled", context.Canceled},
}

func kindOf(err error) string {
	for _, k := range errorKinds {
		if errors.Is(err, k.err) {
			return k.kind
		}
	}
	return "other"
}

// kindError rebuilds an error that wraps the sentinel for kind.
type kindError struct {
	msg string
	err error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.err }

func errorOf(kind, msg string) error {
	for _, k := range errorKinds {
		if k.kind == kind {
			return &kindError{msg: msg, err: k.err}
		}
	}
	return errors.New(msg)
}

// ParseFile parses the file at path in a child process. The options'
// Timeout is a hard limit: the child is killed when it passes.
func (iso Isolation) ParseFile(ctx context.Context, path string, opts Options) (pipeline.Document, error) {
	data, err := readLimited(path, opts.withDefaults().MaxBytes)
	if err != nil {
		return pipeline.Document{}, err
	}
	doc, err := iso.ParseBytes(ctx, data, opts)
	doc.Source = path
	return doc, err
}

func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, st.Size(), limit)
	}
	return io.ReadAll(f)
}

// ParseBytes parses data in a child process.
func (iso Isolation) ParseBytes(ctx context.Context, data []byte, opts Options) (pipeline.Document, error) {
	resp, err := iso.run(ctx, opParse, data, opts)
	return resp.Document, err
}

// PageCount counts data's pages (see PageCount) in a child process: the
// way a server should look at an upload before accepting work for it.
func (iso Isolation) PageCount(ctx context.Context, data []byte, opts Options) (int, error) {
	resp, err := iso.run(ctx, opCount, data, opts)
	return resp.Pages, err
}

// run sends one request to a new child and reads its answer.
func (iso Isolation) run(ctx context.Context, op string, data []byte, opts Options) (childResponse, error) {
	opts = opts.withDefaults()
	if len(iso.Command) == 0 {
		return childResponse{}, errors.New("pdf: isolation has no child command")
	}
	mem := iso.MemoryLimit
	if mem <= 0 {
		mem = DefaultChildMemory
	}
	// The child enforces the timeout itself and reports it cleanly; the
	// parent's deadline, a little later, is the backstop that kills it.
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout+2*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, iso.Command[0], iso.Command[1:]...)
	cmd.WaitDelay = time.Second
	hdr, err := json.Marshal(childRequest{Op: op, Options: opts, MemoryLimit: mem})
	if err != nil {
		return childResponse{}, err
	}
	cmd.Stdin = io.MultiReader(bytes.NewReader(hdr), strings.NewReader("\n"), bytes.NewReader(data))
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &limitedBuffer{max: 64 << 10, buf: &stderr}
	runErr := cmd.Run()
	var resp childResponse
	if jerr := json.Unmarshal(stdout.Bytes(), &resp); jerr == nil && (resp.Document.ID != "" || resp.Kind != "" || op == opCount) && runErr == nil {
		if resp.Kind != "" {
			return resp, errorOf(resp.Kind, resp.Message)
		}
		return resp, nil
	}
	// No answer: the child died or was killed.
	if ctx.Err() != nil {
		return childResponse{}, fmt.Errorf("pdf: parser did not finish in %v and was stopped: %w", opts.Timeout, context.DeadlineExceeded)
	}
	last := pipeline.Printable(lastLine(stderr.String()), 300)
	if strings.Contains(stderr.String(), "out of memory") {
		return childResponse{}, fmt.Errorf("%w: parser ran out of memory (limit %d bytes)", ErrTooLarge, mem)
	}
	return childResponse{}, fmt.Errorf("%w: parser crashed (%v): %s", ErrMalformed, runErr, last)
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	// A Go crash prints "fatal error: ..." or "panic: ..." first, then
	// goroutine stacks; that first line is the reason.
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "fatal error:") || strings.HasPrefix(l, "panic:") || strings.HasPrefix(l, "runtime:") {
			return l
		}
	}
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

type limitedBuffer struct {
	max int
	buf *bytes.Buffer
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.buf.Len(); room > 0 {
		l.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// ServeChild is the child side of Isolation and Pool: it reads a request
// and the PDF bytes from r, parses, and writes the response to w; a
// framed request (a Pool's) is followed by the next, until r ends or the
// child retires. It returns the process exit code.
func ServeChild(r io.Reader, w io.Writer) int {
	br := bufio.NewReader(r)
	for n := 0; ; n++ {
		line, err := br.ReadBytes('\n')
		if err == io.EOF && n > 0 && len(line) == 0 {
			return 0 // the pool is done with this child
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "pdf child: reading request:", err)
			return 2
		}
		var req childRequest
		if err := json.Unmarshal(line, &req); err != nil {
			fmt.Fprintln(os.Stderr, "pdf child: bad request:", err)
			return 2
		}
		if n == 0 {
			if req.Length != nil {
				// A pool's child parses one file at a time: one processor
				// spares the machine the runtime's idle spinning and
				// parallel collection across many children.
				runtime.GOMAXPROCS(1)
				debug.SetGCPercent(400)
			}
			if req.MemoryLimit > 0 {
				limitMemory(req.MemoryLimit)
			}
			// No parse needs a deep stack (every recursion of ours is
			// bounded); a runaway one in the library dies at this limit in
			// milliseconds rather than after growing a gigabyte of stack.
			debug.SetMaxStack(ChildMaxStack)
		}
		max := req.Options.withDefaults().MaxBytes
		var data []byte
		if req.Length != nil {
			if *req.Length < 0 || *req.Length > max+1 {
				fmt.Fprintf(os.Stderr, "pdf child: a request of %d bytes\n", *req.Length)
				return 2
			}
			data = make([]byte, *req.Length)
			_, err = io.ReadFull(br, data)
		} else {
			data, err = io.ReadAll(io.LimitReader(br, max+1))
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "pdf child: reading pdf:", err)
			return 2
		}
		var resp childResponse
		var perr error
		switch req.Op {
		case opParse:
			resp.Document, perr = ParseBytes(context.Background(), data, req.Options)
		case opCount:
			resp.Pages, perr = PageCount(context.Background(), data, req.Options)
		default:
			fmt.Fprintf(os.Stderr, "pdf child: unknown op %q\n", req.Op)
			return 2
		}
		if perr != nil {
			resp.Kind, resp.Message = kindOf(perr), perr.Error()
		}
		framed := req.Length != nil
		if framed {
			resp.Retire = retire(resp.Kind, req.RetireAbove)
		}
		if err := json.NewEncoder(w).Encode(resp); err != nil {
			fmt.Fprintln(os.Stderr, "pdf child: writing response:", err)
			return 2
		}
		if !framed || resp.Retire {
			return 0
		}
	}
}

// retire decides whether a framed child stops after a request: after any
// failure but the ordinary ones (encrypted, no text), as a recovered
// panic or an abandoned parse may leave the process unfit for the next
// file, or when its runtime holds more memory than above: a later file
// must find the memory cap as a fresh child would.
func retire(kind string, above int64) bool {
	if kind != "" && kind != "encrypted" && kind != "no_text" {
		return true
	}
	if above <= 0 {
		return false
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.Sys) > above
}
