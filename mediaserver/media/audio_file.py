"""Audio files: any WAV (PCM, µ-law, A-law) or MP3 read for playback; WAV or MP3 written for
recording, mono or stereo (one leg per channel), appearing atomically under its final name.

Decoding and MP3 encoding go through PyAV (FFmpeg); WAV is written with the stdlib `wave`.
These calls block: callers run them off the event loop (the recorder buffers per tick).
"""

import os
import wave
from pathlib import Path
from typing import Protocol

import av
import numpy as np

from audiocodecs.pcm import Pcm16

FORMATS = ("wav", "mp3")


class AudioFileError(Exception):
    """A file that cannot be read or a format that cannot be written."""


def read_audio(path: Path | str, sample_rate: int = 8000) -> Pcm16:
    """The whole file, downmixed to mono int16 at `sample_rate`."""
    try:
        with av.open(str(path)) as container:
            resampler = av.AudioResampler(format="s16", layout="mono", rate=sample_rate)
            chunks = [
                out.to_ndarray().reshape(-1)
                for frame in container.decode(audio=0)
                for out in resampler.resample(frame)
            ]
            chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
    except (av.error.FFmpegError, IndexError, ValueError) as error:
        raise AudioFileError(f"cannot read audio from {path}: {error}") from error
    return np.concatenate(chunks).astype(np.int16) if chunks else np.zeros(0, np.int16)


class _Encoder(Protocol):
    def write(self, interleaved: Pcm16) -> None: ...

    def finish(self) -> None: ...


class _WavEncoder:
    def __init__(self, path: Path, sample_rate: int, channels: int) -> None:
        self._file = wave.open(str(path), "wb")  # noqa: SIM115 (closed in finish)
        self._file.setnchannels(channels)
        self._file.setsampwidth(2)
        self._file.setframerate(sample_rate)

    def write(self, interleaved: Pcm16) -> None:
        self._file.writeframes(interleaved.astype("<i2").tobytes())

    def finish(self) -> None:
        self._file.close()


class _Mp3Encoder:
    def __init__(self, path: Path, sample_rate: int, channels: int) -> None:
        self._container = av.open(str(path), "w", format="mp3")
        self._stream = self._container.add_stream("libmp3lame", rate=sample_rate)
        self._stream.layout = "stereo" if channels == 2 else "mono"
        self._channels = channels
        self._sample_rate = sample_rate

    def write(self, interleaved: Pcm16) -> None:
        frame = av.AudioFrame.from_ndarray(
            interleaved.reshape(1, -1), format="s16", layout=self._stream.layout.name
        )
        frame.sample_rate = self._sample_rate
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def finish(self) -> None:
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        self._container.close()


class AudioWriter:
    """Streams frames into `<final name>.partial`; `close()` fsyncs and renames it into place.

    A crash leaves only the .partial file, never a truncated file under the final name.
    """

    def __init__(self, path: Path | str, sample_rate: int = 8000, channels: int = 1) -> None:
        self.path = Path(path)
        file_format = self.path.suffix.lower().lstrip(".")
        if file_format not in FORMATS:
            raise AudioFileError(f"cannot write {file_format!r}: choose {' or '.join(FORMATS)}")
        if channels not in (1, 2):
            raise AudioFileError("recordings are mono or stereo")
        self.channels = channels
        self.sample_rate = sample_rate
        self.samples_written = 0
        self._partial = self.path.with_name(self.path.name + ".partial")
        encoder = _WavEncoder if file_format == "wav" else _Mp3Encoder
        self._encoder: _Encoder = encoder(self._partial, sample_rate, channels)
        self._closed = False

    def write(self, *channels: Pcm16) -> None:
        """One frame per channel (one array when mono, left and right legs when stereo)."""
        if len(channels) != self.channels:
            raise AudioFileError(f"expected {self.channels} channel(s), got {len(channels)}")
        interleaved = np.stack(channels, axis=1).reshape(-1) if self.channels == 2 else channels[0]
        self._encoder.write(np.asarray(interleaved, np.int16))
        self.samples_written += len(channels[0])

    def close(self) -> Path:
        if not self._closed:
            self._closed = True
            self._encoder.finish()
            with open(self._partial, "rb+") as written:
                os.fsync(written.fileno())
            os.replace(self._partial, self.path)
            directory = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(directory)  # the rename itself survives a crash
            finally:
                os.close(directory)
        return self.path
