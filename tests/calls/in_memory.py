"""An in-memory SIP peer and media for the calls layer's unit tests: no sockets, no engine.

The call service sends through `InMemorySip` (the DialogTransport protocol); a test plays the
phones by handing the service requests (`Incoming`) and the B legs responses
(`SentRequest.answer`). `FakeMedia` is a LegMedia whose SDP is fixed and whose commands are
recorded; a ManualClock and `Deadlines.expire_due()` drive every timer.
"""

import asyncio
import itertools
from dataclasses import dataclass, field

from mediaserver.calls.dialog_transport import ResponseHandler
from mediaserver.calls.leg_events import DigitSource
from mediaserver.calls.leg_media import DigitHandler, LegMedia, MediaRefusedError
from mediaserver.media.port import MediaSink, MediaSource
from mediaserver.media.stream_statistics import StreamStatistics
from mediaserver.sdp.session import SessionDescription
from mediaserver.sip.message import Request, Response, build_response, parse_message
from mediaserver.transport.peer import Peer

LOCAL = Peer("udp", "127.0.0.1", 5060)
ALICE = Peer("udp", "127.0.0.1", 5071)
SDP = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n"
)
_tags = itertools.count(1)


def sdp(port: int = 4000) -> bytes:
    return SDP.format(port=port).encode()


@dataclass
class SentRequest:
    request: Request
    destination: Peer
    on_response: ResponseHandler
    cancelled: bool = False
    to_tag: str = field(default_factory=lambda: f"callee{next(_tags)}")

    def cancel(self) -> None:
        self.cancelled = True

    def answer(self, status_code: int, body: bytes = b"") -> None:
        """The callee's response to our INVITE (or any request), with its To tag."""
        headers = [("Contact", f"<sip:callee@{self.destination.host_port()}>")]
        if body:
            headers.append(("Content-Type", "application/sdp"))
        tag = None if status_code == 100 else self.to_tag
        self.on_response(
            build_response(self.request, status_code, to_tag=tag, headers=headers, body=body)
        )


class InMemorySip:
    def __init__(self) -> None:
        self.sent: list[SentRequest] = []
        self.acks: list[Request] = []

    def send_request(
        self, request: Request, destination: Peer, on_response: ResponseHandler
    ) -> SentRequest:
        sent = SentRequest(_with_via(request), destination, on_response)
        self.sent.append(sent)
        return sent

    def send_ack(self, ack: Request, destination: Peer) -> None:
        self.acks.append(ack)

    def local_peer(self, destination: Peer) -> Peer:
        """Our end of the flow: the same transport as the peer's."""
        return Peer(destination.transport, LOCAL.host, LOCAL.port)

    def sent_by_us(self, request: Request) -> bool:
        return False

    def invites(self) -> list[SentRequest]:
        return [sent for sent in self.sent if sent.request.method == "INVITE"]

    def requests(self, method: str) -> list[SentRequest]:
        return [sent for sent in self.sent if sent.request.method == method]


class Incoming:
    """A request from a phone, and the responses the service gave it."""

    def __init__(self, request: Request, source: Peer = ALICE) -> None:
        self.request = request
        self.source = source
        self.responses: list[Response] = []

    def respond(self, response: Response) -> None:
        self.responses.append(response)

    @property
    def statuses(self) -> list[int]:
        return [response.status_code for response in self.responses]


