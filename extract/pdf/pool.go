package pdf

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/extractor-dev/extractor/pipeline"
)

// Pool is Isolation with long-lived children: each child parses many
// files, one at a time, so a batch pays a process start (and the Go
// runtime's and packages' initialisation) once per child rather than once
// per file. The isolation is the same: every parse runs in a child process
// under the same memory cap and deadline, and a child that crashes, passes
// its deadline, fails a parse in a way that may leave it unfit (a
// recovered panic, an abandoned parse), or grows past RetireAbove is
// replaced by a fresh one. A file that crashes a child that had parsed
// others before is parsed once more in a fresh child, so its outcome is
// the one a child of its own gives. It is safe for concurrent use.
type Pool struct {
	cfg PoolConfig
	sem chan struct{}

	mu     sync.Mutex
	idle   []*child
	closed bool
	// starts counts children started (for tests and measures).
	starts int
	// retiring are the children put away after their last parse, ending
	// in the background; Close waits for them, so that a program that
	// closes its pool leaves no child behind.
	retiring sync.WaitGroup
}

// PoolConfig configures a Pool.
type PoolConfig struct {
	// Command is the child program and its arguments (as for Isolation).
	Command []string
	// MemoryLimit caps each child's address space (default
	// DefaultChildMemory).
	MemoryLimit int64
	// Size is how many children parse at once, at most (default the
	// number of CPUs).
	Size int
	// RetireAbove retires a child after a parse when its runtime holds
	// more memory than this from the system (default 256 MiB, and never
	// more than a quarter of MemoryLimit): a big file must not leave the
	// next one less room under the cap than a fresh child has.
	RetireAbove int64
	// MaxUses retires a child after this many parses (default 1000).
	MaxUses int
}

// NewPool returns a pool of parser children; none is started before the
// first parse. Close it to end them.
func NewPool(cfg PoolConfig) *Pool {
	if cfg.MemoryLimit <= 0 {
		cfg.MemoryLimit = DefaultChildMemory
	}
	if cfg.Size <= 0 {
		cfg.Size = runtime.NumCPU()
	}
	if cfg.RetireAbove <= 0 {
		cfg.RetireAbove = 256 << 20
	}
	cfg.RetireAbove = min(cfg.RetireAbove, cfg.MemoryLimit/4)
	if cfg.MaxUses <= 0 {
		cfg.MaxUses = 1000
	}
	return &Pool{cfg: cfg, sem: make(chan struct{}, cfg.Size)}
}

// child is one long-lived parser process.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr *limitedBuffer
	mu     *sync.Mutex // guards stderr, written by the process's copier
	exited chan struct{}
	uses   int
}

// ParseFile parses the file at path in a child.
func (p *Pool) ParseFile(ctx context.Context, path string, opts Options) (pipeline.Document, error) {
	data, err := readLimited(path, opts.withDefaults().MaxBytes)
	if err != nil {
		return pipeline.Document{}, err
	}
	doc, err := p.ParseBytes(ctx, data, opts)
	doc.Source = path
	return doc, err
}

// ParseBytes parses data in a child.
func (p *Pool) ParseBytes(ctx context.Context, data []byte, opts Options) (pipeline.Document, error) {
	resp, err := p.run(ctx, opParse, data, opts)
	return resp.Document, err
}

// PageCount counts data's pages in a child.
func (p *Pool) PageCount(ctx context.Context, data []byte, opts Options) (int, error) {
	resp, err := p.run(ctx, opCount, data, opts)
	return resp.Pages, err
}

// Starts is how many children the pool has started.
func (p *Pool) Starts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.starts
}

// Close ends the idle children (their input closes, and they exit) and
// makes later parses fail. Parses in flight finish, and their children
// end after them.
func (p *Pool) Close() error {
	p.mu.Lock()
	p.closed = true
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, c := range idle {
		c.end()
	}
	p.retiring.Wait()
	return nil
}

// errPoolClosed: a parse after Close.
var errPoolClosed = errors.New("pdf: the parser pool is closed")

func (p *Pool) run(ctx context.Context, op string, data []byte, opts Options) (childResponse, error) {
	opts = opts.withDefaults()
	if len(p.cfg.Command) == 0 {
		return childResponse{}, errors.New("pdf: isolation has no child command")
	}
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return childResponse{}, ctx.Err()
	}
	defer func() { <-p.sem }()
	c, err := p.take()
	if err != nil {
		return childResponse{}, err
	}
	reused := c.uses > 0
	resp, err := p.ask(ctx, c, op, data, opts)
	if reused && errors.Is(err, errChildDied) && ctx.Err() == nil {
		// A child that parsed other files died on this one: ask a fresh
		// child, whose answer is the one this file gets on its own.
		if c, err = p.start(); err != nil {
			return childResponse{}, err
		}
		resp, err = p.ask(ctx, c, op, data, opts)
	}
	if errors.Is(err, errChildDied) {
		err = errors.Unwrap(err)
	}
	return resp, err
}

// take returns an idle child, or starts one. A child that died while idle
// (killed from outside) is passed over.
func (p *Pool) take() (*child, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, errPoolClosed
	}
	for len(p.idle) > 0 {
		c := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		select {
		case <-c.exited:
			c.end()
			continue
		default:
		}
		p.mu.Unlock()
		return c, nil
	}
	p.mu.Unlock()
	return p.start()
}

