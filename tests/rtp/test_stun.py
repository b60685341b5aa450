"""STUN messages against RFC 5769's test vectors (short-term credentials, IPv4 and IPv6
responses): integrity, fingerprint and XOR-MAPPED-ADDRESS, parsed and written byte for byte."""

import pytest

from mediaserver.rtp.stun import (
    BINDING_REQUEST,
    BINDING_SUCCESS_RESPONSE,
    ICE_CONTROLLED,
    PRIORITY,
    USERNAME,
    StunMessage,
    StunParseError,
    fingerprint_matches,
    serialize,
    xor_mapped_address,
)

PASSWORD = b"VOkJxbRl1RmTxUk/WvJxBt"  # RFC 5769 §2
TRANSACTION_ID = bytes.fromhex("b7e7a701bc34d686fa87dfae")
# RFC 5769 §2.1, Sample Request (its SOFTWARE and USERNAME padding are spaces on purpose).
SAMPLE_REQUEST = bytes.fromhex(
    "000100582112a442b7e7a701bc34d686fa87dfae"
    "802200105354554e20746573742063"
    "6c69656e74"
    "002400046e0001ff"
    "80290008932ff9b151263b36"
    "000600096576746a3a68367659202020"
    "000800149aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a2"
    "80280004e57a3bcf"
)
SOFTWARE = bytes.fromhex("8022000b7465737420766563746f7220")  # "test vector", space padded
# RFC 5769 §2.2 and §2.3, Sample IPv4 and IPv6 Responses.
SAMPLE_IPV4_RESPONSE = bytes.fromhex(
    "0101003c2112a442b7e7a701bc34d686fa87dfae"
    "8022000b7465737420766563746f7220"
    "002000080001a147e112a643"
    "000800142b91f599fd9e90c38c7489f92af9ba53f06be7d7"
    "80280004c07d4c96"
)
SAMPLE_IPV6_RESPONSE = bytes.fromhex(
    "010100482112a442b7e7a701bc34d686fa87dfae"
    "8022000b7465737420766563746f7220"
    "002000140002a1470113a9faa5d3f179bc25f4b5bed2b9d9"
    "00080014a382954e4be67bf11784c97c8292c275bfe3ed41"
    "80280004c8fb0b4c"
)
IPV4 = ("192.0.2.1", 32853)
IPV6 = ("2001:db8:1234:5678:11:2233:4455:6677", 32853)


def test_the_sample_request_parses_and_its_integrity_and_fingerprint_check_out() -> None:
    message = StunMessage.parse(SAMPLE_REQUEST)
    assert message.message_type == BINDING_REQUEST
    assert message.transaction_id == TRANSACTION_ID
    assert message.attribute(USERNAME) == b"evtj:h6vY"
    assert message.attribute(PRIORITY) == bytes.fromhex("6e0001ff")
    assert message.has_attribute(ICE_CONTROLLED)
    assert message.integrity_matches(PASSWORD)
    assert not message.integrity_matches(b"another password")
    assert fingerprint_matches(SAMPLE_REQUEST)


def test_a_changed_byte_breaks_integrity_and_fingerprint() -> None:
    changed = bytearray(SAMPLE_REQUEST)
    changed[30] ^= 0x01  # inside SOFTWARE
    assert not fingerprint_matches(bytes(changed))
    assert not StunMessage.parse(bytes(changed)).integrity_matches(PASSWORD)


@pytest.mark.parametrize(
    ("address", "vector"), [(IPV4, SAMPLE_IPV4_RESPONSE), (IPV6, SAMPLE_IPV6_RESPONSE)]
)
def test_responses_are_written_byte_for_byte(address: tuple[str, int], vector: bytes) -> None:
    mapped = xor_mapped_address(address, TRANSACTION_ID)
    body = SOFTWARE + bytes.fromhex("0020") + len(mapped).to_bytes(2, "big") + mapped
    assert serialize(BINDING_SUCCESS_RESPONSE, TRANSACTION_ID, body, PASSWORD) == vector
    assert fingerprint_matches(vector)
    assert StunMessage.parse(vector).integrity_matches(PASSWORD)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        SAMPLE_REQUEST[:19],
        SAMPLE_REQUEST[:4] + b"\x00\x00\x00\x00" + SAMPLE_REQUEST[8:],  # no magic cookie
        SAMPLE_REQUEST[:-1],  # length field disagrees
        b"\x80" + SAMPLE_REQUEST[1:],  # RFC 7983 §7: 128-191 is RTP, not STUN
        SAMPLE_REQUEST[:2] + b"\x00\x04" + SAMPLE_REQUEST[4:20] + b"\x00\x06\x00\x09",
    ],
)
def test_malformed_messages_are_refused(data: bytes) -> None:
    with pytest.raises(StunParseError):
        StunMessage.parse(data)
