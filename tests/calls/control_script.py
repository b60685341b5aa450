"""A script written only against CallControl, as an application would drive a call: answer,
play a tone, collect two digits (any mode), dial the route, bridge, and hang up together.
The unit tests run it on the in-memory peer; the interop test on pjsua2 phones."""

import asyncio
import logging

from mediaserver.calls.call_control import CallControl
from mediaserver.calls.dialer import Caller, DialOptions
from mediaserver.calls.direct_dial import hang_up_together
from mediaserver.calls.hangup_cause import HangupSource
from mediaserver.calls.leg_events import DigitReceived, Ended, LegEvent
from mediaserver.calls.router import Route
from mediaserver.media.tones import SampleSource, tone

logger = logging.getLogger("control_script")
PROMPT_HZ, PROMPT_SAMPLES = 700.0, 8000 * 2  # 2 s at the engine's 8 kHz


async def collect_then_connect(leg: CallControl, route: Route, caller: Caller) -> None:
    collected: list[DigitReceived] = []
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def hear(event: LegEvent) -> None:
        if isinstance(event, DigitReceived):
            collected.append(event)
        if (len(collected) == 2 or isinstance(event, Ended)) and not done.done():
            done.set_result(None)

    subscription = leg.subscribe(hear)
    leg.answer()
    await leg.play(SampleSource(tone((PROMPT_HZ,), PROMPT_SAMPLES, 8000.0)))
    leg.collect_digits()
    await done
    leg.collect_digits(False)
    subscription.cancel()
    sources = ",".join(sorted({event.source.value for event in collected}))
    logger.info("collected %s by %s", "".join(e.digit for e in collected), sources)
    outcome = await leg.dial(route, DialOptions(caller))
    if outcome.leg is None:
        leg.hangup(outcome.cause, HangupSource.CALLEE)
        return
    leg.bridge(outcome.leg)
    await hang_up_together(leg, outcome.leg)
