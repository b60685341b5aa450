"""What a leg tells its call, as past-tense facts, and the leg's visible state table."""

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mediaserver.calls.leg import Leg


class LegState(enum.Enum):
    CALLING = "calling"  # INVITE sent (UAC) or received (UAS), nothing back yet
    RINGING = "ringing"  # 180/183 sent or received
    ANSWERED = "answered"  # 2xx sent or received: the dialog is confirmed
    ENDED = "ended"


# Transitions a leg may make; LegStateError for the rest.
LEG_TRANSITIONS: dict[LegState, frozenset[LegState]] = {
    LegState.CALLING: frozenset((LegState.RINGING, LegState.ANSWERED, LegState.ENDED)),
    LegState.RINGING: frozenset((LegState.RINGING, LegState.ANSWERED, LegState.ENDED)),
    LegState.ANSWERED: frozenset((LegState.ENDED,)),
    LegState.ENDED: frozenset(),
}


class LegStateError(RuntimeError):
    def __init__(self, current: LegState, wanted: LegState) -> None:
        super().__init__(f"a leg cannot go from {current.value} to {wanted.value}")


@dataclass(frozen=True, slots=True)
class Ringing:
    leg: "Leg"
    early_media: bool


@dataclass(frozen=True, slots=True)
class Answered:
    leg: "Leg"


@dataclass(frozen=True, slots=True)
class HoldChanged:
    leg: "Leg"
    on_hold: bool  # the peer stopped (True) or resumed (False) receiving our media


@dataclass(frozen=True, slots=True)
class DigitReceived:
    leg: "Leg"
    digit: str  # from SIP INFO; RFC 4733 and in-band digits stay in the media engine
    duration_ms: int | None = None  # the INFO's Duration=, if any


@dataclass(frozen=True, slots=True)
class Ended:
    leg: "Leg"


LegEvent = Ringing | Answered | HoldChanged | DigitReceived | Ended
EventSink = Callable[[LegEvent], None]
