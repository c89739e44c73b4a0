"""Headers: versioning (Communication 3.3), X-Experience-API-Consistent-Through and
Last-Modified (Communication 2.1.3), HEAD (Communication 1.1), request Content-Type
(Communication 1.5, 3.2.s3.b6)."""

import json
from urllib.parse import urlencode

import pytest

from xapi_support import (V1, V2, ISO8601_DATETIME, activity_iri, activity, assert_error, assert_head_like_get,
                          describe, is_json_content_type, json_body, new_id, parse_http_date,
                          parse_ts, raw_http, statement, basic_auth_header, utcnow, voiding_statement)

# ---------------------------------------------------------------------------
# X-Experience-API-Version on requests
# ---------------------------------------------------------------------------

STATEMENT_METHODS = ["GET", "POST", "PUT"]


def _send(xapi, method, **kw):
    s = statement()
    if method == "GET":
        return xapi.get({"activity": s["object"]["id"]}, **kw), s
    if method == "POST":
        return xapi.post(s, **kw), s
    return xapi.put(s, **kw), s


@pytest.mark.parametrize("method", STATEMENT_METHODS)
def test_statement_request_without_version_header_is_rejected_XAPI_00321_00331(xapi, method):
    """XAPI-00321, XAPI-00331, Communication 3.3.s3.b4.1/b7: requests to any resource but About
    without X-Experience-API-Version are rejected with 400 and a description."""
    resp, s = _send(xapi, method, version=None)
    assert_error(resp, 400)
    if method != "GET":
        assert xapi.get({"statementId": s["id"]}).status_code == 404, "rejected statement was stored"


@pytest.mark.parametrize("header", ["0.9", "0.95", "1.1.0", "3.0.0", "1", "abc", ""])
@pytest.mark.parametrize("method", STATEMENT_METHODS)
def test_statement_request_with_unsupported_version_header_is_rejected_XAPI_00331(xapi, method, header):
    """XAPI-00331, Communication 3.3.s3.b4/b6/b7: versions before 1.0.0, 1.1.0 or greater (other
    than the supported 2.0.0) and garbage are rejected with 400."""
    resp, s = _send(xapi, method, version=header)
    assert_error(resp, 400)
    if method != "GET":
        assert xapi.get({"statementId": s["id"]}).status_code == 404, "rejected statement was stored"


@pytest.mark.parametrize("header", ["1.0", "1.0.0", "1.0.1", "1.0.2", "1.0.3", "1.0.9", "2.0.0"])
def test_statement_request_with_supported_version_header_is_accepted_XAPI_00331(xapi1, header):
    """XAPI-00331, Communication 3.3.s3.b3/b5: 1.0 is treated as 1.0.0 and any 1.0.x is accepted;
    2.0.0 is accepted (9274.1.1)."""
    s = statement()
    resp = xapi1.post(s, version=header)
    assert resp.status_code == 200, describe(resp)
    assert json_body(resp) == [s["id"]]


# ---------------------------------------------------------------------------
# X-Experience-API-Version on responses
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("req_version,expected", [
    ("1.0", "1.0.3"), ("1.0.0", "1.0.3"), ("1.0.1", "1.0.3"), ("1.0.3", "1.0.3"), ("2.0.0", "2.0.0")])
def test_response_version_header_is_the_latest_patch_of_the_requested_version_XAPI_00333(
        xapi1, req_version, expected):
    """XAPI-00333, Communication 3.3.s3.b1/b2: every response carries X-Experience-API-Version
    set to the latest patch version (1.0.x requests -> 1.0.3, 2.0.0 -> 2.0.0)."""
    x = xapi1.with_version(req_version)
    s = statement()
    responses = {
        "POST": x.post(s),
        "PUT": x.put(statement()),
        "GET single": x.get({"statementId": s["id"]}),
        "GET query": x.get({"activity": s["object"]["id"]}),
        "GET missing (404)": x.get({"statementId": new_id()}),
        "GET bad param (400)": x.get({"limit": "-1"}),
    }
    for label, resp in responses.items():
        assert resp.headers.get("X-Experience-API-Version") == expected, f"{label}\n{describe(resp)}"


def test_error_for_missing_version_header_still_carries_a_version_header_XAPI_00333(xapi):
    """XAPI-00333, Communication 3.3.s3.b1: the LRS includes X-Experience-API-Version in every
    response, including the 400 for a missing version header."""
    resp = xapi.get({"limit": 1}, version=None)
    assert resp.status_code == 400, describe(resp)
    assert resp.headers.get("X-Experience-API-Version") in (V1, V2), describe(resp)


# ---------------------------------------------------------------------------
# X-Experience-API-Consistent-Through
# ---------------------------------------------------------------------------

def _consistent_through(resp):
    value = resp.headers.get("X-Experience-API-Consistent-Through")
    assert value, f"missing X-Experience-API-Consistent-Through\n{describe(resp)}"
    return value


