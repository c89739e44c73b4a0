"""Concurrency for the document resources (Communication 3.1 in 1.0.3; 2.0 checklist 4.1.4;
XAPI-00322): ETags on GET, If-Match / If-None-Match on PUT, POST and DELETE, 409 for a PUT without
a precondition, and real races between writers.

Every test runs for the State, Activity Profile and Agent Profile resources and for both xAPI
versions.
"""

import re

import pytest

from document_support import (DOC_RESOURCES, JSON, STATE, Docs, race, session_request, sha1_hex,
                              unquote_etag)
from xapi_support import V1, V2, assert_error, describe, json_body

QUOTED_SHA1 = re.compile(r'^"[0-9a-f]{40}"$')
ROUNDS = 5


@pytest.fixture(params=DOC_RESOURCES, ids=lambda r: r.key)
def resource(request):
    return request.param


@pytest.fixture
def docs(xapi, resource):
    return Docs(xapi, resource)


def quoted(tag: str) -> str:
    return f'"{tag}"'


def _unchanged(docs, doc_id, before):
    after = docs.fetch(doc_id)
    assert after.content == before.content, "the document was modified by a rejected request"
    assert after.headers.get("ETag") == before.headers.get("ETag")


# ---------------------------------------------------------------------------
# ETag on GET
# ---------------------------------------------------------------------------

def test_get_returns_an_etag_enclosed_in_quotes_XAPI_00322(docs):
    """XAPI-00322, Communication 3.1.s4.b1 and b4, 2.0 checklist 4.1.4 ("An LRS responding to a GET
    request SHALL add an ETag HTTP header"; "the Etag header must be enclosed in quotes")."""
    docs.create("doc", {"a": 1})
    resp = docs.fetch("doc")
    tag = resp.headers.get("ETag")
    assert tag, f"no ETag on GET\n{describe(resp)}"
    assert tag.startswith('"') and tag.endswith('"') and len(tag) > 2, f"ETag not quoted: {tag!r}"


@pytest.mark.parametrize("content,content_type", [
    (b'{"a": 1}', JSON), (b"\x00\x01binary\xff", "application/octet-stream"), ("ünïcödé".encode(), "text/plain"),
], ids=["json", "binary", "utf-8 text"])
def test_etag_is_the_lowercase_sha1_of_the_contents_XAPI_00322(docs, content, content_type):
    """XAPI-00322, Communication 3.1.s4.b2 (no transfer encoding: the ETag is the hexadecimal SHA-1
    digest of the contents, SHOULD be lowercase)."""
    docs.create("doc", content, content_type)
    tag = docs.fetch("doc").headers.get("ETag")
    assert tag == quoted(sha1_hex(content)), f"ETag {tag!r} != SHA-1 {sha1_hex(content)}"
    assert QUOTED_SHA1.match(tag)


def test_etag_follows_the_contents_through_updates_XAPI_00322(docs):
    """XAPI-00322, Communication 3.1.s4.b2: a new content gets a new ETag; a merge result's ETag is
    the SHA-1 of the merged document as stored."""
    docs.create("doc", {"a": 1})
    first = docs.etag("doc")
    docs.replace("doc", {"a": 2})
    second = docs.etag("doc")
    assert first != second
    assert docs.post("doc", {"b": 3}).status_code == 204
    merged = docs.fetch("doc")
    assert json_body(merged) == {"a": 2, "b": 3}
    assert unquote_etag(merged.headers["ETag"]) == sha1_hex(merged.content)


@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_successful_write_returns_the_new_etag(docs, method):
    """Trellis (RFC 7231 7.2/RFC 7232 2.3: a 204 may carry the new representation's ETag): the
    ETag on a successful PUT or POST is the one a following GET reports."""
    headers = {"If-None-Match": "*"} if method == "PUT" else {}
    resp = docs.request(method, "doc", {"a": 1}, headers=headers)
    assert resp.status_code == 204, describe(resp)
    tag = resp.headers.get("ETag")
    assert tag, f"no ETag on the {method} response\n{describe(resp)}"
    assert tag == docs.fetch("doc").headers.get("ETag")


