"""The batch path's per-stream state: jitter buffer in, codec state, RFC 4733 events.

A Channel exists while its stream is on the batch path. Packets are parsed and queued as
they arrive (datagram_received); the tick pops one frame per channel. G.711 payloads are
decoded and encoded by the batch tick over all channels at once; only Opus (and G.711 payloads
of an odd size) go through the per-channel codec objects here. Codecs are created at the
engine's rate (libopus decodes to and encodes from 8 kHz itself), so nothing is resampled here.
"""

import logging
from collections.abc import Callable

import numpy as np

from audiocodecs import new_decoder, new_encoder
from audiocodecs.pcm import Pcm16
from mediaserver.clock import Clock
from mediaserver.media.frame import FRAME_SAMPLES, SAMPLE_RATE
from mediaserver.media.rtp_socket import Address
from mediaserver.media.stream import MediaStream
from mediaserver.rtp.jitter_buffer import JitterBuffer
from mediaserver.rtp.packet import RtpPacket, RtpParseError
from mediaserver.rtp.telephone_event import TelephoneEventReceiver

logger = logging.getLogger(__name__)

G711_CODECS = frozenset({"PCMU", "PCMA"})
# Conceal at most this many lost frames in a row (RFC 3551 §4.1 talkspurts: after that the
# peer has stopped sending on purpose, e.g. hold or DTX, and silence is the honest output).
MAX_CONCEALED_FRAMES = 5

EventHandler = Callable[[MediaStream, str], None]


class Channel:
    def __init__(
        self,
        stream: MediaStream,
        clock: Clock,
        on_event: EventHandler,
        complexity: int | None = None,
    ) -> None:
        self.stream = stream
        self._on_event = on_event
        self.codec = stream.format.codec
        self.stacked = self.codec in G711_CODECS
        self._clock = clock
        self._decoder = new_decoder(self.codec, SAMPLE_RATE)
        self._encoder = new_encoder(
            self.codec, SAMPLE_RATE, complexity=complexity, inband_fec=stream.format.inband_fec
        )
        self._jitter_buffer = JitterBuffer(clock_rate=stream.format.clock_rate)
        self._telephone_events = TelephoneEventReceiver()
        self._lost_in_a_row = MAX_CONCEALED_FRAMES
        self.sending = False
        self.invalid_packets = 0

    def receive(self, data: bytes, addr: Address) -> None:
        """datagram_received of a batch stream: parse, then events out, audio in the buffer."""
        try:
            packet = RtpPacket.parse(data)
        except RtpParseError:
            self.invalid_packets += 1
            return
        if packet.payload_type == self.stream.format.telephone_event_pt:
            self._receive_event(packet)
        elif packet.payload_type == self.stream.format.payload_type:
            self._jitter_buffer.push(packet, self._clock.now())
        else:
            self.invalid_packets += 1

    def pop_payload(self, now: float) -> bytes | None:
        packet = self._jitter_buffer.pop(now)
        if packet is None:
            return None
        self._lost_in_a_row = 0
        return packet.payload

    def decode_alone(self, payload: bytes) -> Pcm16:
        """One frame at 8 kHz through the codec object (Opus, or G.711 of an odd size)."""
        return _fit(self._decoder.decode(payload))

    def conceal(self) -> Pcm16 | None:
        """A stand-in for a lost frame, or None once the peer has gone quiet."""
        if self._lost_in_a_row >= MAX_CONCEALED_FRAMES:
            return None
        self._lost_in_a_row += 1
        return _fit(self._decoder.conceal(FRAME_SAMPLES))

    def encode_alone(self, pcm: Pcm16) -> bytes:
        return self._encoder.encode(pcm)

    def bytes_buffered(self) -> int:
        return self._jitter_buffer.bytes_buffered

    def _receive_event(self, packet: RtpPacket) -> None:
        digit = self._telephone_events.feed(packet)
        if digit is not None:
            self._on_event(self.stream, digit)


def _fit(pcm: Pcm16) -> Pcm16:
    """Exactly one 20 ms frame: a peer's packet may carry more or less (Opus 10-120 ms)."""
    if len(pcm) == FRAME_SAMPLES:
        return pcm
    frame = np.zeros(FRAME_SAMPLES, np.int16)
    frame[: min(len(pcm), FRAME_SAMPLES)] = pcm[:FRAME_SAMPLES]
    return frame
