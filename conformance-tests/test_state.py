"""State Resource (Communication 2.3; XAPI-00187..00235; 2.0 checklist 4.1.6.2) and the Document
Resources rules it shares (Communication 2.2; XAPI-00182..00186; H.Communication2.2).

Concurrency (ETag, If-Match, If-None-Match, 409) is in test_concurrency.py.
"""

import time

import pytest

from document_support import JSON, STATE, Docs, sha1_hex
from xapi_support import (V1, V2, account_agent, activity_iri, agent, assert_error, describe,
                          is_json_content_type, json_body, mbox, new_id, parse_http_date, parse_ts,
                          statement)

# Values of the `agent` parameter that are not an Agent Object in JSON.
BAD_AGENTS = {
    "not JSON": "not JSON",
    "JSON true": "true",
    "JSON array": '["mailto:learner@trellis-conformance.example"]',
    "no identifier": '{"objectType": "Agent", "name": "Nobody"}',
    "mbox without mailto": '{"mbox": "learner@trellis-conformance.example"}',
    "two identifiers": '{"mbox": "mailto:a@trellis-conformance.example", "openid": "http://trellis-conformance.example/a"}',
    "account without homePage": '{"account": {"name": "learner"}}',
    "unknown objectType": '{"objectType": "Robot", "mbox": "mailto:a@trellis-conformance.example"}',
    "name not a string": '{"name": 42, "mbox": "mailto:a@trellis-conformance.example"}',
}


def fresh(value: str) -> str:
    """A bad agent value with a mailbox of its own, so that a server wrongly accepting it stores
    nothing another test could see."""
    return value.replace("a@trellis-conformance.example", f"{new_id()}@trellis-conformance.example")


BAD_REGISTRATIONS = ["not-a-uuid", "1234", "5c4a5b3a-2f0e-4d8e-9d0a-4c7f0b6d1e2"]
BAD_SINCE = ["yesterday", "2020-13-45T00:00:00Z", "1700000000"]
METHODS = ["GET", "PUT", "POST", "DELETE"]


@pytest.fixture
def docs(xapi):
    return Docs(xapi, STATE)


def server_now(xapi) -> str:
    """A timestamp from the server's clock: the `stored` value of a fresh statement."""
    s = statement()
    xapi.store(s)
    return xapi.fetch(s["id"])["stored"]


def _send(docs, method, doc_id="state-doc", params=None):
    body = {"answer": 42} if method in ("PUT", "POST") else None
    if body is None:
        return docs.request(method, doc_id, params=params)
    return docs.request(method, doc_id, body, params=params)


# ---------------------------------------------------------------------------
# single documents: PUT / POST / GET / DELETE
# ---------------------------------------------------------------------------

def test_put_stores_a_state_document_and_get_returns_it_XAPI_00230_00190_00188_00192(docs):
    """XAPI-00230, XAPI-00190, XAPI-00188, XAPI-00192, XAPI-00217, Communication 2.3.s3: PUT to
    base+/activities/state -> 204; GET with the stateId -> 200 and the document. The activity and
    agent are unknown to the LRS, which must not matter (Communication 2.2.s4.b2)."""
    doc = {"bookmark": "page-7", "score": 0.5, "nested": {"a": [1, 2, 3]}}
    resp = docs.put("resume", doc)
    assert resp.status_code == 204, describe(resp)
    assert resp.content == b"", describe(resp)
    got = docs.fetch("resume")
    assert json_body(got) == doc
    assert is_json_content_type(got.headers.get("Content-Type")), describe(got)


def test_state_document_is_returned_byte_for_byte_with_its_content_type(docs):
    """Communication 2.2.s2.table1.row3: document contents are arbitrary binary data; GET returns
    exactly the stored bytes with the Content-Type they were stored with."""
    blob = bytes(range(256)) * 4 + b"\x00\xff trailing"
    assert docs.put("binary", blob, "application/octet-stream").status_code == 204
    got = docs.fetch("binary")
    assert got.content == blob
    assert got.headers.get("Content-Type", "").split(";")[0].strip() == "application/octet-stream"
    text = "ünïcödé text, not JSON {".encode("utf-8")
    assert docs.put("text", text, "text/plain; charset=utf-8").status_code == 204
    got = docs.fetch("text")
    assert got.content == text
    assert got.headers.get("Content-Type", "").lower().startswith("text/plain"), describe(got)


