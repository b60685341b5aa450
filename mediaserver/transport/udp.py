"""SIP over UDP (RFC 3261 §18): one socket per listen address, every datagram one message."""

import asyncio
import logging
import socket
from typing import cast

from mediaserver.transport import trace
from mediaserver.transport.channel import MessageSink
from mediaserver.transport.peer import Peer

logger = logging.getLogger(__name__)

# An IPv4 UDP payload cannot exceed 65507 bytes, IPv6 65527: this bounds both.
MAX_DATAGRAM_SIZE = 65535


class UdpSocket(asyncio.DatagramProtocol):
    """A bound UDP socket; the channel its datagrams' answers leave from."""

    def __init__(self, sink: MessageSink) -> None:
        self._sink = sink
        self._transport: asyncio.DatagramTransport | None = None
        self._closed = asyncio.get_running_loop().create_future()
        self._local = Peer("udp", "", 0)
        self.datagrams_in = 0
        self.datagrams_out = 0
        self.send_errors = 0

    @classmethod
    async def bind(cls, sink: MessageSink, host: str, port: int) -> "UdpSocket":
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        _, protocol = await loop.create_datagram_endpoint(
            lambda: cls(sink), local_addr=(host, port), family=family
        )
        return protocol

    @property
    def local(self) -> Peer:
        return self._local

    @property
    def is_open(self) -> bool:
        return self._transport is not None and not self._transport.is_closing()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # The selector loop's datagram transport does not subclass DatagramTransport.
        self._transport = cast(asyncio.DatagramTransport, transport)
        host, port = transport.get_extra_info("sockname")[:2]
        self._local = Peer("udp", host, port)

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        self.datagrams_in += 1
        source = Peer("udp", str(addr[0]), int(addr[1]))
        trace.received(data, source)
        self._sink.receive(data, source, self)

    def error_received(self, exc: Exception) -> None:
        # An ICMP port-unreachable for an earlier answer: the socket itself is fine.
        self.send_errors += 1
        logger.debug("UDP error on %s: %s", self._local.host_port(), exc)

    def send(self, data: bytes, destination: Peer) -> None:
        if self._transport is None or self._transport.is_closing():
            self.send_errors += 1
            return
        self._transport.sendto(data, (destination.host, destination.port))
        self.datagrams_out += 1
        trace.sent(data, destination)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._closed.done():
            self._closed.set_result(None)

    async def close(self) -> None:
        """Close the socket and wait until it is released, so its port is free again."""
        if self._transport is not None:
            self._transport.close()
            await self._closed
