"""Voiding (Data 2.3.2; Communication 2.1.4)."""

from xapi_support import (VERB_VOIDED, activity, activity_iri, assert_error, describe,
                          new_id, statement, statement_ref, verb, verb_iri, voiding_statement)


def test_voided_statement_is_not_returned_by_statement_id_XAPI_00018_00163(xapi):
    """XAPI-00018, XAPI-00163: once voided, GET ?statementId= returns 404."""
    s = statement()
    xapi.store(s)
    assert xapi.get({"statementId": s["id"]}).status_code == 200
    xapi.store(voiding_statement(s["id"]))
    assert_error(xapi.get({"statementId": s["id"]}), 404)


def test_voided_statement_is_returned_by_voided_statement_id_XAPI_00155_00157(xapi):
    """XAPI-00155, XAPI-00157: GET ?voidedStatementId= returns 200 and the voided statement."""
    s = statement()
    xapi.store(s)
    xapi.store(voiding_statement(s["id"]))
    got = xapi.fetch_voided(s["id"])
    assert got["id"] == s["id"]
    assert got["actor"] == s["actor"] and got["object"] == s["object"]


def test_voided_statement_id_of_a_statement_that_is_not_voided_returns_404_XAPI_00163(xapi):
    """XAPI-00163, Communication 2.1.4.s1.b1: voidedStatementId only serves voided statements."""
    s = statement()
    xapi.store(s)
    assert_error(xapi.get({"voidedStatementId": s["id"]}), 404)


def test_voiding_statement_itself_is_retrievable_by_statement_id(xapi):
    """Communication 2.1.4.s1.b2: the voiding statement cannot be voided and is returned normally."""
    s = statement()
    xapi.store(s)
    vs = voiding_statement(s["id"])
    xapi.store(vs)
    got = xapi.fetch(vs["id"])
    assert got["verb"]["id"] == VERB_VOIDED
    assert got["object"] == {"objectType": "StatementRef", "id": s["id"]}


def test_query_excludes_the_voided_statement_but_returns_statements_targeting_it_XAPI_00162(xapi):
    """XAPI-00162, Communication 2.1.4.s1.b1/b2: a query matching the voided statement returns the
    voiding statement (it targets a matching statement) but never the voided one."""
    act = activity_iri("voided-target")
    s = statement(object_=activity(act))
    xapi.store(s)
    vs = voiding_statement(s["id"])
    xapi.store(vs)
    assert xapi.query_ids(activity=act) == [vs["id"]]


def test_voided_statement_stays_hidden_under_since_until_and_limit_XAPI_00162(xapi):
    """XAPI-00162 (2.0 suite): with since/until/limit the voided statement is still excluded, while
    a statement referring to it is returned."""
    act = activity_iri("voided-window")
    before = statement(object_=activity(act))
    target = statement(object_=activity(act))
    referrer = statement(verb_=verb(verb_iri("commented")), object_=statement_ref(target["id"]))
    xapi.store_sequentially([before, target, referrer])
    t_before = xapi.fetch(before["id"])["stored"]
    vs = voiding_statement(target["id"])
    xapi.store(vs)
    t_end = xapi.fetch(vs["id"])["stored"]
    expected = [vs["id"], referrer["id"]]
    assert xapi.query_ids(activity=act, since=t_before) == expected
    assert xapi.query_ids(activity=act, since=t_before, until=t_end) == expected
    assert [st["id"] for st in xapi.query(activity=act, limit=2)["statements"]] == expected
    assert xapi.query_ids(activity=act, ascending=True) == [before["id"], referrer["id"], vs["id"]]


def test_query_by_stored_window_does_not_include_voided_statements_XAPI_00163(xapi):
    """XAPI-00163: a query selecting only by time (since) never contains the voided statement, but
    does contain its voiding statement."""
    from xapi_support import fmt_ts, parse_ts
    import datetime as dt
    s = statement()
    xapi.store(s)
    since = fmt_ts(parse_ts(xapi.fetch(s["id"])["stored"]) - dt.timedelta(milliseconds=1))
    vs = voiding_statement(s["id"])
    xapi.store(vs)
    ids = [st["id"] for st in xapi.query_all(since=since, ascending=True)]
    assert vs["id"] in ids
    assert s["id"] not in ids


