"""The B leg: an INVITE we send as a UAC (RFC 3261 §13.2, RFC 3264), with our offer.

A provisional with a To tag makes an early dialog, and SDP in it is the answer (early media,
§13.2.1); the first 2xx confirms the dialog and is acknowledged, as is every retransmission
(§13.2.2.4). Cancelling waits for a provisional (§9.1); a 2xx that crosses the CANCEL is
acknowledged and ended with a BYE.
"""

import logging
import secrets

from mediaserver.calls.dialer import Caller
from mediaserver.calls.dialog_transport import OutgoingRequest
from mediaserver.calls.hangup_cause import Cause, HangupSource, cause_for_status
from mediaserver.calls.leg import SDP, SUPPORTED, Leg
from mediaserver.calls.leg_events import Answered, LegState, Ringing
from mediaserver.calls.leg_media import LegMedia, MediaRefusedError, parse_sdp
from mediaserver.calls.leg_services import LegServices
from mediaserver.calls.router import Target
from mediaserver.calls.sip_service import ALLOW
from mediaserver.sip.dialog import DialogInput, DialogState, new_tag, uac_dialog
from mediaserver.sip.headers import Headers
from mediaserver.sip.message import Request, Response

logger = logging.getLogger(__name__)


class OutboundLeg(Leg):
    direction = "outbound"

    def __init__(
        self, services: LegServices, media: LegMedia, target: Target, caller: Caller
    ) -> None:
        super().__init__(services, media, target.destination)
        self.target = target
        self.caller = caller
        self.from_number = caller.from_number
        self.to_number = target.request_uri.user or ""
        self.sip_call_id = _call_id()
        self._from_tag = new_tag()
        self._cancel_wanted = False
        self._provisional_seen = False
        self._client: OutgoingRequest | None = None

    async def start(self) -> None:
        """Send the INVITE with our offer, From the caller (our tag) To the target."""
        await self.media.prepare_offer()
        offer = self.media.offer()
        request_uri = self.target.request_uri
        headers = Headers(
            [
                ("Max-Forwards", str(self.caller.max_forwards)),
                ("From", f"{self.caller.from_address};tag={self._from_tag}"),
                ("To", f"<{request_uri}>"),
                ("Call-ID", self.sip_call_id),
                ("CSeq", "1 INVITE"),
                ("Contact", self.local_contact),
                ("Allow", ALLOW),
                ("Supported", SUPPORTED),
                ("Content-Type", SDP),
                *self.caller.extra_headers,
            ]
        )
        invite = Request("INVITE", request_uri, headers, offer.serialize())
        self._client = self._transport.send_request(invite, self.destination, self._on_response)

    def cancel(self, cause: Cause, source: HangupSource) -> None:
        """Give up on an unanswered leg: CANCEL once a provisional has come (§9.1)."""
        if self.state is LegState.ANSWERED or self.state is LegState.ENDED:
            self.hangup(cause, source)
            return
        self._cancel_wanted = True
        if self._provisional_seen and self._client is not None:
            self._client.cancel()
        self._end(cause, source)

    def hangup(self, cause: Cause, source: HangupSource) -> None:
        if self.state is LegState.CALLING or self.state is LegState.RINGING:
            self.cancel(cause, source)
            return
        super().hangup(cause, source)

    def _on_response(self, response: Response) -> None:
        code = response.status_code
        if code < 200:
            self._on_provisional(response)
        elif code < 300:
            self._on_success(response)
        elif not self.ended:
            self._end(cause_for_status(code), HangupSource.CALLEE, code)
        else:
            self.sip_status = self.sip_status or code

    def _on_provisional(self, response: Response) -> None:
        assert self._client is not None
        if not self._provisional_seen:
            self._provisional_seen = True
            if self._cancel_wanted:
                self._client.cancel()
        if response.status_code == 100 or self.state not in (LegState.CALLING, LegState.RINGING):
            return
        early = self._take_answer(response) if response.body else False
        if response.to_address.tag is not None and self.dialog is None:
            self.dialog = uac_dialog(_invite_of(self._client), response)
        self._move(LegState.RINGING)
        self.events.emit(Ringing(self, early_media=early))

    def _on_success(self, response: Response) -> None:
        invite = _invite_of(self._client)
        if self.dialog is None or self.dialog.remote_tag != response.to_address.tag:
            if self.state is LegState.ANSWERED:
                self._acknowledge_and_end_fork(invite, response)
                return
            self.dialog = uac_dialog(invite, response)
        self._acknowledge(invite, response)
        if self.state is LegState.ANSWERED or self.dialog.state is DialogState.TERMINATED:
            # A retransmitted 2xx (§13.2.2.4), even after our BYE: the ACK again is all.
            return
        if self.ended:
            # The 2xx crossed our CANCEL (§9.1 race): the session exists, so end it.
            self.dialog.handle(DialogInput.SUCCESS)
            self._send_bye()
            return
        self.dialog.handle(DialogInput.SUCCESS)
        if response.body and self.media.awaiting_answer and not self._take_answer(response):
            self._answered()
            self.hangup(Cause.INCOMPATIBLE_MEDIA, HangupSource.ERROR)
            return
        self._answered()
        self.sip_status = response.status_code
        self._note_hold()
        self.events.emit(Answered(self))

    def _take_answer(self, response: Response) -> bool:
        try:
            self.media.accept_answer(parse_sdp(response.body))
        except MediaRefusedError as error:
            logger.info("call %s: answer refused: %s", self.call_uuid, error)
            return False
        return True

    def _acknowledge_and_end_fork(self, invite: Request, response: Response) -> None:
        """§13.2.2.4: a 2xx from a second fork of a proxy gets an ACK and a BYE."""
        forked = uac_dialog(invite, response)
        ack = forked.ack_request(invite.cseq.number, self.local_contact)
        self._transport.send_ack(ack, self.destination)
        bye = forked.new_request("BYE", self.local_contact)
        self._transport.send_request(bye, self.destination, lambda response: None)


def _invite_of(client: OutgoingRequest | None) -> Request:
    """The INVITE a response answers: sent before any response can arrive."""
    assert client is not None
    return client.request


def _call_id() -> str:
    """§8.1.1.4: globally unique; 128 random bits are."""
    return secrets.token_hex(16)
