"""Attachments (Data 2.4.11; Communication 1.5, 2.1.3 'attachments' parameter)."""

import hashlib
import json

import pytest

from xapi_support import (Part, activity, activity_iri, assert_error, attachment_meta, attachment_part,
                          build_multipart, describe, is_json_content_type, json_body, json_part,
                          multipart_content_type, new_boundary, new_id, parse_multipart, sha256_hex,
                          statement)

FILE_URL = "http://trellis-conformance.example/files/attachment.txt"


def content_bytes(label="attachment") -> bytes:
    return f"here is a simple {label} {new_id()}\n".encode("utf-8")


def post_multipart(xapi, parts, boundary=None, content_type=None, method="POST", params=None):
    boundary = boundary or new_boundary()
    body = build_multipart(parts, boundary)
    return xapi.request(method, "statements", params=params, data=body,
                        headers={"Content-Type": content_type or multipart_content_type(boundary)})


def stmt_with_raw_attachment(data: bytes, **meta_kw):
    s = statement()
    s["attachments"] = [attachment_meta(data, **meta_kw)]
    return s


def assert_not_stored(xapi, sid):
    got = xapi.get({"statementId": sid})
    assert got.status_code == 404, f"rejected statement was stored\n{describe(got)}"


# ---------------------------------------------------------------------------
# accepted forms
# ---------------------------------------------------------------------------

def test_file_url_attachment_in_application_json_is_accepted_XAPI_00127(xapi):
    """XAPI-00127 (positive), Communication 1.5.1.s1.b2: application/json batches whose
    attachments all have a fileUrl are accepted; the metadata is stored."""
    data = content_bytes()
    s = statement()
    s["attachments"] = [attachment_meta(data, file_url=FILE_URL)]
    assert xapi.post(s).status_code == 200
    assert xapi.fetch(s["id"])["attachments"] == s["attachments"]


def test_raw_attachment_in_multipart_mixed_is_accepted_XAPI_00127(xapi):
    """XAPI-00127 (positive), Communication 1.5.2.s3.b4: multipart/mixed with statement part plus
    one binary part per non-fileUrl attachment is accepted."""
    data = content_bytes()
    s = stmt_with_raw_attachment(data)
    resp = post_multipart(xapi, [json_part(s), attachment_part(data)])
    assert resp.status_code == 200, describe(resp)
    assert json_body(resp) == [s["id"]]
    assert xapi.fetch(s["id"])["attachments"] == s["attachments"]


def test_raw_attachment_via_put_multipart_is_accepted(xapi):
    """Communication 1.5.2.s2.b2.b2: attachments are available when issuing PUT too (204)."""
    data = content_bytes()
    s = stmt_with_raw_attachment(data)
    resp = post_multipart(xapi, [json_part(s), attachment_part(data)], method="PUT",
                          params={"statementId": s["id"]})
    assert resp.status_code == 204, describe(resp)
    assert xapi.fetch(s["id"])["attachments"] == s["attachments"]


def test_multipart_without_any_attachments_is_accepted(xapi):
    """Communication 1.5.2.s3.b8 (SHOULD*; 2.0 suite): multipart/mixed with no attachment objects."""
    s = statement()
    resp = post_multipart(xapi, [json_part(s)])
    assert resp.status_code == 200, describe(resp)
    assert xapi.fetch(s["id"])["id"] == s["id"]


def test_multipart_with_only_file_url_attachments_is_accepted(xapi):
    """Communication 1.5.2.s3.b9 (SHOULD*; 2.0 suite): multipart/mixed whose attachments all have
    a fileUrl needs no binary parts."""
    s = statement()
    s["attachments"] = [attachment_meta(content_bytes(), file_url=FILE_URL)]
    resp = post_multipart(xapi, [json_part(s)])
    assert resp.status_code == 200, describe(resp)


def test_batch_sharing_one_attachment_part_is_accepted(xapi):
    """Communication 1.5.2.s2.b2.b5: one copy of an attachment used by several statements."""
    data = content_bytes()
    a, b = stmt_with_raw_attachment(data), stmt_with_raw_attachment(data)
    resp = post_multipart(xapi, [json_part([a, b]), attachment_part(data)])
    assert resp.status_code == 200, describe(resp)
    assert json_body(resp) == [a["id"], b["id"]]


