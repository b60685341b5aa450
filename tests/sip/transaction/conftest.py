"""Messages and small drivers for the transaction tests (numbers for `now`, no sleeps)."""

from typing import Any

import pytest

from mediaserver.sip.message import Message, Request, Response, build_response, parse_message
from mediaserver.sip.transaction.events import TransactionEvent
from mediaserver.sip.transaction.machine import TransactionMachine

Machine = TransactionMachine[Any, Any]


def request(
    method: str = "INVITE",
    *,
    branch: str | None = "z9hG4bKabc",
    to_tag: str = "",
    sent_by: str = "192.0.2.1:5060",
    call_id: str = "call-1@192.0.2.1",
    cseq: int = 1,
) -> Request:
    branch_parameter = "" if branch is None else f";branch={branch}"
    tag = f";tag={to_tag}" if to_tag else ""
    data = (
        f"{method} sip:bob@example.com SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {sent_by}{branch_parameter}\r\n"
        "Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bKupstream\r\n"
        "Max-Forwards: 70\r\n"
        'From: "Alice" <sip:alice@example.com>;tag=from1\r\n'
        f"To: <sip:bob@example.com>{tag}\r\n"
        f"Call-ID: {call_id}\r\n"
        f"CSeq: {cseq} {method}\r\n"
        "Route: <sip:proxy.example.com;lr>, <sip:edge.example.com;lr>\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()
    message = parse_message(data)
    assert isinstance(message, Request)
    return message


def response(to: Request, status_code: int, to_tag: str | None = "callee") -> Response:
    return build_response(to, status_code, to_tag=None if status_code == 100 else to_tag)


def events(transaction: Machine) -> list[TransactionEvent]:
    found = []
    while (event := transaction.next_event()) is not None:
        found.append(event)
    return found


def sent(transaction: Machine) -> list[Message]:
    return transaction.messages_to_send()


def sent_codes(transaction: Machine) -> list[int]:
    return [m.status_code for m in transaction.messages_to_send() if isinstance(m, Response)]


def sent_methods(transaction: Machine) -> list[str]:
    return [m.method for m in transaction.messages_to_send() if isinstance(m, Request)]


def fire_timers(transaction: Machine, until: float) -> list[float]:
    """Fire every deadline up to `until` as the driver's one timer would; return when."""
    fired = []
    while (deadline := transaction.next_deadline()) is not None and deadline <= until:
        transaction.handle_timer(deadline)
        fired.append(deadline)
    return fired


@pytest.fixture
def invite() -> Request:
    return request("INVITE")


@pytest.fixture
def options() -> Request:
    return request("OPTIONS")
