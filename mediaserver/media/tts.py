"""Text to speech for Plivo's <Speak>: what Speak asks of it, what an engine renders, and how
Plivo's voices and languages map onto espeak-ng's.

Two engines render speech, both with libespeak-ng underneath: the espeak-ng program run once
per text (espeak_engine.py), and pyttsx3 in long-lived worker processes (pyttsx3_engine.py;
pyttsx3's engine is process-global and not thread-safe, so it never runs in the server's
process). A disk cache (tts_cache.py) stands in front of either and is the `TtsEngine` that
calls use.
"""

from dataclasses import dataclass
from typing import Protocol

from audiocodecs.pcm import Pcm16

# Plivo language -> espeak-ng voice file (under espeak-ng-data/lang/). Where espeak-ng has no
# such accent the nearest is used: en-AU speaks with en-GB, fr-CA with fr-FR, es-US with
# es-419 (Latin American Spanish). Files, not language names: `espeak-ng -v en-gb+f3` finds no
# voice named en-gb, falls back to choosing by language and drops the +f3 variant (every
# en-GB voice was the default male one), while `gmw/en+f3` is found by name, variant and all,
# by the program and by libespeak-ng's SetVoiceByName (pyttsx3) alike.
ESPEAK_VOICES = {
    "da-DK": "gmq/da",
    "nl-NL": "gmw/nl",
    "en-AU": "gmw/en",
    "en-GB": "gmw/en",
    "en-US": "gmw/en-US",
    "fr-FR": "roa/fr",
    "fr-CA": "roa/fr",
    "de-DE": "gmw/de",
    "it-IT": "roa/it",
    "pl-PL": "zlw/pl",
    "pt-PT": "roa/pt",
    "pt-BR": "roa/pt-BR",
    "ru-RU": "zle/ru",
    "es-ES": "roa/es",
    "es-US": "roa/es-419",
    "sv-SE": "gmq/sv",
}
# Plivo offers only one voice for these languages.
ONLY_VOICE = {
    "pt-PT": "MAN",
    "da-DK": "WOMAN",
    "fr-CA": "WOMAN",
    "ru-RU": "WOMAN",
    "sv-SE": "WOMAN",
}
VARIANTS = {"WOMAN": "+f3", "MAN": "+m3"}
WORDS_PER_MINUTE = 160


class UnsupportedLanguageError(ValueError):
    """A language (or voice for a language) that Speak cannot render."""


class SynthesisError(RuntimeError):
    """The synthesiser failed on a supported language (missing program, crash, time-out)."""


@dataclass(frozen=True, slots=True)
class Speech:
    """Mono 16-bit audio at the rate the synthesiser produced it (espeak-ng: 22,050 Hz)."""

    samples: Pcm16
    sample_rate: int

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.sample_rate


class TtsEngine(Protocol):
    """What Speak uses: text in a Plivo voice and language, as audio at `sample_rate`."""

    async def synthesize(self, text: str, voice: str, language: str, sample_rate: int) -> Pcm16: ...


class SpeechEngine(Protocol):
    """A synthesiser behind the cache: `name` is its `[tts] engine` value and part of every
    cache key (switching engines never serves the other's audio)."""

    name: str

    async def render(self, text: str, espeak_voice: str) -> Speech:
        """`text` (not empty) in an espeak-ng voice and variant such as `gmw/en-US+f3`."""
        ...

    async def start(self) -> None:
        """Start what lives long (worker processes), so the first text does not wait for it."""
        ...

    def statistics(self) -> dict[str, int]: ...

    async def close(self) -> None: ...


def espeak_voice(voice: str, language: str) -> str:
    """The espeak-ng voice file and variant for Plivo's `voice` (WOMAN, MAN) and `language`."""
    if language not in ESPEAK_VOICES:
        raise UnsupportedLanguageError(f"language {language!r} is not supported")
    voice = voice.upper()
    if voice not in VARIANTS:
        raise UnsupportedLanguageError(f"voice {voice!r} is not supported: use WOMAN or MAN")
    if ONLY_VOICE.get(language, voice) != voice:
        raise UnsupportedLanguageError(f"voice {voice} is not available for {language}")
    return ESPEAK_VOICES[language] + VARIANTS[voice]
