#!/usr/bin/env python3
"""Ingestion benchmark: POST load, then query latency at the loaded size.

Starts `trellis serve` on a fresh data directory (or uses a running LRS with
--url), POSTs --statements statements without ids in arrays of --batch over
--connections keep-alive connections (the load generator bench/load.rs), and
prints: statements/s over the whole load, POST p50/p90/p99, the server's CPU
use (cores, from /proc) and the load average. It then waits until
X-Experience-API-Consistent-Through covers the load (the background indexer
caught up) and times GET agent+verb and activity queries (limit 100, one
connection).

  cargo build --release --bin trellis --example load
  python3 bench/ingest.py --trellis target/release/trellis --statements 1000000
  # an LRS already running (its server process ids for the CPU figure):
  python3 bench/ingest.py --url http://127.0.0.1:8080/xapi --key K --secret S --pid 1234
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from email.utils import parsedate_to_datetime
from datetime import datetime

HERE = os.path.dirname(os.path.abspath(__file__))
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of the processes and their children's threads."""
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / TICKS
        except (OSError, IndexError, ValueError):
            pass
    return total


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    sys.exit(f"the server at {url} did not become ready")


def niced(priority: int):
    """A preexec_fn giving a child process this nice value (0: unchanged)."""
    def apply() -> None:
        if priority:
            os.setpriority(os.PRIO_PROCESS, 0, priority)
    return apply


def run_load(load: str, mode: str, options: list[str], priority: int = 0) -> dict:
    out = subprocess.run([load, mode, *options], capture_output=True, text=True,
                         preexec_fn=niced(priority))
    if out.stderr.strip():
        print(out.stderr.strip(), file=sys.stderr)
    for line in out.stdout.splitlines():
        if line.startswith("BENCH "):
            return json.loads(line[6:])
    sys.exit(f"the load generator failed:\n{out.stdout}\n{out.stderr}")


