"""The media half of CallControl, the same for every leg: playback, speech, digits in and
out, recording, bridging and dialling on the leg's behalf. Leg (leg.py) adds the SIP dialog.
"""

from typing import TYPE_CHECKING, cast

from mediaserver.calls.bridge import Bridge
from mediaserver.calls.leg_events import DigitReceived, DigitSource
from mediaserver.calls.leg_media import LegMedia, MediaRefusedError
from mediaserver.calls.leg_services import LegServices
from mediaserver.media.frame import SAMPLE_RATE
from mediaserver.media.port import MediaSink, MediaSource
from mediaserver.media.tones import SampleSource

if TYPE_CHECKING:
    from mediaserver.calls.dialer import DialOptions, DialOutcome
    from mediaserver.calls.leg import Leg
    from mediaserver.calls.router import Route


class MediaControls:
    """Mixed into Leg, which sets these in its __init__ (its state and events are reached
    through `_as_leg`)."""

    media: LegMedia
    _services: LegServices
    _bridge: Bridge | None

    async def play(self, source: MediaSource, mixed: bool = False) -> bool:
        """Send `source` to the peer until it runs out (True), or it is stopped or the leg
        ends (False). While a leg plays, what a bridged peer says is not heard, unless
        `mixed`: then the two are heard together."""
        if self._as_leg().ended or not self.media.is_open:
            return False
        done = self.media.play(source, mixed)
        try:
            return await done
        except BaseException:
            self.media.stop_playing()
            raise

    async def speak(
        self, text: str, voice: str = "WOMAN", language: str = "en-US", mixed: bool = False
    ) -> bool:
        tts = self._services.tts
        if tts is None:
            raise MediaRefusedError("no text-to-speech engine is configured")
        samples = await tts.synthesize(text, voice, language, SAMPLE_RATE)
        return await self.play(SampleSource(samples), mixed)

    def stop_playing(self) -> None:
        self.media.stop_playing()

    async def send_digits(self, digits: str) -> bool:
        """RFC 4733 when the peer negotiated telephone-event, else in-band tones."""
        if self._as_leg().ended or not self.media.is_open:
            return False
        return await self.media.send_digits(digits)

    def collect_digits(self, enabled: bool = True) -> None:
        """RFC 4733 and in-band digits become DigitReceived events too (SIP INFO ones always
        are). Off by default: detection keeps a leg off the engine's relay fast path."""
        self.media.detect_digits(self._digit_from_media if enabled else None)

    def _digit_from_media(self, digit: str, source: DigitSource) -> None:
        leg = self._as_leg()
        leg.events.emit(DigitReceived(leg, digit, source))

    def record(self, sink: MediaSink, heard: bool = True) -> None:
        """What the peer says, and (`heard`) what it hears mixed in, into `sink`."""
        self.media.record(sink, heard)

    def stop_recording(self) -> None:
        self.media.record(None)

    def bridge(self, other: "Leg") -> None:
        """Connect the two legs' media and relay hold and INFO digits between them."""
        if self._bridge is not None and self._bridge.other(self._as_leg()) is other:
            return
        self.unbridge()
        other.unbridge()
        bridge = Bridge(self._as_leg(), other)
        self._bridge = other._bridge = bridge

    def unbridge(self) -> None:
        if self._bridge is not None:
            self._bridge.close()

    @property
    def bridged_to(self) -> "Leg | None":
        return None if self._bridge is None else self._bridge.other(self._as_leg())

    def forget_bridge(self, bridge: Bridge) -> None:
        if self._bridge is bridge:
            self._bridge = None

    async def dial(self, route: "Route", options: "DialOptions") -> "DialOutcome":
        """Ring the route's targets on this leg's behalf (see dialer.py)."""
        return await self._services.dialer.dial(self._as_leg(), route, options)

    def _as_leg(self) -> "Leg":
        """The leg this is mixed into (only ever Leg), for the parts that take a whole leg."""
        return cast("Leg", self)
