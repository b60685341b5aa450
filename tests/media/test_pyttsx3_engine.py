"""The pyttsx3 engine: real worker processes running pyttsx3's espeak driver."""

import asyncio
import os
import signal
import subprocess
from pathlib import Path

import numpy as np
import pytest

from mediaserver.media.espeak_engine import EspeakEngine
from mediaserver.media.pyttsx3_engine import WORKER_COMMAND, Pyttsx3Engine
from mediaserver.media.pyttsx3_worker import RenderReply, RenderRequest
from mediaserver.media.tts import (
    ESPEAK_VOICES,
    ONLY_VOICE,
    SynthesisError,
    UnsupportedLanguageError,
    espeak_voice,
)
from mediaserver.media.tts_cache import TtsCache
from tests.media.speech_measures import SAME_TEXT_DB, envelope_distance_db, median_pitch_hz
from tests.media.test_tts import SENTENCE

TEXTS = [
    "One.",
    "Press one for sales.",
    "Thank you for calling the support line.",
    "Your call is important to us, please stay on the line.",
    "Goodbye.",
    "Please enter your account number and the date of your birth, then press the hash key.",
]
LONG_TEXT = " ".join(TEXTS * 40)  # about three minutes of speech


def voices() -> list[tuple[str, str]]:
    return [
        (language, voice)
        for language in sorted(ESPEAK_VOICES)
        for voice in ("WOMAN", "MAN")
        if ONLY_VOICE.get(language, voice) == voice
    ]


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_requests_and_replies_survive_the_line_protocol() -> None:
    request = RenderRequest("Line one.\nLine two: «ü»", "gmw/en-US+f3", 160)
    assert request.encode().count(b"\n") == 1
    assert RenderRequest.decode(request.encode()) == request
    reply = RenderReply(22050, 3)
    assert RenderReply.decode(reply.encode()) == reply


async def test_speaks_every_voice_like_the_espeak_engine() -> None:
    """Same synthesiser underneath: per voice, the same length, loudness envelope and pitch,
    though not the same bytes."""
    engine, program = Pyttsx3Engine(workers=1), EspeakEngine()
    try:
        for language, voice in voices():
            text, espeak = SENTENCE[language[:2]], espeak_voice(voice, language)
            ours, theirs = await engine.render(text, espeak), await program.render(text, espeak)
            label = f"{language} {voice}"
            assert ours.sample_rate == theirs.sample_rate == 22050
            assert 0.9 < ours.seconds / theirs.seconds < 1.1, label
            distance = envelope_distance_db(ours.samples, theirs.samples, 22050)
            assert distance < SAME_TEXT_DB, label
            pitch = median_pitch_hz(ours.samples, 22050) / median_pitch_hz(theirs.samples, 22050)
            assert 0.85 < pitch < 1.15, label  # WOMAN speaks twice as high as MAN
        other = await program.render("Ha det bra, vi ses i morgon.", "gmq/sv+f3")
        swedish = await engine.render(SENTENCE["sv"], "gmq/sv+f3")
        assert envelope_distance_db(swedish.samples, other.samples, 22050) > SAME_TEXT_DB
    finally:
        await engine.close()


async def test_through_the_cache_at_the_asked_rate(tmp_path: Path) -> None:
    cache = TtsCache(Pyttsx3Engine(workers=1), tmp_path)
    try:
        wide = await cache.synthesize("Thank you for calling.", "WOMAN", "en-US", 16000)
        narrow = await cache.synthesize("Thank you for calling.", "WOMAN", "en-US", 8000)
    finally:
        await cache.close()
    assert 1.0 < len(wide) / 16000 < 3.0
    assert abs(len(wide) - 2 * len(narrow)) < 20
    assert float(np.sqrt(np.mean(wide.astype(float) ** 2))) > 500
    assert cache.statistics() == {
        "syntheses": 1,
        "cache_hits": 1,
        "renders": 1,
        "processes": 0,
        "worker_restarts": 0,
    }


async def test_concurrent_requests_each_get_their_own_audio() -> None:
    engine = Pyttsx3Engine(workers=2)
    try:
        alone = [await engine.render(text, "gmw/en+m3") for text in TEXTS]
        async with asyncio.timeout(20):
            together = await asyncio.gather(
                *(engine.render(text, "gmw/en+m3") for text in TEXTS * 2)
            )
        assert engine.statistics()["processes"] == 2
    finally:
        await engine.close()
    durations = sorted(speech.seconds for speech in alone)
    assert min(np.diff(durations)) > 0.2  # so an answer to another text could not pass
    for index, speech in enumerate(together):
        expected = alone[index % len(TEXTS)]
        assert abs(speech.seconds - expected.seconds) < 0.1, TEXTS[index % len(TEXTS)]
        distance = envelope_distance_db(speech.samples, expected.samples, 22050)
        assert distance < SAME_TEXT_DB, TEXTS[index % len(TEXTS)]


