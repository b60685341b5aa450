"""RFC 4733 telephone-events: DTMF digits as RTP payloads."""

import struct
from collections import deque
from dataclasses import dataclass

from mediaserver.rtp.packet import RtpPacket

DIGITS = "0123456789*#ABCD"  # RFC 4733 §3.2 Table 7: events 0-15
END_RETRANSMISSIONS = 3  # §2.5.1.4: the final packet is sent three times
MAX_DURATION = 0xFFFF  # §2.3.5: the duration field's 16 bits
EARLIER_PRESSES = 4  # timestamps of presses already followed, to ignore their late packets


class TelephoneEventError(ValueError):
    """Not a telephone-event payload, or not a DTMF digit."""


def digit_to_event(digit: str) -> int:
    index = DIGITS.find(digit.upper())
    if len(digit) != 1 or index < 0:
        raise TelephoneEventError(f"{digit!r} is not a DTMF digit")
    return index


def event_to_digit(event: int) -> str:
    if not 0 <= event < len(DIGITS):
        raise TelephoneEventError(f"event {event} is not a DTMF digit")
    return DIGITS[event]


@dataclass(frozen=True, slots=True)
class TelephoneEvent:
    """§2.3: event, E (end) bit, volume in -dBm0, duration in timestamp units."""

    event: int
    end: bool = False
    volume: int = 10
    duration: int = 0

    @classmethod
    def parse(cls, payload: bytes) -> "TelephoneEvent":
        if len(payload) < 4:
            raise TelephoneEventError(f"{len(payload)}-byte telephone-event payload")
        event, flags, duration = struct.unpack_from("!BBH", payload)
        return cls(event, bool(flags & 0x80), flags & 0x3F, duration)

    def serialize(self) -> bytes:
        return struct.pack("!BBH", self.event, self.end << 7 | self.volume, self.duration)


@dataclass(frozen=True, slots=True)
class EventReport:
    """What one packet adds to a press: its first packet seen (`started`), a longer
    `duration` (timestamp units since the press began), or its end, each reported once."""

    digit: str
    duration: int
    started: bool = False
    ended: bool = False


class TelephoneEventReceiver:
    """Follows one press at a time, reporting its start, its growth and its end once each.

    §2.5.2: the packets of one event share its RTP timestamp; it, not the marker bit, tells
    a new event from an update, because real devices omit the marker or lose that packet.
    §2.5.1.4: the end packet is sent three times; the copies after the first say nothing new.
    """

    def __init__(self) -> None:
        self._segment_timestamp: int | None = None  # of the press's latest segment (§2.5.1.3)
        self._digit = ""
        self._offset = 0  # where the latest segment starts in the press, timestamp units
        self._ended = False
        # Earlier presses: a late or reordered packet of one is not a new press.
        self._earlier: deque[int] = deque(maxlen=EARLIER_PRESSES)

    def feed(self, packet: RtpPacket) -> EventReport | None:
        try:
            event = TelephoneEvent.parse(packet.payload)
            digit = event_to_digit(event.event)
        except TelephoneEventError:
            return None
        if packet.timestamp == self._segment_timestamp:
            return self._update(event)
        if packet.timestamp in self._earlier:
            return None
        if self._next_segment(packet.timestamp, digit):
            self._leave_segment(packet.timestamp)
            self._offset += MAX_DURATION
            return self._update(event)
        return self._start(packet.timestamp, digit, event)

    def _leave_segment(self, timestamp: int) -> None:
        if self._segment_timestamp is not None:
            self._earlier.append(self._segment_timestamp)
        self._segment_timestamp = timestamp

    def _start(self, timestamp: int, digit: str, event: TelephoneEvent) -> EventReport:
        self._leave_segment(timestamp)
        self._digit, self._offset, self._ended = digit, 0, event.end
        return EventReport(digit, event.duration, started=True, ended=event.end)

    def _update(self, event: TelephoneEvent) -> EventReport | None:
        if self._ended:
            return None
        self._ended = event.end
        return EventReport(self._digit, self._offset + event.duration, ended=event.end)

    def _next_segment(self, timestamp: int, digit: str) -> bool:
        """§2.5.1.3: a press longer than the duration field holds goes on in segments of
        MAX_DURATION, each stamped where the last one ended, with no end bit until the last
        (§2.5.2.3: the receiver joins them into one event)."""
        if self._segment_timestamp is None or self._ended or digit != self._digit:
            return False
        return timestamp == (self._segment_timestamp + MAX_DURATION) & 0xFFFFFFFF


class TelephoneEventInProgress:
    """One event sent while it lasts (§2.5.1.2): a packet each packet time, the first with the
    marker bit (§2.2.2), all with the timestamp of the event's start (§2.2.1) and its duration
    so far (§2.3.5), then the final packet three times (§2.5.1.4)."""

    def __init__(
        self, digit: str, timestamp: int, samples_per_packet: int = 160, payload_type: int = 101
    ) -> None:
        self.digit = digit
        self._event = digit_to_event(digit)
        self._timestamp = timestamp
        self._samples_per_packet = samples_per_packet
        self._payload_type = payload_type
        self._duration = 0
        self._first = True

    def update(self) -> RtpPacket:
        """The packet of one more packet time of the event."""
        self._advance()
        packet = self._packet(end=False)
        self._first = False
        return packet

    def end(self) -> list[RtpPacket]:
        """The final packet, with the duration the updates reached, three times: the event
        ended during the last packet time (a detector knows only later that it has)."""
        return [self._packet(end=True)] * END_RETRANSMISSIONS

    def _advance(self) -> None:
        # §2.5.1.3: past the 16-bit duration field (8.2 s at 8 kHz, 1.4 s at 48 kHz) the
        # event goes on in a new segment, timestamped where the last one's duration ended.
        if self._duration + self._samples_per_packet > MAX_DURATION:
            self._timestamp = (self._timestamp + self._duration) & 0xFFFFFFFF
            self._duration = 0
        self._duration += self._samples_per_packet

    def _packet(self, end: bool) -> RtpPacket:
        payload = TelephoneEvent(self._event, end, duration=self._duration).serialize()
        return RtpPacket(self._payload_type, 0, self._timestamp, 0, payload, marker=self._first)


class TelephoneEventSender:
    """The packets of one press: updates every packet time, then the end packet three times."""

    def __init__(
        self,
        payload_type: int = 101,
        samples_per_packet: int = 160,
        duration_samples: int = 800,
        volume: int = 10,
    ) -> None:
        self.payload_type = payload_type
        self.samples_per_packet = samples_per_packet
        self.duration_samples = duration_samples
        self.volume = volume

    def start(self, digit: str, timestamp: int) -> list[RtpPacket]:
        event = digit_to_event(digit)
        durations = range(self.samples_per_packet, self.duration_samples, self.samples_per_packet)
        updates = [TelephoneEvent(event, False, self.volume, d) for d in durations]
        final = TelephoneEvent(event, True, self.volume, self.duration_samples)
        events = [*updates, *[final] * END_RETRANSMISSIONS]
        return [
            RtpPacket(self.payload_type, 0, timestamp, 0, e.serialize(), marker=index == 0)
            for index, e in enumerate(events)
        ]
