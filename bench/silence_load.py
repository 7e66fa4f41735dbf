#!/usr/bin/env python3
"""Silence write throughput through the API: N creates, then N expiries, each spread over C
keep-alive connections. Every answer must be 200. Prints one JSON line (ops/s, latency
percentiles per phase). Stdlib only.

    bench/silence_load.py --url http://127.0.0.147:19093 --silences 2000 --concurrency 8
"""
import argparse
import datetime
import http.client
import json
import threading
import time
import urllib.parse


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def run_phase(url, jobs, concurrency):
    """jobs: list of (method, path, body). -> (elapsed_s, latencies_s, results)."""
    parsed = urllib.parse.urlparse(url)
    results = [None] * len(jobs)
    latencies = [0.0] * len(jobs)
    next_job = [0]
    lock = threading.Lock()
    errors = []

    def worker():
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
        while True:
            with lock:
                k = next_job[0]
                next_job[0] += 1
            if k >= len(jobs):
                break
            method, path, body = jobs[k]
            t0 = time.perf_counter()
            conn.request(method, path, body=body,
                         headers={"Content-Type": "application/json"} if body else {})
            resp = conn.getresponse()
            data = resp.read()
            latencies[k] = time.perf_counter() - t0
            if resp.status != 200:
                errors.append((resp.status, data[:200]))
            results[k] = data
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    if errors:
        raise SystemExit("non-200 answers: %d, first: %r" % (len(errors), errors[0]))
    return elapsed, latencies, results


def summary(elapsed, latencies):
    ordered = sorted(latencies)
    pct = lambda p: round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 2)
    return {"ops": len(latencies), "elapsed_s": round(elapsed, 3),
            "ops_per_s": round(len(latencies) / elapsed, 1),
            "p50_ms": pct(0.50), "p99_ms": pct(0.99)}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--silences", type=int, default=2000)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--label", default="")
    a = p.parse_args()
    now = datetime.datetime.now(datetime.timezone.utc)
    creates = []
    for k in range(a.silences):
        body = {"matchers": [{"name": "alertname", "value": "Bench%d" % k, "isRegex": False},
                             {"name": "instance", "value": "host-.*", "isRegex": True}],
                "startsAt": iso(now), "endsAt": iso(now + datetime.timedelta(hours=1)),
                "createdBy": "bench", "comment": "silence write throughput"}
        creates.append(("POST", "/api/v2/silences", json.dumps(body)))
    elapsed, lat, results = run_phase(a.url, creates, a.concurrency)
    out = {"label": a.label, "url": a.url, "concurrency": a.concurrency,
           "create": summary(elapsed, lat)}
    ids = [json.loads(r)["silenceID"] for r in results]
    expires = [("DELETE", "/api/v2/silence/%s" % i, None) for i in ids]
    elapsed, lat, _ = run_phase(a.url, expires, a.concurrency)
    out["expire"] = summary(elapsed, lat)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
