import pytest

from mediaserver.rtp.packet import RtpPacket
from mediaserver.rtp.telephone_event import (
    TelephoneEvent,
    TelephoneEventError,
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
