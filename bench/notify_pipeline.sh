#!/usr/bin/env bash
# Notification pipeline, Alertmanager 0.25 and Klaxon side by side on this machine: POST →
# webhook latency with group_wait 0s (p50/p99 over many new groups), and server CPU and RSS
# with 10k active groups across several group_interval ticks. Runs alternate between the two
# implementations; results go to bench/runs/<date>-notify-pipeline/ (results.jsonl, summary.md).
#
#   bench/notify_pipeline.sh          # REPS=3 LATENCY_GROUPS=1000 ACTIVE_GROUPS=10000 WINDOW=30
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
scripts/setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/klaxon-target}"
cargo build --release --locked --bin klaxon
out="$repo/bench/runs/$(date -u +%Y%m%dT%H%M%SZ)-notify-pipeline"
mkdir -p "$out"
{
  echo "date: $(date -Is)"; echo "host: $(uname -srm)"; echo "nproc: $(nproc)"
  grep -m1 'model name' /proc/cpuinfo || true; free -m | sed -n 2p
  echo "loadavg: $(cat /proc/loadavg)"; prometheus-alertmanager --version 2>&1 | head -1
  echo "klaxon: $(git -C "$repo" rev-parse --short HEAD)"
} >"$out/machine.txt"
python3 bench/notify_pipeline.py --klaxon "$CARGO_TARGET_DIR/release/klaxon" \
  --reps "${REPS:-3}" --latency-groups "${LATENCY_GROUPS:-1000}" --groups "${ACTIVE_GROUPS:-10000}" \
  --window "${WINDOW:-30}" --out "$out" 2>"$out/progress.log"
echo "loadavg at end: $(cat /proc/loadavg)" >>"$out/machine.txt"
