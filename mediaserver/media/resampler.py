"""Stateful polyphase resampling between 8, 16 and 48 kHz (integer ratios only).

A windowed-sinc low-pass FIR, split into phases; the last input samples of each call are kept
as filter history, so frame-by-frame output equals one-shot output (no clicks at edges).
"""

import numpy as np
import numpy.typing as npt

from audiocodecs.pcm import Pcm16

TAPS_PER_PHASE = 16
_KAISER_BETA = 8.0
_PASSBAND = 0.9  # of the lower Nyquist frequency


class UnsupportedRatioError(ValueError):
    """The two rates are not integer multiples of each other."""


def _lowpass(ratio: int) -> npt.NDArray[np.float64]:
    length = TAPS_PER_PHASE * ratio
    n = np.arange(length) - (length - 1) / 2
    cutoff = _PASSBAND / (2 * ratio)  # cycles per sample at the higher rate
    taps = 2 * cutoff * np.sinc(2 * cutoff * n) * np.kaiser(length, _KAISER_BETA)
    result: npt.NDArray[np.float64] = taps / taps.sum()
    return result


class Resampler:
    def __init__(self, from_rate: int, to_rate: int) -> None:
        high, low = max(from_rate, to_rate), min(from_rate, to_rate)
        if high % low:
            raise UnsupportedRatioError(f"cannot resample {from_rate} Hz to {to_rate} Hz")
        self.from_rate = from_rate
        self.to_rate = to_rate
        self.ratio = high // low
        taps = _lowpass(self.ratio)
        if to_rate > from_rate:
            # Phase p of the zero-stuffed input uses taps p, p+L, p+2L, ... (gain L restores level).
            self._phases = [taps[p :: self.ratio] * self.ratio for p in range(self.ratio)]
            self._history = np.zeros(TAPS_PER_PHASE - 1)
        else:
            self._taps = taps
            self._history = np.zeros(len(taps) - 1)
        self._offset = 0  # downsampling: where the next kept sample lies in the next input

    def process(self, pcm: Pcm16) -> Pcm16:
        samples = np.concatenate([self._history, pcm.astype(np.float64)])
        self._history = samples[len(samples) - len(self._history) :]
        if self.to_rate > self.from_rate:
            output = self._interpolate(samples)
        else:
            output = self._decimate(samples)
        return np.clip(np.rint(output), -32768, 32767).astype(np.int16)

    def _interpolate(self, samples: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        phases = [np.convolve(samples, h, mode="valid") for h in self._phases]
        return np.stack(phases, axis=1).reshape(-1)

    def _decimate(self, samples: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        filtered = np.convolve(samples, self._taps, mode="valid")
        kept = filtered[self._offset :: self.ratio]
        self._offset = (self._offset - len(filtered)) % self.ratio
        return kept