def test_two_attachments_in_any_part_order_are_accepted(xapi):
    """Communication 1.5.2.s1.b4: parts are matched to attachments by SHA-2, not by position."""
    d1, d2 = content_bytes("one"), content_bytes("two")
    s = statement()
    s["attachments"] = [attachment_meta(d1), attachment_meta(d2, content_type="application/octet-stream")]
    resp = post_multipart(xapi, [json_part(s), attachment_part(d2, "application/octet-stream"),
                                 attachment_part(d1)])
    assert resp.status_code == 200, describe(resp)


def test_attachment_hashed_with_sha512_is_accepted(xapi):
    """Communication 1.5.2.s4.b4: SHA-256, SHA-384 or SHA-512 may populate sha2."""
    data = content_bytes()
    digest = hashlib.sha512(data).hexdigest()
    s = statement()
    s["attachments"] = [attachment_meta(data, sha2=digest)]
    resp = post_multipart(xapi, [json_part(s), attachment_part(data, sha2=digest)])
    assert resp.status_code == 200, describe(resp)


def test_binary_attachment_bytes_survive_unchanged(xapi):
    """Communication 1.5.2.s6.b3: raw octets, no encoding -- every byte value round-trips."""
    data = bytes(range(256)) * 4 + b"\r\n--not-a-boundary\r\n"
    s = stmt_with_raw_attachment(data, content_type="application/octet-stream")
    resp = post_multipart(xapi, [json_part(s), attachment_part(data, "application/octet-stream")])
    assert resp.status_code == 200, describe(resp)
    got = xapi.get({"statementId": s["id"], "attachments": "true"})
    parts = parse_multipart(got.headers["Content-Type"], got.content)
    assert parts[1].body == data


# ---------------------------------------------------------------------------
# rejected forms (XAPI-00127 .. 00135)
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("content_type", ["multipart/form-data", "text/plain", "application/octet-stream"])
def test_attachment_request_with_wrong_content_type_is_rejected_XAPI_00127(xapi, content_type):
    """XAPI-00127: a PUT/POST using attachments whose Content-Type is neither application/json nor
    multipart/mixed -> 400."""
    data = content_bytes()
    s = stmt_with_raw_attachment(data)
    boundary = new_boundary()
    body = build_multipart([json_part(s), attachment_part(data)], boundary)
    resp = xapi.request("POST", "statements", data=body,
                        headers={"Content-Type": f'{content_type}; boundary="{boundary}"'})
    assert_error(resp, 400)
    assert_not_stored(xapi, s["id"])


def test_file_url_attachment_with_form_data_content_type_is_rejected_XAPI_00127(xapi):
    """XAPI-00127 (2.0 suite): fileUrl attachment sent as multipart/form-data -> 400."""
    s = statement()
    s["attachments"] = [attachment_meta(content_bytes(), file_url=FILE_URL)]
    boundary = new_boundary()
    body = build_multipart([json_part(s)], boundary)
    resp = xapi.request("POST", "statements", data=body,
                        headers={"Content-Type": f'multipart/form-data; boundary="{boundary}"'})
    assert_error(resp, 400)
    assert_not_stored(xapi, s["id"])


def test_excess_part_that_is_not_an_attachment_is_rejected_XAPI_00128(xapi):
    """XAPI-00128: a multipart request with a part not matching any attachment -> 400."""
    data, extra = content_bytes(), content_bytes("extra")
    s = stmt_with_raw_attachment(data)
    resp = post_multipart(xapi, [json_part(s), attachment_part(data), attachment_part(extra)])
    assert_error(resp, 400)
    assert_not_stored(xapi, s["id"])


def test_raw_attachment_sent_as_application_json_is_rejected_XAPI_00129(xapi):
    """XAPI-00129, Communication 1.5.2.s2.b1: application/json requires a fileUrl for every
    attachment."""
    s = stmt_with_raw_attachment(content_bytes())
    assert_error(xapi.post(s), 400)
    assert_not_stored(xapi, s["id"])


def test_multipart_missing_the_part_of_a_non_file_url_attachment_is_rejected_XAPI_00129(xapi):
    """XAPI-00129, Communication 1.5.2.s3.b5: attachments with neither fileUrl nor a matching part
    -> 400."""
    d1, d2 = content_bytes("one"), content_bytes("two")
    s = statement()
    s["attachments"] = [attachment_meta(d1), attachment_meta(d2)]
    resp = post_multipart(xapi, [json_part(s), attachment_part(d1)])
    assert_error(resp, 400)
    assert_not_stored(xapi, s["id"])


