"""The dashboard in a real browser (Chromium driven by Playwright).

Starts `trellis serve` (port 0, a fresh data directory), fills it with
`trellis simulate`, signs in, opens every view at 1280x800 and at 375 px,
compares the numbers shown with the API's answers for the same parameters,
checks that the console shows no error and no request failed, downloads the
at-risk CSV, checks auto refresh (it keeps the keyboard focus), keyboard
navigation, that an ended session goes back to the sign-in form without the
browser's own password prompt and that sign-out ends the session.
Screenshots of every view go to SCREENSHOTS (default
target/dashboard-screenshots/).

    python tests/dashboard/browser_test.py   # TRELLIS_BIN, CHROMIUM, SCREENSHOTS
"""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("TRELLIS_BIN", ROOT / "target" / "debug" / "trellis"))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(os.environ.get("SCREENSHOTS", ROOT / "target" / "dashboard-screenshots"))
KEY = "dashboard-test"
SECRET = secrets.token_urlsafe(24)
# The shared controls only some views use (app.js VIEW_CONTROLS); the
# others hide them.
VIEW_CONTROLS = {"engagement": {"since", "until", "period"}, "surveys": {"period"}}
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
FIRST_VIEW_LIMIT = 500 * 1024

failures: list[str] = []


def check(condition: bool, message: str) -> None:
    if not condition:
        failures.append(message)
        print(f"FAIL: {message}", file=sys.stderr)


