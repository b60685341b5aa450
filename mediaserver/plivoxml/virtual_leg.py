"""A call leg with no SIP and no RTP, for `mediaserver simulate`: a virtual caller that says
what happens to it, hears audio instantly (counting its duration), and presses the digits it
was given whenever the application asks for input.

`digits` are groups separated by commas: each time the application turns digit collection
on, the next group is pressed ("1#,2": "1#" at the first input, "2" at the second).
"""

import asyncio
import time
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, cast

from mediaserver.calls.hangup_cause import Cause, HangupSource
from mediaserver.calls.leg_events import (
    Answered,
    DigitReceived,
    DigitSource,
    Ended,
    EventSink,
    EventStream,
    LegEvent,
    LegState,
    Subscription,
)
from mediaserver.media.frame import FRAME_MS, SAMPLE_RATE
from mediaserver.media.port import MediaSink, MediaSource
from mediaserver.media.tts import TtsEngine

if TYPE_CHECKING:
    from mediaserver.calls.dialer import DialOptions, DialOutcome
    from mediaserver.calls.leg import Leg
    from mediaserver.calls.router import Route

# A source that loops forever (loop="0") is heard for this long, then counted as stopped.
LONGEST_PLAY_SECONDS = 60.0

Transcript = Callable[[str], None]


class VirtualLeg:
    direction = "inbound"

    def __init__(
        self,
        from_number: str,
        to_number: str,
        digits: str,
        tts: TtsEngine,
        transcript: Transcript,
    ) -> None:
        self.call_uuid = str(uuid.uuid4())
        self.from_number = from_number
        self.to_number = to_number
        self.custom_headers: Mapping[str, str] = {}
        self.state = LegState.RINGING
        self.cause: Cause | None = None
        self.hangup_source: HangupSource | None = None
        self.initiation_time = time.time()
        self.answer_time: float | None = None
        self.end_time: float | None = None
        self._digit_groups = [group for group in digits.split(",") if group]
        self._tts = tts
        self._say = transcript
        self._events = EventStream()

    @property
    def ended(self) -> bool:
        return self.state is LegState.ENDED

    def subscribe(self, sink: EventSink) -> Subscription:
        return self._events.subscribe(sink)

    def ring(self) -> None:
        self._say("caller hears ringing (180)")

    def pre_answer(self) -> None:
        self._say("call pre-answered (183, early media)")

    def answer(self) -> None:
        if self.state is LegState.RINGING:
            self.state = LegState.ANSWERED
            self.answer_time = time.time()
            self._say("call answered (200)")
            self._emit(Answered(self._as_leg()))

    def hold(self, on_hold: bool) -> None:
        self._say(f"caller {'held' if on_hold else 'resumed'}")

    def hangup(self, cause: Cause, source: HangupSource) -> None:
        if self.ended:
            return
        self.state, self.cause, self.hangup_source = LegState.ENDED, cause, source
        self.end_time = time.time()
        code = cause.cause
        self._say(f"hangup: {code.code} {code.label} ({code.name}), source {source.value}")
        self._emit(Ended(self._as_leg()))

    async def play(self, source: MediaSource, mixed: bool = False) -> bool:
        """The virtual caller is bridged to no one: mixed or not, it hears the source."""
        if self.ended:
            return False
        frames = 0
        while frames * FRAME_MS < LONGEST_PLAY_SECONDS * 1000 and source.read_frame() is not None:
            frames += 1
        self._say(f"caller hears {frames * FRAME_MS / 1000:.2f} s of audio")
        await asyncio.sleep(0)
        return not self.ended

    async def speak(
        self, text: str, voice: str = "WOMAN", language: str = "en-US", mixed: bool = False
    ) -> bool:
        samples = await self._tts.synthesize(text, voice, language, SAMPLE_RATE)
        self._say(f"caller hears speech {len(samples) / SAMPLE_RATE:.2f} s: {text!r}")
        return not self.ended

    def stop_playing(self) -> None:
        """Audio is heard at once here: nothing is ever still playing."""

    async def send_digits(self, digits: str) -> bool:
        self._say(f"caller receives digits {digits!r}")
        return not self.ended

    def collect_digits(self, enabled: bool = True) -> None:
        if enabled and self._digit_groups and not self.ended:
            group = self._digit_groups.pop(0)
            self._say(f"caller presses {group!r}")
            loop = asyncio.get_running_loop()
            for digit in group:
                loop.call_soon(self._press, digit)

    def record(self, sink: MediaSink, heard: bool = True) -> None:
        self._say("the caller's audio is being recorded (the virtual caller is silent)")

    def stop_recording(self) -> None:
        self._say("recording stopped")

    async def dial(self, route: "Route", options: "DialOptions") -> "DialOutcome":
        from mediaserver.calls.dialer import DialOutcome

        self._say(f"dials {route.to_number}: nobody answers in a simulation")
        return DialOutcome(None, Cause.NO_ANSWER)

    def bridge(self, other: "Leg") -> None:
        self._say("bridged")

    def unbridge(self) -> None:
        """Never bridged: a simulated dial is never answered."""

    def _press(self, digit: str) -> None:
        self._emit(DigitReceived(self._as_leg(), digit, DigitSource.RFC4733))

    def _emit(self, event: LegEvent) -> None:
        self._events.emit(event)

    def _as_leg(self) -> "Leg":
        """Events name their leg as a Leg; a virtual leg stands in for one."""
        return cast("Leg", self)