def invite(to_user: str = "bob", body: bytes | None = None, call_id: str = "call-1") -> Incoming:
    payload = sdp() if body is None else body
    text = (
        f"INVITE sip:{to_user}@phone.local SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 127.0.0.1:5071;branch=z9hG4bKalice1;rport\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:alice@phone.local>;tag=alice\r\n"
        f"To: <sip:{to_user}@phone.local>\r\n"
        f"Call-ID: {call_id}\r\n"
        "CSeq: 1 INVITE\r\n"
        "Contact: <sip:alice@127.0.0.1:5071>\r\n"
        "X-PH-Customer: 42\r\n"
        "Content-Type: application/sdp\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    )
    message = parse_message(text.encode() + payload)
    assert isinstance(message, Request)
    return Incoming(message)


def in_dialog(first: Incoming, method: str, cseq: int, body: bytes = b"") -> Incoming:
    """A request from the caller within the dialog its INVITE made (our To tag)."""
    invite = first.request
    to_tag = first.responses[-1].to_address.tag
    dialog = (
        f"From: {invite.headers.get('From')}\r\n"
        f"To: <sip:bob@phone.local>;tag={to_tag}\r\n"
        f"Call-ID: {invite.call_id}\r\nContact: <sip:alice@127.0.0.1:5071>\r\n"
    )
    content_type = "application/dtmf-relay" if body else ""
    return _within(first.source, method, cseq, dialog, content_type, body)


def from_callee(sent: SentRequest, method: str, cseq: int, body: bytes = b"") -> Incoming:
    """A request from a callee within the dialog our INVITE `sent` made with it."""
    invite, callee = sent.request, sent.destination.host_port()
    dialog = (
        f"From: <{invite.uri}>;tag={sent.to_tag}\r\nTo: {invite.headers.get('From')}\r\n"
        f"Call-ID: {invite.call_id}\r\nContact: <sip:callee@{callee}>\r\n"
    )
    content_type = "application/sdp" if body else ""
    return _within(sent.destination, method, cseq, dialog, content_type, body)


def _within(
    source: Peer, method: str, cseq: int, dialog: str, content_type: str, body: bytes
) -> Incoming:
    content = f"Content-Type: {content_type}\r\n" if content_type else ""
    text = (
        f"{method} sip:mediaserver@127.0.0.1:5060 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {source.host_port()};branch=z9hG4bK{method.lower()}{cseq};rport\r\n"
        f"{dialog}CSeq: {cseq} {method}\r\nMax-Forwards: 70\r\n{content}"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    message = parse_message(text.encode() + body)
    assert isinstance(message, Request)
    return Incoming(message, source)


def _with_via(request: Request) -> Request:
    """What the transport adds before sending: our Via (§8.1.1.7)."""
    branch = f"z9hG4bKus{next(_tags)}"
    headers = request.headers.with_added(
        "Via", f"SIP/2.0/UDP 127.0.0.1:5060;branch={branch}", first=True
    )
    return Request(request.method, request.uri, headers, request.body)


class FakeMedia:
    """A LegMedia with fixed SDP; commands are recorded and playback ends when told."""

    def __init__(self) -> None:
        self.last_sent: SessionDescription | None = None
        self.peer_gone = False  # what a WebRTC leg says once ICE consent has expired
        self.codec = "PCMU"
        self.remote_on_hold = False
        self.local_hold = False
        self.awaiting_answer = False
        self.is_open = False
        self.closed = False
        self.peer: LegMedia | None = None
        self.playing: asyncio.Future[bool] | None = None
        self.played: list[MediaSource] = []
        self.digits_sent: list[str] = []
        self.digit_handler: DigitHandler | None = None
        self.sink: MediaSink | None = None
        self.sink_hears = True
        self.received = 0

    def check_offer(self, offer: SessionDescription) -> None:
        if not offer.media:
            raise MediaRefusedError("no audio stream")

    async def prepare_answer(self, offer: SessionDescription) -> None:
        self._open()

    async def prepare_offer(self) -> None:
        self._open()

    def answer(self, offer: SessionDescription) -> SessionDescription:
        return self._sent()

    def offer(self) -> SessionDescription:
        self.awaiting_answer = True
        return self._sent()

    def reoffer(self, direction: str) -> SessionDescription:
        self.awaiting_answer = True
        return self._sent()

    def accept_answer(self, answer: SessionDescription) -> None:
        self.awaiting_answer = False

    def abandon_offer(self) -> None:
        self.awaiting_answer = False

    def close(self) -> None:
        self.closed, self.is_open = True, False
        self.disconnect()
        self.stop_playing()

    def connect(self, other: LegMedia) -> None:
        assert isinstance(other, FakeMedia)
        self.peer, other.peer = other, self

    def disconnect(self) -> None:
        if isinstance(self.peer, FakeMedia):
            self.peer.peer = None
        self.peer = None

    def connected_to(self, other: LegMedia) -> bool:
        return self.peer is other

    def play(self, source: MediaSource, mixed: bool = False) -> "asyncio.Future[bool]":
        self.stop_playing()
        self.played.append(source)
        self.playing = asyncio.get_running_loop().create_future()
        return self.playing

    def stop_playing(self) -> None:
        if self.playing is not None and not self.playing.done():
            self.playing.set_result(False)

    def finish_playing(self) -> None:
        assert self.playing is not None
        self.playing.set_result(True)

    def send_digits(self, digits: str, duration_ms: int | None = None) -> "asyncio.Future[bool]":
        self.digits_sent.append(digits)
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        done.set_result(True)
        return done

    def detect_digits(self, handler: DigitHandler | None) -> None:
        self.digit_handler = handler

    def press(self, digit: str, source: DigitSource) -> None:
        """The peer presses a digit that the engine would detect (RFC 4733 or in-band)."""
        if self.digit_handler is not None:
            self.digit_handler(digit, source)

    def record(self, sink: MediaSink | None, heard: bool = True) -> None:
        self.sink = sink
        self.sink_hears = heard

    def connectivity_lost(self) -> bool:
        return self.peer_gone

    def packets_received(self) -> int:
        return self.received

    def statistics(self) -> StreamStatistics:
        return StreamStatistics(self.received, 0, 0, 0, 0, 0, 0.0)

    @property
    def rtp_port(self) -> int | None:
        return 4000 if self.is_open else None

    def _open(self) -> None:
        if self.closed:
            raise MediaRefusedError("the leg has ended")
        self.is_open = True

    def _sent(self) -> SessionDescription:
        self.last_sent = SessionDescription.parse(sdp(5000))
        return self.last_sent
