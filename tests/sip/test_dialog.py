"""Dialogs (RFC 3261 §12): creation on both sides, in-dialog requests, CSeq order, states."""

import pytest

from mediaserver.sip.dialog import (
    DialogInput,
    DialogState,
    DialogStateError,
    dialog_id_of,
    uac_dialog,
    uas_dialog,
)
from mediaserver.sip.errors import SipParseError
from mediaserver.sip.message import Request, Response, parse_message

INVITE = (
    "INVITE sip:bob@example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKabc\r\n"
    "Max-Forwards: 70\r\n"
    'From: "Alice" <sip:alice@example.com>;tag=alicetag\r\n'
    "To: <sip:bob@example.com>\r\n"
    "Call-ID: call-1@192.0.2.1\r\n"
    "CSeq: 10 INVITE\r\n"
    "Contact: <sip:alice@192.0.2.1:5060>\r\n"
    "Record-Route: <sip:proxy1.example.com;lr>, <sip:proxy2.example.com;lr>\r\n"
    "Content-Length: 0\r\n\r\n"
)
OK = (
    "SIP/2.0 200 OK\r\n"
    "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKabc\r\n"
    'From: "Alice" <sip:alice@example.com>;tag=alicetag\r\n'
    "To: <sip:bob@example.com>;tag=bobtag\r\n"
    "Call-ID: call-1@192.0.2.1\r\n"
    "CSeq: 10 INVITE\r\n"
    "Contact: <sip:bob@198.51.100.2:5070>\r\n"
    "Record-Route: <sip:proxy1.example.com;lr>, <sip:proxy2.example.com;lr>\r\n"
    "Content-Length: 0\r\n\r\n"
)


def invite(text: str = INVITE) -> Request:
    message = parse_message(text.encode())
    assert isinstance(message, Request)
    return message


def ok() -> Response:
    message = parse_message(OK.encode())
    assert isinstance(message, Response)
    return message


def test_uas_dialog_takes_route_set_in_order_and_contact_as_target() -> None:
    dialog = uas_dialog(invite(), "mytag", local_cseq=0)
    assert dialog.dialog_id == ("call-1@192.0.2.1", "mytag", "alicetag")
    assert str(dialog.remote_target) == "sip:alice@192.0.2.1:5060"
    assert dialog.route_set == ("<sip:proxy1.example.com;lr>", "<sip:proxy2.example.com;lr>")
    bye = dialog.new_request("BYE", "<sip:me@203.0.113.9>")
    assert str(bye.uri) == "sip:alice@192.0.2.1:5060"  # §12.2.1.1 loose routing
    assert bye.headers.get_all("Route") == list(dialog.route_set)
    assert bye.from_address.tag == "mytag"
    assert bye.to_address.tag == "alicetag"
    assert bye.cseq.number == 1
    assert bye.cseq.method == "BYE"


def test_uac_dialog_reverses_record_route_and_acks_with_the_invite_cseq() -> None:
    dialog = uac_dialog(invite(), ok())
    assert dialog.dialog_id == ("call-1@192.0.2.1", "alicetag", "bobtag")
    assert dialog.route_set[0] == "<sip:proxy2.example.com;lr>"
    ack = dialog.ack_request(10, "<sip:alice@192.0.2.1>")
    assert ack.method == "ACK"
    assert ack.cseq.number == 10
    assert dialog.new_request("BYE", "<sip:alice@192.0.2.1>").cseq.number == 11


def test_strict_route_becomes_the_request_uri() -> None:
    text = INVITE.replace(
        "<sip:proxy1.example.com;lr>, <sip:proxy2.example.com;lr>", "<sip:strict.example.com>"
    )
    dialog = uas_dialog(invite(text), "mytag", local_cseq=0)
    bye = dialog.new_request("BYE", "<sip:me@203.0.113.9>")
    assert str(bye.uri) == "sip:strict.example.com"
    assert bye.headers.get_all("Route") == ["<sip:alice@192.0.2.1:5060>"]


def test_remote_cseq_must_grow_but_ack_and_cancel_reuse_it() -> None:
    dialog = uas_dialog(invite(), "mytag", local_cseq=0)
    lower = invite(
        INVITE.replace("CSeq: 10 INVITE", "CSeq: 9 BYE").replace("INVITE sip", "BYE sip")
    )
    assert not dialog.accepts_remote_cseq(lower)  # §12.2.2: 500 for out of order
    higher = invite(
        INVITE.replace("CSeq: 10 INVITE", "CSeq: 11 INFO").replace("INVITE sip", "INFO sip")
    )
    assert dialog.accepts_remote_cseq(higher)
    ack = invite(INVITE.replace("CSeq: 10 INVITE", "CSeq: 10 ACK").replace("INVITE sip", "ACK sip"))
    assert dialog.accepts_remote_cseq(ack)


def test_state_table() -> None:
    dialog = uas_dialog(invite(), "mytag", local_cseq=0)
    assert dialog.state is DialogState.EARLY
    dialog.handle(DialogInput.SUCCESS)
    assert dialog.handle(DialogInput.BYE) is DialogState.TERMINATED
    with pytest.raises(DialogStateError):
        dialog.handle(DialogInput.SUCCESS)
    assert dialog.transitions == [DialogState.CONFIRMED, DialogState.TERMINATED]


def test_dialog_creating_request_needs_one_contact() -> None:
    with pytest.raises(SipParseError):
        uas_dialog(invite(INVITE.replace("Contact: <sip:alice@192.0.2.1:5060>\r\n", "")), "t", 0)


def test_dialog_id_of_a_request_needs_both_tags() -> None:
    assert dialog_id_of(invite()) is None
    tagged = invite(INVITE.replace("To: <sip:bob@example.com>", "To: <sip:bob@example.com>;tag=x"))
    assert dialog_id_of(tagged) == ("call-1@192.0.2.1", "x", "alicetag")
