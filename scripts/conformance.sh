#!/usr/bin/env bash
# What `make conformance` runs: build (if needed) and start llama.cpp's
# llama-server with the shared tiny random-weight model, run `extractor run`
# on the sample invoices against it, and check that every document completes,
# usage is counted and no value is accepted as grounded (the model's values
# are nonsense). Not part of `make test`: the first build takes 10-20 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

KIT=${LLM_SERVER_KIT:-../shared/llm-server}
if [ ! -x "$KIT/build.sh" ]; then
	echo "conformance: no llm-server kit at $KIT (set LLM_SERVER_KIT)" >&2
	exit 1
fi
"$KIT/build.sh"

port=18090
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
# The tool call for a full invoice is long; the default cap of 512 tokens
# would cut it off.
N_PREDICT=${N_PREDICT:-1536} "$KIT/start.sh" "$port" 0 >&2
trap '"$KIT/stop.sh" >&2' EXIT

mkdir -p .local/conformance
EXTRACTOR_CONFORMANCE_URL="http://127.0.0.1:$port/v1" \
EXTRACTOR_CONFORMANCE_OUT="$PWD/.local/conformance/results.jsonl" \
	go test -tags conformance -run '^TestConformance' -count=1 -timeout 60m -v ./cmd/extractor
echo "conformance: results in .local/conformance/results.jsonl" >&2
