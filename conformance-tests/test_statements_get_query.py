"""Statement Resource reads: GET single statements and StatementResult queries with every
parameter (Communication 2.1.3, 2.1.4; Data 2.5)."""

import hashlib

import pytest

from xapi_support import (V1, activity, activity_iri, agent, anonymous_group, assert_error,
                          describe, identified_group, json_body, mbox, new_id, parse_ts,
                          statement, statement_ref, substatement, verb, verb_iri, TEST_DOMAIN)


def ids_of(result):
    return [s["id"] for s in result["statements"]]


# ---------------------------------------------------------------------------
# single statement retrieval
# ---------------------------------------------------------------------------

def test_get_by_statement_id_returns_that_single_statement_XAPI_00156_00158(xapi):
    """XAPI-00156, XAPI-00158: GET with statementId -> 200 and the single Statement (not a
    StatementResult)."""
    s = statement()
    xapi.store(s)
    got = xapi.fetch(s["id"])
    assert got["id"] == s["id"]
    assert "statements" not in got
    assert got["actor"] == s["actor"] and got["verb"] == s["verb"] and got["object"] == s["object"]


def test_get_by_unknown_statement_id_returns_404(xapi):
    """Communication 3.2.s2.b4: 404 for the single-statement GET of an unknown id."""
    assert_error(xapi.get({"statementId": new_id()}), 404)


def test_get_by_unknown_voided_statement_id_returns_404(xapi):
    """Communication 3.2.s2.b4: 404 for voidedStatementId of an unknown id."""
    assert_error(xapi.get({"voidedStatementId": new_id()}), 404)


@pytest.mark.parametrize("param", ["statementId", "voidedStatementId"])
@pytest.mark.parametrize("bad", ["not-a-uuid", "12345", "{" + "a" * 8 + "}"])
def test_get_with_malformed_statement_id_parameter_is_rejected_XAPI_00012(xapi, param, bad):
    """XAPI-00012: parameter values validate like statement values (UUID)."""
    assert_error(xapi.get({param: bad}), 400, path=param)


def test_get_with_both_statement_id_and_voided_statement_id_is_rejected(xapi):
    """Communication 2.1.3.s2.b1: statementId together with voidedStatementId -> 400."""
    s = statement()
    xapi.store(s)
    assert_error(xapi.get({"statementId": s["id"], "voidedStatementId": s["id"]}), 400)


OTHER_PARAMS = {
    "agent": lambda: {"objectType": "Agent", "mbox": mbox()},
    "verb": lambda: "http://adlnet.gov/expapi/verbs/experienced",
    "activity": lambda: activity_iri(),
    "registration": lambda: new_id(),
    "related_activities": lambda: True,
    "related_agents": lambda: True,
    "since": lambda: "2000-01-01T00:00:00.000Z",
    "until": lambda: "2999-01-01T00:00:00.000Z",
    "limit": lambda: 1,
    "ascending": lambda: True,
}


@pytest.mark.parametrize("other", sorted(OTHER_PARAMS))
def test_get_with_statement_id_and_a_filter_parameter_is_rejected_XAPI_00151(xapi, other):
    """XAPI-00151, Communication 2.1.3.s2.b2: statementId plus anything but attachments/format -> 400."""
    s = statement()
    xapi.store(s)
    assert_error(xapi.get({"statementId": s["id"], other: OTHER_PARAMS[other]()}), 400)


@pytest.mark.parametrize("other", sorted(OTHER_PARAMS))
def test_get_with_voided_statement_id_and_a_filter_parameter_is_rejected_XAPI_00150(xapi, other):
    """XAPI-00150, Communication 2.1.3.s2.b2: voidedStatementId plus anything but
    attachments/format -> 400."""
    from xapi_support import voiding_statement
    s = statement()
    xapi.store(s)
    xapi.store(voiding_statement(s["id"]))
    assert_error(xapi.get({"voidedStatementId": s["id"], other: OTHER_PARAMS[other]()}), 400)


