"""SIP over TCP (RFC 3261 §18.3): framed streams, one connection map, idle connections closed.

Connections are kept in a map keyed by the remote address so that a response whose connection
has gone, or a later request to the same peer, reuses an open one (§18.2.2, RFC 5923 §1).
"""

import asyncio
import logging
import socket
from typing import cast

from mediaserver.clock import Clock
from mediaserver.sip.errors import SipParseError
from mediaserver.sip.framing import KEEPALIVE_PING, StreamFramer
from mediaserver.transport import trace
from mediaserver.transport.channel import MessageSink
from mediaserver.transport.deadline_timer import DeadlineTimer
from mediaserver.transport.peer import Peer

logger = logging.getLogger(__name__)

# RFC 5626 §3.5.1: the answer to a double-CRLF ping is a single CRLF.
KEEPALIVE_PONG = b"\r\n"
# A peer that stops reading while we keep writing is cut off once this much is queued for it.
MAX_WRITE_BUFFER = 1024 * 1024


class TcpConnection(asyncio.Protocol):
    def __init__(self, pool: "TcpConnections") -> None:
        self._pool = pool
        self._framer = StreamFramer(pool.max_message_size)
        self._transport: asyncio.Transport | None = None
        self.local = Peer("tcp", "", 0)
        self.remote = Peer("tcp", "", 0)
        self.last_activity = pool.clock.now()

    @property
    def is_open(self) -> bool:
        return self._transport is not None and not self._transport.is_closing()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        local = transport.get_extra_info("sockname")
        remote = transport.get_extra_info("peername")
        self.local = Peer("tcp", local[0], local[1])
        self.remote = Peer("tcp", remote[0], remote[1])
        self._pool.opened(self)

    def data_received(self, data: bytes) -> None:
        self.last_activity = self._pool.clock.now()
        try:
            messages = self._framer.feed(data)
        except SipParseError as error:
            # §18.3: without a trustworthy Content-Length the stream cannot be resynchronised.
            self._pool.framing_failed(self, error)
            return
        for message in messages:
            if message == KEEPALIVE_PING:
                self._write(KEEPALIVE_PONG)
            elif self.is_open:
                self._pool.messages_in += 1
                trace.received(message, self.remote)
                self._pool.sink.receive(message, self.remote, self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._pool.closed(self)

    def send(self, data: bytes, destination: Peer) -> None:
        self.last_activity = self._pool.clock.now()
        self._write(data)
        self._pool.messages_out += 1
        trace.sent(data, self.remote)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def _write(self, data: bytes) -> None:
        if self._transport is None or self._transport.is_closing():
            self._pool.send_errors += 1
            return
        self._transport.write(data)
        if self._transport.get_write_buffer_size() > MAX_WRITE_BUFFER:
            logger.warning("closing %s: it does not read", self.remote.host_port())
            self._transport.abort()


class TcpConnections:
    """The listening sockets and the map of live connections, keyed by remote address."""

    def __init__(
        self,
        sink: MessageSink,
        clock: Clock,
        timer: DeadlineTimer,
        *,
        idle_timeout: float,
        max_connections: int,
        max_message_size: int,
    ) -> None:
        self.sink = sink
        self.clock = clock
        self.idle_timeout = idle_timeout
        self.max_connections = max_connections
        self.max_message_size = max_message_size
        self._servers: list[asyncio.Server] = []
        self._connections: dict[Peer, TcpConnection] = {}
        self._idle_timer = timer
        self.messages_in = 0
        self.messages_out = 0
        self.send_errors = 0
        self.framing_errors = 0
        self.idle_closed = 0
        self.refused = 0

    async def listen(self, host: str, port: int) -> Peer:
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        server = await loop.create_server(
            lambda: TcpConnection(self), host, port, family=family, reuse_address=True
        )
        self._servers.append(server)
        sockname = server.sockets[0].getsockname()
        return Peer("tcp", sockname[0], sockname[1])

    async def connect(self, remote: Peer) -> TcpConnection:
        """The open connection to `remote`, opening one if there is none (§18.2.2)."""
        existing = self.find(remote)
        if existing is not None:
            return existing
        loop = asyncio.get_running_loop()
        _, connection = await loop.create_connection(
            lambda: TcpConnection(self), remote.host, remote.port
        )
        return connection

    def find(self, remote: Peer) -> TcpConnection | None:
        connection = self._connections.get(remote)
        return connection if connection is not None and connection.is_open else None

    def __len__(self) -> int:
        return len(self._connections)

    def opened(self, connection: TcpConnection) -> None:
        if len(self._connections) >= self.max_connections:
            self.refused += 1
            logger.warning("refusing %s: %d connections open", connection.remote, len(self))
            connection.close()
            return
        self._connections[connection.remote] = connection
        self._idle_timer.set(connection, connection.last_activity + self.idle_timeout)

    def closed(self, connection: TcpConnection) -> None:
        if self._connections.get(connection.remote) is connection:
            del self._connections[connection.remote]
        self._idle_timer.set(connection, None)

    def framing_failed(self, connection: TcpConnection, error: SipParseError) -> None:
        self.framing_errors += 1
        logger.info("closing %s: %s", connection.remote.host_port(), error.reason)
        connection.close()

    async def close(self) -> None:
        for server in self._servers:
            server.close()
        for connection in list(self._connections.values()):
            connection.close()
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()

    def idle_deadline(self, connection: TcpConnection, now: float) -> None:
        """The shared timer reached this connection's idle deadline: close it, or look again."""
        idle_until = connection.last_activity + self.idle_timeout
        if idle_until > now:
            self._idle_timer.set(connection, idle_until)
            return
        self.idle_closed += 1
        logger.debug("closing idle connection %s", connection.remote.host_port())
        connection.close()
