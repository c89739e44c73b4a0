"""Authentication and authorisation (Communication 4.0, 4.2, 3.2; XAPI-00327, 00334, 00335).

Tests that need extra credentials use `trellis credentials create` and are skipped when the
suite runs against TRELLIS_URL.
"""

import base64

import pytest

from xapi_support import (activity, activity_iri, assert_error, basic_auth_header, describe,
                          new_id, statement)


def _requests(x, s):
    return {
        "GET": lambda **kw: x.get({"activity": s["object"]["id"]}, **kw),
        "POST": lambda **kw: x.post(s, **kw),
        "PUT": lambda **kw: x.put(s, **kw),
    }


def _assert_401(resp):
    assert_error(resp, 401)
    challenge = resp.headers.get("WWW-Authenticate", "")
    assert "basic" in challenge.lower(), f"401 needs a Basic WWW-Authenticate challenge\n{describe(resp)}"


@pytest.mark.parametrize("method", ["GET", "POST", "PUT"])
def test_request_without_credentials_is_rejected_with_401_XAPI_00334(xapi, method):
    """XAPI-00334, Communication 3.2.s2.b2: no credentials -> 401 with a WWW-Authenticate challenge."""
    s = statement()
    _assert_401(_requests(xapi, s)[method](auth=None))
    assert xapi.get({"statementId": s["id"]}).status_code == 404


@pytest.mark.parametrize("method", ["GET", "POST", "PUT"])
def test_request_with_unknown_credentials_is_rejected_with_401_XAPI_00334(xapi, method):
    """XAPI-00334 (ADL: "fails when given a random name pass pair")."""
    s = statement()
    _assert_401(_requests(xapi, s)[method](auth=(new_id(), new_id())))
    assert xapi.get({"statementId": s["id"]}).status_code == 404


def test_request_with_right_key_but_wrong_secret_is_rejected_with_401_XAPI_00334(xapi, server):
    """XAPI-00334: refused credentials -> 401."""
    _assert_401(xapi.get({"limit": 1}, auth=(server.admin.key, server.admin.secret + "x")))


@pytest.mark.parametrize("header", [
    "Basic", "Basic !!!not-base64!!!", "Basic " + base64.b64encode(b"no-colon-here").decode(),
    "Bearer abcdef", "Digest username=\"x\"", "basic",
])
def test_malformed_authorization_header_is_rejected_with_401_XAPI_00334(xapi, header):
    """XAPI-00334 (ADL: "fails with a malformed header")."""
    resp = xapi.get({"limit": 1}, auth=None, headers={"Authorization": header})
    _assert_401(resp)


def test_http_basic_authentication_is_supported_XAPI_00335(xapi, server):
    """XAPI-00335: HTTP Basic with the admin credential works (header built by hand, scheme
    case-insensitive per RFC 7235)."""
    for scheme in ("Basic", "basic"):
        value = scheme + basic_auth_header(server.admin.key, server.admin.secret)[len("Basic"):]
        resp = xapi.get({"limit": 1}, auth=None, headers={"Authorization": value})
        assert resp.status_code == 200, describe(resp)


# ---------------------------------------------------------------------------
# scopes (Communication 4.2) -- needs extra credentials
# ---------------------------------------------------------------------------

def test_read_only_credential_cannot_write_statements_XAPI_00327(xapi, make_credential):
    """XAPI-00327, Communication 3.2.s3.b10: valid credentials lacking permission -> 403."""
    cred = make_credential("statements/read")
    reader = xapi.with_auth(cred.auth)
    s = statement()
    assert_error(reader.post(s), 403)
    assert_error(reader.put(statement()), 403)
    assert xapi.get({"statementId": s["id"]}).status_code == 404
    assert reader.get({"limit": 1}).status_code == 200


def test_read_credential_can_read_statements_of_others(xapi, make_credential):
    """Communication 4.2 (statements/read: read any Statement)."""
    cred = make_credential("statements/read")
    s = statement()
    xapi.store(s)
    reader = xapi.with_auth(cred.auth)
    assert reader.fetch(s["id"])["id"] == s["id"]
    assert reader.query_ids(activity=s["object"]["id"]) == [s["id"]]


