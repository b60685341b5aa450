from mediaserver.sip.message import Request, build_response
from mediaserver.sip.transaction.client import InviteClientTransaction
from mediaserver.sip.transaction.matching import TransactionTable
from mediaserver.sip.transaction.server import InviteServerTransaction, NonInviteServerTransaction

from .conftest import request


def test_retransmission_and_non_2xx_ack_match_the_invite(invite: Request) -> None:
    table = TransactionTable()
    transaction = InviteServerTransaction(invite, reliable=False)
    table.add(transaction)
    assert table.find_server(invite) is transaction
    assert table.find_server(request("ACK", to_tag="t")) is transaction
    assert table.find_server(request("INVITE", branch="z9hG4bKother")) is None


def test_sent_by_distinguishes_equal_branches(invite: Request) -> None:
    table = TransactionTable()
    table.add(InviteServerTransaction(invite, reliable=False))
    moved = Request(
        invite.method,
        invite.uri,
        invite.headers.with_replaced("Via", "SIP/2.0/UDP 192.0.2.99:5060;branch=z9hG4bKabc"),
    )
    assert table.find_server(moved) is None


def test_cancel_is_its_own_transaction_and_finds_its_invite(invite: Request) -> None:
    table = TransactionTable()
    invite_transaction = InviteServerTransaction(invite, reliable=False)
    table.add(invite_transaction)
    cancel = request("CANCEL")
    assert table.find_server(cancel) is None
    assert table.find_invite_for_cancel(cancel) is invite_transaction


def test_rfc2543_fallback_without_magic_cookie() -> None:
    old = request("INVITE", branch="1234")
    table = TransactionTable()
    transaction = InviteServerTransaction(old, reliable=False)
    table.add(transaction)
    assert table.find_server(request("INVITE", branch="1234")) is transaction
    assert table.find_server(request("ACK", branch="1234", to_tag="t")) is transaction
    assert table.find_server(request("INVITE", branch="9999")) is None


def test_responses_match_client_transactions_by_branch_and_method(invite: Request) -> None:
    table = TransactionTable()
    transaction = InviteClientTransaction(invite, reliable=False)
    table.add(transaction)
    assert table.find_client(build_response(invite, 180)) is transaction
    cancel = transaction.cancel_request()
    assert table.find_client(build_response(cancel, 200)) is None


def test_statistics_return_to_zero(invite: Request, options: Request) -> None:
    table = TransactionTable()
    server = NonInviteServerTransaction(options, reliable=False)
    client = InviteClientTransaction(invite, reliable=False)
    table.add(server)
    table.add(client)
    assert table.statistics() == {"server_transactions": 1, "client_transactions": 1}
    table.remove(server)
    table.remove(client)
    assert len(table) == 0
