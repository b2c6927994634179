#!/usr/bin/env bash
# Cold start to ready: time from exec of `kpss serve` on an existing SQLite
# database until `GET /readyz` answers 200. Release build.
# Usage: bash bench/cold-start.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
cargo build --release --quiet
bin=target/release/kpss
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export KPSS_DATA_DIR=$data KPSS_LISTEN=127.0.0.1:$port KPSS_LOG=warn

wait_ready() {
  until curl -sf -o /dev/null "http://127.0.0.1:$port/readyz"; do sleep 0.002; done
}

# First start creates, migrates and seeds the database; it is not measured.
"$bin" serve > /dev/null & pid=$!; wait_ready; kill -TERM $pid; wait $pid

times=()
for _ in $(seq "$runs"); do
  start=$(date +%s%N)
  "$bin" serve > /dev/null & pid=$!
  wait_ready
  end=$(date +%s%N)
  kill -TERM $pid; wait $pid
  times+=($(( (end - start) / 1000000 )))
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
echo "runs: $runs  min: $(echo "$sorted" | head -1) ms  median: $(echo "$sorted" | sed -n "$(( (runs + 1) / 2 ))p") ms  max: $(echo "$sorted" | tail -1) ms"