def test_write_only_credential_can_write_but_not_read_XAPI_00327(xapi, make_credential):
    """XAPI-00327, Communication 4.2 (statements/write: write any Statement; no read)."""
    cred = make_credential("statements/write")
    writer = xapi.with_auth(cred.auth)
    s = statement()
    assert writer.post(s).status_code == 200
    assert writer.put(statement()).status_code == 204
    assert_error(writer.get({"statementId": s["id"]}), 403)
    assert_error(writer.get({"activity": s["object"]["id"]}), 403)


def test_all_read_credential_reads_but_cannot_write_XAPI_00327(xapi, make_credential):
    """XAPI-00327, Communication 4.2 (all/read: unrestricted read access)."""
    cred = make_credential("all/read")
    x = xapi.with_auth(cred.auth)
    s = statement()
    xapi.store(s)
    assert x.fetch(s["id"])["id"] == s["id"]
    assert_error(x.post(statement()), 403)


@pytest.mark.parametrize("scope", ["state", "define", "profile"])
def test_credential_without_statement_scopes_gets_403_on_statements_XAPI_00327(xapi, make_credential, scope):
    """XAPI-00327: document-only scopes grant nothing on the Statement Resource."""
    x = xapi.with_auth(make_credential(scope).auth)
    s = statement()
    assert_error(x.post(s), 403)
    assert_error(x.get({"limit": 1}), 403)
    assert xapi.get({"statementId": s["id"]}).status_code == 404


def test_about_is_available_to_any_credential(xapi, make_credential):
    """Communication 2.8.s5.b3: About is not scope-restricted."""
    x = xapi.with_auth(make_credential("state").auth)
    assert x.request("GET", "about").status_code == 200


def test_authority_is_the_agent_of_the_writing_credential_XAPI_00099(xapi, make_credential, expected_homepages):
    """XAPI-00099, Data 2.4.9.s3.b2 (Trellis contract): authority =
    {"objectType": "Agent", "name": <credential name>, "account": {"homePage": <base>, "name": <key>}}."""
    cred = make_credential("statements/write", "statements/read")
    x = xapi.with_auth(cred.auth)
    s = statement()
    x.store(s)
    auth = x.fetch(s["id"])["authority"]
    assert auth["objectType"] == "Agent", auth
    assert auth["name"] == cred.name, auth
    assert auth["account"]["name"] == cred.key, auth
    assert auth["account"]["homePage"] in expected_homepages, auth
    assert set(auth) == {"objectType", "name", "account"}, auth


def test_read_mine_credential_sees_only_its_own_statements(xapi, make_credential):
    """Communication 4.2 (statements/read/mine: read Statements whose authority matches what the
    LRS would assign for this credential)."""
    cred = make_credential("statements/write", "statements/read/mine")
    mine_client = xapi.with_auth(cred.auth)
    act = activity_iri("mine")
    theirs = statement(object_=activity(act))
    xapi.store(theirs)
    mine = statement(object_=activity(act))
    mine_client.store(mine)
    assert mine_client.query_ids(activity=act) == [mine["id"]]
    assert sorted(xapi.query_ids(activity=act)) == sorted([theirs["id"], mine["id"]])
    assert mine_client.fetch(mine["id"])["id"] == mine["id"]
    resp = mine_client.get({"statementId": theirs["id"]})
    assert resp.status_code in (403, 404), describe(resp)
    assert theirs["id"] not in resp.text


def test_read_mine_credential_does_not_see_others_through_unfiltered_queries(xapi, make_credential):
    """Communication 4.2: the statements/read/mine restriction also applies without filters."""
    cred = make_credential("statements/write", "statements/read/mine")
    x = xapi.with_auth(cred.auth)
    mine = statement()
    x.store(mine)
    result = x.query(limit=50)
    ids = [s["id"] for s in result["statements"]]
    assert mine["id"] in ids
    for s in result["statements"]:
        assert s["authority"]["account"]["name"] == cred.key, s["authority"]


def test_credential_created_while_the_server_runs_works_immediately(xapi, make_credential):
    """Trellis contract: `credentials create` is effective without restart."""
    cred = make_credential("all")
    x = xapi.with_auth(cred.auth)
    s = statement()
    assert x.post(s).status_code == 200
    assert x.fetch(s["id"])["id"] == s["id"]
