"""Record (plivo.md §2.6): each attribute is shown in the file written (its format, channels,
length and what each channel holds, measured), in when the recording ends, in what the caller
hears first, or in the requests the action and callbackUrl get."""

import wave
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from mediaserver.calls.hangup_cause import Cause, HangupSource
from mediaserver.calls.leg_events import DigitSource
from mediaserver.media.audio_file import read_audio
from tests.calls.in_memory import in_dialog, sdp
from tests.plivoxml.application_harness import ANSWER_URL, AppHarness, running_application
from tests.plivoxml.caller import (
    b_legs,
    call,
    caller_media,
    frames,
    heard,
    peak_frequencies,
    send,
    speech_like,
    spoken,
    until,
)

ACTION_URL = "http://app.test/action"
CALLBACK_URL = "http://app.test/recorded"
Documents = dict[str, str | Exception]


def record(attributes: str, after: str = "<Speak>Next</Speak>") -> Documents:
    return {
        ANSWER_URL: f'<Response><Record action="{ACTION_URL}" {attributes}/>{after}</Response>',
        ACTION_URL: "<Response><Speak>Action</Speak></Response>",
    }


def recording_file(harness: AppHarness) -> Path:
    [recording] = harness.recordings.added
    return recording_file_of(harness, recording.recording_id)


def recording_file_of(harness: AppHarness, recording_id: str) -> Path:
    [recording] = [r for r in harness.recordings.added if r.recording_id == recording_id]
    return harness.recordings.path_for(recording_id, recording.recording_format)


def wav_channels(path: Path) -> tuple[int, NDArray[np.int16]]:
    """(channels, samples as a (frames, channels) array) of a WAV file."""
    with wave.open(str(path)) as file:
        assert file.getframerate() == 8000
        channels = file.getnchannels()
        samples = np.frombuffer(file.readframes(file.getnframes()), np.int16)
    return channels, samples.reshape(-1, channels)


async def test_wav_file_holds_what_the_caller_said() -> None:
    documents = record('fileFormat="wav" playBeep="false"')
    async with running_application(documents) as harness:
        await call(harness)
        media = caller_media(harness)
        send(media.sink, frames(2.0, 3000, 440) + frames(0.1))
        media.press("#", DigitSource.RFC4733)
        await until(lambda: harness.app.to(ACTION_URL))
        path = recording_file(harness)
        assert path.suffix == ".wav"
        channels, samples = wav_channels(path)
        assert channels == 1
        assert len(samples) == 2.1 * 8000
        assert peak_frequencies(samples[:16000, 0]) == pytest.approx([440], abs=5)
        [action] = harness.app.to(ACTION_URL)
        assert action.params["RecordUrl"].endswith(".wav")


async def test_mp3_is_the_default_format_and_the_file_is_real_mp3() -> None:
    async with running_application(record('playBeep="false" finishOnKey="#"')) as harness:
        await call(harness)
        media = caller_media(harness)
        send(media.sink, frames(3.0, 3000, 1000))
        media.press("#", DigitSource.RFC4733)
        await harness.calls.settle()
        await until(lambda: harness.app.to(ACTION_URL))
        path = recording_file(harness)
        assert path.suffix == ".mp3"
        assert path.read_bytes()[:3] == b"ID3" or path.read_bytes()[0] == 0xFF  # MPEG sync
        decoded = read_audio(path)
        assert abs(len(decoded) - 3 * 8000) < 0.1 * 8000  # encoder padding, not more
        assert peak_frequencies(decoded[4000:20000]) == pytest.approx([1000], abs=5)
        assert harness.app.to(ACTION_URL)[0].params["RecordUrl"].endswith(".mp3")


async def test_action_method_and_the_record_parameters() -> None:
    documents = record('method="GET" playBeep="false" fileFormat="wav"')
    async with running_application(documents) as harness:
        await call(harness)
        media = caller_media(harness)
        send(media.sink, frames(1.5, 3000, 440))
        media.press("#", DigitSource.RFC4733)
        await harness.calls.settle()
        await until(lambda: harness.app.to(ACTION_URL))
        [action] = harness.app.to(ACTION_URL)
        [recording] = harness.recordings.added
        assert (action.method, action.fetched) == ("GET", True)
        params = action.params
        assert params["RecordingID"] == recording.recording_id
        assert params["RecordingDurationMs"] == "1500"
        assert params["RecordingDuration"] == "2"  # seconds, rounded
        start, end = int(params["RecordingStartMs"]), int(params["RecordingEndMs"])
        assert end - start == 1500
        assert params["Digits"] == "#"
        assert spoken(harness) == ["Action"]  # the action's document replaced the rest


async def test_redirect_false_tells_the_action_and_goes_on() -> None:
    documents = record('redirect="false" playBeep="false" fileFormat="wav"')
    async with running_application(documents) as harness:
        await call(harness)
        send(caller_media(harness).sink, frames(0.5, 3000, 440))
        caller_media(harness).press("#", DigitSource.RFC4733)
        await until(lambda: spoken(harness))
        [action] = harness.app.to(ACTION_URL)
        assert not action.fetched
        assert spoken(harness) == ["Next"]


