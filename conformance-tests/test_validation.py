"""Statement data validation (Data 2.2, 2.4, 4.x; 9274.1.1 4.2).

Two tables: INVALID (each must be rejected with 400 and an error path naming the offending
property) and VALID (edge cases that must be accepted).  Each row's id starts with the
requirement it exercises.  Version-specific rows live in their own tables at the bottom.
"""

import hashlib
import pytest

from xapi_support import (DELETE, TEST_DOMAIN, UUID_RE, VERB_VOIDED, activity, activity_iri, agent,
                          anonymous_group, assert_error, describe, identified_group, mbox, mutate,
                          new_id, statement, substatement, verb)

EXT = f"http://{TEST_DOMAIN}/extensions/key"


def base() -> dict:
    return statement(actor=agent("Validation Tester"),
                     verb_=verb("http://adlnet.gov/expapi/verbs/answered", {"en-US": "answered"}),
                     object_=activity(activity_iri("validation"), {"name": {"en-US": "Validation"}}))


def with_def(**definition):
    def f():
        s = base()
        s["object"]["definition"] = {"name": {"en-US": "Q"}, **definition}
        return s
    return f


def m(path, value):
    """Row helper: mutate the base statement at `path`."""
    return lambda: mutate(base(), path, value)


def sub(path, value):
    """Row helper: statement whose object is a SubStatement mutated at `path`."""
    def f():
        s = base()
        s["object"] = mutate(substatement(), path, value)
        return s
    return f


def ctx(context, object_=None):
    def f():
        s = base()
        s["context"] = context
        if object_ is not None:
            s["object"] = object_
        return s
    return f


def raw(text):
    return lambda: text.replace("__ID__", new_id()).encode("utf-8")


SHA1 = hashlib.sha1(b"mailto:someone@example.com").hexdigest()
COMP = [{"id": "a", "description": {"en-US": "A"}}, {"id": "b", "description": {"en-US": "B"}}]


def row(req, name, fn, path):
    return pytest.param(fn, path, id=f"{req}-{name}")


