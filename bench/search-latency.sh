#!/usr/bin/env bash
# Latency of `search(text:, first: 10)` for viewer tokens of every region,
# of one kraj (Plzeňský, CZ032) and of one region (klatovy) over
# `regions` synthetic regions: the four seed regions and copies of their
# files under new codes (klatovy-2, kromeriz-2, ...; bench/generate.py), so
# the index holds regions/4 times the seed data. One client, keep-alive, release build; the
# texts are those of tests/search/relevance.yaml, each asked `rounds` times.
# Usage: bash bench/search-latency.sh [regions] [rounds] ; DATABASE_URL may
# point at an empty PostgreSQL database, else a fresh SQLite file is used;
# KPSS_BIN names another build of the service (by default it builds this one).
set -euo pipefail
cd "$(dirname "$0")/.."
regions=${1:-206}
rounds=${2:-20}
bin=${KPSS_BIN:-target/release/kpss}
[ -n "${KPSS_BIN:-}" ] || cargo build --release --quiet
data=$(mktemp -d)
python3 bench/generate.py "$regions" "$data/seeds"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export KPSS_DATA_DIR=$data KPSS_LISTEN=127.0.0.1:$port KPSS_LOG=warn KPSS_SEEDS=$data/seeds KPSS_RATE_LIMIT_PER_SECOND=0 KPSS_MAX_CONCURRENT_PER_SUBJECT=0
start=$(date +%s)
"$bin" serve > "$data/out.txt" & pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
until curl -sf -o /dev/null "http://127.0.0.1:$port/readyz"; do sleep 0.2; done
echo "seeded $regions regions in $(( $(date +%s) - start )) s"
token() { "$bin" token --sub bench --role viewer "$@"; }
python3 - "$port" "$rounds" "$(token --region '*')" "$(token --kraj CZ032)" "$(token --region klatovy)" <<'PY'
import http.client, json, re, statistics, sys, time
port, rounds = int(sys.argv[1]), int(sys.argv[2])
tokens = {"every region": sys.argv[3], "kraj CZ032": sys.argv[4], "region klatovy": sys.argv[5]}
token = tokens["every region"]
texts = [json.loads(m) for m in re.findall(r'^- text: (".*")$', open("tests/search/relevance.yaml", encoding="utf-8").read(), re.M)]
conn = http.client.HTTPConnection("127.0.0.1", port)
def post(query, variables):
    conn.request("POST", "/graphql", json.dumps({"query": query, "variables": variables}),
                 {"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    body = json.loads(conn.getresponse().read())
    assert "errors" not in body, body
    return body["data"]
q = "query($t: String!) { search(text: $t, first: 10) { kind id title snippet highlights { start end } } }"
count = "query($t: String!) { searchHits(text: $t, first: 1) { totalCount } }"
entries = post("{ regions { code } }", {})["regions"]
hits = [post(count, {"t": t})["searchHits"]["totalCount"] for t in texts]
print(f"{len(entries)} regions; {len(texts)} texts matching {min(hits)}..{max(hits)} records (median {statistics.median(hits):.0f})")
for caller, token in tokens.items():
    for t in texts:
        post(q, {"t": t})
    times = []
    for _ in range(rounds):
        for t in texts:
            s = time.perf_counter(); post(q, {"t": t}); times.append((time.perf_counter() - s) * 1000)
    times.sort()
    n = len(times)
    print(f"search, {caller}, {n} requests: p50 {statistics.median(times):.2f} ms  p90 {times[int(n*0.9)]:.2f} ms  p99 {times[int(n*0.99)]:.2f} ms  max {times[-1]:.2f} ms")
PY