async def test_max_length_ends_the_recording() -> None:
    documents = record('maxLength="2" playBeep="false" fileFormat="wav"')
    async with running_application(documents) as harness:
        await call(harness)
        send(caller_media(harness).sink, frames(1.0, 3000, 440))
        await harness.calls.advance(1.5)
        assert harness.recordings.added == []
        await harness.calls.advance(0.5)
        await until(lambda: harness.recordings.added)
        assert harness.app.to(ACTION_URL)[0].params["Digits"] == ""


async def test_timeout_is_seconds_of_silence() -> None:
    documents = record('timeout="3" playBeep="false" fileFormat="wav"')
    async with running_application(documents) as harness:
        await call(harness)
        send(caller_media(harness).sink, speech_like(1.0) + frames(2.5))
        await harness.calls.settle()
        assert harness.recordings.added == []
        send(caller_media(harness).sink, frames(0.6))
        await until(lambda: harness.recordings.added)
        assert 4000 <= harness.recordings.added[0].recording_duration_ms <= 4100


async def test_play_beep_is_on_by_default_and_the_recording_starts_after_it() -> None:
    async with running_application(record('fileFormat="wav"')) as harness:
        await call(harness)
        media = caller_media(harness)
        [beep] = media.played
        assert peak_frequencies(heard(beep)) == pytest.approx([700], abs=5)
        assert media.sink is None  # not recording while beeping
        media.finish_playing()
        await harness.calls.settle()
        assert media.sink is not None


async def test_play_beep_false_records_at_once_without_a_beep() -> None:
    async with running_application(record('playBeep="false"')) as harness:
        await call(harness)
        assert caller_media(harness).played == []
        assert caller_media(harness).sink is not None


@pytest.mark.parametrize(
    ("attributes", "ignored", "finishing"),
    [("", "*", "#"), ('finishOnKey="*"', "#", "*"), ('finishOnKey="12"', "#", "2")],
)
async def test_finish_on_key_ends_the_recording(
    attributes: str, ignored: str, finishing: str
) -> None:
    documents = record(f'playBeep="false" fileFormat="wav" {attributes}')
    async with running_application(documents) as harness:
        await call(harness)
        media = caller_media(harness)
        media.press(ignored, DigitSource.RFC4733)
        await harness.calls.settle()
        assert media.sink is not None  # still recording
        media.press(finishing, DigitSource.SIP_INFO)
        await until(lambda: harness.app.to(ACTION_URL))
        assert harness.app.to(ACTION_URL)[0].params["Digits"] == finishing


async def test_finish_on_key_none_lets_no_key_end_it() -> None:
    documents = record('playBeep="false" fileFormat="wav" finishOnKey="none" maxLength="5"')
    async with running_application(documents) as harness:
        await call(harness)
        for key in "#*1":
            caller_media(harness).press(key, DigitSource.RFC4733)
        await harness.calls.advance(4.5)
        assert harness.recordings.added == []
        await harness.calls.advance(0.5)
        await until(lambda: harness.recordings.added)


async def test_callback_url_gets_the_recording_with_its_method() -> None:
    documents = record(
        f'playBeep="false" fileFormat="wav" callbackUrl="{CALLBACK_URL}" callbackMethod="GET"'
    )
    async with running_application(documents) as harness:
        await call(harness)
        send(caller_media(harness).sink, frames(2.0, 3000, 440))
        caller_media(harness).press("#", DigitSource.RFC4733)
        await until(lambda: harness.app.to(CALLBACK_URL))
        [callback] = harness.app.to(CALLBACK_URL)
        [recording] = harness.recordings.added
        assert (callback.method, callback.fetched) == ("GET", False)
        assert callback.params["RecordingID"] == recording.recording_id
        assert callback.params["RecordingDurationMs"] == "2000"
        assert callback.params["RecordUrl"] == harness.app.to(ACTION_URL)[0].params["RecordUrl"]


async def test_record_session_records_in_the_background_and_the_callback_gets_it_at_the_end() -> (
    None
):
    documents = record(
        f'recordSession="true" redirect="false" fileFormat="wav" recordChannelType="mono"'
        f' callbackUrl="{CALLBACK_URL}"',
        after='<Speak loop="0">Talking</Speak>',
    )
    async with running_application(documents) as harness:
        alice = await call(harness)
        media = caller_media(harness)
        assert spoken(harness) == ["Talking"]  # the document went on at once
        assert len(media.played) == 1  # the speech alone: no beep in session mode
        [action] = harness.app.to(ACTION_URL)
        assert not action.fetched  # the action is told; the document is not replaced
        assert action.params["RecordingDuration"] == "-1"
        assert action.params["RecordingDurationMs"] == "-1"
        send(media.sink, frames(2.5, 3000, 440))
        harness.calls.service.handle_in_dialog(in_dialog(alice, "BYE", 2))
        await until(lambda: harness.app.to(CALLBACK_URL))
        [callback] = harness.app.to(CALLBACK_URL)
        assert callback.params["RecordingDurationMs"] == "2500"
        channels, samples = wav_channels(recording_file(harness))
        assert (channels, len(samples)) == (1, 2.5 * 8000)


