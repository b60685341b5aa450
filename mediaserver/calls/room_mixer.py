"""A conference room's media: the mix its members' legs meet in, through the media engine.

`RoomMixer` is what a room (conference_room.py) asks of media; `EngineRoomMixer` is one
engine conference. Members join with their leg's media; a member bridged to another leg is
unbridged first (a leg hears one thing: its peer or its room).
"""

import asyncio
from collections.abc import Callable
from typing import Protocol

from mediaserver.calls.leg_media import LegMedia, MediaRefusedError, stream_of
from mediaserver.media.engine import MediaEngine, StreamStateError
from mediaserver.media.frame import SAMPLE_RATE
from mediaserver.media.mixer import ConferenceStatistics
from mediaserver.media.port import MediaSink, MediaSource
from mediaserver.media.stream import MediaStream

FloorHandler = Callable[[LegMedia], None]  # the member's media that took the floor


class RoomMixer(Protocol):
    def join(self, media: LegMedia) -> None: ...
    def leave(self, media: LegMedia) -> None: ...
    def mute(self, media: LegMedia, muted: bool) -> None: ...
    def deafen(self, media: LegMedia, deaf: bool) -> None: ...
    def play(
        self, source: MediaSource, sample_rate: int = SAMPLE_RATE
    ) -> "asyncio.Future[bool]": ...
    def record(self, sink: MediaSink | None, sample_rate: int = SAMPLE_RATE) -> None: ...
    def sample_rate(self) -> int: ...
    def watch_floor(self, handler: FloorHandler | None) -> None: ...
    def close(self) -> None: ...


class EngineRoomMixer:
    def __init__(self, engine: MediaEngine) -> None:
        self._engine = engine
        self._conference = engine.mix([])
        self._media: dict[int, LegMedia] = {}  # by stream id, to name the floor's holder

    def join(self, media: LegMedia) -> None:
        stream = stream_of(media)
        self._media[stream.stream_id] = media
        media.disconnect()
        try:
            self._engine.join_conference(self._conference, stream)
        except StreamStateError as error:
            raise MediaRefusedError(str(error)) from None

    def leave(self, media: LegMedia) -> None:
        if media.is_open:
            stream = stream_of(media)
            self._media.pop(stream.stream_id, None)
            self._engine.leave_conference(self._conference, stream)

    def mute(self, media: LegMedia, muted: bool) -> None:
        if media.is_open:
            self._engine.mute_member(self._conference, stream_of(media), muted)

    def deafen(self, media: LegMedia, deaf: bool) -> None:
        if media.is_open:
            self._engine.deafen_member(self._conference, stream_of(media), deaf)

    def play(self, source: MediaSource, sample_rate: int = SAMPLE_RATE) -> "asyncio.Future[bool]":
        return self._engine.play_to_conference(self._conference, source, sample_rate)

    def record(self, sink: MediaSink | None, sample_rate: int = SAMPLE_RATE) -> None:
        self._engine.record_conference(self._conference, sink, sample_rate)

    def sample_rate(self) -> int:
        """The rate the room mixes at now: wideband with an Opus member (mixer.py)."""
        return self._engine.conference_rate(self._conference)

    def watch_floor(self, handler: FloorHandler | None) -> None:
        if handler is None:
            self._engine.watch_floor(self._conference, None)
            return

        def taken(stream: MediaStream) -> None:
            media = self._media.get(stream.stream_id)
            if media is not None:
                handler(media)

        self._engine.watch_floor(self._conference, taken)

    def close(self) -> None:
        self._engine.close_conference(self._conference)
        self._media.clear()

    def statistics(self) -> ConferenceStatistics:
        return self._conference.statistics()
