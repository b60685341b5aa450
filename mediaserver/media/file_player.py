"""Playback of decoded audio (files, TTS) as a passive source, with Plivo's loop count."""

import numpy as np

from audiocodecs.pcm import Pcm16
from mediaserver.media.frame import FRAME_SAMPLES


class FilePlayer:
    """`loop` plays the samples that many times; 0 repeats them until the player is removed."""

    def __init__(self, samples: Pcm16, loop: int = 1) -> None:
        if loop < 0:
            raise ValueError("loop must be 0 (forever) or a positive count")
        self._samples = samples
        self._plays_left: int | None = None if loop == 0 else loop
        self._position = 0

    def read_frame(self) -> Pcm16 | None:
        if len(self._samples) == 0 or self._plays_left == 0:
            return None
        frame = np.zeros(FRAME_SAMPLES, np.int16)
        filled = 0
        while filled < FRAME_SAMPLES:
            if self._position >= len(self._samples):
                if self._plays_left is not None:
                    self._plays_left -= 1
                    if self._plays_left == 0:
                        break
                self._position = 0
            chunk = self._samples[self._position : self._position + FRAME_SAMPLES - filled]
            frame[filled : filled + len(chunk)] = chunk
            filled += len(chunk)
            self._position += len(chunk)
        return frame if filled else None
