"""A call leg: one SIP dialog (RFC 3261 §12-§15) and its media, whichever side created it.

What both sides share lives here: requests within the dialog (re-INVITE and UPDATE offers,
glare, hold, BYE, INFO DTMF, session refreshes), the ACK/2xx handshake of re-INVITEs, the
leg's own limits (maximum duration, media inactivity) and ending with a cause.
inbound_leg.py adds the UAS INVITE, outbound_leg.py the UAC one; leg_control.py adds what
scripts drive (CallControl). Every timer is a named deadline on the injected clock.
"""

import logging
import random
import uuid
from collections.abc import Callable

from mediaserver.calls.bridge import Bridge
from mediaserver.calls.deadlines import NamedTimers
from mediaserver.calls.dialog_transport import IncomingRequest
from mediaserver.calls.hangup_cause import Cause, HangupSource
from mediaserver.calls.leg_controls import MediaControls
from mediaserver.calls.leg_events import (
    LEG_TRANSITIONS,
    DigitReceived,
    DigitSource,
    Ended,
    EventSink,
    EventStream,
    HoldChanged,
    LegState,
    LegStateError,
    Subscription,
)
from mediaserver.calls.leg_media import LegMedia, MediaRefusedError, parse_sdp
from mediaserver.calls.leg_services import LegServices
from mediaserver.calls.session_timer import SessionTimer
from mediaserver.calls.sip_service import ALLOW
from mediaserver.sdp.offer_answer import hold_direction, resume_direction
from mediaserver.sdp.session import SessionDescription
from mediaserver.sip.dialog import Dialog, DialogInput
from mediaserver.sip.dtmf_info import DTMF_CONTENT_TYPES, DtmfInfoError, dtmf_from_info
from mediaserver.sip.headers import Headers
from mediaserver.sip.message import Request, Response, build_response
from mediaserver.transport.peer import Peer

logger = logging.getLogger(__name__)

SDP = "application/sdp"
SUPPORTED = "timer"
# §14.1: after a 491 the owner of the Call-ID retries after 2.1-4 s, the other after 0-2 s.
GLARE_RETRY_OWNER = (2.1, 4.0)
GLARE_RETRY_OTHER = (0.0, 2.0)
# How often an answered leg looks at its RTP counter for inactivity (cause 6020).
MEDIA_CHECK_INTERVAL = 1.0


