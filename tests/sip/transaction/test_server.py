from mediaserver.sip.message import Request, Response, build_response
from mediaserver.sip.transaction.events import TransactionTerminated, TransactionTimedOut
from mediaserver.sip.transaction.machine import TransactionMachine
from mediaserver.sip.transaction.server import (
    InviteServerTransaction,
    NonInviteServerTransaction,
    ServerState,
)
from mediaserver.sip.transaction.timers import Timers

from .conftest import request


def sent_codes(transaction: TransactionMachine) -> list[int]:  # type: ignore[type-arg]
    return [m.status_code for m in transaction.messages_to_send() if isinstance(m, Response)]


def events(transaction: TransactionMachine) -> list[object]:  # type: ignore[type-arg]
    found = []
    while (event := transaction.next_event()) is not None:
        found.append(event)
    return found


def run_timers(transaction: TransactionMachine, until: float) -> None:  # type: ignore[type-arg]
    while (deadline := transaction.next_deadline()) is not None and deadline <= until:
        transaction.handle_timer(deadline)


def test_uas_absorbs_retransmitted_request_and_resends_last_response(options: Request) -> None:
    transaction = NonInviteServerTransaction(options, reliable=False)
    transaction.receive_request(options, now=0.1)
    assert sent_codes(transaction) == []  # Trying: discard
    transaction.send_response(build_response(options, 200), now=0.2)
    assert sent_codes(transaction) == [200]
    transaction.receive_request(options, now=0.3)
    assert sent_codes(transaction) == [200]
    assert transaction.state is ServerState.COMPLETED


def test_uas_non_invite_terminates_on_timer_j(options: Request) -> None:
    transaction = NonInviteServerTransaction(options, reliable=False)
    transaction.send_response(build_response(options, 200), now=1.0)
    assert transaction.next_deadline() == 1.0 + 64 * 0.5
    transaction.handle_timer(1.0 + 31.9)
    assert not transaction.is_terminated
    transaction.handle_timer(1.0 + 32.0)
    assert transaction.is_terminated
    assert TransactionTerminated() in events(transaction)


def test_uas_non_invite_over_reliable_transport_terminates_at_once(options: Request) -> None:
    transaction = NonInviteServerTransaction(options, reliable=True)
    transaction.send_response(build_response(options, 200), now=1.0)
    assert transaction.next_deadline() == 1.0
    transaction.handle_timer(1.0)
    assert transaction.is_terminated


def test_uas_discards_a_second_final_response(options: Request) -> None:
    transaction = NonInviteServerTransaction(options, reliable=False)
    transaction.send_response(build_response(options, 200), now=0)
    transaction.send_response(build_response(options, 500), now=0)
    assert sent_codes(transaction) == [200]


def test_uas_invite_sends_100_trying_before_the_tu_answers(invite: Request) -> None:
    transaction = InviteServerTransaction(invite, reliable=False)
    assert sent_codes(transaction) == [100]
    transaction.receive_request(invite, now=0.5)
    assert sent_codes(transaction) == [100]  # §17.2.1: retransmission gets the last provisional


def test_uas_retransmits_non_2xx_on_timer_g_until_ack(invite: Request) -> None:
    transaction = InviteServerTransaction(invite, reliable=False)
    transaction.messages_to_send()
    transaction.send_response(build_response(invite, 486, to_tag="t"), now=0)
    assert sent_codes(transaction) == [486]
    times = []
    while (deadline := transaction.next_deadline()) is not None and deadline < 10:
        transaction.handle_timer(deadline)
        times.append(deadline)
        assert sent_codes(transaction) == [486]
    assert times == [0.5, 1.5, 3.5, 7.5]  # intervals 0.5, 1, 2, 4 (capped at T2)
    ack = request("ACK", to_tag="t")
    transaction.receive_request(ack, now=10)
    assert transaction.state is ServerState.CONFIRMED
    assert transaction.next_deadline() == 10 + 5.0  # Timer I = T4
    transaction.receive_request(ack, now=11)  # absorbed
    assert sent_codes(transaction) == []
    transaction.handle_timer(15)
    assert transaction.is_terminated


def test_uas_times_out_on_timer_h_without_ack(invite: Request) -> None:
    transaction = InviteServerTransaction(invite, reliable=False)
    transaction.send_response(build_response(invite, 404), now=0)
    run_timers(transaction, until=32.0)
    assert transaction.is_terminated
    assert TransactionTimedOut() in events(transaction)


def test_uas_invite_over_tcp_does_not_retransmit(invite: Request) -> None:
    transaction = InviteServerTransaction(invite, reliable=True)
    transaction.send_response(build_response(invite, 404), now=0)
    assert transaction.next_deadline() == 32.0  # only Timer H


def test_uas_accepted_absorbs_invite_and_passes_2xx_retransmissions(invite: Request) -> None:
    # RFC 6026 §7.1
    transaction = InviteServerTransaction(invite, reliable=False, timers=Timers(t1=0.5))
    transaction.messages_to_send()
    ok = build_response(invite, 200, to_tag="t")
    transaction.send_response(ok, now=0)
    assert transaction.state is ServerState.ACCEPTED
    transaction.receive_request(invite, now=0.5)
    assert sent_codes(transaction) == [200]  # the first; the retransmitted INVITE is absorbed
    transaction.send_response(ok, now=0.5)  # the TU's own 2xx retransmission
    assert sent_codes(transaction) == [200]
    transaction.handle_timer(32.0)  # Timer L
    assert transaction.is_terminated
