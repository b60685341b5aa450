"""A media stream: one negotiated RTP session (one m= line) and what is attached to it.

The call layer holds MediaStream objects as handles and changes them only through the
engine's commands; the engine reads the attachments (peer, conference, player, recorder,
DTMF detection and sending) to decide between the relay fast path and the batch path.
"""

import asyncio
import enum
import secrets
import struct
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from mediaserver.media.digit_tone_queue import DigitToneQueue
from mediaserver.media.port import MediaSink, MediaSource
from mediaserver.media.port_allocator import BoundPorts
from mediaserver.media.rtp_socket import Address, RtcpSocket, RtpSocket
from mediaserver.media.webrtc_transport import WebRtcTransport
from mediaserver.rtp.payload_types import (
    codec_name_for,
    payload_format,
    rtp_clock_rate,
    wants_inband_fec,
)
from mediaserver.rtp.rtcp import (
    ReceiverReport,
    ReportBlock,
    RtcpParseError,
    SenderReport,
    parse_compound,
)

SUPPORTED_PTIME_MS = 20
RTP_VERSION_OCTET = 0x80  # RFC 3550 §5.1: V=2, no padding, no extension, CC=0
MARKER_BIT = 0x80
_HEADER = struct.Struct("!BBHII")


class StreamMode(enum.Enum):
    IDLE = "idle"  # nothing attached: packets are counted and dropped
    RELAY = "relay"  # forwarded in datagram_received, rewritten in place
    BATCH = "batch"  # jitter buffer, decoded and processed on the 20 ms tick


class DtmfMethod(enum.Enum):
    """How a digit travels in the media: as RFC 4733 events, or as tones in the audio (both
    ways: what a stream received, what send_dtmf sends)."""

    RFC4733 = "rfc4733"
    INBAND = "inband"


@dataclass(frozen=True, slots=True)
class DtmfReceived:
    """A digit pressed on the far side of `stream_id`, reported once per press."""

    stream_id: int
    digit: str
    source: DtmfMethod


DigitHandler = Callable[[DtmfReceived], None]


class UnsupportedStreamError(ValueError):
    """A codec or packetisation the engine cannot carry."""


@dataclass(frozen=True, slots=True)
class StreamFormat:
    codec: str  # audiocodecs name: "PCMU", "PCMA", "opus"
    payload_type: int
    clock_rate: int
    ptime_ms: int
    telephone_event_pt: int | None
    # The peer decodes Opus in-band FEC (RFC 7587 §6.1 useinbandfec=1): worth encoding.
    inband_fec: bool = False

    @classmethod
    def negotiated(
        cls,
        encoding_name: str,
        ptime_ms: int,
        payload_type: int | None,
        telephone_event_pt: int | None,
        peer_fmtp: str | None,
    ) -> "StreamFormat":
        """The format of a codec as offer/answer settled it; `peer_fmtp` is the peer's
        a=fmtp for it. Raises UnsupportedStreamError (or KeyError for an unknown codec)."""
        if ptime_ms != SUPPORTED_PTIME_MS:
            raise UnsupportedStreamError(
                f"ptime {ptime_ms} ms: only {SUPPORTED_PTIME_MS} ms is carried"
            )
        codec = codec_name_for(encoding_name)  # KeyError for an encoding we do not carry
        if payload_type is None:
            payload_type = payload_format(encoding_name).payload_type  # RFC 3551 §6 static
        if payload_type is None or not 0 <= payload_type <= 127:
            raise UnsupportedStreamError(f"{encoding_name}: a payload type 0-127 is needed")
        return cls(
            codec=codec,
            payload_type=payload_type,
            clock_rate=rtp_clock_rate(encoding_name),
            ptime_ms=ptime_ms,
            telephone_event_pt=telephone_event_pt,
            inband_fec=codec == "opus" and wants_inband_fec(peer_fmtp),
        )

    @property
    def samples_per_packet(self) -> int:
        """RTP timestamp increment of one packet (RFC 3550 §5.1, in clock_rate units)."""
        return self.clock_rate * self.ptime_ms // 1000

    def relays_to(self, other: "StreamFormat") -> bool:
        """Packets can cross unchanged but for the header (the fast path). RFC 4733 events
        relay only when both sides negotiated them; otherwise the batch path turns them
        into tones and tones into events."""
        return (
            self.codec == other.codec
            and self.clock_rate == other.clock_rate
            and self.ptime_ms == other.ptime_ms
            and (self.telephone_event_pt is None) == (other.telephone_event_pt is None)
        )

    def carries_events_to(self, other: "StreamFormat") -> bool:
        """Whether digits from this side reach `other` as RFC 4733 events without help."""
        return (self.telephone_event_pt is None) == (other.telephone_event_pt is None)