func (p *Pool) put(c *child) {
	p.mu.Lock()
	switch {
	case p.closed:
		// Close has started waiting: end it here, in the caller's time.
		p.mu.Unlock()
		c.end()
	case c.uses >= p.cfg.MaxUses:
		// Added under the lock before Close can set closed, hence
		// before its Wait.
		p.retiring.Add(1)
		p.mu.Unlock()
		go func() {
			defer p.retiring.Done()
			c.end()
		}()
	default:
		p.idle = append(p.idle, c)
		p.mu.Unlock()
	}
}

func (p *Pool) start() (*child, error) {
	p.mu.Lock()
	p.starts++
	p.mu.Unlock()
	cmd := exec.Command(p.cfg.Command[0], p.cfg.Command[1:]...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, stdin: stdin, stdout: bufio.NewReaderSize(stdout, 64<<10), stderr: &limitedBuffer{max: 64 << 10, buf: &bytes.Buffer{}},
		mu: &sync.Mutex{}, exited: make(chan struct{})}
	cmd.Stderr = lockedWriter{c.mu, c.stderr}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("pdf: starting the parser: %w", err)
	}
	go func() {
		cmd.Wait()
		close(c.exited)
	}()
	return c, nil
}

// end stops a child: its input closes (an idle child exits at once) and,
// should it not exit soon, it is killed.
func (c *child) end() {
	c.stdin.Close()
	select {
	case <-c.exited:
	case <-time.After(2 * time.Second):
		c.cmd.Process.Kill()
		<-c.exited
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// errChildDied marks a child that gave no answer (it crashed or was
// killed for running out of memory); it wraps the error the parse gets.
var errChildDied = errors.New("pdf: the parser child died")

type diedError struct{ err error }

func (d *diedError) Error() string        { return d.err.Error() }
func (d *diedError) Unwrap() error        { return d.err }
func (d *diedError) Is(target error) bool { return target == errChildDied }

// ask sends one request to c and reads its answer; then c goes back to
// the pool, or ends when it cannot parse again.
func (p *Pool) ask(ctx context.Context, c *child, op string, data []byte, opts Options) (childResponse, error) {
	resp, keep, err := p.exchange(ctx, c, op, data, opts)
	if keep {
		p.put(c)
	} else {
		c.end()
	}
	return resp, err
}

func (p *Pool) exchange(ctx context.Context, c *child, op string, data []byte, opts Options) (resp childResponse, keep bool, err error) {
	c.mu.Lock()
	c.stderr.buf.Reset()
	c.mu.Unlock()
	n := int64(len(data))
	hdr, err := json.Marshal(childRequest{Op: op, Options: opts, MemoryLimit: p.cfg.MemoryLimit, Length: &n, RetireAbove: p.cfg.RetireAbove})
	if err != nil {
		return resp, false, err
	}
	c.uses++
	// The child enforces the timeout itself and reports it cleanly; the
	// parent's deadline, a little later, is the backstop that kills it.
	deadline := time.NewTimer(opts.Timeout + 2*time.Second)
	defer deadline.Stop()
	type answer struct {
		line []byte
		err  error
	}
	answered := make(chan answer, 1)
	go func() {
		w := bufio.NewWriterSize(c.stdin, 64<<10)
		w.Write(hdr)
		w.WriteByte('\n')
		w.Write(data)
		if err := w.Flush(); err != nil {
			// The child is gone (or going): its answer, if any, decides.
		}
		line, err := c.stdout.ReadBytes('\n')
		answered <- answer{line, err}
	}()
	var a answer
	select {
	case a = <-answered:
	case <-deadline.C:
		c.cmd.Process.Kill()
		<-answered
		return resp, false, fmt.Errorf("pdf: parser did not finish in %v and was stopped: %w", opts.Timeout, context.DeadlineExceeded)
	case <-ctx.Done():
		c.cmd.Process.Kill()
		<-answered
		return resp, false, ctx.Err()
	}
	if a.err == nil {
		if jerr := json.Unmarshal(a.line, &resp); jerr == nil && (resp.Document.ID != "" || resp.Kind != "" || op == opCount) {
			keep = !resp.Retire
			if resp.Kind != "" {
				return resp, keep, errorOf(resp.Kind, resp.Message)
			}
			return resp, keep, nil
		}
	}
	// No answer: the child died (or answered nonsense, which is as bad).
	c.cmd.Process.Kill()
	<-c.exited
	c.mu.Lock()
	stderr := c.stderr.buf.String()
	c.mu.Unlock()
	last := pipeline.Printable(lastLine(stderr), 300)
	if strings.Contains(stderr, "out of memory") {
		return childResponse{}, false, &diedError{fmt.Errorf("%w: parser ran out of memory (limit %d bytes)", ErrTooLarge, p.cfg.MemoryLimit)}
	}
	return childResponse{}, false, &diedError{fmt.Errorf("%w: parser crashed (%v): %s", ErrMalformed, exitStatus(c.cmd), last)}
}

// exitStatus says how a child ended, as cmd.Run's error says it.
func exitStatus(cmd *exec.Cmd) string {
	if cmd.ProcessState == nil {
		return "no exit status"
	}
	return cmd.ProcessState.String()
}
