"""The seams between the socket code (udp.py, tcp.py, websocket.py) and the SIP transport."""

from typing import Protocol

from mediaserver.transport.peer import Peer


class Channel(Protocol):
    """Where a message came in, and so where its answers go out (RFC 3581 §4: same socket)."""

    @property
    def local(self) -> Peer: ...

    @property
    def is_open(self) -> bool: ...

    def send(self, data: bytes, destination: Peer) -> None:
        """Queue `data` for `destination` (a stream channel has only one destination)."""
        ...


class MessageSink(Protocol):
    """Receives each datagram or each framed stream message, still unparsed."""

    def receive(self, data: bytes, source: Peer, channel: Channel) -> None: ...


class Connections(Protocol):
    """A connection-oriented transport's live connections (TCP, WebSocket), by remote address."""

    send_errors: int

    def find(self, remote: Peer) -> Channel | None:
        """The open connection to `remote`, if there is one."""
        ...

    async def connect(self, remote: Peer) -> Channel:
        """The open connection to `remote`, opened if need be; OSError when it cannot be."""
        ...
