import asyncio
from pathlib import Path

import numpy as np
import pytest

from mediaserver.media.espeak_engine import EspeakEngine
from mediaserver.media.tts import (
    ESPEAK_VOICES,
    ONLY_VOICE,
    Speech,
    SynthesisError,
    UnsupportedLanguageError,
)
from mediaserver.media.tts_cache import TtsCache
from tests.media.speech_measures import median_pitch_hz

SENTENCE = {
    "da": "Tak fordi du ringede.",
    "nl": "Bedankt voor het bellen.",
    "en": "Thank you for calling.",
    "fr": "Merci de votre appel.",
    "de": "Danke für Ihren Anruf.",
    "it": "Grazie per aver chiamato.",
    "pl": "Dziękujemy za telefon.",
    "pt": "Obrigado por ligar.",
    "ru": "Спасибо за звонок.",
    "es": "Gracias por llamar.",
    "sv": "Tack för att du ringde.",
}
BOTH_VOICES = sorted(set(ESPEAK_VOICES) - set(ONLY_VOICE))


def suffixes(directory: Path) -> list[str]:
    return [path.suffix for path in directory.iterdir()]


class Silence:
    """Another engine: a second of silence for any text."""

    name = "silence"

    async def render(self, text: str, espeak_voice: str) -> Speech:
        return Speech(np.zeros(8000, np.int16), 8000)

    async def start(self) -> None:
        pass

    def statistics(self) -> dict[str, int]:
        return {}

    async def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> TtsCache:
    return TtsCache(EspeakEngine(), tmp_path_factory.mktemp("tts"))


@pytest.mark.parametrize("language", sorted(ESPEAK_VOICES))
async def test_each_language_speaks_plausibly(cache: TtsCache, language: str) -> None:
    voice = ONLY_VOICE.get(language, "WOMAN")
    audio = await cache.synthesize(SENTENCE[language[:2]], voice, language, 8000)
    seconds = len(audio) / 8000
    rms = float(np.sqrt(np.mean(audio.astype(float) ** 2)))
    assert 0.5 < seconds < 10
    assert rms > 500


@pytest.mark.parametrize("language", BOTH_VOICES)
async def test_woman_speaks_higher_than_man(cache: TtsCache, language: str) -> None:
    """Every language with both voices: the +f3 variant is applied, not dropped (espeak-ng
    drops it for `-v en-gb+f3`, where no voice file is named en-gb)."""
    text = SENTENCE[language[:2]]
    woman = median_pitch_hz(await cache.synthesize(text, "WOMAN", language, 16000), 16000)
    man = median_pitch_hz(await cache.synthesize(text, "MAN", language, 16000), 16000)
    assert woman > 1.5 * man, (woman, man)


async def test_second_request_comes_from_the_cache(tmp_path: Path) -> None:
    engine = EspeakEngine()
    cache = TtsCache(engine, tmp_path)
    first = await cache.synthesize("Press one for sales.", "MAN", "en-GB", 16000)
    engine.program = str(tmp_path / "no-such-synthesiser")  # any synthesis now fails
    second = await cache.synthesize("Press one for sales.", "MAN", "en-GB", 16000)
    narrow = await cache.synthesize("Press one for sales.", "MAN", "en-GB", 8000)
    assert (cache.syntheses, cache.cache_hits, engine.renders) == (1, 2, 1)
    np.testing.assert_array_equal(first, second)
    assert abs(len(first) - 2 * len(narrow)) < 20
    assert suffixes(tmp_path) == [".wav"]  # no partial file left
    with pytest.raises(SynthesisError, match="no-such-synthesiser"):
        await cache.synthesize("Press two.", "MAN", "en-GB", 8000)


async def test_the_cache_never_serves_another_engines_audio(tmp_path: Path) -> None:
    spoken = await TtsCache(EspeakEngine(), tmp_path).synthesize("Hello.", "MAN", "en-US", 8000)
    silent = await TtsCache(Silence(), tmp_path).synthesize("Hello.", "MAN", "en-US", 8000)
    assert np.abs(spoken).max() > 5000
    assert not silent.any()
    assert len(suffixes(tmp_path)) == 2


async def test_en_au_shares_en_gb_files(tmp_path: Path) -> None:
    cache = TtsCache(EspeakEngine(), tmp_path)
    await cache.synthesize("Hello.", "WOMAN", "en-GB", 8000)
    await cache.synthesize("Hello.", "WOMAN", "en-AU", 8000)
    assert (cache.syntheses, cache.cache_hits) == (1, 1)


async def test_nothing_to_say_is_no_audio_and_no_synthesis(tmp_path: Path) -> None:
    cache = TtsCache(EspeakEngine(), tmp_path)
    assert len(await cache.synthesize("  \n", "WOMAN", "en-US", 8000)) == 0
    assert cache.statistics()["renders"] == 0
    with pytest.raises(UnsupportedLanguageError):
        await cache.synthesize("", "WOMAN", "xx-XX", 8000)


async def test_concurrent_requests_for_one_text_both_succeed(tmp_path: Path) -> None:
    cache = TtsCache(EspeakEngine(), tmp_path)
    first, second = await asyncio.gather(
        cache.synthesize("One moment please.", "WOMAN", "en-US", 8000),
        cache.synthesize("One moment please.", "WOMAN", "en-US", 8000),
    )
    np.testing.assert_array_equal(first, second)
    assert suffixes(tmp_path) == [".wav"]


async def test_a_hung_program_is_killed_at_the_timeout(tmp_path: Path) -> None:
    script = tmp_path / "hang"
    script.write_text("#!/bin/sh\nexec sleep 60\n")
    script.chmod(0o755)
    engine = EspeakEngine(str(script), timeout=0.5)
    with pytest.raises(SynthesisError, match=r"took over 0\.5 s"):
        await engine.render("Hello.", "gmw/en-US+f3")
    assert engine.statistics()["processes"] == 0


async def test_unsupported_language_and_voice_are_errors(cache: TtsCache) -> None:
    with pytest.raises(UnsupportedLanguageError, match="xx-XX"):
        await cache.synthesize("hi", "WOMAN", "xx-XX", 8000)
    with pytest.raises(UnsupportedLanguageError, match="da-DK"):
        await cache.synthesize("hej", "MAN", "da-DK", 8000)
    with pytest.raises(UnsupportedLanguageError, match="CHILD"):
        await cache.synthesize("hi", "CHILD", "en-US", 8000)
