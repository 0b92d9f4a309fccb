#!/usr/bin/env bash
# scripts/deps.sh: install what the tests need, only what is missing.
#
#   - a PostgreSQL server (the platform's default major version)
#   - the pgvector extension for the server that scripts/pg.sh uses
#   - make and a C compiler (also what pgvector's build needs)
#   - poppler-utils (pdftotext for comparison tests, pdftoppm to render
#     pages for OCR)
#   - tesseract-ocr with the English, German, French and orientation data
#     (tesseract-ocr-eng, -deu, -fra, -osd): OCR of scans (extract/ocr)
#
# Debian/Ubuntu: apt-get (as root, with sudo, or it prints what to run as root).
#   pgvector: the binary package postgresql-NN-pgvector when apt has one
#   (Ubuntu, Debian 13+, apt.postgresql.org); on Debian without it (Debian 12),
#   it is built from Debian 13's ("trixie") source package, fetched with a
#   private apt configuration in .local/pgvector/ (the system's apt sources
#   are not touched), against postgresql-server-dev-NN.
# macOS: Homebrew (postgresql@17, pgvector, poppler, tesseract, tesseract-lang).
# Elsewhere: it says what is missing and exits non-zero.
#
# A second run finds everything present and does nothing (well under a second).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
PG_SH="$ROOT/scripts/pg.sh"
CACHE="$ROOT/.local/pgvector"
TRIXIE_SUITE=trixie
DEFAULT_MIRROR=http://deb.debian.org/debian
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

