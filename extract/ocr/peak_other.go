//go:build !linux

package ocr

func peakRSS(int) (int64, bool) { return 0, false }