@pytest.mark.parametrize("extra", [{"format": "ids"}, {"format": "exact"}, {"format": "canonical"},
                                   {"attachments": "false"}, {"attachments": "true"}])
def test_get_with_statement_id_accepts_format_and_attachments_XAPI_00151(xapi, extra):
    """XAPI-00151: format and attachments are the permitted companions of statementId."""
    s = statement()
    xapi.store(s)
    resp = xapi.get({"statementId": s["id"], **extra})
    assert resp.status_code == 200, describe(resp)


# ---------------------------------------------------------------------------
# StatementResult shape
# ---------------------------------------------------------------------------

def test_get_without_ids_returns_a_statement_result_XAPI_00154_00110_00113(xapi):
    """XAPI-00154, XAPI-00110, XAPI-00113: 200 and a StatementResult with a statements array and
    (at most) a more property."""
    xapi.store(statement())
    resp = xapi.get({"limit": 5})
    assert resp.status_code == 200, describe(resp)
    result = json_body(resp)
    assert isinstance(result["statements"], list) and 1 <= len(result["statements"]) <= 5
    assert set(result) <= {"statements", "more"}, result.keys()
    assert isinstance(result.get("more", ""), str)
    for s in result["statements"]:
        assert {"id", "actor", "verb", "object", "stored", "authority"} <= set(s), s


def test_query_matching_nothing_returns_an_empty_statement_result_XAPI_00149_00112_00109(xapi):
    """XAPI-00149, XAPI-00112, XAPI-00109, Communication 2.1.3.s2.b4: 200, empty statements array,
    more absent or the empty string."""
    result = xapi.query(activity=activity_iri("nothing-here"))
    assert result["statements"] == []
    assert result.get("more", "") == ""


# ---------------------------------------------------------------------------
# agent / related_agents
# ---------------------------------------------------------------------------

def test_agent_filter_returns_statements_where_the_agent_is_actor_or_object_XAPI_00181_00164(xapi):
    """XAPI-00181, XAPI-00164, Communication 2.1.3 table row 3: exact IFI match on actor or object."""
    who = agent("Filter Target")
    as_actor = statement(actor=who)
    as_object = statement(object_=agent("Object Agent", mbox=who["mbox"]))
    unrelated = statement()
    xapi.store([as_actor, as_object, unrelated])
    got = set(xapi.query_ids(agent={"objectType": "Agent", "mbox": who["mbox"]}))
    assert got == {as_actor["id"], as_object["id"]}


def test_agent_filter_matches_by_ifi_only_ignoring_name(xapi):
    """Communication 2.1.3 row 3: agents are equal when the same IFI has equal values."""
    who = agent("Real Name")
    s = statement(actor=who)
    xapi.store(s)
    assert xapi.query_ids(agent={"objectType": "Agent", "mbox": who["mbox"], "name": "Other"}) == [s["id"]]
    assert xapi.query_ids(agent={"mbox": who["mbox"]}) == [s["id"]]


@pytest.mark.parametrize("ifi", ["mbox_sha1sum", "openid", "account"])
def test_agent_filter_supports_every_inverse_functional_identifier_XAPI_00181(xapi, ifi):
    """XAPI-00181: the agent parameter may identify the agent by any IFI."""
    value = {
        "mbox_sha1sum": hashlib.sha1(mbox().encode()).hexdigest(),
        "openid": f"http://{TEST_DOMAIN}/openid/{new_id()}",
        "account": {"homePage": f"http://{TEST_DOMAIN}", "name": new_id()},
    }[ifi]
    s = statement(actor={"objectType": "Agent", ifi: value})
    xapi.store([s, statement()])
    assert xapi.query_ids(agent={"objectType": "Agent", ifi: value}) == [s["id"]]


def test_agent_filter_matches_groups_having_the_agent_as_member(xapi):
    """Communication 2.1.3 row 3: Groups that have members matching the agent are a match."""
    who = agent("Member")
    s = statement(actor=anonymous_group(agent("Other Member"), who))
    xapi.store(s)
    assert xapi.query_ids(agent={"objectType": "Agent", "mbox": who["mbox"]}) == [s["id"]]


