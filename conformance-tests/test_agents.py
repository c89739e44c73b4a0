"""Agents Resource (Communication 2.4; XAPI-00236..00249; 2.0 checklist 4.1.6.3): the Person
Object for an Agent."""

import json
import re
from urllib.parse import urlencode

import pytest

from document_support import sha1_hex
from xapi_support import (account_agent, agent, assert_error, assert_head_like_get, basic_auth_header, describe,
                          is_json_content_type, json_body, mbox, new_id, raw_http, statement)

PERSON_PROPERTIES = {"objectType", "name", "mbox", "mbox_sha1sum", "openid", "account"}
MAILTO = re.compile(r"^mailto:[^@\s]+@[^@\s]+$")


def get_person(xapi, agent_param, **kw):
    return xapi.request("GET", "agents", params={"agent": agent_param}, **kw)


def person_of(xapi, a) -> dict:
    resp = get_person(xapi, a)
    assert resp.status_code == 200, describe(resp)
    assert is_json_content_type(resp.headers.get("Content-Type")), describe(resp)
    person = json_body(resp)
    assert isinstance(person, dict), describe(resp)
    check_person(person)
    return person


def check_person(person: dict) -> None:
    """Communication 2.4.s5/s6: objectType "Person"; every other property an array whose members
    have the definition of the Agent property of the same name; nothing else."""
    assert person.get("objectType") == "Person", person
    extra = set(person) - PERSON_PROPERTIES
    assert not extra, f"Person Object has properties beyond Communication 2.4.s5: {extra}"
    for key in PERSON_PROPERTIES - {"objectType"}:
        if key in person:
            assert isinstance(person[key], list), f"Person.{key} must be an array: {person}"
    for n in person.get("name", []):
        assert isinstance(n, str), person
    for m in person.get("mbox", []):
        assert isinstance(m, str) and MAILTO.match(m), f"mbox entry {m!r} is not mailto:address"
    for h in person.get("mbox_sha1sum", []):
        assert isinstance(h, str) and re.fullmatch(r"[0-9a-fA-F]{40}", h), person
    for o in person.get("openid", []):
        assert isinstance(o, str) and o, person
    for acc in person.get("account", []):
        assert isinstance(acc, dict) and isinstance(acc.get("homePage"), str) and isinstance(acc.get("name"), str), (
            f"account entries must be complete Account Objects: {person}")


# ---------------------------------------------------------------------------
# the Person Object
# ---------------------------------------------------------------------------

def test_unknown_agent_returns_a_person_with_the_agents_own_information_XAPI_00247_00236_00245(xapi):
    """XAPI-00247, XAPI-00236, XAPI-00245, Communication 2.4.s3.b3: GET base+/agents for an Agent
    the LRS has never seen -> 200 and a Person Object holding the information of the request."""
    a = agent("Never Seen")
    person = person_of(xapi, a)
    assert person["mbox"] == [a["mbox"]]
    assert person.get("name") == ["Never Seen"]


def test_agent_from_a_statement_returns_a_person_XAPI_00248_00237(xapi):
    """XAPI-00248, XAPI-00237, Communication 2.4.s2: for an Agent found in a statement -> 200 and a
    Person Object (objectType "Person") matching the agent parameter."""
    a = agent("Statement Actor")
    xapi.store(statement(actor=a))
    person = person_of(xapi, a)
    assert person["objectType"] == "Person"
    assert a["mbox"] in person["mbox"]
    assert "Statement Actor" in person.get("name", [])


def test_person_name_is_an_array_of_strings_XAPI_00238(xapi):
    """XAPI-00238, Communication 2.4.s5.table1.row2."""
    a = agent("Ada Lovelace")
    xapi.store(statement(actor=a))
    person = person_of(xapi, a)
    assert isinstance(person.get("name"), list) and "Ada Lovelace" in person["name"]


def test_person_mbox_is_an_array_of_mailto_iris_XAPI_00239_00244(xapi):
    """XAPI-00239, XAPI-00244, Communication 2.4.s5.table1.row3 (Array of IRIs in the form
    "mailto:email address")."""
    a = agent("Mailbox Holder")
    xapi.store(statement(actor=a))
    person = person_of(xapi, a)
    assert person["mbox"] == [a["mbox"]]
    assert all(m.startswith("mailto:") for m in person["mbox"])


def test_person_mbox_sha1sum_is_an_array_of_strings_XAPI_00240(xapi):
    """XAPI-00240, Communication 2.4.s5.table1.row4."""
    digest = sha1_hex(mbox().encode())
    a = {"objectType": "Agent", "mbox_sha1sum": digest}
    xapi.store(statement(actor=a))
    person = person_of(xapi, a)
    assert person.get("mbox_sha1sum") == [digest]


def test_person_openid_is_an_array_of_strings_XAPI_00241(xapi):
    """XAPI-00241, Communication 2.4.s5.table1.row5."""
    openid = f"http://trellis-conformance.example/openid/{new_id()}"
    a = {"objectType": "Agent", "name": "Open Id", "openid": openid}
    xapi.store(statement(actor=a))
    person = person_of(xapi, a)
    assert person.get("openid") == [openid]


def test_person_account_is_an_array_of_account_objects_XAPI_00242(xapi):
    """XAPI-00242, Communication 2.4.s5.table1.row6 (complete Account Objects: homePage and name)."""
    a = account_agent("Account Holder")
    xapi.store(statement(actor=a))
    person = person_of(xapi, a)
    assert person.get("account") == [a["account"]]


