"""A call leg: one SIP dialog (RFC 3261 §12-§15) and its media, whichever side created it.

What both sides share lives here: requests within the dialog (re-INVITE and UPDATE offers,
glare, hold, BYE, INFO DTMF, session refreshes), the ACK/2xx handshake of re-INVITEs, and
ending with a cause. inbound_leg.py adds the UAS INVITE, outbound_leg.py the UAC one.
"""

import asyncio
import logging
import random
import uuid
from collections.abc import Callable

from mediaserver.calls.hangup_cause import Cause, HangupSource
from mediaserver.calls.leg_events import (
    LEG_TRANSITIONS,
    DigitReceived,
    Ended,
    EventSink,
    HoldChanged,
    LegState,
    LegStateError,
)
from mediaserver.calls.leg_media import LegMedia, MediaRefusedError, parse_sdp
from mediaserver.calls.session_timer import SessionTimer
from mediaserver.clock import Clock
from mediaserver.sdp.offer_answer import hold_direction, resume_direction
from mediaserver.sdp.session import SessionDescription
from mediaserver.sip.dialog import Dialog, DialogInput
from mediaserver.sip.dtmf_info import DTMF_CONTENT_TYPES, DtmfInfoError, dtmf_from_info
from mediaserver.sip.headers import Headers
from mediaserver.sip.message import Request, Response, build_response
from mediaserver.sip.transaction.timers import Timers
from mediaserver.transport.endpoint import ServerRequest, SipEndpoint
from mediaserver.transport.peer import Peer

logger = logging.getLogger(__name__)

SDP = "application/sdp"
ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE"
SUPPORTED = "timer"
# §14.1: after a 491 the owner of the Call-ID retries after 2.1-4 s, the other after 0-2 s.
GLARE_RETRY_OWNER = (2.1, 4.0)
GLARE_RETRY_OTHER = (0.0, 2.0)


