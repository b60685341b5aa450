"""StreamFramer: RFC 3261 §18.3 framing by Content-Length, RFC 5626 §3.5.1 keep-alives."""

import pytest

from mediaserver.sip.errors import SipParseError
from mediaserver.sip.framing import KEEPALIVE_PING, StreamFramer

OPTIONS = (
    b"OPTIONS sip:bob@example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/TCP client.example.com;branch=z9hG4bK1\r\n"
    b"Max-Forwards: 70\r\n"
    b"To: <sip:bob@example.com>\r\n"
    b"From: <sip:alice@example.com>;tag=1\r\n"
    b"Call-ID: framing-1\r\n"
    b"CSeq: 1 OPTIONS\r\n"
    b"Content-Length: 5\r\n"
    b"\r\n"
    b"hello"
)
COMPACT = OPTIONS.replace(b"Content-Length: 5", b"l:0").replace(b"\r\n\r\nhello", b"\r\n\r\n")


def test_whole_message_in_one_chunk() -> None:
    assert StreamFramer().feed(OPTIONS) == [OPTIONS]


def test_message_split_at_every_byte() -> None:
    framer = StreamFramer()
    received = [message for byte in OPTIONS for message in framer.feed(bytes([byte]))]
    assert received == [OPTIONS]


def test_split_inside_the_header_terminator_and_the_body() -> None:
    framer = StreamFramer()
    cut = OPTIONS.index(b"\r\n\r\n") + 2
    assert framer.feed(OPTIONS[:cut]) == []
    assert framer.feed(OPTIONS[cut:-2]) == []
    assert framer.feed(OPTIONS[-2:]) == [OPTIONS]


def test_joined_messages_in_one_chunk() -> None:
    data = OPTIONS + COMPACT + OPTIONS
    assert StreamFramer().feed(data) == [OPTIONS, COMPACT, OPTIONS]


def test_second_message_completes_with_later_chunk() -> None:
    framer = StreamFramer()
    assert framer.feed(OPTIONS + COMPACT[:30]) == [OPTIONS]
    assert framer.feed(COMPACT[30:]) == [COMPACT]


def test_double_crlf_is_a_keepalive_ping() -> None:
    framer = StreamFramer()
    assert framer.feed(b"\r\n\r\n" + OPTIONS + b"\r\n\r\n") == [
        KEEPALIVE_PING,
        OPTIONS,
        KEEPALIVE_PING,
    ]


def test_ping_split_across_chunks_is_still_one_ping() -> None:
    framer = StreamFramer()
    assert framer.feed(b"\r\n") == []
    assert framer.feed(b"\r") == []
    assert framer.feed(b"\n") == [KEEPALIVE_PING]


def test_single_crlf_pong_before_a_message_is_skipped() -> None:
    assert StreamFramer().feed(b"\r\n" + OPTIONS) == [OPTIONS]


def test_missing_content_length_on_a_stream_is_an_error() -> None:
    data = OPTIONS.replace(b"Content-Length: 5\r\n", b"")
    with pytest.raises(SipParseError, match="missing Content-Length"):
        StreamFramer().feed(data)


def test_conflicting_content_lengths_are_an_error() -> None:
    data = OPTIONS.replace(b"Content-Length: 5\r\n", b"Content-Length: 5\r\nl: 6\r\n")
    with pytest.raises(SipParseError, match="multiple Content-Length"):
        StreamFramer().feed(data)


def test_non_numeric_content_length_is_an_error() -> None:
    with pytest.raises(SipParseError, match="malformed Content-Length"):
        StreamFramer().feed(OPTIONS.replace(b"Content-Length: 5", b"Content-Length: -5"))


def test_oversize_body_is_refused_before_it_arrives() -> None:
    framer = StreamFramer(max_message_size=1000)
    header = OPTIONS.replace(b"Content-Length: 5", b"Content-Length: 5000")[:-5]
    with pytest.raises(SipParseError, match="too large") as caught:
        framer.feed(header)
    assert caught.value.status_code == 513


def test_endless_header_section_is_refused() -> None:
    framer = StreamFramer(max_message_size=1000)
    filler = b"".join(b"X-Filler: " + b"a" * 50 + b"\r\n" for _ in range(20))
    framer.feed(OPTIONS[:200])
    with pytest.raises(SipParseError, match="too large"):
        framer.feed(filler)


def test_message_exactly_at_the_limit_is_accepted() -> None:
    assert StreamFramer(max_message_size=len(OPTIONS)).feed(OPTIONS) == [OPTIONS]
