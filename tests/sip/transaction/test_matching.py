"""Matching requests and responses to transactions: RFC 3261 §17.1.3, §17.2.3, §9.2."""

import pytest

from mediaserver.sip.message import Request
from mediaserver.sip.transaction.client import InviteClientTransaction, NonInviteClientTransaction
from mediaserver.sip.transaction.matching import (
    DuplicateTransactionError,
    Transaction,
    TransactionTable,
    client_key,
    server_key,
)
from mediaserver.sip.transaction.server import InviteServerTransaction, NonInviteServerTransaction

from .conftest import fire_timers, request, response


def table_with_invite(invite: Request) -> tuple[TransactionTable, InviteServerTransaction]:
    table = TransactionTable()
    transaction = InviteServerTransaction(invite, reliable=False, now=0.0)
    table.add(transaction)
    return table, transaction


def test_retransmitted_invite_matches_its_transaction(invite: Request) -> None:
    table, transaction = table_with_invite(invite)
    assert table.find_server(request("INVITE")) is transaction
    assert table.find_server(request("INVITE", branch="z9hG4bKother")) is None


def test_ack_for_a_non_2xx_matches_the_invite_transaction(invite: Request) -> None:
    table, transaction = table_with_invite(invite)
    transaction.send_response(response(invite, 486, to_tag="callee"), now=0.1)
    # §17.1.1.3: that ACK carries the INVITE's branch and the response's To tag.
    assert table.find_server(request("ACK", to_tag="callee")) is transaction


def test_sent_by_distinguishes_equal_branches(invite: Request) -> None:
    table, _ = table_with_invite(invite)
    assert table.find_server(request("INVITE", sent_by="192.0.2.99:5060")) is None
    assert table.find_server(request("INVITE", sent_by="192.0.2.1:5070")) is None


def test_method_distinguishes_equal_branches(invite: Request) -> None:
    table, _ = table_with_invite(invite)
    assert table.find_server(request("OPTIONS")) is None


def test_cancel_is_its_own_transaction_and_finds_its_invite(invite: Request) -> None:
    table, invite_transaction = table_with_invite(invite)
    cancel = request("CANCEL")
    assert table.find_server(cancel) is None
    assert table.find_invite_for_cancel(cancel) is invite_transaction
    cancel_transaction = NonInviteServerTransaction(cancel, reliable=False)
    table.add(cancel_transaction)
    assert table.find_server(cancel) is cancel_transaction
    assert table.find_server(invite) is invite_transaction
    assert table.find_invite_for_cancel(request("CANCEL", branch="z9hG4bKelse")) is None


def test_cancel_finds_no_non_invite_transaction(options: Request) -> None:
    table = TransactionTable()
    table.add(NonInviteServerTransaction(options, reliable=False))
    assert table.find_invite_for_cancel(request("CANCEL")) is None


@pytest.mark.parametrize("branch", ["1234", None, "z9hG4bk-lower-case-cookie"])
def test_rfc2543_fallback_without_magic_cookie(branch: str | None) -> None:
    table = TransactionTable()
    old = request("INVITE", branch=branch)
    transaction = InviteServerTransaction(old, reliable=False, now=0.0)
    table.add(transaction)
    assert table.find_server(request("INVITE", branch=branch)) is transaction
    # §17.2.3: Request-URI, To tag, From tag, Call-ID, CSeq and top Via must all match.
    assert table.find_server(request("INVITE", branch=branch, call_id="other")) is None
    assert table.find_server(request("INVITE", branch=branch, cseq=2)) is None
    assert table.find_server(request("INVITE", branch=branch, to_tag="x")) is None
    assert table.find_server(request("INVITE", branch=branch, sent_by="192.0.2.9")) is None
    assert table.find_invite_for_cancel(request("CANCEL", branch=branch)) is transaction


def test_rfc2543_ack_matches_by_the_to_tag_of_the_response() -> None:
    table = TransactionTable()
    old = request("INVITE", branch="1234")
    transaction = InviteServerTransaction(old, reliable=False, now=0.0)
    table.add(transaction)
    transaction.send_response(response(old, 486, to_tag="ours"), now=0.1)
    assert table.find_server(request("ACK", branch="1234", to_tag="ours")) is transaction
    assert table.find_server(request("ACK", branch="1234", to_tag="theirs")) is None


def test_server_keys_follow_section_17_2_3() -> None:
    assert server_key(request("INVITE")) == ("branch", "z9hG4bKabc", "192.0.2.1:5060", "INVITE")
    assert server_key(request("ACK")) == server_key(request("INVITE"))
    assert server_key(request("CANCEL"), method="INVITE") == server_key(request("INVITE"))
    assert server_key(request("CANCEL")) != server_key(request("INVITE"))


def test_responses_match_client_transactions_by_branch_and_method(invite: Request) -> None:
    table = TransactionTable()
    invite_transaction = InviteClientTransaction(invite, reliable=False)
    table.add(invite_transaction)
    cancel = invite_transaction.cancel_request()
    cancel_transaction = NonInviteClientTransaction(cancel, reliable=False)
    table.add(cancel_transaction)
    assert client_key(response(invite, 180)) == ("z9hG4bKabc", "INVITE")
    assert table.find_client(response(invite, 180)) is invite_transaction
    assert table.find_client(response(invite, 487)) is invite_transaction
    assert table.find_client(response(cancel, 200)) is cancel_transaction
    assert table.find_client(response(request("INVITE", branch="z9hG4bKx"), 200)) is None


def test_a_response_without_a_branch_matches_nothing() -> None:
    table = TransactionTable()
    unbranched = request("OPTIONS", branch=None)
    table.add(NonInviteClientTransaction(unbranched, reliable=False))
    assert table.find_client(response(unbranched, 200)) is None


def test_adding_a_second_live_transaction_with_one_key_is_refused(invite: Request) -> None:
    table, _ = table_with_invite(invite)
    with pytest.raises(DuplicateTransactionError):
        table.add(InviteServerTransaction(invite, reliable=False, now=0.0))


def test_a_terminated_transaction_gives_its_key_up(options: Request) -> None:
    table = TransactionTable()
    ended = NonInviteServerTransaction(options, reliable=True)
    table.add(ended)
    ended.send_response(response(options, 200), now=0.0)
    ended.handle_timer(0.0)
    fresh = NonInviteServerTransaction(options, reliable=True)
    table.add(fresh)
    table.remove(ended)  # the old one's removal leaves the new one in place
    assert table.find_server(options) is fresh


def test_statistics_count_live_transactions_back_to_zero(invite: Request, options: Request) -> None:
    table = TransactionTable()
    server = NonInviteServerTransaction(options, reliable=False)
    invite_server = InviteServerTransaction(request("INVITE", branch="z9hG4bKs"), reliable=False)
    client = InviteClientTransaction(invite, reliable=False)
    every: list[Transaction] = [server, invite_server, client]
    for transaction in every:
        table.add(transaction)
    client.start(now=0.0)
    server.send_response(response(options, 200), now=0.0)
    invite_server.send_response(response(invite_server.request, 200), now=0.0)
    assert table.statistics() == {
        "server_transactions": 2,
        "client_transactions": 1,
        "invite_transactions": 2,
        "terminated_transactions": 0,
    }
    for transaction in every:
        fire_timers(transaction, until=100.0)
    assert table.statistics()["terminated_transactions"] == 3
    for transaction in every:
        if transaction.is_terminated:
            table.remove(transaction)
    assert len(table) == 0
    assert set(table.statistics().values()) == {0}
