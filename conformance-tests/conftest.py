"""Session setup for the Trellis xAPI conformance suite.

Two modes:

* ``TRELLIS_URL`` set (e.g. ``http://127.0.0.1:8080``): test that running server
  using ``TRELLIS_KEY`` / ``TRELLIS_SECRET`` (an "all"-scope credential).  Tests
  that need extra credentials are skipped.  Optional hints:
  ``TRELLIS_MAX_BODY_BYTES`` (default 10 MiB) and ``TRELLIS_MAX_BATCH`` (default 1000).
* otherwise: start ``trellis serve --listen 127.0.0.1:0`` once for the session
  with a temporary data directory, read the bound address from its start-up
  log line, wait until it answers, and stop it at the end.  The
  binary is ``$TRELLIS_BIN``, else ``$CARGO_TARGET_DIR/debug/trellis``, else
  ``<repo>/target/debug/trellis``.  Its stderr is shown if any test failed.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from xapi_support import V1, V2, VERSIONS, XAPI  # noqa: E402

REPO_ROOT = HERE.parent
ADMIN_KEY = "conformance-admin"
# Limits passed to a server started by this suite (small, so 413 is cheap to provoke).
SPAWN_MAX_BODY_BYTES = 1024 * 1024
SPAWN_MAX_BATCH = 50

_SERVER_LOG: Path | None = None


@dataclass
class Credential:
    key: str
    secret: str
    name: str
    scopes: list[str]

    @property
    def auth(self) -> tuple[str, str]:
        return (self.key, self.secret)


@dataclass
class Server:
    origin: str
    admin: Credential
    managed: bool
    max_body_bytes: int
    max_batch: int
    binary: Path | None = None
    data_dir: Path | None = None
    session: requests.Session = field(default_factory=requests.Session)

    @property
    def xapi(self) -> str:
        return self.origin + "/xapi"


def _binary_path() -> Path:
    if os.environ.get("TRELLIS_BIN"):
        return Path(os.environ["TRELLIS_BIN"])
    if os.environ.get("CARGO_TARGET_DIR"):
        return Path(os.environ["CARGO_TARGET_DIR"]) / "debug" / "trellis"
    return REPO_ROOT / "target" / "debug" / "trellis"


ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
PRETTY_ADDRESS = re.compile(r"\baddress=(\S+:\d+)")


def _announced_address(line: str) -> str | None:
    """The bound address in `trellis serve`'s start-up log line (JSON or pretty format)."""
    line = ANSI_ESCAPE.sub("", line).strip()
    try:
        entry = json.loads(line)
    except ValueError:
        match = PRETTY_ADDRESS.search(line)
        return match.group(1) if match else None
    if isinstance(entry, dict) and isinstance(entry.get("fields"), dict):
        address = entry["fields"].get("address")
        return address if isinstance(address, str) else None
    return None


def _wait_for_address(proc: subprocess.Popen, log_path: Path, deadline: float) -> str | None:
    """Polls the server's log until it names the address it listens on."""
    while time.monotonic() < deadline and proc.poll() is None:
        for line in log_path.read_text(errors="replace").splitlines():
            address = _announced_address(line)
            if address:
                return address
        time.sleep(0.05)
    return None


def _tail(path: Path | None, lines: int = 200) -> str:
    if path is None or not path.exists():
        return "(no server log)"
    text = path.read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:])


