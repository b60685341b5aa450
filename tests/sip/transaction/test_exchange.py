"""A client and a server transaction over an in-memory UDP link that loses chosen copies.

The loop plays the driver's part for both ends (matching, one deadline each, a TU that
answers after a delay) with simulated time, in the spirit of aioquic's client/server pairs.
"""

from collections import Counter
from dataclasses import dataclass, field

from mediaserver.sip.message import Message, Request
from mediaserver.sip.transaction.client import InviteClientTransaction, NonInviteClientTransaction
from mediaserver.sip.transaction.events import (
    RequestReceived,
    ResponseReceived,
    TransactionEvent,
    TransactionTimedOut,
)
from mediaserver.sip.transaction.matching import (
    ClientTransaction,
    ServerTransaction,
    TransactionTable,
)
from mediaserver.sip.transaction.server import InviteServerTransaction, NonInviteServerTransaction

from .conftest import request, response

LINK_DELAY = 0.05


@dataclass
class Exchange:
    client: ClientTransaction
    answer: int  # what the server's TU answers ...
    answer_after: float  # ... this long after the request reached it
    lost: set[tuple[str | int, int]]  # (method or status code, copy number) the link drops
    now: float = 0.0
    table: TransactionTable = field(default_factory=TransactionTable)
    server: ServerTransaction | None = None
    answer_at: float | None = None
    in_flight: list[tuple[float, Message]] = field(default_factory=list)
    copies: Counter[str | int] = field(default_factory=Counter)
    client_events: list[TransactionEvent] = field(default_factory=list)
    server_events: list[TransactionEvent] = field(default_factory=list)

    def run(self, until: float = 100.0) -> None:
        self.client.start(self.now)
        self.table.add(self.client)
        self._flush()
        while (moment := self._next_moment()) is not None and moment <= until:
            self.now = moment
            self._deliver_due()
            self.client.handle_timer(self.now)
            if self.server is not None:
                self.server.handle_timer(self.now)
            if self.answer_at is not None and self.answer_at <= self.now:
                self._answer()
            self._flush()

    def _next_moment(self) -> float | None:
        moments = [at for at, _ in self.in_flight]
        for transaction in (self.client, self.server):
            if transaction is not None and (deadline := transaction.next_deadline()) is not None:
                moments.append(deadline)
        if self.answer_at is not None:
            moments.append(self.answer_at)
        return min(moments, default=None)

    def _deliver_due(self) -> None:
        due = [message for at, message in self.in_flight if at <= self.now]
        self.in_flight = [(at, message) for at, message in self.in_flight if at > self.now]
        for message in due:
            if isinstance(message, Request):
                self._server_receives(message)
            elif (matched := self.table.find_client(message)) is not None:
                matched.receive_response(message, self.now)

    def _server_receives(self, received: Request) -> None:
        matched = self.table.find_server(received)
        if matched is not None:
            matched.receive_request(received, self.now)
        elif received.method == "INVITE":
            self.server = InviteServerTransaction(received, reliable=False, now=self.now)
        else:
            self.server = NonInviteServerTransaction(received, reliable=False)
        if matched is None and self.server is not None:
            self.table.add(self.server)
            self.answer_at = self.now + self.answer_after

    def _answer(self) -> None:
        assert self.server is not None
        self.answer_at = None
        self.server.send_response(response(self.server.request, self.answer), self.now)

    def _flush(self) -> None:
        """Put what both ends queued on the link, collect their events, forget ended ones."""
        self._transmit(self.client.messages_to_send())
        self._collect(self.client, self.client_events)
        if self.server is not None:
            self._transmit(self.server.messages_to_send())
            self._collect(self.server, self.server_events)

    def _transmit(self, messages: list[Message]) -> None:
        for message in messages:
            label = message.method if isinstance(message, Request) else message.status_code
            copy = self.copies[label]
            self.copies[label] += 1
            if (label, copy) not in self.lost:
                self.in_flight.append((self.now + LINK_DELAY, message))

    def _collect(
        self,
        transaction: ClientTransaction | ServerTransaction,
        into: list[TransactionEvent],
    ) -> None:
        while (event := transaction.next_event()) is not None:
            into.append(event)
        if transaction.is_terminated:
            self.table.remove(transaction)


def test_invite_rejection_survives_losing_invite_response_and_ack() -> None:
    invite = request("INVITE")
    exchange = Exchange(
        InviteClientTransaction(invite, reliable=False),
        answer=486,
        answer_after=1.0,
        lost={("INVITE", 0), (486, 0), ("ACK", 0)},
    )
    exchange.run()
    assert exchange.copies["INVITE"] == 2  # Timer A brought the lost one back
    assert exchange.copies[100] == 1  # the TU took over 200 ms: Trying from the server
    # Timer G re-sent the lost 486 (2.05 s), whose ACK was lost too; the next Timer G copy
    # (3.05 s) got the ACK again from the Completed client, which ended the server's resends.
    assert exchange.copies[486] == 3
    assert exchange.copies["ACK"] == 2
    statuses = [
        event.response.status_code
        for event in exchange.client_events
        if isinstance(event, ResponseReceived)
    ]
    assert statuses == [100, 486]
    assert exchange.server_events[0] == RequestReceived(invite)
    assert TransactionTimedOut() not in exchange.client_events + exchange.server_events
    assert exchange.client.is_terminated
    assert exchange.server is not None
    assert exchange.server.is_terminated
    assert len(exchange.table) == 0


def test_invite_answered_by_2xx_ends_on_timers_l_and_m() -> None:
    exchange = Exchange(
        InviteClientTransaction(request("INVITE"), reliable=False),
        answer=200,
        answer_after=0.1,
        lost={("INVITE", 0)},
    )
    exchange.run()
    assert exchange.copies == Counter({"INVITE": 2, 200: 1})  # no 100: answered in time
    assert [type(event).__name__ for event in exchange.client_events] == [
        "ResponseReceived",
        "TransactionTerminated",
    ]
    assert len(exchange.table) == 0


def test_non_invite_survives_losing_request_and_response() -> None:
    exchange = Exchange(
        NonInviteClientTransaction(request("OPTIONS"), reliable=False),
        answer=200,
        answer_after=0.0,
        lost={("OPTIONS", 0), ("OPTIONS", 1), (200, 0)},
    )
    exchange.run()
    # Timer E at 0.5 and 1.5 s; the third copy arrives and is answered, that answer is lost;
    # the fourth (3.5 s) meets the Completed server, which re-sends its 200.
    assert exchange.copies == Counter({"OPTIONS": 4, 200: 2})
    assert exchange.client_events.count(ResponseReceived(response(request("OPTIONS"), 200))) == 1
    assert TransactionTimedOut() not in exchange.client_events
    assert len(exchange.table) == 0
