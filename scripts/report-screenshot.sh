#!/usr/bin/env bash
# scripts/report-screenshot.sh: render an HTML page (an eval report from
# `extractor eval --html`) to a PNG with headless Chromium.
#
#   scripts/report-screenshot.sh REPORT.html OUT.png [WIDTHxHEIGHT]
#
# The window defaults to 1280x4000 (the screenshot is the window, not the
# whole page: give a taller window for a longer page). Chromium is
# installed with apt-get (Debian package `chromium`) when missing, as
# root or with sudo. It runs offline: a throwaway profile, no network
# features, and the page itself references nothing remote.
# A second run with Chromium present installs nothing.
set -euo pipefail

log() { printf 'report-screenshot.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ $# -ge 2 && $# -le 3 ]] || die "usage: $0 REPORT.html OUT.png [WIDTHxHEIGHT]"
in=$1 out=$2 size=${3:-1280x4000}
[[ -f "$in" ]] || die "$in: no such file"
[[ "$size" =~ ^([0-9]+)x([0-9]+)$ ]] || die "size $size: want WIDTHxHEIGHT, e.g. 1280x4000"
width=${BASH_REMATCH[1]} height=${BASH_REMATCH[2]}

CHROMIUM=$("$(dirname "${BASH_SOURCE[0]}")/chromium.sh") || die "no Chromium"

abs() { # a path made absolute
  case $1 in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s/%s\n' "$(pwd -P)" "$1" ;;
  esac
}
in_abs=$(abs "$in")
out_abs=$(abs "$out")
mkdir -p "$(dirname "$out_abs")"

profile=$(mktemp -d "${TMPDIR:-/tmp}/report-screenshot.XXXXXX")
trap 'rm -rf "$profile"' EXIT

args=(--headless --disable-gpu --hide-scrollbars --no-first-run --no-default-browser-check
  --disable-extensions --disable-background-networking --disable-sync --disable-component-update
  --user-data-dir="$profile" --window-size="$width,$height" --screenshot="$out_abs")
# Chromium's sandbox refuses to run as root.
[[ $(id -u) -eq 0 ]] && args+=(--no-sandbox)

rm -f "$out_abs"
if ! "$CHROMIUM" "${args[@]}" "file://$in_abs" >"$profile/log" 2>&1 || [[ ! -s "$out_abs" ]]; then
  cat "$profile/log" >&2
  die "chromium did not write $out"
fi
log "$out (${width}x${height})"