class Leg(MediaControls):
    direction = ""  # "inbound" | "outbound" (Plivo's call_direction)

    def __init__(self, services: LegServices, media: LegMedia, destination: Peer) -> None:
        self.call_uuid = str(uuid.uuid4())
        self.parent_call_uuid: str | None = None
        # The account the call belongs to (None: the main one): the sub-account whose number,
        # endpoint or credentials started it; a B leg has its A leg's.
        self.sub_account: str | None = None
        self._services = services
        self._transport = services.sip
        self.media = media
        self._clock = services.deadlines.clock
        self._timer = NamedTimers(services.deadlines)
        self.events = EventStream()
        self.destination = destination  # the flow in-dialog requests go to
        self.dialog: Dialog | None = None
        self.state = LegState.CALLING
        self.states: list[LegState] = [self.state]
        self.from_number = ""
        self.to_number = ""
        self.source_ip = ""
        self.sip_call_id = ""
        self.initiation_time = self._clock.wall()
        self.answer_time: float | None = None
        self.end_time: float | None = None
        self.cause: Cause | None = None
        self.hangup_source: HangupSource | None = None
        self.sip_status: int | None = None
        self.session_timer = SessionTimer(services.limits.min_session_expires)
        self.custom_headers: dict[str, str] = {}  # X- headers of the INVITE (Plivo's X-PH-)
        self._remote_hold = False
        self._reinvite_pending: Request | None = None  # our own re-INVITE in progress
        self._wanted_hold: bool | None = None
        self._unacknowledged: _Unacknowledged | None = None  # our 2xx awaiting its ACK
        self._media_seen = (-1, 0.0)  # (packets received, when that count was last new)
        self._bridge: Bridge | None = None

    # -- what scripts ask of a leg -------------------------------------------------------------

    def subscribe(self, sink: EventSink) -> Subscription:
        return self.events.subscribe(sink)

    def ring(self) -> None:
        """180 Ringing on an inbound leg; an outbound leg rings at the far end by itself."""

    def pre_answer(self) -> None:
        """183 with our SDP (early media) on an inbound leg; nothing on an outbound one."""

    def answer(self) -> None:
        """The 2xx on an inbound leg; an outbound leg is answered by its callee."""

    def hangup(self, cause: Cause, source: HangupSource) -> None:
        """End the leg: BYE once answered; subclasses end an unanswered one their own way."""
        if self.state is LegState.ENDED:
            return
        if self.state is LegState.ANSWERED:
            self._send_bye()
        self._end(cause, source)

    def flow_closed(self) -> None:
        """The connection the peer's SIP came over closed (a browser's WebSocket): no BYE
        or final response can reach it (RFC 7118 §5), so the leg just ends."""
        source = HangupSource.CALLER if self.direction == "inbound" else HangupSource.CALLEE
        self._end(Cause.NORMAL_CLEARING, source)

    def hold(self, on_hold: bool) -> None:
        """Relay a hold (or resume) from the other leg with a re-INVITE (RFC 3264 §8.4)."""
        self._wanted_hold = on_hold
        if self.state is not LegState.ANSWERED or self.media.last_sent is None:
            return
        if self._reinvite_pending is not None or self.media.awaiting_answer:
            return
        current = self.media.last_sent.media[0].direction(self.media.last_sent.direction)
        direction = hold_direction(current) if on_hold else resume_direction(current)
        self._send_reinvite(self.media.reoffer(direction))

    @property
    def ended(self) -> bool:
        return self.state is LegState.ENDED

    @property
    def local_contact(self) -> str:
        local = self._transport.local_peer(self.destination)
        # RFC 7118 §5.2: a WebSocket peer reaches us back with transport=ws (wss alike).
        transport = _CONTACT_TRANSPORT.get(local.transport, "")
        return f"<sip:mediaserver@{local.host_port()}{transport}>"

    # -- requests within the dialog (§12.2.2) --------------------------------------------------

    def handle_in_dialog(self, incoming: IncomingRequest) -> None:
        request = incoming.request
        assert self.dialog is not None
        if not self.dialog.accepts_remote_cseq(request):
            incoming.respond(
                build_response(request, 500, "Server Internal Error - CSeq out of order")
            )
            return
        handler = self._handlers().get(request.method)
        if handler is None:
            incoming.respond(build_response(request, 501, headers=[("Allow", ALLOW)]))
            return
        handler(incoming)

    def _handlers(self) -> dict[str, Callable[[IncomingRequest], None]]:
        return {
            "ACK": self._on_ack,
            "BYE": self._on_bye,
            "INVITE": self._on_reoffer,
            "UPDATE": self._on_reoffer,
            "INFO": self._on_info,
            "OPTIONS": self._on_options,
        }

    def _on_bye(self, incoming: IncomingRequest) -> None:
        if self.dialog is not None:
            self.dialog.handle(DialogInput.BYE)
        source = HangupSource.CALLER if self.direction == "inbound" else HangupSource.CALLEE
        # Ended first: the call record is committed before the 200 acknowledges the BYE.
        self._end(Cause.NORMAL_CLEARING, source)
        incoming.respond(build_response(incoming.request, 200))

    def _on_options(self, incoming: IncomingRequest) -> None:
        incoming.respond(build_response(incoming.request, 200, headers=[("Allow", ALLOW)]))

    def _on_info(self, incoming: IncomingRequest) -> None:
        request = incoming.request
        content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if not request.body:
            incoming.respond(build_response(request, 200))  # RFC 6086 §4.2.2: a keep-alive
            return
        if content_type not in DTMF_CONTENT_TYPES:
            accept = ", ".join(sorted(DTMF_CONTENT_TYPES))
            incoming.respond(build_response(request, 415, headers=[("Accept", accept)]))
            return
        try:
            dtmf = dtmf_from_info(content_type, request.body)
        except DtmfInfoError as error:
            incoming.respond(build_response(request, 400, f"Bad Request - {error}"))
            return
        incoming.respond(build_response(request, 200))
        self.events.emit(DigitReceived(self, dtmf.digit, DigitSource.SIP_INFO, dtmf.duration_ms))

    def _on_reoffer(self, incoming: IncomingRequest) -> None:
        """§14.2 re-INVITE, RFC 3311 UPDATE: a new offer, or (re-INVITE) a request for one."""
        request = incoming.request
        if self._reinvite_pending is not None or self.media.awaiting_answer:
            # §14.2: an offer crossed ours (glare); the peer retries later.
            incoming.respond(build_response(request, 491))
            return
        refusal = self.session_timer.negotiate(request, incoming_is_initial=False)
        if refusal is not None:
            incoming.respond(refusal.response(request))
            return
        try:
            if request.body:
                description: SessionDescription | None = self.media.answer(parse_sdp(request.body))
            elif request.method == "INVITE":
                # §14.2: an offerless re-INVITE gets a full offer; the ACK brings the answer.
                description = self.media.offer()
            else:
                description = None  # an UPDATE without SDP only refreshes the session
        except MediaRefusedError as error:
            incoming.respond(build_response(request, 488, headers=[warning_header(str(error))]))
            return
        assert self.dialog is not None
        self.dialog.update_target(request)
        response = self._success(request, description)
        incoming.respond(response)
        if request.method == "INVITE" and not incoming.source.reliable:
            self._retransmit_until_ack(incoming, response)
        self._note_hold()
        self._arm_session_timer()

    def _on_ack(self, incoming: IncomingRequest) -> None:
        self._unacknowledged = None
        self._timer.cancel("2xx_retransmit")
        self._timer.cancel("ack_timeout")
        if incoming.request.body and self.media.awaiting_answer:
            try:
                self.media.accept_answer(parse_sdp(incoming.request.body))
            except MediaRefusedError as error:
                # §13.3.1.4: an unusable answer in the ACK ends the session with a BYE.
                logger.info("call %s: answer in ACK refused: %s", self.call_uuid, error)
                self.hangup(Cause.INCOMPATIBLE_MEDIA, HangupSource.ERROR)
                return
            self._note_hold()

    # -- our own requests within the dialog ----------------------------------------------------

    def _send_reinvite(self, offer: SessionDescription) -> None:
        assert self.dialog is not None
        headers = Headers([("Content-Type", SDP), ("Allow", ALLOW), ("Supported", SUPPORTED)])
        request = self.dialog.new_request(
            "INVITE", self.local_contact, headers=headers, body=offer.serialize()
        )
        self._reinvite_pending = request
        self._transport.send_request(
            request,
            self.destination,
            lambda response: self._on_reinvite_response(request, response),
        )

    def _on_reinvite_response(self, request: Request, response: Response) -> None:
        code = response.status_code
        if code < 200:
            return
        if code < 300:
            # RFC 6026 §7.2: every 2xx, retransmissions included, gets its ACK.
            self._acknowledge(request, response)
        if self._reinvite_pending is not request or self.ended:
            return
        self._reinvite_pending = None
        if code < 300:
            self._take_reinvite_answer(response)
            return
        self.media.abandon_offer()
        if code == 491:
            self._timer.after("glare_retry", self._glare_delay(), self._retry_hold)
        elif code in (408, 481):
            # §12.2.1.2: the dialog is gone.
            self.hangup(Cause.REQUEST_TIMEOUT, HangupSource.ERROR)

    def _take_reinvite_answer(self, response: Response) -> None:
        assert self.dialog is not None
        self.dialog.update_target(response)
        if not response.body:
            self.media.abandon_offer()
            return
        try:
            self.media.accept_answer(parse_sdp(response.body))
        except MediaRefusedError as error:
            logger.info("call %s: re-INVITE answer refused: %s", self.call_uuid, error)
            self.hangup(Cause.INCOMPATIBLE_MEDIA, HangupSource.ERROR)

    def _retry_hold(self) -> None:
        """After glare (§14.1), offer again what the other leg's hold state asks for."""
        if self._wanted_hold is not None:
            self.hold(self._wanted_hold)

    def _glare_delay(self) -> float:
        owner = self.direction == "outbound"  # we chose the Call-ID of an outbound leg
        low, high = GLARE_RETRY_OWNER if owner else GLARE_RETRY_OTHER
        return random.uniform(low, high)

    def _acknowledge(self, invite: Request, response: Response, body: bytes = b"") -> None:
        assert self.dialog is not None
        ack = self.dialog.ack_request(invite.cseq.number, self.local_contact, body)
        self._transport.send_ack(ack, self.destination)

    def _send_bye(self) -> None:
        if self.dialog is None:
            return
        bye = self.dialog.new_request("BYE", self.local_contact)
        self.dialog.handle(DialogInput.BYE)
        self._transport.send_request(bye, self.destination, _ignore)

    # -- shared machinery ----------------------------------------------------------------------

    def _success(self, request: Request, description: SessionDescription | None) -> Response:
        """A 2xx within or creating the dialog: Contact, Allow, and the SDP if any."""
        assert self.dialog is not None
        headers = [("Contact", self.local_contact), ("Allow", ALLOW), ("Supported", SUPPORTED)]
        headers += self.session_timer.response_headers()
        body = b""
        if description is not None:
            body = description.serialize()
            headers.append(("Content-Type", SDP))
        return build_response(
            request, 200, to_tag=self.dialog.local_tag, headers=headers, body=body
        )

    def _retransmit_until_ack(self, incoming: IncomingRequest, response: Response) -> None:
        """§13.3.1.4: over UDP the UAS TU re-sends its 2xx, T1 doubling to T2, until the ACK;
        without one 64*T1 after the first, the dialog ends with a BYE."""
        t1 = self._services.sip_timers.t1
        self._unacknowledged = _Unacknowledged(incoming, response, t1)
        self._timer.after("2xx_retransmit", t1, self._resend_2xx)
        self._timer.after("ack_timeout", 64 * t1, self._no_ack)

    def _resend_2xx(self) -> None:
        pending = self._unacknowledged
        if pending is None or self.ended:
            return
        pending.incoming.respond(pending.response)
        pending.interval = min(2 * pending.interval, self._services.sip_timers.t2)
        self._timer.after("2xx_retransmit", pending.interval, self._resend_2xx)

    def _no_ack(self) -> None:
        logger.info("call %s: no ACK for the 2xx", self.call_uuid)
        self.hangup(Cause.REQUEST_TIMEOUT, HangupSource.ERROR)

    def _note_hold(self) -> None:
        on_hold = self.media.remote_on_hold
        if on_hold != self._remote_hold:
            self._remote_hold = on_hold
            self.events.emit(HoldChanged(self, on_hold))

    def _arm_session_timer(self) -> None:
        """RFC 4028 §10: without a refresh before the interval ends, the session is over;
        when we are the refresher, a re-INVITE goes at half the interval. Each refresh
        moves both deadlines."""
        expires = self.session_timer.expiry_interval()
        refresh = self.session_timer.refresh_interval()
        self._timer.cancel("session_expiry")
        self._timer.cancel("session_refresh")
        if expires is not None:
            self._timer.after("session_expiry", expires, self._session_expired)
        if refresh is not None:
            self._timer.after("session_refresh", refresh, self._refresh_session)

    def _session_expired(self) -> None:
        self.hangup(Cause.REQUEST_TIMEOUT, HangupSource.PLIVO)

    def _refresh_session(self) -> None:
        if self.ended:
            return
        if self._reinvite_pending is None and self.media.last_sent is not None:
            sent = self.media.last_sent
            self._send_reinvite(self.media.reoffer(sent.media[0].direction(sent.direction)))
        self._arm_session_timer()

    # -- the leg's own limits ------------------------------------------------------------------

    def _arm_limits(self) -> None:
        """From the answer: the maximum duration (cause 6000) and RTP inactivity (6020)."""
        limits = self._services.limits
        self._timer.after("max_duration", limits.max_duration, self._duration_reached)
        self._media_seen = (self.media.packets_received(), self._clock.now())
        self._timer.after("media_check", MEDIA_CHECK_INTERVAL, self._check_media)

    def _duration_reached(self) -> None:
        self.hangup(Cause.SCHEDULED_HANGUP, HangupSource.PLIVO)

    def _check_media(self) -> None:
        """No RTP for calls.media_timeout ends the leg; while on hold (either way) silence is
        expected, so it does not count."""
        if self.ended:
            return
        now, count = self._clock.now(), self.media.packets_received()
        on_hold = self.media.remote_on_hold or self.media.local_hold
        if self.media.connectivity_lost():
            # RFC 7675 §5.1: a WebRTC peer that stopped consenting has gone (a closed tab
            # sends no BYE); waiting for the media timeout would only prolong the call.
            self.hangup(Cause.MEDIA_TIMEOUT, HangupSource.PLIVO)
            return
        if count != self._media_seen[0] or on_hold:
            self._media_seen = (count, now)
        elif now - self._media_seen[1] >= self._services.limits.media_timeout:
            self.hangup(Cause.MEDIA_TIMEOUT, HangupSource.PLIVO)
            return
        self._timer.after("media_check", MEDIA_CHECK_INTERVAL, self._check_media)

    def _move(self, state: LegState) -> None:
        if state not in LEG_TRANSITIONS[self.state]:
            raise LegStateError(self.state, state)
        if state is not self.state:
            self.states.append(state)
        self.state = state

    def _answered(self) -> None:
        self._move(LegState.ANSWERED)
        self.answer_time = self._clock.wall()
        self._arm_limits()

    def _end(self, cause: Cause, source: HangupSource, sip_status: int | None = None) -> None:
        if self.state is LegState.ENDED:
            return
        self._move(LegState.ENDED)
        self.end_time = self._clock.wall()
        self.cause, self.hangup_source = cause, source
        if sip_status is not None:
            self.sip_status = sip_status
        self._timer.cancel_all()
        self.media.close()
        self.events.emit(Ended(self))

    def timers_pending(self) -> int:
        return len(self._timer)


class _Unacknowledged:
    """A 2xx we sent over UDP and re-send until its ACK (§13.3.1.4)."""

    __slots__ = ("incoming", "interval", "response")

    def __init__(self, incoming: IncomingRequest, response: Response, interval: float) -> None:
        self.incoming = incoming
        self.response = response
        self.interval = interval


_CONTACT_TRANSPORT = {"tcp": ";transport=tcp", "ws": ";transport=ws", "wss": ";transport=ws"}


def warning_header(text: str) -> tuple[str, str]:
    """RFC 3261 §20.43: 399 is the miscellaneous warning; the text says what was wrong."""
    return ("Warning", f'399 mediaserver "{text.replace(chr(34), chr(39))[:200]}"')


def _ignore(response: Response) -> None:
    """A BYE's answer changes nothing: the leg has already ended (§15.1.1)."""
