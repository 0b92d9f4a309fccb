//go:build unix

package ocr

import (
	"os/exec"
	"syscall"
)

// killed reports a child killed by SIGKILL that this package did not kill
// (the deadline is checked first): the kernel's out-of-memory killer.
func killed(ee *exec.ExitError) bool {
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}
