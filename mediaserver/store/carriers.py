"""Carriers (SIP trunks): who may send us calls, and where our outbound calls go.

An incoming carrier is recognised only by the source IP address of its packets, so it is a
name and a list of IP addresses or CIDR networks. An outgoing carrier is a next-hop address
plus the dial-string rewriting (prefix, suffix) and retry policy applied to each call through
it, in the spirit of plivoframework's gateways, gatewayRetries and gatewayTimeouts.
"""

import ipaddress
import math
import re
import sqlite3
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, Protocol

CarrierKind = Literal["incoming", "outgoing"]
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class IncomingCarrier:
    carrier_id: str
    name: str
    enabled: bool
    addresses: tuple[str, ...]  # normalised IP addresses and CIDR networks, as added


@dataclass(frozen=True, slots=True)
class OutgoingCarrier:
    carrier_id: str
    name: str
    address: str  # host[:port][;transport=udp|tcp]
    failover_address: str | None
    prefix: str  # prepended to the dialled number
    failover_prefix: str  # prepended instead when dialling through the failover address
    suffix: str  # appended to the dialled number
    retries: int  # further attempts after the first one fails
    retry_seconds: float  # wait between attempts
    enabled: bool


class CarrierExistsError(Exception):
    """Another carrier of the same kind already has this name."""


class Carriers(Protocol):
    def incoming_for_source(self, ip: str) -> IncomingCarrier | None: ...

    def outgoing(self, name: str) -> OutgoingCarrier | None: ...

    def default_outgoing(self) -> OutgoingCarrier | None: ...


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


def _address_text(network: IpNetwork) -> str:
    """A single host reads as its address alone; a wider network keeps its /length."""
    full_length = network.max_prefixlen
    return str(network.network_address) if network.prefixlen == full_length else str(network)


_HOSTNAME = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?",
    re.ASCII,
)
_PORT = re.compile(r"[0-9]{1,5}", re.ASCII)
# The prefix and suffix end up in the user part of a Request-URI: dial-string characters only,
# so nothing can inject URI parameters, headers or another host (';', '?', '@', ':', spaces).
_DIAL_AFFIX = re.compile(r"[0-9A-Za-z+*#._-]*", re.ASCII)


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


def _check_name(name: str) -> None:
    if not name or name != name.strip():
        raise ValueError(f"carrier name {name!r} must be non-empty, without surrounding spaces")


def _check_affix(label: str, value: str) -> None:
    if not _DIAL_AFFIX.fullmatch(value):
        raise ValueError(f"{label} {value!r} may hold only digits, letters and + * # . _ -")


def new_incoming_carrier(
    name: str, addresses: Iterable[str], enabled: bool = True
) -> IncomingCarrier:
    """A checked incoming carrier with a fresh id, not yet stored; ValueError names the fault.

    Addresses are normalised (2001:DB8::/32 -> 2001:db8::/32) and duplicates dropped.
    """
    _check_name(name)
    texts = tuple(dict.fromkeys(_address_text(parse_incoming_address(a)) for a in addresses))
    if not texts:
        raise ValueError(f"incoming carrier {name!r} needs at least one address")
    return IncomingCarrier(uuid.uuid4().hex[:20], name, enabled, texts)


def new_outgoing_carrier(
    name: str,
    address: str,
    failover_address: str | None = None,
    prefix: str = "",
    failover_prefix: str = "",
    suffix: str = "",
    retries: int = 1,
    retry_seconds: float = 5.0,
    enabled: bool = True,
) -> OutgoingCarrier:
    """A checked outgoing carrier with a fresh id, not yet stored; ValueError names the fault.

    An empty failover address means none.
    """
    _check_name(name)
    for label, value in (
        ("prefix", prefix),
        ("failover prefix", failover_prefix),
        ("suffix", suffix),
    ):
        _check_affix(label, value)
    if retries < 0:
        raise ValueError(f"retries must be 0 or more, not {retries}")
    if not (math.isfinite(retry_seconds) and retry_seconds > 0):
        raise ValueError(f"retry seconds must be a positive number, not {retry_seconds}")
    return OutgoingCarrier(
        carrier_id=uuid.uuid4().hex[:20],
        name=name,
        address=parse_outgoing_address(address),
        failover_address=parse_outgoing_address(failover_address) if failover_address else None,
        prefix=prefix,
        failover_prefix=failover_prefix,
        suffix=suffix,
        retries=retries,
        retry_seconds=float(retry_seconds),
        enabled=enabled,
    )


