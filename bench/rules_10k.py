#!/usr/bin/env python3
"""Rule evaluation at scale: N alerting rules at a 10 s interval, evaluated by Prometheus 2.42's
own rule manager and by Klaxon querying a Prometheus 2.42, on the same machine.

Three phases, each with a fresh Prometheus scraping the same synthetic exporter:
  baseline    Prometheus without rules (what scraping and the TSDB cost alone)
  prometheus  Prometheus with the rule file (its rule manager evaluates in process)
  klaxon      Prometheus without rules, queried by Klaxon, which evaluates the rule file

For each phase the script samples CPU time (utime + stime from /proc) and RSS over a window
after a warm-up, and reads the evaluation and missed-iteration counters both programs export.
Figures: CPU per rule evaluation, memory per rule, missed evaluations. Prometheus's cost per
evaluation is its CPU with rules minus its CPU without; Klaxon's is its own CPU, and the
Prometheus that serves its queries is reported too, since that is work the rules cause.
"""

import argparse
import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HOST = "127.0.0.230"
EXPORTER_PORT = 19400
PROMETHEUS_PORT = 19490
KLAXON_PORT = 19491
SERIES = 1000
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def exporter_body():
    lines = ["# TYPE klaxon_bench_value gauge"]
    lines += [f'klaxon_bench_value{{series="{i}"}} {i}' for i in range(SERIES)]
    return ("\n".join(lines) + "\n").encode()


class Exporter(http.server.BaseHTTPRequestHandler):
    body = exporter_body()

    def do_GET(self):  # noqa: N802 (the handler's name is fixed by http.server)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


