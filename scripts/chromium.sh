#!/usr/bin/env bash
# scripts/chromium.sh: print the path of a headless-capable Chromium,
# installing Debian's `chromium` package with apt-get when none is found
# (as root or with sudo). A second run installs nothing.
#
#   CHROMIUM=$(scripts/chromium.sh)
#
# On Debian /usr/bin/chromium is a shell wrapper; the binary behind it,
# /usr/lib/chromium/chromium, is printed when present (DevTools clients
# such as chromedp talk to it directly).
set -euo pipefail

log() { printf 'chromium.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

find_chromium() {
  local c
  if [[ -n "${CHROMIUM:-}" && -x "${CHROMIUM}" ]]; then
    printf '%s\n' "$CHROMIUM"
    return 0
  fi
  for c in /usr/lib/chromium/chromium chromium chromium-browser google-chrome; do
    if command -v "$c" >/dev/null 2>&1; then
      command -v "$c"
      return 0
    fi
  done
  return 1
}

if find_chromium; then
  exit 0
fi
command -v apt-get >/dev/null 2>&1 || die "Chromium is missing and there is no apt-get: install Chromium, or set CHROMIUM"
SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || die "Chromium is missing: run as root: apt-get install chromium"
  SUDO=(sudo)
fi
log "installing chromium with apt-get"
export DEBIAN_FRONTEND=noninteractive
aptlog=$(mktemp "${TMPDIR:-/tmp}/chromium-apt.XXXXXX")
trap 'rm -f "$aptlog"' EXIT
# Update the lists only when the package is unknown to apt.
if ! apt-cache show chromium >/dev/null 2>&1; then
  "${SUDO[@]}" apt-get update -qq >"$aptlog" 2>&1 || { cat "$aptlog" >&2; die "apt-get update failed"; }
fi
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >"$aptlog" 2>&1 \
  || { cat "$aptlog" >&2; die "apt-get install chromium failed"; }
find_chromium || die "Chromium is still missing after apt-get install"
