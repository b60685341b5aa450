"""Answering-machine detection on a call the REST API placed (plivo.md §4.1 machine_detection,
§3 machine_detection_url).

Asynchronous, as Plivo runs it ("Plivo will detect an answering machine in the background and
invoke the machine_detection_url"): the answer URL's document runs from the answer on, and
the detector listens to the callee beside it (one more listener of the call's CallerAudio,
so a Record or a silence-ended Wait of the document hears the callee too). The verdict goes
to machine_detection_url with Event=MachineDetection, Machine, IfMachine and the call's
parameters, signed like every webhook; the application then typically transfers the call.

Plivo documents the request for a machine (Machine=true). A person, or no decision within
machine_detection_time, is posted too, with Machine=false, so an application hears the end of
detection either way. In `hangup` mode a machine's call then ends with 9100 Machine Detected
(HangupSource Plivo, plivo.md §3 hangup codes); people and undecided calls go on.
"""

import asyncio
import contextlib
from dataclasses import dataclass, field

from audiocodecs.pcm import Pcm16
from mediaserver.calls.call_control import CallControl
from mediaserver.calls.deadlines import Deadlines
from mediaserver.calls.scripts import first_to_end
from mediaserver.media.machine_detector import (
    DetectionSettings,
    MachineDetector,
    Outcome,
    Verdict,
)
from mediaserver.plivoxml.caller_audio import CallerAudio


@dataclass(frozen=True, slots=True)
class MachineDetection:
    """What a POST Call/ asked for: `machine_detection` (true or hangup) and its knobs."""

    hang_up: bool  # machine_detection=hangup: a machine's call ends
    settings: DetectionSettings = field(default_factory=DetectionSettings)
    url: str | None = None  # machine_detection_url
    method: str = "POST"


class _Listener:
    """The detector as a listener of the callee, its verdict as a future."""

    def __init__(self, settings: DetectionSettings) -> None:
        self.detector = MachineDetector(settings)
        self.decided: asyncio.Future[Verdict] = asyncio.get_running_loop().create_future()

    def write_frame(self, pcm: Pcm16) -> None:
        self.detector.write_frame(pcm)
        self._settle(self.detector.verdict)

    def time_out(self) -> None:
        self._settle(self.detector.timing.time_out())

    def _settle(self, verdict: Verdict | None) -> None:
        if verdict is not None and not self.decided.done():
            self.decided.set_result(verdict)


async def listen_for_machine(
    leg: CallControl, audio: CallerAudio, settings: DetectionSettings, deadlines: Deadlines
) -> Verdict | None:
    """The verdict on what `leg`'s callee says from now on; None if the call ends first."""
    listener = _Listener(settings)
    key = ("machine detection", leg.call_uuid)
    # The frames count the analysis time; the clock ends it too when no frames come (the
    # leg's audio taken elsewhere, a conference).
    deadlines.at(key, deadlines.clock.now() + settings.analysis_ms / 1000, listener.time_out)
    audio.listen(listener)
    ended = asyncio.get_running_loop().create_task(first_to_end(leg))
    try:
        await asyncio.wait((listener.decided, ended), return_when=asyncio.FIRST_COMPLETED)
    finally:
        audio.stop_listening(listener)
        deadlines.cancel(key)
        ended.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ended
    return None if leg.ended else listener.decided.result()


def machine_parameters(detection: MachineDetection, verdict: Verdict) -> dict[str, str]:
    """What machine_detection_url gets beyond the call's parameters (§3)."""
    return {
        "Event": "MachineDetection",
        "Machine": "true" if verdict.outcome is Outcome.MACHINE else "false",
        "IfMachine": "hangup" if detection.hang_up else "continue",
    }


def describe(verdict: Verdict) -> str:
    """The call's debug-log entry."""
    return f"machine detection: {verdict.outcome.value} ({verdict.reason}, {verdict.after_ms} ms)"
