#!/usr/bin/env bash
# Time of importing the largest seeded plan as a file, as YAML (in the JSON
# body) and as an XLSX workbook (a multipart upload): the dry run (every
# record compared, nothing written) and the apply of a file with the title
# of every record with a code changed (one transaction, an audit entry per
# record), one client, release build. Usage: bash bench/plan-import.sh
# [rounds]; DATABASE_URL may point at PostgreSQL, else a fresh SQLite file
# is used.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20}
cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-target}/release/kpss
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export KPSS_DATA_DIR=$data KPSS_LISTEN=127.0.0.1:$port KPSS_LOG=warn
"$bin" serve > "$data/out.txt" & pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
until curl -sf -o /dev/null "http://127.0.0.1:$port/readyz"; do sleep 0.05; done
token=$("$bin" token --sub bench --role admin --region '*')
python3 - "$port" "$token" "$n" <<'PY'
import base64, http.client, io, json, re, statistics, sys, time, zipfile
import xml.etree.ElementTree as ET
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
print(f"YAML dry run: {summary(dry_times)}")
print(f"YAML apply ({n_changed} records changed): {summary(apply_times)}")

# The same plan as a workbook, uploaded as the file of a multipart request.
UPLOAD = """mutation($r: String!, $file: Upload, $dry: Boolean!, $v: Int) {
  importPlan(region: $r, format: XLSX, file: $file, dryRun: $dry, expectedVersion: $v) {
    version changes { action } } }"""
def upload(xlsx, dry, version=None):
    boundary = "bench-boundary-5f2e"
    operations = json.dumps({"query": UPLOAD, "variables": {"r": region, "file": None, "dry": dry, "v": version}})
    body = b"".join([
        f'--{boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{operations}\r\n'.encode(),
        f'--{boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n{{"0": ["variables.file"]}}\r\n'.encode(),
        f'--{boundary}\r\nContent-Disposition: form-data; name="0"; filename="plan.xlsx"\r\n\r\n'.encode(),
        xlsx, f"\r\n--{boundary}--\r\n".encode()])
    t = time.perf_counter()
    conn.request("POST", "/graphql", body, {"Authorization": "Bearer " + token,
                 "Content-Type": f"multipart/form-data; boundary={boundary}"})
    answer = json.loads(conn.getresponse().read())
    assert "errors" not in answer, answer
    return (time.perf_counter() - t) * 1000, answer["data"]["importPlan"]
NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
def retitled(xlsx, mark):
    """The workbook with the title of every priority, measure and activity
    (column Název of sheets Priority, Opatření, Aktivity) marked."""
    src = zipfile.ZipFile(io.BytesIO(xlsx))
    strings = ["".join(t.text or "" for t in si.iter(f"{{{NS['m']}}}t"))
               for si in ET.fromstring(src.read("xl/sharedStrings.xml")).findall("m:si", NS)]
    columns = {"xl/worksheets/sheet4.xml": "C", "xl/worksheets/sheet5.xml": "E", "xl/worksheets/sheet8.xml": "F"}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            col = columns.get(item.filename)
            if col:
                def mark_cell(m):
                    value = strings[int(m.group(3))] + f" ({mark})"
                    value = value.replace("&", "&amp;").replace("<", "&lt;")
                    return f'<c r="{m.group(1)}"{m.group(2)} t="inlineStr"><is><t>{value}</t></is></c>'
                data = re.sub(rf'<c r="({col}(?!1")\d+)"([^>]*?) t="s"><v>(\d+)</v></c>', mark_cell, data.decode()).encode()
            dst.writestr(item, data)
    return out.getvalue()
xlsx = base64.b64decode(post("query($id: ID!) { planFile(id: $id, format: XLSX) }", {"id": plan["id"]})["planFile"])
dry_times, apply_times = [], []
for i in range(n):
    ms, r = upload(xlsx, True)
    dry_times.append(ms)
    assert all(c["action"] == "UNCHANGED" for c in r["changes"]), r
    changed = retitled(xlsx, i)
    _, dry = upload(changed, True)
    ms, r = upload(changed, False, dry["version"])
    apply_times.append(ms)
    n_changed = sum(c["action"] == "CHANGED" for c in r["changes"])
    xlsx = base64.b64decode(post("query($id: ID!) { planFile(id: $id, format: XLSX) }", {"id": plan["id"]})["planFile"])
print(f"{len(xlsx)} bytes of XLSX, uploaded:")
print(f"XLSX dry run: {summary(dry_times)}")
print(f"XLSX apply ({n_changed} records changed): {summary(apply_times)}")
PY
