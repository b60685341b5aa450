"""The tick's wideband rows: the members of wideband rooms, at their room's rate.

Every channel keeps its 8 kHz row in the tick's stacks, which the rest of the tick reads
(in-band DTMF detection, a stream's recorder, the stacked G.711 encode). A channel running
at the wideband rate (a member of a wideband room, mixer.py room_rate) has a row here too,
holding what it receives and what it is sent at that rate, and the conversions between the
two rows happen here, only where something needs them:

- received: an Opus member's frame is decoded at 16 kHz straight into this row (narrowed
  into its 8 kHz row only while something taps it there); a G.711 member's 8 kHz frame,
  decoded with all the others in one table lookup, is widened into it;
- sent: the room's mix (and what is played to the member alone) lands here; an Opus member
  encodes it as it is, a G.711 member (or one with a recorder) gets it narrowed.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from audiocodecs.pcm import Pcm16
from mediaserver.media.batch_channel import BatchChannel
from mediaserver.media.frame import SAMPLE_RATE, WIDEBAND_RATE, frame_samples
from mediaserver.media.mixer import saturate
from mediaserver.media.rate_converters import Signal, convert_rows
from mediaserver.media.resampler import RowResampler

_WIDEN = RowResampler(SAMPLE_RATE, WIDEBAND_RATE)
_NARROW = RowResampler(WIDEBAND_RATE, SAMPLE_RATE)


@dataclass(slots=True)
class WideRows:
    rows: list[int]  # the channel rows at the wideband rate, in channel order
    index_of_row: dict[int, int]  # channel row -> row here
    index_of_stream: dict[int, int]  # stream id -> row here (what the mix looks members up by)
    inputs: Pcm16  # (len(rows) x wideband frame)
    outputs: Pcm16

    @classmethod
    def of(cls, channels: Sequence[BatchChannel]) -> "WideRows":
        rows = [row for row, channel in enumerate(channels) if channel.wide]
        shape = (len(rows), frame_samples(WIDEBAND_RATE))
        return cls(
            rows=rows,
            index_of_row={row: index for index, row in enumerate(rows)},
            index_of_stream={channels[row].stream.stream_id: i for i, row in enumerate(rows)},
            inputs=np.zeros(shape, np.int16),
            outputs=np.zeros(shape, np.int16),
        )

    def receive(self, channels: Sequence[BatchChannel], inputs: Pcm16) -> None:
        """Fill in what the decode left at the other rate (see the module's docstring)."""
        g711 = self._indexes(channels, _speaks_g711)
        if g711:
            rows = self._rows(g711)
            widened = self._convert(_WIDEN, Signal.RECEIVED, channels, rows, inputs[rows])
            self.inputs[g711] = widened
        tapped = self._indexes(channels, _opus_tapped_at_8khz)
        if tapped:
            rows = self._rows(tapped)
            frames = self.inputs[tapped]
            inputs[rows] = self._convert(_NARROW, Signal.RECEIVED, channels, rows, frames)

    def play(self, channel: BatchChannel, row: int, frame: Pcm16, over: bool) -> None:
        """An 8 kHz frame played to a wideband member alone: mixed over what it is sent
        (`over`), or instead of it."""
        index = self.index_of_row[row]
        wide = channel.widen(Signal.PLAYED, frame)
        if over:
            self.outputs[index] = saturate(self.outputs[index].astype(np.int32) + wide)
        else:
            self.outputs[index] = wide

    def send(self, channels: Sequence[BatchChannel], outputs: Pcm16) -> None:
        """Narrow what is sent into the 8 kHz rows that need it: a G.711 encode, a recorder."""
        narrowed = self._indexes(channels, _sends_at_8khz)
        if narrowed:
            rows = self._rows(narrowed)
            frames = self.outputs[narrowed]
            outputs[rows] = self._convert(_NARROW, Signal.SENT, channels, rows, frames)

    def encoded_frame(self, channel: BatchChannel, row: int, outputs: Pcm16) -> Pcm16:
        """What a channel encoding alone sends this tick, at its codec's rate."""
        if channel.codec_rate == SAMPLE_RATE:
            narrow: Pcm16 = outputs[row]
            return narrow
        at_codec_rate: Pcm16 = self.outputs[self.index_of_row[row]]
        return at_codec_rate

    def _indexes(
        self, channels: Sequence[BatchChannel], chosen: Callable[[BatchChannel], bool]
    ) -> list[int]:
        return [index for index, row in enumerate(self.rows) if chosen(channels[row])]

    def _rows(self, indexes: list[int]) -> list[int]:
        return [self.rows[index] for index in indexes]

    def _convert(
        self,
        resampler: RowResampler,
        signal: Signal,
        channels: Sequence[BatchChannel],
        rows: list[int],
        frames: Pcm16,
    ) -> Pcm16:
        return convert_rows(resampler, signal, [channels[row].converters for row in rows], frames)


def _speaks_g711(channel: BatchChannel) -> bool:
    """Its codec runs at 8 kHz only: what it sends and is sent crosses the rates here."""
    return channel.codec_rate == SAMPLE_RATE


def _tapped_at_8khz(channel: BatchChannel) -> bool:
    return channel.stream.detects_inband() or channel.stream.sink is not None


def _opus_tapped_at_8khz(channel: BatchChannel) -> bool:
    return not _speaks_g711(channel) and _tapped_at_8khz(channel)


def _sends_at_8khz(channel: BatchChannel) -> bool:
    return _speaks_g711(channel) or channel.stream.sink is not None