class SqliteCarriers:
    """The carrier tables of migration 2; every change is one committed transaction."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def add_incoming(
        self,
        name: str,
        addresses: Iterable[str],
        enabled: bool = True,
        *,
        now: float | None = None,
    ) -> IncomingCarrier:
        # Validate everything before the first write, so bad input leaves nothing behind.
        carrier = new_incoming_carrier(name, addresses, enabled)
        created_at = time.time() if now is None else now
        self._connection.execute("BEGIN IMMEDIATE")
        try:
            self._connection.execute(
                "INSERT INTO incoming_carriers VALUES (?, ?, ?, ?)",
                (carrier.carrier_id, name, int(carrier.enabled), created_at),
            )
            self._connection.executemany(
                "INSERT INTO incoming_carrier_addresses VALUES (?, ?)",
                [(carrier.carrier_id, text) for text in carrier.addresses],
            )
        except BaseException as error:
            self._connection.execute("ROLLBACK")
            if isinstance(error, sqlite3.IntegrityError):
                raise CarrierExistsError(name) from None
            raise
        self._connection.execute("COMMIT")
        return carrier

    def incoming_for_source(self, ip: str) -> IncomingCarrier | None:
        """The enabled carrier whose addresses contain `ip`; None for unknown or unparsable ips.

        When networks of several carriers overlap, the most specific one (longest prefix) wins,
        the way a routing table decides, so a narrow carrier can sit inside a broad one.
        """
        try:
            source = ipaddress.ip_address(ip.strip().strip("[]"))
        except ValueError:
            return None
        if isinstance(source, ipaddress.IPv6Address) and source.ipv4_mapped is not None:
            source = source.ipv4_mapped  # a dual-stack socket reports v4 peers as ::ffff:a.b.c.d
        best: tuple[int, IncomingCarrier] | None = None
        for carrier in self._incoming("WHERE enabled = 1"):
            for text in carrier.addresses:
                network = ipaddress.ip_network(text)
                if source in network and (best is None or network.prefixlen > best[0]):
                    best = (network.prefixlen, carrier)
        return None if best is None else best[1]

    def list_incoming(self) -> list[IncomingCarrier]:
        return self._incoming("")

    def remove_incoming(self, name: str) -> bool:
        cursor = self._connection.execute("DELETE FROM incoming_carriers WHERE name = ?", (name,))
        return cursor.rowcount > 0

    def add_outgoing(
        self,
        name: str,
        address: str,
        failover_address: str | None = None,
        prefix: str = "",
        failover_prefix: str = "",
        suffix: str = "",
        retries: int = 1,
        retry_seconds: float = 5.0,
        enabled: bool = True,
        *,
        now: float | None = None,
    ) -> OutgoingCarrier:
        carrier = new_outgoing_carrier(
            name,
            address,
            failover_address,
            prefix,
            failover_prefix,
            suffix,
            retries,
            retry_seconds,
            enabled,
        )
        try:
            self._connection.execute(
                "INSERT INTO outgoing_carriers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*_outgoing_row(carrier), time.time() if now is None else now),
            )
        except sqlite3.IntegrityError:
            raise CarrierExistsError(name) from None
        return carrier

    def outgoing(self, name: str) -> OutgoingCarrier | None:
        found = self._outgoing("WHERE name = ?", (name,))
        return found[0] if found else None

    def default_outgoing(self) -> OutgoingCarrier | None:
        """The first enabled carrier by creation order: where a call goes when none is named."""
        found = self._outgoing("WHERE enabled = 1", limit=1)
        return found[0] if found else None

    def list_outgoing(self) -> list[OutgoingCarrier]:
        return self._outgoing("")

    def remove_outgoing(self, name: str) -> bool:
        cursor = self._connection.execute("DELETE FROM outgoing_carriers WHERE name = ?", (name,))
        return cursor.rowcount > 0

    def set_enabled(self, kind: CarrierKind, name: str, enabled: bool) -> bool:
        """Switch a carrier on or off without forgetting it; False if there is no such carrier."""
        if kind not in ("incoming", "outgoing"):
            raise ValueError(f"carrier kind must be 'incoming' or 'outgoing', not {kind!r}")
        cursor = self._connection.execute(
            f"UPDATE {kind}_carriers SET enabled = ? WHERE name = ?", (int(enabled), name)
        )
        return cursor.rowcount > 0

    def _incoming(self, where: str) -> list[IncomingCarrier]:
        rows = self._connection.execute(
            "SELECT carrier_id, name, enabled FROM incoming_carriers"
            f" {where} ORDER BY created_at, rowid"
        ).fetchall()
        addresses: dict[str, list[str]] = {row["carrier_id"]: [] for row in rows}
        for carrier_id, address in self._connection.execute(
            "SELECT carrier_id, address FROM incoming_carrier_addresses ORDER BY rowid"
        ):
            addresses.get(carrier_id, []).append(address)
        return [
            IncomingCarrier(carrier_id, name, bool(enabled), tuple(addresses[carrier_id]))
            for carrier_id, name, enabled in rows
        ]

    def _outgoing(
        self, where: str, parameters: tuple[str, ...] = (), limit: int = -1
    ) -> list[OutgoingCarrier]:
        rows = self._connection.execute(
            f"SELECT {_OUTGOING_COLUMNS} FROM outgoing_carriers {where}"
            " ORDER BY created_at, rowid LIMIT ?",
            (*parameters, limit),
        ).fetchall()
        return [_outgoing_carrier(row) for row in rows]


_OUTGOING_COLUMNS = (
    "carrier_id, name, address, failover_address, prefix, failover_prefix, suffix, retries,"
    " retry_seconds, enabled"
)


def _outgoing_row(
    carrier: OutgoingCarrier,
) -> tuple[str, str, str, str | None, str, str, str, int, float, int]:
    return (
        carrier.carrier_id,
        carrier.name,
        carrier.address,
        carrier.failover_address,
        carrier.prefix,
        carrier.failover_prefix,
        carrier.suffix,
        carrier.retries,
        carrier.retry_seconds,
        int(carrier.enabled),
    )


def _outgoing_carrier(row: sqlite3.Row) -> OutgoingCarrier:
    return OutgoingCarrier(**{**dict(row), "enabled": bool(row["enabled"])})
