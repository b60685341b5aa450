from mediaserver.sip.message import Request, Response, build_response
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

from .test_server import events


def test_uac_retransmits_invite_on_timer_a_until_timer_b(invite: Request) -> None:
    transaction = InviteClientTransaction(invite, reliable=False)
    transaction.start(now=0)
    assert transaction.messages_to_send() == [invite]
    times = []
    while (deadline := transaction.next_deadline()) is not None:
        transaction.handle_timer(deadline)
        if not transaction.is_terminated:
            assert transaction.messages_to_send() == [invite]
            times.append(deadline)
    assert times == [0.5, 1.5, 3.5, 7.5, 15.5, 31.5]  # Timer A doubles: 0.5, 1, 2, 4, 8, 16
    assert transaction.is_terminated
    assert events(transaction) == [TransactionTimedOut(), TransactionTerminated()]


def test_uac_invite_over_tcp_is_not_retransmitted(invite: Request) -> None:
    transaction = InviteClientTransaction(invite, reliable=True)
    transaction.start(now=0)
    transaction.messages_to_send()
    assert transaction.next_deadline() == 32.0


def test_uac_stops_retransmitting_on_provisional(invite: Request) -> None:
    transaction = InviteClientTransaction(invite, reliable=False)
    transaction.start(now=0)
    transaction.receive_response(build_response(invite, 180, to_tag="t"), now=0.1)
    assert transaction.state is ClientState.PROCEEDING
    assert transaction.next_deadline() is None
    assert isinstance(transaction.next_event(), ResponseReceived)


def test_uac_acknowledges_a_failure_itself(invite: Request) -> None:
    transaction = InviteClientTransaction(invite, reliable=False)
    transaction.start(now=0)
    transaction.messages_to_send()
    busy = build_response(invite, 486, to_tag="callee")
    transaction.receive_response(busy, now=0.2)
    (ack,) = transaction.messages_to_send()
    assert isinstance(ack, Request)
    assert ack.method == "ACK"
    assert ack.uri == invite.uri
    assert ack.top_via.branch == invite.top_via.branch
    assert len(ack.via) == 1
    assert ack.to_address.tag == "callee"
    assert ack.from_address.tag == "from1"
    assert (ack.cseq.number, ack.cseq.method) == (1, "ACK")
    assert ack.call_id == invite.call_id
    assert ack.headers.get_all("Route") == invite.headers.get_all("Route")
    assert events(transaction) == [ResponseReceived(busy)]
    transaction.receive_response(busy, now=0.7)  # retransmitted final: ACK again
    assert [m.method for m in transaction.messages_to_send() if isinstance(m, Request)] == ["ACK"]
    assert events(transaction) == []
    transaction.handle_timer(0.2 + 32.0)  # Timer D
    assert transaction.is_terminated


def test_uac_accepted_passes_every_2xx_to_the_tu(invite: Request) -> None:
    # RFC 6026 §7.2: the TU acknowledges 2xx; the transaction only relays them until Timer M.
    transaction = InviteClientTransaction(invite, reliable=False)
    transaction.start(now=0)
    ok = build_response(invite, 200, to_tag="t")
    transaction.receive_response(ok, now=0.1)
    transaction.receive_response(ok, now=0.6)
    assert events(transaction) == [ResponseReceived(ok), ResponseReceived(ok)]
    assert transaction.state is ClientState.ACCEPTED
    transaction.handle_timer(0.1 + 32.0)
    assert transaction.is_terminated


def test_uac_non_invite_timer_e_is_capped_at_t2(options: Request) -> None:
    transaction = NonInviteClientTransaction(options, reliable=False)
    transaction.start(now=0)
    times = []
    while (deadline := transaction.next_deadline()) is not None:
        transaction.handle_timer(deadline)
        times.append(deadline)
    intervals = [b - a for a, b in zip([0.0, *times], times, strict=False)]
    assert intervals[:5] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert times[-1] == 32.0  # Timer F
    assert TransactionTimedOut() in events(transaction)


def test_uac_non_invite_uses_t2_once_proceeding(options: Request) -> None:
    transaction = NonInviteClientTransaction(options, reliable=False)
    transaction.start(now=0)
    transaction.receive_response(build_response(options, 100), now=0.1)
    transaction.handle_timer(0.5)  # Timer E fires in Proceeding: next interval is T2
    assert transaction.next_deadline() == 4.5


def test_uac_non_invite_absorbs_retransmitted_final_until_timer_k(options: Request) -> None:
    transaction = NonInviteClientTransaction(options, reliable=False)
    transaction.start(now=0)
    ok: Response = build_response(options, 200, to_tag="t")
    transaction.receive_response(ok, now=0.1)
    transaction.receive_response(ok, now=0.2)
    assert events(transaction) == [ResponseReceived(ok)]
    assert transaction.next_deadline() == 0.1 + 5.0
    transaction.handle_timer(5.1)
    assert transaction.is_terminated


def test_transport_failure_informs_the_tu(options: Request) -> None:
    transaction = NonInviteClientTransaction(options, reliable=True)
    transaction.start(now=0)
    transaction.transport_failed()
    assert events(transaction) == [TransportFailed(), TransactionTerminated()]


def test_cancel_copies_the_invite_identity(invite: Request) -> None:
    cancel = InviteClientTransaction(invite, reliable=False).cancel_request()
    assert cancel.method == "CANCEL"
    assert cancel.uri == invite.uri
    assert cancel.top_via.branch == invite.top_via.branch
    assert (cancel.cseq.number, cancel.cseq.method) == (1, "CANCEL")
    assert cancel.to_address.tag is None