@pytest.mark.parametrize("params", [
    {}, {"limit": 1}, {"ascending": "true"}, {"format": "ids"}, {"attachments": "false"},
    {"verb": "http://adlnet.gov/expapi/verbs/experienced"},
    {"since": "2000-01-01T00:00:00.000Z"}, {"until": "2999-01-01T00:00:00.000Z"},
    {"registration": "5c4a5b3a-2f0e-4d8e-9d0a-4c7f0b6d1e2f"},
])
def test_statement_get_returns_consistent_through_header_XAPI_00153(xapi, params):
    """XAPI-00153, Communication 2.1.3.s2.b5: GET statements always carries
    X-Experience-API-Consistent-Through."""
    resp = xapi.get(params)
    assert resp.status_code == 200, describe(resp)
    _consistent_through(resp)


@pytest.mark.parametrize("case", ["bad parameter (400)", "unknown statementId (404)"])
def test_consistent_through_header_is_returned_regardless_of_status_XAPI_00153(xapi, case):
    """XAPI-00153: the header is returned "regardless of the code returned"."""
    if case.startswith("bad"):
        resp = xapi.get({"statementId": new_id(), "verb": "http://example.com/v"})
        assert resp.status_code == 400, describe(resp)
    else:
        resp = xapi.get({"statementId": new_id()})
        assert resp.status_code == 404, describe(resp)
    _consistent_through(resp)


def test_consistent_through_header_is_on_put_and_post_responses(xapi):
    """Communication 2.1.3.s2.b5: the header is included on all responses to Statement Resource
    requests, writes included."""
    _consistent_through(xapi.post(statement()))
    _consistent_through(xapi.put(statement()))


def test_consistent_through_is_an_iso8601_combined_date_and_time_XAPI_00160(xapi):
    """XAPI-00160: the Consistent-Through value is an ISO 8601 combined date and time, and a recent
    one (Communication 2.1.3.s2.b5)."""
    value = _consistent_through(xapi.get({"limit": 1}))
    assert ISO8601_DATETIME.match(value), value
    when = parse_ts(value)
    assert abs((utcnow() - when).total_seconds()) < 300, f"Consistent-Through {value} is not recent"


def test_consistent_through_is_not_before_any_returned_stored_value_XAPI_00152(xapi):
    """XAPI-00152: Consistent-Through is not before the stored value of any returned statement."""
    act = activity_iri()
    xapi.store_sequentially([statement(object_=activity(act)) for _ in range(3)])
    resp = xapi.get({"activity": act})
    assert resp.status_code == 200, describe(resp)
    stmts = json_body(resp)["statements"]
    assert len(stmts) == 3
    ct = parse_ts(_consistent_through(resp))
    for s in stmts:
        assert ct >= parse_ts(s["stored"]), f"Consistent-Through {ct} precedes stored {s['stored']}"


# ---------------------------------------------------------------------------
# Last-Modified and Content-Type on GET
# ---------------------------------------------------------------------------

def test_single_statement_get_has_last_modified_matching_stored(xapi):
    """Communication 2.1.3.s2.b8 (SHOULD*; tested by the 2.0 suite under XAPI-00142): the
    Last-Modified header matches the statement's stored timestamp (to the second)."""
    s = statement()
    xapi.store(s)
    resp = xapi.get({"statementId": s["id"]})
    assert resp.status_code == 200, describe(resp)
    lm = resp.headers.get("Last-Modified")
    assert lm, describe(resp)
    stored = parse_ts(json_body(resp)["stored"]).replace(microsecond=0)
    assert parse_http_date(lm) == stored, f"Last-Modified {lm} != stored {stored}"


@pytest.mark.parametrize("params", ["query", "statementId", "voidedStatementId"])
def test_statement_get_has_json_content_type_XAPI_00165(xapi, params):
    """XAPI-00165: GET statements responses carry a Content-Type header (application/json when
    attachments are not requested, Communication 2.1.3.s2.b7)."""
    s = statement()
    xapi.store(s)
    if params == "query":
        resp = xapi.get({"activity": s["object"]["id"]})
    elif params == "statementId":
        resp = xapi.get({"statementId": s["id"]})
    else:
        xapi.store(voiding_statement(s["id"]))
        resp = xapi.get({"voidedStatementId": s["id"]})
    assert resp.status_code == 200, describe(resp)
    assert is_json_content_type(resp.headers.get("Content-Type")), describe(resp)


# ---------------------------------------------------------------------------
# HEAD (Communication 1.1)
# ---------------------------------------------------------------------------

COMPARED_HEADERS = ["content-type", "x-experience-api-version", "last-modified"]


def _raw(xapi, method, target, with_version=True, with_auth=True):
    headers = {}
    if with_version:
        headers["X-Experience-API-Version"] = xapi.version
    if with_auth:
        headers["Authorization"] = basic_auth_header(*xapi.auth)
    return raw_http(xapi.server.origin, method, target, headers)


