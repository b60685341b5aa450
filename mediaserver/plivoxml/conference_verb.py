"""<Conference> (plivo.md §2.8): the caller becomes a member of the account's room of that
name until it leaves (`*` with hangupOnStar, a kick, the room ending, its own hangup); then
the action URL gets ConferenceName, ConferenceUUID, ConferenceMemberID (and RecordUrl,
RecordingID when recorded), or the next verb runs.

The room's rules (who starts it, what ends it, maxMembers) are calls/conference_room.py's;
here are the member's side of them: waitSound while the room has not started, enter and exit
sounds mixed into the room, digits (hangupOnStar, digitsMatch, relayDTMF to the others),
sendDigits on entry, the room's recording, and callbackUrl's events (enter, exit, digits,
floor, record) with their parameters.

A member refused at maxMembers never enters: its document goes on with the next verb, with a
log entry. floorEvent reports this member taking the floor (media/floor.py decides who holds
it). Transcription is refused (8011) rather than skipped: there is no transcription engine.
"""

import asyncio
import contextlib

from mediaserver.calls.conference_room import (
    ConferenceRoom,
    LeaveReason,
    Member,
    MemberIdentity,
    MemberOptions,
    RoomFullError,
)
from mediaserver.calls.conference_rooms import ConferenceRooms
from mediaserver.calls.leg import Leg
from mediaserver.calls.leg_events import DigitReceived, DigitSource, HoldChanged, LegEvent
from mediaserver.plivoxml.conference_recording import ConferenceRecording, start_recording
from mediaserver.plivoxml.conference_sounds import play_to_room, play_wait_sound
from mediaserver.plivoxml.session import CallSession, DocumentKind, Goto, UnsupportedVerbError
from mediaserver.plivoxml.verbs import Conference


async def run_conference(session: CallSession, verb: Conference) -> Goto | None:
    rooms = _rooms(session, verb)
    leg = session.leg
    if not isinstance(leg, Leg):
        raise UnsupportedVerbError("<Conference> needs a SIP call leg")
    options = _options(verb, rooms.default_max_members)
    try:
        identity = session.identity
        room, member = rooms.enter(
            verb.name, leg, leg.media, options,
            MemberIdentity(identity.from_, identity.to, identity.caller_name),
            account=identity.sub_account,
        )  # fmt: skip
    except RoomFullError as error:
        session.debug(f"<Conference> {error}: not admitted (maxMembers {options.max_members})")
        return None
    membership = _Membership(session, verb, rooms, room, member)
    await membership.run()
    if session.leg.ended:
        return None
    return _report(session, verb, membership)


def _rooms(session: CallSession, verb: Conference) -> ConferenceRooms:
    if verb.transcription_type or verb.transcription_url:
        raise UnsupportedVerbError("<Conference> transcription is not supported yet")
    rooms = session.services.conferences
    if rooms is None:
        raise UnsupportedVerbError("<Conference> has no rooms here")
    return rooms


def _options(verb: Conference, default_max_members: int) -> MemberOptions:
    return MemberOptions(
        muted=verb.muted,
        start_on_enter=verb.start_conference_on_enter,
        end_on_exit=verb.end_conference_on_exit,
        stay_alone=verb.stay_alone,
        max_members=default_max_members if verb.max_members is None else verb.max_members,
        time_limit=verb.time_limit,
    )


