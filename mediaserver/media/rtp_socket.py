"""The UDP sockets of an RTP stream: symmetric, validating, latching.

Symmetric RTP (RFC 4961): we send from the very socket we receive on, so NATs and firewalls
that opened a pinhole for the peer's packets let ours back. Latching (RFC 7362): the address
from SDP is a first guess; packets teach the real one, but only on the terms of
rtp/source_latch.py, so that a stranger can neither silence a stream nor take it over.

Whatever reaches the port is checked, in this order, before anything else sees it:
1. RFC 3550 §A.1's header checks: version 2, a payload type this stream negotiated, and a
   CSRC list, extension and padding that fit. A plain header (first octet 0x80, nearly every
   packet) costs a length check, a table lookup and a comparison; only others are looked at
   further (header_fits). RTCP is told apart first when it shares the port (RFC 5761 §4).
2. The source: a packet from any other address is offered to the SourceLatch, and counted
   and dropped unless the stream moves to its sender.
3. A.1's sequence check (ReceiveStatistics.update): a lone jump is dropped.
Only then does the handler (the jitter buffer) or the relay get the packet, so a dropped
datagram costs a counter increment and nothing else, whichever path the stream is on. The
relay is handed the sequence number and timestamp already unpacked for the checks: on the
relay fast path this method is the whole per-packet cost, so nothing is done twice.
"""

import asyncio
import logging
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from mediaserver.rtp.packet import header_fits, is_rtcp
from mediaserver.rtp.rtcp import report_sender
from mediaserver.rtp.source_latch import SourceLatch
from mediaserver.rtp.statistics import ReceiveStatistics

logger = logging.getLogger(__name__)

Address = tuple[Any, ...]
PacketHandler = Callable[[bytes, Address], None]
# The relay fast path's receiver: (the packet, its sequence number, its timestamp).
RelayHandler = Callable[[bytes, int, int], None]
Now = Callable[[], float]

RTP_HEADER_SIZE = 12
PLAIN_FIRST_OCTET = 0x80  # RFC 3550 §5.1: V=2, no padding, no extension, no CSRC
MARKER_BIT = 0x80
_unpack_sequence_timestamp_ssrc = struct.Struct("!HII").unpack_from


@dataclass(frozen=True, slots=True)
class RtpSocketStatistics:
    packets_received: int
    packets_sent: int
    rtcp_packets_received: int
    dropped_invalid: int
    dropped_foreign: int
    source_changes: int
    unsendable_packets: int


