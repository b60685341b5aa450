import contextlib
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediaserver.rtp.packet import RtpPacket, RtpParseError, header_fits, is_rtcp
from mediaserver.rtp.telephone_event import TelephoneEvent, TelephoneEventReceiver

PCAPS = Path("/usr/share/sip-tester")


def udp_payloads(path: Path) -> list[bytes]:
    """UDP payloads of a classic pcap (Ethernet or Linux cooked capture, IPv4)."""
    data = path.read_bytes()
    (magic,) = struct.unpack_from("<I", data)
    endian = "<" if magic == 0xA1B2C3D4 else ">"
    link_type = struct.unpack_from(endian + "I", data, 20)[0]
    link_header = {1: 14, 113: 16}[link_type]
    offset, payloads = 24, []
    while offset + 16 <= len(data):
        captured = struct.unpack_from(endian + "I", data, offset + 8)[0]
        frame = data[offset + 16 : offset + 16 + captured]
        offset += 16 + captured
        ip = frame[link_header:]
        if len(ip) < 20 or ip[9] != 17:
            continue
        udp = ip[(ip[0] & 0x0F) * 4 :]
        payloads.append(udp[8 : struct.unpack_from("!H", udp, 4)[0]])
    return payloads


@pytest.mark.parametrize("name", ["g711a.pcap", *[f"dtmf_2833_{d}.pcap" for d in range(10)]])
def test_captured_packets_round_trip_byte_for_byte(name: str) -> None:
    payloads = udp_payloads(PCAPS / name)
    assert payloads
    for data in payloads:
        assert RtpPacket.parse(data).serialize() == data


@pytest.mark.parametrize("digit", [str(d) for d in range(10)])
def test_captured_rfc4733_events_give_their_digit_once(digit: str) -> None:
    receiver = TelephoneEventReceiver()
    packets = [RtpPacket.parse(d) for d in udp_payloads(PCAPS / f"dtmf_2833_{digit}.pcap")]
    events = [p for p in packets if p.payload_type not in (0, 8)]
    reports = [receiver.feed(p) for p in events]
    assert [r.digit for r in reports if r is not None and r.started] == [digit]
    assert [r.digit for r in reports if r is not None and r.ended] == [digit]
    assert TelephoneEvent.parse(events[-1].payload).end


def test_csrc_extension_and_padding_round_trip() -> None:
    packet = RtpPacket(
        96,
        65535,
        2**32 - 1,
        0xDEADBEEF,
        b"\x01\x02\x03",
        True,
        (1, 2),
        0xBEDE,
        b"\x10\xaa\x00\x00",
        4,
    )
    assert RtpPacket.parse(packet.serialize()) == packet


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x80\x00",
        bytes(12),
        b"\x8f" + bytes(11),
        b"\x90" + bytes(11),
        b"\xa0" + bytes(11) + b"\x00",
    ],
)
def test_malformed_packets_raise_rtp_parse_error(data: bytes) -> None:
    with pytest.raises(RtpParseError):
        RtpPacket.parse(data)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=80))
def test_random_bytes_raise_only_rtp_parse_error(data: bytes) -> None:
    with contextlib.suppress(RtpParseError):
        RtpPacket.parse(data)


def _parses(data: bytes) -> bool:
    try:
        RtpPacket.parse(data)
    except RtpParseError:
        return False
    return True


# Version 2 in the first octet most of the time, so CSRC, extension and padding get tried.
_HEADERS = st.one_of(
    st.binary(max_size=80),
    st.tuples(st.integers(0x80, 0xBF), st.binary(max_size=80)).map(lambda t: bytes([t[0]]) + t[1]),
)


@settings(max_examples=1000, deadline=None)
@given(_HEADERS)
def test_header_fits_exactly_when_parse_accepts(data: bytes) -> None:
    """The receive path's byte checks and the parser must agree, or a packet that passed
    the checks could raise inside datagram_received."""
    assert header_fits(data) == _parses(data)


@pytest.mark.parametrize(
    "data",
    [
        b"\x40" + bytes(15),  # version 1
        b"\x80" + bytes(10),  # truncated header
        b"\x83" + bytes(11) + bytes(11),  # three CSRCs announced, under three there
        b"\x90" + bytes(11) + b"\xbe\xde",  # extension header cut short
        b"\x90" + bytes(11) + b"\xbe\xde\x00\x02" + bytes(7),  # two words, seven bytes
        b"\xa0" + bytes(11) + b"\x01\x02\x05",  # padding of 5 in a 3-byte payload
        b"\xa0" + bytes(11) + b"\x00",  # padding count 0
    ],
)
def test_malformed_headers_do_not_fit(data: bytes) -> None:
    assert not header_fits(data)


_EXTENSIONS = st.one_of(
    st.just((None, b"")),
    st.tuples(st.integers(0, 0xFFFF), st.binary(max_size=12).map(lambda b: b + bytes(-len(b) % 4))),
)


@settings(max_examples=300, deadline=None)
@given(
    st.builds(
        lambda extension, **fields: RtpPacket(
            **fields, extension_profile=extension[0], extension=extension[1]
        ),
        extension=_EXTENSIONS,
        payload_type=st.integers(0, 127),
        sequence_number=st.integers(0, 0xFFFF),
        timestamp=st.integers(0, 2**32 - 1),
        ssrc=st.integers(0, 2**32 - 1),
        payload=st.binary(max_size=40),
        marker=st.booleans(),
        csrc=st.lists(st.integers(0, 2**32 - 1), max_size=15).map(tuple),
        padding_size=st.integers(0, 255),
    )
)
def test_serialize_then_parse_is_identity(packet: RtpPacket) -> None:
    assert RtpPacket.parse(packet.serialize()) == packet


def test_rtcp_is_told_apart_from_rtp() -> None:
    assert is_rtcp(b"\x80\xc8" + bytes(26))  # SR
    assert not is_rtcp(RtpPacket(0, 1, 2, 3).serialize())
