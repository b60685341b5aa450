"""The in-memory speech in front of a TTS engine: what it spares, what it shares, what it
forgets."""

import asyncio

import numpy as np
import pytest

from audiocodecs.pcm import Pcm16
from mediaserver.media.recent_speech import RecentSpeech
from mediaserver.media.tts import SynthesisError


class CountingEngine:
    """A TtsEngine that answers `len(text) * 100` samples after `delay` seconds, counting."""

    def __init__(self, delay: float = 0.0) -> None:
        self.requests: list[tuple[str, str, str, int]] = []
        self.delay = delay

    async def synthesize(self, text: str, voice: str, language: str, sample_rate: int) -> Pcm16:
        self.requests.append((text, voice, language, sample_rate))
        await asyncio.sleep(self.delay)
        if text == "fail":
            raise SynthesisError("espeak-ng failed")
        return np.full(len(text) * 100, len(self.requests), np.int16)


async def test_the_same_speech_again_comes_from_memory_read_only() -> None:
    engine = CountingEngine()
    speech = RecentSpeech(engine)
    first = await speech.synthesize("Press one.", "WOMAN", "en-US", 8000)
    again = await speech.synthesize("Press one.", "WOMAN", "en-US", 8000)
    assert again is first
    assert len(engine.requests) == 1
    with pytest.raises(ValueError, match="read-only"):
        again[0] = 1
    assert speech.statistics()["speech_memory_hits"] == 1


@pytest.mark.parametrize(
    "other", [("Press two.", "WOMAN", "en-US", 8000), ("Press one.", "MAN", "en-US", 8000),
              ("Press one.", "WOMAN", "en-GB", 8000), ("Press one.", "WOMAN", "en-US", 16000)],
)  # fmt: skip
async def test_text_voice_language_and_rate_each_make_other_speech(
    other: tuple[str, str, str, int],
) -> None:
    engine = CountingEngine()
    speech = RecentSpeech(engine)
    await speech.synthesize("Press one.", "WOMAN", "en-US", 8000)
    await speech.synthesize(*other)
    assert engine.requests == [("Press one.", "WOMAN", "en-US", 8000), other]


async def test_requests_while_it_is_made_share_one_synthesis() -> None:
    engine = CountingEngine(delay=0.05)
    speech = RecentSpeech(engine)
    answers = await asyncio.gather(
        *(speech.synthesize("Welcome.", "WOMAN", "en-US", 8000) for _ in range(5))
    )
    assert len(engine.requests) == 1
    assert all(answer is answers[0] for answer in answers)


async def test_a_caller_hanging_up_does_not_cancel_the_others_speech() -> None:
    engine = CountingEngine(delay=0.05)
    speech = RecentSpeech(engine)
    leaving = asyncio.ensure_future(speech.synthesize("Welcome.", "WOMAN", "en-US", 8000))
    staying = asyncio.ensure_future(speech.synthesize("Welcome.", "WOMAN", "en-US", 8000))
    await asyncio.sleep(0.01)
    leaving.cancel()
    assert len(await staying) == 800
    assert len(engine.requests) == 1


async def test_a_failure_reaches_every_waiter_and_is_not_kept() -> None:
    engine = CountingEngine(delay=0.01)
    speech = RecentSpeech(engine)
    results = await asyncio.gather(
        speech.synthesize("fail", "WOMAN", "en-US", 8000),
        speech.synthesize("fail", "WOMAN", "en-US", 8000),
        return_exceptions=True,
    )
    assert all(isinstance(result, SynthesisError) for result in results)
    with pytest.raises(SynthesisError):
        await speech.synthesize("fail", "WOMAN", "en-US", 8000)
    assert len(engine.requests) == 2


async def test_the_least_recently_spoken_leave_first_past_the_budget() -> None:
    engine = CountingEngine()
    speech = RecentSpeech(engine, budget_samples=2500)  # "aaaaaaaaaa" is 1000 samples
    for text in ("aaaaaaaaaa", "bbbbbbbbbb", "aaaaaaaaaa", "cccccccccc"):
        await speech.synthesize(text, "WOMAN", "en-US", 8000)
    await speech.synthesize("aaaaaaaaaa", "WOMAN", "en-US", 8000)  # kept: spoken recently
    await speech.synthesize("bbbbbbbbbb", "WOMAN", "en-US", 8000)  # made again
    assert [request[0] for request in engine.requests] == [
        "aaaaaaaaaa", "bbbbbbbbbb", "cccccccccc", "bbbbbbbbbb"
    ]  # fmt: skip
    assert speech.statistics()["speech_samples_in_memory"] <= 2500
