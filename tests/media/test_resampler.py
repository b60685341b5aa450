import numpy as np
import pytest

from mediaserver.media.resampler import Resampler, RowResampler, UnsupportedRatioError
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


def level_db(samples: np.ndarray, rate: int, frequency: float, amplitude: float) -> float:
    """The level of `frequency` in the steady part of `samples`, relative to `amplitude`."""
    steady = samples[len(samples) // 5 :].astype(float)
    t = np.arange(len(steady)) / rate
    component = np.abs(np.sum(steady * np.exp(-2j * np.pi * frequency * t))) * 2 / len(steady)
    return float(20 * np.log10(max(component, 1e-3) / amplitude))


@pytest.mark.parametrize(("source", "target"), [(8000, 48000), (48000, 8000), (16000, 8000)])
def test_telephone_band_is_flat_and_aliases_are_rejected(source: int, target: int) -> None:
    t = np.arange(source) / source
    for frequency in (300.0, 3400.0):
        signal = np.rint(8000 * np.sin(2 * np.pi * frequency * t)).astype(np.int16)
        assert (
            abs(level_db(Resampler(source, target).process(signal), target, frequency, 8000)) < 0.1
        )
    if source > target:
        # 4.6 kHz would fold onto 3.4 kHz at 8 kHz.
        signal = np.rint(30000 * np.sin(2 * np.pi * 4600 * t)).astype(np.int16)
        folded = level_db(Resampler(source, target).process(signal), target, 3400, 30000)
        assert folded < -70


@pytest.mark.parametrize(("source", "target"), [(48000, 8000), (8000, 16000), (48000, 16000)])
def test_chunks_of_any_size_give_the_one_shot_output(source: int, target: int) -> None:
    rng = np.random.default_rng(11)
    signal = rng.integers(-10000, 10000, source // 2).astype(np.int16)
    cuts = np.sort(rng.choice(np.arange(1, len(signal)), 40, replace=False))
    resampler = Resampler(source, target)
    chunked = np.concatenate([resampler.process(piece) for piece in np.split(signal, cuts)])
    np.testing.assert_array_equal(chunked, Resampler(source, target).process(signal))


def test_same_rate_passes_samples_through() -> None:
    frame = np.arange(160, dtype=np.int16)
    np.testing.assert_array_equal(Resampler(8000, 8000).process(frame), frame)


@pytest.mark.parametrize(("source", "target"), [(8000, 16000), (16000, 8000)])
def test_a_stack_of_rows_is_each_rows_own_signal(source: int, target: int) -> None:
    """Three tones at once, frame by frame, histories handed back and forth: each row is
    what a Resampler of its own makes, sample for sample, tone and level kept."""
    t = np.arange(source) / source
    signals = np.stack([np.rint(8000 * np.sin(2 * np.pi * f * t)) for f in (300, 1000, 3000)])
    signals = signals.astype(np.int16)
    frame = source // 50
    rows = RowResampler(source, target)
    singles = [Resampler(source, target) for _ in range(3)]
    histories = np.zeros((3, rows.history_samples))
    stacked, alone = [], []
    for start in range(0, source, frame):
        converted, histories = rows.process(signals[:, start : start + frame], histories)
        stacked.append(converted)
        alone.append(
            [r.process(s[start : start + frame]) for r, s in zip(singles, signals, strict=True)]
        )
    converted = np.concatenate(stacked, axis=1)
    assert converted.shape == (3, target)
    np.testing.assert_array_equal(converted, np.concatenate(alone, axis=1))
    for row, frequency in zip(converted, (300, 1000, 3000), strict=True):
        steady = row[target // 10 :]
        assert abs(peak_hz(steady, target) - frequency) < 2
        assert abs(np.abs(steady).max() - 8000) < 400
