import pytest

from mediaserver.sip.message import Request, parse_message


def request(method: str = "INVITE", branch: str = "z9hG4bKabc", to_tag: str = "") -> Request:
    tag = f";tag={to_tag}" if to_tag else ""
    data = (
        f"{method} sip:bob@example.com SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 192.0.2.1:5060;branch={branch}\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:alice@example.com>;tag=from1\r\n"
        f"To: <sip:bob@example.com>{tag}\r\n"
        "Call-ID: call-1@192.0.2.1\r\n"
        f"CSeq: 1 {method}\r\n"
        "Route: <sip:proxy.example.com;lr>\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()
    message = parse_message(data)
    assert isinstance(message, Request)
    return message


@pytest.fixture
def invite() -> Request:
    return request("INVITE")


@pytest.fixture
def options() -> Request:
    return request("OPTIONS")
