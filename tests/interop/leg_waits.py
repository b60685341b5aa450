"""Waiting on a leg's events from a script run inside the server."""

import asyncio

from mediaserver.calls.call_control import CallControl
from mediaserver.calls.leg_events import Answered, Ended, LegEvent


async def wait_answered(leg: CallControl) -> bool:
    """True once the leg is answered, False if it ends first."""
    answered: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    def hear(event: LegEvent) -> None:
        if isinstance(event, Answered | Ended) and not answered.done():
            answered.set_result(isinstance(event, Answered))

    subscription = leg.subscribe(hear)
    try:
        return await answered
    finally:
        subscription.cancel()
