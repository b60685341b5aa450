"""A UAC that places one call at a time and times it (a part: no run()): from sending the
INVITE that carries credentials to the 200 OK and to the first RTP packet that comes back.

Why not SIPp: its scenarios time SIP messages (rtd) but nothing marks when an RTP packet
arrives, and its RTP runs on a thread of its own. This UAC sends what SIPp's
fixtures/sipp/call_auth_uac.xml sends (INVITE, 407, ACK, INVITE with credentials, 200, ACK,
BYE), parses what comes back with the project's SIP parser, and stamps the SIP and RTP
sockets' arrivals on one clock. Each call gets an RTP socket of its own, so a late packet of
the call before cannot count as the first of the next.
"""

import secrets
import select
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from mediaserver.sip.digest import DigestChallenge
from mediaserver.sip.message import Request, Response, parse_message
from tools.bench.registration import sign

TELEPHONE_EVENT_PT = 101
RTCP_PAYLOAD_TYPES = range(72, 77)  # RFC 5761 §4: RTCP on a muxed port


class CallFailedError(RuntimeError):
    """The server refused the call or did not answer in time."""


@dataclass(frozen=True, slots=True)
class CallTiming:
    answered_ms: float  # the INVITE with credentials sent -> its 200 OK received
    first_rtp_ms: float  # the INVITE with credentials sent -> the first RTP packet received


class _Call:
    """One call's state: the dialog identifiers and what has arrived, with arrival times."""

    def __init__(self, caller: "TimedCaller", called: str) -> None:
        self.caller = caller
        self.called = called
        self.token = secrets.token_hex(8)
        self.call_id = f"{self.token}@127.0.0.1"
        self.from_tag = secrets.token_hex(4)
        self.rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtp.bind(("127.0.0.1", 0))
        self.finals: dict[int, tuple[Response, float]] = {}  # CSeq number -> (final, arrival)
        self.first_rtp: float | None = None

    @property
    def request_uri(self) -> str:
        return f"sip:{self.called}@{self.caller.domain}"

    def branch(self, cseq: int) -> str:
        return f"{self.token}-{cseq}"

    @property
    def rtp_port(self) -> int:
        return int(self.rtp.getsockname()[1])

    def hear_rtp(self, data: bytes, arrival: float) -> None:
        is_rtp = len(data) >= 12 and data[0] & 0xC0 == 0x80
        if is_rtp and data[1] & 0x7F not in RTCP_PAYLOAD_TYPES and self.first_rtp is None:
            self.first_rtp = arrival

    def hear_sip(self, data: bytes, arrival: float) -> None:
        message = parse_message(data)
        if message.call_id != self.call_id:
            return  # a late retransmission of the call before
        if isinstance(message, Request):
            if message.method == "BYE":  # the application hung up first
                self.caller.send(*_response_to(message))
            return
        if message.status_code >= 200:
            self.finals.setdefault(message.cseq.number, (message, arrival))


