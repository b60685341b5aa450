"""Conference mixing: N-way, each member hears everyone but itself ("minus-one").

All members' frames arrive as one (members x samples) int16 stack from the batch tick. The
rows of every room are laid out one room after another, so one `np.add.reduceat` sums each
room (in int32, so nothing wraps), and each member's own contribution is subtracted from its
room's total: two vectorised passes over all members of all rooms, whatever their number,
instead of N sums of N-1 frames per room. Only then is the result clipped to int16
(saturation): clipping before the subtraction would leave a loud member hearing itself
removed from an already clipped sum.

A muted member contributes nothing (it still hears); a deaf member receives silence (it still
speaks); room sounds (enter/exit beeps, a play to the room) are added to the room's total, so
every member hears them over the conversation and the room's recording holds them too.

Each room mixes at its own rate (room_rate): 8 kHz while every member speaks G.711, 16 kHz
as soon as one speaks a wideband codec, so that member's upper band reaches the others
instead of being cut at 3.4 kHz by an 8 kHz mix. The batch tick mixes the rooms of each
rate in one pass of their own (a stack per rate). A room's sounds and its recorder run at the
rate they were given (8 kHz unless said), converted at the room's edge (rate_converters.py)
when the room's rate differs.
"""

import asyncio
import itertools
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from audiocodecs.pcm import Pcm16
from mediaserver.media.floor import FloorTracker
from mediaserver.media.frame import SAMPLE_RATE, WIDEBAND_RATE, frame_samples
from mediaserver.media.port import MediaSink, MediaSource
from mediaserver.media.rate_converters import RateConverters, Signal
from mediaserver.media.stream import MediaStream

_INT16_MIN = -32768
_INT16_MAX = 32767
_conference_ids = itertools.count(1)

Wide = npt.NDArray[np.int32]


def mix_minus_one(frames: Pcm16) -> Pcm16:
    """Row i of the result is the sum of every row but i, clipped to int16."""
    wide = frames.astype(np.int32)
    total = wide.sum(axis=0, dtype=np.int32)
    return saturate(total[np.newaxis, :] - wide)


def mix_all(frames: Pcm16) -> Pcm16:
    """The sum of every row, clipped: what a recorder of the whole conference hears."""
    return saturate(frames.astype(np.int32).sum(axis=0, dtype=np.int32))


def saturate(wide: Wide) -> Pcm16:
    clipped: Pcm16 = np.clip(wide, _INT16_MIN, _INT16_MAX).astype(np.int16)
    return clipped


def room_totals(contributions: Wide, room_starts: list[int], extra: Wide) -> Wide:
    """The sum of each room's rows (rows grouped by room, room r starting at row
    room_starts[r]), plus each room's `extra` row (its sounds): (rooms x samples)."""
    totals: Wide = np.add.reduceat(contributions, room_starts, axis=0, dtype=np.int32)
    return totals + extra


def minus_own(totals: Wide, room_of_row: npt.NDArray[np.intp], contributions: Wide) -> Pcm16:
    """What each member hears: its room's total without its own contribution, saturated."""
    return saturate(totals[room_of_row] - contributions)


def room_rate(members: list[MediaStream]) -> int:
    """The rate a room mixes at: wideband as soon as one member's codec samples faster than
    8 kHz (its RTP clock says so: Opus is 48 kHz, RFC 7587 §4.1), else 8 kHz."""
    wideband = any(stream.format.clock_rate > SAMPLE_RATE for stream in members)
    return WIDEBAND_RATE if wideband else SAMPLE_RATE


@dataclass(frozen=True, slots=True)
class ConferenceStatistics:
    conference_id: int
    members: int
    muted: int
    deaf: int
    sounds: int
    recording: bool
    sample_rate: int


class RoomSound:
    """A source played to the whole room, in frames at `sample_rate`; its future says True
    when it ran out."""

    def __init__(
        self, source: MediaSource, done: "asyncio.Future[bool]", sample_rate: int = SAMPLE_RATE
    ) -> None:
        self.source = source
        self.done = done
        self.sample_rate = sample_rate

    def finish(self, ran_out: bool) -> None:
        if not self.done.done():
            self.done.set_result(ran_out)


