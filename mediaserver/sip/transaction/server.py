"""Server transactions: non-INVITE (RFC 3261 §17.2.2) and INVITE (§17.2.1, RFC 6026 §7.1)."""

import enum
from types import MappingProxyType

from mediaserver.sip.message import Message, Request, Response, build_response
from mediaserver.sip.transaction.events import TransactionTimedOut
from mediaserver.sip.transaction.machine import TransactionMachine
from mediaserver.sip.transaction.timers import DEFAULT_TIMERS, Timers


class ServerState(enum.Enum):
    TRYING = "Trying"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    CONFIRMED = "Confirmed"  # INVITE only
    ACCEPTED = "Accepted"  # INVITE only, RFC 6026
    TERMINATED = "Terminated"


class ServerInput(enum.Enum):
    REQUEST_RETRANSMITTED = enum.auto()
    ACK_RECEIVED = enum.auto()
    PROVISIONAL_SENT = enum.auto()
    SUCCESS_SENT = enum.auto()  # 2xx
    FAILURE_SENT = enum.auto()  # 300-699 (and any final for non-INVITE)
    TIMER_G = enum.auto()
    TIMER_H = enum.auto()
    TIMER_I = enum.auto()
    TIMER_J = enum.auto()
    TIMER_L = enum.auto()


S, I = ServerState, ServerInput  # noqa: E741 (table shorthand)


class _ServerTransaction(TransactionMachine[ServerState, ServerInput]):
    terminated_state = ServerState.TERMINATED

    def __init__(
        self, request: Request, initial: ServerState, *, reliable: bool, timers: Timers
    ) -> None:
        super().__init__(initial, reliable=reliable, timers=timers)
        self.request = request
        self.last_response: Response | None = None

    def receive_request(self, request: Request, now: float) -> None:
        """A retransmission of the request (or, for INVITE, the ACK of a non-2xx)."""
        event = I.ACK_RECEIVED if request.method == "ACK" else I.REQUEST_RETRANSMITTED
        self._feed(event, now, request)

    def send_response(self, response: Response, now: float) -> None:
        if response.status_code < 200:
            event = I.PROVISIONAL_SENT
        elif response.status_code < 300 and self.request.method == "INVITE":
            event = I.SUCCESS_SENT
        else:
            event = I.FAILURE_SENT
        self._feed(event, now, response)

    def _transmit(self, now: float, message: Message | None) -> None:
        assert isinstance(message, Response)
        self.last_response = message
        self._send(message)

    def _retransmit(self, now: float, message: Message | None) -> None:
        if self.last_response is not None:
            self._send(self.last_response)


class NonInviteServerTransaction(_ServerTransaction):
    transitions = MappingProxyType(
        {
            (S.TRYING, I.REQUEST_RETRANSMITTED): (S.TRYING, None),  # §17.2.2: discard
            (S.TRYING, I.PROVISIONAL_SENT): (S.PROCEEDING, "_transmit"),
            (S.TRYING, I.FAILURE_SENT): (S.COMPLETED, "_complete"),
            (S.PROCEEDING, I.PROVISIONAL_SENT): (S.PROCEEDING, "_transmit"),
            (S.PROCEEDING, I.REQUEST_RETRANSMITTED): (S.PROCEEDING, "_retransmit"),
            (S.PROCEEDING, I.FAILURE_SENT): (S.COMPLETED, "_complete"),
            (S.COMPLETED, I.REQUEST_RETRANSMITTED): (S.COMPLETED, "_retransmit"),
            # §17.2.2: further final responses from the TU are discarded in Completed.
            (S.COMPLETED, I.PROVISIONAL_SENT): (S.COMPLETED, None),
            (S.COMPLETED, I.FAILURE_SENT): (S.COMPLETED, None),
            (S.COMPLETED, I.TIMER_J): (S.TERMINATED, None),
        }
    )
    timer_inputs = MappingProxyType({"J": I.TIMER_J})

    def __init__(
        self, request: Request, *, reliable: bool, timers: Timers = DEFAULT_TIMERS
    ) -> None:
        super().__init__(request, S.TRYING, reliable=reliable, timers=timers)

    def _complete(self, now: float, message: Message | None) -> None:
        self._transmit(now, message)
        self._arm("J", now, self.timers.timer_j(self.reliable))


