"""HTTP Digest authentication for SIP: RFC 7616 (MD5, SHA-256), RFC 8760, RFC 3261 §22.

Pure: the server's nonces are stateless (an HMAC over the issue time with a server secret),
and every check takes `now` (seconds since the Unix epoch) as an argument.
"""

import enum
import hashlib
import hmac
import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from mediaserver.sip.errors import SipParseError
from mediaserver.sip.uri import SipUri

ALGORITHMS = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}
QOP_AUTH = "auth"

# RFC 7616 §3.3 / RFC 7235 §2.1: auth-param = token BWS "=" BWS ( token / quoted-string ),
# separated by commas. The list is validated whole, then its parameters are picked out.
_PARAMETER_TEXT = (
    r"[ \t]*([A-Za-z0-9!#$%&'*+.^_`|~-]+)[ \t]*=[ \t]*"  # token BWS "=" BWS
    r'(?:"((?:[^"\\]|\\.)*)"|([^\s",]+))[ \t]*'  # quoted-string / token
)
_PARAMETER = re.compile(_PARAMETER_TEXT)
_PARAMETER_LIST = re.compile(f"(?:{_PARAMETER_TEXT})(?:,(?:{_PARAMETER_TEXT}))*")
_ESCAPED = re.compile(r"\\(.)")
_NONCE_COUNT = re.compile(r"[0-9A-Fa-f]{8}")
_NONCE = re.compile(r"([0-9a-f]{12})([0-9a-f]{8})([0-9a-f]{32})")


def hash_hex(algorithm: str, text: str) -> str:
    return ALGORITHMS[algorithm](text.encode()).hexdigest()


def parse_parameters(text: str) -> tuple[str, dict[str, str]]:
    """Split `Digest a="b", c=d` into the scheme and its parameters (names lower-cased).

    Quoted values are unescaped (RFC 7230 §3.2.6 quoted-pair); a repeated name is an error.
    """
    scheme, _, rest = text.strip().partition(" ")
    if not scheme or not rest.strip():
        raise SipParseError("malformed Digest header")
    if _PARAMETER_LIST.fullmatch(rest) is None:
        raise SipParseError("malformed Digest parameter list")
    parameters: dict[str, str] = {}
    for name, quoted, token in _PARAMETER.findall(rest):
        key = name.lower()
        if key in parameters:
            raise SipParseError(f"repeated Digest parameter {key}")
        parameters[key] = _ESCAPED.sub(r"\1", quoted) if "\\" in quoted else quoted or token
    return scheme, parameters


