"""Fixtures for the auth0-python end-to-end suite.

The session starts one real `userbridge serve` process on an ephemeral loopback port, in a fresh
data directory that was seeded with 200 synthetic users first, and stops it at the end.

SDK notes (auth0-python 6.8.0, Fern-generated):

* `auth0.management.ManagementClient(domain=...)` always builds `https://{domain}/api/v2` and has
  no `base_url` parameter, so against a plain-HTTP test server we use the generated client
  `auth0.management.client.Auth0(base_url="http://127.0.0.1:PORT/api/v2", token=...)` directly
  (no trailing slash: the generated code joins "base_url/" + "users").
* `auth0.authentication.GetToken(domain="127.0.0.1:PORT", ..., protocol="http")` reaches the
  token endpoint over plain HTTP; the domain is host:port without a scheme.
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional
from urllib.parse import urlsplit

import httpx
import pytest
from auth0.authentication import GetToken
from auth0.management.client import Auth0

DEFAULT_BIN = "/work/main/target/debug/userbridge"
SEED_COUNT = 200
STARTUP_TIMEOUT_S = 20.0
LISTEN_LINE = re.compile(r"^userbridge listening on (http://127\.0\.0\.1:\d+)\s*$")


def userbridge_bin() -> str:
    path = os.environ.get("USERBRIDGE_BIN", DEFAULT_BIN)
    if not os.path.isfile(path) or not os.access(path, os.X_OK):
        pytest.exit(
            f"userbridge binary not found or not executable at {path!r} "
            "(build it with `cargo build -p userbridge` or set USERBRIDGE_BIN)",
            returncode=2,
        )
    return path


def run_cli(data_dir: Path, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
    """Run a one-shot userbridge CLI command against DATA_DIR and fail loudly on error."""
    cmd = [userbridge_bin(), "--data-dir", str(data_dir), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
    return proc


@dataclass
class Server:
    """A running `userbridge serve` process."""

    proc: subprocess.Popen
    data_dir: Path
    url: str  # e.g. http://127.0.0.1:45963
    stdout_lines: List[str] = field(default_factory=list)

    @property
    def api_base(self) -> str:
        return f"{self.url}/api/v2"

    @property
    def host(self) -> str:
        """host:port, the `domain` GetToken wants."""
        return urlsplit(self.url).netloc

    def credentials(self) -> Dict[str, str]:
        return json.loads((self.data_dir / "management-client.json").read_text("utf-8"))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def start_server(data_dir: Path, *extra_args: str) -> Server:
    """Start `userbridge serve` on 127.0.0.1:0 and wait (bounded) for its listening line."""
    data_dir.mkdir(parents=True, exist_ok=True)
    stderr_file = open(data_dir.parent / f"{data_dir.name}.stderr.log", "wb")
    cmd = [
        userbridge_bin(),
        "--data-dir",
        str(data_dir),
        "serve",
        "--listen",
        "127.0.0.1:0",
        *extra_args,
    ]
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr_file,
        text=True,
        encoding="utf-8",
        bufsize=1,
    )
    stderr_file.close()  # the child keeps its own descriptor

    lines: "queue.Queue[Optional[str]]" = queue.Queue()
    seen: List[str] = []

    def pump() -> None:
        # Keep draining stdout for the whole life of the process so it can never block on a full pipe.
        assert proc.stdout is not None
        for line in proc.stdout:
            seen.append(line.rstrip("\n"))
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, name=f"userbridge-stdout-{proc.pid}", daemon=True).start()

    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    url: Optional[str] = None
    while url is None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            break
        if line is None:  # stdout closed: the process died
            break
        m = LISTEN_LINE.match(line)
        if m:
            url = m.group(1)

    if url is None:
        proc.kill()
        proc.wait(timeout=10)
        stderr_text = (data_dir.parent / f"{data_dir.name}.stderr.log").read_text("utf-8", "replace")
        raise RuntimeError(
            f"userbridge did not print its listening line within {STARTUP_TIMEOUT_S}s "
            f"(exit code {proc.poll()})\nstdout: {seen!r}\nstderr:\n{stderr_text}"
        )

    server = Server(proc=proc, data_dir=data_dir, url=url, stdout_lines=seen)

    # management-client.json is written at start-up; allow a bounded moment for it to appear.
    creds_path = data_dir / "management-client.json"
    while not creds_path.exists():
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"{creds_path} was not written by the server")
        time.sleep(0.02)
    return server


class ResponseRecorder:
    """httpx response hook: keeps the raw bytes of every response the SDK receives.

    The Fern models parse timestamps into `datetime`, which hides their wire format; the recorder
    lets tests check the exact JSON the server sent to the SDK.
    """

    def __init__(self) -> None:
        self.responses: List[httpx.Response] = []

    def __call__(self, response: httpx.Response) -> None:
        response.read()
        self.responses.append(response)
        del self.responses[:-50]

    @property
    def last(self) -> httpx.Response:
        return self.responses[-1]

    def last_json(self) -> Any:
        return self.last.json()


def make_management_client(
    server: Server, token: str, recorder: Optional[ResponseRecorder] = None
) -> Auth0:
    hooks = {"response": [recorder]} if recorder is not None else {}
    return Auth0(
        base_url=server.api_base,
        token=token,
        max_retries=0,  # surface server errors instead of retrying them
        httpx_client=httpx.Client(timeout=30.0, event_hooks=hooks),
    )


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory):
    data_dir = tmp_path_factory.mktemp("userbridge") / "data"
    data_dir.mkdir()
    run_cli(data_dir, "users", "seed", "--count", str(SEED_COUNT))
    srv = start_server(data_dir)
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="session")
def creds(server: Server) -> Dict[str, str]:
    c = server.credentials()
    assert c["grant_type"] == "client_credentials"
    assert c["audience"] == f"{server.url}/api/v2/"
    return c


@pytest.fixture(scope="session")
def get_token_client(server: Server, creds: Dict[str, str]) -> GetToken:
    return GetToken(
        server.host,
        creds["client_id"],
        client_secret=creds["client_secret"],
        protocol="http",
    )


@pytest.fixture(scope="session")
def token_response(get_token_client: GetToken, creds: Dict[str, str]) -> Dict[str, Any]:
    return get_token_client.client_credentials(creds["audience"])


@pytest.fixture(scope="session")
def access_token(token_response: Dict[str, Any]) -> str:
    return token_response["access_token"]


@pytest.fixture(scope="session")
def recorder() -> ResponseRecorder:
    return ResponseRecorder()


@pytest.fixture(scope="session")
def mgmt(server: Server, access_token: str, recorder: ResponseRecorder) -> Auth0:
    """SDK management client with every management scope."""
    return make_management_client(server, access_token, recorder)


@pytest.fixture(scope="session")
def http() -> httpx.Client:
    """Plain HTTP client, for what the SDK cannot do (downloads, requests without a token)."""
    with httpx.Client(timeout=30.0) as client:
        yield client
