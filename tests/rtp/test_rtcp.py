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
    report_sender,
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


def test_report_sender_names_the_ssrc_of_a_compound_that_starts_with_a_report() -> None:
    report = serialize_compound([ReceiverReport(7, (BLOCK,)), Goodbye((7,))])
    assert report_sender(report) == 7
    sender = serialize_compound([SenderReport(9, 0, 0, 0, 0)])
    assert report_sender(sender) == 9


@pytest.mark.parametrize(
    "data",
    [
        b"",
        serialize_compound([Goodbye((7,))]),  # §6.1: the first packet must be a report
        b"\x40\xc9\x00\x01" + bytes(4),  # version 1
        b"\xa0\xc9\x00\x01" + bytes(4),  # padding on the first packet
        b"\x80\xc9\x00\x05" + bytes(4),  # longer than the datagram
        b"\x80\xc9\x00",
    ],
)
def test_report_sender_is_none_for_anything_else(data: bytes) -> None:
    assert report_sender(data) is None
