from pathlib import Path

import numpy as np
import pytest

from mediaserver.media.tts import ESPEAK_VOICES, ONLY_VOICE, EspeakTts, UnsupportedLanguageError

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
    second = await engine.synthesize("Press one for sales.", "MAN", "en-GB", 16000)
    assert (engine.syntheses, engine.cache_hits) == (1, 1)
    np.testing.assert_array_equal(first, second)


async def test_unsupported_language_and_voice_are_errors(engine: EspeakTts) -> None:
    with pytest.raises(UnsupportedLanguageError, match="xx-XX"):
        await engine.synthesize("hi", "WOMAN", "xx-XX", 8000)
    with pytest.raises(UnsupportedLanguageError, match="da-DK"):
        await engine.synthesize("hej", "MAN", "da-DK", 8000)
