"""The one media clock: a tick every 20 ms, drift-free, as a single loop.call_at chain.

Deadlines are computed from the start time (origin + n * period), never from "now + period",
so scheduling latency does not accumulate. A tick that fires late runs the ticks it missed
back to back (the jitter buffers and senders stay in step with real time); after a stall longer
than `max_catch_up_ticks` the missed ticks are skipped and counted instead of sent in a burst.
Media ports are passive (the pjmedia pattern): only this clock paces them.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from mediaserver.clock import Clock
from mediaserver.media.frame import FRAME_MS

logger = logging.getLogger(__name__)

TickHandler = Callable[[int], None]


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class Scheduler(Protocol):
    """The part of an asyncio event loop the ticker uses (tests pass a fake)."""

    def time(self) -> float: ...

    def call_at(self, when: float, callback: Callable[[], object]) -> TimerHandle: ...


@dataclass(frozen=True, slots=True)
class TickerStatistics:
    running: bool
    ticks: int
    late_ticks: int
    skipped_ticks: int
    failed_ticks: int


class Ticker:
    def __init__(
        self,
        scheduler: Scheduler,
        clock: Clock,
        on_tick: TickHandler,
        period_ms: int = FRAME_MS,
        max_catch_up_ticks: int = 5,
    ) -> None:
        self._scheduler = scheduler
        self._clock = clock
        self._on_tick = on_tick
        self._period = period_ms / 1000
        self._max_catch_up_ticks = max_catch_up_ticks
        self._origin = 0.0
        self._next_index = 0
        self._handle: TimerHandle | None = None
        self._ticks = 0
        self._late_ticks = 0
        self._skipped_ticks = 0
        self._failed_ticks = 0

    @property
    def running(self) -> bool:
        return self._handle is not None

    def start(self) -> None:
        """First tick one period from now; idempotent."""
        if self._handle is not None:
            return
        self._origin = self._clock.now()
        self._next_index = 1
        self._schedule()

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def statistics(self) -> TickerStatistics:
        return TickerStatistics(
            running=self.running,
            ticks=self._ticks,
            late_ticks=self._late_ticks,
            skipped_ticks=self._skipped_ticks,
            failed_ticks=self._failed_ticks,
        )

    def _schedule(self) -> None:
        deadline = self._origin + self._next_index * self._period
        delay = deadline - self._clock.now()
        self._handle = self._scheduler.call_at(self._scheduler.time() + delay, self._fire)

    def _fire(self) -> None:
        due_index = int((self._clock.now() - self._origin) / self._period + 1e-9)
        missed = due_index - self._next_index
        if missed > self._max_catch_up_ticks:
            self._skipped_ticks += missed
            self._next_index = due_index
        elif missed > 0:
            self._late_ticks += missed
        while self._next_index <= due_index and self._handle is not None:
            self._run_one(self._next_index)
            self._next_index += 1
        if self._handle is not None:
            self._schedule()

    def _run_one(self, index: int) -> None:
        self._ticks += 1
        try:
            self._on_tick(index)
        except Exception:
            # One faulty stream must not stop every call's media: log and keep the clock.
            self._failed_ticks += 1
            logger.exception("media tick %d failed", index)