class _Membership:
    """One member's stay in the room, from admission to its exit event."""

    def __init__(
        self,
        session: CallSession,
        verb: Conference,
        rooms: ConferenceRooms,
        room: ConferenceRoom,
        member: Member,
    ) -> None:
        self._session = session
        self._verb = verb
        self._rooms = rooms
        self._room = room
        self.member = member
        self.recording: ConferenceRecording | None = None
        self._typed = ""  # digits pressed since the last digitsMatch
        self._entered_room = False

    async def run(self) -> None:
        leg = self._session.leg
        leg.collect_digits(True)
        subscription = leg.subscribe(self._hear)
        try:
            await self._wait_for_start()
            if not self.member.left.done():
                self._entered()
                await asyncio.shield(self.member.left)
        finally:
            subscription.cancel()
            leg.collect_digits(False)
            reason = LeaveReason.HUNG_UP if leg.ended else LeaveReason.DOCUMENT
            self._room.leave(self.member, reason)
            self._exited()

    async def _wait_for_start(self) -> None:
        """waitSound until the room starts (or the member leaves first)."""
        member = self.member
        if member.entered.done() or self._verb.wait_sound is None:
            await asyncio.wait((member.entered, member.left), return_when="FIRST_COMPLETED")
            return
        music = self._session.background(play_wait_sound(self._session, self._verb.wait_sound))
        try:
            await asyncio.wait((member.entered, member.left), return_when="FIRST_COMPLETED")
        finally:
            music.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await music
            self._session.leg.stop_playing()

    def _entered(self) -> None:
        verb, session = self._verb, self._session
        self._entered_room = True
        self._room_sound(verb.enter_sound)
        if verb.send_digits:
            session.background(session.leg.send_digits(verb.send_digits))
        self._callback("enter")
        if verb.floor_event:
            self._room.on_floor(self._floor_taken)
        if verb.record:
            self._record()

    def _exited(self) -> None:
        if not self._entered_room:
            return
        if not self._room.closed:
            self._room_sound(self._verb.exit_sound)
        self._callback("exit")

    def _room_sound(self, sound: str) -> None:
        if sound:
            self._rooms.spawn(play_to_room(self._session, self._room, sound))

    def _record(self) -> None:
        """The room's recording: this member starts it, or joins the one running."""
        recording = self._room.recording
        if not isinstance(recording, ConferenceRecording):
            recording = start_recording(
                self._rooms, self._room, self._session.services.recordings,
                self._verb.record_file_format, self._verb.record_when_alone,
                self._session.leg.call_uuid,
            )  # fmt: skip
        self.recording = recording
        recording.listeners.append(lambda params: self._callback("record", params))
        self._callback("record", recording.parameters())

    def _floor_taken(self, holder: Member) -> None:
        """floorEvent: this member has become the one speaking."""
        if holder is self.member and not holder.left.done():
            self._callback("floor")

    def _hear(self, event: LegEvent) -> None:
        if isinstance(event, HoldChanged):
            self._room.hold(self.member, event.on_hold)
        if not isinstance(event, DigitReceived) or self.member.left.done():
            return
        if event.digit == "*" and self._verb.hangup_on_star:
            self._room.leave(self.member, LeaveReason.STAR)
            return
        self._match(event.digit)
        if self._verb.relay_dtmf and event.source is not DigitSource.INBAND:
            # In-band tones reach the others in the mix already; events and INFO do not.
            for other in self._room.others(self.member):
                self._session.background(other.leg.send_digits(event.digit))

    def _match(self, digit: str) -> None:
        """digitsMatch: a pattern the member's latest digits end with is reported once."""
        if not self._verb.digits_match:
            return
        self._typed += digit
        for pattern in self._verb.digits_match:
            if self._typed.endswith(pattern):
                self._typed = ""
                self._callback("digits", {"ConferenceDigitsMatch": pattern})
                return

    def _callback(self, action: str, extra: dict[str, str] | None = None) -> None:
        verb = self._verb
        if verb.callback_url is None:
            return
        params = {"ConferenceAction": action, **self.identity(), **(extra or {})}
        self._session.notify(verb.callback_url, verb.callback_method, params)

    def identity(self) -> dict[str, str]:
        return {
            "ConferenceName": self._room.name,
            "ConferenceUUID": self._room.conference_uuid,
            "ConferenceMemberID": self.member.member_id,
        }


def _report(session: CallSession, verb: Conference, membership: _Membership) -> Goto | None:
    """The action URL hears the member left (redirect: its document replaces this one)."""
    if verb.action is None:
        return None
    params = membership.identity()
    if membership.recording is not None:
        params |= {
            "RecordUrl": membership.recording.url,
            "RecordingID": membership.recording.recording_id,
        }
    if verb.redirect:
        return Goto(verb.action, verb.method, DocumentKind.ACTION, params)
    session.notify(verb.action, verb.method, params)
    return None
