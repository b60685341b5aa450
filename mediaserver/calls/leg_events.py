"""What a leg tells whoever listens, as past-tense facts, and the leg's visible state table.

Any number of subscribers (the call service's dialog table and records, the script driving
the leg, an application's callbacks) each get every event in the order they subscribed; one
that fails is logged and the others still hear it.
"""

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mediaserver.calls.leg import Leg

logger = logging.getLogger(__name__)


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


class DigitSource(enum.Enum):
    """How a digit arrived; one stream of DigitReceived whatever the mode."""

    RFC4733 = "rfc4733"  # telephone-event packets
    SIP_INFO = "sip_info"  # RFC 6086 INFO, application/dtmf-relay or application/dtmf
    INBAND = "inband"  # tones in the audio (Goertzel)


@dataclass(frozen=True, slots=True)
class DigitReceived:
    leg: "Leg"
    digit: str
    source: DigitSource = DigitSource.SIP_INFO
    duration_ms: int | None = None  # how long it was pressed, when the sender says (INFO)


@dataclass(frozen=True, slots=True)
class Ended:
    leg: "Leg"


@dataclass(frozen=True, slots=True)
class Transferred:
    """The leg was taken from the script that drove it alongside its own leg (a bridged B
    leg moved to its own document); that script runs on without it."""

    leg: "Leg"


LegEvent = Ringing | Answered | HoldChanged | DigitReceived | Ended | Transferred
EventSink = Callable[[LegEvent], None]


class Subscription:
    """Returned by subscribe(); `cancel()` stops the deliveries (idempotent)."""

    __slots__ = ("_sink", "_stream")

    def __init__(self, stream: "EventStream", sink: EventSink) -> None:
        self._stream = stream
        self._sink = sink

    def cancel(self) -> None:
        self._stream.unsubscribe(self._sink)


class EventStream:
    def __init__(self) -> None:
        self._sinks: list[EventSink] = []

    def subscribe(self, sink: EventSink) -> Subscription:
        self._sinks.append(sink)
        return Subscription(self, sink)

    def unsubscribe(self, sink: EventSink) -> None:
        if sink in self._sinks:
            self._sinks.remove(sink)

    def emit(self, event: LegEvent) -> None:
        # A copy: a subscriber may unsubscribe (or subscribe another) while hearing it.
        for sink in list(self._sinks):
            try:
                sink(event)
            except Exception:
                logger.exception("a subscriber failed on %s", type(event).__name__)

    def __len__(self) -> int:
        return len(self._sinks)
