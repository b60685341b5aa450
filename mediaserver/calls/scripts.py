"""Scripts: the coroutines that drive legs (the direct dial, an application's interpreter, a
REST-originated call, a conference's membership), each run as the owner of its legs.

A script owns the legs it was started with and the legs it dials. When it returns or fails,
the legs it still owns and that are still up are hung up, so nothing outlives its driver by
accident; a leg handed to another script (transfer, conference) changes owner and lives on.
"""

import asyncio
import logging
from collections.abc import Coroutine, Iterable
from types import UnionType
from typing import Any

from mediaserver.calls.call_control import CallControl
from mediaserver.calls.hangup_cause import Cause, HangupSource
from mediaserver.calls.leg import Leg
from mediaserver.calls.leg_events import Ended, LegEvent, Transferred

logger = logging.getLogger(__name__)

ScriptBody = Coroutine[Any, Any, None]


class ScriptRun:
    """One running script and the legs it owns."""

    def __init__(self, name: str, owners: "dict[str, ScriptRun]") -> None:
        self.name = name
        self._owners = owners
        self._legs: dict[str, Leg] = {}
        self.task: asyncio.Task[None] | None = None

    def take(self, leg: Leg) -> None:
        self._owners[leg.call_uuid] = self
        self._legs[leg.call_uuid] = leg

    def owns(self, leg: Leg) -> bool:
        return self._owners.get(leg.call_uuid) is self

    async def run(self, body: ScriptBody) -> None:
        cause, source = Cause.NORMAL_CLEARING, HangupSource.PLIVO
        try:
            await body
        except Exception:
            logger.exception("script %s failed", self.name)
            cause, source = Cause.INTERNAL_ERROR, HangupSource.ERROR
        finally:
            for leg in self._legs.values():
                if self.owns(leg):
                    leg.hangup(cause, source)
                    del self._owners[leg.call_uuid]


class Scripts:
    """Runs scripts in the call service's TaskGroup and knows which one owns each leg."""

    def __init__(self) -> None:
        self._owners: dict[str, ScriptRun] = {}
        self._running: set[ScriptRun] = set()
        self.tasks: asyncio.TaskGroup | None = None

    def start(self, name: str, body: ScriptBody, legs: Iterable[Leg]) -> ScriptRun:
        if self.tasks is None:
            body.close()
            raise RuntimeError("the call service is not running")
        run = ScriptRun(name, self._owners)
        for leg in legs:
            run.take(leg)
        self._running.add(run)
        run.task = self.tasks.create_task(run.run(body))
        run.task.add_done_callback(lambda _: self._running.discard(run))
        return run

    def hand_over(self, leg: Leg, name: str, body: ScriptBody) -> ScriptRun:
        """Give `leg` to a new script and stop the one that drove it (a transfer): the old
        script hangs up what it still owns (a B leg it dialled), not this leg."""
        previous = self.owner_of(leg)
        run = self.start(name, body, [leg])
        if previous is not None and previous.task is not None:
            previous.task.cancel()
        return run

    def move(self, leg: Leg, name: str, body: ScriptBody) -> ScriptRun:
        """Give `leg` to a new script while the one that had it runs on (a B leg moved off
        its caller's Dial): that script hears Transferred and lets go of it."""
        run = self.start(name, body, [leg])
        leg.events.emit(Transferred(leg))
        return run

    def owner_of(self, leg: Leg) -> ScriptRun | None:
        return self._owners.get(leg.call_uuid)

    def __len__(self) -> int:
        return len(self._running)


async def first_to_end(*legs: CallControl) -> CallControl:
    """Wait until one of `legs` has ended; return it."""
    return await _first_to(Ended, legs)


async def first_to_leave(*legs: CallControl) -> CallControl:
    """Wait until one of `legs` has ended or been moved to another script; return it."""
    return await _first_to(Ended | Transferred, legs)


async def _first_to(wanted: type[Ended] | UnionType, legs: tuple[CallControl, ...]) -> CallControl:
    for leg in legs:
        if leg.ended:
            return leg
    ended: asyncio.Future[CallControl] = asyncio.get_running_loop().create_future()

    def hear(event: LegEvent) -> None:
        if isinstance(event, wanted) and not ended.done():
            ended.set_result(next(leg for leg in legs if leg is event.leg))

    subscriptions = [leg.subscribe(hear) for leg in legs]
    try:
        return await ended
    finally:
        for subscription in subscriptions:
            subscription.cancel()