def test_json_state_document_is_not_reformatted(docs):
    """Communication 2.2.s2: a PUT stores the document as sent; JSON whitespace and key order
    survive the round trip."""
    raw = b'{ "z" : 1,\n  "a" : [ 1 , 2 ] }'
    assert docs.put("pretty", raw).status_code == 204
    assert docs.content("pretty") == raw


def test_put_replaces_the_whole_state_document(docs):
    """Communication 2.3.s3 (PUT stores the document): a second PUT replaces the first entirely;
    properties missing from it are gone (Communication 2.2.s8.b3)."""
    docs.create("doc", {"a": 1, "b": 2})
    docs.replace("doc", {"c": 3})
    assert docs.json("doc") == {"c": 3}


def test_get_of_a_missing_state_document_is_404(docs):
    """Communication 3.2.s2 (404 for a request targeting a specific document that does not exist)."""
    assert_error(docs.get("never-stored"), 404)


def test_state_document_ids_are_arbitrary_strings(docs):
    """Communication 2.3.s3.table1.row4 (stateId is a String), XAPI-00224..00228: ids with spaces,
    reserved URL characters and non-ASCII letters address their own documents and are listed
    verbatim."""
    ids = ["with space", "a/b?c=d&e#f", "ünïcödé-ıd", "x" * 200, "quote\"and'apostrophe"]
    for i, doc_id in enumerate(ids):
        assert docs.put(doc_id, {"n": i}).status_code == 204
    for i, doc_id in enumerate(ids):
        assert docs.json(doc_id) == {"n": i}, doc_id
    assert sorted(docs.ids()) == sorted(ids)


def test_post_creates_a_state_document_that_does_not_exist_XAPI_00233_00231_00189(docs):
    """XAPI-00233, XAPI-00231, XAPI-00189, Communication 2.2.s7: a POST for a document not in the
    LRS is treated as a PUT: 204 and the document is stored."""
    resp = docs.post("new-by-post", {"x": "foo"})
    assert resp.status_code == 204, describe(resp)
    assert docs.json("new-by-post") == {"x": "foo"}


def test_post_of_a_non_json_document_that_does_not_exist_stores_it(docs):
    """XAPI-00233, Communication 2.2.s7: POST of a new document is treated as a PUT, whatever its
    content type."""
    resp = docs.post("plain", b"just text", "text/plain")
    assert resp.status_code == 204, describe(resp)
    got = docs.fetch("plain")
    assert got.content == b"just text"
    assert got.headers.get("Content-Type", "").startswith("text/plain")


def test_post_merges_json_documents_XAPI_00234_00184(docs):
    """XAPI-00234, XAPI-00184, XAPI-00185, XAPI-00186, Communication 2.2.s7.b1-b3 (the spec's own
    example): posting {"x":"bash","z":"faz"} onto {"x":"foo","y":"bar"} gives
    {"x":"bash","y":"bar","z":"faz"}, and the response is 204 (2.2.s8.b2)."""
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


def test_post_with_charset_parameter_still_merges_XAPI_00234(docs):
    """XAPI-00234: `application/json; charset=utf-8` is application/json for the merge rule."""
    docs.create("charset", {"a": 1})
    resp = docs.post("charset", {"b": "ü"}, "application/json; charset=utf-8")
    assert resp.status_code == 204, describe(resp)
    assert docs.json("charset") == {"a": 1, "b": "ü"}


@pytest.mark.parametrize("content_type", ["text/plain", "application/octet-stream", None])
def test_post_of_non_json_onto_a_json_state_document_is_rejected_XAPI_00232_00229(docs, content_type):
    """XAPI-00232, XAPI-00229, XAPI-00182, Communication 2.2.s8.b1: if the posted document is not
    application/json the LRS responds 400 and does not update the stored document."""
    docs.create("json-doc", {"a": 1})
    before = docs.fetch("json-doc")
    resp = docs.post("json-doc", b'{"b": 2}', content_type)
    assert_error(resp, 400)
    after = docs.fetch("json-doc")
    assert (after.content, after.headers.get("ETag")) == (before.content, before.headers.get("ETag"))


