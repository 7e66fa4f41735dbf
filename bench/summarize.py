#!/usr/bin/env python3
"""Summarise a bench/runs/<run>-ingest-memory directory: medians per implementation and the
Alertmanager / Klaxon ratios (higher is better for Klaxon)."""
import json
import statistics
import sys
from pathlib import Path


def load(run, pattern):
    values = []
    for path in sorted(run.glob(pattern)):
        text = path.read_text().strip().splitlines()
        if text:
            values.append(json.loads(text[-1]))
    return values


def median(items, key):
    found = [item[key] for item in items if item.get(key) is not None]
    return statistics.median(found) if found else None


def main():
    run = Path(sys.argv[1])
    rows = {}
    for impl in ("alertmanager", "klaxon"):
        ingest = load(run, f"{impl}-ingest-*.json")
        memory = load(run, f"{impl}-memory-*.json")
        rows[impl] = {
            "alerts/s": median(ingest, "alerts_per_s"),
            "server CPU µs/alert": median(ingest, "server_cpu_us_per_alert"),
            "RSS bytes/alert": median(memory, "rss_delta_bytes_per_alert"),
            "RSS after (MB)": median(memory, "rss_after_mb"),
            "runs": f"{len(ingest)} ingest, {len(memory)} memory",
        }
    print(f"# {run.name}\n")
    print("| metric | Alertmanager 0.25 | Klaxon | ratio |")
    print("|---|---|---|---|")
    for metric in ("alerts/s", "server CPU µs/alert", "RSS bytes/alert", "RSS after (MB)", "runs"):
        am, kx = rows["alertmanager"][metric], rows["klaxon"][metric]
        ratio = ""
        if isinstance(am, (int, float)) and isinstance(kx, (int, float)) and am and kx:
            ratio = f"{kx / am:.1f}× more" if metric == "alerts/s" else f"{am / kx:.1f}× less"
        print(f"| {metric} | {am} | {kx} | {ratio} |")


if __name__ == "__main__":
    main()
