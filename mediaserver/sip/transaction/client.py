"""Client transactions: INVITE (RFC 3261 §17.1.1, RFC 6026 §7.2) and non-INVITE (§17.1.2).

The INVITE client transaction stays in Proceeding until a final response: Timer B only runs
in Calling (§17.1.1.2), so giving up on a ringing call is the TU's decision (a CANCEL).
"""

import enum
from types import MappingProxyType

from mediaserver.sip.message import Headers, Message, Request, Response
from mediaserver.sip.transaction.events import ResponseReceived, TransactionTimedOut
from mediaserver.sip.transaction.machine import (
    Rows,
    TransactionMachine,
    TransitionTable,
    UnexpectedInputError,
)
from mediaserver.sip.transaction.timers import DEFAULT_TIMERS, Timers


class ClientState(enum.Enum):
    CALLING = "Calling"  # INVITE only
    TRYING = "Trying"  # non-INVITE only
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    ACCEPTED = "Accepted"  # INVITE only, RFC 6026
    TERMINATED = "Terminated"


class ClientInput(enum.Enum):
    STARTED = enum.auto()  # the TU handed the request over
    PROVISIONAL_RECEIVED = enum.auto()  # 1xx
    SUCCESS_RECEIVED = enum.auto()  # 2xx
    FAILURE_RECEIVED = enum.auto()  # 300-699
    TIMER_A = enum.auto()
    TIMER_B = enum.auto()
    TIMER_D = enum.auto()
    TIMER_E = enum.auto()
    TIMER_F = enum.auto()
    TIMER_K = enum.auto()
    TIMER_M = enum.auto()
    TRANSPORT_FAILED = enum.auto()


S, I = ClientState, ClientInput  # noqa: E741 (table shorthand)


def _transport_rows(*live: ClientState) -> Rows[ClientState, ClientInput]:
    """§17.1.4: a transport error is reported to the TU and ends the transaction; one
    reported after the end (a send that was already under way) changes nothing."""
    rows = {
        (state, I.TRANSPORT_FAILED): (S.TERMINATED, "_report_transport_failure") for state in live
    }
    return {**rows, (S.TERMINATED, I.TRANSPORT_FAILED): (S.TERMINATED, None)}


def response_input(response: Response) -> ClientInput:
    if response.status_code < 200:
        return I.PROVISIONAL_RECEIVED
    return I.SUCCESS_RECEIVED if response.status_code < 300 else I.FAILURE_RECEIVED


class _ClientTransaction(TransactionMachine[ClientState, ClientInput]):
    terminated_state = ClientState.TERMINATED
    transport_failed_input = ClientInput.TRANSPORT_FAILED

    def __init__(
        self, request: Request, initial: ClientState, *, reliable: bool, timers: Timers
    ) -> None:
        super().__init__(initial, reliable=reliable, timers=timers)
        self.request = request
        self._retransmit_interval = timers.t1
        self._started = False

    def start(self, now: float) -> None:
        """Queue the request and arm the retransmission and timeout timers."""
        if self._started:
            raise UnexpectedInputError(type(self).__name__, self.state, I.STARTED)
        self._started = True
        self.process_input(I.STARTED, now, None)

    def receive_response(self, response: Response, now: float) -> None:
        self.process_input(response_input(response), now, response)

    def _pass_up(self, now: float, message: Message | None) -> None:
        assert isinstance(message, Response)
        self._emit(ResponseReceived(message))

    def _time_out(self, now: float, message: Message | None) -> None:
        self._emit(TransactionTimedOut())


