"""Many deadlines, one event-loop timer armed at the earliest of them (the aioquic driver way).

Each key (a transaction, a connection) has at most one live deadline. Moving a key's deadline
pushes a new heap entry and leaves the old one behind as stale; stale entries are skipped when
they reach the top, so every update is O(log n) and nothing is ever searched.
"""

import asyncio
import heapq
import itertools
from collections.abc import Callable, Hashable

from mediaserver.clock import Clock

# Stale heap entries tolerated beyond twice the live deadlines before the heap is rebuilt.
COMPACT_SLACK = 64


class DeadlineTimer:
    def __init__(self, clock: Clock, expire: Callable[[Hashable, float], None]) -> None:
        self._clock = clock
        self._expire = expire
        self._deadlines: dict[Hashable, float] = {}
        self._heap: list[tuple[float, int, Hashable]] = []
        self._sequence = itertools.count()
        self._handle: asyncio.TimerHandle | None = None
        self._armed_for: float | None = None

    def __len__(self) -> int:
        return len(self._deadlines)

    def set(self, key: Hashable, deadline: float | None) -> None:
        """Expire `key` at `deadline` (clock seconds), or never when None."""
        if deadline is None:
            self._deadlines.pop(key, None)
            self._compact()
            return
        if self._deadlines.get(key) == deadline:
            return
        self._deadlines[key] = deadline
        heapq.heappush(self._heap, (deadline, next(self._sequence), key))
        self._compact()
        self._arm()

    def _compact(self) -> None:
        """Drop stale entries once they outnumber the live ones: a deadline cancelled long
        before it is due (a call's four-hour limit, ended after a minute) would otherwise
        stay in the heap until its time came."""
        if len(self._heap) > 2 * len(self._deadlines) + COMPACT_SLACK:
            self._heap = [(d, next(self._sequence), k) for k, d in self._deadlines.items()]
            heapq.heapify(self._heap)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._handle = None
        self._armed_for = None
        self._deadlines.clear()
        self._heap.clear()

    def _earliest(self) -> float | None:
        heap = self._heap
        while heap and self._deadlines.get(heap[0][2]) != heap[0][0]:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def _arm(self) -> None:
        earliest = self._earliest()
        if earliest == self._armed_for:
            return
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._armed_for = earliest
        if earliest is not None:
            delay = max(earliest - self._clock.now(), 0.0)
            self._handle = asyncio.get_running_loop().call_later(delay, self._fire)

    def _fire(self) -> None:
        self._handle = None
        self._armed_for = None
        self.expire_due()

    def expire_due(self) -> None:
        """Expire every key whose deadline has passed on the clock. The loop timer calls this;
        a test with a manual clock calls it after moving the clock."""
        now = self._clock.now()
        # Collected first: an expiry may set a new deadline for its key, even an overdue
        # one, and that is the next round's work (a loop timer can also wake a little early,
        # then nothing is due yet and the timer is simply re-armed).
        due: list[Hashable] = []
        while (earliest := self._earliest()) is not None and earliest <= now:
            _, _, key = heapq.heappop(self._heap)
            del self._deadlines[key]
            due.append(key)
        for key in due:
            if key not in self._deadlines:  # not moved meanwhile by another key's expiry
                self._expire(key, now)
        self._arm()
