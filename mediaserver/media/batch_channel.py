"""The batch path's per-stream state: jitter buffer in, codec state, RFC 4733 events.

A BatchChannel exists while its stream is on the batch path. Packets are parsed and queued as
they arrive (datagram_received); the tick takes one 20 ms frame per channel. G.711 packets of
20 ms are decoded and encoded by the batch tick over all channels at once; Opus, and packets
of any other duration, go through the per-channel codec objects here. A sender chooses its
packet duration (RFC 3264 §5: our a=ptime:20 is a wish, and trunks send 10, 30 or 60 ms), so
decoded audio is cut or joined here into the tick's 20 ms frames.

A channel runs at a rate: 8 kHz, or its conference room's wideband rate (frame.py). Codecs
are created at that rate when they can run at it (libopus decodes to and encodes from 8 or
16 kHz itself), so an Opus member of a wideband room is never resampled; a G.711 member of
one is, at the tick's edges (wide_rows.py, rate_converters.py).
"""

import logging
from collections.abc import Callable

import numpy as np

from audiocodecs import Encoder, new_decoder, new_encoder, sample_rates
from audiocodecs.pcm import Pcm16
from mediaserver.clock import Clock
from mediaserver.media.frame import FRAME_SAMPLES, SAMPLE_RATE, frame_samples
from mediaserver.media.rate_converters import RateConverters, Signal
from mediaserver.media.rtp_socket import Address
from mediaserver.media.stream import MediaStream
from mediaserver.rtp.jitter_buffer import JitterBuffer
from mediaserver.rtp.packet import RtpPacket
from mediaserver.rtp.telephone_event import EventReport, TelephoneEventReceiver

logger = logging.getLogger(__name__)

G711_CODECS = frozenset({"PCMU", "PCMA"})
# Conceal at most this many lost frames in a row (RFC 3551 §4.1 talkspurts: after that the
# peer has stopped sending on purpose, e.g. hold or DTX, and silence is the honest output).
MAX_CONCEALED_FRAMES = 5

# An Opus packet carries the frame before it once more (in-band FEC, RFC 6716 §2.1.7; we ask
# for it with useinbandfec=1): a frame kept in hand lets a lost one be rebuilt from the next
# packet instead of guessed, for 20 ms more delay.
RECOVERABLE_DELAY_FRAMES = 2

EventHandler = Callable[[MediaStream, EventReport], None]


