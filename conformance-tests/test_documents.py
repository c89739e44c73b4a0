"""The Document Resources rules the State, Activity Profile and Agent Profile Resources share
(Communication 2.2 to 2.7; XAPI-00182..00314; 2.0 checklist 4.1.6.2, 4.1.6.5, 4.1.6.6), written once
and run for each resource (and each xAPI version). Every docstring names the requirement of each
resource it checks. What only one resource does is in test_state.py, test_activity_profile.py and
test_agent_profile.py; concurrency (ETag, If-Match, If-None-Match, 409) is in test_concurrency.py.
"""

import pytest

from document_support import (ACTIVITY_RESOURCES, AGENT_RESOURCES, BAD_SINCE, DOC_RESOURCES, JSON, METHODS,
                              Docs, resource_id, server_now, sha1_hex, wait_for_a_later_second)
from xapi_support import (V1, V2, account_agent, activity_iri, agent, assert_error, assert_head_like_get, describe,
                          is_json_content_type, json_body, mbox, new_id, parse_http_date, parse_ts)


@pytest.fixture(params=DOC_RESOURCES, ids=resource_id)
def resource(request):
    return request.param


@pytest.fixture
def docs(xapi, resource):
    return Docs(xapi, resource)


def other_value(param: str) -> object:
    """A valid value of a context parameter other than the one of a fresh context."""
    return activity_iri("other") if param == "activityId" else agent("Someone Else")


# ---------------------------------------------------------------------------
# single documents: PUT / POST / GET / DELETE
# ---------------------------------------------------------------------------

def test_put_stores_a_document_and_get_returns_it(docs):
    """State: XAPI-00230, XAPI-00190, XAPI-00188, XAPI-00192, XAPI-00217, Communication 2.3.s3;
    Activity Profile: XAPI-00311, XAPI-00287, XAPI-00293, XAPI-00288, XAPI-00290, Communication
    2.7.s3; Agent Profile: XAPI-00282, XAPI-00273, XAPI-00259, XAPI-00269, XAPI-00274,
    Communication 2.6.s3: PUT -> 204 No Content; GET with the document id -> 200 and the document.
    The Activity and Agent are unknown to the LRS, which must not matter (Communication
    2.2.s4.b2)."""
    doc = {"bookmark": "page-7", "score": 0.5, "nested": {"a": [1, 2, 3]}}
    resp = docs.put("resume", doc, headers=docs.resource.create_headers)
    assert resp.status_code == 204, describe(resp)
    assert resp.content == b"", describe(resp)
    got = docs.fetch("resume")
    assert json_body(got) == doc
    assert is_json_content_type(got.headers.get("Content-Type")), describe(got)


