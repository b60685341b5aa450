"""Attribute and body value types: what each accepts and gives, what it refuses (plivo.md §2)."""

import pytest

from mediaserver.plivoxml import attribute_types as types

ACCEPTED = [
    (types.boolean, "true", True),
    (types.boolean, "false", False),
    (types.integer(1, 99), "99", 99),
    (types.integer(0), "0", 0),
    (types.capped_integer(1, 86400), "999999", 86400),
    (types.seconds_or_auto(2, 10), "auto", None),
    (types.seconds_or_auto(2, 10), "10", 10),
    (types.METHOD, "GET", "GET"),
    (types.HTTP_URL, "HTTPS://a.example.com:8443/x?y=1", "HTTPS://a.example.com:8443/x?y=1"),
    (types.HTTP_URL, "http://[2001:db8::1]/x", "http://[2001:db8::1]/x"),
    (types.url_or("real"), "real", "real"),
    (types.blank_or(types.key), "none", ""),
    (types.blank_or(types.key), "", ""),
    (types.key, "#", "#"),
    (types.keys, "1234567890*#", "1234567890*#"),
    (types.dtmf_digits, "0123456789*#ABCDwW", "0123456789*#ABCDwW"),
    (types.send_digits, "ww1234@1000", "ww1234@1000"),
    (types.digit_patterns, "12, 3*,#", ("12", "3*", "#")),
    (types.header_pairs, "a=1,B2=c3", (("a", "1"), ("B2", "c3"))),
    (types.e164, "+442071234567", "+442071234567"),
    (types.sip_uri, "sip:alice@phone.local;transport=tcp", "sip:alice@phone.local;transport=tcp"),
    (types.voice, "Polly.Joanna-Neural", "Polly.Joanna-Neural"),
    (types.language, "arb", "arb"),
    (types.language, "en-GB-WLS", "en-GB-WLS"),
    (types.input_type, "speech  dtmf", "dtmf speech"),
    (types.choice("agent", ignore_case=True), "Agent", "agent"),
    (types.comma_list("a-b", "c-d"), "C-D,a-b", "c-d,a-b"),
    (types.text(50), "x" * 50, "x" * 50),
]

REFUSED = [
    (types.boolean, "True"),
    (types.boolean, " true"),
    (types.integer(1), "0"),
    (types.integer(1), "-1"),
    (types.integer(1), "1.5"),
    (types.integer(1), "١"),  # Arabic-Indic one: int() would take it
    (types.integer(1), "9" * 10),
    (types.integer(1, 99), "100"),
    (types.seconds_or_auto(2, 10), "1"),
    (types.METHOD, "post"),
    (types.HTTP_URL, "//a.example.com/x"),
    (types.HTTP_URL, "https://a.example.com:99999/x"),
    (types.HTTP_URL, "https://a.example.com/x y"),
    (types.HTTP_URL, "mailto:a@example.com"),
    (types.url_or("real"), "REAL"),
    (types.key, "12"),
    (types.key, "A"),
    (types.keys, ""),
    (types.dtmf_digits, "12E"),
    (types.dtmf_digits, ""),
    (types.send_digits, "12@"),
    (types.digit_patterns, "12,,3"),
    (types.header_pairs, "a=1,"),
    (types.header_pairs, "a-b=1"),
    (types.header_pairs, "a=b=c"),
    (types.extra_headers, "a=" + "b" * 600),
    (types.e164, "+1 555 0100"),
    (types.e164, "1" * 16),
    (types.sip_uri, "tel:+15550100"),
    (types.sip_uri, "sip:phone.local"),
    (types.sip_uri, "sip:alice@phone.local?Subject=hi"),
    (types.voice, "woman"),
    (types.voice, "Polly."),
    (types.language, "english"),
    (types.input_type, "dtmf dtmf"),
    (types.input_type, ""),
    (types.hints, ",".join(["x"] * 501)),
    (types.hints, "x" * 101),
    (types.text(50), "x" * 51),
    (types.text(), ""),
]


@pytest.mark.parametrize(("parse", "text", "value"), ACCEPTED)
def test_accepted(parse: types.ValueType, text: str, value: object) -> None:
    assert parse(text) == value


@pytest.mark.parametrize(("parse", "text"), REFUSED)
def test_refused_with_a_reason(parse: types.ValueType, text: str) -> None:
    with pytest.raises(ValueError, match=r"^must|^each") as refused:
        parse(text)
    assert str(refused.value)