class BatchChannel:
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
        self._complexity = complexity
        self.rate = SAMPLE_RATE  # what its audio meets the others' at (its room's rate)
        self.codec_rate = SAMPLE_RATE  # what its codec decodes to and encodes from
        self._frame_samples = FRAME_SAMPLES  # one frame at codec_rate
        self.converters = RateConverters()  # 8 kHz <-> `rate`, one per signal
        self._decoder = new_decoder(self.codec, SAMPLE_RATE)
        self._encoder = self._new_encoder()
        self._jitter_buffer = JitterBuffer(
            clock_rate=stream.format.clock_rate,
            min_delay_frames=RECOVERABLE_DELAY_FRAMES if self.codec == "opus" else 1,
        )
        self._telephone_events = TelephoneEventReceiver()
        self._lost_in_a_row = MAX_CONCEALED_FRAMES
        self._backlog: Pcm16 = np.zeros(0, np.int16)  # decoded, not yet played out
        self._packet_samples = FRAME_SAMPLES
        self.sending = False

    def _new_encoder(self) -> Encoder:
        return new_encoder(
            self.codec,
            self.codec_rate,
            complexity=self._complexity,
            inband_fec=self.stream.format.inband_fec,
        )

    @property
    def wide(self) -> bool:
        return self.rate != SAMPLE_RATE

    def set_rate(self, rate: int) -> None:
        """Follow the room's rate (8 kHz outside a room). A codec that runs at the new rate
        is made anew at it (libopus fixes its rate at creation): a change of rate costs a
        frame's codec history, once, when a wideband member joins or leaves."""
        if rate == self.rate:
            return
        self.rate = rate
        self.converters = RateConverters()
        codec_rate = rate if rate in sample_rates(self.codec) else SAMPLE_RATE
        if codec_rate != self.codec_rate:
            self.codec_rate = codec_rate
            self._frame_samples = frame_samples(codec_rate)
            self._decoder = new_decoder(self.codec, codec_rate)
            self._encoder = self._new_encoder()
            self._backlog = np.zeros(0, np.int16)
            self._set_packet_samples(self._frame_samples)

    def widen(self, signal: Signal, pcm: Pcm16) -> Pcm16:
        """An 8 kHz frame of `signal` at the channel's rate."""
        return self.converters.convert(signal, pcm, SAMPLE_RATE, self.rate)

    def receive(self, data: bytes, addr: Address) -> None:
        """datagram_received of a batch stream: events out, audio in the buffer. The socket
        has checked the packet already (header, payload type, source, sequence), so parsing
        cannot fail and the payload type is one of the two."""
        packet = RtpPacket.parse(data)
        if packet.payload_type == self.stream.format.telephone_event_pt:
            self._receive_event(packet)
        else:
            self._jitter_buffer.push(packet, self._clock.now())

    def take(self, now: float) -> bytes | Pcm16 | None:
        """This tick's 20 ms: the G.711 codes of a whole 20 ms packet (the tick decodes those
        of all channels at once), else a frame decoded at codec_rate (Opus; packets of other
        durations cut or joined; a lost packet concealed), or None once the peer has gone
        quiet."""
        if not len(self._backlog):
            packet = self._pop(now)
            if packet is None:
                return self._conceal()
            if self.stacked and len(packet.payload) == FRAME_SAMPLES:
                if self._packet_samples != FRAME_SAMPLES:
                    self._set_packet_samples(FRAME_SAMPLES)
                return packet.payload
            self._append(self._decode(packet.payload))
        # Only packets already here: popping an empty buffer would count a loss and rebuffer.
        samples = self._frame_samples
        while len(self._backlog) < samples and len(self._jitter_buffer):
            packet = self._pop(now)
            if packet is None:
                break
            self._append(self._decode(packet.payload))
        if len(self._backlog) < samples:
            self._append(self._decoder.conceal(samples - len(self._backlog)))
        frame, self._backlog = self._backlog[:samples], self._backlog[samples:]
        return frame

    def _pop(self, now: float) -> RtpPacket | None:
        packet = self._jitter_buffer.pop(now)
        if packet is not None:
            self._lost_in_a_row = 0
        return packet

    def _decode(self, payload: bytes) -> Pcm16:
        pcm = self._decoder.decode(payload)
        if len(pcm) and len(pcm) != self._packet_samples:
            self._set_packet_samples(len(pcm))
        return pcm

    def _set_packet_samples(self, samples: int) -> None:
        """The jitter buffer counts its delay in packets, so it must know how long the
        sender's are (they may change with a re-INVITE)."""
        self._packet_samples = samples
        self._jitter_buffer.set_packet_ms(1000 * samples / self.codec_rate)

    def _append(self, pcm: Pcm16) -> None:
        self._backlog = np.concatenate((self._backlog, pcm)) if len(self._backlog) else pcm

    def _conceal(self) -> Pcm16 | None:
        """A stand-in for a lost frame (rebuilt from the next packet's redundancy when that
        packet is here already), or None once the peer has gone quiet."""
        if self._lost_in_a_row >= MAX_CONCEALED_FRAMES:
            return None
        self._lost_in_a_row += 1
        following = self._jitter_buffer.peek()
        if following is not None:
            return self._decoder.recover(following.payload, self._frame_samples)
        return self._decoder.conceal(self._frame_samples)

    def encode_alone(self, pcm: Pcm16) -> bytes:
        return self._encoder.encode(pcm)

    def bytes_buffered(self) -> int:
        return self._jitter_buffer.bytes_buffered

    def _receive_event(self, packet: RtpPacket) -> None:
        report = self._telephone_events.feed(packet)
        if report is not None:
            self._on_event(self.stream, report)
