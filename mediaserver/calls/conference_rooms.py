"""The conference rooms, by account and name (Plivo scopes a room's name to its account:
plivo.md §2.8, so a sub-account's "standup" is not the main account's), and their counters.
An account is a sub-account's auth_id, or None for the main account.

A room exists from its first member to its last; the XML side enters members through here and
the REST API reaches the same rooms through ConferenceControl.

Work that outlives the member that started it (a room sound fetched from a URL, a recording
being written after the room closed) runs as the rooms' own tasks, awaited by `close`.
"""

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any

from mediaserver.calls.call_control import CallControl
from mediaserver.calls.conference_room import (
    ConferenceRoom,
    LeaveReason,
    Member,
    MemberIdentity,
    MemberOptions,
    RoomFullError,
)
from mediaserver.calls.deadlines import Deadlines, NamedTimers
from mediaserver.calls.leg_media import LegMedia
from mediaserver.calls.room_mixer import RoomMixer
from mediaserver.store.conference_records import ConferenceRecords


class ConferenceRooms:
    def __init__(
        self,
        deadlines: Deadlines,
        new_mixer: Callable[[], RoomMixer],
        records: ConferenceRecords | None = None,
        default_max_members: int = 20,
    ) -> None:
        self._deadlines = deadlines
        self.default_max_members = default_max_members  # for a member that sets none
        self._new_mixer = new_mixer
        self._records = records
        self._rooms: dict[tuple[str | None, str], ConferenceRoom] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self.rooms_opened = 0

    def enter(
        self,
        name: str,
        leg: CallControl,
        media: LegMedia,
        options: MemberOptions,
        identity: MemberIdentity | None = None,
        account: str | None = None,
    ) -> tuple[ConferenceRoom, Member]:
        """Admit the leg to the account's room called `name`, opening it if there is none
        (raises RoomFullError at maxMembers)."""
        room = self._rooms.get((account, name))
        if room is None or room.closed:
            room = self._open(name, account)
        try:
            return room, room.admit(leg, media, options, identity)
        except RoomFullError:
            if not room.members:  # opened for nobody: close it again
                room.end(LeaveReason.ROOM_ENDED)
            raise

    def get(self, name: str, account: str | None = None) -> ConferenceRoom | None:
        return self._rooms.get((account, name))

    def names(self, account: str | None = None) -> list[str]:
        return [name for owner, name in self._rooms if owner == account]

    def spawn(self, work: Coroutine[Any, Any, Any]) -> "asyncio.Task[Any]":
        """Run `work` as the rooms' own task (awaited by `close`, counted meanwhile)."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def close(self) -> None:
        """Every room ended, and the work they left behind finished."""
        for room in list(self._rooms.values()):
            room.end(LeaveReason.ROOM_ENDED)
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def statistics(self) -> dict[str, int]:
        rooms = list(self._rooms.values())
        return {
            "conference_rooms": len(rooms),
            "conference_members": sum(len(room.members) for room in rooms),
            "conference_rooms_opened": self.rooms_opened,
            "conference_tasks": sum(not task.done() for task in self._tasks),
        }

    def _open(self, name: str, account: str | None) -> ConferenceRoom:
        key = (account, name)

        def forget() -> None:
            if self._rooms.get(key) is room:
                del self._rooms[key]
            if self._records is not None:
                self._records.write(room.record())

        timers = NamedTimers(self._deadlines)
        room = ConferenceRoom(name, self._new_mixer(), timers, forget, account)
        self._rooms[key] = room
        self.rooms_opened += 1
        return room
