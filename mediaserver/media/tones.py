"""Tone sources: DTMF digit strings (ITU-T Q.23 frequencies) and plain tones, as passive ports."""

import numpy as np

from audiocodecs.pcm import Pcm16
from mediaserver.media.frame import FRAME_SAMPLES, SAMPLE_RATE, frame_samples

LOW_FREQUENCIES = (697.0, 770.0, 852.0, 941.0)
HIGH_FREQUENCIES = (1209.0, 1336.0, 1477.0, 1633.0)
KEYPAD = ("123A", "456B", "789C", "*0#D")
PAUSES_MS = {"w": 500, "W": 1000}  # Plivo's DTMF pause characters
# -7 dBm0 per frequency, the usual sending level (ITU-T Q.23), with 0 dBm0 a sine of RMS
# 3.14 dB below a full-scale sine (G.711's reference): amplitude 32767 * 10**((-7-3.14)/20).
DEFAULT_AMPLITUDE = 32767 * 10 ** ((-7 - 3.14) / 20)


class InvalidDigitError(ValueError):
    """A character that is neither a DTMF digit nor a pause."""


def dtmf_frequencies(digit: str) -> tuple[float, float]:
    for row, keys in enumerate(KEYPAD):
        column = keys.find(digit.upper())
        if column >= 0 and len(digit) == 1:
            return LOW_FREQUENCIES[row], HIGH_FREQUENCIES[column]
    raise InvalidDigitError(f"{digit!r} is not a DTMF digit")


def tone(
    frequencies: tuple[float, ...],
    samples: int,
    amplitude: float,
    start: int = 0,
    sample_rate: int = SAMPLE_RATE,
) -> Pcm16:
    t = (np.arange(samples) + start) / sample_rate
    wave = sum(np.sin(2 * np.pi * f * t) for f in frequencies)
    return np.asarray(np.rint(amplitude * wave), dtype=np.int16)


def render_digits(
    digits: str, tone_ms: int = 100, gap_ms: int = 100, amplitude: float = DEFAULT_AMPLITUDE
) -> Pcm16:
    """The whole digit string as samples; `w` and `W` pause 0.5 s and 1 s."""
    pieces: list[Pcm16] = []
    for character in digits:
        if character in PAUSES_MS:
            pieces.append(np.zeros(PAUSES_MS[character] * SAMPLE_RATE // 1000, np.int16))
            continue
        pieces.append(tone(dtmf_frequencies(character), tone_ms * SAMPLE_RATE // 1000, amplitude))
        pieces.append(np.zeros(gap_ms * SAMPLE_RATE // 1000, np.int16))
    return np.concatenate(pieces) if pieces else np.zeros(0, np.int16)


class SampleSource:
    """Plays prepared samples out frame by frame; the last frame is padded with silence."""

    def __init__(self, samples: Pcm16, sample_rate: int = SAMPLE_RATE) -> None:
        self._samples = samples
        self._position = 0
        self._frame_samples = frame_samples(sample_rate)

    def read_frame(self) -> Pcm16 | None:
        if self._position >= len(self._samples):
            return None
        size = self._frame_samples
        frame = self._samples[self._position : self._position + size]
        self._position += size
        if len(frame) < size:
            frame = np.concatenate([frame, np.zeros(size - len(frame), np.int16)])
        return frame


class DtmfToneSource(SampleSource):
    """In-band DTMF for a digit string (validated up front: a bad digit raises at once)."""

    def __init__(self, digits: str, tone_ms: int = 100, gap_ms: int = 100) -> None:
        super().__init__(render_digits(digits, tone_ms, gap_ms))


class ToneSource:
    """A continuous tone (ringback, test tones), phase-continuous across frames."""

    def __init__(self, frequencies: tuple[float, ...], amplitude: float = 8000.0) -> None:
        self.frequencies = frequencies
        self.amplitude = amplitude
        self._position = 0

    def read_frame(self) -> Pcm16 | None:
        frame = tone(self.frequencies, FRAME_SAMPLES, self.amplitude, self._position)
        self._position += FRAME_SAMPLES
        return frame


class RingbackSource:
    """The ringback tone a caller hears while the far end rings: 440 + 480 Hz, 2 s on and 4 s
    off (the North American cadence, which FreeSWITCH's default us-ring is too)."""

    FREQUENCIES = (440.0, 480.0)
    ON_FRAMES = 2000 // 20
    CYCLE_FRAMES = 6000 // 20

    def __init__(self, amplitude: float = 4000.0) -> None:
        self._tone = ToneSource(self.FREQUENCIES, amplitude)
        self._frame = 0

    def read_frame(self) -> Pcm16 | None:
        on = self._frame % self.CYCLE_FRAMES < self.ON_FRAMES
        self._frame += 1
        frame = self._tone.read_frame()
        return frame if on else np.zeros(FRAME_SAMPLES, np.int16)
