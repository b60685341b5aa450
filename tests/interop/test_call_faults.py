"""Bad and stray call requests over a raw socket: each gets its own answer, nothing leaks,
the process keeps serving (RFC 3261 §8.2, §12.2.2, §16.3; RFC 3264 §6 via 488)."""

import socket
from collections.abc import Callable, Iterator

import pytest

from mediaserver.sip.message import Request, parse_message
from tests.conftest import ServerProcess
from tests.interop.call_checks import assert_no_leaks, baseline, call_records
from tests.interop.phone import Phone
from tests.interop.trunk import ack_for, final_response, request

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
    assert server.metrics()["mediaserver_sip_internal_errors_total"] == 0
    assert server.metrics()["mediaserver_sip_handler_errors_total"] == 0


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


def test_no_rtp_hangs_up_with_media_timeout(
    server_factory: Callable[[str], ServerProcess], client: socket.socket
) -> None:
    """A caller that never sends RTP: after [calls] media_timeout both legs end, cause 6020."""
    server = server_factory("[calls]\nmedia_timeout = 2\n")
    server.cli("carrier", "incoming", "add", "trunk", "127.0.0.1")
    server.cli("endpoint", "add", "bob", "bob-secret", "--exact")
    server.cli("number", "add", "15550001111", "--alias", "bob")
    before = baseline(server)
    with Phone("bob", server.sip_port, password="bob-secret", auto_answer=200) as bob:
        bob.register()
        invite = request(client, "INVITE", body=GOOD_SDP)
        answer = final_response(client, server, invite)
        assert answer.status_code == 200
        client.sendto(ack_for(invite, answer).encode(), ("127.0.0.1", server.sip_port))
        bob.wait_for("call_state", state="CONFIRMED")
        client.settimeout(6)
        bye = parse_message(client.recv(65535))  # after ~2 s of silence from us
        assert isinstance(bye, Request)
        assert bye.method == "BYE"
        bob.wait_for("call_state", state="DISCONNECTED")
    assert_no_leaks(server, before)
    assert {(r["hangup_cause_code"], r["hangup_cause_name"]) for r in call_records(server)} == {
        (6020, "Media Timeout")
    }


def test_unanswered_callee_hits_the_ring_timeout(
    server_factory: Callable[[str], ServerProcess], client: socket.socket
) -> None:
    server = server_factory("[calls]\nring_timeout = 2\n")
    server.cli("carrier", "incoming", "add", "trunk", "127.0.0.1")
    server.cli("endpoint", "add", "bob", "bob-secret", "--exact")
    server.cli("number", "add", "15550001111", "--alias", "bob")
    before = baseline(server)
    with Phone("bob", server.sip_port, password="bob-secret", auto_answer=180) as bob:
        bob.register()
        response = final_response(client, server, request(client, "INVITE", body=GOOD_SDP))
        assert response.status_code == 480
        bob.wait_for("call_state", state="DISCONNECTED")
    assert_no_leaks(server, before)
    a_leg, b_leg = call_records(server)
    assert (a_leg["hangup_cause_code"], a_leg["hangup_cause_name"]) == (
        6010,
        "Ring Timeout Reached",
    )
    assert b_leg["hangup_cause_code"] == 6010
