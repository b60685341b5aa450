"""RTCP compound packets (RFC 3550 §6): SR, RR, SDES and BYE; other types kept as bytes."""

import struct
from dataclasses import dataclass

SENDER_REPORT = 200
RECEIVER_REPORT = 201
SOURCE_DESCRIPTION = 202
GOODBYE = 203
SDES_CNAME = 1

_HEADER = struct.Struct("!BBH")
_REPORT_BLOCK = struct.Struct("!IB3sIIII")
_SENDER_INFO = struct.Struct("!IIIII")


class RtcpParseError(ValueError):
    """Not a valid RTCP compound packet."""


@dataclass(frozen=True, slots=True)
class ReportBlock:
    """§6.4.1: one source's reception report."""

    ssrc: int
    fraction_lost: int  # fixed point /256
    cumulative_lost: int  # signed 24-bit
    highest_sequence: int  # extended
    jitter: int  # timestamp units
    last_sr: int = 0
    delay_since_last_sr: int = 0  # 1/65536 s

    def serialize(self) -> bytes:
        lost = (self.cumulative_lost & 0xFFFFFF).to_bytes(3, "big")
        return _REPORT_BLOCK.pack(
            self.ssrc,
            self.fraction_lost,
            lost,
            self.highest_sequence,
            self.jitter,
            self.last_sr,
            self.delay_since_last_sr,
        )

    @classmethod
    def parse(cls, data: bytes, offset: int) -> "ReportBlock":
        ssrc, fraction, lost, highest, jitter, last_sr, delay = _REPORT_BLOCK.unpack_from(
            data, offset
        )
        cumulative = int.from_bytes(lost, "big", signed=True)
        return cls(ssrc, fraction, cumulative, highest, jitter, last_sr, delay)


@dataclass(frozen=True, slots=True)
class SenderReport:
    ssrc: int
    ntp_timestamp: int  # 64-bit NTP format
    rtp_timestamp: int
    packet_count: int
    octet_count: int
    reports: tuple[ReportBlock, ...] = ()


@dataclass(frozen=True, slots=True)
class ReceiverReport:
    ssrc: int
    reports: tuple[ReportBlock, ...] = ()


@dataclass(frozen=True, slots=True)
class SourceDescription:
    """§6.5: per source, its items as (type, text); CNAME is type 1."""

    chunks: tuple[tuple[int, tuple[tuple[int, bytes], ...]], ...]


@dataclass(frozen=True, slots=True)
class Goodbye:
    sources: tuple[int, ...]
    reason: bytes = b""


@dataclass(frozen=True, slots=True)
class OtherPacket:
    """A packet type we do not interpret (APP, RTPFB, PSFB, XR...), kept whole."""

    packet_type: int
    count: int
    body: bytes


RtcpPacket = SenderReport | ReceiverReport | SourceDescription | Goodbye | OtherPacket


def parse_compound(data: bytes) -> list[RtcpPacket]:
    """§6.1: packets back to back, each with its length in 32-bit words minus one."""
    packets: list[RtcpPacket] = []
    offset = 0
    while offset < len(data):
        if len(data) - offset < 4:
            raise RtcpParseError("truncated RTCP header")
        first, packet_type, words = _HEADER.unpack_from(data, offset)
        end = offset + 4 * (words + 1)
        if first >> 6 != 2 or end > len(data):
            raise RtcpParseError("bad RTCP version or length")
        count = first & 0x1F
        body = data[offset + 4 : end]
        if first & 0x20:
            if not body or body[-1] == 0 or body[-1] > len(body):
                raise RtcpParseError("bad RTCP padding")
            body = body[: -body[-1]]
        packets.append(_parse_one(packet_type, count, body))
        offset = end
    if not packets:
        raise RtcpParseError("empty RTCP packet")
    return packets


def report_sender(data: bytes) -> int | None:
    """The SSRC that sent a compound RTCP packet, or None when the packet does not start as
    §6.1 and §A.2 require: version 2, no padding on the first packet, and a sender or
    receiver report that fits. The receive path asks this before parsing anything, to
    ignore RTCP that does not come from the source it listens to."""
    if len(data) < 8 or data[0] & 0xE0 != 0x80 or data[1] not in (SENDER_REPORT, RECEIVER_REPORT):
        return None
    if 4 * (int.from_bytes(data[2:4], "big") + 1) > len(data):
        return None
    return int.from_bytes(data[4:8], "big")


