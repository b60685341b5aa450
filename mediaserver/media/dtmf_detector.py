"""In-band DTMF detection (ITU-T Q.23/Q.24 criteria), over every stream of a tick at once.

Each 20 ms tick holds two analysis windows of 20 ms, 10 ms apart (the second half of the last
tick with the first half of this one, then this tick), so a 40 ms tone always fills two whole
windows while a tone under 20 ms fills none. For all windows of all streams, ONE matrix product
with a precomputed basis gives, at the eight DTMF frequencies:
- the power over the whole window (Hann-weighted DFT: Goertzel at exact frequencies);
- the complex DFT over two 15 ms sub-windows 5 ms apart. Their phase difference measures each
  tone's frequency offset (unambiguous within ±100 Hz), and their magnitudes must agree, which
  refuses a window that a tone only partly fills.
A window is a hit when the strongest low- and high-group tones are above the floor, beat the
rest of their group by RELATIVE_PEAK_DB, have an acceptable twist, carry most of the
window's energy, lie within MAX_DEVIATION of their nominal frequency (accept 1.5 %, reject
3.5 %), fill both sub-windows, and show no strong second harmonic of the high tone. A digit is
reported once, after two consecutive hit windows, and again only after four windows without it:
ITU-T Q.24 bridges a break of up to 10 ms inside a tone and separates presses by 40 ms of pause.

Nearly every window holds no digit, so a screen runs first on all of them: the power at the
eight frequencies alone, in float32, with every test above loosened by a margin the full test
cannot fall inside (floor, dominance, twist, energy fraction at the worst scalloping). Only the
windows it passes get the full product and tests.
"""

import numpy as np
import numpy.typing as npt

from audiocodecs.pcm import Pcm16
from mediaserver.media.frame import FRAME_SAMPLES, SAMPLE_RATE
from mediaserver.media.tones import HIGH_FREQUENCIES, KEYPAD, LOW_FREQUENCIES

Mask = npt.NDArray[np.bool_]
Floats = npt.NDArray[np.float64]
Indices = npt.NDArray[np.intp]

DIGITS = "".join(KEYPAD)  # index = low row * 4 + high column

# 697 Hz and 770 Hz lie 1.5 bins apart: a 770 Hz tone 1.5 % low leaks into the 697 Hz bin
# at -9.4 dB, so a higher margin loses such tones in noise.
RELATIVE_PEAK_DB = 6.0
# Q.24 asks to accept -8 to +4 dB; the thresholds sit outside so that leakage and noise on a
# tone pair at the limit cannot push it out (the weak tone of a -8 dB pair at SNR 15 dB
# measures down to -10.5 dB).
MIN_TWIST_DB = -11.0
MAX_TWIST_DB = 6.0
TONE_ENERGY_FRACTION = 0.85
MAX_DEVIATION = 0.025  # between Q.24's 1.5 % (must accept) and 3.5 % (must reject)
MAX_SUBWINDOW_IMBALANCE_DB = 2.0
CONFIRM_WINDOWS = 2
# Hysteresis: a press ends after more windows without it than it took to start. ITU-T Q.24: a
# break of up to 10 ms inside a tone is not the end of the digit, a pause of 40 ms is. A window
# fails when 10 ms of it or more is silent (its sub-windows then differ by far more than
# MAX_SUBWINDOW_IMBALANCE_DB), so a 10 ms break spoils at most the three windows that start
# in the 30 ms from 20 ms before it to 10 ms after its start, and a 40 ms pause at least four
# (those starting in the 40 ms from 10 ms before it). Measured over every digit, level, twist
# and alignment, with noise at SNR 15 dB or without: breaks of 10 ms, at most 3 windows in a
# row without the digit; pauses of 40 ms, at least 4.
RELEASE_WINDOWS = 4
SECOND_HARMONIC_DB = 20.0
HOP = FRAME_SAMPLES // 2
SUBWINDOW = 3 * FRAME_SAMPLES // 4  # 15 ms
SUBWINDOW_SHIFT = FRAME_SAMPLES - SUBWINDOW  # 5 ms
FREQUENCIES = np.array(LOW_FREQUENCIES + HIGH_FREQUENCIES)
# The floor: a -42 dBm0 tone (the weaker tone of a -30 dBm0 pair with -8 dB twist is at -37),
# G.711's 0 dBm0 being a sine 3.14 dB below full scale.
_FLOOR_AMPLITUDE = 32767 * 10 ** ((-42 - 3.14) / 20)
# The screen's looseness: 1 dB on every power comparison (float32 rounding is ~1e-6), and the
# Hann window's power response at the largest offset the full test accepts (MAX_DEVIATION of
# 1633 Hz, 0.82 bins: -3.9 dB), by which the full test may raise a tone's energy.
_SCREEN_MARGIN = 10 ** (1 / 10)
# The same limits as power ratios, as the tests compare them.
_PEAK_RATIO = 10 ** (RELATIVE_PEAK_DB / 10)
_MIN_TWIST_RATIO = 10 ** (MIN_TWIST_DB / 10)
_MAX_TWIST_RATIO = 10 ** (MAX_TWIST_DB / 10)


