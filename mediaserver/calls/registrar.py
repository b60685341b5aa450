"""The registrar (RFC 3261 §10.3) with digest authentication (RFC 7616, RFC 8760).

No user enumeration: every REGISTER without valid credentials is challenged before the user is
looked up, and an unknown user gets exactly the 403 a wrong password gets. Sources that fail
authentication more than `failures_per_minute` times in a minute get 403 to everything until
their oldest failure is a minute old (a response, not silence: a blocked legitimate client
learns why instead of retransmitting).

The Request-URI is not compared with the domain (§10.3 step 1): clients commonly address the
registrar by IP address, and the To header's address-of-record is what must be in our domain.
Nonces and expiry times use wall-clock time so that both survive a restart.
"""

import enum
import logging
import secrets
import sqlite3
from collections import OrderedDict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.utils import formatdate
from typing import Protocol
from urllib.parse import unquote

from mediaserver.clock import Clock
from mediaserver.config import RegistrarConfig
from mediaserver.sip.dialog import new_tag
from mediaserver.sip.digest import (
    DigestChallenge,
    DigestCredentials,
    Nonces,
    NonceState,
    designates_request_target,
)
from mediaserver.sip.errors import SipParseError
from mediaserver.sip.headers import NameAddress
from mediaserver.sip.message import Request, Response, build_response
from mediaserver.sip.uri import SipUri
from mediaserver.store.bindings import Binding, Bindings
from mediaserver.store.endpoints import Endpoint, Endpoints
from mediaserver.transport.peer import Peer

logger = logging.getLogger(__name__)

FAILURE_WINDOW = 60.0
# RFC 3261 §21.5.1: a 500 may say when to try again.
RETRY_AFTER_SECONDS = 5
MAX_TRACKED_SOURCES = 10_000
MAX_USER_AGENT_LENGTH = 255
# RFC 8760 §3: when several algorithms are offered, the preferred one comes first.
ALGORITHM_PREFERENCE = ("SHA-256", "MD5")
PROXY_AUTHORIZATION = "Proxy-Authorization"
OUTCOMES = ("registered", "challenged", "stale", "forbidden", "rate_limited", "rejected")


class ServerNames(Protocol):
    """Which hosts and ports name this server (transport/local_address.py knows)."""

    def names_us(self, host: str, port: int | None) -> bool: ...


class _Verdict(enum.Enum):
    AUTHENTICATED = "authenticated"
    CHALLENGE = "challenge"  # no usable credentials: a fresh 401
    STALE = "stale"  # right password, old or replayed nonce: 401 stale=true
    FAILED = "failed"  # unknown user or wrong password: 403


@dataclass(frozen=True, slots=True)
class _ContactRequest:
    contact: str
    expires: int
    q: float | None


