import pytest

from mediaserver.rtp.packet import RtpPacket
from mediaserver.rtp.telephone_event import (
    EventReport,
    TelephoneEvent,
    TelephoneEventError,
    TelephoneEventInProgress,
    TelephoneEventReceiver,
    TelephoneEventSender,
    digit_to_event,
    event_to_digit,
)


def test_press_has_updates_then_three_end_packets() -> None:
    packets = TelephoneEventSender(payload_type=101).start("#", timestamp=1000)
    events = [TelephoneEvent.parse(p.payload) for p in packets]
    assert {e.event for e in events} == {11}
    assert [e.end for e in events] == [False] * 4 + [True] * 3
    assert [e.duration for e in events] == [160, 320, 480, 640, 800, 800, 800]
    assert [p.marker for p in packets] == [True] + [False] * 6
    assert {p.timestamp for p in packets} == {1000}


def test_receiver_dedupes_by_timestamp_without_marker() -> None:
    receiver = TelephoneEventReceiver()
    press = [p for p in TelephoneEventSender().start("5", 1000)]
    unmarked = [
        RtpPacket(p.payload_type, i, p.timestamp, 1, p.payload) for i, p in enumerate(press)
    ]
    assert [receiver.feed(p) for p in unmarked] == [
        EventReport("5", 160, started=True),
        EventReport("5", 320),
        EventReport("5", 480),
        EventReport("5", 640),
        EventReport("5", 800, ended=True),
        None,  # §2.5.1.4: the end packet's two copies
        None,
    ]
    again = TelephoneEventSender().start("5", 1800)
    assert receiver.feed(again[0]) == EventReport("5", 160, started=True)  # a second press


def test_late_packets_of_an_earlier_press_are_not_a_new_press() -> None:
    receiver = TelephoneEventReceiver()
    first = TelephoneEventSender().start("1", 1000)
    second = TelephoneEventSender().start("1", 1960)
    reports = [receiver.feed(p) for p in [*first[:-1], *second[:2], first[-1], second[2]]]
    assert [(r.digit, r.duration) for r in reports if r is not None and r.started] == [
        ("1", 160),
        ("1", 160),
    ]
    assert reports[-2] is None  # the first press's last end packet, overtaken by the second


def test_an_end_seen_first_starts_and_ends_the_press_at_once() -> None:
    receiver = TelephoneEventReceiver()
    end = TelephoneEventSender().start("9", 4000)[-1]
    assert receiver.feed(end) == EventReport("9", 800, started=True, ended=True)
    assert receiver.feed(end) is None


def test_segments_of_a_long_press_are_one_press() -> None:
    """§2.5.1.3: segments of 0xFFFF, the next stamped where the last ended, no end bit until
    the last; §2.5.2.3: joined by the receiver."""
    receiver = TelephoneEventReceiver()

    def packet(timestamp: int, duration: int, end: bool = False) -> RtpPacket:
        return RtpPacket(101, 0, timestamp, 1, TelephoneEvent(3, end, 10, duration).serialize())

    segment = 2**32 - 100  # the second segment's timestamp wraps around
    assert receiver.feed(packet(segment, 160)) == EventReport("3", 160, started=True)
    assert receiver.feed(packet(segment, 0xFFFF)) == EventReport("3", 0xFFFF)
    assert receiver.feed(packet(0xFFFF - 100, 160)) == EventReport("3", 0xFFFF + 160)
    assert receiver.feed(packet(0xFFFF - 100, 320, end=True)) == EventReport(
        "3", 0xFFFF + 320, ended=True
    )
    assert receiver.feed(packet(segment, 0xFFFF)) is None  # a late packet of the first


def test_digit_table() -> None:
    assert [digit_to_event(d) for d in "09*#AD"] == [0, 9, 10, 11, 12, 15]
    assert event_to_digit(10) == "*"
    with pytest.raises(TelephoneEventError):
        digit_to_event("x")
    assert TelephoneEventReceiver().feed(RtpPacket(101, 1, 1, 1, bytes([16, 0x8A, 0, 160]))) is None


def test_event_in_progress_updates_then_ends_with_the_duration_reached() -> None:
    event = TelephoneEventInProgress("9", timestamp=5000)
    packets = [event.update() for _ in range(3)] + event.end()
    parsed = [TelephoneEvent.parse(p.payload) for p in packets]
    assert [e.duration for e in parsed] == [160, 320, 480, 480, 480, 480]
    assert [e.end for e in parsed] == [False] * 3 + [True] * 3
    assert [p.marker for p in packets] == [True] + [False] * 5
    assert {p.timestamp for p in packets} == {5000}
    assert {e.event for e in parsed} == {9}


def test_event_longer_than_the_duration_field_goes_on_in_a_new_segment() -> None:
    # RFC 4733 §2.5.1.3; at 48 kHz the 16-bit duration lasts 1.37 s.
    event = TelephoneEventInProgress("1", timestamp=0xFFFFFF00, samples_per_packet=960)
    packets = [event.update() for _ in range(70)]
    durations = [TelephoneEvent.parse(p.payload).duration for p in packets]
    assert durations[67:] == [65280, 960, 1920]
    assert {p.timestamp for p in packets[:68]} == {0xFFFFFF00}
    assert {p.timestamp for p in packets[68:]} == {(0xFFFFFF00 + 65280) & 0xFFFFFFFF}
    assert not any(p.marker for p in packets[1:])
