"""Request/Response: building, serialising, parsing and the answers to broken requests."""

import dataclasses

import pytest

from mediaserver.sip.errors import SipParseError
from mediaserver.sip.headers import CSeq, Headers, Via
from mediaserver.sip.message import (
    Request,
    Response,
    build_response,
    error_response_for,
    parse_message,
)
from mediaserver.sip.uri import SipUri

REGISTER = (
    b"REGISTER sip:registrar.biloxi.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP bobspc.biloxi.com:5060;branch=z9hG4bKnashds7;rport\r\n"
    b"Max-Forwards: 70\r\n"
    b"To: Bob <sip:bob@biloxi.com>\r\n"
    b"From: Bob <sip:bob@biloxi.com>;tag=456248\r\n"
    b"Call-ID: 843817637684230@998sdasdh09\r\n"
    b"CSeq: 1826 REGISTER\r\n"
    b"Contact: <sip:bob@192.0.2.4>;expires=3600, <sip:bob@192.0.2.5>;q=0.5\r\n"
    b"Expires: 7200\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)

RESPONSE_HEADERS = (
    b"\r\nVia: SIP/2.0/UDP a\r\nTo: <sip:a@b>\r\nFrom: <sip:a@b>"
    b"\r\nCall-ID: c\r\nCSeq: 1 BYE\r\n\r\n"
)


def _replace(old: bytes, new: bytes, data: bytes = REGISTER) -> bytes:
    assert old in data
    return data.replace(old, new)


def _reparsed_headers(message: Request | Response) -> Headers:
    """Headers of the message parsed back from its bytes, less the Content-Length it gained."""
    return parse_message(message.serialize()).headers.without("Content-Length")


def _request(data: bytes = REGISTER) -> Request:
    message = parse_message(data)
    assert isinstance(message, Request)
    return message


def test_parsed_register_views() -> None:
    request = _request()
    assert request.method == "REGISTER"
    assert request.uri == SipUri(scheme="sip", host="registrar.biloxi.com")
    assert request.top_via == Via(
        "UDP", "bobspc.biloxi.com", 5060, (("branch", "z9hG4bKnashds7"), ("rport", None))
    )
    assert request.call_id == "843817637684230@998sdasdh09"
    assert request.cseq == CSeq(1826, "REGISTER")
    assert request.from_address.tag == "456248"
    assert request.to_address.display_name == "Bob"
    assert [c.uri.host for c in request.contacts] == ["192.0.2.4", "192.0.2.5"]
    assert request.contacts[0].parameter("expires") == "3600"
    assert not request.is_contact_star
    assert (request.max_forwards, request.expires) == (70, 7200)
    assert request.body == b""


def test_contact_star() -> None:
    request = _request(
        _replace(
            b"Contact: <sip:bob@192.0.2.4>;expires=3600, <sip:bob@192.0.2.5>;q=0.5", b"Contact: *"
        )
    )
    assert request.is_contact_star
    assert request.contacts == []


def test_absent_optional_headers_give_none_or_empty() -> None:
    request = _request(_replace(b"Expires: 7200\r\n", b"", _replace(b"Max-Forwards: 70\r\n", b"")))
    assert (request.max_forwards, request.expires) == (None, None)
    bare = Request("OPTIONS", SipUri("sip", host="a"), Headers())
    assert bare.contacts == []
    assert bare.via == []
    with pytest.raises(SipParseError, match="missing Via header"):
        _ = bare.top_via
    with pytest.raises(SipParseError, match="missing Call-ID header"):
        _ = bare.call_id


def test_constructed_request_serialises_with_true_content_length() -> None:
    request = Request(
        "INVITE",
        SipUri.parse("sip:bob@biloxi.com"),
        Headers(
            [
                ("v", "SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds"),
                ("Max-Forwards", "70"),
                ("t", "Bob <sip:bob@biloxi.com>"),
                ("f", "Alice <sip:alice@atlanta.com>;tag=1928301774"),
                ("i", "a84b4c76e66710@pc33.atlanta.com"),
                ("CSeq", "314159 INVITE"),
                ("Content-Length", "999"),
                ("Content-Type", "application/sdp"),
            ]
        ),
        b"v=0\r\n",
    )
    data = request.serialize()
    assert data.startswith(b"INVITE sip:bob@biloxi.com SIP/2.0\r\nVia: SIP/2.0/UDP pc33")
    assert b"Content-Length: 999" not in data
    assert data.endswith(b"Content-Length: 5\r\n\r\nv=0\r\n")
    again = _request(data)
    assert (again.method, again.uri, again.body) == ("INVITE", request.uri, b"v=0\r\n")
    assert again.headers == request.headers.without("Content-Length").with_added(
        "Content-Length", "5"
    )


def test_response_round_trip() -> None:
    data = (
        b"SIP/2.0 180 Ringing\r\n"
        b"Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1;received=192.0.2.1\r\n"
        b"To: <sip:b@example.com>;tag=2\r\nFrom: <sip:a@example.com>;tag=1\r\n"
        b"Call-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
    )
    response = parse_message(data)
    assert isinstance(response, Response)
    assert (response.status_code, response.reason) == (180, "Ringing")
    assert response.top_via.received == "192.0.2.1"
    assert response.serialize() == data


def test_build_response_copies_the_dialog_headers_and_adds_the_to_tag() -> None:
    request = _request(
        _replace(b"Via: SIP", b"Via: SIP/2.0/TCP proxy.example.com;branch=z9hG4bKp\r\nVia: SIP")
    )
    response = build_response(request, 200, to_tag="abc", headers=[("Expires", "3600")])
    assert (response.status_code, response.reason) == (200, "OK")
    assert response.headers.get_all("Via") == request.headers.get_all("Via")
    assert response.to_address.tag == "abc"
    assert response.from_address == request.from_address
    assert (response.call_id, response.cseq) == (request.call_id, request.cseq)
    assert response.headers.get("Expires") == "3600"
    assert response.headers.get("Contact") is None
    assert _reparsed_headers(response) == response.headers


def test_build_response_keeps_an_existing_to_tag_and_custom_reason() -> None:
    request = _request(
        _replace(b"To: Bob <sip:bob@biloxi.com>", b"To: <sip:bob@biloxi.com>;tag=old")
    )
    response = build_response(request, 486, "Busy Right Now", to_tag="new")
    assert response.to_address.tag == "old"
    assert response.reason == "Busy Right Now"
    assert build_response(request, 183).reason == "Session Progress"


def test_build_response_100_echoes_timestamp() -> None:
    request = _request(_replace(b"Expires: 7200", b"Timestamp: 54"))
    assert build_response(request, 100).headers.get("Timestamp") == "54"
    assert build_response(request, 200).headers.get("Timestamp") is None


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "no empty line after the header fields"),
        (b"OPTIONS sip:a@b SIP/2.0\r\n\r\n", "missing Via header"),
        (REGISTER[:-2], "no empty line after the header fields"),
        (_replace(b"REGISTER sip", b"REGISTER  sip"), "malformed Request-Line"),
        (_replace(b"SIP/2.0\r\nVia", b"SIP/2.0 \r\nVia"), "malformed Request-Line"),
        (
            _replace(b"sip:registrar.biloxi.com", b"sip:registrar.biloxi.com?x=y"),
            "Request-URI: headers are not allowed",
        ),
        (_replace(b"Max-Forwards: 70", b"Max-Forwards 70"), "malformed header line"),
        (_replace(b"Max-Forwards: 70", b"Max Forwards: 70"), "malformed header line"),
        (
            _replace(b"Max-Forwards: 70", b"Max-Forwards: 70\nX: y"),
            "bare CR or LF in the header fields",
        ),
        (
            _replace(b"Max-Forwards: 70", b"Max-Forwards: 7\r0"),
            "bare CR or LF in the header fields",
        ),
        (_replace(b"Max-Forwards: 70", b"Max-Forwards: 256"), "malformed Max-Forwards"),
        (_replace(b"Expires: 7200", b"Expires: 4294967296"), "malformed Expires"),
        (_replace(b"Expires: 7200", b"Expires: soon"), "malformed Expires"),
        (_replace(b"Call-ID: 843817637684230@998sdasdh09", b"Call-ID: a b"), "malformed Call-ID"),
        (_replace(b"Call-ID: 843817637684230@998sdasdh09\r\n", b""), "missing Call-ID header"),
        (
            _replace(b"CSeq: 1826 REGISTER", b"CSeq: 1826 INVITE"),
            "CSeq method does not match the request method",
        ),
        (_replace(b"To: Bob <sip:bob@biloxi.com>", b"t: x\r\nTo: y"), "multiple To values"),
        (_replace(b"Content-Length: 0", b"Content-Length: 1"), "body shorter than Content-Length"),
        (_replace(b"Content-Length: 0", b"Content-Length: x"), "malformed Content-Length"),
        (_replace(b"<sip:bob@192.0.2.5>", b"<sip:bob@192.0.2.5"), "Contact: missing > after URI"),
        (_replace(b"Expires: 7200", b"Route: <sip:p;lr>, junk"), "Route: malformed URI"),
        (_replace(b"Expires: 7200", b"Route: <sip:p;lr>,"), "Route: malformed URI"),
        (_replace(b"Via: SIP/2.0/UDP", b"Via: ,,\r\nVia: SIP/2.0/UDP"), "malformed Via"),
        (_replace(b"REGISTER sip", b"REGISTER http://x SIP/2.0 sip"), "malformed Request-Line"),
    ],
)
def test_parse_errors_name_their_cause(data: bytes, reason: str) -> None:
    with pytest.raises(SipParseError) as caught:
        parse_message(data)
    assert caught.value.reason == reason
    assert caught.value.status_code == 400


