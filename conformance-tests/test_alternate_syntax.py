"""Alternate Request Syntax (Communication 1.3; XAPI-00336, XAPI-00148) -- 1.0.3 only.

9274.1.1 (xAPI 2.0) removed the alternate request syntax; the 2.0 tests check that such
requests are rejected.
"""

import json
from urllib.parse import urlencode

from xapi_support import (activity, activity_iri, agent, assert_error, basic_auth_header, describe,
                          json_body, new_id, statement)

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def alt(x, method, form, *, query=None, send_auth_header=True, send_version_header=True, headers=None):
    params = {"method": method, **(query or {})}
    hdrs = dict(FORM)
    if headers:
        hdrs.update(headers)
    return x.request("POST", "statements", params=params, data=urlencode(form).encode("utf-8"),
                     headers=hdrs, auth=(x.auth if send_auth_header else None),
                     version=(x.version if send_version_header else None))


# ---------------------------------------------------------------------------
# 1.0.3: supported
# ---------------------------------------------------------------------------

def test_post_with_method_get_returns_a_statement_result_XAPI_00148_00336(xapi1):
    """XAPI-00148, XAPI-00336: POST ?method=GET with form parameters answers 200 and a
    StatementResult; the form parameters are the query parameters (Communication 1.3.s3.b14)."""
    act = activity_iri("alt-get")
    ids = xapi1.store_sequentially([statement(object_=activity(act)) for _ in range(2)])
    xapi1.store(statement())
    resp = alt(xapi1, "GET", {"activity": act, "limit": "1", "ascending": "true"})
    assert resp.status_code == 200, describe(resp)
    result = json_body(resp)
    assert [s["id"] for s in result["statements"]] == [ids[0]]
    assert result.get("more"), "limit=1 with two matches must yield a more link"


def test_post_with_method_get_and_statement_id_returns_that_statement_XAPI_00148(xapi1):
    """XAPI-00148: single statement retrieval through the alternate syntax."""
    s = statement()
    xapi1.store(s)
    resp = alt(xapi1, "GET", {"statementId": s["id"]})
    assert resp.status_code == 200, describe(resp)
    assert json_body(resp)["id"] == s["id"]


def test_post_with_method_put_and_headers_in_the_form_stores_the_statement_XAPI_00336(xapi1):
    """XAPI-00336, Communication 1.3.s3.b4-b7: PUT via POST ?method=PUT; Authorization,
    X-Experience-API-Version and Content-Type given as form parameters act as headers; content is
    the URL-encoded statement; statementId is a form parameter. Returns 204."""
    s = statement()
    form = {"statementId": s["id"], "content": json.dumps(s),
            "Authorization": basic_auth_header(*xapi1.auth), "X-Experience-API-Version": "1.0.3",
            "Content-Type": "application/json"}
    resp = alt(xapi1, "PUT", form, send_auth_header=False, send_version_header=False)
    assert resp.status_code == 204, describe(resp)
    got = xapi1.fetch(s["id"])
    assert got["actor"] == s["actor"] and got["object"] == s["object"]


def test_post_with_method_put_and_real_headers_stores_the_statement_XAPI_00336(xapi1):
    """XAPI-00336: the header parameters may equally be sent as real HTTP headers."""
    s = statement()
    resp = alt(xapi1, "PUT", {"statementId": s["id"], "content": json.dumps(s)})
    assert resp.status_code == 204, describe(resp)
    assert xapi1.fetch(s["id"])["id"] == s["id"]


def test_post_with_method_post_stores_statements(xapi1):
    """Communication 1.3.s3.b2: the intended method (here POST) goes in ?method=; content holds the
    statements; answer as for POST (200 and ids)."""
    a, b = statement(), statement()
    resp = alt(xapi1, "POST", {"content": json.dumps([a, b])})
    assert resp.status_code == 200, describe(resp)
    assert json_body(resp) == [a["id"], b["id"]]


def test_alternate_syntax_content_is_interpreted_as_utf8_XAPI_00015(xapi1):
    """Communication 1.3.s3.b5: the LRS interprets content as a UTF-8 string."""
    name = "Zoë Ŝtraße 東京 🚀"
    s = statement(actor=agent(name))
    resp = alt(xapi1, "PUT", {"statementId": s["id"], "content": json.dumps(s, ensure_ascii=False)})
    assert resp.status_code == 204, describe(resp)
    assert xapi1.fetch(s["id"])["actor"]["name"] == name