# ---------------------------------------------------------------------------
# If-Match / If-None-Match on PUT (MUST, Communication 3.1.s4.b5/b6/b9/b10)
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("wrong", ['"1234"', "1234", quoted("0" * 40), quoted(sha1_hex(b"other"))])
def test_put_with_a_wrong_if_match_is_412_and_changes_nothing(docs, wrong):
    """2.0 checklist 4.1.4 ("Should reject a PUT request with a 412 Precondition Failed when using
    an incorrect ETag"; "Should not have modified the document"), Communication 3.1.s4.b5, b9,
    b10, XAPI-00322."""
    docs.create("doc", {"name": "original"})
    before = docs.fetch("doc")
    assert_error(docs.put("doc", {"name": "changed"}, headers={"If-Match": wrong}), 412)
    _unchanged(docs, "doc", before)


def test_put_with_the_current_etag_in_if_match_replaces_the_document(docs):
    """2.0 checklist 4.1.4 ("Should accept a PUT request with a correct ETag"; "Should have
    modified the document"), Communication 3.1.s4.b5."""
    tag = docs.create("doc", {"name": "original"})
    resp = docs.put("doc", {"name": "updated"}, headers={"If-Match": quoted(tag)})
    assert resp.status_code == 204, describe(resp)
    assert docs.json("doc") == {"name": "updated"}


def test_put_with_an_if_match_list_containing_the_current_etag_succeeds(docs):
    """Communication 3.1.s4.b5 (If-Match as in RFC 2616 14.24: a list of entity tags matches when
    any of them is current)."""
    tag = docs.create("doc", {"v": 1})
    header = f'"{"1" * 40}", {quoted(tag)}, "{"2" * 40}"'
    assert docs.put("doc", {"v": 2}, headers={"If-Match": header}).status_code == 204
    assert docs.json("doc") == {"v": 2}


def test_put_with_a_weak_etag_in_if_match_is_412(docs):
    """Communication 3.1.s4.b5 (handle If-Match "as described in RFC2616"), RFC 2616 14.24 / RFC
    7232 3.1: If-Match uses the strong comparison function, so a weak entity tag W/"<etag>" never
    matches -> 412, document unchanged."""
    tag = docs.create("doc", {"v": 1})
    before = docs.fetch("doc")
    assert_error(docs.put("doc", {"v": 2}, headers={"If-Match": f"W/{quoted(tag)}"}), 412)
    _unchanged(docs, "doc", before)


def test_put_with_if_match_star_replaces_an_existing_document(docs):
    """RFC 2616 14.24 (If-Match: * matches any current entity), Communication 3.1.s4.b5."""
    docs.create("doc", {"v": 1})
    assert docs.put("doc", {"v": 2}, headers={"If-Match": "*"}).status_code == 204
    assert docs.json("doc") == {"v": 2}


@pytest.mark.parametrize("header", ["*", quoted("a" * 40)])
def test_put_with_if_match_for_a_missing_document_is_412_and_creates_nothing(docs, header):
    """RFC 2616 14.24 (If-Match with no current entity fails), Communication 3.1.s4.b5, b9, b10."""
    assert_error(docs.put("doc", {"v": 1}, headers={"If-Match": header}), 412)
    assert not docs.exists("doc")


def test_put_with_if_none_match_star_on_an_existing_document_is_412_XAPI_00322(docs):
    """XAPI-00322, Communication 3.1.s4.b6, b9, b10 (If-None-Match: * detects a resource the client
    is not aware of)."""
    docs.create("doc", {"v": 1})
    before = docs.fetch("doc")
    assert_error(docs.put("doc", {"v": 2}, headers={"If-None-Match": "*"}), 412)
    _unchanged(docs, "doc", before)


def test_put_with_if_none_match_star_creates_a_missing_document(docs):
    """Communication 3.1.s4.b6: If-None-Match: * succeeds when there is no document."""
    resp = docs.put("doc", {"v": 1}, headers={"If-None-Match": "*"})
    assert resp.status_code == 204, describe(resp)
    assert docs.json("doc") == {"v": 1}


