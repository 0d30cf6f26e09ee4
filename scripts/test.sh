#!/usr/bin/env bash
# The one test command (README, .ci/run). On a bare Debian machine it
# installs what the suite needs (PostgreSQL, Chromium, the e2e npm packages),
# starts a throw-away PostgreSQL cluster on a free loopback port, then runs the
# gofmt check, go vet, staticcheck, the Go tests with -race (the browser suite
# among them), and the node suite.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

log() { printf '== %s\n' "$*" >&2; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# --- PostgreSQL -----------------------------------------------------------
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
if [ -z "$(pg_bin)" ] || [ ! -x "$(pg_bin)/initdb" ]; then
  log "installing PostgreSQL (Debian package postgresql)"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql >/dev/null
fi
PGBIN=$(pg_bin)
command -v node >/dev/null || { log "installing node"; as_root apt-get update -qq; DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq nodejs npm >/dev/null; }

# --- Chromium, for the browser suite (e2e/browser), which fails without it --
if ! command -v chromium >/dev/null; then
  log "installing Chromium (Debian package chromium)"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium >/dev/null
fi
export TALLY_CHROMIUM=$(command -v chromium)

pgdir=$(mktemp -d /tmp/tally-pg.XXXXXX)
free_port() { python3 - <<'PY' 2>/dev/null || echo $((20000 + RANDOM % 20000))
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}
PGPORT=$(free_port)
run_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ "$(id -u)" = 0 ]; then chown postgres "$pgdir"; fi
cleanup() {
  run_pg "$PGBIN/pg_ctl" -D "$pgdir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$pgdir"
}
trap cleanup EXIT
log "starting PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PGPORT"
run_pg "$PGBIN/initdb" -D "$pgdir/data" -U postgres -A trust --no-sync >/dev/null
run_pg "$PGBIN/pg_ctl" -D "$pgdir/data" -w -l "$pgdir/log" \
  -o "-h 127.0.0.1 -p $PGPORT -k $pgdir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
  start >/dev/null || { cat "$pgdir/log" >&2; exit 1; }
export TALLY_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$PGPORT/postgres?sslmode=disable"
unset TALLY_TEST_BACKENDS

# --- Go -------------------------------------------------------------------
log "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './e2e/*'))
if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted" >&2; exit 1; fi
log "go vet"
go vet ./...
log "staticcheck"
go tool staticcheck ./...
log "go test -race"
# The race detector watches Tally's code and every Go dependency but one:
# modernc.org/sqlite, SQLite's C engine translated to Go. Instrumenting it
# doubled the whole suite's time (each SQL statement's VM steps checked),
# and it cannot race with Tally: the store gives each connection to one
# goroutine at a time, which is what the detector still sees.
go test -race -gcflags='modernc.org/...=-race=false' -count=1 -timeout 20m ./...

# --- chartmogul-node against the built binary -----------------------------
log "node e2e suite"
mkdir -p "$pgdir/bin"
go build -o "$pgdir/bin/tally" ./cmd/tally
cd "$root/e2e/node"
npm ci --no-audit --no-fund --loglevel=error
TALLY_BIN="$pgdir/bin/tally" node --test --test-concurrency=1 test/
