"""A B2BUA call: the A leg that arrived, the B legs dialled for it, and the bridge between.

One coroutine per call, run in the call service's TaskGroup: prepare the A leg's media, ring
the route's attempts (parallel targets within one, failover between them), answer the A leg
when a B leg answers, connect their media through the engine, then relay hold, INFO digits
and hangup until either side ends. Timers (ring, per-attempt answer, maximum duration, RTP
inactivity) are deadlines of this coroutine's waits, so nothing outlives the call.
"""

import asyncio
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from mediaserver.calls.hangup_cause import Cause, HangupSource
from mediaserver.calls.inbound_leg import InboundLeg
from mediaserver.calls.leg import Leg
from mediaserver.calls.leg_events import (
    Answered,
    DigitReceived,
    Ended,
    HoldChanged,
    LegEvent,
    Ringing,
)
from mediaserver.calls.leg_media import MediaRefusedError
from mediaserver.calls.outbound_leg import OutboundLeg
from mediaserver.calls.router import Attempt, Route, Target
from mediaserver.clock import Clock
from mediaserver.config import CallsConfig
from mediaserver.media.engine import DtmfMode, MediaEngine, StreamStateError

logger = logging.getLogger(__name__)

MEDIA_CHECK_INTERVAL = 1.0
# Causes after which a carrier attempt moves on to the next (retry, then failover).
_FAILOVER_CAUSES = frozenset(
    (Cause.REQUEST_TIMEOUT, Cause.CARRIER_ERROR, Cause.CONGESTION, Cause.NETWORK_ERROR)
)


@dataclass(frozen=True, slots=True)
class Caller:
    """How the B legs present the call: From (name-addr, untagged) and Max-Forwards."""

    from_address: str
    from_number: str
    max_forwards: int


LegFactory = Callable[[Target, "Call"], OutboundLeg]


class Call:
    def __init__(
        self,
        a_leg: InboundLeg,
        route: Route,
        caller: Caller,
        new_leg: LegFactory,
        engine: MediaEngine,
        config: CallsConfig,
        clock: Clock,
    ) -> None:
        self.a_leg = a_leg
        self.b_legs: list[OutboundLeg] = []
        self._route = route
        self._caller = caller
        self._new_leg = new_leg
        self._engine = engine
        self._config = config
        self._clock = clock
        self._queue: asyncio.Queue[LegEvent] = asyncio.Queue()
        self.on_event: Callable[[LegEvent], None] = _no_observer

    def deliver(self, event: LegEvent) -> None:
        """The legs' EventSink: the observer (dialog table, CDRs) first, then the coroutine."""
        self.on_event(event)
        self._queue.put_nowait(event)

    @property
    def legs(self) -> list[Leg]:
        return [self.a_leg, *self.b_legs]

    async def run(self) -> None:
        try:
            await self._run()
        except Exception:
            logger.exception("call %s failed", self.a_leg.call_uuid)
        finally:
            # Whatever happened, no leg outlives its call (ports, timers, dialogs).
            for leg in self.legs:
                leg.hangup(Cause.INTERNAL_ERROR, HangupSource.ERROR)
                leg.media.close()

    async def _run(self) -> None:
        a_leg = self.a_leg
        if a_leg.ended:
            return  # refused before it started (routing)
        try:
            await a_leg.prepare_media()
        except MediaRefusedError as error:
            a_leg.refuse(Cause.INCOMPATIBLE_MEDIA, str(error))
            return
        b_leg = await self._dial()
        if b_leg is None:
            return
        a_leg.answer()
        if a_leg.ended:
            b_leg.hangup(a_leg.cause or Cause.INTERNAL_ERROR, HangupSource.ERROR)
            return
        self._connect(a_leg, b_leg)
        await self._talk(a_leg, b_leg)

    # -- ringing -------------------------------------------------------------------------------

    async def _dial(self) -> OutboundLeg | None:
        ring_deadline = self._clock.now() + self._config.ring_timeout
        cause = Cause.ROUTING_ERROR
        for attempt in self._route.attempts:
            outcome = await self._try(attempt, ring_deadline)
            if isinstance(outcome, OutboundLeg):
                return outcome
            cause = outcome
            if self.a_leg.ended or not (attempt.failover and cause in _FAILOVER_CAUSES):
                break
        self.a_leg.refuse(cause, source=HangupSource.CALLEE)
        return None

    async def _try(self, attempt: Attempt, ring_deadline: float) -> OutboundLeg | Cause:
        legs = [self._new_leg(target, self) for target in attempt.targets]
        self.b_legs += legs
        for leg, target in zip(legs, attempt.targets, strict=True):
            await leg.start(
                target.request_uri,
                self._caller.from_address,
                f"<{target.request_uri}>",
                _call_id(),
                self._caller.max_forwards,
            )
        pending = set(legs)
        answer_deadline = (
            None if attempt.answer_timeout is None else self._clock.now() + attempt.answer_timeout
        )
        causes: list[Leg] = []
        while True:
            deadline = (
                ring_deadline if answer_deadline is None else min(ring_deadline, answer_deadline)
            )
            event = await self._next_event(deadline)
            if event is None:
                timed_out = self._clock.now() >= ring_deadline
                cause = Cause.RING_TIMEOUT if timed_out else Cause.REQUEST_TIMEOUT
                _cancel_all(pending, cause, HangupSource.PLIVO)
                return cause
            if isinstance(event, Ended) and event.leg is self.a_leg:
                _cancel_all(pending, Cause.ORIGINATOR_CANCEL, HangupSource.CALLER)
                return Cause.ORIGINATOR_CANCEL
            b_leg = event.leg
            if not isinstance(b_leg, OutboundLeg) or b_leg not in pending:
                continue
            if isinstance(event, Ringing):
                answer_deadline = None  # a provisional: the carrier is alive, let it ring
                self._early(b_leg, event.early_media and len(legs) == 1)
            elif isinstance(event, Answered):
                pending.discard(b_leg)
                _cancel_all(pending, Cause.LOST_RACE, HangupSource.PLIVO)
                return b_leg
            elif isinstance(event, Ended):
                pending.discard(b_leg)
                causes.append(b_leg)
                if not pending:
                    return _best_failure(causes)

    def _early(self, b_leg: OutboundLeg, early_media: bool) -> None:
        self.a_leg.ring(early_media=early_media)
        if early_media:
            self._connect(self.a_leg, b_leg)

    # -- the bridge ----------------------------------------------------------------------------

    def _connect(self, a_leg: Leg, b_leg: Leg) -> None:
        a_stream, b_stream = a_leg.media.stream, b_leg.media.stream
        if a_stream is None or b_stream is None or a_stream.peer is b_stream:
            return
        try:
            self._engine.connect(a_stream, b_stream)
        except StreamStateError:
            logger.exception("call %s: cannot bridge media", a_leg.call_uuid)

    async def _talk(self, a_leg: Leg, b_leg: Leg) -> None:
        end_at = self._clock.now() + self._config.max_duration
        activity = _MediaActivity(self._clock, (a_leg, b_leg))
        while True:
            now = self._clock.now()
            event = await self._next_event(min(end_at, now + MEDIA_CHECK_INTERVAL))
            if event is None:
                if self._clock.now() >= end_at:
                    _hang_up_both(a_leg, b_leg, Cause.SCHEDULED_HANGUP)
                    return
                if activity.timed_out(self._config.media_timeout):
                    _hang_up_both(a_leg, b_leg, Cause.MEDIA_TIMEOUT)
                    return
                continue
            other = b_leg if event.leg is a_leg else a_leg
            if isinstance(event, Ended) and event.leg in (a_leg, b_leg):
                other.hangup(
                    event.leg.cause or Cause.NORMAL_CLEARING,
                    event.leg.hangup_source or HangupSource.PLIVO,
                )
                return
            if isinstance(event, HoldChanged):
                other.hold(event.on_hold)
            elif isinstance(event, DigitReceived):
                self._send_digit(other, event)

    def _send_digit(self, leg: Leg, received: DigitReceived) -> None:
        stream = leg.media.stream
        if stream is None:
            return
        mode = DtmfMode.RFC4733 if stream.format.telephone_event_pt is not None else DtmfMode.INBAND
        self._engine.send_dtmf(stream, received.digit, mode, received.duration_ms)

    async def _next_event(self, deadline: float) -> LegEvent | None:
        timeout = max(0.0, deadline - self._clock.now())
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None


