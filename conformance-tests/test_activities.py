"""Activities Resource (Communication 2.5; XAPI-00250..00254; 2.0 checklist 4.1.6.4) and the
canonical Activity definition it returns (Data 2.4.4.1.s4, Communication 4.2 `define` scope)."""

from urllib.parse import urlencode

import pytest

from xapi_support import (activity, activity_iri, assert_error, assert_head_like_get, basic_auth_header, describe,
                          is_json_content_type, json_body, raw_http, statement, substatement)


def get_activity(xapi, activity_id, **kw):
    return xapi.request("GET", "activities", params={"activityId": activity_id}, **kw)


def fetch_activity(xapi, activity_id) -> dict:
    resp = get_activity(xapi, activity_id)
    assert resp.status_code == 200, describe(resp)
    assert is_json_content_type(resp.headers.get("Content-Type")), describe(resp)
    body = json_body(resp)
    assert isinstance(body, dict), describe(resp)
    assert body.get("id") == activity_id, f"Activity Object with the wrong id\n{describe(resp)}"
    assert body.get("objectType", "Activity") == "Activity", describe(resp)
    return body


def definition_of(xapi, activity_id) -> dict:
    body = fetch_activity(xapi, activity_id)
    assert "definition" in body, f"no definition for {activity_id}: {body}"
    return body["definition"]


def store_definition(xapi, iri, definition, **kw):
    s = statement(object_=activity(iri, definition))
    resp = xapi.post(s, **kw)
    assert resp.status_code == 200, describe(resp)
    return s


FULL_DEFINITION = {
    "name": {"en-US": "Conformance Lesson"},
    "description": {"en-US": "A lesson used by the conformance tests"},
    "type": "http://adlnet.gov/expapi/activities/lesson",
    "moreInfo": "http://trellis-conformance.example/more-info",
    "extensions": {"http://trellis-conformance.example/ext/level": {"difficulty": 3, "tags": ["a", "b"]}},
}

CHOICE_DEFINITION = {
    "name": {"en-US": "Which colour?"},
    "description": {"en-US": "Pick the right colour"},
    "type": "http://adlnet.gov/expapi/activities/cmi.interaction",
    "interactionType": "choice",
    "correctResponsesPattern": ["red[,]blue"],
    "choices": [
        {"id": "red", "description": {"en-US": "Red"}},
        {"id": "blue", "description": {"en-US": "Blue"}},
        {"id": "green", "description": {"en-US": "Green", "de-DE": "Grün"}},
    ],
}


# ---------------------------------------------------------------------------
# GET
# ---------------------------------------------------------------------------

def test_unknown_activity_still_returns_an_activity_object(xapi):
    """Communication 2.5.s2.b1 (SHOULD*), 2.0 checklist 4.1.6.4 ("If an LRS does not have a
    canonical definition of the Activity to return, the LRS shall still return an Activity Object
    when queried"): 200 with the id, and no invented definition."""
    iri = activity_iri("unknown")
    body = fetch_activity(xapi, iri)
    assert body.get("definition") in (None, {}), body


def test_activities_resource_returns_the_definition_from_a_statement_XAPI_00251_00252_00253(xapi):
    """XAPI-00251, XAPI-00252, XAPI-00253, Communication 2.5.s1: GET base+/activities?activityId=
    -> 200 and the complete Activity Object, definition included."""
    iri = activity_iri()
    store_definition(xapi, iri, FULL_DEFINITION)
    assert definition_of(xapi, iri) == FULL_DEFINITION


def test_interaction_activity_definition_is_returned_complete_XAPI_00251(xapi):
    """XAPI-00251: interaction properties (interactionType, correctResponsesPattern, choices) are
    part of the complete Activity Object."""
    iri = activity_iri("interaction")
    store_definition(xapi, iri, CHOICE_DEFINITION)
    assert definition_of(xapi, iri) == CHOICE_DEFINITION


def test_language_maps_from_different_statements_are_combined_XAPI_00254(xapi):
    """XAPI-00254, Communication 2.5.s1: two statements each describing the Activity in a
    different language -> the Activities Resource returns both languages (name and description)."""
    iri = activity_iri("languages")
    store_definition(xapi, iri, {"name": {"en-US": "Lesson"}, "description": {"en-US": "A lesson"}})
    store_definition(xapi, iri, {"name": {"fr-FR": "Leçon"}, "description": {"fr-FR": "Une leçon"}})
    d = definition_of(xapi, iri)
    assert d["name"] == {"en-US": "Lesson", "fr-FR": "Leçon"}
    assert d["description"] == {"en-US": "A lesson", "fr-FR": "Une leçon"}


