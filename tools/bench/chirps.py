"""A train of chirps at known, irregular times, and the one-way latency of each chirp found
in what a peer received (a part: no run()).

Each chirp sweeps 500 to 3000 Hz in 10 ms: inside both G.711's and Opus's band, and sharp
under cross-correlation. The gaps between chirps are random (300 to 600 ms), so the train
matches itself at one lag only: cross-correlating the whole received signal with the whole
sent one finds which received sample is which sent sample, and each chirp's latency is the
time its samples arrived minus the time they were sent.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from audiocodecs.pcm import Pcm16
from tools.bench.received_stream import Timeline

CHIRP_SECONDS = 0.010
LOW_HZ, HIGH_HZ = 500.0, 3000.0
GAP_SECONDS = (0.3, 0.6)
LEAD_IN_SECONDS = 1.0  # no chirp while a sender warms up (its first frames may leave late)
AMPLITUDE = 12000
ANALYSIS_RATE = 8000
# How far a chirp is looked for around where the one before it puts it: 100 ms at 8 kHz, less
# than half the shortest gap, so no chirp is taken for its neighbour.
SEARCH_SAMPLES = 800
MIN_LEVEL = 0.1  # of the sent chirp's: quieter is codec noise, not a chirp
MIN_LIKENESS = 0.3  # normalised correlation with the chirp: Opus keeps the sweep, not each wave


@dataclass(frozen=True, slots=True)
class ChirpTrain:
    onsets: tuple[float, ...]  # seconds from the train's first sample
    seconds: float

    @classmethod
    def random(cls, seconds: float, seed: int = 13) -> "ChirpTrain":
        generator = np.random.default_rng(seed)
        onsets, at = [], LEAD_IN_SECONDS
        while at < seconds - 0.1:
            onsets.append(at)
            at += float(generator.uniform(*GAP_SECONDS))
        return cls(tuple(onsets), seconds)

    def signal(self, sample_rate: int) -> Pcm16:
        out = np.zeros(round(self.seconds * sample_rate), np.float64)
        chirp = _chirp(sample_rate)
        for onset in self.onsets:
            start = round(onset * sample_rate)
            out[start : start + len(chirp)] = chirp[: len(out) - start]
        samples: Pcm16 = np.rint(AMPLITUDE * out).astype(np.int16)
        return samples


def latencies(
    train: ChirpTrain, sent_time: Callable[[float], float | None], received: Timeline
) -> list[float]:
    """Seconds from send to arrival of each chirp that arrived. `sent_time(t)`: when the
    sample `t` seconds into the train was sent (None: it was not)."""
    assert received.sample_rate == ANALYSIS_RATE
    sent = train.signal(ANALYSIS_RATE).astype(np.float64)
    heard = received.audio.astype(np.float64)
    if len(heard) < len(_chirp(ANALYSIS_RATE)):
        return []
    lag = _best_lag(heard, sent)
    template = _chirp(ANALYSIS_RATE)
    found = []
    for onset in train.onsets:
        index = _refine(heard, template, round(onset * ANALYSIS_RATE) + lag)
        if index < 0:
            continue
        # A jitter buffer that drops or repeats a frame moves the rest of the train by its
        # length: follow it, chirp by chirp.
        lag = index - round(onset * ANALYSIS_RATE)
        sent_at, arrived_at = sent_time(onset), received.time_of(index)
        if sent_at is not None and arrived_at is not None:
            found.append(arrived_at - sent_at)
    return found


def _chirp(sample_rate: int) -> NDArray[np.float64]:
    t = np.arange(round(CHIRP_SECONDS * sample_rate)) / sample_rate
    sweep = (HIGH_HZ - LOW_HZ) / CHIRP_SECONDS
    phase = 2 * np.pi * (LOW_HZ * t + sweep * t * t / 2)
    result: NDArray[np.float64] = np.sin(phase) * np.hanning(len(t))
    return result


def _best_lag(heard: NDArray[np.float64], sent: NDArray[np.float64]) -> int:
    """The lag (heard index minus sent index) at which the two trains line up, by FFT."""
    size = 1 << int(np.ceil(np.log2(len(heard) + len(sent))))
    product = np.fft.rfft(heard, size) * np.conj(np.fft.rfft(sent, size))
    correlation = np.fft.irfft(product, size)
    peak = int(np.argmax(correlation))
    return peak if peak < size - len(sent) else peak - size


def _refine(heard: NDArray[np.float64], template: NDArray[np.float64], expected: int) -> int:
    """Where the chirp near `expected` starts in `heard` (-1: not there, or not a chirp)."""
    begin = max(expected - SEARCH_SAMPLES, 0)
    end = min(expected + SEARCH_SAMPLES + len(template), len(heard))
    window = heard[begin:end]
    if len(window) < len(template):
        return -1
    correlation = np.correlate(window, template, mode="valid")
    best = int(np.argmax(correlation))
    energy = float(np.sqrt(np.sum(window[best : best + len(template)] ** 2)))
    norm = float(np.sqrt(np.sum(template**2)))
    if energy < MIN_LEVEL * AMPLITUDE * norm or correlation[best] < MIN_LIKENESS * energy * norm:
        return -1  # silence or noise where the chirp should be: it was lost
    return begin + best


@dataclass
class SendLog:
    """When each 20 ms frame of a sent signal left its sender (time.monotonic)."""

    frame_seconds: float = 0.020
    sent_at: list[float] = field(default_factory=list)

    def time_of(self, offset: float) -> float | None:
        """When the sample `offset` seconds into the signal was sent: its frame's send time
        plus its place in the frame."""
        frame = int(offset // self.frame_seconds)
        if frame >= len(self.sent_at):
            return None
        return self.sent_at[frame] + offset - frame * self.frame_seconds

    def late_ms_p99(self) -> float:
        """How far behind its 20 ms schedule the sender fell (a loaded peer sends late)."""
        if not self.sent_at:
            return 0.0
        schedule = self.sent_at[0] + self.frame_seconds * np.arange(len(self.sent_at))
        return float(np.percentile(1000 * (np.asarray(self.sent_at) - schedule), 99))
