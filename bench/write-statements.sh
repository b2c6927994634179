#!/usr/bin/env bash
# The statements of one updateMeasure on PostgreSQL: N updates of one measure,
# one after another from one client (the service role, under row-level
# security), then pg_stat_statements' calls, time and rows of every statement
# run at least N times, and the client's mean time per update.
# Usage: bash bench/write-statements.sh [N] (KPSS_BIN=path skips the build)
# Needs Debian's postgresql (with its pg_stat_statements) and curl; starts its
# own server on loopback in a temporary folder.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-400}
if [ -z "${KPSS_BIN:-}" ]; then cargo build --release --quiet; fi
bin=$(realpath "${KPSS_BIN:-${CARGO_TARGET_DIR:-target}/release/kpss}")
work=$(mktemp -d); chmod 755 "$work"
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
as_pg() { if [ "$(id -u)" = 0 ]; then setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; else "$@"; fi; }
mkdir "$work/pg"; [ "$(id -u)" = 0 ] && chown nobody "$work/pg"
as_pg "$pgbin/initdb" -D "$work/pg/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pgport=$(free_port); port=$(free_port)
as_pg "$pgbin/postgres" -D "$work/pg/data" -k "$work/pg" -p "$pgport" -c listen_addresses=127.0.0.1 \
  -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all > "$work/pg/log" 2>&1 &
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; kill -INT "$(head -1 "$work/pg/data/postmaster.pid")"; wait 2>/dev/null; rm -rf "$work"' EXIT
until "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$pgport"; do sleep 0.1; done
psql() { "$pgbin/psql" -q -h 127.0.0.1 -p "$pgport" -U postgres "$@"; }
psql -c "CREATE ROLE kpss_owner LOGIN PASSWORD 'o'" -c "CREATE ROLE kpss_service LOGIN PASSWORD 's'" \
  -c "CREATE DATABASE kpss OWNER kpss_owner"
psql -d kpss -c "CREATE EXTENSION pg_stat_statements"
mkdir "$work/data"
export KPSS_DATA_DIR=$work/data
DATABASE_URL="postgres://kpss_service:s@127.0.0.1:$pgport/kpss" \
  KPSS_OWNER_DATABASE_URL="postgres://kpss_owner:o@127.0.0.1:$pgport/kpss" \
  KPSS_LISTEN=127.0.0.1:$port KPSS_LOG=warn KPSS_SEEDS="$PWD/seeds" \
  KPSS_RATE_LIMIT_PER_SECOND=0 KPSS_MAX_CONCURRENT_PER_SUBJECT=0 "$bin" serve > "$work/out" 2>&1 & pid=$!
for _ in $(seq 600); do curl -sf -o /dev/null "http://127.0.0.1:$port/readyz" && break; sleep 0.1; done
token=$("$bin" token --sub bench --role admin --region '*')
psql -d kpss -c "SELECT pg_stat_statements_reset()" > /dev/null
python3 - "$port" "$token" "$n" <<'PY'
import http.client, json, sys, time
port, token, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
conn = http.client.HTTPConnection("127.0.0.1", port)
def post(query, variables):
    conn.request("POST", "/graphql", json.dumps({"query": query, "variables": variables}),
                 {"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    answer = json.loads(conn.getresponse().read())
    assert "errors" not in answer, answer
    return answer["data"]
m = post('{ measures(filter: { regions: ["klatovy"] }, first: 1) { nodes { id version } } }', {})["measures"]["nodes"][0]
version, started = m["version"], time.perf_counter()
for i in range(n):
    version = post("mutation($id: ID!, $v: Int!, $o: String!) { updateMeasure(id: $id, expectedVersion: $v, patch: { output: $o }) { version } }",
                   {"id": m["id"], "v": version, "o": f"bench {i}"})["updateMeasure"]["version"]
print(f"{n} updates one after another: {(time.perf_counter() - started) * 1000 / n:.2f} ms each")
PY
psql -d kpss -v n="$n" <<'SQL'
SELECT calls, round(total_exec_time::numeric, 1) AS total_ms, round(mean_exec_time::numeric, 3) AS mean_ms,
       left(regexp_replace(query, '\s+', ' ', 'g'), 110) AS statement
FROM pg_stat_statements WHERE calls >= :n ORDER BY total_exec_time DESC;
SQL