def test_voiding_statement_whose_object_is_not_a_statement_ref_is_rejected_XAPI_00017(xapi):
    """XAPI-00017, XAPI-00020, Data 2.3.2.s2.b1: a voiding statement's object must be a
    StatementRef; otherwise 400."""
    s = statement(verb_={"id": VERB_VOIDED, "display": {"en-US": "voided"}},
                  object_=activity(activity_iri()))
    assert_error(xapi.post(s), 400)
    assert xapi.get({"statementId": s["id"]}).status_code == 404


def test_voiding_statement_with_a_substatement_object_is_rejected_XAPI_00017(xapi):
    """XAPI-00017: a SubStatement is not a StatementRef either."""
    from xapi_support import substatement
    s = statement(verb_={"id": VERB_VOIDED}, object_=substatement())
    assert_error(xapi.post(s), 400)


def test_voiding_a_statement_the_lrs_does_not_have_is_accepted(xapi):
    """Data 2.3.2.s2.b5 (SHOULD NOT reject; 2.0 suite: "Shall not reject a voided statement" because
    the target cannot be found)."""
    vs = voiding_statement(new_id())
    resp = xapi.post(vs)
    assert resp.status_code == 200, describe(resp)
    assert xapi.fetch(vs["id"])["id"] == vs["id"]


def test_statement_arriving_after_its_voiding_statement_is_voided_XAPI_00018(xapi):
    """XAPI-00018, Data 2.3.2.s2.b3: a statement is voided iff the LRS contains a voiding statement
    referring to it -- regardless of arrival order."""
    s = statement()
    xapi.store(voiding_statement(s["id"]))
    xapi.store(s)
    assert_error(xapi.get({"statementId": s["id"]}), 404)
    assert xapi.fetch_voided(s["id"])["id"] == s["id"]


def test_voiding_a_voiding_statement_has_no_effect_XAPI_00016(xapi):
    """XAPI-00016, Data 2.3.2.s2.b3: a voiding statement cannot be voided. The LRS MAY reject the
    second voiding statement (400); if it accepts it, the first voiding statement stays un-voided."""
    s = statement()
    xapi.store(s)
    first = voiding_statement(s["id"])
    xapi.store(first)
    second = voiding_statement(first["id"])
    resp = xapi.post(second)
    assert resp.status_code in (200, 400), describe(resp)
    got = xapi.get({"statementId": first["id"]})
    assert got.status_code == 200, f"the voiding statement must not become voided\n{describe(got)}"
    assert xapi.get({"voidedStatementId": first["id"]}).status_code == 404
    # the original stays voided
    assert xapi.get({"statementId": s["id"]}).status_code == 404


def test_voiding_via_put_works_like_post_XAPI_00018(xapi):
    """XAPI-00018: voiding through PUT voids the target too."""
    s = statement()
    xapi.store(s)
    resp = xapi.put(voiding_statement(s["id"]))
    assert resp.status_code == 204, describe(resp)
    assert xapi.get({"statementId": s["id"]}).status_code == 404


def test_voided_statement_remains_voided_when_voided_twice(xapi):
    """Data 2.3.2: voiding an already voided statement again leaves it voided (2.0 suite: "Should
    not void an already voided statement" twice with a different outcome)."""
    s = statement()
    xapi.store(s)
    xapi.store(voiding_statement(s["id"]))
    resp = xapi.post(voiding_statement(s["id"]))
    assert resp.status_code in (200, 400), describe(resp)
    assert xapi.get({"statementId": s["id"]}).status_code == 404
    assert xapi.fetch_voided(s["id"])["id"] == s["id"]


def test_statement_referencing_a_voided_statement_is_not_itself_voided(xapi):
    """Data 2.3.2: only a statement with verb voided voids; other StatementRefs do not."""
    s = statement()
    xapi.store(s)
    ref = statement(verb_=verb(verb_iri("liked")), object_=statement_ref(s["id"]))
    xapi.store(ref)
    assert xapi.get({"statementId": s["id"]}).status_code == 200
    assert xapi.get({"voidedStatementId": s["id"]}).status_code == 404