INVALID = [
    # --- structure, null / empty (Data 2.2) -------------------------------------------------
    row("XAPI-00003", "missing-actor", m("actor", DELETE), "actor"),
    row("XAPI-00004", "missing-verb", m("verb", DELETE), "verb"),
    row("XAPI-00005", "missing-object", m("object", DELETE), "object"),
    row("XAPI-00001", "actor-null", m("actor", None), "actor"),
    row("XAPI-00001", "actor-name-null", m("actor.name", None), "name"),
    row("XAPI-00001", "verb-display-value-null", m("verb.display", {"en-US": None}), "display"),
    row("XAPI-00001", "context-registration-null", m("context", {"registration": None}), "registration"),
    row("XAPI-00001", "definition-moreInfo-null", m("object.definition.moreInfo", None), "moreInfo"),
    row("XAPI-00001", "timestamp-null", m("timestamp", None), "timestamp"),
    row("XAPI-00006", "actor-is-a-string", m("actor", "mailto:x@example.com"), "actor"),
    row("XAPI-00006", "verb-is-an-array", m("verb", [{"id": "http://example.com/v"}]), "verb"),
    row("XAPI-00006", "object-is-a-number", m("object", 42), "object"),
    row("XAPI-00006", "statement-is-an-array-of-strings-in-batch", lambda: ["not a statement"], None),
    row("XAPI-00007", "empty-string-id", m("id", ""), "id"),
    row("XAPI-00007", "empty-string-mbox", m("actor.mbox", ""), "mbox"),
    row("XAPI-00007", "empty-string-verb-id", m("verb.id", ""), "verb"),
    row("XAPI-00008", "key-case-Actor", lambda: {**{k: val for k, val in base().items() if k != "actor"},
                                                  "Actor": base()["actor"]}, "actor"),
    row("XAPI-00008", "key-case-verb-Display", m("verb.Display", {"en-US": "x"}), "display"),
    row("XAPI-00008", "key-case-objectType-in-object", m("object.ObjectType", "Activity"), "objecttype"),
    row("XAPI-00009", "enum-case-actor-objectType-agent", m("actor.objectType", "agent"), "objectType"),
    row("XAPI-00009", "enum-case-object-objectType-activity", m("object.objectType", "activity"), "objectType"),
    row("XAPI-00009", "enum-case-interactionType-Choice", with_def(interactionType="Choice", choices=COMP), "interactionType"),
    row("XAPI-00010", "unknown-top-level-property", m("dummy", "dummy"), "dummy"),
    row("XAPI-00010", "unknown-actor-property", m("actor.nickname", "x"), "nickname"),
    row("XAPI-00010", "unknown-result-property", m("result", {"grade": "A"}), "grade"),
    row("XAPI-00010", "unknown-context-property", m("context", {"mood": "happy"}), "mood"),
    row("XAPI-00010", "unknown-definition-property", m("object.definition.colour", "red"), "colour"),
    row("XAPI-00014", "malformed-json", raw('{"actor": {"mbox": "mailto:a@example.com"'), None),
    row("XAPI-00021", "duplicate-key", raw(
        '{"id": "__ID__", "actor": {"mbox": "mailto:a@example.com"}, "actor": {"mbox": "mailto:b@example.com"},'
        ' "verb": {"id": "http://example.com/v"}, "object": {"id": "http://example.com/a"}}'), None),
    # --- ids / UUIDs (Data 2.4.1, 4.4) -----------------------------------------------------
    row("XAPI-00027", "id-not-a-uuid", m("id", "not-a-uuid"), "id"),
    row("XAPI-00028", "id-is-a-number", m("id", 12345), "id"),
    row("XAPI-00029", "id-without-hyphens", m("id", "aa97b17793834934854300f91a7a0283"), "id"),
    row("XAPI-00029", "id-in-braces", m("id", "{aa97b177-9383-4934-8543-0f91a7a02836}"), "id"),
    row("XAPI-00030", "id-too-many-digits", m("id", "AA97B177-9383-4934-8543-0F91A7A028368"), "id"),
    row("XAPI-00030", "id-invalid-letter", m("id", "MA97B177-9383-4934-8543-0F91A7A02836"), "id"),
    # --- actor / agents / groups (Data 2.4.2) ---------------------------------------------
    row("XAPI-00031", "actor-objectType-Person", m("actor.objectType", "Person"), "objectType"),
    row("XAPI-00032", "actor-objectType-number", m("actor.objectType", 1), "objectType"),
    row("XAPI-00033", "actor-name-number", m("actor.name", 7), "name"),
    row("XAPI-00034", "agent-with-two-ifis", m("actor.openid", "http://example.com/openid"), "actor"),
    row("XAPI-00034", "agent-with-mbox-and-sha1", m("actor.mbox_sha1sum", SHA1), "actor"),
    row("XAPI-00034", "agent-without-ifi", m("actor", {"objectType": "Agent", "name": "Nobody"}), "actor"),
    row("XAPI-00035", "member-on-an-agent", m("actor.member", [agent()]), "member"),
    row("XAPI-00035", "member-on-an-activity", m("object.member", [agent()]), "member"),
    row("XAPI-00036", "group-member-not-an-array", m("actor", {"objectType": "Group", "member": agent()}), "member"),
    row("XAPI-00036", "group-member-contains-a-group", m("actor", anonymous_group(anonymous_group())), "member"),
    row("XAPI-00036", "group-member-agent-invalid-mbox", m("actor", {"objectType": "Group", "member": [{"mbox": "x@y.z"}]}), "mbox"),
    row("XAPI-00037", "anonymous-group-without-members", m("actor", {"objectType": "Group", "name": "Empty"}), "actor"),
    row("XAPI-00037", "anonymous-group-with-empty-member-array", m("actor", {"objectType": "Group", "member": []}), "member"),
    row("XAPI-00037", "identified-group-with-two-ifis", m("actor", {"objectType": "Group", "mbox": "mailto:g@example.com",
                                                               "openid": "http://example.com/g"}), "actor"),
    row("XAPI-00038", "mbox-without-mailto", m("actor.mbox", "someone@example.com"), "mbox"),
    row("XAPI-00038", "mbox-not-an-address", m("actor.mbox", "mailto:not-an-address"), "mbox"),
    row("XAPI-00038", "mbox-http-scheme", m("actor.mbox", "http://example.com/me"), "mbox"),
    row("XAPI-00039", "mbox_sha1sum-too-short", m("actor", {"objectType": "Agent", "mbox_sha1sum": "abc123"}), "mbox_sha1sum"),
    row("XAPI-00039", "mbox_sha1sum-not-hex", m("actor", {"objectType": "Agent", "mbox_sha1sum": "z" * 40}), "mbox_sha1sum"),
    row("XAPI-00039", "mbox_sha1sum-number", m("actor", {"objectType": "Agent", "mbox_sha1sum": 12345}), "mbox_sha1sum"),
    row("XAPI-00040", "openid-not-a-uri", m("actor", {"objectType": "Agent", "openid": "not a uri"}), "openid"),
    row("XAPI-00041", "account-is-a-string", m("actor", {"objectType": "Agent", "account": "bob"}), "account"),
    row("XAPI-00042", "account-without-homePage", m("actor", {"objectType": "Agent", "account": {"name": "bob"}}), "homePage"),
    row("XAPI-00042", "account-homePage-not-an-irl", m("actor", {"objectType": "Agent", "account": {"homePage": "not a url", "name": "bob"}}), "homePage"),
    row("XAPI-00011", "account-homePage-without-scheme", m("actor", {"objectType": "Agent", "account": {"homePage": "www.example.com", "name": "bob"}}), "homePage"),
    row("XAPI-00043", "account-without-name", m("actor", {"objectType": "Agent", "account": {"homePage": "http://example.com"}}), "name"),
    row("XAPI-00043", "account-name-object", m("actor", {"objectType": "Agent", "account": {"homePage": "http://example.com", "name": {"x": 1}}}), "name"),
    # --- verb (Data 2.4.3) ------------------------------------------------------------------
    row("XAPI-00044", "verb-without-id", m("verb", {"display": {"en-US": "did"}}), "verb"),
    row("XAPI-00044", "verb-id-not-an-iri", m("verb.id", "answered"), "verb"),
    row("XAPI-00011", "verb-id-without-scheme", m("verb.id", "www.example.com/verbs/answered"), "verb"),
    row("XAPI-00045", "verb-display-string", m("verb.display", "answered"), "display"),
    row("XAPI-00045", "verb-display-bad-language-tag", m("verb.display", {"not a tag": "answered"}), "display"),
    row("XAPI-00045", "verb-display-value-number", m("verb.display", {"en-US": 5}), "display"),
    row("XAPI-00121", "language-map-key-underscore", m("verb.display", {"en_US": "answered"}), "display"),
    row("XAPI-00013", "language-map-key-digits", m("object.definition.name", {"12345": "x"}), "name"),
    # --- object / activity (Data 2.4.4) ---------------------------------------------------------
    row("XAPI-00046", "object-objectType-Thing", m("object.objectType", "Thing"), "objectType"),
    row("XAPI-00047", "activity-without-id", m("object", {"objectType": "Activity", "definition": {"name": {"en-US": "x"}}}), "object"),
    row("XAPI-00047", "activity-id-not-an-iri", m("object.id", "not an iri"), "object"),
    row("XAPI-00011", "activity-id-without-scheme", m("object.id", "example.com/activity"), "object"),
    row("XAPI-00048", "definition-is-a-string", m("object.definition", "definition"), "definition"),
    row("XAPI-00049", "interactionType-unknown", with_def(interactionType="essay"), "interactionType"),
    row("XAPI-00049", "interactionType-number", with_def(interactionType=3), "interactionType"),
    row("XAPI-00050", "correctResponsesPattern-string", with_def(interactionType="fill-in", correctResponsesPattern="a"), "correctResponsesPattern"),
    row("XAPI-00050", "correctResponsesPattern-non-string-element", with_def(interactionType="fill-in", correctResponsesPattern=["a", 1]), "correctResponsesPattern"),
    row("XAPI-00051", "steps-not-an-array", with_def(interactionType="performance", steps={"id": "s1"}), "steps"),
    row("XAPI-00052", "target-element-without-id", with_def(interactionType="matching", source=COMP, target=[{"description": {"en-US": "T"}}]), "target"),
    row("XAPI-00053", "source-not-an-array", with_def(interactionType="matching", source="a", target=COMP), "source"),
    row("XAPI-00054", "scale-element-not-an-object", with_def(interactionType="likert", scale=["likert_0"]), "scale"),
    row("XAPI-00055", "choices-not-an-array", with_def(interactionType="choice", choices={"id": "a"}), "choices"),
    row("XAPI-00056", "definition-name-string", m("object.definition.name", "Validation"), "name"),
    row("XAPI-00057", "definition-extensions-array", m("object.definition.extensions", [1, 2]), "extensions"),
    row("XAPI-00058", "component-duplicate-ids", with_def(interactionType="choice", choices=[{"id": "a"}, {"id": "a"}]), "choices"),
    row("XAPI-00058", "component-id-missing", with_def(interactionType="choice", choices=[{"description": {"en-US": "A"}}]), "choices"),
    row("XAPI-00058", "component-id-number", with_def(interactionType="choice", choices=[{"id": 1}]), "choices"),
    row("XAPI-00059", "definition-description-bad-map", m("object.definition.description", {"en-US": ["x"]}), "description"),
    row("XAPI-00060", "definition-type-not-an-iri", m("object.definition.type", "interaction"), "type"),
    row("XAPI-00011", "definition-type-without-scheme", m("object.definition.type", "example.com/type"), "type"),
    row("XAPI-00061", "definition-moreInfo-not-an-irl", m("object.definition.moreInfo", "not a url"), "moreInfo"),
    row("XAPI-00062", "component-description-not-a-map", with_def(interactionType="choice", choices=[{"id": "a", "description": "A"}]), "description"),
    row("XAPI-00063", "component-not-an-object", with_def(interactionType="choice", choices=["a"]), "choices"),
    row("XAPI-00064", "correctResponsesPattern-without-interactionType", with_def(correctResponsesPattern=["a"]), "definition"),
    row("XAPI-00064", "choices-without-interactionType", with_def(choices=COMP), "definition"),
    row("XAPI-00065", "agent-object-without-objectType", m("object", {"mbox": "mailto:obj@example.com"}), "object"),
    row("XAPI-00065", "group-object-without-objectType", m("object", {"member": [{"mbox": "mailto:m@example.com"}]}), "object"),
    # --- substatements / statement refs --------------------------------------------------------
    row("XAPI-00066", "substatement-actor-without-ifi", sub("actor", {"objectType": "Agent", "name": "x"}), "actor"),
    row("XAPI-00066", "substatement-invalid-verb", sub("verb", {"id": "nope"}), "verb"),
    row("XAPI-00066", "substatement-missing-object", sub("object", DELETE), "object"),
    row("XAPI-00067", "substatement-with-authority", sub("authority", agent()), "authority"),
    row("XAPI-00068", "substatement-with-version", sub("version", "1.0.0"), "version"),
    row("XAPI-00069", "substatement-with-stored", sub("stored", "2020-01-01T00:00:00.000Z"), "stored"),
    row("XAPI-00070", "substatement-with-id", sub("id", "2e4b8c1a-9d6f-4f7e-8a3b-1c2d3e4f5a6b"), "id"),
    row("XAPI-00071", "substatement-containing-substatement", sub("object", substatement()), "object"),
    row("XAPI-00072", "statementref-without-id", m("object", {"objectType": "StatementRef"}), "id"),
    row("XAPI-00072", "statementref-id-not-a-uuid", m("object", {"objectType": "StatementRef", "id": "abc"}), "id"),
    row("XAPI-00073", "statementref-without-objectType", m("object", {"id": "2e4b8c1a-9d6f-4f7e-8a3b-1c2d3e4f5a6b"}), "object"),
    row("XAPI-00073", "substatement-without-objectType", lambda: mutate(base(), "object",
        {k: val for k, val in substatement().items() if k != "objectType"}), "object"),
    # --- result (Data 2.4.5) -----------------------------------------------------------------------
    row("XAPI-00074", "success-string", m("result", {"success": "yes"}), "success"),
    row("XAPI-00075", "completion-string-true", m("result", {"completion": "true"}), "completion"),
    row("XAPI-00076", "response-number", m("result", {"response": 42}), "response"),
    row("XAPI-00077", "duration-words", m("result", {"duration": "1 hour"}), "duration"),
    row("XAPI-00078", "result-extensions-array", m("result", {"extensions": ["x"]}), "extensions"),
    row("XAPI-00079", "score-not-an-object", m("result", {"score": 0.5}), "score"),
    row("XAPI-00080", "score-max-below-min", m("result", {"score": {"min": 10, "max": 5}}), "score"),
    row("XAPI-00006", "score-max-numeric-string", m("result", {"score": {"max": "100"}}), "max"),
    row("XAPI-00081", "score-min-string", m("result", {"score": {"min": "zero"}}), "min"),
    row("XAPI-00082", "score-raw-above-max", m("result", {"score": {"raw": 11, "min": 0, "max": 10}}), "score"),
    row("XAPI-00082", "score-raw-below-min", m("result", {"score": {"raw": -1, "min": 0, "max": 10}}), "score"),
    row("XAPI-00083", "score-scaled-above-1", m("result", {"score": {"scaled": 1.5}}), "scaled"),
    row("XAPI-00083", "score-scaled-below-minus-1", m("result", {"score": {"scaled": -1.01}}), "scaled"),
    # --- durations (Data 4.6) ----------------------------------------------------------------------
    row("XAPI-00124", "duration-alternative-format", m("result", {"duration": "P0000-00-00T01:00:00"}), "duration"),
    row("XAPI-00124", "duration-hours-without-T", m("result", {"duration": "P1H"}), "duration"),
    row("XAPI-00124", "duration-P-only", m("result", {"duration": "P"}), "duration"),
    row("XAPI-00124", "duration-PT-only", m("result", {"duration": "PT"}), "duration"),
    row("XAPI-00124", "duration-missing-P", m("result", {"duration": "T1H"}), "duration"),
    row("XAPI-00124", "duration-number", m("result", {"duration": 3600}), "duration"),
    # --- context (Data 2.4.6) --------------------------------------------------------------------
    row("XAPI-00084", "revision-with-agent-object", ctx({"revision": "r1"}, {"objectType": "Agent", "mbox": "mailto:o@example.com"}), "revision"),
    row("XAPI-00085", "platform-with-statementref-object", ctx({"platform": "web"}, {"objectType": "StatementRef", "id": "2e4b8c1a-9d6f-4f7e-8a3b-1c2d3e4f5a6b"}), "platform"),
    row("XAPI-00086", "contextActivities-string", ctx({"contextActivities": "parent"}), "contextActivities"),
    row("XAPI-00087", "registration-not-a-uuid", ctx({"registration": "not-a-uuid"}), "registration"),
    row("XAPI-00087", "instructor-without-ifi", ctx({"instructor": {"objectType": "Agent", "name": "x"}}), "instructor"),
    row("XAPI-00088", "team-is-an-agent", ctx({"team": {"objectType": "Agent", "mbox": "mailto:t@example.com"}}), "team"),
    row("XAPI-00089", "revision-number", ctx({"revision": 2}), "revision"),
    row("XAPI-00090", "platform-number", ctx({"platform": 2}), "platform"),
    row("XAPI-00091", "language-not-a-tag", ctx({"language": "not a language tag"}), "language"),
    row("XAPI-00092", "context-statement-is-an-activity", ctx({"statement": {"objectType": "Activity", "id": "http://example.com/a"}}), "statement"),
    row("XAPI-00093", "contextActivities-unknown-key", ctx({"contextActivities": {"parents": [{"id": "http://example.com/a"}]}}), "parents"),
    row("XAPI-00094", "contextActivities-value-not-an-activity", ctx({"contextActivities": {"parent": [{"name": "x"}]}}), "parent"),
    row("XAPI-00094", "contextActivities-activity-bad-id", ctx({"contextActivities": {"grouping": [{"id": "no iri"}]}}), "grouping"),
    row("XAPI-00095", "contextActivities-empty", ctx({"contextActivities": {}}), "contextActivities"),
    row("XAPI-00118", "context-extension-key-not-an-iri", ctx({"extensions": {"color": "red"}}), "extensions"),
    row("XAPI-00120", "context-extensions-not-an-object", ctx({"extensions": "x"}), "extensions"),
    # --- timestamps (Data 2.4.7, 4.5) ------------------------------------------------------------
    row("XAPI-00022", "timestamp-free-text", m("timestamp", "should fail"), "timestamp"),
    row("XAPI-00123", "timestamp-us-date", m("timestamp", "01/011/2015"), "timestamp"),
    row("XAPI-00123", "timestamp-month-13", m("timestamp", "2015-13-01T00:00:00Z"), "timestamp"),
    row("XAPI-00123", "timestamp-february-30", m("timestamp", "2015-02-30T00:00:00Z"), "timestamp"),
    row("XAPI-00123", "timestamp-hour-25", m("timestamp", "2015-01-01T25:00:00Z"), "timestamp"),
    row("XAPI-00123", "timestamp-number", m("timestamp", 1420070400), "timestamp"),
    row("XAPI-00066", "substatement-timestamp-invalid", sub("timestamp", "yesterday"), "timestamp"),
    # --- authority / attachments / version ----------------------------------------------------
    row("XAPI-00024", "authority-is-an-activity", m("authority", {"objectType": "Activity", "id": "http://example.com/a"}), "authority"),
    row("XAPI-00024", "authority-agent-without-ifi", m("authority", {"objectType": "Agent", "name": "x"}), "authority"),
    row("XAPI-00098", "authority-group-with-three-members", m("authority", anonymous_group(agent(), agent(), agent())), "authority"),
    row("XAPI-00098", "authority-group-with-one-member", m("authority", anonymous_group(agent())), "authority"),
    row("XAPI-00025", "attachments-not-an-array", m("attachments", {"usageType": "http://example.com/u"}), "attachments"),
    row("XAPI-00101", "version-free-text", m("version", "should fail"), "version"),
    row("XAPI-00101", "version-0.9.9", m("version", "0.9.9"), "version"),
    row("XAPI-00101", "version-1.1.0", m("version", "1.1.0"), "version"),
    row("XAPI-00101", "version-number", m("version", 1.0), "version"),
    # --- extensions (Data 4.1) ---------------------------------------------------------------------
    row("XAPI-00118", "activity-extension-key-not-an-iri", m("object.definition.extensions", {"key": 1}), "extensions"),
    row("XAPI-00118", "result-extension-key-without-scheme", m("result", {"extensions": {"example.com/ext": 1}}), "extensions"),
    row("XAPI-00120", "result-extensions-string", m("result", {"extensions": "x"}), "extensions"),
    # --- voiding shape -----------------------------------------------------------------------------
    row("XAPI-00017", "voided-verb-with-agent-object", lambda: mutate(mutate(base(), "verb", {"id": VERB_VOIDED}),
                                                                     "object", {"objectType": "Agent", "mbox": "mailto:x@example.com"}), "object"),
]