class NonInviteClientTransaction(_ClientTransaction):
    transitions = TransitionTable(
        "NonInviteClientTransaction",
        {
            (S.TRYING, I.STARTED): (S.TRYING, "_send_request"),
            (S.TRYING, I.TIMER_E): (S.TRYING, "_retransmit_request"),
            (S.TRYING, I.TIMER_F): (S.TERMINATED, "_time_out"),
            (S.TRYING, I.PROVISIONAL_RECEIVED): (S.PROCEEDING, "_pass_up"),
            (S.TRYING, I.SUCCESS_RECEIVED): (S.COMPLETED, "_complete"),
            (S.TRYING, I.FAILURE_RECEIVED): (S.COMPLETED, "_complete"),
            (S.PROCEEDING, I.TIMER_E): (S.PROCEEDING, "_retransmit_request"),
            (S.PROCEEDING, I.TIMER_F): (S.TERMINATED, "_time_out"),
            (S.PROCEEDING, I.PROVISIONAL_RECEIVED): (S.PROCEEDING, "_pass_up"),
            (S.PROCEEDING, I.SUCCESS_RECEIVED): (S.COMPLETED, "_complete"),
            (S.PROCEEDING, I.FAILURE_RECEIVED): (S.COMPLETED, "_complete"),
            # §17.1.2.2: responses retransmitted to Completed are absorbed until Timer K.
            (S.COMPLETED, I.PROVISIONAL_RECEIVED): (S.COMPLETED, "_absorb"),
            (S.COMPLETED, I.SUCCESS_RECEIVED): (S.COMPLETED, "_absorb"),
            (S.COMPLETED, I.FAILURE_RECEIVED): (S.COMPLETED, "_absorb"),
            (S.COMPLETED, I.TIMER_K): (S.TERMINATED, None),
            **_transport_rows(S.TRYING, S.PROCEEDING, S.COMPLETED),
        },
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
        self._arm("F", now, self.timers.timer_f)

    def _retransmit_request(self, now: float, message: Message | None) -> None:
        self._send(self.request, retransmission=True)
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
    transitions = TransitionTable(
        "InviteClientTransaction",
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
            # §17.1.1.2: a retransmitted final response gets the ACK again, not the TU.
            (S.COMPLETED, I.FAILURE_RECEIVED): (S.COMPLETED, "_acknowledge_again"),
            (S.COMPLETED, I.PROVISIONAL_RECEIVED): (S.COMPLETED, "_absorb"),
            (S.COMPLETED, I.SUCCESS_RECEIVED): (S.COMPLETED, "_absorb"),
            (S.COMPLETED, I.TIMER_D): (S.TERMINATED, None),
            # RFC 6026 §7.2: every 2xx (retransmissions and other forks) goes to the TU,
            # which acknowledges it; nothing else concerns the transaction any more.
            (S.ACCEPTED, I.SUCCESS_RECEIVED): (S.ACCEPTED, "_pass_up"),
            (S.ACCEPTED, I.PROVISIONAL_RECEIVED): (S.ACCEPTED, "_absorb"),
            (S.ACCEPTED, I.FAILURE_RECEIVED): (S.ACCEPTED, "_absorb"),
            (S.ACCEPTED, I.TIMER_M): (S.TERMINATED, None),
            **_transport_rows(S.CALLING, S.PROCEEDING, S.COMPLETED, S.ACCEPTED),
        },
    )
    timer_inputs = MappingProxyType(
        {"A": I.TIMER_A, "B": I.TIMER_B, "D": I.TIMER_D, "M": I.TIMER_M}
    )

    def __init__(
        self, request: Request, *, reliable: bool, timers: Timers = DEFAULT_TIMERS
    ) -> None:
        super().__init__(request, S.CALLING, reliable=reliable, timers=timers)

    def cancel_request(self) -> Request:
        """§9.1: a CANCEL for this INVITE (its own transaction, with the INVITE's branch)."""
        return Request("CANCEL", self.request.uri, self._copied_headers("CANCEL", None))

    def _send_request(self, now: float, message: Message | None) -> None:
        self._send(self.request)
        if not self.reliable:
            self._arm("A", now, self._retransmit_interval)
        self._arm("B", now, self.timers.timer_b)

    def _retransmit_request(self, now: float, message: Message | None) -> None:
        # §17.1.1.2: Timer A doubles without a cap; Timer B ends it at 64*T1.
        self._send(self.request, retransmission=True)
        self._retransmit_interval *= 2
        self._arm("A", now, self._retransmit_interval)

    def _proceed(self, now: float, message: Message | None) -> None:
        self._disarm("A", "B")
        self._pass_up(now, message)

    def _accept(self, now: float, message: Message | None) -> None:
        self._disarm("A", "B")
        self._pass_up(now, message)
        self._arm("M", now, self.timers.timer_m)

    def _complete(self, now: float, message: Message | None) -> None:
        self._disarm("A", "B")
        assert isinstance(message, Response)
        self._send(self.ack_for(message))
        self._pass_up(now, message)
        self._arm("D", now, self.timers.timer_d(self.reliable))

    def _acknowledge_again(self, now: float, message: Message | None) -> None:
        assert isinstance(message, Response)
        self._send(self.ack_for(message), retransmission=True)

    def ack_for(self, response: Response) -> Request:
        """§17.1.1.3: the ACK of a non-2xx final response, inside this transaction."""
        return Request("ACK", self.request.uri, self._copied_headers("ACK", response))

    def _copied_headers(self, method: str, response: Response | None) -> Headers:
        """§17.1.1.3, §9.1: the INVITE's top Via only, its Route set, From, Call-ID and CSeq
        number; the To of `response` (its tag) for an ACK, the INVITE's for a CANCEL."""
        original = self.request.headers
        to = original if response is None else response.headers
        items = [("Via", str(self.request.top_via))]
        items += [("Route", value) for value in original.get_all("Route")]
        items += [
            ("Max-Forwards", "70"),
            ("From", original.get("From") or str(self.request.from_address)),
            ("To", to.get("To") or str(self.request.to_address)),
            ("Call-ID", self.request.call_id),
            ("CSeq", f"{self.request.cseq.number} {method}"),
        ]
        return Headers(items)
