"""Signed statements (Data 2.6; XAPI-00115..00117).

Signatures are JWS compact serialisations over the statement (without the signature
attachment), carried as an attachment with usageType
http://adlnet.gov/expapi/attachments/signature and contentType application/octet-stream.
Keys and a self-signed certificate are generated with `cryptography`; when the JWS header
carries the certificate (x5c) the LRS must verify the signature against it
(Data 2.6.s5.b3.b3), so tampered signatures become detectable.
"""

import base64
import copy
import datetime as dt
import hashlib
import hmac
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from xapi_support import (SIGNATURE_USAGE, assert_error, attachment_meta, attachment_part, b64url,
                          build_multipart, describe, json_body, json_part, multipart_content_type,
                          new_boundary, parse_multipart, statement)

HASHES = {"RS256": hashes.SHA256, "RS384": hashes.SHA384, "RS512": hashes.SHA512}


def _cert_for(key, cn="Trellis Conformance Signer"):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = dt.datetime.now(dt.timezone.utc)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30)).sign(key, hashes.SHA256()))


@pytest.fixture(scope="module")
def keys():
    signer = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = _cert_for(signer)
    cert_der_b64 = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
    return {"signer": signer, "other": other, "x5c": [cert_der_b64],
            "ec": ec.generate_private_key(ec.SECP256R1())}


