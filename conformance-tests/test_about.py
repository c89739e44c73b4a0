"""About Resource (Communication 2.8; 9274.1.1 4.1.6.7)."""

import re

import pytest

from xapi_support import describe, is_json_content_type, json_body

KNOWN_VERSION = re.compile(r"^(0\.9|0\.95|1\.0\.\d+|2\.0\.\d+)$")


def get_about(xapi, **kw):
    return xapi.request("GET", "about", **kw)


def test_about_endpoint_returns_200_with_a_version_property_XAPI_00315_00319(xapi):
    """XAPI-00315, XAPI-00319: base IRI + /about answers GET with 200 and a version property."""
    resp = get_about(xapi)
    assert resp.status_code == 200, describe(resp)
    assert is_json_content_type(resp.headers.get("Content-Type")), describe(resp)
    assert "version" in json_body(resp), describe(resp)


def test_about_version_property_is_an_array_of_strings_XAPI_00318(xapi):
    """XAPI-00318: the version property is an array of strings."""
    body = json_body(get_about(xapi))
    assert isinstance(body["version"], list) and body["version"], body
    assert all(isinstance(x, str) for x in body["version"]), body


def test_about_lists_the_latest_1_0_patch_version_XAPI_00317(xapi):
    """XAPI-00317 (1.0.3): version contains a 1.0.x string -- for this LRS the latest patch, 1.0.3
    (Communication 2.8.s5.b1)."""
    body = json_body(get_about(xapi))
    assert "1.0.3" in body["version"], body


def test_about_lists_version_2_0_0_XAPI_00317(xapi):
    """XAPI-00317 (2.0 suite): the version property contains "2.0.0"."""
    body = json_body(get_about(xapi))
    assert "2.0.0" in body["version"], body


def test_about_versions_are_only_known_xapi_versions_XAPI_00316(xapi):
    """XAPI-00316: version values can only be 0.9, 0.95, 1.0.x (or 2.0.x for 9274.1.1)."""
    body = json_body(get_about(xapi))
    bad = [x for x in body["version"] if not KNOWN_VERSION.match(x)]
    assert not bad, f"unexpected version strings {bad}"
    assert len(body["version"]) == len(set(body["version"])), "duplicate version entries"


def test_about_has_no_properties_besides_version_and_extensions_XAPI_00320(xapi):
    """XAPI-00320, Communication 2.8.s5.b2: extensions, if present, is an object; no other
    properties may be added outside extensions."""
    body = json_body(get_about(xapi))
    assert set(body) <= {"version", "extensions"}, f"unexpected About properties: {set(body)}"
    if "extensions" in body:
        assert isinstance(body["extensions"], dict), body


def test_about_does_not_require_the_version_header_XAPI_00321(xapi):
    """XAPI-00321, Communication 2.8.s5.b4: About is the one resource that must not reject a
    request lacking X-Experience-API-Version."""
    resp = get_about(xapi, version=None)
    assert resp.status_code == 200, describe(resp)
    assert "1.0.3" in json_body(resp)["version"]


@pytest.mark.parametrize("header", ["0.9", "0.95", "1.1.0", "3.0.0", "not-a-version"])
def test_about_does_not_reject_requests_based_on_their_version_header(xapi, header):
    """Communication 2.8.s5.b4: the LRS MUST NOT reject About requests based on their version
    header (as would otherwise be required by Versioning)."""
    resp = get_about(xapi, version=header)
    assert resp.status_code == 200, describe(resp)


def test_about_is_readable_without_authentication(xapi):
    """Communication 2.8.s5.b3 (SHOULD): the LRS should allow unauthenticated access to About."""
    resp = get_about(xapi, auth=None)
    assert resp.status_code == 200, describe(resp)
    assert "version" in json_body(resp)


def test_about_response_carries_the_version_header_XAPI_00333(xapi, v):
    """XAPI-00333, Communication 3.3.s3.b1: every response carries X-Experience-API-Version."""
    resp = get_about(xapi)
    assert resp.headers.get("X-Experience-API-Version") in ("1.0.3", "2.0.0"), describe(resp)
