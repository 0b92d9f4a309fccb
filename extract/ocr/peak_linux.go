package ocr

import (
	"bytes"
	"os"
	"strconv"
)

// peakRSS reads a running process's peak resident memory (VmHWM) from
// /proc. rusage cannot tell it: a child that Go starts shares the parent's
// memory until it execs, and Linux carries that high-water mark into the
// child's ru_maxrss, so a large parent makes every child look large.
func peakRSS(pid int) (int64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, false
	}
	i := bytes.Index(b, []byte("VmHWM:"))
	if i < 0 {
		return 0, false
	}
	f := bytes.Fields(b[i+len("VmHWM:"):])
	if len(f) < 2 || string(f[1]) != "kB" {
		return 0, false
	}
	kb, err := strconv.ParseInt(string(f[0]), 10, 64)
	return kb << 10, err == nil
}
