"""Dialogs (RFC 3261 §12): the peer-to-peer relationship an INVITE creates, pure.

A dialog is identified by Call-ID, local tag and remote tag (§12). It keeps the route set and
remote target that in-dialog requests are sent by (§12.2.1.1), the local CSeq that numbers
them, and the remote CSeq that orders what the peer sends (§12.2.2). Its state is a visible
table: EARLY (a provisional with a To tag), CONFIRMED (a 2xx), TERMINATED; an input not in the
table raises DialogStateError and changes nothing.
"""

import enum
import secrets
from dataclasses import dataclass, field

from mediaserver.sip.errors import SipParseError
from mediaserver.sip.headers import Headers, NameAddress
from mediaserver.sip.message import Request, Response
from mediaserver.sip.uri import SipUri

DialogId = tuple[str, str, str]  # (Call-ID, local tag, remote tag)


class DialogState(enum.Enum):
    EARLY = "early"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


class DialogInput(enum.Enum):
    PROVISIONAL = enum.auto()  # 101-199 with a To tag
    SUCCESS = enum.auto()  # 2xx to the INVITE
    FAILURE = enum.auto()  # non-2xx final to the INVITE (§12.3: ends an early dialog)
    BYE = enum.auto()  # sent or received
    TIMEOUT = enum.auto()  # 408/481 to an in-dialog request (§12.2.1.2), no ACK (§13.3.1.4)


_TRANSITIONS: dict[tuple[DialogState, DialogInput], DialogState] = {
    (DialogState.EARLY, DialogInput.PROVISIONAL): DialogState.EARLY,
    (DialogState.EARLY, DialogInput.SUCCESS): DialogState.CONFIRMED,
    (DialogState.EARLY, DialogInput.FAILURE): DialogState.TERMINATED,
    (DialogState.EARLY, DialogInput.BYE): DialogState.TERMINATED,
    (DialogState.EARLY, DialogInput.TIMEOUT): DialogState.TERMINATED,
    # A 2xx retransmission, or a late 1xx, leaves a confirmed dialog as it is (§13.2.2.4).
    (DialogState.CONFIRMED, DialogInput.SUCCESS): DialogState.CONFIRMED,
    (DialogState.CONFIRMED, DialogInput.PROVISIONAL): DialogState.CONFIRMED,
    (DialogState.CONFIRMED, DialogInput.BYE): DialogState.TERMINATED,
    (DialogState.CONFIRMED, DialogInput.TIMEOUT): DialogState.TERMINATED,
    (DialogState.TERMINATED, DialogInput.BYE): DialogState.TERMINATED,
    (DialogState.TERMINATED, DialogInput.TIMEOUT): DialogState.TERMINATED,
}


class DialogStateError(RuntimeError):
    def __init__(self, state: DialogState, event: DialogInput) -> None:
        super().__init__(f"dialog in {state.value} has no transition for {event.name}")


def new_tag() -> str:
    """§19.3: at least 32 bits of randomness."""
    return secrets.token_hex(8)