class Leg:
    direction = ""  # "inbound" | "outbound" (Plivo's call_direction)

    def __init__(
        self,
        endpoint: SipEndpoint,
        media: LegMedia,
        clock: Clock,
        events: EventSink,
        destination: Peer,
        timers: Timers,
    ) -> None:
        self.call_uuid = str(uuid.uuid4())
        self.parent_call_uuid: str | None = None
        self._endpoint = endpoint
        self.media = media
        self._clock = clock
        self._events = events
        self.destination = destination  # the flow in-dialog requests go to
        self._timers = timers
        self.dialog: Dialog | None = None
        self.state = LegState.CALLING
        self.states: list[LegState] = [self.state]
        self.from_number = ""
        self.to_number = ""
        self.source_ip = ""
        self.sip_call_id = ""
        self.initiation_time = clock.wall()
        self.answer_time: float | None = None
        self.end_time: float | None = None
        self.cause: Cause | None = None
        self.hangup_source: HangupSource | None = None
        self.sip_status: int | None = None
        self.session_timer = SessionTimer()
        self._timer_handles: list[asyncio.TimerHandle] = []
        self._remote_hold = False
        self._reinvite_pending: Request | None = None  # our own re-INVITE in progress
        self._wanted_hold: bool | None = None
        self._ack_received = True

    # -- what the call asks of a leg -----------------------------------------------------------

    def subscribe(self, events: EventSink) -> None:
        self._events = events

    def hangup(self, cause: Cause, source: HangupSource) -> None:
        """End the leg: BYE once answered; subclasses end an unanswered one their own way."""
        if self.state is LegState.ENDED:
            return
        if self.state is LegState.ANSWERED:
            self._send_bye()
        self._end(cause, source)

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
        local = self._endpoint.local_peer(self.destination)
        transport = ";transport=tcp" if local.transport == "tcp" else ""
        return f"<sip:mediaserver@{local.host_port()}{transport}>"

    # -- requests within the dialog (§12.2.2) --------------------------------------------------

    def handle_in_dialog(self, incoming: ServerRequest) -> None:
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

    def _handlers(self) -> dict[str, Callable[[ServerRequest], None]]:
        return {
            "ACK": self._on_ack,
            "BYE": self._on_bye,
            "INVITE": self._on_reoffer,
            "UPDATE": self._on_reoffer,
            "INFO": self._on_info,
            "OPTIONS": self._on_options,
        }

    def _on_bye(self, incoming: ServerRequest) -> None:
        if self.dialog is not None:
            self.dialog.handle(DialogInput.BYE)
        source = HangupSource.CALLER if self.direction == "inbound" else HangupSource.CALLEE
        # Ended first: the call record is committed before the 200 acknowledges the BYE.
        self._end(Cause.NORMAL_CLEARING, source)
        incoming.respond(build_response(incoming.request, 200))

    def _on_options(self, incoming: ServerRequest) -> None:
        incoming.respond(build_response(incoming.request, 200, headers=[("Allow", ALLOW)]))

    def _on_info(self, incoming: ServerRequest) -> None:
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
        self._events(DigitReceived(self, dtmf.digit, dtmf.duration_ms))

    def _on_reoffer(self, incoming: ServerRequest) -> None:
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
            incoming.respond(build_response(request, 488, headers=[_warning(str(error))]))
            return
        assert self.dialog is not None
        self.dialog.update_target(request)
        response = self._success(request, description)
        incoming.respond(response)
        if request.method == "INVITE" and not incoming.source.reliable:
            self._retransmit_until_ack(incoming, response)
        self._note_hold()
        self._arm_session_timer()

    def _on_ack(self, incoming: ServerRequest) -> None:
        self._ack_received = True
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
        self._endpoint.send_request(
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
            self._later(self._glare_delay(), self._retry_hold)
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
        self._endpoint.send_ack(ack, self.destination)

    def _send_bye(self) -> None:
        if self.dialog is None:
            return
        bye = self.dialog.new_request("BYE", self.local_contact)
        self.dialog.handle(DialogInput.BYE)
        self._endpoint.send_request(bye, self.destination, _ignore)

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

    def _retransmit_until_ack(self, incoming: ServerRequest, response: Response) -> None:
        """§13.3.1.4: over UDP the UAS TU re-sends its 2xx, T1 doubling to T2, until the ACK;
        without one after 64*T1 the dialog ends with a BYE."""
        self._ack_received = False
        interval = self._timers.t1
        elapsed = 0.0

        def resend() -> None:
            nonlocal interval, elapsed
            if self._ack_received or self.ended:
                return
            elapsed += interval
            if elapsed >= 64 * self._timers.t1:
                logger.info("call %s: no ACK for the 2xx", self.call_uuid)
                self.hangup(Cause.REQUEST_TIMEOUT, HangupSource.ERROR)
                return
            incoming.respond(response)
            interval = min(2 * interval, self._timers.t2)
            self._later(interval, resend)

        self._later(interval, resend)

    def _note_hold(self) -> None:
        on_hold = self.media.remote_on_hold
        if on_hold != self._remote_hold:
            self._remote_hold = on_hold
            self._events(HoldChanged(self, on_hold))

    def _arm_session_timer(self) -> None:
        """RFC 4028 §10: without a refresh before the interval ends, the session is over;
        when we are the refresher, a re-INVITE goes at half the interval."""
        generation = self.session_timer.refreshed()
        expires = self.session_timer.expiry_interval()
        refresh = self.session_timer.refresh_interval()

        def expire() -> None:
            if self.session_timer.generation == generation and not self.ended:
                self.hangup(Cause.REQUEST_TIMEOUT, HangupSource.PLIVO)

        def refresh_session() -> None:
            if self.session_timer.generation != generation or self.ended:
                return
            if self._reinvite_pending is None and self.media.last_sent is not None:
                sent = self.media.last_sent
                self._send_reinvite(self.media.reoffer(sent.media[0].direction(sent.direction)))
            self._arm_session_timer()

        if expires is not None:
            self._later(expires, expire)
        if refresh is not None:
            self._later(refresh, refresh_session)

    def _later(self, delay: float, callback: Callable[[], None]) -> None:
        handle = asyncio.get_running_loop().call_later(delay, callback)
        self._timer_handles = [h for h in self._timer_handles if not h.cancelled()]
        self._timer_handles.append(handle)

    def _move(self, state: LegState) -> None:
        if state not in LEG_TRANSITIONS[self.state]:
            raise LegStateError(self.state, state)
        if state is not self.state:
            self.states.append(state)
        self.state = state

    def _answered(self) -> None:
        self._move(LegState.ANSWERED)
        self.answer_time = self._clock.wall()

    def _end(self, cause: Cause, source: HangupSource, sip_status: int | None = None) -> None:
        if self.state is LegState.ENDED:
            return
        self._move(LegState.ENDED)
        self.end_time = self._clock.wall()
        self.cause, self.hangup_source = cause, source
        if sip_status is not None:
            self.sip_status = sip_status
        for handle in self._timer_handles:
            handle.cancel()
        self._timer_handles.clear()
        self.media.close()
        self._events(Ended(self))

    def timers_pending(self) -> int:
        return sum(not h.cancelled() for h in self._timer_handles)


def _warning(text: str) -> tuple[str, str]:
    """RFC 3261 §20.43: 399 is the miscellaneous warning; the text says what was wrong."""
    return ("Warning", f'399 mediaserver "{text.replace(chr(34), chr(39))[:200]}"')


def _ignore(response: Response) -> None:
    """A BYE's answer changes nothing: the leg has already ended (§15.1.1)."""
