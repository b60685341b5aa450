"""Matching messages to transactions (RFC 3261 §17.1.3, §17.2.3) and the table of them."""

from collections.abc import Hashable

from mediaserver.sip.message import Request, Response
from mediaserver.sip.transaction.client import InviteClientTransaction, NonInviteClientTransaction
from mediaserver.sip.transaction.server import InviteServerTransaction, NonInviteServerTransaction

MAGIC_COOKIE = "z9hG4bK"  # §8.1.1.7: branches of RFC 3261 elements start with it

ServerTransaction = InviteServerTransaction | NonInviteServerTransaction
ClientTransaction = InviteClientTransaction | NonInviteClientTransaction


def server_key(request: Request, method: str | None = None) -> Hashable:
    """§17.2.3: the key of the server transaction `request` belongs to.

    An ACK belongs to its INVITE's transaction (the ACK of a non-2xx); `method` overrides the
    request's own method (a CANCEL looks up its INVITE with method="INVITE").
    """
    via = request.top_via
    method = method or ("INVITE" if request.method == "ACK" else request.method)
    branch = via.branch or ""
    if branch.startswith(MAGIC_COOKIE):
        return (branch, via.sent_by(), method)
    # RFC 2543 fallback. The To tag is left out: the ACK carries the tag of our response,
    # which its INVITE lacked; every other field the RFC lists still has to match.
    return (
        str(request.uri),
        request.from_address.tag,
        request.call_id,
        request.cseq.number,
        str(via),
        method,
    )


def client_key(message: Request | Response) -> Hashable:
    """§17.1.3: top Via branch and CSeq method (a CANCEL's responses match the CANCEL)."""
    return (message.top_via.branch, message.cseq.method)


class TransactionTable:
    def __init__(self) -> None:
        self._servers: dict[Hashable, ServerTransaction] = {}
        self._clients: dict[Hashable, ClientTransaction] = {}

    def add(self, transaction: ServerTransaction | ClientTransaction) -> None:
        if isinstance(transaction, InviteClientTransaction | NonInviteClientTransaction):
            self._clients[client_key(transaction.request)] = transaction
        else:
            self._servers[server_key(transaction.request)] = transaction

    def remove(self, transaction: ServerTransaction | ClientTransaction) -> None:
        if isinstance(transaction, InviteClientTransaction | NonInviteClientTransaction):
            key = client_key(transaction.request)
            if self._clients.get(key) is transaction:
                del self._clients[key]
        else:
            key = server_key(transaction.request)
            if self._servers.get(key) is transaction:
                del self._servers[key]

    def find_server(self, request: Request) -> ServerTransaction | None:
        return self._servers.get(server_key(request))

    def find_invite_for_cancel(self, cancel: Request) -> InviteServerTransaction | None:
        """§9.2: the INVITE server transaction a CANCEL refers to."""
        found = self._servers.get(server_key(cancel, method="INVITE"))
        return found if isinstance(found, InviteServerTransaction) else None

    def find_client(self, response: Response) -> ClientTransaction | None:
        return self._clients.get(client_key(response))

    def __len__(self) -> int:
        return len(self._servers) + len(self._clients)

    def statistics(self) -> dict[str, int]:
        return {
            "server_transactions": len(self._servers),
            "client_transactions": len(self._clients),
        }
