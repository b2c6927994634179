#!/usr/bin/env bash
# Reads with 0, 1 and 2 read replicas: a PostgreSQL primary and two hot
# standbys (pg_basebackup -R) on loopback, the service on the primary with
# KPSS_READ_DATABASE_URLS naming none, one or both standbys, and wrk posting
# each query for SECS seconds at 32 connections (response cache off, so every
# request reads the database; rate limit and per-subject cap off). Per run:
# requests/s, p50/p99 and the read transactions each server committed or
# rolled back (pg_stat_database), which shows where the reads went.
# Usage: bash bench/replicas.sh [SECS] (KPSS_BIN=path skips the build)
# Needs Debian's postgresql and wrk; starts its own servers in a temporary folder.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
if [ -z "${KPSS_BIN:-}" ]; then cargo build --release --quiet; fi
bin=$(realpath "${KPSS_BIN:-${CARGO_TARGET_DIR:-target}/release/kpss}")
work=$(mktemp -d); chmod 755 "$work"
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
as_pg() { if [ "$(id -u)" = 0 ]; then setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; else "$@"; fi; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pid=
ports=()
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
  for d in "$work"/pg*/data; do [ -f "$d/postmaster.pid" ] && kill -INT "$(head -1 "$d/postmaster.pid")"; done
  wait 2>/dev/null; rm -rf "$work"
}
trap cleanup EXIT
start_pg() { # name port
  as_pg "$pgbin/postgres" -D "$work/$1/data" -k "$work/$1" -p "$2" -c listen_addresses=127.0.0.1 \
    -c max_connections=200 > "$work/$1/log" 2>&1 &
  until "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$2"; do sleep 0.1; done
}
mkdir "$work/pg0"; [ "$(id -u)" = 0 ] && chown nobody "$work/pg0"
as_pg "$pgbin/initdb" -D "$work/pg0/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
ports[0]=$(free_port); start_pg pg0 "${ports[0]}"
psql() { "$pgbin/psql" -qAt -h 127.0.0.1 -p "$1" -U postgres "${@:2}"; }
psql "${ports[0]}" -c "CREATE ROLE kpss_owner LOGIN PASSWORD 'o'" -c "CREATE ROLE kpss_service LOGIN PASSWORD 's'" \
  -c "CREATE DATABASE kpss OWNER kpss_owner"
url() { echo "postgres://$1@127.0.0.1:$2/kpss"; }
mkdir "$work/data"
export KPSS_DATA_DIR=$work/data KPSS_LOG=warn KPSS_SEEDS="$PWD/seeds" KPSS_RESPONSE_CACHE_MB=0 \
  KPSS_RATE_LIMIT_PER_SECOND=0 KPSS_MAX_CONCURRENT_PER_SUBJECT=0 \
  DATABASE_URL=$(url kpss_service:s "${ports[0]}") KPSS_OWNER_DATABASE_URL=$(url kpss_owner:o "${ports[0]}")
port=$(free_port)
serve() { # replica URLs
  KPSS_READ_DATABASE_URLS=$1 KPSS_LISTEN=127.0.0.1:$port "$bin" serve > "$work/out" 2>&1 & pid=$!
  for _ in $(seq 600); do curl -sf -o /dev/null "http://127.0.0.1:$port/readyz" && break; sleep 0.1; done
  sleep 1 # the watcher's first probes put the standbys in rotation
}
serve "" # migrates and seeds the primary
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
for i in 1 2; do
  mkdir "$work/pg$i"; [ "$(id -u)" = 0 ] && chown nobody "$work/pg$i"
  as_pg "$pgbin/pg_basebackup" -h 127.0.0.1 -p "${ports[0]}" -U postgres -D "$work/pg$i/data" -R -X stream --checkpoint=fast
  ports[i]=$(free_port); start_pg "pg$i" "${ports[i]}"
done
token=$("$bin" token --sub bench-viewer --role viewer --region klatovy --region kromeriz --region chomutov --region karlovy-vary)
transactions() { for i in 0 1 2; do psql "${ports[i]}" -d kpss -c "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = 'kpss'"; done; }
declare -A queries=(
  [regions]='{"query":"{ regions { code name } }"}'
  [measures]='{"query":"{ measures(filter: { regions: [\"klatovy\"] }, first: 100) { nodes { id code title evaluations { year status } } } }"}'
)
echo "| replicas | query | req/s | p50 ms | p99 ms | bad | read transactions: primary / standby 1 / standby 2 |"
echo "|---|---|---|---|---|---|---|"
for n in 0 1 2; do
  replicas=""
  for i in $(seq 1 "$n"); do replicas+="${replicas:+,}$(url kpss_service:s "${ports[i]}")"; done
  serve "$replicas"
  for q in regions measures; do
    before=($(transactions))
    result=$(MODE=read TOKEN=$token READS=${queries[$q]} wrk -t2 -c32 -d"${secs}s" -s bench/ops.lua "http://127.0.0.1:$port/graphql" | grep '^RESULT')
    sleep 1.5 # statistics are flushed about once a second
    after=($(transactions))
    rps=$(sed -E 's/.*rps=([0-9.]+).*/\1/' <<< "$result"); p50=$(sed -E 's/.*p50=([0-9.]+).*/\1/' <<< "$result")
    p99=$(sed -E 's/.*p99=([0-9.]+).*/\1/' <<< "$result"); bad=$(sed -E 's/.*bad=([0-9]+).*/\1/' <<< "$result")
    echo "| $n | $q | $rps | $p50 | $p99 | $bad | $((after[0]-before[0])) / $((after[1]-before[1])) / $((after[2]-before[2])) |"
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
done