def _head_cases(xapi):
    s = statement()
    voided = statement()
    xapi.store([s, voided])
    xapi.store(voiding_statement(voided["id"]))
    return {
        "about": "/xapi/about",
        "statement query": "/xapi/statements?" + urlencode({"activity": s["object"]["id"]}),
        "statementId": f"/xapi/statements?statementId={s['id']}",
        "voidedStatementId": f"/xapi/statements?voidedStatementId={voided['id']}",
        "unknown statementId": f"/xapi/statements?statementId={new_id()}",
        "invalid parameter": "/xapi/statements?limit=-5",
    }


@pytest.mark.parametrize("case", ["about", "statement query", "statementId", "voidedStatementId",
                                  "unknown statementId", "invalid parameter"])
def test_head_responds_like_get_without_a_body_XAPI_00125_00126(xapi, case):
    """XAPI-00125, XAPI-00126, Communication 1.1.s3.b1: HEAD is accepted everywhere GET is and is
    answered exactly like GET (status and headers) but the message body is omitted."""
    target = _head_cases(xapi)[case]
    head = _raw(xapi, "HEAD", target)
    assert_head_like_get(_raw(xapi, "GET", target), head, COMPARED_HEADERS)
    if target.startswith("/xapi/statements"):
        assert "x-experience-api-consistent-through" in head[1], head[1]


def test_head_on_statements_without_version_header_is_rejected_like_get_XAPI_00125(xapi):
    """XAPI-00125 with XAPI-00331: a HEAD lacking the version header gets the same 400 as GET."""
    status, headers, body = _raw(xapi, "HEAD", "/xapi/statements?limit=1", with_version=False)
    assert status == 400
    assert body == b""


def test_head_on_statements_without_credentials_is_rejected_like_get_XAPI_00125(xapi):
    """XAPI-00125 with XAPI-00334: an unauthenticated HEAD gets the same 401 as GET."""
    status, headers, body = _raw(xapi, "HEAD", "/xapi/statements?limit=1", with_auth=False)
    assert status == 401
    assert body == b""


def test_head_statement_result_follows_more_link_like_get_XAPI_00125(xapi):
    """XAPI-00125: the 'more' IRL is a GET resource too, so HEAD on it behaves like GET."""
    act = activity_iri()
    xapi.store([statement(object_=activity(act)) for _ in range(3)])
    more = xapi.query(activity=act, limit=1)["more"]
    assert more.startswith("/xapi/statements"), more
    g = _raw(xapi, "GET", more)
    h = _raw(xapi, "HEAD", more)
    assert (h[0], h[2]) == (g[0], b""), (h[0], g[0], h[2][:100])


# ---------------------------------------------------------------------------
# Request Content-Type for PUT / POST
# ---------------------------------------------------------------------------

def test_json_content_type_with_charset_parameter_is_accepted(xapi):
    """Communication 1.5.1: application/json with a charset parameter is still application/json."""
    s = statement()
    resp = xapi.request("POST", "statements", data=json.dumps(s).encode("utf-8"),
                        headers={"Content-Type": "application/json; charset=utf-8"})
    assert resp.status_code == 200, describe(resp)
    assert json_body(resp) == [s["id"]]


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/xml", "multipart/form-data; boundary=x"])
@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_statement_write_without_json_or_multipart_content_type_is_rejected_XAPI_00127(
        xapi, method, content_type):
    """XAPI-00127, Communication 3.2.s3.b6: a PUT/POST whose Content-Type is neither
    application/json nor multipart/mixed is rejected with 400 (and nothing is stored)."""
    s = statement()
    params = {"statementId": s["id"]} if method == "PUT" else None
    resp = xapi.request(method, "statements", params=params, data=json.dumps(s).encode("utf-8"),
                        headers={"Content-Type": content_type})
    assert_error(resp, 400)
    assert xapi.get({"statementId": s["id"]}).status_code == 404


def test_form_encoded_post_without_method_parameter_is_rejected(xapi):
    """Communication 3.2.s3.b6: application/x-www-form-urlencoded is only meaningful with a method
    parameter (alternate syntax); JSON sent with that content type is rejected with 400."""
    s = statement()
    resp = xapi.request("POST", "statements", data=json.dumps(s).encode("utf-8"),
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_error(resp, 400)
    assert xapi.get({"statementId": s["id"]}).status_code == 404


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_json_content_type_with_a_body_that_is_not_json_is_rejected_XAPI_00014(xapi, method):
    """XAPI-00014, Communication 3.2.s2.b1: malformed JSON is an invalid argument -> 400."""
    params = {"statementId": new_id()} if method == "PUT" else None
    resp = xapi.request(method, "statements", params=params, data=b'{"actor": {"mbox": ',
                        headers={"Content-Type": "application/json"})
    assert_error(resp, 400)