def test_unsupported_version_is_505() -> None:
    with pytest.raises(SipParseError) as caught:
        parse_message(_replace(b"biloxi.com SIP/2.0", b"biloxi.com SIP/3.0"))
    assert caught.value.status_code == 505
    response = error_response_for(
        _replace(b"biloxi.com SIP/2.0", b"biloxi.com SIP/3.0"), caught.value
    )
    assert response is not None
    assert response.status_code == 505
    assert response.reason == "Version Not Supported - SIP version not supported"


@pytest.mark.parametrize(
    "line",
    [b"SIP/2.0 99 Too Low", b"SIP/2.0 700 Too High", b"SIP/2.0 2000 OK", b"SIP/2.0 200\tOK"],
)
def test_bad_status_lines(line: bytes) -> None:
    data = line + RESPONSE_HEADERS
    with pytest.raises(SipParseError):
        parse_message(data)


def test_status_line_without_reason_phrase_space_is_tolerated() -> None:
    response = parse_message(b"SIP/2.0 200" + RESPONSE_HEADERS)
    assert isinstance(response, Response)
    assert response.reason == ""


def test_leading_crlfs_are_ignored_and_datagram_without_length_keeps_rest() -> None:
    data = b"\r\n\r\n" + _replace(b"Content-Length: 0\r\n", b"") + b"body"
    assert _request(data).body == b"body"


