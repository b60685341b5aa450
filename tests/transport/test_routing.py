"""§18.2.1 received / RFC 3581 rport on the way in, §18.2.2 destinations on the way out."""

from mediaserver.sip.message import Request, build_response, parse_message
from mediaserver.transport.peer import Peer
from mediaserver.transport.routing import response_destination, with_received


def request_with_via(via: str, extra_via: str = "") -> Request:
    more = f"Via: {extra_via}\r\n" if extra_via else ""
    message = parse_message(
        (
            "OPTIONS sip:phone.local SIP/2.0\r\n"
            f"Via: {via}\r\n{more}"
            "Max-Forwards: 70\r\nFrom: <sip:a@phone.local>;tag=1\r\nTo: <sip:phone.local>\r\n"
            "Call-ID: c1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        ).encode()
    )
    assert isinstance(message, Request)
    return message


def test_same_host_without_rport_is_left_alone() -> None:
    request = request_with_via("SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKa")
    assert with_received(request, Peer("udp", "192.0.2.1", 5070)) is request


def test_received_added_when_host_differs() -> None:
    request = request_with_via("SIP/2.0/UDP client.example.com:5070;branch=z9hG4bKa")
    top = with_received(request, Peer("udp", "192.0.2.1", 40000)).top_via
    assert top.received == "192.0.2.1"
    assert top.rport is None
    assert top.host == "client.example.com"


def test_rport_filled_and_received_added_even_for_same_host() -> None:
    request = request_with_via("SIP/2.0/UDP 192.0.2.1:5070;rport;branch=z9hG4bKa")
    top = with_received(request, Peer("udp", "192.0.2.1", 40000)).top_via
    assert top.rport == "40000"
    assert top.received == "192.0.2.1"
    assert top.branch == "z9hG4bKa"


def test_ipv6_spellings_compare_as_addresses() -> None:
    request = request_with_via("SIP/2.0/UDP [0:0::1]:5070;branch=z9hG4bKa")
    assert with_received(request, Peer("udp", "::1", 5070)) is request


def test_only_the_top_via_changes() -> None:
    request = request_with_via(
        "SIP/2.0/UDP a.example:5070;branch=z9hG4bKa, SIP/2.0/UDP b.example;branch=z9hG4bKb",
        "SIP/2.0/UDP c.example;branch=z9hG4bKc",
    )
    vias = with_received(request, Peer("udp", "192.0.2.1", 5070)).via
    assert [via.received for via in vias] == ["192.0.2.1", None, None]
    assert [via.host for via in vias] == ["a.example", "b.example", "c.example"]


def test_udp_response_goes_to_received_and_rport() -> None:
    request = with_received(
        request_with_via("SIP/2.0/UDP 10.0.0.5:5070;rport;branch=z9hG4bKa"),
        Peer("udp", "192.0.2.1", 40000),
    )
    destination = response_destination(
        build_response(request, 200), Peer("udp", "192.0.2.1", 40000)
    )
    assert destination == Peer("udp", "192.0.2.1", 40000)


def test_udp_response_without_rport_goes_to_sent_by_port() -> None:
    request = with_received(
        request_with_via("SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bKa"),
        Peer("udp", "192.0.2.1", 40000),
    )
    destination = response_destination(
        build_response(request, 200), Peer("udp", "192.0.2.1", 40000)
    )
    assert destination == Peer("udp", "192.0.2.1", 5070)


def test_default_port_is_5060() -> None:
    request = request_with_via("SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKa")
    destination = response_destination(build_response(request, 200), Peer("udp", "192.0.2.1", 7))
    assert destination == Peer("udp", "192.0.2.1", 5060)


def test_tcp_fallback_uses_sent_by_port_not_rport() -> None:
    source = Peer("tcp", "192.0.2.1", 40000)
    request = with_received(
        request_with_via("SIP/2.0/TCP h.example:5070;rport;branch=z9hG4bKa"), source
    )
    assert response_destination(build_response(request, 200), source) == Peer(
        "tcp", "192.0.2.1", 5070
    )


def test_a_client_supplied_rport_that_is_no_port_is_ignored() -> None:
    request = request_with_via("SIP/2.0/UDP 192.0.2.1:5070;rport=junk;branch=z9hG4bKa")
    source = Peer("udp", "192.0.2.1", 40000)
    destination = response_destination(build_response(request, 200), source)
    assert destination == Peer("udp", "192.0.2.1", 5070)
