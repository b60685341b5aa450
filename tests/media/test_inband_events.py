"""In-band digits crossing a bridge as RFC 4733 events that follow the tones: the batch path
on a manual clock (tools/bench/dtmf_delay.py), what the far leg sends parsed."""

import itertools
from typing import cast

import numpy as np
import pytest

from mediaserver.media.frame import FRAME_SAMPLES, SAMPLE_RATE
from mediaserver.media.inband_events import InbandEvents
from mediaserver.media.port_allocator import BoundPorts
from mediaserver.media.rtp_socket import RtpSocket
from mediaserver.media.stream import MediaStream
from mediaserver.media.tones import render_digits, tone
from mediaserver.rtp.telephone_event import TelephoneEvent
from tools.bench.dtmf_delay import AMPLITUDE, EVENT_PT, FAR_LEG, events, run_bridges

DIGITS = "123A456B789C*0#D"


def padded(*pieces: np.ndarray) -> np.ndarray:
    """The pieces one after another, then silence to whole frames and 200 ms more."""
    signal = np.concatenate([*pieces, np.zeros(SAMPLE_RATE // 5, np.int16)])
    return np.concatenate([signal, np.zeros(-len(signal) % FRAME_SAMPLES, np.int16)])


def test_a_tone_is_one_event_from_its_detection_to_its_end() -> None:
    lead = 500
    signal = padded(np.zeros(lead, np.int16), tone((852.0, 1209.0), 2400, AMPLITUDE))  # 7
    [sent] = run_bridges(signal[np.newaxis], [0.005])
    packets = [(when, p) for when, p in sent if p.payload_type == EVENT_PT]
    parsed = [TelephoneEvent.parse(p.payload) for _, p in packets]
    assert {e.event for e in parsed} == {7}
    assert len({p.timestamp for _, p in packets}) == 1  # RFC 4733 §2.2.1
    assert [p.marker for _, p in packets] == [True] + [False] * (len(packets) - 1)  # §2.2.2
    # §2.5.1.2: an update every packet time while the tone lasts...
    updates = [e.duration for e in parsed if not e.end]
    assert updates == [160 * n for n in range(1, len(updates) + 1)]
    times = [when for when, _ in packets]
    assert all(b - a == pytest.approx(0.02) for a, b in itertools.pairwise(times))
    # ... then the final packet three times (§2.5.1.4), lasting about as long as the tone.
    assert [e.duration for e in parsed if e.end] == [updates[-1]] * 3
    assert 2400 <= updates[-1] <= 2400 + 160
    assert times[0] - (lead / SAMPLE_RATE + 0.005) < 0.065  # confirmed ~40 ms into the tone
    # While the event lasts, the far leg sends it instead of the tone's audio.
    assert not [when for when, p in sent if p.payload_type == 0 and times[0] <= when <= times[-1]]


def test_sixteen_tones_each_broken_for_10_ms_are_sixteen_events() -> None:
    # ITU-T Q.24: a break of 10 ms inside a tone is not the end of the digit.
    broken = [render_digits(d * 2, 45, 10, AMPLITUDE) for d in DIGITS]  # 45 on, 10 off, 45 on
    silence = np.zeros(90 * SAMPLE_RATE // 1000, np.int16)
    signal = padded(*itertools.chain.from_iterable((b, silence) for b in broken))
    [sent] = run_bridges(signal[np.newaxis], [0.012])
    found = events(sent)
    assert "".join(e.digit for e in found) == DIGITS
    assert all(e.duration_ms is not None and 100 <= e.duration_ms <= 120 for e in found)


def test_presses_40_ms_apart_are_separate_events() -> None:
    [sent] = run_bridges(padded(render_digits("1199", 40, 40, AMPLITUDE))[np.newaxis], [0.0])
    found = events(sent)
    assert [e.digit for e in found] == list("1199")
    assert all(e.duration_ms is not None and 40 <= e.duration_ms <= 60 for e in found)


def test_an_event_ends_when_its_digit_changes_or_its_stream_stops_detecting() -> None:
    peer = MediaStream(2, FAR_LEG, cast(BoundPorts, None), cast(RtpSocket, None), None)
    inband = InbandEvents()
    for held in ("5", "5", "6", None):  # 5 held two ticks, then 6 at once, then nothing
        inband.follow({} if held is None else {1: (peer, held)})
    sent = [(TelephoneEvent.parse(payload), marker) for payload, marker, _ in peer.dtmf_outbox]
    assert [(e.event, e.duration, e.end, marker) for e, marker in sent] == [
        (5, 160, False, True), (5, 320, False, False), *[(5, 320, True, False)] * 3,
        (6, 160, False, True), *[(6, 160, True, False)] * 3,
    ]  # fmt: skip