def test_post_of_json_onto_a_non_json_state_document_is_rejected_XAPI_00232_00229(docs):
    """XAPI-00232, XAPI-00229, XAPI-00182, Communication 2.2.s8.b1: if the existing document is not
    application/json a JSON POST is rejected with 400 and the document is unchanged."""
    assert docs.put("text-doc", b"plain text", "text/plain").status_code == 204
    resp = docs.post("text-doc", {"a": 1})
    assert_error(resp, 400)
    got = docs.fetch("text-doc")
    assert got.content == b"plain text"
    assert got.headers.get("Content-Type", "").startswith("text/plain")


@pytest.mark.parametrize("stored", [b"[1, 2, 3]", b'"a string"', b"42", b"{not json"])
def test_post_onto_a_stored_json_document_that_is_not_an_object_is_rejected_XAPI_00229(docs, stored):
    """XAPI-00229, Communication 2.2.s8.b1: the stored document has Content-Type application/json
    but is not a JSON Object -> 400, and it is left as it was."""
    assert docs.put("not-object", stored, JSON).status_code == 204
    assert_error(docs.post("not-object", {"a": 1}), 400)
    assert docs.content("not-object") == stored


@pytest.mark.parametrize("posted", [b"[1, 2]", b'"text"', b"null", b"7"])
@pytest.mark.parametrize("existing", [True, False], ids=["existing", "new"])
def test_post_of_json_that_is_not_an_object_is_rejected_XAPI_00229(docs, posted, existing):
    """XAPI-00229, Communication 2.2.s8.b1: a posted application/json document that is not a JSON
    Object cannot be merged -> 400; nothing is changed or created."""
    if existing:
        docs.create("target", {"a": 1})
    assert_error(docs.post("target", posted), 400)
    if existing:
        assert docs.json("target") == {"a": 1}
    else:
        assert not docs.exists("target")


@pytest.mark.parametrize("existing", [True, False], ids=["existing", "new"])
def test_post_of_invalid_json_is_rejected_XAPI_00235(docs, existing):
    """XAPI-00235, XAPI-00182: a POST with Content-Type application/json whose body is not valid
    JSON is rejected with 400 and stores nothing."""
    if existing:
        docs.create("target", {"a": 1})
    assert_error(docs.post("target", b'{"a": 2, "b": '), 400)
    if existing:
        assert docs.json("target") == {"a": 1}
    else:
        assert not docs.exists("target")


def test_delete_with_state_id_deletes_only_that_document_XAPI_00191_00187_00216(docs):
    """XAPI-00191, XAPI-00187, XAPI-00216, Communication 2.3.s3: DELETE with a stateId -> 204; that
    document is gone, its siblings remain."""
    docs.create("gone", {"a": 1})
    docs.create("kept", {"b": 2})
    resp = docs.delete("gone")
    assert resp.status_code == 204, describe(resp)
    assert resp.content == b""
    assert_error(docs.get("gone"), 404)
    assert docs.json("kept") == {"b": 2}
    assert docs.ids() == ["kept"]


def test_delete_of_a_missing_state_document_is_not_an_error(docs):
    """Communication 2.3.s3 (DELETE returns 204): deleting a document that is not there leaves the
    LRS as requested; Trellis answers 204."""
    assert docs.delete("never-stored").status_code == 204


# ---------------------------------------------------------------------------
# multiple documents: GET ids, since, DELETE all
# ---------------------------------------------------------------------------

def test_get_without_state_id_returns_the_array_of_ids_XAPI_00193(docs):
    """XAPI-00193, Communication 2.3.s4: GET without stateId -> 200 and a JSON array of the ids of
    the state documents in this context (Activity + Agent)."""
    for doc_id in ("one", "two", "three"):
        docs.create(doc_id, {"id": doc_id})
    resp = docs.list()
    assert resp.status_code == 200, describe(resp)
    assert is_json_content_type(resp.headers.get("Content-Type")), describe(resp)
    ids = json_body(resp)
    assert isinstance(ids, list)
    assert sorted(ids) == ["one", "three", "two"]


def test_listing_of_a_context_without_documents_is_an_empty_array_XAPI_00193(docs):
    """XAPI-00193: no documents in the context -> 200 and []."""
    assert docs.ids() == []


