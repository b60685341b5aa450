"""One UDP socket of an RTP stream, symmetric and latching.

Symmetric RTP (RFC 4961): we send from the very socket we receive on, so NATs and firewalls
that opened a pinhole for the peer's packets let ours back. Latching ("comedia"): the address
from SDP is only a first guess; the source of the first valid packet becomes the remote
address, and packets from any other source are dropped until set_remote() is called again
(a re-INVITE). Only packets that look like RTP/RTCP (RFC 3550 §5.1: version 2)
may latch, so a stray datagram cannot hijack the stream.
"""

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from mediaserver.rtp.packet import is_rtcp

logger = logging.getLogger(__name__)

Address = tuple[Any, ...]
PacketHandler = Callable[[bytes, Address], None]

RTP_HEADER_SIZE = 12
RTCP_MINIMUM_SIZE = 8  # RFC 3550 §6.4.2: an empty receiver report
RTP_VERSION = 2
RELATCH_PACKETS = 50  # one second of 20 ms packets


@dataclass(frozen=True, slots=True)
class RtpSocketStatistics:
    packets_received: int
    packets_sent: int
    rtcp_packets_received: int
    invalid_packets: int
    foreign_packets: int
    unsendable_packets: int


class RtpSocket(asyncio.DatagramProtocol):
    """Receives into `handler`, sends to the latched remote address."""

    __slots__ = (
        "_candidate",
        "_candidate_mark",
        "_candidate_packets",
        "_rtcp_mux",
        "foreign_packets",
        "handler",
        "invalid_packets",
        "latched",
        "local_address",
        "packets_received",
        "packets_sent",
        "remote_address",
        "rtcp_handler",
        "rtcp_packets_received",
        "transport",
        "unsendable_packets",
    )

    def __init__(self, handler: PacketHandler, rtcp_handler: PacketHandler, rtcp_mux: bool) -> None:
        self.handler = handler
        self.rtcp_handler = rtcp_handler
        self._rtcp_mux = rtcp_mux
        self.transport: asyncio.DatagramTransport | None = None
        self.local_address: Address = ()
        self.remote_address: Address | None = None
        self.latched = False
        self.packets_received = 0
        self.packets_sent = 0
        self.rtcp_packets_received = 0
        self.invalid_packets = 0
        self.foreign_packets = 0
        self.unsendable_packets = 0
        self._candidate: Address | None = None
        self._candidate_packets = 0
        self._candidate_mark = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # The stock loop's datagram transport does not subclass DatagramTransport.
        self.transport = cast(asyncio.DatagramTransport, transport)
        self.local_address = self.transport.get_extra_info("sockname")

    def datagram_received(self, data: bytes, addr: Address) -> None:
        if len(data) < RTCP_MINIMUM_SIZE or data[0] >> 6 != RTP_VERSION:
            self.invalid_packets += 1
            return
        if addr != self.remote_address and not self._latch(addr):
            return
        if self._rtcp_mux and is_rtcp(data):
            # RFC 5761 §4: payload types 64-95 in the second octet mean RTCP.
            self.rtcp_packets_received += 1
            self.rtcp_handler(data, addr)
            return
        if len(data) < RTP_HEADER_SIZE:
            self.invalid_packets += 1
            return
        self.packets_received += 1
        self.handler(data, addr)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable from a peer that went away: media is lossy, keep going.
        logger.debug("RTP socket %s: %s", self.local_address, exc)

    def set_remote(self, address: Address | None) -> None:
        """The SDP address; the next valid packet's source replaces it (comedia)."""
        self.remote_address = address
        self.latched = False

    def send(self, data: bytes | bytearray) -> None:
        if self.remote_address is None or self.transport is None:
            self.unsendable_packets += 1
            return
        self.packets_sent += 1
        self.transport.sendto(data, self.remote_address)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None

    def statistics(self) -> RtpSocketStatistics:
        return RtpSocketStatistics(
            packets_received=self.packets_received,
            packets_sent=self.packets_sent,
            rtcp_packets_received=self.rtcp_packets_received,
            invalid_packets=self.invalid_packets,
            foreign_packets=self.foreign_packets,
            unsendable_packets=self.unsendable_packets,
        )

    def _latch(self, addr: Address) -> bool:
        """True if the packet may be handled; latches onto its source when allowed."""
        if self.latched and not self._new_source_took_over(addr):
            self.foreign_packets += 1
            return False
        self.remote_address = addr
        self.latched = True
        self._candidate = None
        return True

    def _new_source_took_over(self, addr: Address) -> bool:
        # packets_received only moves for the latched source, so an unchanged mark means
        # nothing came from it since this candidate's previous packet.
        if addr == self._candidate and self.packets_received == self._candidate_mark:
            self._candidate_packets += 1
        else:
            self._candidate, self._candidate_packets = addr, 1
        self._candidate_mark = self.packets_received
        return self._candidate_packets >= RELATCH_PACKETS