class Conference:
    """A set of streams mixed together on every tick. Membership changes through the engine."""

    def __init__(self) -> None:
        self.conference_id = next(_conference_ids)
        self.members: list[MediaStream] = []
        self.muted: set[int] = set()  # stream ids not mixed in
        self.deaf: set[int] = set()  # stream ids that receive silence
        self.sounds: list[RoomSound] = []
        self.sink: MediaSink | None = None  # the room's recording
        self.sink_rate = SAMPLE_RATE  # the rate `sink` takes
        self.sample_rate = SAMPLE_RATE  # the rate the room mixes at (follow_rate)
        self._converters = RateConverters()
        self.floor: FloorTracker | None = None  # who speaks, when someone asked
        self.closed = False

    def add(self, stream: MediaStream) -> None:
        if stream in self.members:
            return
        self.members.append(stream)
        stream.in_conference = True

    def remove(self, stream: MediaStream) -> None:
        if stream in self.members:
            self.members.remove(stream)
            stream.in_conference = False
        self.muted.discard(stream.stream_id)
        self.deaf.discard(stream.stream_id)

    def speaks(self, stream: MediaStream) -> bool:
        return stream.stream_id not in self.muted

    def follow_rate(self) -> int:
        """Re-decide the room's rate from its members (one joined, left or changed codec)."""
        rate = room_rate(self.members)
        if rate != self.sample_rate:
            self.sample_rate = rate
            self._converters = RateConverters()
        return rate

    def sound_frame(self) -> Wide:
        """This tick's frame of every room sound, summed, at the room's rate; finished sounds
        leave the room. The sounds of another rate than the room's are summed first and
        their sum converted, once (a rate's converter carries on from sound to sound)."""
        frame: Wide = np.zeros(frame_samples(self.sample_rate), np.int32)
        for rate in {sound.sample_rate for sound in self.sounds}:
            summed = self._sounds_at(rate)
            if rate == self.sample_rate:
                frame += summed
            else:
                pcm = saturate(summed)
                frame += self._converters.convert(Signal.PLAYED, pcm, rate, self.sample_rate)
        return frame

    def _sounds_at(self, sample_rate: int) -> Wide:
        summed: Wide = np.zeros(frame_samples(sample_rate), np.int32)
        for sound in [sound for sound in self.sounds if sound.sample_rate == sample_rate]:
            pcm = sound.source.read_frame()
            if pcm is None:
                self.sounds.remove(sound)
                sound.finish(True)
                continue
            summed += pcm
        return summed

    def record_frame(self, total: Wide) -> None:
        """The room's whole mix of this tick to its recorder, at the rate the recorder takes."""
        if self.sink is not None:
            pcm = saturate(total)
            rate = self.sample_rate
            self.sink.write_frame(
                self._converters.convert(Signal.RECORDED, pcm, rate, self.sink_rate)
            )

    def stop_sounds(self) -> None:
        for sound in self.sounds:
            sound.finish(False)
        self.sounds.clear()

    def statistics(self) -> ConferenceStatistics:
        return ConferenceStatistics(
            conference_id=self.conference_id,
            members=len(self.members),
            muted=len(self.muted),
            deaf=len(self.deaf),
            sounds=len(self.sounds),
            recording=self.sink is not None,
            sample_rate=self.sample_rate,
        )


@dataclass(frozen=True, slots=True)
class RoomMix:
    """One tick of every room: the rows that get a mix, and what each of them hears."""

    rows: list[int]
    heard: Pcm16  # (len(rows) x samples)


@dataclass(slots=True)
class _Layout:
    """The tick's members grouped room after room, with what the mix needs of each."""

    rooms: list[Conference] = field(default_factory=list)
    streams: list[MediaStream] = field(default_factory=list)  # row by row
    starts: list[int] = field(default_factory=list)  # each room's first row in `rows`
    rows: list[int] = field(default_factory=list)  # rows of the tick's stack
    speaking: list[bool] = field(default_factory=list)
    deaf: list[bool] = field(default_factory=list)

    def add(
        self, conference: Conference, members: list[MediaStream], row_of: dict[int, int]
    ) -> None:
        self.rooms.append(conference)
        self.starts.append(len(self.rows))
        for stream in members:
            self.streams.append(stream)
            self.rows.append(row_of[stream.stream_id])
            self.speaking.append(conference.speaks(stream))
            self.deaf.append(stream.stream_id in conference.deaf)

    def room_of_row(self) -> npt.NDArray[np.intp]:
        sizes = np.diff([*self.starts, len(self.rows)])
        return np.repeat(np.arange(len(self.starts)), sizes)


def mix_rooms(
    conferences: list[Conference],
    row_of: dict[int, int],
    inputs: Pcm16,
    active: npt.NDArray[np.bool_],
) -> RoomMix:
    """Every room's minus-one mixes in one pass; rooms record their whole mix as they go.
    `inputs` holds the rows of every member, frames at the rate of all of these rooms."""
    layout = _Layout()
    for conference in conferences:
        members = [s for s in conference.members if s.stream_id in row_of]
        if members:
            layout.add(conference, members, row_of)
    if not layout.rows:
        return RoomMix([], np.zeros((0, inputs.shape[1]), np.int16))
    speaks = np.array(layout.speaking) & active[layout.rows]
    contributions: Wide = inputs[layout.rows].astype(np.int32) * speaks[:, np.newaxis]
    sounds = np.stack([conference.sound_frame() for conference in layout.rooms])
    totals = room_totals(contributions, layout.starts, sounds)
    heard = minus_own(totals, layout.room_of_row(), contributions)
    heard[np.array(layout.deaf)] = 0
    for index, conference in enumerate(layout.rooms):
        conference.record_frame(totals[index])
    _follow_floors(layout, contributions)
    return RoomMix(layout.rows, heard)


def _follow_floors(layout: _Layout, contributions: Wide) -> None:
    """Each room that tracks its floor gets its members' levels of this tick."""
    watched = [index for index, room in enumerate(layout.rooms) if room.floor is not None]
    if not watched:
        return
    levels = np.abs(contributions).mean(axis=1).tolist()
    ends = [*layout.starts[1:], len(layout.rows)]
    for index in watched:
        tracker = layout.rooms[index].floor
        assert tracker is not None
        start, end = layout.starts[index], ends[index]
        tracker.follow(layout.streams[start:end], levels[start:end])
