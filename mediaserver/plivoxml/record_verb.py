"""<Record> (plivo.md §2.6): the caller's voice to a WAV or MP3 file until the finish key,
`timeout` seconds of silence, `maxLength` or the hangup; then the action URL and callbackUrl get
the Record* parameters. With recordSession (or startOnDialAnswer, from the next Dial's answer)
the whole call is recorded in the background (stereo: each leg on its own channel; mono: both
mixed) and the document goes on at once: the action then gets -1 durations and callbackUrl the
real ones when the call ends.
"""

import asyncio
import secrets
import time
from dataclasses import dataclass

from audiocodecs.pcm import Pcm16
from mediaserver.calls.call_control import CallControl
from mediaserver.calls.deadlines import NamedTimers
from mediaserver.calls.leg_events import DigitReceived, Ended, LegEvent
from mediaserver.media.audio_file import AudioWriter
from mediaserver.media.frame import SAMPLE_RATE
from mediaserver.media.port import MediaSink
from mediaserver.media.recorder import Recorder, StereoRecorder
from mediaserver.media.vad import VoiceActivityDetector
from mediaserver.plivoxml.prompts import play_beep
from mediaserver.plivoxml.session import (
    CallSession,
    DocumentKind,
    Goto,
    RecordingArchive,
    UnsupportedVerbError,
)
from mediaserver.plivoxml.verbs import Record
from mediaserver.store.recordings import Recording


@dataclass(frozen=True, slots=True)
class _Finished:
    recording: Recording
    url: str
    digits: str  # the key that ended it, if one did


async def run_record(session: CallSession, verb: Record) -> Goto | None:
    if verb.transcription_type or verb.transcription_url:
        # §2.6 transcription needs a speech recogniser, which this server does not have (as
        # GetInput speech): refused by name rather than recorded with no transcript sent.
        raise UnsupportedVerbError(
            "<Record transcriptionType/transcriptionUrl>: transcription needs a speech"
            " recogniser, which this server does not have"
        )
    if verb.record_session:
        start_session_recording(session, verb)
        return _report(session, verb, None)
    if verb.start_on_dial_answer:
        session.recording_on_answer = verb
        return _report(session, verb, None)
    if verb.play_beep:
        await play_beep(session)
    finished = await _Take(session, verb).run()
    _callback(session, verb, finished)
    return None if session.leg.ended else _report(session, verb, finished)


class _Take:
    """One recording of the caller, ended by a key, silence, its length or the hangup."""

    def __init__(self, session: CallSession, verb: Record) -> None:
        self._session = session
        self._verb = verb
        self._vad = VoiceActivityDetector()
        self._done: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._file = RecordingFile(
            session.services.recordings, session.leg.call_uuid, verb.file_format, channels=1
        )
        self._recorder = Recorder(self._file.writer)

    async def run(self) -> _Finished:
        leg = self._session.leg
        timers = NamedTimers(self._session.services.deadlines)
        timers.after("max length", self._verb.max_length, lambda: self._finish(""))
        leg.collect_digits(True)
        subscription = leg.subscribe(self._hear)
        self._session.caller_audio.listen(self)  # the caller's voice: its silences end it
        try:
            digits = await self._done
        finally:
            self._session.caller_audio.stop_listening(self)
            subscription.cancel()
            leg.collect_digits(False)
            timers.cancel_all()
            recording = await asyncio.shield(self._file.close())
        return _Finished(recording, self._file.url, digits)

    def write_frame(self, pcm: Pcm16) -> None:
        self._recorder.write_frame(pcm)
        self._vad.write_frame(pcm)
        if self._vad.silence_seconds >= self._verb.timeout:
            self._finish("")

    def _hear(self, event: LegEvent) -> None:
        keys = self._verb.finish_on_key
        if isinstance(event, DigitReceived) and keys and event.digit in keys:
            self._finish(event.digit)
        elif isinstance(event, Ended):
            self._finish("")

    def _finish(self, digits: str) -> None:
        if not self._done.done():
            self._done.set_result(digits)


