"""Helpers for the document resources (State, Activity Profile, Agent Profile).

A `DocResource` describes one of the three resources (its path, the name of its
document-id parameter, the context parameters that locate a document and the scope
that grants it); `Docs` binds a resource and one fresh context (unique activity IRI /
agent) to an `XAPI` client, so that a test only ever touches its own documents.
The behaviour the three share is written once, in test_documents.py and
test_concurrency.py, and runs for each resource.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urlencode

import requests

from xapi_support import (NOTSET, XAPI, activity_iri, agent, basic_auth_header, describe,
                          json_body, parse_http_date, parse_ts, raw_http)


@dataclass(frozen=True)
class DocResource:
    key: str               # "state" | "activity_profile" | "agent_profile"
    label: str             # human readable
    path: str              # relative to the xAPI base
    id_param: str          # "stateId" | "profileId"
    context_params: tuple  # required parameters other than the id
    scope: str             # the Communication 4.2 scope that grants it: "state" | "profile"

    def new_context(self) -> dict:
        ctx: dict = {}
        if "activityId" in self.context_params:
            ctx["activityId"] = activity_iri(self.key)
        if "agent" in self.context_params:
            ctx["agent"] = agent("Document Owner")
        return ctx

    @property
    def is_state(self) -> bool:
        return self.key == "state"

    @property
    def create_headers(self) -> dict:
        """Headers of a PUT that creates a document in every xAPI version: xAPI 1.0.3 clients
        must send a precondition on every profile PUT (Communication 3.1.s3.b1); State needs
        none (the behaviour without one is in test_concurrency.py)."""
        return {} if self.is_state else {"If-None-Match": "*"}


STATE = DocResource("state", "State", "activities/state", "stateId", ("activityId", "agent"), "state")
ACTIVITY_PROFILE = DocResource("activity_profile", "Activity Profile", "activities/profile", "profileId",
                               ("activityId",), "profile")
AGENT_PROFILE = DocResource("agent_profile", "Agent Profile", "agents/profile", "profileId", ("agent",),
                            "profile")
DOC_RESOURCES = (STATE, ACTIVITY_PROFILE, AGENT_PROFILE)
# The resources whose documents are located by an Activity, and by an Agent.
ACTIVITY_RESOURCES = tuple(r for r in DOC_RESOURCES if "activityId" in r.context_params)
AGENT_RESOURCES = tuple(r for r in DOC_RESOURCES if "agent" in r.context_params)


def resource_id(resource: DocResource) -> str:
    """The pytest id of a resource parameter."""
    return resource.key


METHODS = ["GET", "PUT", "POST", "DELETE"]
BAD_SINCE = ["yesterday", "2020-13-45T00:00:00Z", "1700000000"]

JSON = "application/json"


def sha1_hex(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def encode_body(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body).encode("utf-8")


def server_now(xapi: XAPI) -> str:
    """A timestamp from the server's clock (`XAPI.server_now`)."""
    return xapi.server_now()


def wait_for_a_later_second(xapi: XAPI, http_date: str, timeout: float = 5) -> None:
    """Polls the server's clock until it is in a later second than `http_date` (Last-Modified
    has a resolution of one second, so only then can a change move it)."""
    moment = parse_http_date(http_date)
    deadline = time.monotonic() + timeout
    while parse_ts(server_now(xapi)).replace(microsecond=0) <= moment:
        assert time.monotonic() < deadline, f"the server's clock did not pass {http_date}"
        time.sleep(0.05)


def unquote_etag(value: str | None) -> str | None:
    if value is None:
        return None
    v = value.strip()
    if v.startswith("W/"):
        v = v[2:]
    return v.strip('"')


