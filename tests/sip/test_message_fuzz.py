"""Hypothesis: parse_message and the framer raise nothing but SipParseError on any input.

Seeds are the RFC 4475 torture messages; mutations flip, insert, delete and splice bytes.
Hostile shapes that could make a regex backtrack badly are checked for linear-time parsing.
"""

import contextlib
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mediaserver.sip.errors import SipParseError
from mediaserver.sip.framing import StreamFramer
from mediaserver.sip.headers import NameAddress, Via
from mediaserver.sip.message import Request, build_response, error_response_for, parse_message
from mediaserver.sip.uri import SipUri

FIXTURES = sorted((Path(__file__).parents[2] / "fixtures" / "sip" / "rfc4475").glob("*.sip"))
SEEDS = [path.read_bytes() for path in FIXTURES]
FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Bytes that matter to the grammar, so mutations hit separators rather than letters.
INTERESTING = st.sampled_from([*b'\r\n \t:;,<>"\\@?=%/[]', 0x00, 0x7F, 0xC3, 0xFF])


def _parse_or_answer(data: bytes) -> None:
    try:
        message = parse_message(data)
    except SipParseError as error:
        response = error_response_for(data, error)
        if response is not None:
            response.serialize()
        return
    # Every parsed view of a message that parsed works, and it re-serialises and parses again.
    assert message.top_via == message.via[0]
    assert message.call_id
    assert message.cseq.method
    assert message.from_address.uri.scheme
    assert message.to_address.uri.scheme
    assert all(contact.uri.scheme for contact in message.contacts)
    assert message.max_forwards is None or 0 <= message.max_forwards <= 255
    assert message.expires is None or message.expires >= 0
    if isinstance(message, Request):
        build_response(message, 400, to_tag="fuzz").serialize()
    parse_message(message.serialize())


@st.composite
def mutated_fixture(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        position = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["flip", "insert", "delete", "splice"]))
        if action == "flip" and position < len(data):
            data[position] = draw(INTERESTING)
        elif action == "insert":
            data[position:position] = bytes([draw(INTERESTING)]) * draw(st.integers(1, 4))
        elif action == "delete":
            del data[position : position + draw(st.integers(1, 16))]
        else:
            other = draw(st.sampled_from(SEEDS))
            start = draw(st.integers(0, len(other)))
            data[position:position] = other[start : start + draw(st.integers(1, 64))]
    return bytes(data)


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes_only_raise_sip_parse_error(data: bytes) -> None:
    _parse_or_answer(data)


@FUZZ
@given(mutated_fixture())
def test_mutated_torture_messages_only_raise_sip_parse_error(data: bytes) -> None:
    _parse_or_answer(data)


@FUZZ
@given(st.text(max_size=200))
def test_header_value_parsers_only_raise_sip_parse_error(text: str) -> None:
    for parse in (SipUri.parse, NameAddress.parse, Via.parse):
        with contextlib.suppress(SipParseError):
            parse(text)


@FUZZ
@given(mutated_fixture(), st.lists(st.integers(1, 300), max_size=10))
def test_framer_only_raises_sip_parse_error(data: bytes, cuts: list[int]) -> None:
    framer = StreamFramer(max_message_size=4096)
    position = 0
    with contextlib.suppress(SipParseError):
        for size in [*cuts, len(data)]:
            for message in framer.feed(data[position : position + size]):
                assert message == b"\r\n\r\n" or b"\r\n\r\n" in message
            position += size


HOSTILE = [
    b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h" + b" " * 60000 + b"x\r\n\r\n",
    b"OPTIONS sip:a@b SIP/2.0\r\nTo: " + b"a " * 30000 + b"\r\n\r\n",
    b"OPTIONS sip:a@b SIP/2.0\r\nTo: " + b'"' + b"\\" * 60000 + b"\r\n\r\n",
    b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h" + b";a=b" * 15000 + b";\r\n\r\n",
    b"OPTIONS sip:a@b SIP/2.0\r\nContact: " + b"<sip:a@b>," * 6000 + b"<\r\n\r\n",
    b"OPTIONS sip:" + b"a:" * 30000 + b"@b SIP/2.0\r\n\r\n",
    b"OPTIONS sip:a@b" + b";x" * 30000 + b"; SIP/2.0\r\n\r\n",
    b"OPTIONS sip:a@b SIP/2.0\r\nCSeq: " + b"0" * 60000 + b"x OPTIONS\r\n\r\n",
    b"OPTIONS sip:a@b SIP/2.0\r\n" + b"X: y\r\n" * 10000 + b"\r\n",
    b"OPTIONS sip:a@b SIP/2.0\r\nTo: " + b"a " * 30000 + b",<sip:a@b>\r\n\r\n",
    b"OPTIONS sip:a@b SIP/2.0\r\nRoute: <sip:a@b" + b";a=b" * 15000 + b";>\r\n\r\n",
    b"OPTIONS sip:a@b SIP/2.0\r\nX: a" + b"\r\n " * 20000 + b"\r\n\r\n",
    b"SIP/2.0 200 " + b"\x01" * 60000 + b"\r\n\r\n",
]


@pytest.mark.parametrize("data", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_inputs_parse_in_linear_time(data: bytes) -> None:
    started = time.perf_counter()
    with pytest.raises(SipParseError):
        parse_message(data)
    # A backtracking blow-up on 60 kB takes minutes; linear parsing takes milliseconds.
    assert time.perf_counter() - started < 1.0
