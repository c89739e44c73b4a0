"""Activity Profile Resource (Communication 2.7; XAPI-00285..00314; 2.0 checklist 4.1.6.6) and
the Document Resources merge rules for it (Communication 2.2; XAPI-00182..00184).

Documents are created with `If-None-Match: *` because xAPI 1.0.3 requires clients to send a
precondition on every profile PUT (Communication 3.1.s3.b1); the behaviour without one is in
test_concurrency.py.
"""

import time

import pytest

from document_support import ACTIVITY_PROFILE, JSON, Docs
from xapi_support import (V1, V2, activity_iri, agent, assert_error, describe, is_json_content_type,
                          json_body, new_id, parse_http_date, statement)

BAD_SINCE = ["yesterday", "2020-13-45T00:00:00Z", "1700000000"]
METHODS = ["GET", "PUT", "POST", "DELETE"]
CREATE = {"If-None-Match": "*"}


@pytest.fixture
def docs(xapi):
    return Docs(xapi, ACTIVITY_PROFILE)


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

def test_put_stores_an_activity_profile_and_get_returns_it_XAPI_00311_00287_00293_00288_00290(docs):
    """XAPI-00311, XAPI-00287, XAPI-00293, XAPI-00288, XAPI-00290, Communication 2.7.s3: PUT to
    base+/activities/profile -> 204 No Content; GET with profileId -> 200 and the document.  The
    Activity is unknown to the LRS, which must not matter (Communication 2.2.s4.b2)."""
    doc = {"course": "Intro", "levels": [1, 2, 3], "meta": {"k": "v"}}
    resp = docs.put("settings", doc, headers=CREATE)
    assert resp.status_code == 204, describe(resp)
    assert resp.content == b""
    got = docs.fetch("settings")
    assert json_body(got) == doc
    assert is_json_content_type(got.headers.get("Content-Type")), describe(got)


def test_activity_profile_is_returned_byte_for_byte_with_its_content_type(docs):
    """Communication 2.2.s2.table1.row3: contents are arbitrary binary data."""
    blob = bytes(range(256)) * 3
    assert docs.put("bin", blob, "image/png", headers=CREATE).status_code == 204
    got = docs.fetch("bin")
    assert got.content == blob
    assert got.headers.get("Content-Type", "").split(";")[0].strip() == "image/png"


def test_get_of_a_missing_activity_profile_is_404(docs):
    """Communication 3.2.s2 (404 Not Found for a specific document that does not exist)."""
    assert_error(docs.get("never-stored"), 404)


def test_activity_profiles_are_scoped_to_their_activity(docs):
    """Communication 2.7.s3 (a document in the context of the specified Activity): the same
    profileId under another Activity is a different document."""
    docs.create("shared", {"owner": "first"})
    other = docs.with_context(activityId=activity_iri("other"))
    assert_error(other.get("shared"), 404)
    assert other.ids() == []
    other.create("shared", {"owner": "second"})
    assert docs.json("shared") == {"owner": "first"}
    assert other.json("shared") == {"owner": "second"}


def test_post_creates_an_activity_profile_that_does_not_exist_XAPI_00310_00286_00292_00312(docs):
    """XAPI-00310, XAPI-00286, XAPI-00292, XAPI-00312, Communication 2.2.s7: a POST for a document
    not in the LRS is treated as a PUT -> 204 and the document is stored."""
    resp = docs.post("by-post", {"x": "foo"})
    assert resp.status_code == 204, describe(resp)
    assert docs.json("by-post") == {"x": "foo"}


def test_post_merges_json_activity_profiles_XAPI_00308_00184(docs):
    """XAPI-00308, XAPI-00184, Communication 2.2.s7.b1-b3, 2.2.s8.b2: the posted object's
    properties are set on the stored object (the spec's example) and the LRS answers 204."""
    docs.create("vars", {"x": "foo", "y": "bar"})
    resp = docs.post("vars", {"x": "bash", "z": "faz"})
    assert resp.status_code == 204, describe(resp)
    assert docs.json("vars") == {"x": "bash", "y": "bar", "z": "faz"}


