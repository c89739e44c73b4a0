"""Agent Profile Resource (Communication 2.6; XAPI-00255..00284; 2.0 checklist 4.1.6.5) and the
Document Resources merge rules for it (Communication 2.2; XAPI-00182..00184).

Documents are created with `If-None-Match: *` (xAPI 1.0.3 clients must send a precondition on
every profile PUT, Communication 3.1.s3.b1); the behaviour without one is in
test_concurrency.py.
"""

import time

import pytest

from document_support import AGENT_PROFILE, JSON, Docs, sha1_hex
from xapi_support import (V1, V2, account_agent, agent, assert_error, describe, is_json_content_type,
                          json_body, mbox, new_id, parse_http_date, statement)

BAD_AGENTS = {
    "not JSON": "not JSON",
    "JSON true": "true",
    "JSON array": '[{"mbox": "mailto:a@trellis-conformance.example"}]',
    "no identifier": '{"objectType": "Agent", "name": "Nobody"}',
    "mbox without mailto": '{"mbox": "a@trellis-conformance.example"}',
    "two identifiers": '{"mbox": "mailto:a@trellis-conformance.example", "mbox_sha1sum": "'
                       + "0" * 40 + '"}',
    "account without homePage": '{"account": {"name": "learner"}}',
    "unknown objectType": '{"objectType": "Robot", "mbox": "mailto:a@trellis-conformance.example"}',
    "name not a string": '{"name": 42, "mbox": "mailto:a@trellis-conformance.example"}',
    "objectType Person": '{"objectType": "Person", "mbox": ["mailto:a@trellis-conformance.example"]}',
}


def fresh(value: str) -> str:
    """A bad agent value with a mailbox of its own, so that a server wrongly accepting it stores
    nothing another test could see."""
    return value.replace("a@trellis-conformance.example", f"{new_id()}@trellis-conformance.example")


BAD_SINCE = ["yesterday", "2020-13-45T00:00:00Z", "1700000000"]
METHODS = ["GET", "PUT", "POST", "DELETE"]
CREATE = {"If-None-Match": "*"}


@pytest.fixture
def docs(xapi):
    return Docs(xapi, AGENT_PROFILE)


def server_now(xapi) -> str:
    s = statement()
    xapi.store(s)
    return xapi.fetch(s["id"])["stored"]


def _send(docs, method, doc_id="profile-doc", params=None):
    if method in ("PUT", "POST"):
        return docs.request(method, doc_id, {"answer": 42}, params=params, headers=CREATE)
    return docs.request(method, doc_id, params=params)


# ---------------------------------------------------------------------------
# single documents
# ---------------------------------------------------------------------------

def test_put_stores_an_agent_profile_and_get_returns_it_XAPI_00282_00273_00259_00269_00274(docs):
    """XAPI-00282, XAPI-00273, XAPI-00259, XAPI-00269, XAPI-00274, Communication 2.6.s3: PUT to
    base+/agents/profile -> 204; GET with a valid agent and profileId -> 200 and the document.
    The Agent is unknown to the LRS, which must not matter (Communication 2.2.s4.b2)."""
    doc = {"preferences": {"language": "en-GB", "captions": True}, "theme": "dark"}
    resp = docs.put("prefs", doc, headers=CREATE)
    assert resp.status_code == 204, describe(resp)
    assert resp.content == b""
    got = docs.fetch("prefs")
    assert json_body(got) == doc
    assert is_json_content_type(got.headers.get("Content-Type")), describe(got)


def test_agent_profile_is_returned_byte_for_byte_with_its_content_type(docs):
    """Communication 2.2.s2.table1.row3: contents are arbitrary binary data."""
    blob = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 2
    assert docs.put("avatar", blob, "image/png", headers=CREATE).status_code == 204
    got = docs.fetch("avatar")
    assert got.content == blob
    assert got.headers.get("Content-Type", "").split(";")[0].strip() == "image/png"


def test_get_of_a_missing_agent_profile_is_404(docs):
    """Communication 3.2.s2 (404 Not Found for a specific document that does not exist)."""
    assert_error(docs.get("never-stored"), 404)


