"""The caller and callees of the verb tests: a call placed on the application harness, the
audio its phone sends (tones, silence, speech-like noise) and what it hears, measured."""

import asyncio
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from mediaserver.calls.leg import Leg
from mediaserver.media.port import MediaSink, MediaSource
from tests.calls.in_memory import FakeMedia, Incoming, invite
from tests.plivoxml.application_harness import AppHarness

SAMPLE_RATE = 8000


async def call(harness: AppHarness, to_user: str = "bob") -> Incoming:
    """alice calls; bob is registered so a <User>sip:bob@phone.local</User> rings him."""
    harness.calls.directory.register("bob", 5080)
    alice = invite(to_user)
    harness.calls.service.handle_invite(alice)
    await harness.calls.settle()
    return alice


def caller_media(harness: AppHarness) -> FakeMedia:
    return harness.calls.media[0]


def spoken(harness: AppHarness) -> list[str]:
    return [text for text, _, _ in harness.tts.spoken]


def a_leg(harness: AppHarness) -> Leg:
    [leg] = [leg for leg in harness.calls.service.live_legs() if leg.direction == "inbound"]
    return leg


def b_legs(harness: AppHarness) -> list[Leg]:
    return [leg for leg in harness.calls.service.live_legs() if leg.direction == "outbound"]


def frames(seconds: float, level: float = 0.0, hz: float = 0.0) -> list[NDArray[np.int16]]:
    """20 ms frames of silence, or of a tone at `hz` with amplitude `level`."""
    count = round(seconds * 50)
    t = np.arange(160 * count) / SAMPLE_RATE
    samples = (level * np.sin(2 * np.pi * hz * t)).astype(np.int16)
    return list(samples.reshape(count, 160))


def speech_like(seconds: float) -> list[NDArray[np.int16]]:
    """Loud noise shaped like speech enough for the VAD (broadband, voiced-level)."""
    generator = np.random.default_rng(7)
    count = round(seconds * 50)
    noise = generator.normal(0, 4000, 160 * count)
    envelope = 1 + np.sin(2 * np.pi * 4 * np.arange(160 * count) / SAMPLE_RATE)
    return list((noise * envelope).clip(-32000, 32000).astype(np.int16).reshape(count, 160))


def send(sink: MediaSink | None, audio: list[NDArray[np.int16]]) -> None:
    """What a phone's RTP would give the leg's recorder, frame by frame."""
    assert sink is not None, "nothing is listening to this leg"
    for frame in audio:
        sink.write_frame(frame)


def heard(source: MediaSource, max_seconds: float = 30.0) -> NDArray[np.int16]:
    """The samples a played source gives until it ends (or `max_seconds` of them)."""
    chunks = []
    for _ in range(round(max_seconds * 50)):
        frame = source.read_frame()
        if frame is None:
            break
        chunks.append(frame)
    return np.concatenate(chunks) if chunks else np.zeros(0, np.int16)


def peak_frequencies(samples: NDArray[np.int16], count: int = 1) -> list[float]:
    """The `count` strongest frequencies (Hz, to the FFT's resolution), lowest first."""
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
    bins = np.fft.rfftfreq(len(samples), 1 / SAMPLE_RATE)
    strongest = np.argsort(spectrum)[::-1]
    peaks: list[float] = []
    for index in strongest:
        if all(abs(bins[index] - peak) > 20 for peak in peaks):
            peaks.append(float(bins[index]))
        if len(peaks) == count:
            break
    return sorted(peaks)


async def until(condition: Callable[[], object], attempts: int = 100) -> None:
    """Real time for work done in a worker thread (a recording file being closed): up to
    5 s, returning as soon as `condition` holds."""
    for _ in range(attempts):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the condition never held")