def test_put_with_if_none_match_listing_the_current_etag_is_412(docs):
    """RFC 2616 14.26 (If-None-Match with entity tags fails when one matches the current entity),
    Communication 3.1.s4.b6."""
    tag = docs.create("doc", {"v": 1})
    before = docs.fetch("doc")
    assert_error(docs.put("doc", {"v": 2}, headers={"If-None-Match": quoted(tag)}), 412)
    _unchanged(docs, "doc", before)


def test_put_with_if_none_match_listing_another_etag_succeeds(docs):
    """RFC 2616 14.26: If-None-Match with entity tags none of which is current -> the request is
    performed (the precondition header also counts as one for the 409 rule)."""
    docs.create("doc", {"v": 1})
    resp = docs.put("doc", {"v": 2}, headers={"If-None-Match": quoted(sha1_hex(b"something else"))})
    assert resp.status_code == 204, describe(resp)
    assert docs.json("doc") == {"v": 2}


# ---------------------------------------------------------------------------
# If-Match / If-None-Match on POST and DELETE (SHOULD*, Communication 3.1.s4.b7/b8/b11/b12)
# ---------------------------------------------------------------------------

def test_post_with_a_wrong_if_match_is_412_and_changes_nothing(docs):
    """2.0 checklist 4.1.4 ("Should reject a POST request with a 412 Precondition Failed when using
    an incorrect ETag"; "Should not have modified the document"), Communication 3.1.s4.b7, b11,
    b12."""
    docs.create("doc", {"name": "original"})
    before = docs.fetch("doc")
    assert_error(docs.post("doc", {"name": "changed"}, headers={"If-Match": '"1234"'}), 412)
    _unchanged(docs, "doc", before)


def test_post_with_the_current_etag_in_if_match_merges(docs):
    """2.0 checklist 4.1.4 ("Should accept a POST request with a correct ETag"; "Should have
    modified the document")."""
    tag = docs.create("doc", {"name": "original", "keep": 1})
    resp = docs.post("doc", {"name": "updated"}, headers={"If-Match": quoted(tag)})
    assert resp.status_code == 204, describe(resp)
    assert docs.json("doc") == {"name": "updated", "keep": 1}


def test_post_with_if_none_match_star_on_an_existing_document_is_412(docs):
    """Communication 3.1.s4.b8, b11, b12."""
    docs.create("doc", {"v": 1})
    before = docs.fetch("doc")
    assert_error(docs.post("doc", {"w": 2}, headers={"If-None-Match": "*"}), 412)
    _unchanged(docs, "doc", before)


def test_post_with_if_none_match_star_creates_a_missing_document(docs):
    """Communication 3.1.s4.b8: the precondition holds when nothing exists."""
    assert docs.post("doc", {"v": 1}, headers={"If-None-Match": "*"}).status_code == 204
    assert docs.json("doc") == {"v": 1}


def test_delete_with_a_wrong_if_match_is_412_and_deletes_nothing(docs):
    """2.0 checklist 4.1.4 ("Should reject a DELETE request with a 412 Precondition Failed when
    using an incorrect ETag"; "Should not have modified the document"), Communication 3.1.s4.b7."""
    docs.create("doc", {"v": 1})
    before = docs.fetch("doc")
    assert_error(docs.delete("doc", headers={"If-Match": '"1234"'}), 412)
    _unchanged(docs, "doc", before)


def test_delete_with_the_current_etag_in_if_match_deletes(docs):
    """2.0 checklist 4.1.4 ("Should accept a DELETE request with a correct ETag")."""
    tag = docs.create("doc", {"v": 1})
    resp = docs.delete("doc", headers={"If-Match": quoted(tag)})
    assert resp.status_code == 204, describe(resp)
    assert not docs.exists("doc")


def test_delete_without_precondition_headers_is_allowed(docs):
    """Communication 3.1.s3.b3 (clients SHOULD* send If-Match on DELETE -- not required)."""
    docs.create("doc", {"v": 1})
    assert docs.delete("doc").status_code == 204
    assert not docs.exists("doc")


