"""The machinery every transaction shares: a transition table, timers, an outbox, events.

Everything a transaction does is one row of its table: `(state, input) -> (next state,
action)`. Public methods only classify what came in (a response code, a timer name) into an
input and hand it to `process_input`; a pair missing from the table raises
UnexpectedInputError and leaves the transaction as it was.
"""

import enum
from collections.abc import ItemsView, Mapping
from types import MappingProxyType
from typing import Any, ClassVar, Generic, TypeVar

from mediaserver.sip.message import Message
from mediaserver.sip.transaction.events import (
    TransactionEvent,
    TransactionTerminated,
    TransportFailed,
)
from mediaserver.sip.transaction.timers import Timers

State = TypeVar("State", bound=enum.Enum)
Input = TypeVar("Input", bound=enum.Enum)

# A transition table's rows: (state, input) -> (next state, name of the action method).
Rows = Mapping[tuple[State, Input], tuple[State, str | None]]

# What a transaction counts (see statistics()).
COUNTERS = ("messages_sent", "retransmissions", "messages_absorbed", "responses_discarded")


class UnexpectedInputError(Exception):
    """An input the transition table has no entry for in the current state."""

    def __init__(self, machine: str, state: enum.Enum, event: enum.Enum) -> None:
        super().__init__(f"{machine}: no transition for {event.name} in state {state.name}")
        self.state = state
        self.input = event


class TransitionTable(Generic[State, Input]):
    """A read-only `(state, input) -> (next state, action name)` map; absent pairs raise."""

    def __init__(self, machine: str, rows: Rows[State, Input]) -> None:
        self.machine = machine
        self._rows = MappingProxyType(dict(rows))

    def lookup(self, state: State, event: Input) -> tuple[State, str | None]:
        try:
            return self._rows[(state, event)]
        except KeyError:
            raise UnexpectedInputError(self.machine, state, event) from None

    def __contains__(self, pair: object) -> bool:
        return pair in self._rows

    def items(self) -> ItemsView[tuple[State, Input], tuple[State, str | None]]:
        return self._rows.items()


class TransactionMachine(Generic[State, Input]):
    """Runs a transition table, with RFC-named timers and the outputs the driver pulls.

    Each armed timer (`"A"`, `"B"`, ...) has an absolute deadline; `next_deadline()` is the
    earliest, and `handle_timer(now)` feeds every expired one as its input, earliest first.
    """

    transitions: ClassVar[TransitionTable[Any, Any]]
    # Class-level constants of each concrete machine (ClassVar cannot name State or Input).
    timer_inputs: ClassVar[Mapping[str, Any]]
    terminated_state: ClassVar[Any]
    transport_failed_input: ClassVar[Any]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # A table naming an action the class lacks fails at import, not mid-call.
        if "transitions" in cls.__dict__:
            for (state, event), (_, action) in cls.transitions.items():
                if action is not None and not callable(getattr(cls, action, None)):
                    raise TypeError(f"{cls.__name__}: {state.name}/{event.name} -> {action}?")

    def __init__(self, initial: State, *, reliable: bool, timers: Timers) -> None:
        self.state = initial
        self.reliable = reliable
        self.timers = timers
        self._deadlines: dict[str, float] = {}
        self._outbox: list[Message] = []
        self._events: list[TransactionEvent] = []
        self._counts = dict.fromkeys(COUNTERS, 0)

    @property
    def is_terminated(self) -> bool:
        return self.state is self.terminated_state

    def messages_to_send(self) -> list[Message]:
        messages, self._outbox = self._outbox, []
        return messages

    def next_event(self) -> TransactionEvent | None:
        return self._events.pop(0) if self._events else None

    def next_deadline(self) -> float | None:
        return min(self._deadlines.values(), default=None)

    def statistics(self) -> dict[str, int]:
        return dict(self._counts)

    def handle_timer(self, now: float) -> None:
        # One at a time: a timer's action may disarm others or arm one that is already due
        # (Timer D, I, J or K are zero on reliable transports).
        while self._deadlines:
            name, deadline = min(self._deadlines.items(), key=lambda item: item[1])
            if deadline > now:
                return
            del self._deadlines[name]
            self.process_input(self.timer_inputs[name], now, None)

    def transport_failed(self, now: float = 0.0) -> None:
        """§17.1.4 / §17.2.4: the driver could not send; the TU is told, the transaction ends."""
        self.process_input(self.transport_failed_input, now, None)

    def process_input(self, event: Input, now: float, message: Message | None) -> None:
        """Take the table's row for (state, `event`): move, then run its action."""
        target, action = self.transitions.lookup(self.state, event)
        was_terminated = self.is_terminated
        self.state = target
        if action is not None:
            getattr(self, action)(now, message)
        if self.is_terminated and not was_terminated:
            self._deadlines.clear()
            self._events.append(TransactionTerminated())

    def _arm(self, name: str, now: float, duration: float) -> None:
        self._deadlines[name] = now + duration

    def _disarm(self, *names: str) -> None:
        for name in names:
            self._deadlines.pop(name, None)

    def _send(self, message: Message, *, retransmission: bool = False) -> None:
        self._outbox.append(message)
        self._counts["messages_sent"] += 1
        self._counts["retransmissions"] += retransmission

    def _emit(self, event: TransactionEvent) -> None:
        self._events.append(event)

    def _absorb(self, now: float, message: Message | None) -> None:
        """A retransmission the RFC has the transaction swallow."""
        self._counts["messages_absorbed"] += 1

    def _report_transport_failure(self, now: float, message: Message | None) -> None:
        self._emit(TransportFailed())
