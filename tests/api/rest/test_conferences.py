"""Conference/ through the REST dispatcher (aiohttp's test client) over live rooms of the
in-memory calls harness: members joined by <Conference>, a mixer without an engine. What the
API answers is checked against what the rooms and mixer hold; mistakes are 4xx naming the
room, the member or the field; a room is reached only by its own account."""

import base64
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import numpy as np
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from mediaserver.api.rest.caller import Authenticator
from mediaserver.api.rest.rate_limit import RateLimit, RateLimiter
from mediaserver.api.rest.resources.conferences import ConferenceResource
from mediaserver.api.rest.rest_api import RestApi
from mediaserver.calls.conference_control import ConferenceControl
from mediaserver.clock import ManualClock
from mediaserver.media.tones import SampleSource
from mediaserver.store.database import open_database
from mediaserver.store.subaccounts import SqliteSubaccounts, new_subaccount
from tests.plivoxml.application_harness import ANSWER_URL, AppHarness, running_application
from tests.plivoxml.test_conference_verb import ACTION_URL, AFTER, join, media, room_document

MAIN = ("MA00000000000000000A", "main-token-123")
SOUND_URL = "http://app.test/tone.wav"
RESULTS_URL = "http://app.test/results"
Client = TestClient[web.Request, web.Application]


@dataclass
class Api:
    client: Client
    sub_account: tuple[str, str]

    async def call(
        self,
        method: str,
        path: str,
        body: Mapping[str, object] | None = None,
        account: tuple[str, str] = MAIN,
    ) -> tuple[int, dict[str, object]]:
        token = base64.b64encode(":".join(account).encode()).decode()
        url = f"/v1/Account/{account[0]}/{path}"
        headers = {"Authorization": f"Basic {token}"}
        async with self.client.request(method, url, json=body, headers=headers) as reply:
            return reply.status, (await reply.json() if reply.status != 204 else {})


@contextlib.asynccontextmanager
async def live_room(
    members: int, documents: dict[str, str | Exception], sub_account: str | None = None
) -> AsyncIterator[tuple[AppHarness, Api]]:
    """`members` callers in the application's room, and the Conference/ routes over it."""
    async with running_application(documents, sub_account=sub_account) as harness:
        for number in range(1, members + 1):
            await join(harness, number)
        subaccounts = SqliteSubaccounts(open_database(":memory:"))
        sub = subaccounts.add(new_subaccount("team", True))
        resource = ConferenceResource(
            harness.rooms, harness.tts, harness.sounds, harness.recordings, harness.app
        )
        rest = RestApi(
            resource.routes(),
            Authenticator(*MAIN, subaccounts),
            RateLimiter(RateLimit(requests=500, window_seconds=60), ManualClock()),
        )
        application = web.Application(middlewares=[rest.errors_middleware])
        application.router.add_routes(rest.routes())
        async with TestClient(TestServer(application)) as client:
            yield harness, Api(client, (sub.auth_id, sub.auth_token))


async def test_list_and_get_show_the_rooms_members_as_plivo_writes_them() -> None:
    async with live_room(2, {ANSWER_URL: room_document()}) as (harness, api):
        status, listed = await api.call("GET", "Conference/")
        assert (status, listed["conferences"]) == (200, ["standup"])
        status, room = await api.call("GET", "Conference/standup/")
        live = harness.rooms.get("standup")
        assert live is not None
        legs = [member.leg.call_uuid for member in live.members.values()]
    assert status == 200
    assert (room["conference_name"], room["conference_member_count"]) == ("standup", "2")
    assert room["conference_run_time"] == "0"
    members = room["members"]
    assert isinstance(members, list)
    assert [member["member_id"] for member in members] == ["1", "2"]
    assert [member["call_uuid"] for member in members] == legs
    for member in members:
        assert (member["from"], member["to"], member["caller_name"]) == (
            "sip:alice@phone.local", "bob", "alice"
        )  # fmt: skip
        assert (member["direction"], member["muted"], member["deaf"]) == ("inbound", False, False)
        assert member["join_time"] == "0"


