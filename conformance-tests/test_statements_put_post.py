"""Statement Resource writes: PUT / POST (Communication 2.1.1, 2.1.2), conflicts, batches,
LRS-assigned properties (Data 2.4.1, 2.4.7-2.4.10), size limits (Communication 3.2)."""

import pytest

from xapi_support import (RFC3339_MS_UTC, UUID_RE, activity, activity_iri, agent,
                          anonymous_group, assert_error, deep, describe, float32, json_body, new_id,
                          parse_ts, statement, substatement, utcnow, verb, verb_iri)

ASSIGNED = ("stored", "authority", "version", "timestamp")


def strip_assigned(s: dict, keep: tuple = ()) -> dict:
    return {k: val for k, val in s.items() if k not in ASSIGNED or k in keep}


# ---------------------------------------------------------------------------
# PUT
# ---------------------------------------------------------------------------

def test_put_with_statement_id_stores_the_statement_and_returns_204_XAPI_00143_00144(xapi):
    """XAPI-00143, XAPI-00144: PUT with a statementId parameter stores it and answers 204 No Content."""
    s = statement()
    resp = xapi.put(s)
    assert resp.status_code == 204, describe(resp)
    assert resp.content == b"", "204 must not carry a body"
    got = xapi.fetch(s["id"])
    assert strip_assigned(got) == s


def test_put_without_statement_id_is_rejected_XAPI_00145(xapi):
    """XAPI-00145: PUT without a statementId parameter is rejected with 400."""
    s = statement()
    resp = xapi.put(s, statement_id=None)
    assert_error(resp, 400, path="statementId")
    assert xapi.get({"statementId": s["id"]}).status_code == 404


@pytest.mark.parametrize("bad", ["not-a-uuid", "", "1234", "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"])
def test_put_with_invalid_statement_id_parameter_is_rejected_XAPI_00012(xapi, bad):
    """XAPI-00012: parameter values must validate like the same type in statements (UUID)."""
    s = statement(with_id=False)
    resp = xapi.put(s, statement_id=bad)
    assert_error(resp, 400, path="statementId")


def test_put_whose_statement_id_differs_from_the_body_id_is_rejected(xapi):
    """Communication 2.1.1.s3.b3: where provided, the statement's id MUST match statementId; a
    mismatching request is invalid (400) and stores nothing."""
    s = statement()
    other = new_id()
    resp = xapi.put(s, statement_id=other)
    assert_error(resp, 400)
    assert xapi.get({"statementId": s["id"]}).status_code == 404
    assert xapi.get({"statementId": other}).status_code == 404


def test_put_without_id_in_body_stores_under_the_statement_id_parameter_XAPI_00144(xapi):
    """XAPI-00144, Communication 2.1.1: the statement is stored with the id given by statementId."""
    s = statement(with_id=False)
    sid = new_id()
    resp = xapi.put(s, statement_id=sid)
    assert resp.status_code == 204, describe(resp)
    assert xapi.fetch(sid)["id"] == sid


def test_put_with_an_array_body_is_rejected(xapi):
    """Communication 2.1.1: PUT stores a single Statement; an array is an invalid argument (400)."""
    s = statement()
    resp = xapi.request("PUT", "statements", params={"statementId": s["id"]}, json_=[s])
    assert_error(resp, 400)
    assert xapi.get({"statementId": s["id"]}).status_code == 404


# ---------------------------------------------------------------------------
# POST
# ---------------------------------------------------------------------------

def test_post_single_statement_returns_200_and_its_id_XAPI_00146_00147(xapi):
    """XAPI-00146, XAPI-00147: POST answers 200 with the array of statement ids."""
    s = statement()
    resp = xapi.post(s)
    assert resp.status_code == 200, describe(resp)
    assert json_body(resp) == [s["id"]]
    assert strip_assigned(xapi.fetch(s["id"])) == s


def test_post_without_id_gets_a_server_generated_uuid_XAPI_00026(xapi):
    """XAPI-00026: the LRS generates the id if none is provided."""
    s = statement(with_id=False)
    ids = xapi.store(s)
    assert len(ids) == 1 and UUID_RE.match(ids[0]), ids
    got = xapi.fetch(ids[0])
    assert got["id"] == ids[0]
    assert got["actor"] == s["actor"] and got["object"] == s["object"]


