"""Who we are to a given peer: the address and port in our Via and Contact, and our Vias; and
which hosts and ports name this server.

A wildcard listener (0.0.0.0, ::) has no address to write into a message, so the routing table
is asked which local address reaches the peer. `sip.advertised_address` overrides both (behind
NAT). Every branch we create carries a per-process prefix, so a request of ours that comes
back to us is recognisable (loop detection, RFC 3261 §16.3 step 4).
"""

import ipaddress
import secrets
import socket

from mediaserver.sip.headers import Via
from mediaserver.sip.message import Request
from mediaserver.sip.transaction.matching import MAGIC_COOKIE
from mediaserver.transport.peer import Peer

_WILDCARDS = ("0.0.0.0", "::")


class LocalAddress:
    def __init__(self, advertised_address: str = "", domain: str = "") -> None:
        self.advertised_address = advertised_address
        self.domain = domain
        self.bound: list[Peer] = []
        self._by_destination: dict[str, str] = {}
        self._branch_prefix = MAGIC_COOKIE + secrets.token_hex(4)

    def local_peer(self, destination: Peer) -> Peer:
        """The address and port we are reached at for `destination`: Via sent-by, Contact."""
        bound = [p for p in self.bound if p.transport == destination.transport] or self.bound
        family = [p for p in bound if (":" in p.host) == (":" in destination.host)] or bound
        local = family[0]
        host = self.advertised_address or self._concrete_host(local.host, destination.host)
        return Peer(destination.transport, host, local.port)

    def with_via(self, request: Request, destination: Peer) -> Request:
        """§8.1.1.7: our Via on top with a fresh branch; rport asks for the source port back
        (RFC 3581), which keeps replies working behind NAT."""
        local = self.local_peer(destination)
        branch = self._branch_prefix + secrets.token_hex(8)
        via = Via.parse(f"SIP/2.0/{local.transport.upper()} {local.host_port()};branch={branch}")
        headers = request.headers.with_added(
            "Via", str(via.with_parameter("rport", None)), first=True
        )
        return Request(request.method, request.uri, headers, request.body)

    def sent_by_us(self, request: Request) -> bool:
        """A Via of ours in a request we received: it looped back to us."""
        return any((via.branch or "").startswith(self._branch_prefix) for via in request.via)

    def names_us(self, host: str, port: int | None) -> bool:
        """Whether a URI's host and port (None when it gives none) designate this server: the
        SIP domain or the advertised address on any port we listen on, or the address of a
        listening socket on that socket's port (for a wildcard socket, any address of this
        machine)."""
        sockets = [bound for bound in self.bound if port in (None, bound.port)]
        if not sockets:
            return False
        if _same_host(host, self.domain) or _same_host(host, self.advertised_address):
            return True
        return any(_bound_to(bound.host, host) for bound in sockets)

    def _concrete_host(self, bound_host: str, destination_host: str) -> str:
        """Connecting a UDP socket sends nothing; it only picks the route and its address."""
        if bound_host not in _WILDCARDS:
            return bound_host
        cached = self._by_destination.get(destination_host)
        if cached is None:
            family = socket.AF_INET6 if ":" in destination_host else socket.AF_INET
            with socket.socket(family, socket.SOCK_DGRAM) as probe:
                try:
                    probe.connect((destination_host, 9))
                    cached = str(probe.getsockname()[0])
                except OSError:
                    cached = "127.0.0.1" if family == socket.AF_INET else "::1"
            self._by_destination[destination_host] = cached
        return cached


def _same_host(host: str, other: str) -> bool:
    """Host names compare case-insensitively (RFC 3261 §19.1.4), IP addresses by value (an
    IPv6 address has several spellings)."""
    if not other:
        return False
    if host.lower() == other.lower():
        return True
    try:
        return ipaddress.ip_address(host) == ipaddress.ip_address(other)
    except ValueError:
        return False


def _bound_to(bound_host: str, host: str) -> bool:
    if bound_host not in _WILDCARDS:
        return _same_host(host, bound_host)
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # a name: never resolved here, where any peer could make us look one up
    return (address.version == 6) == (":" in bound_host) and _is_address_of_this_machine(host)


def _is_address_of_this_machine(host: str) -> bool:
    """Only an address of one of this machine's interfaces can be bound (port 0: any free)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((host, 0))
        except OSError:
            return False
    return True
