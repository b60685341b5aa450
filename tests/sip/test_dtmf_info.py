"""DTMF carried in SIP INFO bodies."""

import pytest

from mediaserver.sip.dtmf_info import DtmfInfo, DtmfInfoError, dtmf_from_info


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        ("application/dtmf-relay", b"Signal=5\r\nDuration=160\r\n", DtmfInfo("5", 160)),
        ("application/dtmf-relay", b"Signal= #\r\nDuration= 250", DtmfInfo("#", 250)),
        ("application/dtmf-relay", b"Signal=10\r\nDuration=160", DtmfInfo("*", 160)),
        ("Application/DTMF-Relay; charset=x", b"signal=b\nduration=100", DtmfInfo("B", 100)),
        ("application/dtmf-relay", b"Signal=1", DtmfInfo("1", None)),
        ("application/dtmf-relay", b"Signal=1\nDuration=-5", DtmfInfo("1", None)),
        ("application/dtmf", b"7", DtmfInfo("7", None)),
        ("application/dtmf", b"11\r\n", DtmfInfo("#", None)),
    ],
)
def test_digits(content_type: str, body: bytes, expected: DtmfInfo) -> None:
    assert dtmf_from_info(content_type, body) == expected


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
        dtmf_from_info(content_type, body)
