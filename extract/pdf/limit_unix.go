//go:build unix

package pdf

import (
	"runtime/debug"
	"syscall"
)

// limitMemory caps the child's address space so a hostile file makes the
// child fail (and be reported) instead of the machine swapping or the OOM
// killer picking another process. The Go runtime is also told, so it
// collects garbage harder before reaching the cap.
func limitMemory(bytes int64) {
	debug.SetMemoryLimit(bytes / 2)
	lim := &syscall.Rlimit{Cur: uint64(bytes), Max: uint64(bytes)}
	_ = syscall.Setrlimit(syscall.RLIMIT_AS, lim) // best effort: some sandboxes forbid it
}
