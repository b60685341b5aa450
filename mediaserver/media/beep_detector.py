"""A voicemail beep as a sink port: one steady tone, then its end (what Plivo's Wait beep="true"
waits for before a message is left).

Answering machines beep with a single sine, commonly 425-1000 Hz (some up to 2 kHz) for a
quarter to one second. A frame counts as tonal when most of its energy sits in the few FFT
bins around one peak in that band and it is loud enough to be meant; DTMF (two tones of near
equal level) and speech (energy spread over formants) are not. The beep is reported when a
run of tonal frames at one frequency, long enough, ends.
"""

import numpy as np

from audiocodecs.pcm import Pcm16
from mediaserver.media.frame import FRAME_MS, FRAME_SAMPLES, SAMPLE_RATE
from mediaserver.media.vad import frame_level_dbm0

LOWEST_HZ = 300.0
HIGHEST_HZ = 2500.0
MIN_BEEP_MS = 160
PEAK_SHARE = 0.7  # of the frame's energy within PEAK_BINS of the peak
PEAK_BINS = 2
MIN_LEVEL_DBM0 = -35.0
SAME_TONE_HZ = 30.0

_WINDOW = np.hanning(FRAME_SAMPLES)
_FREQUENCIES = np.fft.rfftfreq(FRAME_SAMPLES, 1 / SAMPLE_RATE)
_BAND = (_FREQUENCIES >= LOWEST_HZ) & (_FREQUENCIES <= HIGHEST_HZ)


class BeepDetector:
    def __init__(self) -> None:
        self._run_frames = 0
        self._run_hz = 0.0

    def write_frame(self, pcm: Pcm16) -> bool:
        """Take a frame; True when it ends a beep."""
        tone_hz = _tone_of(pcm)
        if tone_hz is not None and (
            self._run_frames == 0 or abs(tone_hz - self._run_hz) <= SAME_TONE_HZ
        ):
            self._run_frames += 1
            self._run_hz = tone_hz
            return False
        ended_beep = self._run_frames * FRAME_MS >= MIN_BEEP_MS
        self._run_frames = 1 if tone_hz is not None else 0
        self._run_hz = tone_hz or 0.0
        return ended_beep


def _tone_of(pcm: Pcm16) -> float | None:
    """The frequency of the single tone that fills this frame, if one does."""
    if len(pcm) != FRAME_SAMPLES or frame_level_dbm0(pcm) < MIN_LEVEL_DBM0:
        return None
    power = np.abs(np.fft.rfft(pcm.astype(np.float64) * _WINDOW)) ** 2
    total = float(power.sum())
    peak = int(np.argmax(np.where(_BAND, power, 0.0)))
    share = float(power[max(0, peak - PEAK_BINS) : peak + PEAK_BINS + 1].sum()) / max(total, 1e-9)
    return float(_FREQUENCIES[peak]) if share >= PEAK_SHARE else None
