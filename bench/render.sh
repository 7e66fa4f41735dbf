#!/usr/bin/env bash
# Render throughput of a typical Slack message template (bench/render/slack.tmpl, ten alerts
# from bench/render/data.json): Klaxon's engine in process (`cargo bench -p alertmanager
# --bench render`) and Alertmanager 0.25 through amtool (bench/render_amtool.sh), alternating
# ROUNDS times so background load falls on both alike. Results go to runs/<date>-render/.
set -euo pipefail
cd "$(dirname "$0")"
ROUNDS=${ROUNDS:-3}
out="runs/$(date -u +%Y%m%dT%H%M%SZ)-render"
mkdir -p "$out"
{
  echo "date: $(date -Iseconds)"
  echo "host: $(uname -srm)"
  echo "nproc: $(nproc)"
  grep -m1 'model name' /proc/cpuinfo || true
  echo "loadavg: $(cat /proc/loadavg)"
  prometheus-alertmanager --version 2>&1 | head -1
  echo "klaxon: $(git rev-parse --short HEAD)"
} >"$out/machine.txt"
cargo bench -p alertmanager --bench render --no-run >/dev/null 2>&1
for round in $(seq 1 "$ROUNDS"); do
  cargo bench -q -p alertmanager --bench render 2>/dev/null | tee "$out/klaxon-$round.txt"
  REPS=5 ./render_amtool.sh | tee "$out/alertmanager-$round.txt"
done
echo "loadavg at end: $(cat /proc/loadavg)" >>"$out/machine.txt"
python3 - "$out" "$ROUNDS" <<'PY'
import re, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
def figure(kind, name):
    values = []
    for r in range(1, rounds + 1):
        text = open(f"{out}/{kind}-{r}.txt").read()
        values.append(float(re.search(re.escape(name) + r": ([0-9.]+) renders/s", text).group(1)))
    return statistics.median(values)
klaxon_note = figure("klaxon", "notification")
klaxon_loop = figure("klaxon", "in-one-text")
am_loop = figure("alertmanager", "alertmanager 0.25 in-one-text")
lines = [
    "| measure | renders/s | µs/render |",
    "|---|---|---|",
    f"| Klaxon, one notification field (clone + parse + render) | {klaxon_note:.0f} | {1e6 / klaxon_note:.1f} |",
    f"| Klaxon, 1000 calls in one text | {klaxon_loop:.0f} | {1e6 / klaxon_loop:.1f} |",
    f"| Alertmanager 0.25 (amtool), 1000 calls in one text | {am_loop:.0f} | {1e6 / am_loop:.1f} |",
    "",
    f"Klaxon / Alertmanager, same method: {klaxon_loop / am_loop:.1f}x the renders per second.",
]
open(f"{out}/summary.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
