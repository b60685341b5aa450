"""A browser as the benchmarks' peer (a part: no run()): aiortc's RTCPeerConnection (full ICE
agent, DTLS-SRTP, Opus through PyAV) signalled by SIP over WebSocket (RFC 7118) the way JsSIP
signals it: a `.invalid` Via host and Contact (§5.2), REGISTER and INVITE answered with
digest credentials.

It sends a 48 kHz signal from a track paced on the event loop, logging when each 20 ms frame
went to aiortc's encoder, and records every RTP packet aiortc hands its receiver (after SRTP),
with its arrival time, before aiortc's jitter buffer: the figures are the server's, not
aiortc's own playout delay (aiortc/aiortc#775).
"""

import asyncio
import contextlib
import fractions
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import aioice.ice
import numpy as np
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCRtpReceiver, RTCSessionDescription
from aiortc.contrib.media import MediaBlackhole
from aiortc.rtp import RtpPacket
from av import AudioFrame

from audiocodecs.pcm import Pcm16
from mediaserver.sip.digest import DigestChallenge
from mediaserver.sip.message import Response, build_response, parse_message
from tools.bench.chirps import SendLog
from tools.bench.received_stream import ReceivedStream
from tools.bench.registration import sign

SAMPLE_RATE = 48000
FRAME_SAMPLES = 960  # 20 ms
OPUS_CLOCK_RATE = 48000
SIP_TIMEOUT = 10.0
CONNECT_TIMEOUT = 15.0


