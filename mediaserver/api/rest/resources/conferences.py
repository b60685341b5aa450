"""Conference/ (plivo.md §4.2): the live rooms of the caller's account, through
ConferenceControl.

List the rooms' names; get one with its members (counts and times as Plivo's decimal strings;
join_time is whole seconds since the member joined); hang up one room or all of them. Act on
`Member/{member_id}/`, where member_id is an id, a comma-separated list of ids or `all`: Kick/,
Mute/, Deaf/ (DELETE undoes), Play/ and Speak/ (mixed over what the members hear; `all`
mixes into the whole room; DELETE stops), and DELETE on the member hangs its call up. Record/
records the whole room into one file (listed with the other recordings), callback_url told of
it once it is stopped or the room closes; transcription is refused naming its parameter.

A room's name is scoped to its account (§2.8): a sub-account reaches only its rooms, and the
main account only its own, by name; another account's room looks like none (404). An unknown
room or member id is a 404 naming it; a bad id among several changes nothing. With
callback_url (Plivo's async mode) the member actions and hang-ups answer "async api spawned"
and POST their result there.
"""

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping
from http import HTTPStatus

from mediaserver.api.rest.api_error import ApiError
from mediaserver.api.rest.parameter import Parameter
from mediaserver.api.rest.resources.calls import HTTP_METHODS
from mediaserver.api.rest.resources.live_calls import (
    RECORDING_CALLBACK,
    TRANSCRIPTION,
    refuse_transcription,
    speech_voice,
)
from mediaserver.api.rest.route import JsonObject, Reply, RestRequest, Route
from mediaserver.api.rest.schema import object_schema, reply_schema
from mediaserver.calls.conference_control import (
    ConferenceControl,
    ConferenceNotFoundError,
    MemberView,
)
from mediaserver.calls.conference_rooms import ConferenceRooms
from mediaserver.media.tts import ESPEAK_VOICES, TtsEngine, UnsupportedLanguageError
from mediaserver.plivoxml.conference_recording import start_recording, stop_recording
from mediaserver.plivoxml.session import RecordingArchive, SoundError, Sounds, Webhooks

_ASYNC = (
    Parameter("callback_url", description="async mode: the result is POSTed here"),
    Parameter("callback_method", default="POST", choices=HTTP_METHODS),
)
_MEMBER = object_schema(
    member_id="string", muted="boolean", deaf="boolean", caller_name="string",
    direction="string", call_uuid="string", join_time="string",
    **{"from": "string", "to": "string"},
)  # fmt: skip
_ROOM_FIELDS = ("conference_name", "conference_run_time", "conference_member_count")
_ROOM = {
    "type": "object",
    "required": ["api_id", *_ROOM_FIELDS, "members"],
    "properties": {
        **{name: {"type": "string"} for name in ("api_id", *_ROOM_FIELDS)},
        "members": {"type": "array", "items": _MEMBER},
    },
}
_SPAWNED = reply_schema(message="string")


def _or_spawned(schema: JsonObject) -> JsonObject:
    return {"anyOf": [schema, _SPAWNED]}


_MEMBERS_ACTED = _or_spawned(reply_schema(message="string", member_id="string"))
# What a member action does: the control's method over the room's name and the member ids.
MemberAction = Callable[[ConferenceControl, str, str], list[str]]


def _unmute(control: ConferenceControl, name: str, member_ids: str) -> list[str]:
    return control.mute(name, member_ids, muted=False)


def _undeafen(control: ConferenceControl, name: str, member_ids: str) -> list[str]:
    return control.deafen(name, member_ids, deaf=False)


# A room recording's callback (§4.2 Record/): the Record* values under the API's names.
_RECORDING_NAMES = {
    "RecordUrl": "record_url",
    "RecordingID": "recording_id",
    "RecordingDuration": "recording_duration",
    "RecordingDurationMs": "recording_duration_ms",
    "RecordingStartMs": "recording_start_ms",
    "RecordingEndMs": "recording_end_ms",
}


