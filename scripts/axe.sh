#!/usr/bin/env bash
# scripts/axe.sh: print the path of axe-core's browser build (axe.min.js),
# installing the npm package axe-core into .local/axe (never committed)
# when it is not there yet. The Chromium end-to-end test injects it into
# every page and fails on the accessibility violations it reports.
#
#   EXTRACTOR_AXE=$(scripts/axe.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
version=4.10.3
dir=.local/axe
js=$dir/node_modules/axe-core/axe.min.js
if [[ ! -f $js ]] || ! grep -q "\"version\": \"$version\"" "$dir/node_modules/axe-core/package.json" 2>/dev/null; then
	command -v npm >/dev/null || { echo "axe.sh: npm is needed (Debian: apt-get install npm)" >&2; exit 1; }
	mkdir -p "$dir"
	npm install --prefix "$dir" --no-audit --no-fund --silent "axe-core@$version" >&2
fi
printf '%s\n' "$PWD/$js"
