"""What only the Activity Profile Resource (Communication 2.7; XAPI-00285..00314; 2.0 checklist
4.1.6.6) does: it has no `agent` parameter, and its documents belong to the Activity alone.

The rules it shares with the State and Agent Profile Resources (PUT/POST/GET/DELETE, merge, ids,
since, parameters, Last-Modified, HEAD, scopes) are in test_documents.py, which runs each of them for
this resource too; concurrency is in test_concurrency.py.
"""

import pytest

from document_support import ACTIVITY_PROFILE, METHODS, Docs
from xapi_support import agent, assert_error, statement


@pytest.fixture
def docs(xapi):
    return Docs(xapi, ACTIVITY_PROFILE)


@pytest.mark.parametrize("value", ["not JSON", '{"mbox": "mailto:a@trellis-conformance.example"}'])
@pytest.mark.parametrize("method", METHODS)
def test_agent_parameter_is_rejected_XAPI_00304_00324(docs, method, value):
    """XAPI-00304 ("rejects a GET request with agent as a parameter if it is not in JSON format"),
    XAPI-00324: the Activity Profile Resource has no `agent` parameter, so any agent -> 400."""
    assert_error(docs.send(method, params=docs.params("doc", agent=value)), 400)
    assert docs.ids() == []


def test_activity_profile_does_not_depend_on_statements_about_the_activity(docs, xapi):
    """Communication 2.2.s4.b2: no prior knowledge needed -- and a statement about the Activity
    afterwards does not touch its profile documents."""
    docs.create("doc", {"a": 1})
    xapi.store(statement(actor=agent(), object_={"objectType": "Activity", "id": docs.context["activityId"]}))
    assert docs.ids() == ["doc"]
    assert docs.json("doc") == {"a": 1}
