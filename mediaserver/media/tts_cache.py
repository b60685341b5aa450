"""The disk cache in front of a speech engine: one WAV file per engine, voice, rate and text.

The second request for the same text, voice and language reads the file: no synthesis. Every
answer, first or cached, is read back from that file and resampled by the same code, so a
cached answer is the same audio as the first.
"""

import asyncio
import hashlib
import os
import secrets
import wave
from pathlib import Path

import numpy as np

from audiocodecs.pcm import Pcm16
from mediaserver.config import TtsConfig
from mediaserver.media.audio_file import read_audio
from mediaserver.media.espeak_engine import EspeakEngine
from mediaserver.media.pyttsx3_engine import Pyttsx3Engine
from mediaserver.media.tts import WORDS_PER_MINUTE, Speech, SpeechEngine, espeak_voice


class TtsCache:
    """A `TtsEngine`: Plivo's voice and language checked and mapped, then the cache, then
    `engine` on a miss."""

    def __init__(self, engine: SpeechEngine, directory: Path) -> None:
        self.engine = engine
        self.directory = directory
        self.syntheses = 0
        self.cache_hits = 0

    @classmethod
    def configured(cls, config: TtsConfig, directory: Path) -> "TtsCache":
        """The engine `[tts] engine` names, behind a cache in `directory`."""
        if config.engine == "pyttsx3":
            return cls(Pyttsx3Engine(config.workers), directory)
        return cls(EspeakEngine(), directory)

    async def synthesize(self, text: str, voice: str, language: str, sample_rate: int) -> Pcm16:
        espeak = espeak_voice(voice, language)
        if not text.strip():
            return np.zeros(0, np.int16)  # nothing to say (espeak-ng renders no audio either)
        path = self.path(text, espeak)
        if path.exists():
            self.cache_hits += 1
        else:
            speech = await self.engine.render(text, espeak)
            await asyncio.to_thread(self._store, speech, path)
            self.syntheses += 1
        return await asyncio.to_thread(read_audio, path, sample_rate)

    def path(self, text: str, espeak: str) -> Path:
        key = f"{self.engine.name}\0{espeak}\0{WORDS_PER_MINUTE}\0{text}"
        return self.directory / f"{hashlib.sha256(key.encode()).hexdigest()}.wav"

    def statistics(self) -> dict[str, int]:
        return {
            "syntheses": self.syntheses,
            "cache_hits": self.cache_hits,
            **self.engine.statistics(),
        }

    async def start(self) -> None:
        await self.engine.start()

    async def close(self) -> None:
        await self.engine.close()

    def _store(self, speech: Speech, path: Path) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        # A name of its own per synthesis: two requests for the same text may render at once.
        partial = path.with_name(f"{path.name}.{secrets.token_hex(8)}.partial")
        try:
            with wave.open(str(partial), "wb") as file:
                file.setnchannels(1)
                file.setsampwidth(2)
                file.setframerate(speech.sample_rate)
                file.writeframes(speech.samples.astype("<i2").tobytes())
            os.replace(partial, path)  # atomic: a reader never sees a half-written file
        finally:
            partial.unlink(missing_ok=True)
