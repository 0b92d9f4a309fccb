#!/usr/bin/env bash
# What `make demo` runs: the main job end to end on the bundled sample
# invoices (testdata/invoices), with the project's own database.
#
#   1. install what is missing (scripts/deps.sh: PostgreSQL, pgvector, ...)
#   2. start the project-local PostgreSQL (scripts/pg.sh) with its database
#      extractor_demo, and migrate it
#   3. extract the invoices into a table of key fields, storing documents,
#      chunks, embeddings and extractions in the database
#   4. search the stored chunks, and ask a question of them
#   5. say what the database holds
#   6. evaluate the samples against their labels: the business summary, and
#      the HTML report in .local/demo/eval.html
#   7. stop the server if this script started it (KEEP_DB=1 leaves it running)
#
# Offline by default: the rules extractor, the hashing embedder, and 'ask'
# prints the passages it would answer from. With EXTRACTOR_LLM_BASE_URL and
# EXTRACTOR_LLM_MODEL (and a key in EXTRACTOR_LLM_API_KEY or OPENAI_API_KEY)
# the LLM extracts and answers instead.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh

if [ -z "${EXTRACTOR_DATABASE_URL:-}" ]; then
	started=1
	scripts/pg.sh status >/dev/null 2>&1 && started=0
	dsn=$(EXTRACTOR_PG_DB=extractor_demo scripts/pg.sh start)
	if [ "$started" = 1 ] && [ -z "${KEEP_DB:-}" ]; then
		trap 'scripts/pg.sh stop' EXIT
	fi
	eval "$dsn"
	export EXTRACTOR_DATABASE_URL
fi

go build -o bin/extractor ./cmd/extractor
x=bin/extractor

step() { printf '\n== %s\n' "$*"; }

step "extractor db migrate"
$x db migrate

step "extractor run --format table testdata/invoices"
status=0
$x run --format table testdata/invoices || status=$?

step 'extractor search "Rechnungsbetrag Richter Gebäudereinigung" --k 3'
$x search "Rechnungsbetrag Richter Gebäudereinigung" --k 3

step 'extractor search "invoice total" --filter vendor_name~brookfield --filter total_amount>=10000 --k 2'
$x search "invoice total" --filter vendor_name~brookfield --filter 'total_amount>=10000' --k 2

step 'extractor ask "What is the total amount due on invoice I2330928 from Brookfield Digital Ltd?" --k 2'
$x ask "What is the total amount due on invoice I2330928 from Brookfield Digital Ltd?" --k 2

step "extractor db status"
$x db status

mkdir -p .local/demo
step "extractor eval --dataset testdata/invoices --html .local/demo/eval.html"
$x eval --dataset testdata/invoices --html .local/demo/eval.html --out .local/demo/eval.json | sed -n '1,/^$/p'
printf 'The whole report: .local/demo/eval.html (field table: extractor eval --dataset testdata/invoices)\n'

printf '\nRuns, traces and lineage: bin/extractor runs; bin/extractor traces list; bin/extractor lineage synth-0001.pdf total_amount\n'
exit "$status"
