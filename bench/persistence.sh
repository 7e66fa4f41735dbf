#!/usr/bin/env bash
# Persistence costs, on this machine: silence write throughput through the API (creates, then
# expiries; each is written through to the store before the answer) on SQLite and on
# PostgreSQL, the time of a full notification-log snapshot of 100k entries (store level), and
# what storing alerts as they arrive costs ingest (amharness ingest on one node, SQLite,
# --storage.persist-alerts=true and =false alternating).
# Results (JSON lines) go to bench/runs/<date>-persistence/.
#
#   bench/persistence.sh        # SILENCES=2000 CONCURRENCY=8 REPS=3 NFLOG=100000 ALERTS=100000
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
scripts/setup.sh >/dev/null
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/klaxon-target}"
cargo build --release --locked --bin klaxon --example nflog_snapshot -p klaxon -p store
klaxon="$CARGO_TARGET_DIR/release/klaxon"
silences=${SILENCES:-2000}
concurrency=${CONCURRENCY:-8}
reps=${REPS:-3}
nflog=${NFLOG:-100000}
alerts=${ALERTS:-100000}
harness=${AMHARNESS:-$repo/../shared/tools/amharness.py}
[ -f "$harness" ] || { echo "harness not found at $harness" >&2; exit 1; }
address=127.0.0.147:19093
out="$repo/bench/runs/$(date -u +%Y%m%dT%H%M%SZ)-persistence"
mkdir -p "$out"
{
  echo "date: $(date -Is)"; echo "host: $(uname -srm)"; echo "nproc: $(nproc)"
  grep -m1 'model name' /proc/cpuinfo || true; echo "load: $(cat /proc/loadavg)"
  echo "klaxon: $(git -C "$repo" rev-parse --short HEAD)"
} >"$out/machine.txt"

pid=
stop() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  pid=
}
trap stop EXIT
psql_test() { psql -h 127.0.0.1 -U postgres -d test -v ON_ERROR_STOP=1 -qc "$1"; }

for rep in $(seq "$reps"); do
  for backend in sqlite postgres; do
    data=$(mktemp -d)
    printf 'route:\n  receiver: default\nreceivers:\n  - name: default\n' >"$data/alertmanager.yml"
    extra=()
    if [ "$backend" = postgres ]; then
      db="klaxon_bench_$$_$rep"
      psql_test "DROP DATABASE IF EXISTS $db" && psql_test "CREATE DATABASE $db"
      extra=("--storage.url=postgres://postgres@127.0.0.1:5432/$db")
    fi
    "$klaxon" --config.file="$data/alertmanager.yml" --storage.path="$data" \
      --web.listen-address=$address --cluster.listen-address= --log.level=warn "${extra[@]}" \
      2>"$out/klaxon-$backend-$rep.log" &
    pid=$!
    until curl -sf "http://$address/-/ready" >/dev/null; do sleep 0.1; done
    python3 bench/silence_load.py --url "http://$address" --silences "$silences" \
      --concurrency "$concurrency" --label "$backend" | tee -a "$out/silences.jsonl"
    stop
    rm -rf "$data"
    if [ "$backend" = postgres ]; then psql_test "DROP DATABASE $db WITH (FORCE)"; fi
  done
  "$CARGO_TARGET_DIR/release/examples/nflog_snapshot" "$nflog" | tee -a "$out/nflog.jsonl"
  for persist in true false; do
    state=$(mktemp -d)
    h=(python3 "$harness" --state-dir "$state")
    "${h[@]}" cluster-up --impl custom --n 1 --host 127.0.0.148 --base-port 19093 --settle-timeout 1 \
      --cmd "$klaxon --config.file={config} --storage.path={data} --web.listen-address={http} --web.external-url={url} --cluster.listen-address= --log.level=warn --storage.persist-alerts=$persist" \
      >/dev/null 2>>"$out/cluster.err"
    "${h[@]}" ingest --alerts "$alerts" --batch 100 --concurrency 8 --mode spread --verify 2>>"$out/cluster.err" \
      | python3 -c "import json,sys; r=json.loads(sys.stdin.read()); r['persist_alerts']='$persist'; print(json.dumps(r))" \
      | tee -a "$out/ingest.jsonl"
    "${h[@]}" cluster-down >/dev/null 2>>"$out/cluster.err" || true
    rm -rf "$state"
  done
done
echo "results in $out"