def test_alternate_syntax_version_form_parameter_is_validated_like_the_header(xapi1):
    """Communication 1.3.s3.b7 with 3.3.s3.b4: X-Experience-API-Version=0.8 given as a form
    parameter is treated as the header and rejected with 400."""
    s = statement()
    form = {"statementId": s["id"], "content": json.dumps(s), "X-Experience-API-Version": "0.8",
            "Authorization": basic_auth_header(*xapi1.auth)}
    resp = alt(xapi1, "PUT", form, send_auth_header=False, send_version_header=False)
    assert_error(resp, 400)
    assert xapi1.get({"statementId": s["id"]}).status_code == 404


def test_alternate_syntax_authorization_form_parameter_is_checked(xapi1):
    """Communication 1.3.s3.b7 with 4.0: bad credentials in the Authorization form parameter -> 401."""
    s = statement()
    form = {"statementId": s["id"], "content": json.dumps(s), "X-Experience-API-Version": "1.0.3",
            "Authorization": basic_auth_header("nobody", "wrong")}
    resp = alt(xapi1, "PUT", form, send_auth_header=False, send_version_header=False)
    assert resp.status_code == 401, describe(resp)
    assert xapi1.get({"statementId": s["id"]}).status_code == 404


def test_alternate_syntax_with_other_query_parameters_is_rejected(xapi1):
    """Communication 1.3.s3.b3/b13 (ADL: "contains any extra information"): only method may be in
    the query string -> 400 otherwise."""
    s = statement()
    resp = alt(xapi1, "PUT", {"statementId": s["id"], "content": json.dumps(s)}, query={"statementId": s["id"]})
    assert_error(resp, 400)
    assert xapi1.get({"statementId": s["id"]}).status_code == 404


def test_alternate_syntax_put_without_content_is_rejected(xapi1):
    """Communication 1.3.s3.b4 (ADL "will fail PUT with no content body")."""
    resp = alt(xapi1, "PUT", {"statementId": new_id()})
    assert_error(resp, 400)


def test_alternate_syntax_with_a_json_body_instead_of_form_is_rejected(xapi1):
    """Communication 1.3.s3.b4 (ADL "content body which is not url encoded")."""
    s = statement()
    body = json.dumps({"statementId": s["id"], "content": json.dumps(s)}).encode()
    resp = xapi1.request("POST", "statements", params={"method": "PUT"}, data=body, headers=FORM)
    assert_error(resp, 400)
    assert xapi1.get({"statementId": s["id"]}).status_code == 404


def test_alternate_syntax_not_issued_as_post_is_rejected(xapi1):
    """Communication 1.3.s3.b1: alternate syntax requests MUST be POST (PUT ?method=POST -> 400)."""
    s = statement()
    resp = xapi1.request("PUT", "statements", params={"method": "POST"},
                         data=urlencode({"content": json.dumps(s)}).encode(), headers=FORM)
    assert_error(resp, 400)
    assert xapi1.get({"statementId": s["id"]}).status_code == 404


def test_alternate_syntax_with_unknown_method_is_rejected(xapi1):
    """Communication 1.3.s3.b2: method must name an xAPI method of the resource."""
    resp = alt(xapi1, "PATCH", {"statementId": new_id()})
    assert resp.status_code in (400, 405), describe(resp)


# ---------------------------------------------------------------------------
# 2.0: removed
# ---------------------------------------------------------------------------

def test_post_with_method_get_is_rejected_in_2_0(xapi2):
    """9274.1.1 removed Alternate Request Syntax (2.0 suite: "An LRS rejects POST requests
    containing method query parameters")."""
    resp = alt(xapi2, "GET", {"limit": "1"})
    assert_error(resp, 400)


def test_post_with_method_put_is_rejected_in_2_0_and_stores_nothing(xapi2):
    """9274.1.1 (2.0 suite: "An LRS rejects an alternate request syntax PUT issued as a POST")."""
    s = statement()
    resp = alt(xapi2, "PUT", {"statementId": s["id"], "content": json.dumps(s)})
    assert_error(resp, 400)
    assert xapi2.get({"statementId": s["id"]}).status_code == 404


def test_put_with_method_parameter_is_rejected_in_2_0(xapi2):
    """9274.1.1 (2.0 suite: "An LRS rejects an alternate request syntax not issued as a POST")."""
    s = statement()
    resp = xapi2.request("PUT", "statements", params={"method": "POST"},
                         data=urlencode({"content": json.dumps(s)}).encode(), headers=FORM)
    assert_error(resp, 400)
    assert xapi2.get({"statementId": s["id"]}).status_code == 404
