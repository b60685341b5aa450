"""One leg's media: its SDP offer/answer state (RFC 3264) and what the media engine does
with it.

`LegMedia` is the protocol legs and scripts use; `RtpLegMedia` is plain RTP through the
engine (`WebRtcLegMedia`, webrtc_media.py, adds ICE-lite and DTLS-SRTP to it). A leg sends one
session description after another, each a revision of the last (§8); the media object keeps
the last one sent, the engine stream opened for it, and what the latest exchange settled
(codec, remote address, hold). The calls layer hands it offers and answers and asks it for
playback, digits, recording and bridging; it never touches packets or engine streams.
"""

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from typing import Protocol

from mediaserver.calls.leg_events import DigitSource
from mediaserver.config import CallsConfig
from mediaserver.media.engine import MediaEngine, StreamStateError
from mediaserver.media.port import MediaSink, MediaSource
from mediaserver.media.stream import DtmfMethod, DtmfReceived, MediaStream
from mediaserver.media.stream_statistics import StreamStatistics
from mediaserver.rtp.payload_types import AUDIO_FORMATS, PayloadFormat
from mediaserver.sdp.offer_answer import (
    answer_offer,
    build_offer,
    build_reoffer,
    negotiate_offer,
    process_answer,
    revise,
)
from mediaserver.sdp.session import Origin, SdpParseError, SessionDescription
from mediaserver.sdp.stream import Capabilities, NegotiatedStream, SdpNegotiationError

logger = logging.getLogger(__name__)


class MediaRefusedError(ValueError):
    """Nothing usable in an offer or answer: SIP says 488 (§13.3.1.1) or ends the dialog."""


DigitHandler = Callable[[str, DigitSource], None]


class LegMedia(Protocol):
    """A leg's media as the calls layer sees it: offer/answer, then commands."""

    last_sent: SessionDescription | None

    @property
    def codec(self) -> str: ...
    @property
    def remote_on_hold(self) -> bool: ...
    @property
    def local_hold(self) -> bool: ...
    @property
    def awaiting_answer(self) -> bool: ...
    @property
    def is_open(self) -> bool: ...

    def check_offer(self, offer: SessionDescription) -> None: ...
    async def prepare_answer(self, offer: SessionDescription) -> None: ...
    async def prepare_offer(self) -> None: ...
    def answer(self, offer: SessionDescription) -> SessionDescription: ...
    def offer(self) -> SessionDescription: ...
    def reoffer(self, direction: str) -> SessionDescription: ...
    def accept_answer(self, answer: SessionDescription) -> None: ...
    def abandon_offer(self) -> None: ...
    def close(self) -> None: ...

    def connect(self, other: "LegMedia") -> None: ...
    def disconnect(self) -> None: ...
    def connected_to(self, other: "LegMedia") -> bool: ...
    def play(self, source: MediaSource, mixed: bool = False) -> "asyncio.Future[bool]": ...
    def stop_playing(self) -> None: ...
    def send_digits(
        self, digits: str, duration_ms: int | None = None
    ) -> "asyncio.Future[bool]": ...
    def detect_digits(self, handler: DigitHandler | None) -> None: ...
    def record(self, sink: MediaSink | None, heard: bool = True) -> None: ...
    def packets_received(self) -> int: ...
    def connectivity_lost(self) -> bool: ...
    def statistics(self) -> StreamStatistics | None: ...
    @property
    def rtp_port(self) -> int | None: ...


def capabilities_for(config: CallsConfig) -> Capabilities:
    by_name = {f.encoding_name.lower(): f for f in AUDIO_FORMATS}
    formats: tuple[PayloadFormat, ...] = tuple(by_name[c.lower()] for c in config.codecs)
    return Capabilities(
        formats=formats,
        ptime_ms=config.ptime_ms,
        telephone_event_rates=(8000, 48000) if config.telephone_event else (),
    )


def parse_sdp(body: bytes) -> SessionDescription:
    try:
        return SessionDescription.parse(body)
    except SdpParseError as error:
        raise MediaRefusedError(f"malformed SDP: {error}") from None


