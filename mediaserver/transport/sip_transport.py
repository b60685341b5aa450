"""The one asyncio driver of the SIP stack: sockets -> parser -> transaction table -> TU, and back.

Everything protocol-shaped lives in the pure layers (mediaserver.sip); this module moves bytes,
reads the clock, and keeps ONE timer armed at the earliest deadline of any transaction or
connection (the aioquic driver pattern, see deadline_timer.py).
"""

import asyncio
import logging
from collections.abc import Callable, Coroutine, Hashable
from typing import Any

from mediaserver.clock import Clock
from mediaserver.config import WEBSOCKET_TRANSPORTS, ListenAddress
from mediaserver.sip.errors import SipParseError
from mediaserver.sip.message import Request, Response, error_response_for, parse_message
from mediaserver.sip.transaction.matching import TransactionTable
from mediaserver.sip.transaction.timers import Timers
from mediaserver.transport.channel import Channel, Connections
from mediaserver.transport.client_transactions import (
    ClientContext,
    ClientTransactions,
    ResponseHandler,
)
from mediaserver.transport.deadline_timer import DeadlineTimer
from mediaserver.transport.local_address import LocalAddress
from mediaserver.transport.peer import Peer
from mediaserver.transport.routing import with_received
from mediaserver.transport.server_transactions import (
    RequestHandler,
    ServerContext,
    ServerTransactions,
)
from mediaserver.transport.tcp import TcpConnection, TcpConnections
from mediaserver.transport.udp import UdpSocket
from mediaserver.transport.websocket import WebSocketSettings, WsConnection, WsConnections

logger = logging.getLogger(__name__)

# An idle TCP connection is closed after this long. RFC 5626 §4.4.1 has clients on
# connection-oriented transports send keep-alives every 95-120 s, and a registered client
# behind NAT can only be reached over its own connection, so a live flow must outlast that
# interval; it is also far above 64*T1, so no transaction outlives the connection it uses.
DEFAULT_TCP_IDLE_TIMEOUT = 180.0
DEFAULT_MAX_TCP_CONNECTIONS = 10_000
# RFC 3261 §18.1.1 and §20.14: 65535 bytes bounds any SIP message we accept (the UDP maximum).
DEFAULT_MAX_MESSAGE_SIZE = 65535
# CRLF keep-alives over UDP (RFC 5626 §3.5.1 uses STUN there, but many clients send CRLFs).
_UDP_KEEPALIVES = frozenset((b"\r\n", b"\r\n\r\n", b"\x00"))

# What the transport counts besides socket and transaction figures (see statistics()).
_COUNTERS = (
    "parse_errors",
    "bad_requests_answered",
    "retransmissions_absorbed",
    "stray_responses",
    "keepalives",
    "oversized",
    "handler_errors",
    "unexpected_requests",
    "internal_errors",
)


class ClientRequest:
    """The TU's handle on a request it sent: its transaction can be cancelled (INVITE)."""

    __slots__ = ("_transport", "destination", "request")

    def __init__(self, transport: "SipTransport", request: Request, destination: Peer) -> None:
        self._transport = transport
        self.request = request  # as sent, with our Via on top
        self.destination = destination

    def cancel(self) -> None:
        """§9.1: CANCEL the INVITE (the caller waits for a provisional first)."""
        self._transport.cancel(self)


