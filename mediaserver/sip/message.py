"""SIP requests and responses (RFC 3261 §7): parsing, validation, serialisation, responses."""

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar, cast

from mediaserver.sip import grammar
from mediaserver.sip.errors import SipParseError
from mediaserver.sip.headers import (
    CSeq,
    Headers,
    NameAddress,
    Via,
    canonical_name,
    header_key,
    split_list,
)
from mediaserver.sip.status import reason_phrase
from mediaserver.sip.uri import SipUri

__all__ = [
    "Headers",
    "Message",
    "Request",
    "Response",
    "build_response",
    "error_response_for",
    "parse_message",
]

# Headers that hold one value (§20): a second occurrence is a 400 (RFC 4475 §3.3.8, §3.3.9).
_SINGLE_KEYS = frozenset(
    ("call-id", "content-length", "content-type", "cseq", "expires", "from", "max-forwards", "to")
)
# Max-Forwards is not required: an RFC 2543 request has none and should still be served
# (RFC 4475 §3.4.1); a proxy adds one (RFC 3261 §16.6 step 3), a UAS does not need it.
_REQUIRED_KEYS = ("via", "from", "to", "call-id", "cseq")
_ADDRESS_LIST_KEYS = ("contact", "route", "record-route")


_View = TypeVar("_View")


def _parse_top_via(value: str) -> Via:
    return Via.parse(split_list(value)[0])


class _MessageViews:
    """Parsed views shared by requests and responses. A message is immutable, so the
    immutable views (Via, CSeq, From, To) are parsed once, on first access: transaction
    matching, the TU and the response builder each ask for them again."""

    __slots__ = ()
    headers: Headers
    _views: dict[str, object]

    def _view(self, name: str, parse: Callable[[str], _View]) -> _View:
        """The header `name` through `parse`, parsed on the first call only."""
        view = self._views.get(name)
        if view is None:
            view = self._views[name] = parse(self._required(name))
        return cast(_View, view)

    def _required(self, name: str) -> str:
        value = self.headers.get(name)
        if value is None:
            raise SipParseError(f"missing {canonical_name(name)} header")
        return value

    @property
    def via(self) -> list[Via]:
        return [Via.parse(value) for value in self.headers.get_all("Via")]

    @property
    def top_via(self) -> Via:
        return self._view("Via", _parse_top_via)

    @property
    def call_id(self) -> str:
        return self._required("Call-ID")

    @property
    def cseq(self) -> CSeq:
        return self._view("CSeq", CSeq.parse)

    @property
    def from_address(self) -> NameAddress:
        return self._view("From", NameAddress.parse)

    @property
    def to_address(self) -> NameAddress:
        return self._view("To", NameAddress.parse)

    @property
    def is_contact_star(self) -> bool:
        return self.headers.get_all("Contact") == ["*"]

    @property
    def contacts(self) -> list[NameAddress]:
        values = self.headers.get_all("Contact")
        if values == ["*"]:
            return []
        return [NameAddress.parse(value) for value in values]

    @property
    def max_forwards(self) -> int | None:
        return _bounded_integer(self.headers.get("Max-Forwards"), "Max-Forwards", 255)

    @property
    def expires(self) -> int | None:
        return _bounded_integer(self.headers.get("Expires"), "Expires", 2**32 - 1)


@dataclass(frozen=True, slots=True)
class Request(_MessageViews):
    method: str
    uri: SipUri
    headers: Headers
    body: bytes = b""
    _views: dict[str, object] = field(default_factory=dict, init=False, repr=False, compare=False)

    def serialize(self) -> bytes:
        return _serialize(f"{self.method} {self.uri} SIP/2.0", self.headers, self.body)


@dataclass(frozen=True, slots=True)
class Response(_MessageViews):
    status_code: int
    reason: str
    headers: Headers
    body: bytes = b""
    _views: dict[str, object] = field(default_factory=dict, init=False, repr=False, compare=False)

    def serialize(self) -> bytes:
        return _serialize(f"SIP/2.0 {self.status_code} {self.reason}", self.headers, self.body)


Message = Request | Response


def _serialize(start_line: str, headers: Headers, body: bytes) -> bytes:
    # §18.3 / §20.14: the Content-Length we write is always the true length of `body`.
    lines = [start_line]
    lines.extend(f"{name}: {value}" for name, value in headers if name != "Content-Length")
    lines.append(f"Content-Length: {len(body)}")
    head = "\r\n".join(lines)
    # §7: CR and LF only end lines; one inside a value would inject header fields.
    if head.count("\n") != len(lines) - 1 or head.count("\r") != len(lines) - 1:
        raise ValueError("a start line or header value holds CR or LF")
    return (head + "\r\n\r\n").encode("utf-8", "surrogateescape") + body


