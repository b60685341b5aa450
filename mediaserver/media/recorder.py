"""Recording sinks over AudioWriter: one leg (mono), or two legs on two channels (stereo)."""

import numpy as np

from audiocodecs.pcm import Pcm16
from mediaserver.media.audio_file import AudioWriter
from mediaserver.media.frame import FRAME_SAMPLES


class Recorder:
    """A mono sink: every frame written goes to the file; `close()` makes it appear."""

    def __init__(self, writer: AudioWriter) -> None:
        if writer.channels != 1:
            raise ValueError("a Recorder writes one channel; use StereoRecorder for two legs")
        self._writer = writer

    def write_frame(self, pcm: Pcm16) -> None:
        self._writer.write(pcm)

    @property
    def duration_seconds(self) -> float:
        return self._writer.samples_written / self._writer.sample_rate

    def close(self) -> None:
        self._writer.close()


class StereoRecorder:
    """Two legs, one per channel. Each leg's sink buffers its frame until the tick's pair is
    complete; a leg that sends nothing in a tick is written as silence."""

    def __init__(self, writer: AudioWriter) -> None:
        if writer.channels != 2:
            raise ValueError("a StereoRecorder needs a two-channel writer")
        self._writer = writer
        self._pending: list[Pcm16 | None] = [None, None]
        self.left = _ChannelSink(self, 0)
        self.right = _ChannelSink(self, 1)

    def put(self, channel: int, pcm: Pcm16) -> None:
        if self._pending[channel] is not None:
            self.flush()  # the other leg skipped a tick
        self._pending[channel] = pcm
        if all(frame is not None for frame in self._pending):
            self.flush()

    def flush(self) -> None:
        if all(frame is None for frame in self._pending):
            return
        silence = np.zeros(FRAME_SAMPLES, np.int16)
        left, right = (silence if f is None else f for f in self._pending)
        self._writer.write(left, right)
        self._pending = [None, None]

    def close(self) -> None:
        self.flush()
        self._writer.close()


class _ChannelSink:
    def __init__(self, recorder: StereoRecorder, channel: int) -> None:
        self._recorder = recorder
        self._channel = channel

    def write_frame(self, pcm: Pcm16) -> None:
        self._recorder.put(self._channel, pcm)