VALID = [
    row("XAPI-00119", "activity-extensions-empty-object", m("object.definition.extensions", {}), None),
    row("XAPI-00119", "activity-extension-value-null", m("object.definition.extensions", {EXT: None}), None),
    row("XAPI-00119", "activity-extension-value-empty-string", m("object.definition.extensions", {EXT: ""}), None),
    row("XAPI-00119", "activity-extension-value-empty-object", m("object.definition.extensions", {EXT: {}}), None),
    row("XAPI-00119", "result-extension-values-null-empty", m("result", {"extensions": {EXT: None, EXT + "2": "", EXT + "3": {}}}), None),
    row("XAPI-00119", "context-extension-values-null-empty", ctx({"extensions": {EXT: None, EXT + "2": "", EXT + "3": {}}}), None),
    row("XAPI-00119", "substatement-extension-values-null-empty", sub("result", {"extensions": {EXT: None, EXT + "2": {}}}), None),
    row("XAPI-00119", "substatement-context-extensions-empty", sub("context", {"extensions": {}}), None),
    row("XAPI-00030", "uppercase-uuid-id", lambda: mutate(base(), "id", new_id().upper()), None),
    row("XAPI-00034", "agent-with-mbox_sha1sum", m("actor", {"objectType": "Agent", "mbox_sha1sum": hashlib.sha1(mbox().encode()).hexdigest()}), None),
    row("XAPI-00034", "agent-with-openid", m("actor", {"objectType": "Agent", "openid": f"http://{TEST_DOMAIN}/openid/x"}), None),
    row("XAPI-00034", "agent-with-account", m("actor", {"objectType": "Agent", "account": {"homePage": "http://example.com", "name": "Bob Smith 1"}}), None),
    row("XAPI-00034", "agent-without-objectType", m("actor", {"mbox": "mailto:no-object-type@example.com"}), None),
    row("XAPI-00037", "anonymous-group-actor", m("actor", anonymous_group()), None),
    row("XAPI-00037", "identified-group-without-members", m("actor", identified_group()), None),
    row("XAPI-00037", "identified-group-with-members", m("actor", identified_group(agent(), agent())), None),
    row("XAPI-00044", "verb-without-display", m("verb", {"id": "http://adlnet.gov/expapi/verbs/experienced"}), None),
    row("XAPI-00044", "verb-urn-iri", m("verb.id", "urn:x-trellis:verb:did"), None),
    row("XAPI-00044", "iri-with-unicode", m("object.id", f"http://{TEST_DOMAIN}/activités/ünïcödé"), None),
    row("XAPI-00045", "language-tags-variety", m("verb.display", {"en": "a", "zh-Hant-TW": "b", "es-419": "c", "de-CH-1901": "d", "und": "e"}), None),
    row("XAPI-00046", "object-agent", m("object", {"objectType": "Agent", "mbox": "mailto:obj@example.com"}), None),
    row("XAPI-00046", "object-group", m("object", anonymous_group()), None),
    row("XAPI-00046", "object-statementref", m("object", {"objectType": "StatementRef", "id": "2e4b8c1a-9d6f-4f7e-8a3b-1c2d3e4f5a6b"}), None),
    row("XAPI-00046", "object-substatement-with-future-timestamp", m("object", substatement(timestamp="2999-01-01T00:00:00.000Z")), None),
    row("XAPI-00046", "activity-without-objectType", m("object", {"id": "http://example.com/no-object-type"}), None),
    row("XAPI-00049", "interaction-true-false", with_def(interactionType="true-false", correctResponsesPattern=["true"]), None),
    row("XAPI-00049", "interaction-choice", with_def(interactionType="choice", correctResponsesPattern=["a[,]b"], choices=COMP), None),
    row("XAPI-00049", "interaction-fill-in", with_def(interactionType="fill-in", correctResponsesPattern=["{case_matters=false}Bob"]), None),
    row("XAPI-00049", "interaction-long-fill-in", with_def(interactionType="long-fill-in", correctResponsesPattern=["{lang=en}essay"]), None),
    row("XAPI-00049", "interaction-matching", with_def(interactionType="matching", correctResponsesPattern=["a[.]b"], source=COMP, target=COMP), None),
    row("XAPI-00049", "interaction-performance", with_def(interactionType="performance", correctResponsesPattern=["a[.]1:3"], steps=COMP), None),
    row("XAPI-00049", "interaction-sequencing", with_def(interactionType="sequencing", correctResponsesPattern=["a[,]b"], choices=COMP), None),
    row("XAPI-00049", "interaction-likert", with_def(interactionType="likert", correctResponsesPattern=["a"], scale=COMP), None),
    row("XAPI-00049", "interaction-numeric", with_def(interactionType="numeric", correctResponsesPattern=["4[:]"]), None),
    row("XAPI-00049", "interaction-other", with_def(interactionType="other", correctResponsesPattern=["(35.937432,-86.868896)"]), None),
    row("XAPI-00080", "score-raw-equals-min-and-max", m("result", {"score": {"raw": 5, "min": 5, "max": 5}}), None),
    row("XAPI-00082", "score-raw-without-bounds-any-number", m("result", {"score": {"raw": -12345.5}}), None),
    row("XAPI-00083", "score-scaled-bounds", m("result", {"score": {"scaled": -1}}), None),
    row("XAPI-00083", "score-scaled-upper-bound", m("result", {"score": {"scaled": 1}}), None),
    row("XAPI-00124", "duration-full", m("result", {"duration": "P1Y2M3DT4H5M6.5S"}), None),
    row("XAPI-00124", "duration-weeks", m("result", {"duration": "P4W"}), None),
    row("XAPI-00124", "duration-hundredths", m("result", {"duration": "PT0.01S"}), None),
    row("XAPI-00124", "duration-zero", m("result", {"duration": "PT0S"}), None),
    row("XAPI-00084", "revision-and-platform-with-activity", ctx({"revision": "r1", "platform": "web"}), None),
    row("XAPI-00091", "context-language-tag", ctx({"language": "zh-Hant-TW"}), None),
    row("XAPI-00096", "contextActivities-single-object", ctx({"contextActivities": {"parent": {"id": "http://example.com/p"}}}), None),
    row("XAPI-00123", "timestamp-with-offset", m("timestamp", "2015-06-01T12:00:00+05:30"), None),
    row("XAPI-00123", "timestamp-without-fraction", m("timestamp", "2015-06-01T12:00:00Z"), None),
    row("XAPI-00122", "timestamp-nanoseconds", m("timestamp", "2015-06-01T12:00:00.123456789Z"), None),
    row("XAPI-00123", "timestamp-in-the-future", m("timestamp", "2999-12-31T23:59:59.999Z"), None),
    row("XAPI-00024", "authority-agent-is-accepted", m("authority", agent("Some Authority")), None),
    row("XAPI-00098", "authority-group-of-two-agents", m("authority", {"objectType": "Group", "member": [
        {"account": {"homePage": "http://example.com/xAPI/OAuth/Token", "name": "oauth_consumer_x75db"}}, agent()]}), None),
    row("XAPI-00097", "stored-provided", m("stored", "2015-06-01T12:00:00.000Z"), None),
    row("XAPI-00101", "version-1.0.0", m("version", "1.0.0"), None),
    row("XAPI-00101", "version-1.0.9", m("version", "1.0.9"), None),
]


