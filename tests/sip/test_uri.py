"""SipUri: RFC 3261 §19.1 SIP/SIPS URIs, RFC 3966 tel URIs, opaque URIs of other schemes."""

import pytest

from mediaserver.sip.errors import SipParseError
from mediaserver.sip.uri import SipUri


def test_full_sip_uri_parts() -> None:
    uri = SipUri.parse("sip:alice:secret@Atlanta.Example.COM:5061;transport=TCP;lr?subject=hi&x=")
    assert uri == SipUri(
        scheme="sip",
        user="alice",
        password="secret",
        host="atlanta.example.com",
        port=5061,
        parameters=(("transport", "TCP"), ("lr", None)),
        headers=(("subject", "hi"), ("x", "")),
    )
    assert str(uri) == "sip:alice:secret@atlanta.example.com:5061;transport=TCP;lr?subject=hi&x="


def test_scheme_is_case_insensitive_and_lowered() -> None:
    assert SipUri.parse("SIPS:bob@example.com").scheme == "sips"


def test_host_only_uri() -> None:
    uri = SipUri.parse("sip:example.com")
    assert (uri.user, uri.host, uri.port) == (None, "example.com", None)
    assert str(uri) == "sip:example.com"


def test_ipv6_host_is_kept_without_brackets() -> None:
    uri = SipUri.parse("sip:bob@[2001:DB8::1]:5070;maddr=[2001:db8::2]")
    assert (uri.host, uri.port) == ("2001:db8::1", 5070)
    assert uri.host_port() == "[2001:db8::1]:5070"
    assert str(uri) == "sip:bob@[2001:db8::1]:5070;maddr=[2001:db8::2]"


def test_parameter_lookup_is_case_insensitive_and_distinguishes_valueless() -> None:
    uri = SipUri.parse("sip:example.com;LR;Transport=udp")
    assert uri.parameter("transport") == "udp"
    assert uri.parameter("lr") is None
    assert uri.has_parameter("Lr")
    assert not uri.has_parameter("maddr")
    assert uri.parameter("maddr") is None


def test_escaped_user_is_kept_as_written() -> None:
    assert SipUri.parse("sip:%61lice@example.com").user == "%61lice"


def test_tel_uri() -> None:
    uri = SipUri.parse("tel:+1-201-555-0123;phone-context=example.com")
    assert (uri.scheme, uri.user) == ("tel", "+1-201-555-0123")
    assert uri.parameter("phone-context") == "example.com"
    assert str(uri) == "tel:+1-201-555-0123;phone-context=example.com"


def test_other_schemes_are_opaque() -> None:
    uri = SipUri.parse("urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6")
    assert (uri.scheme, uri.opaque, uri.host) == (
        "urn",
        "uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
        "",
    )
    assert str(uri) == "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "malformed URI"),
        ("<sip:a@b>", "malformed URI"),
        ("sip:a b@example.com", "malformed user part of URI"),
        ("sip:@example.com", "malformed user part of URI"),
        ("sip:alice@", "malformed host part of URI"),
        ("sip:alice@example.com; lr", "malformed host part of URI"),
        ("sip:alice@example.com:99999", "port out of range"),
        ("sip:alice@example.com:", "malformed host part of URI"),
        ("sip:alice@example.com;a=%zz", "malformed host part of URI"),
        ("sip:alice@example.com?novalue", "malformed host part of URI"),
        ("tel:", "malformed tel URI"),
        ("tel:+1 555", "malformed tel URI"),
        ("http://exa mple.com", "malformed URI"),
    ],
)
def test_malformed_uris_raise_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(SipParseError) as caught:
        SipUri.parse(text)
    assert caught.value.reason == reason


def test_round_trip_of_parsed_uris() -> None:
    for text in (
        "sip:user;par=u%40example.net@example.com",
        "sips:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com",
        "sip:alice@192.0.2.1:5060;transport=tcp;ob",
        "sip:example.com?Route=%3Csip:example.com%3E",
    ):
        assert str(SipUri.parse(text)) == text
        assert SipUri.parse(str(SipUri.parse(text))) == SipUri.parse(text)
