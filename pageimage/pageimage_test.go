package pageimage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func file(t *testing.T, path string) (string, []byte) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", path))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), b
}

func TestPage(t *testing.T) {
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		t.Skip("pdftoppm is not installed (scripts/deps.sh installs it)")
	}
	tests := []struct {
		path string
		page int
		want string // content type, or the error's text
		err  error
	}{
		{"invoices/files/synth/synth-0001.pdf", 1, "image/png", nil},
		{"invoices/files/synth/synth-0001.pdf", 9, "", ErrNoPage},
		{"scans/files/scan/scan-0001.jpg", 1, "image/jpeg", nil},
		{"scans/files/scan/scan-0007.png", 1, "image/png", nil},
		{"scans/files/scan/scan-0004.tif", 1, "image/png", nil},
		{"scans/files/scan/scan-0007.png", 2, "", ErrNoPage},
	}
	cache := t.TempDir()
	r := New(Config{CacheDir: cache, DPI: 50})
	for _, tt := range tests {
		t.Run(tt.path+"#"+string(rune('0'+tt.page)), func(t *testing.T) {
			id, b := file(t, tt.path)
			calls := 0
			data := func(context.Context) ([]byte, error) { calls++; return b, nil }
			img, err := r.Page(t.Context(), id, tt.page, 0, data)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if img.ContentType != tt.want || len(img.Data) == 0 {
				t.Fatalf("got %s (%d bytes), want %s", img.ContentType, len(img.Data), tt.want)
			}
			// The second time comes from the cache: the bytes are not read.
			again, err := r.Page(t.Context(), id, tt.page, 0, data)
			if err != nil || calls != 1 || string(again.Data) != string(img.Data) {
				t.Fatalf("cached page: err %v, %d reads of the document", err, calls)
			}
		})
	}
}

func TestPageErrors(t *testing.T) {
	r := New(Config{Pdftoppm: "/nonexistent/pdftoppm"})
	id := strings.Repeat("a", 64)
	_, err := r.Page(t.Context(), "../x", 1, 0, nil)
	if !errors.Is(err, ErrNoPage) {
		t.Errorf("bad id: %v", err)
	}
	_, err = r.Page(t.Context(), id, 1, 0, func(context.Context) ([]byte, error) { return []byte("hello"), nil })
	if !errors.Is(err, ErrUnsupported) {
		t.Errorf("text file: %v", err)
	}
	_, err = r.Page(t.Context(), id, 1, 0, func(context.Context) ([]byte, error) { return []byte("%PDF-1.4\n"), nil })
	if !errors.Is(err, ErrRender) || !strings.Contains(err.Error(), "poppler-utils") {
		t.Errorf("missing pdftoppm: %v", err)
	}
}

// A sideways scan is turned as OCR turned it, so that its image matches
// the page's boxes.
func TestPageRotated(t *testing.T) {
	id, b := file(t, "scans/files/scan/scan-0007.png")
	r := New(Config{CacheDir: t.TempDir()})
	for _, deg := range []int{90, 270, 180} {
		img, err := r.Page(t.Context(), id, 1, deg, func(context.Context) ([]byte, error) { return b, nil })
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(img.Data))
		if err != nil {
			t.Fatal(err)
		}
		w, h := 1359, 532 // the file's size
		if deg != 180 {
			w, h = h, w
		}
		if cfg.Width != w || cfg.Height != h {
			t.Errorf("turned %d: %d x %d, want %d x %d", deg, cfg.Width, cfg.Height, w, h)
		}
	}
}

// pdftoppm runs under an address-space cap where prlimit exists: a cap
// too small for it makes rendering fail (and not the server).
func TestPageMemoryCap(t *testing.T) {
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		t.Skip("pdftoppm is not installed (scripts/deps.sh installs it)")
	}
	if _, err := exec.LookPath("prlimit"); err != nil || runtime.GOOS != "linux" {
		t.Skip("no prlimit: memory is not capped here")
	}
	id, b := file(t, "invoices/files/synth/synth-0001.pdf")
	load := func(context.Context) ([]byte, error) { return b, nil }
	if _, err := New(Config{MemoryLimit: 4 << 20}).Page(t.Context(), id, 1, 0, load); !errors.Is(err, ErrRender) {
		t.Fatalf("4 MiB cap: %v, want ErrRender", err)
	}
	if img, err := New(Config{}).Page(t.Context(), id, 1, 0, load); err != nil || img.ContentType != "image/png" {
		t.Fatalf("default cap: %v", err)
	}
}
