"""Test signals for the benchmarks (a part: no run()).

Codecs and detectors spend very different time on silence, pure tones and voice: libopus
encodes silence almost for free, and the DTMF screen drops silence at its first test. The
benchmarks feed a voice-like signal so their figures are those of a call with someone talking.
"""

import numpy as np

from audiocodecs.pcm import Pcm16


def voice_like(sample_rate: int, seconds: float = 2.0) -> Pcm16:
    """Harmonics of a gliding 120-160 Hz pitch, amplitude-modulated at a syllable rate."""
    t = np.arange(int(sample_rate * seconds)) / sample_rate
    pitch = 140 + 20 * np.sin(2 * np.pi * 0.7 * t)
    phase = np.cumsum(2 * np.pi * pitch / sample_rate)
    harmonics = sum(np.sin(k * phase) / k for k in range(1, 25) if k * 160 < sample_rate / 2)
    envelope = 0.6 + 0.4 * np.sin(2 * np.pi * 3 * t)
    signal: Pcm16 = np.rint(3000 * harmonics * envelope).astype(np.int16)
    return signal


def frames_of(signal: Pcm16, frame_samples: int) -> list[Pcm16]:
    return [signal[i : i + frame_samples] for i in range(0, len(signal), frame_samples)]
