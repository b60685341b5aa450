"""In-band DTMF: our vectorised detector beside multimon-ng on one ITU-T Q.24-style test set.

The test set is defined here; tests/media/test_dtmf_q24.py asserts our score on it. Levels:
`level_dbm0` is the power of the tone pair, G.711's 0 dBm0 being a sine 3.14 dB below full
scale (peak 22,706); with twist T (high minus low, dB) the low tone is at level-3-T/2 dBm0 and
the high one at level-3+T/2. Each burst is 400 ms, the tone starting 60-80 ms in; every burst
is one stream of the detector, so the whole set runs as one (bursts, samples) block per tick.
A burst may carry its tone twice with a silence between: ITU-T Q.24 asks that a break of up
to 10 ms inside a tone is bridged (one digit) and that a pause of 40 ms separates two presses
of the same key (two digits).
multimon-ng reads raw signed 16-bit mono at 22,050 Hz: sox resamples the 8 kHz bursts.
Then, through the batch path across a bridge: the delay from an in-band tone's start to the
first RFC 4733 packet of its digit on the other leg, and that event's duration (dtmf_delay.py).
"""

import difflib
import itertools
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from mediaserver.media.dtmf_detector import DtmfDetector
from mediaserver.media.frame import FRAME_SAMPLES, SAMPLE_RATE
from mediaserver.media.tones import dtmf_frequencies
from tools.bench import dtmf_delay

DIGITS = "123A456B789C*0#D"
BURST_SAMPLES = SAMPLE_RATE * 2 // 5
MULTIMON_RATE = 22050
Signals = npt.NDArray[np.int16]


@dataclass(frozen=True, slots=True)
class Burst:
    category: str
    digit: str
    duration_ms: float
    deviation: tuple[float, float]  # relative offsets of the low and high tone
    twist_db: float
    level_dbm0: float
    snr_db: float | None
    valid: bool
    break_ms: float = 0.0  # when > 0: the tone twice (phase-continuous), this silence between
    presses: int = 1

    @property
    def expected(self) -> str:
        """What a detector meeting Q.24 reports for the burst: nothing for an invalid one."""
        return self.digit * self.presses if self.valid else ""


def amplitude(dbm0: float) -> float:
    return float(32767 * 10 ** ((dbm0 - 3.14) / 20))


def render(burst: Burst, rng: np.random.Generator) -> Signals:
    low, high = dtmf_frequencies(burst.digit)
    start = int(rng.integers(480, 640))
    part = int(burst.duration_ms * SAMPLE_RATE / 1000)
    silence = int(burst.break_ms * SAMPLE_RATE / 1000)
    t = np.arange(2 * part + silence if silence else part) / SAMPLE_RATE
    low_amplitude = amplitude(burst.level_dbm0 - 3 - burst.twist_db / 2)
    high_amplitude = amplitude(burst.level_dbm0 - 3 + burst.twist_db / 2)
    phases = rng.uniform(0, 2 * np.pi, 2)
    tone = low_amplitude * np.sin(2 * np.pi * low * (1 + burst.deviation[0]) * t + phases[0])
    tone += high_amplitude * np.sin(2 * np.pi * high * (1 + burst.deviation[1]) * t + phases[1])
    tone[part : part + silence] = 0
    signal = np.zeros(BURST_SAMPLES)
    signal[start : start + len(t)] = tone
    if burst.snr_db is not None:
        power = (low_amplitude**2 + high_amplitude**2) / 2
        signal += rng.normal(0, np.sqrt(power / 10 ** (burst.snr_db / 10)), BURST_SAMPLES)
    return np.clip(np.rint(signal), -32768, 32767).astype(np.int16)


def build_test_set() -> list[Burst]:
    """4,096 valid bursts and 320 invalid ones, each criterion at and beyond its limits.

    Valid: every digit at every combination of frequency offset (0, ±1.5 %, either sign per
    tone), twist (-8 to +4 dB), level (-30 to 0 dBm0) and duration (40 ms, 100 ms); and all
    of these again at 40 ms in white noise at SNR 15 dB. Breaks and pauses: see _broken_tones.
    """
    bursts = []
    on_limits = [(0.0, 0.0), (0.015, 0.015), (-0.015, -0.015), (0.015, -0.015), (-0.015, 0.015)]
    for duration, snr in ((40, None), (100, None), (40, 15.0)):
        category = f"valid {duration} ms" + ("" if snr is None else f", SNR {snr:.0f} dB")
        for digit, deviation, twist, level in itertools.product(
            DIGITS, on_limits, (-8, -4, 0, 4), (-30, -20, -10, 0)
        ):
            bursts.append(Burst(category, digit, duration, deviation, twist, level, snr, True))
    off_frequency = [(0.035, 0.0), (-0.035, 0.0), (0.0, 0.035), (0.0, -0.035), (0.05, 0.05)]
    for digit, deviation, level in itertools.product(DIGITS, off_frequency, (-20, 0)):
        bursts.append(Burst("offset >= 3.5 %", digit, 100, deviation, 0, level, None, False))
    for digit, duration, level in itertools.product(DIGITS, (10, 15, 19), (-20, 0)):
        bursts.append(Burst("shorter than 20 ms", digit, duration, (0, 0), 0, level, None, False))
    for digit, twist, level in itertools.product(DIGITS, (-12, 8), (-20, -10)):
        bursts.append(Burst("twist -12 / +8 dB", digit, 100, (0, 0), twist, level, None, False))
    return bursts + _broken_tones()


