"""Resamplers between the engine's 8 kHz and a wideband room's rate, one per signal.

Each converts one continuous signal (what a member sends, what it is sent, what is played to
it alone; a room's sounds, its recording), so each keeps its own filter history
(resampler.py: frame-by-frame output equals one-shot output) and is made the first time that
signal needs converting: a member of a G.711-only room makes none, nor does an Opus member
whose narrowband audio nothing taps.

The signals every wideband tick converts (what G.711 members send and are sent) go through
`convert_rows`: all members' frames of one signal in one RowResampler product, each member's
filter history kept here between ticks.
"""

import enum
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from audiocodecs.pcm import Pcm16
from mediaserver.media.resampler import Resampler, RowResampler

Floats = npt.NDArray[np.float64]


class Signal(enum.Enum):
    RECEIVED = "received"  # what the far end sends us
    SENT = "sent"  # what we send it
    PLAYED = "played"  # a source or tones played to it (8 kHz) over what it is sent
    RECORDED = "recorded"  # what goes to a recorder


class RateConverters:
    def __init__(self) -> None:
        self._resamplers: dict[tuple[Signal, int, int], Resampler] = {}
        self._histories: dict[Signal, Floats] = {}  # for convert_rows

    def convert(self, signal: Signal, pcm: Pcm16, from_rate: int, to_rate: int) -> Pcm16:
        """`pcm` of `signal` at `to_rate`: 20 ms in, 20 ms out."""
        if from_rate == to_rate:
            return pcm
        key = (signal, from_rate, to_rate)
        resampler = self._resamplers.get(key)
        if resampler is None:
            resampler = self._resamplers[key] = Resampler(from_rate, to_rate)
        return resampler.process(pcm)

    def history(self, signal: Signal, samples: int) -> Floats:
        """The filter history of `signal` for convert_rows (silence the first time)."""
        history = self._histories.get(signal)
        return np.zeros(samples) if history is None or len(history) != samples else history

    def keep(self, signal: Signal, history: Floats) -> None:
        self._histories[signal] = history


def convert_rows(
    resampler: RowResampler, signal: Signal, converters: Sequence[RateConverters], pcm: Pcm16
) -> Pcm16:
    """Row i of `pcm` is the next frame of `signal` of the owner of converters[i]."""
    size = resampler.history_samples
    histories = np.stack([owner.history(signal, size) for owner in converters])
    converted, kept = resampler.process(pcm, histories)
    for owner, history in zip(converters, kept, strict=True):
        owner.keep(signal, history)
    return converted