def _bounded_integer(value: str | None, name: str, maximum: int) -> int | None:
    if value is None:
        return None
    text = value.strip(" \t")
    if grammar.DIGITS_RE.fullmatch(text) is None or int(text) > maximum:
        raise SipParseError(f"malformed {name}")
    return int(text)


def parse_message(data: bytes) -> Message:
    """Parse one datagram or one framed stream message, validating what §8.2 and §16 rely on."""
    # §7.5: CRLFs before the start line are ignored.
    data = data.lstrip(b"\r\n")
    end = data.find(b"\r\n\r\n")
    if end < 0:
        raise SipParseError("no empty line after the header fields")
    head = grammar.FOLDING_RE.sub(" ", data[:end].decode("utf-8", "surrogateescape"))
    start_line, _, fields = head.partition("\r\n")
    headers, firsts = _parse_header_fields(fields)
    body = _framed_body(firsts.get("content-length"), data[end + 4 :])
    message: Message
    if start_line[:4].upper() == "SIP/":
        message = _parse_status_line(start_line, headers, body)
    else:
        message = _parse_request_line(start_line, headers, body)
    _validate(message, firsts)
    return message


def _parse_header_fields(text: str) -> tuple[Headers, dict[str, str]]:
    """The header fields, and the first value of each by key."""
    # §7: every line ends in CRLF; a bare CR or LF would let two parsers disagree on lines.
    line_ends = text.count("\r\n")
    if text.count("\n") != line_ends or text.count("\r") != line_ends:
        raise SipParseError("bare CR or LF in the header fields")
    fields = grammar.HEADER_FIELD_RE.findall(text)
    if len(fields) != (line_ends + 1 if text else 0):
        raise SipParseError("malformed header line")
    items: list[tuple[str, str]] = []
    keys: list[str] = []
    firsts: dict[str, str] = {}
    for name, raw_value in fields:
        key = header_key(name)
        value = raw_value.strip(" \t")
        if key not in firsts:
            firsts[key] = value
        elif key in _SINGLE_KEYS:
            raise SipParseError(f"multiple {canonical_name(name)} values")
        items.append((canonical_name(name), value))
        keys.append(key)
    return Headers.from_canonical(tuple(items), tuple(keys)), firsts


def _parse_request_line(line: str, headers: Headers, body: bytes) -> Request:
    match = grammar.REQUEST_LINE_RE.fullmatch(line)
    if match is None:
        raise SipParseError("malformed Request-Line")
    method, uri_text, version = match.groups()
    _check_version(version)
    try:
        uri = SipUri.parse(uri_text)
    except SipParseError as error:
        raise SipParseError(f"Request-URI: {error.reason}") from None
    if uri.headers:
        # §19.1.1 (table 1): headers are not allowed in a Request-URI (RFC 4475 §3.1.2.11).
        raise SipParseError("Request-URI: headers are not allowed")
    return Request(method, uri, headers, body)


def _parse_status_line(line: str, headers: Headers, body: bytes) -> Response:
    match = grammar.STATUS_LINE_RE.fullmatch(line)
    if match is None:
        raise SipParseError("malformed Status-Line")
    version, code, reason = match.groups()
    _check_version(version)
    if not 100 <= int(code) <= 699:
        raise SipParseError("status code out of range")
    return Response(int(code), reason or "", headers, body)


def _check_version(version: str) -> None:
    if version != "2.0":
        raise SipParseError("SIP version not supported", status_code=505)


def _framed_body(value: str | None, rest: bytes) -> bytes:
    """§18.3: a datagram's body ends at Content-Length, or at the datagram's end without one."""
    if value is None:
        return rest
    if grammar.DIGITS_RE.fullmatch(value) is None:
        raise SipParseError("malformed Content-Length")
    length = int(value)
    if length > len(rest):
        raise SipParseError("body shorter than Content-Length")
    return rest[:length]


def _validate(message: Message, firsts: dict[str, str]) -> None:
    for key in _REQUIRED_KEYS:
        if key not in firsts:
            raise SipParseError(f"missing {canonical_name(key)} header")
    for value in message.headers.get_all("Via"):
        Via.parse(value)
    cseq = CSeq.parse(firsts["cseq"])
    if grammar.CALL_ID_RE.fullmatch(firsts["call-id"]) is None:
        raise SipParseError("malformed Call-ID")
    _address(firsts, "from")
    _address(firsts, "to")
    # §8.1.1.5: the CSeq method MUST match the request's (RFC 4475 §3.1.2.17-18).
    if isinstance(message, Request) and cseq.method != message.method:
        raise SipParseError("CSeq method does not match the request method")
    _bounded_integer(firsts.get("max-forwards"), "Max-Forwards", 255)
    _bounded_integer(firsts.get("expires"), "Expires", 2**32 - 1)
    for key in _ADDRESS_LIST_KEYS:
        if key in firsts:
            _validate_address_list(message.headers, key)


