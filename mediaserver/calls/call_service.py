"""The calls' transaction user: new INVITEs become legs driven by scripts, in-dialog requests
find their leg.

It owns the TaskGroup every script runs in, the live legs by call_uuid, the table of dialogs
(§12: Call-ID, local tag, remote tag -> leg) and of INVITEs still unanswered (for CANCEL,
§9.2), and it decides who may call: an incoming carrier by source address, else an endpoint
by digest (407, §22.3). It can also originate a leg with no caller (the REST API's calls).
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Protocol

from mediaserver.calls.call_control import CallControl
from mediaserver.calls.deadlines import Deadlines
from mediaserver.calls.dialer import Caller, Dialer, DialOptions, DialOutcome
from mediaserver.calls.dialog_transport import DialogTransport, IncomingRequest
from mediaserver.calls.direct_dial import direct_dial
from mediaserver.calls.hangup_cause import Cause, HangupSource
from mediaserver.calls.inbound_leg import InboundLeg
from mediaserver.calls.leg import Leg, warning_header
from mediaserver.calls.leg_events import Answered, Ended, LegEvent, Ringing
from mediaserver.calls.leg_media import (
    LegMedia,
    MediaRefusedError,
    RtpLegMedia,
    capabilities_for,
)
from mediaserver.calls.leg_services import LegServices
from mediaserver.calls.outbound_leg import OutboundLeg
from mediaserver.calls.router import ApplicationRoute, Refusal, Route, Router, Target
from mediaserver.calls.scripts import Scripts
from mediaserver.calls.webrtc_media import WebRtcLegMedia
from mediaserver.clock import Clock
from mediaserver.config import WEBSOCKET_TRANSPORTS, CallsConfig
from mediaserver.media.engine import MediaEngine
from mediaserver.media.tts import TtsEngine
from mediaserver.sdp.session import SdpParseError, SessionDescription
from mediaserver.sdp.webrtc import is_webrtc
from mediaserver.sip.dialog import DialogId, dialog_id_of, new_tag
from mediaserver.sip.errors import SipParseError
from mediaserver.sip.message import Request, Response, build_response
from mediaserver.sip.transaction.timers import Timers
from mediaserver.store.endpoints import Endpoint
from mediaserver.transport.peer import Peer

logger = logging.getLogger(__name__)

PendingKey = tuple[str, str]  # (Call-ID, branch of the INVITE's top Via)
# The media of a leg whose SIP goes to this peer, given the offer that came (empty for an
# outbound leg): RTP through the engine, WebRTC on top of it for browsers, unless told.
MediaFactory = Callable[[Peer, bytes], LegMedia]
# What drives a call that arrives for no application: the caller's leg, the router's
# decision, how B legs present the caller. The direct dial unless told.
InboundScript = Callable[[CallControl, Route, Caller], Awaitable[None]]
# What drives a call the router gave to an application (the Plivo XML interpreter).
ApplicationScript = Callable[[CallControl, ApplicationRoute, Caller], Awaitable[None]]


class Authenticator(Protocol):
    def authenticate(self, request: Request, source: Peer) -> Endpoint | Response: ...


class CallService:
    def __init__(
        self,
        transport: DialogTransport,
        authenticator: Authenticator,
        router: Router,
        engine: MediaEngine,
        config: CallsConfig,
        clock: Clock,
        domain: str,
        rtp_address: str = "0.0.0.0",
        candidate_address: str = "",
        timers: Timers | None = None,
        tts: TtsEngine | None = None,
        new_media: MediaFactory | None = None,
        inbound_script: "InboundScript | None" = None,
        application_script: "ApplicationScript | None" = None,
    ) -> None:
        self._transport = transport
        self._authenticator = authenticator
        self._router = router
        self._engine = engine
        self._capabilities = capabilities_for(config)
        self._domain = domain
        self._rtp_address = rtp_address
        self._candidate_address = candidate_address
        self._new_media = new_media or self._engine_media
        self._inbound_script = inbound_script or direct_dial
        self._application_script = application_script
        self.deadlines = Deadlines(clock)
        dialer = Dialer(self._outbound_leg, self.deadlines, config.ring_timeout)
        self._services = LegServices(
            transport, self.deadlines, timers or Timers(), config, dialer, tts
        )
        self._legs: dict[str, Leg] = {}
        self._dialogs: dict[DialogId, Leg] = {}
        self._pending: dict[PendingKey, InboundLeg] = {}
        self.scripts = Scripts()
        self.on_leg_ended: Callable[[Leg], None] = _no_record
        self.on_leg_answered: Callable[[Leg], None] = _no_record
        self._counts = {"calls_started": 0, "calls_refused": 0, "calls_answered": 0}

    async def run(self, stop: asyncio.Event) -> None:
        """Serve calls until `stop`; then hang every leg up and wait for the scripts."""
        async with asyncio.TaskGroup() as tasks:
            self.scripts.tasks = tasks
            await stop.wait()
            self.scripts.tasks = None
            for leg in list(self._legs.values()):
                leg.hangup(Cause.NORMAL_CLEARING, HangupSource.PLIVO)
        self.deadlines.close()

    # -- the SIP service hands requests here ---------------------------------------------------

    def handle_invite(self, incoming: IncomingRequest) -> None:
        early = self._early_refusal(incoming)
        if early is not None:
            incoming.respond(early)
            return
        decided = self._route(incoming)
        if isinstance(decided, Response):
            incoming.respond(decided)
            return
        route, caller_name = decided
        a_leg = self._inbound_leg(incoming)
        if a_leg is None:
            return
        self._start(a_leg, route, self._caller(incoming.request, caller_name))

    def cancel(self, incoming: IncomingRequest) -> bool:
        """§9.2: the 200 for the CANCEL goes first, then the leg answers the INVITE 487."""
        request = incoming.request
        a_leg = self._pending.get((request.call_id, request.top_via.branch or ""))
        if a_leg is None:
            return False
        incoming.respond(build_response(request, 200))
        a_leg.cancelled()
        return True

    def handle_in_dialog(self, incoming: IncomingRequest) -> bool:
        dialog_id = dialog_id_of(incoming.request)
        leg = None if dialog_id is None else self._dialogs.get(dialog_id)
        if leg is None:
            return False
        leg.handle_in_dialog(incoming)
        return True

    def connection_closed(self, flow: Peer) -> None:
        """The legs whose SIP went over a WebSocket that closed: nothing reaches their peer
        any more (a browser's tab closed sends no BYE), so they end now."""
        for leg in list(self._legs.values()):
            if leg.destination == flow:
                leg.flow_closed()

    def live_legs(self) -> list[Leg]:
        return list(self._legs.values())

    def find(self, call_uuid: str) -> Leg | None:
        """A live leg by its call_uuid (what REST requests on live calls name)."""
        return self._legs.get(call_uuid)

    async def originate(self, target: Target, caller: Caller) -> OutboundLeg:
        """An outbound leg with no caller's leg (the REST API's Call create): the INVITE is
        sent when this returns; the leg's events say how it fares. No script owns it until
        one is started with it."""
        leg = self._outbound_leg(target, None, caller)
        await leg.start()
        return leg

    async def dial_out(self, route: Route, options: DialOptions) -> DialOutcome:
        """Ring `route` for nobody (the REST API's Call create, all of its targets): the
        answered leg is the caller's to take into a script; the others end themselves."""
        return await self._services.dialer.dial(None, route, options)

    def statistics(self) -> dict[str, int]:
        return {
            "calls": len(self.scripts),
            "legs": len(self._legs),
            "dialogs": len(self._dialogs),
            "pending_invites": len(self._pending),
            "leg_timers": sum(leg.timers_pending() for leg in self._legs.values()),
            "call_timers": len(self.deadlines),
            **self._counts,
        }

    # -- building calls ------------------------------------------------------------------------

    def _early_refusal(self, incoming: IncomingRequest) -> Response | None:
        request = incoming.request
        if self.scripts.tasks is None:
            return build_response(request, 503, to_tag=new_tag())
        max_forwards = request.max_forwards
        if max_forwards is not None and max_forwards <= 1:
            # §16.3 step 3: no hop left for the B leg we would send.
            return build_response(request, 483, to_tag=new_tag())
        if self._transport.sent_by_us(request):
            # §16.3 step 4, §8.2.2.2: our own INVITE came back to us.
            return build_response(request, 482, to_tag=new_tag())
        return None

    def _route(
        self, incoming: IncomingRequest
    ) -> tuple[Route | ApplicationRoute | Refusal, str] | Response:
        """Who calls (a carrier by source address, else an endpoint by digest), where the
        call goes, and the caller's name; or the response that refuses the caller."""
        request = incoming.request
        carrier = self._router.incoming_carrier(incoming.source)
        if carrier is not None:
            return self._router.route_from_carrier(request), carrier.name
        if request.from_address.uri.host.lower() != self._domain:
            # Neither a carrier's address nor one of our endpoints (they call as user@domain):
            # an unknown trunk or a scanner. Refused outright, as a proxy's ACL would (§21.4.4).
            return build_response(request, 403, "Forbidden - unknown source", to_tag=new_tag())
        verdict = self._authenticator.authenticate(request, incoming.source)
        if isinstance(verdict, Response):
            return verdict
        return self._router.route_from_endpoint(request, verdict), verdict.username

    def _inbound_leg(self, incoming: IncomingRequest) -> InboundLeg | None:
        request = incoming.request
        try:
            leg = InboundLeg(
                self._services, self._new_media(incoming.source, request.body), incoming
            )
        except SipParseError as error:
            incoming.respond(
                build_response(request, 400, f"Bad Request - {error.reason}", to_tag=new_tag())
            )
            return None
        except MediaRefusedError as error:
            incoming.respond(
                build_response(request, 488, to_tag=new_tag(), headers=[warning_header(str(error))])
            )
            return None
        return leg

    def _start(
        self, a_leg: InboundLeg, route: Route | ApplicationRoute | Refusal, caller: Caller
    ) -> None:
        request = a_leg.request.request
        self._track(a_leg)
        assert a_leg.dialog is not None
        self._dialogs[a_leg.dialog.dialog_id] = a_leg
        self._pending[(request.call_id, request.top_via.branch or "")] = a_leg
        self._counts["calls_started"] += 1
        started = self._script(a_leg, route, caller)
        if isinstance(started, Refusal):
            self._counts["calls_refused"] += 1
            a_leg.refuse(started.cause, started.reason)
            return
        name, script = started
        self.scripts.start(name, self._answer_call(a_leg, script), [a_leg])

    def _script(
        self, a_leg: InboundLeg, route: Route | ApplicationRoute | Refusal, caller: Caller
    ) -> tuple[str, Callable[[], Awaitable[None]]] | Refusal:
        """The script that drives the call, to run once the caller's media is prepared."""
        if isinstance(route, Refusal):
            return route
        a_leg.sub_account = route.sub_account
        if isinstance(route, Route):
            return "direct dial", partial(self._inbound_script, a_leg, route, caller)
        if self._application_script is None:
            # Never dialled directly instead: the owner asked for the application's behaviour.
            return Refusal(Cause.ROUTING_ERROR, "applications are not served")
        return "application", partial(self._application_script, a_leg, route, caller)

    async def _answer_call(self, a_leg: InboundLeg, script: Callable[[], Awaitable[None]]) -> None:
        try:
            # Before anything rings, so an offer we cannot carry gets its 488 first.
            await a_leg.prepare_media()
        except MediaRefusedError as error:
            a_leg.refuse(Cause.INCOMPATIBLE_MEDIA, str(error))
            return
        await script()

    def _caller(self, request: Request, caller_name: str) -> Caller:
        user = request.from_address.uri.user or caller_name
        display = request.from_address.display_name
        name = "" if display is None else f'"{display}" '
        max_forwards = (request.max_forwards or 70) - 1
        return Caller(f"{name}<sip:{user}@{self._domain}>", user, max_forwards)

    def _outbound_leg(self, target: Target, parent: Leg | None, caller: Caller) -> OutboundLeg:
        """A B leg dialled for `parent` (owned by the script that owns the parent), or an
        originated leg (parent None)."""
        leg = OutboundLeg(self._services, self._new_media(target.destination, b""), target, caller)
        if parent is not None:
            leg.parent_call_uuid = parent.call_uuid
            leg.sub_account = parent.sub_account
            owner = self.scripts.owner_of(parent)
            if owner is not None:
                owner.take(leg)
        self._track(leg)
        return leg

    def _engine_media(self, peer: Peer, offer: bytes) -> LegMedia:
        """WebRTC media when the offer is WebRTC, or (with no offer) when the peer is a
        browser: reached over a WebSocket (RFC 7118), it takes only WebRTC media."""
        address = self._rtp_address
        if address in ("0.0.0.0", "::"):
            address = self._transport.local_peer(peer).host
        if not _is_webrtc(offer, peer):
            return RtpLegMedia(self._engine, self._capabilities, address, "mediaserver")
        candidate = self._candidate_address or address
        return WebRtcLegMedia(self._engine, self._capabilities, address, candidate, "mediaserver")

    def _track(self, leg: Leg) -> None:
        self._legs[leg.call_uuid] = leg
        leg.subscribe(self._observe)

    def _observe(self, event: LegEvent) -> None:
        """Keep the leg, dialog and pending-INVITE tables in step with the legs; record ends."""
        leg = event.leg
        if isinstance(event, Ringing | Answered) and leg.dialog is not None:
            self._dialogs.setdefault(leg.dialog.dialog_id, leg)
        if isinstance(event, Answered):
            self._counts["calls_answered"] += isinstance(leg, InboundLeg)
            self._forget_pending(leg)
            self.on_leg_answered(leg)
        if isinstance(event, Ended):
            self._legs.pop(leg.call_uuid, None)
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


def _is_webrtc(offer: bytes, peer: Peer) -> bool:
    if offer:
        try:
            return is_webrtc(SessionDescription.parse(offer))
        except SdpParseError:
            pass  # the leg refuses it with its own reason
    return peer.transport in WEBSOCKET_TRANSPORTS


def _no_record(leg: Leg) -> None:
    """Default: no call records kept, no setup times measured (the app installs the store's
    writer and /metrics' histogram)."""