def _send(xapi, made):
    if isinstance(made, bytes):
        return xapi.request("POST", "statements", data=made, headers={"Content-Type": "application/json"})
    return xapi.post(made)


def _stored_ids(made):
    if isinstance(made, dict) and isinstance(made.get("id"), str):
        return [made["id"]]
    return []


@pytest.mark.parametrize("make,path", INVALID)
def test_invalid_statement_is_rejected_with_400_on_post(xapi, make, path):
    """XAPI-00001, 00003-00011, 00013, 00014, 00017, 00021, 00022, 00024, 00025, 00027-00098,
    00100, 00101, 00118, 00120, 00121, 00123, 00124 (one requirement per row id): invalid
    statements are rejected with 400, the error names the offending property, nothing is stored."""
    made = make()
    resp = _send(xapi, made)
    assert_error(resp, 400, path=path)
    for sid in _stored_ids(made):
        if UUID_RE.match(sid):
            got = xapi.get({"statementId": sid})
            assert got.status_code == 404, f"rejected statement is retrievable\n{describe(got)}"


@pytest.mark.parametrize("make,path", [p for p in INVALID if not isinstance(p.values[0](), (bytes, list))])
def test_invalid_statement_is_rejected_with_400_on_put(xapi, make, path):
    """Same requirement rows as the POST table, sent with PUT ?statementId= (Communication 2.1.1)."""
    made = make()
    sid = made["id"] if isinstance(made.get("id"), str) and UUID_RE.match(made["id"]) else new_id()
    resp = xapi.request("PUT", "statements", params={"statementId": sid}, json_=made)
    assert_error(resp, 400)
    assert xapi.get({"statementId": sid}).status_code == 404