def test_agent_profiles_are_scoped_to_their_agent(docs):
    """Communication 2.6.s3 (a document in the context of the specified Agent): the same profileId
    of another Agent is a different document."""
    docs.create("shared", {"owner": "first"})
    other = docs.with_context(agent=agent("Other Person"))
    assert_error(other.get("shared"), 404)
    assert other.ids() == []
    other.create("shared", {"owner": "second"})
    assert docs.json("shared") == {"owner": "first"}
    assert other.json("shared") == {"owner": "second"}


def test_the_agent_is_identified_by_its_inverse_functional_identifier(docs):
    """Data 2.4.2.1 (an Agent is identified by its IFI): the same mailbox with or without
    objectType and name addresses the same profile documents."""
    box = mbox()
    full = docs.with_context(agent={"objectType": "Agent", "name": "Named", "mbox": box})
    bare = docs.with_context(agent={"mbox": box})
    full.create("doc", {"a": 1})
    assert bare.json("doc") == {"a": 1}
    assert bare.ids() == ["doc"]


@pytest.mark.parametrize("who", ["account", "openid", "mbox_sha1sum"])
def test_agent_profiles_work_for_every_kind_of_agent_identifier(xapi, who):
    """Communication 2.6.s3.table1.row1 (agent: Agent Object): every IFI kind is accepted."""
    if who == "account":
        a = account_agent()
    elif who == "openid":
        a = {"openid": f"http://trellis-conformance.example/openid/{new_id()}"}
    else:
        a = {"mbox_sha1sum": sha1_hex(mbox().encode())}
    d = Docs(xapi, AGENT_PROFILE, {"agent": a})
    d.create("doc", {"who": who})
    assert d.json("doc") == {"who": who}
    assert d.ids() == ["doc"]


def test_identified_group_identifier_inside_an_agent_object_is_accepted(docs):
    """Communication 2.6.s3 note: data about an Identified Group is stored using the Group's
    identifier within an Agent Object."""
    group_mbox = mbox()
    d = docs.with_context(agent={"objectType": "Agent", "mbox": group_mbox})
    d.create("team-doc", {"team": True})
    assert d.json("team-doc") == {"team": True}


def test_post_creates_an_agent_profile_that_does_not_exist_XAPI_00280_00272_00283(docs):
    """XAPI-00280, XAPI-00272, XAPI-00283, Communication 2.2.s7: POST of a missing document is
    treated as a PUT -> 204 and stored."""
    resp = docs.post("by-post", {"x": "foo"})
    assert resp.status_code == 204, describe(resp)
    assert docs.json("by-post") == {"x": "foo"}


def test_post_merges_json_agent_profiles_XAPI_00279_00184(docs):
    """XAPI-00279, XAPI-00184, Communication 2.2.s7.b1-b3, 2.2.s8.b2 (the spec's example)."""
    docs.create("vars", {"x": "foo", "y": "bar"})
    resp = docs.post("vars", {"x": "bash", "z": "faz"})
    assert resp.status_code == 204, describe(resp)
    assert docs.json("vars") == {"x": "bash", "y": "bar", "z": "faz"}


def test_post_merge_of_an_agent_profile_is_one_level_deep_XAPI_00183(docs):
    """XAPI-00183: nested objects are replaced whole."""
    docs.create("deep", {"a": {"x": 1, "y": 2}, "b": 1})
    assert docs.post("deep", {"a": {"y": 5}}).status_code == 204
    assert docs.json("deep") == {"a": {"y": 5}, "b": 1}


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_post_of_non_json_onto_a_json_agent_profile_is_rejected_XAPI_00278(docs, content_type):
    """XAPI-00278, XAPI-00182, Communication 2.2.s8.b1 -> 400, document unchanged."""
    docs.create("json", {"a": 1})
    assert_error(docs.post("json", b'{"b": 2}', content_type), 400)
    assert docs.json("json") == {"a": 1}


