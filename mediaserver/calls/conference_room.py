"""A conference room: its members, who is in the mix, and when the room ends.

The rules are Plivo's <Conference> (plivo.md §2.8), which come from FreeSWITCH's member flags
(PF drove `conference room@plivo` with mute, moderator, mintwo, endconf):
- a room *starts* when a member with startConferenceOnEnter joins; members who join before
  that wait outside the mix (their script plays them the waitSound) and enter it then;
- maxMembers refuses a member beyond it;
- a member leaving with endConferenceOnExit ends the room, and so does the last member left
  with stayAlone=false (FreeSWITCH `mintwo`: below two members after others were there);
- the room's timeLimit (set by the member that opened it) ends it;
- an ended room takes every member out (their documents go on), and is forgotten once empty.

The room knows legs only as `CallControl` plus their `LegMedia`, and media only as a
`RoomMixer`; the XML side (plivoxml/conference_verb.py) drives it and reports its events.
"""

import asyncio
import enum
import itertools
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from audiocodecs.pcm import Pcm16
from mediaserver.calls.call_control import CallControl
from mediaserver.calls.deadlines import NamedTimers
from mediaserver.calls.leg_media import LegMedia
from mediaserver.calls.room_mixer import RoomMixer
from mediaserver.media.frame import SAMPLE_RATE
from mediaserver.media.port import MediaSink, MediaSource
from mediaserver.store.conference_records import ConferenceRecord, MemberRecord


class LeaveReason(enum.Enum):
    HUNG_UP = "hangup"  # the member's call ended
    STAR = "star"  # hangupOnStar
    KICKED = "kicked"  # ConferenceControl.kick
    ROOM_ENDED = "room ended"  # endConferenceOnExit, stayAlone=false, a hang-up of the room
    TIME_LIMIT = "time limit"  # the room's timeLimit
    DOCUMENT = "document"  # the member's script stopped (a transfer, the leg ended)


@dataclass(frozen=True, slots=True)
class MemberOptions:
    muted: bool = False
    start_on_enter: bool = True
    end_on_exit: bool = False
    stay_alone: bool = True
    max_members: int = 20
    time_limit: int = 86400  # seconds; the room's, when this member opens it


@dataclass(frozen=True, slots=True)
class MemberIdentity:
    """The member's call as its webhooks name it (§3 From, To, CallerName): what the REST
    API's Conference/ shows of each member."""

    from_: str
    to: str
    caller_name: str = ""


class Member:
    def __init__(
        self,
        member_id: str,
        leg: CallControl,
        media: LegMedia,
        options: MemberOptions,
        identity: MemberIdentity | None = None,
    ) -> None:
        self.member_id = member_id
        self.leg = leg
        self.media = media
        self.options = options
        self.identity = identity or MemberIdentity(leg.from_number, leg.to_number)
        self.muted = options.muted
        self.deaf = False
        self.on_hold = False  # a member on hold sends music or noise: it drops out of the mix
        self.join_time = time.time()
        self.in_mix = False
        loop = asyncio.get_running_loop()
        self.entered: asyncio.Future[None] = loop.create_future()  # the mix took it
        self.left: asyncio.Future[LeaveReason] = loop.create_future()


class RoomFullError(Exception):
    """maxMembers are in the room already."""