@pytest.mark.parametrize("make,path", VALID)
def test_valid_edge_case_statement_is_accepted(xapi, make, path):
    """XAPI-00119, XAPI-00034, XAPI-00037, XAPI-00044-00050, XAPI-00080-00084, XAPI-00091,
    XAPI-00096-00098, XAPI-00101, XAPI-00122-00124 (per row id): valid edge cases are accepted
    (200) and retrievable."""
    made = make()
    resp = xapi.post(made)
    assert resp.status_code == 200, describe(resp)
    ids = resp.json()
    assert len(ids) == 1
    assert xapi.get({"statementId": ids[0]}).status_code == 200


# ---------------------------------------------------------------------------
# version specific
# ---------------------------------------------------------------------------

CONTEXT_AGENTS = {"contextAgents": [{
    "objectType": "contextAgent", "agent": {"objectType": "Agent", "mbox": "mailto:player-1@example.com"},
    "relevantTypes": ["https://example.com/xapi/activity-types/personnel/player"]}]}
CONTEXT_GROUPS = {"contextGroups": [{
    "objectType": "contextGroup",
    "group": {"objectType": "Group", "mbox": "mailto:team-1@example.com",
              "member": [{"objectType": "Agent", "mbox": "mailto:player-1@example.com"}]},
    "relevantTypes": ["https://example.com/xapi/activity-types/team/a"]}]}


