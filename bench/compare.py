#!/usr/bin/env python3
"""Side-by-side benchmark: Trellis (embedded store, and MongoDB when the binary
supports --mongodb-uri) against Ralph (the open-source Python LRS, MongoDB
backend), with the same simulated workload.

For each server it:
  1. starts it on a fresh store (MongoDB = SecantusDB, a MongoDB-wire server,
     started once on 127.0.0.1 for every MongoDB-backed server);
  2. loads N statements over HTTP with `trellis simulate --endpoint`
     (same seed, same statements, xAPI 1.0.3 header for both);
  3. times GET /statements queries (agent, verb, activity filters; limit 100);
  4. times the CX analytics endpoints /analytics/v1/* (when they answer 200);
  5. reads aggregator lag from /metrics (trellis_aggregator_lag_seconds) and how
     long the aggregators take to catch up after ingestion;
  6. reads the server's peak memory (VmHWM of its process tree, from /proc).
Then prints the figures side by side with the Trellis/Ralph ratio, and writes
them as JSON (--out).

Standard library only; installs SecantusDB and Ralph into a virtualenv
(--venv, default $CARGO_TARGET_DIR/bench-venv) when missing.

  cargo build --release
  python3 bench/compare.py --statements 100000
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

SECANTUS = "SecantusDB==0.7.0b3"
RALPH = "ralph-malph[backends,lrs]==5.1.0"
KEY, SECRET = "bench", "bench-secret-0123456789"
ANALYTICS = ["completion", "retention", "time-to-competency", "engagement", "activity",
             "surveys", "time-to-first-value", "churn-risk"]
SIM_START, SIM_DAYS, SIM_SEED, SIM_COURSES = "2026-01-05", 120, 1, 6
COURSE = "https://school.example.com/courses/data-analysis-with-python"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


def ensure_venv(venv: str) -> None:
    py = os.path.join(venv, "bin", "python")
    if os.path.exists(os.path.join(venv, "bin", "secantusd-py")) and \
            subprocess.run([py, "-c", "import ralph.api, bcrypt"], capture_output=True).returncode == 0:
        return
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    subprocess.run([os.path.join(venv, "bin", "pip"), "install", "-q", "--disable-pip-version-check",
                    SECANTUS, RALPH], check=True)


# ------------------------------------------------------------------ processes

def tree_pids(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return pids


def peak_memory_mib(pid: int) -> float:
    """Sum of VmHWM (peak resident set) over the process and its children."""
    total = 0
    for p in tree_pids(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                m = re.search(r"VmHWM:\s+(\d+) kB", f.read())
                total += int(m.group(1)) if m else 0
        except OSError:
            pass
    return total / 1024


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Server:
    def __init__(self, name: str, proc: subprocess.Popen, port: int, xapi_path: str):
        self.name, self.proc, self.port, self.xapi_path = name, proc, port, xapi_path
        self.conn = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.xapi_path}"

    def get(self, path: str, auth: bool = True) -> tuple[int, bytes, float]:
        headers = {"X-Experience-API-Version": "1.0.3"}
        if auth:
            headers["Authorization"] = "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            try:
                start = time.perf_counter()
                self.conn.request("GET", path, headers=headers)
                resp = self.conn.getresponse()
                body = resp.read()
                return resp.status, body, time.perf_counter() - start
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")


def start_trellis(binary: str, work: str, mongodb_uri: str | None) -> Server:
    port = free_port()
    data = os.path.join(work, "trellis-mongo" if mongodb_uri else "trellis-data")
    cmd = [binary, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", data]
    if mongodb_uri:
        cmd += ["--mongodb-uri", mongodb_uri]
    env = dict(os.environ, TRELLIS_LOG="warn", TRELLIS_ADMIN_KEY=KEY, TRELLIS_ADMIN_SECRET=SECRET)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
    wait_port(port, proc)
    server = Server("trellis-mongodb" if mongodb_uri else "trellis-embedded", proc, port, "/xapi/")
    for _ in range(100):
        if server.get("/healthz", auth=False)[0] == 200:
            break
        time.sleep(0.1)
    return server


def start_ralph(venv: str, work: str, mongodb_uri: str, workers: int) -> Server:
    port = free_port()
    auth_file = os.path.join(work, "ralph-auth.json")
    py = os.path.join(venv, "bin", "python")
    digest = subprocess.run(
        [py, "-c", "import bcrypt,sys; print(bcrypt.hashpw(sys.argv[1].encode(), bcrypt.gensalt()).decode())",
         SECRET], check=True, capture_output=True, text=True).stdout.strip()
    with open(auth_file, "w") as f:
        json.dump([{"username": KEY, "hash": digest, "scopes": ["all"],
                    "agent": {"mbox": "mailto:bench@example.com"}}], f)
    env = dict(os.environ,
               RALPH_APP_DIR=os.path.join(work, "ralph-app"),
               RALPH_AUTH_FILE=auth_file,
               RALPH_RUNSERVER_BACKEND="mongo",
               RALPH_BACKENDS__LRS__MONGO__CONNECTION_URI=mongodb_uri,
               RALPH_BACKENDS__LRS__MONGO__DEFAULT_DATABASE="ralph_bench",
               RALPH_BACKENDS__LRS__MONGO__DEFAULT_COLLECTION="statements")
    # Ralph's production entry point (its `runserver` is a reloading dev
    # server): uvicorn serving ralph.api:app.
    proc = subprocess.Popen([py, "-m", "uvicorn", "ralph.api:app", "--host", "127.0.0.1",
                             "--port", str(port), "--workers", str(workers), "--log-level", "warning"],
                            env=env, stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "ralph.log"), "w"))
    wait_port(port, proc)
    server = Server("ralph-mongodb", proc, port, "/xAPI/")
    for _ in range(100):
        if server.get("/whoami")[0] == 200:
            break
        time.sleep(0.2)
    return server


def trellis_supports_mongodb(binary: str) -> bool:
    out = subprocess.run([binary, "serve", "--help"], capture_output=True, text=True).stdout
    return "--mongodb-uri" in out


# ------------------------------------------------------------------ measures

def percentiles(values: list[float]) -> dict:
    if not values:
        return {}
    v = sorted(values)

    def rank(p: float) -> float:
        return v[max(0, min(len(v) - 1, int(round(p * len(v) + 0.5)) - 1))]
    return {"n": len(v), "p50_ms": round(rank(0.5) * 1000, 2), "p90_ms": round(rank(0.9) * 1000, 2),
            "p99_ms": round(rank(0.99) * 1000, 2)}


def ingest(binary: str, server: Server, args) -> dict:
    learners = max(50, args.statements // 11)
    cmd = [binary, "simulate", "--endpoint", server.endpoint, "--user", KEY, "--password", SECRET,
           "--learners", str(learners), "--courses", str(SIM_COURSES), "--days", str(SIM_DAYS),
           "--start", SIM_START, "--seed", str(SIM_SEED), "--max-statements", str(args.statements),
           "--batch-size", str(args.batch), "--concurrency", str(args.concurrency),
           "--xapi-version", "1.0.3", "-q"]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    summary = done.stderr.strip()
    sent = re.search(r"sent (\d+) statements", summary)
    failed = re.search(r"(\d+) errors", summary)
    sent_n = int(sent.group(1)) if sent else 0
    return {"statements": args.statements, "accepted": sent_n,
            "errors": int(failed.group(1)) if failed else None,
            "seconds": round(seconds, 1), "statements_per_s": round(sent_n / seconds, 1),
            "simulator_summary": summary.splitlines()[-6:], "command": " ".join(cmd)}


def lag_seconds(server: Server) -> dict | None:
    status, body, _ = server.get("/metrics", auth=False)
    if status != 200:
        return None
    lags = {}
    for line in body.decode(errors="replace").splitlines():
        if line.startswith("trellis_aggregator_lag_seconds"):
            m = re.match(r'trellis_aggregator_lag_seconds(?:\{aggregator="([^"]*)"\})?\s+(\S+)', line)
            if m:
                lags[m.group(1) or ""] = float(m.group(2))
    return lags or None


def aggregator_lag(server: Server) -> dict:
    first = lag_seconds(server)
    if first is None:
        return {"note": "no trellis_aggregator_lag_seconds on /metrics"}
    start = time.perf_counter()
    current = first
    while current and max(current.values()) > 0 and time.perf_counter() - start < 300:
        time.sleep(0.5)
        current = lag_seconds(server) or {}
    return {"lag_after_ingest_s": first, "caught_up_after_s": round(time.perf_counter() - start, 1),
            "lag_at_end_s": current}


def queries(server: Server, args) -> dict:
    rng = random.Random(7)
    learners = max(50, args.statements // 11)
    verbs = ["completed", "passed", "answered", "launched", "registered"]
    lessons = [f"{COURSE}/lessons/{n}" for n in range(1, 5)] + [COURSE, f"{COURSE}/final-assessment"]
    base = server.xapi_path + "statements?limit=100&"
    kinds = {
        # learners n with n % 20 < 10 are identified by mbox (simulate/catalog.rs)
        "agent": lambda: "agent=" + urllib.parse.quote(json.dumps(
            {"mbox": f"mailto:learner{rng.randrange(learners // 20) * 20 + rng.randrange(10)}@learners.example.com"})),
        "verb": lambda: "verb=" + urllib.parse.quote(f"http://adlnet.gov/expapi/verbs/{rng.choice(verbs)}"),
        "activity": lambda: "activity=" + urllib.parse.quote(rng.choice(lessons)),
    }
    out = {}
    for kind, make in kinds.items():
        times, statuses, returned = [], {}, 0
        for _ in range(args.queries):
            status, body, seconds = server.get(base + make())
            statuses[status] = statuses.get(status, 0) + 1
            if status == 200:
                times.append(seconds)
                try:
                    returned += len(json.loads(body).get("statements", []))
                except ValueError:
                    pass
        out[kind] = dict(percentiles(times), statuses=statuses,
                         mean_statements=round(returned / max(1, len(times)), 1))
    return out


def analytics(server: Server, args) -> dict:
    out = {}
    for endpoint in ANALYTICS:
        path = f"/analytics/v1/{endpoint}?activity=" + urllib.parse.quote(COURSE)
        status, body, _ = server.get(path)
        if status != 200:
            out[endpoint] = {"skipped": f"HTTP {status}"}
            continue
        times = [server.get(path)[2] for _ in range(args.analytics_reps)]
        out[endpoint] = percentiles(times)
    return out


def run_one(server: Server, binary: str, args) -> dict:
    print(f"== {server.name}: loading {args.statements} statements", flush=True)
    result = {"server": server.name, "ingest": ingest(binary, server, args)}
    print(f"   {result['ingest']['statements_per_s']} statements/s, errors {result['ingest']['errors']}", flush=True)
    result["aggregator"] = aggregator_lag(server)
    print("   queries", flush=True)
    result["queries"] = queries(server, args)
    print("   analytics", flush=True)
    result["analytics"] = analytics(server, args)
    result["peak_memory_mib"] = round(peak_memory_mib(server.proc.pid), 1)
    return result


# ------------------------------------------------------------------ report

def advantage(a, b, higher_better: bool) -> str:
    """How many times better `a` is than `b` (> 1: `a` is better)."""
    if not a or not b:
        return "-"
    return f"{(a / b if higher_better else b / a):.2f}x"


def report(results: list[dict]) -> str:
    names = [r["server"] for r in results]
    rows = [("ingestion statements/s", [r["ingest"]["statements_per_s"] for r in results], True),
            ("ingestion errors", [r["ingest"]["errors"] for r in results], None)]
    for kind in ("agent", "verb", "activity"):
        for p in ("p50_ms", "p90_ms", "p99_ms"):
            rows.append((f"GET {kind} {p}", [r["queries"][kind].get(p) for r in results], False))
    for endpoint in ANALYTICS:
        rows.append((f"analytics {endpoint} p50_ms",
                     [r["analytics"][endpoint].get("p50_ms", r["analytics"][endpoint].get("skipped"))
                      for r in results], False))
    rows.append(("aggregators caught up after s",
                 [r["aggregator"].get("caught_up_after_s", "n/a") for r in results], None))
    rows.append(("peak memory MiB", [r["peak_memory_mib"] for r in results], False))
    ralph = names.index("ralph-mongodb") if "ralph-mongodb" in names else None
    header = ["measure"] + names + ([f"{n} vs ralph (>1 = better)" for n in names if n != "ralph-mongodb"]
                                    if ralph is not None else [])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for label, values, higher_better in rows:
        cells = [label] + [str(v) for v in values]
        if ralph is not None:
            for i, n in enumerate(names):
                if n == "ralph-mongodb":
                    continue
                a, b = values[i], values[ralph]
                ok = isinstance(a, (int, float)) and isinstance(b, (int, float)) and higher_better is not None
                cells.append(advantage(a, b, bool(higher_better)) if ok else "-")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(os.path.dirname(__file__), "..", "target"))
    parser.add_argument("--statements", type=int, default=100_000)
    parser.add_argument("--trellis", default=os.path.join(target, "release", "trellis"))
    parser.add_argument("--venv", default=os.path.join(target, "bench-venv"))
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--queries", type=int, default=300, help="GET queries per filter kind")
    parser.add_argument("--analytics-reps", type=int, default=20)
    parser.add_argument("--ralph-workers", type=int, default=1)
    parser.add_argument("--only", action="append", choices=["trellis-embedded", "trellis-mongodb", "ralph-mongodb"],
                        help="run only these servers (repeatable)")
    parser.add_argument("--out", default="bench-compare.json")
    args = parser.parse_args()

    wanted = args.only or ["trellis-embedded", "trellis-mongodb", "ralph-mongodb"]
    if "trellis-mongodb" in wanted and not trellis_supports_mongodb(args.trellis):
        print("note: this trellis binary has no --mongodb-uri; skipping trellis-mongodb", flush=True)
        wanted.remove("trellis-mongodb")
    needs_mongo = any(w.endswith("mongodb") for w in wanted)
    work = tempfile.mkdtemp(prefix="trellis-bench-")
    results, mongo = [], None
    try:
        if needs_mongo:
            ensure_venv(args.venv)
            mport = free_port()
            mongo = subprocess.Popen([os.path.join(args.venv, "bin", "secantusd-py"), "--host", "127.0.0.1",
                                      "--port", str(mport), "--storage-path", os.path.join(work, "secantus")],
                                     stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "secantus.log"), "w"))
            wait_port(mport, mongo)
            mongodb_uri = f"mongodb://127.0.0.1:{mport}"
        for name in wanted:
            if name == "trellis-embedded":
                server = start_trellis(args.trellis, work, None)
            elif name == "trellis-mongodb":
                server = start_trellis(args.trellis, work, mongodb_uri + "/trellis_bench")
            else:
                server = start_ralph(args.venv, work, mongodb_uri, args.ralph_workers)
            try:
                results.append(run_one(server, args.trellis, args))
            finally:
                stop(server.proc)
        if mongo is not None:
            results.append({"server": "secantusdb", "peak_memory_mib": round(peak_memory_mib(mongo.pid), 1)})
    finally:
        if mongo is not None:
            stop(mongo)
        shutil.rmtree(work, ignore_errors=True)
    machine = {"nproc": os.cpu_count(), "cpu": cpu_model()}
    with open(args.out, "w") as f:
        json.dump({"machine": machine, "statements": args.statements, "results": results}, f, indent=2)
    print()
    print(f"machine: {machine['nproc']} CPUs, {machine['cpu']}")
    print(report([r for r in results if "ingest" in r]))
    for r in results:
        if r["server"] == "secantusdb":
            print(f"SecantusDB (shared MongoDB server) peak memory: {r['peak_memory_mib']} MiB")
    print(f"figures written to {args.out}")


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


if __name__ == "__main__":
    main()
