package einvoice

import (
	"os"
	"testing"

	"github.com/extractor-dev/extractor/internal/testenv"
)

// BenchmarkRead reads an EN 16931 CII invoice of eight lines (the
// project's synthetic hybrid fixture), rule checks included.
func BenchmarkRead(b *testing.B) {
	data, err := os.ReadFile(testenv.Testdata(b, "einvoice", "xml", "synth-0001-cii.xml"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Read(data); err != nil {
			b.Fatal(err)
		}
	}
}
