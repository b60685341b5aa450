"""An application on the calls harness: the in-memory SIP peer and manual clock, a fake
application server (documents by URL, every request kept), fake sounds and TTS."""

import contextlib
import tempfile
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from audiocodecs.pcm import Pcm16
from mediaserver.calls.call_control import CallControl
from mediaserver.calls.conference_rooms import ConferenceRooms
from mediaserver.calls.dialer import Caller
from mediaserver.calls.router import Route
from mediaserver.plivoxml.application_script import run_application
from mediaserver.plivoxml.dial_plan import RouterDialPlan
from mediaserver.plivoxml.session import (
    ApplicationUrls,
    CallIdentity,
    FetchError,
    Services,
    SoundError,
)
from mediaserver.store.conference_records import SqliteConferenceRecords
from mediaserver.store.recordings import Recording
from tests.calls.conftest import Harness, running_harness
from tests.plivoxml.fake_room_mixer import FakeRoomMixer

ANSWER_URL = "http://app.test/answer"


@dataclass(frozen=True)
class AppRequest:
    url: str
    method: str
    params: Mapping[str, str]
    fetched: bool  # a document fetch (True) or a notification


@dataclass
class FakeApplication:
    """Documents by URL; a URL mapped to an exception fails with it."""

    documents: dict[str, str | Exception] = field(default_factory=dict)
    requests: list[AppRequest] = field(default_factory=list)

    async def fetch_document(self, url: str, method: str, params: Mapping[str, str]) -> str:
        self.requests.append(AppRequest(url, method, dict(params), True))
        document = self.documents.get(url, FetchError("HTTP 404"))
        if isinstance(document, Exception):
            raise document
        return document

    def notify(self, url: str, method: str, params: Mapping[str, str]) -> None:
        self.requests.append(AppRequest(url, method, dict(params), False))

    def to(self, url: str) -> list[AppRequest]:
        return [request for request in self.requests if request.url == url]


@dataclass
class FakeSounds:
    sounds: dict[str, Pcm16] = field(default_factory=dict)

    async def load(self, url: str) -> Pcm16:
        if url not in self.sounds:
            raise SoundError("HTTP 404")
        return self.sounds[url]


class FakeTts:
    def __init__(self) -> None:
        self.spoken: list[tuple[str, str, str]] = []

    async def synthesize(self, text: str, voice: str, language: str, sample_rate: int) -> Pcm16:
        self.spoken.append((text, voice, language))
        return np.zeros(80 * len(text), np.int16)


@dataclass
class AppHarness:
    calls: Harness
    app: FakeApplication
    sounds: FakeSounds
    tts: FakeTts
    debug: list[str]
    recordings: "FakeRecordings"
    rooms: ConferenceRooms
    mixers: list[FakeRoomMixer]


class FakeRecordings:
    """Recording files in a scratch directory; their rows kept in a list."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.added: list[Recording] = []

    def path_for(self, recording_id: str, file_format: str) -> Path:
        return self.directory / f"{recording_id}.{file_format}"

    def url_for(self, recording_id: str, file_format: str) -> str:
        return f"http://api.test/Recording/{recording_id}.{file_format}"

    def add(self, recording: Recording) -> None:
        self.added.append(recording)


@contextlib.asynccontextmanager
async def running_application(
    documents: dict[str, str | Exception],
    urls: ApplicationUrls | None = None,
    sub_account: str | None = None,  # the account the calls belong to; None: the main one
) -> AsyncIterator[AppHarness]:
    app, sounds, tts, debug = FakeApplication(documents), FakeSounds(), FakeTts(), []
    scratch = tempfile.TemporaryDirectory(prefix="recordings-")
    recordings = FakeRecordings(Path(scratch.name))
    holder: list[Harness] = []
    mixers: list[FakeRoomMixer] = []
    rooms_holder: list[ConferenceRooms] = []

    def new_mixer() -> FakeRoomMixer:
        mixers.append(FakeRoomMixer())
        return mixers[-1]

    async def script(leg: CallControl, route: Route, caller: Caller) -> None:
        calls = holder[0]
        services = Services(
            app, sounds, RouterDialPlan(calls.service._router, "phone.local"),
            calls.service.deadlines, recordings,
            debug_log=lambda call_uuid, entry: debug.append(entry), max_redirects=5,
            conferences=rooms_holder[0], tts=tts,
        )  # fmt: skip
        identity = CallIdentity(
            f"sip:{leg.from_number}@phone.local", leg.to_number, "alice", sub_account=sub_account
        )
        await run_application(leg, urls or ApplicationUrls(ANSWER_URL), identity, services)

    with scratch:
        async with running_harness(tts=tts, inbound_script=script) as calls:
            holder.append(calls)
            records = SqliteConferenceRecords(calls.database)
            rooms = ConferenceRooms(calls.service.deadlines, new_mixer, records)
            rooms_holder.append(rooms)
            yield AppHarness(calls, app, sounds, tts, debug, recordings, rooms, mixers)
            await rooms.close()
            assert rooms.statistics()["conference_rooms"] == 0
            assert rooms.statistics()["conference_tasks"] == 0