def test_post_merge_of_an_activity_profile_is_one_level_deep_XAPI_00183(docs):
    """XAPI-00183: nested objects are replaced whole, not merged."""
    docs.create("deep", {"a": {"x": 1, "y": 2}, "keep": True})
    assert docs.post("deep", {"a": {"z": 3}}).status_code == 204
    assert docs.json("deep") == {"a": {"z": 3}, "keep": True}


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", None])
def test_post_of_non_json_onto_a_json_activity_profile_is_rejected_XAPI_00309(docs, content_type):
    """XAPI-00309, XAPI-00182, Communication 2.2.s8.b1: posted document not application/json while
    the stored one is -> 400, document unchanged."""
    docs.create("json", {"a": 1})
    assert_error(docs.post("json", b'{"b": 2}', content_type), 400)
    assert docs.json("json") == {"a": 1}


def test_post_of_json_onto_a_non_json_activity_profile_is_rejected_XAPI_00309(docs):
    """XAPI-00309, XAPI-00182, Communication 2.2.s8.b1: stored document not application/json ->
    a JSON POST gets 400 and the document is unchanged."""
    docs.create("text", b"some text", "text/plain")
    assert_error(docs.post("text", {"a": 1}), 400)
    got = docs.fetch("text")
    assert got.content == b"some text"
    assert got.headers.get("Content-Type", "").startswith("text/plain")


@pytest.mark.parametrize("which", ["stored", "posted"])
def test_post_where_either_document_is_not_a_json_object_is_rejected_XAPI_00313(docs, which):
    """XAPI-00313, Communication 2.2.s8.b1: either document cannot be parsed as a JSON Object
    (here: a JSON array) -> 400, nothing changes."""
    if which == "stored":
        docs.create("doc", b"[1, 2, 3]", JSON)
        assert_error(docs.post("doc", {"a": 1}), 400)
        assert docs.content("doc") == b"[1, 2, 3]"
    else:
        docs.create("doc", {"a": 1})
        assert_error(docs.post("doc", b"[1, 2, 3]"), 400)
        assert docs.json("doc") == {"a": 1}


@pytest.mark.parametrize("existing", [True, False], ids=["existing", "new"])
def test_post_of_invalid_json_to_the_activity_profile_is_rejected_XAPI_00314(docs, existing):
    """XAPI-00314, XAPI-00182: Content-Type application/json with a body that is not JSON -> 400;
    nothing is created or changed."""
    if existing:
        docs.create("doc", {"a": 1})
    assert_error(docs.post("doc", b'{"a": '), 400)
    if existing:
        assert docs.json("doc") == {"a": 1}
    else:
        assert not docs.exists("doc")


def test_delete_removes_the_activity_profile_XAPI_00285_00291(docs):
    """XAPI-00285, XAPI-00291, Communication 2.7.s3: DELETE with profileId -> 204 and the document
    is gone; others remain."""
    docs.create("gone", {"a": 1})
    docs.create("kept", {"b": 1})
    resp = docs.delete("gone")
    assert resp.status_code == 204, describe(resp)
    assert_error(docs.get("gone"), 404)
    assert docs.ids() == ["kept"]


# ---------------------------------------------------------------------------
# multiple documents
# ---------------------------------------------------------------------------

def test_get_without_profile_id_returns_the_array_of_ids_XAPI_00289(docs):
    """XAPI-00289, Communication 2.7.s4: GET without profileId -> 200 and a JSON array of the
    Activity's profile ids ([] when there are none)."""
    assert docs.ids() == []
    for doc_id in ("p1", "p2", "p3"):
        docs.create(doc_id, {"id": doc_id})
    resp = docs.list()
    assert resp.status_code == 200, describe(resp)
    assert is_json_content_type(resp.headers.get("Content-Type")), describe(resp)
    assert sorted(json_body(resp)) == ["p1", "p2", "p3"]


