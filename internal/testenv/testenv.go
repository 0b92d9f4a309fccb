// Package testenv finds what tests need from outside the repository: the
// shared corpus of third-party PDFs (optional: tests skip without it), the
// PostgreSQL database that `make test` starts and the OCR programs
// scripts/deps.sh installs (both required in CI). It is imported by tests
// only.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// RepoRoot returns the directory holding go.mod, found from the working
// directory upwards.
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("testenv: no go.mod above the working directory")
		}
		dir = parent
	}
}

// CorpusDir returns the shared corpus folder (EXTRACTOR_CORPUS, or
// ../shared/corpus next to the repository) and skips the test when it is
// absent: the corpus is third-party data that is never committed here.
func CorpusDir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("EXTRACTOR_CORPUS")
	if dir == "" {
		dir = filepath.Join(RepoRoot(tb), "..", "shared", "corpus")
	}
	if _, err := os.Stat(filepath.Join(dir, "README.md")); err != nil {
		tb.Skipf("shared corpus not found at %s (set EXTRACTOR_CORPUS): skipping", dir)
	}
	return dir
}

// Testdata returns a path under the repository's testdata folder.
func Testdata(tb testing.TB, elem ...string) string {
	tb.Helper()
	return filepath.Join(append([]string{RepoRoot(tb), "testdata"}, elem...)...)
}

// DatabaseURL returns the DSN of the test database from
// EXTRACTOR_DATABASE_URL. Without it the test fails when running in CI
// (CI is set) or when EXTRACTOR_REQUIRE_DB is set, and is skipped
// otherwise, so `go test ./...` on a laptop without the script still works
// while CI can never silently skip the store.
func DatabaseURL(tb testing.TB) string {
	tb.Helper()
	if dsn := os.Getenv("EXTRACTOR_DATABASE_URL"); dsn != "" {
		return dsn
	}
	if os.Getenv("CI") != "" || os.Getenv("EXTRACTOR_REQUIRE_DB") != "" {
		tb.Fatal("EXTRACTOR_DATABASE_URL is not set: run the tests through `make test`, which starts PostgreSQL with pgvector")
	}
	tb.Skip("EXTRACTOR_DATABASE_URL is not set: skipping database test (run `make test`)")
	return ""
}

// SchemaURL returns the DSN of a new, empty schema of the test database,
// named prefix plus a random suffix and first on the search_path (pgvector
// stays in public, where it is created once). The schema is dropped when
// the test ends, so tests run in parallel against one database.
func SchemaURL(tb testing.TB, prefix string) string {
	tb.Helper()
	dsn := DatabaseURL(tb)
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	// The extension is per database: created under a lock, since CREATE
	// EXTENSION IF NOT EXISTS races with itself.
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock(4242); CREATE EXTENSION IF NOT EXISTS vector SCHEMA public; SELECT pg_advisory_unlock(4242)"); err != nil {
		admin.Close(ctx)
		tb.Fatal(err)
	}
	var b [6]byte
	rand.Read(b[:])
	schema := prefix + hex.EncodeToString(b[:])
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close(ctx)
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		defer admin.Close(ctx)
		drop := "DROP SCHEMA " + schema + " CASCADE"
		_, err := admin.Exec(ctx, drop)
		if err != nil {
			// The server may have been restarted under the test (the
			// measure of faults does): once more on a new connection.
			if c, cerr := pgx.Connect(ctx, dsn); cerr == nil {
				_, err = c.Exec(ctx, drop)
				c.Close(ctx)
			}
		}
		if err != nil {
			tb.Errorf("dropping %s: %v", schema, err)
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema+",public")
	u.RawQuery = q.Encode()
	return u.String()
}

// Program returns the path of a program tests need (tesseract, pdftoppm),
// which scripts/deps.sh installs from the named Debian package. Without it
// the test fails when running in CI (CI is set) or when
// EXTRACTOR_REQUIRE_OCR is set (`make test` sets it), and is skipped
// otherwise.
func Program(tb testing.TB, name, debianPackage string) string {
	tb.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	msg := name + " is not installed (Debian package " + debianPackage + "; scripts/deps.sh installs it)"
	if os.Getenv("CI") != "" || os.Getenv("EXTRACTOR_REQUIRE_OCR") != "" {
		tb.Fatal(msg)
	}
	tb.Skip(msg + ": skipping")
	return ""
}