@dataclass(slots=True)
class Dialog:
    call_id: str
    local_tag: str
    remote_tag: str
    local_address: NameAddress  # our From (UAC) or To (UAS), without the tag
    remote_address: NameAddress
    remote_target: SipUri  # the peer's Contact (§12.1.1, §12.1.2)
    route_set: tuple[str, ...]  # Record-Route values, in the order requests use them
    local_cseq: int
    remote_cseq: int | None
    state: DialogState = DialogState.EARLY
    transitions: list[DialogState] = field(default_factory=list)

    @property
    def dialog_id(self) -> DialogId:
        return (self.call_id, self.local_tag, self.remote_tag)

    def handle(self, event: DialogInput) -> DialogState:
        """Move by the table; raises DialogStateError for a pair the table lacks."""
        next_state = _TRANSITIONS.get((self.state, event))
        if next_state is None:
            raise DialogStateError(self.state, event)
        if next_state is not self.state:
            self.transitions.append(next_state)
        self.state = next_state
        return next_state

    def accepts_remote_cseq(self, request: Request) -> bool:
        """§12.2.2: a request whose CSeq is lower than the last one is out of order (500).
        An ACK or CANCEL reuses its INVITE's number and is never out of order."""
        number = request.cseq.number
        if request.method in ("ACK", "CANCEL"):
            return True
        if self.remote_cseq is not None and number <= self.remote_cseq:
            return False
        self.remote_cseq = number
        return True

    def update_target(self, message: Request | Response) -> None:
        """§12.2.1.2, §12.2.2: a target refresh (re-INVITE, UPDATE, their 2xx) moves the
        remote target to its Contact."""
        contacts = message.contacts
        if contacts:
            self.remote_target = contacts[0].uri

    def new_request(
        self, method: str, contact: str, *, headers: Headers | None = None, body: bytes = b""
    ) -> Request:
        """§12.2.1.1: a request within the dialog, without its Via (the transport adds it).
        An ACK for a 2xx takes the INVITE's CSeq number: use `ack_request` for it."""
        self.local_cseq += 1
        return self._request(method, self.local_cseq, contact, headers, body)

    def ack_request(self, invite_cseq: int, contact: str, body: bytes = b"") -> Request:
        """§13.2.2.4: the ACK of a 2xx, with the INVITE's CSeq number and method ACK."""
        headers = Headers([("Content-Type", "application/sdp")]) if body else None
        return self._request("ACK", invite_cseq, contact, headers, body)

    def _request(
        self, method: str, cseq: int, contact: str, headers: Headers | None, body: bytes
    ) -> Request:
        uri, routes = self._request_uri_and_routes()
        items = [("Route", route) for route in routes]
        items += [
            ("Max-Forwards", "70"),
            ("From", str(self.local_address.with_parameter("tag", self.local_tag))),
            ("To", str(self.remote_address.with_parameter("tag", self.remote_tag))),
            ("Call-ID", self.call_id),
            ("CSeq", f"{cseq} {method}"),
            ("Contact", contact),
        ]
        items += list(headers or ())
        return Request(method, uri, Headers(items), body)

    def _request_uri_and_routes(self) -> tuple[SipUri, tuple[str, ...]]:
        """§12.2.1.1: loose routing (lr) keeps the target as Request-URI; a strict first hop
        becomes the Request-URI and the target goes last in the Route set."""
        if not self.route_set:
            return self.remote_target, ()
        first = NameAddress.parse(self.route_set[0])
        if first.uri.has_parameter("lr"):
            return self.remote_target, self.route_set
        return first.uri, (*self.route_set[1:], f"<{self.remote_target}>")


def uas_dialog(invite: Request, local_tag: str, local_cseq: int) -> Dialog:
    """§12.1.1: the dialog a UAS creates when it answers `invite` with a 101-299."""
    contact = _required_contact(invite)
    remote = invite.from_address
    if remote.tag is None:
        raise SipParseError("From has no tag")
    return Dialog(
        call_id=invite.call_id,
        local_tag=local_tag,
        remote_tag=remote.tag,
        local_address=_untagged(invite.to_address),
        remote_address=_untagged(remote),
        remote_target=contact,
        route_set=tuple(invite.headers.get_all("Record-Route")),
        local_cseq=local_cseq,
        remote_cseq=invite.cseq.number,
    )


def uac_dialog(invite: Request, response: Response) -> Dialog:
    """§12.1.2: the dialog a 101-299 with a To tag creates for the UAC; the route set is the
    Record-Route in reverse."""
    remote = response.to_address
    local = invite.from_address
    if remote.tag is None or local.tag is None:
        raise SipParseError("a dialog needs tags on both From and To")
    contacts = response.contacts
    target = contacts[0].uri if contacts else invite.uri
    return Dialog(
        call_id=invite.call_id,
        local_tag=local.tag,
        remote_tag=remote.tag,
        local_address=_untagged(local),
        remote_address=_untagged(remote),
        remote_target=target,
        route_set=tuple(reversed(response.headers.get_all("Record-Route"))),
        local_cseq=invite.cseq.number,
        remote_cseq=None,
    )


def dialog_id_of(request: Request) -> DialogId | None:
    """The id a request names as seen by its receiver (§12.2.2): None when it has no To tag."""
    remote_tag = request.from_address.tag
    local_tag = request.to_address.tag
    if local_tag is None or remote_tag is None:
        return None
    return (request.call_id, local_tag, remote_tag)


def _required_contact(request: Request) -> SipUri:
    contacts = request.contacts
    if len(contacts) != 1:
        # §12.1.1: the Contact of a dialog-creating request holds exactly one SIP URI.
        raise SipParseError("a dialog-creating request needs exactly one Contact")
    return contacts[0].uri


def _untagged(address: NameAddress) -> NameAddress:
    return NameAddress(
        address.uri,
        address.display_name,
        tuple((k, v) for k, v in address.parameters if k.lower() != "tag"),
    )
