"""The client side of the SIP transport (RFC 3261 §17.1, §18.1): requests the TU sends, their
transactions, and every response routed back to the TU's handler.

A timeout reaches the handler as a 408 and a transport failure as a 503 (§8.1.3.1), made here,
so the TU has one path for every outcome. Over TCP a request waits for its connection in a
task of the transport's (a WebSocket client cannot be connected to: 503 at once); UDP goes at
once.
"""

import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from mediaserver.clock import Clock
from mediaserver.sip.message import Request, Response, build_response
from mediaserver.sip.transaction.client import InviteClientTransaction, NonInviteClientTransaction
from mediaserver.sip.transaction.events import (
    ResponseReceived,
    TransactionTerminated,
    TransactionTimedOut,
    TransportFailed,
)
from mediaserver.sip.transaction.machine import UnexpectedInputError
from mediaserver.sip.transaction.matching import TransactionTable
from mediaserver.sip.transaction.timers import Timers
from mediaserver.transport.channel import Channel, Connections
from mediaserver.transport.deadline_timer import DeadlineTimer
from mediaserver.transport.peer import Peer

logger = logging.getLogger(__name__)

ClientTransaction = InviteClientTransaction | NonInviteClientTransaction
ResponseHandler = Callable[[Response], None]
Background = Callable[[Coroutine[Any, Any, None]], None]


@dataclass(slots=True, eq=False)
class ClientContext:
    """A client transaction, where its request goes, and who wants its responses. Compared by
    identity: it is the transaction's key in the transport's timer."""

    transaction: ClientTransaction
    destination: Peer
    channel: Channel
    on_response: ResponseHandler


class ClientTransactions:
    def __init__(
        self,
        table: TransactionTable,
        timer: DeadlineTimer,
        clock: Clock,
        timers: Timers,
        connections_for: Callable[[Peer], Connections],
        channel_for: Callable[[Peer], Channel | None],
        background: Background,
        counts: dict[str, int],
    ) -> None:
        self._table = table
        self._timer = timer
        self._clock = clock
        self._timers = timers
        self._connections_for = connections_for
        self._channel_for = channel_for
        self._background = background
        self._counts = counts
        # Keyed by id(): transactions need not be hashable; the context holds them alive.
        self._contexts: dict[int, ClientContext] = {}

    def __len__(self) -> int:
        return len(self._contexts)

    def start(self, request: Request, destination: Peer, on_response: ResponseHandler) -> None:
        """`request` carries our Via already."""
        channel = self._channel_for(destination)
        if channel is None:
            self._background(self._start_when_connected(request, destination, on_response))
            return
        transaction: ClientTransaction
        if request.method == "INVITE":
            transaction = InviteClientTransaction(
                request, reliable=destination.reliable, timers=self._timers
            )
        else:
            transaction = NonInviteClientTransaction(
                request, reliable=destination.reliable, timers=self._timers
            )
        self._table.add(transaction)
        context = ClientContext(transaction, destination, channel, on_response)
        self._contexts[id(transaction)] = context
        transaction.start(self._clock.now())
        self._service(context)

    def cancel(self, invite: Request, destination: Peer) -> None:
        """§9.1: a CANCEL in its own transaction, built from the INVITE's."""
        for context in self._contexts.values():
            transaction = context.transaction
            if transaction.request is invite and isinstance(transaction, InviteClientTransaction):
                self.start(transaction.cancel_request(), destination, _ignore_response)
                return

    def receive_response(self, response: Response) -> None:
        transaction = self._table.find_client(response)
        context = None if transaction is None else self._contexts.get(id(transaction))
        if context is None:
            # §18.1.2: a response that matches no client transaction is discarded.
            self._counts["stray_responses"] += 1
            return
        try:
            context.transaction.receive_response(response, self._clock.now())
        except UnexpectedInputError:
            self._counts["stray_responses"] += 1
            return
        self._service(context)

    def expire(self, context: ClientContext, now: float) -> None:
        if self._contexts.get(id(context.transaction)) is context:
            context.transaction.handle_timer(now)
            self._service(context)

    def close(self) -> None:
        for context in list(self._contexts.values()):
            self._forget(context)

    async def _start_when_connected(
        self, request: Request, destination: Peer, on_response: ResponseHandler
    ) -> None:
        connections = self._connections_for(destination)
        try:
            await connections.connect(destination)
        except OSError as error:
            connections.send_errors += 1
            logger.info("cannot reach %s: %s", destination.host_port(), error)
            on_response(build_response(request, 503, "Service Unavailable - unreachable"))
            return
        self.start(request, destination, on_response)

    def _service(self, context: ClientContext) -> None:
        transaction = context.transaction
        for message in transaction.messages_to_send():
            context.channel.send(message.serialize(), context.destination)
        while (event := transaction.next_event()) is not None:
            if isinstance(event, ResponseReceived):
                self._deliver(context, event.response)
            elif isinstance(event, TransactionTimedOut):
                self._deliver(context, build_response(transaction.request, 408))
            elif isinstance(event, TransportFailed):
                self._deliver(context, build_response(transaction.request, 503))
            elif isinstance(event, TransactionTerminated):
                self._forget(context)
                return
        if transaction.is_terminated:
            self._forget(context)
            return
        self._timer.set(context, transaction.next_deadline())

    def _deliver(self, context: ClientContext, response: Response) -> None:
        try:
            context.on_response(response)
        except Exception:
            # A TU bug costs that response, never the socket.
            self._counts["handler_errors"] += 1
            logger.exception("response handler failed on %d", response.status_code)

    def _forget(self, context: ClientContext) -> None:
        if self._contexts.pop(id(context.transaction), None) is context:
            self._table.remove(context.transaction)
        self._timer.set(context, None)


def _ignore_response(response: Response) -> None:
    """A CANCEL's own response tells the TU nothing: the INVITE's 487 (or 2xx) does (§9.1)."""
