"""Client transactions: INVITE (RFC 3261 §17.1.1, RFC 6026 §7.2) and non-INVITE (§17.1.2)."""

import enum
from types import MappingProxyType

from mediaserver.sip.message import Headers, Message, Request, Response
from mediaserver.sip.transaction.events import ResponseReceived, TransactionTimedOut
from mediaserver.sip.transaction.machine import TransactionMachine
from mediaserver.sip.transaction.timers import DEFAULT_TIMERS, Timers


class ClientState(enum.Enum):
    CALLING = "Calling"  # INVITE only
    TRYING = "Trying"  # non-INVITE only
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    ACCEPTED = "Accepted"  # INVITE only, RFC 6026
    TERMINATED = "Terminated"


class ClientInput(enum.Enum):
    STARTED = enum.auto()
    PROVISIONAL_RECEIVED = enum.auto()
    SUCCESS_RECEIVED = enum.auto()
    FAILURE_RECEIVED = enum.auto()
    TIMER_A = enum.auto()
    TIMER_B = enum.auto()
    TIMER_D = enum.auto()
    TIMER_E = enum.auto()
    TIMER_F = enum.auto()
    TIMER_K = enum.auto()
    TIMER_M = enum.auto()


S, I = ClientState, ClientInput  # noqa: E741 (table shorthand)


class _ClientTransaction(TransactionMachine[ClientState, ClientInput]):
    terminated_state = ClientState.TERMINATED
    invite = False

    def __init__(self, request: Request, initial: ClientState, *, reliable: bool, timers: Timers):
        super().__init__(initial, reliable=reliable, timers=timers)
        self.request = request
        self._retransmit_interval = timers.t1

    def start(self, now: float) -> None:
        self._feed(I.STARTED, now, None)

    def receive_response(self, response: Response, now: float) -> None:
        if response.status_code < 200:
            event = I.PROVISIONAL_RECEIVED
        elif response.status_code < 300 and self.invite:
            event = I.SUCCESS_RECEIVED
        else:
            event = I.FAILURE_RECEIVED
        self._feed(event, now, response)

    def _pass_up(self, now: float, message: Message | None) -> None:
        assert isinstance(message, Response)
        self._emit(ResponseReceived(message))

    def _time_out(self, now: float, message: Message | None) -> None:
        self._emit(TransactionTimedOut())


class NonInviteClientTransaction(_ClientTransaction):
    transitions = MappingProxyType(
        {
            (S.TRYING, I.STARTED): (S.TRYING, "_send_request"),
            (S.TRYING, I.TIMER_E): (S.TRYING, "_retransmit_request"),
            (S.TRYING, I.TIMER_F): (S.TERMINATED, "_time_out"),
            (S.TRYING, I.PROVISIONAL_RECEIVED): (S.PROCEEDING, "_pass_up"),
            (S.TRYING, I.FAILURE_RECEIVED): (S.COMPLETED, "_complete"),
            (S.PROCEEDING, I.TIMER_E): (S.PROCEEDING, "_retransmit_request"),
            (S.PROCEEDING, I.TIMER_F): (S.TERMINATED, "_time_out"),
            (S.PROCEEDING, I.PROVISIONAL_RECEIVED): (S.PROCEEDING, "_pass_up"),
            (S.PROCEEDING, I.FAILURE_RECEIVED): (S.COMPLETED, "_complete"),
            # §17.1.2.2: retransmitted responses are absorbed in Completed until Timer K.
            (S.COMPLETED, I.PROVISIONAL_RECEIVED): (S.COMPLETED, None),
            (S.COMPLETED, I.FAILURE_RECEIVED): (S.COMPLETED, None),
            (S.COMPLETED, I.TIMER_K): (S.TERMINATED, None),
        }
    )
    timer_inputs = MappingProxyType({"E": I.TIMER_E, "F": I.TIMER_F, "K": I.TIMER_K})

    def __init__(
        self, request: Request, *, reliable: bool, timers: Timers = DEFAULT_TIMERS
    ) -> None:
        super().__init__(request, S.TRYING, reliable=reliable, timers=timers)

    def _send_request(self, now: float, message: Message | None) -> None:
        self._send(self.request)
        if not self.reliable:
            self._arm("E", now, self._retransmit_interval)
        self._arm("F", now, self.timers.timer_b)

    def _retransmit_request(self, now: float, message: Message | None) -> None:
        self._send(self.request)
        # §17.1.2.2: doubling up to T2 in Trying; T2 flat once a provisional arrived.
        if self.state is S.TRYING:
            self._retransmit_interval = min(2 * self._retransmit_interval, self.timers.t2)
        else:
            self._retransmit_interval = self.timers.t2
        self._arm("E", now, self._retransmit_interval)

    def _complete(self, now: float, message: Message | None) -> None:
        self._disarm("E", "F")
        self._pass_up(now, message)
        self._arm("K", now, self.timers.timer_k(self.reliable))


