"""Carriers (SIP trunks): who may send us calls, and where our outbound calls go.

An incoming carrier is recognised only by the source IP address of its packets, so it is a
name and a list of IP addresses or CIDR networks. An outgoing carrier is a next-hop address
plus the dial-string rewriting (prefix, suffix) and retry policy applied to each call through
it, in the spirit of plivoframework's gateways, gatewayRetries and gatewayTimeouts.
"""

import math
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal, Protocol, TypedDict, TypeVar

from mediaserver.store.carrier_address import (
    address_text,
    check_dial_affix,
    parse_incoming_address,
    parse_outgoing_address,
)
from mediaserver.store.errors import AlreadyExistsError, InvalidFieldError

CarrierKind = Literal["incoming", "outgoing"]
T = TypeVar("T")


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


class CarrierExistsError(AlreadyExistsError):
    """Another carrier of the same kind already has this name."""

    def __init__(self, name: str) -> None:
        super().__init__("name", name)


class OutgoingOptions(TypedDict, total=False):
    """The settings of an outgoing carrier beside its name and address."""

    failover_address: str | None
    prefix: str
    failover_prefix: str
    suffix: str
    retries: int
    retry_seconds: float
    enabled: bool


class OutgoingChanges(OutgoingOptions, total=False):
    name: str
    address: str


class Carriers(Protocol):
    def incoming_for_source(self, ip: str) -> IncomingCarrier | None: ...

    def outgoing(self, name: str) -> OutgoingCarrier | None: ...

    def default_outgoing(self) -> OutgoingCarrier | None: ...


def _check_name(name: str) -> None:
    if not name or name != name.strip() or not name.isprintable():
        raise InvalidFieldError(
            "name", f"carrier name {name!r} must be non-empty, without surrounding spaces"
        )


def _parsed(field: str, parse: Callable[[str], T], text: str) -> T:
    """`parse(text)`, its ValueError named after the field it came from."""
    try:
        return parse(text)
    except ValueError as error:
        raise InvalidFieldError(field, str(error)) from None


def new_incoming_carrier(
    name: str, addresses: Iterable[str], enabled: bool = True
) -> IncomingCarrier:
    """A checked incoming carrier with a fresh id, not yet stored; ValueError names the fault.

    Addresses are normalised (2001:DB8::/32 -> 2001:db8::/32) and duplicates dropped.
    """
    _check_name(name)
    networks = (_parsed("addresses", parse_incoming_address, a) for a in addresses)
    texts = tuple(dict.fromkeys(address_text(network) for network in networks))
    if not texts:
        raise InvalidFieldError(
            "addresses", f"incoming carrier {name!r} needs at least one address"
        )
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
    for field, value in (
        ("prefix", prefix),
        ("failover_prefix", failover_prefix),
        ("suffix", suffix),
    ):
        check_dial_affix(field, value)
    if retries < 0:
        raise InvalidFieldError("retries", f"retries must be 0 or more, not {retries}")
    if not (math.isfinite(retry_seconds) and retry_seconds > 0):
        raise InvalidFieldError(
            "retry_seconds", f"retry seconds must be a positive number, not {retry_seconds}"
        )
    return OutgoingCarrier(
        carrier_id=uuid.uuid4().hex[:20],
        name=name,
        address=_parsed("address", parse_outgoing_address, address),
        failover_address=(
            _parsed("failover_address", parse_outgoing_address, failover_address)
            if failover_address
            else None
        ),
        prefix=prefix,
        failover_prefix=failover_prefix,
        suffix=suffix,
        retries=retries,
        retry_seconds=float(retry_seconds),
        enabled=enabled,
    )
