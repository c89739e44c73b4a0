"""What only the Agent Profile Resource (Communication 2.6; XAPI-00255..00284; 2.0 checklist
4.1.6.5) does: its `agent` parameter is an Agent Object, never a Group, and an Identified Group's
data is stored under the Group's identifier in an Agent Object.

The rules it shares with the State and Activity Profile Resources (PUT/POST/GET/DELETE, merge, ids,
since, parameters, the agent parameter, Last-Modified, HEAD, scopes) are in test_documents.py,
which runs each of them for this resource too; concurrency is in test_concurrency.py.
"""

import pytest

from document_support import AGENT_PROFILE, METHODS, Docs
from xapi_support import assert_error, mbox


@pytest.fixture
def docs(xapi):
    return Docs(xapi, AGENT_PROFILE)


def test_identified_group_identifier_inside_an_agent_object_is_accepted(docs):
    """Communication 2.6.s3 note: data about an Identified Group is stored using the Group's
    identifier within an Agent Object."""
    d = docs.with_context(agent={"objectType": "Agent", "mbox": mbox()})
    d.create("team-doc", {"team": True})
    assert d.json("team-doc") == {"team": True}


@pytest.mark.parametrize("method", METHODS)
def test_agent_that_is_a_group_is_rejected_XAPI_00255_00256_00257_00258(docs, method):
    """XAPI-00255..00258, Communication 2.6.s3 note ("The "agent" parameter is an Agent Object and
    not a Group. Learning Record Providers wishing to store data against an Identified Group can
    use the Identified Group's identifier within an Agent Object."): an identified Group as the
    agent parameter is not an Agent Object -> 400."""
    group = {"objectType": "Group", "name": "Team", "mbox": mbox()}
    assert_error(docs.send(method, params=docs.params("doc", agent=group)), 400, "agent")
    assert docs.with_context(agent={"mbox": group["mbox"]}).ids() == []
