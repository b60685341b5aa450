"""The DTMF detector against an ITU-T Q.24-style test set, side by side with multimon-ng.

Levels: `level_dbm0` is the power of the tone pair, G.711's 0 dBm0 being a sine 3.14 dB below
full scale; with twist T (high minus low, dB) the low tone is at level-3-T/2 and the high at
level-3+T/2. Every burst is one stream of the vectorised detector.
"""

import difflib
import itertools
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from mediaserver.media.dtmf_detector import DtmfDetector
from mediaserver.media.frame import FRAME_SAMPLES, SAMPLE_RATE
from mediaserver.media.tones import dtmf_frequencies

DIGITS = "123A456B789C*0#D"
BURST_SAMPLES = SAMPLE_RATE * 2 // 5  # 400 ms per burst, the tone starting 60-80 ms in


@dataclass(frozen=True)
class Burst:
    digit: str
    duration_ms: float
    deviation: tuple[float, float]  # relative offsets of the low and high tone
    twist_db: float
    level_dbm0: float
    snr_db: float | None
    valid: bool


def amplitude(dbm0: float) -> float:
    return 32767 * 10 ** ((dbm0 - 3.14) / 20)


def render(burst: Burst, rng: np.random.Generator) -> np.ndarray:
    low, high = dtmf_frequencies(burst.digit)
    start = int(rng.integers(480, 640))
    samples = int(burst.duration_ms * SAMPLE_RATE / 1000)
    t = np.arange(samples) / SAMPLE_RATE
    low_level = burst.level_dbm0 - 3 - burst.twist_db / 2
    high_level = burst.level_dbm0 - 3 + burst.twist_db / 2
    tone = amplitude(low_level) * np.sin(2 * np.pi * low * (1 + burst.deviation[0]) * t)
    tone += amplitude(high_level) * np.sin(2 * np.pi * high * (1 + burst.deviation[1]) * t + 1.0)
    signal = np.zeros(BURST_SAMPLES)
    signal[start : start + samples] = tone
    if burst.snr_db is not None:
        power = (amplitude(low_level) ** 2 + amplitude(high_level) ** 2) / 2
        signal += rng.normal(0, np.sqrt(power / 10 ** (burst.snr_db / 10)), BURST_SAMPLES)
    return np.clip(np.rint(signal), -32768, 32767).astype(np.int16)


def build_test_set() -> list[Burst]:
    bursts = []
    valid_deviations = [(0, 0), (0.015, 0.015), (-0.015, -0.015), (0.015, -0.015)]
    for digit, deviation, twist, level, duration in itertools.product(
        DIGITS, valid_deviations, (-8, -4, 0, 4), (-30, -20, -10, 0), (40, 100)
    ):
        bursts.append(Burst(digit, duration, deviation, twist, level, None, True))
    for digit, twist, level in itertools.product(DIGITS, (-8, 0, 4), (-20, -10, 0)):
        bursts.append(Burst(digit, 60, (0.01, -0.01), twist, level, 15.0, True))
    bad_deviations = [(0.035, 0), (-0.035, 0), (0, 0.035), (0, -0.035), (0.05, 0.05)]
    for digit, deviation, level in itertools.product(DIGITS, bad_deviations, (-20, 0)):
        bursts.append(Burst(digit, 100, deviation, 0, level, None, False))
    for digit, duration, level in itertools.product(DIGITS, (10, 15, 19), (-20, 0)):
        bursts.append(Burst(digit, duration, (0, 0), 0, level, None, False))
    for digit, twist, level in itertools.product(DIGITS, (-12, 8), (-20, -10)):
        bursts.append(Burst(digit, 100, (0, 0), twist, level, None, False))
    return bursts


def run_detector(signals: np.ndarray) -> list[str]:
    detector = DtmfDetector()
    found = [""] * len(signals)
    ids = list(range(len(signals)))
    for start in range(0, signals.shape[1], FRAME_SAMPLES):
        digits = detector.detect(ids, signals[:, start : start + FRAME_SAMPLES])
        for row, digit in enumerate(digits):
            if digit:
                found[row] += digit
    return found


def run_multimon(signals: np.ndarray, tmp_path: Path) -> str:
    raw8k, raw22k = tmp_path / "set8k.raw", tmp_path / "set22k.raw"
    raw8k.write_bytes(signals.reshape(-1).tobytes())
    subprocess.run(
        [
            "sox",
            "-t",
            "raw",
            "-r",
            "8000",
            "-e",
            "signed",
            "-b",
            "16",
            "-c",
            "1",
            str(raw8k),
            "-t",
            "raw",
            "-r",
            "22050",
            str(raw22k),
        ],
        check=True,
    )
    output = subprocess.run(
        ["multimon-ng", "-q", "-t", "raw", "-a", "DTMF", str(raw22k)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return "".join(line.split()[-1] for line in output.splitlines() if line.startswith("DTMF:"))


def matched(expected: str, found: str) -> int:
    matcher = difflib.SequenceMatcher(None, expected, found, autojunk=False)
    return sum(block.size for block in matcher.get_matching_blocks())


def test_q24_test_set_side_by_side_with_multimon(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bursts = build_test_set()
    assert len(bursts) >= 2000
    rng = np.random.default_rng(24)
    signals = np.stack([render(b, rng) for b in bursts])
    found = run_detector(signals)
    valid = [i for i, b in enumerate(bursts) if b.valid]
    invalid = [i for i, b in enumerate(bursts) if not b.valid]
    ours_valid = sum(found[i] == bursts[i].digit for i in valid)
    ours_false = sum(len(found[i]) for i in invalid)
    ours_extra = sum(len(found[i]) > 1 for i in valid)

    multimon_valid = multimon_false = None
    if shutil.which("multimon-ng"):
        expected = "".join(bursts[i].digit for i in valid)
        multimon_valid = matched(expected, run_multimon(signals[valid], tmp_path))
        multimon_false = len(run_multimon(signals[invalid], tmp_path))
    with capsys.disabled():
        print(f"\nDTMF test set: {len(valid)} valid bursts, {len(invalid)} invalid")
        print(f"  {'':28}{'ours':>10}{'multimon-ng':>14}")
        print(f"  {'valid digits detected':28}{ours_valid:>10}{multimon_valid!s:>14}")
        print(f"  {'detections of invalid ones':28}{ours_false:>10}{multimon_false!s:>14}")
    missed = [bursts[i] for i in valid if found[i] != bursts[i].digit][:5]
    false = [(bursts[i], found[i]) for i in invalid if found[i]][:5]
    assert ours_valid == len(valid), f"missed e.g. {missed}"
    assert ours_false == 0, f"false detections e.g. {false}"
    assert ours_extra == 0
