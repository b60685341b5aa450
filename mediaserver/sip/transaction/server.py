"""Server transactions: non-INVITE (RFC 3261 §17.2.2) and INVITE (§17.2.1, RFC 6026 §7.1).

A server transaction is created for a request that matched none (see matching.py); the first
event it reports is that request, for the TU. Further copies of the request go to
`receive_request`, which absorbs them and re-sends the last response where the RFC says so.
"""

import enum
from types import MappingProxyType

from mediaserver.sip.message import Message, Request, Response, build_response
from mediaserver.sip.transaction.events import RequestReceived, TransactionTimedOut
from mediaserver.sip.transaction.machine import Rows, TransactionMachine, TransitionTable
from mediaserver.sip.transaction.timers import DEFAULT_TIMERS, TRYING_DELAY, Timers


class ServerState(enum.Enum):
    TRYING = "Trying"  # non-INVITE only
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    CONFIRMED = "Confirmed"  # INVITE only
    ACCEPTED = "Accepted"  # INVITE only, RFC 6026
    TERMINATED = "Terminated"


class ServerInput(enum.Enum):
    REQUEST_RETRANSMITTED = enum.auto()
    ACK_RECEIVED = enum.auto()
    PROVISIONAL_SENT = enum.auto()  # the TU passed a 1xx
    SUCCESS_SENT = enum.auto()  # 2xx
    FAILURE_SENT = enum.auto()  # 300-699
    TRYING_DUE = enum.auto()  # §17.2.1: 200 ms passed without a response from the TU
    TIMER_G = enum.auto()
    TIMER_H = enum.auto()
    TIMER_I = enum.auto()
    TIMER_J = enum.auto()
    TIMER_L = enum.auto()
    TRANSPORT_FAILED = enum.auto()


S, I = ServerState, ServerInput  # noqa: E741 (table shorthand)

_SENT = (I.PROVISIONAL_SENT, I.SUCCESS_SENT, I.FAILURE_SENT)


def _transport_rows(*live: ServerState) -> Rows[ServerState, ServerInput]:
    """§17.2.4: a transport error is reported to the TU and ends the transaction; one
    reported after the end (a send that was already under way) changes nothing."""
    rows = {
        (state, I.TRANSPORT_FAILED): (S.TERMINATED, "_report_transport_failure") for state in live
    }
    return {**rows, (S.TERMINATED, I.TRANSPORT_FAILED): (S.TERMINATED, None)}


def response_input(response: Response) -> ServerInput:
    if response.status_code < 200:
        return I.PROVISIONAL_SENT
    return I.SUCCESS_SENT if response.status_code < 300 else I.FAILURE_SENT


class _ServerTransaction(TransactionMachine[ServerState, ServerInput]):
    terminated_state = ServerState.TERMINATED
    transport_failed_input = ServerInput.TRANSPORT_FAILED

    def __init__(
        self, request: Request, initial: ServerState, *, reliable: bool, timers: Timers
    ) -> None:
        super().__init__(initial, reliable=reliable, timers=timers)
        self.request = request
        self.last_response: Response | None = None
        self._emit(RequestReceived(request))

    def receive_request(self, request: Request, now: float) -> None:
        """A retransmission of the request or, for an INVITE, an ACK that matched it."""
        event = I.ACK_RECEIVED if request.method == "ACK" else I.REQUEST_RETRANSMITTED
        self.process_input(event, now, request)

    def send_response(self, response: Response, now: float) -> None:
        self.process_input(response_input(response), now, response)

    def _send_response(self, now: float, message: Message | None) -> None:
        assert isinstance(message, Response)
        self.last_response = message
        self._send(message)

    def _resend_response(self, now: float, message: Message | None) -> None:
        assert self.last_response is not None
        self._send(self.last_response, retransmission=True)

    def _discard_response(self, now: float, message: Message | None) -> None:
        """§17.2.2: a transaction answers once; later responses from the TU are dropped."""
        self._counts["responses_discarded"] += 1


class NonInviteServerTransaction(_ServerTransaction):
    transitions = TransitionTable(
        "NonInviteServerTransaction",
        {
            # §17.2.2: retransmissions in Trying are discarded (there is nothing to re-send).
            (S.TRYING, I.REQUEST_RETRANSMITTED): (S.TRYING, "_absorb"),
            (S.TRYING, I.PROVISIONAL_SENT): (S.PROCEEDING, "_send_response"),
            (S.TRYING, I.SUCCESS_SENT): (S.COMPLETED, "_complete"),
            (S.TRYING, I.FAILURE_SENT): (S.COMPLETED, "_complete"),
            (S.PROCEEDING, I.REQUEST_RETRANSMITTED): (S.PROCEEDING, "_resend_response"),
            (S.PROCEEDING, I.PROVISIONAL_SENT): (S.PROCEEDING, "_send_response"),
            (S.PROCEEDING, I.SUCCESS_SENT): (S.COMPLETED, "_complete"),
            (S.PROCEEDING, I.FAILURE_SENT): (S.COMPLETED, "_complete"),
            (S.COMPLETED, I.REQUEST_RETRANSMITTED): (S.COMPLETED, "_resend_response"),
            **{(S.COMPLETED, sent): (S.COMPLETED, "_discard_response") for sent in _SENT},
            (S.COMPLETED, I.TIMER_J): (S.TERMINATED, None),
            **_transport_rows(S.TRYING, S.PROCEEDING, S.COMPLETED),
        },
    )
    timer_inputs = MappingProxyType({"J": I.TIMER_J})

    def __init__(
        self, request: Request, *, reliable: bool, timers: Timers = DEFAULT_TIMERS
    ) -> None:
        super().__init__(request, S.TRYING, reliable=reliable, timers=timers)

    def _complete(self, now: float, message: Message | None) -> None:
        self._send_response(now, message)
        self._arm("J", now, self.timers.timer_j(self.reliable))


