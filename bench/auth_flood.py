#!/usr/bin/env python3
"""Authentication flood: can wrong secrets starve a valid client?

Starts the given `trellis` binary on a fresh data directory (SQLite, port 0),
then for --seconds runs --attackers threads sending GET /xapi/statements with
a wrong secret for the key of another credential, one this server has not
verified yet (keys are public: every statement's authority names one),
beside one valid client sending the same request with its right secret,
one at a time. Reports the valid client's latency
(p50/p99/max), the attackers' answers by status, and the server's resident
memory (VmRSS) before, at peak and after. Standard library only.

  python3 bench/auth_flood.py --bin target/release/trellis --seconds 10 --attackers 32
"""

from __future__ import annotations

import argparse
import base64
import collections
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

KEY = "flood-bench"
SECRET = "flood-bench-secret-0123456789"


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def headers(secret: str, key: str = KEY) -> dict:
    token = base64.b64encode(f"{key}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}", "X-Experience-API-Version": "2.0.0"}


def request(conn: http.client.HTTPConnection, hdrs: dict) -> int:
    conn.request("GET", "/xapi/statements?limit=1", headers=hdrs)
    resp = conn.getresponse()
    resp.read()
    return resp.status


def start(binary: str, data: str) -> tuple[subprocess.Popen, int]:
    env = dict(os.environ, TRELLIS_ADMIN_KEY=KEY, TRELLIS_ADMIN_SECRET=SECRET, TRELLIS_LOG="warn,trellis::commands::serve=info",
               )
    proc = subprocess.Popen([binary, "--data-dir", data, "serve", "--listen", "127.0.0.1:0"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 60
    assert proc.stdout is not None
    for line in proc.stdout:
        # The start-up line names the bound port (`port=N`, or the address).
        line = re.sub(r"\x1b\[[0-9;]*m", "", line)
        m = re.search(r"port[=\":]+(\d+)", line) or re.search(r"127\.0\.0\.1:([1-9]\d*)", line)
        if m and "serving" in line:
            port = int(m.group(1))
            threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
            return proc, port
        if time.time() > deadline:
            break
    proc.kill()
    sys.exit("the server did not report its address")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", required=True)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--attackers", type=int, default=32)
    ap.add_argument("--out", help="write the figures as JSON here")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as data:
        created = subprocess.run([args.bin, "--data-dir", data, "credentials", "create", "--name", "lms",
                                  "--scopes", "statements/write", "--json"],
                                 check=True, capture_output=True, text=True).stdout
        target = json.loads(created)["key"]
        proc, port = start(args.bin, data)
        try:
            good = headers(SECRET)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            for _ in range(50):
                if request(conn, good) == 200:
                    break
                time.sleep(0.1)
            # Warm: the valid secret verified once, then a quiet baseline.
            quiet = []
            for _ in range(50):
                t = time.perf_counter()
                request(conn, good)
                quiet.append(time.perf_counter() - t)
            rss_before = rss_kib(proc.pid)

            stop = threading.Event()
            statuses: collections.Counter = collections.Counter()
            lock = threading.Lock()

            def attacker(n: int) -> None:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                bad = headers(f"wrong-{n}", target)
                while not stop.is_set():
                    try:
                        s = request(c, bad)
                    except (OSError, http.client.HTTPException):
                        s = "error"
                        c.close()
                        c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                    with lock:
                        statuses[s] += 1

            peak = [rss_before]

            def sampler() -> None:
                while not stop.is_set():
                    peak[0] = max(peak[0], rss_kib(proc.pid))
                    time.sleep(0.05)

            threads = [threading.Thread(target=attacker, args=(n,)) for n in range(args.attackers)]
            threads.append(threading.Thread(target=sampler))
            for t in threads:
                t.start()
            latencies, valid_statuses = [], collections.Counter()
            end = time.time() + args.seconds
            while time.time() < end:
                t = time.perf_counter()
                try:
                    valid_statuses[request(conn, good)] += 1
                except (OSError, http.client.HTTPException):
                    valid_statuses["error"] += 1
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                latencies.append(time.perf_counter() - t)
            stop.set()
            for t in threads:
                t.join()
            time.sleep(1)
            rss_after = rss_kib(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=30)

    def pct(xs: list, p: float) -> float:
        xs = sorted(xs)
        return xs[min(len(xs) - 1, int(len(xs) * p))] * 1000 if xs else float("nan")

    figures = {
        "binary": args.bin,
        "seconds": args.seconds,
        "attackers": args.attackers,
        "load_average": os.getloadavg(),
        "quiet_p50_ms": round(pct(quiet, 0.5), 2),
        "valid_requests": len(latencies),
        "valid_statuses": {str(k): v for k, v in valid_statuses.items()},
        "valid_p50_ms": round(pct(latencies, 0.5), 2),
        "valid_p99_ms": round(pct(latencies, 0.99), 2),
        "valid_max_ms": round(max(latencies) * 1000, 2),
        "attacker_statuses": {str(k): v for k, v in statuses.items()},
        "rss_before_mib": round(rss_before / 1024, 1),
        "rss_peak_mib": round(peak[0] / 1024, 1),
        "rss_after_mib": round(rss_after / 1024, 1),
        "rss_growth_peak_mib": round((peak[0] - rss_before) / 1024, 1),
    }
    print(json.dumps(figures, indent=2))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(figures, f, indent=2)


if __name__ == "__main__":
    main()
