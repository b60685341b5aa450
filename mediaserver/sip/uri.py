"""SIP, SIPS and tel URIs (RFC 3261 §19.1, RFC 3966), plus opaque URIs of other schemes.

RFC 3261 §8.2.2.1 answers an unknown Request-URI scheme with 416, and RFC 4475 §3.3.2-3.3.4
makes such URIs well-formed, so any absoluteURI parses: its text after the colon is kept in
`opaque` and only the transaction user decides whether it can serve it.
"""

import functools
from dataclasses import dataclass

from mediaserver.sip import grammar
from mediaserver.sip.errors import SipParseError

Parameters = tuple[tuple[str, str | None], ...]


@dataclass(frozen=True, slots=True)
class SipUri:
    scheme: str
    user: str | None = None
    password: str | None = None
    host: str = ""
    port: int | None = None
    parameters: Parameters = ()
    headers: tuple[tuple[str, str], ...] = ()
    opaque: str = ""

    @classmethod
    def parse(cls, text: str) -> "SipUri":
        return _parse_uri(text)

    def parameter(self, name: str) -> str | None:
        """The value of a URI parameter; None when absent or when it has no value."""
        name = name.lower()
        for key, value in self.parameters:
            if key == name:
                return value
        return None

    def has_parameter(self, name: str) -> bool:
        name = name.lower()
        return any(key == name for key, _ in self.parameters)

    def host_port(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port is None else f"{host}:{self.port}"

    def __str__(self) -> str:
        if self.opaque:
            return f"{self.scheme}:{self.opaque}"
        if self.scheme == "tel":
            return f"tel:{self.user or ''}{format_parameters(self.parameters)}"
        userinfo = ""
        if self.user is not None:
            password = "" if self.password is None else f":{self.password}"
            userinfo = f"{self.user}{password}@"
        headers = "&".join(f"{name}={value}" for name, value in self.headers)
        return (
            f"{self.scheme}:{userinfo}{self.host_port()}{format_parameters(self.parameters)}"
            f"{'?' + headers if headers else ''}"
        )


# The same few URIs (the domain, each user's address of record) recur in every message, and a
# SipUri is immutable, so parsed URIs are shared. Errors are not cached: they raise each time.
@functools.lru_cache(maxsize=4096)
def _parse_uri(text: str) -> SipUri:
    match = grammar.SCHEME_RE.match(text)
    if match is None:
        raise SipParseError("malformed URI")
    scheme = match.group(1).lower()
    rest = text[match.end() :]
    if scheme in ("sip", "sips"):
        return _parse_sip(scheme, rest)
    if scheme == "tel":
        return _parse_tel(rest)
    if grammar.OPAQUE_RE.fullmatch(rest) is None:
        raise SipParseError("malformed URI")
    return SipUri(scheme=scheme, opaque=rest)


def format_parameters(parameters: Parameters) -> str:
    """ ";name=value;flag" as written on the wire (URI, Via and header parameters alike)."""
    return "".join(
        f";{name}" if value is None else f";{name}={value}" for name, value in parameters
    )


def _parse_sip(scheme: str, rest: str) -> SipUri:
    user = password = None
    # "@" occurs in no other part of a SIP-URI unescaped (§25.1), so the first one ends userinfo.
    at = rest.find("@")
    if at >= 0:
        user, has_password, password_text = rest[:at].partition(":")
        if grammar.USER_RE.fullmatch(user) is None or (
            has_password and grammar.PASSWORD_RE.fullmatch(password_text) is None
        ):
            raise SipParseError("malformed user part of URI")
        password = password_text if has_password else None
        rest = rest[at + 1 :]
    match = grammar.SIP_HOSTPART_RE.fullmatch(rest)
    if match is None:
        raise SipParseError("malformed host part of URI")
    host, port_text, parameters_text, headers_text = match.groups()
    return SipUri(
        scheme=scheme,
        user=user,
        password=password,
        host=host[1:-1].lower() if host.startswith("[") else host.lower(),
        port=_port(port_text),
        parameters=_split_parameters(parameters_text),
        headers=_split_headers(headers_text),
    )


def _parse_tel(rest: str) -> SipUri:
    match = grammar.TEL_RE.fullmatch(rest)
    if match is None:
        raise SipParseError("malformed tel URI")
    return SipUri(scheme="tel", user=match.group(1), parameters=_split_parameters(match.group(2)))


def _port(text: str | None) -> int | None:
    if text is None:
        return None
    port = int(text)
    if port > 65535:
        raise SipParseError("port out of range")
    return port


def _split_parameters(text: str) -> Parameters:
    if not text:
        return ()
    pairs: list[tuple[str, str | None]] = []
    for item in text[1:].split(";"):
        name, has_value, value = item.partition("=")
        pairs.append((name.lower(), value if has_value else None))
    return tuple(pairs)


def _split_headers(text: str | None) -> tuple[tuple[str, str], ...]:
    if not text:
        return ()
    return tuple((name, value) for name, _, value in (h.partition("=") for h in text.split("&")))
