"""What only the State Resource (Communication 2.3; XAPI-00187..00235; 2.0 checklist 4.1.6.2)
does: the DELETE of every document of a context, and `registration`.

The rules it shares with the Activity Profile and Agent Profile Resources (PUT/POST/GET/DELETE,
merge, ids, since, parameters, the agent parameter, Last-Modified, HEAD, scopes) are in
test_documents.py, which runs each of them for this resource too; concurrency (ETag, If-Match,
If-None-Match, 409) is in test_concurrency.py.
"""

import pytest

from document_support import BAD_SINCE, METHODS, STATE, Docs
from xapi_support import agent, assert_error, describe, new_id

BAD_REGISTRATIONS = ["not-a-uuid", "1234", "5c4a5b3a-2f0e-4d8e-9d0a-4c7f0b6d1e2"]


@pytest.fixture
def docs(xapi):
    return Docs(xapi, STATE)


# ---------------------------------------------------------------------------
# DELETE of every document of a context
# ---------------------------------------------------------------------------

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
    resp = docs.send(method, params=docs.params("doc", registration=registration))
    assert_error(resp, 400, "registration")
    assert docs.ids() == []
