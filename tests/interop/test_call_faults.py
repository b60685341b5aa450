"""Bad and stray call requests over a raw socket: each gets its own answer, nothing leaks,
the process keeps serving (RFC 3261 §8.2, §12.2.2, §16.3; RFC 3264 §6 via 488)."""

import socket
import uuid
from collections.abc import Callable, Iterator

import pytest

from mediaserver.sip.message import Response, parse_message
from tests.conftest import ServerProcess
from tests.interop.call_checks import assert_no_leaks, baseline, call_records

pytestmark = pytest.mark.interop

GOOD_SDP = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 40000 RTP/AVP 0\r\n"
)


@pytest.fixture
def server(server_factory: Callable[[str], ServerProcess]) -> ServerProcess:
    started = server_factory("")
    started.cli("carrier", "incoming", "add", "trunk", "127.0.0.1")
    started.cli("endpoint", "add", "alice", "alice-secret", "--exact")
    started.cli("number", "add", "15550001111", "--alias", "alice")
    return started


@pytest.fixture
def client() -> Iterator[socket.socket]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(3)
        yield sock


def request(
    sock: socket.socket, method: str, *, to_tag: str = "", body: str = "", extra: str = ""
) -> str:
    port = sock.getsockname()[1]
    tag = f";tag={to_tag}" if to_tag else ""
    content = "Content-Type: application/sdp\r\n" if body else ""
    return (
        f"{method} sip:15550001111@phone.local SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{uuid.uuid4().hex};rport\r\n"
        f"Max-Forwards: 70\r\nFrom: <sip:15551112222@carrier.example>;tag=c{port}\r\n"
        f"To: <sip:15550001111@phone.local>{tag}\r\nCall-ID: {uuid.uuid4().hex}\r\n"
        f"CSeq: 1 {method}\r\nContact: <sip:carrier@127.0.0.1:{port}>\r\n{extra}{content}"
        f"Content-Length: {len(body.encode())}\r\n\r\n{body}"
    )


def final_response(sock: socket.socket, server: ServerProcess, text: str) -> Response:
    sock.sendto(text.encode(), ("127.0.0.1", server.sip_port))
    while True:
        response = parse_message(sock.recv(65535))
        assert isinstance(response, Response)
        if response.status_code >= 200:
            return response


@pytest.mark.parametrize(
    ("method", "options", "status"),
    [
        ("BYE", {"to_tag": "nosuch"}, 481),
        ("INFO", {"to_tag": "nosuch"}, 481),
        ("INVITE", {"to_tag": "nosuch", "body": GOOD_SDP}, 481),
        ("UPDATE", {}, 481),
        ("INVITE", {"body": "v=0\r\nthis is not SDP\r\n"}, 488),
        ("INVITE", {"body": GOOD_SDP.replace("RTP/AVP 0", "RTP/AVP 18")}, 488),
        ("INVITE", {"body": GOOD_SDP, "extra": "Max-Forwards: 1\r\n"}, 483),
    ],
)
def test_bad_or_stray_call_requests_get_their_answer(
    server: ServerProcess, client: socket.socket, method: str, options: dict[str, str], status: int
) -> None:
    before = baseline(server)
    text = request(client, method, **options)
    if "Max-Forwards: 1" in text:
        text = text.replace("Max-Forwards: 70\r\n", "", 1)
    assert final_response(client, server, text).status_code == status
    assert_no_leaks(server, before)
    assert server.metrics()["mediaserver_sip_internal_errors"] == 0
    assert server.metrics()["mediaserver_sip_handler_errors"] == 0


def test_carrier_call_to_an_unregistered_alias_is_480_and_recorded(
    server: ServerProcess, client: socket.socket
) -> None:
    before = baseline(server)
    response = final_response(client, server, request(client, "INVITE", body=GOOD_SDP))
    assert response.status_code == 480
    assert_no_leaks(server, before)
    [record] = call_records(server)
    assert (record["direction"], record["hangup_cause_code"]) == ("inbound", 2020)
    assert record["source_ip"] == "127.0.0.1"
