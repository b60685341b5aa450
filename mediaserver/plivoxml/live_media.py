"""What the REST API does to a live call's media (plivo.md §4.1 Play/, Speak/, DTMF/,
Record/): play URLs or speak text to a leg, send it digits, record it; each started in the
background (the API answers 202 at once) and stoppable.

A live prompt is mixed into what a bridged leg hears from its peer (Plivo's `mix`, true by
default) or takes the leg's output while it plays, as a verb's prompt does; whatever the leg's
document was playing is cut. Work is kept per call and cancelled when stopped or when
the call ends, so nothing outlives its call.

A recording is mono (the leg's voice and what it hears, mixed) or stereo: the leg's voice on
the left channel and its bridged peer's on the right (silence while it has none), as Plivo's
record_channel_type=stereo puts each leg of a call on its own channel.
"""

import asyncio
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

from mediaserver.calls.call_control import CallControl
from mediaserver.calls.leg_events import Ended, LegEvent
from mediaserver.media.file_player import FilePlayer
from mediaserver.media.recorder import Recorder, StereoRecorder
from mediaserver.plivoxml.record_verb import RecordingFile
from mediaserver.plivoxml.session import Services, SoundError


@dataclass(frozen=True, slots=True)
class LiveRecordingStarted:
    recording_id: str
    url: str


@dataclass(frozen=True, slots=True)
class RecordingCallback:
    url: str
    method: str = "POST"


class LiveMedia:
    def __init__(self, services: Services, accounts: Callable[[str | None], Services]) -> None:
        self._services = services
        self._accounts = accounts  # an account's services: its recordings and callbacks
        self._prompts: dict[str, asyncio.Task[None]] = {}
        self._recordings: dict[str, _LiveRecording] = {}
        self._finishing: set[asyncio.Task[None]] = set()

    def play(
        self, leg: CallControl, urls: list[str], loop: bool, length: int | None, *, mixed: bool
    ) -> None:
        """Fetch every URL first (a bad one fails the request, not the call), then play."""
        self._prompt(leg, self._play(leg, urls, loop, mixed), length)

    async def check_sounds(self, urls: list[str]) -> str | None:
        """The first URL that cannot be played, with why; None when all can."""
        for url in urls:
            try:
                await self._services.sounds.load(url)
            except SoundError as error:
                return f"{url}: {error}"
        return None

    def speak(
        self, leg: CallControl, text: str, voice: str, language: str, loop: bool, *, mixed: bool
    ) -> None:
        self._prompt(leg, self._speak(leg, (text, voice, language), loop, mixed), None)

    def stop_prompt(self, leg: CallControl) -> bool:
        """Stop what this API started playing on the leg (False: nothing was)."""
        task = self._prompts.pop(leg.call_uuid, None)
        if task is None:
            return False
        task.cancel()
        return True

    def send_digits(self, leg: CallControl, digits: str) -> None:
        self._start(leg, ("digits", leg.call_uuid), leg.send_digits(digits))

    def record(
        self,
        leg: CallControl,
        file_format: str,
        time_limit: int,
        callback: RecordingCallback | None,
        stereo: bool = False,
        peer: CallControl | None = None,
        sub_account: str | None = None,
    ) -> LiveRecordingStarted:
        """Record `leg` (and in stereo its bridged `peer` on the right channel) of
        `sub_account`'s call: the recording is that account's, its callback signed with its
        token."""
        if leg.call_uuid in self._recordings:
            self._recordings[leg.call_uuid].stop()
        channels = _Channels(stereo, peer if stereo else None)
        services = self._accounts(sub_account)
        recording = _LiveRecording(services, leg, file_format, callback, channels)
        recording.on_stop = lambda: self._forget_recording(leg.call_uuid, recording)
        self._recordings[leg.call_uuid] = recording
        deadlines = self._services.deadlines
        deadlines.at(("record", leg.call_uuid), deadlines.clock.now() + time_limit, recording.stop)
        return LiveRecordingStarted(recording.file.recording_id, recording.file.url)

    def stop_recording(self, leg: CallControl, url: str | None) -> bool:
        """Stop the leg's live recording (the one at `url`, when given); False if none."""
        recording = self._recordings.get(leg.call_uuid)
        if recording is None or url not in (None, recording.file.url):
            return False
        recording.stop()
        return True

    async def close(self) -> None:
        """Stop every prompt and recording, and wait until the recordings are filed."""
        for task in list(self._prompts.values()):
            task.cancel()
        for recording in list(self._recordings.values()):
            recording.stop()
        await asyncio.gather(*self._finishing, return_exceptions=True)

    def statistics(self) -> dict[str, int]:
        return {"prompts": len(self._prompts), "recordings": len(self._recordings)}

    def _prompt(
        self, leg: CallControl, work: Coroutine[Any, Any, None], length: int | None
    ) -> None:
        self.stop_prompt(leg)
        task = self._start(leg, ("prompt", leg.call_uuid), work)
        self._prompts[leg.call_uuid] = task
        task.add_done_callback(lambda _: self._forget_prompt(leg.call_uuid, task))
        if length is not None:
            deadlines = self._services.deadlines
            deadlines.at(
                ("prompt", leg.call_uuid),
                deadlines.clock.now() + length,
                lambda: self._cut(leg),
            )

    def _cut(self, leg: CallControl) -> None:
        """`length` seconds have passed (§4.1 Play length)."""
        self.stop_prompt(leg)

    def _forget_prompt(self, call_uuid: str, task: "asyncio.Task[None]") -> None:
        if self._prompts.get(call_uuid) is task:
            del self._prompts[call_uuid]
            self._services.deadlines.cancel(("prompt", call_uuid))

    def _start(
        self, leg: CallControl, key: tuple[str, str], work: Coroutine[Any, Any, Any]
    ) -> "asyncio.Task[Any]":
        """`work` until done, cancelled, or the leg ends."""
        task = asyncio.get_running_loop().create_task(work)

        def hear(event: LegEvent) -> None:
            if isinstance(event, Ended):
                task.cancel()

        subscription = leg.subscribe(hear)
        task.add_done_callback(lambda _: subscription.cancel())
        return task

    async def _play(self, leg: CallControl, urls: list[str], loop: bool, mixed: bool) -> None:
        sounds = [await self._services.sounds.load(url) for url in urls]
        while True:
            for samples in sounds:
                if not await leg.play(FilePlayer(samples, 1), mixed):
                    return
            if not loop:
                return

    async def _speak(
        self, leg: CallControl, speech: tuple[str, str, str], loop: bool, mixed: bool
    ) -> None:
        text, voice, language = speech
        while await leg.speak(text, voice, language, mixed) and loop:
            pass

    def _forget_recording(self, call_uuid: str, recording: "_LiveRecording") -> None:
        if self._recordings.get(call_uuid) is recording:
            del self._recordings[call_uuid]
            self._services.deadlines.cancel(("record", call_uuid))
        if recording.finishing is not None:
            self._finishing.add(recording.finishing)
            recording.finishing.add_done_callback(self._finishing.discard)


