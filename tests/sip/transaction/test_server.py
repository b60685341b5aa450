"""Server transactions: RFC 3261 §17.2.2 (non-INVITE), §17.2.1 (INVITE), RFC 6026 §7.1."""

import pytest

from mediaserver.sip.message import Request
from mediaserver.sip.transaction.events import (
    RequestReceived,
    TransactionTerminated,
    TransactionTimedOut,
)
from mediaserver.sip.transaction.server import (
    InviteServerTransaction,
    NonInviteServerTransaction,
    ServerState,
)

from .conftest import events, fire_timers, request, response, sent, sent_codes


def invite_transaction(invite: Request, *, reliable: bool = False) -> InviteServerTransaction:
    """An INVITE that arrived at 0.0 and that the TU has not answered yet."""
    transaction = InviteServerTransaction(invite, reliable=reliable, now=0.0)
    assert events(transaction) == [RequestReceived(invite)]
    return transaction


def test_uas_passes_the_request_to_the_tu(options: Request) -> None:
    transaction = NonInviteServerTransaction(options, reliable=False)
    assert events(transaction) == [RequestReceived(options)]
    assert transaction.state is ServerState.TRYING


def test_uas_absorbs_retransmitted_request_and_resends_last_response(options: Request) -> None:
    transaction = NonInviteServerTransaction(options, reliable=False)
    transaction.receive_request(options, now=0.1)
    assert sent(transaction) == []  # §17.2.2: Trying discards retransmissions
    transaction.send_response(response(options, 100), now=0.2)
    assert transaction.state is ServerState.PROCEEDING
    transaction.receive_request(options, now=0.3)
    assert sent_codes(transaction) == [100, 100]
    transaction.send_response(response(options, 200), now=0.4)
    transaction.receive_request(options, now=0.5)
    transaction.receive_request(options, now=0.6)
    assert sent_codes(transaction) == [200, 200, 200]
    assert transaction.state is ServerState.COMPLETED
    assert events(transaction) == [RequestReceived(options)]  # only the first copy
    assert transaction.statistics() == {
        "messages_sent": 5,
        "retransmissions": 3,
        "messages_absorbed": 1,
        "responses_discarded": 0,
    }


def test_uas_non_invite_terminates_on_timer_j(options: Request) -> None:
    transaction = NonInviteServerTransaction(options, reliable=False)
    transaction.send_response(response(options, 200), now=1.0)
    assert transaction.next_deadline() == 1.0 + 64 * 0.5
    transaction.handle_timer(1.0 + 31.9)
    assert not transaction.is_terminated
    transaction.handle_timer(1.0 + 32.0)
    assert transaction.is_terminated
    assert events(transaction)[-1] == TransactionTerminated()


def test_uas_non_invite_timer_j_is_zero_over_reliable_transport(options: Request) -> None:
    transaction = NonInviteServerTransaction(options, reliable=True)
    transaction.send_response(response(options, 404), now=1.0)
    assert transaction.next_deadline() == 1.0
    transaction.handle_timer(1.0)
    assert transaction.is_terminated


def test_uas_discards_a_second_final_response(options: Request) -> None:
    transaction = NonInviteServerTransaction(options, reliable=False)
    transaction.send_response(response(options, 200), now=0.0)
    transaction.send_response(response(options, 500), now=0.0)
    assert sent_codes(transaction) == [200]
    assert transaction.statistics()["responses_discarded"] == 1


def test_uas_invite_sends_100_trying_after_200_ms_if_the_tu_has_not(invite: Request) -> None:
    transaction = invite_transaction(invite)
    assert sent(transaction) == []
    assert transaction.next_deadline() == 0.2  # §17.2.1
    transaction.handle_timer(0.2)
    (trying,) = sent(transaction)
    assert trying == response(invite, 100)
    assert transaction.next_deadline() is None
    transaction.receive_request(invite, now=0.5)  # retransmission: last provisional again
    assert sent(transaction) == [trying]


def test_uas_invite_sends_no_100_when_the_tu_answers_in_time(invite: Request) -> None:
    transaction = invite_transaction(invite)
    transaction.send_response(response(invite, 180), now=0.15)
    assert sent_codes(transaction) == [180]
    assert transaction.next_deadline() is None
    fire_timers(transaction, until=10.0)
    assert sent(transaction) == []


def test_uas_invite_answers_an_early_retransmission_with_100(invite: Request) -> None:
    transaction = invite_transaction(invite)
    transaction.receive_request(invite, now=0.1)
    assert sent_codes(transaction) == [100]
    assert transaction.next_deadline() is None


