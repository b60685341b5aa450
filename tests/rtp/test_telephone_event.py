import pytest

from mediaserver.rtp.packet import RtpPacket
from mediaserver.rtp.telephone_event import (
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
    assert [receiver.feed(p) for p in unmarked] == ["5"] + [None] * 6
    again = TelephoneEventSender().start("5", 1800)
    assert receiver.feed(again[0]) == "5"  # a second press of the same key


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
