"""Client transactions: RFC 3261 §17.1.1 (INVITE), §17.1.2 (non-INVITE), RFC 6026 §7.2."""

import pytest

from mediaserver.sip.message import Request, parse_message
from mediaserver.sip.transaction.client import (
    ClientState,
    InviteClientTransaction,
    NonInviteClientTransaction,
)
from mediaserver.sip.transaction.events import (
    ResponseReceived,
    TransactionTerminated,
    TransactionTimedOut,
    TransportFailed,
)
from mediaserver.sip.transaction.machine import UnexpectedInputError
from mediaserver.sip.transaction.timers import Timers

from .conftest import events, fire_timers, response, sent, sent_methods


def started_invite(invite: Request, *, reliable: bool = False) -> InviteClientTransaction:
    transaction = InviteClientTransaction(invite, reliable=reliable)
    transaction.start(now=0.0)
    assert sent(transaction) == [invite]
    return transaction


def test_uac_retransmits_invite_on_timer_a_until_timer_b(invite: Request) -> None:
    transaction = started_invite(invite)
    retransmitted_at = []
    while (deadline := transaction.next_deadline()) is not None:
        transaction.handle_timer(deadline)
        if sent(transaction) == [invite]:
            retransmitted_at.append(deadline)
    # Timer A: 0.5, 1, 2, 4, 8, 16 s apart; Timer B (64*T1 = 32 s) ends it.
    assert retransmitted_at == [0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    assert transaction.state is ClientState.TERMINATED
    assert events(transaction) == [TransactionTimedOut(), TransactionTerminated()]
    assert transaction.statistics()["retransmissions"] == 6


def test_uac_timer_a_follows_t1(invite: Request) -> None:
    transaction = InviteClientTransaction(invite, reliable=False, timers=Timers(t1=0.1))
    transaction.start(now=100.0)
    assert fire_timers(transaction, until=101.0) == pytest.approx([100.1, 100.3, 100.7])
    fire_timers(transaction, until=200.0)
    assert transaction.is_terminated
    assert TransactionTimedOut() in events(transaction)


def test_uac_invite_over_reliable_transport_is_not_retransmitted(invite: Request) -> None:
    transaction = started_invite(invite, reliable=True)
    assert transaction.next_deadline() == 32.0  # Timer B only
    assert fire_timers(transaction, until=100.0) == [32.0]
    assert sent(transaction) == []
    assert events(transaction) == [TransactionTimedOut(), TransactionTerminated()]


def test_uac_provisional_stops_timers_a_and_b(invite: Request) -> None:
    transaction = started_invite(invite)
    ringing = response(invite, 180)
    transaction.receive_response(ringing, now=0.2)
    assert transaction.state is ClientState.PROCEEDING
    assert transaction.next_deadline() is None  # §17.1.1.2: Timer B only runs in Calling
    transaction.receive_response(ringing, now=0.3)
    assert events(transaction) == [ResponseReceived(ringing), ResponseReceived(ringing)]


@pytest.mark.parametrize("status_code", [300, 404, 486, 503, 603])
@pytest.mark.parametrize("state", ["calling", "proceeding"])
def test_uac_acknowledges_a_non_2xx_final_response_itself(
    invite: Request, status_code: int, state: str
) -> None:
    transaction = started_invite(invite)
    if state == "proceeding":
        transaction.receive_response(response(invite, 183), now=0.1)
        events(transaction)
    final = response(invite, status_code, to_tag="callee-7")
    transaction.receive_response(final, now=0.2)
    assert transaction.state is ClientState.COMPLETED
    (ack,) = sent(transaction)
    assert isinstance(ack, Request)
    # §17.1.1.3: same Request-URI, Call-ID, From, CSeq number; the response's To; one Via
    # equal to the INVITE's top Via (same branch); the INVITE's Route set.
    assert ack.method == "ACK"
    assert ack.uri == invite.uri
    assert [str(via) for via in ack.via] == [str(invite.top_via)]
    assert ack.to_address.tag == "callee-7"
    assert ack.headers.get("From") == invite.headers.get("From")
    assert ack.call_id == invite.call_id
    assert (ack.cseq.number, ack.cseq.method) == (invite.cseq.number, "ACK")
    assert ack.headers.get_all("Route") == invite.headers.get_all("Route")
    assert parse_message(ack.serialize()).headers.without("Content-Length") == ack.headers
    assert events(transaction) == [ResponseReceived(final)]


def test_uac_resends_the_ack_for_a_retransmitted_final_response(invite: Request) -> None:
    transaction = started_invite(invite)
    busy = response(invite, 486)
    transaction.receive_response(busy, now=0.2)
    (ack,) = sent(transaction)
    events(transaction)
    transaction.receive_response(busy, now=0.7)
    assert sent(transaction) == [ack]
    assert events(transaction) == []  # §17.1.1.2: not passed up again
    assert transaction.statistics()["retransmissions"] == 1


def test_uac_timer_d_ends_completed(invite: Request) -> None:
    transaction = started_invite(invite)
    transaction.receive_response(response(invite, 486), now=1.0)
    assert transaction.next_deadline() == 33.0  # Timer D: 32 s on UDP
    transaction.receive_response(response(invite, 180), now=2.0)  # absorbed
    fire_timers(transaction, until=33.0)
    assert transaction.is_terminated
    assert events(transaction)[-1] == TransactionTerminated()


def test_uac_timer_d_is_zero_over_reliable_transport(invite: Request) -> None:
    transaction = started_invite(invite, reliable=True)
    transaction.receive_response(response(invite, 486), now=1.0)
    assert sent_methods(transaction) == ["ACK"]
    assert transaction.next_deadline() == 1.0
    transaction.handle_timer(1.0)
    assert transaction.is_terminated


def test_uac_accepted_passes_every_2xx_to_the_tu(invite: Request) -> None:
    # RFC 6026 §7.2: retransmitted 2xx and other forks' 2xx reach the TU, which sends the
    # ACK; the transaction sends nothing and ends on Timer M.
    transaction = started_invite(invite)
    ok = response(invite, 200, to_tag="fork-1")
    other_fork = response(invite, 200, to_tag="fork-2")
    transaction.receive_response(ok, now=0.1)
    assert transaction.state is ClientState.ACCEPTED
    assert transaction.next_deadline() == pytest.approx(0.1 + 32.0)  # Timer M only
    transaction.receive_response(ok, now=0.6)
    transaction.receive_response(other_fork, now=0.7)
    transaction.receive_response(response(invite, 486), now=0.8)  # absorbed
    assert sent(transaction) == []
    assert events(transaction) == [
        ResponseReceived(ok),
        ResponseReceived(ok),
        ResponseReceived(other_fork),
    ]
    fire_timers(transaction, until=40.0)
    assert transaction.is_terminated
    assert events(transaction) == [TransactionTerminated()]


def test_uac_non_invite_timer_e_is_capped_at_t2_until_timer_f(options: Request) -> None:
    transaction = NonInviteClientTransaction(options, reliable=False)
    transaction.start(now=0.0)
    assert sent(transaction) == [options]
    fired = fire_timers(transaction, until=100.0)
    intervals = [later - earlier for earlier, later in zip([0.0, *fired], fired, strict=False)]
    assert intervals[:6] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert fired[-1] == 32.0  # Timer F
    assert transaction.statistics()["retransmissions"] == len(fired) - 1
    assert events(transaction) == [TransactionTimedOut(), TransactionTerminated()]


def test_uac_non_invite_over_reliable_transport_only_has_timer_f(options: Request) -> None:
    transaction = NonInviteClientTransaction(options, reliable=True)
    transaction.start(now=0.0)
    sent(transaction)
    assert fire_timers(transaction, until=100.0) == [32.0]
    assert sent(transaction) == []
    assert TransactionTimedOut() in events(transaction)


def test_uac_non_invite_uses_t2_once_proceeding(options: Request) -> None:
    transaction = NonInviteClientTransaction(options, reliable=False)
    transaction.start(now=0.0)
    transaction.receive_response(response(options, 100), now=0.1)
    assert transaction.state is ClientState.PROCEEDING
    transaction.handle_timer(0.5)  # Timer E in Proceeding: re-sent, next in T2
    assert sent(transaction) == [options, options]
    assert transaction.next_deadline() == 4.5


@pytest.mark.parametrize("status_code", [200, 202, 404, 500])
def test_uac_non_invite_absorbs_retransmitted_finals_until_timer_k(
    options: Request, status_code: int
) -> None:
    transaction = NonInviteClientTransaction(options, reliable=False)
    transaction.start(now=0.0)
    final = response(options, status_code)
    transaction.receive_response(final, now=0.1)
    assert transaction.state is ClientState.COMPLETED
    transaction.receive_response(final, now=0.2)
    assert events(transaction) == [ResponseReceived(final)]
    assert transaction.next_deadline() == pytest.approx(0.1 + 5.0)  # Timer K = T4
    assert transaction.statistics()["messages_absorbed"] == 1
    fire_timers(transaction, until=10.0)
    assert transaction.is_terminated


def test_uac_non_invite_timer_k_is_zero_over_reliable_transport(options: Request) -> None:
    transaction = NonInviteClientTransaction(options, reliable=True)
    transaction.start(now=0.0)
    transaction.receive_response(response(options, 200), now=3.0)
    assert transaction.next_deadline() == 3.0


def test_transport_failure_informs_the_tu_and_ends(options: Request) -> None:
    transaction = NonInviteClientTransaction(options, reliable=True)
    transaction.start(now=0.0)
    transaction.transport_failed()
    assert events(transaction) == [TransportFailed(), TransactionTerminated()]
    assert transaction.next_deadline() is None
    transaction.transport_failed()  # a late report changes nothing
    assert events(transaction) == []


def test_starting_twice_is_refused(invite: Request) -> None:
    transaction = started_invite(invite)
    with pytest.raises(UnexpectedInputError, match="STARTED"):
        transaction.start(now=1.0)


def test_responses_after_the_end_are_refused(invite: Request) -> None:
    transaction = started_invite(invite, reliable=True)
    transaction.receive_response(response(invite, 486), now=1.0)
    transaction.handle_timer(1.0)
    with pytest.raises(UnexpectedInputError, match="TERMINATED"):
        transaction.receive_response(response(invite, 486), now=2.0)


def test_cancel_copies_the_invite_identity(invite: Request) -> None:
    cancel = InviteClientTransaction(invite, reliable=False).cancel_request()
    # §9.1: Request-URI, Call-ID, To, From, CSeq number and top Via as in the INVITE.
    assert cancel.method == "CANCEL"
    assert cancel.uri == invite.uri
    assert [str(via) for via in cancel.via] == [str(invite.top_via)]
    assert (cancel.cseq.number, cancel.cseq.method) == (invite.cseq.number, "CANCEL")
    assert cancel.headers.get("To") == invite.headers.get("To")
    assert cancel.headers.get("From") == invite.headers.get("From")
    assert cancel.headers.get_all("Route") == invite.headers.get_all("Route")
    assert parse_message(cancel.serialize()).headers.without("Content-Length") == cancel.headers
