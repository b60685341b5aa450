"""One leg's media: its SDP offer/answer state (RFC 3264) and its media engine stream.

A leg sends one session description after another, each a revision of the last (§8); this
object keeps the last one sent, the stream the engine opened for it, and what the latest
exchange settled (codec, remote address, hold). The call layer hands it offers and answers
and it drives the engine's commands; it never touches packets.
"""

import logging
import secrets
import time

from mediaserver.config import CallsConfig
from mediaserver.media.engine import MediaEngine
from mediaserver.media.stream import MediaStream
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


class LegMedia:
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
        self.final_statistics: StreamStatistics | None = None  # taken at close, for the record

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
        return self._sent(answer.session)

    def offer(self) -> SessionDescription:
        """§5: a full offer (initial INVITE, or an offerless re-INVITE's 200)."""
        stream = self._open_stream()
        offer = build_offer(self._capabilities, self._address, stream.ports.rtp_port, self._origin)
        offer = self._sent(offer)
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
            self.final_statistics = self._engine.stream_statistics(self.stream)
            self._engine.close_stream(self.stream)
            self.stream = None

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
        # RFC 4566 §6: c=0.0.0.0 (RFC 2543 hold) names no address to send to.
        if negotiated.remote_address not in ("0.0.0.0", "::") and negotiated.remote_port:
            self._engine.set_remote(
                self.stream, negotiated.remote_address, negotiated.remote_port,
                negotiated.remote_rtcp_port,
            )  # fmt: skip

    def _sent(self, description: SessionDescription) -> SessionDescription:
        if self.last_sent is not None:
            description = revise(self.last_sent, description)
        self.last_sent = description
        return description


def _address_type(address: str) -> str:
    return "IP6" if ":" in address else "IP4"