def consistent_through(xapi: str, auth: str, version: str) -> datetime | None:
    req = urllib.request.Request(xapi + "/statements?limit=1", headers={
        "Authorization": auth, "X-Experience-API-Version": version})
    with urllib.request.urlopen(req, timeout=30) as r:
        value = r.headers.get("X-Experience-API-Consistent-Through")
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--trellis", help="the trellis binary to start (release build)")
    p.add_argument("--data-dir", help="data directory (default: a fresh temporary one, removed after)")
    p.add_argument("--server-arg", action="append", default=[], help="extra `trellis serve` argument")
    p.add_argument("--url", help="xAPI base URL of a running LRS instead (e.g. http://127.0.0.1:8080/xapi)")
    p.add_argument("--pid", type=int, action="append", default=[], help="server process ids (with --url)")
    p.add_argument("--key", default="bench")
    p.add_argument("--secret", default="bench-secret-123")
    p.add_argument("--statements", type=int, default=1_000_000)
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--load", default=os.path.join(HERE, "..", "target", "release", "examples", "load"),
                   help="the load generator (cargo build --release --example load)")
    p.add_argument("--learners", type=int, default=100_000)
    p.add_argument("--version", default="2.0.0", help="X-Experience-API-Version")
    p.add_argument("--query-seconds", type=int, default=10, help="per query kind; 0 skips queries")
    p.add_argument("--nice", type=int, default=0,
                   help="nice value of the server and the load generator (negative needs root): "
                        "on a machine shared with other jobs, so that they measure the LRS")
    p.add_argument("--out", help="write the figures as JSON here")
    args = p.parse_args()
    if not os.path.exists(args.load):
        sys.exit(f"no load generator at {args.load}: cargo build --release --example load")

    server = None
    temp = None
    pids = list(args.pid)
    if args.url:
        xapi = args.url.rstrip("/")
    else:
        if not args.trellis:
            sys.exit("give --trellis BINARY or --url URL")
        data_dir = args.data_dir or (temp := tempfile.mkdtemp(prefix="trellis-bench-"))
        port = free_port()
        env = {**os.environ, "TRELLIS_ADMIN_KEY": args.key, "TRELLIS_ADMIN_SECRET": args.secret,
               "TRELLIS_LOG": "warn"}
        server = subprocess.Popen([args.trellis, "serve", "--listen", f"127.0.0.1:{port}",
                                   "--data-dir", data_dir, *args.server_arg], env=env,
                                  preexec_fn=niced(args.nice))
        pids.append(server.pid)
        base = f"http://127.0.0.1:{port}"
        wait_ready(base)
        xapi = base + "/xapi"
    auth = "Basic " + base64.b64encode(f"{args.key}:{args.secret}".encode()).decode()
    common = ["--url", xapi, "--auth", auth, "--version", args.version,
              "--learners", str(args.learners)]
    figures: dict = {"statements_asked": args.statements, "batch": args.batch,
                     "connections": args.connections, "nice": args.nice}
    try:
        load_before = os.getloadavg()
        cpu0, t0 = cpu_seconds(pids), time.time()
        post = run_load(args.load, "post", [*common, "--statements", str(args.statements),
                                            "--batch", str(args.batch),
                                            "--connections", str(args.connections)], args.nice)
        wall = time.time() - t0
        cpu = cpu_seconds(pids) - cpu0
        stored = (post["requests"] - post["errors"]) * args.batch
        figures.update({
            "statements": stored, "seconds": round(wall, 1),
            "statements_per_s": round(stored / (post["duration_us"] / 1e6)),
            "post_p50_ms": post["p50_us"] / 1000, "post_p90_ms": post["p90_us"] / 1000,
            "post_p99_ms": post["p99_us"] / 1000, "post_max_ms": post["max_us"] / 1000,
            "errors": post["errors"], "server_cpu_cores": round(cpu / wall, 2) if pids else None,
            "loadavg_before": load_before, "loadavg_after": os.getloadavg(),
        })
        print(f"ingestion: {stored} statements in {post['duration_us'] / 1e6:.1f} s = "
              f"{figures['statements_per_s']} statements/s; POST p50 {figures['post_p50_ms']:.1f} ms, "
              f"p90 {figures['post_p90_ms']:.1f} ms, p99 {figures['post_p99_ms']:.1f} ms, "
              f"max {figures['post_max_ms']:.1f} ms; {post['errors']} errors; server CPU "
              f"{figures['server_cpu_cores']} cores; load average {load_before[0]:.2f} before, "
              f"{figures['loadavg_after'][0]:.2f} after", flush=True)
        if args.query_seconds > 0:
            end = datetime.now().astimezone()
            t1 = time.time()
            while True:
                through = consistent_through(xapi, auth, args.version)
                if through is None or through >= end or time.time() - t1 > 600:
                    break
                time.sleep(0.2)
            figures["indexer_caught_up_s"] = round(time.time() - t1, 2)
            print(f"consistent-through reached the end of the load {figures['indexer_caught_up_s']} s after it",
                  flush=True)
            for kind in ("agent-verb", "activity"):
                q = run_load(args.load, "get", [*common, "--kind", kind, "--connections", "1",
                                                "--seconds", str(args.query_seconds)], args.nice)
                figures[f"get_{kind}"] = {"requests": q["requests"], "errors": q["errors"],
                                          "p50_ms": q["p50_us"] / 1000, "p90_ms": q["p90_us"] / 1000,
                                          "p99_ms": q["p99_us"] / 1000}
                print(f"GET {kind}: {q['requests']} queries, p50 {q['p50_us'] / 1000:.2f} ms, "
                      f"p90 {q['p90_us'] / 1000:.2f} ms, p99 {q['p99_us'] / 1000:.2f} ms, "
                      f"{q['errors']} errors", flush=True)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=120)
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(figures, f, indent=2)


if __name__ == "__main__":
    main()
