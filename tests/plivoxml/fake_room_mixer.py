"""A RoomMixer without an engine: who is in the mix, muted or deaf, and what the room plays
(each play ends when the test says)."""

import asyncio
from collections.abc import Callable

from mediaserver.calls.leg_media import LegMedia
from mediaserver.media.frame import SAMPLE_RATE
from mediaserver.media.port import MediaSink, MediaSource


class FakeRoomMixer:
    rate = SAMPLE_RATE  # what sample_rate() says the room mixes at

    def __init__(self) -> None:
        self.members: list[LegMedia] = []
        self.muted: set[int] = set()
        self.deaf: set[int] = set()
        self.played: list[MediaSource] = []
        self.played_rates: list[int] = []
        self.plays: list[asyncio.Future[bool]] = []
        self.sink: MediaSink | None = None
        self.sink_rate = SAMPLE_RATE
        self.floor_handler: Callable[[LegMedia], None] | None = None
        self.closed = False

    def join(self, media: LegMedia) -> None:
        assert media not in self.members
        self.members.append(media)

    def leave(self, media: LegMedia) -> None:
        self.members.remove(media)
        self.muted.discard(id(media))
        self.deaf.discard(id(media))

    def mute(self, media: LegMedia, muted: bool) -> None:
        (self.muted.add if muted else self.muted.discard)(id(media))

    def deafen(self, media: LegMedia, deaf: bool) -> None:
        (self.deaf.add if deaf else self.deaf.discard)(id(media))

    def play(self, source: MediaSource, sample_rate: int = SAMPLE_RATE) -> "asyncio.Future[bool]":
        self.played.append(source)
        self.played_rates.append(sample_rate)
        self.plays.append(asyncio.get_running_loop().create_future())
        return self.plays[-1]

    def record(self, sink: MediaSink | None, sample_rate: int = SAMPLE_RATE) -> None:
        self.sink = sink
        self.sink_rate = sample_rate

    def sample_rate(self) -> int:
        return self.rate

    def watch_floor(self, handler: Callable[[LegMedia], None] | None) -> None:
        self.floor_handler = handler

    def close(self) -> None:
        assert not self.members
        for play in self.plays:
            if not play.done():
                play.set_result(False)
        self.sink = None
        self.closed = True
