"""An adaptive jitter buffer, pure: packets in with their arrival time, one frame out per tick.

It reorders, drops duplicates and late packets, reports a lost frame as None (the decoder
conceals it), and keeps its delay between `min_delay_frames` and `max_delay_frames`,
aiming at twice the interarrival jitter (estimated as RFC 3550 §6.4.1 does) plus a frame.

A burst (a sender that stalled, then caught up) leaves frames queued that steady arrivals
never drain: the buffer would keep that delay for the rest of the call. So while more than
DISCARD_MARGIN_FRAMES frames above the target wait, frames are discarded progressively, one
every DISCARD_TICKS / excess ticks (a large excess goes fast, a small one slowly, and the
target's own margin is never touched), as pjmedia's jitter buffer does.
"""

import math

from mediaserver.rtp.packet import RtpPacket

_HALF = 0x8000
DISCARD_MARGIN_FRAMES = 2  # queued frames above the target tolerated without discarding
DISCARD_TICKS = 50  # with one frame too many, one discarded per second


def _distance(sequence_number: int, reference: int) -> int:
    """Signed distance in 16-bit sequence space (RFC 3550 Appendix A.1 wraps the same way)."""
    delta = (sequence_number - reference) & 0xFFFF
    return delta - 0x10000 if delta >= _HALF else delta


class JitterBuffer:
    def __init__(
        self,
        clock_rate: int,
        frame_ms: int = 20,
        min_delay_frames: int = 1,
        max_delay_frames: int = 10,
    ) -> None:
        self.clock_rate = clock_rate
        self.frame_seconds = frame_ms / 1000
        self.min_delay_frames = min_delay_frames
        self.max_delay_frames = max_delay_frames
        self._tick_ms = frame_ms
        self._min_delay_ticks = min_delay_frames
        self._max_delay_ms = max_delay_frames * frame_ms
        self._packets: dict[int, RtpPacket] = {}
        self._next: int | None = None  # None while (re)buffering
        self._transit: float | None = None
        self.jitter_seconds = 0.0
        self.bytes_buffered = 0
        self.duplicates = 0
        self.late = 0
        self.lost = 0
        self.resyncs = 0
        self.discarded = 0  # frames dropped to bring the delay back toward the target
        self._excess_ticks = 0

    @property
    def target_delay_frames(self) -> int:
        # Rounded first, so float dust on a steady stream does not add a frame.
        wanted = math.ceil(round(2 * self.jitter_seconds / self.frame_seconds, 3)) + 1
        return max(self.min_delay_frames, min(self.max_delay_frames, wanted))

    def set_packet_ms(self, packet_ms: float) -> None:
        """The sender's packets last `packet_ms`, not one frame (RFC 3551 §4.2 lets it
        choose): the delay bounds keep their time, and when a frame takes several packets,
        one more than a frame's worth stays buffered, so a frame never waits for the next."""
        self.frame_seconds = packet_ms / 1000
        per_frame = math.ceil(round(self._tick_ms / packet_ms, 3))
        self.min_delay_frames = self._min_delay_ticks * per_frame
        if packet_ms < self._tick_ms:
            self.min_delay_frames += 1
        self.max_delay_frames = max(
            self.min_delay_frames + 1, math.ceil(self._max_delay_ms / packet_ms)
        )

    def __len__(self) -> int:
        return len(self._packets)

    def push(self, packet: RtpPacket, now: float) -> None:
        self._estimate_jitter(packet, now)
        sequence_number = packet.sequence_number
        if sequence_number in self._packets:
            self.duplicates += 1
            return
        if self._next is not None:
            distance = _distance(sequence_number, self._next)
            if abs(distance) > 4 * self.max_delay_frames:
                self._resync()  # a new sequence base (restart, SSRC change): start over
            elif distance < 0:
                self.late += 1
                return
        self._packets[sequence_number] = packet
        self.bytes_buffered += len(packet.payload)
        if len(self._packets) > self.max_delay_frames + 1:
            self._skip()  # over the delay bound: drop the oldest frame

    def pop(self, now: float) -> RtpPacket | None:
        """The packet for this tick, or None (still buffering, or lost)."""
        if self._next is None:
            if len(self._packets) < self.target_delay_frames:
                return None
            self._next = self._oldest()
        packet = self._take(self._next)
        if packet is None:
            self.lost += 1
            if not self._packets:
                self._next = None  # drained: buffer up again before playing out
        self._shed_standing_delay()
        return packet

    def _shed_standing_delay(self) -> None:
        queued = len(self._packets) - DISCARD_MARGIN_FRAMES
        # The target is never below min_delay_frames: a short queue needs no estimate (the
        # steady state of every batch stream, once per tick).
        excess = 0 if queued <= self.min_delay_frames else queued - self.target_delay_frames
        if excess <= 0:
            self._excess_ticks = 0
            return
        self._excess_ticks += 1
        if self._excess_ticks >= DISCARD_TICKS / excess:
            self._excess_ticks = 0
            self.discarded += 1
            self._skip()

    def peek(self) -> RtpPacket | None:
        """The packet the next pop returns, if it is here: after a loss, the one that
        follows it (an Opus decoder rebuilds the lost frame from it, RFC 6716 §2.1.7)."""
        return None if self._next is None else self._packets.get(self._next)

    def _take(self, sequence_number: int) -> RtpPacket | None:
        self._next = (sequence_number + 1) & 0xFFFF
        packet = self._packets.pop(sequence_number, None)
        if packet is not None:
            self.bytes_buffered -= len(packet.payload)
        return packet

    def _oldest(self) -> int:
        reference = next(iter(self._packets))
        return min(self._packets, key=lambda s: _distance(s, reference))

    def _skip(self) -> None:
        self._take(self._oldest() if self._next is None else self._next)
        if self._next is not None and self._packets and self._next not in self._packets:
            self._next = self._oldest()

    def _resync(self) -> None:
        self.resyncs += 1
        self._packets.clear()
        self.bytes_buffered = 0
        self._next = None

    def _estimate_jitter(self, packet: RtpPacket, now: float) -> None:
        """RFC 3550 §6.4.1: J += (|D| - J) / 16, in seconds here."""
        transit = now - packet.timestamp / self.clock_rate
        if self._transit is not None:
            difference = abs(transit - self._transit)
            if difference < 1.0:  # a timestamp jump is not jitter
                self.jitter_seconds += (difference - self.jitter_seconds) / 16
        self._transit = transit