def test_post_batch_returns_ids_in_request_order_XAPI_00146(xapi):
    """XAPI-00146, Communication 2.1.2: array of ids in the same order as the stored statements,
    including generated ids for statements sent without one."""
    act = activity_iri()
    batch = [statement(object_=activity(act)), statement(object_=activity(act), with_id=False),
             statement(object_=activity(act))]
    ids = xapi.store(batch)
    assert len(ids) == 3
    assert ids[0] == batch[0]["id"] and ids[2] == batch[2]["id"]
    assert UUID_RE.match(ids[1]) and ids[1] not in (ids[0], ids[2])
    for sid, sent in zip(ids, batch):
        got = xapi.fetch(sid)
        assert got["actor"] == sent["actor"]
    assert sorted(xapi.query_ids(activity=act)) == sorted(ids)


def test_post_empty_object_body_is_rejected_XAPI_00001(xapi):
    """XAPI-00001/00003: {} lacks actor, verb and object."""
    assert_error(xapi.post({}), 400)


# ---------------------------------------------------------------------------
# conflicts and immutability
# ---------------------------------------------------------------------------

def test_putting_the_same_statement_again_returns_204_and_changes_nothing_XAPI_00142(xapi):
    """XAPI-00142, Communication 2.1.1.s2.b2: re-sending a matching statement is accepted with 204
    and must not modify the stored statement (stored/authority unchanged)."""
    s = statement()
    assert xapi.put(s).status_code == 204
    before = xapi.fetch(s["id"])
    resp = xapi.put(deep(s))
    assert resp.status_code == 204, describe(resp)
    assert xapi.fetch(s["id"]) == before


def test_posting_the_same_statement_again_returns_200_and_changes_nothing_XAPI_00142(xapi):
    """XAPI-00142, Communication 2.1.2.s2.b4: re-POSTing a matching statement returns 200 with
    its id and leaves the stored statement untouched."""
    s = statement()
    xapi.store(s)
    before = xapi.fetch(s["id"])
    resp = xapi.post(deep(s))
    assert resp.status_code == 200, describe(resp)
    assert json_body(resp) == [s["id"]]
    assert xapi.fetch(s["id"]) == before


def test_resending_a_retrieved_statement_with_lrs_assigned_properties_is_not_a_conflict_XAPI_00142(xapi):
    """XAPI-00142, Data 2.3.1.s9.b1: differences caused by LRS-assigned properties (stored,
    authority, version, timestamp) are ignored when comparing statements."""
    s = statement()
    xapi.store(s)
    before = xapi.fetch(s["id"])
    resp = xapi.post(deep(before))
    assert resp.status_code == 200, describe(resp)
    assert xapi.fetch(s["id"]) == before


def test_putting_a_different_statement_with_an_existing_id_returns_409_XAPI_00142(xapi):
    """XAPI-00142, Communication 2.1.1.s2.b3: same id, different content -> 409 Conflict; the
    original is retrieved unchanged afterwards."""
    s = statement()
    assert xapi.put(s).status_code == 204
    before = xapi.fetch(s["id"])
    changed = deep(s)
    changed["verb"] = verb(verb_iri("changed"), {"en-US": "changed"})
    assert_error(xapi.put(changed), 409)
    assert xapi.fetch(s["id"]) == before


def test_posting_a_different_statement_with_an_existing_id_returns_409_XAPI_00142(xapi):
    """XAPI-00142, Communication 2.1.2.s2.b5: same id, different content -> 409 Conflict."""
    s = statement()
    xapi.store(s)
    before = xapi.fetch(s["id"])
    changed = deep(s)
    changed["actor"] = agent("Somebody Else")
    assert_error(xapi.post(changed), 409)
    assert xapi.fetch(s["id"]) == before


def test_batch_containing_a_conflicting_statement_is_rejected_whole_XAPI_00142_00326(xapi):
    """XAPI-00142, XAPI-00326, Communication 3.2.s3.b9: a batch with one conflicting statement
    is rejected (409) and none of its other statements are stored."""
    existing = statement()
    xapi.store(existing)
    fresh = statement()
    conflicting = deep(existing)
    conflicting["result"] = {"success": True}
    resp = xapi.post([fresh, conflicting])
    assert_error(resp, 409)
    assert xapi.get({"statementId": fresh["id"]}).status_code == 404
    assert "result" not in xapi.fetch(existing["id"])


