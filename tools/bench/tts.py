"""Text to speech: the pyttsx3 engine (worker processes) beside the espeak-ng engine (the
program, once per text), both libespeak-ng underneath, both behind the disk cache.

Per engine, on 40 distinct sentences in en-US WOMAN, at the media engine's 8 kHz, each
through the cache as Speak asks for it:
- the first request of an engine not started (for pyttsx3: a worker process starts then;
  the server starts its workers with itself, so a call never waits for that);
- cold: a cache miss, sentence by sentence (median and 95th percentile), and x real time:
  seconds of speech per wall-clock second, and per CPU second of this process and the
  synthesiser's processes together;
- warm: the same sentences again, cache hits;
- all 40 at once (cold): wall time, for pyttsx3 with 1, 2 and 4 worker processes.
Run on the server's loop (uvloop). The issue's figure: cold synthesis per sentence and x real
time; the faster engine is config/default.toml's `[tts] engine`.
"""

import asyncio
import os
import resource
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mediaserver.media.espeak_engine import EspeakEngine
from mediaserver.media.frame import SAMPLE_RATE
from mediaserver.media.pyttsx3_engine import WORKERS, Pyttsx3Engine
from mediaserver.media.tts import Speech, SpeechEngine
from mediaserver.media.tts_cache import TtsCache

VOICE, LANGUAGE = "WOMAN", "en-US"
POOL_SIZES = (1, 2, 4)
SUBJECTS = ["Your order", "The support line", "Our office", "The conference", "Your refund"]
ENDINGS = [
    "is open from nine in the morning until five in the evening.",
    "will be ready on Tuesday, the fourteenth of March.",
    "has moved: please call back on the new number.",
    "is waiting for your confirmation.",
    "costs twelve dollars and fifty cents.",
    "was updated a moment ago.",
    "needs your account number, followed by the hash key.",
    "cannot be reached right now; please try again later.",
]
SENTENCES = [f"{subject} {ending}" for subject in SUBJECTS for ending in ENDINGS]


@dataclass
class Figures:
    """One engine's measurements, taken through this wrapper around it. The cold and warm
    passes alternate between the engines sentence by sentence, so a busy moment of the
    machine falls on both."""

    engine: SpeechEngine
    first_ms: float = 0.0
    cold_ms: list[float] = field(default_factory=list)
    render_ms: list[float] = field(default_factory=list)  # the engine's part of cold_ms
    warm_ms: list[float] = field(default_factory=list)
    cold_cpu_seconds: float = 0.0
    speech_seconds: float = 0.0
    together_seconds: dict[int, float] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.engine.name

    async def render(self, text: str, espeak_voice: str) -> Speech:
        start = time.perf_counter()
        speech = await self.engine.render(text, espeak_voice)
        self.render_ms.append((time.perf_counter() - start) * 1000)
        return speech

    async def start(self) -> None:
        await self.engine.start()

    def statistics(self) -> dict[str, int]:
        return self.engine.statistics()

    async def close(self) -> None:
        await self.engine.close()


def run() -> None:
    try:
        import uvloop
    except ImportError:
        runner: Callable[[Awaitable[list[Figures]]], list[Figures]] = asyncio.run
    else:
        runner = uvloop.run
    print(f"{len(SENTENCES)} distinct sentences, {LANGUAGE} {VOICE}, {SAMPLE_RATE} Hz, "
          f"through the disk cache; pyttsx3 with {WORKERS} workers")  # fmt: skip
    _print(runner(_measure_all()))


async def _measure_all() -> list[Figures]:
    figures = [Figures(EspeakEngine()), Figures(Pyttsx3Engine())]
    with tempfile.TemporaryDirectory(prefix="bench-tts-") as scratch:
        caches = [TtsCache(engine, Path(scratch) / engine.name) for engine in figures]
        try:
            await _alternate(figures, caches)
        finally:
            for cache in caches:
                await cache.close()
    figures[0].together_seconds[0] = await _all_at_once(EspeakEngine())
    for size in POOL_SIZES:
        figures[1].together_seconds[size] = await _all_at_once(Pyttsx3Engine(size))
    return figures


