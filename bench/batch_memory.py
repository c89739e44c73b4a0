#!/usr/bin/env python3
"""Peak memory of one large request: POSTs one batch of about --mib MiB of
statements (each with a long description, ~20 KB) to a fresh `trellis` on
SQLite, and reports the server's resident memory (VmRSS) before, at peak
(sampled every 5 ms) and after, and the peak growth as a multiple of the
body size. Then GETs the whole batch back as one page (format=canonical)
and reports that peak too. Standard library only.

  python3 bench/batch_memory.py --bin target/release/trellis --mib 10
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import threading
import time

from auth_flood import KEY, SECRET, rss_kib, start  # same start-up and RSS reading


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", required=True)
    ap.add_argument("--mib", type=float, default=10)
    args = ap.parse_args()
    import tempfile

    pad = "x" * 20_000
    count = int(args.mib * 1024 * 1024 / (len(pad) + 300))
    body = json.dumps([{
        "actor": {"mbox": f"mailto:m{i}@bench.example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": {"id": f"http://bench.example.com/a/{i}",
                   "definition": {"description": {"en-US": pad}}},
    } for i in range(count)]).encode()
    token = base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
    hdrs = {"Authorization": f"Basic {token}", "X-Experience-API-Version": "2.0.0",
            "Content-Type": "application/json"}
    with tempfile.TemporaryDirectory() as data:
        proc, port = start(args.bin, data)
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
            for _ in range(100):
                try:
                    conn.request("GET", "/xapi/statements?limit=1", headers=hdrs)
                    r = conn.getresponse()
                    r.read()
                    if r.status == 200:
                        break
                except OSError:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
                time.sleep(0.1)

            def measured(method: str, path: str, payload: bytes | None) -> tuple[int, int, int, int]:
                before = rss_kib(proc.pid)
                peak = [before]
                stop = threading.Event()

                def sample() -> None:
                    while not stop.is_set():
                        peak[0] = max(peak[0], rss_kib(proc.pid))
                        time.sleep(0.005)

                t = threading.Thread(target=sample)
                t.start()
                conn.request(method, path, body=payload, headers=hdrs)
                resp = conn.getresponse()
                size = len(resp.read())
                stop.set()
                t.join()
                return resp.status, before, peak[0], size

            status, before, peak, _ = measured("POST", "/xapi/statements", body)
            post = {"status": status, "body_mib": round(len(body) / 2**20, 2), "statements": count,
                    "rss_before_mib": round(before / 1024, 1), "rss_peak_mib": round(peak / 1024, 1),
                    "growth_mib": round((peak - before) / 1024, 1),
                    "growth_per_body_byte": round((peak - before) * 1024 / len(body), 1)}
            status, before, peak, size = measured(
                "GET", f"/xapi/statements?limit={count}&format=canonical", None)
            get = {"status": status, "response_mib": round(size / 2**20, 2),
                   "rss_before_mib": round(before / 1024, 1), "rss_peak_mib": round(peak / 1024, 1),
                   "growth_mib": round((peak - before) / 1024, 1)}
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(json.dumps({"binary": args.bin, "load_average": os.getloadavg(), "post": post,
                      "get_canonical_page": get}, indent=2))


if __name__ == "__main__":
    main()