def write_rules(path, rules, per_group, interval):
    """Half the rules fire (series value above the threshold), half never do; a quarter
    have a `for` so both Pending and Firing states are exercised."""
    with open(path, "w") as f:
        f.write("groups:\n")
        for g in range(rules // per_group):
            f.write(f"  - name: bench-{g}\n    interval: {interval}\n    rules:\n")
            for r in range(per_group):
                n = g * per_group + r
                threshold = -1 if n % 2 == 0 else SERIES
                f.write(f"      - alert: Bench{n}\n")
                f.write(f'        expr: klaxon_bench_value{{series="{n % SERIES}"}} > {threshold}\n')
                if n % 4 == 1 or n % 4 == 0 and n % 8 == 0:
                    f.write("        for: 30s\n")
                f.write(f'        labels: {{severity: page, rule: "{n}"}}\n')
                f.write('        annotations: {summary: "value {{ $value }} on {{ $labels.series }}"}\n')


def proc_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def proc_rss_bytes(pid):
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * PAGE_SIZE


def scrape_sum(url, family):
    """The sum over every series of one metric family in a Prometheus text exposition."""
    with urllib.request.urlopen(url, timeout=10) as r:
        text = r.read().decode()
    pattern = re.compile(rf"^{re.escape(family)}(\{{[^}}]*\}})? (\S+)$", re.M)
    return sum(float(m.group(2)) for m in pattern.finditer(text))


def wait_ready(url, deadline_s, proc, name):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            sys.exit(f"{name} exited with {proc.returncode} before it was ready")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    sys.exit(f"{name} not ready within {deadline_s} s")


class Processes:
    """Every process this script starts, stopped by PID at the end of each phase."""

    def __init__(self):
        self.procs = []

    def start(self, argv, log):
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def stop_all(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs = []


def start_prometheus(procs, work, rules_path, out):
    config = os.path.join(work, "prometheus.yml")
    with open(config, "w") as f:
        f.write("global:\n  scrape_interval: 5s\n  evaluation_interval: 10s\n")
        if rules_path:
            f.write(f"rule_files: ['{rules_path}']\n")
        f.write("scrape_configs:\n  - job_name: bench\n")
        f.write(f"    static_configs: [{{targets: ['{HOST}:{EXPORTER_PORT}']}}]\n")
    tsdb = os.path.join(work, "tsdb")
    shutil.rmtree(tsdb, ignore_errors=True)
    log = open(os.path.join(out, "prometheus.log"), "a")
    proc = procs.start(
        [
            "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={tsdb}",
            f"--web.listen-address={HOST}:{PROMETHEUS_PORT}",
        ],
        log,
    )
    wait_ready(f"http://{HOST}:{PROMETHEUS_PORT}/-/ready", 60, proc, "prometheus")
    return proc


def start_klaxon(procs, klaxon, work, rules_path, out):
    config = os.path.join(work, "alertmanager.yml")
    with open(config, "w") as f:
        f.write("route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n")
    data = os.path.join(work, "klaxon-data")
    shutil.rmtree(data, ignore_errors=True)
    os.makedirs(data)
    argv = [
        klaxon,
        f"--config.file={config}",
        f"--storage.path={data}",
        f"--web.listen-address={HOST}:{KLAXON_PORT}",
        "--cluster.listen-address=",
        "--log.level=warn",
    ]
    if rules_path:
        argv += [
            f"--rules.file={rules_path}",
            f"--datasource.url=http://{HOST}:{PROMETHEUS_PORT}",
        ]
    log = open(os.path.join(out, "klaxon.log"), "a")
    proc = procs.start(argv, log)
    wait_ready(f"http://{HOST}:{KLAXON_PORT}/-/ready", 60, proc, "klaxon")
    return proc


def measure(pids, window, counters):
    """CPU seconds per pid over `window` and the deltas of the (url, family) counters."""
    cpu0 = {name: proc_cpu_seconds(pid) for name, pid in pids.items()}
    c0 = {key: scrape_sum(*key) for key in counters}
    time.sleep(window)  # the measurement window itself, not a synchronisation
    cpu1 = {name: proc_cpu_seconds(pid) for name, pid in pids.items()}
    c1 = {key: scrape_sum(*key) for key in counters}
    return (
        {name: cpu1[name] - cpu0[name] for name in pids},
        {key[1]: c1[key] - c0[key] for key in counters},
        {name: proc_rss_bytes(pid) for name, pid in pids.items()},
    )


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--klaxon", required=True)
    p.add_argument("--rules", type=int, default=10000)
    p.add_argument("--per-group", type=int, default=100)
    p.add_argument("--interval", default="10s")
    p.add_argument("--warmup", type=float, default=40)
    p.add_argument("--window", type=float, default=60)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    if shutil.which("prometheus") is None:
        sys.exit("prometheus not found (scripts/setup.sh installs it)")
    os.makedirs(args.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="klaxon-rules-bench-")
    rules_path = os.path.join(work, "rules.yml")
    write_rules(rules_path, args.rules, args.per_group, args.interval)

    server = http.server.ThreadingHTTPServer((HOST, EXPORTER_PORT), Exporter)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    procs = Processes()
    prom_metrics = f"http://{HOST}:{PROMETHEUS_PORT}/metrics"
    klaxon_metrics = f"http://{HOST}:{KLAXON_PORT}/metrics"
    results = {"rules": args.rules, "per_group": args.per_group, "interval": args.interval,
               "window_s": args.window, "loadavg_start": open("/proc/loadavg").read().strip()}
    try:
        # Baseline: Prometheus scraping, no rules; Klaxon with no rules for its idle RSS.
        prom = start_prometheus(procs, work, None, args.out)
        idle_klaxon = start_klaxon(procs, args.klaxon, work, None, args.out)
        time.sleep(args.warmup)  # warm-up before the window, not a synchronisation
        cpu, _, rss = measure({"prometheus": prom.pid, "klaxon": idle_klaxon.pid}, args.window, [])
        results["baseline"] = {"cpu_s": cpu, "rss": rss}
        procs.stop_all()

        prom = start_prometheus(procs, work, rules_path, args.out)
        time.sleep(args.warmup)
        cpu, counts, rss = measure(
            {"prometheus": prom.pid},
            args.window,
            [(prom_metrics, "prometheus_rule_evaluations_total"),
             (prom_metrics, "prometheus_rule_group_iterations_missed_total"),
             (prom_metrics, "prometheus_rule_evaluation_failures_total")],
        )
        results["prometheus"] = {"cpu_s": cpu, "counts": counts, "rss": rss}
        procs.stop_all()

        prom = start_prometheus(procs, work, None, args.out)
        klaxon = start_klaxon(procs, args.klaxon, work, rules_path, args.out)
        time.sleep(args.warmup)
        cpu, counts, rss = measure(
            {"prometheus": prom.pid, "klaxon": klaxon.pid},
            args.window,
            [(klaxon_metrics, "klaxon_rule_group_iterations_total"),
             (klaxon_metrics, "klaxon_rule_group_iterations_missed_total"),
             (klaxon_metrics, "klaxon_rule_evaluation_failures_total")],
        )
        results["klaxon"] = {"cpu_s": cpu, "counts": counts, "rss": rss}
    finally:
        procs.stop_all()
        server.shutdown()
        shutil.rmtree(work, ignore_errors=True)

    base, pr, kx = results["baseline"], results["prometheus"], results["klaxon"]
    prom_evals = pr["counts"]["prometheus_rule_evaluations_total"]
    klaxon_evals = kx["counts"]["klaxon_rule_group_iterations_total"] * args.per_group
    interval_s = float(args.interval.rstrip("s"))
    summary = {
        "expected_evals": args.rules * args.window / interval_s,
        "prometheus_evals": prom_evals,
        "klaxon_evals": klaxon_evals,
        "prometheus_missed_iterations": pr["counts"]["prometheus_rule_group_iterations_missed_total"],
        "klaxon_missed_iterations": kx["counts"]["klaxon_rule_group_iterations_missed_total"],
        "prometheus_eval_failures": pr["counts"]["prometheus_rule_evaluation_failures_total"],
        "klaxon_eval_failures": kx["counts"]["klaxon_rule_evaluation_failures_total"],
        "prometheus_us_per_eval": 1e6 * (pr["cpu_s"]["prometheus"] - base["cpu_s"]["prometheus"])
        / max(prom_evals, 1),
        "klaxon_us_per_eval": 1e6 * kx["cpu_s"]["klaxon"] / max(klaxon_evals, 1),
        "datasource_us_per_klaxon_eval": 1e6
        * (kx["cpu_s"]["prometheus"] - base["cpu_s"]["prometheus"]) / max(klaxon_evals, 1),
        "prometheus_rss_per_rule": (pr["rss"]["prometheus"] - base["rss"]["prometheus"]) / args.rules,
        "klaxon_rss_per_rule": (kx["rss"]["klaxon"] - base["rss"]["klaxon"]) / args.rules,
        "klaxon_rss_mib": kx["rss"]["klaxon"] / 2**20,
        "prometheus_rss_mib": pr["rss"]["prometheus"] / 2**20,
    }
    results["summary"] = summary
    results["loadavg_end"] = open("/proc/loadavg").read().strip()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