def test_agent_filter_accepts_an_identified_group(xapi):
    """XAPI-00176/00181: the agent parameter may be an Identified Group."""
    group = identified_group(name="Team Filter")
    s = statement(actor=group)
    xapi.store([s, statement()])
    assert xapi.query_ids(agent={"objectType": "Group", "mbox": group["mbox"]}) == [s["id"]]


def test_agent_filter_ignores_context_agents_unless_related_agents_is_true_XAPI_00176(xapi):
    """XAPI-00176: without related_agents only actor/object match; with related_agents=true,
    instructor, team and SubStatement actor/object match too."""
    who = agent("Broad Target")
    ifi = {"objectType": "Agent", "mbox": who["mbox"]}
    as_actor = statement(actor=who)
    as_instructor = statement(context={"instructor": agent("Instructor", mbox=who["mbox"])})
    as_team_member = statement(context={"team": anonymous_group(agent("T"), agent("W", mbox=who["mbox"]))})
    in_sub_actor = statement(object_=substatement(actor=agent("Sub", mbox=who["mbox"])))
    in_sub_object = statement(object_=substatement(object_=agent("SubObj", mbox=who["mbox"])))
    in_sub_instructor = statement(object_=substatement(context={"instructor": agent("SI", mbox=who["mbox"])}))
    unrelated = statement()
    all_ = [as_actor, as_instructor, as_team_member, in_sub_actor, in_sub_object, in_sub_instructor, unrelated]
    xapi.store(all_)
    assert set(xapi.query_ids(agent=ifi)) == {as_actor["id"]}
    assert set(xapi.query_ids(agent=ifi, related_agents=False)) == {as_actor["id"]}
    broad = set(xapi.query_ids(agent=ifi, related_agents=True))
    assert broad == {s["id"] for s in all_ if s is not unrelated}


def test_related_agents_matches_the_authority(xapi):
    """Communication 2.1.3 row 8: related_agents includes the Authority."""
    act = activity_iri()
    s = statement(object_=activity(act))
    xapi.store(s)
    authority = xapi.fetch(s["id"])["authority"]
    ifi = {k: val for k, val in authority.items() if k in ("objectType", "account", "mbox", "openid", "mbox_sha1sum")}
    assert xapi.query_ids(agent=ifi, activity=act) == []
    assert xapi.query_ids(agent=ifi, activity=act, related_agents=True) == [s["id"]]


@pytest.mark.parametrize("raw", [
    "not json", '{"objectType": "Agent"}', '{"objectType": "Agent", "mbox": "bob@example.com"}',
    '{"mbox": "mailto:a@example.com", "openid": "http://example.com/a"}', '["mailto:a@example.com"]',
])
def test_invalid_agent_parameter_is_rejected_XAPI_00012(xapi, raw):
    """XAPI-00012: the agent parameter must be a valid Agent / Identified Group JSON object."""
    resp = xapi.request("GET", "statements", params={"agent": raw})
    assert_error(resp, 400, path="agent")


# ---------------------------------------------------------------------------
# verb / activity / related_activities / registration
# ---------------------------------------------------------------------------

def test_verb_filter_returns_exact_verb_matches_XAPI_00180_00164(xapi):
    """XAPI-00180, XAPI-00164: only statements with exactly that verb id."""
    vid = verb_iri("filtered")
    who = agent("Verb Filter")
    match = statement(actor=who, verb_=verb(vid, {"en-US": "filtered"}))
    other_verb = statement(actor=who, verb_=verb(vid + "-suffix", {"en-US": "other"}))
    xapi.store([match, other_verb])
    assert xapi.query_ids(verb=vid) == [match["id"]]
    assert xapi.query_ids(verb=vid, agent={"mbox": who["mbox"]}) == [match["id"]]