def _broken_tones() -> list[Burst]:
    """Q.24: every digit, at the level and twist limits, broken for 5 and 10 ms between two
    halves of 50 ms (one digit), or pressed twice for 40 ms with 40 or 60 ms between (two).
    Listed after the rest, so the other bursts render the same as without them."""
    bursts = []
    for break_ms, part_ms, presses in ((5, 50, 1), (10, 50, 1), (40, 40, 2), (60, 40, 2)):
        category = f"break {break_ms} ms" if presses == 1 else f"pause {break_ms} ms"
        for digit, twist, level in itertools.product(DIGITS, (-8, 4), (-30, 0)):
            bursts.append(
                Burst(category, digit, part_ms, (0, 0), twist, level, None, True, break_ms, presses)
            )
    return bursts


def render_all(bursts: list[Burst], seed: int = 24) -> Signals:
    rng = np.random.default_rng(seed)
    return np.stack([render(burst, rng) for burst in bursts])


def run_detector(signals: Signals) -> list[str]:
    """The digits found in each row, all rows going through the detector as parallel streams."""
    detector = DtmfDetector()
    found = [""] * len(signals)
    ids = list(range(len(signals)))
    for start in range(0, signals.shape[1], FRAME_SAMPLES):
        digits = detector.detect(ids, signals[:, start : start + FRAME_SAMPLES])
        for row, digit in enumerate(digits):
            if digit:
                found[row] += digit
    return found


def multimon_available() -> bool:
    return bool(shutil.which("multimon-ng") and shutil.which("sox"))


def run_multimon(signals: Signals, directory: Path) -> str:
    """The digits multimon-ng finds in the rows played one after another."""
    raw8k, raw22k = directory / "set8k.raw", directory / "set22k.raw"
    raw8k.write_bytes(signals.reshape(-1).astype("<i2").tobytes())
    raw = ["-t", "raw", "-e", "signed", "-b", "16", "-c", "1"]
    subprocess.run(
        [
            "sox",
            "-V1",
            *raw,
            "-r",
            str(SAMPLE_RATE),
            str(raw8k),
            *raw,
            "-r",
            str(MULTIMON_RATE),
            raw22k,
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
    """Digits of `expected` found in order (a missed or extra digit costs only itself)."""
    matcher = difflib.SequenceMatcher(None, expected, found, autojunk=False)
    return sum(block.size for block in matcher.get_matching_blocks())


@dataclass(frozen=True, slots=True)
class Tally:
    """Digits of the wanted ones found in order, and digits reported (a repeat counts)."""

    found: int
    reported: int


@dataclass(frozen=True, slots=True)
class Score:
    category: str
    bursts: int
    wanted: int  # digits a right detector reports: 0 for invalid bursts
    ours: Tally
    theirs: Tally | None


def score(bursts: list[Burst], signals: Signals, found: list[str], directory: Path) -> list[Score]:
    scores = []
    for category in dict.fromkeys(b.category for b in bursts):
        rows = [i for i, b in enumerate(bursts) if b.category == category]
        wanted = "".join(bursts[i].expected for i in rows)
        ours = Tally(
            sum(matched(bursts[i].expected, found[i]) for i in rows),
            sum(len(found[i]) for i in rows),
        )
        theirs = None
        if multimon_available():
            digits = run_multimon(signals[rows], directory)
            theirs = Tally(matched(wanted, digits), len(digits))
        scores.append(Score(category, len(rows), len(wanted), ours, theirs))
    return scores


def print_table(scores: list[Score]) -> None:
    print(f"  {'bursts':<22}{'count':>6}{'wanted':>8}{'ours':>12}{'multimon-ng':>14}")
    for s in scores:
        ours = f"{s.ours.found}/{s.ours.reported}"
        theirs = "-" if s.theirs is None else f"{s.theirs.found}/{s.theirs.reported}"
        print(f"  {s.category:<22}{s.bursts:>6}{s.wanted:>8}{ours:>12}{theirs:>14}")
    print("  (digits: wanted; found in order / reported. Invalid bursts want none)")


def run() -> None:
    bursts = build_test_set()
    signals = render_all(bursts)
    audio_seconds = signals.size / SAMPLE_RATE
    start = time.perf_counter()
    found = run_detector(signals)
    ours_seconds = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as directory:
        print(f"DTMF test set: {len(bursts)} bursts of 400 ms (target: >= 2,000, Q.24 limits)")
        print_table(score(bursts, signals, found, Path(directory)))
        if multimon_available():
            start = time.perf_counter()
            run_multimon(signals, Path(directory))
            theirs_seconds = time.perf_counter() - start
            print(
                f"  speed, x real time: ours {audio_seconds / ours_seconds:,.0f} "
                f"({len(bursts)} streams per block), multimon-ng (C, incl. sox) "
                f"{audio_seconds / theirs_seconds:,.0f}; ratio "
                f"{theirs_seconds / ours_seconds:.2f}"
            )
    items = dtmf_delay.tones(np.random.default_rng(4733))
    dtmf_delay.report(items, dtmf_delay.measure(items))