@pytest.mark.parametrize("content_type,content", [
    ("application/octet-stream", bytes(range(256)) * 4 + b"\x00\xff trailing"),
    ("image/png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 2),
    ("text/plain; charset=utf-8", "ünïcödé text, not JSON {".encode("utf-8")),
], ids=["octet-stream", "png", "text"])
def test_document_is_returned_byte_for_byte_with_its_content_type(docs, content_type, content):
    """Communication 2.2.s2.table1.row3: document contents are arbitrary binary data; GET returns
    exactly the stored bytes with the Content-Type they were stored with."""
    docs.create("blob", content, content_type)
    got = docs.fetch("blob")
    assert got.content == content
    stored_type = got.headers.get("Content-Type", "").split(";")[0].strip().lower()
    assert stored_type == content_type.split(";")[0], describe(got)


def test_json_document_is_not_reformatted(docs):
    """Communication 2.2.s2: a PUT stores the document as sent; JSON whitespace and key order
    survive the round trip."""
    raw = b'{ "z" : 1,\n  "a" : [ 1 , 2 ] }'
    docs.create("pretty", raw)
    assert docs.content("pretty") == raw


def test_put_replaces_the_whole_document(docs):
    """Communication 2.3.s3, 2.6.s3, 2.7.s3 (PUT stores the document): a second PUT replaces the
    first entirely; properties missing from it are gone (Communication 2.2.s8.b3)."""
    docs.create("doc", {"a": 1, "b": 2})
    docs.replace("doc", {"c": 3})
    assert docs.json("doc") == {"c": 3}


def test_get_of_a_missing_document_is_404(docs):
    """Communication 3.2.s2 (404 Not Found for a request targeting a specific document that does
    not exist)."""
    assert_error(docs.get("never-stored"), 404)


def test_document_ids_are_arbitrary_strings(docs):
    """Communication 2.3.s3.table1.row4 (stateId is a String), XAPI-00224..00228; 2.6.s3.table1.row2
    and 2.7.s3.table1.row2 (profileId is a String): ids with spaces, reserved URL characters and
    non-ASCII letters address their own documents and are listed verbatim."""
    ids = ["with space", "a/b?c=d&e#f", "ünïcödé-ıd", "x" * 200, "quote\"and'apostrophe"]
    for i, doc_id in enumerate(ids):
        docs.create(doc_id, {"n": i})
    for i, doc_id in enumerate(ids):
        assert docs.json(doc_id) == {"n": i}, doc_id
    assert sorted(docs.ids()) == sorted(ids)


def test_documents_are_scoped_to_their_context(docs, resource):
    """Communication 2.3.s2/s3 (State: Activity + Agent), 2.6.s3 (Agent Profile: the Agent), 2.7.s3
    (Activity Profile: the Activity): the same document id in another context is another
    document; that context sees, and deletes, nothing of ours."""
    docs.create("shared-id", {"owner": "me"})
    for param in resource.context_params:
        other = docs.with_context(**{param: other_value(param)})
        assert_error(other.get("shared-id"), 404)
        assert other.ids() == []
        if resource.is_state:
            # Only State has a DELETE of every document of a context.
            assert other.delete().status_code == 204
        other.create("shared-id", {"owner": param})
        assert other.json("shared-id") == {"owner": param}
    assert docs.json("shared-id") == {"owner": "me"}


def test_post_creates_a_document_that_does_not_exist(docs):
    """State: XAPI-00233, XAPI-00231, XAPI-00189; Activity Profile: XAPI-00310, XAPI-00286,
    XAPI-00292, XAPI-00312; Agent Profile: XAPI-00280, XAPI-00272, XAPI-00283; Communication
    2.2.s7: a POST for a document not in the LRS is treated as a PUT -> 204 and the document is
    stored."""
    resp = docs.post("new-by-post", {"x": "foo"})
    assert resp.status_code == 204, describe(resp)
    assert docs.json("new-by-post") == {"x": "foo"}


def test_post_of_a_non_json_document_that_does_not_exist_stores_it(docs):
    """State: XAPI-00233; Activity Profile: XAPI-00312; Agent Profile: XAPI-00283; Communication
    2.2.s7: POST of a new document is treated as a PUT, whatever its content type."""
    resp = docs.post("plain", b"just text", "text/plain")
    assert resp.status_code == 204, describe(resp)
    got = docs.fetch("plain")
    assert got.content == b"just text"
    assert got.headers.get("Content-Type", "").startswith("text/plain")


def test_post_merges_json_documents(docs):
    """State: XAPI-00234; Activity Profile: XAPI-00308; Agent Profile: XAPI-00279; XAPI-00184,
    XAPI-00185, XAPI-00186, Communication 2.2.s7.b1-b3 (the spec's own example): posting
    {"x":"bash","z":"faz"} onto {"x":"foo","y":"bar"} gives {"x":"bash","y":"bar","z":"faz"}, and
    the response is 204 (2.2.s8.b2)."""
    docs.create("vars", {"x": "foo", "y": "bar"})
    resp = docs.post("vars", {"x": "bash", "z": "faz"})
    assert resp.status_code == 204, describe(resp)
    merged = docs.fetch("vars")
    assert json_body(merged) == {"x": "bash", "y": "bar", "z": "faz"}
    assert is_json_content_type(merged.headers.get("Content-Type")), describe(merged)


def test_post_merge_is_one_level_deep_XAPI_00183(docs):
    """XAPI-00183, Communication 2.2.s7 note: only top-level properties are merged; a nested object
    in the posted document replaces the stored one entirely."""
    docs.create("deep", {"a": {"x": 1, "y": 2}, "b": [1, 2], "c": "keep"})
    assert docs.post("deep", {"a": {"x": 3}, "b": [9]}).status_code == 204
    assert docs.json("deep") == {"a": {"x": 3}, "b": [9], "c": "keep"}


def test_post_merge_with_null_and_empty_values_sets_them(docs):
    """Communication 2.2.s7.b2: every property of the posted object is set on the stored one, even
    null, false, 0 and empty values; an empty posted object changes nothing."""
    docs.create("nulls", {"a": 1, "b": 2, "c": 3, "d": 4})
    assert docs.post("nulls", {"a": None, "b": False, "c": 0, "d": {}}).status_code == 204
    assert docs.json("nulls") == {"a": None, "b": False, "c": 0, "d": {}}
    assert docs.post("nulls", {}).status_code == 204
    assert docs.json("nulls") == {"a": None, "b": False, "c": 0, "d": {}}


def test_post_with_charset_parameter_still_merges(docs):
    """State: XAPI-00234; Activity Profile: XAPI-00308; Agent Profile: XAPI-00279:
    `application/json; charset=utf-8` is application/json for the merge rule."""
    docs.create("charset", {"a": 1})
    resp = docs.post("charset", {"b": "ü"}, "application/json; charset=utf-8")
    assert resp.status_code == 204, describe(resp)
    assert docs.json("charset") == {"a": 1, "b": "ü"}


@pytest.mark.parametrize("content_type", ["text/plain", "application/octet-stream", "application/xml",
                                          "application/x-www-form-urlencoded", None])
def test_post_of_non_json_onto_a_json_document_is_rejected(docs, content_type):
    """State: XAPI-00232, XAPI-00229; Activity Profile: XAPI-00309; Agent Profile: XAPI-00278;
    XAPI-00182, Communication 2.2.s8.b1: if the posted document is not application/json while the
    stored one is, the LRS responds 400 and does not update the stored document."""
    docs.create("json-doc", {"a": 1})
    before = docs.fetch("json-doc")
    assert_error(docs.post("json-doc", b'{"b": 2}', content_type), 400)
    after = docs.fetch("json-doc")
    assert (after.content, after.headers.get("ETag")) == (before.content, before.headers.get("ETag"))


def test_post_of_json_onto_a_non_json_document_is_rejected(docs):
    """State: XAPI-00232, XAPI-00229; Activity Profile: XAPI-00309; Agent Profile: XAPI-00278;
    XAPI-00182, Communication 2.2.s8.b1: if the existing document is not application/json a JSON
    POST is rejected with 400 and the document is unchanged."""
    docs.create("text-doc", b"plain text", "text/plain")
    assert_error(docs.post("text-doc", {"a": 1}), 400)
    got = docs.fetch("text-doc")
    assert got.content == b"plain text"
    assert got.headers.get("Content-Type", "").startswith("text/plain")


@pytest.mark.parametrize("stored", [b"[1, 2, 3]", b'"a string"', b"42", b"{not json"])
def test_post_onto_a_stored_json_document_that_is_not_an_object_is_rejected(docs, stored):
    """State: XAPI-00229; Activity Profile: XAPI-00313; Agent Profile: XAPI-00281; Communication
    2.2.s8.b1: the stored document has Content-Type application/json but is not a JSON Object ->
    400, and it is left as it was."""
    docs.create("not-object", stored, JSON)
    assert_error(docs.post("not-object", {"a": 1}), 400)
    assert docs.content("not-object") == stored


@pytest.mark.parametrize("posted", [b"[1, 2]", b'"text"', b"null", b"7", b"true"])
@pytest.mark.parametrize("existing", [True, False], ids=["existing", "new"])
def test_post_of_json_that_is_not_an_object_is_rejected(docs, posted, existing):
    """State: XAPI-00229; Activity Profile: XAPI-00313; Agent Profile: XAPI-00281; Communication
    2.2.s8.b1: a posted application/json document that is not a JSON Object cannot be merged ->
    400; nothing is changed or created."""
    if existing:
        docs.create("target", {"a": 1})
    assert_error(docs.post("target", posted), 400)
    if existing:
        assert docs.json("target") == {"a": 1}
    else:
        assert not docs.exists("target")


@pytest.mark.parametrize("body", [b'{"a": 2, "b": ', b'{"a": ', b"{'single': 'quotes'}"],
                         ids=["truncated", "cut", "single-quotes"])
@pytest.mark.parametrize("existing", [True, False], ids=["existing", "new"])
def test_post_of_invalid_json_is_rejected(docs, existing, body):
    """State: XAPI-00235; Activity Profile: XAPI-00314; Agent Profile: XAPI-00284; XAPI-00182: a
    POST with Content-Type application/json whose body is not valid JSON is rejected with 400 and
    creates or changes nothing."""
    if existing:
        docs.create("target", {"a": 1})
    assert_error(docs.post("target", body), 400)
    if existing:
        assert docs.json("target") == {"a": 1}
    else:
        assert not docs.exists("target")


def test_delete_with_a_document_id_deletes_only_that_document(docs):
    """State: XAPI-00191, XAPI-00187, XAPI-00216, Communication 2.3.s3; Activity Profile:
    XAPI-00285, XAPI-00291, Communication 2.7.s3; Agent Profile: XAPI-00271, Communication 2.6.s3:
    DELETE with the document id -> 204; that document is gone, its siblings remain."""
    docs.create("gone", {"a": 1})
    docs.create("kept", {"b": 2})
    resp = docs.delete("gone")
    assert resp.status_code == 204, describe(resp)
    assert resp.content == b""
    assert_error(docs.get("gone"), 404)
    assert docs.json("kept") == {"b": 2}
    assert docs.ids() == ["kept"]


def test_delete_of_a_missing_document_is_not_an_error(docs):
    """Communication 2.3.s3, 2.6.s3, 2.7.s3 (DELETE returns 204): deleting a document that is not
    there leaves the LRS as requested; Trellis answers 204."""
    assert docs.delete("never-stored").status_code == 204


# ---------------------------------------------------------------------------
# multiple documents: GET ids, since
# ---------------------------------------------------------------------------

def test_get_without_document_id_returns_the_array_of_ids(docs):
    """State: XAPI-00193, Communication 2.3.s4; Activity Profile: XAPI-00289, Communication 2.7.s4;
    Agent Profile: XAPI-00270, Communication 2.6.s4: GET without the document id -> 200 and a JSON
    array of the ids of the documents in this context ([] when there are none)."""
    assert docs.ids() == []
    for doc_id in ("one", "two", "three"):
        docs.create(doc_id, {"id": doc_id})
    resp = docs.list()
    assert resp.status_code == 200, describe(resp)
    assert is_json_content_type(resp.headers.get("Content-Type")), describe(resp)
    ids = json_body(resp)
    assert isinstance(ids, list)
    assert sorted(ids) == ["one", "three", "two"]


def test_since_returns_only_documents_stored_or_updated_after_it(docs, xapi):
    """State: XAPI-00195, XAPI-00221, XAPI-00222, Communication 2.3.s4.table1.row4; Activity
    Profile: XAPI-00303, XAPI-00294, Communication 2.7.s4.table1.row2; Agent Profile: XAPI-00268,
    XAPI-00275, Communication 2.6.s4.table1.row2: with `since` only ids of documents stored or
    updated after that timestamp (exclusive) are returned."""
    docs.create("before", {"n": 1})
    docs.create("updated-later", {"n": 2})
    # Two readings of the server's clock, each past the one before: `since` is then later than
    # the two modifications above whatever the precision of their times, and the next ones are
    # later than `since`.
    since = xapi.wait_past(xapi.server_now())
    xapi.wait_past(since)
    docs.create("after", {"n": 3})
    assert docs.post("updated-later", {"m": 1}).status_code == 204
    assert sorted(docs.ids(since=since)) == ["after", "updated-later"]
    assert sorted(docs.ids(since="2000-01-01T00:00:00Z")) == ["after", "before", "updated-later"]
    assert sorted(docs.ids(since="1999-12-31T23:59:59-05:00")) == ["after", "before", "updated-later"]
    assert docs.ids(since="2999-01-01T00:00:00.000Z") == []


@pytest.mark.parametrize("since", ["2000-01-01T00:00:00+00:00", "2000-01-01T01:00:00.123456+01:00",
                                   "2000-01-01T00:00:00.000Z"])
def test_since_accepts_timestamps_with_any_zone_and_precision(docs, since):
    """State: XAPI-00221; Data 4.5 (ISO 8601 timestamps): offsets and fractional seconds are
    valid."""
    docs.create("doc", {"a": 1})
    assert docs.ids(since=since) == ["doc"]


@pytest.mark.parametrize("since", BAD_SINCE)
def test_get_with_since_that_is_not_a_timestamp_is_rejected(docs, since):
    """State: XAPI-00204, Communication 2.3.s4.table1.row4; Activity Profile: XAPI-00295,
    Communication 2.7.s4.table1.row2; Agent Profile: XAPI-00260, Communication 2.6.s4.table1.row2:
    `since` that is not a Timestamp -> 400."""
    assert_error(docs.list(since=since), 400, "since")


# ---------------------------------------------------------------------------
# parameter validation
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("resource", ACTIVITY_RESOURCES, ids=resource_id)
@pytest.mark.parametrize("method", METHODS)
def test_request_without_activity_id_is_rejected(docs, method):
    """State: XAPI-00207 (DELETE), XAPI-00208 (GET), XAPI-00209 (POST), XAPI-00210 (PUT),
    Communication 2.3.s3.table1.row1; Activity Profile: XAPI-00296 (GET), XAPI-00297 (DELETE),
    XAPI-00298 (POST), XAPI-00299 (PUT), Communication 2.7.s3.table1.row1: activityId is required
    -> 400, and nothing is stored."""
    params = docs.params("doc")
    del params["activityId"]
    assert_error(docs.send(method, params=params), 400, "activityId")
    assert docs.ids() == []


@pytest.mark.parametrize("resource", AGENT_RESOURCES, ids=resource_id)
@pytest.mark.parametrize("method", METHODS)
def test_request_without_agent_is_rejected(docs, method):
    """State: XAPI-00212 (DELETE), XAPI-00213 (GET), XAPI-00214 (POST), XAPI-00215 (PUT),
    Communication 2.3.s3.table1.row2; Agent Profile: XAPI-00261 (GET), XAPI-00262 (DELETE),
    XAPI-00263 (POST), XAPI-00264 (PUT), Communication 2.6.s3.table1.row1: agent is required ->
    400, and nothing is stored."""
    params = docs.params("doc")
    del params["agent"]
    assert_error(docs.send(method, params=params), 400, "agent")
    assert docs.ids() == []


# (resource, method) pairs that need the document id: State's DELETE without stateId deletes
# every document of the context (test_state.py).
WRITES_NEEDING_AN_ID = [pytest.param(r, m, id=f"{r.key}-{m}") for r in DOC_RESOURCES
                        for m in (["PUT", "POST"] if r.is_state else ["PUT", "POST", "DELETE"])]


@pytest.mark.parametrize("resource,method", WRITES_NEEDING_AN_ID)
def test_write_without_document_id_is_rejected(docs, method):
    """State: XAPI-00206 (PUT), XAPI-00211 (POST), Communication 2.3.s3.table1.row4; Activity
    Profile: XAPI-00300 (DELETE), XAPI-00301 (POST), XAPI-00302 (PUT), Communication
    2.7.s3.table1.row2; Agent Profile: XAPI-00265 (DELETE), XAPI-00266 (POST), XAPI-00267 (PUT),
    Communication 2.6.s3.table1.row2: the document id is required except when listing -> 400;
    nothing is stored or deleted."""
    docs.create("survivor", {"a": 1})
    assert_error(docs.send(method, doc_id=None, params=docs.params()), 400, docs.resource.id_param)
    assert docs.ids() == ["survivor"]


# Values of the `agent` parameter that are not an Agent Object in JSON.
BAD_AGENTS = {
    "not JSON": "not JSON",
    "JSON true": "true",
    "JSON array of mailboxes": '["mailto:a@trellis-conformance.example"]',
    "JSON array of agents": '[{"mbox": "mailto:a@trellis-conformance.example"}]',
    "no identifier": '{"objectType": "Agent", "name": "Nobody"}',
    "mbox without mailto": '{"mbox": "a@trellis-conformance.example"}',
    "mbox and openid": '{"mbox": "mailto:a@trellis-conformance.example", "openid": '
                       '"http://trellis-conformance.example/a"}',
    "mbox and mbox_sha1sum": '{"mbox": "mailto:a@trellis-conformance.example", "mbox_sha1sum": "'
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


@pytest.mark.parametrize("resource", AGENT_RESOURCES, ids=resource_id)
@pytest.mark.parametrize("bad", list(BAD_AGENTS), ids=list(BAD_AGENTS))
@pytest.mark.parametrize("method", METHODS)
def test_agent_that_is_not_an_agent_object_in_json_is_rejected(docs, method, bad):
    """State: XAPI-00196 (DELETE), XAPI-00197 (GET), XAPI-00198 (POST), XAPI-00199 (PUT),
    Communication 2.3.s3.table1.row2; Agent Profile: XAPI-00255 (DELETE), XAPI-00256 (POST),
    XAPI-00257 (PUT), XAPI-00258 (GET), Communication 2.6.s3.table1.row1; XAPI-00182: agent must be
    an Agent Object in JSON -> 400, nothing stored."""
    resp = docs.send(method, params=docs.params("doc", agent=fresh(BAD_AGENTS[bad])))
    assert_error(resp, 400, "agent")
    assert docs.ids() == []


@pytest.mark.parametrize("resource", ACTIVITY_RESOURCES, ids=resource_id)
@pytest.mark.parametrize("value", ["not an iri", "", "www.example.com/no-scheme", "example.com/no-scheme"])
@pytest.mark.parametrize("method", METHODS)
def test_activity_id_that_is_not_an_iri_is_rejected(docs, method, value):
    """Communication 2.3.s3.table1.row1, 2.7.s3.table1.row1 (activityId: Activity id, an IRI),
    Data 4.2 -> 400."""
    assert_error(docs.send(method, params=docs.params("doc", activityId=value)), 400, "activityId")


# Parameters each resource does not define, or defines with another spelling.
FOREIGN_PARAMS = {
    "state": ["foo", "profileId", "StateId", "stateid", "ActivityId", "Agent", "Registration"],
    "activity_profile": ["foo", "stateId", "registration", "ProfileId", "profileid", "activityID"],
    "agent_profile": ["foo", "activityId", "stateId", "registration", "ProfileId", "AGENT"],
}


def foreign_value(param: str) -> object:
    """A value that would be valid for the parameter of that name, so only the name is wrong."""
    return {"registration": new_id(), "activityid": "http://trellis-conformance.example/a",
            "agent": agent("Foreign")}.get(param.lower(), "value")


@pytest.mark.parametrize("resource,param", [
    pytest.param(r, p, id=f"{r.key}-{p}") for r in DOC_RESOURCES for p in FOREIGN_PARAMS[r.key]])
@pytest.mark.parametrize("method", METHODS)
def test_unknown_or_wrongly_cased_parameter_is_rejected_XAPI_00324_00325(docs, method, param):
    """XAPI-00324, XAPI-00325, Communication 3.2.s2.b1/s3.b8: a parameter the resource does not
    define, or a defined one spelt with different case, -> 400; nothing is stored. (Activity
    Profile: XAPI-00304, it has no `agent` parameter, is in test_activity_profile.py.)"""
    assert_error(docs.send(method, params=docs.params("doc", **{param: foreign_value(param)})), 400)
    assert docs.ids() == []


@pytest.mark.parametrize("method", METHODS)
def test_request_without_version_header_is_rejected_XAPI_00321_00331(docs, method):
    """XAPI-00321, XAPI-00331, Communication 3.3.s3.b4.1: document requests need
    X-Experience-API-Version -> 400 without it, and nothing is stored."""
    assert_error(docs.send(method, version=None), 400)
    assert docs.ids() == []


@pytest.mark.slow
@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_document_larger_than_the_limit_is_rejected_with_413_XAPI_00328(docs, server, method):
    """XAPI-00328, Communication 3.2.s3.b11 (413 when the request exceeds the LRS's size limit,
    Trellis --max-body-bytes): nothing is stored."""
    body = b'{"blob": "' + b"x" * (server.max_body_bytes + 1024) + b'"}'
    resp = docs.request(method, "big", body, headers=docs.resource.create_headers)
    assert resp.status_code == 413, describe(resp)
    assert docs.ids() == []


def test_document_well_under_the_limit_is_accepted(docs, server):
    """Communication 3.2.s3.b16 (limits must not reject reasonable requests): a document of a few
    hundred KiB, well under --max-body-bytes, is stored whole."""
    size = min(server.max_body_bytes // 2, 512 * 1024)
    blob = b"y" * size
    docs.create("big-ok", blob, "application/octet-stream")
    assert docs.content("big-ok") == blob


# ---------------------------------------------------------------------------
# Last-Modified, HEAD
# ---------------------------------------------------------------------------

def test_get_of_a_document_has_last_modified_that_moves_on_update(docs, xapi):
    """Communication 2.2.s6.b1, 2.0 checklist 4.1.6.2 (State), 4.1.6.5 (Agent Profile), 4.1.6.6
    (Activity Profile): "The LRS shall include a Last-Modified header"; "Updates the
    Last-Modified value when the corresponding document is updated" (by POST and by PUT)."""
    before = server_now(xapi)
    docs.create("lm", {"a": 1})
    first = docs.fetch("lm").headers.get("Last-Modified")
    assert first, f"GET of a {docs.resource.label} document lacks Last-Modified"
    assert abs((parse_http_date(first) - parse_ts(before).replace(microsecond=0)).total_seconds()) <= 2
    wait_for_a_later_second(xapi, first)
    assert docs.post("lm", {"b": 2}).status_code == 204
    second = docs.fetch("lm").headers["Last-Modified"]
    assert parse_http_date(second) > parse_http_date(first), f"POST did not move it: {first} -> {second}"
    wait_for_a_later_second(xapi, second)
    docs.replace("lm", {"c": 3})
    third = docs.fetch("lm").headers["Last-Modified"]
    assert parse_http_date(third) > parse_http_date(second), f"PUT did not move it: {second} -> {third}"


def test_listing_ids_has_last_modified_of_the_newest_document(docs, xapi):
    """Communication 2.2.s6.b2 (SHOULD*): when returning multiple documents the LRS includes a
    Last-Modified header with the time the most recently modified of them was modified."""
    docs.create("a", {"a": 1})
    wait_for_a_later_second(xapi, docs.fetch("a").headers["Last-Modified"])
    docs.create("b", {"b": 1})
    newest = parse_http_date(docs.fetch("b").headers["Last-Modified"])
    resp = docs.list()
    assert resp.status_code == 200, describe(resp)
    lm = resp.headers.get("Last-Modified")
    assert lm, f"listing of {docs.resource.label} ids lacks Last-Modified\n{describe(resp)}"
    assert parse_http_date(lm) == newest


@pytest.mark.parametrize("case", ["single", "list", "missing", "bad parameter"])
def test_head_responds_like_get_without_a_body_XAPI_00125_00126(docs, resource, case):
    """XAPI-00125, XAPI-00126, Communication 1.1 ("should succeed HEAD activities state / agents
    profile / activities profile with no body"): HEAD gets GET's status and headers, without the
    body."""
    docs.create("doc", {"a": 1})
    doc_id = {"single": "doc", "list": None, "missing": "nope", "bad parameter": "doc"}[case]
    extra = {}
    if case == "bad parameter":
        extra = {"agent": "not json"} if "agent" in resource.context_params else {"activityId": "not an iri"}
    assert_head_like_get(docs.raw("GET", doc_id, **extra), docs.raw("HEAD", doc_id, **extra),
                         ("content-type", "etag", "last-modified", "x-experience-api-version"))


def test_head_without_version_header_is_rejected_like_get_XAPI_00125_00331(docs):
    """XAPI-00125 with XAPI-00331: HEAD without X-Experience-API-Version -> 400, no body."""
    status, _, body = docs.raw("HEAD", "doc", with_version=False)
    assert status == 400
    assert body == b""


# ---------------------------------------------------------------------------
# authorisation (Communication 4.2 scopes)
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("scope", ["own", "all"])
def test_the_resources_scope_grants_every_operation(docs, make_credential, scope):
    """Communication 4.2 (scope `state`: read/write state data; `profile`: read/write profile
    data; `all`): PUT, POST, GET, list and DELETE succeed."""
    d = docs.with_client(docs.xapi.with_auth(make_credential(
        docs.resource.scope if scope == "own" else scope).auth))
    assert d.put("doc", {"a": 1}, headers=docs.resource.create_headers).status_code == 204
    assert d.post("doc", {"b": 2}).status_code == 204
    assert d.json("doc") == {"a": 1, "b": 2}
    assert d.ids() == ["doc"]
    assert d.delete("doc").status_code == 204
    assert d.ids() == []


def test_all_read_scope_reads_documents_but_cannot_change_them_XAPI_00327(docs, make_credential):
    """XAPI-00327, Communication 4.2 (`all/read`: unrestricted read access): GET and list work;
    PUT, POST and DELETE -> 403 and change nothing."""
    docs.create("doc", {"a": 1})
    d = docs.with_client(docs.xapi.with_auth(make_credential("all/read").auth))
    assert d.json("doc") == {"a": 1}
    assert d.ids() == ["doc"]
    assert_error(d.put("doc", {"x": 1}, headers={"If-Match": "*"}), 403)
    assert_error(d.post("doc", {"x": 1}), 403)
    assert_error(d.delete("doc"), 403)
    if docs.resource.is_state:
        assert_error(d.delete(), 403)
    assert docs.json("doc") == {"a": 1}


@pytest.mark.parametrize("scope", ["other", "define", "statements/write", "statements/read",
                                   "statements/read/mine"])
def test_credential_without_the_resources_scope_gets_403_XAPI_00327(docs, make_credential, scope):
    """XAPI-00327, Communication 3.2.s3.b10 / 4.2: a valid credential without the resource's scope
    (`state` or `profile`) or `all` (nor `all/read` for reads) -- here the other document scope,
    `define` or a statements scope -- is refused with 403 and changes nothing."""
    if scope == "other":
        scope = "profile" if docs.resource.is_state else "state"
    docs.create("doc", {"a": 1})
    d = docs.with_client(docs.xapi.with_auth(make_credential(scope).auth))
    for resp in (d.get("doc"), d.list(), d.put("doc", {"x": 1}, headers={"If-Match": "*"}),
                 d.post("doc", {"x": 1}), d.delete("doc")):
        assert_error(resp, 403)
    assert docs.json("doc") == {"a": 1}


def test_request_without_credentials_is_401_XAPI_00334(docs):
    """XAPI-00334: no credentials -> 401, nothing stored."""
    assert_error(docs.put("doc", {"a": 1}, headers=docs.resource.create_headers, auth=None), 401)
    assert_error(docs.get("doc", auth=None), 401)
    assert docs.ids() == []


# ---------------------------------------------------------------------------
# versions, agents
# ---------------------------------------------------------------------------

def test_documents_are_shared_between_xapi_versions(xapi1, xapi2, resource):
    """Communication 3.3 (versioning concerns the request format, not the data): a document
    stored through 1.0.3 is read through 2.0.0 and vice versa."""
    d1 = Docs(xapi1, resource)
    d2 = d1.with_client(xapi2)
    d1.create("from-1", {"v": V1})
    d2.create("from-2", {"v": V2})
    assert d2.json("from-1") == {"v": V1}
    assert d1.json("from-2") == {"v": V2}
    assert sorted(d1.ids()) == sorted(d2.ids()) == ["from-1", "from-2"]


@pytest.mark.parametrize("resource", AGENT_RESOURCES, ids=resource_id)
def test_the_agent_is_identified_by_its_inverse_functional_identifier(docs):
    """Data 2.4.2.1 (an Agent is identified by its IFI): the same mailbox written with or without
    objectType and name addresses the same documents."""
    box = mbox()
    full = docs.with_context(agent={"objectType": "Agent", "name": "Full Form", "mbox": box})
    bare = docs.with_context(agent={"mbox": box})
    full.create("ifi", {"v": 1})
    assert bare.json("ifi") == {"v": 1}
    assert bare.ids() == ["ifi"]


@pytest.mark.parametrize("resource", AGENT_RESOURCES, ids=resource_id)
@pytest.mark.parametrize("who", ["account", "openid", "mbox_sha1sum"])
def test_documents_work_for_every_kind_of_agent_identifier(docs, who):
    """Communication 2.3.s3.table1.row2, 2.6.s3.table1.row1 (agent: an Agent Object): agents
    identified by account, openid or mbox_sha1sum have documents too."""
    if who == "account":
        a = account_agent()
    elif who == "openid":
        a = {"openid": f"http://trellis-conformance.example/openid/{new_id()}"}
    else:
        a = {"mbox_sha1sum": sha1_hex(mbox().encode())}
    d = docs.with_context(agent=a)
    assert d.put("doc", {"who": who}, headers=docs.resource.create_headers).status_code == 204
    assert d.json("doc") == {"who": who}
    assert d.ids() == ["doc"]
