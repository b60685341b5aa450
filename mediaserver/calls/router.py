"""Who may call and where a call goes: to a Plivo application, or dialled directly.

Callers: an incoming carrier (the INVITE's source address is in an enabled carrier's IP set)
may call our numbers; anyone else must be one of our endpoints, digest-authenticated.
Applications: a call from an endpoint runs the endpoint's application, else the account's
default endpoint application; a call to one of our numbers runs the number's application,
else the account's default number application. Otherwise the call is dialled directly: an
endpoint's registered contacts, all rung at once (first answer wins), or a number through
the outgoing carrier, tried `1 + retries` times at its address and then at its failover
address, each attempt with its own prefix and the carrier's suffix; a number from a carrier
rings the endpoint its alias names.
"""

from dataclasses import dataclass, replace
from typing import Protocol
from urllib.parse import quote, unquote

from mediaserver.calls.hangup_cause import Cause
from mediaserver.sip.errors import SipParseError
from mediaserver.sip.message import Request
from mediaserver.sip.uri import SipUri
from mediaserver.store.applications import Application, Applications
from mediaserver.store.bindings import Binding
from mediaserver.store.numbers import Numbers, normalise_number
from mediaserver.transport.peer import Peer

DEFAULT_SIP_PORT = 5060
_USER_SAFE = "-_.!~*'()&=+$,;?/"


@dataclass(frozen=True, slots=True)
class Target:
    """One INVITE to send: its Request-URI and the transport address it goes to."""

    request_uri: SipUri
    destination: Peer


@dataclass(frozen=True, slots=True)
class Attempt:
    """Targets rung in parallel; `answer_timeout` bounds the wait for a first response
    (a carrier's retry_seconds), None for endpoints (the ring timeout applies)."""

    targets: tuple[Target, ...]
    answer_timeout: float | None = None
    failover: bool = False  # carrier attempts move on after a timeout, 5xx or 408


@dataclass(frozen=True, slots=True)
class Route:
    attempts: tuple[Attempt, ...]
    to_number: str  # the called user or number, as CDRs show it
    sub_account: str | None = None  # whose call it is (a call from or to a sub-account's)


@dataclass(frozen=True, slots=True)
class ApplicationRoute:
    """The call is driven by `application`'s XML; `to_number` is what was called (the user
    or the number's E.164 digits), as the application's To and the CDRs show it."""

    application: Application
    to_number: str

    @property
    def sub_account(self) -> str | None:
        """The call is the application's account's (routing only runs an account's own)."""
        return self.application.sub_account


@dataclass(frozen=True, slots=True)
class Refusal:
    cause: Cause
    reason: str


class OutgoingCarrier(Protocol):
    """What routing reads of an outgoing carrier (store.carriers has the record)."""

    @property
    def address(self) -> str: ...
    @property
    def failover_address(self) -> str | None: ...
    @property
    def prefix(self) -> str: ...
    @property
    def failover_prefix(self) -> str: ...
    @property
    def suffix(self) -> str: ...
    @property
    def retries(self) -> int: ...
    @property
    def retry_seconds(self) -> float: ...


class IncomingCarrier(Protocol):
    @property
    def name(self) -> str: ...


class CallingEndpoint(Protocol):
    """What routing reads of the endpoint a call's digest authenticated."""

    @property
    def username(self) -> str: ...
    @property
    def app_id(self) -> str | None: ...
    @property
    def sub_account(self) -> str | None: ...


class Contacts(Protocol):
    def contacts_for(self, username: str) -> list[Binding]: ...


class EndpointDirectory(Protocol):
    def get(self, username: str) -> object | None: ...


class Carriers(Protocol):
    def incoming_for_source(self, ip: str) -> IncomingCarrier | None: ...

    def default_outgoing(self) -> OutgoingCarrier | None: ...


def _number_in(user: str) -> str | None:
    """The E.164 digits a Request-URI user part dials (%-escapes undone, §19.1.2), if any."""
    try:
        return normalise_number(unquote(user))
    except ValueError:
        return None


