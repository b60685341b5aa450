"""SIP over WebSocket (RFC 7118): the listeners browsers connect to, and their connections.

aiohttp does the HTTP upgrade, the framing, TLS (wss) and the ping/pong. Each WebSocket
message is exactly one SIP message (RFC 7118 §5), so there is no stream framing to recover:
a malformed message is answered with a 400 by the SIP transport and the connection goes on.
A WebSocket is opened by the client only (RFC 6455 §4), so a request for a browser can only
travel over the connection it registered on, and its bindings die with that connection.
"""

import asyncio
import logging
import socket
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import WSCloseCode, WSMsgType, web

from mediaserver.clock import Clock
from mediaserver.config import ListenAddress
from mediaserver.transport import trace
from mediaserver.transport.certificate import TlsFiles
from mediaserver.transport.channel import MessageSink
from mediaserver.transport.deadline_timer import DeadlineTimer
from mediaserver.transport.peer import Peer

logger = logging.getLogger(__name__)

SUBPROTOCOL = "sip"  # RFC 7118 §4.1, the Sec-WebSocket-Protocol value
# RFC 5626 §3.5.1 keep-alives, which SIP.js also sends as WebSocket messages.
KEEPALIVE_PING = b"\r\n\r\n"
KEEPALIVE_PONG = b"\r\n"
# A browser that stops reading while we keep writing is cut off once this much is queued.
MAX_WRITE_BUFFER = 1024 * 1024
# Seconds a closing handshake may take, and all open handlers at shutdown, before the cut.
CLOSE_TIMEOUT = 2.0


@dataclass(frozen=True, slots=True)
class WebSocketSettings:
    """`origins` empty: every Origin is allowed (non-browser clients send none)."""

    origins: tuple[str, ...] = ()
    ping_interval: float = 30.0
    idle_timeout: float = 3900.0
    tls: TlsFiles | None = None
    max_connections: int = 10_000


class WsConnection:
    """One client's WebSocket: the channel its requests' answers and our requests leave by."""

    def __init__(
        self, pool: "WsConnections", websocket: web.WebSocketResponse, local: Peer, remote: Peer
    ) -> None:
        self._pool = pool
        self._websocket = websocket
        self.local = local
        self.remote = remote
        self.last_activity = pool.clock.now()
        self._outgoing: deque[bytes] = deque()
        self._queued_bytes = 0
        self._wake = asyncio.Event()
        self._closing = False

    @property
    def is_open(self) -> bool:
        return not self._closing and not self._websocket.closed

    def send(self, data: bytes, destination: Peer) -> None:
        if not self.is_open:
            self._pool.send_errors += 1
            return
        self.last_activity = self._pool.clock.now()
        self._queue(data)
        self._pool.messages_out += 1
        trace.sent(data, self.remote)

    def close(self) -> None:
        """Drop what is queued and end the connection with a closing handshake."""
        self._closing = True
        self._outgoing.clear()
        self._wake.set()

    async def serve(self) -> None:
        """Read messages until the connection ends; the writer lives exactly as long."""
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._write_all())
            try:
                await self._read_all()
            finally:
                self._closing = True
                self._wake.set()

    def _queue(self, data: bytes) -> None:
        self._outgoing.append(data)
        self._queued_bytes += len(data)
        self._wake.set()
        if self._queued_bytes > MAX_WRITE_BUFFER:
            logger.warning("closing %s: it does not read", self.remote.host_port())
            self.close()

    async def _read_all(self) -> None:
        async for message in self._websocket:
            if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                self.last_activity = self._pool.clock.now()
                self._received(message.data)

    def _received(self, data: bytes) -> None:
        if data == KEEPALIVE_PING:
            self._queue(KEEPALIVE_PONG)
            return
        self._pool.messages_in += 1
        trace.received(data, self.remote)
        self._pool.sink.receive(data, self.remote, self)

    async def _write_all(self) -> None:
        try:
            while not self._closing or self._outgoing:
                await self._wake.wait()
                self._wake.clear()
                while self._outgoing:
                    data = self._outgoing.popleft()
                    self._queued_bytes -= len(data)
                    await self._websocket.send_frame(data, _opcode(data))
            await self._websocket.close(code=WSCloseCode.GOING_AWAY)
        except ConnectionError:
            self._pool.send_errors += 1  # the peer went away with messages still queued


