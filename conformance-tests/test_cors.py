"""Cross-origin requests from browsers (Fetch/CORS; the reason for Communication 1.3).

Browser xAPI clients send Authorization, Content-Type and X-Experience-API-Version, so the LRS
must answer the CORS preflight for those headers.  Note that a wildcard in
Access-Control-Allow-Headers never covers Authorization (Fetch standard), so it must be listed.
"""

import pytest

from xapi_support import describe, statement

ORIGIN = "http://browser-app.trellis-conformance.example"
REQUESTED_HEADERS = ["authorization", "content-type", "x-experience-api-version"]


def _list(value):
    return {item.strip().lower() for item in (value or "").split(",") if item.strip()}


def preflight(server, path, method, headers=REQUESTED_HEADERS):
    return server.session.request("OPTIONS", server.origin + path, headers={
        "Origin": ORIGIN,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": ",".join(headers),
    }, timeout=30)


@pytest.mark.parametrize("path,method", [
    ("/xapi/statements", "GET"), ("/xapi/statements", "PUT"), ("/xapi/statements", "POST"),
    ("/xapi/about", "GET")])
def test_cors_preflight_allows_the_xapi_request_headers(server, path, method):
    """CORS preflight (no credentials, no version header -- browsers send neither) is answered with
    2xx, Access-Control-Allow-Origin for the origin, the requested method and the headers
    Authorization, Content-Type and X-Experience-API-Version."""
    resp = preflight(server, path, method)
    assert resp.status_code in (200, 204), describe(resp)
    allow_origin = resp.headers.get("Access-Control-Allow-Origin")
    assert allow_origin in (ORIGIN, "*"), describe(resp)
    methods = {m.upper() for m in _list(resp.headers.get("Access-Control-Allow-Methods"))}
    assert method in methods or "*" in methods, describe(resp)
    allowed = _list(resp.headers.get("Access-Control-Allow-Headers"))
    assert "authorization" in allowed, describe(resp)
    for h in ("content-type", "x-experience-api-version"):
        assert h in allowed or "*" in allowed, f"{h} not allowed\n{describe(resp)}"


def test_cross_origin_get_carries_allow_origin(xapi):
    """The actual cross-origin response carries Access-Control-Allow-Origin so the browser can
    read it."""
    resp = xapi.get({"limit": 1}, headers={"Origin": ORIGIN})
    assert resp.status_code == 200, describe(resp)
    assert resp.headers.get("Access-Control-Allow-Origin") in (ORIGIN, "*"), describe(resp)


def test_cross_origin_post_carries_allow_origin(xapi):
    """Same for a cross-origin write."""
    resp = xapi.post(statement(), headers={"Origin": ORIGIN})
    assert resp.status_code == 200, describe(resp)
    assert resp.headers.get("Access-Control-Allow-Origin") in (ORIGIN, "*"), describe(resp)
