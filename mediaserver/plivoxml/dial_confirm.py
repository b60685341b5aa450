"""Dial's confirmSound and confirmKey (plivo.md §2.7): the B leg that answers hears the
confirmSound document, and with a confirmKey must press it within confirmTimeout (counted from
its answer) to be connected; otherwise it is hung up with 9110 Confirm Key Challenge Failed and
the dial has failed. The A leg keeps ringing meanwhile (PF's group_confirm)."""

from mediaserver.calls.hangup_cause import Cause, HangupSource
from mediaserver.calls.outbound_leg import OutboundLeg
from mediaserver.plivoxml.digit_input import DigitCollector
from mediaserver.plivoxml.prompt_documents import fetch_prompts
from mediaserver.plivoxml.prompts import run_prompt
from mediaserver.plivoxml.session import CallSession
from mediaserver.plivoxml.verbs import Dial, Prompt


async def confirmed(session: CallSession, verb: Dial, b_leg: OutboundLeg) -> bool:
    """Whether the answering B leg is to be connected."""
    prompts: tuple[Prompt, ...] = ()
    if verb.confirm_sound:
        prompts = await fetch_prompts(session, verb.confirm_sound, "<Dial confirmSound>")
    b_side = CallSession(b_leg, session.urls, session.identity, session.services)
    try:
        if not verb.confirm_key:
            for prompt in prompts:
                if not await run_prompt(b_side, prompt):
                    break
            return not b_leg.ended
        if await _key_pressed(b_side, prompts, verb.confirm_key, verb.confirm_timeout):
            return True
    finally:
        await b_side.close()
    b_leg.hangup(Cause.CONFIRM_KEY_FAILED, HangupSource.PLIVO)
    return False


async def _key_pressed(
    b_side: CallSession, prompts: tuple[Prompt, ...], key: str, within_seconds: int
) -> bool:
    clock = b_side.services.deadlines.clock
    give_up = clock.now() + within_seconds
    collector = DigitCollector(b_side)
    try:
        collector.prompting = True
        for prompt in prompts:
            if collector.pressed or not await run_prompt(b_side, prompt):
                break
        collector.prompting = False
        while (left := give_up - clock.now()) > 0:
            digit = await collector.next(left)
            if digit is None:
                return False
            if digit == key:
                return True
        return False
    finally:
        collector.close()