class SipTransport:
    def __init__(
        self,
        handler: RequestHandler,
        clock: Clock,
        *,
        local: LocalAddress | None = None,
        timers: Timers | None = None,
        tcp_idle_timeout: float = DEFAULT_TCP_IDLE_TIMEOUT,
        max_tcp_connections: int = DEFAULT_MAX_TCP_CONNECTIONS,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        websocket: WebSocketSettings | None = None,
        on_connection_closed: Callable[[Peer], None] = lambda remote: None,
    ) -> None:
        self._clock = clock
        self._local = LocalAddress() if local is None else local
        self._timers = Timers() if timers is None else timers
        self._max_message_size = max_message_size
        self._table = TransactionTable()
        self._timer = DeadlineTimer(clock, self._expire)
        self._udp: list[UdpSocket] = []
        self._tcp = TcpConnections(
            self,
            clock,
            self._timer,
            idle_timeout=tcp_idle_timeout,
            max_connections=max_tcp_connections,
            max_message_size=max_message_size,
        )
        # on_connection_closed: a WebSocket has closed (its bindings go with it).
        self._ws = WsConnections(
            self, clock, self._timer, websocket or WebSocketSettings(), max_message_size,
            on_connection_closed,
        )  # fmt: skip
        self._connecting: set[asyncio.Task[None]] = set()
        self._counts = dict.fromkeys(_COUNTERS, 0)
        self._clients = ClientTransactions(
            self._table, self._timer, clock, self._timers, self._connections_for,
            self._channel_for, self._in_background, self._counts,
        )  # fmt: skip
        self._servers = ServerTransactions(
            handler, self._table, self._timer, clock, self._timers, self._connections_for,
            self._in_background, self._counts,
        )  # fmt: skip

    async def start(self, listen: list[ListenAddress]) -> None:
        for address in listen:
            if address.transport == "udp":
                udp = await UdpSocket.bind(self, address.host, address.port)
                self._udp.append(udp)
                self._local.bound.append(udp.local)
            elif address.transport in WEBSOCKET_TRANSPORTS:
                self._local.bound.append(await self._ws.listen(address))
            else:
                self._local.bound.append(await self._tcp.listen(address.host, address.port))
            bound = self._local.bound[-1]
            logger.info("SIP listening on %s %s", bound.transport, bound.host_port())

    @property
    def bound(self) -> list[Peer]:
        return list(self._local.bound)

    async def close(self) -> None:
        for udp in self._udp:
            await udp.close()
        for task in list(self._connecting):
            task.cancel()
        await self._tcp.close()
        await self._ws.close()
        self._timer.close()
        self._servers.close()
        self._clients.close()
        self._udp.clear()
        self._local.bound.clear()

    def statistics(self) -> dict[str, int]:
        return {
            "transactions": len(self._servers) + len(self._clients),
            "tcp_connections": len(self._tcp),
            "datagrams_in": sum(udp.datagrams_in for udp in self._udp),
            "datagrams_out": sum(udp.datagrams_out for udp in self._udp),
            "stream_messages_in": self._tcp.messages_in,
            "stream_messages_out": self._tcp.messages_out,
            "send_errors": self._tcp.send_errors
            + self._ws.send_errors
            + sum(udp.send_errors for udp in self._udp),
            "framing_errors": self._tcp.framing_errors,
            "tcp_idle_closed": self._tcp.idle_closed,
            "tcp_refused": self._tcp.refused,
            **self._ws.statistics(),
            **self._table.statistics(),
            **self._counts,
        }

    def receive(self, data: bytes, source: Peer, channel: Channel) -> None:
        """A datagram or a framed stream message arrived (the MessageSink side)."""
        try:
            self._receive(data, source, channel)
        except Exception:
            # Whatever a message triggers, the socket goes on serving everyone else.
            self._counts["internal_errors"] += 1
            logger.exception("failed on a message from %s", source.host_port())

    def _receive(self, data: bytes, source: Peer, channel: Channel) -> None:
        if not source.reliable and data in _UDP_KEEPALIVES:
            self._counts["keepalives"] += 1
            return
        if len(data) > self._max_message_size:
            self._counts["oversized"] += 1
            return
        try:
            message = parse_message(data)
            if isinstance(message, Request):
                message = with_received(message, source)
        except SipParseError as error:
            self._reject(data, error, source, channel)
            return
        if isinstance(message, Response):
            self._clients.receive_response(message)
            return
        self._servers.receive_request(message, source, channel)

    # -- client side (§17.1, §18.1) ------------------------------------------------------------

    def send_request(
        self, request: Request, destination: Peer, on_response: ResponseHandler
    ) -> ClientRequest:
        """Send `request` (built without a Via) in a new client transaction; every response,
        a timeout (408) and a transport failure (503) reach `on_response`."""
        sent = self._local.with_via(request, destination)
        self._clients.start(sent, destination, on_response)
        return ClientRequest(self, sent, destination)

    def send_ack(self, ack: Request, destination: Peer) -> None:
        """§13.2.2.4, §17.1.1.3: the ACK of a 2xx is sent by the TU, outside any transaction."""
        channel = self._channel_for(destination)
        data = self._local.with_via(ack, destination).serialize()
        if channel is not None:
            channel.send(data, destination)
            return
        self._in_background(self._send_when_connected(destination, data))

    def cancel(self, handle: ClientRequest) -> None:
        self._clients.cancel(handle.request, handle.destination)

    def sent_by_us(self, request: Request) -> bool:
        return self._local.sent_by_us(request)

    def local_peer(self, destination: Peer) -> Peer:
        return self._local.local_peer(destination)

    async def _send_when_connected(self, destination: Peer, data: bytes) -> None:
        connections = self._connections_for(destination)
        try:
            connection = await connections.connect(destination)
        except OSError as error:
            connections.send_errors += 1
            logger.info("cannot reach %s: %s", destination.host_port(), error)
            return
        connection.send(data, destination)

    def _in_background(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._connecting.add(task)
        task.add_done_callback(self._connecting.discard)

    def _connections_for(self, destination: Peer) -> Connections:
        return self._ws if destination.transport in WEBSOCKET_TRANSPORTS else self._tcp

    def _channel_for(self, destination: Peer) -> Channel | None:
        if destination.reliable:
            return self._connections_for(destination).find(destination)
        family = [u for u in self._udp if (":" in u.local.host) == (":" in destination.host)]
        return (family or self._udp)[0] if self._udp else None

    # -- what cannot reach a transaction -------------------------------------------------------

    def _reject(self, data: bytes, error: SipParseError, source: Peer, channel: Channel) -> None:
        self._counts["parse_errors"] += 1
        response = error_response_for(data, error)
        logger.debug("malformed message from %s: %s", source.host_port(), error.reason)
        if response is None:
            return
        # The Via could not be processed, so the answer goes back where the bytes came from
        # (what RFC 3581 would do) rather than to a sent-by taken from a broken message.
        self._counts["bad_requests_answered"] += 1
        channel.send(response.serialize(), source)

    def _expire(self, key: Hashable, now: float) -> None:
        if isinstance(key, TcpConnection):
            self._tcp.idle_deadline(key, now)
            return
        if isinstance(key, WsConnection):
            self._ws.idle_deadline(key, now)
            return
        if isinstance(key, ClientContext):
            self._clients.expire(key, now)
            return
        assert isinstance(key, ServerContext)
        self._servers.expire(key, now)
