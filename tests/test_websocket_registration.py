"""The whole program with WebSocket listeners (RFC 7118): REGISTER with digest over ws and wss,
the binding in the server's own bindings table, gone when the socket closes.

The client is aiohttp's WebSocket client speaking SIP as JsSIP does (a `.invalid` Via host and
Contact, RFC 7118 §5.2); the browser itself is tests/interop/test_browser_registration.py.
"""

import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import replace

import aiohttp
import pytest

from mediaserver.sip.digest import DigestChallenge, DigestCredentials, ha1_for
from mediaserver.sip.message import Response, parse_message
from tests.conftest import SIP_DOMAIN, ServerProcess
from tests.transport.test_websocket import until
from tests.websocket_server import WsServerProcess, bindings

ORIGIN = "https://phone.example.com"
RECEIVE_TIMEOUT = 5.0


class WsClient:
    """REGISTER over one WebSocket, answering the 401 with our digest code."""

    def __init__(self, websocket: aiohttp.ClientWebSocketResponse, transport: str) -> None:
        self.websocket = websocket
        self.transport = transport.upper()
        self.cseq = 0

    async def exchange(self, authorization: str = "") -> Response:
        self.cseq += 1
        lines = [
            f"REGISTER sip:{SIP_DOMAIN} SIP/2.0",
            f"Via: SIP/2.0/{self.transport} df7jal23ls0d.invalid;branch=z9hG4bKw{self.cseq}",
            "Max-Forwards: 70",
            f"From: <sip:alice@{SIP_DOMAIN}>;tag=browser",
            f"To: <sip:alice@{SIP_DOMAIN}>",
            "Call-ID: browser-registration",
            f"CSeq: {self.cseq} REGISTER",
            "Contact: <sip:k2mofu5m@df7jal23ls0d.invalid;transport=ws>;expires=600",
            *([f"Authorization: {authorization}"] if authorization else []),
        ]
        await self.websocket.send_str("\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n")
        message = await self.websocket.receive(RECEIVE_TIMEOUT)
        response = parse_message(message.data.encode())
        assert isinstance(response, Response)
        return response

    async def register(self, password: str) -> Response:
        challenge_response = await self.exchange()
        assert challenge_response.status_code == 401
        challenge = DigestChallenge.parse(challenge_response.headers.get("WWW-Authenticate") or "")
        ha1 = ha1_for("alice", challenge.realm, password, challenge.algorithm)
        unsigned = DigestCredentials(
            "alice", challenge.realm, challenge.nonce, f"sip:{SIP_DOMAIN}", "",
            challenge.algorithm, "auth", 1, "ws",
        )  # fmt: skip
        signed = replace(unsigned, response=unsigned.expected_response(ha1, "REGISTER"))
        return await self.exchange(str(signed))


@pytest.fixture
def server(server_factory: Callable[..., ServerProcess]) -> ServerProcess:
    running = server_factory(sip_toml=f'ws_origins = ["{ORIGIN}"]\n', kind=WsServerProcess)
    running.cli("endpoint", "add", "alice", "s3cret", "--exact")
    return running


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as running:
        yield running


async def connect(
    session: aiohttp.ClientSession, server: WsServerProcess, transport: str, **options: object
) -> aiohttp.ClientWebSocketResponse:
    if transport == "wss":
        # The server made its own self-signed pair; trust exactly that certificate.
        options["ssl"] = ssl.create_default_context(
            cafile=server.directory / "tls" / "certificate.pem"
        )
    return await session.ws_connect(server.url(transport), protocols=("sip",), **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("transport", ["ws", "wss"])
async def test_register_over_websocket_and_binding_ends_with_the_socket(
    server: WsServerProcess, session: aiohttp.ClientSession, transport: str
) -> None:
    websocket = await connect(session, server, transport, origin=ORIGIN)
    client = WsClient(websocket, transport)
    registered = await client.register("s3cret")
    assert registered.status_code == 200
    assert registered.headers.get_all("Contact") == [
        "<sip:k2mofu5m@df7jal23ls0d.invalid;transport=ws>;expires=600"
    ]
    [binding] = bindings(server)
    assert (binding["username"], binding["transport"]) == ("alice", transport)
    # The flow the browser is reached by: its socket's address, not the .invalid Contact.
    host, port = websocket.get_extra_info("sockname")[:2]
    assert (binding["source_host"], binding["source_port"]) == (host, port)
    assert server.metrics()["mediaserver_registrar_bindings"] == 1
    await websocket.close()
    await until(lambda: bindings(server) == [])
    assert server.metrics()["mediaserver_registrar_bindings_closed_with_connection_total"] == 1


async def test_wrong_password_over_websocket_is_forbidden(
    server: WsServerProcess, session: aiohttp.ClientSession
) -> None:
    websocket = await connect(session, server, "ws", origin=ORIGIN)
    assert (await WsClient(websocket, "ws").register("guess")).status_code == 403
    assert bindings(server) == []
    await websocket.close()


async def test_origin_not_listed_is_refused(
    server: WsServerProcess, session: aiohttp.ClientSession
) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await connect(session, server, "wss", origin="https://elsewhere.example.com")
    assert refused.value.status == 403
    assert server.metrics()["mediaserver_sip_ws_refused_total"] == 1


async def test_malformed_message_is_answered_400(
    server: WsServerProcess, session: aiohttp.ClientSession
) -> None:
    websocket = await connect(session, server, "ws", origin=ORIGIN)
    await websocket.send_str(
        "REGISTER sip:phone.local SIP/2.0\r\nVia: SIP/2.0/WS x.invalid;branch=z9hG4bKbad\r\n"
        "From: <sip:alice@phone.local>;tag=1\r\nTo: <sip:alice@phone.local>\r\n"
        "Call-ID: bad\r\nCSeq: many REGISTER\r\nContent-Length: 0\r\n\r\n"
    )
    answer = await websocket.receive(RECEIVE_TIMEOUT)
    assert answer.data.startswith("SIP/2.0 400 Bad Request - malformed CSeq\r\n")
    assert (await WsClient(websocket, "ws").register("s3cret")).status_code == 200
    await websocket.close()


def test_self_signed_certificate_made_and_logged(server: WsServerProcess) -> None:
    certificate = server.directory / "tls" / "certificate.pem"
    assert certificate.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert (server.directory / "tls" / "key.pem").stat().st_mode & 0o077 == 0
    assert f"created a self-signed certificate {certificate}" in server.log()
