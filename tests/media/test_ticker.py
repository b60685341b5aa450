from collections.abc import Callable

from mediaserver.clock import ManualClock
from mediaserver.media.ticker import Ticker


class FakeHandle:
    def __init__(self, when: float, callback: Callable[[], object]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeScheduler:
    """A loop whose time is the ManualClock's, and whose timers fire only when told."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.handles: list[FakeHandle] = []

    def time(self) -> float:
        return self.clock.now()

    def call_at(self, when: float, callback: Callable[[], object]) -> FakeHandle:
        handle = FakeHandle(when, callback)
        self.handles.append(handle)
        return handle

    def pending(self) -> list[FakeHandle]:
        return [h for h in self.handles if not h.cancelled]

    def fire_next(self, lateness: float = 0.0) -> None:
        handle = self.handles.pop(0)
        assert not handle.cancelled
        self.clock.advance(handle.when - self.clock.now() + lateness)
        handle.callback()


def make_ticker(**kwargs: int) -> tuple[Ticker, FakeScheduler, list[int]]:
    clock = ManualClock(start=100.0)
    scheduler = FakeScheduler(clock)
    ticks: list[int] = []
    return Ticker(scheduler, clock, ticks.append, **kwargs), scheduler, ticks


def test_deadlines_stay_on_the_20_ms_grid_despite_late_firing() -> None:
    ticker, scheduler, ticks = make_ticker()
    ticker.start()
    deadlines = []
    for _ in range(50):
        deadlines.append(scheduler.handles[0].when)
        scheduler.fire_next(lateness=0.004)  # every tick fires 4 ms late
    assert ticks == list(range(1, 51))
    assert [round(d - 100.0, 6) for d in deadlines] == [round(0.02 * n, 6) for n in range(1, 51)]


def test_late_tick_runs_the_missed_ticks_back_to_back() -> None:
    ticker, scheduler, ticks = make_ticker()
    ticker.start()
    scheduler.fire_next(lateness=0.045)  # tick 1 fires 45 ms late: ticks 2 and 3 are due too
    assert ticks == [1, 2, 3]
    assert ticker.statistics().late_ticks == 2
    assert round(scheduler.handles[0].when - 100.0, 6) == 0.08


def test_long_stall_skips_ticks_instead_of_bursting() -> None:
    ticker, scheduler, ticks = make_ticker(max_catch_up_ticks=5)
    ticker.start()
    scheduler.fire_next(lateness=1.0)
    assert ticks == [51]
    assert ticker.statistics().skipped_ticks == 50


def test_stop_cancels_the_one_timer() -> None:
    ticker, scheduler, _ = make_ticker()
    ticker.start()
    ticker.start()
    assert len(scheduler.pending()) == 1
    ticker.stop()
    assert not scheduler.pending()
    assert not ticker.statistics().running


def test_failing_tick_is_counted_and_the_clock_keeps_going() -> None:
    clock = ManualClock()
    scheduler = FakeScheduler(clock)
    seen: list[int] = []

    def on_tick(index: int) -> None:
        seen.append(index)
        if index == 1:
            raise RuntimeError("bad stream")

    ticker = Ticker(scheduler, clock, on_tick)
    ticker.start()
    scheduler.fire_next()
    scheduler.fire_next()
    assert seen == [1, 2]
    assert ticker.statistics().failed_ticks == 1
