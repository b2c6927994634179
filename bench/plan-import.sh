#!/usr/bin/env bash
# Time of importing the largest seeded plan as a file (YAML): the dry run
# (every record compared, nothing written) and the apply of a file with
# the title of every record with a code changed (one transaction, an audit
# entry per record), one client, release build. Usage: bash bench/plan-import.sh
# [rounds]; DATABASE_URL may point at PostgreSQL, else a fresh SQLite file
# is used.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20}
cargo build --release --quiet
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export KPSS_DATA_DIR=$data KPSS_LISTEN=127.0.0.1:$port KPSS_LOG=warn
target/release/kpss serve > "$data/out.txt" & pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
until curl -sf -o /dev/null "http://127.0.0.1:$port/readyz"; do sleep 0.05; done
token=$(target/release/kpss token --sub bench --role admin --region '*')
python3 - "$port" "$token" "$n" <<'PY'
import http.client, json, re, statistics, sys, time
port, token, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
conn = http.client.HTTPConnection("127.0.0.1", port)
def post(query, variables):
    conn.request("POST", "/graphql", json.dumps({"query": query, "variables": variables}),
                 {"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    body = json.loads(conn.getresponse().read())
    assert "errors" not in body, body
    return body["data"]
plans = post("{ plans(first: 100) { nodes { id region { code } } } }", {})["plans"]["nodes"]
files = {p["id"]: post("query($id: ID!) { planFile(id: $id, format: YAML) }", {"id": p["id"]})["planFile"] for p in plans}
plan = max(plans, key=lambda p: len(files[p["id"]]))
text, region = files[plan["id"]], plan["region"]["code"]
IMPORT = """mutation($r: String!, $c: String!, $dry: Boolean!, $v: Int) {
  importPlan(region: $r, format: YAML, content: $c, dryRun: $dry, expectedVersion: $v) {
    version changes { action } } }"""
def timed(content, dry, version=None):
    t = time.perf_counter()
    r = post(IMPORT, {"r": region, "c": content, "dry": dry, "v": version})["importPlan"]
    return (time.perf_counter() - t) * 1000, r
dry_times, apply_times = [], []
for i in range(n):
    ms, r = timed(text, True)
    dry_times.append(ms)
    records = len(r["changes"])
    # Every coded record's title gets a mark of this round: that many records change.
    changed = re.sub(r"(\n( +)- code: ([^\n]+)\n\2  title: )([^\n]+)", rf"\1\4 ({i})", text)
    _, dry = timed(changed, True)
    ms, r = timed(changed, False, dry["version"])
    apply_times.append(ms)
    n_changed = sum(c["action"] == "CHANGED" for c in r["changes"])
    text = post("query($id: ID!) { planFile(id: $id, format: YAML) }", {"id": plan["id"]})["planFile"]
def summary(t):
    t = sorted(t)
    return f"p50 {statistics.median(t):.1f} ms  max {t[-1]:.1f} ms"
print(f"plan {plan['id']} ({region}), {len(text)} bytes of YAML, {records} records, {n} rounds:")
print(f"dry run: {summary(dry_times)}")
print(f"apply ({n_changed} records changed): {summary(apply_times)}")
PY
