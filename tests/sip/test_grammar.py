"""The RFC 3261 §25 rules, checked on the examples that decide their edges."""

import pytest

from mediaserver.sip import grammar


@pytest.mark.parametrize("text", ["INVITE", "!interesting-Method0123456789_*+`.%indeed'~"])
def test_token_accepts(text: str) -> None:
    assert grammar.TOKEN_RE.fullmatch(text)


@pytest.mark.parametrize("text", ["", "a b", "a:b", "a,b", "a;b", "a/b", 'a"', "a<b", "a@b"])
def test_token_refuses_separators(text: str) -> None:
    assert grammar.TOKEN_RE.fullmatch(text) is None


@pytest.mark.parametrize("text", ['""', '"a b"', '"\\""', '"a\\\\"', '"caf\u00e9"'])
def test_quoted_string_accepts(text: str) -> None:
    assert grammar.QUOTED_STRING_RE.fullmatch(text)


@pytest.mark.parametrize("text", ['"', '"a', '"a\\"', 'a"b"'])
def test_quoted_string_refuses(text: str) -> None:
    assert grammar.QUOTED_STRING_RE.fullmatch(text) is None


@pytest.mark.parametrize(
    "text", ["wsinv.ndaksdj@192.0.2.1", "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{", "a"]
)
def test_call_id_accepts(text: str) -> None:
    assert grammar.CALL_ID_RE.fullmatch(text)


@pytest.mark.parametrize("text", ["", "a b", "a@b@c", "a;b", "@b"])
def test_call_id_refuses(text: str) -> None:
    assert grammar.CALL_ID_RE.fullmatch(text) is None


def test_request_and_status_lines() -> None:
    assert grammar.REQUEST_LINE_RE.fullmatch("INVITE sip:a@b SIP/2.0")
    assert grammar.REQUEST_LINE_RE.fullmatch("INVITE sip:a@b sip/2.0")
    assert grammar.REQUEST_LINE_RE.fullmatch("INVITE  sip:a@b SIP/2.0") is None
    assert grammar.STATUS_LINE_RE.fullmatch("SIP/2.0 200 OK, really")
    assert grammar.STATUS_LINE_RE.fullmatch("SIP/2.0 200 bad\x00") is None


def test_header_field_lines_are_anchored_at_line_starts() -> None:
    fields = grammar.HEADER_FIELD_RE.findall("To : x\r\nbad line: y\r\nl:0")
    assert fields == [("To", " x"), ("l", "0")]


def test_folding_becomes_one_space() -> None:
    assert grammar.FOLDING_RE.sub(" ", "a\r\n \t b\r\nc") == "a b\r\nc"
