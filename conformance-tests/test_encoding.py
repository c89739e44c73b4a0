"""Encoding (Communication 1.4; XAPI-00015): all strings are UTF-8."""

import json

import pytest

from xapi_support import (activity, activity_iri, agent, assert_error, describe, is_json_content_type,
                          statement, verb, TEST_DOMAIN)

SAMPLES = {
    "latin": "Zoë Ŝtraße – naïve café",
    "cjk": "東京都 학습 記録",
    "rtl": "مرحبا بالعالم שלום",
    "emoji": "🚀📚✅ 👩🏽‍🏫",
    "combining": "e\u0301 vs \u00e9",
    "control-escapes": "tab\tnewline\nquote\"backslash\\",
}


@pytest.mark.parametrize("label", sorted(SAMPLES))
def test_non_ascii_strings_round_trip_unchanged_XAPI_00015(xapi, label):
    """XAPI-00015: strings are encoded and interpreted as UTF-8 -- names, language maps, results
    and extension values come back byte-for-byte (no normalisation)."""
    text = SAMPLES[label]
    s = statement(
        actor=agent(text),
        verb_=verb(f"http://{TEST_DOMAIN}/verbs/said", {"en-US": text, "ja-JP": text}),
        object_=activity(activity_iri(), {"name": {"en-US": text}, "description": {"ar": text},
                                          "extensions": {f"http://{TEST_DOMAIN}/ext": {"v": text}}}),
        result={"response": text},
    )
    resp = xapi.request("POST", "statements", data=json.dumps(s, ensure_ascii=False).encode("utf-8"),
                        headers={"Content-Type": "application/json"})
    assert resp.status_code == 200, describe(resp)
    got = xapi.fetch(s["id"])
    for k in ("actor", "verb", "object", "result"):
        assert got[k] == s[k], k


def test_json_unicode_escapes_are_decoded_XAPI_00015(xapi):
    """XAPI-00015: \\u escapes (including surrogate pairs) denote the same characters."""
    body = ('{"id": "%s", "actor": {"objectType": "Agent", "name": "caf\\u00e9 \\ud83d\\ude80",'
            ' "mbox": "mailto:escape@%s"}, "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},'
            ' "object": {"id": "%s"}}')
    s = statement()
    raw = body % (s["id"], TEST_DOMAIN, s["object"]["id"])
    resp = xapi.request("POST", "statements", data=raw.encode("ascii"), headers={"Content-Type": "application/json"})
    assert resp.status_code == 200, describe(resp)
    assert xapi.fetch(s["id"])["actor"]["name"] == "café 🚀"


def test_response_body_is_utf8_encoded_XAPI_00015(xapi):
    """XAPI-00015: the LRS's JSON responses are UTF-8 (charset, if declared, is utf-8)."""
    s = statement(actor=agent("Łódź 北京"))
    xapi.store(s)
    resp = xapi.get({"statementId": s["id"]})
    ctype = resp.headers.get("Content-Type", "")
    assert is_json_content_type(ctype), ctype
    if "charset=" in ctype.lower():
        assert ctype.lower().split("charset=")[1].strip().strip('"') in ("utf-8", "utf8"), ctype
    assert json.loads(resp.content.decode("utf-8"))["actor"]["name"] == "Łódź 北京"


@pytest.mark.parametrize("bad", [b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80"],
                         ids=["invalid-start-bytes", "invalid-continuation", "encoded-surrogate"])
def test_body_that_is_not_valid_utf8_is_rejected_XAPI_00015(xapi, bad):
    """XAPI-00015: a statement whose bytes are not UTF-8 cannot be interpreted -> 400."""
    s = statement()
    text = json.dumps(s, ensure_ascii=False).encode("utf-8")
    marker = b'"Conformance Tester"'
    assert marker in text
    raw = text.replace(marker, b'"Conformance ' + bad + b'"')
    resp = xapi.request("POST", "statements", data=raw, headers={"Content-Type": "application/json"})
    assert_error(resp, 400)
    assert xapi.get({"statementId": s["id"]}).status_code == 404


def test_percent_encoded_unicode_query_parameters_are_decoded_as_utf8(xapi):
    """XAPI-00015: IRIs with non-ASCII characters used as query parameters are matched as UTF-8."""
    iri = f"http://{TEST_DOMAIN}/activités/ü/{statement()['id']}"
    s = statement(object_=activity(iri))
    xapi.store(s)
    assert xapi.query_ids(activity=iri) == [s["id"]]
