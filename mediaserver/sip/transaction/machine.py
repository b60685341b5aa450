"""The machinery every transaction shares: a transition table, timers, an outbox, events."""

import enum
from collections.abc import Callable, Mapping
from typing import Generic, TypeVar

from mediaserver.sip.message import Message
from mediaserver.sip.transaction.events import (
    TransactionEvent,
    TransactionTerminated,
    TransportFailed,
)
from mediaserver.sip.transaction.timers import Timers

State = TypeVar("State", bound=enum.Enum)
Input = TypeVar("Input", bound=enum.Enum)
Action = Callable[[float, Message | None], None]
Transitions = Mapping[tuple[State, Input], tuple[State, str | None]]


class UnexpectedInputError(Exception):
    """An input the transition table has no entry for in the current state."""


class TransactionMachine(Generic[State, Input]):
    """Runs a `(state, input) -> (next state, action name)` table.

    Timers are named after the RFC's (`"A"`, `"B"`, ...); each armed timer has an absolute
    deadline, and `handle_timer(now)` feeds every expired one as its input.
    """

    transitions: Transitions[State, Input]
    timer_inputs: Mapping[str, Input]
    terminated_state: State

    def __init__(self, initial: State, *, reliable: bool, timers: Timers) -> None:
        self.state = initial
        self.reliable = reliable
        self.timers = timers
        self._deadlines: dict[str, float] = {}
        self._outbox: list[Message] = []
        self._events: list[TransactionEvent] = []

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

    def handle_timer(self, now: float) -> None:
        for name, deadline in sorted(self._deadlines.items(), key=lambda item: item[1]):
            if deadline <= now and self._deadlines.get(name) == deadline:
                del self._deadlines[name]
                self._feed(self.timer_inputs[name], now, None)

    def transport_failed(self) -> None:
        """§17.1.4 / §17.2.4: inform the TU and terminate."""
        if not self.is_terminated:
            self._events.append(TransportFailed())
            self._terminate()

    def _feed(self, event: Input, now: float, message: Message | None) -> None:
        try:
            next_state, action = self.transitions[(self.state, event)]
        except KeyError:
            raise UnexpectedInputError(
                f"{type(self).__name__}: {event.name} in state {self.state.name}"
            ) from None
        self.state = next_state
        if action is not None:
            getattr(self, action)(now, message)
        if self.is_terminated:
            self._terminate()

    def _arm(self, name: str, now: float, duration: float) -> None:
        self._deadlines[name] = now + duration

    def _disarm(self, *names: str) -> None:
        for name in names:
            self._deadlines.pop(name, None)

    def _send(self, message: Message) -> None:
        self._outbox.append(message)

    def _emit(self, event: TransactionEvent) -> None:
        self._events.append(event)

    def _terminate(self) -> None:
        self.state = self.terminated_state
        self._deadlines.clear()
        self._events.append(TransactionTerminated())
