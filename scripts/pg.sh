#!/usr/bin/env bash
# scripts/pg.sh: a project-local PostgreSQL cluster (with pgvector) for the tests.
#
#   eval "$(scripts/pg.sh start)"   start it (initdb on first use); stdout is only
#                                   export EXTRACTOR_DATABASE_URL='postgres://...'
#   scripts/pg.sh stop              stop it (never an error when it is not running)
#   scripts/pg.sh status            whether it runs, and its DSN (exit 0 running, 3 not)
#   scripts/pg.sh dsn               print the export line
#   scripts/pg.sh bindir            print the server bin dir this script uses
#                                   (scripts/deps.sh installs pgvector for it)
#
# EXTRACTOR_PG_DURABLE=1 at start makes the cluster durable (fsync,
# synchronous_commit and full_page_writes on, as a production server has):
# for benchmarks a user reads. Without it they are off, which is fine for
# tests and several times faster for small commits; a benchmark run on it
# must say so. A running cluster keeps its settings until stopped.
# EXTRACTOR_PG_DB names the database (default extractor_test; make demo uses
# extractor_demo): created, with the vector extension, on start.
# The cluster lives in the git-ignored .local/pg/ of the repository:
#   .local/pg/data   the data directory (socket dir too), trust auth, user postgres
#   .local/pg/port   the port it listens on (127.0.0.1 only), reused while free
#   .local/pg/log    the server log
# Run as root, the server runs as the `postgres` system user (created if
# missing). If that user cannot reach the repository (say it is under /root,
# mode 700), the data lives in /tmp/extractor-pg-<hash of the repo path>/ and
# .local/pg/data and .local/pg/log are symlinks to it.
#
# Server binaries: those of the installed major version (/usr/lib/postgresql/NN/bin
# on Debian/Ubuntu, Homebrew's postgresql@NN, or `pg_config --bindir`), never
# just whatever initdb is first on PATH. EXTRACTOR_PG_BINDIR overrides.
# An existing cluster is never re-initialised or removed by this script.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
LOCAL="$ROOT/.local/pg"
DATA_LINK="$LOCAL/data"
PORT_FILE="$LOCAL/port"
LOG_LINK="$LOCAL/log"
DB=${EXTRACTOR_PG_DB:-extractor_test}
[[ "$DB" =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || { printf "pg.sh: error: EXTRACTOR_PG_DB %q: want a plain lower-case name\n" "$DB" >&2; exit 1; }
FIRST_PORT=54329
LAST_PORT=54429

log() { printf 'pg.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- server binaries -------------------------------------------------------

pg_major_of() { # bindir -> major version number ("15"), or nothing
  local v
  v=$("$1/postgres" -V 2>/dev/null) || return 0
  v=${v##*) }   # "postgres (PostgreSQL) 15.18 (Debian ...)" -> "15.18 (Debian ...)"
  printf '%s\n' "${v%%[.a-z ]*}"
}

sharedir_of() { # bindir -> the server's share dir (where extension/ is)
  local d=$1 major
  if [[ -x "$d/pg_config" ]]; then
    "$d/pg_config" --sharedir 2>/dev/null && return 0
  fi
  major=$(pg_major_of "$d")
  local s
  for s in "/usr/share/postgresql/$major" "$d/../share/postgresql" "$d/../share"; do
    if [[ -d "$s/extension" ]]; then
      (cd "$s" && pwd -P)
      return 0
    fi
  done
}

has_vector() { # bindir -> 0 when the vector extension is installed for it
  local s
  s=$(sharedir_of "$1")
  [[ -n "$s" && -f "$s/extension/vector.control" ]]
}

candidate_bindirs() {
  local d p seen=" "
  {
    # Debian/Ubuntu (and apt.postgresql.org): newest major first.
    if compgen -G '/usr/lib/postgresql/*/bin' >/dev/null; then
      printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r
    fi
    # RHEL/Fedora packages of the PostgreSQL project.
    if compgen -G '/usr/pgsql-*/bin' >/dev/null; then
      printf '%s\n' /usr/pgsql-*/bin | sort -V -r
    fi
    # Homebrew (keg-only postgresql@NN formulas are not on PATH).
    for p in /opt/homebrew/opt /usr/local/opt; do
      if compgen -G "$p/postgresql@*/bin" >/dev/null; then
        printf '%s\n' "$p"/postgresql@*/bin | sort -V -r
      fi
    done
    if command -v pg_config >/dev/null 2>&1; then
      pg_config --bindir 2>/dev/null || true
    fi
    if command -v postgres >/dev/null 2>&1; then
      p=$(command -v postgres)
      p=$(cd "$(dirname "$p")" && cd "$(dirname "$(readlink "$p" || echo "$p")")" && pwd -P)
      printf '%s\n' "$p"
    fi
  } | while IFS= read -r d; do
    [[ -x "$d/postgres" && -x "$d/initdb" && -x "$d/pg_ctl" ]] || continue
    d=$(cd "$d" && pwd -P)
    case "$seen" in *" $d "*) continue ;; esac
    seen="$seen$d "
    printf '%s\n' "$d"
  done
}

# find_bindir: the bin dir of the server to use. For an existing cluster it
# is the one of the cluster's major version; otherwise the newest installed
# major that has pgvector, else the newest installed major.
find_bindir() {
  if [[ -n "${EXTRACTOR_PG_BINDIR:-}" ]]; then
    [[ -x "$EXTRACTOR_PG_BINDIR/postgres" ]] || die "EXTRACTOR_PG_BINDIR=$EXTRACTOR_PG_BINDIR has no postgres"
    printf '%s\n' "$EXTRACTOR_PG_BINDIR"
    return
  fi
  local want="" d first="" cands
  if [[ -f "$DATA_LINK/PG_VERSION" ]]; then
    want=$(cat "$DATA_LINK/PG_VERSION")
  fi
  cands=$(candidate_bindirs)
  while IFS= read -r d; do
    [[ -n "$d" ]] || continue
    if [[ -n "$want" ]]; then
      if [[ "$(pg_major_of "$d")" == "$want" ]]; then
        printf '%s\n' "$d"
        return
      fi
      continue
    fi
    [[ -n "$first" ]] || first=$d
    if has_vector "$d"; then
      printf '%s\n' "$d"
      return
    fi
  done <<<"$cands"
  if [[ -n "$want" ]]; then
    die "the cluster in $DATA_LINK is PostgreSQL $want, whose server is not installed. Install it, or remove $LOCAL to start afresh (its data is lost)"
  fi
  [[ -n "$first" ]] || die "no PostgreSQL server found: run scripts/deps.sh"
  printf '%s\n' "$first"
}

# --- running as the right user ---------------------------------------------

IS_ROOT=0
[[ "$(id -u)" == 0 ]] && IS_ROOT=1
PG_USER=""

file_owner() {
  stat -c %U "$1" 2>/dev/null || stat -f %Su "$1"
}

# setup_user: as root, pick the user the server runs as (postgres, or the
# owner of an existing non-root data directory) and create postgres if missing.
setup_user() {
  [[ $IS_ROOT == 1 ]] || return 0
  if [[ -d "$DATA_LINK" ]]; then
    PG_USER=$(file_owner "$DATA_LINK/")
    [[ "$PG_USER" != root ]] || die "$DATA_LINK is owned by root; PostgreSQL refuses to run as root. Remove $LOCAL to start afresh"
    return 0
  fi
  PG_USER=postgres
  if ! id -u postgres >/dev/null 2>&1; then
    log "creating the system user postgres"
    if command -v useradd >/dev/null 2>&1; then
      useradd --system --user-group --home-dir /var/lib/postgresql --no-create-home \
        --shell /bin/sh postgres >&2
    elif command -v adduser >/dev/null 2>&1; then
      adduser --system --group --home /var/lib/postgresql --no-create-home postgres >&2
    else
      die "no user postgres and no useradd/adduser to create it"
    fi
  fi
}

# as_pg CMD...: run CMD as the server's user (as ourselves when not root),
# from / so that an unreachable working directory does not matter.
as_pg() {
  if [[ $IS_ROOT == 0 ]]; then
    "$@"
  elif command -v runuser >/dev/null 2>&1; then
    (cd / && runuser -u "$PG_USER" -- "$@")
  else
    local q
    q=$(printf '%q ' "$@")
    (cd / && su -s /bin/sh "$PG_USER" -c "$q")
  fi
}

chown_pg() { # chown to the server's user when root
  [[ $IS_ROOT == 1 ]] || return 0
  chown "$PG_USER:$(id -gn "$PG_USER")" "$@"
}

# --- locations ---------------------------------------------------------------

hash_of_root() {
  printf '%s' "$ROOT" | cksum | cut -d' ' -f1
}

# ensure_tmp_base DIR: DIR (in /tmp) exists, is ours, and is not a symlink.
ensure_tmp_base() {
  local base=$1 owner want_owner
  want_owner=${PG_USER:-$(id -un)}
  if [[ -e "$base" || -L "$base" ]]; then
    owner=$(file_owner "$base")
    [[ "$owner" == "$want_owner" && -d "$base" && ! -L "$base" ]] ||
      die "$base exists and is not a directory of $want_owner: remove it"
  else
    mkdir -m 700 "$base"
    chown_pg "$base"
  fi
}

# resolve_data: set DATA (the real data dir path, usable by the server's
# user) and LOG (the real log path). Decides where a new cluster goes.
DATA=""
LOG=""
resolve_data() {
  mkdir -p "$LOCAL"
  if [[ -L "$DATA_LINK" || -e "$DATA_LINK" ]]; then
    if [[ -L "$DATA_LINK" ]]; then
      DATA=$(readlink "$DATA_LINK")
      LOG=$(readlink "$LOG_LINK" 2>/dev/null || printf '%s\n' "$(dirname "$DATA")/log")
    else
      DATA=$DATA_LINK
      LOG=$LOG_LINK
    fi
    return 0
  fi
  # A new cluster: under .local/pg unless the server's user cannot get there,
  # or the socket path would be too long for a unix socket (~107 bytes).
  local inside=1
  if [[ $IS_ROOT == 1 ]] && ! as_pg test -x "$LOCAL"; then
    log "user $PG_USER cannot reach $LOCAL: keeping the data in /tmp"
    inside=0
  fi
  # "<data>/.s.PGSQL.NNNNN" must fit a sun_path (104 bytes on macOS, 108 on Linux).
  if (( ${#DATA_LINK} + 15 > 103 )); then
    log "$DATA_LINK is too long a path for the socket: keeping the data in /tmp"
    inside=0
  fi
  if [[ $inside == 1 ]]; then
    DATA=$DATA_LINK
    LOG=$LOG_LINK
    return 0
  fi
  local base
  base="/tmp/extractor-pg-$(hash_of_root)"
  ensure_tmp_base "$base"
  DATA="$base/data"
  LOG="$base/log"
  ln -sfn "$DATA" "$DATA_LINK"
  ln -sfn "$LOG" "$LOG_LINK"
}

# --- cluster state -------------------------------------------------------------

BINDIR=""

is_running() {
  [[ -f "$DATA/PG_VERSION" ]] || return 1
  as_pg "$BINDIR/pg_ctl" status -D "$DATA" >/dev/null 2>&1
}

running_port() { # the port in postmaster.pid (4th line)
  sed -n 4p "$DATA/postmaster.pid" 2>/dev/null
}

port_in_use() { # 0 when something accepts connections on 127.0.0.1:$1
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pick_port() { # $1: a port to skip (one that just failed), or empty
  local p skip=${1:-}
  if [[ -f "$PORT_FILE" ]]; then
    p=$(cat "$PORT_FILE")
    if [[ "$p" =~ ^[0-9]+$ && "$p" != "$skip" ]] && ! port_in_use "$p"; then
      printf '%s\n' "$p"
      return 0
    fi
  fi
  for ((p = FIRST_PORT; p <= LAST_PORT; p++)); do
    [[ "$p" != "$skip" ]] || continue
    if ! port_in_use "$p"; then
      printf '%s\n' "$p"
      return 0
    fi
  done
  die "no free port in $FIRST_PORT-$LAST_PORT on 127.0.0.1"
}

dsn_line() {
  printf "export EXTRACTOR_DATABASE_URL='postgres://postgres@127.0.0.1:%s/%s?sslmode=disable'\n" "$1" "$DB"
}

sql_quote() { # a value for a single-quoted postgresql.conf string
  printf "'%s'" "${1//\'/\'\'}"
}

init_cluster() {
  local major
  major=$(pg_major_of "$BINDIR")
  log "initdb: PostgreSQL $major cluster in $DATA (output in $LOG_LINK)"
  mkdir -p "$DATA"
  chmod 700 "$DATA"
  chown_pg "$DATA"
  touch "$LOG"
  chown_pg "$LOG"
  as_pg "$BINDIR/initdb" -D "$DATA" --auth=trust --encoding=UTF8 --no-locale -U postgres --no-sync >>"$LOG"
  # Our settings live in extractor.conf, rewritten at each start (port, socket).
  printf '\n# scripts/pg.sh\ninclude_if_exists = %s\n' "'extractor.conf'" |
    as_pg tee -a "$DATA/postgresql.conf" >/dev/null
}

write_conf() { # $1: port
  local durable=off
  [[ "${EXTRACTOR_PG_DURABLE:-}" == 1 ]] && durable=on
  as_pg tee "$DATA/extractor.conf" >/dev/null <<EOF
# Written by scripts/pg.sh at each start: a throwaway test cluster
# (durable only with EXTRACTOR_PG_DURABLE=1).
listen_addresses = '127.0.0.1'
port = $1
unix_socket_directories = $(sql_quote "$DATA")
fsync = $durable
synchronous_commit = $durable
full_page_writes = $durable
EOF
}

psql_q() { # $1: database, $2: SQL; prints the result unaligned
  PGOPTIONS="-c client_min_messages=warning" PGSSLMODE=disable PGCONNECT_TIMEOUT=10 "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres -d "$1" -Atc "$2"
}

ensure_db() {
  if [[ "$(psql_q postgres "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != 1 ]]; then
    log "creating database $DB"
    psql_q postgres "CREATE DATABASE $DB" >&2
  fi
  if ! psql_q "$DB" "CREATE EXTENSION IF NOT EXISTS vector" >&2; then
    die "the vector extension is not installed for the server in $BINDIR: run scripts/deps.sh"
  fi
}

with_lock() { # serialise concurrent runs where flock exists
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$LOCAL/lock"
    flock -w 120 9 || die "another scripts/pg.sh holds $LOCAL/lock for 2 minutes"
  fi
}

# --- subcommands -----------------------------------------------------------------

cmd_start() {
  mkdir -p "$LOCAL"
  with_lock
  setup_user
  BINDIR=$(find_bindir)
  resolve_data
  if [[ -L "$DATA_LINK" ]]; then
    # The /tmp folder may have gone away (a reboot): then a new cluster there.
    ensure_tmp_base "$(dirname "$DATA")"
  fi
  if [[ ! -f "$DATA/PG_VERSION" ]]; then
    if [[ -d "$DATA" ]] && [[ -n "$(ls -A "$DATA" 2>/dev/null)" ]]; then
      die "$DATA is not empty but holds no cluster: remove it"
    fi
    init_cluster
  fi
  if is_running; then
    PORT=$(running_port)
    log "already running on 127.0.0.1:$PORT ($DATA)"
  else
    touch "$LOG"
    chown_pg "$LOG"
    local tries=0 failed=""
    while :; do
      PORT=$(pick_port "$failed")
      write_conf "$PORT"
      log "starting PostgreSQL $(pg_major_of "$BINDIR") on 127.0.0.1:$PORT (log: $LOG_LINK)"
      # 3>&- 9>&-: the server must not inherit our stdout capture (eval
      # "$(pg.sh start)" would never end) nor the lock.
      if as_pg "$BINDIR/pg_ctl" start -D "$DATA" -l "$LOG" -w -t 60 -s >&2 3>&- 9>&-; then
        break
      fi
      tries=$((tries + 1))
      if ((tries >= 3)) || is_running; then
        tail -n 20 "$LOG" >&2 || true
        die "PostgreSQL did not start (log: $LOG_LINK)"
      fi
      log "start failed on port $PORT (taken meanwhile?): trying another"
      failed=$PORT
    done
    printf '%s\n' "$PORT" >"$PORT_FILE"
  fi
  local i
  for ((i = 0; i < 100; i++)); do
    "$BINDIR/pg_isready" -q -h 127.0.0.1 -p "$PORT" -U postgres && break
    sleep 0.1
  done
  ensure_db
  dsn_line "$PORT" >&3
}

cmd_stop() {
  [[ -e "$DATA_LINK" ]] || { log "no cluster in $DATA_LINK: nothing to stop"; return 0; }
  mkdir -p "$LOCAL"
  with_lock
  setup_user
  BINDIR=$(find_bindir) || return 0
  resolve_data
  if is_running; then
    log "stopping the cluster in $DATA"
    if ! as_pg "$BINDIR/pg_ctl" stop -D "$DATA" -m fast -w -s >&2 && is_running; then
      die "could not stop the cluster in $DATA"
    fi
  else
    log "not running"
  fi
}

cmd_status() {
  [[ -e "$DATA_LINK" ]] || { echo "not running (no cluster in $DATA_LINK)"; return 3; }
  setup_user
  BINDIR=$(find_bindir)
  resolve_data
  if is_running; then
    PORT=$(running_port)
    echo "running: PostgreSQL $(pg_major_of "$BINDIR") on 127.0.0.1:$PORT, data in $DATA (log: $LOG_LINK)"
    dsn_line "$PORT"
    return 0
  fi
  echo "not running (cluster in $DATA)"
  if [[ -f "$PORT_FILE" ]]; then
    echo "when started, most likely:"
    dsn_line "$(cat "$PORT_FILE")"
  fi
  return 3
}

cmd_dsn() {
  if [[ -e "$DATA_LINK" ]]; then
    setup_user
    BINDIR=$(find_bindir)
    resolve_data
    if is_running; then
      dsn_line "$(running_port)"
      return 0
    fi
  fi
  [[ -f "$PORT_FILE" ]] || die "no cluster yet: run scripts/pg.sh start"
  log "warning: the cluster is not running (scripts/pg.sh start)"
  dsn_line "$(cat "$PORT_FILE")"
}

usage() {
  sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

case "${1:-}" in
  start)
    # Only the export line goes to stdout (fd 3); everything else to stderr.
    exec 3>&1 1>&2
    cmd_start
    ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  dsn) cmd_dsn ;;
  bindir) find_bindir ;;
  *) usage ;;
esac
