"""The A leg: an INVITE we received, answered as a UAS (RFC 3261 §13.3, RFC 3264).

The INVITE may carry an offer (we answer in 180/183 and 200) or none (we offer in the 200 and
the ACK brings the answer, §13.2.1). Until the 2xx, the leg can be ringing, cancelled by the
caller (487, §9.2) or refused with the final response its cause names.
"""

import logging

from mediaserver.calls.dialog_transport import IncomingRequest
from mediaserver.calls.hangup_cause import Cause, HangupSource
from mediaserver.calls.leg import SDP, Leg, warning_header
from mediaserver.calls.leg_events import Answered, LegState
from mediaserver.calls.leg_media import LegMedia, MediaRefusedError, parse_sdp
from mediaserver.calls.leg_services import LegServices
from mediaserver.sdp.session import SessionDescription
from mediaserver.sip.dialog import DialogInput, new_tag, uas_dialog
from mediaserver.sip.message import Response, build_response

logger = logging.getLogger(__name__)


class InboundLeg(Leg):
    direction = "inbound"

    def __init__(self, services: LegServices, media: LegMedia, incoming: IncomingRequest) -> None:
        """Take the INVITE: parse its offer, make the dialog our 1xx and 2xx will confirm.
        Raises SipParseError (400) or MediaRefusedError (488, §13.3.1.1: an offer we cannot
        accept is refused before anything rings)."""
        super().__init__(services, media, incoming.source)
        self._incoming = incoming
        invite = incoming.request
        self.sip_call_id = invite.call_id
        self.source_ip = incoming.source.host
        self.from_number = invite.from_address.uri.user or ""
        self.to_number = invite.uri.user or ""
        self.custom_headers = {
            name: value for name, value in invite.headers if name.lower().startswith("x-")
        }
        self.dialog = uas_dialog(invite, new_tag(), local_cseq=0)
        self._offer: SessionDescription | None = parse_sdp(invite.body) if invite.body else None
        if self._offer is not None:
            self.media.check_offer(self._offer)

    @property
    def request(self) -> IncomingRequest:
        return self._incoming

    async def prepare_media(self) -> None:
        """Open the RTP stream (before ringing, so a 488 is sent before anything rings)."""
        if self._offer is not None:
            await self.media.prepare_answer(self._offer)
        else:
            await self.media.prepare_offer()

    def ring(self) -> None:
        """180 Ringing."""
        self._provisional(early_media=False)

    def pre_answer(self) -> None:
        """183 Session Progress with our answer: media flows before the 2xx (RFC 3261
        §13.3.1.1; without an offer in the INVITE there is nothing to answer early)."""
        self._provisional(early_media=True)

    def _provisional(self, early_media: bool) -> None:
        if self.state is not LegState.CALLING and self.state is not LegState.RINGING:
            return
        self._move(LegState.RINGING)
        if early_media and self._offer is not None:
            self._respond(183, self._description())
        else:
            self._respond(180, None)

    def answer(self) -> None:
        """§13.3.1.4: the 2xx, re-sent until the ACK arrives (over UDP)."""
        if self.state is LegState.ENDED or self.state is LegState.ANSWERED:
            return
        try:
            description = self._description()
        except MediaRefusedError as error:
            self.refuse(Cause.INCOMPATIBLE_MEDIA, str(error))
            return
        invite = self._incoming.request
        refusal = self.session_timer.negotiate(invite, incoming_is_initial=True)
        if refusal is not None:
            self._incoming.respond(refusal.response(invite))
            self._end(Cause.INCOMPATIBLE_MEDIA, HangupSource.PLIVO, 422)
            return
        response = self._success(invite, description)
        self._incoming.respond(response)
        assert self.dialog is not None
        self.dialog.handle(DialogInput.SUCCESS)
        self._answered()
        self.sip_status = 200
        if not self._incoming.source.reliable:
            self._retransmit_until_ack(self._incoming, response)
        self._note_hold()
        self._arm_session_timer()
        self.events.emit(Answered(self))

    def refuse(
        self, cause: Cause, reason: str = "", source: HangupSource = HangupSource.PLIVO
    ) -> None:
        """A final non-2xx to the INVITE; the leg ends with `cause`."""
        if self.state is LegState.ENDED or self.state is LegState.ANSWERED:
            return
        status = cause.cause.sip_status
        headers = [warning_header(reason)] if reason else []
        self._incoming.respond(
            build_response(self._incoming.request, status, to_tag=self._tag(), headers=headers)
        )
        if self.dialog is not None:
            self.dialog.handle(DialogInput.FAILURE)
        self._end(cause, source, status)

    def cancelled(self) -> None:
        """§9.2: the caller's CANCEL: 487 to the INVITE."""
        self.refuse(Cause.ORIGINATOR_CANCEL, source=HangupSource.CALLER)

    def hangup(self, cause: Cause, source: HangupSource) -> None:
        if self.state is LegState.CALLING or self.state is LegState.RINGING:
            self.refuse(cause, source=source)
            return
        super().hangup(cause, source)

    def _on_bye(self, incoming: IncomingRequest) -> None:
        """§15: a caller may BYE an early dialog; the INVITE still gets its final 487."""
        if self.state is LegState.CALLING or self.state is LegState.RINGING:
            self.refuse(Cause.ORIGINATOR_CANCEL, source=HangupSource.CALLER)
            incoming.respond(build_response(incoming.request, 200))
            return
        super()._on_bye(incoming)

    def _description(self) -> SessionDescription:
        if self.media.last_sent is not None and not self.media.awaiting_answer:
            return self.media.last_sent
        if self._offer is not None:
            return self.media.answer(self._offer)
        if self.media.last_sent is not None:
            return self.media.last_sent
        return self.media.offer()

    def _respond(self, status_code: int, description: SessionDescription | None) -> None:
        headers = [("Contact", self.local_contact)]
        body = b""
        if description is not None:
            headers.append(("Content-Type", SDP))
            body = description.serialize()
        response: Response = build_response(
            self._incoming.request, status_code, to_tag=self._tag(), headers=headers, body=body
        )
        self._incoming.respond(response)

    def _tag(self) -> str:
        assert self.dialog is not None
        return self.dialog.local_tag
