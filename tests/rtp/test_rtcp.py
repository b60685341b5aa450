import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediaserver.rtp.rtcp import (
    Goodbye,
    OtherPacket,
    ReceiverReport,
    ReportBlock,
    RtcpParseError,
    SenderReport,
    SourceDescription,
    parse_compound,
    serialize_compound,
)

BLOCK = ReportBlock(0x1234, 25, -3, 70000, 42, 0xAABBCCDD, 65536)


def test_compound_packet_round_trips() -> None:
    compound = [
        SenderReport(0xDEADBEEF, 0x1122334455667788, 160000, 1000, 160000, (BLOCK,)),
        SourceDescription(((0xDEADBEEF, ((1, b"user@host"),)), (0x99, ((1, b"x"), (2, b"n"))))),
        Goodbye((0xDEADBEEF,), b"call ended"),
    ]
    assert parse_compound(serialize_compound(compound)) == compound


def test_receiver_report_and_unknown_types_round_trip() -> None:
    compound = [ReceiverReport(7, (BLOCK, BLOCK)), OtherPacket(205, 1, bytes(8))]
    data = serialize_compound(compound)
    assert len(data) % 4 == 0
    assert parse_compound(data) == compound


@pytest.mark.parametrize(
    "data", [b"", b"\x80\xc9", b"\x80\xc9\x00\x05" + bytes(4), b"\x41\xc9\x00\x01" + bytes(4)]
)
def test_malformed_is_rtcp_parse_error(data: bytes) -> None:
    with pytest.raises(RtcpParseError):
        parse_compound(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120))
def test_random_bytes_raise_only_rtcp_parse_error(data: bytes) -> None:
    try:
        parse_compound(b"\x81\xc8" + data[:2] + data[2:])
    except RtcpParseError:
        return
