"""The detector on digit strings, parallel streams, long presses, single tones, noise and twist."""

import numpy as np
import pytest

from mediaserver.media.dtmf_detector import DtmfDetector
from mediaserver.media.frame import FRAME_SAMPLES
from mediaserver.media.tones import DtmfToneSource, InvalidDigitError, render_digits, tone

ALL_DIGITS = "123A456B789C*0#D"


def dbm0(level: float) -> float:
    return 32767 * 10 ** ((level - 3.14) / 20)


def detect(samples: np.ndarray, detector: DtmfDetector | None = None) -> str:
    detector = detector or DtmfDetector()
    samples = np.concatenate([samples, np.zeros(-len(samples) % FRAME_SAMPLES, np.int16)])
    blocks = samples.reshape(-1, FRAME_SAMPLES)
    return "".join(d for block in blocks if (d := detector.detect([0], block[None])[0]))


@pytest.mark.parametrize("level", [-3.0, -10.0, -20.0, -30.0])
def test_all_digits_at_40_ms_on_40_ms_off(level: float) -> None:
    # `level` per tone; two tones at -3 dBm0 each peak just inside int16.
    assert detect(render_digits(ALL_DIGITS, 40, 40, amplitude=dbm0(level))) == ALL_DIGITS


def test_many_streams_in_one_block() -> None:
    streams = [render_digits(d, 60, 60) for d in ALL_DIGITS]
    detector = DtmfDetector()
    found = [""] * len(streams)
    stacked = np.stack(streams)
    for start in range(0, stacked.shape[1] - FRAME_SAMPLES + 1, FRAME_SAMPLES):
        for i, digit in enumerate(
            detector.detect(list(range(16)), stacked[:, start : start + FRAME_SAMPLES])
        ):
            found[i] += digit or ""
    assert found == list(ALL_DIGITS)


def test_one_press_is_reported_once() -> None:
    assert detect(render_digits("5", 500, 100)) == "5"


def test_no_digit_from_a_single_tone_or_noise() -> None:
    rng = np.random.default_rng(7)
    noise = rng.normal(0, 4000, 8000 * 5).astype(np.int16)
    assert detect(noise) == ""
    assert detect(tone((697.0,), 8000, 8000)) == ""
    assert detect(tone((440.0, 480.0), 8000, 6000)) == ""  # dial tone


def test_twist_outside_limits_is_rejected() -> None:
    low, high = 697.0, 1209.0
    t = np.arange(1600) / 8000
    strong_high = 3000 * np.sin(2 * np.pi * low * t) + 3000 * 10 ** (10 / 20) * np.sin(
        2 * np.pi * high * t
    )
    assert detect(np.rint(strong_high).astype(np.int16)) == ""


def test_source_plays_digits_with_pauses() -> None:
    source = DtmfToneSource("1w2")
    frames = []
    while (frame := source.read_frame()) is not None:
        frames.append(frame)
    assert len(frames) == (200 + 500 + 200) // 20
    with pytest.raises(InvalidDigitError):
        DtmfToneSource("1x")


@pytest.mark.parametrize("offset", range(0, FRAME_SAMPLES, 20))
def test_one_digit_repeated_at_40_ms_on_40_ms_off_counts_every_press(offset: int) -> None:
    # However the presses fall against the 20 ms ticks, each 40 ms gap releases the key.
    lead = np.zeros(offset, np.int16)
    for level in (-30.0, -3.0):
        presses = render_digits("5555##11", 40, 40, amplitude=dbm0(level))
        assert detect(np.concatenate([lead, presses])) == "5555##11"


@pytest.mark.parametrize("offset", range(0, FRAME_SAMPLES, 20))
def test_a_break_of_10_ms_is_bridged_and_a_pause_of_40_ms_is_not(offset: int) -> None:
    # ITU-T Q.24, wherever the break falls against the 20 ms ticks.
    lead = np.zeros(offset, np.int16)
    for level in (-30.0, -3.0):
        broken = render_digits("55", 50, 10, amplitude=dbm0(level))  # 50 on, 10 off, twice
        assert detect(np.concatenate([lead, broken, np.zeros(800, np.int16)])) == "5"
        paused = render_digits("55", 40, 40, amplitude=dbm0(level))
        assert detect(np.concatenate([lead, paused])) == "55"
