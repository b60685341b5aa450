"""The built-in script: a caller's leg rings the route it was given and is bridged to the
target that answers (what a call between two registered phones, or to and from a trunk, is
until an application drives it instead).

The caller hears 180 while the targets ring, or the target's own early media (183) when a
single target sends some; it is answered only when a target answers, and the first of the two
legs to end takes the other with it, with its cause.
"""

from mediaserver.calls.call_control import CallControl
from mediaserver.calls.dialer import Caller, DialOptions
from mediaserver.calls.hangup_cause import Cause, HangupSource
from mediaserver.calls.outbound_leg import OutboundLeg
from mediaserver.calls.router import Route
from mediaserver.calls.scripts import first_to_leave


async def direct_dial(caller_leg: CallControl, route: Route, caller: Caller) -> None:
    def ringing(target_leg: OutboundLeg, early_media: bool) -> None:
        if early_media:
            caller_leg.pre_answer()
            caller_leg.bridge(target_leg)
        else:
            caller_leg.ring()

    outcome = await caller_leg.dial(route, DialOptions(caller, on_ringing=ringing))
    target_leg = outcome.leg
    if target_leg is None:
        caller_leg.hangup(outcome.cause, HangupSource.CALLEE)
        return
    caller_leg.answer()
    if caller_leg.ended:
        target_leg.hangup(caller_leg.cause or Cause.INTERNAL_ERROR, HangupSource.ERROR)
        return
    caller_leg.bridge(target_leg)
    await hang_up_together(caller_leg, target_leg)


async def hang_up_together(first: CallControl, second: CallControl) -> None:
    """When either leg ends, end the other with the same cause and source. A target moved to
    a document of its own (a REST transfer of the B leg) leaves the caller nothing to do:
    it ends too."""
    ended = await first_to_leave(first, second)
    other = second if ended is first else first
    other.hangup(ended.cause or Cause.NORMAL_CLEARING, ended.hangup_source or HangupSource.PLIVO)