def test_multipart_body_without_boundary_delimiters_is_rejected_XAPI_00130(xapi):
    """XAPI-00130: the boundary must precede each part; a body whose parts are not delimited by
    the declared boundary -> 400."""
    data = content_bytes()
    s = stmt_with_raw_attachment(data)
    declared, used = new_boundary(), new_boundary()
    body = build_multipart([json_part(s), attachment_part(data)], used)
    resp = xapi.request("POST", "statements", data=body,
                        headers={"Content-Type": multipart_content_type(declared)})
    assert_error(resp, 400)
    assert_not_stored(xapi, s["id"])


def test_second_part_without_preceding_boundary_is_rejected_XAPI_00130(xapi):
    """XAPI-00130: the attachment part lacks its boundary line (it runs on after the statement)."""
    data = content_bytes()
    s = stmt_with_raw_attachment(data)
    boundary = new_boundary()
    body = (f"--{boundary}\r\nContent-Type: application/json\r\n\r\n".encode() + json.dumps(s).encode()
            + b"\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: binary\r\n"
            + f"X-Experience-API-Hash: {sha256_hex(data)}\r\n\r\n".encode() + data
            + f"\r\n--{boundary}--\r\n".encode())
    resp = xapi.request("POST", "statements", data=body,
                        headers={"Content-Type": multipart_content_type(boundary)})
    assert_error(resp, 400)
    assert_not_stored(xapi, s["id"])


def test_multipart_content_type_without_boundary_parameter_is_rejected_XAPI_00131(xapi):
    """XAPI-00131: Content-Type multipart/mixed without a boundary parameter -> 400."""
    data = content_bytes()
    s = stmt_with_raw_attachment(data)
    body = build_multipart([json_part(s), attachment_part(data)], new_boundary())
    resp = xapi.request("POST", "statements", data=body, headers={"Content-Type": "multipart/mixed"})
    assert_error(resp, 400)
    assert_not_stored(xapi, s["id"])


def test_attachment_part_without_hash_header_is_rejected_XAPI_00132(xapi):
    """XAPI-00132: every part after the first needs X-Experience-API-Hash."""
    data = content_bytes()
    s = stmt_with_raw_attachment(data)
    resp = post_multipart(xapi, [json_part(s), attachment_part(data, include_hash=False)])
    assert_error(resp, 400)
    assert_not_stored(xapi, s["id"])


def test_attachment_part_whose_hash_matches_no_sha2_is_rejected_XAPI_00132(xapi):
    """XAPI-00132: the X-Experience-API-Hash must equal a sha2 declared in the statement part."""
    data = content_bytes()
    s = stmt_with_raw_attachment(data)
    other = sha256_hex(b"something else")
    resp = post_multipart(xapi, [json_part(s), attachment_part(data, sha2=other)])
    assert_error(resp, 400)
    assert_not_stored(xapi, s["id"])


def test_attachment_part_whose_content_does_not_hash_to_its_sha2_is_rejected_XAPI_00132(xapi):
    """XAPI-00132, Communication 1.5.2.s1.b4: attachments are matched by the SHA-2 of the raw
    data; a part whose bytes do not hash to the declared value is rejected (400)."""
    data = content_bytes()
    s = stmt_with_raw_attachment(data)
    tampered = data + b"tampered"
    resp = post_multipart(xapi, [json_part(s), attachment_part(tampered, sha2=sha256_hex(data))])
    assert_error(resp, 400)
    assert_not_stored(xapi, s["id"])


def test_statements_split_over_several_parts_are_rejected_XAPI_00133(xapi):
    """XAPI-00133: all statements must be in the first part."""
    data = content_bytes()
    a, b = stmt_with_raw_attachment(data), statement()
    resp = post_multipart(xapi, [json_part([a]), json_part([b]), attachment_part(data)])
    assert_error(resp, 400)
    assert_not_stored(xapi, a["id"])
    assert_not_stored(xapi, b["id"])


@pytest.mark.parametrize("first_type", ["text/plain", "application/octet-stream", None])
def test_first_part_not_application_json_is_rejected_XAPI_00134(xapi, first_type):
    """XAPI-00134, Communication 1.5.2.s2.b2.b6: the first part MUST be application/json."""
    data = content_bytes()
    s = stmt_with_raw_attachment(data)
    first = Part([("Content-Type", first_type)] if first_type else [], json.dumps(s).encode())
    resp = post_multipart(xapi, [first, attachment_part(data)])
    assert_error(resp, 400)
    assert_not_stored(xapi, s["id"])