class ConferenceResource:
    def __init__(
        self,
        rooms: ConferenceRooms,
        tts: TtsEngine,
        sounds: Sounds,
        recordings: RecordingArchive,
        webhooks: Webhooks,
    ) -> None:
        self._rooms = rooms
        self._tts = tts
        self._sounds = sounds
        self._recordings = recordings
        self._webhooks = webhooks

    def routes(self) -> list[Route]:
        room = "Conference/{conference_name}/"
        member = room + "Member/{member_id}/"
        done = HTTPStatus.NO_CONTENT
        speak = (
            Parameter("text", required=True),
            Parameter("voice", default="WOMAN"),
            Parameter("language", default="en-US", choices=tuple(ESPEAK_VOICES)),
            *_ASYNC,
        )
        record = (
            Parameter("file_format", default="mp3", choices=("mp3", "wav")),
            *RECORDING_CALLBACK,
            *TRANSCRIPTION,
        )
        recording = reply_schema(message="string", recording_id="string", url="string")
        hung_up = _or_spawned(reply_schema(message="string"))
        return [
            Route("GET", "Conference/", self._list, "list the live conference rooms",
                  response=reply_schema(conferences="array")),
            Route("DELETE", "Conference/", self._hang_up_all, "hang up every room",
                  parameters=_ASYNC, response=hung_up),
            Route("GET", room, self._get, "a room and its members", response=_ROOM),
            Route("DELETE", room, self._hang_up, "hang up a room", parameters=_ASYNC,
                  response=hung_up),
            Route("DELETE", member, self._acting("hangup", ConferenceControl.hang_up_members),
                  "hang up members' calls", status=HTTPStatus.ACCEPTED, parameters=_ASYNC,
                  response=_MEMBERS_ACTED),
            Route("POST", member + "Kick/", self._acting("kicked", ConferenceControl.kick),
                  "take members out of the room", status=HTTPStatus.ACCEPTED,
                  parameters=_ASYNC, response=_MEMBERS_ACTED),
            Route("POST", member + "Mute/", self._acting("muted", ConferenceControl.mute),
                  "mute members", status=HTTPStatus.ACCEPTED, parameters=_ASYNC,
                  response=_MEMBERS_ACTED),
            Route("DELETE", member + "Mute/", self._acting("unmuted", _unmute, done),
                  "unmute members", status=done, parameters=_ASYNC),
            Route("POST", member + "Deaf/", self._acting("deaf", ConferenceControl.deafen),
                  "deafen members", status=HTTPStatus.ACCEPTED, parameters=_ASYNC,
                  response=_MEMBERS_ACTED),
            Route("DELETE", member + "Deaf/", self._acting("undeaf", _undeafen, done),
                  "let members hear again", status=done, parameters=_ASYNC),
            Route("POST", member + "Play/", self._play, "play a sound to members or the room",
                  status=HTTPStatus.ACCEPTED,
                  parameters=(Parameter("url", required=True), *_ASYNC),
                  response=_MEMBERS_ACTED),
            Route("DELETE", member + "Play/", self._stop_playing, "stop playing", status=done,
                  parameters=_ASYNC),
            Route("POST", member + "Speak/", self._speak, "speak text to members or the room",
                  status=HTTPStatus.ACCEPTED, parameters=speak, response=_MEMBERS_ACTED),
            Route("DELETE", member + "Speak/", self._stop_playing, "stop speaking",
                  status=done, parameters=_ASYNC),
            Route("POST", room + "Record/", self._record, "record the room",
                  status=HTTPStatus.ACCEPTED, parameters=record, response=recording),
            Route("DELETE", room + "Record/", self._stop_record, "stop recording the room",
                  status=done, parameters=_ASYNC),
        ]  # fmt: skip

    def _list(self, request: RestRequest) -> Reply:
        return Reply(body={"conferences": self._control(request).names()})

    def _get(self, request: RestRequest) -> Reply:
        with _reaching():
            view = self._control(request).room(request.text("conference_name"))
        now = time.time()
        return Reply(
            body={
                "conference_name": view.conference_name,
                "conference_run_time": str(view.conference_run_time),
                "conference_member_count": str(view.conference_member_count),
                "members": [_member(member, now) for member in view.members],
            }
        )

    def _hang_up_all(self, request: RestRequest) -> Reply:
        self._control(request).hang_up_all()
        return self._answer(request, HTTPStatus.OK, {"message": "all conferences hung up"})

    def _hang_up(self, request: RestRequest) -> Reply:
        with _reaching():
            self._control(request).hang_up(request.text("conference_name"))
        return self._answer(request, HTTPStatus.OK, {"message": "conference hung up"})

    def _acting(
        self, message: str, action: MemberAction, status: int = HTTPStatus.ACCEPTED
    ) -> Callable[[RestRequest], Reply]:
        """The handler of a member action; Plivo's `message` in its answer (SDK fixtures
        conferenceMember*Response), with the ids of the members it acted on."""

        def handle(request: RestRequest) -> Reply:
            control, name, ids = self._named(request)
            with _reaching():
                done = action(control, name, ids)
            body = {"message": message, "member_id": ",".join(done)}
            if status == HTTPStatus.NO_CONTENT:
                return self._stopped(request, body)
            return self._answer(request, status, body)

        return handle

    async def _play(self, request: RestRequest) -> Reply:
        control, name, ids = self._named(request)
        url = request.text("url")
        with _reaching():
            control.member_ids(name, ids)  # who is named is checked before the fetch
            try:
                samples = await self._sounds.load(url)
            except SoundError as error:
                raise ApiError.invalid("url", f"{url}: {error}") from None
            control.play(name, ids, samples)
            done = control.member_ids(name, ids)
        return self._queued(request, "play", done)

    async def _speak(self, request: RestRequest) -> Reply:
        control, name, ids = self._named(request)
        voice, language = speech_voice(request)
        with _reaching():
            try:
                await control.speak(name, ids, request.text("text"), voice, language)
            except UnsupportedLanguageError as error:
                raise ApiError.invalid("language", str(error)) from None
            done = control.member_ids(name, ids)
        return self._queued(request, "speak", done)

    def _stop_playing(self, request: RestRequest) -> Reply:
        """Play/ and Speak/ alike: what plays to the members named (the room's sounds, for
        `all`) stops."""
        control, name, ids = self._named(request)
        with _reaching():
            if not control.stop_playing(name, ids):
                raise ApiError.not_found("sound playing to conference", name)
        return self._stopped(request, {"message": "stopped", "member_id": ids})

    def _record(self, request: RestRequest) -> Reply:
        refuse_transcription(request)
        with _reaching():
            room = self._control(request).find(request.text("conference_name"))
        if room.recording is not None:
            raise ApiError.invalid("conference_name", f"{room.name} is being recorded already")
        # Nobody's call asked for it: the recording's call_uuid is the room's own.
        recording = start_recording(
            self._rooms, room, self._recordings, request.text("file_format"), True,
            room.conference_uuid,
        )  # fmt: skip
        url = request.optional_text("callback_url")
        if url is not None:
            method, name = request.text("callback_method"), room.name
            recording.listeners.append(
                lambda params: self._webhooks.notify(url, method, _recorded(name, params))
            )
        body = {"message": "conference recording started", "recording_id": recording.recording_id}
        return Reply(HTTPStatus.ACCEPTED, {**body, "url": recording.url})

    def _stop_record(self, request: RestRequest) -> Reply:
        with _reaching():
            room = self._control(request).find(request.text("conference_name"))
        if not stop_recording(self._rooms, room):
            raise ApiError.not_found("recording of conference", room.name)
        return self._stopped(request, {"message": "conference recording stopped"})

    def _control(self, request: RestRequest) -> ConferenceControl:
        return ConferenceControl(self._rooms, request.caller.sub_account, self._tts)

    def _named(self, request: RestRequest) -> tuple[ConferenceControl, str, str]:
        ids = request.text("member_id")
        return self._control(request), request.text("conference_name"), ids

    def _queued(self, request: RestRequest, sound: str, member_ids: list[str]) -> Reply:
        body = {"message": f"{sound} queued into conference", "member_id": ",".join(member_ids)}
        return self._answer(request, HTTPStatus.ACCEPTED, body)

    def _stopped(self, request: RestRequest, result: Mapping[str, str]) -> Reply:
        """204 No Content; in async mode the result is POSTed to callback_url as well."""
        self._post_result(request, result)
        return Reply(HTTPStatus.NO_CONTENT)

    def _answer(self, request: RestRequest, status: int, body: Mapping[str, str]) -> Reply:
        """The result, or in async mode "async api spawned" (plivo.md §4, Transport)."""
        if self._post_result(request, body):
            return Reply(status, {"message": "async api spawned"})
        return Reply(status, body)

    def _post_result(self, request: RestRequest, result: Mapping[str, str]) -> bool:
        """Async mode: the result to callback_url (False: none was given)."""
        url = request.optional_text("callback_url")
        if url is not None:
            self._webhooks.notify(url, request.text("callback_method"), result)
        return url is not None


@contextlib.contextmanager
def _reaching() -> Iterator[None]:
    """An unknown room or member id (or another account's room) is a 404 naming it."""
    try:
        yield
    except ConferenceNotFoundError as error:
        raise ApiError(HTTPStatus.NOT_FOUND, str(error)) from None


def _member(member: MemberView, now: float) -> dict[str, object]:
    return {
        "member_id": member.member_id,
        "muted": member.muted,
        "deaf": member.deaf,
        "from": member.from_number,
        "to": member.to_number,
        "caller_name": member.caller_name,
        "direction": member.direction,
        "call_uuid": member.call_uuid,
        "join_time": str(int(now - member.join_time)),
    }


def _recorded(conference_name: str, params: Mapping[str, str]) -> dict[str, str]:
    named = {api: params[xml] for xml, api in _RECORDING_NAMES.items()}
    return {"conference_name": conference_name, **named}
