"""DTMF carried in SIP INFO bodies."""

import pytest

from mediaserver.sip.dtmf_info import DtmfInfoError, digit_from_info


@pytest.mark.parametrize(
    ("content_type", "body", "digit"),
    [
        ("application/dtmf-relay", b"Signal=5\r\nDuration=160\r\n", "5"),
        ("application/dtmf-relay", b"Signal= #\r\nDuration= 250", "#"),
        ("application/dtmf-relay", b"Signal=10\r\nDuration=160", "*"),
        ("Application/DTMF-Relay; charset=x", b"signal=b\nduration=100", "B"),
        ("application/dtmf", b"7", "7"),
        ("application/dtmf", b"11\r\n", "#"),
    ],
)
def test_digits(content_type: str, body: bytes, digit: str) -> None:
    assert digit_from_info(content_type, body) == digit


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/dtmf-relay", b"Duration=160"),
        ("application/dtmf-relay", b"Signal=X"),
        ("application/dtmf", b"55"),
        ("application/dtmf", b"\xff\xfe"),
    ],
)
def test_not_a_digit(content_type: str, body: bytes) -> None:
    with pytest.raises(DtmfInfoError):
        digit_from_info(content_type, body)