class _MediaActivity:
    """RTP inactivity per leg (cause 6020): a leg whose stream received nothing for the
    configured time ends the call; while either side holds, silence is expected."""

    def __init__(self, clock: Clock, legs: tuple[Leg, Leg]) -> None:
        self._clock = clock
        self._legs = legs
        self._counts = [_packets_received(leg) for leg in legs]
        self._since = [clock.now(), clock.now()]

    def timed_out(self, limit: float) -> bool:
        now = self._clock.now()
        on_hold = any(leg.media.remote_on_hold or leg.media.local_hold for leg in self._legs)
        for index, leg in enumerate(self._legs):
            count = _packets_received(leg)
            if count != self._counts[index] or on_hold:
                self._counts[index], self._since[index] = count, now
            elif now - self._since[index] >= limit:
                return True
        return False


def _packets_received(leg: Leg) -> int:
    stream = leg.media.stream
    return -1 if stream is None else stream.rtp.packets_received


def _cancel_all(legs: set[OutboundLeg], cause: Cause, source: HangupSource) -> None:
    for leg in list(legs):
        leg.cancel(cause, source)
    legs.clear()


def _hang_up_both(a_leg: Leg, b_leg: Leg, cause: Cause) -> None:
    a_leg.hangup(cause, HangupSource.PLIVO)
    b_leg.hangup(cause, HangupSource.PLIVO)


def _best_failure(legs: list[Leg]) -> Cause:
    """RFC 3261 §16.7 step 6, loosely: a 6xx wins, then the lowest 4xx class answer (busy
    before the rest), then 5xx; a leg that never answered counts last."""

    def rank(leg: Leg) -> tuple[int, int]:
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


def _call_id() -> str:
    """§8.1.1.4: globally unique; 128 random bits are."""
    return secrets.token_hex(16)


def _no_observer(event: LegEvent) -> None:
    """Default until the call service subscribes."""