def test_post_without_precondition_headers_merges(docs):
    """Communication 3.1.s3.b2 (clients SHOULD* send a precondition on POST -- not required), and
    the 409 rule applies to PUT only (3.1.s4.b13)."""
    docs.create("doc", {"a": 1})
    assert docs.post("doc", {"b": 2}).status_code == 204
    assert docs.json("doc") == {"a": 1, "b": 2}


# ---------------------------------------------------------------------------
# PUT without either header
# ---------------------------------------------------------------------------

def _expect_409(docs):
    docs.create("doc", {"name": "original"})
    before = docs.fetch("doc")
    resp = docs.put("doc", {"name": "clobbered"})
    body = assert_error(resp, 409)
    assert isinstance(body.get("error"), str) and body["error"], f"409 body needs an 'error'\n{describe(resp)}"
    assert "if-match" in body["message"].lower(), (
        f"the 409 message should tell the client to send If-Match with the current ETag\n{describe(resp)}")
    _unchanged(docs, "doc", before)


@pytest.mark.parametrize("resource", [r for r in DOC_RESOURCES if not r.is_state], ids=lambda r: r.key)
def test_put_of_an_existing_profile_without_precondition_is_409(docs):
    """Communication 3.1.s4.b13, b14, b15, 2.0 checklist 4.1.4 ("If a PUT request is received
    without either header for a resource that already exists": "Return 409 conflict", "Return
    error message explaining the situation", "Do not modify the resource")."""
    _expect_409(docs)


@pytest.mark.parametrize("resource", [STATE], ids=["state"])
def test_put_of_an_existing_state_document_without_precondition_is_409_in_2_0(xapi2, resource):
    """2.0 checklist 4.1.4 ("Concurrency for the Activity State Resource ... If a PUT request is
    received without either header for a resource that already exists: Return 409 conflict ...
    Do not modify the resource")."""
    _expect_409(Docs(xapi2, resource))


@pytest.mark.parametrize("resource", [STATE], ids=["state"])
def test_put_of_an_existing_state_document_without_precondition_overwrites_in_1_0_3(xapi1, resource):
    """xAPI 1.0.3 Communication 3.1.s3 ("The State Resource will permit PUT, POST and DELETE
    requests without concurrency headers, since state conflicts are unlikely")."""
    docs = Docs(xapi1, resource)
    docs.create("doc", {"v": 1})
    resp = docs.put("doc", {"v": 2})
    assert resp.status_code == 204, describe(resp)
    assert docs.json("doc") == {"v": 2}


@pytest.mark.parametrize("resource", [STATE], ids=["state"])
def test_put_of_a_new_state_document_needs_no_precondition(docs):
    """Communication 3.1.s3 (State PUT needs no concurrency headers) and 3.1.s4.b13 (the 409 rule
    is for documents that already exist)."""
    resp = docs.put("doc", {"v": 1})
    assert resp.status_code == 204, describe(resp)
    assert docs.json("doc") == {"v": 1}


@pytest.mark.parametrize("resource", [r for r in DOC_RESOURCES if not r.is_state], ids=lambda r: r.key)
def test_put_of_a_new_profile_without_precondition_is_accepted_in_2_0(xapi2, resource):
    """2.0 checklist 4.1.6.5/4.1.6.6 ("accepts PUT requests ... passes with 204 no content"): a
    first PUT creates the profile document."""
    docs = Docs(xapi2, resource)
    resp = docs.put("doc", {"v": 1})
    assert resp.status_code == 204, describe(resp)
    assert docs.json("doc") == {"v": 1}


@pytest.mark.parametrize("resource", [r for r in DOC_RESOURCES if not r.is_state], ids=lambda r: r.key)
def test_put_of_a_new_profile_without_precondition_is_400_in_1_0_3(xapi1, resource):
    """xAPI 1.0.3 Communication 3.1.s3.b1 ("A Client making a PUT request to either the Agent
    Profile Resource or Activity Profile Resource MUST include the If-Match header or the
    If-None-Match header"); Trellis rejects the request with 400 and creates nothing."""
    docs = Docs(xapi1, resource)
    assert_error(docs.put("doc", {"v": 1}), 400)
    assert not docs.exists("doc")


