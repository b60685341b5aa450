"""What dialogs need of the SIP transport (transport/sip_transport.py's SipTransport is the
real one; the calls unit tests use an in-memory peer): send requests in client transactions,
send the ACK of a 2xx, answer requests, and say which local address faces a peer."""

from collections.abc import Callable
from typing import Protocol

from mediaserver.sip.message import Request, Response
from mediaserver.transport.peer import Peer

ResponseHandler = Callable[[Response], None]


class OutgoingRequest(Protocol):
    """A request we sent; an INVITE's can be cancelled (§9.1)."""

    @property
    def request(self) -> Request: ...

    def cancel(self) -> None: ...


class IncomingRequest(Protocol):
    """A request received, answered through its server transaction."""

    @property
    def request(self) -> Request: ...

    @property
    def source(self) -> Peer: ...

    def respond(self, response: Response) -> None: ...


class DialogTransport(Protocol):
    def send_request(
        self, request: Request, destination: Peer, on_response: ResponseHandler
    ) -> OutgoingRequest: ...

    def send_ack(self, ack: Request, destination: Peer) -> None: ...

    def local_peer(self, destination: Peer) -> Peer: ...

    def sent_by_us(self, request: Request) -> bool: ...