class InviteClientTransaction(_ClientTransaction):
    invite = True
    transitions = MappingProxyType(
        {
            (S.CALLING, I.STARTED): (S.CALLING, "_send_request"),
            (S.CALLING, I.TIMER_A): (S.CALLING, "_retransmit_request"),
            (S.CALLING, I.TIMER_B): (S.TERMINATED, "_time_out"),
            (S.CALLING, I.PROVISIONAL_RECEIVED): (S.PROCEEDING, "_proceed"),
            (S.CALLING, I.SUCCESS_RECEIVED): (S.ACCEPTED, "_accept"),
            (S.CALLING, I.FAILURE_RECEIVED): (S.COMPLETED, "_complete"),
            (S.PROCEEDING, I.PROVISIONAL_RECEIVED): (S.PROCEEDING, "_pass_up"),
            (S.PROCEEDING, I.SUCCESS_RECEIVED): (S.ACCEPTED, "_accept"),
            (S.PROCEEDING, I.FAILURE_RECEIVED): (S.COMPLETED, "_complete"),
            # §17.1.1.2: a retransmitted final response gets the ACK again.
            (S.COMPLETED, I.FAILURE_RECEIVED): (S.COMPLETED, "_acknowledge"),
            (S.COMPLETED, I.PROVISIONAL_RECEIVED): (S.COMPLETED, None),
            (S.COMPLETED, I.TIMER_D): (S.TERMINATED, None),
            # RFC 6026 §7.2: every 2xx (retransmissions and other forks) goes to the TU.
            (S.ACCEPTED, I.SUCCESS_RECEIVED): (S.ACCEPTED, "_pass_up"),
            (S.ACCEPTED, I.PROVISIONAL_RECEIVED): (S.ACCEPTED, None),
            (S.ACCEPTED, I.FAILURE_RECEIVED): (S.ACCEPTED, None),
            (S.ACCEPTED, I.TIMER_M): (S.TERMINATED, None),
        }
    )
    timer_inputs = MappingProxyType(
        {"A": I.TIMER_A, "B": I.TIMER_B, "D": I.TIMER_D, "M": I.TIMER_M}
    )

    def __init__(
        self, request: Request, *, reliable: bool, timers: Timers = DEFAULT_TIMERS
    ) -> None:
        super().__init__(request, S.CALLING, reliable=reliable, timers=timers)

    def cancel_request(self) -> Request:
        """§9.1: a CANCEL for this INVITE (its own transaction, same branch)."""
        return Request("CANCEL", self.request.uri, self._copied_headers("CANCEL", None))

    def _send_request(self, now: float, message: Message | None) -> None:
        self._send(self.request)
        if not self.reliable:
            self._arm("A", now, self._retransmit_interval)
        self._arm("B", now, self.timers.timer_b)

    def _retransmit_request(self, now: float, message: Message | None) -> None:
        self._send(self.request)
        self._retransmit_interval *= 2
        self._arm("A", now, self._retransmit_interval)

    def _proceed(self, now: float, message: Message | None) -> None:
        # §17.1.1.2: no retransmissions in Proceeding, and Timer B only runs in Calling.
        self._disarm("A", "B")
        self._pass_up(now, message)

    def _accept(self, now: float, message: Message | None) -> None:
        self._disarm("A", "B")
        self._pass_up(now, message)
        self._arm("M", now, self.timers.timer_b)

    def _complete(self, now: float, message: Message | None) -> None:
        self._disarm("A", "B")
        self._acknowledge(now, message)
        self._pass_up(now, message)
        self._arm("D", now, self.timers.timer_d(self.reliable))

    def _acknowledge(self, now: float, message: Message | None) -> None:
        assert isinstance(message, Response)
        self._send(self._ack_for(message))

    def _ack_for(self, response: Response) -> Request:
        """§17.1.1.3: the ACK for a non-2xx final response, inside this transaction."""
        to = response.headers.get("To") or ""
        return Request("ACK", self.request.uri, self._copied_headers("ACK", to))

    def _copied_headers(self, method: str, to: str | None) -> Headers:
        """Top Via, From, To, Call-ID and Route of the INVITE; CSeq number with `method`."""
        original = self.request.headers
        items: list[tuple[str, str]] = [("Via", str(self.request.top_via))]
        items += [("Route", value) for value in original.get_all("Route")]
        items += [
            ("Max-Forwards", "70"),
            ("From", original.get("From") or ""),
            ("To", to if to is not None else original.get("To") or ""),
            ("Call-ID", original.get("Call-ID") or ""),
            ("CSeq", f"{self.request.cseq.number} {method}"),
        ]
        return Headers(items)