class InviteServerTransaction(_ServerTransaction):
    transitions = MappingProxyType(
        {
            (S.PROCEEDING, I.REQUEST_RETRANSMITTED): (S.PROCEEDING, "_retransmit"),
            (S.PROCEEDING, I.PROVISIONAL_SENT): (S.PROCEEDING, "_transmit"),
            (S.PROCEEDING, I.SUCCESS_SENT): (S.ACCEPTED, "_accept"),
            (S.PROCEEDING, I.FAILURE_SENT): (S.COMPLETED, "_complete"),
            (S.COMPLETED, I.REQUEST_RETRANSMITTED): (S.COMPLETED, "_retransmit"),
            (S.COMPLETED, I.TIMER_G): (S.COMPLETED, "_retransmit_again"),
            (S.COMPLETED, I.TIMER_H): (S.TERMINATED, "_time_out"),
            (S.COMPLETED, I.ACK_RECEIVED): (S.CONFIRMED, "_confirm"),
            (S.COMPLETED, I.PROVISIONAL_SENT): (S.COMPLETED, None),
            (S.COMPLETED, I.SUCCESS_SENT): (S.COMPLETED, None),
            (S.COMPLETED, I.FAILURE_SENT): (S.COMPLETED, None),
            # §17.2.1: in Confirmed, ACK retransmissions are absorbed until Timer I.
            (S.CONFIRMED, I.ACK_RECEIVED): (S.CONFIRMED, None),
            (S.CONFIRMED, I.REQUEST_RETRANSMITTED): (S.CONFIRMED, None),
            (S.CONFIRMED, I.TIMER_I): (S.TERMINATED, None),
            # RFC 6026 §7.1: INVITE retransmissions are absorbed (the TU retransmits the 2xx),
            # further 2xx from the TU are passed to the transport, ACKs go to the TU's dialog.
            (S.ACCEPTED, I.REQUEST_RETRANSMITTED): (S.ACCEPTED, None),
            (S.ACCEPTED, I.SUCCESS_SENT): (S.ACCEPTED, "_transmit"),
            (S.ACCEPTED, I.ACK_RECEIVED): (S.ACCEPTED, None),
            (S.ACCEPTED, I.TIMER_L): (S.TERMINATED, None),
        }
    )
    timer_inputs = MappingProxyType(
        {"G": I.TIMER_G, "H": I.TIMER_H, "I": I.TIMER_I, "L": I.TIMER_L}
    )

    def __init__(
        self, request: Request, *, reliable: bool, timers: Timers = DEFAULT_TIMERS
    ) -> None:
        super().__init__(request, S.PROCEEDING, reliable=reliable, timers=timers)
        # §17.2.1: a 100 Trying is due unless the TU answers within 200 ms; sending it at
        # once is allowed and spares a timer per INVITE.
        self._transmit(0.0, build_response(request, 100))
        self._retransmit_interval = timers.t1

    def _accept(self, now: float, message: Message | None) -> None:
        self._transmit(now, message)
        self._arm("L", now, self.timers.timer_b)

    def _complete(self, now: float, message: Message | None) -> None:
        self._transmit(now, message)
        if not self.reliable:
            self._arm("G", now, self._retransmit_interval)
        self._arm("H", now, self.timers.timer_b)

    def _retransmit_again(self, now: float, message: Message | None) -> None:
        self._retransmit(now, message)
        self._retransmit_interval = min(2 * self._retransmit_interval, self.timers.t2)
        self._arm("G", now, self._retransmit_interval)

    def _time_out(self, now: float, message: Message | None) -> None:
        self._emit(TransactionTimedOut())

    def _confirm(self, now: float, message: Message | None) -> None:
        self._disarm("G", "H")
        self._arm("I", now, self.timers.timer_i(self.reliable))
