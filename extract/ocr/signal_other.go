//go:build !unix

package ocr

import (
	"os"
	"os/exec"
)

func killed(*exec.ExitError) bool { return false }

func maxRSS(*os.ProcessState) int64 { return 0 }
