#!/usr/bin/env bash
# One node, one figure: server CPU per alert while ingesting ALERTS alerts (batches of 100,
# 8 concurrent clients), or with MEM=1 the RSS per active alert after 100k alerts settle.
# For comparing two builds quickly (alternate them a few times; the machine is noisy), not a
# substitute for ingest_memory.sh's side-by-side run with Alertmanager.
#
#   bench/one_node.sh                         # the release build of this tree
#   BIN=/path/to/other/klaxon bench/one_node.sh
#   AM=1 bench/one_node.sh                    # Alertmanager 0.25 instead
#   MEM=1 bench/one_node.sh                   # RSS per active alert
#   KLAXON_FLAGS=--storage.persist-alerts=false bench/one_node.sh
set -euo pipefail
cd "$(dirname "$0")/.."
harness=${AMHARNESS:-$(pwd)/../shared/tools/amharness.py}
[ -f "$harness" ] || { echo "harness not found at $harness" >&2; exit 1; }
bin=${BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/klaxon-target}/release/klaxon}
[ "${AM:-0}" = 1 ] || [ -x "$bin" ] || { echo "no klaxon binary at $bin (cargo build --release)" >&2; exit 1; }
host=${HOST:-127.0.0.221}
state=$(mktemp -d)
h=(python3 "$harness" --state-dir "$state")
trap '"${h[@]}" cluster-down >/dev/null 2>&1 || true; rm -rf "$state"' EXIT
if [ "${AM:-0}" = 1 ]; then
  "${h[@]}" cluster-up --impl alertmanager --n 1 --host "$host" --base-port 19193 >/dev/null 2>"$state/up.err"
else
  cmd="$bin --config.file={config} --storage.path={data} --web.listen-address={http} --web.external-url={url} --cluster.listen-address={gossip} --log.level=warn ${KLAXON_FLAGS:-}"
  "${h[@]}" cluster-up --impl custom --cmd "$cmd" --n 1 --host "$host" --base-port 19193 >/dev/null 2>"$state/up.err"
fi
if [ "${MEM:-0}" = 1 ]; then
  "${h[@]}" memory --alerts 100000 --batch 1000 --concurrency 4 --settle "${SETTLE:-45}" 2>"$state/run.err" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print("rss_bytes_per_alert", d["rss_delta_bytes_per_alert"])'
else
  "${h[@]}" ingest --alerts "${ALERTS:-200000}" --batch 100 --concurrency 8 --seconds 300 2>"$state/run.err" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print("server_cpu_us_per_alert", d["server_cpu_us_per_alert"], "alerts_per_s", d["alerts_per_s"])'
fi