class SessionRecording:
    """The whole call in the background: the caller and, once a Dial connects one, the B leg
    on its own channel (stereo), or the whole conversation as the caller hears it (mono)."""

    def __init__(self, session: CallSession, verb: Record) -> None:
        self._session = session
        self._verb = verb
        stereo = verb.record_channel_type == "stereo"
        self._file = RecordingFile(
            session.services.recordings,
            session.leg.call_uuid,
            verb.file_format,
            channels=2 if stereo else 1,
        )
        self._stereo = StereoRecorder(self._file.writer) if stereo else None
        # mono: the caller and, mixed in, everything the caller hears (a B leg, prompts)
        self._caller: MediaSink = self._stereo.left if self._stereo else Recorder(self._file.writer)
        session.caller_audio.listen(self._caller, heard=self._stereo is None)

    def add_b_leg(self, b_leg: CallControl) -> None:
        if self._stereo is not None:
            b_leg.record(self._stereo.right, heard=False)

    async def finish(self) -> None:
        self._session.caller_audio.stop_listening(self._caller)
        if self._stereo is not None:
            self._stereo.flush()
        recording = await self._file.close()
        _callback(self._session, self._verb, _Finished(recording, self._file.url, ""))


def start_session_recording(session: CallSession, verb: Record) -> None:
    if session.session_recording is None:
        session.session_recording = SessionRecording(session, verb)


class RecordingFile:
    """The file under the recordings directory and its row, written once it is whole (the
    Record verb's, and the REST API's live Record/)."""

    def __init__(
        self,
        archive: RecordingArchive,
        call_uuid: str,
        file_format: str,
        channels: int,
        conference_name: str | None = None,  # a conference room's recording
        sub_account: str | None = None,  # whose recording it is; None: the main account's
        sample_rate: int = SAMPLE_RATE,
    ) -> None:
        self._call_uuid = call_uuid
        self._conference_name = conference_name
        self._sub_account = sub_account
        self._archive = archive
        self.recording_id = secrets.token_hex(16)
        self.file_format = file_format
        self.start_ms = int(time.time() * 1000)
        path = archive.path_for(self.recording_id, file_format)
        self.writer = AudioWriter(path, sample_rate, channels)
        self.url = archive.url_for(self.recording_id, file_format)

    async def close(self) -> Recording:
        path = await asyncio.to_thread(self.writer.close)
        duration_ms = self.writer.samples_written * 1000 // self.writer.sample_rate
        recording = Recording(
            recording_id=self.recording_id,
            call_uuid=self._call_uuid,
            recording_format=self.file_format,
            recording_type="call" if self._conference_name is None else "conference",
            file_name=path.name,
            recording_duration_ms=duration_ms,
            recording_start_ms=self.start_ms,
            recording_end_ms=self.start_ms + duration_ms,
            add_time=time.time(),
            conference_name=self._conference_name,
            sub_account=self._sub_account,
        )
        self._archive.add(recording)
        return recording


def _parameters(finished: _Finished | None) -> dict[str, str]:
    """Record* parameters; -1 durations for a recording still running (session modes)."""
    if finished is None:
        return {
            "RecordUrl": "", "RecordingID": "", "RecordingDuration": "-1",
            "RecordingDurationMs": "-1", "RecordingStartMs": "-1", "RecordingEndMs": "-1",
        }  # fmt: skip
    recording = finished.recording
    return {
        "RecordUrl": finished.url,
        "RecordingID": recording.recording_id,
        "RecordingDuration": str(round(recording.recording_duration_ms / 1000)),
        "RecordingDurationMs": str(recording.recording_duration_ms),
        "RecordingStartMs": str(recording.recording_start_ms),
        "RecordingEndMs": str(recording.recording_end_ms),
        "Digits": finished.digits,
    }


def _report(session: CallSession, verb: Record, finished: _Finished | None) -> Goto | None:
    if verb.action is None:
        return None
    params = _parameters(finished)
    if verb.redirect:
        return Goto(verb.action, verb.method, DocumentKind.ACTION, params)
    session.notify(verb.action, verb.method, params)
    return None


def _callback(session: CallSession, verb: Record, finished: _Finished) -> None:
    if verb.callback_url is not None:
        session.notify(verb.callback_url, verb.callback_method, _parameters(finished))
