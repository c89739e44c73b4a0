#!/usr/bin/env python3
"""Latency of the dashboard's requests that `cx_bench http` does not make.

`cargo run --release --example cx_bench -- http ...` times every
/analytics/v1 metric the views read; this adds the rest of what the
dashboard asks for: the scope picker (`/analytics/v1/activities`), pages of
the at-risk list, and the live feed (`/xapi/statements`). Each request is
sent REQUESTS times from 4 connections against a running server; prints a
Markdown table of p50 and p99 in milliseconds (BENCHMARKS.md, "The
dashboard's requests at 100k learners").

Then the overview, the view that asks the most (17 requests, a course's
overview 18), as the page loads it: all its requests at once over 6
connections (a browser's limit per host), timed until the last answer,
REQUESTS / 4 times, for the global scope and for COURSE when given. AS_OF (RFC 3339) is the `as_of`
of the analytics requests, as the dashboard's date picker sends it: the
at-risk list of simulated data is empty long after its last day.

    python3 bench/dashboard_requests.py http://127.0.0.1:8080 KEY SECRET [REQUESTS [AS_OF [COURSE]]]
"""

import base64
import concurrent.futures
import datetime
import statistics
import sys
import time
import urllib.parse
import urllib.request



def paths(as_of: str) -> list[str]:
    t = f"&as_of={as_of}" if as_of else ""
    return [
        f"/analytics/v1/activities?limit=500{t}",
        f"/analytics/v1/churn-risk?limit=50&offset=0{t}",
        f"/analytics/v1/churn-risk?limit=1000&offset=1000{t}",
        "/xapi/statements?limit=500",
        "/xapi/statements?limit=50&verb=http://adlnet.gov/expapi/verbs/completed",
    ]


def overview_paths(as_of: str, course: str) -> list[str]:
    """The requests of the overview view (views.js `overview.load` and
    `weeklyRevenue`), with the page's as_of and scope."""
    now = (datetime.datetime.fromisoformat(as_of.replace("Z", "+00:00")) if as_of
           else datetime.datetime.now(datetime.timezone.utc))

    def minus(days: int) -> str:
        return (now - datetime.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def path(endpoint: str, **params: str) -> str:
        if course:
            params["activity"] = course
        params.setdefault("as_of", minus(0))
        return f"/analytics/v1/{endpoint}?{urllib.parse.urlencode(params)}"

    paths = [
        path("retention", days="7"),
        path("activity", period="day", since=minus(30)),
        path("activity", period="week", since=minus(7 * 12)),
        path("activity", period="month", since=minus(365)),
        path("surveys", period="week"),
        path("churn-risk", limit="1"),
        path("churn-risk", limit="1", as_of=minus(7)),
        path("revenue"),
    ]
    paths += [path("revenue", days="0", as_of=minus(7 * (8 - k))) for k in range(9)]
    if course:
        paths.append(path("completion", cohort="week"))
    return paths


def main() -> None:
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    url, key, secret = sys.argv[1:4]
    requests = int(sys.argv[4]) if len(sys.argv) > 4 else 80
    as_of = sys.argv[5] if len(sys.argv) > 5 else ""
    course = sys.argv[6] if len(sys.argv) > 6 else ""
    auth = "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()

    def one(path: str) -> float:
        started = time.perf_counter()
        request = urllib.request.Request(
            url + path,
            headers={"Authorization": auth, "X-Experience-API-Version": "1.0.3"},
        )
        with urllib.request.urlopen(request) as response:
            body = response.read()
        if path.startswith("/analytics/v1/churn-risk") and b'"learners":[]' in body:
            sys.exit(f"{path}: nobody at risk; give an AS_OF inside the data's time")
        return (time.perf_counter() - started) * 1000

    print(f"| request (4 connections, {requests} in all) | p50 ms | p99 ms |")
    print("|---|---|---|")
    for path in paths(as_of):
        one(path)  # warm up
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            times = sorted(pool.map(one, [path] * requests))
        p99 = times[min(len(times) - 1, round(len(times) * 0.99) - 1)]
        print(f"| `{path}` | {statistics.median(times):.1f} | {p99:.1f} |")

    print()
    print(f"| the overview's data, all requests at once over 6 connections ({requests // 4} times) "
          "| p50 ms | max ms |")
    print("|---|---|---|")
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        for scope in ["", course] if course else [""]:
            batch = overview_paths(as_of, scope)
            loads = []
            for _ in range(max(1, requests // 4)):
                started = time.perf_counter()
                list(pool.map(one, batch))
                loads.append((time.perf_counter() - started) * 1000)
            label = f"{len(batch)} requests, " + (f"`{scope}`" if scope else "global scope")
            print(f"| {label} | {statistics.median(loads):.1f} | {max(loads):.1f} |")


if __name__ == "__main__":
    main()