@pytest.mark.parametrize("identical", [True, False], ids=["identical-copies", "different-content"])
def test_batch_using_the_same_id_twice_is_rejected_with_400(xapi, identical):
    """Communication 2.1.1.s2.b4 / 2.1.2.s2.b6 (2.0 suite: "should reject a batch of two or more
    statements where the same ID is used more than once"): 400 and nothing stored."""
    a = statement()
    b = deep(a) if identical else statement()
    b["id"] = a["id"]
    other = statement()
    resp = xapi.post([a, other, b])
    assert_error(resp, 400)
    assert xapi.get({"statementId": a["id"]}).status_code == 404
    assert xapi.get({"statementId": other["id"]}).status_code == 404


def test_batch_with_one_invalid_statement_is_rejected_and_nothing_is_stored_XAPI_00326(xapi):
    """XAPI-00326: any rejected statement rejects the whole batch (400), the LRS state is as
    before; the error path points into the failing element ($[1]...)."""
    good = statement()
    bad = statement()
    bad["verb"] = {"id": "not an iri"}
    resp = xapi.post([good, bad, statement()])
    body = assert_error(resp, 400, path="verb")
    assert body["path"].startswith("$[1]"), body
    assert xapi.get({"statementId": good["id"]}).status_code == 404
    assert xapi.get({"statementId": bad["id"]}).status_code == 404


# ---------------------------------------------------------------------------
# LRS-assigned properties
# ---------------------------------------------------------------------------

def test_stored_is_assigned_as_an_rfc3339_millisecond_utc_timestamp_XAPI_00023_00097(xapi):
    """XAPI-00023, XAPI-00097: the LRS assigns stored on receipt (RFC 3339, ms, UTC per the
    Trellis contract) close to the time of the request."""
    t0 = utcnow()
    s = statement()
    xapi.store(s)
    t1 = utcnow()
    stored = xapi.fetch(s["id"])["stored"]
    assert RFC3339_MS_UTC.match(stored), stored
    when = parse_ts(stored)
    assert (t0 - when).total_seconds() < 60 and (when - t1).total_seconds() < 60, (t0, stored, t1)


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_statement_sent_with_a_stored_property_is_accepted_and_stored_is_reassigned_XAPI_00097(xapi, method):
    """XAPI-00097 (2.0 suite: "An LRS MUST accept statements with the stored property"), Data
    2.4.8: stored is set by the LRS, so a client-sent value is replaced."""
    s = statement(stored="2001-01-01T00:00:00.000Z")
    resp = xapi.post(s) if method == "POST" else xapi.put(s)
    assert resp.status_code in (200, 204), describe(resp)
    got = xapi.fetch(s["id"])
    assert parse_ts(got["stored"]).year >= 2020, got["stored"]


def test_missing_timestamp_is_set_to_stored(xapi):
    """Data 2.4.7 (1.0.3 SHOULD*, 9274.1.1 shall; 2.0 suite): timestamp = stored when absent."""
    s = statement()
    xapi.store(s)
    got = xapi.fetch(s["id"])
    assert got.get("timestamp") == got["stored"], got


@pytest.mark.parametrize("sent,expected", [
    ("2023-05-04T12:00:00-05:00", "2023-05-04T17:00:00.000Z"),
    ("2023-05-04T17:00:00Z", "2023-05-04T17:00:00.000Z"),
    ("2023-05-04T19:30:00.250+02:30", "2023-05-04T17:00:00.250Z"),
])
def test_timestamp_is_kept_as_the_same_instant_and_returned_in_utc(xapi, sent, expected):
    """Data 2.3.1.b4 / 4.5 (9274.1.1: the LRS shall convert timestamps to UTC rather than reject
    them): the instant is preserved; Trellis returns RFC 3339 UTC with milliseconds."""
    s = statement(timestamp=sent)
    xapi.store(s)
    assert xapi.fetch(s["id"])["timestamp"] == expected


def test_timestamp_keeps_at_least_millisecond_precision_XAPI_00122(xapi):
    """XAPI-00122: a timestamp with more than 3 fractional digits is accepted and returned with
    at least millisecond precision (truncated or rounded)."""
    s = statement(timestamp="2022-02-02T02:02:02.123456Z")
    xapi.store(s)
    got = xapi.fetch(s["id"])["timestamp"]
    assert got.startswith("2022-02-02T02:02:02.123"), got
    assert abs((parse_ts(got) - parse_ts("2022-02-02T02:02:02.123456Z")).total_seconds()) < 0.001