def test_state_documents_are_scoped_to_activity_and_agent_XAPI_00193(docs, xapi):
    """Communication 2.3.s2/s3: documents live in the context of Activity + Agent: another agent
    or another activity with the same stateId sees (and deletes) nothing of ours."""
    docs.create("shared-id", {"owner": "me"})
    other_agent = docs.with_context(agent=agent("Someone Else"))
    other_activity = docs.with_context(activityId=activity_iri("other"))
    for other in (other_agent, other_activity):
        assert_error(other.get("shared-id"), 404)
        assert other.ids() == []
        assert other.delete().status_code == 204
        assert other.put("shared-id", {"owner": "them"}).status_code == 204
    assert docs.json("shared-id") == {"owner": "me"}
    assert other_agent.json("shared-id") == {"owner": "them"}


def test_the_agent_is_identified_by_its_inverse_functional_identifier(docs):
    """Data 2.4.2.1 (an Agent is identified by its IFI): the same mailbox written with or without
    objectType and name addresses the same state documents."""
    box = mbox()
    a = docs.with_context(agent={"objectType": "Agent", "name": "Full Form", "mbox": box})
    b = docs.with_context(agent={"mbox": box})
    a.create("ifi", {"v": 1})
    assert b.json("ifi") == {"v": 1}
    assert b.ids() == ["ifi"]


@pytest.mark.parametrize("who", ["account", "openid", "mbox_sha1sum"])
def test_state_documents_work_for_every_kind_of_agent_identifier(xapi, who):
    """Communication 2.3.s3.table1.row2 (agent: an Agent Object): agents identified by account,
    openid or mbox_sha1sum have state documents too."""
    if who == "account":
        a = account_agent()
    elif who == "openid":
        a = {"openid": f"http://trellis-conformance.example/openid/{new_id()}"}
    else:
        a = {"mbox_sha1sum": sha1_hex(mbox().encode())}
    d = Docs(xapi, STATE, {"activityId": activity_iri(), "agent": a})
    assert d.put("doc", {"who": who}).status_code == 204
    assert d.json("doc") == {"who": who}
    assert d.ids() == ["doc"]


def test_since_returns_only_documents_stored_or_updated_after_it_XAPI_00195_00221_00222(docs, xapi):
    """XAPI-00195, XAPI-00221, XAPI-00222, Communication 2.3.s4.table1.row4: with `since` only ids
    of documents stored or updated after that timestamp (exclusive) are returned."""
    docs.create("before", {"n": 1})
    docs.create("updated-later", {"n": 2})
    time.sleep(0.05)
    since = server_now(xapi)
    time.sleep(0.05)
    docs.create("after", {"n": 3})
    assert docs.post("updated-later", {"m": 1}).status_code == 204
    assert sorted(docs.ids(since=since)) == ["after", "updated-later"]
    assert sorted(docs.ids(since="2000-01-01T00:00:00Z")) == ["after", "before", "updated-later"]
    assert docs.ids(since="2999-01-01T00:00:00.000Z") == []


@pytest.mark.parametrize("since", ["2000-01-01T00:00:00+00:00", "2000-01-01T01:00:00.123456+01:00",
                                   "2000-01-01T00:00:00.000Z"])
def test_since_accepts_timestamps_with_any_zone_and_precision_XAPI_00221(docs, since):
    """XAPI-00221, Data 4.5 (ISO 8601 timestamps): offsets and fractional seconds are valid."""
    docs.create("doc", {"a": 1})
    assert docs.ids(since=since) == ["doc"]


@pytest.mark.parametrize("since", BAD_SINCE)
def test_get_with_since_that_is_not_a_timestamp_is_rejected_XAPI_00204(docs, since):
    """XAPI-00204, Communication 2.3.s4.table1.row4: `since` that is not a Timestamp -> 400."""
    assert_error(docs.list(since=since), 400, "since")


