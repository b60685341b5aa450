"""The digit tone queue with numbers: frames read as the 20 ms tick would, and the tones in
them (dtmf_signals.py)."""

import logging
from collections.abc import Iterable
from itertools import pairwise

import numpy as np
import pytest

from mediaserver.media.digit_tone_queue import DigitToneQueue
from mediaserver.media.tones import InvalidDigitError
from mediaserver.rtp.packet import RtpPacket
from mediaserver.rtp.telephone_event import TelephoneEventReceiver, TelephoneEventSender

from .dtmf_signals import event_ticks, tones

CLOCK_RATE = 8000


def drain(queue: DigitToneQueue, limit: int = 1000) -> np.ndarray:
    frames = []
    for _ in range(limit):
        frame = queue.read_frame()
        if frame is None:
            break
        frames.append(frame)
    assert queue.read_frame() is None
    assert not queue
    return np.concatenate(frames) if frames else np.zeros(0, np.int16)


def gaps(found: list[tuple[str, int, int]]) -> list[int]:
    return [later - (start + length) for (_, start, length), (_, later, _) in pairwise(found)]


def play_packets(queue: DigitToneQueue, ticks: Iterable[list[RtpPacket]]) -> np.ndarray:
    """Each tick's packets through an RFC 4733 receiver into the queue, then one frame read;
    then the rest of the queue."""
    receiver = TelephoneEventReceiver()
    frames = []
    for packets in ticks:
        for packet in packets:
            report = receiver.feed(packet)
            if report is not None:
                queue.follow(report, CLOCK_RATE)
        frame = queue.read_frame()
        frames.append(np.zeros(160, np.int16) if frame is None else frame)
    return np.concatenate([*frames, drain(queue)])


def test_a_digit_that_comes_while_another_sounds_waits_its_turn() -> None:
    queue = DigitToneQueue("stream 1")
    queue.add("1", 100)
    first = queue.read_frame()
    queue.add("2", 100)
    assert first is not None
    found = tones(np.concatenate([first, drain(queue)]))
    assert found == [("1", 0, 100), ("2", 140, 100)]


def test_each_tone_lasts_its_duration_but_at_least_40_ms() -> None:
    queue = DigitToneQueue("stream 1")
    for digit, duration_ms in (("1", 160), ("2", 250), ("3", 10), ("4", 45)):
        queue.add(digit, duration_ms)
    found = tones(drain(queue))
    assert [(digit, length) for digit, _, length in found] == [
        ("1", 160),
        ("2", 250),
        ("3", 40),  # ITU-T Q.24: shorter tones may be rejected
        ("4", 45),
    ]
    assert gaps(found) == [40, 40, 40]


def test_events_back_to_back_become_tones_40_ms_apart_each_as_long_as_its_event() -> None:
    """Events of 160 ms each starting as the last one's end packet went (no retransmission
    between them): each tone waits 40 ms after the last, and lasts 160 ms all the same."""
    found = tones(play_packets(DigitToneQueue("stream 1"), event_ticks("1199", 160, 1)))
    assert [(digit, length) for digit, _, length in found] == [("1", 160), ("1", 160),
                                                               ("9", 160), ("9", 160)]  # fmt: skip
    assert gaps(found) == [40, 40, 40]
    assert found[0][1] == 0  # the first tone starts with the event's first packet


def test_pjsua_dial_dtmf_pattern_keeps_its_own_spacing() -> None:
    """pjmedia's events: 200 ms, the end packet three times, the next event right after."""
    found = tones(play_packets(DigitToneQueue("stream 1"), event_ticks("123#", 200)))
    assert found == [("1", 0, 200), ("2", 240, 200), ("3", 480, 200), ("#", 720, 200)]


def test_retransmitted_end_packets_and_duplicates_never_double_a_digit() -> None:
    ticks = event_ticks("5", 100)
    doubled = [packets + packets for packets in ticks]  # every packet arrives twice
    late = [*doubled[:-20], [ticks[-26][0]], *doubled[-20:]]  # and the last end copy again
    found = tones(play_packets(DigitToneQueue("stream 1"), late))
    assert found == [("5", 0, 100)]


def test_an_event_whose_end_packets_are_lost_ends_on_its_own() -> None:
    ticks = event_ticks("7", 100, end_copies=0)
    found = tones(play_packets(DigitToneQueue("stream 1"), ticks))
    # The last update said 80 ms; LOST_END_MS (120 ms) later the tone ends.
    assert found == [("7", 0, 200)]


def test_an_event_that_starts_while_one_is_open_ends_it() -> None:
    first = event_ticks("8", 100, end_copies=0)[:4]  # updates to 80 ms, then nothing
    second = [[p._replace(timestamp=5000) for p in packets] for packets in event_ticks("9", 100)]
    found = tones(play_packets(DigitToneQueue("stream 1"), first + second))
    assert found == [("8", 0, 80), ("9", 120, 100)]


def test_a_queue_past_its_bound_drops_digits_with_a_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    queue = DigitToneQueue("stream 7")
    with caplog.at_level(logging.WARNING):
        for _ in range(20):
            queue.add("0", 160)  # 200 ms each with its pause: 15 fit in 3 s
    found = tones(drain(queue))
    assert len(found) == 15
    assert len(caplog.records) == 5
    assert "stream 7: DTMF '0' dropped, 3000 ms of tones already queued" in caplog.text


def test_an_event_longer_than_the_bound_is_cut_with_one_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    queue = DigitToneQueue("stream 7")
    receiver = TelephoneEventReceiver()
    press = TelephoneEventSender(duration_samples=0xFFFF).start("6", 0)[-3:]  # 8.2 s, ended
    with caplog.at_level(logging.WARNING):
        for packet in press:
            report = receiver.feed(packet)
            if report is not None:
                queue.follow(report, CLOCK_RATE)
    assert tones(drain(queue)) == [("6", 0, 2960)]
    assert [r.message for r in caplog.records] == [
        "stream 7: DTMF '6' cut to 2960 ms, the queue is full"
    ]


def test_an_invalid_digit_is_refused_before_anything_is_queued() -> None:
    queue = DigitToneQueue("stream 1")
    with pytest.raises(InvalidDigitError):
        queue.add("x", 100)
    assert not queue
    assert queue.read_frame() is None
