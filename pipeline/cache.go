package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Cache stores step outputs by key. A key is a content hash of everything
// a step's output depends on, so a hit is always safe to use.
type Cache interface {
	Get(ctx context.Context, key string) ([]byte, bool, error)
	Put(ctx context.Context, key string, value []byte) error
}

// DirCache is a Cache in a local directory: one file per key, under a
// two-character fan-out directory, written atomically (temp file and
// rename) so concurrent runs and a crash never leave half a value.
type DirCache struct {
	Dir string
}

func (c DirCache) path(key string) (string, error) {
	if len(key) < 8 || strings.ContainsAny(key, `/\.`) {
		return "", fmt.Errorf("cache: bad key %q", key)
	}
	return filepath.Join(c.Dir, key[:2], key+".json"), nil
}

// Get returns the value stored under key.
func (c DirCache) Get(ctx context.Context, key string) ([]byte, bool, error) {
	p, err := c.path(key)
	if err != nil {
		return nil, false, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return b, true, nil
}

// Put stores value under key.
func (c DirCache) Put(ctx context.Context, key string, value []byte) error {
	p, err := c.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(value); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), p)
}

// Hash returns the hex SHA-256 of its parts, each length-prefixed so that
// ("ab", "c") and ("a", "bc") differ.
func Hash(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// HashJSON hashes a value's JSON encoding (map keys are sorted by
// encoding/json, so equal values hash equally).
func HashJSON(v any) (string, []byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", nil, err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), b, nil
}
