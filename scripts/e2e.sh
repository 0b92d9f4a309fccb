#!/usr/bin/env bash
# scripts/e2e.sh: the web pages end to end in headless Chromium
# (cmd/extractor/e2e_test.go, build tag e2e): 'extractor serve' on the
# project's PostgreSQL+pgvector, a batch through the fake LLM, then a
# browser logs in, uploads a PDF, reads its fields beside the text,
# filters a run, opens a trace and the eval report, and logs out; then the
# review loop (queue, correct by clicking a line on the page image,
# approve, export, dataset, eval; a second session's conflict), each page
# screenshot at 1280 and 1920 px and checked by axe-core.
#
#   scripts/e2e.sh            (make e2e; make test runs it too)
#
# Installs Chromium (scripts/chromium.sh) and the database's packages
# (scripts/deps.sh) when missing, and starts the project-local cluster
# unless EXTRACTOR_DATABASE_URL names a database. The screenshots (one
# PNG per page) go to EXTRACTOR_E2E_SHOTS, by default .local/e2e/: look
# at them after a change to the pages.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh
CHROMIUM=$(scripts/chromium.sh)
export CHROMIUM
# axe-core (npm) checks every page of the review loop's test for
# accessibility violations; installed into .local/axe, never committed.
EXTRACTOR_AXE=$(scripts/axe.sh)
export EXTRACTOR_AXE
export EXTRACTOR_REQUIRE_DB=1
if [ -z "${EXTRACTOR_DATABASE_URL:-}" ]; then
	dsn=$(scripts/pg.sh start)
	trap 'scripts/pg.sh stop' EXIT
	eval "$dsn"
	[ -n "${EXTRACTOR_DATABASE_URL:-}" ] || { echo "e2e: scripts/pg.sh start gave no DSN" >&2; exit 1; }
fi
export EXTRACTOR_E2E_SHOTS=${EXTRACTOR_E2E_SHOTS:-$PWD/.local/e2e}
mkdir -p "$EXTRACTOR_E2E_SHOTS"
go test -tags e2e -count=1 -timeout 40m -run 'E2E' ./cmd/extractor
echo "e2e: screenshots in $EXTRACTOR_E2E_SHOTS" >&2
