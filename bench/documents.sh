#!/usr/bin/env bash
# Time to make a plan's council document over HTTP: for every seeded plan,
# `GET /documents/plans/{id}.docx` and `.pdf` (and the evaluation of the
# plan's last year), each the median of N runs after one warm-up, as curl's
# time_total against `kpss serve` on SQLite. Release build.
# Usage: bash bench/documents.sh [runs]   (KPSS_BIN=path skips the build)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
if [ -z "${KPSS_BIN:-}" ]; then cargo build --release --quiet; fi
bin=${KPSS_BIN:-${CARGO_TARGET_DIR:-target}/release/kpss}
data=$(mktemp -d)
trap 'kill -TERM $pid 2>/dev/null || true; rm -rf "$data"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# The rate limit off: on a quiet machine the runs outpace its refill (HTTP 429).
export KPSS_DATA_DIR=$data KPSS_LISTEN=127.0.0.1:$port KPSS_LOG=warn KPSS_RATE_LIMIT_PER_SECOND=0
base=http://127.0.0.1:$port

"$bin" serve > /dev/null & pid=$!
until curl -sf -o /dev/null "$base/readyz"; do sleep 0.01; done
token=$("$bin" token --sub bench --role viewer --region '*')

plans=$(curl -sf "$base/graphql" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"query":"{ plans(first: 100) { nodes { id periodEnd priorities { measures { id subMeasures { id } } } } } }"}' |
  python3 -c '
import json, sys
for p in json.load(sys.stdin)["data"]["plans"]["nodes"]:
    n = sum(1 + len(m["subMeasures"]) for pr in p["priorities"] for m in pr["measures"])
    print(p["id"], p["periodEnd"], n)')

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

echo "| plan | measures | document | bytes | median of $runs (ms) |"
echo "| ---: | ---: | --- | ---: | ---: |"
while read -r id year measures; do
  for path in "$id.docx" "$id.pdf" "$id.docx?evaluation=$year" "$id.pdf?evaluation=$year"; do
    url="$base/documents/plans/$path"
    size=$(curl -sf -H "Authorization: Bearer $token" "$url" | wc -c)
    ms=$(for _ in $(seq "$runs"); do
      curl -sf -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $token" "$url"
    done | awk '{ printf "%.1f\n", $1 * 1000 }' | median)
    echo "| $id | $measures | $path | $size | $ms |"
  done
done <<< "$plans"