class Router:
    def __init__(
        self,
        contacts: Contacts,
        endpoints: EndpointDirectory,
        carriers: Carriers,
        numbers: Numbers,
        applications: Applications,
    ) -> None:
        self._contacts = contacts
        self._endpoints = endpoints
        self._carriers = carriers
        self._numbers = numbers
        self._applications = applications

    def incoming_carrier(self, source: Peer) -> IncomingCarrier | None:
        return self._carriers.incoming_for_source(source.host)

    def route_from_carrier(self, request: Request) -> Route | ApplicationRoute | Refusal:
        """An incoming carrier may only call our numbers: the number's application, else its
        account's default number application, else the endpoint its alias names."""
        number = _number_in(request.uri.user or "")
        found = self._numbers.get(number) if number else None
        if found is None:
            return Refusal(Cause.UNALLOCATED_NUMBER, "not one of our numbers")
        application = self._application(
            found.app_id, found.sub_account
        ) or self._applications.default_number_app(found.sub_account)
        if application is not None:
            return ApplicationRoute(application, found.number)
        if not found.alias or self._endpoints.get(found.alias) is None:
            return Refusal(Cause.ROUTING_ERROR, f"number {found.number} routes nowhere")
        return _owned(self.route_to_endpoint(found.alias, found.number), found.sub_account)

    def route_from_endpoint(
        self, request: Request, caller: CallingEndpoint
    ) -> Route | ApplicationRoute | Refusal:
        """The caller's application, else the default endpoint application, else the called
        endpoint or number dialled directly (the called endpoint's own application does not
        count: an endpoint's application drives the calls it makes)."""
        user = unquote(request.uri.user or "")
        if not user:
            return Refusal(Cause.INVALID_DESTINATION, "no user in the Request-URI")
        # The default is the caller's account's: a sub-account's endpoints never run another's.
        default = self._applications.default_endpoint_app(caller.sub_account)
        application = self._application(caller.app_id, caller.sub_account) or default
        if application is not None:
            is_endpoint = self._endpoints.get(user) is not None
            return ApplicationRoute(application, user if is_endpoint else _number_in(user) or user)
        return _owned(self._direct_from_endpoint(user), caller.sub_account)

    def _direct_from_endpoint(self, user: str) -> Route | Refusal:
        if self._endpoints.get(user) is not None:
            return self.route_to_endpoint(user, user)
        number = _number_in(user)
        if number is None:
            return Refusal(Cause.UNALLOCATED_NUMBER, "no such endpoint")
        return self.route_to_number(number)

    def route_to_number(self, number: str) -> Route | Refusal:
        """A phone number, out through the default outgoing carrier."""
        carrier = self._carriers.default_outgoing()
        if carrier is None:
            return Refusal(Cause.ROUTING_ERROR, "no outgoing carrier")
        return Route(carrier_attempts(carrier, number), number)

    def _application(self, app_id: str | None, sub_account: str | None) -> Application | None:
        """The application of a number or endpoint of `sub_account`'s: one removed since it
        was read counts as none, as Plivo detaches it, and so does another account's (the
        store refuses such a link; a call never runs another account's URLs)."""
        found = None if app_id is None else self._applications.get(app_id)
        return found if found is not None and found.sub_account == sub_account else None

    def route_to_endpoint(self, username: str, to_number: str = "") -> Route | Refusal:
        """Every registered contact of endpoint `username`, rung at once."""
        bindings = self._contacts.contacts_for(username)
        if not bindings:
            return Refusal(Cause.ENDPOINT_NOT_REGISTERED, f"{username} is not registered")
        targets = tuple(_binding_target(binding) for binding in bindings)
        return Route((Attempt(targets),), to_number or username)


def _owned(route: Route | Refusal, sub_account: str | None) -> Route | Refusal:
    if isinstance(route, Refusal):
        return route
    return replace(route, sub_account=sub_account)


def carrier_attempts(carrier: OutgoingCarrier, number: str) -> tuple[Attempt, ...]:
    primary = _carrier_target(carrier.address, carrier.prefix + number + carrier.suffix)
    attempts = [
        Attempt((primary,), carrier.retry_seconds, failover=True)
        for _ in range(1 + carrier.retries)
    ]
    if carrier.failover_address:
        user = carrier.failover_prefix + number + carrier.suffix
        failover = _carrier_target(carrier.failover_address, user)
        attempts.append(Attempt((failover,), carrier.retry_seconds, failover=True))
    return tuple(attempts)


def _carrier_target(address: str, user: str) -> Target:
    """`host[:port][;transport=tcp]`: the trunk's Request-URI host and where INVITEs go."""
    # RFC 3261 §25.1: user = unreserved / escaped / user-unreserved; '#' must be %23.
    uri = SipUri.parse(f"sip:{quote(user, safe=_USER_SAFE)}@{address}")
    transport = (uri.parameter("transport") or "udp").lower()
    return Target(uri, Peer(transport, uri.host, uri.port or DEFAULT_SIP_PORT))


def _binding_target(binding: Binding) -> Target:
    """The contact as Request-URI, sent over the flow the REGISTER came in on (RFC 5626's
    idea without its extension: behind NAT that is the only address that reaches it)."""
    try:
        uri = SipUri.parse(binding.contact)
    except SipParseError:
        uri = SipUri("sip", binding.username, host=binding.source_host, port=binding.source_port)
    return Target(uri, Peer(binding.transport, binding.source_host, binding.source_port))


def route_to_sip_uri(uri: SipUri) -> Route:
    """A SIP URI outside our domain, called as it is (an application's <User>sip:...</User>,
    a REST call to a sip: URI): sent to its host, over its transport parameter."""
    transport = (uri.parameter("transport") or "udp").lower()
    target = Target(uri, Peer(transport, uri.host, uri.port or DEFAULT_SIP_PORT))
    return Route((Attempt((target,)),), uri.user or uri.host)
