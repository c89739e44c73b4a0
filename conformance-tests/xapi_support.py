"""Shared helpers for the Trellis black-box xAPI conformance suite.

Everything here is plain HTTP + JSON: the suite never looks inside the
server.  Builders create statements with unique identifiers (UUIDs, activity
IRIs, mailboxes) so that every test only ever sees its own data, even when all
tests share one long-running LRS.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import email.utils
import hashlib
import json
import re
import socket
import struct
import time
import uuid
from typing import Any, Iterable
from urllib.parse import urljoin, urlsplit

import requests

VERSIONS = ("1.0.3", "2.0.0")
V1 = "1.0.3"
V2 = "2.0.0"

TEST_DOMAIN = "trellis-conformance.example"
VERB_EXPERIENCED = "http://adlnet.gov/expapi/verbs/experienced"
VERB_VOIDED = "http://adlnet.gov/expapi/verbs/voided"
SIGNATURE_USAGE = "http://adlnet.gov/expapi/attachments/signature"

# RFC 3339, millisecond precision, UTC -- the server contract for stored/timestamp.
RFC3339_MS_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
# ISO 8601 combined date and time (extended format) with optional fraction and zone.
ISO8601_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?$"
)

NOTSET = object()


# --------------------------------------------------------------------------
# identifiers and builders
# --------------------------------------------------------------------------

def new_id() -> str:
    return str(uuid.uuid4())


def activity_iri(label: str = "activity") -> str:
    return f"http://{TEST_DOMAIN}/activities/{label}/{new_id()}"


def verb_iri(label: str = "verb") -> str:
    return f"http://{TEST_DOMAIN}/verbs/{label}/{new_id()}"


def mbox() -> str:
    return f"mailto:{new_id()}@{TEST_DOMAIN}"


def agent(name: str | None = None, **ifi: Any) -> dict:
    a: dict = {"objectType": "Agent"}
    if name is not None:
        a["name"] = name
    if ifi:
        a.update(ifi)
    else:
        a["mbox"] = mbox()
    return a


def account_agent(name: str | None = None) -> dict:
    a = {"objectType": "Agent", "account": {"homePage": f"http://{TEST_DOMAIN}", "name": new_id()}}
    if name:
        a["name"] = name
    return a


def anonymous_group(*members: dict, name: str | None = None) -> dict:
    g = {"objectType": "Group", "member": list(members) or [agent("Member One"), agent("Member Two")]}
    if name:
        g["name"] = name
    return g


def identified_group(*members: dict, name: str | None = None) -> dict:
    g = {"objectType": "Group", "mbox": mbox()}
    if members:
        g["member"] = list(members)
    if name:
        g["name"] = name
    return g


def verb(vid: str = VERB_EXPERIENCED, display: dict | None = NOTSET) -> dict:  # type: ignore[assignment]
    v = {"id": vid}
    if display is NOTSET:
        v["display"] = {"en-US": "experienced"}
    elif display is not None:
        v["display"] = display
    return v


def activity(iri: str | None = None, definition: dict | None = None) -> dict:
    a = {"objectType": "Activity", "id": iri or activity_iri()}
    if definition is not None:
        a["definition"] = definition
    return a


def statement(actor: dict | None = None, verb_: dict | None = None, object_: dict | None = None,
              with_id: bool = True, **extra: Any) -> dict:
    """A minimal valid statement whose actor and activity are unique to the caller."""
    s: dict = {}
    if with_id:
        s["id"] = new_id()
    s["actor"] = actor if actor is not None else agent("Conformance Tester")
    s["verb"] = verb_ if verb_ is not None else verb()
    s["object"] = object_ if object_ is not None else activity()
    s.update(extra)
    return s


def statement_ref(sid: str) -> dict:
    return {"objectType": "StatementRef", "id": sid}


def voiding_statement(target_id: str, actor: dict | None = None) -> dict:
    return statement(actor=actor or agent("Voider"),
                     verb_={"id": VERB_VOIDED, "display": {"en-US": "voided"}},
                     object_=statement_ref(target_id))


def substatement(actor: dict | None = None, verb_: dict | None = None, object_: dict | None = None,
                 **extra: Any) -> dict:
    s = {"objectType": "SubStatement",
         "actor": actor or agent("Sub Actor"),
         "verb": verb_ or verb(),
         "object": object_ or activity()}
    s.update(extra)
    return s


def deep(obj: Any) -> Any:
    return copy.deepcopy(obj)


DELETE = object()


def mutate(obj: dict, dotted: str, value: Any) -> dict:
    """Return a deep copy of obj with the property at `dotted` set (or deleted).

    Path segments are separated by '.', integers index lists.  Missing
    intermediate objects are created.
    """
    out = copy.deepcopy(obj)
    parts = dotted.split(".")
    cur: Any = out
    for p in parts[:-1]:
        key: Any = int(p) if isinstance(cur, list) else p
        if isinstance(cur, dict) and key not in cur:
            cur[key] = {}
        cur = cur[key]
    last: Any = int(parts[-1]) if isinstance(cur, list) else parts[-1]
    if value is DELETE:
        del cur[last]
    else:
        cur[last] = copy.deepcopy(value)
    return out


# --------------------------------------------------------------------------
# time helpers
# --------------------------------------------------------------------------

def parse_ts(value: str) -> dt.datetime:
    """Parse an ISO 8601 / RFC 3339 timestamp (any fraction length) to an aware datetime."""
    v = value.strip()
    m = re.match(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$", v)
    assert m, f"not an ISO 8601 combined date and time: {value!r}"
    date, clock, frac, zone = m.groups()
    micro = 0
    if frac:
        digits = (frac[1:] + "000000")[:6]
        micro = int(digits)
    base = dt.datetime.fromisoformat(f"{date}T{clock}").replace(microsecond=micro)
    if zone in (None, "Z"):
        return base.replace(tzinfo=dt.timezone.utc)
    sign = 1 if zone[0] == "+" else -1
    z = zone[1:].replace(":", "")
    offset = dt.timedelta(hours=int(z[:2]), minutes=int(z[2:4]))
    return base.replace(tzinfo=dt.timezone(sign * offset))


def fmt_ts(value: dt.datetime) -> str:
    """Format as RFC 3339 UTC with milliseconds (the server's own format)."""
    u = value.astimezone(dt.timezone.utc)
    return u.strftime("%Y-%m-%dT%H:%M:%S.") + f"{u.microsecond // 1000:03d}Z"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def parse_http_date(value: str) -> dt.datetime:
    d = email.utils.parsedate_to_datetime(value)
    if d.tzinfo is None:
        d = d.replace(tzinfo=dt.timezone.utc)
    return d


# --------------------------------------------------------------------------
# hashing / multipart
# --------------------------------------------------------------------------

def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def attachment_meta(content: bytes, content_type: str = "text/plain", usage: str | None = None,
                    file_url: str | None = None, sha2: str | None = None) -> dict:
    meta = {
        "usageType": usage or f"http://{TEST_DOMAIN}/attachment-usage/test",
        "display": {"en-US": "A test attachment"},
        "description": {"en-US": "A test attachment (description)"},
        "contentType": content_type,
        "length": len(content),
        "sha2": sha2 or sha256_hex(content),
    }
    if file_url:
        meta["fileUrl"] = file_url
    return meta


def new_boundary() -> str:
    return "trellis-boundary-" + uuid.uuid4().hex


class Part:
    def __init__(self, headers: list[tuple[str, str]] | dict, body: bytes):
        self.headers = list(headers.items()) if isinstance(headers, dict) else list(headers)
        self.body = body


def json_part(doc: Any, content_type: str = "application/json") -> Part:
    return Part([("Content-Type", content_type)], json.dumps(doc).encode("utf-8"))


def attachment_part(content: bytes, content_type: str = "text/plain", sha2: str | None = None,
                    cte: str | None = "binary", include_hash: bool = True) -> Part:
    headers = [("Content-Type", content_type)]
    if cte is not None:
        headers.append(("Content-Transfer-Encoding", cte))
    if include_hash:
        headers.append(("X-Experience-API-Hash", sha2 or sha256_hex(content)))
    return Part(headers, content)


def build_multipart(parts: Iterable[Part], boundary: str, *, close: bool = True) -> bytes:
    """Serialise parts as RFC 2046 multipart (CRLF line endings)."""
    out = bytearray()
    for p in parts:
        out += b"--" + boundary.encode("ascii") + b"\r\n"
        for k, val in p.headers:
            out += f"{k}: {val}\r\n".encode("utf-8")
        out += b"\r\n"
        out += p.body
        out += b"\r\n"
    if close:
        out += b"--" + boundary.encode("ascii") + b"--\r\n"
    return bytes(out)


def multipart_content_type(boundary: str) -> str:
    return f'multipart/mixed; boundary="{boundary}"'


class ParsedPart:
    def __init__(self, headers: dict[str, str], body: bytes):
        self.headers = headers  # lower-cased names
        self.body = body

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def parse_multipart(content_type: str, body: bytes) -> list[ParsedPart]:
    """Parse a multipart/* body as produced by an LRS (tolerant of CRLF/LF)."""
    m = re.search(r'boundary=(?:"([^"]+)"|([^;\s]+))', content_type, re.IGNORECASE)
    assert m, f"multipart response without boundary parameter: {content_type!r}"
    boundary = (m.group(1) or m.group(2)).encode("latin-1")
    delim = b"--" + boundary
    data = b"\r\n" + body
    pieces = re.split(b"\r?\n" + re.escape(delim), data)
    parts: list[ParsedPart] = []
    closed = False
    for piece in pieces[1:]:
        if piece.startswith(b"--"):
            closed = True
            break
        # drop transport padding up to and including the end of the delimiter line
        nl = piece.find(b"\n")
        assert nl >= 0, "malformed multipart delimiter line"
        piece = piece[nl + 1:]
        if piece.startswith(b"\r\n") or piece.startswith(b"\n"):
            head, content = b"", piece[2:] if piece.startswith(b"\r\n") else piece[1:]
        else:
            sep = re.search(b"\r?\n\r?\n", piece)
            assert sep, "multipart part without header/body separator"
            head, content = piece[: sep.start()], piece[sep.end():]
        headers: dict[str, str] = {}
        for line in re.split(b"\r?\n", head):
            if not line.strip():
                continue
            k, _, val = line.decode("utf-8").partition(":")
            headers[k.strip().lower()] = val.strip()
        parts.append(ParsedPart(headers, content))
    assert closed, "multipart body lacks the closing delimiter"
    return parts


# --------------------------------------------------------------------------
# JWS (compact serialisation) for signed statements
# --------------------------------------------------------------------------

def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


# --------------------------------------------------------------------------
# assertions
# --------------------------------------------------------------------------

def describe(resp: requests.Response) -> str:
    req = resp.request
    body = resp.content[:3000]
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = repr(body)
    return (f"{req.method} {req.url} -> {resp.status_code}\n"
            f"response headers: {dict(resp.headers)}\nresponse body: {text}")


def json_body(resp: requests.Response) -> Any:
    try:
        return resp.json()
    except ValueError as exc:  # pragma: no cover - diagnostic path
        raise AssertionError(f"response body is not JSON\n{describe(resp)}") from exc


def assert_status(resp: requests.Response, *expected: int) -> None:
    assert resp.status_code in expected, f"expected {expected}\n{describe(resp)}"


def assert_error(resp: requests.Response, status: int, path: str | None = None) -> dict:
    """Strict status; body must be JSON with a non-empty message (and a path naming `path`)."""
    assert resp.status_code == status, f"expected {status}\n{describe(resp)}"
    if resp.request.method == "HEAD":
        return {}
    body = json_body(resp)
    assert isinstance(body, dict), f"error body must be a JSON object\n{describe(resp)}"
    msg = body.get("message")
    assert isinstance(msg, str) and msg.strip(), f"error body needs a non-empty 'message'\n{describe(resp)}"
    if path is not None:
        got = body.get("path")
        assert isinstance(got, str) and path.lower() in got.lower(), (
            f"error 'path' should mention {path!r}, got {got!r}\n{describe(resp)}")
    return body


def is_json_content_type(value: str | None) -> bool:
    return bool(value) and value.split(";")[0].strip().lower() == "application/json"


def float32(x: float) -> float:
    return struct.unpack("f", struct.pack("f", x))[0]


# --------------------------------------------------------------------------
# client
# --------------------------------------------------------------------------

class XAPI:
    """A thin xAPI client bound to one version header and one credential."""

    def __init__(self, server: Any, version: str | None, auth: tuple[str, str] | None):
        self.server = server
        self.version = version
        self.auth = auth

    def with_auth(self, auth: tuple[str, str] | None) -> "XAPI":
        return XAPI(self.server, self.version, auth)

    def with_version(self, version: str | None) -> "XAPI":
        return XAPI(self.server, version, self.auth)

    def url(self, path: str) -> str:
        if path.startswith("http://") or path.startswith("https://"):
            return path
        if path.startswith("/"):
            return urljoin(self.server.origin + "/", path.lstrip("/"))
        return f"{self.server.xapi}/{path}"

    @staticmethod
    def encode_params(params: dict | None) -> dict | None:
        if params is None:
            return None
        out = {}
        for k, val in params.items():
            if val is None:
                continue
            if isinstance(val, bool):
                out[k] = "true" if val else "false"
            elif isinstance(val, (dict, list)):
                out[k] = json.dumps(val)
            else:
                out[k] = str(val)
        return out

    def request(self, method: str, path: str, *, params: dict | None = None, json_: Any = NOTSET,
                data: Any = None, headers: dict | None = None, auth: Any = NOTSET,
                version: Any = NOTSET, timeout: float = 60) -> requests.Response:
        hdrs: dict[str, Any] = {}
        ver = self.version if version is NOTSET else version
        if ver is not None:
            hdrs["X-Experience-API-Version"] = ver
        if json_ is not NOTSET:
            data = json.dumps(json_).encode("utf-8")
            hdrs["Content-Type"] = "application/json"
        if headers:
            hdrs.update(headers)
        hdrs = {k: val for k, val in hdrs.items() if val is not None}
        the_auth = self.auth if auth is NOTSET else auth
        return self.server.session.request(
            method, self.url(path), params=self.encode_params(params), data=data, headers=hdrs,
            auth=the_auth, timeout=timeout, allow_redirects=False)

    # -- statements ------------------------------------------------------
    def post(self, body: Any, **kw: Any) -> requests.Response:
        return self.request("POST", "statements", json_=body, **kw)

    def put(self, stmt: dict, statement_id: str | None | object = NOTSET, **kw: Any) -> requests.Response:
        sid = stmt.get("id") if statement_id is NOTSET else statement_id
        params = kw.pop("params", {}) or {}
        if sid is not None:
            params = {"statementId": sid, **params}
        return self.request("PUT", "statements", params=params, json_=stmt, **kw)

    def get(self, params: dict | None = None, **kw: Any) -> requests.Response:
        return self.request("GET", "statements", params=params, **kw)

    def head(self, params: dict | None = None, **kw: Any) -> requests.Response:
        return self.request("HEAD", "statements", params=params, **kw)

    def store(self, body: Any) -> list[str]:
        """POST one statement or a batch; assert 200 and return the ids."""
        resp = self.post(body)
        assert resp.status_code == 200, f"storing statements failed\n{describe(resp)}"
        ids = json_body(resp)
        assert isinstance(ids, list), f"POST must return an array of ids\n{describe(resp)}"
        return ids

    def store_sequentially(self, stmts: list[dict]) -> list[str]:
        """Store statements one by one, each once the server's clock has passed the previous
        one's 'stored' value, so their 'stored' values increase strictly."""
        ids = []
        for s in stmts:
            stored = self.store(s)
            ids.extend(stored)
            self.wait_past(self.fetch(stored[-1])["stored"])
        return ids

    def server_now(self) -> str:
        """A timestamp from the server's clock: the `stored` value of a fresh statement (about
        an Activity of its own, so no test's filtered query sees it)."""
        probe = statement()
        self.store(probe)
        return self.fetch(probe["id"])["stored"]

    def wait_past(self, stored: str, timeout: float = 5) -> str:
        """Polls the server's clock until it is later than `stored` (the next statement is then
        stored strictly after it); returns the server time that passed it."""
        moment = parse_ts(stored)
        deadline = time.monotonic() + timeout
        while True:
            now = self.server_now()
            if parse_ts(now) > moment:
                return now
            assert time.monotonic() < deadline, f"the server's clock did not pass {stored}"
            time.sleep(0.002)

    def fetch(self, sid: str, **params: Any) -> dict:
        resp = self.get({"statementId": sid, **params})
        assert resp.status_code == 200, f"GET statementId={sid} failed\n{describe(resp)}"
        return json_body(resp)

    def fetch_voided(self, sid: str) -> dict:
        resp = self.get({"voidedStatementId": sid})
        assert resp.status_code == 200, f"GET voidedStatementId={sid} failed\n{describe(resp)}"
        return json_body(resp)

    def query(self, **params: Any) -> dict:
        resp = self.get(params)
        assert resp.status_code == 200, f"statement query failed\n{describe(resp)}"
        result = json_body(resp)
        assert isinstance(result, dict) and isinstance(result.get("statements"), list), (
            f"expected a StatementResult\n{describe(resp)}")
        return result

    def query_ids(self, **params: Any) -> list[str]:
        return [s["id"] for s in self.query_all(**params)]

    def query_all(self, max_pages: int = 50, **params: Any) -> list[dict]:
        result = self.query(**params)
        out = list(result["statements"])
        pages = 1
        while result.get("more"):
            pages += 1
            assert pages <= max_pages, "too many 'more' pages"
            resp = self.request("GET", result["more"])
            assert resp.status_code == 200, f"following 'more' failed\n{describe(resp)}"
            result = json_body(resp)
            out.extend(result["statements"])
        return out


def raw_http(origin: str, method: str, target: str, headers: dict[str, str], body: bytes = b"",
             timeout: float = 15) -> tuple[int, dict[str, str], bytes]:
    """Send one request over a raw socket (Connection: close) and return everything the
    server wrote.  Used to check HEAD responses really carry no message body, which
    http client libraries hide."""
    parts = urlsplit(origin)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
    for k, val in headers.items():
        lines.append(f"{k}: {val}")
    if body:
        lines.append(f"Content-Length: {len(body)}")
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(raw)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            chunks.append(chunk)
    data = b"".join(chunks)
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split()[1])
    hdrs = {}
    for line in header_lines:
        k, _, val = line.partition(":")
        hdrs[k.strip().lower()] = val.strip()
    return status, hdrs, rest


def assert_head_like_get(get: tuple[int, dict[str, str], bytes], head: tuple[int, dict[str, str], bytes],
                         headers: Iterable[str] = ("content-type", "x-experience-api-version")) -> None:
    """XAPI-00125, XAPI-00126: HEAD is answered like GET (the status and the named headers), with
    no message body where GET had one. Takes two `raw_http` answers."""
    (g_status, g_headers, g_body), (h_status, h_headers, h_body) = get, head
    assert h_status == g_status, f"HEAD {h_status} vs GET {g_status}"
    assert h_body == b"", f"HEAD returned a body: {h_body[:200]!r}"
    assert g_body, "GET should have had a body to omit"
    for name in headers:
        assert h_headers.get(name) == g_headers.get(name), (
            f"header {name}: HEAD {h_headers.get(name)!r} vs GET {g_headers.get(name)!r}")


def basic_auth_header(key: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode("utf-8")).decode("ascii")
