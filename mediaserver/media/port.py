"""Passive media ports (the pjmedia pattern): only the media clock pulls and pushes frames."""

from typing import Protocol

from audiocodecs.pcm import Pcm16


class MediaSource(Protocol):
    def read_frame(self) -> Pcm16 | None:
        """The next 20 ms frame (FRAME_SAMPLES at SAMPLE_RATE), or None when finished."""
        ...


class MediaSink(Protocol):
    def write_frame(self, pcm: Pcm16) -> None:
        """Take one 20 ms frame."""
        ...
