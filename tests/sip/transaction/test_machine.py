"""Every (state, input) pair of every transaction: a table transition or UnexpectedInputError.

The transaction is brought into each state through its public API, then given each input;
any other exception, or a state other than the table's, fails (h2's state machine tests).
"""

import contextlib
import enum
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediaserver.sip.message import Message, Request, Response
from mediaserver.sip.transaction.client import (
    ClientInput,
    ClientState,
    InviteClientTransaction,
    NonInviteClientTransaction,
)
from mediaserver.sip.transaction.events import TransactionTerminated
from mediaserver.sip.transaction.machine import UnexpectedInputError
from mediaserver.sip.transaction.matching import Transaction
from mediaserver.sip.transaction.server import (
    InviteServerTransaction,
    NonInviteServerTransaction,
    ServerInput,
    ServerState,
)

from .conftest import Machine, events, request, response

Reach = Callable[[bool], Machine]


def _client(cls: type[Any], method: str, code: int | None, end: bool = False) -> Reach:
    def reach(reliable: bool) -> Machine:
        sent_request = request(method)
        transaction: Machine = cls(sent_request, reliable=reliable)
        transaction.start(now=0.0)
        if code is not None:
            transaction.receive_response(response(sent_request, code), now=0.1)
        if end:
            transaction.handle_timer(1000.0)
        return transaction

    return reach


def _server(cls: type[Any], method: str, codes: tuple[int, ...], then: str = "") -> Reach:
    def reach(reliable: bool) -> Machine:
        received = request(method)
        transaction: Machine = cls(received, reliable=reliable)
        for code in codes:
            transaction.send_response(response(received, code), now=0.1)
        if then == "ack":
            transaction.receive_request(request("ACK", to_tag="callee"), now=0.2)
        elif then == "end":
            transaction.transport_failed(now=0.2)
        return transaction

    return reach


# How to bring each machine into each of its states with the public API.
REACH: dict[type[Any], dict[enum.Enum, Reach]] = {
    InviteClientTransaction: {
        ClientState.CALLING: _client(InviteClientTransaction, "INVITE", None),
        ClientState.PROCEEDING: _client(InviteClientTransaction, "INVITE", 180),
        ClientState.COMPLETED: _client(InviteClientTransaction, "INVITE", 486),
        ClientState.ACCEPTED: _client(InviteClientTransaction, "INVITE", 200),
        ClientState.TERMINATED: _client(InviteClientTransaction, "INVITE", 486, end=True),
    },
    NonInviteClientTransaction: {
        ClientState.TRYING: _client(NonInviteClientTransaction, "OPTIONS", None),
        ClientState.PROCEEDING: _client(NonInviteClientTransaction, "OPTIONS", 100),
        ClientState.COMPLETED: _client(NonInviteClientTransaction, "OPTIONS", 200),
        ClientState.TERMINATED: _client(NonInviteClientTransaction, "OPTIONS", 200, end=True),
    },
    InviteServerTransaction: {
        ServerState.PROCEEDING: _server(InviteServerTransaction, "INVITE", ()),
        ServerState.COMPLETED: _server(InviteServerTransaction, "INVITE", (486,)),
        ServerState.CONFIRMED: _server(InviteServerTransaction, "INVITE", (486,), "ack"),
        ServerState.ACCEPTED: _server(InviteServerTransaction, "INVITE", (200,)),
        ServerState.TERMINATED: _server(InviteServerTransaction, "INVITE", (), "end"),
    },
    NonInviteServerTransaction: {
        ServerState.TRYING: _server(NonInviteServerTransaction, "OPTIONS", ()),
        ServerState.PROCEEDING: _server(NonInviteServerTransaction, "OPTIONS", (100,)),
        ServerState.COMPLETED: _server(NonInviteServerTransaction, "OPTIONS", (200,)),
        ServerState.TERMINATED: _server(NonInviteServerTransaction, "OPTIONS", (), "end"),
    },
}
INPUTS = MappingProxyType(
    {
        InviteClientTransaction: ClientInput,
        NonInviteClientTransaction: ClientInput,
        InviteServerTransaction: ServerInput,
        NonInviteServerTransaction: ServerInput,
    }
)
_CODES = {"PROVISIONAL": 180, "SUCCESS": 200, "FAILURE": 486}


def message_for(event: enum.Enum) -> Message | None:
    """What arrives or leaves with `event`: a response, the request again, an ACK, nothing."""
    kind, _, _ = event.name.partition("_")
    if kind in _CODES:
        return response(request(), _CODES[kind])
    if event is ServerInput.REQUEST_RETRANSMITTED:
        return request()
    if event is ServerInput.ACK_RECEIVED:
        return request("ACK", to_tag="callee")
    return None


PAIRS = [
    (cls, state, event)
    for cls, states in REACH.items()
    for state in states
    for event in INPUTS[cls]
]