@pytest.mark.parametrize("cte", ["base64", "7bit", None], ids=["base64", "7bit", "missing"])
def test_attachment_part_without_binary_transfer_encoding_is_rejected_XAPI_00135(xapi, cte):
    """XAPI-00135, Communication 1.5.2.s2.b2.b4: parts after the first need
    Content-Transfer-Encoding: binary (contrast Communication 1.5.2.s3.b6, which lets an LRS
    assume binary -- the conformance requirement asks for 400)."""
    data = content_bytes()
    s = stmt_with_raw_attachment(data)
    payload = data
    if cte == "base64":
        import base64
        payload = base64.b64encode(data)
    resp = post_multipart(xapi, [json_part(s), attachment_part(payload, sha2=sha256_hex(data), cte=cte)])
    assert_error(resp, 400)
    assert_not_stored(xapi, s["id"])


def test_unterminated_multipart_body_is_rejected(xapi):
    """RFC 2046 (Communication 1.5.2.s2.b2): a body without the closing delimiter is malformed."""
    data = content_bytes()
    s = stmt_with_raw_attachment(data)
    boundary = new_boundary()
    body = build_multipart([json_part(s), attachment_part(data)], boundary, close=False)
    resp = xapi.request("POST", "statements", data=body, headers={"Content-Type": multipart_content_type(boundary)})
    assert_error(resp, 400)
    assert_not_stored(xapi, s["id"])


@pytest.mark.slow
def test_attachment_larger_than_the_request_limit_is_rejected_with_413_XAPI_00328(xapi, server):
    """XAPI-00328, Communication 3.2.s3.b11: an attachment making the request exceed the limit -> 413."""
    data = b"a" * (server.max_body_bytes + 4096)
    s = stmt_with_raw_attachment(data)
    resp = post_multipart(xapi, [json_part(s), attachment_part(data)])
    assert resp.status_code == 413, describe(resp)
    assert_not_stored(xapi, s["id"])


# ---------------------------------------------------------------------------
# attachment metadata validation (Data 2.4.11)
# ---------------------------------------------------------------------------

def _meta_case(key, value):
    meta = attachment_meta(b"metadata", file_url=FILE_URL)
    if value is None:
        del meta[key]
    else:
        meta[key] = value
    return meta


@pytest.mark.parametrize("req,key,value", [
    ("XAPI-00102", "length", None), ("XAPI-00102", "length", "27"), ("XAPI-00102", "length", 2.5),
    ("XAPI-00102", "length", -1),
    ("XAPI-00103", "sha2", None), ("XAPI-00103", "sha2", 12345), ("XAPI-00103", "sha2", "not-a-hash"),
    ("XAPI-00104", "fileUrl", "not a url"), ("XAPI-00104", "fileUrl", "www.example.com/file"),
    ("XAPI-00105", "contentType", None), ("XAPI-00105", "contentType", "not a mime type"),
    ("XAPI-00105", "contentType", 5),
    ("XAPI-00106", "display", None), ("XAPI-00106", "display", "A test attachment"),
    ("XAPI-00106", "display", {"not a tag": "x"}),
    ("XAPI-00106", "description", "not a language map"),
    ("XAPI-00107", "usageType", None), ("XAPI-00107", "usageType", "not an iri"),
    ("XAPI-00011", "usageType", "example.com/usage"),
    ("XAPI-00010", "colour", "red"),
], ids=lambda x: str(x) if not isinstance(x, (dict,)) else "map")
def test_invalid_attachment_metadata_is_rejected_XAPI_00102_to_00107(xapi, req, key, value):
    """XAPI-00102..XAPI-00107 (and XAPI-00010/00011): length integer, sha2 hash, fileUrl IRL,
    contentType media type, display / description language maps and usageType IRI are validated;
    required ones (length, sha2, contentType, display, usageType) must be present."""
    s = statement()
    s["attachments"] = [_meta_case(key, value)]
    assert_error(xapi.post(s), 400, path=key)
    assert_not_stored(xapi, s["id"])


# ---------------------------------------------------------------------------
# retrieval with the attachments parameter
# ---------------------------------------------------------------------------

