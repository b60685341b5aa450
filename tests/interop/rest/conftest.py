"""One server for a module's REST tests (a subprocess, as `make run` starts it), and the
official `plivo` SDK pointed at it as plivo.md §6 says: the base URI constants patched, since
the SDK has no setting for them."""

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import plivo
import pytest

from tests.conftest import PORT_ATTEMPTS, PortTakenError, ServerProcess, free_sip_port

AUTH_ID = "MA00000000000000000A"
AUTH_TOKEN = "change-me-change-me-change-me"
_BASE_URIS = (
    "PLIVO_API_BASE_URI",
    "API_VOICE_BASE_URI",
    "API_VOICE_BASE_URI_FALLBACK_1",
    "API_VOICE_BASE_URI_FALLBACK_2",
)


@dataclass(frozen=True)
class HttpReply:
    status: int
    body: dict[str, object]


@pytest.fixture(scope="module")
def rest_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    for _ in range(PORT_ATTEMPTS):
        directory = tmp_path_factory.mktemp("rest")
        running = ServerProcess(directory, free_sip_port(("127.0.0.1",)), ("127.0.0.1",))
        running.write_config()
        try:
            running.start()
        except PortTakenError:
            continue
        yield running
        running.stop()
        return
    raise AssertionError("no free ports")


@pytest.fixture
def base_url(rest_server: ServerProcess) -> str:
    return f"http://127.0.0.1:{rest_server.api_port}"


@pytest.fixture
def sdk_for(base_url: str, monkeypatch: pytest.MonkeyPatch) -> "type[plivo.RestClient]":
    for name in _BASE_URIS:
        monkeypatch.setattr(plivo.rest.client, name, f"{base_url}/v1/Account")
    return plivo.RestClient


@pytest.fixture
def client(sdk_for: "type[plivo.RestClient]") -> "plivo.RestClient":
    return sdk_for(AUTH_ID, AUTH_TOKEN)


def http(
    base_url: str,
    method: str,
    path: str,
    body: object = None,
    credentials: tuple[str, str] = (AUTH_ID, AUTH_TOKEN),
) -> HttpReply:
    """A plain request, for what the SDK cannot send (wrong types, no credentials)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{base_url}{path}", data=data, method=method)
    request.add_header("Content-Type", "application/json")
    token = base64.b64encode(":".join(credentials).encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            raw = reply.read()
            return HttpReply(reply.status, json.loads(raw) if raw else {})
    except urllib.error.HTTPError as error:
        raw = error.read()
        return HttpReply(error.code, json.loads(raw) if raw else {})