def test_authority_is_set_to_the_credential_agent_XAPI_00099(xapi, server, expected_homepages):
    """XAPI-00099, Data 2.4.9.s3.b2/b3: the LRS populates authority from the credentials
    (Trellis: Agent with account {homePage: server base, name: credential key})."""
    s = statement()
    xapi.store(s)
    auth = xapi.fetch(s["id"])["authority"]
    assert auth["objectType"] == "Agent", auth
    assert auth["account"]["name"] == server.admin.key, auth
    assert auth["account"]["homePage"] in expected_homepages, auth
    assert not ({"mbox", "mbox_sha1sum", "openid"} & set(auth)), auth


def test_client_supplied_authority_is_overwritten_by_the_credential_agent(xapi, server):
    """Data 2.4.9.s3.b4 (SHOULD overwrite; Trellis contract: always sets authority)."""
    s = statement(authority=agent("Forged Authority"))
    xapi.store(s)
    auth = xapi.fetch(s["id"])["authority"]
    assert auth != s["authority"], auth
    assert auth["account"]["name"] == server.admin.key, auth


def test_missing_statement_version_is_set_to_1_0_0_under_1_0_3_XAPI_00332(xapi1):
    """Data 2.4.10.s3.b3: statements lacking a version are returned with version 1.0.0."""
    s = statement()
    xapi1.store(s)
    assert xapi1.fetch(s["id"])["version"] == "1.0.0"


def test_missing_statement_version_is_set_to_2_0_0_under_2_0_0(xapi2):
    """9274.1.1 (version property): statements stored through the 2.0.0 API without a version are
    returned with version 2.0.0."""
    s = statement()
    xapi2.store(s)
    assert xapi2.fetch(s["id"])["version"] == "2.0.0"


@pytest.mark.parametrize("version", ["1.0.0", "1.0.3", "1.0"])
def test_statement_version_is_retained_as_accepted_XAPI_00332(xapi, version):
    """XAPI-00332, Data 2.4.10.s3.b1/b3: any 1.0.x version is accepted and retained."""
    s = statement(version=version)
    xapi.store(s)
    assert xapi.fetch(s["id"])["version"] == version


def test_statement_version_2_0_0_is_retained_under_2_0_0_XAPI_00332(xapi2):
    """XAPI-00332 (2.0 suite): a statement sent with version 2.0.0 keeps it."""
    s = statement(version="2.0.0")
    xapi2.store(s)
    assert xapi2.fetch(s["id"])["version"] == "2.0.0"


def test_statement_version_2_0_0_is_rejected_under_1_0_3_XAPI_00101(xapi1):
    """XAPI-00101, Data 2.4.10.s3.b2: under 1.0.3 a version not starting with 1.0. is rejected."""
    s = statement(version="2.0.0")
    assert_error(xapi1.post(s), 400, path="version")


def test_newer_statement_is_not_converted_to_an_older_format_XAPI_00330(xapi):
    """XAPI-00330, Communication 3.3.s5.b1: statements are not rewritten based on version; the
    retrieved statement equals the sent one apart from LRS-assigned properties."""
    s = statement(version="1.0.0", result={"score": {"scaled": 0.5}, "success": True},
                  context={"registration": new_id(), "language": "en-GB"})
    xapi.store(s)
    got = xapi.fetch(s["id"])
    assert strip_assigned(got, keep=("version",)) == s


def test_32_bit_floats_are_stored_with_ieee754_precision_XAPI_00002(xapi):
    """XAPI-00002: numbers keep at least IEEE 754 single precision."""
    values = {"scaled": 0.3333333432674408, "raw": 12345.6787109375, "min": -98765.4296875,
              "max": 123456.7890625}
    s = statement(result={"score": values})
    xapi.store(s)
    got = xapi.fetch(s["id"])["result"]["score"]
    for k, val in values.items():
        assert float32(float(got[k])) == float32(val), (k, got[k], val)


