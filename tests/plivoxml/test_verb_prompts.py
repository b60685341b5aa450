"""Speak, Play, Wait and DTMF (plivo.md §2.2, §2.3, §2.9): each attribute changes what the
caller hears or when the document goes on, so each test here fails if its attribute is
ignored (the default would give a different count, voice, duration or order)."""

import asyncio

import numpy as np
import pytest

from tests.calls.in_memory import FakeMedia, in_dialog
from tests.plivoxml.application_harness import ANSWER_URL, running_application
from tests.plivoxml.caller import (
    call,
    caller_media,
    frames,
    heard,
    send,
    speech_like,
    spoken,
)

TONE_URL = "http://sounds.test/tone.wav"
TONE = np.full(400, 1000, np.int16)  # 50 ms


async def test_speak_voice_and_language_reach_the_tts_engine() -> None:
    document = (
        '<Response><Speak voice="MAN" language="fr-FR">Bonjour</Speak>'
        "<Speak>Hello</Speak></Response>"
    )
    async with running_application({ANSWER_URL: document}) as harness:
        await call(harness)
        caller_media(harness).finish_playing()
        await harness.calls.settle()
        assert harness.tts.spoken == [("Bonjour", "MAN", "fr-FR"), ("Hello", "WOMAN", "en-US")]


async def test_ssml_is_spoken_as_words_and_a_polly_voice_falls_back_to_woman() -> None:
    document = (
        '<Response><Speak voice="Polly.Joey">Hello <break time="1s"/>'
        '<sub alias="World Wide Web">WWW</sub> <emphasis>now</emphasis></Speak></Response>'
    )
    async with running_application({ANSWER_URL: document}) as harness:
        await call(harness)
        assert harness.tts.spoken == [("Hello World Wide Web now", "WOMAN", "en-US")]
        assert any("Polly" in entry for entry in harness.debug)


async def test_speak_loop_speaks_the_text_that_many_times_then_the_document_goes_on() -> None:
    document = '<Response><Speak loop="3">Again</Speak><Speak>Done</Speak></Response>'
    async with running_application({ANSWER_URL: document}) as harness:
        await call(harness)
        for _ in range(4):
            caller_media(harness).finish_playing()
            await harness.calls.settle()
        assert spoken(harness) == ["Again"] * 3 + ["Done"]
        assert harness.calls.causes() == [("inbound", 4010, "Plivo")]


async def test_speak_loop_zero_repeats_until_the_caller_hangs_up() -> None:
    document = '<Response><Speak loop="0">Hold</Speak><Speak>Never</Speak></Response>'
    async with running_application({ANSWER_URL: document}) as harness:
        alice = await call(harness)
        for _ in range(12):
            caller_media(harness).finish_playing()
            await harness.calls.settle()
        assert spoken(harness) == ["Hold"] * 13
        harness.calls.service.handle_in_dialog(in_dialog(alice, "BYE", 2))
        await harness.calls.settle()
        assert "Never" not in spoken(harness)
        assert harness.calls.causes() == [("inbound", 4000, "Caller")]


@pytest.mark.parametrize(("loop", "copies"), [("1", 1), ("3", 3), ("0", 40)])
async def test_play_loop_plays_the_file_that_many_times(loop: str, copies: int) -> None:
    """loop="0" never ends on its own: 2 s are read and it still plays."""
    document = f'<Response><Play loop="{loop}">{TONE_URL}</Play></Response>'
    async with running_application({ANSWER_URL: document}) as harness:
        harness.sounds.sounds[TONE_URL] = TONE
        await call(harness)
        [player] = caller_media(harness).played
        samples = heard(player, max_seconds=2.0)
        # The last frame is padded with silence; the file's samples are counted.
        assert np.count_nonzero(samples == 1000) == copies * len(TONE)


async def test_wait_length_holds_the_document_that_many_seconds_before_answering() -> None:
    document = '<Response><Wait length="3"/><Speak>After</Speak></Response>'
    async with running_application({ANSWER_URL: document}) as harness:
        alice = await call(harness)
        await harness.calls.advance(2.5)
        assert spoken(harness) == []
        assert 200 not in alice.statuses  # Wait first: Plivo waits before picking up (§1)
        await harness.calls.advance(0.5)
        assert spoken(harness) == ["After"]
        assert alice.statuses[-1] == 200