def test_activity_filter_matches_only_the_statement_object_XAPI_00179_00177(xapi):
    """XAPI-00179, XAPI-00177: activity matches the Object only (not context activities or
    SubStatement contents) unless related_activities is true."""
    act = activity_iri("target")
    as_object = statement(object_=activity(act))
    as_parent = statement(context={"contextActivities": {"parent": [activity(act)]}})
    as_grouping = statement(context={"contextActivities": {"grouping": [activity(act)]}})
    as_category = statement(context={"contextActivities": {"category": [activity(act)]}})
    as_other = statement(context={"contextActivities": {"other": [activity(act)]}})
    in_sub_object = statement(object_=substatement(object_=activity(act)))
    in_sub_context = statement(object_=substatement(context={"contextActivities": {"parent": [activity(act)]}}))
    unrelated = statement()
    all_ = [as_object, as_parent, as_grouping, as_category, as_other, in_sub_object, in_sub_context, unrelated]
    xapi.store(all_)
    assert xapi.query_ids(activity=act) == [as_object["id"]]
    assert xapi.query_ids(activity=act, related_activities=False) == [as_object["id"]]
    broad = set(xapi.query_ids(activity=act, related_activities=True))
    assert broad == {s["id"] for s in all_ if s is not unrelated}


@pytest.mark.parametrize("bad", ["not an iri", "relative/path"])
def test_invalid_activity_or_verb_parameter_is_rejected_XAPI_00012(xapi, bad):
    """XAPI-00012: activity and verb parameters must be IRIs."""
    assert_error(xapi.get({"activity": bad}), 400, path="activity")
    assert_error(xapi.get({"verb": bad}), 400, path="verb")


def test_registration_filter_returns_exact_matches_XAPI_00178(xapi):
    """XAPI-00178: exact match on context.registration."""
    reg = new_id()
    who = agent("Registration Filter")
    a = statement(actor=who, context={"registration": reg})
    b = statement(actor=who, context={"registration": reg})
    c = statement(actor=who, context={"registration": new_id()})
    d = statement(actor=who)
    xapi.store([a, b, c, d])
    assert set(xapi.query_ids(registration=reg)) == {a["id"], b["id"]}
    assert set(xapi.query_ids(agent={"mbox": who["mbox"]})) == {a["id"], b["id"], c["id"], d["id"]}


def test_invalid_registration_parameter_is_rejected_XAPI_00012(xapi):
    """XAPI-00012: registration must be a UUID."""
    assert_error(xapi.get({"registration": "not-a-uuid"}), 400, path="registration")


def test_filters_are_combined_with_and(xapi):
    """XAPI-00164: all criteria of one query apply together."""
    who = agent("Combined")
    vid = verb_iri("combined")
    act = activity_iri()
    hit = statement(actor=who, verb_=verb(vid), object_=activity(act))
    wrong_verb = statement(actor=who, object_=activity(act))
    wrong_actor = statement(verb_=verb(vid), object_=activity(act))
    xapi.store([hit, wrong_verb, wrong_actor])
    assert xapi.query_ids(agent={"mbox": who["mbox"]}, verb=vid, activity=act) == [hit["id"]]


# ---------------------------------------------------------------------------
# since / until / limit / ascending
# ---------------------------------------------------------------------------

@pytest.fixture
def three_in_order(xapi):
    act = activity_iri("timeline")
    stmts = [statement(object_=activity(act)) for _ in range(3)]
    xapi.store_sequentially(stmts)
    stored = [xapi.fetch(s["id"])["stored"] for s in stmts]
    assert parse_ts(stored[0]) < parse_ts(stored[1]) < parse_ts(stored[2]), stored
    return act, [s["id"] for s in stmts], stored


def test_since_returns_only_statements_stored_strictly_after_it_XAPI_00175(xapi, three_in_order):
    """XAPI-00175, Communication 2.1.3 row 9: since is exclusive."""
    act, ids, stored = three_in_order
    assert set(xapi.query_ids(activity=act, since=stored[0])) == {ids[1], ids[2]}
    assert set(xapi.query_ids(activity=act, since=stored[2])) == set()


