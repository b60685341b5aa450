"""The script that drives a call under an application: its interpreter runs until the
document is done or the leg ends, then the hangup URL hears how the call ended (plivo.md §3).
"""

import asyncio
import contextlib
import time

from mediaserver.calls.call_control import CallControl
from mediaserver.calls.hangup_cause import Cause, HangupSource
from mediaserver.calls.scripts import first_to_end
from mediaserver.plivoxml.caller_audio import CallerAudio
from mediaserver.plivoxml.interpreter import Interpreter
from mediaserver.plivoxml.session import ApplicationUrls, CallIdentity, CallSession, Services


async def run_application(
    leg: CallControl,
    urls: ApplicationUrls,
    identity: CallIdentity,
    services: Services,
    caller_audio: CallerAudio | None = None,
) -> None:
    session = CallSession(leg, urls, identity, services, caller_audio)
    interpreter = asyncio.get_running_loop().create_task(Interpreter(session).run())
    ended = asyncio.get_running_loop().create_task(first_to_end(leg))
    try:
        await asyncio.wait((interpreter, ended), return_when=asyncio.FIRST_COMPLETED)
        if interpreter.done():
            interpreter.result()  # a failure is the script's: it hangs the leg up
    finally:
        for task in (interpreter, ended):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await session.close()
    if not leg.ended:  # the document handed the leg on (a transfer, a conference)
        return
    hangup_url = urls.hangup_url or urls.answer_url
    method = urls.hangup_method if urls.hangup_url else urls.answer_method
    session.notify(hangup_url, method, hangup_parameters(leg))


def hangup_parameters(leg: CallControl) -> dict[str, str]:
    """What the hangup URL gets beyond the common parameters (§3: cause, source, times)."""
    cause = (leg.cause or Cause.NORMAL_CLEARING).cause
    end = leg.end_time or leg.initiation_time
    talk = 0.0 if leg.answer_time is None else max(0.0, end - leg.answer_time)
    return {
        "HangupCause": cause.name,
        "HangupCauseCode": str(cause.code),
        "HangupCauseName": cause.label,
        "HangupSource": (leg.hangup_source or HangupSource.UNKNOWN).value,
        "Duration": str(int(talk)),
        "BillDuration": str(int(-(-talk // 1))),
        "StartTime": _timestamp(leg.initiation_time),
        "AnswerTime": "" if leg.answer_time is None else _timestamp(leg.answer_time),
        "EndTime": _timestamp(end),
    }


def _timestamp(wall_seconds: float) -> str:
    """Plivo's webhook times: `YYYY-MM-DD HH:MM:SS` in UTC."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(wall_seconds))
