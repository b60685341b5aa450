"""RTP/RTCP port pairs from the configured range (config.rtp).

RFC 3550 §11: RTP uses an even port and RTCP the next odd one. With rtcp-mux (RFC 5761) only
the even port is bound. The allocator walks the range round-robin from where it last stopped,
so a port just released is not handed out again at once (late packets of the old call would
land in the new one), and skips ports that another process holds.
"""

import errno
import ipaddress
import socket
from dataclasses import dataclass


class PortRangeExhaustedError(OSError):
    """No even/odd pair in the configured range could be bound."""


@dataclass(frozen=True, slots=True)
class PortAllocatorStatistics:
    allocations: int
    bound_ports: int
    port_min: int
    port_max: int


@dataclass(frozen=True, slots=True)
class BoundPorts:
    """The sockets of one stream: RTP on an even port, RTCP on +1 unless multiplexed."""

    rtp_socket: socket.socket
    rtcp_socket: socket.socket | None

    @property
    def rtp_port(self) -> int:
        port: int = self.rtp_socket.getsockname()[1]
        return port


class PortAllocator:
    def __init__(self, address: str, port_min: int, port_max: int) -> None:
        self._address = address
        self._family = _address_family(address)
        self._port_min = port_min + (port_min % 2)
        self._port_max = port_max
        if self._port_min + 1 > port_max:
            raise ValueError(f"port range {port_min}-{port_max} holds no even/odd pair")
        self._next_port = self._port_min
        self._bound: dict[int, BoundPorts] = {}

    def allocate(self, rtcp_mux: bool) -> BoundPorts:
        """Bind the next free pair; raise PortRangeExhaustedError when none is left."""
        pair_count = (self._port_max - self._port_min + 1) // 2
        for _ in range(pair_count):
            port = self._advance()
            if port in self._bound:
                continue
            ports = self._try_bind(port, rtcp_mux)
            if ports is not None:
                self._bound[port] = ports
                return ports
        raise PortRangeExhaustedError(
            errno.EADDRINUSE, f"no free RTP port pair in {self._port_min}-{self._port_max}"
        )

    def release(self, ports: BoundPorts) -> None:
        """Close both sockets; the transports that wrap them may already have closed them."""
        self._bound.pop(ports.rtp_port, None)
        ports.rtp_socket.close()
        if ports.rtcp_socket is not None:
            ports.rtcp_socket.close()

    def statistics(self) -> PortAllocatorStatistics:
        sockets = sum(1 + (p.rtcp_socket is not None) for p in self._bound.values())
        return PortAllocatorStatistics(
            allocations=len(self._bound),
            bound_ports=sockets,
            port_min=self._port_min,
            port_max=self._port_max,
        )

    def _advance(self) -> int:
        port = self._next_port
        self._next_port += 2
        if self._next_port + 1 > self._port_max:
            self._next_port = self._port_min
        return port

    def _try_bind(self, port: int, rtcp_mux: bool) -> BoundPorts | None:
        rtp_socket = self._bind(port)
        if rtp_socket is None:
            return None
        if rtcp_mux:
            return BoundPorts(rtp_socket, None)
        rtcp_socket = self._bind(port + 1)
        if rtcp_socket is None:
            rtp_socket.close()
            return None
        return BoundPorts(rtp_socket, rtcp_socket)

    def _bind(self, port: int) -> socket.socket | None:
        sock = socket.socket(self._family, socket.SOCK_DGRAM)
        try:
            sock.bind((self._address, port))
        except OSError as error:
            sock.close()
            if error.errno in (errno.EADDRINUSE, errno.EACCES):
                return None
            raise
        sock.setblocking(False)
        return sock


def _address_family(address: str) -> socket.AddressFamily:
    version = ipaddress.ip_address(address).version
    return socket.AF_INET6 if version == 6 else socket.AF_INET
