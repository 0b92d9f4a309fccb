#!/usr/bin/env bash
# The eval gate `make test` applies: the rules extractor over the shared
# corpus's public set, compared with the committed baseline
# (testdata/eval/public-rules.json) under testdata/eval/public-rules.gate.yaml.
# A change that makes any field or business metric worse exits 3.
#
#   scripts/eval.sh            run the gate (reports in .local/eval/)
#   scripts/eval.sh --update   rewrite the committed baseline (after a
#                              deliberate change; commit it with the change)
#
# The corpus is third-party data outside the repository (EXTRACTOR_CORPUS, or
# ../shared/corpus): without it the gate is skipped, and says so. The
# baseline is redacted: verdicts and metrics, no labels, values or quotes.
set -euo pipefail
cd "$(dirname "$0")/.."

corpus=${EXTRACTOR_CORPUS:-../shared/corpus}
if [ ! -f "$corpus/public/dataset.jsonl" ]; then
	echo "eval: no corpus at $corpus (set EXTRACTOR_CORPUS): the eval gate is skipped" >&2
	exit 0
fi
state=$(mktemp -d)
trap 'rm -rf "$state"' EXIT
mkdir -p .local/eval
go build -o "$state/extractor" ./cmd/extractor
# --einvoice off: the gate measures the rules reading the page; most public
# files carry an e-invoice, which --einvoice prefer would read instead.
run=("$state/extractor" eval --dataset "$corpus/public" --extractor rules --einvoice off --no-store --state "$state/state"
	--html .local/eval/public-rules.html --csv .local/eval/public-rules.csv)
if [ "${1:-}" = --update ]; then
	"${run[@]}" --redact --out testdata/eval/public-rules.json
	echo "eval: baseline rewritten: testdata/eval/public-rules.json" >&2
else
	"${run[@]}" --out .local/eval/public-rules.json \
		--baseline testdata/eval/public-rules.json --gate testdata/eval/public-rules.gate.yaml
fi
echo "eval: report in .local/eval/public-rules.html" >&2
