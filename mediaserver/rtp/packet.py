"""RTP packets (RFC 3550 §5.1) and RTP/RTCP demultiplexing (RFC 5761 §4)."""

import struct
from typing import NamedTuple

VERSION = 2
HEADER_SIZE = 12
_HEADER = struct.Struct("!BBHII")
_PLAIN_FIRST_OCTET = VERSION << 6  # no padding, no extension, no CSRC: nearly every packet


class RtpParseError(ValueError):
    """Not a valid RTP packet."""


class RtpPacket(NamedTuple):
    """One packet, immutable. A NamedTuple rather than a frozen dataclass: it is built for
    every packet on the batch path, and a tuple is built about three times faster."""

    payload_type: int
    sequence_number: int
    timestamp: int
    ssrc: int
    payload: bytes = b""
    marker: bool = False
    csrc: tuple[int, ...] = ()
    extension_profile: int | None = None
    extension: bytes = b""  # the header extension's data, a multiple of 4 bytes
    padding_size: int = 0

    @classmethod
    def parse(cls, data: bytes) -> "RtpPacket":
        if len(data) < HEADER_SIZE:
            raise RtpParseError(f"{len(data)} bytes is shorter than an RTP header")
        first, second, sequence_number, timestamp, ssrc = _HEADER.unpack_from(data)
        if first == _PLAIN_FIRST_OCTET:
            return cls(
                second & 0x7F, sequence_number, timestamp, ssrc, data[HEADER_SIZE:], second > 0x7F
            )
        if first >> 6 != VERSION:
            raise RtpParseError(f"RTP version {first >> 6}, expected 2")
        offset = HEADER_SIZE + 4 * (first & 0x0F)
        if offset > len(data):
            raise RtpParseError("CSRC list runs past the end of the packet")
        csrc = struct.unpack_from(f"!{first & 0x0F}I", data, HEADER_SIZE)
        extension_profile, extension, offset = _parse_extension(data, first, offset)
        end, padding_size = _payload_end(data, first, offset)
        return cls(
            payload_type=second & 0x7F,
            sequence_number=sequence_number,
            timestamp=timestamp,
            ssrc=ssrc,
            payload=bytes(data[offset:end]),
            marker=bool(second & 0x80),
            csrc=csrc,
            extension_profile=extension_profile,
            extension=extension,
            padding_size=padding_size,
        )

    def serialize(self) -> bytes:
        has_extension = self.extension_profile is not None
        first = VERSION << 6 | bool(self.padding_size) << 5 | has_extension << 4 | len(self.csrc)
        second = self.marker << 7 | self.payload_type
        parts = [
            _HEADER.pack(first, second, self.sequence_number, self.timestamp, self.ssrc),
            struct.pack(f"!{len(self.csrc)}I", *self.csrc),
        ]
        if self.extension_profile is not None:
            parts.append(struct.pack("!HH", self.extension_profile, len(self.extension) // 4))
            parts.append(self.extension)
        parts.append(self.payload)
        if self.padding_size:
            parts.append(bytes(self.padding_size - 1) + bytes([self.padding_size]))
        return b"".join(parts)


def _parse_extension(data: bytes, first: int, offset: int) -> tuple[int | None, bytes, int]:
    """§5.3.1: a 16-bit profile, a length in 32-bit words, then the words."""
    if not first & 0x10:
        return None, b"", offset
    if offset + 4 > len(data):
        raise RtpParseError("header extension runs past the end of the packet")
    profile, words = struct.unpack_from("!HH", data, offset)
    end = offset + 4 + 4 * words
    if end > len(data):
        raise RtpParseError("header extension runs past the end of the packet")
    return profile, bytes(data[offset + 4 : end]), end


def _payload_end(data: bytes, first: int, offset: int) -> tuple[int, int]:
    """§5.1: with P set, the last octet counts the padding octets, itself included."""
    if not first & 0x20:
        return len(data), 0
    padding_size = data[-1]
    if padding_size == 0 or len(data) - padding_size < offset:
        raise RtpParseError(f"invalid padding count {padding_size}")
    return len(data) - padding_size, padding_size


def header_fits(data: bytes) -> bool:
    """RFC 3550 §A.1's header checks, without building a packet (every received packet goes
    through them, on the relay fast path too): version 2, and the CSRC list, header extension
    (§5.3.1) and padding count (§5.1: at least 1, at most what follows the header) that the
    first octet announces all fit in the datagram. Exactly what RtpPacket.parse accepts."""
    size = len(data)
    if size < HEADER_SIZE or data[0] >> 6 != VERSION:
        return False
    first = data[0]
    offset = HEADER_SIZE + 4 * (first & 0x0F)
    if first & 0x10:
        if offset + 4 > size:
            return False
        offset += 4 + 4 * int.from_bytes(data[offset + 2 : offset + 4], "big")
    if offset > size:
        return False
    return not first & 0x20 or 0 < data[-1] <= size - offset


def is_rtcp(data: bytes) -> bool:
    """RFC 5761 §4: with rtcp-mux, RTCP packet types 192-223 occupy what would be RTP payload
    types 64-95, which RTP must not use."""
    return len(data) >= 2 and 192 <= data[1] <= 223