async def test_a_killed_worker_is_replaced() -> None:
    engine = Pyttsx3Engine(workers=1)
    try:
        await engine.render("Hello.", "gmw/en-US+f3")
        first = engine.workers[0].pid
        assert first is not None
        os.kill(first, signal.SIGKILL)  # while idle: noticed only when the next request comes
        speech = await engine.render("Hello again.", "gmw/en-US+f3")
        assert speech.seconds > 0.5
        assert engine.workers[0].pid not in (None, first)
        assert engine.statistics()["worker_restarts"] == 1
    finally:
        await engine.close()


async def test_a_worker_past_its_time_is_killed_and_replaced() -> None:
    engine = Pyttsx3Engine(workers=1, timeout=0.05)
    try:
        with pytest.raises(SynthesisError, match="took over"):
            await engine.render(LONG_TEXT, "gmw/en-US+f3")
        engine.workers[0].timeout = 10.0
        assert (await engine.render("Hello.", "gmw/en-US+f3")).seconds > 0.3
        assert engine.statistics()["worker_restarts"] == 1
    finally:
        await engine.close()


async def test_a_cancelled_request_leaves_the_next_one_its_own_answer() -> None:
    engine = Pyttsx3Engine(workers=1)
    try:
        long = asyncio.ensure_future(engine.render(LONG_TEXT, "gmw/en-US+f3"))
        await asyncio.sleep(0.3)
        long.cancel()
        with pytest.raises(asyncio.CancelledError):
            await long
        short = await engine.render("One.", "gmw/en-US+f3")
        assert short.seconds < 2.0  # not the long text's late answer
    finally:
        await engine.close()
    assert engine.statistics()["processes"] == 0


async def test_errors_are_answered_and_the_worker_goes_on(tmp_path: Path) -> None:
    cache = TtsCache(Pyttsx3Engine(workers=1), tmp_path)
    try:
        with pytest.raises(UnsupportedLanguageError, match="xx-XX"):
            await cache.synthesize("Hello.", "WOMAN", "xx-XX", 8000)
        with pytest.raises(UnsupportedLanguageError, match="da-DK"):
            await cache.synthesize("Hej.", "MAN", "da-DK", 8000)
        assert cache.statistics()["processes"] == 0  # refused before any worker starts
        with pytest.raises(SynthesisError, match="no voice"):
            await cache.engine.render("Hello.", "xx/none+f3")
        assert len(await cache.synthesize("Hello.", "MAN", "en-GB", 8000)) > 4000
        assert cache.statistics()["worker_restarts"] == 0
    finally:
        await cache.close()


async def test_a_worker_that_cannot_start_is_an_error() -> None:
    engine = Pyttsx3Engine(workers=1, command=["/nonexistent/python"])
    with pytest.raises(SynthesisError, match="cannot start"):
        await engine.render("Hello.", "gmw/en-US+f3")
    await engine.close()


async def test_start_starts_every_worker_and_close_leaves_no_process() -> None:
    engine = Pyttsx3Engine(workers=2)
    await engine.start()
    assert engine.statistics()["processes"] == 2
    await asyncio.gather(*(engine.render(text, "roa/fr+f3") for text in TEXTS[:4]))
    assert engine.statistics()["worker_restarts"] == 0
    pids = [worker.pid for worker in engine.workers]
    assert all(pid is not None and process_exists(pid) for pid in pids)
    await engine.close()
    assert not any(pid is not None and process_exists(pid) for pid in pids)
    assert engine.statistics()["processes"] == 0
    with pytest.raises(SynthesisError, match="closed"):
        await engine.render("Hello.", "roa/fr+f3")


def test_a_worker_exits_when_its_server_is_gone() -> None:
    """A server killed outright closes its end of the pipes: the worker exits by itself."""
    worker = subprocess.Popen(WORKER_COMMAND, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert worker.stdin is not None
    assert worker.stdout is not None
    worker.stdin.write(RenderRequest("Hello.", "gmw/en-US+f3", 160).encode())
    worker.stdin.flush()
    assert RenderReply.decode(worker.stdout.readline()).sample_count > 10000
    worker.stdin.close()
    assert worker.wait(timeout=10) == 0
    worker.stdout.close()
