"""Where a recording of a steady tone loses it: the gaps a listener would hear, in ms.

The recording is cut into 10 ms windows; a sinusoid at the tone's frequency is fitted to each
by least squares. A window holds the tone when the fitted amplitude is at least half the
recording's usual level (its 90th percentile: a recording that is mostly silent still has a
level to compare with) and what the fit leaves over is at least 3 dB below it, so silence, a
fade and noise decoded from junk payloads all count as gaps.
"""

from pathlib import Path

import numpy as np
import numpy.typing as npt

from tests.interop.phone import read_wav

WINDOW_SECONDS = 0.01
MIN_AMPLITUDE_RATIO = 0.5
LEVEL_PERCENTILE = 90
MAX_RESIDUAL_RATIO = 0.5  # residual power over tone power

Samples = npt.NDArray[np.float64]


def tone_windows(samples: Samples, rate: int, tone_hz: float) -> npt.NDArray[np.bool_]:
    """One flag per window: does it hold the tone?"""
    size = int(rate * WINDOW_SECONDS)
    count = len(samples) // size
    windows = samples[: count * size].reshape(count, size)
    phase = 2 * np.pi * tone_hz * np.arange(size) / rate
    basis = np.stack((np.cos(phase), np.sin(phase)), axis=1)  # size x 2
    coefficients = windows @ np.linalg.pinv(basis).T  # count x 2
    residual = windows - coefficients @ basis.T
    tone_power = (coefficients**2).sum(axis=1) / 2
    residual_power = (residual**2).mean(axis=1)
    amplitude = np.sqrt(2 * tone_power)
    level = float(np.percentile(amplitude, LEVEL_PERCENTILE))
    return (
        (amplitude > 0)
        & (amplitude >= MIN_AMPLITUDE_RATIO * level)
        & (residual_power <= MAX_RESIDUAL_RATIO * tone_power)
    )


def longest_gap_ms(
    path: Path, tone_hz: float, skip_seconds: float = 0.5, tail_seconds: float = 0.2
) -> float:
    """The longest run of windows without the tone, after the call has settled
    (`skip_seconds`) and before the recording was stopped (`tail_seconds`)."""
    samples, rate = read_wav(path)
    samples = samples[int(skip_seconds * rate) : len(samples) - int(tail_seconds * rate)]
    assert len(samples) > rate, f"{path}: only {len(samples)} samples"
    return longest_run(~tone_windows(samples, rate, tone_hz)) * WINDOW_SECONDS * 1000


def longest_run(flags: npt.NDArray[np.bool_]) -> int:
    best = current = 0
    for flag in flags:
        current = current + 1 if flag else 0
        best = max(best, current)
    return best
