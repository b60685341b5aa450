"""Conference mixing: N-way, each member hears everyone but itself ("minus-one").

All members' frames arrive as one (members x samples) int16 stack from the batch tick; the
sum is taken once in int32 and each member's own frame subtracted, so the cost is two
vectorised passes whatever the number of members, instead of N sums of N-1 frames.
"""

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from audiocodecs.pcm import Pcm16
from mediaserver.media.stream import MediaStream

_INT16_MIN = -32768
_INT16_MAX = 32767
_conference_ids = itertools.count(1)


def mix_minus_one(frames: Pcm16) -> Pcm16:
    """Row i of the result is the sum of every row but i, clipped to int16."""
    wide = frames.astype(np.int32)
    total = wide.sum(axis=0, dtype=np.int32)
    mixed: npt.NDArray[np.int32] = total[np.newaxis, :] - wide
    return np.clip(mixed, _INT16_MIN, _INT16_MAX).astype(np.int16)


def mix_all(frames: Pcm16) -> Pcm16:
    """The sum of every row, clipped: what a recorder of the whole conference hears."""
    total: npt.NDArray[np.int32] = frames.astype(np.int32).sum(axis=0, dtype=np.int32)
    mixed: Pcm16 = np.clip(total, _INT16_MIN, _INT16_MAX).astype(np.int16)
    return mixed


@dataclass(frozen=True, slots=True)
class ConferenceStatistics:
    conference_id: int
    members: int


class Conference:
    """A set of streams mixed together on every tick. Membership changes through the engine."""

    def __init__(self) -> None:
        self.conference_id = next(_conference_ids)
        self.members: list[MediaStream] = []
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

    def statistics(self) -> ConferenceStatistics:
        return ConferenceStatistics(conference_id=self.conference_id, members=len(self.members))