def test_full_statement_round_trips_exactly_apart_from_lrs_assigned_properties_XAPI_00170(xapi):
    """XAPI-00170, Data 2.3.1: a statement using most properties is returned unchanged (format
    exact is the default) apart from stored/authority/version."""
    parent = activity_iri("parent")
    s = statement(
        actor=anonymous_group(agent("Member A"), agent("Member B"), name="Team"),
        verb_=verb(verb_iri("answered"), {"en-US": "answered", "fr-FR": "a répondu"}),
        object_=activity(activity_iri("question"), {
            "name": {"en-US": "Question"}, "description": {"en-US": "Which?"},
            "type": "http://adlnet.gov/expapi/activities/cmi.interaction",
            "moreInfo": "http://trellis-conformance.example/more",
            "interactionType": "choice", "correctResponsesPattern": ["a[,]b"],
            "choices": [{"id": "a", "description": {"en-US": "A"}},
                        {"id": "b", "description": {"en-US": "B"}}],
            "extensions": {"http://trellis-conformance.example/ext/a": {"nested": [1, 2, {"x": None}]}},
        }),
        result={"score": {"scaled": 0.75, "raw": 3, "min": 0, "max": 4}, "success": True,
                "completion": True, "response": "a[,]b", "duration": "PT1M30.5S",
                "extensions": {"http://trellis-conformance.example/ext/r": "value"}},
        context={"registration": new_id(), "instructor": agent("Instructor"),
                 "team": anonymous_group(agent("T1")),
                 "contextActivities": {"parent": [activity(parent)],
                                       "grouping": [activity()], "category": [activity()],
                                       "other": [activity()]},
                 "revision": "r1", "platform": "pytest", "language": "en-US",
                 "statement": {"objectType": "StatementRef", "id": new_id()},
                 "extensions": {"http://trellis-conformance.example/ext/c": 42}},
        timestamp="2024-01-02T03:04:05.678Z",
    )
    xapi.store(s)
    got = xapi.fetch(s["id"])
    assert strip_assigned(got, keep=("timestamp",)) == s


def test_substatement_round_trips_exactly(xapi):
    """Data 2.4.4.3: a SubStatement object is stored and returned as sent."""
    s = statement(object_=substatement(context={"contextActivities": {"parent": [activity()]}},
                                       result={"success": False}, timestamp="2030-01-01T00:00:00.000Z"))
    xapi.store(s)
    assert strip_assigned(xapi.fetch(s["id"])) == s


@pytest.mark.parametrize("where", ["statement", "substatement"])
def test_single_context_activity_object_is_returned_as_an_array_XAPI_00096(xapi, where):
    """XAPI-00096, Data 2.4.6.2.s4.b3: a single ContextActivity sent as an object comes back in
    an array."""
    parent = activity(activity_iri("parent"))
    ctx = {"contextActivities": {"parent": parent, "grouping": [activity()]}}
    if where == "statement":
        s = statement(context=ctx)
    else:
        s = statement(object_=substatement(context=ctx))
    xapi.store(s)
    got = xapi.fetch(s["id"])
    node = got["context"] if where == "statement" else got["object"]["context"]
    assert node["contextActivities"]["parent"] == [parent], node
    assert isinstance(node["contextActivities"]["grouping"], list)


# ---------------------------------------------------------------------------
# size limits (413)
# ---------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_request_larger_than_the_configured_limit_is_rejected_with_413_XAPI_00328(xapi, server, method):
    """XAPI-00328, Communication 3.2.s3.b11: a statement larger than the configured maximum
    (Trellis --max-body-bytes) is rejected with 413 and not stored."""
    s = statement(result={"response": "x" * (server.max_body_bytes + 1024)})
    resp = xapi.post(s) if method == "POST" else xapi.put(s)
    assert resp.status_code == 413, describe(resp)
    assert xapi.get({"statementId": s["id"]}).status_code == 404


def test_batch_with_more_statements_than_the_batch_limit_is_rejected_with_413_XAPI_00328(xapi, server):
    """XAPI-00328 (Trellis --max-batch): a batch exceeding the statement-count limit -> 413, and
    nothing from it is stored."""
    act = activity_iri()
    batch = [statement(object_=activity(act)) for _ in range(server.max_batch + 1)]
    resp = xapi.post(batch)
    assert_error(resp, 413)
    assert xapi.query(activity=act)["statements"] == []


def test_batch_of_exactly_the_batch_limit_is_accepted(xapi, server):
    """Communication 3.2.s3.b16: limits must not reject reasonable requests -- a batch of exactly
    --max-batch statements is accepted."""
    act = activity_iri()
    batch = [statement(object_=activity(act)) for _ in range(server.max_batch)]
    assert len(xapi.store(batch)) == server.max_batch
