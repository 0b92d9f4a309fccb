package ocr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// run runs program with args under the page deadline and the memory cap,
// feeding it stdin, and returns its standard output (at most maxOut bytes:
// more is ErrTooLarge). Failures are classified: the deadline as
// context.DeadlineExceeded, memory exhaustion as ErrTooLarge, anything else
// as ErrEngine with the program's last message.
func (e *Engine) run(ctx context.Context, page int, program string, args []string, stdin io.Reader, maxOut int64) (out []byte, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, e.opts.PageTimeout)
	defer cancel()
	argv := append([]string{program}, args...)
	if e.prlimit != "" {
		// prlimit sets RLIMIT_AS on itself and execs the program, which
		// keeps the limit (and prlimit's pid, so the deadline kills it).
		argv = append([]string{e.prlimit, "--as=" + strconv.FormatInt(e.opts.MemoryLimit, 10), "--"}, argv...)
	}
	cmd := exec.CommandContext(cctx, argv[0], argv[1:]...)
	cmd.Env = e.env
	cmd.Stdin = stdin
	stdout := &capBuffer{max: maxOut}
	cmd.Stdout = stdout
	errBuf := &capBuffer{max: 32 << 10, drop: true}
	cmd.Stderr = errBuf
	cmd.WaitDelay = 2 * time.Second
	name := filepath.Base(program)
	if e.opts.OnChild == nil {
		err = cmd.Run()
	} else {
		err = e.runObserved(cmd, name, page)
	}
	out = stdout.buf.Bytes()
	switch {
	case err == nil:
		return out, nil
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case cctx.Err() != nil:
		return nil, fmt.Errorf("ocr: %s did not finish within %v and was stopped: %w", name, e.opts.PageTimeout, context.DeadlineExceeded)
	case stdout.over:
		return nil, fmt.Errorf("%w: %s wrote more than %d bytes", ErrTooLarge, name, maxOut)
	}
	msg := errBuf.buf.String()
	if outOfMemory(msg, err) {
		limit := "no limit"
		if e.prlimit != "" {
			limit = fmt.Sprintf("limit %d MiB", e.opts.MemoryLimit>>20)
		}
		return nil, fmt.Errorf("%w: %s ran out of memory (%s)", ErrTooLarge, name, limit)
	}
	return nil, &childError{program: name, err: err, msg: lastMessage(msg)}
}

// runObserved runs cmd and reports what it cost to OnChild. The peak
// memory is sampled from /proc while the child runs (Linux; the last
// sample, taken after the exec, is the child's own high-water mark), else
// taken from rusage.
func (e *Engine) runObserved(cmd *exec.Cmd, name string, page int) error {
	start := time.Now()
	st := ChildStats{Program: name, Page: page}
	err := cmd.Start()
	if err == nil {
		stop, done := make(chan struct{}), make(chan struct{})
		var peak int64
		var sampled bool
		go func() {
			defer close(done)
			t := time.NewTicker(10 * time.Millisecond)
			defer t.Stop()
			for {
				if v, ok := peakRSS(cmd.Process.Pid); ok {
					peak, sampled = v, true
				}
				select {
				case <-t.C:
				case <-stop:
					return
				}
			}
		}()
		err = cmd.Wait()
		close(stop)
		<-done
		if sampled {
			st.MaxRSS = peak
		}
	}
	st.Wall, st.Err = time.Since(start), err
	if ps := cmd.ProcessState; ps != nil {
		st.CPU = ps.UserTime() + ps.SystemTime()
		if st.MaxRSS == 0 {
			st.MaxRSS = maxRSS(ps)
		}
	}
	e.opts.OnChild(st)
	return err
}

// childError is a program's failure with its last message; it wraps
// ErrEngine.
type childError struct {
	program string
	err     error
	msg     string
}

func (e *childError) Error() string {
	if e.msg == "" {
		return fmt.Sprintf("ocr: %s failed (%v)", e.program, e.err)
	}
	return fmt.Sprintf("ocr: %s failed (%v): %s", e.program, e.err, e.msg)
}

func (e *childError) Unwrap() error { return ErrEngine }

// outOfMemory recognises how tesseract, leptonica, poppler and the dynamic
// loader report a failed allocation under RLIMIT_AS, and a kill by the
// kernel's OOM killer.
func outOfMemory(stderr string, err error) bool {
	for _, s := range []string{"bad_alloc", "Out of memory", "out of memory", "Cannot allocate memory", "failed to map segment", "alloc fail"} {
		if strings.Contains(stderr, s) {
			return true
		}
	}
	var ee *exec.ExitError
	return errors.As(err, &ee) && killed(ee)
}

// lastMessage is the most telling line of a program's stderr: the last
// line that is not a warning, else the last line.
func lastMessage(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l != "" && !strings.HasPrefix(l, "Warning") && !strings.HasPrefix(l, "Estimating resolution") {
			if len(l) > 300 {
				l = l[:300] + "..."
			}
			return l
		}
	}
	return strings.TrimSpace(lines[len(lines)-1])
}

// capBuffer keeps at most max bytes. Past that it either fails the write
// (stdout: the child gets a broken pipe and the output is refused) or
// drops the rest (stderr: the start says enough).
type capBuffer struct {
	max  int64
	buf  bytes.Buffer
	over bool
	drop bool
}

func (c *capBuffer) Write(p []byte) (int, error) {
	room := c.max - int64(c.buf.Len())
	if int64(len(p)) > room {
		c.over = true
		if room > 0 {
			c.buf.Write(p[:room])
		}
		if c.drop {
			return len(p), nil
		}
		return 0, ErrTooLarge
	}
	return c.buf.Write(p)
}