def test_statement_without_a_definition_does_not_erase_the_known_one_XAPI_00254(xapi):
    """XAPI-00254 (all available information from any statement): a later statement naming the
    Activity by id only leaves the definition intact."""
    iri = activity_iri()
    store_definition(xapi, iri, FULL_DEFINITION)
    xapi.store(statement(object_=activity(iri)))
    assert definition_of(xapi, iri) == FULL_DEFINITION


def test_newer_definition_from_a_defining_credential_updates_the_canonical_one(xapi):
    """Data 2.4.4.1.s4.b3 (an LRP with authority -- the `all` scope includes `define` -- changes
    the stored definition), Trellis: language maps merge entry by entry (a newer text for the same
    language wins) and other properties take the newest value."""
    iri = activity_iri("updates")
    store_definition(xapi, iri, {"name": {"en-US": "Old name", "de-DE": "Alt"},
                                 "type": "http://trellis-conformance.example/types/old",
                                 "moreInfo": "http://trellis-conformance.example/old"})
    store_definition(xapi, iri, {"name": {"en-US": "New name"},
                                 "type": "http://trellis-conformance.example/types/new"})
    d = definition_of(xapi, iri)
    assert d["name"] == {"en-US": "New name", "de-DE": "Alt"}
    assert d["type"] == "http://trellis-conformance.example/types/new"
    assert d["moreInfo"] == "http://trellis-conformance.example/old"


@pytest.mark.parametrize("where", ["parent", "grouping", "category", "other"])
def test_definitions_of_context_activities_are_available_XAPI_00254(xapi, where):
    """XAPI-00254 / Communication 2.5.s1 ("all available information about an activity"): an
    Activity defined in context.contextActivities is known to the Activities Resource."""
    iri = activity_iri(where)
    definition = {"name": {"en-US": f"{where} activity"}}
    s = statement(context={"contextActivities": {where: [activity(iri, definition)]}})
    xapi.store(s)
    assert definition_of(xapi, iri) == definition


def test_definitions_inside_a_substatement_are_available_XAPI_00254(xapi):
    """XAPI-00254 / Communication 2.5.s1: the Activity of a SubStatement is an Activity the LRS has
    information about."""
    iri = activity_iri("sub")
    definition = {"name": {"en-US": "Planned activity"}}
    xapi.store(statement(verb_={"id": "http://adlnet.gov/expapi/verbs/planned", "display": {"en-US": "planned"}},
                         object_=substatement(object_=activity(iri, definition))))
    assert definition_of(xapi, iri) == definition


def test_rejected_statement_does_not_define_the_activity(xapi):
    """Communication 3.2.s3 (a rejected request changes nothing): the Activity definition carried
    by a statement that is rejected is not recorded."""
    iri = activity_iri("rejected")
    bad = statement(object_=activity(iri, {"name": {"en-US": "Never"}}))
    bad["verb"] = {"id": "not an iri"}
    resp = xapi.post(bad)
    assert resp.status_code == 400, describe(resp)
    assert fetch_activity(xapi, iri).get("definition") in (None, {})


# ---------------------------------------------------------------------------
# authority to define (Communication 4.2 `define`, Data 2.4.4.1.s4.b3)
# ---------------------------------------------------------------------------

def test_credential_without_define_scope_cannot_change_a_known_definition(xapi, make_credential):
    """Communication 4.2.s2.table1.row4 (`define`: "If storing a Statement when this is not
    granted, ids will be saved ... but SHOULD NOT update its canonical representation of any ...
    Activities"): the statement is stored, the canonical definition stays as it was."""
    iri = activity_iri("no-define")
    store_definition(xapi, iri, {"name": {"en-US": "Original"}, "type": "http://trellis-conformance.example/t/1"})
    writer = xapi.with_auth(make_credential("statements/write").auth)
    s = store_definition(writer, iri, {"name": {"en-US": "Changed", "fr-FR": "Changé"},
                                       "type": "http://trellis-conformance.example/t/2"})
    assert definition_of(xapi, iri) == {"name": {"en-US": "Original"},
                                        "type": "http://trellis-conformance.example/t/1"}
    stored = xapi.fetch(s["id"])
    assert stored["object"]["definition"]["name"]["en-US"] == "Changed", "the statement itself is kept as sent"