class InviteServerTransaction(_ServerTransaction):
    transitions = TransitionTable(
        "InviteServerTransaction",
        {
            (S.PROCEEDING, I.TRYING_DUE): (S.PROCEEDING, "_send_trying"),
            (S.PROCEEDING, I.REQUEST_RETRANSMITTED): (S.PROCEEDING, "_resend_provisional"),
            (S.PROCEEDING, I.PROVISIONAL_SENT): (S.PROCEEDING, "_send_provisional"),
            (S.PROCEEDING, I.SUCCESS_SENT): (S.ACCEPTED, "_accept"),
            (S.PROCEEDING, I.FAILURE_SENT): (S.COMPLETED, "_complete"),
            (S.COMPLETED, I.REQUEST_RETRANSMITTED): (S.COMPLETED, "_resend_response"),
            (S.COMPLETED, I.TIMER_G): (S.COMPLETED, "_retransmit_response"),
            (S.COMPLETED, I.TIMER_H): (S.TERMINATED, "_time_out"),
            (S.COMPLETED, I.ACK_RECEIVED): (S.CONFIRMED, "_confirm"),
            **{(S.COMPLETED, sent): (S.COMPLETED, "_discard_response") for sent in _SENT},
            # §17.2.1: Confirmed absorbs ACK retransmissions until Timer I.
            (S.CONFIRMED, I.ACK_RECEIVED): (S.CONFIRMED, "_absorb"),
            (S.CONFIRMED, I.REQUEST_RETRANSMITTED): (S.CONFIRMED, "_absorb"),
            **{(S.CONFIRMED, sent): (S.CONFIRMED, "_discard_response") for sent in _SENT},
            (S.CONFIRMED, I.TIMER_I): (S.TERMINATED, None),
            # RFC 6026 §7.1: the TU retransmits its 2xx through the transaction, INVITE
            # retransmissions are absorbed, and an ACK (of the 2xx) goes to the TU's dialog.
            (S.ACCEPTED, I.SUCCESS_SENT): (S.ACCEPTED, "_send_response"),
            (S.ACCEPTED, I.REQUEST_RETRANSMITTED): (S.ACCEPTED, "_absorb"),
            (S.ACCEPTED, I.ACK_RECEIVED): (S.ACCEPTED, "_pass_ack_up"),
            (S.ACCEPTED, I.PROVISIONAL_SENT): (S.ACCEPTED, "_discard_response"),
            (S.ACCEPTED, I.FAILURE_SENT): (S.ACCEPTED, "_discard_response"),
            (S.ACCEPTED, I.TIMER_L): (S.TERMINATED, None),
            **_transport_rows(S.PROCEEDING, S.COMPLETED, S.CONFIRMED, S.ACCEPTED),
        },
    )
    timer_inputs = MappingProxyType(
        {
            "Trying": I.TRYING_DUE,
            "G": I.TIMER_G,
            "H": I.TIMER_H,
            "I": I.TIMER_I,
            "L": I.TIMER_L,
        }
    )

    def __init__(
        self,
        request: Request,
        *,
        reliable: bool,
        timers: Timers = DEFAULT_TIMERS,
        now: float | None = None,
    ) -> None:
        """`now` is when the INVITE arrived; without it the 100 (Trying) goes at once, which
        §17.2.1 always allows, instead of 200 ms later if the TU has not answered by then."""
        super().__init__(request, S.PROCEEDING, reliable=reliable, timers=timers)
        self._retransmit_interval = timers.t1
        if now is None:
            self._send_trying(0.0, None)
        else:
            self._arm("Trying", now, TRYING_DELAY)

    def _send_trying(self, now: float, message: Message | None) -> None:
        self._send_response(now, build_response(self.request, 100))

    def _resend_provisional(self, now: float, message: Message | None) -> None:
        """§17.2.1: re-send the last provisional; before any, the client waits: say Trying."""
        if self.last_response is None:
            self._disarm("Trying")
            self._send_trying(now, None)
        else:
            self._resend_response(now, message)

    def _send_provisional(self, now: float, message: Message | None) -> None:
        self._disarm("Trying")
        self._send_response(now, message)

    def _accept(self, now: float, message: Message | None) -> None:
        self._disarm("Trying")
        self._send_response(now, message)
        self._arm("L", now, self.timers.timer_l)

    def _complete(self, now: float, message: Message | None) -> None:
        self._disarm("Trying")
        self._send_response(now, message)
        if not self.reliable:
            self._arm("G", now, self._retransmit_interval)
        self._arm("H", now, self.timers.timer_h)

    def _retransmit_response(self, now: float, message: Message | None) -> None:
        self._resend_response(now, message)
        self._retransmit_interval = min(2 * self._retransmit_interval, self.timers.t2)
        self._arm("G", now, self._retransmit_interval)

    def _time_out(self, now: float, message: Message | None) -> None:
        self._emit(TransactionTimedOut())

    def _confirm(self, now: float, message: Message | None) -> None:
        self._disarm("G", "H")
        self._arm("I", now, self.timers.timer_i(self.reliable))

    def _pass_ack_up(self, now: float, message: Message | None) -> None:
        assert isinstance(message, Request)
        self._emit(RequestReceived(message))
