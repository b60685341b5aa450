"""Session descriptions (RFC 4566): parse and serialize, keeping what we do not interpret.

Lenient where devices are sloppy (LF line ends, trailing white space, unknown lines and
attributes, a missing s= or t=), strict where meaning depends on it (the o=, c= and m= syntax,
payload types, rtpmap and rtcp attributes, a media stream without an address).
"""

import re
from dataclasses import dataclass, replace

DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
_NUMBER = re.compile(r"[0-9]{1,20}")  # ASCII only: str.isdigit() also admits "²"
_PTIME = re.compile(r"([0-9]{1,9})(?:\.[0-9]*)?")
_RTPMAP = re.compile(r"([0-9]{1,3}) +([^/\s]+)/([0-9]{1,9})(?:/([0-9]{0,3}))?\s*")
_RTCP = re.compile(r"([0-9]{1,5})(?: +(\S+ +\S+ +\S+))?\s*")
MAX_PAYLOAD_TYPE = 127  # RFC 3551 §3: seven bits


class SdpParseError(ValueError):
    """Not a usable session description; `reason` suits a 400 or 488 reason phrase."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Origin:
    """§5.2 o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>."""

    username: str
    session_id: str
    session_version: int
    address: str
    address_type: str = "IP4"
    network_type: str = "IN"

    @classmethod
    def parse(cls, value: str) -> "Origin":
        parts = value.split()
        if len(parts) != 6 or not _NUMBER.fullmatch(parts[2]):
            raise SdpParseError(f"malformed o= line {value[:60]!r}")
        username, session_id, version, network_type, address_type, address = parts
        return cls(username, session_id, int(version), address, address_type, network_type)

    def __str__(self) -> str:
        return (
            f"{self.username} {self.session_id} {self.session_version} "
            f"{self.network_type} {self.address_type} {self.address}"
        )


@dataclass(frozen=True, slots=True)
class Connection:
    """§5.7 c=<nettype> <addrtype> <connection-address> (a TTL or count suffix is kept)."""

    address: str
    address_type: str = "IP4"
    network_type: str = "IN"

    @classmethod
    def for_address(cls, address: str) -> "Connection":
        return cls(address, "IP6" if ":" in address else "IP4")

    @classmethod
    def parse(cls, value: str) -> "Connection":
        parts = value.split()
        if len(parts) != 3 or parts[1] not in ("IP4", "IP6"):
            raise SdpParseError(f"malformed c= line {value[:60]!r}")
        return cls(parts[2], parts[1], parts[0])

    @property
    def host(self) -> str:
        """The address without a multicast TTL or address count (§5.7)."""
        return self.address.split("/")[0]

    @property
    def is_hold(self) -> bool:
        """RFC 2543 hold: c=0.0.0.0 (RFC 3264 §8.4 asks answerers to accept it)."""
        return self.host in ("0.0.0.0", "::")

    def __str__(self) -> str:
        return f"{self.network_type} {self.address_type} {self.address}"


@dataclass(frozen=True, slots=True)
class RtpMap:
    """§6 a=rtpmap:<payload type> <encoding name>/<clock rate>[/<channels>]."""

    payload_type: int
    encoding_name: str
    clock_rate: int
    channels: int = 1

    @classmethod
    def parse(cls, value: str) -> "RtpMap":
        match = _RTPMAP.fullmatch(value)
        if match is None or int(match[1]) > MAX_PAYLOAD_TYPE:
            raise SdpParseError(f"malformed rtpmap {value[:60]!r}")
        channels = int(match[4]) if match[4] else 1
        return cls(int(match[1]), match[2], int(match[3]), channels)


@dataclass(frozen=True, slots=True)
class RtcpAddress:
    """RFC 3605 a=rtcp:<port> [<nettype> <addrtype> <connection-address>]."""

    port: int
    connection: Connection | None = None

    @classmethod
    def parse(cls, value: str) -> "RtcpAddress":
        match = _RTCP.fullmatch(value)
        if match is None or int(match[1]) > 65535:
            raise SdpParseError(f"malformed rtcp attribute {value[:60]!r}")
        connection = Connection.parse(match[2]) if match[2] else None
        return cls(int(match[1]), connection)


@dataclass(frozen=True, slots=True)
class Timing:
    """§5.9 t=<start-time> <stop-time>, with the §5.10 r= lines that follow it."""

    value: str = "0 0"
    repeats: tuple[str, ...] = ()


Attribute = tuple[str, str | None]  # a=<name> is (name, None); a=<name>:<value>


@dataclass(frozen=True, slots=True)
class MediaDescription:
    """§5.14 m=<media> <port>[/<number of ports>] <proto> <fmt> ... and the lines below it."""

    media: str
    port: int
    proto: str
    formats: tuple[str, ...]
    port_count: int | None = None
    connection: Connection | None = None
    attributes: tuple[Attribute, ...] = ()
    other_lines: tuple[tuple[str, str], ...] = ()  # i=, b=, k= as written

    def attribute(self, name: str) -> str | None:
        return next((value for key, value in self.attributes if key == name), None)

    def has_attribute(self, name: str) -> bool:
        return any(key == name for key, _ in self.attributes)

    @property
    def rtpmaps(self) -> dict[int, RtpMap]:
        maps = (RtpMap.parse(value) for key, value in self.attributes if key == "rtpmap" and value)
        return {rtpmap.payload_type: rtpmap for rtpmap in maps}

    def fmtp(self, payload_type: int) -> str | None:
        """§6 a=fmtp:<format> <format specific parameters>, for one payload type."""
        for key, value in self.attributes:
            if key == "fmtp" and value:
                fmt, _, parameters = value.partition(" ")
                if fmt == str(payload_type):
                    return parameters.strip()
        return None

    @property
    def ptime_ms(self) -> int | None:
        return _milliseconds(self.attribute("ptime"))

    @property
    def maxptime_ms(self) -> int | None:
        return _milliseconds(self.attribute("maxptime"))

    @property
    def rtcp(self) -> RtcpAddress | None:
        value = self.attribute("rtcp")
        return RtcpAddress.parse(value) if value else None

    @property
    def rtcp_mux(self) -> bool:
        return self.has_attribute("rtcp-mux")  # RFC 5761 §5.1.1

    def direction(self, session_default: str = "sendrecv") -> str:
        """§6: a media-level direction overrides the session-level one."""
        return next((key for key, _ in self.attributes if key in DIRECTIONS), session_default)

    def with_direction(self, direction: str) -> "MediaDescription":
        kept = tuple(a for a in self.attributes if a[0] not in DIRECTIONS)
        return replace(self, attributes=(*kept, (direction, None)))

    def lines(self) -> list[str]:
        port = f"{self.port}/{self.port_count}" if self.port_count else str(self.port)
        out = [" ".join((f"m={self.media}", port, self.proto, *self.formats))]
        out += [f"i={value}" for kind, value in self.other_lines if kind == "i"]
        if self.connection is not None:
            out.append(f"c={self.connection}")
        out += [f"{kind}={value}" for kind, value in self.other_lines if kind == "b"]
        out += [f"{kind}={value}" for kind, value in self.other_lines if kind == "k"]
        out += [_attribute_line(key, value) for key, value in self.attributes]
        return out


@dataclass(frozen=True, slots=True)
class SessionDescription:
    origin: Origin
    session_name: str = "-"
    connection: Connection | None = None
    timing: tuple[Timing, ...] = (Timing(),)
    attributes: tuple[Attribute, ...] = ()
    media: tuple[MediaDescription, ...] = ()
    other_lines: tuple[tuple[str, str], ...] = ()  # i u e p b z k, as written

    @property
    def direction(self) -> str:
        return next((key for key, _ in self.attributes if key in DIRECTIONS), "sendrecv")

    def connection_for(self, media: MediaDescription) -> Connection | None:
        """§5.7: a media-level c= overrides the session-level one."""
        return media.connection or self.connection

    @classmethod
    def parse(cls, data: bytes | str) -> "SessionDescription":
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        return _Parser(text).session()

    def serialize(self) -> bytes:
        """§5: the fields in their required order, CRLF line ends."""
        lines = ["v=0", f"o={self.origin}", f"s={self.session_name}"]
        lines += self._other("iuep")
        if self.connection is not None:
            lines.append(f"c={self.connection}")
        lines += self._other("b")
        for timing in self.timing:
            lines += [f"t={timing.value}", *(f"r={r}" for r in timing.repeats)]
        lines += self._other("zk")
        lines += [_attribute_line(key, value) for key, value in self.attributes]
        for media in self.media:
            lines += media.lines()
        return ("\r\n".join(lines) + "\r\n").encode()

    def _other(self, kinds: str) -> list[str]:
        return [f"{kind}={value}" for kind in kinds for k, value in self.other_lines if k == kind]


def _attribute_line(key: str, value: str | None) -> str:
    return f"a={key}" if value is None else f"a={key}:{value}"


def _milliseconds(value: str | None) -> int | None:
    """ptime and maxptime (§6) may carry a fraction; devices also send garbage, ignored."""
    match = _PTIME.fullmatch(value.strip()) if value else None
    return int(match[1]) if match else None


class _Parser:
    def __init__(self, text: str) -> None:
        self.lines: list[tuple[str, str]] = []
        for raw in text.replace("\r\n", "\n").split("\n"):
            line = raw.rstrip()
            if not line:
                continue
            if len(line) < 2 or line[1] != "=":
                raise SdpParseError(f"malformed line {line[:40]!r}")
            self.lines.append((line[0], line[2:]))

    def session(self) -> SessionDescription:
        if not self.lines or self.lines[0] != ("v", "0"):
            raise SdpParseError("an SDP body starts with v=0")
        first_media = next((i for i, (k, _) in enumerate(self.lines) if k == "m"), len(self.lines))
        head, rest = self.lines[1:first_media], self.lines[first_media:]
        origin = next((Origin.parse(v) for k, v in head if k == "o"), None)
        if origin is None:
            raise SdpParseError("missing o= line")
        connection = next((Connection.parse(v) for k, v in head if k == "c"), None)
        media = tuple(_media(block) for block in _blocks(rest))
        for description in media:
            if description.port != 0 and (description.connection or connection) is None:
                raise SdpParseError(f"no c= line for the {description.media} stream")
        return SessionDescription(
            origin=origin,
            session_name=next((v for k, v in head if k == "s"), "-"),
            connection=connection,
            timing=_timings(head) or (Timing(),),
            attributes=tuple(_attribute(v) for k, v in head if k == "a"),
            media=media,
            other_lines=_in_order(head, "iuepbzk"),
        )


def _timings(head: list[tuple[str, str]]) -> tuple[Timing, ...]:
    timings: list[Timing] = []
    for kind, value in head:
        if kind == "t":
            timings.append(Timing(value))
        elif kind == "r":
            if not timings:
                raise SdpParseError("r= line before any t= line")
            timings[-1] = replace(timings[-1], repeats=(*timings[-1].repeats, value))
    return tuple(timings)


def _media(block: list[tuple[str, str]]) -> MediaDescription:
    line = block[0][1]
    parts = line.split()
    if len(parts) < 3:
        raise SdpParseError(f"malformed m= line {line[:60]!r}")
    port_text, slash, count = parts[1].partition("/")
    if not _NUMBER.fullmatch(port_text) or int(port_text) > 65535:
        raise SdpParseError(f"malformed port in m= line {line[:60]!r}")
    if slash and not (_NUMBER.fullmatch(count) and 0 < int(count) <= 65535):
        raise SdpParseError(f"malformed port count in m= line {line[:60]!r}")
    _check_formats(parts[2], parts[3:], int(port_text), line)
    body = block[1:]
    attributes = tuple(_attribute(v) for k, v in body if k == "a")
    description = MediaDescription(
        media=parts[0],
        port=int(port_text),
        proto=parts[2],
        formats=tuple(parts[3:]),
        port_count=int(count) if slash else None,
        connection=next((Connection.parse(v) for k, v in body if k == "c"), None),
        attributes=attributes,
        other_lines=_in_order(body, "ibk"),
    )
    _ = description.rtpmaps, description.rtcp  # refuse malformed ones now, not mid-call
    return description


def _check_formats(proto: str, formats: list[str], port: int, line: str) -> None:
    # §5.14: at least one format; devices refusing a stream (port 0) sometimes list none.
    if not formats and port != 0:
        raise SdpParseError(f"no formats in m= line {line[:60]!r}")
    if "RTP/" in proto:  # RTP profiles list payload types (RFC 3551 §3)
        for fmt in formats:
            if not _NUMBER.fullmatch(fmt) or int(fmt) > MAX_PAYLOAD_TYPE:
                raise SdpParseError(f"bad payload type {fmt[:10]!r} in m= line")


def _in_order(lines: list[tuple[str, str]], kinds: str) -> tuple[tuple[str, str], ...]:
    """The lines of these kinds in §5's order (devices misorder them; we send them right)."""
    kept = [(kind, value) for kind, value in lines if kind in kinds]
    return tuple(sorted(kept, key=lambda line: kinds.index(line[0])))


def _blocks(lines: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    blocks: list[list[tuple[str, str]]] = []
    for kind, value in lines:
        if kind == "m":
            blocks.append([])
        blocks[-1].append((kind, value))
    return blocks


def _attribute(value: str) -> Attribute:
    name, colon, rest = value.partition(":")
    return (name, rest if colon else None)
