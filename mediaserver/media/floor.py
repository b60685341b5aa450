"""The floor of a conference room: who is speaking, for Plivo's floorEvent (plivo.md §2.8;
FreeSWITCH's conference reports the same as "floor-change").

Each tick the mix gives every member's level (mean absolute sample of what it put into the
mix, so a muted member never holds the floor). The loudest member above SPEECH_LEVEL becomes
the floor holder once it has been the loudest for HOLD_TICKS ticks in a row, so a cough or a
click does not move the floor; a silence keeps it where it was.
"""

from collections.abc import Callable

from mediaserver.media.stream import MediaStream

# About -40 dBFS: well above a line's noise, well below speech (mean |sample| of speech
# at a normal level is some thousands).
SPEECH_LEVEL = 300.0
HOLD_TICKS = 10  # 200 ms

FloorHandler = Callable[[MediaStream], None]


class FloorTracker:
    def __init__(self, handler: FloorHandler) -> None:
        self._handler = handler
        self.holder: int | None = None  # stream id
        self._candidate: int | None = None
        self._ticks = 0

    def follow(self, members: list[MediaStream], levels: list[float]) -> None:
        """One tick of the room's members and their levels."""
        loudest = max(range(len(members)), key=levels.__getitem__, default=None)
        if loudest is None or levels[loudest] < SPEECH_LEVEL:
            self._candidate, self._ticks = None, 0
            return
        stream = members[loudest]
        if stream.stream_id != self._candidate:
            self._candidate, self._ticks = stream.stream_id, 0
        self._ticks += 1
        if self._ticks == HOLD_TICKS and stream.stream_id != self.holder:
            self.holder = stream.stream_id
            self._handler(stream)