async def test_mute_deaf_kick_and_hangup_act_on_the_members_named() -> None:
    documents: dict[str, str | Exception] = {
        ANSWER_URL: room_document(action=ACTION_URL),
        ACTION_URL: AFTER,
    }
    async with live_room(3, documents) as (harness, api):
        mixer = harness.mixers[0]
        status, body = await api.call("POST", "Conference/standup/Member/1,2/Mute/")
        assert (status, body["message"], body["member_id"]) == (202, "muted", "1,2")
        assert mixer.muted == {id(media(harness, 1)), id(media(harness, 2))}
        assert (await api.call("DELETE", "Conference/standup/Member/2/Mute/"))[0] == 204
        assert mixer.muted == {id(media(harness, 1))}
        status, body = await api.call("POST", "Conference/standup/Member/all/Deaf/")
        assert (status, body["message"], body["member_id"]) == (202, "deaf", "1,2,3")
        assert (await api.call("DELETE", "Conference/standup/Member/all/Deaf/"))[0] == 204
        assert mixer.deaf == set()
        view = ConferenceControl(harness.rooms).room("standup")
        status, room = await api.call("GET", "Conference/standup/")
        members = room["members"]
        assert isinstance(members, list)
        assert [(m["muted"], m["deaf"]) for m in members] == [
            (m.muted, m.deaf) for m in view.members
        ]
        assert [m.muted for m in view.members] == [True, False, False]
        status, body = await api.call("POST", "Conference/standup/Member/3/Kick/")
        assert (status, body["message"], body["member_id"]) == (202, "kicked", "3")
        await harness.calls.settle()
        assert [r.params["ConferenceMemberID"] for r in harness.app.to(ACTION_URL)] == ["3"]
        status, body = await api.call("DELETE", "Conference/standup/Member/2/")
        assert (status, body["message"], body["member_id"]) == (202, "hangup", "2")
        await harness.calls.settle()
        assert harness.calls.causes()[-1] == ("inbound", 4000, "API Request")
        assert ConferenceControl(harness.rooms).member_ids("standup", "all") == ["1"]


async def test_unknown_rooms_and_members_are_404_naming_them_and_change_nothing() -> None:
    async with live_room(2, {ANSWER_URL: room_document()}) as (harness, api):
        mixer = harness.mixers[0]
        status, body = await api.call("POST", "Conference/standup/Member/1,7/Mute/")
        assert (status, body["error"]) == (404, "member 7 not in standup")
        assert mixer.muted == set()
        status, body = await api.call("GET", "Conference/nobody/")
        assert (status, body["error"]) == (404, "conference nobody not found")
        for method, path in (
            ("DELETE", "Conference/nobody/"),
            ("POST", "Conference/nobody/Member/1/Kick/"),
            ("POST", "Conference/nobody/Record/"),
        ):
            assert (await api.call(method, path))[0] == 404
        status, body = await api.call("DELETE", "Conference/standup/Member/all/Play/")
        assert (status, body["error"]) == (404, "sound playing to conference standup not found")
        status, body = await api.call("DELETE", "Conference/standup/Record/")
        assert status == 404
        status, body = await api.call(
            "POST", "Conference/standup/Member/1/Speak/", {"voice": "MAN"}
        )
        assert (status, body["error"]) == (400, "text parameter is missing")
        body = {"text": "hi", "language": "xx-XX"}
        status, body = await api.call("POST", "Conference/standup/Member/1/Speak/", body)
        assert (status, str(body["error"]).split(":")[0]) == (400, "language")
        assert len(mixer.members) == 2


async def test_play_and_speak_to_members_or_the_whole_room_and_stop() -> None:
    async with live_room(2, {ANSWER_URL: room_document()}) as (harness, api):
        harness.sounds.sounds[SOUND_URL] = np.full(800, 1000, np.int16)
        mixer = harness.mixers[0]
        status, body = await api.call(
            "POST", "Conference/standup/Member/2/Play/", {"url": SOUND_URL}
        )
        assert (status, body["message"]) == (202, "play queued into conference")
        [played] = media(harness, 2).played[-1:]
        assert isinstance(played, SampleSource)
        assert media(harness, 1).played == []
        body = {"url": "http://app.test/missing.wav"}
        status, body = await api.call("POST", "Conference/standup/Member/all/Play/", body)
        assert (status, body["error"]) == (400, "url: http://app.test/missing.wav: HTTP 404")
        body = {"text": "hello room", "voice": "MAN", "language": "en-GB"}
        status, body = await api.call("POST", "Conference/standup/Member/all/Speak/", body)
        assert (status, body["member_id"]) == (202, "1,2")
        assert harness.tts.spoken[-1] == ("hello room", "MAN", "en-GB")
        assert len(mixer.played) == 1  # mixed into the room, not played to each member
        assert (await api.call("DELETE", "Conference/standup/Member/all/Speak/"))[0] == 204
        assert mixer.played[0].read_frame() is None  # stopped: ends at its next frame