@pytest.mark.parametrize("since", BAD_SINCE + ["2000-01-01T00:00:00Z"])
def test_delete_with_since_is_rejected_and_deletes_nothing_XAPI_00205(docs, since):
    """XAPI-00205, XAPI-00324, Communication 2.3.s5 (the multiple-document DELETE takes activityId,
    agent and registration only; the ADL suite notes "no 'since' property with DELETE in the State
    Resource"), Communication 3.2.s2.b1: a DELETE with `since` is rejected with 400 and nothing is
    deleted.  (XAPI-00223, "can process a DELETE request with since", contradicts the spec's
    table and is not tested by ADL.)"""
    docs.create("doc", {"a": 1})
    assert_error(docs.request("DELETE", params=docs.params(since=since)), 400)
    assert docs.ids() == ["doc"]


def test_delete_without_state_id_deletes_every_document_of_the_context_XAPI_00194(docs):
    """XAPI-00194, Communication 2.3.s5: DELETE without stateId -> 204 and all state documents of
    this Activity + Agent are deleted; documents of other contexts remain."""
    other = docs.with_context(agent=agent("Neighbour"))
    for doc_id in ("a", "b", "c"):
        docs.create(doc_id, {"id": doc_id})
    other.create("a", {"id": "other"})
    resp = docs.delete()
    assert resp.status_code == 204, describe(resp)
    assert docs.ids() == []
    for doc_id in ("a", "b", "c"):
        assert_error(docs.get(doc_id), 404)
    assert other.json("a") == {"id": "other"}


# ---------------------------------------------------------------------------
# registration
# ---------------------------------------------------------------------------

def test_registration_selects_a_separate_document_XAPI_00218_00220_00227(docs):
    """XAPI-00218, XAPI-00220, XAPI-00227, Communication 2.3.s3.table1.row3: PUT, POST and GET with
    `registration` work on the document of that registration, distinct from the one without."""
    reg1, reg2 = new_id(), new_id()
    d1, d2 = docs.with_context(registration=reg1), docs.with_context(registration=reg2)
    assert d1.put("progress", {"reg": 1}).status_code == 204
    assert d2.post("progress", {"reg": 2}).status_code == 204
    assert docs.put("progress", {"reg": None}).status_code == 204
    assert d1.post("progress", {"more": True}).status_code == 204
    assert d1.json("progress") == {"reg": 1, "more": True}
    assert d2.json("progress") == {"reg": 2}
    assert docs.json("progress") == {"reg": None}
    assert_error(docs.with_context(registration=new_id()).get("progress"), 404)


def test_registration_is_compared_as_a_uuid_regardless_of_case(docs):
    """Data 4.4 (UUID): the registration is a UUID value; its upper-case spelling names the same
    registration."""
    reg = new_id()
    docs.with_context(registration=reg).put("doc", {"a": 1})
    assert docs.with_context(registration=reg.upper()).json("doc") == {"a": 1}


def test_listing_with_registration_returns_only_that_registrations_ids_XAPI_00220(docs):
    """XAPI-00220, Communication 2.3.s4 (Activity + Agent [+ registration if specified]): with
    `registration` only that registration's ids are listed; without it, every registration's."""
    reg1, reg2 = new_id(), new_id()
    docs.with_context(registration=reg1).create("r1-doc", {"a": 1})
    docs.with_context(registration=reg2).create("r2-doc", {"a": 2})
    docs.create("no-reg-doc", {"a": 3})
    assert docs.with_context(registration=reg1).ids() == ["r1-doc"]
    assert docs.with_context(registration=reg2).ids() == ["r2-doc"]
    assert docs.with_context(registration=new_id()).ids() == []
    assert sorted(docs.ids()) == ["no-reg-doc", "r1-doc", "r2-doc"]


def test_delete_with_registration_deletes_only_that_registrations_documents_XAPI_00219(docs):
    """XAPI-00219, Communication 2.3.s5: DELETE (all) with `registration` removes only that
    registration's documents; DELETE of one stateId with `registration` removes only that one."""
    reg1, reg2 = new_id(), new_id()
    d1, d2 = docs.with_context(registration=reg1), docs.with_context(registration=reg2)
    d1.create("x", {"a": 1})
    d1.create("y", {"a": 1})
    d2.create("x", {"a": 2})
    docs.create("x", {"a": 0})
    assert d2.delete("x").status_code == 204
    assert_error(d2.get("x"), 404)
    assert d1.json("x") == {"a": 1} and docs.json("x") == {"a": 0}
    assert d1.delete().status_code == 204
    assert d1.ids() == []
    assert docs.json("x") == {"a": 0}