class Docs:
    """Document requests for one resource and one context (activity/agent[/registration])."""

    def __init__(self, xapi: XAPI, resource: DocResource, context: dict | None = None):
        self.xapi = xapi
        self.resource = resource
        self.context = dict(context) if context is not None else resource.new_context()

    # -- construction ------------------------------------------------------
    def with_client(self, xapi: XAPI) -> "Docs":
        return Docs(xapi, self.resource, self.context)

    def with_context(self, **changes: Any) -> "Docs":
        ctx = dict(self.context)
        for k, val in changes.items():
            if val is None:
                ctx.pop(k, None)
            else:
                ctx[k] = val
        return Docs(self.xapi, self.resource, ctx)

    def params(self, doc_id: Any = None, **extra: Any) -> dict:
        p = dict(self.context)
        if doc_id is not None:
            p[self.resource.id_param] = doc_id
        p.update(extra)
        return p

    # -- raw requests -------------------------------------------------------
    def send(self, method: str, doc_id: Any = "doc", params: dict | None = None, **kw: Any
             ) -> requests.Response:
        """One request of `method` with what it needs to succeed on a valid target: PUT and POST
        carry a JSON document (and the resource's create headers); `params` replace the
        request's parameters (to test invalid ones)."""
        if method in ("PUT", "POST"):
            return self.request(method, doc_id, {"answer": 42}, params=params,
                                headers=self.resource.create_headers, **kw)
        return self.request(method, doc_id, params=params, **kw)

    def request(self, method: str, doc_id: Any = None, body: Any = NOTSET, content_type: str | None = JSON,
                headers: dict | None = None, params: dict | None = None, **kw: Any) -> requests.Response:
        hdrs = dict(headers or {})
        data = None
        if body is not NOTSET:
            data = encode_body(body)
            if content_type is not None:
                hdrs.setdefault("Content-Type", content_type)
        p = params if params is not None else self.params(doc_id)
        return self.xapi.request(method, self.resource.path, params=p, data=data, headers=hdrs, **kw)

    def put(self, doc_id: Any, body: Any, content_type: str | None = JSON, **kw: Any) -> requests.Response:
        return self.request("PUT", doc_id, body, content_type, **kw)

    def post(self, doc_id: Any, body: Any, content_type: str | None = JSON, **kw: Any) -> requests.Response:
        return self.request("POST", doc_id, body, content_type, **kw)

    def get(self, doc_id: Any = None, **kw: Any) -> requests.Response:
        return self.request("GET", doc_id, **kw)

    def head(self, doc_id: Any = None, **kw: Any) -> requests.Response:
        return self.request("HEAD", doc_id, **kw)

    def delete(self, doc_id: Any = None, **kw: Any) -> requests.Response:
        return self.request("DELETE", doc_id, **kw)

    def list(self, **extra: Any) -> requests.Response:
        return self.xapi.request("GET", self.resource.path, params=self.params(None, **extra))

    # -- asserting helpers --------------------------------------------------
    def create(self, doc_id: str, body: Any, content_type: str = JSON) -> str:
        """Create a new document (If-None-Match: *, which every resource and version accepts);
        assert 204 and return the document's ETag as read back by GET (unquoted)."""
        resp = self.put(doc_id, body, content_type, headers={"If-None-Match": "*"})
        assert resp.status_code == 204, f"creating {self.resource.label} document failed\n{describe(resp)}"
        return self.etag(doc_id)

    def replace(self, doc_id: str, body: Any, content_type: str = JSON) -> None:
        """Overwrite an existing document with its current ETag in If-Match."""
        tag = self.etag(doc_id)
        resp = self.put(doc_id, body, content_type, headers={"If-Match": f'"{tag}"'})
        assert resp.status_code == 204, f"replacing {self.resource.label} document failed\n{describe(resp)}"

    def fetch(self, doc_id: str) -> requests.Response:
        resp = self.get(doc_id)
        assert resp.status_code == 200, f"GET {self.resource.label} document {doc_id!r} failed\n{describe(resp)}"
        return resp

    def content(self, doc_id: str) -> bytes:
        return self.fetch(doc_id).content

    def json(self, doc_id: str) -> Any:
        return json_body(self.fetch(doc_id))

    def etag(self, doc_id: str) -> str:
        resp = self.fetch(doc_id)
        tag = resp.headers.get("ETag")
        assert tag, f"GET of a document has no ETag\n{describe(resp)}"
        return unquote_etag(tag)  # type: ignore[return-value]

    def exists(self, doc_id: str) -> bool:
        resp = self.get(doc_id)
        assert resp.status_code in (200, 404), describe(resp)
        return resp.status_code == 200

    def ids(self, **extra: Any) -> list:
        resp = self.list(**extra)
        assert resp.status_code == 200, f"listing {self.resource.label} ids failed\n{describe(resp)}"
        body = json_body(resp)
        assert isinstance(body, list) and all(isinstance(i, str) for i in body), (
            f"a document listing must be a JSON array of id strings\n{describe(resp)}")
        return body

    def target(self, doc_id: Any = None, **extra: Any) -> str:
        """The request target (path + query) for raw HTTP requests."""
        p = XAPI.encode_params(self.params(doc_id, **extra)) or {}
        return f"/xapi/{self.resource.path}?{urlencode(p)}"

    def raw(self, method: str, doc_id: Any = None, with_version: bool = True, **extra: Any):
        headers = {}
        if with_version and self.xapi.version:
            headers["X-Experience-API-Version"] = self.xapi.version
        if self.xapi.auth:
            headers["Authorization"] = basic_auth_header(*self.xapi.auth)
        return raw_http(self.xapi.server.origin, method, self.target(doc_id, **extra), headers)


def race(n: int, fn: Callable[[requests.Session, int], requests.Response], warmup_url: str) -> list[requests.Response]:
    """Run fn(session, i) for i in range(n) on n threads released together by a barrier; each
    thread has its own connection (opened beforehand with a GET of warmup_url).  Returns the
    responses in index order."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        s = requests.Session()
        s.trust_env = False
        try:
            # open a connection first, so the racing requests leave together
            s.get(warmup_url, timeout=30)
            barrier.wait(timeout=30)
            results[i] = fn(s, i)
        except BaseException as exc:  # noqa: BLE001 - reported below
            results[i] = exc
        finally:
            s.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return results


def session_request(session: requests.Session, docs: Docs, method: str, doc_id: str, body: Any = NOTSET,
                    headers: dict | None = None, content_type: str = JSON) -> requests.Response:
    """One document request on a given requests.Session (for threads)."""
    hdrs = {"X-Experience-API-Version": docs.xapi.version}
    data = None
    if body is not NOTSET:
        data = encode_body(body)
        hdrs["Content-Type"] = content_type
    hdrs.update(headers or {})
    return session.request(method, docs.xapi.url(docs.resource.path),
                           params=XAPI.encode_params(docs.params(doc_id)), data=data, headers=hdrs,
                           auth=docs.xapi.auth, timeout=60)