@dataclass(frozen=True, slots=True)
class _Channels:
    stereo: bool
    peer: CallControl | None  # stereo only: the leg on the right channel


class _LiveRecording:
    """A leg's recording until stopped, time_limit, or the hangup (the module says what)."""

    def __init__(
        self,
        services: Services,
        leg: CallControl,
        file_format: str,
        callback: RecordingCallback | None,
        channels: _Channels,
    ) -> None:
        self._services = services
        self._leg = leg
        self._callback = callback
        count = 2 if channels.stereo else 1
        self.file = RecordingFile(services.recordings, leg.call_uuid, file_format, count)
        self._stereo = StereoRecorder(self.file.writer) if channels.stereo else None
        self._peer = (
            channels.peer if channels.peer is not None and not channels.peer.ended else None
        )
        if self._stereo is None:
            leg.record(Recorder(self.file.writer), heard=True)
        else:
            leg.record(self._stereo.left, heard=False)
            if self._peer is not None:
                self._peer.record(self._stereo.right, heard=False)
        self._subscription = leg.subscribe(self._hear)
        self.finishing: asyncio.Task[None] | None = None
        self.on_stop: Callable[[], None] = lambda: None

    def _hear(self, event: LegEvent) -> None:
        if isinstance(event, Ended):
            self.stop()

    def stop(self) -> None:
        if self.finishing is not None:
            return
        self._subscription.cancel()
        for leg in (self._leg, self._peer):
            if leg is not None and not leg.ended:
                leg.stop_recording()
        if self._stereo is not None:
            self._stereo.flush()
        self.finishing = asyncio.get_running_loop().create_task(self._finish())
        self.on_stop()

    async def _finish(self) -> None:
        recording = await self.file.close()
        if self._callback is None:
            return
        params: Mapping[str, str] = {
            "call_uuid": recording.call_uuid,
            "record_url": self.file.url,
            "recording_id": recording.recording_id,
            "recording_duration": str(round(recording.recording_duration_ms / 1000)),
            "recording_duration_ms": str(recording.recording_duration_ms),
            "recording_start_ms": str(recording.recording_start_ms),
            "recording_end_ms": str(recording.recording_end_ms),
            "recorded_at": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        }
        self._services.webhooks.notify(self._callback.url, self._callback.method, params)