def start_server(data: Path) -> tuple[subprocess.Popen, str, Path]:
    log = data.parent / "server.log"
    env = dict(os.environ, TRELLIS_ADMIN_KEY=KEY, TRELLIS_ADMIN_SECRET=SECRET,
               TRELLIS_LOG="info", NO_COLOR="1")
    env.pop("TRELLIS_MONGODB_URI", None)
    proc = subprocess.Popen([str(BIN), "serve", "--listen", "127.0.0.1:0", "--data-dir", str(data)],
                            stdout=open(log, "wb"), stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        match = re.search(r"\baddress=(\S+:\d+)", re.sub(r"\x1b\[[0-9;]*m", "", log.read_text(errors="replace")))
        if match:
            return proc, f"http://{match.group(1)}", log
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    sys.exit(f"trellis did not start:\n{log.read_text(errors='replace')}")


def api(origin: str, path: str, params: dict | list | None = None) -> dict:
    query = urllib.parse.urlencode(params or {}, doseq=True)
    req = urllib.request.Request(f"{origin}{path}?{query}")
    req.add_header("Authorization", "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode())
    req.add_header("X-Experience-API-Version", "2.0.0")
    with urllib.request.urlopen(req, timeout=30) as res:
        return json.loads(res.read())


def status_of(origin: str, path: str, headers: dict) -> int:
    req = urllib.request.Request(f"{origin}{path}", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            return res.status
    except urllib.error.HTTPError as e:
        return e.code


def wait_settled(origin: str, as_of: str) -> None:
    """Waits until the aggregator has folded every stored statement (the
    answers stop changing)."""
    last, same = None, 0
    for _ in range(300):
        now = (api(origin, "/analytics/v1/activity", {"period": "month", "as_of": as_of}),
               api(origin, "/analytics/v1/retention", {"as_of": as_of}))
        same = same + 1 if now == last else 0
        if same >= 3:
            return
        last = now
        time.sleep(0.5)
    sys.exit("the analytics did not settle")


def value_of(page, name: str) -> str | None:
    node = page.locator(f'#view-body [data-metric="{name}"]').first
    return node.get_attribute("data-value") if node.count() else None


def same_number(shown: str | None, expected) -> bool:
    if shown is None:
        return False
    if expected is None:
        return shown == "null"
    try:
        return abs(float(shown) - float(expected)) < 1e-9
    except ValueError:
        return False


def expect_metric(page, view: str, name: str, expected) -> None:
    shown = value_of(page, name)
    check(same_number(shown, expected), f"{view}: {name} shows {shown!r}, the API answers {expected!r}")


def open_view(page, origin: str, view: str, extra: dict) -> str:
    """Opens a view by its URL and waits for its data; answers its state."""
    params = {"view": view, "refresh": "off", **extra}
    page.goto(f"{origin}/dashboard/?{urllib.parse.urlencode(params, doseq=True)}")
    page.wait_for_selector('#view-body[aria-busy="false"]', timeout=30_000)
    body = page.locator("#view-body")
    if body.locator('[data-state="error"]').count():
        return "error: " + body.inner_text()[:300]
    return "ok"


def main() -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        server, origin, log = start_server(data)
        try:
            run(origin)
        finally:
            server.terminate()
            server.wait(timeout=20)
            if failures:
                print(log.read_text(errors="replace")[-4000:], file=sys.stderr)
    if failures:
        sys.exit(f"{len(failures)} dashboard check(s) failed")
    print(f"dashboard browser test passed; screenshots in {SHOTS}")


def run(origin: str) -> None:
    for _ in range(100):
        try:
            api(origin, "/xapi/statements", {"limit": 1})
            break
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    subprocess.run([str(BIN), "simulate", "--endpoint", f"{origin}/xapi/", "--user", KEY, "--password", SECRET,
                    "--learners", "300", "--days", "60", "--seed", "5", "--quiet"], check=True)
    as_of_minute = (datetime.now(timezone.utc) + timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M")
    as_of = as_of_minute + ":00Z"
    wait_settled(origin, as_of)
    activities = api(origin, "/analytics/v1/activities", {"limit": 50})["activities"]
    course = next(a["id"] for a in activities if "/course" in a["id"])
    check(any(a.get("name") for a in activities), "the activity list carries canonical names")

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        problems: list[str] = []
        # True while refusals are the point (a session ended on purpose; the
        # scope list failing, served by the test).
        refusals = {"expected": False, "activities": False}

        def watch(page) -> None:
            def console(m) -> None:
                if m.type != "error":
                    return
                if refusals["expected"] and "status of 401" in m.text:
                    return
                if refusals["activities"] and "status of 503" in m.text:
                    return
                problems.append(f"console: {m.text} ({m.location.get('url')})")
            page.on("console", console)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} {r.failure}"))

            def response(r) -> None:
                path = urllib.parse.urlparse(r.url).path
                if r.status < 400:
                    return
                if r.status == 401 and "www-authenticate" in r.headers:
                    problems.append(f"HTTP 401 with an HTTP Basic challenge (the browser would prompt): {r.url}")
                if r.status == 401 and (path == "/dashboard/session" or refusals["expected"]):
                    return  # a wrong secret, or a session ended on purpose
                if r.status == 503 and path == "/analytics/v1/activities" and refusals["activities"]:
                    return
                problems.append(f"HTTP {r.status}: {r.request.method} {r.url}")
            page.on("response", response)

        # Sign in at 1280x800, measuring what the first view transfers.
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        watch(page)
        transferred = []
        def measure(r) -> None:
            sizes = r.sizes()
            transferred.append(sizes["responseBodySize"] + sizes["responseHeadersSize"])
        page.on("requestfinished", measure)
        page.goto(f"{origin}/")
        check(page.url.endswith("/dashboard/"), f"/ redirects to /dashboard/ (at {page.url})")
        page.wait_for_selector("#signin-form")
        page.screenshot(path=str(SHOTS / "sign-in.png"))
        page.fill("#key", KEY)
        page.fill("#secret", "wrong")
        page.click("#signin-form button[type=submit]")
        page.wait_for_function("() => document.getElementById('signin-error').textContent.length > 0")
        check("wrong secret" in page.inner_text("#signin-error"), "a wrong secret is refused with a clear message")
        problems.clear()  # the refused sign-in's 401 is expected
        page.fill("#secret", SECRET)
        page.click("#signin-form button[type=submit]")
        page.wait_for_selector('#view-body[aria-busy="false"]', timeout=30_000)
        page.wait_for_load_state("networkidle")
        page.remove_listener("requestfinished", measure)
        first_view = sum(transferred)
        print(f"first view (sign-in page, sign-in and overview): {first_view} bytes")
        check(first_view < FIRST_VIEW_LIMIT, f"the first view transfers {first_view} bytes (< 500 KB)")
        cookies = context.cookies()
        session = next((c for c in cookies if c["name"] == "trellis_session"), None)
        check(session is not None and session["httpOnly"] and session["sameSite"] == "Strict",
              f"the session cookie is HttpOnly and SameSite=Strict ({session})")
        check(page.evaluate("document.cookie") == "", "scripts cannot read the session cookie")
        check(page.evaluate("localStorage.length + sessionStorage.length") == 0, "nothing is kept in browser storage")

        base = {"as_of": as_of_minute}
        views = ["overview", "retention", "completion", "engagement", "surveys", "journey", "funnel",
                 "experiments", "revenue", "at-risk", "feed"]
        extras = {
            "completion": {"activity": course},
            "experiments": {"experiment": "onboarding-checklist", "metric": "completion", "activity": course},
            "funnel": {"step": [json.dumps({"verb": "http://adlnet.gov/expapi/verbs/registered"}),
                                json.dumps({"verb": "http://adlnet.gov/expapi/verbs/completed"})]},
        }
        for width in (1280, 375):
            page.set_viewport_size({"width": width, "height": 800})
            for view in views:
                state = open_view(page, origin, view, {**base, **extras.get(view, {})})
                check(state == "ok", f"{view} at {width}px: {state}")
                if state == "ok":
                    compare(page, origin, view, {**base, **extras.get(view, {})}, as_of, course)
                for control in ("since", "until", "period"):
                    used = control in VIEW_CONTROLS.get(view, set())
                    check(page.is_visible(f"#{control}") == used,
                          f"{view} at {width}px: the {control} control is {'shown' if used else 'hidden'}")
                check(page.evaluate("""() => {
                    const a = document.querySelector('#nav a[aria-current="page"]').getBoundingClientRect();
                    const n = document.getElementById('nav').getBoundingClientRect();
                    return a.left >= n.left - 1 && a.right <= n.right + 1;
                }"""), f"{view} at {width}px: the current view's tab is in sight in the views bar")
                overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                check(overflow <= 1, f"{view} at {width}px scrolls sideways by {overflow}px")
                page.screenshot(path=str(SHOTS / f"{view}-{width}.png"), full_page=True)
            state = open_view(page, origin, "overview", {**base, "activity": course})
            expect_metric(page, "overview (course)", "completion",
                          api(origin, "/analytics/v1/completion", {"activity": course, "as_of": as_of})["rate"])
            page.screenshot(path=str(SHOTS / f"overview-course-{width}.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 800})

        srm_warning(page, origin, base, as_of_minute)

        # The at-risk CSV holds every learner at risk.
        open_view(page, origin, "at-risk", base)
        with page.expect_download() as download:
            page.click("#csv")
        rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text())))
        count = api(origin, "/analytics/v1/churn-risk", {"as_of": as_of, "limit": 1})["count"]
        check(len(rows) == count + 1, f"the CSV has {len(rows) - 1} learners, the API counts {count}")

        # Auto refresh: the view reloads by itself.
        page.goto(f"{origin}/dashboard/?view=overview")
        page.wait_for_selector('#view-body[aria-busy="false"]')
        first = page.get_attribute("#view-body", "data-loaded-at")
        page.wait_for_function(f"() => document.getElementById('view-body').dataset.loadedAt !== {json.dumps(first)}",
                               timeout=15_000)
        check(page.get_attribute("#view-body", "aria-live") is None, "the view body is not a live region")
        focus_survives_refresh(page, origin, base)

        # Keyboard: Tab reaches the views' links and Enter opens one.
        page.focus("#signout")
        for _ in range(5):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.dataset.view === 'retention'"):
                break
        check(page.evaluate("document.activeElement.dataset.view") == "retention", "Tab reaches the view links")
        page.keyboard.press("Enter")
        page.wait_for_selector('#view-body[aria-busy="false"] table.heatmap', timeout=15_000)
        check("view=retention" in page.url, "Enter on a view link opens it, and the URL says so")

        # Scope picker: typing a course name selects its IRI.
        name = next(a["name"] for a in activities if a["id"] == course)
        page.fill("#scope", f"{name} — {course}")
        page.dispatch_event("#scope", "change")
        page.wait_for_function(f"() => location.search.includes({json.dumps(urllib.parse.quote(course, safe=''))})")

        # A session that ends elsewhere (here: deleted behind the page's
        # back) brings back the sign-in form, without the browser's own
        # password prompt (no 401 carries a Basic challenge: `response`).
        ended = urllib.request.Request(f"{origin}/dashboard/session", method="DELETE",
                                       headers={"Cookie": f"trellis_session={session['value'] if session else ''}"})
        with urllib.request.urlopen(ended) as res:
            check(res.status == 204, f"the session is ended from outside ({res.status})")
        refusals["expected"] = True
        page.wait_for_selector("#signin-form", state="visible", timeout=15_000)
        check("session has ended" in page.inner_text("#signin-error"),
              f"an ended session says so on the sign-in form ({page.inner_text('#signin-error')!r})")
        # Signing in again while the scope list cannot be loaded: the
        # picker says so.
        refusals["activities"] = True
        page.route("**/analytics/v1/activities?*", lambda route: route.fulfill(
            status=503, content_type="application/json",
            body=json.dumps({"error": "unavailable", "message": "the store is temporarily unavailable"})))
        page.fill("#key", KEY)
        page.fill("#secret", SECRET)
        page.click("#signin-form button[type=submit]")
        page.wait_for_selector('#view-body[aria-busy="false"]', timeout=30_000)
        check(page.is_visible("#scope-error") and "could not be loaded" in page.inner_text("#scope-error"),
              "a scope list that fails to load is said next to the picker")
        page.unroute("**/analytics/v1/activities?*")
        refusals["expected"] = False
        refusals["activities"] = False
        session = next((c for c in context.cookies() if c["name"] == "trellis_session"), None)

        # Sign-out ends the session on the server, not only in the browser.
        token = session["value"] if session else ""
        page.click("#signout")
        page.wait_for_selector("#signin-form")
        old_cookie = {"Cookie": f"trellis_session={token}", "X-Experience-API-Version": "2.0.0"}
        code = status_of(origin, "/xapi/statements?limit=1", old_cookie)
        check(code == 401, f"after sign-out the old cookie gets {code} from /xapi/statements")
        with urllib.request.urlopen(urllib.request.Request(f"{origin}/dashboard/session", headers=old_cookie)) as res:
            check(json.loads(res.read()) == {"signed_in": False}, "after sign-out the session is gone")

        for p in problems:
            check(False, p)
        browser.close()


def srm_warning(page, origin: str, base: dict, as_of_minute: str) -> None:
    """A sample-ratio mismatch is flagged. The simulated school has none, so
    the experiment's answer (every field cx-metrics.md names) is served by
    the test."""
    def variant(name, exposed, n, s, low, high, diff=None, lift=None, p=None, beat=None) -> dict:
        return {"variant": name, "exposed": exposed, "n": n, "successes": s, "value": s / n,
                "variance": (s / n) * (1 - s / n), "ci_low": low, "ci_high": high, "difference": diff,
                "difference_ci_low": None if diff is None else diff - 0.03,
                "difference_ci_high": None if diff is None else diff + 0.03,
                "relative_lift": lift, "p_value": p, "chance_to_beat_control": beat}
    answer = {"experiment": "onboarding-checklist", "metric": "completion", "control": "control", "conflicted": 2,
              "srm_p_value": 0.0002, "srm": True, "as_of": as_of_minute + ":00Z", "variants": [
                  variant("control", 160, 150, 17, 0.064, 0.163),
                  variant("treatment", 138, 130, 18, 0.079, 0.198, 0.025, 0.22, 0.51, 0.74)]}
    page.route("**/analytics/v1/experiment?*",
               lambda route: route.fulfill(status=200, content_type="application/json", body=json.dumps(answer)))
    state = open_view(page, origin, "experiments",
                      {**base, "experiment": "onboarding-checklist", "activity": "https://x.example/c"})
    check(state == "ok", f"experiments with a sample-ratio mismatch: {state}")
    check(page.locator('[data-state="srm"]').count() == 1, "a sample-ratio mismatch is flagged")
    expect_metric(page, "experiments (srm)", "p-treatment", answer["variants"][1]["p_value"])
    page.screenshot(path=str(SHOTS / "experiments-srm-1280.png"), full_page=True)
    page.unroute("**/analytics/v1/experiment?*")


def focus_survives_refresh(page, origin: str, base: dict) -> None:
    """An auto refresh that finds the same numbers leaves the view alone; one
    that finds new numbers rebuilds it and gives the focus back to the same
    control. The test raises the at-risk count between refreshes (and keeps
    it above one page, so "Next" can take the focus)."""
    extra = {"n": 0}

    def churn(route) -> None:
        res = route.fetch()
        body = res.json()
        body["count"] = 100 + extra["n"]
        route.fulfill(response=res, json=body)
    page.route("**/analytics/v1/churn-risk?*", churn)
    page.goto(f"{origin}/dashboard/?{urllib.parse.urlencode({'view': 'at-risk', **base})}")
    page.wait_for_selector('#view-body[aria-busy="false"] .pager')
    page.locator("#view-body .pager button").last.focus()
    page.evaluate("document.activeElement.dataset.test = 'focused before'")

    def next_refresh() -> None:
        before = page.get_attribute("#view-body", "data-loaded-at")
        page.wait_for_function(
            f"() => document.getElementById('view-body').dataset.loadedAt !== {json.dumps(before)}", timeout=15_000)
    next_refresh()
    check(page.evaluate("document.activeElement.dataset.test") == "focused before",
          "a refresh with unchanged numbers leaves the view (and the focus) alone")
    extra["n"] = 1
    page.wait_for_function(
        "() => document.querySelector('#view-body [data-metric=\"at_risk\"]').dataset.value === '101'",
        timeout=15_000)
    focused = page.evaluate("""() => { const a = document.activeElement;
        return {inBody: document.getElementById('view-body').contains(a), text: a.textContent,
                mark: a.dataset.test || null}; }""")
    check(focused["inBody"] and focused["text"] == "Next →" and focused["mark"] is None,
          f"after a refresh that rebuilt the view the focus is on the new Next button ({focused})")
    announced = page.evaluate("(document.getElementById('announce') || {}).textContent || ''")
    check("updated" in announced, f"the live region says the view was updated ({announced!r})")
    page.unroute("**/analytics/v1/churn-risk?*")


def compare(page, origin: str, view: str, params: dict, as_of: str, course: str) -> None:
    """The numbers the view shows equal the API's answers for its parameters."""
    q = {"as_of": as_of}
    if params.get("activity"):
        q["activity"] = params["activity"]
    if view == "overview":
        r = api(origin, "/analytics/v1/revenue", q)
        shown = dict(p.split(":", 1) for p in (value_of(page, "revenue") or "").split(",") if p)
        check(shown.keys() == {c["currency"] for c in r["currencies"]}
              and all(same_number(shown.get(c["currency"]), c["revenue"]) for c in r["currencies"]),
              f"overview: revenue shows {shown}, the API answers {[(c['currency'], c['revenue']) for c in r['currencies']]}")
        check(bool(r["currencies"]), "the simulated school has revenue")
        expect_metric(page, view, "enrolled", api(origin, "/analytics/v1/retention", {**q, "days": "7"})["learners"])
        since = (datetime.strptime(as_of, "%Y-%m-%dT%H:%M:%SZ") - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        act = api(origin, "/analytics/v1/activity", {**q, "period": "day", "since": since})
        for k in ("dau", "wau", "mau"):
            expect_metric(page, view, k, act[k])
        s = api(origin, "/analytics/v1/surveys", {**q, "period": "week"})
        expect_metric(page, view, "nps", s["nps"]["score"])
        expect_metric(page, view, "csat", s["csat"]["mean"])
        expect_metric(page, view, "ces", s["ces"]["mean"])
        expect_metric(page, view, "at_risk", api(origin, "/analytics/v1/churn-risk", {**q, "limit": 1})["count"])
    elif view == "retention":
        r = api(origin, "/analytics/v1/retention", {**q, "cohort": "week"})
        for p in r["overall"]:
            expect_metric(page, view, f"retention-overall-{p['day']}", p["rate"])
        check(page.locator("table.heatmap tbody tr").count() == len(r["cohorts"]) + 1, "one heatmap row per cohort")
    elif view == "completion":
        c = api(origin, "/analytics/v1/completion", q)
        t = api(origin, "/analytics/v1/time-to-competency", q)
        expect_metric(page, view, "enrolled", c["enrolled"])
        expect_metric(page, view, "completed", c["completed"])
        expect_metric(page, view, "rate", c["rate"])
        expect_metric(page, view, "reached", t["reached"])
        expect_metric(page, view, "median_seconds", t["median_seconds"])
    elif view == "engagement":
        a = api(origin, "/analytics/v1/activity", {**q, "period": "week"})
        expect_metric(page, view, "statements", sum(p["statements"] for p in a["periods"]))
        expect_metric(page, view, "mau", a["mau"])
    elif view == "surveys":
        s = api(origin, "/analytics/v1/surveys", {**q, "period": "week"})
        expect_metric(page, view, "nps", s["nps"]["score"])
        expect_metric(page, view, "csat", s["csat"]["mean"])
        expect_metric(page, view, "ces", s["ces"]["mean"])
        expect_metric(page, view, "invalid", s["invalid"])
    elif view == "journey":
        j = api(origin, "/analytics/v1/journey", q)
        for s in j["stages"]:
            expect_metric(page, view, f"stage-{s['stage']}", s["learners"])
    elif view == "funnel":
        f = api(origin, "/analytics/v1/funnel", [("as_of", as_of)] + [("step", s) for s in params["step"]])
        expect_metric(page, view, "funnel-learners", f["learners"])
        for s in f["steps"]:
            expect_metric(page, view, f"step-{s['step']}", s["learners"])
    elif view == "experiments":
        x = api(origin, "/analytics/v1/experiment", {**q, "experiment": params["experiment"], "metric": params["metric"]})
        for v in x["variants"]:
            expect_metric(page, view, f"exposed-{v['variant']}", v["exposed"])
            expect_metric(page, view, f"value-{v['variant']}", v["value"])
            expect_metric(page, view, f"p-{v['variant']}", v["p_value"])
    elif view == "revenue":
        r = api(origin, "/analytics/v1/revenue", {**q, "cohort": "month"})
        for c in r["currencies"]:
            expect_metric(page, view, f"revenue-{c['currency']}", c["revenue"])
            expect_metric(page, view, f"buyers-{c['currency']}", c["buyers"])
    elif view == "at-risk":
        expect_metric(page, view, "at_risk", api(origin, "/analytics/v1/churn-risk", {**q, "limit": 1})["count"])
        check(page.locator("#view-body tbody tr").count() == min(25, api(origin, "/analytics/v1/churn-risk", {**q, "limit": 25})["count"]),
              "the at-risk table shows one page")
    elif view == "feed":
        until = as_of.replace(":00Z", ":00.000Z")
        s = api(origin, "/xapi/statements", {"limit": 25, "until": until})
        ids = page.locator("#view-body tbody tr").evaluate_all("rows => rows.map(r => r.dataset.id)")
        check(ids == [x["id"] for x in s["statements"]], "the feed lists the API's latest statements in order")


if __name__ == "__main__":
    main()
