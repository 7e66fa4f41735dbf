#!/usr/bin/env bash
# Alertmanager 0.25's render cost for the Slack template of bench/render, measured through
# amtool: one process renders a text calling the template once, another a text calling it
# 1001 times; the difference over 1000 is the cost of one render without process start and
# template loading (medians of REPS runs each). Compare with the `in-one-text` figure of
# `cargo bench -p alertmanager --bench render`.
set -euo pipefail
cd "$(dirname "$0")/render"
REPS=${REPS:-7}
python3 - "$REPS" <<'PY'
import statistics, subprocess, sys, time
reps = int(sys.argv[1])
call = '{{ template "bench.slack.text" . }}'
def run(n):
    args = ["amtool", "template", "render", "--template.glob=slack.tmpl",
            "--template.data=data.json", "--template.text=" + call * n]
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return statistics.median(times)
one, many = run(1), run(1001)
per = (many - one) / 1000
print(f"amtool process, 1 render: {one * 1e3:.1f} ms")
print(f"amtool process, 1001 renders: {many * 1e3:.1f} ms")
print(f"alertmanager 0.25 in-one-text: {1 / per:.0f} renders/s ({per * 1e6:.1f} µs/render)")
PY