def test_credential_without_define_scope_still_records_an_unknown_activity(xapi, make_credential):
    """Trellis: a statement about an Activity the LRS knows nothing about supplies its first
    definition whatever the credential (there is no canonical representation to protect yet)."""
    iri = activity_iri("first-definition")
    writer = xapi.with_auth(make_credential("statements/write").auth)
    store_definition(writer, iri, {"name": {"en-US": "First"}})
    assert definition_of(xapi, iri) == {"name": {"en-US": "First"}}


def test_credential_with_define_scope_changes_a_known_definition(xapi, make_credential):
    """Communication 4.2 (`define`: (re)Define Activities and Actors), Data 2.4.4.1.s4.b3."""
    iri = activity_iri("define")
    store_definition(xapi, iri, {"name": {"en-US": "Original"}})
    definer = xapi.with_auth(make_credential("statements/write", "define").auth)
    store_definition(definer, iri, {"name": {"fr-FR": "Redéfini"}, "type": "http://trellis-conformance.example/t/3"})
    assert definition_of(xapi, iri) == {"name": {"en-US": "Original", "fr-FR": "Redéfini"},
                                        "type": "http://trellis-conformance.example/t/3"}


# ---------------------------------------------------------------------------
# parameters and protocol
# ---------------------------------------------------------------------------

def test_get_without_activity_id_is_rejected_XAPI_00250(xapi):
    """XAPI-00250, Communication 2.5.s1.table1.row1: activityId is required -> 400."""
    assert_error(xapi.request("GET", "activities"), 400, "activityId")


@pytest.mark.parametrize("value", ["not an iri", "", "www.example.com/no-scheme", "urn"])
def test_get_with_activity_id_that_is_not_an_iri_is_rejected(xapi, value):
    """2.0 checklist 4.1.6.4 ("rejects a GET request with activityId as a parameter if it is not
    type String ... Should reject GET with activityId with invalid value"), Communication
    2.5.s1.table1.row1 (Activity id, an IRI) -> 400."""
    assert_error(get_activity(xapi, value), 400, "activityId")


@pytest.mark.parametrize("params", [
    {"activityId": "http://trellis-conformance.example/a", "foo": "bar"},
    {"activityid": "http://trellis-conformance.example/a"},
    {"ActivityId": "http://trellis-conformance.example/a"},
    {"activityId": "http://trellis-conformance.example/a", "profileId": "p"},
    {"activityId": "http://trellis-conformance.example/a",
     "agent": '{"mbox": "mailto:a@trellis-conformance.example"}'},
], ids=["unknown", "lower case", "upper case", "profileId", "agent"])
def test_unknown_or_wrongly_cased_parameter_is_rejected_XAPI_00324_00325(xapi, params):
    """XAPI-00324, XAPI-00325, Communication 3.2.s2.b1/s3.b8 -> 400."""
    assert_error(xapi.request("GET", "activities", params=params), 400)


@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE"])
def test_activities_resource_only_answers_get_and_head(xapi, method):
    """Communication 2.5 (only a GET is defined for the Activities Resource): other methods are
    refused with a 4xx status (405 Method Not Allowed or 400) and define nothing."""
    iri = activity_iri("methods")
    resp = xapi.request(method, "activities", params={"activityId": iri},
                        json_={"objectType": "Activity", "id": iri, "definition": {"name": {"en-US": "x"}}})
    assert resp.status_code in (400, 404, 405), describe(resp)
    assert fetch_activity(xapi, iri).get("definition") in (None, {})


def test_activities_request_without_version_header_is_rejected_XAPI_00321_00331(xapi):
    """XAPI-00321, XAPI-00331: every resource but About needs X-Experience-API-Version -> 400."""
    assert_error(get_activity(xapi, activity_iri(), version=None), 400)


def test_activities_request_without_credentials_is_rejected_XAPI_00334(xapi):
    """XAPI-00334: no credentials -> 401."""
    assert_error(get_activity(xapi, activity_iri(), auth=None), 401)


@pytest.mark.parametrize("case", ["known", "unknown", "missing parameter"])
def test_head_on_activities_responds_like_get_without_a_body_XAPI_00125_00126(xapi, case):
    """XAPI-00125, XAPI-00126, Communication 1.1 ("should succeed HEAD activities with no body")."""
    iri = activity_iri("head")
    if case == "known":
        store_definition(xapi, iri, FULL_DEFINITION)
    target = "/xapi/activities" + ("" if case == "missing parameter" else "?" + urlencode({"activityId": iri}))
    headers = {"X-Experience-API-Version": xapi.version, "Authorization": basic_auth_header(*xapi.auth)}
    assert_head_like_get(raw_http(xapi.server.origin, "GET", target, headers),
                         raw_http(xapi.server.origin, "HEAD", target, headers))