class TimedCaller:
    """An endpoint (`user`, `password`) calling through the server on 127.0.0.1:`port`."""

    def __init__(self, port: int, user: str, password: str, domain: str) -> None:
        self._server = ("127.0.0.1", port)
        self._user, self._password, self.domain = user, password, domain
        self._sip = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sip.bind(("127.0.0.1", 0))
        self._port = int(self._sip.getsockname()[1])

    def close(self) -> None:
        self._sip.close()

    def send(self, start_line: str, headers: list[str], body: str = "") -> None:
        lines = [start_line, *headers, f"Content-Length: {len(body)}", "", body]
        self._sip.sendto("\r\n".join(lines).encode(), self._server)

    def call(self, called: str, timeout_seconds: float = 10.0) -> CallTiming:
        call = _Call(self, called)
        deadline = time.perf_counter() + timeout_seconds
        try:
            self._invite(call, 1, [])
            challenge, _ = self._final(call, 1, deadline)
            self._ack(call, 1, challenge)
            authorization = self._authorization(call, challenge)
            started = time.perf_counter()
            self._invite(call, 2, [authorization])
            answer, answered = self._final(call, 2, deadline)
            if answer.status_code != 200:
                raise CallFailedError(f"INVITE answered {answer.status_code} {answer.reason}")
            self._ack(call, 2, answer)
            self._wait(call, deadline, lambda: call.first_rtp is not None)
            self._in_dialog(call, answer, 3, "BYE")
            self._final(call, 3, deadline)
        finally:
            call.rtp.close()
        assert call.first_rtp is not None
        return CallTiming(1000 * (answered - started), 1000 * (call.first_rtp - started))

    def _final(self, call: _Call, cseq: int, deadline: float) -> tuple[Response, float]:
        self._wait(call, deadline, lambda: cseq in call.finals)
        return call.finals[cseq]

    def _wait(self, call: _Call, deadline: float, done: Callable[[], bool]) -> None:
        while not done():
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise CallFailedError(f"call {call.call_id} timed out")
            readable, _, _ = select.select([self._sip, call.rtp], [], [], remaining)
            arrival = time.perf_counter()
            if call.rtp in readable:
                call.hear_rtp(call.rtp.recv(2048), arrival)
            if self._sip in readable:
                call.hear_sip(self._sip.recv(65535), arrival)

    def _authorization(self, call: _Call, challenge: Response) -> str:
        if challenge.status_code != 407:
            raise CallFailedError(f"expected 407, got {challenge.status_code}")
        offered = DigestChallenge.parse(challenge.headers.get("Proxy-Authenticate") or "")
        uri = f"sip:{call.called}@{self.domain}"
        return f"Proxy-Authorization: {sign(offered, self._user, self._password, 'INVITE', uri)}"

    def _invite(self, call: _Call, cseq: int, extra: list[str]) -> None:
        sdp = "\r\n".join([
            "v=0", "o=bench 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
            f"m=audio {call.rtp_port} RTP/AVP 0 {TELEPHONE_EVENT_PT}", "a=rtpmap:0 PCMU/8000",
            f"a=rtpmap:{TELEPHONE_EVENT_PT} telephone-event/8000", "",
        ])  # fmt: skip
        self.send(
            f"INVITE {call.request_uri} SIP/2.0",
            [*self._headers(call, cseq, "INVITE"), f"To: <{call.request_uri}>",
             f"Contact: <sip:{self._user}@127.0.0.1:{self._port}>", *extra,
             "Content-Type: application/sdp"],
            sdp,
        )  # fmt: skip

    def _ack(self, call: _Call, cseq: int, response: Response) -> None:
        if response.status_code < 300:
            self._in_dialog(call, response, cseq, "ACK")
            return
        # RFC 3261 §17.1.1.3: in the INVITE's transaction (its branch and Request-URI).
        headers = self._headers(call, cseq, "ACK", call.branch(cseq))
        self.send(
            f"ACK {call.request_uri} SIP/2.0", [*headers, f"To: {response.headers.get('To')}"]
        )

    def _in_dialog(self, call: _Call, answer: Response, cseq: int, method: str) -> None:
        """§12.2.1.1: to the remote target (the 200's Contact), with the dialog's tags."""
        contact = answer.headers.get("Contact") or ""
        target = contact[contact.find("<") + 1 : contact.find(">")] if "<" in contact else contact
        headers = self._headers(call, cseq, method, f"{call.branch(cseq)}-{method}")
        self.send(
            f"{method} {target.strip()} SIP/2.0", [*headers, f"To: {answer.headers.get('To')}"]
        )

    def _headers(self, call: _Call, cseq: int, method: str, branch: str = "") -> list[str]:
        return [
            f"Via: SIP/2.0/UDP 127.0.0.1:{self._port};branch=z9hG4bK{branch or call.branch(cseq)}",
            "Max-Forwards: 70",
            f"From: <sip:{self._user}@{self.domain}>;tag={call.from_tag}",
            f"Call-ID: {call.call_id}",
            f"CSeq: {cseq} {method}",
        ]


def _response_to(request: Request) -> tuple[str, list[str]]:
    copied = [
        f"{name}: {value}"
        for name in ("Via", "From", "To", "Call-ID", "CSeq")
        for value in request.headers.get_all(name)
    ]
    return "SIP/2.0 200 OK", copied
