"""Via, NameAddress, CSeq and the Headers multimap (RFC 3261 §7.3, §20)."""

import pytest

from mediaserver.sip.errors import SipParseError
from mediaserver.sip.headers import (
    CSeq,
    Headers,
    NameAddress,
    Via,
    canonical_name,
    quote,
    split_list,
)
from mediaserver.sip.uri import SipUri


def test_via_parts_and_properties() -> None:
    via = Via.parse("SIP/2.0/udp pc33.atlanta.com:5066;branch=z9hG4bK776;received=192.0.2.1;rport")
    assert (via.transport, via.host, via.port) == ("UDP", "pc33.atlanta.com", 5066)
    assert (via.branch, via.received, via.rport) == ("z9hG4bK776", "192.0.2.1", "")
    assert (
        str(via) == "SIP/2.0/UDP pc33.atlanta.com:5066;branch=z9hG4bK776;received=192.0.2.1;rport"
    )


def test_via_with_lws_everywhere_and_ipv6() -> None:
    via = Via.parse(
        "SIP / 2.0 / TCP   [2001:db8::9] : 5060 ; branch = z9hG4bKx ; received=2001:db8::1"
    )
    assert (via.transport, via.host, via.port) == ("TCP", "2001:db8::9", 5060)
    assert via.received == "2001:db8::1"
    assert via.sent_by() == "[2001:db8::9]:5060"


def test_via_rport_absent_and_filled() -> None:
    assert Via.parse("SIP/2.0/UDP a.example.com").rport is None
    filled = Via.parse("SIP/2.0/UDP a.example.com;rport").with_parameter("rport", "5070")
    assert filled.rport == "5070"
    assert str(filled) == "SIP/2.0/UDP a.example.com;rport=5070"


def test_via_with_parameter_adds_or_replaces_in_place() -> None:
    via = Via("UDP", "a.example.com", 5060, (("branch", "z9hG4bK1"), ("rport", None)))
    added = via.with_parameter("received", "192.0.2.7")
    assert added.parameters[-1] == ("received", "192.0.2.7")
    replaced = added.with_parameter("RPORT", "1234")
    assert replaced.parameters == (
        ("branch", "z9hG4bK1"),
        ("rport", "1234"),
        ("received", "192.0.2.7"),
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("SIP/2.0/UDP", "malformed Via"),
        ("SIP/2.0 UDP host", "malformed Via"),
        ("SIP/3.0/UDP host", "Via is not SIP/2.0"),
        ("HTTP/2.0/UDP host", "Via is not SIP/2.0"),
        ("SIP/2.0/UDP host;;", "malformed Via parameters"),
        ("SIP/2.0/UDP host;branch=", "malformed Via parameters"),
        ("SIP/2.0/UDP host:70000", "Via port out of range"),
    ],
)
def test_malformed_via(text: str, reason: str) -> None:
    with pytest.raises(SipParseError) as caught:
        Via.parse(text)
    assert caught.value.reason == reason


def test_name_addr_with_quoted_display_name() -> None:
    address = NameAddress.parse('"Bob \\"B\\" Smith" <sip:bob@biloxi.com>;tag=a6c85cf')
    assert address.display_name == 'Bob "B" Smith'
    assert address.uri == SipUri.parse("sip:bob@biloxi.com")
    assert address.tag == "a6c85cf"
    assert str(address) == '"Bob \\"B\\" Smith" <sip:bob@biloxi.com>;tag=a6c85cf'


def test_name_addr_with_token_display_name() -> None:
    address = NameAddress.parse("Alice Liddell <sip:alice@atlanta.com>")
    assert address.display_name == "Alice Liddell"
    assert str(address) == '"Alice Liddell" <sip:alice@atlanta.com>'


def test_addr_spec_parameters_belong_to_the_header() -> None:
    address = NameAddress.parse("sip:alice@atlanta.com;tag=88sja8x ;expires=60")
    assert address.display_name is None
    assert address.uri.parameters == ()
    assert address.parameters == (("tag", "88sja8x"), ("expires", "60"))
    assert str(address) == "<sip:alice@atlanta.com>;tag=88sja8x;expires=60"


def test_bracketed_uri_parameters_belong_to_the_uri() -> None:
    address = NameAddress.parse("<sip:alice@atlanta.com;transport=tcp>;expires=60;q=0.7")
    assert address.uri.parameter("transport") == "tcp"
    assert address.parameter("expires") == "60"
    assert address.parameter("Q") == "0.7"
    assert address.tag is None


def test_quoted_parameter_value_may_hold_separators() -> None:
    address = NameAddress.parse('<sip:a@b>;+sip.instance="<urn:uuid:1;2,3>";reg-id=1')
    assert address.parameter("+sip.instance") == '"<urn:uuid:1;2,3>"'
    assert address.parameter("reg-id") == "1"


def test_with_parameter_sets_tag() -> None:
    address = NameAddress.parse("<sip:bob@biloxi.com>").with_parameter("tag", "x1")
    assert address.tag == "x1"
    assert str(address) == "<sip:bob@biloxi.com>;tag=x1"


