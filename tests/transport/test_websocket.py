"""SIP over WebSocket (RFC 7118) on real loopback sockets, driven by aiohttp's client."""

import asyncio
import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest

from mediaserver.clock import SystemClock
from mediaserver.config import ListenAddress
from mediaserver.sip.message import Request, Response, build_response, parse_message
from mediaserver.transport.certificate import self_signed
from mediaserver.transport.peer import Peer
from mediaserver.transport.sip_transport import SipTransport
from mediaserver.transport.websocket import WebSocketSettings
from tests.transport.test_sip_transport import FAST_TIMERS, RECEIVE_TIMEOUT, Recorder

ALLOWED_ORIGIN = "https://phone.example.com"
POLL_INTERVAL = 0.01


def request_bytes(branch: str, method: str = "OPTIONS", transport: str = "WS") -> bytes:
    # RFC 7118 §5.2: a browser cannot know its address, so JsSIP puts a .invalid host here.
    return (
        f"{method} sip:phone.local SIP/2.0\r\n"
        f"Via: SIP/2.0/{transport} df7jal23ls0d.invalid;branch=z9hG4bK{branch}\r\n"
        "Max-Forwards: 70\r\nFrom: <sip:a@phone.local>;tag=1\r\nTo: <sip:phone.local>\r\n"
        f"Call-ID: {branch}\r\nCSeq: 1 {method}\r\nContent-Length: 0\r\n\r\n"
    ).encode()


class WsHarness:
    def __init__(self, sip: SipTransport, recorder: Recorder, closed: list[Peer]) -> None:
        self.sip = sip
        self.recorder = recorder
        self.closed = closed  # what on_connection_closed was told
        self.session = aiohttp.ClientSession()

    def url(self, transport: str = "ws") -> str:
        port = next(p.port for p in self.sip.bound if p.transport == transport)
        return f"{transport}://127.0.0.1:{port}/"

    async def connect(
        self, transport: str = "ws", **options: object
    ) -> aiohttp.ClientWebSocketResponse:
        options.setdefault("protocols", ("sip",))
        insecure = ssl.create_default_context()
        insecure.check_hostname = False
        insecure.verify_mode = ssl.CERT_NONE  # the self-signed test certificate
        if transport == "wss":
            options["ssl"] = insecure
        return await self.session.ws_connect(self.url(transport), **options)  # type: ignore[arg-type]


def request_to_send(branch: str) -> Request:
    """A request as the TU hands it to the transport: without a Via (the transport adds ours)."""
    request = parse_message(request_bytes(branch))
    assert isinstance(request, Request)
    return Request(request.method, request.uri, request.headers.without("Via"), request.body)


async def start(tmp_path: Path, **settings: object) -> WsHarness:
    recorder, closed = Recorder(), []
    tls, _ = self_signed(tmp_path / "tls", SystemClock().wall())
    sip = SipTransport(
        recorder, SystemClock(), timers=FAST_TIMERS,
        websocket=WebSocketSettings(tls=tls, **settings),  # type: ignore[arg-type]
        on_connection_closed=closed.append,
    )  # fmt: skip
    await sip.start([ListenAddress("ws", "127.0.0.1", 0), ListenAddress("wss", "127.0.0.1", 0)])
    return WsHarness(sip, recorder, closed)


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[WsHarness]:
    running = await start(tmp_path, origins=(ALLOWED_ORIGIN,))
    yield running
    await running.session.close()
    await running.sip.close()


async def receive(websocket: aiohttp.ClientWebSocketResponse) -> Request | Response:
    message = await websocket.receive(RECEIVE_TIMEOUT)
    assert message.type is aiohttp.WSMsgType.TEXT, message
    return parse_message(message.data.encode())


async def until(condition: Callable[[], bool]) -> None:
    """Poll what the server updates in its own callbacks (there is no event to wait on)."""
    for _ in range(int(RECEIVE_TIMEOUT / POLL_INTERVAL)):
        if condition():
            return
        await asyncio.sleep(POLL_INTERVAL)
    assert condition()


@pytest.mark.parametrize("transport", ["ws", "wss"])
async def test_request_answered_over_its_websocket(harness: WsHarness, transport: str) -> None:
    websocket = await harness.connect(transport, origin=ALLOWED_ORIGIN)
    await websocket.send_str(request_bytes("ws1", transport=transport.upper()).decode())
    response = await receive(websocket)
    assert isinstance(response, Response)
    assert (response.status_code, response.call_id) == (200, "ws1")
    # The .invalid sent-by cannot be reached: the answer went back over the connection.
    assert response.top_via.received == "127.0.0.1"
    [incoming] = harness.recorder.requests
    assert incoming.source.transport == transport
    assert incoming.local.transport == transport
    await websocket.close()
    await until(lambda: harness.closed == [incoming.source])
    assert harness.sip.statistics()["ws_connections"] == 0