def test_post_of_json_onto_a_non_json_agent_profile_is_rejected_XAPI_00278(docs):
    """XAPI-00278, XAPI-00182, Communication 2.2.s8.b1 -> 400, document unchanged."""
    docs.create("text", b"some text", "text/plain")
    assert_error(docs.post("text", {"a": 1}), 400)
    assert docs.content("text") == b"some text"


@pytest.mark.parametrize("which", ["stored", "posted"])
def test_post_where_either_document_is_not_a_json_object_is_rejected_XAPI_00281(docs, which):
    """XAPI-00281, Communication 2.2.s8.b1: either document not a JSON Object -> 400."""
    if which == "stored":
        docs.create("doc", b'"just a string"', JSON)
        assert_error(docs.post("doc", {"a": 1}), 400)
        assert docs.content("doc") == b'"just a string"'
    else:
        docs.create("doc", {"a": 1})
        assert_error(docs.post("doc", b"true"), 400)
        assert docs.json("doc") == {"a": 1}


@pytest.mark.parametrize("existing", [True, False], ids=["existing", "new"])
def test_post_of_invalid_json_to_the_agent_profile_is_rejected_XAPI_00284(docs, existing):
    """XAPI-00284, XAPI-00182: application/json body that is not JSON -> 400; nothing changes."""
    if existing:
        docs.create("doc", {"a": 1})
    assert_error(docs.post("doc", b"{'single': 'quotes'}"), 400)
    if existing:
        assert docs.json("doc") == {"a": 1}
    else:
        assert not docs.exists("doc")


def test_delete_removes_the_agent_profile_XAPI_00271(docs):
    """XAPI-00271, Communication 2.6.s3: DELETE -> 204 and that profile document is gone."""
    docs.create("gone", {"a": 1})
    docs.create("kept", {"b": 1})
    resp = docs.delete("gone")
    assert resp.status_code == 204, describe(resp)
    assert_error(docs.get("gone"), 404)
    assert docs.ids() == ["kept"]


# ---------------------------------------------------------------------------
# multiple documents
# ---------------------------------------------------------------------------

def test_get_without_profile_id_returns_the_array_of_ids_XAPI_00270(docs):
    """XAPI-00270, Communication 2.6.s4: GET with a valid agent and no profileId -> 200 and the
    array of the Agent's profile ids ([] when none)."""
    assert docs.ids() == []
    for doc_id in ("a", "b"):
        docs.create(doc_id, {"id": doc_id})
    resp = docs.list()
    assert resp.status_code == 200, describe(resp)
    assert is_json_content_type(resp.headers.get("Content-Type")), describe(resp)
    assert sorted(json_body(resp)) == ["a", "b"]


def test_since_returns_only_profiles_stored_or_updated_after_it_XAPI_00268_00275(docs, xapi):
    """XAPI-00268, XAPI-00275, Communication 2.6.s4.table1.row2 (exclusive)."""
    docs.create("old", {"n": 1})
    docs.create("touched", {"n": 2})
    time.sleep(0.05)
    since = server_now(xapi)
    time.sleep(0.05)
    docs.create("new", {"n": 3})
    docs.replace("touched", {"n": 20})
    assert sorted(docs.ids(since=since)) == ["new", "touched"]
    assert docs.ids(since="2999-01-01T00:00:00Z") == []


@pytest.mark.parametrize("since", BAD_SINCE)
def test_get_with_since_that_is_not_a_timestamp_is_rejected_XAPI_00260(docs, since):
    """XAPI-00260, Communication 2.6.s4.table1.row2: `since` not a Timestamp -> 400."""
    assert_error(docs.list(since=since), 400, "since")


# ---------------------------------------------------------------------------
# parameter validation
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("method", METHODS)
def test_request_without_agent_is_rejected_XAPI_00261_00262_00263_00264(docs, method):
    """XAPI-00261 (GET), XAPI-00262 (DELETE), XAPI-00263 (POST), XAPI-00264 (PUT),
    Communication 2.6.s3.table1.row1: agent is required -> 400."""
    params = docs.params("profile-doc")
    del params["agent"]
    assert_error(_send(docs, method, params=params), 400, "agent")