def test_quote_escapes_what_qdtext_cannot_hold() -> None:
    assert quote('a"b\\c\x07') == '"a\\"b\\\\c\\\x07"'
    with pytest.raises(ValueError, match="CR or LF"):
        quote("two\r\nlines")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('"unterminated <sip:a@b>', "unterminated quoted string"),
        ('"quoted" sip:a@b', "display name without <URI>"),
        ("Bell, Alexander <sip:a@b>", "display name is neither tokens nor a quoted string"),
        ("<sip:a@b", "missing > after URI"),
        ("< sip:a@b >", "malformed URI"),
        ("sip:a@b?Route=x", "URI with ? or , must be enclosed in <>"),
        ("<sip:a@b>;;", "malformed address parameters"),
        ("<sip:a@b> x", "malformed address parameters"),
    ],
)
def test_malformed_name_addr(text: str, reason: str) -> None:
    with pytest.raises(SipParseError) as caught:
        NameAddress.parse(text)
    assert caught.value.reason == reason


def test_cseq() -> None:
    cseq = CSeq.parse("  0004294967295   REGISTER ")
    assert (cseq.number, cseq.method) == (2**32 - 1, "REGISTER")
    assert str(cseq) == "4294967295 REGISTER"


@pytest.mark.parametrize("text", ["", "1", "INVITE", "-1 INVITE", "4294967296 INVITE", "1 INV ITE"])
def test_malformed_cseq(text: str) -> None:
    with pytest.raises(SipParseError):
        CSeq.parse(text)


def test_headers_canonicalise_compact_and_any_case_names() -> None:
    headers = Headers([("v", "SIP/2.0/UDP a"), ("call-id", "x"), ("X-Custom", "1"), ("l", "0")])
    assert list(headers) == [
        ("Via", "SIP/2.0/UDP a"),
        ("Call-ID", "x"),
        ("X-Custom", "1"),
        ("Content-Length", "0"),
    ]
    assert headers.get("VIA") == "SIP/2.0/UDP a"
    assert headers.get("i") == "x"
    assert headers.get("x-custom") == "1"
    assert headers.get("Contact") is None
    assert "CALL-ID" in headers
    assert canonical_name("WWW-authenticate") == "WWW-Authenticate"
    assert canonical_name("x-Odd") == "x-Odd"


def test_get_all_splits_list_headers_on_top_level_commas_only() -> None:
    headers = Headers(
        [
            ("Contact", '"Doe, John" <sip:j@a;x=1,2>;q=0.5, <sip:k@b>'),
            ("m", "sip:l@c"),
            ("Subject", "a, b"),
            ("Allow", "INVITE,ACK , BYE"),
        ]
    )
    assert headers.get_all("Contact") == [
        '"Doe, John" <sip:j@a;x=1,2>;q=0.5',
        "<sip:k@b>",
        "sip:l@c",
    ]
    assert headers.get_all("Subject") == ["a, b"]
    assert headers.get_all("Allow") == ["INVITE", "ACK", "BYE"]
    assert headers.get_all("Route") == []


def test_split_list_leaves_unterminated_quote_to_the_element_parser() -> None:
    assert split_list('"a, b <sip:x>, <sip:y>') == ['"a, b <sip:x>, <sip:y>']
    assert split_list('<sip:a>, "x\\') == ["<sip:a>", '"x\\']
    assert split_list("<sip:a, b") == ["<sip:a, b"]


def test_split_list_keeps_empty_elements_for_their_parser_to_refuse() -> None:
    assert split_list(",,") == ["", "", ""]
    assert split_list(" a , b ,") == ["a", "b", ""]


def test_headers_are_immutable_and_edits_return_new_maps() -> None:
    headers = Headers([("Via", "1"), ("To", "t"), ("Via", "2")])
    assert list(headers.with_added("Via", "0", first=True)) == [
        ("Via", "0"),
        ("Via", "1"),
        ("To", "t"),
        ("Via", "2"),
    ]
    assert list(headers.with_added("f", "x"))[-1] == ("From", "x")
    assert list(headers.with_replaced("via", "only")) == [("Via", "only"), ("To", "t")]
    assert list(headers.with_replaced("Expires", "60"))[-1] == ("Expires", "60")
    assert list(headers.without("VIA")) == [("To", "t")]
    assert list(headers) == [("Via", "1"), ("To", "t"), ("Via", "2")]
    assert len(headers) == 3


def test_headers_equality_ignores_name_case_but_not_order() -> None:
    assert Headers([("x-a", "1"), ("To", "t")]) == Headers([("X-A", "1"), ("t", "t")])
    assert Headers([("To", "t"), ("x-a", "1")]) != Headers([("x-a", "1"), ("To", "t")])
    assert hash(Headers([("x-a", "1")])) == hash(Headers([("X-A", "1")]))
    assert Headers() != "Headers()"
    assert "Via" in repr(Headers([("v", "1")]))