def test_person_object_is_built_only_from_person_properties_XAPI_00246(xapi):
    """XAPI-00246, Communication 2.4.s6.b1/b2: every attribute an array, members defined like the
    Agent property of the same name, no other properties (objectType from the request is
    "Person", not "Agent")."""
    a = agent("Only Person Properties")
    person = person_of(xapi, a)  # check_person asserts the shape
    assert person["objectType"] == "Person"
    assert set(person) <= PERSON_PROPERTIES


@pytest.mark.parametrize("form", ["bare", "with objectType", "with name"])
def test_agent_parameter_may_omit_optional_properties_XAPI_00248(xapi, form):
    """XAPI-00248, Data 2.4.2.1 (objectType optional for an Agent; name optional)."""
    box = mbox()
    a = {"bare": {"mbox": box}, "with objectType": {"objectType": "Agent", "mbox": box},
         "with name": {"name": "Named", "mbox": box}}[form]
    person = person_of(xapi, a)
    assert person["mbox"] == [box]


# ---------------------------------------------------------------------------
# the agent parameter
# ---------------------------------------------------------------------------

def test_get_without_agent_is_rejected_XAPI_00243(xapi):
    """XAPI-00243, Communication 2.4.s2.table1.row1: agent is required -> 400."""
    assert_error(xapi.request("GET", "agents"), 400, "agent")


BAD_AGENTS = {
    "not JSON": "not JSON",
    "JSON number": "42",
    "JSON array": '[{"mbox": "mailto:a@trellis-conformance.example"}]',
    "no identifier": '{"objectType": "Agent", "name": "Nobody"}',
    "mbox without mailto": '{"mbox": "a@trellis-conformance.example"}',
    "two identifiers": '{"mbox": "mailto:a@trellis-conformance.example", "openid": "http://trellis-conformance.example/o"}',
    "account without homePage": '{"account": {"name": "learner"}}',
    "unknown objectType": '{"objectType": "Robot", "mbox": "mailto:a@trellis-conformance.example"}',
    "name not a string": '{"name": 42, "mbox": "mailto:a@trellis-conformance.example"}',
    "objectType Person, single mbox": '{"objectType": "Person", "mbox": "mailto:a@trellis-conformance.example"}',
    "account without name": '{"account": {"homePage": "http://trellis-conformance.example"}}',
    "Person object": '{"objectType": "Person", "mbox": ["mailto:a@trellis-conformance.example"]}',
}


def fresh(value: str) -> str:
    """A bad agent value with a mailbox of its own, so that a server wrongly accepting it stores
    nothing another test could see."""
    return value.replace("a@trellis-conformance.example", f"{new_id()}@trellis-conformance.example")


@pytest.mark.parametrize("bad", list(BAD_AGENTS), ids=list(BAD_AGENTS))
def test_agent_that_is_not_a_valid_agent_is_rejected_XAPI_00249(xapi, bad):
    """XAPI-00249, Communication 2.4.s2 ("a normal Agent Object with a single identifier and no
    arrays. It is not a Person Object"): -> 400."""
    assert_error(get_person(xapi, fresh(BAD_AGENTS[bad])), 400, "agent")


@pytest.mark.parametrize("group", ["identified", "anonymous"])
def test_agent_that_is_a_group_is_rejected_XAPI_00249(xapi, group):
    """XAPI-00249, Communication 2.4.s2 ("The "agent" parameter is a normal Agent Object ... It is
    not a Person Object, nor is it a Group."): a Group -> 400."""
    if group == "identified":
        g = {"objectType": "Group", "name": "Team", "mbox": mbox()}
    else:
        g = {"objectType": "Group", "member": [agent("One"), agent("Two")]}
    assert_error(get_person(xapi, g), 400, "agent")


@pytest.mark.parametrize("params", [
    {"foo": "bar"}, {"Agent": None}, {"AGENT": None}, {"profileId": "p"}, {"activityId": "http://x.example/a"},
], ids=["unknown", "Agent", "AGENT", "profileId", "activityId"])
def test_unknown_or_wrongly_cased_parameter_is_rejected_XAPI_00324_00325(xapi, params):
    """XAPI-00324, XAPI-00325, Communication 3.2.s2.b1/s3.b8 -> 400."""
    a = agent()
    p = {"agent": a}
    for k, val in params.items():
        if val is None:
            p.pop("agent")
            p[k] = a
        else:
            p[k] = val
    assert_error(xapi.request("GET", "agents", params=p), 400)


def test_agents_request_without_version_header_is_rejected_XAPI_00321_00331(xapi):
    """XAPI-00321, XAPI-00331 -> 400."""
    assert_error(get_person(xapi, agent(), version=None), 400)


def test_agents_request_without_credentials_is_rejected_XAPI_00334(xapi):
    """XAPI-00334 -> 401."""
    assert_error(get_person(xapi, agent(), auth=None), 401)


@pytest.mark.parametrize("case", ["valid", "invalid agent"])
def test_head_on_agents_responds_like_get_without_a_body_XAPI_00125_00126(xapi, case):
    """XAPI-00125, XAPI-00126, Communication 1.1 ("should succeed HEAD agents with no body")."""
    value = json.dumps(agent("Head")) if case == "valid" else "not json"
    target = "/xapi/agents?" + urlencode({"agent": value})
    headers = {"X-Experience-API-Version": xapi.version, "Authorization": basic_auth_header(*xapi.auth)}
    assert_head_like_get(raw_http(xapi.server.origin, "GET", target, headers),
                         raw_http(xapi.server.origin, "HEAD", target, headers))
