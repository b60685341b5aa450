"""Two legs bridged: their media connected through the engine (relayed or transcoded), and
what the engine cannot see relayed between them: hold (a re-INVITE on the other leg, RFC 3264
§8.4) and digits that arrived as SIP INFO. RFC 4733 and in-band digits cross in the engine.
"""

from typing import TYPE_CHECKING

from mediaserver.calls.leg_events import (
    DigitReceived,
    DigitSource,
    Ended,
    HoldChanged,
    LegEvent,
    Subscription,
)
from mediaserver.calls.leg_media import MediaRefusedError

if TYPE_CHECKING:
    from mediaserver.calls.leg import Leg


class Bridge:
    def __init__(self, first: "Leg", second: "Leg") -> None:
        if first is second:
            raise MediaRefusedError("a leg cannot be bridged to itself")
        first.media.connect(second.media)
        self.legs = (first, second)
        self._subscriptions: list[Subscription] = [
            first.subscribe(lambda event: self._relay(event, second)),
            second.subscribe(lambda event: self._relay(event, first)),
        ]
        # A peer may have held before the bridge existed (a callee's hold can cross the
        # caller's answer): the other leg starts out held too.
        for leg, other in ((first, second), (second, first)):
            if leg.media.remote_on_hold:
                other.hold(True)

    def other(self, leg: "Leg") -> "Leg":
        return self.legs[1] if leg is self.legs[0] else self.legs[0]

    def close(self) -> None:
        """Stop relaying and disconnect the media (each leg goes back to silence)."""
        for subscription in self._subscriptions:
            subscription.cancel()
        self._subscriptions.clear()
        for leg in self.legs:
            leg.forget_bridge(self)
        self.legs[0].media.disconnect()

    def _relay(self, event: LegEvent, other: "Leg") -> None:
        if isinstance(event, HoldChanged):
            other.hold(event.on_hold)
        elif isinstance(event, DigitReceived) and event.source is DigitSource.SIP_INFO:
            if other.media.is_open:
                other.media.send_digits(event.digit, event.duration_ms)
        elif isinstance(event, Ended):
            self.close()
