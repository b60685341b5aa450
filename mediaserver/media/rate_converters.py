"""Resamplers between the engine's 8 kHz and a wideband room's rate, one per signal.

Each converts one continuous signal (what a member sends, what it is sent, what is played to
it alone; a room's sounds, its recording), so each keeps its own filter history
(resampler.py: frame-by-frame output equals one-shot output) and is made the first time that
signal needs converting: a member of a G.711-only room makes none, nor does an Opus member
whose narrowband audio nothing taps.
"""

import enum

from audiocodecs.pcm import Pcm16
from mediaserver.media.resampler import Resampler


class Signal(enum.Enum):
    RECEIVED = "received"  # what the far end sends us
    SENT = "sent"  # what we send it
    PLAYED = "played"  # a source or tones played to it (8 kHz) over what it is sent
    RECORDED = "recorded"  # what goes to a recorder


class RateConverters:
    def __init__(self) -> None:
        self._resamplers: dict[tuple[Signal, int, int], Resampler] = {}

    def convert(self, signal: Signal, pcm: Pcm16, from_rate: int, to_rate: int) -> Pcm16:
        """`pcm` of `signal` at `to_rate`: 20 ms in, 20 ms out."""
        if from_rate == to_rate:
            return pcm
        key = (signal, from_rate, to_rate)
        resampler = self._resamplers.get(key)
        if resampler is None:
            resampler = self._resamplers[key] = Resampler(from_rate, to_rate)
        return resampler.process(pcm)

    def forget(self, signal: Signal) -> None:
        """The signal stopped (a sound ended): its history must not lead into the next one."""
        for key in [key for key in self._resamplers if key[0] is signal]:
            del self._resamplers[key]