def serialize_compound(packets: list[RtcpPacket]) -> bytes:
    return b"".join(_serialize_one(packet) for packet in packets)


def _parse_one(packet_type: int, count: int, body: bytes) -> RtcpPacket:
    try:
        if packet_type == SENDER_REPORT:
            ssrc, ntp_high, ntp_low, rtp_timestamp, packets, octets = struct.unpack_from(
                "!IIIIII", body
            )
            blocks = _blocks(body, 24, count)
            return SenderReport(
                ssrc, ntp_high << 32 | ntp_low, rtp_timestamp, packets, octets, blocks
            )
        if packet_type == RECEIVER_REPORT:
            return ReceiverReport(struct.unpack_from("!I", body)[0], _blocks(body, 4, count))
        if packet_type == SOURCE_DESCRIPTION:
            return SourceDescription(_chunks(body, count))
        if packet_type == GOODBYE:
            sources = struct.unpack_from(f"!{count}I", body)
            rest = body[4 * count :]
            return Goodbye(sources, rest[1 : 1 + rest[0]] if rest else b"")
    except (struct.error, IndexError) as error:
        raise RtcpParseError(f"truncated RTCP packet type {packet_type}") from error
    return OtherPacket(packet_type, count, bytes(body))


def _blocks(body: bytes, offset: int, count: int) -> tuple[ReportBlock, ...]:
    if offset + 24 * count > len(body):
        raise RtcpParseError("report blocks run past the packet")
    return tuple(ReportBlock.parse(body, offset + 24 * i) for i in range(count))


def _chunks(body: bytes, count: int) -> tuple[tuple[int, tuple[tuple[int, bytes], ...]], ...]:
    chunks = []
    offset = 0
    for _ in range(count):
        (ssrc,) = struct.unpack_from("!I", body, offset)
        offset += 4
        items = []
        while body[offset] != 0:  # an item type of 0 ends the chunk
            item_type, length = body[offset], body[offset + 1]
            items.append((item_type, bytes(body[offset + 2 : offset + 2 + length])))
            offset += 2 + length
        offset = (offset + 4) & ~3  # the null octet(s) pad to a 32-bit boundary
        chunks.append((ssrc, tuple(items)))
    return tuple(chunks)


def _serialize_one(packet: RtcpPacket) -> bytes:
    if isinstance(packet, SenderReport):
        body = (
            _SENDER_INFO.pack(
                packet.ssrc,
                packet.ntp_timestamp >> 32,
                packet.ntp_timestamp & 0xFFFFFFFF,
                packet.rtp_timestamp,
                packet.packet_count,
            )
            + struct.pack("!I", packet.octet_count)
            + b"".join(b.serialize() for b in packet.reports)
        )
        return _framed(SENDER_REPORT, len(packet.reports), body)
    if isinstance(packet, ReceiverReport):
        body = struct.pack("!I", packet.ssrc) + b"".join(b.serialize() for b in packet.reports)
        return _framed(RECEIVER_REPORT, len(packet.reports), body)
    if isinstance(packet, SourceDescription):
        return _framed(SOURCE_DESCRIPTION, len(packet.chunks), _serialize_chunks(packet))
    if isinstance(packet, Goodbye):
        body = struct.pack(f"!{len(packet.sources)}I", *packet.sources)
        if packet.reason:
            reason = bytes([len(packet.reason)]) + packet.reason
            body += reason + bytes(-len(reason) % 4)
        return _framed(GOODBYE, len(packet.sources), body)
    return _framed(packet.packet_type, packet.count, packet.body)


def _serialize_chunks(packet: SourceDescription) -> bytes:
    out = b""
    for ssrc, items in packet.chunks:
        chunk = struct.pack("!I", ssrc)
        chunk += b"".join(bytes([kind, len(text)]) + text for kind, text in items)
        chunk += bytes(4 - len(chunk) % 4)  # at least one null octet ends the item list
        out += chunk
    return out


def _framed(packet_type: int, count: int, body: bytes) -> bytes:
    return _HEADER.pack(0x80 | count, packet_type, len(body) // 4) + body
