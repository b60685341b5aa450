"""Dialling: ring a route's attempts on behalf of a leg (or of nobody, for an originated call)
until one target answers.

Targets within an attempt ring in parallel and the first answer wins (the others are
cancelled, Lost Race); attempts follow each other only for carriers, after a timeout, a 5xx
or a 408 (retries, then the failover address). The ring timeout bounds the whole dial, an
attempt's answer timeout (a carrier's retry_seconds) the wait for its first response.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mediaserver.calls.deadlines import Deadlines
from mediaserver.calls.event_queue import LegEventQueue
from mediaserver.calls.hangup_cause import Cause, HangupSource
from mediaserver.calls.leg_events import Answered, Ended, Ringing
from mediaserver.calls.router import Attempt, Route, Target

if TYPE_CHECKING:
    from mediaserver.calls.leg import Leg
    from mediaserver.calls.outbound_leg import OutboundLeg

# Causes after which a carrier attempt moves on to the next (retry, then failover).
_FAILOVER_CAUSES = frozenset(
    (Cause.REQUEST_TIMEOUT, Cause.CARRIER_ERROR, Cause.CONGESTION, Cause.NETWORK_ERROR)
)


@dataclass(frozen=True, slots=True)
class Caller:
    """How the B legs present the call: From (name-addr, untagged) and Max-Forwards."""

    from_address: str
    from_number: str
    max_forwards: int = 70
    # Headers every B leg's INVITE carries (an application's X-PH-* sipHeaders).
    extra_headers: tuple[tuple[str, str], ...] = ()


RingingHandler = Callable[["OutboundLeg", bool], None]


@dataclass(frozen=True, slots=True)
class DialOptions:
    caller: Caller
    ring_timeout: float | None = None  # seconds; None: calls.ring_timeout
    # A target rings: (its leg, whether its early media may be bridged to the caller).
    on_ringing: RingingHandler | None = None
    # Targets presented otherwise than `caller` (an application's per-Number callerId...).
    callers: Mapping[Target, Caller] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DialOutcome:
    leg: "OutboundLeg | None"  # the answered leg, or None
    cause: Cause  # why none answered (NORMAL_CLEARING when one did)


LegFactory = Callable[[Target, "Leg | None", Caller], "OutboundLeg"]


class Dialer:
    def __init__(self, new_leg: LegFactory, deadlines: Deadlines, ring_timeout: float) -> None:
        self._new_leg = new_leg
        self._deadlines = deadlines
        self._ring_timeout = ring_timeout

    async def dial(self, caller: "Leg | None", route: Route, options: DialOptions) -> DialOutcome:
        ring_timeout = options.ring_timeout or self._ring_timeout
        ring_deadline = self._deadlines.clock.now() + ring_timeout
        cause = Cause.ROUTING_ERROR
        with LegEventQueue(self._deadlines) as events:
            if caller is not None:
                events.listen(caller)
            for attempt in route.attempts:
                outcome = await _Attempt(self, caller, attempt, options, events).run(ring_deadline)
                if outcome.leg is not None:
                    return outcome
                cause = outcome.cause
                caller_gone = caller is not None and caller.ended
                if caller_gone or not (attempt.failover and cause in _FAILOVER_CAUSES):
                    break
        return DialOutcome(None, cause)

    def new_leg(self, target: Target, caller: "Leg | None", options: DialOptions) -> "OutboundLeg":
        return self._new_leg(target, caller, options.callers.get(target, options.caller))

    @property
    def clock_now(self) -> float:
        return self._deadlines.clock.now()


class _Attempt:
    """One attempt's targets, rung together."""

    def __init__(
        self,
        dialer: Dialer,
        caller: "Leg | None",
        attempt: Attempt,
        options: DialOptions,
        events: LegEventQueue,
    ) -> None:
        self._dialer = dialer
        self._caller = caller
        self._attempt = attempt
        self._options = options
        self._events = events
        self._pending: list[OutboundLeg] = []
        self._failed: list[Leg] = []

    async def run(self, ring_deadline: float) -> DialOutcome:
        legs = [self._dialer.new_leg(t, self._caller, self._options) for t in self._attempt.targets]
        for leg in legs:
            self._events.listen(leg)
            self._pending.append(leg)
            await leg.start()
        timeout = self._attempt.answer_timeout
        answer_deadline = None if timeout is None else self._dialer.clock_now + timeout
        while True:
            deadline = (
                ring_deadline if answer_deadline is None else min(ring_deadline, answer_deadline)
            )
            event = await self._events.next(deadline)
            if event is None:
                timed_out = self._dialer.clock_now >= ring_deadline
                return self._give_up(Cause.RING_TIMEOUT if timed_out else Cause.REQUEST_TIMEOUT)
            if isinstance(event, Ended) and event.leg is self._caller:
                return self._give_up(Cause.ORIGINATOR_CANCEL, HangupSource.CALLER)
            found = next((pending for pending in self._pending if pending is event.leg), None)
            if found is None:
                continue
            leg = found
            if isinstance(event, Ringing):
                answer_deadline = None  # a provisional: the carrier is alive, let it ring
                if self._options.on_ringing is not None:
                    self._options.on_ringing(leg, event.early_media and len(legs) == 1)
            elif isinstance(event, Answered):
                self._pending.remove(leg)
                self._give_up(Cause.LOST_RACE)
                return DialOutcome(leg, Cause.NORMAL_CLEARING)
            elif isinstance(event, Ended):
                self._pending.remove(leg)
                self._failed.append(leg)
                if not self._pending:
                    return DialOutcome(None, _best_failure(self._failed))

    def _give_up(self, cause: Cause, source: HangupSource = HangupSource.PLIVO) -> DialOutcome:
        for leg in self._pending:
            leg.cancel(cause, source)
        self._pending.clear()
        return DialOutcome(None, cause)


def _best_failure(legs: "list[Leg]") -> Cause:
    """RFC 3261 §16.7 step 6, loosely: a 6xx wins, then busy, then the lowest other 4xx,
    then 5xx; a leg that never answered counts last."""

    def rank(leg: "Leg") -> tuple[int, int]:
        status = leg.sip_status or 999
        if 600 <= status < 700:
            return (0, status)
        if status == 486:
            return (1, status)
        if 400 <= status < 500 and status != 408:
            return (2, status)
        return (3, status)

    best = min(legs, key=rank)
    return best.cause or Cause.ROUTING_ERROR