class RtpSocket(asyncio.DatagramProtocol):
    """Receives into `handler`, sends to the latched remote address. RTCP that reaches the
    stream (on this port with rtcp-mux, or through its RtcpSocket) is checked here too."""

    __slots__ = (
        "_latch",
        "_now",
        "_payload_types",
        "_rtcp_mux",
        "_sdp_address",
        "_source",
        "dropped_foreign",
        "dropped_invalid",
        "handler",
        "local_address",
        "packets_sent",
        "receive_statistics",
        "relay",
        "remote_address",
        "rtcp_handler",
        "rtcp_packets_received",
        "source_changes",
        "transport",
        "unsendable_packets",
    )

    def __init__(
        self,
        handler: PacketHandler,
        rtcp_handler: PacketHandler,
        rtcp_mux: bool,
        now: Now,
        clock_rate: int,
    ) -> None:
        self.handler = handler
        self.relay: RelayHandler | None = None  # when set, valid RTP goes there, not to handler
        self.rtcp_handler = rtcp_handler
        self._rtcp_mux = rtcp_mux
        self._now = now
        self.transport: asyncio.DatagramTransport | None = None
        self.local_address: Address = ()
        self.remote_address: Address | None = None  # where we send
        self._sdp_address: Address | None = None
        self._source: Address | None = None  # the latched source, None until one is
        self._latch = SourceLatch()
        self._payload_types = bytes(256)  # by second octet: 1 for a negotiated type
        self.receive_statistics = ReceiveStatistics(clock_rate)
        self.packets_sent = 0
        self.rtcp_packets_received = 0
        self.dropped_invalid = 0
        self.dropped_foreign = 0
        self.source_changes = 0
        self.unsendable_packets = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # The stock loop's datagram transport does not subclass DatagramTransport.
        self.transport = cast(asyncio.DatagramTransport, transport)
        self.local_address = self.transport.get_extra_info("sockname")

    def accept_payload_types(self, *payload_types: int | None) -> None:
        """The payload types negotiated for this stream; every other one is dropped
        (RFC 3550 §A.1: a payload type unknown to the receiver fails validity)."""
        table = bytearray(256)
        for payload_type in payload_types:
            if payload_type is not None:
                table[payload_type] = table[payload_type | MARKER_BIT] = 1
        self._payload_types = bytes(table)

    def datagram_received(self, data: bytes, addr: Address) -> None:
        if (
            len(data) < RTP_HEADER_SIZE
            or not self._payload_types[data[1]]
            or (data[0] != PLAIN_FIRST_OCTET and not header_fits(data))
        ):
            self._not_rtp(data, addr)
            return
        sequence_number, timestamp, ssrc = _unpack_sequence_timestamp_ssrc(data, 2)
        if addr != self._source and not self._moves_to(addr, ssrc, sequence_number):
            return
        if not self.receive_statistics.update(sequence_number, timestamp, ssrc, self._now()):
            self.dropped_invalid += 1
            return
        relay = self.relay
        if relay is None:
            self.handler(data, addr)
        else:
            relay(data, sequence_number, timestamp)

    @property
    def packets_received(self) -> int:
        """Valid RTP from the source, handed on: what the receive statistics counted."""
        return self.receive_statistics.packets_received

    def receive_rtcp(self, data: bytes, addr: Address) -> None:
        """RTCP counts only from the peer: the host the RTP source sends from, with the RTP
        source's SSRC as sender (32 random bits a stranger cannot know, RFC 3550 §8.1). The
        port is not compared: a NAT maps the RTCP port on its own."""
        sender = report_sender(data)
        if sender is None:
            self.dropped_invalid += 1
        elif (
            self._source is None
            or addr[0] != self._source[0]
            or sender != self.receive_statistics.ssrc
        ):
            self.dropped_foreign += 1
        else:
            self.rtcp_packets_received += 1
            self.rtcp_handler(data, addr)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable from a peer that went away: media is lossy, keep going.
        logger.debug("RTP socket %s: %s", self.local_address, exc)

    def set_remote(self, address: Address) -> None:
        """The SDP address: sent to until packets teach another. The same address again (a
        re-INVITE for hold, a session refresh) keeps what was latched."""
        if address == self._sdp_address:
            return
        self._sdp_address = self.remote_address = address
        self._source = None
        self._latch.clear()

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
            dropped_invalid=self.dropped_invalid,
            dropped_foreign=self.dropped_foreign,
            source_changes=self.source_changes,
            unsendable_packets=self.unsendable_packets,
        )

    def _not_rtp(self, data: bytes, addr: Address) -> None:
        if self._rtcp_mux and is_rtcp(data):
            self.receive_rtcp(data, addr)
        else:
            self.dropped_invalid += 1

    def _moves_to(self, addr: Address, ssrc: int, sequence_number: int) -> bool:
        """A valid packet from elsewhere than the source: True if the stream latches onto
        its sender. The SDP address is the peer's own word and is taken at once."""
        if addr != self._sdp_address:
            statistics = self.receive_statistics
            source = None
            if self._source is not None and statistics.ssrc is not None:
                source = (self.packets_received, statistics.ssrc, statistics.max_sequence)
            if not self._latch.takes_over(addr, ssrc, sequence_number, self._now(), source):
                self.dropped_foreign += 1
                return False
        if self._source is not None:
            self.source_changes += 1
            logger.info("RTP socket %s: source %s -> %s", self.local_address, self._source, addr)
        self._source = self.remote_address = addr
        self._latch.clear()
        return True


class RtcpSocket(asyncio.DatagramProtocol):
    """The RTCP port of a stream without rtcp-mux (RFC 3550 §11: the RTP port + 1). What
    arrives goes through its RTP socket's checks and counters (RtpSocket.receive_rtcp)."""

    __slots__ = ("_rtp", "local_address", "remote_address", "transport")

    def __init__(self, rtp: RtpSocket) -> None:
        self._rtp = rtp
        self.transport: asyncio.DatagramTransport | None = None
        self.local_address: Address = ()
        # Where the peer said it takes RTCP (RFC 3605 a=rtcp, or the RTP port + 1).
        self.remote_address: Address | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)
        self.local_address = self.transport.get_extra_info("sockname")

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self._rtp.receive_rtcp(data, addr)

    def error_received(self, exc: Exception) -> None:
        logger.debug("RTCP socket %s: %s", self.local_address, exc)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None
