"""Measures of synthesised speech for tests: loudness envelope, similarity, pitch.

Two renderings of one text by libespeak-ng are not byte-equal across processes (the library
keeps state between utterances, so a pause may come out a frame longer), but their loudness
envelopes, once the silences are dropped, follow each other closely; another text's do not.
"""

import numpy as np
import numpy.typing as npt

from audiocodecs.pcm import Pcm16

FRAME_MS = 20
SILENCE_RMS = 300.0
MAX_LAG_FRAMES = 5
Floats = npt.NDArray[np.float64]


def envelope(samples: Pcm16, sample_rate: int) -> Floats:
    """RMS per 20 ms frame."""
    size = sample_rate * FRAME_MS // 1000
    frames = samples[: len(samples) // size * size].astype(np.float64).reshape(-1, size)
    return np.sqrt((frames**2).mean(axis=1))


def voiced_envelope(samples: Pcm16, sample_rate: int) -> Floats:
    rms = envelope(samples, sample_rate)
    return rms[rms > SILENCE_RMS]


def similarity(first: Floats, second: Floats) -> float:
    """The best correlation of the two envelopes within ±100 ms of alignment."""
    best = -1.0
    for lag in range(-MAX_LAG_FRAMES, MAX_LAG_FRAMES + 1):
        a, b = (first[lag:], second) if lag >= 0 else (first, second[-lag:])
        length = min(len(a), len(b))
        best = max(best, float(np.corrcoef(a[:length], b[:length])[0, 1]))
    return best


def median_pitch_hz(samples: Pcm16, sample_rate: int) -> float:
    """Median fundamental frequency over loud 40 ms frames, by autocorrelation (60-400 Hz)."""
    size = sample_rate * 40 // 1000
    shortest, longest = sample_rate // 400, sample_rate // 60
    pitches = []
    for start in range(0, len(samples) - size, size):
        frame = samples[start : start + size].astype(np.float64)
        frame -= frame.mean()
        if np.sqrt(np.mean(frame**2)) < 1000:
            continue
        autocorrelation = np.correlate(frame, frame, "full")[size - 1 :]
        lag = shortest + int(np.argmax(autocorrelation[shortest:longest]))
        if autocorrelation[lag] > 0.3 * autocorrelation[0]:  # periodic: voiced speech
            pitches.append(sample_rate / lag)
    return float(np.median(pitches))