@pytest.mark.parametrize("context", [CONTEXT_AGENTS, CONTEXT_GROUPS], ids=["contextAgents", "contextGroups"])
@pytest.mark.parametrize("where", ["statement", "substatement"])
def test_context_agents_and_groups_are_accepted_and_returned_in_2_0(xapi2, context, where):
    """9274.1.1 Data (context): contextAgents / contextGroups are arrays of contextAgent /
    contextGroup objects (2.0 suite, Data2.4.6); they are stored and returned unchanged."""
    s = base()
    if where == "statement":
        s["context"] = context
    else:
        s["object"] = substatement(context=context)
    resp = xapi2.post(s)
    assert resp.status_code == 200, describe(resp)
    got = xapi2.fetch(s["id"])
    node = got["context"] if where == "statement" else got["object"]["context"]
    key = next(iter(context))
    assert node[key] == context[key]


@pytest.mark.parametrize("context", [CONTEXT_AGENTS, CONTEXT_GROUPS], ids=["contextAgents", "contextGroups"])
def test_context_agents_and_groups_are_rejected_in_1_0_3_XAPI_00010(xapi1, context):
    """XAPI-00010: contextAgents/contextGroups do not exist in 1.0.3 -> unknown key -> 400."""
    s = base()
    s["context"] = context
    assert_error(xapi1.post(s), 400, path=next(iter(context)))


