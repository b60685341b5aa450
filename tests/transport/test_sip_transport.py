"""The SIP transport on real loopback sockets: UDP and TCP, IPv4 and IPv6, routing and limits."""

import asyncio
import socket
from collections.abc import AsyncIterator, Callable

import pytest

from mediaserver.clock import SystemClock
from mediaserver.config import ListenAddress
from mediaserver.sip.message import Response, build_response, parse_message
from mediaserver.sip.transaction.timers import Timers
from mediaserver.transport.peer import Peer
from mediaserver.transport.server_transactions import ServerRequest
from mediaserver.transport.sip_transport import SipTransport

# Short T1 so that Timer J (64*T1) runs out within the test.
FAST_TIMERS = Timers(t1=0.005, t2=0.02, t4=0.025)
RECEIVE_TIMEOUT = 2.0


def request_bytes(
    branch: str,
    *,
    via_host: str = "127.0.0.1",
    via_port: int = 9,
    rport: bool = True,
    transport: str = "UDP",
    method: str = "OPTIONS",
) -> bytes:
    sent_by = f"[{via_host}]:{via_port}" if ":" in via_host else f"{via_host}:{via_port}"
    return (
        f"{method} sip:phone.local SIP/2.0\r\n"
        f"Via: SIP/2.0/{transport} {sent_by};branch=z9hG4bK{branch}{';rport' if rport else ''}\r\n"
        "Max-Forwards: 70\r\nFrom: <sip:a@phone.local>;tag=1\r\nTo: <sip:phone.local>\r\n"
        f"Call-ID: {branch}\r\nCSeq: 1 {method}\r\nContent-Length: 0\r\n\r\n"
    ).encode()


class Recorder:
    """A TU that answers every request with 200 (or runs `behaviour`) and remembers them."""

    def __init__(self) -> None:
        self.requests: list[ServerRequest] = []
        self.behaviour: Callable[[ServerRequest], None] | None = None

    def __call__(self, incoming: ServerRequest) -> None:
        self.requests.append(incoming)
        if self.behaviour is not None:
            self.behaviour(incoming)
        elif incoming.request.method != "ACK":
            incoming.respond(build_response(incoming.request, 200, to_tag="t"))


class Harness:
    def __init__(self, sip: SipTransport, recorder: Recorder) -> None:
        self.sip = sip
        self.recorder = recorder

    def port(self, transport: str, host: str = "127.0.0.1") -> int:
        return next(p.port for p in self.sip.bound if (p.transport, p.host) == (transport, host))


async def start_transport(**options: float) -> Harness:
    recorder = Recorder()
    sip = SipTransport(recorder, SystemClock(), timers=FAST_TIMERS, **options)  # type: ignore[arg-type]
    listen = [ListenAddress(t, h, 0) for h in ("127.0.0.1", "::1") for t in ("udp", "tcp")]
    await sip.start(listen)
    return Harness(sip, recorder)


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    running = await start_transport(tcp_idle_timeout=0.3)
    yield running
    await running.sip.close()


async def udp_receive(sock: socket.socket) -> Response:
    data = await asyncio.wait_for(
        asyncio.get_running_loop().sock_recv(sock, 65535), RECEIVE_TIMEOUT
    )
    message = parse_message(data)
    assert isinstance(message, Response)
    return message


def udp_client(host: str = "127.0.0.1") -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.bind((host, 0))
    sock.setblocking(False)
    return sock


async def read_message(reader: asyncio.StreamReader) -> Response:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), RECEIVE_TIMEOUT)
    message = parse_message(head)
    assert isinstance(message, Response)
    return message


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
async def test_udp_options_answered(harness: Harness, host: str) -> None:
    with udp_client(host) as sock:
        sock.sendto(request_bytes("udp1", via_host=host), (host, harness.port("udp", host)))
        response = await udp_receive(sock)
    assert response.status_code == 200
    assert harness.recorder.requests[0].local == Peer("udp", host, harness.port("udp", host))


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
async def test_tcp_two_requests_answered_on_one_connection(harness: Harness, host: str) -> None:
    reader, writer = await asyncio.open_connection(host, harness.port("tcp", host))
    writer.write(request_bytes("tcp1", via_host=host, transport="TCP"))
    first = await read_message(reader)
    writer.write(request_bytes("tcp2", via_host=host, transport="TCP"))
    second = await read_message(reader)
    assert (first.call_id, second.call_id) == ("tcp1", "tcp2")
    statistics = harness.sip.statistics()
    assert (statistics["tcp_connections"], statistics["stream_messages_in"]) == (1, 2)
    sources = {incoming.source for incoming in harness.recorder.requests}
    assert len(sources) == 1
    writer.close()


async def test_tcp_message_split_across_writes(harness: Harness) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", harness.port("tcp"))
    data = request_bytes("split", transport="TCP") + request_bytes("split2", transport="TCP")
    for start in range(0, len(data), 7):
        writer.write(data[start : start + 7])
        await writer.drain()
        await asyncio.sleep(0)
    assert (await read_message(reader)).call_id == "split"
    assert (await read_message(reader)).call_id == "split2"
    writer.close()