def quote(value: str) -> str:
    """RFC 7230 §3.2.6 quoted-string."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _digest_scheme(text: str) -> dict[str, str]:
    scheme, parameters = parse_parameters(text)
    if scheme.lower() != "digest":
        raise SipParseError(f"unsupported authentication scheme {scheme}")
    return parameters


def _algorithm(parameters: dict[str, str]) -> str:
    # RFC 7616 §3.3: algorithm defaults to MD5; names compare case-insensitively.
    algorithm = parameters.get("algorithm", "MD5").upper()
    if algorithm not in ALGORITHMS:
        raise SipParseError(f"unsupported digest algorithm {algorithm}")
    return algorithm


def _required(parameters: dict[str, str], name: str) -> str:
    value = parameters.get(name)
    if value is None:
        raise SipParseError(f"Digest parameter {name} missing")
    return value


@dataclass(frozen=True, slots=True)
class DigestChallenge:
    """A WWW-Authenticate value (RFC 7616 §3.3)."""

    realm: str
    nonce: str
    algorithm: str = "MD5"
    qop: str | None = QOP_AUTH
    stale: bool = False
    opaque: str | None = None

    @classmethod
    def parse(cls, text: str) -> "DigestChallenge":
        parameters = _digest_scheme(text)
        return cls(
            realm=_required(parameters, "realm"),
            nonce=_required(parameters, "nonce"),
            algorithm=_algorithm(parameters),
            qop=parameters.get("qop"),
            stale=parameters.get("stale", "false").lower() == "true",
            opaque=parameters.get("opaque"),
        )

    def __str__(self) -> str:
        parts = [f"realm={quote(self.realm)}", f"nonce={quote(self.nonce)}"]
        if self.opaque is not None:
            parts.append(f"opaque={quote(self.opaque)}")
        if self.stale:
            parts.append("stale=true")
        parts.append(f"algorithm={self.algorithm}")
        if self.qop is not None:
            parts.append(f"qop={quote(self.qop)}")
        return "Digest " + ", ".join(parts)


@dataclass(frozen=True, slots=True)
class DigestCredentials:
    """An Authorization value (RFC 7616 §3.4)."""

    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: str = "MD5"
    qop: str | None = None
    nonce_count: int | None = None
    cnonce: str | None = None
    opaque: str | None = None

    @classmethod
    def parse(cls, text: str) -> "DigestCredentials":
        parameters = _digest_scheme(text)
        if "username*" in parameters or parameters.get("userhash", "false").lower() != "false":
            # RFC 7616 §3.4.4 extended and hashed user names: we challenge without userhash.
            raise SipParseError("username* and userhash are not supported")
        qop = parameters.get("qop")
        nonce_count = parameters.get("nc")
        if qop is not None and (nonce_count is None or "cnonce" not in parameters):
            raise SipParseError("qop given without nc and cnonce")
        if nonce_count is not None and not _NONCE_COUNT.fullmatch(nonce_count):
            raise SipParseError("nc must be 8 hexadecimal digits")
        return cls(
            username=_required(parameters, "username"),
            realm=_required(parameters, "realm"),
            nonce=_required(parameters, "nonce"),
            uri=_required(parameters, "uri"),
            response=_required(parameters, "response").lower(),
            algorithm=_algorithm(parameters),
            qop=qop,
            nonce_count=None if nonce_count is None else int(nonce_count, 16),
            cnonce=parameters.get("cnonce"),
            opaque=parameters.get("opaque"),
        )

    def __str__(self) -> str:
        parts = [
            f"username={quote(self.username)}",
            f"realm={quote(self.realm)}",
            f"nonce={quote(self.nonce)}",
            f"uri={quote(self.uri)}",
            f"response={quote(self.response)}",
            f"algorithm={self.algorithm}",
        ]
        if self.cnonce is not None:
            parts.append(f"cnonce={quote(self.cnonce)}")
        if self.opaque is not None:
            parts.append(f"opaque={quote(self.opaque)}")
        if self.qop is not None and self.nonce_count is not None:
            parts.append(f"qop={self.qop}, nc={self.nonce_count:08x}")
        return "Digest " + ", ".join(parts)

    def expected_response(self, ha1: str, method: str) -> str:
        return digest_response(
            ha1,
            method=method,
            uri=self.uri,
            nonce=self.nonce,
            algorithm=self.algorithm,
            qop=self.qop,
            nonce_count=self.nonce_count,
            cnonce=self.cnonce,
        )

    def matches(self, ha1: str, method: str) -> bool:
        """Constant-time comparison of the client's response with the expected one."""
        return hmac.compare_digest(self.expected_response(ha1, method), self.response)


def ha1_for(username: str, realm: str, password: str, algorithm: str) -> str:
    """RFC 7616 §3.4.2: A1 = username ":" realm ":" password (non-session algorithms)."""
    return hash_hex(algorithm, f"{username}:{realm}:{password}")


def digest_response(
    ha1: str,
    *,
    method: str,
    uri: str,
    nonce: str,
    algorithm: str,
    qop: str | None = None,
    nonce_count: int | None = None,
    cnonce: str | None = None,
) -> str:
    """RFC 7616 §3.4.1 response; without qop, the RFC 2069 form RFC 3261 §22.4 keeps."""
    ha2 = hash_hex(algorithm, f"{method}:{uri}")
    if qop is None:
        return hash_hex(algorithm, f"{ha1}:{nonce}:{ha2}")
    if qop != QOP_AUTH:
        raise SipParseError(f"unsupported qop {qop}")
    return hash_hex(algorithm, f"{ha1}:{nonce}:{nonce_count or 0:08x}:{cnonce}:{qop}:{ha2}")


