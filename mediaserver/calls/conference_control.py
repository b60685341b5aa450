"""ConferenceControl: live rooms as the REST API's Conference routes see them (plivo.md §4.2).

One control sees one account's rooms (a room's name is scoped to its account, plivo.md
§2.8): list them, describe one (its members, muted, deaf, join times), and act on members
named by id, by a comma-separated list of ids, or `all`: kick, mute/unmute, deaf/undeaf, play
or speak to them and stop, hang up their calls; play or speak to the whole room, record it,
hang up a room or every room. Answers are frozen values; a room or member that does not exist
raises ConferenceNotFoundError (the REST API answers 404 with its message).

A kicked member leaves the room and its document goes on (the Conference verb's action, else
its next verb); a hung-up member's call ends 4000 Normal Hangup with source "API Request".
Speech is sound like any other: synthesised by the calls' TTS engine, then played.
"""

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from audiocodecs.pcm import Pcm16
from mediaserver.calls.conference_room import ConferenceRoom, LeaveReason, Member
from mediaserver.calls.conference_rooms import ConferenceRooms
from mediaserver.calls.hangup_cause import Cause, HangupSource
from mediaserver.media.frame import SAMPLE_RATE
from mediaserver.media.port import MediaSink
from mediaserver.media.tones import SampleSource
from mediaserver.media.tts import TtsEngine

ALL_MEMBERS = "all"


class ConferenceNotFoundError(LookupError):
    """No live room by that name, or no member by that id in it."""


class NoSpeechError(RuntimeError):
    """Speak was asked of a control built without a TTS engine."""


@dataclass(frozen=True, slots=True)
class MemberView:
    member_id: str
    call_uuid: str
    from_number: str
    to_number: str
    caller_name: str
    direction: str
    muted: bool
    deaf: bool
    join_time: float  # Unix epoch seconds


@dataclass(frozen=True, slots=True)
class RoomView:
    conference_name: str
    conference_uuid: str
    conference_run_time: int  # whole seconds since the room opened
    members: tuple[MemberView, ...]

    @property
    def conference_member_count(self) -> int:
        return len(self.members)


class ConferenceControl:
    def __init__(
        self, rooms: ConferenceRooms, account: str | None = None, tts: TtsEngine | None = None
    ) -> None:
        self._rooms = rooms
        self._account = account  # a sub-account's auth_id; None: the main account
        self._tts = tts

    def names(self) -> list[str]:
        return self._rooms.names(self._account)

    def room(self, name: str) -> RoomView:
        room = self.find(name)
        members = tuple(_view(member) for member in room.members.values())
        run_time = int(time.time() - room.created)
        return RoomView(room.name, room.conference_uuid, run_time, members)

    def member_ids(self, name: str, member_ids: str) -> list[str]:
        """The ids `member_ids` names in the room (`all`: every member's)."""
        return [member.member_id for member in _members(self.find(name), member_ids)]

    def kick(self, name: str, member_ids: str) -> list[str]:
        room = self.find(name)
        return _each(room, member_ids, lambda member: room.leave(member, LeaveReason.KICKED))

    def mute(self, name: str, member_ids: str, muted: bool = True) -> list[str]:
        room = self.find(name)
        return _each(room, member_ids, lambda member: room.mute(member, muted))

    def deafen(self, name: str, member_ids: str, deaf: bool = True) -> list[str]:
        room = self.find(name)
        return _each(room, member_ids, lambda member: room.deafen(member, deaf))

    def hang_up_members(self, name: str, member_ids: str) -> list[str]:
        return _each(self.find(name), member_ids, _hang_up)

    def hang_up(self, name: str) -> None:
        """Every member's call ends; the room closes with the last."""
        self.hang_up_members(name, ALL_MEMBERS)

    def hang_up_all(self) -> None:
        for name in self.names():
            self.hang_up(name)

    def play(self, name: str, member_ids: str, samples: Pcm16) -> "asyncio.Future[bool]":
        """`all`: mixed into the whole room (one future); else to each member named, mixed
        over what it hears (each its own source; the future of the last)."""
        room = self.find(name)
        if member_ids == ALL_MEMBERS:
            return room.play(SampleSource(samples))
        members = _members(room, member_ids)
        plays = [m.media.play(SampleSource(samples)) for m in members]
        return plays[-1]

    async def speak(
        self, name: str, member_ids: str, text: str, voice: str, language: str
    ) -> "asyncio.Future[bool]":
        """`text` spoken as `play` plays (the room or each member named); who is named is
        checked before the speech is synthesised. Raises the TTS engine's errors
        (UnsupportedLanguageError, SynthesisError)."""
        _members(self.find(name), member_ids)
        if self._tts is None:
            raise NoSpeechError("no text-to-speech engine here")
        samples = await self._tts.synthesize(text, voice, language, SAMPLE_RATE)
        return self.play(name, member_ids, samples)

    def stop_playing(self, name: str, member_ids: str) -> bool:
        """Stop what plays (or speaks) to the members named, or to the room for `all`
        (False: nothing played to the room)."""
        room = self.find(name)
        if member_ids == ALL_MEMBERS:
            return room.stop_playing()
        for member in _members(room, member_ids):
            member.media.stop_playing()
        return True

    def record(self, name: str, sink: MediaSink | None) -> None:
        """The room's whole mix into `sink` (None: stop)."""
        self.find(name).record_mix(sink)

    def find(self, name: str) -> ConferenceRoom:
        """The account's live room called `name`."""
        room = self._rooms.get(name, self._account)
        if room is None:
            raise ConferenceNotFoundError(f"conference {name} not found")
        return room


def _members(room: ConferenceRoom, member_ids: str) -> list[Member]:
    if member_ids == ALL_MEMBERS:
        return list(room.members.values())
    wanted = [member_id.strip() for member_id in member_ids.split(",")]
    missing = [member_id for member_id in wanted if member_id not in room.members]
    if missing:
        raise ConferenceNotFoundError(f"member {','.join(missing)} not in {room.name}")
    return [room.members[member_id] for member_id in wanted]


def _hang_up(member: Member) -> None:
    member.leg.hangup(Cause.NORMAL_CLEARING, HangupSource.API_REQUEST)


def _each(room: ConferenceRoom, member_ids: str, action: Callable[[Member], None]) -> list[str]:
    """Act on each member named (all found first, so a bad id changes nothing)."""
    members = _members(room, member_ids)
    for member in members:
        action(member)
    return [member.member_id for member in members]


def _view(member: Member) -> MemberView:
    leg, identity = member.leg, member.identity
    return MemberView(
        member_id=member.member_id,
        call_uuid=leg.call_uuid,
        from_number=identity.from_,
        to_number=identity.to,
        caller_name=identity.caller_name,
        direction=leg.direction,
        muted=member.muted,
        deaf=member.deaf,
        join_time=member.join_time,
    )
