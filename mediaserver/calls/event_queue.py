"""A script's view of its legs: their events in arrival order, waited for up to a deadline
on the injected clock (never the loop's own timeouts, so a manual clock drives it)."""

import asyncio
from typing import TYPE_CHECKING

from mediaserver.calls.deadlines import Deadlines, NamedTimers
from mediaserver.calls.leg_events import LegEvent, Subscription

if TYPE_CHECKING:
    from mediaserver.calls.leg import Leg


class _Expired:
    """Put in the queue when one wait's deadline passes; only that wait reads it as such."""

    __slots__ = ()


class LegEventQueue:
    def __init__(self, deadlines: Deadlines) -> None:
        self._timers = NamedTimers(deadlines)
        self._queue: asyncio.Queue[LegEvent | _Expired] = asyncio.Queue()
        self._subscriptions: dict[int, Subscription] = {}

    def listen(self, leg: "Leg") -> None:
        if id(leg) not in self._subscriptions:
            self._subscriptions[id(leg)] = leg.subscribe(self._queue.put_nowait)

    async def next(self, deadline: float | None = None) -> LegEvent | None:
        """The next event, or None once `deadline` (clock seconds) has passed."""
        expired = _Expired()
        if deadline is not None:
            self._timers.at("wait", deadline, lambda: self._queue.put_nowait(expired))
        try:
            while True:
                item = await self._queue.get()
                if item is expired:
                    return None
                if not isinstance(item, _Expired):  # a stale one, from an earlier wait
                    return item
        finally:
            self._timers.cancel("wait")

    def close(self) -> None:
        for subscription in self._subscriptions.values():
            subscription.cancel()
        self._subscriptions.clear()
        self._timers.cancel_all()

    def __enter__(self) -> "LegEventQueue":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