def designates_request_target(
    digest_uri: str, request_uri: SipUri, names_us: Callable[[str, int | None], bool]
) -> bool:
    """Whether a digest `uri` may stand for the Request-URI.

    RFC 7616 §3.4.6 (RFC 2617 §3.2.2.5) has both designate the same resource, else 400.
    RFC 3261 §22.4 item 6 relaxes this for SIP, where proxies rewrite the Request-URI: a server
    may check that `uri` names someone it accepts requests for, and unequal URIs are not
    necessarily a failure. So besides the Request-URI, a SIP URI is accepted when its host and
    port name this server (`names_us`: our domain, or an address and port we are reached at),
    whatever its user or `transport`, as SIPp sends it (the address it sent the request to);
    one with a `maddr` (§19.1.1) points elsewhere. The response is computed over `uri` as sent.
    """
    if digest_uri == str(request_uri):
        return True
    uri = SipUri.parse(digest_uri)
    if uri == request_uri:
        return True
    return (
        uri.scheme == request_uri.scheme
        and not uri.has_parameter("maddr")
        and names_us(uri.host, uri.port)
    )


class NonceState(enum.Enum):
    VALID = "valid"
    STALE = "stale"  # ours, but older than the lifetime (RFC 7616 §3.3 stale=true)
    INVALID = "invalid"  # not issued by us (or with another secret)


class Nonces:
    """Stateless nonces plus bounded nonce-count replay tracking (RFC 7616 §3.4, §5.5).

    A nonce is `issue time (ms, 12 hex) | counter (8 hex) | HMAC-SHA-256 prefix (32 hex)`, so
    checking one needs no table. Replays are caught with the highest nc seen per nonce, for at
    most `max_tracked` nonces; once a nonce is forgotten, every nonce issued no later than it
    is answered as stale, so the client simply gets a fresh one.
    """

    def __init__(self, secret: bytes, lifetime: float, max_tracked: int = 65536) -> None:
        self._secret = secret
        self._lifetime = lifetime
        self._max_tracked = max_tracked
        self._counter = 0
        self._highest_counts: OrderedDict[str, tuple[float, int]] = OrderedDict()
        self._forgotten_before = float("-inf")
        # check() then accept_count() verify the same nonce back to back: remember one.
        self._last_verified: tuple[str, float] = ("", 0.0)

    def issue(self, now: float) -> str:
        self._counter = (self._counter + 1) & 0xFFFFFFFF
        stamp = f"{int(now * 1000):012x}{self._counter:08x}"
        return stamp + self._mac(stamp)

    def check(self, nonce: str, now: float) -> NonceState:
        issued_at = self._issued_at(nonce)
        if issued_at is None:
            return NonceState.INVALID
        fresh = now - issued_at <= self._lifetime
        return NonceState.VALID if fresh else NonceState.STALE

    def accept_count(self, nonce: str, nonce_count: int, now: float) -> bool:
        """Record a use of a VALID nonce; False unless `nonce_count` beats every earlier one."""
        issued_at = self._issued_at(nonce)
        if issued_at is None:
            return False
        previous = self._highest_counts.get(nonce)
        if previous is None and issued_at <= self._forgotten_before:
            return False
        if previous is not None and nonce_count <= previous[1]:
            return False
        self._highest_counts[nonce] = (issued_at, nonce_count)
        self._forget_old(now)
        return True

    def tracked(self) -> int:
        return len(self._highest_counts)

    def _forget_old(self, now: float) -> None:
        while self._highest_counts:
            nonce, (issued_at, _) = next(iter(self._highest_counts.items()))
            expired = now - issued_at > self._lifetime
            if not expired and len(self._highest_counts) <= self._max_tracked:
                return
            del self._highest_counts[nonce]
            self._forgotten_before = max(self._forgotten_before, issued_at)

    def _issued_at(self, nonce: str) -> float | None:
        if self._last_verified[0] == nonce:
            return self._last_verified[1]
        match = _NONCE.fullmatch(nonce)
        if match is None:
            return None
        stamp = match.group(1) + match.group(2)
        if not hmac.compare_digest(self._mac(stamp), match.group(3)):
            return None
        issued_at = int(match.group(1), 16) / 1000
        self._last_verified = (nonce, issued_at)
        return issued_at

    def _mac(self, stamp: str) -> str:
        return hmac.new(self._secret, stamp.encode(), hashlib.sha256).hexdigest()[:32]