async def test_wait_without_length_waits_one_second() -> None:
    document = "<Response><Wait/><Speak>After</Speak></Response>"
    async with running_application({ANSWER_URL: document}) as harness:
        await call(harness)
        await harness.calls.advance(0.5)
        assert spoken(harness) == []
        await harness.calls.advance(0.5)
        assert spoken(harness) == ["After"]


@pytest.mark.parametrize(("attributes", "silence_needed"), [('minSilence="1000"', 1.0), ("", 2.0)])
async def test_wait_silence_ends_after_min_silence_of_quiet(
    attributes: str, silence_needed: float
) -> None:
    """minSilence is in milliseconds and defaults to 2000 (§2.9)."""
    document = (
        f'<Response><Wait length="30" silence="true" {attributes}/><Speak>Hello</Speak></Response>'
    )
    async with running_application({ANSWER_URL: document}) as harness:
        await call(harness)
        media = caller_media(harness)
        send(media.sink, speech_like(1.0) + frames(silence_needed - 0.2))
        await harness.calls.settle()
        assert spoken(harness) == []
        send(media.sink, frames(0.3))
        await harness.calls.settle()
        assert spoken(harness) == ["Hello"]


async def test_wait_without_silence_ignores_a_quiet_caller() -> None:
    document = '<Response><Wait length="5"/><Speak>Hello</Speak></Response>'
    async with running_application({ANSWER_URL: document}) as harness:
        await call(harness)
        assert caller_media(harness).sink is None  # nothing listens: silence is not asked for
        await harness.calls.advance(4.5)
        assert spoken(harness) == []
        await harness.calls.advance(0.5)
        assert spoken(harness) == ["Hello"]


async def test_wait_beep_ends_when_a_voicemail_beep_ends() -> None:
    document = '<Response><Wait length="30" beep="true"/><Speak>Message</Speak></Response>'
    async with running_application({ANSWER_URL: document}) as harness:
        await call(harness)
        media = caller_media(harness)
        send(media.sink, speech_like(1.0) + frames(0.5, 6000, 1000))
        await harness.calls.settle()
        assert spoken(harness) == []  # still beeping
        send(media.sink, frames(0.1))
        await harness.calls.settle()
        assert spoken(harness) == ["Message"]


async def test_wait_beep_times_out_at_length_when_no_beep_comes() -> None:
    document = '<Response><Wait length="2" beep="true"/><Speak>Message</Speak></Response>'
    async with running_application({ANSWER_URL: document}) as harness:
        await call(harness)
        send(caller_media(harness).sink, speech_like(1.5))
        await harness.calls.settle()
        assert spoken(harness) == []
        await harness.calls.advance(2)
        assert spoken(harness) == ["Message"]


@pytest.fixture
def slow_digits(monkeypatch: pytest.MonkeyPatch) -> list[asyncio.Future[bool]]:
    """Digits that take their time to send (a real leg sends them at 10 per second), each
    finished when the test says."""
    sending: list[asyncio.Future[bool]] = []

    def send_digits(
        media: FakeMedia, digits: str, duration_ms: int | None = None
    ) -> asyncio.Future[bool]:
        media.digits_sent.append(digits)
        sending.append(asyncio.get_running_loop().create_future())
        return sending[-1]

    monkeypatch.setattr(FakeMedia, "send_digits", send_digits)
    return sending


async def test_dtmf_async_false_waits_for_the_digits_to_be_sent(
    slow_digits: list[asyncio.Future[bool]],
) -> None:
    document = '<Response><DTMF async="false">12w3W#</DTMF><Speak>Sent</Speak></Response>'
    async with running_application({ANSWER_URL: document}) as harness:
        await call(harness)
        assert caller_media(harness).digits_sent == ["12w3W#"]
        assert spoken(harness) == []
        slow_digits[0].set_result(True)
        await harness.calls.settle()
        assert spoken(harness) == ["Sent"]


async def test_dtmf_is_asynchronous_by_default(slow_digits: list[asyncio.Future[bool]]) -> None:
    document = "<Response><DTMF>0*9</DTMF><Speak>At once</Speak></Response>"
    async with running_application({ANSWER_URL: document}) as harness:
        await call(harness)
        assert caller_media(harness).digits_sent == ["0*9"]
        assert not slow_digits[0].done()
        assert spoken(harness) == ["At once"]