async def test_tcp_keepalive_ping_gets_pong(harness: Harness) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", harness.port("tcp"))
    writer.write(b"\r\n\r\n")
    assert await asyncio.wait_for(reader.readexactly(2), RECEIVE_TIMEOUT) == b"\r\n"
    writer.close()


async def test_idle_tcp_connection_is_closed(harness: Harness) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", harness.port("tcp"))
    writer.write(request_bytes("idle", transport="TCP"))
    await read_message(reader)
    # The server closes after 0.3 s of silence: the client reads end-of-stream.
    assert await asyncio.wait_for(reader.read(), RECEIVE_TIMEOUT) == b""
    statistics = harness.sip.statistics()
    assert statistics["tcp_idle_closed"] == 1
    assert statistics["tcp_connections"] == 0
    writer.close()


async def test_tcp_without_content_length_closes_the_connection(harness: Harness) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", harness.port("tcp"))
    writer.write(request_bytes("nolength", transport="TCP").replace(b"Content-Length: 0\r\n", b""))
    assert await asyncio.wait_for(reader.read(), RECEIVE_TIMEOUT) == b""
    assert harness.sip.statistics()["framing_errors"] == 1
    writer.close()


async def test_rport_response_goes_to_the_source_port(harness: Harness) -> None:
    with udp_client() as sock:
        # sent-by names port 9 (discard); rport makes the answer come back to this socket.
        sock.sendto(request_bytes("rport", via_port=9), ("127.0.0.1", harness.port("udp")))
        response = await udp_receive(sock)
        assert response.top_via.rport == str(sock.getsockname()[1])
    assert response.top_via.received == "127.0.0.1"


async def test_without_rport_response_goes_to_sent_by(harness: Harness) -> None:
    with udp_client() as sender, udp_client() as listener:
        sent_by_port = listener.getsockname()[1]
        request = request_bytes("sentby", via_port=sent_by_port, rport=False)
        sender.sendto(request, ("127.0.0.1", harness.port("udp")))
        response = await udp_receive(listener)
    assert response.call_id == "sentby"
    assert response.top_via.received is None


async def test_received_added_when_via_host_differs(harness: Harness) -> None:
    with udp_client() as sock:
        request = request_bytes("recv", via_host="client.invalid", via_port=9)
        sock.sendto(request, ("127.0.0.1", harness.port("udp")))
        response = await udp_receive(sock)
    assert response.top_via.host == "client.invalid"
    assert response.top_via.received == "127.0.0.1"
    assert harness.recorder.requests[0].request.top_via.received == "127.0.0.1"


async def test_retransmission_absorbed_and_answered_again(harness: Harness) -> None:
    with udp_client() as sock:
        for _ in range(2):
            sock.sendto(request_bytes("again"), ("127.0.0.1", harness.port("udp")))
            assert (await udp_receive(sock)).status_code == 200
    assert len(harness.recorder.requests) == 1
    assert harness.sip.statistics()["retransmissions_absorbed"] == 1


async def test_malformed_datagrams_get_400_or_nothing(harness: Harness) -> None:
    port = harness.port("udp")
    with udp_client() as sock:
        broken = request_bytes("bad").replace(b"Max-Forwards: 70", b"Max-Forwards: many")
        sock.sendto(broken, ("127.0.0.1", port))
        assert (await udp_receive(sock)).status_code == 400
        sock.sendto(b"\x00\xffnot sip at all", ("127.0.0.1", port))
        sock.sendto(request_bytes("after"), ("127.0.0.1", port))
        assert (await udp_receive(sock)).call_id == "after"
    statistics = harness.sip.statistics()
    assert statistics["parse_errors"] == 2
    assert statistics["bad_requests_answered"] == 1


async def test_handler_failure_becomes_500(harness: Harness) -> None:
    def fail(incoming: ServerRequest) -> None:
        raise RuntimeError("bug in the TU")

    harness.recorder.behaviour = fail
    with udp_client() as sock:
        sock.sendto(request_bytes("boom"), ("127.0.0.1", harness.port("udp")))
        assert (await udp_receive(sock)).status_code == 500
    assert harness.sip.statistics()["handler_errors"] == 1


async def test_late_response_through_the_transaction(harness: Harness) -> None:
    pending: list[ServerRequest] = []
    arrived = asyncio.Event()

    def hold(incoming: ServerRequest) -> None:
        pending.append(incoming)
        arrived.set()

    harness.recorder.behaviour = hold
    with udp_client() as sock:
        sock.sendto(request_bytes("later"), ("127.0.0.1", harness.port("udp")))
        await asyncio.wait_for(arrived.wait(), RECEIVE_TIMEOUT)
        pending[0].respond(build_response(pending[0].request, 202, to_tag="x"))
        assert (await udp_receive(sock)).status_code == 202


