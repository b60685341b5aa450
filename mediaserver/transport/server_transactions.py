"""The server side of the SIP transport (RFC 3261 §17.2, §18.2): each new request in a server
transaction, handed to the TU as a ServerRequest, and its responses sent back the way §18.2.2
and RFC 3581 say: on the request's connection, or to its received address and rport.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from mediaserver.clock import Clock
from mediaserver.sip.message import Request, Response, build_response
from mediaserver.sip.transaction.events import RequestReceived, TransactionTerminated
from mediaserver.sip.transaction.machine import UnexpectedInputError
from mediaserver.sip.transaction.matching import TransactionTable
from mediaserver.sip.transaction.server import (
    InviteServerTransaction,
    NonInviteServerTransaction,
)
from mediaserver.sip.transaction.timers import Timers
from mediaserver.transport.channel import Channel, Connections
from mediaserver.transport.client_transactions import Background
from mediaserver.transport.deadline_timer import DeadlineTimer
from mediaserver.transport.peer import Peer
from mediaserver.transport.routing import response_destination

logger = logging.getLogger(__name__)

ServerTransaction = InviteServerTransaction | NonInviteServerTransaction


@dataclass(slots=True, eq=False)
class ServerContext:
    """A server transaction and where its request came from, so responses go back that way.

    Compared and hashed by identity: it is the transaction's key in the transport's maps and
    timer, whatever the transaction class does about equality.
    """

    transaction: ServerTransaction
    source: Peer
    channel: Channel


class Responder(Protocol):
    """What sends a ServerRequest's responses: ServerTransactions (a fake in TU tests)."""

    def respond(self, context: ServerContext, response: Response) -> None: ...


class ServerRequest:
    """A new request handed to the TU, with its server transaction behind it."""

    __slots__ = (
        "_context",
        "_transactions",
        "cancelled_to_tag",
        "cancels_a_transaction",
        "local",
        "request",
        "source",
    )

    def __init__(
        self,
        transactions: Responder,
        context: ServerContext | None,
        request: Request,
        source: Peer,
        local: Peer,
        *,
        cancels_a_transaction: bool = False,
        cancelled_to_tag: str | None = None,
    ) -> None:
        self._transactions = transactions
        self._context = context
        self.request = request
        self.source = source
        self.local = local
        # For a CANCEL: whether it matched an INVITE server transaction (§9.2).
        self.cancels_a_transaction = cancels_a_transaction
        # §9.2: the To tag the INVITE was answered with, which the CANCEL's 200 repeats.
        self.cancelled_to_tag = cancelled_to_tag

    @property
    def expects_response(self) -> bool:
        """False only for an ACK, which has no server transaction (§17.1.1.3)."""
        return self._context is not None

    def respond(self, response: Response) -> None:
        """Send via the server transaction, which retransmits on UDP as §17.2 says."""
        if self._context is None:
            raise ValueError("an ACK has no server transaction to respond on (RFC 3261 §17)")
        self._transactions.respond(self._context, response)


class RequestHandler(Protocol):
    def __call__(self, incoming: ServerRequest) -> None: ...