def _stored_with_attachment(xapi):
    data = content_bytes("retrieval")
    s = stmt_with_raw_attachment(data)
    resp = post_multipart(xapi, [json_part(s), attachment_part(data)])
    assert resp.status_code == 200, describe(resp)
    return s, data


@pytest.mark.parametrize("params", [{}, {"attachments": "false"}])
def test_get_without_attachments_true_returns_json_without_attachment_data_XAPI_00161(xapi, params):
    """XAPI-00161, Communication 2.1.3.s2.b7: attachments false/absent -> application/json and no
    raw attachment data (the metadata stays in the statement)."""
    s, data = _stored_with_attachment(xapi)
    for query in ({"statementId": s["id"], **params}, {"activity": s["object"]["id"], **params}):
        resp = xapi.get(query)
        assert resp.status_code == 200, describe(resp)
        assert is_json_content_type(resp.headers.get("Content-Type")), describe(resp)
        assert data not in resp.content
        body = json_body(resp)
        stmt = body if "statementId" in query else body["statements"][0]
        assert stmt["attachments"] == s["attachments"]


def test_get_single_statement_with_attachments_true_returns_multipart_XAPI_00167(xapi):
    """XAPI-00167, Communication 2.1.3.s2.b6 / 1.5.2.s3.b1: multipart/mixed, first part the
    statement (application/json), then each attachment with X-Experience-API-Hash and
    Content-Transfer-Encoding binary."""
    s, data = _stored_with_attachment(xapi)
    resp = xapi.get({"statementId": s["id"], "attachments": "true"})
    assert resp.status_code == 200, describe(resp)
    ctype = resp.headers.get("Content-Type", "")
    assert ctype.lower().startswith("multipart/mixed"), describe(resp)
    parts = parse_multipart(ctype, resp.content)
    assert len(parts) == 2, [p.headers for p in parts]
    assert is_json_content_type(parts[0].header("Content-Type")), parts[0].headers
    assert json.loads(parts[0].body)["id"] == s["id"]
    att = parts[1]
    assert att.header("X-Experience-API-Hash") == sha256_hex(data), att.headers
    assert (att.header("Content-Transfer-Encoding") or "").lower() == "binary", att.headers
    assert att.body == data


def test_query_with_attachments_true_returns_statement_result_and_attachments_XAPI_00167(xapi):
    """XAPI-00167: for a StatementResult the first part is the StatementResult; every attachment
    of the returned statements follows once."""
    act = activity_iri("att-query")
    d1, d2 = content_bytes("q1"), content_bytes("q2")
    a = statement(object_=activity(act))
    a["attachments"] = [attachment_meta(d1)]
    b = statement(object_=activity(act))
    b["attachments"] = [attachment_meta(d2), attachment_meta(b"unused", file_url=FILE_URL)]
    assert post_multipart(xapi, [json_part([a, b]), attachment_part(d1), attachment_part(d2)]).status_code == 200
    resp = xapi.get({"activity": act, "attachments": "true"})
    assert resp.status_code == 200, describe(resp)
    parts = parse_multipart(resp.headers["Content-Type"], resp.content)
    result = json.loads(parts[0].body)
    assert sorted(x["id"] for x in result["statements"]) == sorted([a["id"], b["id"]])
    by_hash = {p.header("X-Experience-API-Hash"): p.body for p in parts[1:]}
    assert by_hash == {sha256_hex(d1): d1, sha256_hex(d2): d2}


def test_attachments_true_on_statements_without_attachments_is_still_multipart_XAPI_00167(xapi):
    """XAPI-00167: attachments=true always uses the multipart response format."""
    s = statement()
    xapi.store(s)
    resp = xapi.get({"statementId": s["id"], "attachments": "true"})
    assert resp.status_code == 200, describe(resp)
    assert resp.headers.get("Content-Type", "").lower().startswith("multipart/mixed"), describe(resp)
    parts = parse_multipart(resp.headers["Content-Type"], resp.content)
    assert len(parts) == 1 and json.loads(parts[0].body)["id"] == s["id"]


def test_file_url_attachments_have_no_part_in_the_multipart_response(xapi):
    """Communication 1.5.2: only attachments with raw data received get a part."""
    s = statement()
    s["attachments"] = [attachment_meta(content_bytes(), file_url=FILE_URL)]
    xapi.store(s)
    resp = xapi.get({"statementId": s["id"], "attachments": "true"})
    parts = parse_multipart(resp.headers["Content-Type"], resp.content)
    assert len(parts) == 1