async def test_no_live_transactions_once_timers_ran_out(harness: Harness) -> None:
    with udp_client() as sock:
        for number in range(5):
            sock.sendto(request_bytes(f"live{number}"), ("127.0.0.1", harness.port("udp")))
            await udp_receive(sock)
    assert harness.sip.statistics()["transactions"] == 5
    # Timer J is 64*T1 = 0.32 s here.
    await asyncio.sleep(64 * FAST_TIMERS.t1 + 0.2)
    assert harness.sip.statistics()["transactions"] == 0


async def test_close_frees_the_ports() -> None:
    running = await start_transport()
    bound = running.sip.bound
    await running.sip.close()
    for peer in bound:
        family = socket.AF_INET6 if ":" in peer.host else socket.AF_INET
        kind = socket.SOCK_DGRAM if peer.transport == "udp" else socket.SOCK_STREAM
        with socket.socket(family, kind) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((peer.host, peer.port))


async def test_tcp_response_after_the_connection_closed_opens_one_to_sent_by(
    harness: Harness,
) -> None:
    pending: list[ServerRequest] = []
    arrived = asyncio.Event()

    def hold(incoming: ServerRequest) -> None:
        pending.append(incoming)
        arrived.set()

    harness.recorder.behaviour = hold
    answers: asyncio.Queue[bytes] = asyncio.Queue()

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await answers.put(await reader.readuntil(b"\r\n\r\n"))
        writer.close()

    listener = await asyncio.start_server(accept, "127.0.0.1", 0)
    sent_by_port = listener.sockets[0].getsockname()[1]
    _, writer = await asyncio.open_connection("127.0.0.1", harness.port("tcp"))
    writer.write(request_bytes("reopen", via_port=sent_by_port, transport="TCP"))
    await asyncio.wait_for(arrived.wait(), RECEIVE_TIMEOUT)
    writer.close()
    await writer.wait_closed()
    for _ in range(200):  # the server notices the close within a loop iteration or two
        if not harness.sip.statistics()["tcp_connections"]:
            break
        await asyncio.sleep(0.01)
    assert harness.sip.statistics()["tcp_connections"] == 0
    pending[0].respond(build_response(pending[0].request, 200, to_tag="x"))
    answer = parse_message(await asyncio.wait_for(answers.get(), RECEIVE_TIMEOUT))
    assert isinstance(answer, Response)
    assert answer.call_id == "reopen"
    listener.close()


async def test_unreachable_tcp_client_ends_the_transaction(harness: Harness) -> None:
    pending: list[ServerRequest] = []
    arrived = asyncio.Event()

    def hold(incoming: ServerRequest) -> None:
        pending.append(incoming)
        arrived.set()

    harness.recorder.behaviour = hold
    with socket.socket() as closed_port:
        closed_port.bind(("127.0.0.1", 0))
        nobody_listens = closed_port.getsockname()[1]
    _, writer = await asyncio.open_connection("127.0.0.1", harness.port("tcp"))
    writer.write(request_bytes("gone", via_port=nobody_listens, transport="TCP"))
    await asyncio.wait_for(arrived.wait(), RECEIVE_TIMEOUT)
    writer.close()
    await writer.wait_closed()
    for _ in range(200):
        if not harness.sip.statistics()["tcp_connections"]:
            break
        await asyncio.sleep(0.01)
    pending[0].respond(build_response(pending[0].request, 200, to_tag="x"))
    for _ in range(200):  # the connection attempt is refused within milliseconds
        if not harness.sip.statistics()["transactions"]:
            break
        await asyncio.sleep(0.01)
    statistics = harness.sip.statistics()
    assert statistics["transactions"] == statistics["server_transactions"] == 0
    assert statistics["send_errors"] == 1


async def test_cancel_is_told_whether_it_matches_an_invite(harness: Harness) -> None:
    def final_405(incoming: ServerRequest) -> None:
        if incoming.request.method == "INVITE":
            incoming.respond(build_response(incoming.request, 405, to_tag="x"))
        else:
            incoming.respond(build_response(incoming.request, 200, to_tag="x"))

    harness.recorder.behaviour = final_405
    with udp_client() as sock:
        port = harness.port("udp")
        sock.sendto(request_bytes("inv", method="INVITE"), ("127.0.0.1", port))
        statuses = [(await udp_receive(sock)).status_code]
        if statuses[0] == 100:  # the INVITE transaction may say Trying itself (§17.2.1)
            statuses.append((await udp_receive(sock)).status_code)
        assert statuses[-1] == 405
        sock.sendto(request_bytes("inv", method="CANCEL"), ("127.0.0.1", port))
        await udp_receive(sock)
        sock.sendto(request_bytes("other", method="CANCEL"), ("127.0.0.1", port))
        await udp_receive(sock)
    cancels = [r for r in harness.recorder.requests if r.request.method == "CANCEL"]
    assert [r.cancels_a_transaction for r in cancels] == [True, False]
