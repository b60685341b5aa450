"""RFC 3550 §A.8's jitter computed in runs agrees with the per-packet recurrence."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediaserver.rtp.statistics import (
    MAX_RUN,
    JitterRun,
    ReceiveStatistics,
    interarrival_jitter,
)

CLOCK_RATE = 8000

# (arrival offset from the 20 ms grid in seconds, timestamp step in samples) per packet.
_PACKETS = st.lists(
    st.tuples(st.floats(-0.05, 0.05), st.sampled_from([0, 160, 160, 160, 320, 8000])),
    min_size=1,
    max_size=3 * MAX_RUN,
)


def packets_of(steps: list[tuple[float, int]]) -> tuple[list[float], list[int]]:
    arrivals, timestamps, timestamp = [], [], 1234
    for n, (offset, step) in enumerate(steps):
        timestamp += step
        arrivals.append(5000.0 + 0.02 * n + offset)
        timestamps.append(timestamp)
    return arrivals, timestamps


def per_packet(arrivals: list[float], timestamps: list[int]) -> JitterRun:
    """A.8 as the RFC writes it, one packet at a time."""
    jitter = max_jitter = jitter_sum = 0.0
    transit: float | None = None
    for arrival, timestamp in zip(arrivals, timestamps, strict=True):
        now = arrival * CLOCK_RATE - timestamp
        if transit is not None:
            jitter += (abs(now - transit) - jitter) / 16
            max_jitter = max(max_jitter, jitter)
        transit = now
        jitter_sum += jitter
    return JitterRun(jitter, max_jitter, jitter_sum, transit)


@settings(max_examples=200, deadline=None)
@given(_PACKETS, st.data())
def test_runs_of_any_length_agree_with_the_recurrence(
    steps: list[tuple[float, int]], data: st.DataObject
) -> None:
    arrivals, timestamps = packets_of(steps)
    run = JitterRun(0.0, 0.0, 0.0, None)
    start = 0
    while start < len(arrivals):
        end = min(len(arrivals), start + data.draw(st.integers(1, MAX_RUN)))
        run = interarrival_jitter(arrivals[start:end], timestamps[start:end], CLOCK_RATE, run)
        start = end
    expected = per_packet(arrivals, timestamps)
    assert run.jitter == pytest.approx(expected.jitter, rel=1e-9, abs=1e-9)
    assert run.max_jitter == pytest.approx(expected.max_jitter, rel=1e-9, abs=1e-9)
    assert run.jitter_sum == pytest.approx(expected.jitter_sum, rel=1e-9, abs=1e-6)
    assert run.transit == expected.transit


def test_a_whole_run_of_steady_packets_has_no_jitter() -> None:
    arrivals, timestamps = packets_of([(0.0, 160)] * MAX_RUN)
    run = interarrival_jitter(arrivals, timestamps, CLOCK_RATE, JitterRun(0.0, 0.0, 0.0, None))
    assert run.jitter == pytest.approx(0.0, abs=1e-6)


@settings(max_examples=50, deadline=None)
@given(_PACKETS)
def test_receive_statistics_read_at_any_time_see_every_packet(
    steps: list[tuple[float, int]],
) -> None:
    """The figures are the same whether read after each packet or once at the end, across
    the runs the statistics cut the packets into."""
    arrivals, timestamps = packets_of(steps)
    read_often, read_once = ReceiveStatistics(CLOCK_RATE), ReceiveStatistics(CLOCK_RATE)
    for n, (arrival, timestamp) in enumerate(zip(arrivals, timestamps, strict=True)):
        assert read_often.update(n, timestamp, 7, arrival)
        assert read_once.update(n, timestamp, 7, arrival)
        assert read_often.packets_received == n + 1
        assert read_often.jitter >= 0
    expected = per_packet(arrivals, timestamps)
    for statistics in (read_often, read_once):
        assert statistics.max_jitter == pytest.approx(expected.max_jitter, rel=1e-9, abs=1e-9)
        assert statistics.mean_jitter == pytest.approx(
            expected.jitter_sum / len(arrivals), rel=1e-9, abs=1e-9
        )


def test_a_new_source_starts_the_transit_afresh() -> None:
    """D never spans two sources: the first packet of a new SSRC leaves J as it was."""
    statistics = ReceiveStatistics(CLOCK_RATE)
    for n in range(10):
        statistics.update(n, 160 * n, 7, 0.02 * n + 0.001 * (n % 3))
    jitter = statistics.jitter
    assert jitter > 1
    statistics.update(40_000, 999_999_999, 8, 0.2)  # a new SSRC, a far timestamp
    assert statistics.jitter == jitter
    statistics.update(40_001, 999_999_999 + 160, 8, 0.22)
    assert statistics.jitter == pytest.approx(jitter * 15 / 16)


def test_another_clock_rate_starts_the_transit_afresh() -> None:
    statistics = ReceiveStatistics(CLOCK_RATE)
    for n in range(10):
        statistics.update(n, 160 * n, 7, 0.02 * n)
    statistics.set_clock_rate(48000)
    statistics.update(10, 50_000_000, 7, 0.2)  # counted in 48 kHz units from here on
    assert statistics.jitter == pytest.approx(0.0, abs=1e-6)
