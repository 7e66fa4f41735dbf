#!/usr/bin/env bash
# Ingest throughput, server CPU per alert and RSS per active alert, measured side by side for
# Alertmanager 0.25 and Klaxon with the shared harness (../shared/tools/amharness.py), on the
# same machine, one implementation after the other, with the same commands. Results (one JSON
# line per run) go to bench/runs/<date>-ingest-memory/ with a summary of the ratios.
#
#   bench/ingest_memory.sh            # REPS=3 by default; ALERTS=100000
#   KLAXON_FLAGS=--storage.persist-alerts=false bench/ingest_memory.sh   # alerts in memory only
#   HOST=127.0.0.220 bench/ingest_memory.sh   # another loopback address (ports 19093-19099)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
harness=${AMHARNESS:-$repo/../shared/tools/amharness.py}
[ -f "$harness" ] || { echo "harness not found at $harness" >&2; exit 1; }
scripts/setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/klaxon-target}"
cargo build --release --locked --bin klaxon
klaxon="$CARGO_TARGET_DIR/release/klaxon"

reps=${REPS:-3}
alerts=${ALERTS:-100000}
host=${HOST:-127.0.0.1}
out="$repo/bench/runs/$(date -u +%Y%m%dT%H%M%SZ)-ingest-memory"
mkdir -p "$out"
state=$(mktemp -d)
h=(python3 "$harness" --state-dir "$state")
klaxon_cmd="$klaxon --config.file={config} --storage.path={data} --web.listen-address={http} --web.external-url={url} --cluster.listen-address={gossip} --cluster.peer={peer} --log.level=warn ${KLAXON_FLAGS:-}"

up() { # impl n
  if [ "$1" = alertmanager ]; then
    "${h[@]}" cluster-up --impl alertmanager --n "$2" --host "$host" --base-port 19093 >/dev/null 2>>"$out/cluster.err"
  else
    "${h[@]}" cluster-up --impl custom --cmd "$klaxon_cmd" --n "$2" --host "$host" --base-port 19093 \
      >/dev/null 2>>"$out/cluster.err"
  fi
}
down() { "${h[@]}" cluster-down >/dev/null 2>>"$out/cluster.err" || true; }
trap down EXIT

{
  echo "date: $(date -Is)"; echo "host: $(uname -srm)"; echo "nproc: $(nproc)"
  grep -m1 'model name' /proc/cpuinfo || true; free -m | sed -n 2p
  echo "loadavg: $(cat /proc/loadavg)"; prometheus-alertmanager --version 2>&1 | head -1
  echo "klaxon: $(git -C "$repo" rev-parse --short HEAD)"
} >"$out/machine.txt"

# Repetitions alternate between the implementations so that background load on a shared
# machine falls on both alike.
for r in $(seq 1 "$reps"); do
  for impl in alertmanager klaxon; do
    up "$impl" 3
    "${h[@]}" ingest --alerts "$alerts" --batch 100 --concurrency 8 --mode spread --seconds 300 --verify \
      >"$out/$impl-ingest-$r.json" 2>>"$out/$impl-ingest.err"
    down
    up "$impl" 3
    "${h[@]}" memory --alerts "$alerts" --batch 1000 --concurrency 4 --settle 45 \
      >"$out/$impl-memory-$r.json" 2>>"$out/$impl-memory.err"
    down
  done
done
echo "loadavg at end: $(cat /proc/loadavg)" >>"$out/machine.txt"
python3 "$repo/bench/summarize.py" "$out" | tee "$out/summary.md"
