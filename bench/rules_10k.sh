#!/usr/bin/env bash
# Rule evaluation at scale (issue 6): 10k alerting rules at a 10 s interval, evaluated by
# Prometheus 2.42's rule manager and by Klaxon querying Prometheus 2.42, on the same machine
# (bench/rules_10k.py says how each figure is taken). One JSON line per repetition goes to
# bench/runs/<date>-rules-10k/results.jsonl, with a table of the medians in summary.md.
#
#   bench/rules_10k.sh          # REPS=2 RULES=10000 WINDOW=60
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
scripts/setup.sh >/dev/null
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/klaxon-target}"
cargo build --release --locked --bin klaxon
out="$repo/bench/runs/$(date -u +%Y%m%dT%H%M%SZ)-rules-10k"
mkdir -p "$out"
{
  echo "date: $(date -Is)"; echo "host: $(uname -srm)"; echo "nproc: $(nproc)"
  grep -m1 'model name' /proc/cpuinfo || true; echo "load: $(cat /proc/loadavg)"
  prometheus --version 2>&1 | head -1; echo "klaxon: $(git -C "$repo" rev-parse --short HEAD)"
} >"$out/machine.txt"
for _ in $(seq "${REPS:-2}"); do
  python3 bench/rules_10k.py --klaxon "$CARGO_TARGET_DIR/release/klaxon" \
    --rules "${RULES:-10000}" --window "${WINDOW:-60}" --out "$out" | tee -a "$out/results.jsonl"
done
python3 - "$out" <<'PY' | tee "$out/summary.md"
import json, statistics, sys
runs = [json.loads(l)["summary"] for l in open(sys.argv[1] + "/results.jsonl")]
med = lambda k: statistics.median(r[k] for r in runs)
print(f"| measure (median of {len(runs)}) | Prometheus 2.42 | Klaxon | Prometheus / Klaxon |")
print("|---|---|---|---|")
p, k = med("prometheus_us_per_eval"), med("klaxon_us_per_eval")
print(f"| CPU µs per rule evaluation | {p:.1f} | {k:.1f} | {p / k:.2f}× |")
p, k = med("prometheus_rss_per_rule"), med("klaxon_rss_per_rule")
print(f"| RSS bytes per rule | {p:.0f} | {k:.0f} | {p / k:.2f}× |")
print(f"| evaluations in the window (expected {med('expected_evals'):.0f}) | {med('prometheus_evals'):.0f} | {med('klaxon_evals'):.0f} | |")
print(f"| missed group iterations | {med('prometheus_missed_iterations'):.0f} | {med('klaxon_missed_iterations'):.0f} | |")
print(f"| failed evaluations | {med('prometheus_eval_failures'):.0f} | {med('klaxon_eval_failures'):.0f} | |")
print(f"| datasource CPU µs per Klaxon evaluation (Prometheus serving the queries) | | {med('datasource_us_per_klaxon_eval'):.1f} | |")
PY