def test_delete_without_registration_deletes_all_registrations_XAPI_00194(docs):
    """XAPI-00194, Communication 2.3.s5 (Deletes all state data for this context: Activity + Agent
    [+ registration if specified]): without `registration` every registration's documents go."""
    docs.with_context(registration=new_id()).create("x", {"a": 1})
    docs.with_context(registration=new_id()).create("y", {"a": 2})
    docs.create("z", {"a": 3})
    assert docs.delete().status_code == 204
    assert docs.ids() == []


@pytest.mark.parametrize("registration", BAD_REGISTRATIONS)
@pytest.mark.parametrize("method", METHODS)
def test_registration_that_is_not_a_uuid_is_rejected_XAPI_00200_00201_00202_00203(docs, method, registration):
    """XAPI-00200 (DELETE), XAPI-00201 (GET), XAPI-00202 (POST), XAPI-00203 (PUT), XAPI-00182:
    `registration` that is not a UUID -> 400, and nothing is stored."""
    resp = _send(docs, method, params=docs.params("state-doc", registration=registration))
    assert_error(resp, 400, "registration")
    assert docs.ids() == []


# ---------------------------------------------------------------------------
# parameter validation
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("method", METHODS)
def test_request_without_activity_id_is_rejected_XAPI_00207_00208_00209_00210(docs, method):
    """XAPI-00207 (DELETE), XAPI-00208 (GET), XAPI-00209 (POST), XAPI-00210 (PUT),
    Communication 2.3.s3.table1.row1: activityId is required -> 400."""
    params = docs.params("state-doc")
    del params["activityId"]
    assert_error(_send(docs, method, params=params), 400, "activityId")
    assert docs.ids() == []


@pytest.mark.parametrize("method", METHODS)
def test_request_without_agent_is_rejected_XAPI_00212_00213_00214_00215(docs, method):
    """XAPI-00212 (DELETE), XAPI-00213 (GET), XAPI-00214 (POST), XAPI-00215 (PUT),
    Communication 2.3.s3.table1.row2: agent is required -> 400."""
    params = docs.params("state-doc")
    del params["agent"]
    assert_error(_send(docs, method, params=params), 400, "agent")
    assert docs.ids() == []


@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_write_without_state_id_is_rejected_XAPI_00206_00211(docs, method):
    """XAPI-00206 (PUT), XAPI-00211 (POST), Communication 2.3.s3.table1.row4: stateId is required
    to store a document -> 400."""
    assert_error(_send(docs, method, doc_id=None, params=docs.params()), 400, "stateId")
    assert docs.ids() == []


@pytest.mark.parametrize("bad", list(BAD_AGENTS), ids=list(BAD_AGENTS))
@pytest.mark.parametrize("method", METHODS)
def test_agent_that_is_not_an_agent_object_in_json_is_rejected_XAPI_00196_00197_00198_00199(
        docs, method, bad):
    """XAPI-00196 (DELETE), XAPI-00197 (GET), XAPI-00198 (POST), XAPI-00199 (PUT), XAPI-00182,
    Communication 2.3.s3.table1.row2 (agent: Agent Object, JSON): -> 400, nothing stored."""
    resp = _send(docs, method, params=docs.params("state-doc", agent=fresh(BAD_AGENTS[bad])))
    assert_error(resp, 400, "agent")
    assert docs.ids() == []


@pytest.mark.parametrize("value", ["not an iri", "", "www.example.com/no-scheme"])
@pytest.mark.parametrize("method", METHODS)
def test_activity_id_that_is_not_an_iri_is_rejected(docs, method, value):
    """Communication 2.3.s3.table1.row1 (activityId: Activity id, an IRI), Data 4.2 -> 400."""
    resp = _send(docs, method, params=docs.params("state-doc", activityId=value))
    assert_error(resp, 400, "activityId")


@pytest.mark.parametrize("param", ["foo", "profileId", "StateId", "stateid", "ActivityId", "Agent",
                                   "Registration"])