log() { printf 'deps.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- what is there ---------------------------------------------------------

BINDIR=""
server_bindir() { # the server scripts/pg.sh will use, or nothing
  BINDIR=$("$PG_SH" bindir 2>/dev/null) || BINDIR=""
}

pg_config_of() { # bindir -> the pg_config of that server
  if [[ -x "$1/pg_config" ]]; then
    printf '%s\n' "$1/pg_config"
  elif command -v pg_config >/dev/null 2>&1; then
    command -v pg_config
  fi
}

pg_major() { # bindir -> "15"
  local v
  v=$("$1/postgres" -V)
  v=${v##*) }
  printf '%s\n' "${v%%[.a-z ]*}"
}

vector_control() { # bindir -> path of vector.control for that server
  local pgc share
  pgc=$(pg_config_of "$1")
  if [[ -n "$pgc" ]]; then
    share=$("$pgc" --sharedir)
  else
    share="/usr/share/postgresql/$(pg_major "$1")"
  fi
  printf '%s\n' "$share/extension/vector.control"
}

vector_installed() {
  [[ -n "$BINDIR" && -f "$(vector_control "$BINDIR")" ]]
}

vector_version() {
  sed -n "s/^default_version *= *'\(.*\)'.*/\1/p" "$(vector_control "$BINDIR")"
}

have() { command -v "$1" >/dev/null 2>&1; }

# OCR: the programs and language data extract/ocr uses, as Debian packages.
OCR_PACKAGES=(tesseract-ocr tesseract-ocr-eng tesseract-ocr-deu tesseract-ocr-fra tesseract-ocr-osd)

dpkg_installed() { # package -> 0 when dpkg has it installed
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}

# ocr_missing_apt: append the OCR packages that are not installed to the
# array named by $1.
ocr_missing_apt() {
  local -n into=$1
  local p
  for p in "${OCR_PACKAGES[@]}"; do
    dpkg_installed "$p" || into+=("$p")
  done
  have pdftoppm || [[ " ${into[*]} " == *" poppler-utils "* ]] || into+=(poppler-utils)
}

# tesseract_has_langs: 0 when tesseract lists every language OCR needs.
tesseract_has_langs() {
  local langs
  langs=$(tesseract --list-langs 2>/dev/null) || return 1
  for l in eng deu fra osd; do
    grep -qx "$l" <<<"$langs" || return 1
  done
}

tesseract_version() {
  tesseract --version 2>/dev/null | sed -n '1s/^tesseract //p'
}

# --- running as root -------------------------------------------------------

IS_ROOT=0
[[ "$(id -u)" == 0 ]] && IS_ROOT=1

# as_root CMD...: run CMD as root (directly, or with sudo); without either,
# print exactly what to run and stop.
as_root() {
  if [[ $IS_ROOT == 1 ]]; then
    "$@"
  elif have sudo; then
    sudo "$@"
  else
    log "not root and no sudo: run this as root, then run scripts/deps.sh again:"
    printf '  %s\n' "$(printf '%q ' "$@")" >&2
    exit 1
  fi
}

# --- apt ---------------------------------------------------------------------

can_root() { [[ $IS_ROOT == 1 ]] || have sudo; }

APT_UPDATED=0
apt_update() {
  [[ $APT_UPDATED == 1 ]] && return 0
  # Without root, apt-cache answers from the lists as they are.
  can_root || return 0
  log "apt-get update"
  as_root apt-get update -q >&2
  APT_UPDATED=1
}

apt_install() {
  if ! can_root; then
    log "not root and no sudo: run this as root, then run scripts/deps.sh again:"
    printf '  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends %s\n' "$*" >&2
    exit 1
  fi
  apt_update
  log "apt-get install $*"
  as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "$@" >&2
}

apt_candidate() { # package -> candidate version, or nothing
  local c
  c=$(apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: *//p')
  [[ "$c" == "(none)" ]] || printf '%s\n' "$c"
}

os_field() { # ID, VERSION_CODENAME... from /etc/os-release
  (
    # shellcheck disable=SC1091
    . /etc/os-release 2>/dev/null || true
    eval "printf '%s\n' \"\${$1:-}\""
  )
}

# debian_mirror: the Debian mirror this machine already uses (the URIs of the
# deb822 stanza for its release, or a sources.list deb line), else deb.debian.org.
debian_mirror() {
  local codename uri=""
  codename=$(os_field VERSION_CODENAME)
  if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
    uri=$(awk -v cn="$codename" '
      BEGIN { RS = ""; FS = "\n" }
      {
        uris = ""; suites = ""; types = ""; enabled = "yes"
        for (i = 1; i <= NF; i++) {
          line = $i
          if (line ~ /^[ \t]*#/) continue
          key = tolower(line); sub(/:.*/, "", key)
          val = line; sub(/^[^:]*:[ \t]*/, "", val)
          if (key == "uris") uris = val
          else if (key == "suites") suites = " " val " "
          else if (key == "types") types = " " val " "
          else if (key == "enabled") enabled = tolower(val)
        }
        if (enabled != "no" && types ~ / deb / && suites ~ (" " cn " ") && uris != "") {
          split(uris, u, /[ \t]+/); print u[1]; exit
        }
      }' /etc/apt/sources.list.d/debian.sources)
  fi
  if [[ -z "$uri" && -f /etc/apt/sources.list ]]; then
    uri=$(sed -e 's/#.*//' -e 's/\[[^]]*\]//' /etc/apt/sources.list |
      awk -v cn="$codename" '$1 == "deb" && $3 == cn { print $2; exit }')
  fi
  case "$uri" in
    http://* | https://*) printf '%s\n' "${uri%/}" ;;
    *) printf '%s\n' "$DEFAULT_MIRROR" ;;
  esac
}

server_headers() { # pg_config -> 0 when an extension can be built against it
  local inc pgxs
  inc=$("$1" --includedir-server 2>/dev/null) || return 1
  pgxs=$("$1" --pgxs 2>/dev/null) || return 1
  [[ -f "$inc/postgres.h" && -f "$pgxs" ]]
}

# build_pgvector_from_trixie: Debian 12 ships no pgvector; Debian 13 has the
# source package. Fetch it with a private apt configuration (sources list,
# lists and cache all under .local/pgvector/apt), so the system's apt setup
# and package lists stay as they are, then build and install it with PGXS.
build_pgvector_from_trixie() {
  local major=$1 pgc=$2
  local need=()
  # Debian's postgresql-NN has the PGXS makefiles; the headers come with -dev.
  server_headers "$pgc" || need+=("postgresql-server-dev-$major")
  have dpkg-source || need+=(dpkg-dev)
  # The trixie release is signed with keys that bookworm's keyring package
  # has since 2023.3; an older keyring gets upgraded.
  [[ -f /usr/share/keyrings/debian-archive-trixie-stable.gpg ]] || need+=(debian-archive-keyring)
  if ((${#need[@]})); then
    apt_install "${need[@]}"
  fi
  server_headers "$pgc" || die "no server headers or PGXS for $pgc after installing postgresql-server-dev-$major"

  local apt_dir="$CACHE/apt" src_dir="$CACHE/src"
  mkdir -p "$apt_dir/sources.list.d" "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$src_dir"

  local dsc
  dsc=$(find "$src_dir" -maxdepth 1 -name 'pgvector_*.dsc' | sort -V | tail -n 1)
  if [[ -z "$dsc" ]]; then
    local mirror opts="signed-by=$KEYRING"
    mirror=$(debian_mirror)
    # snapshot.debian.org serves old Release files: their Valid-Until has passed.
    case "$mirror" in *snapshot.debian.org*) opts="$opts check-valid-until=no" ;; esac
    printf 'deb-src [%s] %s %s main\n' "$opts" "$mirror" "$TRIXIE_SUITE" >"$apt_dir/sources.list"
    # Signatures are verified (signed-by the Debian archive keyring), and
    # apt-get source checks the files against the signed Sources index:
    # no --allow-unauthenticated.
    local apt_opts=(
      -o "Dir::Etc::SourceList=$apt_dir/sources.list"
      -o "Dir::Etc::SourceParts=$apt_dir/sources.list.d"
      -o "Dir::State::Lists=$apt_dir/lists"
      -o "Dir::Cache=$apt_dir/cache"
      -o "Dir::Cache::pkgcache="
      -o "Dir::Cache::srcpkgcache="
      -o "APT::Sandbox::User=$(id -un)"
      -q
    )
    log "fetching the pgvector source package of Debian $TRIXIE_SUITE from $mirror (private apt lists in ${apt_dir#"$ROOT"/})"
    apt-get "${apt_opts[@]}" update >&2
    (cd "$src_dir" && apt-get "${apt_opts[@]}" source --download-only pgvector >&2)
    dsc=$(find "$src_dir" -maxdepth 1 -name 'pgvector_*.dsc' | sort -V | tail -n 1)
    [[ -n "$dsc" ]] || die "apt-get source pgvector downloaded no .dsc"
    rm -rf "$apt_dir/lists" # ~30 MB of trixie's Sources index: no longer needed
  fi

  # pgvector_0.8.0-1.dsc -> pgvector-0.8.0
  local base ver tree
  base=$(basename "$dsc" .dsc)
  ver=${base#pgvector_}
  ver=${ver#*:}
  ver=${ver%-*}
  tree="$src_dir/pgvector-$ver"
  if [[ ! -f "$tree/Makefile" ]]; then
    log "extracting $(basename "$dsc")"
    # dpkg-source checks the files against the .dsc; it cannot check the
    # uploader's signature on the .dsc (that needs the debian-keyring package)
    # and says so, but apt-get source already checked every file against the
    # Sources index of the signed trixie release.
    rm -rf "$tree"
    (cd "$src_dir" && dpkg-source -x "$(basename "$dsc")" "pgvector-$ver" >&2)
  fi

  # OPTFLAGS= : no -march=native (Debian builds it that way too), so the
  # installed library does not depend on this exact CPU.
  local make_args=("PG_CONFIG=$pgc" "OPTFLAGS=")
  log "building pgvector $ver for PostgreSQL $major"
  make -C "$tree" -s clean "${make_args[@]}" >&2
  make -C "$tree" -s -j"$(nproc 2>/dev/null || echo 2)" "${make_args[@]}" >&2
  log "installing pgvector $ver into $("$pgc" --pkglibdir)"
  as_root make -C "$tree" -s install "${make_args[@]}" >&2
}

# --- platforms ---------------------------------------------------------------

deps_apt() {
  local missing=()
  server_bindir
  [[ -n "$BINDIR" ]] || missing+=(postgresql)
  have make || missing+=(make)
  have gcc || have cc || missing+=(gcc)
  [[ -f /usr/include/stdio.h ]] || missing+=(libc6-dev)
  have pdftotext || missing+=(poppler-utils)
  ocr_missing_apt missing
  if ((${#missing[@]})); then
    apt_install "${missing[@]}"
    server_bindir
    [[ -n "$BINDIR" ]] || die "no PostgreSQL server found after installing postgresql"
  fi

  vector_installed && return 0
  local major pgc cand
  major=$(pg_major "$BINDIR")
  pgc=$(pg_config_of "$BINDIR")
  [[ -n "$pgc" ]] || die "no pg_config for the server in $BINDIR"
  apt_update
  cand=$(apt_candidate "postgresql-$major-pgvector")
  if [[ -n "$cand" ]]; then
    apt_install "postgresql-$major-pgvector"
  elif [[ "$(os_field ID)" == debian ]]; then
    log "apt has no postgresql-$major-pgvector here: building it from Debian $TRIXIE_SUITE's source"
    build_pgvector_from_trixie "$major" "$pgc"
  else
    no_pgvector "$major"
  fi
}

deps_brew() {
  have brew || die "macOS without Homebrew: install Homebrew (https://brew.sh), or PostgreSQL with pgvector and poppler yourself"
  server_bindir
  if [[ -z "$BINDIR" ]]; then
    log "brew install postgresql@17"
    brew install postgresql@17 >&2
    server_bindir
    [[ -n "$BINDIR" ]] || die "no PostgreSQL server found after brew install postgresql@17"
  fi
  have pdftotext || { log "brew install poppler"; brew install poppler >&2; }
  have tesseract || { log "brew install tesseract"; brew install tesseract >&2; }
  tesseract_has_langs || { log "brew install tesseract-lang"; brew install tesseract-lang >&2; }
  if ! have make || ! have cc; then
    die "no make or C compiler: run xcode-select --install"
  fi
  vector_installed && return 0
  log "brew install pgvector"
  brew install pgvector >&2
  vector_installed || no_pgvector "$(pg_major "$BINDIR")" \
    "Homebrew's pgvector is built for some postgresql@NN formulas only (see brew info pgvector)."
}

no_pgvector() { # major [extra hint]
  log "the vector extension (pgvector) is not installed for PostgreSQL $1 (server in ${BINDIR:-?}), and this platform has no way known to this script to install it."
  [[ -z "${2:-}" ]] || log "$2"
  log "Either install pgvector for that server (https://github.com/pgvector/pgvector#installation:"
  log "  make && make install with PG_CONFIG=${BINDIR:-<bindir>}/pg_config),"
  log "or set EXTRACTOR_DATABASE_URL to a database where CREATE EXTENSION vector works."
  exit 1
}

deps_other() {
  local missing=()
  server_bindir
  [[ -n "$BINDIR" ]] || missing+=("a PostgreSQL server (initdb, pg_ctl, postgres)")
  have pdftotext || missing+=("pdftotext (poppler-utils)")
  have tesseract || missing+=("tesseract (tesseract-ocr)")
  have tesseract && ! tesseract_has_langs && missing+=("tesseract language data eng, deu, fra, osd")
  have make || missing+=("make")
  have cc || have gcc || missing+=("a C compiler")
  if ((${#missing[@]})); then
    log "this platform ($(uname -s)) is not one this script installs on; missing:"
    printf '  - %s\n' "${missing[@]}" >&2
    log "install them, or set EXTRACTOR_DATABASE_URL to a PostgreSQL database with the vector extension."
    exit 1
  fi
  vector_installed || no_pgvector "$(pg_major "$BINDIR")"
}

# deps_external_db: EXTRACTOR_DATABASE_URL names the database, so no local
# server or pgvector is needed; only poppler-utils and tesseract for the
# comparison and OCR tests.
deps_external_db() {
  case "$(uname -s)" in
    Linux)
      if have apt-get && have dpkg; then
        local missing=()
        have pdftotext || missing+=(poppler-utils)
        ocr_missing_apt missing
        ((${#missing[@]} == 0)) || apt_install "${missing[@]}"
      else
        have pdftotext || die "pdftotext missing: install poppler-utils"
        have tesseract && tesseract_has_langs || die "tesseract or its eng, deu, fra, osd data missing: install tesseract-ocr and its language packages"
      fi
      ;;
    Darwin)
      have brew || die "pdftotext or tesseract missing: brew install poppler tesseract tesseract-lang"
      have pdftotext || brew install poppler >&2
      have tesseract || brew install tesseract >&2
      tesseract_has_langs || brew install tesseract-lang >&2
      ;;
    *)
      have pdftotext || die "pdftotext missing: install poppler-utils"
      have tesseract || die "tesseract missing: install tesseract-ocr"
      ;;
  esac
  log "ok: EXTRACTOR_DATABASE_URL is set (no local server needed), pdftotext, tesseract $(tesseract_version)"
}

main() {
  if [[ -n "${EXTRACTOR_DATABASE_URL:-}" ]]; then
    deps_external_db
    return
  fi
  case "$(uname -s)" in
    Linux)
      if have apt-get && have dpkg; then
        deps_apt
      else
        deps_other
      fi
      ;;
    Darwin) deps_brew ;;
    *) deps_other ;;
  esac
  server_bindir
  vector_installed || die "pgvector is still not installed for the server in $BINDIR"
  log "ok: PostgreSQL $(pg_major "$BINDIR") ($BINDIR) with pgvector $(vector_version), make, cc, pdftotext, tesseract $(tesseract_version)"
}

main "$@"
