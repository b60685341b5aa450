"""Every leg and call timer as a deadline on the injected Clock.

2xx retransmission until the ACK, session timers, glare retries, ring and answer timeouts,
the maximum call duration and the media inactivity check are all callbacks at a clock
deadline, served by one loop timer (transport's DeadlineTimer). Nothing here reads the loop's
own time, so a test moves a ManualClock and calls `expire_due()` to drive every timer with
numbers, as the transaction layer's tests do.
"""

import asyncio
import itertools
from collections.abc import Callable

from mediaserver.clock import Clock
from mediaserver.transport.deadline_timer import DeadlineTimer

Callback = Callable[[], None]


class Deadlines:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._callbacks: dict[object, Callback] = {}
        self._timer = DeadlineTimer(clock, self._expire)

    def __len__(self) -> int:
        return len(self._callbacks)

    def at(self, key: object, deadline: float, callback: Callback) -> None:
        """Run `callback` once at `deadline`; a later call with the same key replaces it."""
        self._callbacks[key] = callback
        self._timer.set(key, deadline)

    def cancel(self, key: object) -> None:
        self._callbacks.pop(key, None)
        self._timer.set(key, None)

    async def sleep(self, seconds: float) -> None:
        """asyncio.sleep on this clock (a script's pauses: Wait, a digit timeout)."""
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        key = object()

        def wake() -> None:
            if not woken.done():
                woken.set_result(None)

        self.at(key, self.clock.now() + seconds, wake)
        try:
            await woken
        finally:
            self.cancel(key)

    def expire_due(self) -> None:
        self._timer.expire_due()

    def close(self) -> None:
        self._callbacks.clear()
        self._timer.close()

    def _expire(self, key: object, now: float) -> None:
        callback = self._callbacks.pop(key, None)
        if callback is not None:
            callback()


class NamedTimers:
    """One owner's timers (a leg's, a script's), by name: setting a name again moves it, and
    `cancel_all` ends them together when the owner ends."""

    _owners = itertools.count()

    def __init__(self, deadlines: Deadlines) -> None:
        self._deadlines = deadlines
        self._owner = next(self._owners)
        self._names: set[str] = set()

    def after(self, name: str, delay: float, callback: Callback) -> None:
        self.at(name, self._deadlines.clock.now() + delay, callback)

    def at(self, name: str, deadline: float, callback: Callback) -> None:
        def expire() -> None:
            self._names.discard(name)
            callback()

        self._names.add(name)
        self._deadlines.at((self._owner, name), deadline, expire)

    def cancel(self, name: str) -> None:
        self._names.discard(name)
        self._deadlines.cancel((self._owner, name))

    def cancel_all(self) -> None:
        for name in list(self._names):
            self.cancel(name)

    def __len__(self) -> int:
        return len(self._names)