# ---------------------------------------------------------------------------
# races: two writers, one ETag
# ---------------------------------------------------------------------------

def test_two_puts_with_the_same_if_match_exactly_one_wins_XAPI_00322(docs):
    """XAPI-00322, Communication 3.1.s1/s4.b5/b9/b10 (optimistic concurrency: a client must not
    overwrite changes it has not seen): two PUTs released together with the same If-Match -> one
    204 and one 412, and the document holds the winner's content."""
    origin = docs.xapi.server.origin + "/xapi/about"
    for round_ in range(ROUNDS):
        doc_id = f"race-{round_}"
        tag = docs.create(doc_id, {"writer": None})
        bodies = [{"writer": i, "round": round_} for i in range(2)]
        responses = race(2, lambda s, i: session_request(s, docs, "PUT", doc_id, bodies[i],
                                                         headers={"If-Match": quoted(tag)}), origin)
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [204, 412], [describe(r) for r in responses]
        winner = next(i for i, r in enumerate(responses) if r.status_code == 204)
        assert docs.json(doc_id) == bodies[winner]


def test_two_posts_with_the_same_if_match_exactly_one_wins(docs):
    """Communication 3.1.s4.b7/b11/b12: two POSTs with the same If-Match -> one merges (204), the
    other is refused (412) and its properties are absent."""
    origin = docs.xapi.server.origin + "/xapi/about"
    for round_ in range(ROUNDS):
        doc_id = f"race-{round_}"
        tag = docs.create(doc_id, {"base": True})
        responses = race(2, lambda s, i: session_request(s, docs, "POST", doc_id, {f"k{i}": i},
                                                         headers={"If-Match": quoted(tag)}), origin)
        assert sorted(r.status_code for r in responses) == [204, 412], [describe(r) for r in responses]
        winner = next(i for i, r in enumerate(responses) if r.status_code == 204)
        assert docs.json(doc_id) == {"base": True, f"k{winner}": winner}


def test_two_creates_with_if_none_match_star_exactly_one_wins(docs):
    """Communication 3.1.s4.b6/b9: two PUTs with If-None-Match: * for the same new document -> one
    creates it (204), the other gets 412."""
    origin = docs.xapi.server.origin + "/xapi/about"
    for round_ in range(ROUNDS):
        doc_id = f"create-{round_}"
        bodies = [{"creator": i} for i in range(2)]
        responses = race(2, lambda s, i: session_request(s, docs, "PUT", doc_id, bodies[i],
                                                         headers={"If-None-Match": "*"}), origin)
        assert sorted(r.status_code for r in responses) == [204, 412], [describe(r) for r in responses]
        winner = next(i for i, r in enumerate(responses) if r.status_code == 204)
        assert docs.json(doc_id) == bodies[winner]


def test_concurrent_merges_lose_no_update(docs):
    """Communication 2.2.s7 (each POST merges into the existing document): eight POSTs of distinct
    properties sent at once all end up in the document."""
    origin = docs.xapi.server.origin + "/xapi/about"
    docs.create("merge", {"start": 0})
    n = 8
    responses = race(n, lambda s, i: session_request(s, docs, "POST", "merge", {f"p{i}": i}), origin)
    assert all(r.status_code == 204 for r in responses), [describe(r) for r in responses]
    expected = {"start": 0, **{f"p{i}": i for i in range(n)}}
    assert docs.json("merge") == expected


def test_versions_share_etags(xapi1, xapi2, resource):
    """Communication 3.3 / 3.1: the ETag read through one version is valid for a conditional write
    through the other."""
    d1 = Docs(xapi1, resource)
    d2 = d1.with_client(xapi2)
    tag = d1.create("doc", {"v": V1})
    assert d2.put("doc", {"v": V2}, headers={"If-Match": quoted(tag)}).status_code == 204
    assert d1.json("doc") == {"v": V2}
