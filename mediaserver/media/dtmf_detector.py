"""In-band DTMF detection: Goertzel over every stream of a tick at once.

One matrix product gives the eight DTMF frequencies' energies for all streams (the Goertzel
filter evaluated at exact frequencies is the DFT at those frequencies, and so a product with a
precomputed (samples x 8) cosine/sine basis). Per stream, a 20 ms block is a hit when:
- the strongest low- and high-group tones are above an absolute floor (-30 dBm0 and lower
  by a margin);
- each beats the other tones of its group by RELATIVE_PEAK_DB (rejects speech and music);
- twist (high minus low level) lies within [-8 dB, +4 dB] (ITU-T Q.24 style);
- the two tones carry most of the block's energy (Parseval: rejects broadband signals).
A digit is reported once, after two consecutive hit blocks with the same digit, and may
repeat only after a block without it.
"""

import numpy as np
import numpy.typing as npt
from audiocodecs.pcm import Pcm16

from mediaserver.media.frame import FRAME_SAMPLES, SAMPLE_RATE
from mediaserver.media.tones import HIGH_FREQUENCIES, KEYPAD, LOW_FREQUENCIES

RELATIVE_PEAK_DB = 8.0
MIN_TWIST_DB = -8.0
MAX_TWIST_DB = 4.0
TONE_ENERGY_FRACTION = 0.6
# A -36 dBm0 sine (6 dB under the weakest level to accept) as the floor, in DFT power.
_FLOOR_AMPLITUDE = 32767 * 10 ** ((-36 - 3.14) / 20)
CONFIRM_BLOCKS = 2

Mask = npt.NDArray[np.bool_]


def _basis(samples: int) -> npt.NDArray[np.float64]:
    t = np.arange(samples) / SAMPLE_RATE
    frequencies = np.array(LOW_FREQUENCIES + HIGH_FREQUENCIES)
    window = np.hanning(samples)[:, None]
    angles = 2 * np.pi * frequencies[None, :] * t[:, None]
    return np.concatenate([np.cos(angles) * window, np.sin(angles) * window], axis=1)


class DtmfDetector:
    def __init__(self, block_samples: int = FRAME_SAMPLES) -> None:
        self._basis = _basis(block_samples)
        self._window = np.hanning(block_samples)
        # Parseval: a windowed sine of amplitude A has DFT power (A*sum(w)/2)^2 at its
        # frequency and energy A^2*sum(w^2)/2; this scale turns the first into the second.
        self._power_to_energy = 2 * np.sum(self._window**2) / np.sum(self._window) ** 2
        self._floor = (_FLOOR_AMPLITUDE * np.sum(self._window) / 2) ** 2
        self._candidate: dict[int, tuple[str | None, int]] = {}

    def detect(self, stream_ids: list[int], frames: Pcm16) -> list[str | None]:
        """One block per stream (rows of `frames`); the digits newly confirmed, per stream."""
        hits = self.classify(frames)
        return [self._confirm(i, hit) for i, hit in zip(stream_ids, hits, strict=True)]

    def forget(self, stream_id: int) -> None:
        self._candidate.pop(stream_id, None)

    def classify(self, frames: Pcm16) -> list[str | None]:
        """The digit each block holds by itself, without confirmation over blocks."""
        samples = frames.astype(np.float64)
        projections = samples @ self._basis
        power = projections[:, :8] ** 2 + projections[:, 8:] ** 2
        low, high = power[:, :4], power[:, 4:]
        low_index, high_index = low.argmax(axis=1), high.argmax(axis=1)
        rows = np.arange(len(frames))
        low_peak, high_peak = low[rows, low_index], high[rows, high_index]
        ok = (low_peak > self._floor) & (high_peak > self._floor)
        ok &= self._dominates(low, low_peak) & self._dominates(high, high_peak)
        twist_db = 10 * np.log10(np.maximum(high_peak, 1e-9) / np.maximum(low_peak, 1e-9))
        ok &= (twist_db >= MIN_TWIST_DB) & (twist_db <= MAX_TWIST_DB)
        ok &= self._tone_fraction(samples, low_peak + high_peak) >= TONE_ENERGY_FRACTION
        return [
            KEYPAD[r][c] if hit else None
            for r, c, hit in zip(low_index, high_index, ok, strict=True)
        ]

    @staticmethod
    def _dominates(group: npt.NDArray[np.float64], peak: npt.NDArray[np.float64]) -> Mask:
        others = np.sort(group, axis=1)[:, -2]
        result: Mask = peak > others * 10 ** (RELATIVE_PEAK_DB / 10)
        return result

    def _tone_fraction(
        self, samples: npt.NDArray[np.float64], tone_power: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.float64]:
        block_energy = np.sum((samples * self._window) ** 2, axis=1)
        tone_energy = tone_power * self._power_to_energy
        result: npt.NDArray[np.float64] = tone_energy / np.maximum(block_energy, 1e-9)
        return result

    def _confirm(self, stream_id: int, hit: str | None) -> str | None:
        previous, count = self._candidate.get(stream_id, (None, 0))
        count = count + 1 if hit is not None and hit == previous else (1 if hit else 0)
        self._candidate[stream_id] = (hit, count)
        return hit if count == CONFIRM_BLOCKS else None