class _FailureWindow:
    """Authentication failures per source host over the last minute, for a bounded set of hosts."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def blocked(self, host: str, now: float) -> bool:
        times = self._failures.get(host)
        if times is None:
            return False
        while times and now - times[0] >= FAILURE_WINDOW:
            times.popleft()
        if not times:
            del self._failures[host]
        return len(times) >= self._limit

    def record(self, host: str, now: float) -> None:
        times = self._failures.get(host)
        if times is None:
            times = self._failures[host] = deque(maxlen=self._limit)
        self._failures.move_to_end(host)
        times.append(now)
        if len(self._failures) > MAX_TRACKED_SOURCES:
            self._failures.popitem(last=False)


class Registrar:
    def __init__(
        self,
        config: RegistrarConfig,
        domain: str,
        endpoints: Endpoints,
        bindings: Bindings,
        clock: Clock,
        secret: bytes,
        names: ServerNames,
    ) -> None:
        self._config = config
        self._names = names
        self._domain = domain.lower()
        self._endpoints = endpoints
        self._bindings = bindings
        self._clock = clock
        self._nonces = Nonces(secret, config.nonce_lifetime)
        self._failures = _FailureWindow(config.failures_per_minute)
        self._algorithms = [a for a in ALGORITHM_PREFERENCE if a in config.digest_algorithms]
        # Compared against when the user is unknown, so both failures cost the same work.
        self._unknown_ha1 = secrets.token_hex(16)
        self._date: tuple[int, str] = (0, "")
        self._statistics = dict.fromkeys((*OUTCOMES, "bindings_closed_with_connection"), 0)

    def handle_register(self, request: Request, source: Peer) -> Response:
        try:
            return self._handle(request, source, self._clock.wall())
        except SipParseError as error:
            self._statistics["rejected"] += 1
            return self._reply(request, 400, f"Bad Request - {error.reason}")
        except sqlite3.Error:
            # The store is busy or broken: nothing was bound, and the client may retry.
            logger.exception("registrar store failed for Call-ID %s", request.call_id)
            self._statistics["rejected"] += 1
            return self._reply(request, 500, headers=[("Retry-After", str(RETRY_AFTER_SECONDS))])

    def authenticate(self, request: Request, source: Peer) -> Endpoint | Response:
        """Digest-authenticate a request other than REGISTER (an INVITE from one of our
        endpoints): the endpoint, or the 407 challenge or 403 to answer with (§22.3, a proxy's
        challenge, since the request is for someone else)."""
        now = self._clock.wall()
        if self._failures.blocked(source.host, now):
            self._statistics["rate_limited"] += 1
            return self._reply(request, 403)
        verdict, endpoint = self._authenticate(request, now, PROXY_AUTHORIZATION)
        if verdict is _Verdict.CHALLENGE or verdict is _Verdict.STALE:
            return self._challenge(request, now, stale=verdict is _Verdict.STALE, proxy=True)
        if endpoint is None:
            self._failures.record(source.host, now)
            self._statistics["forbidden"] += 1
            return self._reply(request, 403)
        return endpoint

    def connection_closed(self, flow: Peer) -> None:
        """A WebSocket closed: its bindings go with it (RFC 5626's flow idea), since a client
        with a `.invalid` Contact (RFC 7118 §5) is reachable through that connection alone."""
        removed = self._bindings.remove_flow(flow.transport, flow.host, flow.port)
        self._statistics["bindings_closed_with_connection"] += removed
        if removed:
            logger.info("%d bindings ended with connection %s", removed, flow.host_port())

    def forget_connections(self, transports: Sequence[str]) -> int:
        """At start: bindings over connections of a previous run are unreachable now."""
        return self._bindings.remove_transports(transports)

    def sweep_expired(self) -> int:
        return self._bindings.remove_expired(self._clock.wall())

    def contacts_for(self, username: str) -> list[Binding]:
        return self._bindings.for_user(username, self._clock.wall())

    def statistics(self) -> dict[str, int]:
        now = self._clock.wall()
        return {
            **self._statistics,
            "bindings": self._bindings.count(now),
            "nonces_tracked": self._nonces.tracked(),
        }

    def _handle(self, request: Request, source: Peer, now: float) -> Response:
        address_of_record = request.to_address.uri
        refusal = self._refusal(request, address_of_record, source, now)
        if refusal is not None:
            return refusal
        verdict, endpoint = self._authenticate(request, now)
        if verdict is _Verdict.CHALLENGE or verdict is _Verdict.STALE:
            return self._challenge(request, now, stale=verdict is _Verdict.STALE)
        # §10.3 step 4: an authenticated user may only change its own bindings.
        user = unquote(address_of_record.user or "")
        if endpoint is None or user != endpoint.username:
            self._failures.record(source.host, now)
            self._statistics["forbidden"] += 1
            return self._reply(request, 403)
        return self._update_bindings(request, source, endpoint.username, now)

    def _refusal(
        self, request: Request, address_of_record: SipUri, source: Peer, now: float
    ) -> Response | None:
        """The answer to a REGISTER refused before authentication, if it is."""
        if self._failures.blocked(source.host, now):
            self._statistics["rate_limited"] += 1
            return self._reply(request, 403)
        if address_of_record.host != self._domain or not address_of_record.user:
            # §10.3 step 3: the AOR is not valid for our domain. This says nothing about
            # which users exist, only which domain we serve.
            self._statistics["rejected"] += 1
            return self._reply(request, 404)
        unsupported = self._unsupported_extensions(request)
        if unsupported:
            # §10.3 step 2 / §8.2.2.3: we implement no extension a registrar could be required to.
            self._statistics["rejected"] += 1
            return self._reply(request, 420, headers=[("Unsupported", ", ".join(unsupported))])
        return None

    def _unsupported_extensions(self, request: Request) -> list[str]:
        return [tag for tag in request.headers.get_all("Require") if tag]

    def _authenticate(
        self, request: Request, now: float, header: str = "Authorization"
    ) -> tuple[_Verdict, Endpoint | None]:
        credentials = self._credentials(request, header)
        if credentials is None or credentials.algorithm not in self._algorithms:
            return _Verdict.CHALLENGE, None
        state = self._nonces.check(credentials.nonce, now)
        if state is NonceState.INVALID:
            return _Verdict.CHALLENGE, None
        self._check_scope(request, credentials)
        endpoint = self._endpoints.get(credentials.username)
        known = endpoint is not None and endpoint.realm.lower() == self._domain
        ha1 = endpoint.ha1(credentials.algorithm) if endpoint and known else self._unknown_ha1
        if not credentials.matches(ha1, request.method) or not known:
            return _Verdict.FAILED, None
        nonce_count = credentials.nonce_count or 0
        if state is NonceState.STALE or not self._nonces.accept_count(
            credentials.nonce, nonce_count, now
        ):
            # RFC 7616 §3.3: the password was right, only the nonce is too old or reused.
            return _Verdict.STALE, None
        return _Verdict.AUTHENTICATED, endpoint

    def _credentials(self, request: Request, header: str) -> DigestCredentials | None:
        """The credentials for our realm; those for other realms are ignored (§22.3)."""
        for value in request.headers.get_all(header):
            credentials = DigestCredentials.parse(value)
            if credentials.realm.lower() == self._domain:
                return credentials
        return None

    def _check_scope(self, request: Request, credentials: DigestCredentials) -> None:
        if credentials.qop is None:
            # We always offer qop="auth"; without it there is no nonce count to stop replays.
            raise SipParseError("qop=auth required")
        if not designates_request_target(credentials.uri, request.uri, self._names.names_us):
            # RFC 7616 §3.4.6: a digest for another resource is a 400, before any user lookup.
            raise SipParseError("Digest uri names neither the Request-URI nor this server")

    def _challenge(
        self, request: Request, now: float, *, stale: bool, proxy: bool = False
    ) -> Response:
        self._statistics["stale" if stale else "challenged"] += 1
        nonce = self._nonces.issue(now)
        header = "Proxy-Authenticate" if proxy else "WWW-Authenticate"
        challenges = [
            (header, str(DigestChallenge(self._domain, nonce, algorithm, stale=stale)))
            for algorithm in self._algorithms
        ]
        return self._reply(request, 407 if proxy else 401, headers=challenges)

    def _update_bindings(
        self, request: Request, source: Peer, username: str, now: float
    ) -> Response:
        current = {binding.contact: binding for binding in self._bindings.for_user(username, now)}
        if request.is_contact_star:
            return self._remove_all(request, username, current, now)
        wanted = self._contact_requests(request)
        if isinstance(wanted, Response):
            return wanted
        if not self._in_order(
            request, [current[c.contact] for c in wanted if c.contact in current]
        ):
            return self._out_of_order(request)
        upserts = [self._binding(request, source, username, c, now) for c in wanted if c.expires]
        removals = [c.contact for c in wanted if not c.expires and c.contact in current]
        if upserts or removals:
            # §10.3 step 7: all changes commit together, and before the 200 leaves.
            self._bindings.update(username, upserts, removals)
        for contact in removals:
            del current[contact]
        current.update((binding.contact, binding) for binding in upserts)
        return self._registered(request, current.values(), now)

    def _remove_all(
        self, request: Request, username: str, current: dict[str, Binding], now: float
    ) -> Response:
        # §10.3 step 6: "*" is only valid alone and with Expires: 0.
        if request.expires != 0 or len(request.headers.get_all("Contact")) != 1:
            self._statistics["rejected"] += 1
            return self._reply(request, 400, "Bad Request - Contact: * needs Expires: 0 alone")
        if not self._in_order(request, current.values()):
            return self._out_of_order(request)
        self._bindings.update(username, (), list(current))
        return self._registered(request, (), now)

    def _contact_requests(self, request: Request) -> list[_ContactRequest] | Response:
        """§10.3 step 6: each contact's expiry (param, else Expires, else default), checked."""
        default = request.expires
        wanted: dict[str, _ContactRequest] = {}
        for contact in request.contacts:
            expires = _expires_parameter(contact)
            if expires is None:
                expires = self._config.default_expires if default is None else default
            if 0 < expires < self._config.min_expires:
                self._statistics["rejected"] += 1
                headers = [("Min-Expires", str(self._config.min_expires))]
                return self._reply(request, 423, "Interval Too Brief", headers=headers)
            expires = min(expires, self._config.max_expires)
            uri = str(contact.uri)
            wanted[uri] = _ContactRequest(uri, expires, _q_parameter(contact))
        return list(wanted.values())

    def _in_order(self, request: Request, existing: Iterable[Binding]) -> bool:
        """§10.3 step 7: within one Call-ID, a binding only moves forward in CSeq."""
        call_id, cseq = request.call_id, request.cseq.number
        return all(b.call_id != call_id or cseq > b.cseq for b in existing)

    def _out_of_order(self, request: Request) -> Response:
        self._statistics["rejected"] += 1
        return self._reply(request, 400, "Bad Request - CSeq out of order for this Call-ID")

    def _binding(
        self, request: Request, source: Peer, username: str, wanted: _ContactRequest, now: float
    ) -> Binding:
        user_agent = request.headers.get("User-Agent") or ""
        return Binding(
            username=username,
            contact=wanted.contact,
            expires_at=now + wanted.expires,
            q=wanted.q,
            call_id=request.call_id,
            cseq=request.cseq.number,
            transport=source.transport,
            source_host=source.host,
            source_port=source.port,
            user_agent=user_agent[:MAX_USER_AGENT_LENGTH],
        )

    def _registered(self, request: Request, bindings: Iterable[Binding], now: float) -> Response:
        """§10.3 step 8: the 200 lists every current binding with its remaining lifetime."""
        self._statistics["registered"] += 1
        headers = [("Contact", _contact_value(binding, now)) for binding in bindings]
        return self._reply(request, 200, headers=headers)

    def _reply(
        self,
        request: Request,
        status_code: int,
        reason: str | None = None,
        *,
        headers: list[tuple[str, str]] | None = None,
    ) -> Response:
        headers = [*(headers or []), ("Date", self._date_value())]
        to_tag = new_tag()
        return build_response(request, status_code, reason, to_tag=to_tag, headers=headers)

    def _date_value(self) -> str:
        """RFC 3261 §20.17 Date (RFC 1123 form, GMT), formatted once per second."""
        second = int(self._clock.wall())
        if self._date[0] != second:
            self._date = (second, formatdate(second, usegmt=True))
        return self._date[1]


def _expires_parameter(contact: NameAddress) -> int | None:
    text = contact.parameter("expires")
    if text is None:
        return None
    if not text.isdigit():
        raise SipParseError("Contact expires must be a number of seconds")
    return int(text)


def _q_parameter(contact: NameAddress) -> float | None:
    text = contact.parameter("q")
    if text is None:
        return None
    try:
        q = float(text)
    except ValueError:
        raise SipParseError("Contact q must be a number") from None
    if not 0.0 <= q <= 1.0:
        raise SipParseError("Contact q must lie in [0, 1]")
    return q


def _contact_value(binding: Binding, now: float) -> str:
    q = "" if binding.q is None else f";q={binding.q:g}"
    return f"<{binding.contact}>;expires={binding.expires_in(now)}{q}"