def test_utf8_and_invalid_utf8_survive_a_round_trip() -> None:
    data = _replace(b"Expires: 7200", b"Subject: caf\xc3\xa9 \xff\xfe")
    assert parse_message(data).serialize() == data


def test_error_response_for_a_broken_request() -> None:
    data = _replace(b"CSeq: 1826 REGISTER", b"CSeq: 1826 INVITE")
    with pytest.raises(SipParseError) as caught:
        parse_message(data)
    response = error_response_for(data, caught.value)
    assert response is not None
    assert (response.status_code, response.reason) == (
        400,
        "Bad Request - CSeq method does not match the request method",
    )
    assert response.top_via.branch == "z9hG4bKnashds7"
    assert response.call_id == "843817637684230@998sdasdh09"
    assert response.cseq == CSeq(1826, "INVITE")
    tag = response.to_address.tag
    assert tag is not None
    again = error_response_for(data, caught.value)
    assert again is not None
    assert again.to_address.tag == tag  # a retransmission gets the same answer (§8.2.7)
    assert _reparsed_headers(response) == response.headers


def test_error_response_keeps_an_existing_to_tag() -> None:
    data = _replace(b"To: Bob <sip:bob@biloxi.com>", b"To: <sip:bob@biloxi.com>;tag=9")
    data = _replace(b"Max-Forwards: 70", b"Max-Forwards: 999", data)
    response = error_response_for(data, SipParseError("malformed Max-Forwards"))
    assert response is not None
    assert response.headers.get("To") == "<sip:bob@biloxi.com>;tag=9"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"garbage",
        b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a\r\n\r\n",
        _replace(b"REGISTER sip", b"ACK sip"),
        _replace(b"Call-ID: 843817637684230@998sdasdh09\r\n", b""),
        _replace(b"Via: SIP/2.0/UDP bobspc", b"Via: SIP/2.0/UDP ;bobspc"),
        _replace(b"From: Bob <sip:bob@biloxi.com>;tag=456248", b"From:"),
        _replace(b"To: Bob", b"To:\rBob"),
        _replace(b"Via: SIP/2.0/UDP", b"Via: ,,\r\nVia: SIP/2.0/UDP"),
    ],
)
def test_no_error_response_when_none_can_be_sent(data: bytes) -> None:
    assert error_response_for(data, SipParseError("anything")) is None


