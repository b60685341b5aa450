"""The calls' transaction user: new INVITEs become calls, in-dialog requests find their leg.

It owns the TaskGroup every call runs in, the table of dialogs (§12: Call-ID, local tag,
remote tag -> leg) and of INVITEs still unanswered (for CANCEL, §9.2), and it decides who
may call: an incoming carrier by source address, else an endpoint by digest (407, §22.3).
"""

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol

from mediaserver.calls.call import Call, Caller
from mediaserver.calls.hangup_cause import Cause, HangupSource
from mediaserver.calls.inbound_leg import InboundLeg
from mediaserver.calls.leg import Leg, _warning
from mediaserver.calls.leg_events import Answered, Ended, LegEvent, Ringing
from mediaserver.calls.leg_media import LegMedia, MediaRefusedError, capabilities_for
from mediaserver.calls.outbound_leg import OutboundLeg
from mediaserver.calls.router import Refusal, Route, Router, Target
from mediaserver.calls.session_timer import SessionTimer
from mediaserver.clock import Clock
from mediaserver.config import CallsConfig
from mediaserver.media.engine import MediaEngine
from mediaserver.sip.dialog import DialogId, dialog_id_of, new_tag
from mediaserver.sip.errors import SipParseError
from mediaserver.sip.message import Request, Response, build_response
from mediaserver.sip.transaction.timers import Timers
from mediaserver.store.endpoints import Endpoint
from mediaserver.transport.endpoint import ServerRequest, SipEndpoint
from mediaserver.transport.peer import Peer

logger = logging.getLogger(__name__)

PendingKey = tuple[str, str]  # (Call-ID, branch of the INVITE's top Via)


class Authenticator(Protocol):
    def authenticate(self, request: Request, source: Peer) -> Endpoint | Response: ...


