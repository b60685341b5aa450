"""RFC 3261 Table 4 and RFC 6026's Timers L and M."""

import pytest

from mediaserver.sip.transaction.timers import DEFAULT_TIMERS, TRYING_DELAY, Timers


def test_defaults_are_table_4s() -> None:
    assert (DEFAULT_TIMERS.t1, DEFAULT_TIMERS.t2, DEFAULT_TIMERS.t4) == (0.5, 4.0, 5.0)
    assert TRYING_DELAY == 0.2  # §17.2.1


def test_64_t1_timers() -> None:
    timers = Timers(t1=0.25)
    expected = 16.0
    assert timers.timer_b == timers.timer_f == timers.timer_h == expected
    assert timers.timer_l == timers.timer_m == expected
    assert timers.timer_j(reliable=False) == expected


@pytest.mark.parametrize("t1", [0.1, 0.5, 1.0])
def test_timer_d_is_at_least_32_seconds_on_udp(t1: float) -> None:
    timers = Timers(t1=t1)
    assert timers.timer_d(reliable=False) == max(32.0, 64 * t1)
    assert timers.timer_d(reliable=True) == 0.0


def test_t4_timers_and_reliable_transports() -> None:
    timers = Timers(t4=3.0)
    assert timers.timer_i(reliable=False) == timers.timer_k(reliable=False) == 3.0
    assert timers.timer_i(reliable=True) == timers.timer_k(reliable=True) == 0.0
    assert timers.timer_j(reliable=True) == 0.0