def _address(firsts: dict[str, str], key: str) -> None:
    try:
        NameAddress.parse(firsts[key])
    except SipParseError as error:
        raise SipParseError(f"{canonical_name(key)}: {error.reason}") from None


def _validate_address_list(headers: Headers, key: str) -> None:
    values = headers.get_all(key)
    if key == "contact" and values == ["*"]:
        return
    for value in values:
        try:
            NameAddress.parse(value)
        except SipParseError as error:
            raise SipParseError(f"{canonical_name(key)}: {error.reason}") from None


def build_response(
    request: Request,
    status_code: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
) -> Response:
    """§8.2.6.2: copy Via (all, in order), From, To, Call-ID and CSeq; tag the To if untagged.

    A To that already carries a tag (a request inside a dialog) keeps it; `to_tag` is then
    ignored. A 100 also echoes Timestamp (§8.2.6.1).
    """
    copied = [(name, value) for name, value in request.headers if name == "Via"]
    to_value = request._required("To")
    if to_tag is not None and request.to_address.tag is None:
        to_value = f"{to_value};tag={to_tag}"
    copied += [
        ("From", request._required("From")),
        ("To", to_value),
        ("Call-ID", request._required("Call-ID")),
        ("CSeq", request._required("CSeq")),
    ]
    timestamp = request.headers.get("Timestamp")
    if status_code == 100 and timestamp is not None:
        copied.append(("Timestamp", timestamp))
    phrase = reason_phrase(status_code) if reason is None else reason
    return Response(status_code, phrase, Headers([*copied, *headers]), body)


def error_response_for(data: bytes, error: SipParseError) -> Response | None:
    """The response to a request that failed to parse, or None when none can be sent.

    An answer needs the top Via to be routable (§18.2.2) and From, To, Call-ID and CSeq to
    copy (§8.2.6.2); they are copied verbatim. Responses and ACKs are never answered (§17.2.1).
    """
    salvaged = _salvage_request(data)
    if salvaged is None:
        return None
    method, fields = salvaged
    if method == "ACK" or any(not fields.get(key) for key in _REQUIRED_KEYS):
        return None
    vias = fields["via"]
    try:
        Via.parse(split_list(vias[0])[0])
    except SipParseError:
        return None
    return Response(
        error.status_code,
        f"{reason_phrase(error.status_code)} - {error.reason}",
        Headers(_copied_fields(data, fields)),
    )


def _copied_fields(data: bytes, fields: dict[str, list[str]]) -> list[tuple[str, str]]:
    to_value = fields["to"][0]
    try:
        untagged = NameAddress.parse(to_value).tag is None
    except SipParseError:
        # A To that does not parse is copied as it came: the client matches the answer by
        # its Via branch and CSeq (§17.1.3), not by To.
        untagged = False
    if untagged:
        # A stateless answer must tag the same request the same way (§8.2.7, §16.11).
        to_value += ";tag=" + hashlib.sha256(data).hexdigest()[:16]
    items = [("Via", via) for via in fields["via"]]
    items += [
        ("From", fields["from"][0]),
        ("To", to_value),
        ("Call-ID", fields["call-id"][0]),
        ("CSeq", fields["cseq"][0]),
    ]
    return items


def _salvage_request(data: bytes) -> tuple[str, dict[str, list[str]]] | None:
    """Method and raw values of the fields a response copies, read as leniently as possible."""
    data = data.lstrip(b"\r\n")
    end = data.find(b"\r\n\r\n")
    head = grammar.FOLDING_RE.sub(
        " ", data[: end if end >= 0 else len(data)].decode("utf-8", "surrogateescape")
    )
    lines = head.split("\r\n")
    # A request starts "Method SP"; a Status-Line's "SIP/" is no token followed by SP.
    match = grammar.TOKEN_RE.match(lines[0])
    if match is None or lines[0][match.end() : match.end() + 1] != " ":
        return None
    fields: dict[str, list[str]] = {key: [] for key in _REQUIRED_KEYS}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        key = header_key(name.strip(" \t"))
        value = value.strip(" \t")
        # A value holding a bare CR or LF cannot be copied without splitting the answer.
        if key in fields and value and "\r" not in value and "\n" not in value:
            fields[key].append(value)
    return match.group(), fields