@pytest.mark.parametrize("method", METHODS)
def test_unknown_or_wrongly_cased_parameter_is_rejected_XAPI_00324_00325(docs, method, param):
    """XAPI-00324, XAPI-00325, Communication 3.2.s2.b1/s3.b8: a parameter the resource does not
    define, or a defined one spelt with different case, -> 400; nothing is stored."""
    extra = new_id() if param.lower() == "registration" else "value"
    resp = _send(docs, method, params=docs.params("state-doc", **{param: extra}))
    assert_error(resp, 400)
    assert docs.ids() == []


@pytest.mark.parametrize("method", METHODS)
def test_request_without_version_header_is_rejected_XAPI_00321_00331(docs, method):
    """XAPI-00321, XAPI-00331, Communication 3.3.s3.b4.1: document requests need
    X-Experience-API-Version -> 400 without it, and nothing is stored."""
    body = {"a": 1}
    if method in ("PUT", "POST"):
        resp = docs.request(method, "state-doc", body, version=None)
    else:
        resp = docs.request(method, "state-doc", version=None)
    assert_error(resp, 400)
    assert docs.ids() == []


@pytest.mark.slow
@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_state_document_larger_than_the_limit_is_rejected_with_413_XAPI_00328(docs, server, method):
    """XAPI-00328, Communication 3.2.s3.b11 (413 when the request exceeds the LRS's size limit,
    Trellis --max-body-bytes): nothing is stored."""
    body = b'{"blob": "' + b"x" * (server.max_body_bytes + 1024) + b'"}'
    resp = docs.request(method, "big", body)
    assert resp.status_code == 413, describe(resp)
    assert docs.ids() == []