class ServerTransactions:
    def __init__(
        self,
        handler: RequestHandler,
        table: TransactionTable,
        timer: DeadlineTimer,
        clock: Clock,
        timers: Timers,
        connections_for: Callable[[Peer], Connections],
        background: Background,
        counts: dict[str, int],
    ) -> None:
        self._handler = handler
        self._table = table
        self._timer = timer
        self._clock = clock
        self._timers = timers
        self._connections_for = connections_for
        self._background = background
        self._counts = counts
        # Keyed by id(): transactions need not be hashable; the context holds them alive.
        self._contexts: dict[int, ServerContext] = {}

    def __len__(self) -> int:
        return len(self._contexts)

    def expire(self, context: ServerContext, now: float) -> None:
        if self._contexts.get(id(context.transaction)) is context:
            context.transaction.handle_timer(now)
            self._service(context)

    def close(self) -> None:
        for context in list(self._contexts.values()):
            self._forget(context)

    def respond(self, context: ServerContext, response: Response) -> None:
        if self._contexts.get(id(context.transaction)) is not context:
            logger.warning("response %d after its transaction ended", response.status_code)
            return
        context.transaction.send_response(response, self._clock.now())
        self._service(context)

    def receive_request(self, request: Request, source: Peer, channel: Channel) -> None:
        now = self._clock.now()
        transaction = self._table.find_server(request)
        if transaction is not None:
            try:
                transaction.receive_request(request, now)
            except UnexpectedInputError:
                # E.g. an ACK for an INVITE not yet answered: nothing §17.2 does with it.
                self._counts["unexpected_requests"] += 1
                return
            self._counts["retransmissions_absorbed"] += 1
            self._service(self._contexts[id(transaction)])
            return
        if request.method == "ACK":
            # An ACK for a 2xx belongs to a dialog, not to a transaction (§17.2.1): the TU's.
            self._dispatch(ServerRequest(self, None, request, source, channel.local))
            return
        created: ServerTransaction
        if request.method == "INVITE":
            created = InviteServerTransaction(
                request, reliable=source.reliable, timers=self._timers, now=now
            )
        else:
            created = NonInviteServerTransaction(
                request, reliable=source.reliable, timers=self._timers
            )
        self._table.add(created)
        context = ServerContext(created, source, channel)
        self._contexts[id(created)] = context
        invite = self._table.find_invite_for_cancel(request) if request.method == "CANCEL" else None
        answered = None if invite is None else invite.last_response
        self._dispatch(
            ServerRequest(
                self, context, request, source, channel.local,
                cancels_a_transaction=invite is not None,
                cancelled_to_tag=None if answered is None else answered.to_address.tag,
            )
        )  # fmt: skip
        if id(created) in self._contexts:
            self._service(context)

    def _dispatch(self, incoming: ServerRequest) -> None:
        try:
            self._handler(incoming)
        except Exception:
            # A TU bug must cost one request, never the socket (the client sees a 500).
            self._counts["handler_errors"] += 1
            logger.exception("request handler failed on %s", incoming.request.method)
            if incoming.expects_response:
                self._answer_server_error(incoming)

    def _answer_server_error(self, incoming: ServerRequest) -> None:
        try:
            incoming.respond(build_response(incoming.request, 500))
        except Exception:
            logger.exception("could not send a 500 for %s", incoming.request.method)

    def _service(self, context: ServerContext) -> None:
        """Send what the transaction queued, act on its events, re-arm its deadline."""
        transaction = context.transaction
        for message in transaction.messages_to_send():
            assert isinstance(message, Response)
            self._send_response(message, context)
        while (event := transaction.next_event()) is not None:
            if isinstance(event, RequestReceived) and event.request.method == "ACK":
                # RFC 6026 §7.1: the ACK of our 2xx matched the Accepted INVITE transaction;
                # it is the dialog's to handle.
                self._dispatch(
                    ServerRequest(self, None, event.request, context.source, context.channel.local)
                )
            elif isinstance(event, TransactionTerminated):
                self._forget(context)
                return
        if transaction.is_terminated:
            self._forget(context)
            return
        self._timer.set(context, transaction.next_deadline())

    def _send_response(self, response: Response, context: ServerContext) -> None:
        """§18.2.2 with RFC 3581: back on the request's connection or to received/rport."""
        data = response.serialize()
        if not context.source.reliable:
            context.channel.send(data, response_destination(response, context.source))
            return
        if context.channel.is_open:
            context.channel.send(data, context.source)
            return
        connection = self._connections_for(context.source).find(context.source)
        if connection is not None:
            connection.send(data, context.source)
            return
        destination = response_destination(response, context.source)
        self._background(self._send_on_new_connection(context, destination, data))

    async def _send_on_new_connection(
        self, context: ServerContext, destination: Peer, data: bytes
    ) -> None:
        """§18.2.2: the connection is gone, so open one to received and the sent-by port."""
        connections = self._connections_for(destination)
        try:
            connection = await connections.connect(destination)
        except OSError as error:
            connections.send_errors += 1
            logger.info("cannot reach %s for a response: %s", destination.host_port(), error)
            # §17.2.4: a transport failure ends the transaction and is the TU's to know.
            if self._contexts.get(id(context.transaction)) is context:
                context.transaction.transport_failed()
                self._service(context)
            return
        connection.send(data, destination)

    def _forget(self, context: ServerContext) -> None:
        if self._contexts.pop(id(context.transaction), None) is context:
            self._table.remove(context.transaction)
        self._timer.set(context, None)
