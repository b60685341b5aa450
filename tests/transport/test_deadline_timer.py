"""One loop timer serving many deadlines, on the real loop with millisecond deadlines."""

import asyncio
from collections.abc import Hashable

from mediaserver.clock import SystemClock
from mediaserver.transport.deadline_timer import DeadlineTimer


class Expiries:
    def __init__(self) -> None:
        self.keys: list[Hashable] = []

    def __call__(self, key: Hashable, now: float) -> None:
        self.keys.append(key)


async def test_due_deadlines_fire_in_order_and_only_once() -> None:
    clock, expired = SystemClock(), Expiries()
    timer = DeadlineTimer(clock, expired)
    start = clock.now()
    timer.set("b", start + 0.02)
    timer.set("a", start + 0.01)
    timer.set("c", start + 10)
    await asyncio.sleep(0.1)
    assert expired.keys == ["a", "b"]
    assert len(timer) == 1
    timer.close()


async def test_moved_and_cleared_deadlines_leave_no_stale_expiry() -> None:
    clock, expired = SystemClock(), Expiries()
    timer = DeadlineTimer(clock, expired)
    start = clock.now()
    timer.set("moved", start + 0.01)
    timer.set("moved", start + 0.06)
    timer.set("cleared", start + 0.01)
    timer.set("cleared", None)
    await asyncio.sleep(0.03)
    assert expired.keys == []
    await asyncio.sleep(0.08)
    assert expired.keys == ["moved"]
    timer.close()


async def test_an_expiry_may_set_a_new_deadline() -> None:
    clock = SystemClock()
    fired: list[float] = []

    def again(key: Hashable, now: float) -> None:
        fired.append(now)
        if len(fired) < 3:
            timer.set(key, now + 0.005)

    timer = DeadlineTimer(clock, again)
    timer.set("repeating", clock.now())
    await asyncio.sleep(0.1)
    assert len(fired) == 3
    timer.close()


async def test_one_loop_handle_for_many_deadlines() -> None:
    clock, expired = SystemClock(), Expiries()
    timer = DeadlineTimer(clock, expired)
    loop = asyncio.get_running_loop()

    def live_handles() -> int:
        return sum(not handle.cancelled() for handle in loop._scheduled)  # type: ignore[attr-defined]

    before = live_handles()
    start = clock.now()
    for number in range(100):
        timer.set(number, start + 10.0 - number * 0.01)
    # Each earlier deadline re-arms the one handle; cancelled handles are not counted.
    assert live_handles() - before == 1
    timer.close()


async def test_cancelled_deadlines_do_not_pile_up_in_the_heap() -> None:
    """Far deadlines cancelled early (a call's maximum duration) leave the heap bounded."""
    clock, expired = SystemClock(), Expiries()
    timer = DeadlineTimer(clock, expired)
    far = clock.now() + 14_400
    for key in range(10_000):
        timer.set(key, far)
        timer.set(key, None)
    timer.set("live", clock.now() + 0.01)
    assert len(timer._heap) < 200
    await asyncio.sleep(0.05)
    assert expired.keys == ["live"]
    timer.close()
