"""Text to speech for Plivo's <Speak>: espeak-ng behind a TtsEngine protocol, with a disk cache.

Why the espeak-ng program and not pyttsx3: pyttsx3's espeak driver wraps the same libespeak-ng
in-process, but its engine is process-global and not thread-safe, and `save_to_file` runs a
callback loop that prints to stdout. Running the espeak-ng program as an asyncio subprocess
keeps synthesis off the event loop, lets several run at once, and isolates crashes.
"""

import asyncio
import hashlib
import os
import secrets
from pathlib import Path
from typing import Protocol

from audiocodecs.pcm import Pcm16
from mediaserver.media.audio_file import read_audio

# Plivo language -> espeak-ng voice. Where espeak-ng has no such accent the nearest is used:
# en-AU speaks with en-gb, fr-CA with fr-fr, es-US with es-419 (Latin American Spanish).
ESPEAK_VOICES = {
    "da-DK": "da",
    "nl-NL": "nl",
    "en-AU": "en-gb",
    "en-GB": "en-gb",
    "en-US": "en-us",
    "fr-FR": "fr-fr",
    "fr-CA": "fr-fr",
    "de-DE": "de",
    "it-IT": "it",
    "pl-PL": "pl",
    "pt-PT": "pt",
    "pt-BR": "pt-br",
    "ru-RU": "ru",
    "es-ES": "es",
    "es-US": "es-419",
    "sv-SE": "sv",
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
    """The synthesiser failed on a supported language (missing program, crash)."""


class TtsEngine(Protocol):
    async def synthesize(self, text: str, voice: str, language: str, sample_rate: int) -> Pcm16: ...


def espeak_voice(voice: str, language: str) -> str:
    if language not in ESPEAK_VOICES:
        raise UnsupportedLanguageError(f"language {language!r} is not supported")
    voice = voice.upper()
    if voice not in VARIANTS:
        raise UnsupportedLanguageError(f"voice {voice!r} is not supported: use WOMAN or MAN")
    if ONLY_VOICE.get(language, voice) != voice:
        raise UnsupportedLanguageError(f"voice {voice} is not available for {language}")
    return ESPEAK_VOICES[language] + VARIANTS[voice]


class EspeakTts:
    """Synthesises to WAV files under `cache_directory`, named by a hash of what was asked.

    The second request for the same text, voice and language reads the file: no synthesis.
    """

    def __init__(self, cache_directory: Path, program: str = "espeak-ng") -> None:
        self.cache_directory = cache_directory
        self.program = program
        self.syntheses = 0
        self.cache_hits = 0

    async def synthesize(self, text: str, voice: str, language: str, sample_rate: int) -> Pcm16:
        espeak = espeak_voice(voice, language)
        path = self._cache_path(text, espeak)
        if path.exists():
            self.cache_hits += 1
        else:
            await self._render(text, espeak, path)
        return await asyncio.to_thread(read_audio, path, sample_rate)

    def _cache_path(self, text: str, espeak: str) -> Path:
        key = hashlib.sha256(f"{espeak}\0{WORDS_PER_MINUTE}\0{text}".encode()).hexdigest()
        return self.cache_directory / f"{key}.wav"

    async def _render(self, text: str, espeak: str, path: Path) -> None:
        self.cache_directory.mkdir(parents=True, exist_ok=True)
        # A name of its own per synthesis: two requests for the same text may render at once.
        partial = path.with_name(f"{path.name}.{secrets.token_hex(8)}.partial")
        arguments = ["-v", espeak, "-s", str(WORDS_PER_MINUTE), "-w", str(partial), "--stdin"]
        try:
            process = await asyncio.create_subprocess_exec(
                self.program,
                *arguments,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as error:
            raise SynthesisError(f"cannot run {self.program}: {error}") from error
        _, errors = await process.communicate(text.encode())
        if process.returncode != 0 or not partial.exists():
            partial.unlink(missing_ok=True)
            raise SynthesisError(f"{self.program} failed for {espeak}: {errors.decode()}")
        os.replace(partial, path)  # atomic: a reader never sees a half-written file
        self.syntheses += 1
