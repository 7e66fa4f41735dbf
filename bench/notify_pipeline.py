#!/usr/bin/env python3
"""Notification pipeline benchmark, Alertmanager 0.25 and Klaxon side by side.

Stdlib only. Each run starts one server (clustering off) with a webhook receiver pointing at a
sink in this process, on loopback (127.0.0.124 server, 127.0.0.125 sink), and measures:

  latency  time from sending `POST /api/v2/alerts` (one alert, a new group, `group_wait: 0s`)
           to the webhook arriving at the sink, one group after the other (no overlap), over
           many distinct groups: p50 / p99 / mean in milliseconds.
  groups   10k active groups: all alerts posted, then the time until all 10k first
           notifications arrived and the server CPU spent on it; then the server's CPU
           (user+system from /proc) over a steady window spanning several `group_interval`
           ticks (each tick: every group re-checks its alerts against the notification log and
           sends nothing), and its RSS at the end.

Runs alternate between the implementations (AM, Klaxon, AM, Klaxon, ...) so that background
load on a shared machine falls on both alike; the summary reports medians and the ratios.

  bench/notify_pipeline.py --klaxon PATH [--reps 3] [--latency-groups 1000]
                           [--groups 10000] [--window 30] [--out DIR]
"""

import argparse
import datetime
import http.client
import http.server
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

SERVER_HOST = "127.0.0.124"
SERVER_PORT = 19093
SINK_HOST = "127.0.0.125"
SINK_PORT = 19095
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")

CONFIG = """
route:
  receiver: sink
  group_by: [alertname, group]
  group_wait: 0s
  group_interval: {group_interval}
  repeat_interval: 1h
receivers:
  - name: sink
    webhook_configs: [{{url: 'http://{sink}/hook'}}]
"""


class Sink:
    """Records the monotonic arrival time of the first notification of each group."""

    def __init__(self):
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.first = {}
        self.count = 0
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                at = time.monotonic()
                group = json.loads(body).get("groupLabels", {}).get("group")
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                with sink.cond:
                    sink.count += 1
                    sink.first.setdefault(group, at)
                    sink.cond.notify_all()

            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            request_queue_size = 4096
            daemon_threads = True

        self.server = Server((SINK_HOST, SINK_PORT), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def reset(self):
        with self.cond:
            self.first.clear()
            self.count = 0

    def wait_for(self, predicate, deadline):
        with self.cond:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)
            return True


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_bytes(pid):
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * PAGE


class Target:
    """One server process, stopped by PID."""

    def __init__(self, impl, binary, group_interval):
        self.dir = tempfile.mkdtemp(prefix=f"bench-notify-{impl}-")
        config = os.path.join(self.dir, "config.yml")
        with open(config, "w") as f:
            f.write(CONFIG.format(group_interval=group_interval, sink=f"{SINK_HOST}:{SINK_PORT}"))
        address = f"{SERVER_HOST}:{SERVER_PORT}"
        command = [
            binary,
            f"--config.file={config}",
            f"--storage.path={self.dir}",
            f"--web.listen-address={address}",
            f"--web.external-url=http://{address}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ]
        self.log = open(os.path.join(self.dir, "server.log"), "w")
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                connection = http.client.HTTPConnection(SERVER_HOST, SERVER_PORT, timeout=2)
                connection.request("GET", "/-/ready")
                if connection.getresponse().status == 200:
                    return
            except OSError:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{impl} did not become ready; log in {self.dir}")

    @property
    def pid(self):
        return self.process.pid

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def alert(group, starts_at):
    return {
        "labels": {"alertname": "BenchPipeline", "group": str(group), "severity": "page"},
        "annotations": {"summary": f"group {group}"},
        "startsAt": starts_at,
    }


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


class Poster:
    def __init__(self):
        self.connection = http.client.HTTPConnection(SERVER_HOST, SERVER_PORT, timeout=30)

    def post(self, alerts):
        body = json.dumps(alerts).encode()
        self.connection.request(
            "POST", "/api/v2/alerts", body, {"Content-Type": "application/json"}
        )
        response = self.connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"POST /api/v2/alerts: {response.status}")


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def run_latency(impl, binary, sink, groups):
    sink.reset()
    target = Target(impl, binary, "5m")
    try:
        poster = Poster()
        samples = []
        for group in range(groups):
            sent = time.monotonic()
            poster.post([alert(group, now_rfc3339())])
            if not sink.wait_for(lambda: str(group) in sink.first, time.monotonic() + 30):
                raise RuntimeError(f"{impl}: group {group} not notified within 30s")
            samples.append((sink.first[str(group)] - sent) * 1000)
        return {
            "impl": impl,
            "kind": "latency",
            "groups": groups,
            "p50_ms": percentile(samples, 50),
            "p99_ms": percentile(samples, 99),
            "mean_ms": statistics.mean(samples),
            "max_ms": max(samples),
            "server_cpu_s": cpu_seconds(target.pid),
        }
    finally:
        target.stop()