def test_until_returns_statements_stored_at_or_before_it_XAPI_00174(xapi, three_in_order):
    """XAPI-00174, Communication 2.1.3 row 10: until is inclusive."""
    act, ids, stored = three_in_order
    assert set(xapi.query_ids(activity=act, until=stored[1])) == {ids[0], ids[1]}
    assert set(xapi.query_ids(activity=act, since=stored[0], until=stored[1])) == {ids[1]}


def test_since_and_until_accept_timestamps_with_offsets(xapi, three_in_order):
    """XAPI-00174/00175: since/until are Timestamps; an equivalent offset form selects the same."""
    act, ids, stored = three_in_order
    t = parse_ts(stored[0])
    import datetime as dt
    shifted = t.astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30)))
    text = shifted.strftime("%Y-%m-%dT%H:%M:%S.") + f"{shifted.microsecond // 1000:03d}+05:30"
    assert set(xapi.query_ids(activity=act, since=text)) == {ids[1], ids[2]}


@pytest.mark.parametrize("param", ["since", "until"])
@pytest.mark.parametrize("bad", ["yesterday", "2020-13-01T00:00:00Z", "01/02/2020"])
def test_invalid_since_or_until_is_rejected_XAPI_00012(xapi, param, bad):
    """XAPI-00012: since/until must be valid timestamps."""
    assert_error(xapi.get({param: bad}), 400, path=param)


def test_default_order_is_most_recently_stored_first(xapi, three_in_order):
    """Communication 2.1.3: results are in reverse chronological order of stored."""
    act, ids, _ = three_in_order
    assert xapi.query_ids(activity=act) == list(reversed(ids))
    assert xapi.query_ids(activity=act, ascending=False) == list(reversed(ids))


def test_ascending_true_orders_by_stored_oldest_first_XAPI_00166(xapi, three_in_order):
    """XAPI-00166: ascending=true returns results in ascending stored order."""
    act, ids, _ = three_in_order
    assert xapi.query_ids(activity=act, ascending=True) == ids


def test_limit_caps_the_number_of_results_XAPI_00173(xapi, three_in_order):
    """XAPI-00173: only `limit` statements are returned (the newest ones by default)."""
    act, ids, _ = three_in_order
    result = xapi.query(activity=act, limit=2)
    assert ids_of(result) == [ids[2], ids[1]]
    assert result.get("more"), "more must be present when further results exist (XAPI-00113)"
    assert ids_of(xapi.query(activity=act, limit=1, ascending=True)) == [ids[0]]


def test_limit_zero_means_the_server_maximum_XAPI_00173(xapi, three_in_order):
    """XAPI-00173: limit=0 (the default) returns all results up to the server limit."""
    act, ids, _ = three_in_order
    assert sorted(ids_of(xapi.query(activity=act, limit=0))) == sorted(ids)


@pytest.mark.parametrize("bad", ["-1", "abc", "1.5", ""])
def test_invalid_limit_is_rejected_XAPI_00012(xapi, bad):
    """XAPI-00012: limit is a non-negative integer."""
    assert_error(xapi.get({"limit": bad}), 400, path="limit")


@pytest.mark.parametrize("param", ["ascending", "related_agents", "related_activities", "attachments"])
def test_non_boolean_value_for_a_boolean_parameter_is_rejected_XAPI_00012(xapi, param):
    """XAPI-00012, Communication 2.1.3 note: Boolean parameters are `true` or `false`."""
    params = {param: "maybe"}
    if param == "related_agents":
        params["agent"] = '{"mbox": "mailto:x@' + TEST_DOMAIN + '"}'
    if param == "related_activities":
        params["activity"] = activity_iri()
    assert_error(xapi.request("GET", "statements", params=params), 400, path=param)


# ---------------------------------------------------------------------------
# more (paging)
# ---------------------------------------------------------------------------