def _ca(**over):
    item = {"objectType": "contextAgent", "agent": {"objectType": "Agent", "mbox": "mailto:p@example.com"}}
    item.update(over)
    return {"contextAgents": [{k: val for k, val in item.items() if val is not DELETE}]}


def _cg(**over):
    item = {"objectType": "contextGroup", "group": {"objectType": "Group", "mbox": "mailto:g@example.com"}}
    item.update(over)
    return {"contextGroups": [{k: val for k, val in item.items() if val is not DELETE}]}


INVALID_2_0_CONTEXT = [
    pytest.param(_ca(objectType="Should fail"), "contextAgents", id="contextAgent-wrong-objectType"),
    pytest.param(_ca(agent={"key": "Should fail"}), "contextAgents", id="contextAgent-invalid-agent"),
    pytest.param(_ca(agent={"objectType": "Group", "mbox": "mailto:g@example.com"}), "contextAgents", id="contextAgent-agent-is-a-group"),
    pytest.param(_ca(agent=DELETE), "contextAgents", id="contextAgent-without-agent"),
    pytest.param(_ca(relevantTypes=[]), "relevantTypes", id="contextAgent-empty-relevantTypes"),
    pytest.param(_ca(relevantTypes=["abc"]), "relevantTypes", id="contextAgent-relevantType-not-an-iri"),
    pytest.param({"contextAgents": {"objectType": "contextAgent"}}, "contextAgents", id="contextAgents-not-an-array"),
    pytest.param(_cg(objectType="Should fail"), "contextGroups", id="contextGroup-wrong-objectType"),
    pytest.param(_cg(group={"key": "Should fail"}), "contextGroups", id="contextGroup-invalid-group"),
    pytest.param(_cg(group={"objectType": "Agent", "mbox": "mailto:a@example.com"}), "contextGroups", id="contextGroup-group-is-an-agent"),
    pytest.param(_cg(relevantTypes=[]), "relevantTypes", id="contextGroup-empty-relevantTypes"),
    pytest.param(_cg(relevantTypes=["abc"]), "relevantTypes", id="contextGroup-relevantType-not-an-iri"),
]


