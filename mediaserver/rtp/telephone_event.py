"""RFC 4733 telephone-events: DTMF digits as RTP payloads."""

import struct
from dataclasses import dataclass

from mediaserver.rtp.packet import RtpPacket

DIGITS = "0123456789*#ABCD"  # RFC 4733 §3.2 Table 7: events 0-15
END_RETRANSMISSIONS = 3  # §2.5.1.4: the final packet is sent three times
MAX_DURATION = 0xFFFF  # §2.3.5: the duration field's 16 bits


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


class TelephoneEventReceiver:
    """Reports each press once.

    §2.5.2: the packets of one event share its RTP timestamp; it, not the marker bit, tells
    a new event from an update, because real devices omit the marker or lose that packet.
    """

    def __init__(self) -> None:
        self._last_timestamp: int | None = None

    def feed(self, packet: RtpPacket) -> str | None:
        try:
            event = TelephoneEvent.parse(packet.payload)
            digit = event_to_digit(event.event)
        except TelephoneEventError:
            return None
        if packet.timestamp == self._last_timestamp:
            return None
        self._last_timestamp = packet.timestamp
        return digit


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
