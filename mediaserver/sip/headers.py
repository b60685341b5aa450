"""Header fields: the Headers multimap (§7.3) and the structured values Via (§20.42),
name-addr headers (§20.10, §20.20, §20.39) and CSeq (§20.16).
"""

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from mediaserver.sip import grammar
from mediaserver.sip.errors import SipParseError
from mediaserver.sip.uri import Parameters, SipUri, format_parameters

# quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F): what must be escaped to stay in a quoted-string.
_NEEDS_QUOTED_PAIR_RE = re.compile(r'[\x00-\x09\x0b\x0c\x0e-\x1f\x7f"\\]')


def parse_parameters(text: str, header: str) -> Parameters:
    """`*( SEMI generic-param )` with names lower-cased and values as written (quotes kept)."""
    if not text:
        return ()
    if grammar.GENERIC_PARAMS_RE.fullmatch(text) is None:
        raise SipParseError(f"malformed {header} parameters")
    return tuple(
        (name.lower(), value or None) for name, value in grammar.GENERIC_PARAM_RE.findall(text)
    )


def find_parameter(parameters: Parameters, name: str) -> str | None:
    name = name.lower()
    for key, value in parameters:
        if key == name:
            return value
    return None


def replace_parameter(parameters: Parameters, name: str, value: str | None) -> Parameters:
    """Replace the parameter in place if present, else append it."""
    name = name.lower()
    if any(key == name for key, _ in parameters):
        return tuple((key, value if key == name else old) for key, old in parameters)
    return (*parameters, (name, value))


def quote(text: str) -> str:
    """A quoted-string holding `text` (§25.1); CR and LF have no quoted-pair form."""
    if "\r" in text or "\n" in text:
        raise ValueError("a quoted-string cannot hold CR or LF (RFC 3261 §25.1)")
    return '"' + _NEEDS_QUOTED_PAIR_RE.sub(lambda match: "\\" + match.group(), text) + '"'


def unquote(quoted: str) -> str:
    inner = quoted[1:-1]
    return grammar.QUOTED_PAIR_RE.sub(r"\1", inner) if "\\" in inner else inner


def _host(text: str) -> str:
    return text[1:-1].lower() if text.startswith("[") else text.lower()