def check_pair(cls: Any, state: enum.Enum, event: enum.Enum, reliable: bool, now: float) -> None:
    transaction = REACH[cls][state](reliable)
    assert transaction.state is state
    message = message_for(event)
    if (state, event) in cls.transitions:
        target, _ = cls.transitions.lookup(state, event)
        transaction.process_input(event, now, message)
        assert transaction.state is target
    else:
        with pytest.raises(UnexpectedInputError, match=event.name):
            transaction.process_input(event, now, message)
        assert transaction.state is state


@settings(max_examples=400, deadline=None)
@given(
    pair=st.sampled_from(PAIRS),
    reliable=st.booleans(),
    now=st.floats(min_value=0.0, max_value=1e6, allow_nan=False),
)
def test_every_state_and_input(
    pair: tuple[Any, enum.Enum, enum.Enum], reliable: bool, now: float
) -> None:
    check_pair(*pair, reliable=reliable, now=now)


@pytest.mark.parametrize(("cls", "state", "event"), PAIRS)
def test_each_pair_once(cls: Any, state: enum.Enum, event: enum.Enum) -> None:
    """The same check without sampling, so that no pair is left out."""
    check_pair(cls, state, event, reliable=False, now=50.0)


@pytest.mark.parametrize("cls", list(REACH))
def test_tables_only_name_states_the_machine_reaches(cls: Any) -> None:
    named = {s for (s, _), (target, _) in cls.transitions.items() for s in (s, target)}
    assert named == set(REACH[cls])


@pytest.mark.parametrize("cls", list(REACH))
def test_terminated_only_tolerates_a_late_transport_failure(cls: Any) -> None:
    terminated = cls.terminated_state
    rows = [event.name for (state, event), _ in cls.transitions.items() if state is terminated]
    assert rows == ["TRANSPORT_FAILED"]


def test_a_table_naming_a_missing_action_fails_at_class_creation() -> None:
    with pytest.raises(TypeError, match="_no_such_action"):

        class Broken(InviteServerTransaction):
            transitions = type(InviteServerTransaction.transitions)(
                "Broken",
                {
                    (ServerState.PROCEEDING, ServerInput.TIMER_G): (
                        ServerState.COMPLETED,
                        "_no_such_action",
                    )
                },
            )


_OPERATIONS = st.one_of(
    st.tuples(st.just("response"), st.sampled_from([100, 180, 183, 200, 202, 302, 486, 503, 603])),
    st.tuples(st.just("request"), st.sampled_from(["INVITE", "OPTIONS", "ACK"])),
    st.tuples(st.just("timer"), st.floats(min_value=0.0, max_value=40.0)),
    st.tuples(st.just("transport_failed"), st.just(0)),
)


def _apply(transaction: Transaction, operation: tuple[str, Any], now: float) -> None:
    kind, value = operation
    if kind == "response":
        answer = response(transaction.request, value)
        if isinstance(transaction, InviteClientTransaction | NonInviteClientTransaction):
            transaction.receive_response(answer, now)
        else:
            transaction.send_response(answer, now)
    elif kind == "request":
        assert isinstance(transaction, InviteServerTransaction | NonInviteServerTransaction)
        transaction.receive_request(request(value, to_tag="callee"), now)
    elif kind == "timer":
        transaction.handle_timer(now + value)
    else:
        transaction.transport_failed(now)


@settings(max_examples=300, deadline=None)
@given(
    cls=st.sampled_from(list(REACH)),
    reliable=st.booleans(),
    operations=st.lists(_OPERATIONS, max_size=12),
)
def test_any_sequence_of_calls_keeps_the_invariants(
    cls: Any, reliable: bool, operations: list[tuple[str, Any]]
) -> None:
    is_invite = cls in (InviteClientTransaction, InviteServerTransaction)
    transaction: Transaction = cls(request("INVITE" if is_invite else "OPTIONS"), reliable=reliable)
    if isinstance(transaction, InviteClientTransaction | NonInviteClientTransaction):
        transaction.start(now=0.0)
    terminations = 0
    for step, operation in enumerate(operations):
        now = float(step)
        if operation[0] == "request" and not isinstance(
            transaction, InviteServerTransaction | NonInviteServerTransaction
        ):
            continue
        with contextlib.suppress(UnexpectedInputError):
            _apply(transaction, operation, now)
        for message in transaction.messages_to_send():
            assert isinstance(message, Request | Response)
        terminations += events(transaction).count(TransactionTerminated())
        if operation[0] == "timer":
            deadline = transaction.next_deadline()
            assert deadline is None or deadline > now + operation[1]  # every due one fired
    assert terminations == (1 if transaction.is_terminated else 0)
    if transaction.is_terminated:
        assert transaction.next_deadline() is None