def _opcode(data: bytes) -> WSMsgType:
    """RFC 7118 §5.1: text frames must hold UTF-8; anything else travels as binary."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return WSMsgType.BINARY
    return WSMsgType.TEXT


class WsConnections:
    """The WebSocket listeners (one aiohttp application) and the live connections by remote."""

    def __init__(
        self,
        sink: MessageSink,
        clock: Clock,
        timer: DeadlineTimer,
        settings: WebSocketSettings,
        max_message_size: int,
        on_closed: Callable[[Peer], None],
    ) -> None:
        self.sink = sink
        self.clock = clock
        self._timer = timer
        self._settings = settings
        self._origins = frozenset(origin.lower() for origin in settings.origins)
        self._max_message_size = max_message_size
        self._on_closed = on_closed
        self._runner: web.AppRunner | None = None
        self._connections: dict[Peer, WsConnection] = {}
        self.messages_in = 0
        self.messages_out = 0
        self.send_errors = 0
        self.idle_closed = 0
        self.refused = 0
        self.pong_timeouts = 0

    def statistics(self) -> dict[str, int]:
        """Send errors are the transport's, summed with the other sockets'."""
        return {
            "ws_connections": len(self._connections),
            "ws_messages_in": self.messages_in,
            "ws_messages_out": self.messages_out,
            "ws_refused": self.refused,
            "ws_idle_closed": self.idle_closed,
            "ws_pong_timeouts": self.pong_timeouts,
        }

    async def listen(self, address: ListenAddress) -> Peer:
        secure = address.transport == "wss"
        if secure and self._settings.tls is None:
            raise ValueError("a wss listener needs a TLS certificate and key")
        tls = self._settings.tls.server_context() if secure and self._settings.tls else None
        listening = _bound_socket(address.host, address.port)
        site = web.SockSite(await self._started_runner(), listening, ssl_context=tls)
        await site.start()
        host, port = listening.getsockname()[:2]
        return Peer(address.transport, host, port)

    def find(self, remote: Peer) -> WsConnection | None:
        connection = self._connections.get(remote)
        return connection if connection is not None and connection.is_open else None

    async def connect(self, remote: Peer) -> WsConnection:
        """Only the client opens a WebSocket (RFC 6455 §4.1): without its connection, the
        client cannot be reached, which the caller reports as a transport failure."""
        raise ConnectionRefusedError(f"no WebSocket open from {remote.host_port()}")

    def idle_deadline(self, connection: WsConnection, now: float) -> None:
        """The shared timer reached this connection's idle deadline: close it, or look again."""
        idle_until = connection.last_activity + self._settings.idle_timeout
        if idle_until > now:
            self._timer.set(connection, idle_until)
            return
        self.idle_closed += 1
        logger.info("closing idle WebSocket %s", connection.remote.host_port())
        connection.close()

    async def close(self) -> None:
        for connection in list(self._connections.values()):
            connection.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _started_runner(self) -> web.AppRunner:
        if self._runner is None:
            application = web.Application()
            application.router.add_get("/", self._handshake)
            self._runner = web.AppRunner(
                application, access_log=None, handle_signals=False, shutdown_timeout=CLOSE_TIMEOUT
            )
            await self._runner.setup()
        return self._runner

    async def _handshake(self, request: web.Request) -> web.StreamResponse:
        refusal = self._refusal(request)
        if refusal is not None:
            self.refused += 1
            logger.info("refused a WebSocket from %s: %s", request.remote, refusal.text)
            return refusal
        websocket = web.WebSocketResponse(
            protocols=(SUBPROTOCOL,),
            heartbeat=self._settings.ping_interval,
            max_msg_size=self._max_message_size,
            timeout=CLOSE_TIMEOUT,
            compress=False,
            decode_text=False,
        )
        await websocket.prepare(request)
        await self._serve(request, websocket)
        return websocket

    def _refusal(self, request: web.Request) -> web.Response | None:
        """Why the upgrade is refused, as the HTTP answer (RFC 6455 §4.2.2), if it is."""
        origin = request.headers.get("Origin", "")
        if self._origins and origin.lower() not in self._origins:
            # RFC 6455 §10.2: a browser names the page's origin; only listed pages may connect.
            return web.Response(status=403, text=f"origin {origin or '(none)'} not allowed")
        offered = web.WebSocketResponse(protocols=(SUBPROTOCOL,)).can_prepare(request)
        if not offered.ok or offered.protocol != SUBPROTOCOL:
            return web.Response(status=400, text="a WebSocket with subprotocol sip is required")
        if len(self._connections) >= self._settings.max_connections:
            return web.Response(status=503, text="too many connections")
        return None

    async def _serve(self, request: web.Request, websocket: web.WebSocketResponse) -> None:
        transport = "wss" if request.secure else "ws"
        local, remote = (_peer(transport, request, name) for name in ("sockname", "peername"))
        connection = WsConnection(self, websocket, local, remote)
        self._connections[remote] = connection
        self._timer.set(connection, connection.last_activity + self._settings.idle_timeout)
        try:
            await connection.serve()
        finally:
            del self._connections[remote]
            self._timer.set(connection, None)
            if isinstance(websocket.exception(), asyncio.TimeoutError):
                self.pong_timeouts += 1  # half-open: aiohttp's ping went unanswered
            self._closed(remote)

    def _closed(self, remote: Peer) -> None:
        try:
            self._on_closed(remote)
        except Exception:
            # Whatever the bindings store does, the other connections go on.
            logger.exception("cleaning up after WebSocket %s failed", remote.host_port())


def _peer(transport: str, request: web.Request, name: str) -> Peer:
    address = request.transport.get_extra_info(name) if request.transport else None
    if address is None:
        raise ConnectionResetError("the connection went away during the handshake")
    return Peer(transport, str(address[0]), int(address[1]))


def _bound_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.socket(family, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        # As asyncio's create_server does: "::" serves IPv6 only, "0.0.0.0" is its own entry.
        listening.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    listening.bind((host, port))
    return listening
