#!/usr/bin/env python3
"""Summarizes a bench/cluster_ha.sh run directory as a Markdown table (medians over reps)."""
import glob, json, os, statistics, sys

def load(run, impl, kind):
    out = []
    for path in sorted(glob.glob(os.path.join(run, f"{impl}-{kind}-*.json"))):
        lines = [l for l in open(path) if l.strip()]
        if lines:
            out.append(json.loads(lines[-1]))
    return out

def med(values):
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 2) if values else None

def row(run, impl):
    sil, dd = load(run, impl, "silence"), load(run, impl, "dedup")
    if not sil and not dd:
        return None
    phase = lambda d, p: d.get("phases", {}).get(p, {})
    return {
        "create p50 ms": med([s["create_visible_all_ms"].get("p50") for s in sil]),
        "create p99 ms": med([s["create_visible_all_ms"].get("p99") for s in sil]),
        "expire p50 ms": med([s["expire_visible_all_ms"].get("p50") for s in sil]),
        "healthy dup/miss": "%s / %s" % (sum(phase(d, "healthy").get("duplicates", 0) for d in dd),
                                         sum(phase(d, "healthy").get("misses", 0) for d in dd)),
        "healthy first s": med([phase(d, "healthy").get("first_notification_s", {}).get("p50") for d in dd]),
        "kill dup/miss": "%s / %s" % (sum(phase(d, "kill_during_group_wait").get("duplicates", 0) for d in dd),
                                      sum(phase(d, "kill_during_group_wait").get("misses", 0) for d in dd)),
        "failover s after kill (p50)": med([phase(d, "kill_during_group_wait").get("first_notification_s", {}).get("p50") for d in dd]),
        "down dup/miss": "%s / %s" % (sum(phase(d, "node_down").get("duplicates", 0) for d in dd),
                                      sum(phase(d, "node_down").get("misses", 0) for d in dd)),
    }

run = sys.argv[1]
rows = {impl: row(run, impl) for impl in ("alertmanager", "klaxon")}
# A run of one implementation (IMPLS=...) leaves the other's column empty.
cols = list(next(r for r in rows.values() if r).keys())
rows = {impl: r or {c: "–" for c in cols} for impl, r in rows.items()}
print("| figure | Alertmanager 0.25 | Klaxon |")
print("|---|---|---|")
for c in cols:
    print(f"| {c} | {rows['alertmanager'][c]} | {rows['klaxon'][c]} |")
