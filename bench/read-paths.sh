#!/usr/bin/env bash
# Two read paths on PostgreSQL, side by side: a region's first 50 measures
# with their evaluations, and the whole tree of the largest plan.
# Usage: bash bench/read-paths.sh BIN[@NAME=VALUE] [BIN ...] [-- seconds connections rounds]
# Each BIN is a release `kpss` binary in its checkout (CHECKOUT/target/release/kpss,
# whose seeds/ it loads), e.g. one built from an earlier commit:
#   git worktree add /tmp/before REV && cargo build --release --manifest-path /tmp/before/Cargo.toml
# A binary that knows KPSS_OWNER_DATABASE_URL serves as the service role
# under row-level security; an older one serves as the owner.
# Needs PostgreSQL (Debian's postgresql), wrk and curl; starts its own server.
# Every answer is checked: wrk (bench/ops.lua) counts non-2xx and GraphQL errors as `errors`.
set -euo pipefail
cd "$(dirname "$0")/.."
# BIN@NAME=VALUE[@NAME=VALUE...] serves BIN with those environment variables set (e.g. @KPSS_RESPONSE_CACHE_MB=0).
bins=(); extra=(); while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  bins+=("$(realpath "${1%%@*}")")
  case $1 in *@*) extra+=("${1#*@}") ;; *) extra+=("") ;; esac
  shift
done
[ "${1:-}" = "--" ] && shift
secs=${1:-5}; conns=${2:-32}; rounds=${3:-2}
[ ${#bins[@]} -gt 0 ] || { echo "usage: $0 BIN [BIN ...] [-- seconds connections rounds]"; exit 2; }

work=$(mktemp -d); chmod 755 "$work"
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
as_pg() { if [ "$(id -u)" = 0 ]; then setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; else "$@"; fi; }
mkdir "$work/pg"; [ "$(id -u)" = 0 ] && chown nobody "$work/pg"
as_pg "$pgbin/initdb" -D "$work/pg/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
pgport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_pg "$pgbin/postgres" -D "$work/pg/data" -k "$work/pg" -p "$pgport" -c listen_addresses=127.0.0.1 \
  -c max_connections=200 > "$work/pg/log" 2>&1 & pgpid=$!
pids=()
# The postmaster's own pid: $pgpid is the shell that started it, which passes no signal on.
trap 'kill ${pids[@]+"${pids[@]}"} 2>/dev/null; kill -INT "$(head -1 "$work/pg/data/postmaster.pid")"; wait 2>/dev/null; rm -rf "$work"' EXIT
until "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$pgport"; do sleep 0.1; done
psql() { "$pgbin/psql" -q -h 127.0.0.1 -p "$pgport" -U postgres "$@"; }
psql -c "CREATE ROLE kpss_owner LOGIN PASSWORD 'o'" -c "CREATE ROLE kpss_service LOGIN PASSWORD 's'"

urls=(); tokens=()
for i in "${!bins[@]}"; do
  bin=${bins[$i]}
  psql -c "CREATE DATABASE kpss_$i OWNER kpss_owner"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  owner="postgres://kpss_owner:o@127.0.0.1:$pgport/kpss_$i"
  if "$bin" serve --help | grep -q owner-database-url; then
    env=(DATABASE_URL="postgres://kpss_service:s@127.0.0.1:$pgport/kpss_$i" KPSS_OWNER_DATABASE_URL="$owner")
  else
    env=(DATABASE_URL="$owner")
  fi
  mkdir "$work/$i"
  # Each binary loads the seeds of its own checkout (BIN is CHECKOUT/target/release/kpss).
  if [ -n "${extra[$i]}" ]; then IFS=@ read -ra kv <<< "${extra[$i]}"; env+=("${kv[@]}"); fi
  env "${env[@]}" KPSS_DATA_DIR="$work/$i" KPSS_LISTEN="127.0.0.1:$port" KPSS_LOG=warn \
    KPSS_SEEDS="$(dirname "$bin")/../../seeds" \
    KPSS_RATE_LIMIT_PER_SECOND=0 KPSS_MAX_CONCURRENT_PER_SUBJECT=0 "$bin" serve > "$work/$i/out" 2>&1 & pids+=($!)
  for _ in $(seq 600); do curl -sf -o /dev/null "http://127.0.0.1:$port/readyz" && break; sleep 0.1; done
  curl -sf -o /dev/null "http://127.0.0.1:$port/readyz" || { echo "$bin did not start:"; cat "$work/$i/out"; exit 1; }
  urls+=("http://127.0.0.1:$port/graphql")
  tokens+=("$(KPSS_DATA_DIR="$work/$i" "$bin" token --sub bench --role viewer --region '*')")
done

measures='{"query":"{ measures(filter: { regions: [\"chomutov\"] }, first: 50) { nodes { id code title evaluations { year status comment } } } }"}'
tree_query='query($id: ID!) { plan(id: $id) { title region { code kraj { code } } parent { title } projects { title due } priorities { code title group measures { code title rationale description targetGroups term responsible output expectedCost { amountCzk per text } fundingSources risks plannedActivities plannedCapacities { form value unit } evaluations { year status comment } latestEvaluation { status } subMeasures { code title term responsible evaluations { year status } plannedCapacities { value unit } } activities { code title description responsible schedule financing outputs subActivities { code title schedule } } } } } }'
largest=$(curl -s "${urls[0]}" -H "Authorization: Bearer ${tokens[0]}" -H 'Content-Type: application/json' \
  -d '{"query":"{ plans(first: 100) { nodes { id } } }"}' | python3 -c '
import json, sys, urllib.request
ids = [p["id"] for p in json.load(sys.stdin)["data"]["plans"]["nodes"]]
q = sys.argv[1]
def size(i):
    r = urllib.request.Request(sys.argv[2], json.dumps({"query": q, "variables": {"id": i}}).encode(),
        {"Authorization": "Bearer " + sys.argv[3], "Content-Type": "application/json"})
    return len(urllib.request.urlopen(r).read())
print(max(ids, key=size))' "$tree_query" "${urls[0]}" "${tokens[0]}")
tree=$(python3 -c 'import json,sys; print(json.dumps({"query": sys.argv[1], "variables": {"id": sys.argv[2]}}))' "$tree_query" "$largest")

echo "| round | operation | binary | req/s | p50 ms | p90 ms | p99 ms | errors |"
echo "|---|---|---|---|---|---|---|---|"
for round in $(seq 1 "$rounds"); do
  for op in measures tree; do
    body=${!op}
    for i in "${!bins[@]}"; do
      bytes=$(curl -s "${urls[$i]}" -H "Authorization: Bearer ${tokens[$i]}" -H 'Content-Type: application/json' -d "$body" | wc -c)
      line=$(MODE=read READS="$body" TOKEN="${tokens[$i]}" wrk -t2 -c"$conns" -d"${secs}s" -s bench/ops.lua "${urls[$i]}" | grep "^RESULT")
      eval "${line#RESULT }"
      name=$(basename "$(dirname "$(dirname "$(dirname "${bins[$i]}")")")")
      echo "| $round | $op ($bytes B) | $name${extra[$i]:+ ${extra[$i]}} | $rps | $p50 | $p90 | $p99 | $((errors + bad)) |"
    done
  done
done