@dataclass(frozen=True, slots=True)
class Via:
    """One via-parm. Only SIP/2.0 is accepted; unknown transports are kept (RFC 4475 §3.1.1.10)."""

    transport: str
    host: str
    port: int | None = None
    parameters: Parameters = ()

    @classmethod
    def parse(cls, text: str) -> "Via":
        text = text.strip(" \t")
        match = grammar.VIA_RE.match(text)
        if match is None:
            raise SipParseError("malformed Via")
        protocol, version, transport, host, port = match.groups()
        if protocol.upper() != "SIP" or version != "2.0":
            raise SipParseError("Via is not SIP/2.0")
        port_number = None if port is None else int(port)
        if port_number is not None and port_number > 65535:
            raise SipParseError("Via port out of range")
        return cls(
            transport.upper(),
            _host(host),
            port_number,
            parse_parameters(text[match.end() :], "Via"),
        )

    @property
    def branch(self) -> str | None:
        return find_parameter(self.parameters, "branch")

    @property
    def received(self) -> str | None:
        return find_parameter(self.parameters, "received")

    @property
    def rport(self) -> str | None:
        """RFC 3581: "" when the client asked for rport, the port once a server filled it in."""
        for key, value in self.parameters:
            if key == "rport":
                return "" if value is None else value
        return None

    def with_parameter(self, name: str, value: str | None) -> "Via":
        return Via(
            self.transport, self.host, self.port, replace_parameter(self.parameters, name, value)
        )

    def sent_by(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port is None else f"{host}:{self.port}"

    def __str__(self) -> str:
        return f"SIP/2.0/{self.transport} {self.sent_by()}{format_parameters(self.parameters)}"


@dataclass(frozen=True, slots=True)
class NameAddress:
    """A URI with optional display name and header parameters; display_name is unquoted."""

    uri: SipUri
    display_name: str | None = None
    parameters: Parameters = ()

    @classmethod
    def parse(cls, text: str) -> "NameAddress":
        text = text.strip(" \t")
        if text.startswith('"'):
            match = grammar.QUOTED_STRING_RE.match(text)
            if match is None:
                raise SipParseError("unterminated quoted string")
            rest = text[match.end() :].lstrip(" \t")
            if not rest.startswith("<"):
                raise SipParseError("display name without <URI>")
            return _bracketed(unquote(match.group()), rest)
        less_than = text.find("<")
        if less_than >= 0:
            display = text[:less_than].rstrip(" \t")
            if display and grammar.DISPLAY_TOKENS_RE.fullmatch(display) is None:
                raise SipParseError("display name is neither tokens nor a quoted string")
            return _bracketed(display or None, text[less_than:])
        return _addr_spec(text)

    @property
    def tag(self) -> str | None:
        return find_parameter(self.parameters, "tag")

    def parameter(self, name: str) -> str | None:
        return find_parameter(self.parameters, name)

    def with_parameter(self, name: str, value: str | None) -> "NameAddress":
        return NameAddress(
            self.uri, self.display_name, replace_parameter(self.parameters, name, value)
        )

    def __str__(self) -> str:
        display = "" if self.display_name is None else quote(self.display_name) + " "
        return f"{display}<{self.uri}>{format_parameters(self.parameters)}"


def _bracketed(display_name: str | None, text: str) -> NameAddress:
    greater_than = text.find(">")
    if greater_than < 0:
        raise SipParseError("missing > after URI")
    uri = SipUri.parse(text[1:greater_than])
    return NameAddress(uri, display_name, parse_parameters(text[greater_than + 1 :], "address"))


def _addr_spec(text: str) -> NameAddress:
    semicolon = text.find(";")
    uri_text = text if semicolon < 0 else text[:semicolon].rstrip(" \t")
    parameters_text = "" if semicolon < 0 else text[semicolon:]
    # §20: a URI holding a comma, question mark or semicolon MUST be enclosed in <>; unenclosed,
    # a ";" starts the header parameters (RFC 4475 §3.1.2.13, §3.3.12).
    if "?" in uri_text or "," in uri_text:
        raise SipParseError("URI with ? or , must be enclosed in <>")
    uri = SipUri.parse(uri_text)
    return NameAddress(uri, None, parse_parameters(parameters_text, "address"))


@dataclass(frozen=True, slots=True)
class CSeq:
    number: int
    method: str

    @classmethod
    def parse(cls, text: str) -> "CSeq":
        match = grammar.CSEQ_RE.fullmatch(text.strip(" \t"))
        if match is None:
            raise SipParseError("malformed CSeq")
        number = int(match.group(1))
        # §8.1.1.5: the sequence number MUST be expressible as a 32-bit unsigned integer and
        # start below 2**31; RFC 4475 §3.1.2.4 rejects anything larger.
        if number >= 2**32:
            raise SipParseError("CSeq number out of range")
        return cls(number, match.group(2))

    def __str__(self) -> str:
        return f"{self.number} {self.method}"


# §7.3.3 compact forms, plus those registered since (RFC 3265, 3515, 3892, 3841, 4028, 4474).
_COMPACT_KEYS = {
    "i": "call-id",
    "m": "contact",
    "e": "content-encoding",
    "l": "content-length",
    "c": "content-type",
    "f": "from",
    "s": "subject",
    "k": "supported",
    "t": "to",
    "v": "via",
    "o": "event",
    "u": "allow-events",
    "r": "refer-to",
    "b": "referred-by",
    "a": "accept-contact",
    "j": "reject-contact",
    "d": "request-disposition",
    "x": "session-expires",
    "y": "identity",
}
_CANONICAL_NAMES = {
    name.lower(): name
    for name in (
        "Accept", "Accept-Contact", "Accept-Encoding", "Accept-Language", "Alert-Info", "Allow",
        "Allow-Events", "Authentication-Info", "Authorization", "Call-ID", "Call-Info",
        "Contact", "Content-Disposition", "Content-Encoding", "Content-Language",
        "Content-Length", "Content-Type", "CSeq", "Date", "Error-Info", "Event", "Expires",
        "From", "Identity", "In-Reply-To", "Max-Forwards", "Min-Expires", "MIME-Version",
        "Organization", "Path", "Priority", "Proxy-Authenticate", "Proxy-Authorization",
        "Proxy-Require", "RAck", "Reason", "Record-Route", "Refer-To", "Referred-By",
        "Reject-Contact", "Reply-To", "Request-Disposition", "Require", "Retry-After", "Route",
        "RSeq", "Server", "Service-Route", "Session-Expires", "Subject", "Subscription-State",
        "Supported", "Timestamp", "To", "Unsupported", "User-Agent", "Via", "Warning",
        "WWW-Authenticate",
    )
}  # fmt: skip
# Headers whose grammar is a comma-separated list (§7.3.1), split by `Headers.get_all`.
_COMMA_LIST_KEYS = frozenset(
    (
        "accept", "accept-contact", "accept-encoding", "accept-language", "alert-info", "allow",
        "allow-events", "call-info", "contact", "content-encoding", "content-language",
        "error-info", "in-reply-to", "path", "proxy-require", "record-route", "reject-contact",
        "require", "route", "service-route", "supported", "unsupported", "via", "warning",
    )
)  # fmt: skip
# The parts of a list value: a run of plain text, a quoted-string, a <URI>, or a comma. An
# unterminated quote or bracket runs to the end, so the element's own parser reports it.
_LIST_PART_RE = re.compile(r'[^,"<]+|"(?:[^"\\]|\\[\s\S])*(?:"|\\?$)|<[^>]*(?:>|$)|,')


# The usual spellings, looked up as written before falling back to lower-casing.
_KEY_BY_SPELLING = {
    **{name: key for key, name in _CANONICAL_NAMES.items()},
    **{key: key for key in _CANONICAL_NAMES},
    **_COMPACT_KEYS,
    **{compact.upper(): key for compact, key in _COMPACT_KEYS.items()},
}


def header_key(name: str) -> str:
    """The case-folded long name: "v", "VIA" and "Via" all give "via"."""
    key = _KEY_BY_SPELLING.get(name)
    if key is None:
        lowered = name.lower()
        key = _COMPACT_KEYS.get(lowered, lowered)
    return key


def canonical_name(name: str) -> str:
    """The long form as RFC 3261 spells it; unknown names are kept as written."""
    return _CANONICAL_NAMES.get(header_key(name), name)


def split_list(value: str) -> list[str]:
    """Split a comma-list header value on the commas outside quoted-strings and <URI>s.

    Empty elements are kept (",," gives three): the grammar has none, so their parsers refuse.
    """
    if "," not in value:
        return [value]
    elements: list[str] = []
    current: list[str] = []
    for part in _LIST_PART_RE.findall(value):
        if part == ",":
            elements.append("".join(current).strip(" \t"))
            current = []
        else:
            current.append(part)
    elements.append("".join(current).strip(" \t"))
    return elements


class Headers:
    """An immutable, ordered multimap of (canonical long name, raw value)."""

    __slots__ = ("_items", "_keys")

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items = tuple((canonical_name(name), value) for name, value in items)
        self._keys = tuple(header_key(name) for name, _ in self._items)

    @classmethod
    def from_canonical(cls, items: tuple[tuple[str, str], ...], keys: tuple[str, ...]) -> "Headers":
        """Build from names already canonical and their keys (the parser's fast path)."""
        headers = cls.__new__(cls)
        headers._items = items
        headers._keys = keys
        return headers

    def get(self, name: str) -> str | None:
        key = header_key(name)
        for index, item_key in enumerate(self._keys):
            if item_key == key:
                return self._items[index][1]
        return None

    def get_all(self, name: str) -> list[str]:
        key = header_key(name)
        values = [self._items[i][1] for i, item_key in enumerate(self._keys) if item_key == key]
        if key not in _COMMA_LIST_KEYS:
            return values
        return [element for value in values for element in split_list(value)]

    def with_added(self, name: str, value: str, *, first: bool = False) -> "Headers":
        item = (canonical_name(name), value)
        return Headers.from_canonical(
            (item, *self._items) if first else (*self._items, item),
            (header_key(name), *self._keys) if first else (*self._keys, header_key(name)),
        )

    def with_replaced(self, name: str, value: str) -> "Headers":
        key = header_key(name)
        if key not in self._keys:
            return self.with_added(name, value)
        position = self._keys.index(key)
        kept = [(k, item) for k, item in zip(self._keys, self._items, strict=True) if k != key]
        kept.insert(position, (key, (canonical_name(name), value)))
        return Headers.from_canonical(tuple(item for _, item in kept), tuple(k for k, _ in kept))

    def without(self, name: str) -> "Headers":
        key = header_key(name)
        kept = [(k, item) for k, item in zip(self._keys, self._items, strict=True) if k != key]
        return Headers.from_canonical(tuple(item for _, item in kept), tuple(k for k, _ in kept))

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and header_key(name) in self._keys

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return self._keys == other._keys and [v for _, v in self._items] == [
            v for _, v in other._items
        ]

    def __hash__(self) -> int:
        return hash((self._keys, tuple(v for _, v in self._items)))

    def __repr__(self) -> str:
        return f"Headers({list(self._items)!r})"
