"""Carrier addresses: the IP addresses and networks an incoming carrier sends from, the
`host[:port][;transport=udp|tcp]` an outgoing carrier is reached at, and the prefix and
suffix written around a number in its Request-URI."""

import ipaddress
import re

from mediaserver.store.errors import InvalidFieldError

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_incoming_address(address: str) -> IpNetwork:
    """An IP address (a one-host network) or a CIDR network, IPv4 or IPv6.

    Host bits set under the mask (10.0.0.1/24) are refused rather than silently cleared: the
    operator probably mistyped either the address or the length.
    """
    try:
        return ipaddress.ip_network(address.strip(), strict=True)
    except ValueError:
        pass
    try:
        network = ipaddress.ip_network(address.strip(), strict=False)
    except ValueError:
        raise ValueError(
            f"incoming carrier address {address!r} is not an IP address or CIDR network"
        ) from None
    raise ValueError(
        f"incoming carrier address {address!r} has bits set after the /{network.prefixlen}"
        f" mask: did you mean {network}?"
    )


def address_text(network: IpNetwork) -> str:
    """A single host reads as its address alone; a wider network keeps its /length."""
    full_length = network.max_prefixlen
    return str(network.network_address) if network.prefixlen == full_length else str(network)


_HOSTNAME = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?",
    re.ASCII,
)
_PORT = re.compile(r"[0-9]{1,5}", re.ASCII)


def parse_outgoing_address(address: str) -> str:
    """Check `host[:port][;transport=udp|tcp]`; return it with the transport in lower case.

    The host is a DNS name, an IPv4 address, or an IPv6 address in brackets (RFC 3261 §25.1
    `hostport`): unbracketed IPv6 would make the port ambiguous.
    """
    hostport, separator, parameter = address.strip().partition(";")
    suffix = ""
    if separator:
        key, _, value = parameter.partition("=")
        if key.strip().lower() != "transport" or value.strip().lower() not in ("udp", "tcp"):
            raise ValueError(
                f"outgoing carrier address {address!r}: the only parameter allowed is"
                " ;transport=udp or ;transport=tcp"
            )
        suffix = f";transport={value.strip().lower()}"
    _check_hostport(hostport, address)
    return hostport + suffix


def _check_hostport(hostport: str, address: str) -> None:
    host, port = _split_hostport(hostport, address)
    if host.startswith("["):
        _check_ip(host[1:-1], ipaddress.IPv6Address, address)
    elif host.replace(".", "").isdigit():
        _check_ip(host, ipaddress.IPv4Address, address)
    elif not _HOSTNAME.fullmatch(host):
        raise ValueError(f"outgoing carrier address {address!r}: {host!r} is not a host name")
    if port is not None and not (_PORT.fullmatch(port) and 0 < int(port) < 65536):
        raise ValueError(f"outgoing carrier address {address!r}: bad port {port!r}")


def _split_hostport(hostport: str, address: str) -> tuple[str, str | None]:
    if hostport.startswith("["):
        end = hostport.find("]")
        rest = hostport[end + 1 :]
        if end < 0 or (rest and not rest.startswith(":")):
            raise ValueError(f"outgoing carrier address {address!r}: expected [IPv6]:port")
        return hostport[: end + 1], rest[1:] if rest else None
    if hostport.count(":") > 1:
        raise ValueError(
            f"outgoing carrier address {address!r}: put an IPv6 address in brackets,"
            " as in [2001:db8::1]:5060"
        )
    host, colon, port = hostport.partition(":")
    return host, port if colon else None


def _check_ip(
    host: str,
    kind: type[ipaddress.IPv4Address] | type[ipaddress.IPv6Address],
    address: str,
) -> None:
    try:
        kind(host)
    except ValueError:
        raise ValueError(f"outgoing carrier address {address!r}: bad IP address {host!r}") from None


# The prefix and suffix end up in the user part of a Request-URI: dial-string characters only,
# so nothing can inject URI parameters, headers or another host (';', '?', '@', ':', spaces).
_DIAL_AFFIX = re.compile(r"[0-9A-Za-z+*#._-]*", re.ASCII)


def check_dial_affix(field: str, value: str) -> None:
    if not _DIAL_AFFIX.fullmatch(value):
        raise InvalidFieldError(
            field, f"{field} {value!r} may hold only digits, letters and + * # . _ -"
        )