def _new_session() -> requests.Session:
    s = requests.Session()
    s.trust_env = False  # no proxies / .netrc from the environment
    return s


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    global _SERVER_LOG
    url = os.environ.get("TRELLIS_URL")
    if url:
        key, secret = os.environ.get("TRELLIS_KEY"), os.environ.get("TRELLIS_SECRET")
        if not key or not secret:
            pytest.exit("TRELLIS_URL is set but TRELLIS_KEY / TRELLIS_SECRET are missing", returncode=4)
        srv = Server(
            origin=url.rstrip("/"),
            admin=Credential(key, secret, os.environ.get("TRELLIS_KEY_NAME", ""), ["all"]),
            managed=False,
            max_body_bytes=int(os.environ.get("TRELLIS_MAX_BODY_BYTES", 10 * 1024 * 1024)),
            max_batch=int(os.environ.get("TRELLIS_MAX_BATCH", 1000)),
            session=_new_session(),
        )
        yield srv
        srv.session.close()
        return

    binary = _binary_path()
    if not binary.exists():
        pytest.fail(f"trellis binary not found at {binary}; build it (cargo build) or set "
                    f"TRELLIS_BIN / TRELLIS_URL", pytrace=False)
    base = tmp_path_factory.mktemp("trellis")
    data_dir = base / "data"
    data_dir.mkdir()
    log_path = base / "trellis-server.log"
    _SERVER_LOG = log_path
    admin_secret = secrets.token_urlsafe(24)
    if os.environ.get("TRELLIS_MONGODB_URI"):
        # On MongoDB: a fresh database for this run, shared with the
        # `trellis credentials` commands the tests run (they inherit it).
        os.environ["TRELLIS_MONGODB_DATABASE"] = f"trellis_conformance_{uuid.uuid4().hex[:12]}"
    env = dict(os.environ)
    env.update({"TRELLIS_ADMIN_KEY": ADMIN_KEY, "TRELLIS_ADMIN_SECRET": admin_secret})
    env.setdefault("RUST_BACKTRACE", "1")
    # The start-up line that names the bound address is logged at info.
    env["TRELLIS_LOG"] = (env.get("TRELLIS_LOG") or "info") + ",trellis::commands::serve=info"
    cmd = [str(binary), "serve", "--listen", "127.0.0.1:0", "--data-dir", str(data_dir),
           "--max-body-bytes", str(SPAWN_MAX_BODY_BYTES), "--max-batch", str(SPAWN_MAX_BATCH)]
    log = open(log_path, "wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(base))
    deadline = time.monotonic() + 30
    address = _wait_for_address(proc, log_path, deadline)
    origin = f"http://{address}"
    session = _new_session()
    ready = False
    while address and time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            # Ready when the store answers an authenticated query (a MongoDB
            # store connects in the background after the listener is up).
            if session.get(origin + "/xapi/statements?limit=1", timeout=5,
                           auth=(ADMIN_KEY, admin_secret),
                           headers={"X-Experience-API-Version": "2.0.0"}).status_code == 200:
                ready = True
                break
        except requests.RequestException:
            pass
        time.sleep(0.1)
    if not ready:
        proc.kill()
        proc.wait()
        log.close()
        pytest.fail(f"trellis did not become ready within 30 s (address: {address}, exit code "
                    f"{proc.returncode}).\n"
                    f"command: {' '.join(cmd)}\n--- server output ---\n{_tail(log_path)}", pytrace=False)
    srv = Server(
        origin=origin,
        admin=Credential(ADMIN_KEY, admin_secret, "", ["all"]),
        managed=True,
        max_body_bytes=SPAWN_MAX_BODY_BYTES,
        max_batch=SPAWN_MAX_BATCH,
        binary=binary,
        data_dir=data_dir,
        session=session,
    )
    try:
        yield srv
    finally:
        session.close()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    failed = terminalreporter.stats.get("failed") or terminalreporter.stats.get("error")
    if _SERVER_LOG is not None and failed:
        terminalreporter.section("trellis server output (last 200 lines)")
        terminalreporter.write_line(_tail(_SERVER_LOG))


@pytest.fixture(scope="session")
def make_credential(server):
    """Factory: make_credential("statements/read", ...) -> Credential (managed server only)."""

    def make(*scopes: str, name: str | None = None) -> Credential:
        if not server.managed:
            pytest.skip("needs `trellis credentials create`, unavailable when testing TRELLIS_URL")
        name = name or f"conformance-{uuid.uuid4().hex[:12]}"
        cmd = [str(server.binary), "credentials", "create", "--data-dir", str(server.data_dir),
               "--name", name, "--scopes", ",".join(scopes), "--json"]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, (
            f"credential creation failed ({out.returncode}): {' '.join(cmd)}\n{out.stdout}\n{out.stderr}")
        try:
            data = json.loads(out.stdout)
        except ValueError as exc:
            raise AssertionError(f"`credentials create --json` printed non-JSON: {out.stdout!r}") from exc
        assert data.get("key") and data.get("secret"), f"credential JSON lacks key/secret: {data}"
        assert data.get("name") == name, f"credential JSON has wrong name: {data}"
        return Credential(data["key"], data["secret"], data["name"], list(data.get("scopes") or scopes))

    return make


@pytest.fixture(params=VERSIONS)
def v(request) -> str:
    """The xAPI version under test: '1.0.3' and '2.0.0'."""
    return request.param


@pytest.fixture
def xapi(server, v) -> XAPI:
    """Admin ('all' scope) client sending X-Experience-API-Version: v."""
    return XAPI(server, v, server.admin.auth)


@pytest.fixture
def xapi1(server) -> XAPI:
    return XAPI(server, V1, server.admin.auth)


@pytest.fixture
def xapi2(server) -> XAPI:
    return XAPI(server, V2, server.admin.auth)


@pytest.fixture
def expected_homepages(server):
    """Acceptable spellings of the server base URL used as authority account homePage."""
    o = server.origin
    return {o, o + "/", o + "/xapi", o + "/xapi/"}