async def _alternate(figures: list[Figures], caches: list[TtsCache]) -> None:
    for engine, cache in zip(figures, caches, strict=True):
        engine.first_ms = await _timed_ms(cache, "Welcome.")
        engine.render_ms.clear()
    for sentence in SENTENCES:
        for engine, cache in zip(figures, caches, strict=True):
            cpu = _cpu_seconds(engine.engine)
            engine.cold_ms.append(await _timed_ms(cache, sentence))
            engine.cold_cpu_seconds += _cpu_seconds(engine.engine) - cpu
    for sentence in SENTENCES:
        for engine, cache in zip(figures, caches, strict=True):
            engine.warm_ms.append(await _timed_ms(cache, sentence))
            speech = await cache.synthesize(sentence, VOICE, LANGUAGE, SAMPLE_RATE)
            engine.speech_seconds += len(speech) / SAMPLE_RATE


async def _timed_ms(cache: TtsCache, sentence: str) -> float:
    start = time.perf_counter()
    await cache.synthesize(sentence, VOICE, LANGUAGE, SAMPLE_RATE)
    return (time.perf_counter() - start) * 1000


async def _all_at_once(engine: SpeechEngine) -> float:
    """Every sentence asked for at once, cold; the engine's processes already running."""
    with tempfile.TemporaryDirectory(prefix="bench-tts-") as scratch:
        cache = TtsCache(engine, Path(scratch))
        try:
            await asyncio.gather(*(_timed_ms(cache, f"Hello number {n}.") for n in range(8)))
            start = time.perf_counter()
            await asyncio.gather(*(_timed_ms(cache, sentence) for sentence in SENTENCES))
            return time.perf_counter() - start
        finally:
            await cache.close()


def _cpu_seconds(engine: SpeechEngine) -> float:
    """CPU seconds so far of this process, its finished children (espeak-ng programs) and its
    live worker processes (pyttsx3)."""
    seconds = time.process_time()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds += children.ru_utime + children.ru_stime
    if isinstance(engine, Pyttsx3Engine):
        pids = [worker.pid for worker in engine.workers]
        seconds += sum(_process_cpu_seconds(pid) for pid in pids if pid is not None)
    return seconds


def _process_cpu_seconds(pid: int) -> float:
    """utime + stime from /proc/PID/stat (fields 14 and 15, after the parenthesised name)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cells(f: Figures) -> dict[str, str]:
    cold_seconds = sum(f.cold_ms) / 1000
    return {
        "first request, engine not started": f"{f.first_ms:.0f} ms",
        "cold, per sentence: median": f"{np.median(f.cold_ms):.1f} ms",
        "cold, per sentence: 95th percentile": f"{np.percentile(f.cold_ms, 95):.1f} ms",
        "  of which the engine's render: median": f"{np.median(f.render_ms):.1f} ms",
        "cold: x real time, wall clock": f"{f.speech_seconds / cold_seconds:.0f}x",
        "cold: x real time, CPU": f"{f.speech_seconds / f.cold_cpu_seconds:.0f}x",
        "warm (cache hit): median": f"{np.median(f.warm_ms):.2f} ms",
        "warm (cache hit): 95th percentile": f"{np.percentile(f.warm_ms, 95):.2f} ms",
    }


def _print(figures: list[Figures]) -> None:
    cells = [_cells(engine) for engine in figures]
    print(f"  {'':<40}" + "".join(f"{engine.name:>12}" for engine in figures))
    for label in cells[0]:
        print(f"  {label:<40}" + "".join(f"{column[label]:>12}" for column in cells))
    print(f"  {len(SENTENCES)} sentences ({figures[0].speech_seconds:.0f} s of speech) "
          "asked at once, cold:")  # fmt: skip
    for engine in figures:
        for size, seconds in engine.together_seconds.items():
            label = f"{engine.name}, {size} workers" if size else f"{engine.name}, a process each"
            rate = len(SENTENCES) / seconds
            print(f"    {label:<28}{seconds * 1000:8.0f} ms  ({rate:.0f} sentences/s)")
    medians = {engine.name: float(np.median(engine.cold_ms)) for engine in figures}
    summary = ", ".join(f"{name} {median:.1f} ms" for name, median in medians.items())
    faster = min(medians, key=medians.__getitem__)
    print(f"RESULT tts cold median per sentence: {summary}; faster: {faster}")