@pytest.mark.parametrize(
    "headers", [[("X-Note", "a\r\nVia: SIP/2.0/UDP evil")], [("X-Note", "a\nb")], [("X-A\r", "b")]]
)
def test_serialising_refuses_line_breaks_inside_values(headers: list[tuple[str, str]]) -> None:
    request = Request("OPTIONS", SipUri.parse("sip:a@b"), Headers(headers))
    with pytest.raises(ValueError, match="CR or LF"):
        request.serialize()
    with pytest.raises(ValueError, match="CR or LF"):
        Response(200, "OK\r\nX: y", Headers()).serialize()


def _ipv6_register(request_uri: bytes, via_parameters: bytes = b"") -> bytes:
    """The shape of the RFC 5118 §4 IPv6 torture messages."""
    return (
        b"REGISTER " + request_uri + b" SIP/2.0\r\n"
        b"To: sip:user@example.com\r\nFrom: sip:user@example.com;tag=81x2\r\n"
        b"Via: SIP/2.0/UDP [2001:db8::9:1];branch=z9hG4bKas3-111" + via_parameters + b"\r\n"
        b"Call-ID: SSG9559905523997077@hlau_4100\r\nMax-Forwards: 70\r\n"
        b'Contact: "Caller" <sip:caller@[2001:db8::1]>\r\nCSeq: 98176 REGISTER\r\n'
        b"Content-Length: 0\r\n\r\n"
    )


def test_ipv6_references_rfc5118() -> None:
    request = _request(_ipv6_register(b"sip:[2001:db8::10]:5070"))
    assert (request.uri.host, request.uri.port) == ("2001:db8::10", 5070)
    assert request.top_via.host == "2001:db8::9:1"
    assert request.contacts[0].uri.host == "2001:db8::1"
    ambiguous = _request(_ipv6_register(b"sip:[2001:db8::10:5070]"))  # §4.3: well-formed
    assert (ambiguous.uri.host, ambiguous.uri.port) == ("2001:db8::10:5070", None)
    with pytest.raises(SipParseError, match="Request-URI"):  # §4.2: brackets are mandatory
        parse_message(_ipv6_register(b"sip:2001:db8::10"))


def test_via_received_ipv6_with_or_without_brackets_rfc5118() -> None:
    bare = _request(_ipv6_register(b"sip:[2001:db8::10]", b";received=2001:db8::9:255"))
    assert bare.top_via.received == "2001:db8::9:255"
    bracketed = _request(_ipv6_register(b"sip:[2001:db8::10]", b";received=[2001:db8::9:255]"))
    assert bracketed.top_via.received == "[2001:db8::9:255]"


def test_parsed_views_are_kept_per_message_and_not_copied_into_a_changed_one() -> None:
    request = parse_message(REGISTER)
    assert isinstance(request, Request)
    assert request.top_via is request.top_via  # parsed once
    assert request.cseq == CSeq(1826, "REGISTER")
    changed = dataclasses.replace(request, headers=request.headers.with_replaced("CSeq", "7 BYE"))
    assert changed.cseq == CSeq(7, "BYE")
    assert request.cseq == CSeq(1826, "REGISTER")
    assert changed == dataclasses.replace(changed)  # the cache takes no part in equality