def run_groups(impl, binary, sink, groups, window, group_interval_s):
    sink.reset()
    target = Target(impl, binary, f"{group_interval_s}s")
    try:
        poster = Poster()
        cpu_before = cpu_seconds(target.pid)
        started = time.monotonic()
        starts_at = now_rfc3339()
        batch = 500
        for first in range(0, groups, batch):
            poster.post([alert(g, starts_at) for g in range(first, min(groups, first + batch))])
        delivered = sink.wait_for(lambda: len(sink.first) >= groups, time.monotonic() + 300)
        delivery_s = time.monotonic() - started
        cpu_delivery = cpu_seconds(target.pid) - cpu_before
        if not delivered:
            raise RuntimeError(f"{impl}: only {len(sink.first)} of {groups} groups notified")
        # Let the last notifications' retries and nflog writes finish before the window.
        time.sleep(group_interval_s)
        notifications_before = sink.count
        cpu_start, wall_start = cpu_seconds(target.pid), time.monotonic()
        time.sleep(window)
        cpu_window = cpu_seconds(target.pid) - cpu_start
        wall = time.monotonic() - wall_start
        return {
            "impl": impl,
            "kind": "groups",
            "groups": groups,
            "delivery_s": delivery_s,
            "delivery_cpu_s": cpu_delivery,
            "window_s": wall,
            "group_interval_s": group_interval_s,
            "steady_cpu_percent": 100 * cpu_window / wall,
            "notifications_in_window": sink.count - notifications_before,
            "rss_mib": rss_bytes(target.pid) / 2**20,
        }
    finally:
        target.stop()


def summarize(results):
    def median(impl, kind, key):
        values = [r[key] for r in results if r["impl"] == impl and r["kind"] == kind]
        return statistics.median(values) if values else float("nan")

    rows = [
        ("latency", "p50_ms", "POST → webhook p50 (ms)"),
        ("latency", "p99_ms", "POST → webhook p99 (ms)"),
        ("latency", "mean_ms", "POST → webhook mean (ms)"),
        ("groups", "delivery_s", "10k groups: all first notifications received (s)"),
        ("groups", "delivery_cpu_s", "10k groups: server CPU until delivered (s)"),
        ("groups", "steady_cpu_percent", "10k groups: steady server CPU (% of one core)"),
        ("groups", "rss_mib", "10k groups: RSS (MiB)"),
    ]
    lines = [
        "| measure | Alertmanager 0.25 | Klaxon | AM / Klaxon |",
        "|---|---|---|---|",
    ]
    for kind, key, label in rows:
        am, kx = median("alertmanager", kind, key), median("klaxon", kind, key)
        ratio = am / kx if kx else float("inf")
        lines.append(f"| {label} | {am:.3f} | {kx:.3f} | {ratio:.1f}× |")
    per_run = [
        f"{r['impl']} {r['kind']}: "
        + ", ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items()
                    if k not in ("impl", "kind"))
        for r in results
    ]
    return "\n".join(lines) + "\n\nPer run (in order):\n\n" + "\n".join(f"- {l}" for l in per_run)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--klaxon", required=True, help="path of the klaxon binary (release)")
    parser.add_argument("--alertmanager", default=shutil.which("prometheus-alertmanager"))
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--latency-groups", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=10000)
    parser.add_argument("--window", type=float, default=30.0)
    parser.add_argument("--group-interval", type=int, default=5)
    parser.add_argument("--out", help="directory for results.jsonl and summary.md")
    args = parser.parse_args()
    if not args.alertmanager:
        sys.exit("prometheus-alertmanager is not installed (run scripts/setup.sh)")
    binaries = {"alertmanager": args.alertmanager, "klaxon": args.klaxon}
    sink = Sink()
    results = []
    out = open(os.path.join(args.out, "results.jsonl"), "a") if args.out else None
    for rep in range(args.reps):
        for impl in ("alertmanager", "klaxon"):
            for run in (
                lambda: run_latency(impl, binaries[impl], sink, args.latency_groups),
                lambda: run_groups(
                    impl, binaries[impl], sink, args.groups, args.window, args.group_interval
                ),
            ):
                result = run()
                result["rep"] = rep
                result["loadavg"] = os.getloadavg()[0]
                print(json.dumps(result), file=sys.stderr, flush=True)
                results.append(result)
                if out:
                    out.write(json.dumps(result) + "\n")
                    out.flush()
    summary = summarize(results)
    print(summary)
    if args.out:
        with open(os.path.join(args.out, "summary.md"), "w") as f:
            f.write(summary + "\n")


if __name__ == "__main__":
    main()
