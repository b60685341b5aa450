"""Session timers (RFC 4028) as the UAS."""

from mediaserver.calls.session_timer import SessionTimer
from mediaserver.sip.message import Request, parse_message


def invite(*headers: str) -> Request:
    text = (
        "INVITE sip:bob@example.com SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKabc\r\n"
        "From: <sip:alice@example.com>;tag=a\r\nTo: <sip:bob@example.com>\r\n"
        "Call-ID: c\r\nCSeq: 1 INVITE\r\n" + "".join(f"{h}\r\n" for h in headers) + "\r\n"
    )
    message = parse_message(text.encode())
    assert isinstance(message, Request)
    return message


def test_no_session_expires_no_timer() -> None:
    timer = SessionTimer()
    assert timer.negotiate(invite(), incoming_is_initial=True) is None
    assert timer.response_headers() == []
    assert timer.expiry_interval() is None


def test_uac_that_supports_timer_refreshes() -> None:
    timer = SessionTimer()
    assert (
        timer.negotiate(
            invite("Supported: timer", "Session-Expires: 1800"), incoming_is_initial=True
        )
        is None
    )
    assert timer.response_headers() == [
        ("Session-Expires", "1800;refresher=uac"),
        ("Require", "timer"),
    ]
    assert timer.expiry_interval() == 1800
    assert timer.refresh_interval() is None


def test_uac_asking_us_to_refresh_gets_a_refresh_at_half_time() -> None:
    timer = SessionTimer()
    timer.negotiate(
        invite("Supported: timer", "Session-Expires: 600;refresher=uas"), incoming_is_initial=True
    )
    assert timer.response_headers() == [("Session-Expires", "600;refresher=uas")]
    assert timer.refresh_interval() == 300
    assert timer.expiry_interval() is None


def test_too_small_interval_gets_422_with_min_se() -> None:
    timer = SessionTimer(min_se=120)
    refusal = timer.negotiate(
        invite("Supported: timer", "Session-Expires: 90"), incoming_is_initial=True
    )
    assert refusal is not None
    response = refusal.response(invite("Session-Expires: 90"))
    assert response.status_code == 422
    assert response.headers.get("Min-SE") == "120"
