"""Matching messages to transactions (RFC 3261 §17.1.3, §17.2.3) and the table of them."""

from collections.abc import Hashable
from typing import TypeVar

from mediaserver.sip.message import Request, Response
from mediaserver.sip.transaction.client import InviteClientTransaction, NonInviteClientTransaction
from mediaserver.sip.transaction.server import InviteServerTransaction, NonInviteServerTransaction

MAGIC_COOKIE = "z9hG4bK"  # §8.1.1.7: branches of RFC 3261 elements start with it

ServerTransaction = InviteServerTransaction | NonInviteServerTransaction
ClientTransaction = InviteClientTransaction | NonInviteClientTransaction
Transaction = ServerTransaction | ClientTransaction
Key = tuple[Hashable, ...]
_T = TypeVar("_T", ServerTransaction, ClientTransaction)


class DuplicateTransactionError(ValueError):
    """A live transaction already has this key: the caller should have matched it."""


def server_key(request: Request, method: str | None = None) -> Key:
    """§17.2.3: the key of the server transaction `request` belongs to.

    An ACK belongs to its INVITE's transaction; `method` overrides the request's own method
    (a CANCEL looks up the INVITE it cancels with method="INVITE", §9.2).
    """
    via = request.top_via
    method = method or ("INVITE" if request.method == "ACK" else request.method)
    branch = via.branch or ""
    if branch.startswith(MAGIC_COOKIE):
        return ("branch", branch, via.sent_by(), method)
    # RFC 2543 fallback: Request-URI, From tag, Call-ID, CSeq number and top Via. The To tag
    # is checked after the lookup (see _to_tag_matches): an ACK carries the tag of the
    # response, which the INVITE it acknowledges did not have.
    return (
        "rfc2543",
        str(request.uri),
        request.from_address.tag,
        request.call_id,
        request.cseq.number,
        via,
        method,
    )


def client_key(message: Request | Response) -> Key:
    """§17.1.3: top Via branch and CSeq method (a CANCEL's responses match the CANCEL)."""
    return (message.top_via.branch, message.cseq.method)


def _to_tag_matches(request: Request, transaction: ServerTransaction) -> bool:
    """§17.2.3 for RFC 2543 requests: an ACK's To tag is that of the response sent, any
    other request's To tag is that of the request which created the transaction."""
    expected = transaction.request.to_address.tag
    if request.method == "ACK" and transaction.last_response is not None:
        expected = transaction.last_response.to_address.tag
    return request.to_address.tag == expected


class TransactionTable:
    """The live transactions of one endpoint, by key; the driver adds and removes them."""

    def __init__(self) -> None:
        self._servers: dict[Key, ServerTransaction] = {}
        self._clients: dict[Key, ClientTransaction] = {}

    def add(self, transaction: Transaction) -> None:
        if isinstance(transaction, InviteClientTransaction | NonInviteClientTransaction):
            _insert(self._clients, client_key(transaction.request), transaction)
        else:
            _insert(self._servers, server_key(transaction.request), transaction)

    def remove(self, transaction: Transaction) -> None:
        if isinstance(transaction, InviteClientTransaction | NonInviteClientTransaction):
            _delete(self._clients, client_key(transaction.request), transaction)
        else:
            _delete(self._servers, server_key(transaction.request), transaction)

    def find_server(self, request: Request) -> ServerTransaction | None:
        return self._find_server(request, server_key(request))

    def find_invite_for_cancel(self, cancel: Request) -> InviteServerTransaction | None:
        """§9.2: the INVITE server transaction a CANCEL refers to."""
        found = self._find_server(cancel, server_key(cancel, method="INVITE"))
        return found if isinstance(found, InviteServerTransaction) else None

    def find_client(self, response: Response) -> ClientTransaction | None:
        if response.top_via.branch is None:
            return None  # §17.1.3 matches on the branch: without one nothing is ours
        return self._clients.get(client_key(response))

    def __len__(self) -> int:
        return len(self._servers) + len(self._clients)

    def statistics(self) -> dict[str, int]:
        every = [*self._servers.values(), *self._clients.values()]
        return {
            "server_transactions": len(self._servers),
            "client_transactions": len(self._clients),
            "invite_transactions": sum(
                isinstance(t, InviteServerTransaction | InviteClientTransaction) for t in every
            ),
            "terminated_transactions": sum(t.is_terminated for t in every),
        }

    def _find_server(self, request: Request, key: Key) -> ServerTransaction | None:
        found = self._servers.get(key)
        if found is None or key[0] == "branch":
            return found
        return found if _to_tag_matches(request, found) else None


def _insert(entries: dict[Key, _T], key: Key, transaction: _T) -> None:
    existing = entries.get(key)
    if existing is not None and not existing.is_terminated:
        raise DuplicateTransactionError(f"a live transaction has the key {key!r}")
    entries[key] = transaction


def _delete(entries: dict[Key, _T], key: Key, transaction: _T) -> None:
    if entries.get(key) is transaction:
        del entries[key]
