"""SipParseError carries what a 400 (or 505, 513) needs."""

from mediaserver.sip.errors import SipParseError


def test_reason_and_default_status() -> None:
    error = SipParseError("malformed CSeq")
    assert isinstance(error, ValueError)
    assert (error.reason, error.status_code, str(error)) == (
        "malformed CSeq",
        400,
        "malformed CSeq",
    )


def test_explicit_status() -> None:
    assert SipParseError("SIP version not supported", status_code=505).status_code == 505