def test_state_document_just_under_the_limit_is_accepted(docs, server):
    """Communication 3.2.s3.b16 (limits must not reject reasonable requests): a document of a few
    hundred KiB, well under --max-body-bytes, is stored whole."""
    size = min(server.max_body_bytes // 2, 512 * 1024)
    blob = b"y" * size
    assert docs.put("big-ok", blob, "application/octet-stream").status_code == 204
    assert docs.content("big-ok") == blob


# ---------------------------------------------------------------------------
# Last-Modified, HEAD
# ---------------------------------------------------------------------------

def test_get_of_a_state_document_has_last_modified_that_moves_on_update(docs, xapi):
    """Communication 2.2.s6.b1, 2.0 checklist 4.1.6.2 ("The LRS shall include a Last-Modified
    header"; "Updates the Last-Modified value when the corresponding document is updated")."""
    before = server_now(xapi)
    docs.create("lm", {"a": 1})
    first = docs.fetch("lm").headers.get("Last-Modified")
    assert first, "GET of a state document lacks Last-Modified"
    first_dt = parse_http_date(first)
    assert abs((first_dt - parse_ts(before).replace(microsecond=0)).total_seconds()) <= 2
    time.sleep(1.1)
    assert docs.post("lm", {"b": 2}).status_code == 204
    second = parse_http_date(docs.fetch("lm").headers["Last-Modified"])
    assert second > first_dt, f"Last-Modified did not move: {first} -> {second}"


def test_listing_state_ids_has_last_modified_of_the_newest_document(docs):
    """Communication 2.2.s6.b2 (SHOULD*): when returning multiple documents the LRS includes a
    Last-Modified header with the time the most recently modified of them was modified."""
    docs.create("a", {"a": 1})
    time.sleep(1.1)
    docs.create("b", {"b": 1})
    newest = parse_http_date(docs.fetch("b").headers["Last-Modified"])
    resp = docs.list()
    assert resp.status_code == 200, describe(resp)
    lm = resp.headers.get("Last-Modified")
    assert lm, f"listing of state ids lacks Last-Modified\n{describe(resp)}"
    assert parse_http_date(lm) == newest


@pytest.mark.parametrize("case", ["single", "list", "missing", "bad agent"])
def test_head_responds_like_get_without_a_body_XAPI_00125_00126(docs, case):
    """XAPI-00125, XAPI-00126, Communication 1.1 ("should succeed HEAD activities state with no
    body"): HEAD gets GET's status and headers, without the body."""
    docs.create("doc", {"a": 1})
    kwargs = {}
    doc_id = {"single": "doc", "list": None, "missing": "nope", "bad agent": "doc"}[case]
    if case == "bad agent":
        kwargs["agent"] = "not json"
    g_status, g_headers, g_body = docs.raw("GET", doc_id, **kwargs)
    h_status, h_headers, h_body = docs.raw("HEAD", doc_id, **kwargs)
    assert h_status == g_status, (h_status, g_status)
    assert h_body == b"", f"HEAD returned a body: {h_body[:200]!r}"
    assert g_body, "GET should have had a body to omit"
    for name in ("content-type", "etag", "last-modified", "x-experience-api-version"):
        assert h_headers.get(name) == g_headers.get(name), (name, h_headers.get(name), g_headers.get(name))


def test_head_without_version_header_is_rejected_like_get_XAPI_00125_00331(docs):
    """XAPI-00125 with XAPI-00331: HEAD without X-Experience-API-Version -> 400, no body."""
    status, _, body = docs.raw("HEAD", "doc", with_version=False)
    assert status == 400
    assert body == b""


# ---------------------------------------------------------------------------
# authorisation (Communication 4.2 scopes)
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("scope", ["state", "all"])
def test_state_scope_grants_every_state_operation(docs, make_credential, scope):
    """Communication 4.2 (scope `state`: read/write state data, limited to Activities and Agents
    associated with the current token; `all`): PUT, POST, GET, list and DELETE succeed."""
    d = docs.with_client(docs.xapi.with_auth(make_credential(scope).auth))
    assert d.put("doc", {"a": 1}).status_code == 204
    assert d.post("doc", {"b": 2}).status_code == 204
    assert d.json("doc") == {"a": 1, "b": 2}
    assert d.ids() == ["doc"]
    assert d.delete("doc").status_code == 204
    assert d.ids() == []


def test_all_read_scope_reads_state_but_cannot_change_it_XAPI_00327(docs, make_credential):
    """XAPI-00327, Communication 4.2 (`all/read`: unrestricted read access): GET works, PUT, POST
    and DELETE -> 403 and change nothing."""
    docs.create("doc", {"a": 1})
    d = docs.with_client(docs.xapi.with_auth(make_credential("all/read").auth))
    assert d.json("doc") == {"a": 1}
    assert d.ids() == ["doc"]
    assert_error(d.put("doc", {"x": 1}), 403)
    assert_error(d.post("doc", {"x": 1}), 403)
    assert_error(d.delete("doc"), 403)
    assert_error(d.delete(), 403)
    assert docs.json("doc") == {"a": 1}


@pytest.mark.parametrize("scope", ["profile", "define", "statements/write", "statements/read"])
def test_credential_without_state_scope_gets_403_XAPI_00327(docs, make_credential, scope):
    """XAPI-00327, Communication 3.2.s3.b10 / 4.2: a valid credential without `state` or `all`
    (nor `all/read` for reads) is refused with 403 and changes nothing."""
    docs.create("doc", {"a": 1})
    d = docs.with_client(docs.xapi.with_auth(make_credential(scope).auth))
    for resp in (d.get("doc"), d.list(), d.put("doc", {"x": 1}), d.post("doc", {"x": 1}),
                 d.delete("doc")):
        assert_error(resp, 403)
    assert docs.json("doc") == {"a": 1}


def test_state_request_without_credentials_is_401_XAPI_00334(docs):
    """XAPI-00334: no credentials -> 401, nothing stored."""
    assert_error(docs.put("doc", {"a": 1}, auth=None), 401)
    assert_error(docs.get("doc", auth=None), 401)
    assert docs.ids() == []


# ---------------------------------------------------------------------------
# versions
# ---------------------------------------------------------------------------

def test_state_documents_are_shared_between_xapi_versions(xapi1, xapi2):
    """Communication 3.3 (versioning concerns the request format, not the data): a document
    stored through 1.0.3 is read through 2.0.0 and vice versa."""
    d1 = Docs(xapi1, STATE)
    d2 = d1.with_client(xapi2)
    d1.create("from-1", {"v": V1})
    d2.create("from-2", {"v": V2})
    assert d2.json("from-1") == {"v": V1}
    assert d1.json("from-2") == {"v": V2}
    assert sorted(d1.ids()) == sorted(d2.ids()) == ["from-1", "from-2"]