def jws(payload: bytes, key, alg="RS256", extra_header=None) -> bytes:
    header = {"alg": alg, **(extra_header or {})}
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(payload)}".encode("ascii")
    if alg in HASHES:
        sig = key.sign(signing_input, padding.PKCS1v15(), HASHES[alg]())
    elif alg == "PS256":
        sig = key.sign(signing_input, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
    elif alg == "HS256":
        sig = hmac.new(b"shared-secret", signing_input, hashlib.sha256).digest()
    elif alg == "ES256":
        sig = key.sign(signing_input, ec.ECDSA(hashes.SHA256()))
    elif alg == "none":
        sig = b""
    else:  # pragma: no cover
        raise ValueError(alg)
    return signing_input + b"." + b64url(sig).encode("ascii")


def signed_request(stmt, signature: bytes, content_type="application/octet-stream", usage=SIGNATURE_USAGE):
    """Attach `signature` to a copy of stmt and build the multipart body."""
    s = copy.deepcopy(stmt)
    s["attachments"] = [attachment_meta(signature, content_type=content_type, usage=usage)]
    s["attachments"][0]["display"] = {"en-US": "Signature"}
    boundary = new_boundary()
    body = build_multipart([json_part(s), attachment_part(signature, content_type)], boundary)
    return s, body, multipart_content_type(boundary)


def post_signed(xapi, stmt, signature, **kw):
    s, body, ctype = signed_request(stmt, signature, **kw)
    return s, xapi.request("POST", "statements", data=body, headers={"Content-Type": ctype})


def payload_of(stmt) -> bytes:
    return json.dumps(stmt).encode("utf-8")


# ---------------------------------------------------------------------------
# accepted
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512"])
def test_signed_statement_with_allowed_algorithm_is_accepted_XAPI_00115_00117(xapi, keys, alg):
    """XAPI-00115, XAPI-00117: a JWS (RS256/RS384/RS512) over the statement, attached with the
    signature usageType and application/octet-stream, is accepted and the signature kept."""
    stmt = statement()
    sig = jws(payload_of(stmt), keys["signer"], alg)
    s, resp = post_signed(xapi, stmt, sig)
    assert resp.status_code == 200, describe(resp)
    assert json_body(resp) == [stmt["id"]]
    got = xapi.get({"statementId": stmt["id"], "attachments": "true"})
    parts = parse_multipart(got.headers["Content-Type"], got.content)
    assert json.loads(parts[0].body)["attachments"] == s["attachments"]
    assert parts[1].body == sig


@pytest.mark.parametrize("alg", ["RS256", "RS512"])
def test_signed_statement_with_matching_x5c_certificate_is_accepted_XAPI_00117(xapi, keys, alg):
    """XAPI-00117, Data 2.6.s4.b6 / 2.6.s5.b3.b3: a signature that verifies against the x5c
    certificate in the JWS header is accepted."""
    stmt = statement()
    sig = jws(payload_of(stmt), keys["signer"], alg, {"x5c": keys["x5c"]})
    _, resp = post_signed(xapi, stmt, sig)
    assert resp.status_code == 200, describe(resp)


def test_signature_payload_without_lrs_assigned_id_is_accepted(xapi, keys):
    """Data 2.6.s5.b3.b2 with 2.3.1.s9.b1: comparison ignores properties the LRS may assign (here
    the id, assigned after signing)."""
    stmt = statement(with_id=False)
    sig = jws(payload_of(stmt), keys["signer"], "RS256")
    _, resp = post_signed(xapi, stmt, sig)
    assert resp.status_code == 200, describe(resp)


def test_signature_payload_with_different_key_order_and_whitespace_is_accepted(xapi, keys):
    """Data 2.6.s5.b3.b2: the statements need to be logically equivalent, not byte-identical."""
    stmt = statement(result={"success": True, "completion": False})
    payload = json.dumps(dict(reversed(list(stmt.items()))), indent=2).encode()
    sig = jws(payload, keys["signer"], "RS384")
    _, resp = post_signed(xapi, stmt, sig)
    assert resp.status_code == 200, describe(resp)


# ---------------------------------------------------------------------------
# rejected
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("alg", ["HS256", "none", "PS256", "ES256"])
def test_signature_with_a_disallowed_algorithm_is_rejected_XAPI_00117(xapi, keys, alg):
    """XAPI-00117: only RS256, RS384 and RS512 are allowed; anything else -> 400."""
    stmt = statement()
    key = keys["ec"] if alg == "ES256" else keys["signer"]
    _, resp = post_signed(xapi, stmt, jws(payload_of(stmt), key, alg))
    assert_error(resp, 400)
    assert xapi.get({"statementId": stmt["id"]}).status_code == 404


def test_signature_whose_payload_differs_from_the_statement_is_rejected_XAPI_00116(xapi, keys):
    """XAPI-00116, Data 2.6.s5.b3.b2: the JWS payload must be the statement as sent (tampered
    statement -> 400)."""
    stmt = statement(result={"success": True, "score": {"scaled": 0.4}})
    sig = jws(payload_of(stmt), keys["signer"], "RS256")
    tampered = copy.deepcopy(stmt)
    tampered["result"]["score"]["scaled"] = 1.0
    _, resp = post_signed(xapi, tampered, sig)
    assert_error(resp, 400)
    assert xapi.get({"statementId": stmt["id"]}).status_code == 404


def test_signature_payload_that_is_not_json_is_rejected_XAPI_00116(xapi, keys):
    """XAPI-00116 (ADL "breakJson"): the payload must be a valid JSON serialisation."""
    stmt = statement()
    broken = payload_of(stmt).replace(b'"', b"'", 1)
    _, resp = post_signed(xapi, stmt, jws(broken, keys["signer"], "RS256"))
    assert_error(resp, 400)
    assert xapi.get({"statementId": stmt["id"]}).status_code == 404


@pytest.mark.parametrize("garbage", [b"not-a-jws", b"a.b", b"!!!.???.###", b""])
def test_malformed_jws_is_rejected_XAPI_00115(xapi, garbage):
    """XAPI-00115, Data 2.6.s5.b1: a signature attachment that is not a JWS -> 400."""
    stmt = statement()
    if garbage == b"":
        garbage = b"e30.e30"  # '{}' header without alg, '{}' payload, no signature
    _, resp = post_signed(xapi, stmt, garbage)
    assert_error(resp, 400)
    assert xapi.get({"statementId": stmt["id"]}).status_code == 404


def test_signature_attachment_with_wrong_content_type_is_rejected_XAPI_00115(xapi, keys):
    """XAPI-00115 (2.0 suite "bad content type"): the signature attachment must be
    application/octet-stream."""
    stmt = statement()
    sig = jws(payload_of(stmt), keys["signer"], "RS256")
    _, resp = post_signed(xapi, stmt, sig, content_type="text/plain; charset=ascii")
    assert_error(resp, 400)
    assert xapi.get({"statementId": stmt["id"]}).status_code == 404


def test_signature_that_does_not_verify_against_its_x5c_certificate_is_rejected(xapi, keys):
    """Data 2.6.s5.b3.b3: if the JWS header includes an X.509 certificate, the signature is
    validated against it -- a signature made with another key -> 400."""
    stmt = statement()
    sig = jws(payload_of(stmt), keys["other"], "RS256", {"x5c": keys["x5c"]})
    _, resp = post_signed(xapi, stmt, sig)
    assert_error(resp, 400)
    assert xapi.get({"statementId": stmt["id"]}).status_code == 404


def test_tampered_signature_bytes_with_x5c_are_rejected(xapi, keys):
    """Data 2.6.s5.b3.b3: a corrupted RSA signature fails verification against x5c -> 400."""
    stmt = statement()
    sig = jws(payload_of(stmt), keys["signer"], "RS256", {"x5c": keys["x5c"]})
    head, payload, signature = sig.split(b".")
    raw = bytearray(base64.urlsafe_b64decode(signature + b"=" * (-len(signature) % 4)))
    raw[10] ^= 0xFF
    tampered = head + b"." + payload + b"." + b64url(bytes(raw)).encode()
    _, resp = post_signed(xapi, stmt, tampered)
    assert_error(resp, 400)


def test_signature_attachment_without_its_part_is_rejected_XAPI_00115(xapi, keys):
    """XAPI-00115: a statement declaring a signature attachment but not carrying it -> 400."""
    stmt = statement()
    sig = jws(payload_of(stmt), keys["signer"], "RS256")
    s = copy.deepcopy(stmt)
    s["attachments"] = [attachment_meta(sig, content_type="application/octet-stream", usage=SIGNATURE_USAGE)]
    boundary = new_boundary()
    body = build_multipart([json_part(s)], boundary)
    resp = xapi.request("POST", "statements", data=body, headers={"Content-Type": multipart_content_type(boundary)})
    assert_error(resp, 400)


def test_duration_compared_only_to_hundredths_when_checking_signatures_in_2_0(xapi2, keys):
    """9274.1.1 4.2.7 (2.0 suite): precision beyond 0.01 s is excluded when comparing durations, so
    a statement whose duration differs from the signed one only beyond hundredths is accepted."""
    stmt = statement(result={"duration": "P1DT12H36M0.12S"})
    sig = jws(payload_of(stmt), keys["signer"], "RS256")
    sent = copy.deepcopy(stmt)
    sent["result"]["duration"] = "P1DT12H36M0.1237S"
    _, resp = post_signed(xapi2, sent, sig)
    assert resp.status_code == 200, describe(resp)
