#!/usr/bin/env python3
"""Medians of the runs bench/cx_server.sh printed (BENCHMARKS.md, "CX analytics").

    python3 bench/cx_median.py < cx_server.log

Prints one Markdown table: per request shape the median over the runs of
p50 and of p99, and the medians of the restart times and RSS figures.
"""
import re
import statistics
import sys

rows = {}
order = []
ready, caught, rss = [], [], []
for line in sys.stdin:
    m = re.match(r"\| `(.+?)`( \(.*?\))? \| ([\d.]+) \| ([\d.]+) \|", line)
    if m:
        shape = m.group(1)
        if shape not in rows:
            rows[shape] = []
            order.append(shape)
        rows[shape].append((float(m.group(3)), float(m.group(4))))
    elif m := re.match(r"ready \(state loaded\) after ([\d.]+) s", line):
        ready.append(float(m.group(1)))
    elif m := re.match(r"caught up with the log after ([\d.]+) s", line):
        caught.append(float(m.group(1)))
    elif m := re.match(r"RSS (\d+) MiB", line):
        rss.append(int(m.group(1)))

runs = max((len(v) for v in rows.values()), default=0)
print(f"| request (4 connections) | p50 ms | p99 ms | runs |")
print("|---|---|---|---|")
for shape in order:
    v = rows[shape]
    p50 = statistics.median(x for x, _ in v)
    p99 = statistics.median(y for _, y in v)
    print(f"| `{shape}` | {p50:.2f} | {p99:.2f} | {len(v)} |")
worst = max((statistics.median(y for _, y in v), s) for s, v in rows.items()) if rows else None
if worst:
    print(f"\nworst median p99: {worst[0]:.2f} ms ({worst[1]})")
if ready:
    print(f"first start: ready {ready[0]:.1f} s, caught up {caught[0]:.1f} s")
    if len(ready) > 1:
        print(f"restarts: ready {statistics.median(ready[1:]):.2f} s (median of {len(ready) - 1}: {ready[1:]})")
if rss:
    print(f"RSS: max {max(rss)} MiB, all {rss}")
