"""Voice activity as a sink port (WebRTC's VAD), for silence timeouts and machine detection.

webrtcvad alone keeps calling steady line hiss (about -40 dBm0) speech for seconds after
real speech, its noise model adapting slowly. So a frame counts as speech only when webrtcvad
says so AND it stands NOISE_MARGIN_DB above the line's noise floor, taken as the quietest
frame of the last second (speech has pauses between words, so that minimum stays low while
someone talks, and rises to the hiss within a second after they stop).
"""

from collections import deque

import numpy as np
import webrtcvad

from audiocodecs.pcm import Pcm16
from mediaserver.media.frame import FRAME_MS, SAMPLE_RATE

NOISE_WINDOW_FRAMES = 1000 // FRAME_MS
NOISE_MARGIN_DB = 9.0
# Below this a frame is silence whatever it holds: -55 dBm0, with G.711's 0 dBm0 a sine of
# RMS 3.14 dB below full scale.
SILENCE_FLOOR_DB = -55.0
_FULL_SCALE_SINE_RMS = 32767 / np.sqrt(2)


def frame_level_dbm0(pcm: Pcm16) -> float:
    rms = float(np.sqrt(np.mean(pcm.astype(np.float64) ** 2)))
    return 20 * float(np.log10(max(rms, 1e-3) / _FULL_SCALE_SINE_RMS)) + 3.14


class VoiceActivityDetector:
    """Feed 20 ms frames; `is_speech` follows with a hangover, `silence_seconds` counts up.

    `aggressiveness` 0 (least) to 3 (most eager to call audio non-speech), as webrtcvad's.
    A hangover of a few frames keeps short pauses between words inside the speech.
    """

    def __init__(self, aggressiveness: int = 2, hangover_frames: int = 10) -> None:
        self._vad = webrtcvad.Vad(aggressiveness)
        self.hangover_frames = hangover_frames
        self.is_speech = False
        self.silence_seconds = 0.0
        self.speech_seconds = 0.0
        self._quiet_frames = 0
        self._levels: deque[float] = deque(maxlen=NOISE_WINDOW_FRAMES)

    def write_frame(self, pcm: Pcm16) -> None:
        if self._frame_is_speech(pcm):
            self._quiet_frames = 0
            self.is_speech = True
            self.speech_seconds += FRAME_MS / 1000
            self.silence_seconds = 0.0
            return
        self._quiet_frames += 1
        self.silence_seconds += FRAME_MS / 1000
        if self._quiet_frames > self.hangover_frames:
            self.is_speech = False

    def _frame_is_speech(self, pcm: Pcm16) -> bool:
        # webrtcvad sees every frame, so its own noise model keeps adapting.
        voiced = bool(self._vad.is_speech(pcm.astype("<i2").tobytes(), SAMPLE_RATE))
        level = frame_level_dbm0(pcm)
        self._levels.append(level)
        return voiced and level >= max(SILENCE_FLOOR_DB, min(self._levels) + NOISE_MARGIN_DB)
