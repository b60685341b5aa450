"""The latching decision with numbers: probation, quiet intervals, candidates per address."""

from mediaserver.rtp.source_latch import (
    MAX_CANDIDATES,
    NEW_SOURCE_QUIET_SECONDS,
    PROBATION_PACKETS,
    REBIND_QUIET_SECONDS,
    SourceLatch,
)

SSRC = 0x1234
REBOUND = ("192.0.2.1", 40000)
STRANGER = ("198.51.100.9", 5000)
# The source has sent 100 packets, the last numbered 500, and then fell silent.
SILENT_SOURCE = (100, SSRC, 500)


def test_comedia_latches_after_probation_without_waiting() -> None:
    latch = SourceLatch()
    moved = [latch.takes_over(REBOUND, SSRC, 10 + n, 0.0, None) for n in range(PROBATION_PACKETS)]
    assert moved == [False] * (PROBATION_PACKETS - 1) + [True]


def test_a_gap_or_another_ssrc_restarts_probation() -> None:
    latch = SourceLatch()
    for sequence_number in (1, 3, 5):  # a gap each time: probation starts again
        assert not latch.takes_over(REBOUND, SSRC, sequence_number, 0.0, None)
    assert not latch.takes_over(REBOUND, SSRC ^ 1, 6, 0.0, None)  # another SSRC: again
    following = range(7, 7 + PROBATION_PACKETS - 1)
    moved = [latch.takes_over(REBOUND, SSRC ^ 1, n, 0.0, None) for n in following]
    assert moved == [False] * (PROBATION_PACKETS - 2) + [True]


def test_rebinding_needs_the_short_quiet_and_another_ssrc_the_long_one() -> None:
    latch = SourceLatch()
    times = [0.02 * n for n in range(60)]
    rebound = next(
        t for n, t in enumerate(times) if latch.takes_over(REBOUND, SSRC, 501 + n, t, SILENT_SOURCE)
    )
    assert REBIND_QUIET_SECONDS <= rebound < REBIND_QUIET_SECONDS + 0.03
    latch = SourceLatch()
    stranger = next(
        t
        for n, t in enumerate(times)
        if latch.takes_over(STRANGER, SSRC + 1, 9 + n, t, SILENT_SOURCE)
    )
    assert NEW_SOURCE_QUIET_SECONDS <= stranger < NEW_SOURCE_QUIET_SECONDS + 0.03


def test_a_strangers_stream_does_not_hold_up_a_rebinding() -> None:
    latch = SourceLatch()
    moved_at = None
    for n in range(10):
        now = 0.02 * n
        assert not latch.takes_over(STRANGER, 0x5757, 9000 + n, now, SILENT_SOURCE)
        if latch.takes_over(REBOUND, SSRC, 501 + n, now + 0.001, SILENT_SOURCE):
            moved_at = now
            break
    assert moved_at is not None
    assert moved_at <= 0.1


def test_a_flood_of_addresses_cannot_push_out_a_rebinding_peer() -> None:
    latch = SourceLatch()
    assert not latch.takes_over(REBOUND, SSRC, 501, 0.0, SILENT_SOURCE)
    for port in range(10 * MAX_CANDIDATES):
        latch.takes_over(("198.51.100.9", port), port, 1, 0.001, SILENT_SOURCE)
    moved = [
        latch.takes_over(REBOUND, SSRC, 502 + n, 0.02 * (n + 1), SILENT_SOURCE) for n in range(5)
    ]
    assert True in moved