def test_since_returns_only_profiles_stored_or_updated_after_it_XAPI_00303_00294(docs, xapi):
    """XAPI-00303, XAPI-00294, Communication 2.7.s4.table1.row2: only ids of profile documents
    stored (or updated) after `since` (exclusive) are returned."""
    docs.create("old", {"n": 1})
    docs.create("touched", {"n": 2})
    time.sleep(0.05)
    since = server_now(xapi)
    time.sleep(0.05)
    docs.create("new", {"n": 3})
    assert docs.post("touched", {"m": 1}).status_code == 204
    assert sorted(docs.ids(since=since)) == ["new", "touched"]
    assert docs.ids(since="2999-12-31T23:59:59Z") == []
    assert sorted(docs.ids(since="1999-12-31T23:59:59-05:00")) == ["new", "old", "touched"]


@pytest.mark.parametrize("since", BAD_SINCE)
def test_get_with_since_that_is_not_a_timestamp_is_rejected_XAPI_00295(docs, since):
    """XAPI-00295, Communication 2.7.s4.table1.row2: `since` not a Timestamp -> 400."""
    assert_error(docs.list(since=since), 400, "since")


# ---------------------------------------------------------------------------
# parameter validation
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("method", METHODS)
def test_request_without_activity_id_is_rejected_XAPI_00296_00297_00298_00299(docs, method):
    """XAPI-00296 (GET), XAPI-00297 (DELETE), XAPI-00298 (POST), XAPI-00299 (PUT),
    Communication 2.7.s3.table1.row1: activityId is required -> 400."""
    params = docs.params("profile-doc")
    del params["activityId"]
    assert_error(_send(docs, method, params=params), 400, "activityId")


@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE"])
def test_request_without_profile_id_is_rejected_XAPI_00300_00301_00302(docs, method):
    """XAPI-00300 (DELETE), XAPI-00301 (POST), XAPI-00302 (PUT), Communication 2.7.s3.table1.row2:
    profileId is required except when listing -> 400; a DELETE without it deletes nothing."""
    docs.create("survivor", {"a": 1})
    assert_error(_send(docs, method, doc_id=None, params=docs.params()), 400, "profileId")
    assert docs.ids() == ["survivor"]


@pytest.mark.parametrize("value", ["not an iri", "", "example.com/no-scheme"])
@pytest.mark.parametrize("method", METHODS)
def test_activity_id_that_is_not_an_iri_is_rejected(docs, method, value):
    """Communication 2.7.s3.table1.row1 (activityId: Activity id, an IRI), Data 4.2 -> 400."""
    assert_error(_send(docs, method, params=docs.params("profile-doc", activityId=value)), 400, "activityId")


@pytest.mark.parametrize("value", ["not JSON", '{"mbox": "mailto:a@trellis-conformance.example"}'])
@pytest.mark.parametrize("method", METHODS)
def test_agent_parameter_is_rejected_XAPI_00304_00324(docs, method, value):
    """XAPI-00304 ("rejects a GET request with agent as a parameter if it is not in JSON format"),
    XAPI-00324: the Activity Profile Resource has no `agent` parameter, so any agent -> 400."""
    resp = _send(docs, method, params=docs.params("profile-doc", agent=value))
    assert_error(resp, 400)
    assert docs.ids() == []


@pytest.mark.parametrize("param", ["foo", "stateId", "registration", "ProfileId", "profileid", "activityID"])
@pytest.mark.parametrize("method", METHODS)
def test_unknown_or_wrongly_cased_parameter_is_rejected_XAPI_00324_00325(docs, method, param):
    """XAPI-00324, XAPI-00325, Communication 3.2.s2.b1/s3.b8 -> 400, nothing stored."""
    value = new_id() if param == "registration" else "value"
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
def test_activity_profile_larger_than_the_limit_is_rejected_with_413_XAPI_00328(docs, server, method):
    """XAPI-00328, Communication 3.2.s3.b11: larger than --max-body-bytes -> 413, nothing stored."""
    body = b'{"blob": "' + b"x" * (server.max_body_bytes + 1024) + b'"}'
    resp = docs.request(method, "big", body, headers=CREATE)
    assert resp.status_code == 413, describe(resp)
    assert docs.ids() == []


