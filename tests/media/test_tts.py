import asyncio
from pathlib import Path

import numpy as np
import pytest

from mediaserver.media.tts import (
    ESPEAK_VOICES,
    ONLY_VOICE,
    EspeakTts,
    SynthesisError,
    UnsupportedLanguageError,
)

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


def suffixes(directory: Path) -> list[str]:
    return [path.suffix for path in directory.iterdir()]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> EspeakTts:
    return EspeakTts(tmp_path_factory.mktemp("tts"))


@pytest.mark.parametrize("language", sorted(ESPEAK_VOICES))
async def test_each_language_speaks_plausibly(engine: EspeakTts, language: str) -> None:
    voice = ONLY_VOICE.get(language, "WOMAN")
    audio = await engine.synthesize(SENTENCE[language[:2]], voice, language, 8000)
    seconds = len(audio) / 8000
    rms = float(np.sqrt(np.mean(audio.astype(float) ** 2)))
    assert 0.5 < seconds < 10
    assert rms > 500


async def test_second_request_comes_from_the_cache(tmp_path: Path) -> None:
    engine = EspeakTts(tmp_path)
    first = await engine.synthesize("Press one for sales.", "MAN", "en-GB", 16000)
    engine.program = str(tmp_path / "no-such-synthesiser")  # any synthesis now fails
    second = await engine.synthesize("Press one for sales.", "MAN", "en-GB", 16000)
    narrow = await engine.synthesize("Press one for sales.", "MAN", "en-GB", 8000)
    assert (engine.syntheses, engine.cache_hits) == (1, 2)
    np.testing.assert_array_equal(first, second)
    assert abs(len(first) - 2 * len(narrow)) < 20
    assert suffixes(tmp_path) == [".wav"]  # no partial file left
    with pytest.raises(SynthesisError, match="no-such-synthesiser"):
        await engine.synthesize("Press two.", "MAN", "en-GB", 8000)


async def test_concurrent_requests_for_one_text_both_succeed(tmp_path: Path) -> None:
    engine = EspeakTts(tmp_path)
    first, second = await asyncio.gather(
        engine.synthesize("One moment please.", "WOMAN", "en-US", 8000),
        engine.synthesize("One moment please.", "WOMAN", "en-US", 8000),
    )
    np.testing.assert_array_equal(first, second)
    assert suffixes(tmp_path) == [".wav"]


async def test_unsupported_language_and_voice_are_errors(engine: EspeakTts) -> None:
    with pytest.raises(UnsupportedLanguageError, match="xx-XX"):
        await engine.synthesize("hi", "WOMAN", "xx-XX", 8000)
    with pytest.raises(UnsupportedLanguageError, match="da-DK"):
        await engine.synthesize("hej", "MAN", "da-DK", 8000)
