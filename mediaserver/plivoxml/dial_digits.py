"""What digits do while a Dial's legs are bridged (plivo.md §2.7): `*` from the caller drops
the B leg with hangupOnStar, and the patterns of digitsMatch (caller) and digitsMatchBLeg
(callee) are reported to callbackUrl as DialAction=digits when the latest digits of that leg
end with one (each match once; the leg's digits start afresh after it)."""

from collections.abc import Callable

from mediaserver.calls.call_control import CallControl
from mediaserver.calls.hangup_cause import Cause, HangupSource
from mediaserver.calls.leg_events import DigitReceived, LegEvent, Subscription
from mediaserver.plivoxml.verbs import Dial

MatchReport = Callable[[str, str], None]  # (pattern, "ALeg" | "BLeg")
# Long enough for any pattern a document can hold; older digits cannot complete a match.
KEPT_DIGITS = 64


class BridgedDigits:
    def __init__(
        self, verb: Dial, a_leg: CallControl, b_leg: CallControl, report: MatchReport
    ) -> None:
        self._verb = verb
        self._b_leg = b_leg
        self._report = report
        self._typed = {"ALeg": "", "BLeg": ""}
        self._listening: list[tuple[CallControl, Subscription]] = []
        if verb.hangup_on_star or verb.digits_match:
            self._listen(a_leg, "ALeg")
        if verb.digits_match_b_leg:
            self._listen(b_leg, "BLeg")

    def close(self) -> None:
        for leg, subscription in self._listening:
            subscription.cancel()
            leg.collect_digits(False)
        self._listening.clear()

    def _listen(self, leg: CallControl, side: str) -> None:
        def hear(event: LegEvent) -> None:
            if isinstance(event, DigitReceived):
                self._pressed(side, event.digit)

        leg.collect_digits(True)
        self._listening.append((leg, leg.subscribe(hear)))

    def _pressed(self, side: str, digit: str) -> None:
        if side == "ALeg" and digit == "*" and self._verb.hangup_on_star:
            self._b_leg.hangup(Cause.NORMAL_CLEARING, HangupSource.CALLER)
            return
        typed = (self._typed[side] + digit)[-KEPT_DIGITS:]
        patterns = self._verb.digits_match if side == "ALeg" else self._verb.digits_match_b_leg
        matched = next((pattern for pattern in patterns if typed.endswith(pattern)), None)
        if matched is not None:
            typed = ""
            self._report(matched, side)
        self._typed[side] = typed