class CallService:
    def __init__(
        self,
        endpoint: SipEndpoint,
        authenticator: Authenticator,
        router: Router,
        engine: MediaEngine,
        config: CallsConfig,
        clock: Clock,
        domain: str,
        rtp_address: str = "0.0.0.0",
        timers: Timers | None = None,
    ) -> None:
        self._endpoint = endpoint
        self._authenticator = authenticator
        self._router = router
        self._engine = engine
        self._config = config
        self._capabilities = capabilities_for(config)
        self._clock = clock
        self._domain = domain
        self._rtp_address = rtp_address
        self._timers = timers or Timers()
        self._dialogs: dict[DialogId, Leg] = {}
        self._pending: dict[PendingKey, InboundLeg] = {}
        self._calls: set[Call] = set()
        self._tasks: asyncio.TaskGroup | None = None
        self.on_leg_ended: Callable[[Leg], None] = _no_record
        self._counts = {"calls_started": 0, "calls_refused": 0, "calls_answered": 0}

    async def run(self, stop: asyncio.Event) -> None:
        """Serve calls until `stop`; then hang every call up and wait for them to finish."""
        async with asyncio.TaskGroup() as tasks:
            self._tasks = tasks
            await stop.wait()
            self._tasks = None
            for call in list(self._calls):
                for leg in call.legs:
                    leg.hangup(Cause.NORMAL_CLEARING, HangupSource.PLIVO)

    # -- the SIP service hands requests here ---------------------------------------------------

    def handle_invite(self, incoming: ServerRequest) -> None:
        request = incoming.request
        early = self._early_refusal(incoming)
        if early is not None:
            incoming.respond(early)
            return
        carrier = self._router.incoming_carrier(incoming.source)
        caller_name = carrier.name if carrier is not None else ""
        if carrier is None and request.from_address.uri.host.lower() != self._domain:
            # Neither a carrier's address nor one of our endpoints (they call as user@domain):
            # an unknown trunk or a scanner. Refused outright, as a proxy's ACL would (§21.4.4).
            incoming.respond(
                build_response(request, 403, "Forbidden - unknown source", to_tag=new_tag())
            )
            return
        if carrier is None:
            verdict = self._authenticator.authenticate(request, incoming.source)
            if isinstance(verdict, Response):
                incoming.respond(verdict)
                return
            caller_name = verdict.username
        a_leg = self._inbound_leg(incoming)
        if a_leg is None:
            return
        route = (
            self._router.route_from_carrier(request)
            if carrier is not None
            else self._router.route_from_endpoint(request)
        )
        self._start(a_leg, route, caller_name, carrier is not None)

    def cancel(self, incoming: ServerRequest) -> bool:
        """§9.2: the 200 for the CANCEL goes first, then the leg answers the INVITE 487."""
        request = incoming.request
        a_leg = self._pending.get((request.call_id, request.top_via.branch or ""))
        if a_leg is None:
            return False
        incoming.respond(build_response(request, 200))
        a_leg.cancelled()
        return True

    def handle_in_dialog(self, incoming: ServerRequest) -> bool:
        dialog_id = dialog_id_of(incoming.request)
        leg = None if dialog_id is None else self._dialogs.get(dialog_id)
        if leg is None:
            return False
        leg.handle_in_dialog(incoming)
        return True

    def live_legs(self) -> list[Leg]:
        return [leg for call in self._calls for leg in call.legs if not leg.ended]

    def statistics(self) -> dict[str, int]:
        return {
            "calls": len(self._calls),
            "legs": len(self.live_legs()),
            "dialogs": len(self._dialogs),
            "pending_invites": len(self._pending),
            "leg_timers": sum(leg.timers_pending() for call in self._calls for leg in call.legs),
            **self._counts,
        }

    # -- building calls ------------------------------------------------------------------------

    def _early_refusal(self, incoming: ServerRequest) -> Response | None:
        request = incoming.request
        if self._tasks is None:
            return build_response(request, 503, to_tag=new_tag())
        max_forwards = request.max_forwards
        if max_forwards is not None and max_forwards <= 1:
            # §16.3 step 3: no hop left for the B leg we would send.
            return build_response(request, 483, to_tag=new_tag())
        if self._endpoint.sent_by_us(request):
            # §16.3 step 4, §8.2.2.2: our own INVITE came back to us.
            return build_response(request, 482, to_tag=new_tag())
        return None

    def _inbound_leg(self, incoming: ServerRequest) -> InboundLeg | None:
        leg = InboundLeg(
            self._endpoint,
            self._media_for(incoming.source),
            self._clock,
            _no_events,
            incoming.source,
            self._timers,
        )
        leg.session_timer = SessionTimer(self._config.min_session_expires)
        request = incoming.request
        try:
            leg.setup(incoming)
        except SipParseError as error:
            incoming.respond(
                build_response(request, 400, f"Bad Request - {error.reason}", to_tag=new_tag())
            )
            return None
        except MediaRefusedError as error:
            incoming.respond(
                build_response(request, 488, to_tag=new_tag(), headers=[_warning(str(error))])
            )
            return None
        leg.from_number = request.from_address.uri.user or ""
        leg.to_number = request.uri.user or ""
        return leg

    def _start(
        self, a_leg: InboundLeg, route: Route | Refusal, caller_name: str, from_carrier: bool
    ) -> None:
        request = a_leg.request.request
        empty = Route((), a_leg.to_number)
        call = Call(
            a_leg,
            route if isinstance(route, Route) else empty,
            self._caller(request, caller_name, from_carrier),
            self._outbound_leg,
            self._engine,
            self._config,
            self._clock,
        )
        call.on_event = self._observe
        a_leg.subscribe(call.deliver)
        assert a_leg.dialog is not None
        self._dialogs[a_leg.dialog.dialog_id] = a_leg
        self._pending[(request.call_id, request.top_via.branch or "")] = a_leg
        self._calls.add(call)
        self._counts["calls_started"] += 1
        if isinstance(route, Refusal):
            self._counts["calls_refused"] += 1
            a_leg.refuse(route.cause, route.reason)
        assert self._tasks is not None
        task = self._tasks.create_task(call.run())
        task.add_done_callback(lambda _: self._calls.discard(call))

    def _caller(self, request: Request, caller_name: str, from_carrier: bool) -> Caller:
        user = request.from_address.uri.user or caller_name
        display = request.from_address.display_name
        name = "" if display is None else f'"{display}" '
        max_forwards = (request.max_forwards or 70) - 1
        return Caller(f"{name}<sip:{user}@{self._domain}>", user, max_forwards)

    def _outbound_leg(self, target: Target, call: Call) -> OutboundLeg:
        leg = OutboundLeg(
            self._endpoint,
            self._media_for(target.destination),
            self._clock,
            call.deliver,
            target.destination,
            self._timers,
        )
        leg.parent_call_uuid = call.a_leg.call_uuid
        leg.from_number = call.a_leg.from_number
        leg.to_number = target.request_uri.user or ""
        return leg

    def _media_for(self, peer: Peer) -> LegMedia:
        address = self._rtp_address
        if address in ("0.0.0.0", "::"):
            address = self._endpoint.local_peer(peer).host
        return LegMedia(self._engine, self._capabilities, address, "mediaserver")

    def _observe(self, event: LegEvent) -> None:
        """Keep the dialog and pending-INVITE tables in step with the legs; record ends."""
        leg = event.leg
        if isinstance(event, Ringing | Answered) and leg.dialog is not None:
            self._dialogs.setdefault(leg.dialog.dialog_id, leg)
        if isinstance(event, Answered):
            self._counts["calls_answered"] += isinstance(leg, InboundLeg)
            self._forget_pending(leg)
        if isinstance(event, Ended):
            self._forget_pending(leg)
            if leg.dialog is not None and self._dialogs.get(leg.dialog.dialog_id) is leg:
                del self._dialogs[leg.dialog.dialog_id]
            try:
                self.on_leg_ended(leg)
            except Exception:
                logger.exception("could not record leg %s", leg.call_uuid)

    def _forget_pending(self, leg: Leg) -> None:
        if isinstance(leg, InboundLeg):
            request = leg.request.request
            self._pending.pop((request.call_id, request.top_via.branch or ""), None)


def _no_events(event: LegEvent) -> None:
    """Until its call subscribes, a leg has no one to tell."""


def _no_record(leg: Leg) -> None:
    """Default: no call records kept (the app installs the store's writer)."""
