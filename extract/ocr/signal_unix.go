//go:build unix

package ocr

import (
	"os"
	"os/exec"
	"runtime"
	"syscall"
)

// killed reports a child killed by SIGKILL that this package did not kill
// (the deadline is checked first): the kernel's out-of-memory killer.
func killed(ee *exec.ExitError) bool {
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// maxRSS is a finished child's peak resident memory in bytes.
func maxRSS(ps *os.ProcessState) int64 {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0
	}
	if runtime.GOOS == "darwin" {
		return int64(ru.Maxrss) // bytes there
	}
	return int64(ru.Maxrss) << 10 // kilobytes on Linux and the BSDs
}
