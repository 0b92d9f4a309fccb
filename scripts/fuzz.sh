#!/usr/bin/env bash
# scripts/fuzz.sh: run every fuzz target of the module (every `func FuzzX`
# in a _test.go file), each for FUZZTIME (default 60s), one after another.
# Targets are found, not listed, so a new one is never forgotten. A crasher
# makes go test fail and leaves its input in the package's testdata/fuzz.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-60s}
n=0
while IFS=: read -r file name; do
	pkg="./$(dirname "$file")"
	echo "fuzz: $pkg $name ($FUZZTIME)" >&2
	go test "$pkg" -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime 5s
	n=$((n + 1))
done < <(git ls-files '*_test.go' | xargs grep -o '^func Fuzz[A-Za-z0-9_]*' | sed 's/func //' | sort)
echo "fuzz: $n targets, $FUZZTIME each" >&2
