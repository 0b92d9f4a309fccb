package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestDirCache(t *testing.T) {
	c := DirCache{Dir: t.TempDir()}
	ctx := context.Background()
	key := Hash("step", "v1", "input")
	if _, ok, err := c.Get(ctx, key); ok || err != nil {
		t.Fatalf("empty cache: %v %v", ok, err)
	}
	if err := c.Put(ctx, key, []byte(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	b, ok, err := c.Get(ctx, key)
	if !ok || err != nil || string(b) != `{"a":1}` {
		t.Fatalf("get = %q %v %v", b, ok, err)
	}
	// Concurrent writers of the same key never leave a torn value.
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); c.Put(ctx, key, []byte(`{"a":1}`)) }()
	}
	wg.Wait()
	if b, _, _ := c.Get(ctx, key); string(b) != `{"a":1}` {
		t.Errorf("after concurrent puts: %q", b)
	}
	left, _ := filepath.Glob(filepath.Join(c.Dir, key[:2], ".tmp-*"))
	if len(left) != 0 {
		t.Errorf("temp files left: %v", left)
	}
	for _, bad := range []string{"", "../../etc/passwd", "short", "a/b/c/d/e/f"} {
		if err := c.Put(ctx, bad, nil); err == nil {
			t.Errorf("bad key %q accepted", bad)
		}
	}
	os.Chmod(c.Dir, 0o500) // read-only: a put fails with an error, not a panic
	defer os.Chmod(c.Dir, 0o755)
	if os.Geteuid() != 0 {
		if err := c.Put(ctx, Hash("other"), []byte("x")); err == nil {
			t.Error("put into a read-only cache succeeded")
		}
	}
}

func TestHash(t *testing.T) {
	x1, x2 := Hash("x"), Hash("x")
	if Hash("ab", "c") == Hash("a", "bc") || Hash("a") == Hash("a", "") || x1 != x2 {
		t.Error("Hash must separate parts and be deterministic")
	}
	h1, _, _ := HashJSON(map[string]int{"b": 2, "a": 1})
	h2, _, _ := HashJSON(map[string]int{"a": 1, "b": 2})
	if h1 != h2 {
		t.Error("HashJSON depends on map order")
	}
}