class ConferenceRoom:
    def __init__(
        self,
        name: str,
        mixer: RoomMixer,
        timers: NamedTimers,
        on_empty: Callable[[], None],
        account: str | None = None,
    ) -> None:
        self.name = name
        self.account = account  # the sub-account whose room it is; None: the main account's
        self.conference_uuid = str(uuid.uuid4())
        self.created = time.time()
        self._mixer = mixer
        self._timers = timers
        self._on_empty = on_empty
        self._member_ids = itertools.count(1)
        self.members: dict[str, Member] = {}
        self.departed: list[MemberRecord] = []  # for the room's record, once it closes
        self.started = False
        self.ended = False
        self.closed = False
        self.on_close: list[Callable[[], None]] = []  # e.g. its recording's end
        self.recording: MediaSink | None = None
        self.floor_listeners: list[Callable[[Member], None]] = []
        self._sounds: set[_StoppableSource] = set()

    def admit(
        self,
        leg: CallControl,
        media: LegMedia,
        options: MemberOptions,
        identity: MemberIdentity | None = None,
    ) -> Member:
        """A new member: in the mix at once if the room has started (or this member starts
        it), else waiting for a member that starts it."""
        if self.ended:
            raise RoomFullError(f"conference {self.name} has ended")
        if len(self.members) >= options.max_members:
            raise RoomFullError(f"conference {self.name} has {len(self.members)} members")
        if not self.members:
            self._timers.after("time limit", options.time_limit, self._time_limit_reached)
        member = Member(str(next(self._member_ids)), leg, media, options, identity)
        self.members[member.member_id] = member
        if options.start_on_enter and not self.started:
            self.started = True
            for waiting in list(self.members.values()):
                self._enter_mix(waiting)
        elif self.started:
            self._enter_mix(member)
        return member

    def leave(self, member: Member, reason: LeaveReason) -> None:
        """Take `member` out (once); the room may end because of it."""
        if self.members.pop(member.member_id, None) is None:
            return
        if member.in_mix:
            self._mixer.leave(member.media)
            member.in_mix = False
        if not member.left.done():
            member.left.set_result(reason)
        self.departed.append(_member_record(member, reason))
        if not self.ended and self._ends_after(member):
            self.end(LeaveReason.ROOM_ENDED)
        if not self.members:
            self._close()

    def _ends_after(self, leaving: Member) -> bool:
        """endConferenceOnExit, or one member left alone who may not stay alone."""
        if leaving.options.end_on_exit:
            return True
        alone = list(self.members.values())
        return len(alone) == 1 and not alone[0].options.stay_alone

    def end(self, reason: LeaveReason) -> None:
        """Every member out; the room closes with the last."""
        self.ended = True
        for member in list(self.members.values()):
            self.leave(member, reason)
        self._close()

    def mute(self, member: Member, muted: bool) -> None:
        member.muted = muted
        if member.in_mix:
            self._mixer.mute(member.media, muted or member.on_hold)

    def hold(self, member: Member, on_hold: bool) -> None:
        member.on_hold = on_hold
        if member.in_mix:
            self._mixer.mute(member.media, member.muted or on_hold)

    def deafen(self, member: Member, deaf: bool) -> None:
        member.deaf = deaf
        if member.in_mix:
            self._mixer.deafen(member.media, deaf)

    def play(self, source: MediaSource, sample_rate: int = SAMPLE_RATE) -> "asyncio.Future[bool]":
        """Mixed into what every member in the room hears (frames at `sample_rate`), until it
        ends or is stopped."""
        sound = _StoppableSource(source)
        self._sounds.add(sound)
        played = self._mixer.play(sound, sample_rate)
        played.add_done_callback(lambda _: self._sounds.discard(sound))
        return played

    def stop_playing(self) -> bool:
        """End every sound playing to the room (False: none was)."""
        playing = bool(self._sounds)
        for sound in self._sounds:
            sound.stopped = True
        return playing

    def record_mix(self, sink: MediaSink | None, sample_rate: int = SAMPLE_RATE) -> None:
        """The room's whole mix into `sink` (None: stop), in frames at `sample_rate`."""
        self.recording = sink
        self._mixer.record(sink, sample_rate)

    def mix_rate(self) -> int:
        """The rate the room mixes at with its members of now: 8 kHz, or 16 kHz with a
        wideband member."""
        return self._mixer.sample_rate()

    def on_floor(self, listener: Callable[[Member], None]) -> None:
        """Tell `listener` each member that takes the floor (floorEvent)."""
        if not self.floor_listeners:
            self._mixer.watch_floor(self._floor_taken)
        self.floor_listeners.append(listener)

    def _floor_taken(self, media: LegMedia) -> None:
        holder = next((m for m in self.members.values() if m.media is media), None)
        if holder is not None:
            for listener in list(self.floor_listeners):
                listener(holder)

    def record(self) -> ConferenceRecord:
        """The room's record so far (whole once it has closed)."""
        return ConferenceRecord(
            self.conference_uuid, self.name, self.created, time.time(), tuple(self.departed)
        )

    def others(self, member: Member) -> list[Member]:
        return [other for other in self.members.values() if other is not member]

    def _enter_mix(self, member: Member) -> None:
        self._mixer.join(member.media)
        member.in_mix = True
        if member.muted or member.on_hold:
            self._mixer.mute(member.media, True)
        if member.deaf:
            self._mixer.deafen(member.media, True)
        if not member.entered.done():
            member.entered.set_result(None)

    def _time_limit_reached(self) -> None:
        self.ended = True
        for member in list(self.members.values()):
            self.leave(member, LeaveReason.TIME_LIMIT)

    def _close(self) -> None:
        if self.members or self.closed:
            return
        self.ended = self.closed = True
        self._timers.cancel_all()
        self._mixer.close()
        for hook in self.on_close:
            hook()
        self._on_empty()


class _StoppableSource:
    """A room sound that ends at its next frame once stopped (the mix drops a finished
    sound and completes its future)."""

    def __init__(self, source: MediaSource) -> None:
        self._source = source
        self.stopped = False

    def read_frame(self) -> Pcm16 | None:
        return None if self.stopped else self._source.read_frame()


def _member_record(member: Member, reason: LeaveReason) -> MemberRecord:
    leg = member.leg
    return MemberRecord(
        member_id=member.member_id,
        call_uuid=leg.call_uuid,
        from_number=leg.from_number,
        to_number=leg.to_number,
        join_time=member.join_time,
        leave_time=time.time(),
        leave_reason=reason.value,
    )