@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE"])
def test_request_without_profile_id_is_rejected_XAPI_00265_00266_00267(docs, method):
    """XAPI-00265 (DELETE), XAPI-00266 (POST), XAPI-00267 (PUT), Communication 2.6.s3.table1.row2:
    profileId is required except when listing -> 400; nothing is deleted."""
    docs.create("survivor", {"a": 1})
    assert_error(_send(docs, method, doc_id=None, params=docs.params()), 400, "profileId")
    assert docs.ids() == ["survivor"]


@pytest.mark.parametrize("bad", list(BAD_AGENTS), ids=list(BAD_AGENTS))
@pytest.mark.parametrize("method", METHODS)
def test_agent_that_is_not_an_agent_object_is_rejected_XAPI_00255_00256_00257_00258(docs, method, bad):
    """XAPI-00255 (DELETE), XAPI-00256 (POST), XAPI-00257 (PUT), XAPI-00258 (GET), XAPI-00182,
    Communication 2.6.s3.table1.row1: agent not an Agent Object -> 400, nothing stored."""
    resp = _send(docs, method, params=docs.params("profile-doc", agent=fresh(BAD_AGENTS[bad])))
    assert_error(resp, 400, "agent")
    assert docs.ids() == []


@pytest.mark.parametrize("method", METHODS)
def test_agent_that_is_a_group_is_rejected_XAPI_00255_00256_00257_00258(docs, method):
    """XAPI-00255..00258, Communication 2.6.s3 note ("The "agent" parameter is an Agent Object and
    not a Group. Learning Record Providers wishing to store data against an Identified Group can
    use the Identified Group's identifier within an Agent Object."): an identified Group as the
    agent parameter is not an Agent Object -> 400."""
    group = {"objectType": "Group", "name": "Team", "mbox": mbox()}
    resp = _send(docs, method, params=docs.params("profile-doc", agent=group))
    assert_error(resp, 400, "agent")
    assert docs.with_context(agent={"mbox": group["mbox"]}).ids() == []


@pytest.mark.parametrize("param", ["foo", "activityId", "stateId", "registration", "ProfileId", "AGENT"])
@pytest.mark.parametrize("method", METHODS)
def test_unknown_or_wrongly_cased_parameter_is_rejected_XAPI_00324_00325(docs, method, param):
    """XAPI-00324, XAPI-00325, Communication 3.2.s2.b1/s3.b8 -> 400, nothing stored."""
    value = {"registration": new_id(), "activityId": "http://trellis-conformance.example/a"}.get(param, "v")
    assert_error(_send(docs, method, params=docs.params("profile-doc", **{param: value})), 400)
    assert docs.ids() == []


@pytest.mark.parametrize("method", METHODS)
def test_request_without_version_header_is_rejected_XAPI_00321_00331(docs, method):
    """XAPI-00321, XAPI-00331: no X-Experience-API-Version -> 400, nothing stored."""
    if method in ("PUT", "POST"):
        resp = docs.request(method, "doc", {"a": 1}, headers=CREATE, version=None)
    else:
        resp = docs.request(method, "doc", version=None)
    assert_error(resp, 400)
    assert docs.ids() == []


@pytest.mark.slow
@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_agent_profile_larger_than_the_limit_is_rejected_with_413_XAPI_00328(docs, server, method):
    """XAPI-00328, Communication 3.2.s3.b11: larger than --max-body-bytes -> 413, nothing stored."""
    body = b'{"blob": "' + b"x" * (server.max_body_bytes + 1024) + b'"}'
    resp = docs.request(method, "big", body, headers=CREATE)
    assert resp.status_code == 413, describe(resp)
    assert docs.ids() == []


# ---------------------------------------------------------------------------
# Last-Modified, HEAD
# ---------------------------------------------------------------------------

