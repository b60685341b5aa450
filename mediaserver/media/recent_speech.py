"""The latest speech kept decoded in memory, in front of a TtsEngine and its disk cache.

The disk cache spares a second synthesis, not the work after it: every <Speak> of a cached
sentence still read its WAV file in a worker thread and resampled it to the call's rate, 5 to
15 ms between the answer and the first packet (bench app_latency), for the prompt every call
of an IVR speaks. Here the samples of the most recent requests stay in memory, up to a budget
of samples, the least recently used leaving first; requests for the same speech while it is
being made share the one synthesis.

The samples handed out are shared by every call that speaks them, so they are read-only.
"""

import asyncio
from collections import OrderedDict

from audiocodecs.pcm import Pcm16
from mediaserver.media.tts import TtsEngine

# Ten minutes of 8 kHz speech: about 9.6 MB of int16 samples.
DEFAULT_BUDGET_SAMPLES = 8000 * 600

SpeechKey = tuple[str, str, str, int]  # text, voice, language, sample rate


class RecentSpeech:
    """A TtsEngine: `engine`'s answers, the latest of them from memory."""

    def __init__(self, engine: TtsEngine, budget_samples: int = DEFAULT_BUDGET_SAMPLES) -> None:
        self.engine = engine
        self._budget = budget_samples
        self._recent: OrderedDict[SpeechKey, Pcm16] = OrderedDict()
        self._samples = 0
        self._making: dict[SpeechKey, asyncio.Future[Pcm16]] = {}
        self.hits = 0
        self.misses = 0

    async def synthesize(self, text: str, voice: str, language: str, sample_rate: int) -> Pcm16:
        key = (text, voice, language, sample_rate)
        found = self._recent.get(key)
        if found is not None:
            self._recent.move_to_end(key)
            self.hits += 1
            return found
        making = self._making.get(key)
        if making is None:
            self.misses += 1
            making = asyncio.ensure_future(self._make(key))
            self._making[key] = making
            making.add_done_callback(lambda done: self._made(key, done))
        # One caller hanging up must not cancel the synthesis the others wait for.
        return await asyncio.shield(making)

    def statistics(self) -> dict[str, int]:
        return {
            "speech_in_memory": len(self._recent),
            "speech_samples_in_memory": self._samples,
            "speech_memory_hits": self.hits,
            "speech_memory_misses": self.misses,
        }

    def _made(self, key: SpeechKey, done: "asyncio.Future[Pcm16]") -> None:
        self._making.pop(key, None)
        if not done.cancelled():
            done.exception()  # a failure is its waiters' to raise, even when all hung up

    async def _make(self, key: SpeechKey) -> Pcm16:
        samples = await self.engine.synthesize(*key)
        samples.setflags(write=False)
        self._keep(key, samples)
        return samples

    def _keep(self, key: SpeechKey, samples: Pcm16) -> None:
        if len(samples) > self._budget:
            return  # longer than the whole budget: kept on disk only
        self._recent[key] = samples
        self._samples += len(samples)
        while self._samples > self._budget:
            _, oldest = self._recent.popitem(last=False)
            self._samples -= len(oldest)
