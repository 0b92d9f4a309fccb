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
#   7. extract the sample e-invoices (testdata/einvoice): those whose printed
#      values disagree with their embedded XML go to the review queue
#   8. serve the review pages: a key for the demo, 'extractor serve' in the
#      background, and the URL of the review queue with the documents that
#      need a person (the database and the server keep running; the script
#      says how to stop them). DEMO_SERVE=0 skips this step and stops the
#      database if this script started it (as KEEP_DB unset did before).
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
	if [ "$started" = 1 ] && [ -z "${KEEP_DB:-}" ] && [ "${DEMO_SERVE:-1}" = 0 ]; then
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

if [ "${DEMO_SERVE:-1}" = 0 ]; then
	exit "$status"
fi

step "extractor run testdata/einvoice (e-invoices whose printed values disagree with their XML need a person)"
$x run testdata/einvoice || status=$?

step "extractor serve: the review loop in the browser"
addr=${DEMO_ADDR:-127.0.0.1:8080}
key=$($x keys create --name demo-reviewer)
mkdir -p .local/demo
nohup $x serve --addr "$addr" >.local/demo/serve.log 2>&1 &
pid=$!
for _ in $(seq 1 100); do
	curl -fsS "http://$addr/readyz" >/dev/null 2>&1 && break
	kill -0 "$pid" 2>/dev/null || { echo "demo: the server did not start (see .local/demo/serve.log)" >&2; exit 1; }
	sleep 0.3
done
total=$(curl -fsS -H "Authorization: Bearer $key" "http://$addr/v1/review/queue?limit=1" | sed -n 's/.*"total":\([0-9]*\).*/\1/p')
printf 'The server runs as process %s (log: .local/demo/serve.log); stop it with: kill %s; scripts/pg.sh stop\n' "$pid" "$pid"
printf 'Log in with this key (made for the demo; revoke it with: bin/extractor keys revoke): %s\n' "$key"
printf '\n%s documents wait for review at:\n\n    http://%s/ui/review\n' "${total:-?}" "$addr"
exit "$status"