def test_more_pages_through_all_results_in_order_XAPI_00108_00109_00111_00114(xapi):
    """XAPI-00108, XAPI-00109, XAPI-00111, XAPI-00114: each 'more' IRL (relative, /xapi/statements...)
    yields the next page of the same query; pages follow the same rules, and the last page has
    an empty or absent 'more'."""
    act = activity_iri("paging")
    stmts = [statement(object_=activity(act)) for _ in range(5)]
    ids = xapi.store_sequentially(stmts)
    pages = []
    result = xapi.query(activity=act, limit=2)
    pages.append(ids_of(result))
    while result.get("more"):
        more = result["more"]
        assert more.startswith("/xapi/statements"), more
        resp = xapi.request("GET", more)
        assert resp.status_code == 200, describe(resp)
        result = json_body(resp)
        assert set(result) <= {"statements", "more"}, result.keys()
        pages.append(ids_of(result))
        assert len(pages) <= 5, "more links do not terminate"
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [i for p in pages for i in p] == list(reversed(ids))
    assert result.get("more", "") == ""


def test_more_keeps_ascending_order_and_filters(xapi):
    """XAPI-00111: the 'more' container follows the same rules as the original request."""
    act = activity_iri("paging-asc")
    ids = xapi.store_sequentially([statement(object_=activity(act)) for _ in range(3)])
    xapi.store(statement())  # noise outside the filter
    collected = [s["id"] for s in xapi.query_all(activity=act, limit=1, ascending=True)]
    assert collected == ids


def test_more_is_absent_or_empty_when_everything_was_returned_XAPI_00109(xapi, three_in_order):
    """XAPI-00109: no whitespace-only or dangling 'more' when the results are complete."""
    act, ids, _ = three_in_order
    result = xapi.query(activity=act, limit=3)
    assert len(result["statements"]) == 3
    if result.get("more"):
        # a non-empty more is allowed only if following it yields nothing further
        nxt = json_body(xapi.request("GET", result["more"]))
        assert nxt["statements"] == [], "more pointed at additional statements beyond the limit"
    else:
        assert result.get("more", "") == ""


# ---------------------------------------------------------------------------
# unknown / mis-cased parameters
# ---------------------------------------------------------------------------

def test_unknown_query_parameter_is_rejected_XAPI_00324(xapi):
    """XAPI-00324, Communication 3.2.s3.b7: unrecognised parameters -> 400."""
    assert_error(xapi.get({"frobnicate": "1"}), 400, path="frobnicate")


@pytest.mark.parametrize("name,value", [
    ("StatementId", lambda: new_id()), ("VoidedStatementId", lambda: new_id()),
    ("Agent", lambda: {"mbox": mbox()}), ("VERB", lambda: "http://adlnet.gov/expapi/verbs/experienced"),
    ("Activity", lambda: activity_iri()), ("Registration", lambda: new_id()),
    ("Related_Activities", lambda: True), ("Related_Agents", lambda: True),
    ("Since", lambda: "2000-01-01T00:00:00Z"), ("Until", lambda: "2999-01-01T00:00:00Z"),
    ("Limit", lambda: 1), ("Format", lambda: "ids"), ("Attachments", lambda: False),
    ("Ascending", lambda: True),
])
def test_get_parameter_with_differing_case_is_rejected_XAPI_00325(xapi, name, value):
    """XAPI-00325, Communication 3.2.s3.b8: parameters matching spec names in all but case -> 400."""
    assert_error(xapi.get({name: value()}), 400)


def test_put_statement_id_parameter_with_differing_case_is_rejected_XAPI_00325(xapi):
    """XAPI-00325: PUT with StatementId instead of statementId -> 400, nothing stored."""
    s = statement()
    resp = xapi.request("PUT", "statements", params={"StatementID": s["id"]}, json_=s)
    assert_error(resp, 400)
    assert xapi.get({"statementId": s["id"]}).status_code == 404


def test_unknown_parameter_on_post_is_rejected_XAPI_00324(xapi):
    """XAPI-00324: POST with an unrecognised query parameter -> 400, nothing stored."""
    s = statement()
    resp = xapi.request("POST", "statements", params={"foo": "bar"}, json_=s)
    assert_error(resp, 400)
    assert xapi.get({"statementId": s["id"]}).status_code == 404