async def test_binary_frames_carry_sip_too(harness: WsHarness) -> None:
    websocket = await harness.connect(origin=ALLOWED_ORIGIN)
    await websocket.send_bytes(request_bytes("binary"))
    response = await receive(websocket)
    assert isinstance(response, Response)
    assert response.status_code == 200
    await websocket.close()


async def test_disallowed_origin_refused_at_the_handshake(harness: WsHarness) -> None:
    for origin in ("https://evil.example.com", None):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await harness.connect(**({"origin": origin} if origin else {}))
        assert refused.value.status == 403
    assert harness.sip.statistics()["ws_refused"] == 2
    assert harness.recorder.requests == []


async def test_no_sip_subprotocol_refused(harness: WsHarness) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await harness.connect(origin=ALLOWED_ORIGIN, protocols=("chat",))
    assert refused.value.status == 400


async def test_malformed_message_gets_400_and_the_connection_lives_on(harness: WsHarness) -> None:
    bystander = await harness.connect(origin=ALLOWED_ORIGIN)
    websocket = await harness.connect(origin=ALLOWED_ORIGIN)
    broken = request_bytes("bad").replace(b"CSeq: 1 OPTIONS", b"CSeq: one OPTIONS")
    await websocket.send_bytes(broken)
    rejected = await websocket.receive(RECEIVE_TIMEOUT)
    assert rejected.data.startswith("SIP/2.0 400 Bad Request - malformed CSeq\r\n")
    await websocket.send_bytes(request_bytes("good"))
    after = await receive(websocket)
    assert isinstance(after, Response)
    assert (after.status_code, after.call_id) == (200, "good")
    await bystander.send_bytes(request_bytes("other"))
    assert (await receive(bystander)).call_id == "other"
    assert harness.sip.statistics()["bad_requests_answered"] == 1
    await websocket.close()
    await bystander.close()


async def test_crlf_keepalive_gets_a_pong(harness: WsHarness) -> None:
    websocket = await harness.connect(origin=ALLOWED_ORIGIN)
    await websocket.send_bytes(b"\r\n\r\n")
    message = await websocket.receive(RECEIVE_TIMEOUT)
    assert message.data == "\r\n"
    await websocket.close()


async def test_our_request_reaches_the_client_over_its_connection(harness: WsHarness) -> None:
    websocket = await harness.connect(origin=ALLOWED_ORIGIN)
    await websocket.send_bytes(request_bytes("hello"))
    await receive(websocket)
    flow = harness.recorder.requests[0].source
    responses: list[Response] = []
    harness.sip.send_request(request_to_send("ours"), flow, responses.append)
    arrived = await receive(websocket)
    assert isinstance(arrived, Request)
    assert (arrived.call_id, arrived.top_via.transport) == ("ours", "WS")
    await websocket.send_bytes(build_response(arrived, 200, to_tag="b").serialize())
    await until(lambda: bool(responses))
    assert responses[0].status_code == 200
    await websocket.close()


async def test_request_to_a_closed_websocket_fails_with_503(harness: WsHarness) -> None:
    responses: list[Response] = []
    gone = Peer("ws", "127.0.0.1", 9)
    harness.sip.send_request(request_to_send("nobody"), gone, responses.append)
    await until(lambda: bool(responses))
    assert responses[0].status_code == 503


async def test_idle_websocket_closed(tmp_path: Path) -> None:
    harness = await start(tmp_path, idle_timeout=0.3)
    try:
        websocket = await harness.connect()
        await websocket.send_bytes(request_bytes("idle"))
        await receive(websocket)
        message = await websocket.receive(RECEIVE_TIMEOUT)
        assert message.type is aiohttp.WSMsgType.CLOSE
        await until(lambda: len(harness.closed) == 1)
        assert harness.sip.statistics()["ws_idle_closed"] == 1
    finally:
        await harness.session.close()
        await harness.sip.close()


async def test_half_open_websocket_closed_when_pings_go_unanswered(tmp_path: Path) -> None:
    harness = await start(tmp_path, ping_interval=0.2)
    try:
        # autoping off: this client never answers a ping, as a vanished peer would not.
        silent = await harness.connect(autoping=False)
        answering = await harness.connect()
        await until(lambda: len(harness.closed) == 1)
        statistics = harness.sip.statistics()
        assert (statistics["ws_pong_timeouts"], statistics["ws_connections"]) == (1, 1)
        assert not answering.closed
        await silent.close()
        await answering.close()
    finally:
        await harness.session.close()
        await harness.sip.close()