def test_uas_invite_without_arrival_time_sends_100_at_once(invite: Request) -> None:
    transaction = InviteServerTransaction(invite, reliable=False)
    assert sent_codes(transaction) == [100]
    assert transaction.next_deadline() is None


def test_uas_retransmits_non_2xx_on_timer_g_until_ack(invite: Request) -> None:
    transaction = invite_transaction(invite)
    transaction.send_response(response(invite, 486), now=0.0)
    assert sent_codes(transaction) == [486]
    fired = []
    while (deadline := transaction.next_deadline()) is not None and deadline < 20:
        transaction.handle_timer(deadline)
        fired.append(deadline)
        assert sent_codes(transaction) == [486]
    # Timer G: 0.5, 1, 2, then T2 = 4 s apart.
    assert fired == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5]
    transaction.receive_request(invite, now=19.6)  # retransmitted INVITE: final again
    assert sent_codes(transaction) == [486]
    transaction.receive_request(request("ACK", to_tag="callee"), now=20.0)
    assert transaction.state is ServerState.CONFIRMED
    assert transaction.next_deadline() == 25.0  # Timer I = T4; Timer G stopped
    assert events(transaction) == []  # the ACK of a non-2xx is the transaction's own


def test_uas_confirmed_absorbs_acks_until_timer_i(invite: Request) -> None:
    transaction = invite_transaction(invite)
    transaction.send_response(response(invite, 603), now=0.0)
    ack = request("ACK", to_tag="callee")
    transaction.receive_request(ack, now=0.1)
    transaction.receive_request(ack, now=0.2)
    transaction.receive_request(invite, now=0.3)
    assert sent_codes(transaction) == [603]
    assert transaction.statistics()["messages_absorbed"] == 2
    fire_timers(transaction, until=5.1)
    assert transaction.is_terminated
    assert events(transaction) == [TransactionTerminated()]


def test_uas_timer_i_is_zero_over_reliable_transport(invite: Request) -> None:
    transaction = invite_transaction(invite, reliable=True)
    transaction.send_response(response(invite, 486), now=0.0)
    transaction.receive_request(request("ACK", to_tag="callee"), now=1.0)
    assert transaction.next_deadline() == 1.0


def test_uas_times_out_on_timer_h_without_ack(invite: Request) -> None:
    transaction = invite_transaction(invite)
    transaction.send_response(response(invite, 404), now=0.0)
    fired = fire_timers(transaction, until=100.0)
    assert fired[-1] == 32.0  # Timer H = 64*T1
    assert transaction.is_terminated
    assert events(transaction) == [TransactionTimedOut(), TransactionTerminated()]


def test_uas_invite_over_reliable_transport_does_not_retransmit(invite: Request) -> None:
    transaction = invite_transaction(invite, reliable=True)
    transaction.send_response(response(invite, 404), now=0.0)
    sent(transaction)
    assert fire_timers(transaction, until=100.0) == [32.0]  # Timer H only
    assert sent(transaction) == []
    assert TransactionTimedOut() in events(transaction)


def test_uas_accepted_absorbs_invites_and_sends_the_tus_2xx(invite: Request) -> None:
    # RFC 6026 §7.1: the TU retransmits its 2xx through the transaction, which never does
    # so itself; retransmitted INVITEs are absorbed until Timer L.
    transaction = invite_transaction(invite)
    ok = response(invite, 200)
    transaction.send_response(ok, now=0.1)
    assert transaction.state is ServerState.ACCEPTED
    assert transaction.next_deadline() == pytest.approx(0.1 + 32.0)  # Timer L only
    transaction.receive_request(invite, now=0.5)
    assert sent(transaction) == [ok]
    transaction.send_response(ok, now=0.6)
    assert sent(transaction) == [ok]
    fire_timers(transaction, until=32.0)
    assert sent(transaction) == []
    fire_timers(transaction, until=32.1)
    assert transaction.is_terminated
    assert events(transaction) == [TransactionTerminated()]


def test_uas_accepted_passes_an_ack_to_the_tu(invite: Request) -> None:
    transaction = invite_transaction(invite)
    transaction.send_response(response(invite, 200), now=0.1)
    ack = request("ACK", to_tag="callee")
    transaction.receive_request(ack, now=0.3)
    assert events(transaction) == [RequestReceived(ack)]
    assert transaction.state is ServerState.ACCEPTED


def test_uas_transport_failure_informs_the_tu(invite: Request) -> None:
    transaction = invite_transaction(invite, reliable=True)
    transaction.send_response(response(invite, 486), now=0.0)
    transaction.transport_failed(now=0.1)
    assert transaction.is_terminated
    assert transaction.next_deadline() is None
    assert [type(event).__name__ for event in events(transaction)] == [
        "TransportFailed",
        "TransactionTerminated",
    ]