# ---------------------------------------------------------------------------
# format
# ---------------------------------------------------------------------------

def _rich_statement():
    return statement(
        actor=agent("Format Person"),
        verb_=verb(verb_iri("fmt"), {"en-US": "formatted", "fr-FR": "formaté"}),
        object_=activity(activity_iri("fmt"), {
            "name": {"en-US": "Colour", "fr-FR": "Couleur"},
            "description": {"en-US": "Pick a colour", "fr-FR": "Choisissez une couleur"},
            "type": "http://adlnet.gov/expapi/activities/cmi.interaction",
            "interactionType": "choice",
            "choices": [{"id": "red", "description": {"en-US": "Red", "fr-FR": "Rouge"}},
                        {"id": "blue", "description": {"en-US": "Blue", "fr-FR": "Bleu"}}],
        }),
        context={"instructor": agent("Format Instructor"),
                 "contextActivities": {"parent": [activity(activity_iri("fmt-parent"),
                                                           {"name": {"en-US": "Parent"}})]}},
    )


def test_format_exact_returns_objects_as_received_XAPI_00170(xapi):
    """XAPI-00170: exact returns Agent, Activity, Verb and Group objects exactly as received."""
    s = _rich_statement()
    xapi.store(s)
    got = xapi.fetch(s["id"], format="exact")
    for k in ("actor", "verb", "object", "context"):
        assert got[k] == s[k], k


def test_format_defaults_to_exact_XAPI_00168(xapi):
    """XAPI-00168: without format the results are in exact format."""
    s = _rich_statement()
    xapi.store(s)
    assert xapi.fetch(s["id"]) == xapi.fetch(s["id"], format="exact")
    q = xapi.query(activity=s["object"]["id"])["statements"][0]
    assert q["object"] == s["object"] and q["actor"] == s["actor"]


def test_format_ids_keeps_only_identifiers_XAPI_00171(xapi, v):
    """XAPI-00171: ids keeps only what identifies Agents, Activities, Verbs and Groups (IFIs,
    ids), including for anonymous group members."""
    s = _rich_statement()
    s["actor"] = anonymous_group(agent("Member One"), agent("Member Two"), name="Anon")
    xapi.store(s)
    for got in (xapi.fetch(s["id"], format="ids"),
                xapi.query(activity=s["object"]["id"], format="ids")["statements"][0]):
        assert got["id"] == s["id"]
        assert got["object"]["id"] == s["object"]["id"]
        assert "definition" not in got["object"], got["object"]
        assert set(got["object"]) <= {"id", "objectType"}, got["object"]
        assert got["verb"]["id"] == s["verb"]["id"]
        if v == V1:
            assert set(got["verb"]) == {"id"}, got["verb"]
        assert "name" not in got["actor"], got["actor"]
        members = got["actor"]["member"]
        assert sorted(m["mbox"] for m in members) == sorted(m["mbox"] for m in s["actor"]["member"])
        for m in members:
            assert set(m) <= {"objectType", "mbox"}, m
        instr = got["context"]["instructor"]
        assert instr["mbox"] == s["context"]["instructor"]["mbox"] and "name" not in instr, instr
        parent = got["context"]["contextActivities"]["parent"][0]
        assert "definition" not in parent, parent


def test_format_canonical_returns_one_language_chosen_by_accept_language_XAPI_00169_00172(xapi):
    """XAPI-00169, XAPI-00172, Communication 2.1.3.s4: canonical returns only one language per
    activity language map, selected with Accept-Language (RFC 2616 rules incl. q-values)."""
    s = _rich_statement()
    xapi.store(s)
    for header, lang in (("fr-FR", "fr-FR"), ("en-US", "en-US"),
                         ("de-DE, fr-FR;q=0.8, en-US;q=0.5", "fr-FR")):
        resp = xapi.get({"statementId": s["id"], "format": "canonical"}, headers={"Accept-Language": header})
        assert resp.status_code == 200, describe(resp)
        d = json_body(resp)["object"]["definition"]
        assert d["name"] == {lang: s["object"]["definition"]["name"][lang]}, (header, d["name"])
        assert d["description"] == {lang: s["object"]["definition"]["description"][lang]}, header
        for choice in d["choices"]:
            assert list(choice["description"]) == [lang], (header, choice)


