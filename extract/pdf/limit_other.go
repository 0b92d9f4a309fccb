//go:build !unix

package pdf

import "runtime/debug"

// limitMemory sets only the Go runtime's soft limit where rlimits do not exist.
func limitMemory(bytes int64) { debug.SetMemoryLimit(bytes / 2) }
