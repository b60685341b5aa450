import numpy as np
import pytest

from mediaserver.media.resampler import Resampler, UnsupportedRatioError
from mediaserver.media.tones import tone


def peak_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.argmax(spectrum) * rate / len(samples))


@pytest.mark.parametrize(
    ("source", "target"), [(8000, 48000), (8000, 16000), (48000, 8000), (16000, 8000)]
)
def test_frame_by_frame_equals_one_shot_and_keeps_the_tone(source: int, target: int) -> None:
    t = np.arange(source) / source
    signal = np.rint(8000 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16)
    frame = source // 50
    pieces = Resampler(source, target)
    chunked = np.concatenate(
        [pieces.process(signal[i : i + frame]) for i in range(0, len(signal), frame)]
    )
    whole = Resampler(source, target).process(signal)
    np.testing.assert_array_equal(chunked, whole)
    assert len(chunked) == target
    steady = chunked[target // 10 :]
    assert abs(peak_hz(steady, target) - 1000) < 2
    # No clicks at frame edges: no jump larger than the sine's own steepest step.
    steepest = 8000 * 2 * np.pi * 1000 / target * 1.1
    assert np.abs(np.diff(steady.astype(int))).max() < steepest
    assert abs(np.abs(steady).max() - 8000) < 400


def test_odd_ratio_is_refused() -> None:
    with pytest.raises(UnsupportedRatioError):
        Resampler(8000, 44100)


def test_tone_helper_is_phase_continuous() -> None:
    joined = np.concatenate([tone((440.0,), 160, 1000, start) for start in (0, 160)])
    np.testing.assert_array_equal(joined, tone((440.0,), 320, 1000))
