"""What the browser call tests share: a server whose RTP suits Chromium's ICE checks, the pjsua2
phone at the other end (1000 Hz, PCMU only) and the tone checks on both sides."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import ServerProcess
from tests.interop.phone import Phone, dominant_frequency
from tests.websocket_server import WsServerProcess

BROWSER_TONE_HZ = 440
PHONE_TONE_HZ = 1000
ALLOWED_ERROR_HZ = 15
MEASURE_MS = 3000
PHONE_USER = ("dave", "dave-secret")


def webrtc_server(
    server_factory: Callable[..., ServerProcess], *endpoints: str, extra_toml: str = ""
) -> WsServerProcess:
    """A server with WebSocket listeners and endpoints named by `endpoints` (user, password,
    user, password, ...). RTP bound to 127.0.0.1, as a server binds its public address:
    Chromium checks our 127.0.0.1 candidate from its other addresses too, and a wildcard
    socket would answer those from the other address, which ICE rejects as not symmetric
    (RFC 8445 §7.2.5.2.1)."""
    running = server_factory(f'[rtp]\naddress = "127.0.0.1"\n{extra_toml}', kind=WsServerProcess)
    assert isinstance(running, WsServerProcess)
    for user, password in zip(endpoints[::2], endpoints[1::2], strict=True):
        running.cli("endpoint", "add", user, password, "--exact")
    return running


def pjsua_phone(server: ServerProcess, recording: Path, auto_answer: int | None) -> Phone:
    user, password = PHONE_USER
    return Phone(
        user, server.sip_port, password=password, tone_hz=PHONE_TONE_HZ,
        record_path=recording, codecs=["PCMU"], auto_answer=auto_answer,
    )  # fmt: skip


def assert_page_heard(heard: dict[str, Any], frequency: int = PHONE_TONE_HZ) -> None:
    """A page's measurement (spectrum.js): `frequency`, loud enough to be a tone."""
    assert abs(heard["frequency"] - frequency) < ALLOWED_ERROR_HZ, heard
    assert heard["level"] > -60, heard  # dBFS: a tone, not the noise floor


def assert_phone_heard_the_browser(recording: Path) -> float:
    """The browser's tone in pjsua2's recording; its frequency."""
    heard = dominant_frequency(recording, skip_seconds=1.0)
    assert abs(heard - BROWSER_TONE_HZ) < ALLOWED_ERROR_HZ, heard
    return heard
