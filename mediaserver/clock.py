"""The one place time is read, so tests can drive every timer with numbers."""

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Monotonic seconds."""
        ...

    def wall(self) -> float:
        """Seconds since the Unix epoch, for records shown to people."""
        ...


class SystemClock:
    # The builtin itself, not a method around it: the RTP receive path reads the clock for
    # every packet (RFC 3550 §A.8 arrival times), and a Python frame costs more than the read.
    now = staticmethod(time.monotonic)

    def wall(self) -> float:
        return time.time()


class ManualClock:
    """A clock that only moves when told to."""

    def __init__(self, start: float = 0.0, wall_start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._wall_offset = wall_start - start

    def now(self) -> float:
        return self._now

    def wall(self) -> float:
        return self._now + self._wall_offset

    def advance(self, seconds: float) -> None:
        self._now += seconds
