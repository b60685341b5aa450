"""RFC 4733 telephone-events: DTMF digits as RTP payloads."""

import struct
from dataclasses import dataclass

from mediaserver.rtp.packet import RtpPacket

DIGITS = "0123456789*#ABCD"  # RFC 4733 §3.2 Table 7: events 0-15
END_RETRANSMISSIONS = 3  # §2.5.1.4: the final packet is sent three times


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