async def test_room_recording_starts_stops_and_tells_the_callback() -> None:
    async with live_room(2, {ANSWER_URL: room_document()}) as (harness, api):
        mixer = harness.mixers[0]
        body = {"transcription_type": "auto"}
        status, answer = await api.call("POST", "Conference/standup/Record/", body)
        assert (status, answer["error"]) == (
            400,
            "transcription_type: transcription is not offered",
        )
        body = {"file_format": "wav", "callback_url": RESULTS_URL}
        status, answer = await api.call("POST", "Conference/standup/Record/", body)
        assert (status, answer["message"]) == (202, "conference recording started")
        assert mixer.sink is not None
        assert (await api.call("POST", "Conference/standup/Record/"))[0] == 400  # running
        for _ in range(25):
            mixer.sink.write_frame(np.full(160, 500, np.int16))
        assert (await api.call("DELETE", "Conference/standup/Record/"))[0] == 204
        assert mixer.sink is None
        await harness.rooms.close()
    [recording] = harness.recordings.added
    assert recording.recording_id == answer["recording_id"]
    assert (recording.conference_name, recording.recording_duration_ms) == ("standup", 500)
    [told] = harness.app.to(RESULTS_URL)
    assert told.params["record_url"] == answer["url"]
    assert told.params["recording_duration_ms"] == "500"
    assert told.params["conference_name"] == "standup"


async def test_async_mode_posts_the_result_to_callback_url() -> None:
    async with live_room(1, {ANSWER_URL: room_document()}) as (harness, api):
        body = {"callback_url": RESULTS_URL}
        status, answer = await api.call("POST", "Conference/standup/Member/1/Mute/", body)
    assert (status, answer["message"]) == (202, "async api spawned")
    [told] = harness.app.to(RESULTS_URL)
    assert told.params == {"message": "muted", "member_id": "1"}


async def test_rooms_are_scoped_to_their_account() -> None:
    async with live_room(1, {ANSWER_URL: room_document()}) as (harness, api):
        sub = api.sub_account
        assert (await api.call("GET", "Conference/", account=sub))[1]["conferences"] == []
        status, body = await api.call("GET", "Conference/standup/", account=sub)
        assert (status, body["error"]) == (404, "conference standup not found")
        path = "Conference/standup/Member/1/Mute/"
        assert (await api.call("POST", path, account=sub))[0] == 404
        assert (await api.call("DELETE", "Conference/", account=sub))[0] == 200
        assert harness.rooms.names() == ["standup"]  # the main account's room lives on
    async with live_room(1, {ANSWER_URL: room_document()}, "SA1") as (harness, api):
        assert (await api.call("GET", "Conference/"))[1]["conferences"] == []
        assert harness.rooms.names("SA1") == ["standup"]


async def test_hang_up_a_room_and_every_room() -> None:
    async with live_room(2, {ANSWER_URL: room_document()}) as (harness, api):
        status, body = await api.call("DELETE", "Conference/standup/")
        assert (status, body["message"]) == (200, "conference hung up")
        await harness.calls.settle()
        assert [cause for _, cause, _ in harness.calls.causes()] == [4000, 4000]
        assert harness.rooms.names() == []
        await join(harness, 3)
        assert harness.rooms.names() == ["standup"]
        status, body = await api.call("DELETE", "Conference/")
        assert (status, body["message"]) == (200, "all conferences hung up")
        await harness.calls.settle()
        assert harness.rooms.names() == []
        assert harness.calls.causes()[-1] == ("inbound", 4000, "API Request")