class RtpSender:
    """Outgoing header state. RFC 3550 §5.1: SSRC, sequence number and timestamp start random."""

    __slots__ = ("sequence_number", "ssrc", "timestamp")

    def __init__(self) -> None:
        self.ssrc = secrets.randbits(32)
        self.sequence_number = secrets.randbits(16)
        self.timestamp = secrets.randbits(32)

    def header(self, payload_type: int, marker: bool) -> bytes:
        """The 12-byte header of the next packet; takes one sequence number."""
        second = payload_type | (MARKER_BIT if marker else 0)
        header = _HEADER.pack(
            RTP_VERSION_OCTET, second, self.sequence_number, self.timestamp, self.ssrc
        )
        self.sequence_number = (self.sequence_number + 1) & 0xFFFF
        return header

    def advance(self, samples: int) -> None:
        """Media time passes whether or not a packet was sent (RFC 3550 §5.1)."""
        self.timestamp = (self.timestamp + samples) & 0xFFFFFFFF


class MediaStream:
    """Handle of one RTP stream. Mutable engine state; the call layer only reads it."""

    def __init__(
        self,
        stream_id: int,
        stream_format: StreamFormat,
        ports: BoundPorts,
        rtp: RtpSocket,
        rtcp: RtcpSocket | None,
    ) -> None:
        self.stream_id = stream_id
        self.format = stream_format
        self.ports = ports
        self.rtp = rtp
        self.rtcp = rtcp
        self.sender = RtpSender()
        self.mode = StreamMode.IDLE
        self.closed = False
        self.peer: MediaStream | None = None
        self.in_conference = False
        self.source: MediaSource | None = None
        self.source_mixed = False  # added to what the stream sends, not instead of it
        self.playback_done: asyncio.Future[bool] | None = None
        self.sink: MediaSink | None = None
        self.sink_hears_sent = True  # the sink gets what is sent mixed in, or only what comes
        self.digit_handler: DigitHandler | None = None
        self.inband_detection = False
        # The in-band digit whose key was down when the stream last left the batch path: a
        # digit collection that ends on a press and the next one that starts within the same
        # tone must not hear it twice (dtmf_detector.py, hold).
        self.digit_held: str | None = None
        # When the stream last went idle (no path: it sends nothing), on the engine's clock.
        self.idle_since: float | None = None
        # RFC 4733 packets waiting for their tick: (payload, marker, timestamp).
        self.dtmf_outbox: deque[tuple[bytes, bool, int]] = deque()
        self.dtmf_waiters: list[asyncio.Future[bool]] = []
        # In-band DTMF to send: a peer's RFC 4733 events, SIP INFO digits, send_dtmf.
        self.digit_tones = DigitToneQueue(f"stream {stream_id}")
        # RFC 3550 §6.4: the peer's latest report on what this stream sends.
        self.peer_report: ReportBlock | None = None
        self.rtcp_reports = 0
        self.rtcp_invalid = 0
        # ICE-lite and DTLS-SRTP in front of `rtp`, for a WebRTC stream.
        self.webrtc: WebRtcTransport | None = None

    def receive_rtcp(self, data: bytes, addr: Address) -> None:
        """RTCP is terminated here (the relay rewrites SSRCs, §7.2); the report blocks about
        our SSRC say how the far side receives us: loss and jitter per leg."""
        try:
            packets = parse_compound(data)
        except RtcpParseError:
            self.rtcp_invalid += 1
            return
        for packet in packets:
            if isinstance(packet, SenderReport | ReceiverReport):
                for block in packet.reports:
                    if block.ssrc == self.sender.ssrc:
                        self.peer_report = block
                        self.rtcp_reports += 1

    def finish_dtmf(self, sent: bool) -> None:
        """Resolve the send_dtmf futures: True once the outbox and the tones have drained."""
        self.dtmf_outbox.clear()
        for waiter in self.dtmf_waiters:
            if not waiter.done():
                waiter.set_result(sent)
        self.dtmf_waiters.clear()

    @property
    def local_address(self) -> Address:
        return self.rtp.local_address

    @property
    def remote_address(self) -> Address | None:
        return self.rtp.remote_address

    def detects_inband(self) -> bool:
        """Goertzel runs on what this stream receives: asked for, or needed to turn in-band
        digits into RFC 4733 events for a peer that negotiated them when we did not."""
        peer = self.peer
        return self.inband_detection or (
            peer is not None
            and self.format.telephone_event_pt is None
            and peer.format.telephone_event_pt is not None
        )

    def tapped(self) -> bool:
        """Something needs the decoded audio or injects packets: the relay cannot be used."""
        return (
            self.in_conference
            or self.source is not None
            or self.sink is not None
            or self.digit_handler is not None
            or bool(self.dtmf_outbox)
            or bool(self.digit_tones)
        )

    def __repr__(self) -> str:
        return f"<MediaStream {self.stream_id} {self.format.codec} {self.mode.value}>"
