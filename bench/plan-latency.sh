#!/usr/bin/env bash
# Latency of `plan(id)` with its whole tree (priorities, measures,
# sub-measures, activities, evaluations, capacities), one client, keep-alive,
# release build. Usage: bash bench/plan-latency.sh [requests] ; DATABASE_URL
# may point at PostgreSQL, else a fresh SQLite file is used.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-500}
cargo build --release --quiet
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export KPSS_DATA_DIR=$data KPSS_LISTEN=127.0.0.1:$port KPSS_LOG=warn
target/release/kpss serve > "$data/out.txt" & pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
until curl -sf -o /dev/null "http://127.0.0.1:$port/readyz"; do sleep 0.05; done
token=$(target/release/kpss token --sub bench --role viewer --region '*')
python3 - "$port" "$token" "$n" <<'PY'
import http.client, json, statistics, sys, time
port, token, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
tree = """query($id: ID!) { plan(id: $id) { title region { code kraj { code } } parent { title } projects { title due }
  priorities { code title group measures { code title rationale description targetGroups term responsible output
    expectedCost { amountCzk per text } fundingSources risks plannedActivities plannedCapacities { form value unit }
    evaluations { year status comment } latestEvaluation { status }
    subMeasures { code title term responsible evaluations { year status } plannedCapacities { value unit } }
    activities { code title description responsible schedule financing outputs subActivities { code title schedule } } } } } }"""
conn = http.client.HTTPConnection("127.0.0.1", port)
def post(query, variables):
    conn.request("POST", "/graphql", json.dumps({"query": query, "variables": variables}),
                 {"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    body = json.loads(conn.getresponse().read())
    assert "errors" not in body, body
    return body["data"]
plans = post("{ plans(first: 100) { nodes { id title } } }", {})["plans"]["nodes"]
def size(p):
    return len(json.dumps(post(tree, {"id": p["id"]})))
plan = max(plans, key=size)  # the largest tree
for _ in range(20):
    post(tree, {"id": plan["id"]})
times = []
for _ in range(n):
    t = time.perf_counter(); post(tree, {"id": plan["id"]}); times.append((time.perf_counter() - t) * 1000)
times.sort()
print(f"plan {plan['id']} ({plan['title'][:60]}…), {size(plan)} bytes of JSON, {n} requests:")
print(f"p50 {statistics.median(times):.2f} ms  p90 {times[int(n*0.9)]:.2f} ms  p99 {times[int(n*0.99)]:.2f} ms")
PY
