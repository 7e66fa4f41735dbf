#!/usr/bin/env bash
# HA figures side by side for Alertmanager 0.25 and Klaxon, with the shared harness
# (../shared/tools/amharness.py) and default cluster flags on both: silence propagation
# (create and expire on node 1, time until visible on the others) and dedup (the same alerts
# to every node; healthy, SIGKILL of the position-0 node right after sending, node down).
# Results (one JSON line per command) go to bench/runs/<date>-cluster-ha/ with summary.md.
#
#   bench/cluster_ha.sh          # N=3 nodes, REPS=1, TRIALS=20 silences, HA_GROUPS=50
#                                # IMPLS="klaxon" measures one implementation only
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
harness=${AMHARNESS:-$repo/../shared/tools/amharness.py}
[ -f "$harness" ] || { echo "harness not found at $harness" >&2; exit 1; }
scripts/setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/klaxon-target}"
# KLAXON_BIN=path runs a binary built elsewhere (say a debug build) instead.
if [ -z "${KLAXON_BIN:-}" ]; then
  cargo build --release --locked --bin klaxon
fi
klaxon=${KLAXON_BIN:-$CARGO_TARGET_DIR/release/klaxon}

n=${N:-3}
reps=${REPS:-1}
trials=${TRIALS:-20}
groups=${HA_GROUPS:-50}
# Loopback addresses of their own, so a parallel harness run on 127.0.0.1 does not collide.
host=${HOST:-127.0.0.75}
out="$repo/bench/runs/$(date -u +%Y%m%dT%H%M%SZ)-cluster-ha"
mkdir -p "$out"
state=$(mktemp -d)
h=(python3 "$harness" --state-dir "$state")
klaxon_cmd="$klaxon --config.file={config} --storage.path={data} --web.listen-address={http} --web.external-url={url} --cluster.listen-address={gossip} --cluster.advertise-address={gossip} --cluster.peer={peer} --log.level=warn"

up() { # impl
  if [ "$1" = alertmanager ]; then
    "${h[@]}" cluster-up --impl alertmanager --n "$n" --host "$host" --base-port 19193 >/dev/null 2>>"$out/cluster.err"
  else
    "${h[@]}" cluster-up --impl custom --cmd "$klaxon_cmd" --n "$n" --host "$host" --base-port 19193 >/dev/null 2>>"$out/cluster.err"
  fi
}
down() { "${h[@]}" cluster-down >/dev/null 2>>"$out/cluster.err" || true; }
trap down EXIT

{
  echo "date: $(date -Is)"; echo "host: $(uname -srm)"; echo "nproc: $(nproc)"
  grep -m1 'model name' /proc/cpuinfo || true
  echo "loadavg: $(cat /proc/loadavg)"; prometheus-alertmanager --version 2>&1 | head -1
  echo "klaxon: $(git -C "$repo" rev-parse --short HEAD) ($klaxon)"; echo "nodes: $n"
} >"$out/machine.txt"

for r in $(seq 1 "$reps"); do
  for impl in ${IMPLS:-alertmanager klaxon}; do
    up "$impl"
    "${h[@]}" silence-propagation --trials "$trials" >"$out/$impl-silence-$r.json" 2>>"$out/$impl-silence.err"
    # Window: group_wait 2s + (n-1) × peer_timeout 15s + margin, as the baseline used.
    window=$((2 + (n - 1) * 15 + 18))
    "${h[@]}" dedup --groups "$groups" --window "$window" >"$out/$impl-dedup-$r.json" 2>>"$out/$impl-dedup.err"
    down
  done
done
echo "loadavg at end: $(cat /proc/loadavg)" >>"$out/machine.txt"
python3 "$repo/bench/summarize_cluster.py" "$out" | tee "$out/summary.md"