def test_get_of_an_agent_profile_has_last_modified_that_moves_on_update(docs):
    """Communication 2.2.s6.b1, 2.0 checklist 4.1.6.5 ("Returns a Last-Modified header at all";
    "Updates the Last-Modified value when the corresponding document is updated")."""
    docs.create("lm", {"a": 1})
    first = docs.fetch("lm").headers.get("Last-Modified")
    assert first, "GET of an agent profile lacks Last-Modified"
    time.sleep(1.1)
    assert docs.post("lm", {"b": 1}).status_code == 204
    second = docs.fetch("lm").headers.get("Last-Modified")
    assert parse_http_date(second) > parse_http_date(first), (first, second)


@pytest.mark.parametrize("case", ["single", "list", "missing"])
def test_head_responds_like_get_without_a_body_XAPI_00125_00126(docs, case):
    """XAPI-00125, XAPI-00126, Communication 1.1 ("should succeed HEAD agents profile with no
    body")."""
    docs.create("doc", {"a": 1})
    doc_id = {"single": "doc", "list": None, "missing": "nope"}[case]
    g_status, g_headers, g_body = docs.raw("GET", doc_id)
    h_status, h_headers, h_body = docs.raw("HEAD", doc_id)
    assert h_status == g_status
    assert h_body == b"" and g_body
    for name in ("content-type", "etag", "last-modified", "x-experience-api-version"):
        assert h_headers.get(name) == g_headers.get(name), (name, h_headers.get(name), g_headers.get(name))


# ---------------------------------------------------------------------------
# authorisation
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("scope", ["profile", "all"])
def test_profile_scope_grants_every_agent_profile_operation(docs, make_credential, scope):
    """Communication 4.2 (scope `profile`: read/write profile data; `all`)."""
    d = docs.with_client(docs.xapi.with_auth(make_credential(scope).auth))
    assert d.put("doc", {"a": 1}, headers=CREATE).status_code == 204
    assert d.post("doc", {"b": 2}).status_code == 204
    assert d.json("doc") == {"a": 1, "b": 2}
    assert d.ids() == ["doc"]
    assert d.delete("doc").status_code == 204
    assert d.ids() == []


def test_all_read_scope_reads_agent_profiles_but_cannot_change_them_XAPI_00327(docs, make_credential):
    """XAPI-00327, Communication 4.2 (`all/read`): reads work, writes -> 403 and change nothing."""
    docs.create("doc", {"a": 1})
    d = docs.with_client(docs.xapi.with_auth(make_credential("all/read").auth))
    assert d.json("doc") == {"a": 1}
    assert d.ids() == ["doc"]
    assert_error(d.put("doc", {"x": 1}, headers={"If-Match": "*"}), 403)
    assert_error(d.post("doc", {"x": 1}), 403)
    assert_error(d.delete("doc"), 403)
    assert docs.json("doc") == {"a": 1}


@pytest.mark.parametrize("scope", ["state", "define", "statements/write", "statements/read/mine"])
def test_credential_without_profile_scope_gets_403_XAPI_00327(docs, make_credential, scope):
    """XAPI-00327, Communication 4.2: without `profile` or `all` (nor `all/read` for reads) -> 403."""
    docs.create("doc", {"a": 1})
    d = docs.with_client(docs.xapi.with_auth(make_credential(scope).auth))
    for resp in (d.get("doc"), d.list(), d.put("doc", {"x": 1}, headers={"If-Match": "*"}),
                 d.post("doc", {"x": 1}), d.delete("doc")):
        assert_error(resp, 403)
    assert docs.json("doc") == {"a": 1}


def test_agent_profiles_are_shared_between_xapi_versions(xapi1, xapi2):
    """Communication 3.3: the version header changes the protocol, not the data."""
    d1 = Docs(xapi1, AGENT_PROFILE)
    d2 = d1.with_client(xapi2)
    d1.create("one", {"v": V1})
    d2.create("two", {"v": V2})
    assert d2.json("one") == {"v": V1} and d1.json("two") == {"v": V2}
    assert sorted(d1.ids()) == sorted(d2.ids()) == ["one", "two"]
