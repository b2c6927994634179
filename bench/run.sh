#!/usr/bin/env bash
# The load harness: kpss on SQLite and on PostgreSQL (service role under
# row-level security), PostGraphile 5 on the same database, and a static
# ceiling, driven by wrk. See bench/README.md.
# Usage: bash bench/run.sh [--regions N] [--secs S] [--quick] [--smoke] [--no-peer] [--no-ceiling] [--instances N] [--ops OPS] [--databases DBS]
# KPSS_BIN=path uses that binary instead of a release build of this checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
smoke=0; peer=1; ceiling=1
for a in "$@"; do
  case $a in --smoke) smoke=1; peer=0; ceiling=0 ;; --no-peer) peer=0 ;; --no-ceiling) ceiling=0 ;; esac
done

# Debian's wrk and postgresql, installed when missing (as root).
missing=()
command -v wrk > /dev/null || missing+=(wrk)
ls /usr/lib/postgresql/*/bin/postgres > /dev/null 2>&1 || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "missing: ${missing[*]} (apt-get install ${missing[*]})" >&2; exit 1; }
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q > /dev/null && apt-get install -y -q --no-install-recommends "${missing[@]}" > /dev/null
fi

if [ -z "${KPSS_BIN:-}" ]; then
  [ $smoke = 1 ] && { echo "--smoke uses KPSS_BIN (a built kpss binary)" >&2; exit 2; }
  cargo build --release --quiet
fi
[ $ceiling = 1 ] && cargo build --release --quiet --manifest-path bench/ceiling/Cargo.toml
# PostGraphile 5 and the Node 22 it runs on, as pinned in bench/peer/package-lock.json.
if [ $peer = 1 ] && [ ! -x bench/peer/node_modules/.bin/node ]; then
  (cd bench/peer && npm ci --no-audit --no-fund --loglevel=error)
fi
exec python3 bench/harness.py "$@"