class RtpLegMedia:
    def __init__(
        self, engine: MediaEngine, capabilities: Capabilities, address: str, username: str
    ) -> None:
        self._engine = engine
        self._capabilities = capabilities
        self._address = address
        # RFC 4566 §5.2: a session id unique to this leg; the version starts at an NTP-ish
        # timestamp so that it only ever grows.
        self._origin = Origin(
            username, str(secrets.randbelow(2**31)), int(time.time()), address,
            _address_type(address),
        )  # fmt: skip
        self.stream: MediaStream | None = None
        self.negotiated: NegotiatedStream | None = None
        self.last_sent: SessionDescription | None = None
        self._pending_offer: SessionDescription | None = None  # ours, awaiting an answer
        self._codec = ""
        self._closed = False
        self._final_statistics: StreamStatistics | None = None  # taken at close, for the record

    @property
    def codec(self) -> str:
        """The codec last negotiated (kept after close, for the call record)."""
        return self._codec

    @property
    def remote_on_hold(self) -> bool:
        """The peer put us on hold: it receives nothing (sendonly or inactive, §8.4)."""
        return self.negotiated is not None and self.negotiated.remote_on_hold

    @property
    def local_hold(self) -> bool:
        """Our side of the session is not sendrecv: we hold, or answered a hold."""
        sent = self.last_sent
        if sent is None or not sent.media:
            return False
        return sent.media[0].direction(sent.direction) != "sendrecv"

    @property
    def awaiting_answer(self) -> bool:
        return self._pending_offer is not None

    def check_offer(self, offer: SessionDescription) -> None:
        """Raises MediaRefusedError when nothing in `offer` is usable."""
        self._choose(offer)

    async def prepare_answer(self, offer: SessionDescription) -> None:
        """Open the stream for the codec `offer` settles to; raises MediaRefusedError (488)."""
        chosen = self._choose(offer)
        if self.stream is None:
            assert chosen.format is not None
            self._check_open()
            self.stream = await self._engine.open_stream(
                chosen.format.encoding_name,
                self._capabilities.ptime_ms,
                chosen.payload_type,
                chosen.telephone_event_payload_type,
                peer_fmtp=chosen.fmtp,
            )

    async def prepare_offer(self) -> None:
        """Open the stream with our first codec; the answer may change it (change_format)."""
        if self.stream is None:
            self._check_open()
            first = self._capabilities.formats[0]
            self.stream = await self._engine.open_stream(
                first.encoding_name, self._capabilities.ptime_ms
            )

    def answer(self, offer: SessionDescription) -> SessionDescription:
        """§6: our answer to `offer`, on the stream prepare_answer opened."""
        chosen = self._choose(offer)
        stream = self._open_stream()
        assert chosen.format is not None
        self._engine.change_format(
            stream, chosen.format.encoding_name, chosen.payload_type,
            chosen.telephone_event_payload_type, peer_fmtp=chosen.fmtp,
        )  # fmt: skip
        answer = answer_offer(
            offer, self._capabilities, self._address, [stream.ports.rtp_port], self._origin
        )
        self._apply(next(s for s in answer.streams if s.accepted))
        return self._sent(self._described(answer.session, offer))

    def offer(self) -> SessionDescription:
        """§5: a full offer (initial INVITE, or an offerless re-INVITE's 200)."""
        stream = self._open_stream()
        offer = build_offer(self._capabilities, self._address, stream.ports.rtp_port, self._origin)
        offer = self._sent(self._described(offer, None))
        self._pending_offer = offer
        return offer

    def reoffer(self, direction: str) -> SessionDescription:
        """§8.4: the last description again with a new direction (hold, resume)."""
        assert self.last_sent is not None
        offer = self._sent(build_reoffer(self.last_sent, direction))
        self._pending_offer = offer
        return offer

    def accept_answer(self, answer: SessionDescription) -> None:
        """§5: the peer's answer to our pending offer."""
        offer = self._pending_offer
        if offer is None:
            raise MediaRefusedError("an answer without an offer")
        self._pending_offer = None
        try:
            streams = process_answer(offer, answer)
        except SdpNegotiationError as error:
            raise MediaRefusedError(str(error)) from None
        chosen = next((s for s in streams if s.accepted), None)
        if chosen is None or chosen.format is None:
            raise MediaRefusedError("the answer refused every stream")
        assert self.stream is not None
        self._engine.change_format(
            self.stream, chosen.format.encoding_name, chosen.payload_type,
            chosen.telephone_event_payload_type, peer_fmtp=chosen.fmtp,
        )  # fmt: skip
        self._apply(chosen)

    def abandon_offer(self) -> None:
        """A re-INVITE of ours failed (§14.1): the session stays as it was."""
        self._pending_offer = None

    def close(self) -> None:
        self._closed = True
        if self.stream is not None:
            self._final_statistics = self._engine.stream_statistics(self.stream)
            self._engine.close_stream(self.stream)
            self.stream = None

    @property
    def is_open(self) -> bool:
        return self.stream is not None

    # -- commands (the engine's API, RFC 3264 state aside) -------------------------------------

    def connect(self, other: LegMedia) -> None:
        """Bridge both ways through the engine (relayed or transcoded, its choice)."""
        mine, theirs = self._open_stream(), stream_of(other)
        if mine.peer is theirs:
            return
        try:
            self._engine.connect(mine, theirs)
        except StreamStateError as error:
            raise MediaRefusedError(str(error)) from None

    def disconnect(self) -> None:
        if self.stream is not None:
            self._engine.disconnect(self.stream)

    def connected_to(self, other: LegMedia) -> bool:
        return self.stream is not None and self.stream.peer is stream_of(other)

    def play(self, source: MediaSource, mixed: bool = False) -> "asyncio.Future[bool]":
        return self._engine.play(self._open_stream(), source, mixed)

    def stop_playing(self) -> None:
        if self.stream is not None:
            self._engine.stop_playing(self.stream)

    def send_digits(self, digits: str, duration_ms: int | None = None) -> "asyncio.Future[bool]":
        """RFC 4733 events when the peer negotiated telephone-event, else in-band tones."""
        stream = self._open_stream()
        mode = (
            DtmfMethod.RFC4733
            if stream.format.telephone_event_pt is not None
            else DtmfMethod.INBAND
        )
        return self._engine.send_dtmf(stream, digits, mode, duration_ms)

    def detect_digits(self, handler: DigitHandler | None) -> None:
        """Report RFC 4733 and in-band digits to `handler` (None: stop, and let the engine
        relay the stream untouched again)."""
        if self.stream is None:
            return
        if handler is None:
            self._engine.stop_detecting_dtmf(self.stream)
            return

        def received(digit: DtmfReceived) -> None:
            handler(digit.digit, _DIGIT_SOURCES[digit.source])

        self._engine.detect_dtmf(self.stream, received)

    def record(self, sink: MediaSink | None, heard: bool = True) -> None:
        if self.stream is None:
            return
        if sink is None:
            self._engine.stop_recording(self.stream)
        else:
            self._engine.record(self.stream, sink, sent_too=heard)

    def connectivity_lost(self) -> bool:
        """The peer is known to be gone without a BYE (a WebRTC peer's consent expired)."""
        return self.stream is not None and self._engine.connectivity_lost(self.stream)

    def packets_received(self) -> int:
        """A count only, read every second by the leg's media check: the engine's count,
        not a whole statistics() snapshot (that would run the jitter estimate each time)."""
        if self.stream is not None:
            return self._engine.packets_received(self.stream)
        figures = self._final_statistics
        return -1 if figures is None else figures.packets_received

    def statistics(self) -> StreamStatistics | None:
        """The stream's counters; once closed, as they were at the close (for the record)."""
        if self.stream is None:
            return self._final_statistics
        return self._engine.stream_statistics(self.stream)

    @property
    def rtp_port(self) -> int | None:
        return None if self.stream is None else self.stream.ports.rtp_port

    def _check_open(self) -> None:
        if self._closed:
            raise MediaRefusedError("the leg has ended")

    def _choose(self, offer: SessionDescription) -> NegotiatedStream:
        streams = negotiate_offer(offer, self._capabilities)
        chosen = next((s for s in streams if s.accepted), None)
        if chosen is None or chosen.format is None:
            reason = "; ".join(s.rejection for s in streams if s.rejection) or "no audio stream"
            raise MediaRefusedError(reason)
        return chosen

    def _open_stream(self) -> MediaStream:
        if self.stream is None:
            raise MediaRefusedError("the leg's media is closed")
        return self.stream

    def _apply(self, negotiated: NegotiatedStream) -> None:
        assert self.stream is not None
        self.negotiated = negotiated
        self._codec = self.stream.format.codec
        self._route(negotiated)

    def _route(self, negotiated: NegotiatedStream) -> None:
        """Send to the address the peer's SDP gave. RFC 4566 §6: c=0.0.0.0 (RFC 2543 hold)
        names no address to send to."""
        assert self.stream is not None
        if negotiated.remote_address not in ("0.0.0.0", "::") and negotiated.remote_port:
            self._engine.set_remote(
                self.stream, negotiated.remote_address, negotiated.remote_port,
                negotiated.remote_rtcp_port,
            )  # fmt: skip

    def _described(
        self, description: SessionDescription, offer: SessionDescription | None
    ) -> SessionDescription:
        """What plain RTP says is all there is to say (WebRTC adds its transport)."""
        return description

    def _sent(self, description: SessionDescription) -> SessionDescription:
        if self.last_sent is not None:
            description = revise(self.last_sent, description)
        self.last_sent = description
        return description


_DIGIT_SOURCES = {DtmfMethod.RFC4733: DigitSource.RFC4733, DtmfMethod.INBAND: DigitSource.INBAND}


def stream_of(media: LegMedia) -> MediaStream:
    """Legs bridge (or meet in a conference) through the engine only as engine streams."""
    if not isinstance(media, RtpLegMedia) or media.stream is None:
        raise MediaRefusedError("the other leg's media cannot be bridged")
    return media.stream


def _address_type(address: str) -> str:
    return "IP6" if ":" in address else "IP4"