async def answered_dial_with_recording(harness: AppHarness, channel_type: str) -> None:
    """Record startOnDialAnswer then Dial bob: nothing is recorded until bob answers."""
    documents = record(
        f'startOnDialAnswer="true" redirect="false" fileFormat="wav" {channel_type}'
        f' callbackUrl="{CALLBACK_URL}"',
        after="<Dial><User>sip:bob@phone.local</User></Dial><Speak>After</Speak>",
    )
    harness.app.documents.update(documents)
    await call(harness)
    [action] = harness.app.to(ACTION_URL)
    assert action.params["RecordingDurationMs"] == "-1"
    [bob] = harness.calls.sip.invites()
    assert caller_media(harness).sink is None  # nothing recorded while bob rings
    bob.answer(200, sdp(6000))
    await harness.calls.settle()


async def callee_hangs_up_and_the_recording_is_told(harness: AppHarness) -> Path:
    [b_leg] = b_legs(harness)
    b_leg.hangup(Cause.NORMAL_CLEARING, HangupSource.CALLEE)
    await harness.calls.settle()
    caller_media(harness).finish_playing()  # "After"
    await until(lambda: harness.app.to(CALLBACK_URL))
    return recording_file(harness)


async def test_start_on_dial_answer_stereo_puts_each_leg_on_its_own_channel() -> None:
    """stereo by default (latest DOCS): the caller's voice on the left, the B leg's right."""
    async with running_application({}) as harness:
        await answered_dial_with_recording(harness, "")
        a_media, b_media = harness.calls.media
        assert (a_media.sink_hears, b_media.sink_hears) == (False, False)  # voices alone
        for a_frame, b_frame in zip(frames(2.0, 3000, 440), frames(2.0, 3000, 1000), strict=True):
            send(a_media.sink, [a_frame])
            send(b_media.sink, [b_frame])
        channels, samples = wav_channels(await callee_hangs_up_and_the_recording_is_told(harness))
        assert (channels, len(samples)) == (2, 2 * 8000)
        assert peak_frequencies(samples[:, 0]) == pytest.approx([440], abs=5)
        assert peak_frequencies(samples[:, 1]) == pytest.approx([1000], abs=5)


async def test_start_on_dial_answer_mono_records_the_conversation_as_the_caller_hears_it() -> None:
    async with running_application({}) as harness:
        await answered_dial_with_recording(harness, 'recordChannelType="mono"')
        a_media, b_media = harness.calls.media
        assert a_media.sink_hears  # the caller's side with what it hears (bob) mixed in
        assert b_media.sink is None
        send(a_media.sink, frames(2.0, 3000, 440))
        channels, samples = wav_channels(await callee_hangs_up_and_the_recording_is_told(harness))
        assert (channels, len(samples)) == (1, 2 * 8000)
        assert peak_frequencies(samples[:, 0]) == pytest.approx([440], abs=5)


async def test_a_session_recording_goes_on_through_a_record_and_a_wait_for_silence() -> None:
    """The caller's audio reaches every listener: the session file holds all of it, the
    voicemail Record its own part, and neither a Record nor a Wait ends the session's."""
    documents = {
        ANSWER_URL: (
            '<Response><Record recordSession="true" redirect="false" fileFormat="wav"'
            f' recordChannelType="mono" callbackUrl="{CALLBACK_URL}"/>'
            f'<Record action="{ACTION_URL}" redirect="false" playBeep="false" fileFormat="wav"/>'
            '<Wait length="30" silence="true" minSilence="1000"/>'
            '<Speak loop="0">Hold</Speak></Response>'
        ),
    }
    async with running_application(documents) as harness:
        alice = await call(harness)
        media = caller_media(harness)
        send(media.sink, frames(1.0, 3000, 440))  # into both files
        media.press("#", DigitSource.RFC4733)
        await until(lambda: harness.app.to(ACTION_URL))
        send(media.sink, speech_like(0.5) + frames(1.0))  # the Wait hears it end in silence
        await until(lambda: spoken(harness))
        send(media.sink, frames(0.5, 3000, 440))
        harness.calls.service.handle_in_dialog(in_dialog(alice, "BYE", 2))
        await until(lambda: harness.app.to(CALLBACK_URL))
        voicemail, session = harness.recordings.added  # in the order they ended
        assert voicemail.recording_duration_ms == 1000
        assert session.recording_duration_ms == 3000
        channels, samples = wav_channels(recording_file_of(harness, session.recording_id))
        assert (channels, len(samples)) == (1, 3 * 8000)


@pytest.mark.parametrize(
    "attribute", ['transcriptionType="auto"', 'transcriptionUrl="http://app.test/transcript"']
)
async def test_transcription_ends_the_call_8011_naming_it(attribute: str) -> None:
    async with running_application(record(f'playBeep="false" {attribute}')) as harness:
        await call(harness)
        assert harness.calls.causes() == [("inbound", 8011, "Error")]
        assert harness.recordings.added == []
        assert any("transcription" in entry for entry in harness.debug)
