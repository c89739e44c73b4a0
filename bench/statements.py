#!/usr/bin/env python3
"""Statement Resource benchmark: POST ingestion in batches, then query latency.

Loads N statements (from L learners, V verbs, A activities; deterministic for a
seed) into a running Trellis over HTTP with several client processes, then
times agent+verb queries (limit 100) for learners that exist. Standard library
only. Prints a summary and writes the figures as JSON (--out).

  python3 bench/statements.py --url http://127.0.0.1:8080 --key K --secret S \
      --statements 1000000 --batch 100 --concurrency 4
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import multiprocessing as mp
import random
import statistics
import time
import urllib.parse

VERBS = [f"http://adlnet.gov/expapi/verbs/{v}" for v in (
    "experienced", "attempted", "completed", "passed", "failed", "answered", "launched",
    "initialized", "terminated", "suspended", "resumed", "progressed", "scored", "commented",
    "asked", "responded", "interacted", "mastered", "preferred", "registered")]
TEMPLATE = ('{{"actor":{{"objectType":"Agent","name":"Learner {l}","mbox":"mailto:learner{l}@bench.example.com"}},'
            '"verb":{{"id":"{verb}","display":{{"en-US":"verb"}}}},'
            '"object":{{"objectType":"Activity","id":"https://bench.example.com/course/{c}/lesson/{a}",'
            '"definition":{{"name":{{"en-US":"Lesson {a}"}},"type":"http://adlnet.gov/expapi/activities/lesson"}}}},'
            '"result":{{"score":{{"scaled":0.{s}}},"completion":true,"duration":"PT{s}M"}},'
            '"context":{{"contextActivities":{{"parent":[{{"id":"https://bench.example.com/course/{c}"}}]}}}},'
            '"timestamp":"2026-0{m}-1{d}T1{h}:0{d}:00.{s}Z"}}')


def statement(rng: random.Random, learners: int) -> str:
    return TEMPLATE.format(l=rng.randrange(learners), verb=rng.choice(VERBS), c=rng.randrange(20),
                           a=rng.randrange(50), s=rng.randrange(100, 999), m=rng.randrange(1, 9),
                           d=rng.randrange(10), h=rng.randrange(10))


def headers(args) -> dict:
    token = base64.b64encode(f"{args.key}:{args.secret}".encode()).decode()
    return {"Authorization": f"Basic {token}", "X-Experience-API-Version": "2.0.0",
            "Content-Type": "application/json"}


def ingest_worker(args, worker: int, requests: int, out: mp.Queue) -> None:
    rng = random.Random(args.seed * 1000 + worker)
    url = urllib.parse.urlsplit(args.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    hdrs = headers(args)
    latencies, errors = [], 0
    for _ in range(requests):
        body = "[" + ",".join(statement(rng, args.learners) for _ in range(args.batch)) + "]"
        start = time.perf_counter()
        conn.request("POST", "/xapi/statements", body=body, headers=hdrs)
        resp = conn.getresponse()
        resp.read()
        latencies.append(time.perf_counter() - start)
        if resp.status != 200:
            errors += 1
    out.put((latencies, errors))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    rank = max(1, round(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def ingest(args) -> dict:
    total_requests = args.statements // args.batch
    share = [total_requests // args.concurrency + (1 if i < total_requests % args.concurrency else 0)
             for i in range(args.concurrency)]
    out: mp.Queue = mp.Queue()
    procs = [mp.Process(target=ingest_worker, args=(args, i, n, out)) for i, n in enumerate(share)]
    start = time.perf_counter()
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - start
    latencies = [x for r in results for x in r[0]]
    errors = sum(r[1] for r in results)
    stored = total_requests * args.batch
    return {"statements": stored, "seconds": round(elapsed, 2),
            "statements_per_second": round(stored / elapsed),
            "request_ms_p50": round(percentile(latencies, 50) * 1000, 2),
            "request_ms_p99": round(percentile(latencies, 99) * 1000, 2), "errors": errors}


def query(args, with_agent: bool = True) -> dict:
    """Times GETs with limit 100: agent+verb (few matches per learner) or
    verb alone (every page full)."""
    rng = random.Random(args.seed)
    url = urllib.parse.urlsplit(args.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    hdrs = headers(args)
    latencies, returned = [], []
    for _ in range(args.queries):
        agent = json.dumps({"mbox": f"mailto:learner{rng.randrange(args.learners)}@bench.example.com"})
        wanted = {"agent": agent, "verb": rng.choice(VERBS), "limit": 100}
        if not with_agent:
            del wanted["agent"]
        params = urllib.parse.urlencode(wanted)
        start = time.perf_counter()
        conn.request("GET", f"/xapi/statements?{params}", headers=hdrs)
        resp = conn.getresponse()
        body = resp.read()
        latencies.append(time.perf_counter() - start)
        if resp.status != 200:
            raise SystemExit(f"query failed: {resp.status} {body[:200]!r}")
        returned.append(len(json.loads(body)["statements"]))
    return {"queries": args.queries, "ms_p50": round(percentile(latencies, 50) * 1000, 2),
            "ms_p90": round(percentile(latencies, 90) * 1000, 2),
            "ms_p99": round(percentile(latencies, 99) * 1000, 2),
            "mean_statements_returned": round(statistics.mean(returned), 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="http://127.0.0.1:8080")
    ap.add_argument("--key", required=True)
    ap.add_argument("--secret", required=True)
    ap.add_argument("--statements", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--learners", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip-ingest", action="store_true", help="only run the query phase")
    ap.add_argument("--out", help="write the figures as JSON to this file")
    args = ap.parse_args()
    figures = {"config": {k: v for k, v in vars(args).items() if k not in ("secret", "out")}}
    if not args.skip_ingest:
        figures["ingest"] = ingest(args)
        print("ingest:", json.dumps(figures["ingest"]))
    figures["query_agent_verb_limit_100"] = query(args)
    print("query agent+verb:", json.dumps(figures["query_agent_verb_limit_100"]))
    figures["query_verb_limit_100"] = query(args, with_agent=False)
    print("query verb:      ", json.dumps(figures["query_verb_limit_100"]))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(figures, f, indent=2)


if __name__ == "__main__":
    main()