@pytest.mark.parametrize("context,path", INVALID_2_0_CONTEXT)
@pytest.mark.parametrize("where", ["statement", "substatement"])
def test_invalid_context_agents_or_groups_are_rejected_in_2_0(xapi2, context, path, where):
    """9274.1.1 context rules (2.0 suite configs contextagents/contextgroups): objectType must be
    contextAgent/contextGroup, agent/group must be a valid Agent/Group, relevantTypes a non-empty
    array of IRIs."""
    s = base()
    if where == "statement":
        s["context"] = context
    else:
        s["object"] = substatement(context=context)
    assert_error(xapi2.post(s), 400, path=path)


@pytest.mark.parametrize("ts", ["2008-09-15T15:53:00.601-00:00", "2008-09-15T15:53:00.601-0000",
                                "2008-09-15T15:53:00.601-00"])
@pytest.mark.parametrize("where", ["statement", "substatement"])
def test_timestamp_with_negative_zero_offset_is_rejected_in_2_0_XAPI_00123(xapi2, ts, where):
    """XAPI-00123 (2.0 suite timestamps config): 9274.1.1 requires RFC 3339 timestamps that are
    also ISO 8601, which forbids a negative zero offset."""
    s = base()
    if where == "statement":
        s["timestamp"] = ts
    else:
        s["object"] = substatement(timestamp=ts)
    assert_error(xapi2.post(s), 400, path="timestamp")


def test_iso8601_basic_format_timestamp_is_accepted_in_1_0_3_XAPI_00123(xapi1):
    """XAPI-00123: 1.0.3 rejects only timestamps that are neither ISO 8601 Extended nor Basic."""
    s = base()
    s["timestamp"] = "20150601T120000Z"
    resp = xapi1.post(s)
    assert resp.status_code == 200, describe(resp)
    assert xapi1.fetch(s["id"])["timestamp"] == "2015-06-01T12:00:00.000Z"


@pytest.mark.parametrize("version", ["2.0.0", "1.0.0", "1.0.3"])
def test_statement_version_values_accepted_in_2_0_XAPI_00101(xapi2, version):
    """XAPI-00101 (2.0 suite version config): a 2.0 LRS accepts 2.0.x and 1.0.x statement versions."""
    s = base()
    s["version"] = version
    resp = xapi2.post(s)
    assert resp.status_code == 200, describe(resp)


def test_duration_with_more_than_hundredths_precision_is_accepted_in_2_0(xapi2):
    """9274.1.1 4.2.7 (2.0 suite): a Duration with more than 0.01 s precision is not rejected; it
    may only be truncated (not rounded) to hundredths."""
    s = base()
    s["result"] = {"duration": "P1DT12H36M0.12567S"}
    resp = xapi2.post(s)
    assert resp.status_code == 200, describe(resp)
    got = xapi2.fetch(s["id"])["result"]["duration"]
    assert got in ("P1DT12H36M0.12567S", "P1DT12H36M0.12S"), got
