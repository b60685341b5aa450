"""Session descriptions (RFC 4566): parse and serialize, keeping what we do not interpret.

Lenient where devices are sloppy (LF line ends, trailing white space, unknown lines), strict
where meaning depends on it (the o=, c= and m= syntax, a media stream without an address).
"""

from dataclasses import dataclass, replace

DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")


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
        if len(parts) != 6 or not parts[2].isdigit():
            raise SdpParseError(f"malformed o= line {value!r}")
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
    def parse(cls, value: str) -> "Connection":
        parts = value.split()
        if len(parts) != 3 or parts[1] not in ("IP4", "IP6"):
            raise SdpParseError(f"malformed c= line {value!r}")
        return cls(parts[2], parts[1], parts[0])

    @property
    def is_hold(self) -> bool:
        """RFC 2543 hold: c=0.0.0.0 (RFC 3264 §8.4 asks to accept it)."""
        return self.address.split("/")[0] in ("0.0.0.0", "::")

    def __str__(self) -> str:
        return f"{self.network_type} {self.address_type} {self.address}"


@dataclass(frozen=True, slots=True)
class RtpMap:
    """§6 a=rtpmap:<payload type> <encoding name>/<clock rate>[/<channels>]."""

    payload_type: int
    encoding_name: str
    clock_rate: int
    channels: int = 1


@dataclass(frozen=True, slots=True)
class MediaDescription:
    media: str
    port: int
    proto: str
    formats: tuple[str, ...]
    port_count: int | None = None
    connection: Connection | None = None
    attributes: tuple[tuple[str, str | None], ...] = ()
    other_lines: tuple[tuple[str, str], ...] = ()  # i=, b=, k= as written

    def attribute(self, name: str) -> str | None:
        return next((value for key, value in self.attributes if key == name), None)

    def has_attribute(self, name: str) -> bool:
        return any(key == name for key, _ in self.attributes)

    @property
    def rtpmaps(self) -> dict[int, RtpMap]:
        found = {}
        for key, value in self.attributes:
            if key == "rtpmap" and value:
                rtpmap = _parse_rtpmap(value)
                found[rtpmap.payload_type] = rtpmap
        return found

    def fmtp(self, payload_type: int) -> str | None:
        prefix = f"{payload_type} "
        return next(
            (
                v[len(prefix) :]
                for k, v in self.attributes
                if k == "fmtp" and v and v.startswith(prefix)
            ),
            None,
        )

    @property
    def ptime_ms(self) -> int | None:
        value = self.attribute("ptime")
        return int(float(value)) if value and value.replace(".", "", 1).isdigit() else None

    def direction(self, session_default: str = "sendrecv") -> str:
        return next((key for key, _ in self.attributes if key in DIRECTIONS), session_default)

    def with_direction(self, direction: str) -> "MediaDescription":
        kept = tuple(a for a in self.attributes if a[0] not in DIRECTIONS)
        return replace(self, attributes=(*kept, (direction, None)))

    def lines(self) -> list[str]:
        port = f"{self.port}/{self.port_count}" if self.port_count else str(self.port)
        out = [f"m={self.media} {port} {self.proto} {' '.join(self.formats)}".rstrip()]
        others = {kind: [v for k, v in self.other_lines if k == kind] for kind in "ibk"}
        out += [f"i={value}" for value in others["i"]]
        if self.connection is not None:
            out.append(f"c={self.connection}")
        out += [f"b={value}" for value in others["b"]]
        out += [f"k={value}" for value in others["k"]]
        out += [_attribute_line(key, value) for key, value in self.attributes]
        return out


@dataclass(frozen=True, slots=True)
class SessionDescription:
    origin: Origin
    session_name: str = "-"
    connection: Connection | None = None
    timing: tuple[str, ...] = ("0 0",)
    attributes: tuple[tuple[str, str | None], ...] = ()
    media: tuple[MediaDescription, ...] = ()
    other_lines: tuple[tuple[str, str], ...] = ()  # i u e p b r z k

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
        lines = ["v=0", f"o={self.origin}", f"s={self.session_name}"]
        for kind in "iuep":
            lines += [f"{kind}={v}" for k, v in self.other_lines if k == kind]
        if self.connection is not None:
            lines.append(f"c={self.connection}")
        lines += [f"b={v}" for k, v in self.other_lines if k == "b"]
        for timing in self.timing:
            lines.append(f"t={timing}")
        for kind in "rzk":
            lines += [f"{kind}={v}" for k, v in self.other_lines if k == kind]
        lines += [_attribute_line(key, value) for key, value in self.attributes]
        for media in self.media:
            lines += media.lines()
        return ("\r\n".join(lines) + "\r\n").encode()


def _attribute_line(key: str, value: str | None) -> str:
    return f"a={key}" if value is None else f"a={key}:{value}"


def _parse_rtpmap(value: str) -> RtpMap:
    payload_type, _, encoding = value.partition(" ")
    parts = encoding.strip().split("/")
    if not payload_type.isdigit() or len(parts) < 2 or not parts[1].isdigit():
        raise SdpParseError(f"malformed rtpmap {value!r}")
    channels = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else 1
    return RtpMap(int(payload_type), parts[0], int(parts[1]), channels)


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
        media = tuple(self._media(block) for block in _blocks(rest))
        for description in media:
            if description.port != 0 and (description.connection or connection) is None:
                raise SdpParseError(f"no c= line for the {description.media} stream")
        return SessionDescription(
            origin=origin,
            session_name=next((v for k, v in head if k == "s"), "-"),
            connection=connection,
            timing=tuple(v for k, v in head if k == "t") or ("0 0",),
            attributes=tuple(_attribute(v) for k, v in head if k == "a"),
            media=media,
            other_lines=tuple((k, v) for k, v in head if k in "iuepbrzk"),
        )

    @staticmethod
    def _media(block: list[tuple[str, str]]) -> MediaDescription:
        parts = block[0][1].split()
        if len(parts) < 3:
            raise SdpParseError(f"malformed m= line {block[0][1]!r}")
        port_text, _, count = parts[1].partition("/")
        if not port_text.isdigit() or (count and not count.isdigit()) or int(port_text) > 65535:
            raise SdpParseError(f"malformed port in m= line {block[0][1]!r}")
        body = block[1:]
        return MediaDescription(
            media=parts[0],
            port=int(port_text),
            proto=parts[2],
            formats=tuple(parts[3:]),
            port_count=int(count) if count else None,
            connection=next((Connection.parse(v) for k, v in body if k == "c"), None),
            attributes=tuple(_attribute(v) for k, v in body if k == "a"),
            other_lines=tuple((k, v) for k, v in body if k in "ibk"),
        )


def _blocks(lines: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    blocks: list[list[tuple[str, str]]] = []
    for kind, value in lines:
        if kind == "m":
            blocks.append([])
        blocks[-1].append((kind, value))
    return blocks


def _attribute(value: str) -> tuple[str, str | None]:
    name, colon, rest = value.partition(":")
    return (name, rest if colon else None)