def _dft_columns(
    window: Floats, start: int, frequencies: Floats = FREQUENCIES
) -> npt.NDArray[np.complex128]:
    """Rows: samples of a 20 ms window; columns: `frequencies` over `window` at `start`."""
    n = np.arange(len(window))
    columns = np.zeros((FRAME_SAMPLES, len(frequencies)), np.complex128)
    phase = np.exp(-2j * np.pi * frequencies[None, :] * n[:, None] / SAMPLE_RATE)
    columns[start : start + len(window)] = window[:, None] * phase
    return columns


class DtmfDetector:
    def __init__(self) -> None:
        full = np.hanning(FRAME_SAMPLES)
        part = np.hanning(SUBWINDOW)
        self._basis = np.concatenate(
            [
                _dft_columns(full, 0),
                _dft_columns(part, 0),
                _dft_columns(part, SUBWINDOW_SHIFT),
                _dft_columns(full, 0, 2 * FREQUENCIES[4:]),
            ],
            axis=1,
        )
        self._window = full
        full_window = self._basis[:, :8]
        self._screen_basis = np.concatenate([full_window.real, full_window.imag], axis=1).astype(
            np.float32
        )
        self._screen_window_squared = (full**2).astype(np.float32)
        self._worst_scalloping = float(_hann_response(MAX_DEVIATION * FREQUENCIES[-1:])[0])
        # Parseval: a Hann-windowed sine of amplitude A has DFT power (A*sum(w)/2)^2 and
        # energy A^2*sum(w^2)/2; this turns the first into the second.
        self._power_to_energy = 2 * np.sum(full**2) / np.sum(full) ** 2
        self._floor = (_FLOOR_AMPLITUDE * np.sum(full) / 2) ** 2
        # Phase a tone at exactly its nominal frequency advances over the sub-window shift.
        self._nominal_advance = 2 * np.pi * FREQUENCIES * SUBWINDOW_SHIFT / SAMPLE_RATE
        # Per stream, one row of each array: the last half frame (the next window's start)
        # and the press being confirmed: candidate digit, hit and miss runs, digit reported.
        self._rows: dict[int, int] = {}
        self._free_rows: list[int] = []
        self._tails = np.zeros((0, HOP), np.int16)
        self._candidate = np.zeros(0, np.int8)
        self._hits = np.zeros(0, np.int16)
        self._misses = np.zeros(0, np.int16)
        self._reported = np.zeros(0, np.int8)
        self._last_detected: tuple[list[int], Indices] = ([], np.zeros(0, np.intp))

    def detect(self, stream_ids: list[int], frames: Pcm16) -> list[str | None]:
        """One 20 ms frame per stream (rows of `frames`); the digits newly confirmed."""
        rows = self._rows_for(stream_ids)
        self._last_detected = (stream_ids, rows)
        overlapped = np.concatenate([self._tails[rows], frames[:, :HOP]], axis=1)
        self._tails[rows] = frames[:, HOP:]
        hits = self._classify_indices(np.concatenate([overlapped, frames]))
        first = self._confirm(rows, hits[: len(rows)])
        second = self._confirm(rows, hits[len(rows) :])
        found = np.where(first >= 0, first, second)
        digits: list[str | None] = [None] * len(rows)
        for row in np.flatnonzero(found >= 0):
            digits[row] = DIGITS[found[row]]
        return digits

    def held(self) -> dict[int, str]:
        """Of the streams the last detect() ran on, those whose key is down now (its digit
        reported, not yet let go), with its digit."""
        stream_ids, rows = self._last_detected
        reported = self._reported[rows]
        return {stream_ids[i]: DIGITS[reported[i]] for i in np.flatnonzero(reported >= 0)}

    def forget(self, stream_id: int) -> str | None:
        """Drop a stream's state; returns the digit whose key was down then, if any."""
        row = self._rows.pop(stream_id, None)
        if row is None:
            return None
        reported = int(self._reported[row])
        self._reset(np.array([row]))
        self._free_rows.append(row)
        return DIGITS[reported] if reported >= 0 else None

    def hold(self, stream_id: int, digit: str) -> None:
        """Take `digit`'s key as down on a stream whose detection starts again: while its tone
        goes on it is the press already reported, not a new one (released as any press is)."""
        [row] = self._rows_for([stream_id])
        self._reported[row] = DIGITS.index(digit)

    def classify(self, windows: Pcm16) -> list[str | None]:
        """The digit each 20 ms window holds by itself, without confirmation."""
        return [DIGITS[i] if i >= 0 else None for i in self._classify_indices(windows)]

    def _classify_indices(self, windows: Pcm16) -> npt.NDArray[np.int8]:
        """Per window, the digit's index in DIGITS, or -1."""
        result = np.full(len(windows), -1, np.int8)
        candidates = np.flatnonzero(self._screen(windows))
        if candidates.size:
            result[candidates] = self._classify_fully(windows[candidates])
        return result

    def _screen(self, windows: Pcm16) -> Mask:
        """Windows that may hold a digit: the full tests on the eight powers, each loosened
        by _SCREEN_MARGIN (and the energy test by the worst scalloping)."""
        samples = windows.astype(np.float32)
        projections = samples @ self._screen_basis
        power = projections[:, :8] ** 2 + projections[:, 8:] ** 2
        low, high = power[:, :4], power[:, 4:]
        low_peak, high_peak = low.max(axis=1), high.max(axis=1)
        floor = self._floor / _SCREEN_MARGIN
        ok = (low_peak > floor) & (high_peak > floor)
        relative = _PEAK_RATIO / _SCREEN_MARGIN
        ok &= _dominates(low, low_peak, relative) & _dominates(high, high_peak, relative)
        twist = high_peak / np.maximum(low_peak, 1e-9)
        ok &= twist >= _MIN_TWIST_RATIO / _SCREEN_MARGIN
        ok &= twist <= _MAX_TWIST_RATIO * _SCREEN_MARGIN
        energy = np.square(samples, out=samples) @ self._screen_window_squared
        tone_energy = (low_peak + high_peak) * self._power_to_energy / self._worst_scalloping
        ok &= tone_energy * _SCREEN_MARGIN >= TONE_ENERGY_FRACTION * energy
        result: Mask = ok
        return result

    def _classify_fully(self, windows: Pcm16) -> npt.NDArray[np.int8]:
        """The digit's index per window, or -1: every test, in float64."""
        samples = windows.astype(np.float64)
        projections = samples @ self._basis
        power = np.abs(projections[:, :8]) ** 2
        rows = np.arange(len(windows))
        low_index, high_index = power[:, :4].argmax(axis=1), power[:, 4:].argmax(axis=1) + 4
        low_peak, high_peak = power[rows, low_index], power[rows, high_index]
        ok = (low_peak > self._floor) & (high_peak > self._floor)
        ok &= _dominates(power[:, :4], low_peak, _PEAK_RATIO)
        ok &= _dominates(power[:, 4:], high_peak, _PEAK_RATIO)
        twist_db = 10 * np.log10(np.maximum(high_peak, 1e-9) / np.maximum(low_peak, 1e-9))
        ok &= (twist_db >= MIN_TWIST_DB) & (twist_db <= MAX_TWIST_DB)
        low_offset, low_ok = self._offset_and_steadiness(projections, rows, low_index)
        high_offset, high_ok = self._offset_and_steadiness(projections, rows, high_index)
        ok &= low_ok & high_ok
        # The tones' true energy: the power at the nominal frequency, undone the window's
        # response at the measured offset (scalloping), turned into energy (Parseval).
        tone_energy = (
            low_peak / _hann_response(low_offset) + high_peak / _hann_response(high_offset)
        ) * self._power_to_energy
        energy = np.sum((samples * self._window) ** 2, axis=1)
        ok &= tone_energy >= TONE_ENERGY_FRACTION * np.maximum(energy, 1e-9)
        # Talk-off: voiced speech reaches DTMF frequencies as pitch harmonics, so it has energy
        # at twice them too; a DTMF tone has next to none. Only the high group is checked: twice
        # a low frequency (1394-1882 Hz) lies within a high tone's main lobe. The reference is
        # the pair's power, not the high tone's: a weak high tone (twist -8 dB) in white noise
        # would otherwise fail on the noise alone.
        second = np.abs(projections[rows, 24 + high_index - 4]) ** 2
        ok &= second < (low_peak + high_peak) * 10 ** (-SECOND_HARMONIC_DB / 10)
        digit = low_index * 4 + high_index - 4
        result: npt.NDArray[np.int8] = np.where(ok, digit, -1).astype(np.int8)
        return result

    def _offset_and_steadiness(
        self, projections: npt.NDArray[np.complex128], rows: Indices, index: Indices
    ) -> tuple[Floats, Mask]:
        """Each tone's offset from nominal (Hz), and whether it is on frequency and fills both
        sub-windows alike."""
        early, late = projections[rows, 8 + index], projections[rows, 16 + index]
        advance = np.angle(late * np.conj(early)) - self._nominal_advance[index]
        advance = (advance + np.pi) % (2 * np.pi) - np.pi
        offset_hz: Floats = advance * SAMPLE_RATE / (2 * np.pi * SUBWINDOW_SHIFT)
        on_frequency = np.abs(offset_hz) <= MAX_DEVIATION * FREQUENCIES[index]
        ratio = np.maximum(np.abs(late), 1e-9) / np.maximum(np.abs(early), 1e-9)
        steady = np.abs(20 * np.log10(ratio)) <= MAX_SUBWINDOW_IMBALANCE_DB
        result: Mask = on_frequency & steady
        return offset_hz, result

    def _confirm(self, rows: Indices, hit: npt.NDArray[np.int8]) -> npt.NDArray[np.int8]:
        """One window's hits for `rows`; returns the digit indices newly confirmed, or -1."""
        present = hit >= 0
        same = present & (hit == self._candidate[rows])
        hits = np.where(same, self._hits[rows] + 1, present.astype(np.int16))
        misses = np.where(present, 0, self._misses[rows] + 1)
        # The key was let go after RELEASE_WINDOWS windows without a digit.
        reported = np.where(misses >= RELEASE_WINDOWS, -1, self._reported[rows])
        fire = present & (hits >= CONFIRM_WINDOWS) & (hit != reported)
        self._candidate[rows] = hit
        self._hits[rows] = hits
        self._misses[rows] = misses
        self._reported[rows] = np.where(fire, hit, reported)
        result: npt.NDArray[np.int8] = np.where(fire, hit, -1).astype(np.int8)
        return result

    def _rows_for(self, stream_ids: list[int]) -> Indices:
        for stream_id in stream_ids:
            if stream_id not in self._rows:
                self._rows[stream_id] = self._new_row()
        return np.fromiter((self._rows[i] for i in stream_ids), np.intp, len(stream_ids))

    def _new_row(self) -> int:
        if self._free_rows:
            return self._free_rows.pop()
        row = len(self._candidate)
        grow = max(16, row)
        self._tails = np.concatenate([self._tails, np.zeros((grow, HOP), np.int16)])
        self._candidate = np.concatenate([self._candidate, np.full(grow, -1, np.int8)])
        self._hits = np.concatenate([self._hits, np.zeros(grow, np.int16)])
        self._misses = np.concatenate([self._misses, np.zeros(grow, np.int16)])
        self._reported = np.concatenate([self._reported, np.full(grow, -1, np.int8)])
        self._free_rows.extend(range(row + grow - 1, row, -1))
        return row

    def _reset(self, rows: Indices) -> None:
        self._tails[rows] = 0
        self._candidate[rows] = -1
        self._hits[rows] = 0
        self._misses[rows] = 0
        self._reported[rows] = -1


def _hann_response(offset_hz: Floats) -> Floats:
    """Power response of the 20 ms Hann window at `offset_hz` from its centre, relative to
    the centre: (sinc(x) / (1 - x^2))^2 with x the offset in DFT bins."""
    bins = np.minimum(np.abs(offset_hz) * FRAME_SAMPLES / SAMPLE_RATE, 0.9)
    result: Floats = (np.sinc(bins) / (1 - bins**2)) ** 2
    return result


def _dominates(
    group: npt.NDArray[np.floating], peak: npt.NDArray[np.floating], ratio: float
) -> Mask:
    """The group's strongest power beats the runner-up by `ratio`."""
    others = np.sort(group, axis=1)[:, -2]
    result: Mask = peak > others * ratio
    return result
