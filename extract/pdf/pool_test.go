package pdf

import (
	"bytes"
	"context"
	"errors"
	"io"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"
)

// crashMarker in a request's bytes makes the "crash-marker" test child
// die of a stack overflow (fatal: no recover), as a hostile file can.
const crashMarker = "%CRASH-THE-CHILD"

type crashReader struct{ r io.Reader }

func (c crashReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if bytes.Contains(p[:n], []byte(crashMarker)) {
		debug.SetMaxStack(ChildMaxStack)
		var f func(int) int
		f = func(n int) int { return f(n+1) + 1 }
		f(0)
	}
	return n, err
}

func testPool(t *testing.T, mode string, cfg PoolConfig) *Pool {
	cfg.Command = testIsolation(t, mode).Command
	p := NewPool(cfg)
	t.Cleanup(func() { p.Close() })
	return p
}

// A pool's child parses file after file; a child is replaced after a
// failure that may leave it unfit (malformed: a recovered panic), after a
// crash, past its deadline, after MaxUses parses or above RetireAbove,
// and kept after ordinary outcomes (no text). Each parse's outcome is the
// one a child of its own gives.
func TestPool(t *testing.T) {
	hello := onePage("BT /F1 12 Tf 72 700 Td (Hello World) Tj ET")
	noText := onePage("0 0 m 1 1 l S")
	crash := append(onePage("BT /F1 12 Tf 72 700 Td (Hi) Tj ET"), []byte("\n"+crashMarker+"\n")...)
	type step struct {
		data    []byte
		want    error // nil: ok
		inText  string
		timeout time.Duration
	}
	ok := step{data: hello, inText: "Hello World"}
	tests := []struct {
		name       string
		mode       string
		cfg        PoolConfig
		steps      []step
		wantStarts int
	}{
		{"one child parses them all", "1", PoolConfig{Size: 1}, []step{ok, ok, {data: noText, want: ErrNoText}, ok, ok}, 1},
		{"a malformed file retires its child", "1", PoolConfig{Size: 1}, []step{ok, {data: []byte("not a pdf"), want: ErrMalformed}, ok}, 2},
		{"MaxUses", "1", PoolConfig{Size: 1, MaxUses: 2}, []step{ok, ok, ok, ok, ok}, 3},
		{"RetireAbove", "1", PoolConfig{Size: 1, RetireAbove: 1}, []step{ok, ok, ok}, 3},
		// The crash on a reused child is asked again of a fresh one
		// (which crashes too): the outcome is the file's own.
		{"a crash", "crash-marker", PoolConfig{Size: 1}, []step{ok, {data: crash, want: ErrMalformed, inText: "stack"}, ok}, 3},
		{"a crash on a fresh child", "crash-marker", PoolConfig{Size: 1}, []step{{data: crash, want: ErrMalformed, inText: "stack"}, ok}, 2},
		{"a hung child is killed", "hang", PoolConfig{Size: 1}, []step{{data: hello, want: context.DeadlineExceeded, timeout: 100 * time.Millisecond},
			{data: hello, want: context.DeadlineExceeded, timeout: 100 * time.Millisecond}}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPool(t, tt.mode, tt.cfg)
			for i, s := range tt.steps {
				doc, err := p.ParseBytes(context.Background(), s.data, Options{Timeout: cmpOr(s.timeout, 5*time.Minute)})
				switch {
				case s.want == nil && err != nil:
					t.Fatalf("step %d: %v", i, err)
				case s.want != nil && !errors.Is(err, s.want):
					t.Fatalf("step %d: err %v, want %v", i, err, s.want)
				case s.want == nil && !strings.Contains(doc.Text(), s.inText):
					t.Errorf("step %d: text %q", i, doc.Text())
				case s.want != nil && !strings.Contains(err.Error(), s.inText):
					t.Errorf("step %d: err %v lacks %q", i, err, s.inText)
				}
			}
			if got := p.Starts(); got != tt.wantStarts {
				t.Errorf("%d children started, want %d", got, tt.wantStarts)
			}
		})
	}
}

func cmpOr(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// Parses in parallel use at most Size children, each answer its own
// document; a cancelled parse ends with its context; a closed pool
// parses no more.
func TestPoolConcurrentAndClose(t *testing.T) {
	p := testPool(t, "1", PoolConfig{Size: 2})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			text := strings.Repeat("x", i+1)
			doc, err := p.ParseBytes(context.Background(), onePage("BT /F1 12 Tf 72 700 Td ("+text+") Tj ET"), Options{})
			if err != nil || strings.TrimSpace(doc.Text()) != text {
				t.Errorf("parse %d: %q %v", i, doc.Text(), err)
			}
		}()
	}
	wg.Wait()
	if n := p.Starts(); n > 2 {
		t.Errorf("%d children for a pool of 2", n)
	}
	if n, err := p.PageCount(context.Background(), onePage(""), Options{}); err != nil || n != 1 {
		t.Errorf("page count: %d %v", n, err)
	}
	hung := testPool(t, "hang", PoolConfig{Size: 1})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	if _, err := hung.ParseBytes(ctx, onePage(""), Options{Timeout: 5 * time.Minute}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	p.Close()
	if _, err := p.ParseBytes(context.Background(), onePage(""), Options{}); !errors.Is(err, errPoolClosed) {
		t.Errorf("after Close: %v", err)
	}
}