def test_format_canonical_without_accept_language_still_returns_one_language_XAPI_00169(xapi):
    """XAPI-00169, Communication 2.1.3.s4.b1: only one language in each activity language map."""
    s = _rich_statement()
    xapi.store(s)
    got = xapi.query(activity=s["object"]["id"], format="canonical")["statements"][0]
    d = got["object"]["definition"]
    assert len(d["name"]) == 1 and len(d["description"]) == 1, d
    assert got["actor"] == s["actor"], "canonical returns Agents as in exact"


def test_accept_language_is_ignored_when_format_is_not_canonical_XAPI_00172(xapi):
    """XAPI-00172 (2.0 suite: should NOT apply Accept-Language when format is not canonical)."""
    s = _rich_statement()
    xapi.store(s)
    resp = xapi.get({"statementId": s["id"]}, headers={"Accept-Language": "fr-FR"})
    assert json_body(resp)["object"]["definition"]["name"] == s["object"]["definition"]["name"]


@pytest.mark.parametrize("bad", ["full", "IDS", ""])
def test_invalid_format_value_is_rejected_XAPI_00012(xapi, bad):
    """XAPI-00012: format is one of ids, exact, canonical."""
    assert_error(xapi.get({"format": bad}), 400, path="format")


# ---------------------------------------------------------------------------
# StatementRef filter conditions (Communication 2.1.3.s3)
# ---------------------------------------------------------------------------

def test_statements_targeting_a_matching_statement_also_match_the_filter(xapi):
    """Communication 2.1.3.s3: for non-time filters, a statement whose Object is a StatementRef
    matches if the targeted statement matches ("Ben passed" / "Andrew confirmed")."""
    ben = agent("Ben")
    act = activity_iri("explosives")
    original = statement(actor=ben, object_=activity(act))
    follow_up = statement(actor=agent("Andrew"), verb_=verb(verb_iri("confirmed")),
                          object_=statement_ref(original["id"]))
    xapi.store_sequentially([original, follow_up])
    expected = {original["id"], follow_up["id"]}
    assert set(xapi.query_ids(agent={"mbox": ben["mbox"]})) == expected
    assert set(xapi.query_ids(activity=act)) == expected


def test_statement_ref_matching_applies_recursively(xapi):
    """Communication 2.1.3.s3: a targets b targets c, and c matches -> a matches too."""
    act = activity_iri("recursive")
    c = statement(object_=activity(act))
    b = statement(object_=statement_ref(c["id"]))
    a = statement(object_=statement_ref(b["id"]))
    xapi.store_sequentially([c, b, a])
    assert set(xapi.query_ids(activity=act)) == {a["id"], b["id"], c["id"]}


def test_time_filters_still_apply_to_the_referencing_statement(xapi):
    """Communication 2.1.3.s3: since/until/limit are applied to the referencing statement itself."""
    act = activity_iri("ref-time")
    original = statement(object_=activity(act))
    xapi.store(original)
    stored_original = xapi.fetch(original["id"])["stored"]
    xapi.wait_past(stored_original)
    ref = statement(object_=statement_ref(original["id"]))
    xapi.store(ref)
    assert xapi.query_ids(activity=act, since=stored_original) == [ref["id"]]
    assert xapi.query_ids(activity=act, until=stored_original) == [original["id"]]


def test_context_statement_refs_do_not_affect_filtering(xapi):
    """Communication 2.1.3.s3 note: a StatementRef in context.statement does not make a match."""
    act = activity_iri("ctx-ref")
    original = statement(object_=activity(act))
    ctx_ref = statement(context={"statement": statement_ref(original["id"])})
    xapi.store([original, ctx_ref])
    assert xapi.query_ids(activity=act) == [original["id"]]