def _loopback(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    return ["127.0.0.1"]


# aioice offers host candidates on every interface except loopback; the benchmarks run on
# 127.0.0.1 alone, so that is the one candidate this browser offers.
aioice.ice.get_host_addresses = _loopback


class SipCallError(RuntimeError):
    """The server refused a request, or did not answer in time."""


class LoopingTrack(MediaStreamTrack):
    """`signal` (48 kHz) in 20 ms frames, paced on the loop, looped; `log` has send times."""

    kind = "audio"

    def __init__(self, signal: Pcm16) -> None:
        super().__init__()
        self._signal = signal
        self._frames = 0
        self._started: float | None = None
        self.log = SendLog()

    async def recv(self) -> AudioFrame:
        now = time.monotonic()
        if self._started is None:
            self._started = now
        due = self._started + self._frames * FRAME_SAMPLES / SAMPLE_RATE
        if due > now:
            await asyncio.sleep(due - now)
        start = (self._frames * FRAME_SAMPLES) % len(self._signal)
        samples = self._signal[start : start + FRAME_SAMPLES]
        if len(samples) < FRAME_SAMPLES:  # the signal's last, short frame
            samples = np.pad(samples, (0, FRAME_SAMPLES - len(samples)))
        frame = AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._frames * FRAME_SAMPLES
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        self._frames += 1
        self.log.sent_at.append(time.monotonic())
        return frame


@dataclass
class Dialog:
    call_id: str
    from_tag: str
    to: str
    target: str
    cseq: int


class WsSipUser:
    """One endpoint's SIP over one WebSocket. serve() must run while it is used: it routes
    responses to the request waiting for them and answers the server's requests."""

    def __init__(
        self, websocket: aiohttp.ClientWebSocketResponse, user: str, password: str, domain: str
    ) -> None:
        self._websocket = websocket
        self._user, self._password, self._domain = user, password, domain
        self._host = f"{secrets.token_hex(6)}.invalid"
        self._responses: asyncio.Queue[Response] = asyncio.Queue()
        self.hung_up = asyncio.Event()  # the server sent BYE

    @property
    def contact(self) -> str:
        return f"<sip:{self._user}@{self._host};transport=ws>"

    async def serve(self) -> None:
        async for message in self._websocket:
            if message.type is not aiohttp.WSMsgType.TEXT:
                continue
            parsed = parse_message(message.data.encode())
            if isinstance(parsed, Response):
                if parsed.status_code >= 200:
                    self._responses.put_nowait(parsed)
                continue
            if parsed.method == "BYE":
                self.hung_up.set()
            if parsed.method != "ACK":
                await self._websocket.send_bytes(build_response(parsed, 200).serialize())

    async def register(self) -> None:
        call_id, tag = secrets.token_hex(8), secrets.token_hex(4)
        uri, to = f"sip:{self._domain}", f"<sip:{self._user}@{self._domain}>"
        credentials: list[str] = []
        for cseq in (1, 2):
            headers = self._headers(call_id, tag, to, cseq, "REGISTER")
            contact = f"Contact: {self.contact};expires=600"
            response = await self._request(f"REGISTER {uri}", [*headers, contact, *credentials])
            if response.status_code != 401:
                break
            credentials = self._credentials(response, "WWW-Authenticate", "REGISTER", uri)
        if response.status_code != 200:
            raise SipCallError(f"REGISTER answered {response.status_code} {response.reason}")

    async def invite(self, called: str, sdp: str) -> tuple[Dialog, str]:
        """INVITE `called` with `sdp`, through the proxy challenge; the dialog and its answer."""
        call_id, tag = secrets.token_hex(8), secrets.token_hex(4)
        uri = f"sip:{called}@{self._domain}"
        to = f"<{uri}>"
        credentials: list[str] = []
        for cseq in (1, 2):
            branch = f"z9hG4bK{secrets.token_hex(6)}"
            headers = self._headers(call_id, tag, to, cseq, "INVITE", branch)
            response = await self._request(
                f"INVITE {uri}", [*headers, f"Contact: {self.contact}", *credentials,
                                  "Content-Type: application/sdp"], sdp,
            )  # fmt: skip
            if response.status_code != 407:
                break
            # RFC 3261 §17.1.1.3: the ACK of a non-2xx answer is in the INVITE's transaction.
            challenged = response.headers.get("To") or to
            await self._send(f"ACK {uri}", self._headers(call_id, tag, challenged, cseq, "ACK",
                                                         branch))  # fmt: skip
            credentials = self._credentials(response, "Proxy-Authenticate", "INVITE", uri)
        if response.status_code != 200:
            raise SipCallError(f"INVITE answered {response.status_code} {response.reason}")
        contact = response.contacts[0].uri if response.contacts else uri
        dialog = Dialog(call_id, tag, response.headers.get("To") or to, str(contact), 2)
        await self._send(f"ACK {dialog.target}", self._headers(call_id, tag, dialog.to, 2, "ACK"))
        return dialog, response.body.decode()

    async def bye(self, dialog: Dialog) -> None:
        if self.hung_up.is_set():
            return
        dialog.cseq += 1
        headers = self._headers(dialog.call_id, dialog.from_tag, dialog.to, dialog.cseq, "BYE")
        await self._request(f"BYE {dialog.target}", headers)

    def _credentials(self, challenge: Response, header: str, method: str, uri: str) -> list[str]:
        if challenge.status_code not in (401, 407):
            raise SipCallError(f"{method} answered {challenge.status_code} {challenge.reason}")
        offered = DigestChallenge.parse(challenge.headers.get(header) or "")
        name = "Authorization" if header == "WWW-Authenticate" else "Proxy-Authorization"
        return [f"{name}: {sign(offered, self._user, self._password, method, uri)}"]

    def _headers(
        self, call_id: str, tag: str, to: str, cseq: int, method: str, branch: str = ""
    ) -> list[str]:
        branch = branch or f"z9hG4bK{secrets.token_hex(6)}"
        return [
            f"Via: SIP/2.0/WS {self._host};branch={branch}",
            "Max-Forwards: 70",
            f"From: <sip:{self._user}@{self._domain}>;tag={tag}",
            f"To: {to}",
            f"Call-ID: {call_id}",
            f"CSeq: {cseq} {method}",
        ]

    async def _request(self, line: str, headers: list[str], body: str = "") -> Response:
        await self._send(line, headers, body)
        try:
            return await asyncio.wait_for(self._responses.get(), SIP_TIMEOUT)
        except TimeoutError:
            raise SipCallError(f"no final response to {line}") from None

    async def _send(self, line: str, headers: list[str], body: str = "") -> None:
        text = "\r\n".join([f"{line} SIP/2.0", *headers, f"Content-Length: {len(body)}", "", body])
        await self._websocket.send_str(text)


class BrowserPeer:
    """A peer connection sending `signal` and recording what it receives."""

    def __init__(self, signal: Pcm16, keep_payloads: bool) -> None:
        self.connection = RTCPeerConnection()
        self.track = LoopingTrack(signal)
        self.received = ReceivedStream(OPUS_CLOCK_RATE, keep_payloads)
        self._sink = MediaBlackhole()  # aiortc decodes into the track's queue: drain it
        self.connection.addTrack(self.track)
        for transceiver in self.connection.getTransceivers():
            self._record(transceiver.receiver)
        self.connection.on("track", self._sink.addTrack)

    async def offer(self) -> str:
        await self.connection.setLocalDescription(await self.connection.createOffer())
        return str(self.connection.localDescription.sdp)

    async def accept(self, answer: str) -> None:
        await self.connection.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        await self._sink.start()
        deadline = time.monotonic() + CONNECT_TIMEOUT
        while self.connection.connectionState != "connected":
            if time.monotonic() > deadline or self.connection.connectionState == "failed":
                raise SipCallError(f"ICE/DTLS: {self.connection.connectionState}")
            await asyncio.sleep(0.05)

    def count_from_now(self) -> None:
        """Loss, jitter and the sender's lateness from here on (the set-up not counted)."""
        self.received = ReceivedStream(OPUS_CLOCK_RATE, self.received.keep_payloads)
        self.track.log = SendLog()

    async def close(self) -> None:
        await self._sink.stop()
        await self.connection.close()

    def _record(self, receiver: RTCRtpReceiver) -> None:
        # Wraps aiortc's (private) entry point for decrypted RTP: the one place a packet is
        # seen on arrival, before the jitter buffer.
        handle = receiver._handle_rtp_packet

        async def recorded(packet: RtpPacket, arrival_time_ms: int) -> None:
            self.received.add(time.monotonic(), packet.sequence_number, packet.timestamp,
                              packet.payload)  # fmt: skip
            await handle(packet, arrival_time_ms)

        receiver._handle_rtp_packet = recorded  # type: ignore[method-assign]


@contextlib.asynccontextmanager
async def browser_call(
    url: str, user: tuple[str, str], domain: str, called: str, peer: BrowserPeer
) -> AsyncIterator[None]:
    """`user` registers over a WebSocket to `url` and calls `called` from `peer`: the call is
    up (ICE and DTLS done) inside the block, and hung up when it ends."""
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(url, protocols=("sip",)) as websocket,
        asyncio.TaskGroup() as tasks,
    ):
        sip = WsSipUser(websocket, *user, domain)
        tasks.create_task(sip.serve())
        try:
            await sip.register()
            dialog, answer = await sip.invite(called, await peer.offer())
            await peer.accept(answer)
            yield
            await sip.bye(dialog)
        finally:
            await peer.close()
            await websocket.close()  # ends serve()
