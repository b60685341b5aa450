"""Voice activity as a sink port (WebRTC's VAD), for silence timeouts and machine detection."""

import webrtcvad

from audiocodecs.pcm import Pcm16
from mediaserver.media.frame import FRAME_MS, SAMPLE_RATE


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

    def write_frame(self, pcm: Pcm16) -> None:
        speech = bool(self._vad.is_speech(pcm.astype("<i2").tobytes(), SAMPLE_RATE))
        if speech:
            self._quiet_frames = 0
            self.is_speech = True
            self.speech_seconds += FRAME_MS / 1000
            self.silence_seconds = 0.0
            return
        self._quiet_frames += 1
        self.silence_seconds += FRAME_MS / 1000
        if self._quiet_frames > self.hangover_frames:
            self.is_speech = False
