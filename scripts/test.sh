#!/usr/bin/env bash
# What `make test` runs: install missing system packages, start the
# project-local PostgreSQL with pgvector (unless EXTRACTOR_DATABASE_URL
# already names a database), vet and test everything, run the eval gate
# (scripts/eval.sh), test the web pages in headless Chromium
# (scripts/e2e.sh), stop the cluster.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh

# A test that needs the database fails (never skips) when it is missing.
export EXTRACTOR_REQUIRE_DB=1
# So does an OCR test without tesseract or pdftoppm (deps.sh installs them).
export EXTRACTOR_REQUIRE_OCR=1
if [ -z "${EXTRACTOR_DATABASE_URL:-}" ]; then
	# Not `eval "$(...)"`: that would hide a failed start behind eval's 0.
	dsn=$(scripts/pg.sh start)
	trap 'scripts/pg.sh stop' EXIT
	eval "$dsn"
	[ -n "${EXTRACTOR_DATABASE_URL:-}" ] || { echo "test: scripts/pg.sh start gave no DSN" >&2; exit 1; }
else
	echo "test: using EXTRACTOR_DATABASE_URL from the environment" >&2
fi

go vet ./...
go vet -tags e2e ./cmd/extractor
go test -timeout 60m ./...
# The web pages in headless Chromium (installed when missing), on the
# database started above.
scripts/e2e.sh
# The eval gate: the rules extractor on the shared corpus against the
# committed baseline (skipped, saying so, when the corpus is absent).
scripts/eval.sh
