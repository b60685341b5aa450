"""The transaction user the server installs: which request goes where (RFC 3261 §8.2).

The checks run in §8.2's order: method (§8.2.1), Request-URI scheme (§8.2.2.1), extensions
(§8.2.2.3), then dialog state (§12.2.2), and only then is a request processed.
"""

import logging
from collections.abc import Iterable
from typing import Protocol

from mediaserver.sip.dialog import new_tag
from mediaserver.sip.errors import SipParseError
from mediaserver.sip.message import Request, Response, build_response
from mediaserver.transport.peer import Peer
from mediaserver.transport.server_transactions import ServerRequest

logger = logging.getLogger(__name__)

# What this server answers; Allow lists exactly these (§20.5).
SERVED_METHODS = ("REGISTER", "OPTIONS", "INVITE", "ACK", "CANCEL", "BYE", "INFO", "UPDATE")
# Methods standardised for SIP (RFC 3261, 3262, 3265, 3311, 3428, 3515, 3903, 6086): a
# known method not served gets 405, anything else 501 (§8.2.1, §21.5.2).
KNOWN_METHODS = frozenset(
    (
        *SERVED_METHODS,
        "INVITE",
        "BYE",
        "PRACK",
        "SUBSCRIBE",
        "NOTIFY",
        "UPDATE",
        "MESSAGE",
        "REFER",
        "INFO",
        "PUBLISH",
    )
)
# No TLS transport, so a sips: target cannot be honoured end to end (§26.2.2).
SUPPORTED_SCHEMES = frozenset(("sip",))
ALLOW = ", ".join(SERVED_METHODS)
ACCEPT = "application/sdp"
# REGISTER and in-dialog requests are not dialog-creating or dialog-bound, per §12.
_DIALOG_FREE_METHODS = frozenset(("REGISTER",))


class RegisterHandler(Protocol):
    def handle_register(self, request: Request, source: Peer) -> Response: ...

    def connection_closed(self, flow: Peer) -> None: ...


class CallHandler(Protocol):
    """The calls' TU (calls/call_service.py): each method answers the request itself."""

    def handle_invite(self, incoming: ServerRequest) -> None: ...

    def cancel(self, incoming: ServerRequest) -> bool: ...

    def handle_in_dialog(self, incoming: ServerRequest) -> bool: ...

    def connection_closed(self, flow: Peer) -> None: ...


class SipService:
    """A RequestHandler: REGISTER to the registrar, INVITEs and dialogs to the calls' TU, and
    the rest answered here."""

    def __init__(self, registrar: RegisterHandler, calls: CallHandler | None = None) -> None:
        self._registrar = registrar
        self.calls = calls

    def __call__(self, incoming: ServerRequest) -> None:
        request = incoming.request
        if request.method == "ACK":
            # §17: an ACK is never answered; one for a 2xx belongs to its dialog.
            if self.calls is not None and request.to_address.tag is not None:
                self.calls.handle_in_dialog(incoming)
            return
        try:
            response = self._answer(incoming)
        except SipParseError as error:
            # A header the parser let through but this request needs is malformed (§21.4.1).
            response = _reply(request, 400, f"Bad Request - {error.reason}")
        if response is not None:
            incoming.respond(response)

    def connection_closed(self, flow: Peer) -> None:
        """A WebSocket closed: its bindings and the calls over it end (RFC 7118 §5: a
        browser is reachable through that connection alone)."""
        self._registrar.connection_closed(flow)
        if self.calls is not None:
            self.calls.connection_closed(flow)

    def _answer(self, incoming: ServerRequest) -> Response | None:
        request = incoming.request
        method = request.method
        if method not in KNOWN_METHODS:
            return _reply(request, 501, headers=[("Allow", ALLOW)])
        if request.uri.scheme not in SUPPORTED_SCHEMES:
            return _reply(request, 416)
        unsupported = _required_extensions(request)
        if unsupported and method != "CANCEL":
            return _reply(request, 420, headers=[("Unsupported", ", ".join(unsupported))])
        if method == "CANCEL":
            # §9.2: the calls' TU answers a CANCEL for a ringing INVITE (200, then 487); one
            # that matches a transaction the TU has already answered just gets its 200.
            if self.calls is not None and self.calls.cancel(incoming):
                return None
            if incoming.cancels_a_transaction:
                # §9.2: the CANCEL's 200 bears the To tag of the INVITE's response, if any.
                tag = incoming.cancelled_to_tag or new_tag()
                return build_response(request, 200, to_tag=tag)
            return _reply(request, 481)
        if request.to_address.tag is not None and method not in _DIALOG_FREE_METHODS:
            if self.calls is not None and self.calls.handle_in_dialog(incoming):
                return None
            return _reply(request, 481)
        if method == "REGISTER":
            return self._registrar.handle_register(request, incoming.source)
        if method == "OPTIONS":
            return _options_response(request)
        if method == "INVITE" and self.calls is not None:
            self.calls.handle_invite(incoming)
            return None
        if method in ("BYE", "INFO", "UPDATE"):
            return _reply(request, 481)  # §12.2.2: these only exist inside a dialog
        return _reply(request, 405, headers=[("Allow", ALLOW)])


def _required_extensions(request: Request) -> list[str]:
    """§8.2.2.3: every option-tag in Require is one this server does not support."""
    return [tag for tag in request.headers.get_all("Require") if tag.strip()]


def _options_response(request: Request) -> Response:
    """§11.2: what an INVITE would have got, here a 200 that lists our capabilities."""
    return _reply(
        request,
        200,
        headers=[("Allow", ALLOW), ("Accept", ACCEPT), ("Supported", "")],
    )


def _reply(
    request: Request,
    status_code: int,
    reason: str | None = None,
    *,
    headers: Iterable[tuple[str, str]] = (),
) -> Response:
    """§8.2.6.2: a final response tags an untagged To; §12.1.1's 32-bit randomness minimum."""
    return build_response(request, status_code, reason, to_tag=new_tag(), headers=headers)