# ---------------------------------------------------------------------------
# Last-Modified, HEAD
# ---------------------------------------------------------------------------

def test_get_of_an_activity_profile_has_last_modified_that_moves_on_update(docs):
    """Communication 2.2.s6.b1, 2.0 checklist 4.1.6.6 ("Returns a Last-Modified header at all";
    "Updates the Last-Modified value when the corresponding document is updated")."""
    docs.create("lm", {"a": 1})
    first = docs.fetch("lm").headers.get("Last-Modified")
    assert first, "GET of an activity profile lacks Last-Modified"
    time.sleep(1.1)
    docs.replace("lm", {"a": 2})
    second = docs.fetch("lm").headers.get("Last-Modified")
    assert parse_http_date(second) > parse_http_date(first), (first, second)


@pytest.mark.parametrize("case", ["single", "list", "missing"])
def test_head_responds_like_get_without_a_body_XAPI_00125_00126(docs, case):
    """XAPI-00125, XAPI-00126, Communication 1.1 ("should succeed HEAD activities profile with no
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
def test_profile_scope_grants_every_activity_profile_operation(docs, make_credential, scope):
    """Communication 4.2 (scope `profile`: read/write profile data; `all`)."""
    d = docs.with_client(docs.xapi.with_auth(make_credential(scope).auth))
    assert d.put("doc", {"a": 1}, headers=CREATE).status_code == 204
    assert d.post("doc", {"b": 2}).status_code == 204
    assert d.json("doc") == {"a": 1, "b": 2}
    assert d.ids() == ["doc"]
    assert d.delete("doc").status_code == 204
    assert d.ids() == []


def test_all_read_scope_reads_activity_profiles_but_cannot_change_them_XAPI_00327(docs, make_credential):
    """XAPI-00327, Communication 4.2 (`all/read`): reads work, writes -> 403 and change nothing."""
    docs.create("doc", {"a": 1})
    d = docs.with_client(docs.xapi.with_auth(make_credential("all/read").auth))
    assert d.json("doc") == {"a": 1}
    assert d.ids() == ["doc"]
    assert_error(d.put("doc", {"x": 1}, headers={"If-Match": "*"}), 403)
    assert_error(d.post("doc", {"x": 1}), 403)
    assert_error(d.delete("doc"), 403)
    assert docs.json("doc") == {"a": 1}


@pytest.mark.parametrize("scope", ["state", "define", "statements/write", "statements/read"])
def test_credential_without_profile_scope_gets_403_XAPI_00327(docs, make_credential, scope):
    """XAPI-00327, Communication 4.2: without `profile` or `all` (nor `all/read` for reads) -> 403."""
    docs.create("doc", {"a": 1})
    d = docs.with_client(docs.xapi.with_auth(make_credential(scope).auth))
    for resp in (d.get("doc"), d.list(), d.put("doc", {"x": 1}, headers={"If-Match": "*"}),
                 d.post("doc", {"x": 1}), d.delete("doc")):
        assert_error(resp, 403)
    assert docs.json("doc") == {"a": 1}


def test_activity_profiles_are_shared_between_xapi_versions(xapi1, xapi2):
    """Communication 3.3: the version header changes the protocol, not the data."""
    d1 = Docs(xapi1, ACTIVITY_PROFILE)
    d2 = d1.with_client(xapi2)
    d1.create("one", {"v": V1})
    d2.create("two", {"v": V2})
    assert d2.json("one") == {"v": V1} and d1.json("two") == {"v": V2}
    assert sorted(d1.ids()) == sorted(d2.ids()) == ["one", "two"]


def test_activity_profile_does_not_depend_on_statements_about_the_activity(docs, xapi):
    """Communication 2.2.s4.b2: no prior knowledge needed -- and a statement about the Activity
    afterwards does not touch its profile documents."""
    docs.create("doc", {"a": 1})
    xapi.store(statement(actor=agent(), object_={"objectType": "Activity", "id": docs.context["activityId"]}))
    assert docs.ids() == ["doc"]
    assert docs.json("doc") == {"a": 1}
